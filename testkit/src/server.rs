//! The service started in-process, on a free port of 127.0.0.1.

use license_portal::config::{DbArgs, ServeArgs};
use license_portal::server::{self, Running};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

/// Settings for a server on `database_url` whose files (signing key,
/// outbox) live under `dir`, with the first administrator's password set.
pub fn serve_args(database_url: String, dir: &Path, admin_password: &str) -> ServeArgs {
    ServeArgs {
        db: DbArgs::new(database_url),
        listen: any_port(),
        public_url: "http://portal.example.test".into(),
        smtp_url: None,
        mail_from: "License Portal <no-reply@license-portal.local>".into(),
        outbox_dir: dir.join("outbox"),
        catalog: None,
        admin_password: Some(admin_password.into()),
        signing_key: dir.join("signing-key"),
        device_rate_limit: 600,
        views_wait_ms: 10_000,
        limits: Default::default(),
        security: Default::default(),
        webhooks: Default::default(),
        integrations: Default::default(),
    }
}

/// Starts the server with `args` on a port the system picks (whatever
/// `args.listen` says, so a restart never races for the old port).
pub async fn start(args: &ServeArgs) -> Result<Running, String> {
    let mut args = args.clone();
    args.listen = any_port();
    server::start(&args).await
}

fn any_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}
