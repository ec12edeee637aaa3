//! Assembling and running the service: storage, the event store, the log
//! consumers (projector, transfers, mail, webhooks) and the HTTP server.

use crate::app::App;
use crate::config::ServeArgs;
use crate::ledgers::Ledgers;
use crate::mail::Mailer;
use crate::signing::Signer25519;
use crate::storage;
use crate::transfers::Transfers;
use aggregates::{Catalog, LedgerServices};
use projections::Projector;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub fn load_catalog(path: Option<&std::path::Path>) -> Result<Catalog, String> {
    match path {
        None => Catalog::parse(aggregates::catalog::DEFAULT_CATALOG)
            .map_err(|e| format!("built-in catalog: {e}")),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("reading the catalog {}: {e}", p.display()))?;
            Catalog::parse(&text).map_err(|e| format!("catalog {}: {e}", p.display()))
        }
    }
}

/// Everything but the background tasks: what the CLI commands also use.
/// It never makes a signing key: only `serve` does (see `start`). Without
/// one, license files it would sign carry a key made for this process only,
/// which no product trusts; the offline commands sign nothing.
pub async fn build_app(args: &ServeArgs) -> Result<Arc<App>, String> {
    let signer = Signer25519::load(&args.signing_key)?.unwrap_or_else(Signer25519::ephemeral);
    build_app_with(args, signer).await
}

async fn build_app_with(args: &ServeArgs, signer: Signer25519) -> Result<Arc<App>, String> {
    let catalog = Arc::new(load_catalog(args.catalog.as_deref())?);
    crate::event_store::set_cache_limit(args.db.aggregate_cache_mb.saturating_mul(1024 * 1024));
    let storage = storage::open_with(&args.db).await?;
    let services = LedgerServices {
        catalog: catalog.clone(),
    };
    let ledgers = Arc::new(Ledgers::new(storage.events, &services));
    crate::auth::set_hashing_slots(args.security.password_hashing_slots);
    let db = storage.db;
    Ok(Arc::new(App {
        projector: Projector::new(db.clone()),
        transfers: Transfers::new(db.clone(), ledgers.clone()),
        ledgers,
        catalog,
        signer,
        device_limits: crate::limits::RateLimiter::new(
            60,
            args.device_rate_limit,
            Duration::from_secs(60),
        ),
        security: args.security.clone(),
        webhooks: crate::webhooks::Webhooks::new(
            db.clone(),
            args.webhooks.clone(),
            &args.public_url,
        )?,
        token_limits: crate::app::tokens::TokenLimiter::new(args.integrations.api_token_rate_limit),
        faults: Default::default(),
        views_wait: Duration::from_millis(args.views_wait_ms),
        metrics: Arc::new(crate::metrics::Metrics::new(
            args.integrations.metrics_token.as_deref(),
        )),
        db,
    }))
}

pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests, lets those in flight finish, stops the
    /// background tasks.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.app.db.pool.close().await;
    }
}

pub async fn start(args: &ServeArgs) -> Result<Running, String> {
    let signer = Signer25519::load_or_create(&args.signing_key)?;
    let app = build_app_with(args, signer).await?;
    let mailer = Mailer::new(
        app.db.clone(),
        args.smtp_url.as_deref(),
        args.outbox_dir.clone(),
        &args.mail_from,
        &args.public_url,
    )?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = vec![
        tokio::spawn(app.projector.clone().run(rx.clone())),
        tokio::spawn(app.transfers.clone().run(rx.clone())),
        tokio::spawn(mailer.run(rx.clone())),
    ];
    // What a crash left half made is settled before the first administrator
    // is looked for: a login reserved by no account would block it.
    app.reconcile_registrations()
        .await
        .map_err(|e| format!("completing accounts a crash left half made: {e}"))?;
    tasks.extend(app.webhooks.spawn(&rx));
    if let Some(password) = app
        .ensure_first_admin(args.admin_password.clone())
        .await
        .map_err(|e| format!("creating the first administrator: {e}"))?
    {
        println!(
            "Created the administrator account.\n  login:    admin\n  password: {password}\n(shown once; you will be asked to change it at first sign-in)"
        );
    }
    let router = crate::http::router(app.clone(), &args.public_url, &args.limits)
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let mut stop = rx.clone();
    tasks.push(tokio::spawn(async move {
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    }));
    tracing::info!(%addr, "license-portal listening");
    Ok(Running {
        addr,
        app,
        shutdown,
        tasks,
    })
}
