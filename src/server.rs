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
pub async fn build_app(args: &ServeArgs) -> Result<Arc<App>, String> {
    let catalog = Arc::new(load_catalog(args.catalog.as_deref())?);
    let storage = storage::open(&args.db.database_url).await?;
    let services = LedgerServices {
        catalog: catalog.clone(),
    };
    let ledgers = Arc::new(Ledgers::new(storage.events, &services));
    let signer = Signer25519::load_or_create(&args.signing_key)?;
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
    let app = build_app(args).await?;
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
