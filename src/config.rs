//! Settings, each from a flag or the environment, with the defaults that let a
//! bare `license-portal` run with no set-up.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// sqlite://FILE or postgres://…; the default is an embedded SQLite file.
    #[arg(
        long = "database",
        env = "DATABASE_URL",
        default_value = "sqlite://./data/license-portal.db"
    )]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long = "listen", env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The portal's address as users reach it (links in emails, Secure cookies).
    #[arg(long, env = "PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// smtp://[user:pass@]host[:port] or smtps://…; unset: emails are written
    /// as .eml files under the outbox directory.
    #[arg(long, env = "SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender of the service's emails.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "License Portal <no-reply@license-portal.local>"
    )]
    pub mail_from: String,
    /// Where emails go when SMTP_URL is not set.
    #[arg(long, env = "OUTBOX_DIR", default_value = "./data/outbox")]
    pub outbox_dir: PathBuf,
    /// Product catalog (TOML); default: the catalog built into the binary.
    #[arg(long = "catalog", env = "CATALOG_PATH")]
    pub catalog: Option<PathBuf>,
    /// The first administrator's password; unset: one is generated and printed once.
    #[arg(long, env = "LICENSE_PORTAL_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Device requests (activate, refresh, deactivate) one client address may
    /// make per minute; each key is also held to 60 a minute.
    #[arg(long, env = "DEVICE_RATE_LIMIT", default_value_t = 600)]
    pub device_rate_limit: u32,
    /// Ed25519 signing key for license files; made on first start when absent.
    #[arg(long, env = "SIGNING_KEY_PATH", default_value = "./data/signing-key")]
    pub signing_key: PathBuf,
    #[command(flatten)]
    pub integrations: IntegrationArgs,
}

/// Settings of the outside integrations (API tokens).
#[derive(Debug, Clone, Args)]
pub struct IntegrationArgs {
    /// Requests one API token may make per minute.
    #[arg(long, env = "API_TOKEN_RATE_LIMIT", default_value_t = 600)]
    pub api_token_rate_limit: u32,
}

impl Default for IntegrationArgs {
    fn default() -> Self {
        IntegrationArgs {
            api_token_rate_limit: 600,
        }
    }
}
