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
    /// SQLite only: FULL (the default) syncs every commit to disk before it
    /// is acknowledged; NORMAL is faster and may lose the last commits on a
    /// power loss or OS crash (never on a crash of the process alone).
    #[arg(
        long,
        env = "SQLITE_SYNCHRONOUS",
        value_enum,
        default_value_t = Synchronous::Full
    )]
    pub sqlite_synchronous: Synchronous,
    /// PostgreSQL only: seconds after which the server ends a transaction of
    /// this service left open and idle (0: never). An open transaction holds
    /// back every reader of the event log.
    #[arg(long, env = "PG_IDLE_IN_TRANSACTION_TIMEOUT", default_value_t = 60)]
    pub idle_in_transaction_timeout: u64,
    /// Upper bound of the in-memory cache of account states, in MB (an
    /// estimate of the memory the states hold; 0 turns the cache off).
    #[arg(long, env = "AGGREGATE_CACHE_MB", default_value_t = 256)]
    pub aggregate_cache_mb: usize,
}

/// SQLite's `synchronous` pragma, as far as this service offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Synchronous {
    Full,
    Normal,
}

impl DbArgs {
    /// The defaults, on `database_url`.
    pub fn new(database_url: String) -> DbArgs {
        DbArgs {
            database_url,
            sqlite_synchronous: Synchronous::Full,
            idle_in_transaction_timeout: 60,
            aggregate_cache_mb: 256,
        }
    }
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
}
