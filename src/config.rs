//! Settings, each from a flag or the environment, with the defaults that let a
//! bare `license-portal` run with no set-up.

pub use crate::limits::IpNet;
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
    /// How long a mutation waits for the views to show its effect before it
    /// answers from its own events (marked `viewsBehind`), in milliseconds.
    #[arg(long, env = "VIEWS_WAIT_MS", default_value_t = 10_000)]
    pub views_wait_ms: u64,
    /// Ed25519 signing key for license files; made on first start when absent.
    #[arg(long, env = "SIGNING_KEY_PATH", default_value = "./data/signing-key")]
    pub signing_key: PathBuf,
    #[command(flatten)]
    pub limits: RequestLimits,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    #[command(flatten)]
    pub integrations: IntegrationArgs,
}

/// Limits on sign-in and password hashing, and whose word to take for a
/// client's address.
#[derive(Debug, Clone, Args)]
pub struct SecurityArgs {
    /// Failed sign-ins (or wrong current passwords) on one account, within
    /// the window, before the account is locked to clients that have
    /// themselves been failing.
    #[arg(long, env = "SIGNIN_ACCOUNT_FAILURES", default_value_t = SecurityArgs::ACCOUNT_FAILURES)]
    pub signin_account_failures: u32,
    /// Failed sign-ins one client address may make within the window, over
    /// all accounts, before its sign-ins are refused.
    #[arg(long, env = "SIGNIN_CLIENT_FAILURES", default_value_t = SecurityArgs::CLIENT_FAILURES)]
    pub signin_client_failures: u32,
    /// The window both sign-in limits count in, in minutes.
    #[arg(long, env = "SIGNIN_WINDOW_MINUTES", default_value_t = SecurityArgs::WINDOW_MINUTES)]
    pub signin_window_minutes: u32,
    /// Password hashes computed at once (each takes a core and ~19 MiB);
    /// more wait their turn. 0: one per core.
    #[arg(long, env = "PASSWORD_HASHING_SLOTS", default_value_t = 0)]
    pub password_hashing_slots: usize,
    /// Proxies (IP addresses or CIDR blocks, comma-separated) whose
    /// X-Forwarded-For names the client; from any other peer the header is
    /// ignored. Default: none.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,
}

impl SecurityArgs {
    pub const ACCOUNT_FAILURES: u32 = 10;
    pub const CLIENT_FAILURES: u32 = 30;
    pub const WINDOW_MINUTES: u32 = 15;
}

impl Default for SecurityArgs {
    fn default() -> SecurityArgs {
        SecurityArgs {
            signin_account_failures: SecurityArgs::ACCOUNT_FAILURES,
            signin_client_failures: SecurityArgs::CLIENT_FAILURES,
            signin_window_minutes: SecurityArgs::WINDOW_MINUTES,
            password_hashing_slots: 0,
            trusted_proxies: Vec::new(),
        }
    }
}

/// What one GraphQL request may ask of the server; anything beyond is
/// refused before it runs (BAD_USER_INPUT), so no single request can hold
/// the database, the CPU or the memory for long.
#[derive(Debug, Clone, Args)]
pub struct RequestLimits {
    /// Most a document may cost: a field costs 1, a field inside a list as
    /// many times as the list may hold rows, a page's count and a search as
    /// many rows as a full page.
    #[arg(long, env = "GRAPHQL_MAX_COST", default_value_t = RequestLimits::DEFAULT.max_cost)]
    pub max_cost: usize,
    /// Deepest nesting of selections.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = RequestLimits::DEFAULT.max_depth)]
    pub max_depth: usize,
    /// Most fields (aliases included) at the top of one operation.
    #[arg(long, env = "GRAPHQL_MAX_ROOT_FIELDS", default_value_t = RequestLimits::DEFAULT.max_root_fields)]
    pub max_root_fields: usize,
    /// Most password checks (login, changePassword) in one request.
    #[arg(long, env = "GRAPHQL_MAX_PASSWORD_CHECKS", default_value_t = RequestLimits::DEFAULT.max_password_checks)]
    pub max_password_checks: usize,
    /// Most fields of one operation once its fragments are spread out.
    #[arg(long, env = "GRAPHQL_MAX_FIELDS", default_value_t = RequestLimits::DEFAULT.max_fields)]
    pub max_fields: usize,
    /// Longest document, in bytes.
    #[arg(long, env = "GRAPHQL_MAX_DOCUMENT_BYTES", default_value_t = RequestLimits::DEFAULT.max_document_bytes)]
    pub max_document_bytes: usize,
    /// Most items of one list argument (statuses, products).
    #[arg(long, env = "GRAPHQL_MAX_LIST_ITEMS", default_value_t = RequestLimits::DEFAULT.max_list_items)]
    pub max_list_items: usize,
}

impl RequestLimits {
    pub const DEFAULT: RequestLimits = RequestLimits {
        // A full page of 500 rows with a rich selection fits; pages nested
        // in pages, or dozens of aliased searches, do not.
        max_cost: 50_000,
        // The standard introspection query needs 15 levels.
        max_depth: 16,
        max_root_fields: 50,
        // Each check is an argon2 hash: tens of milliseconds of CPU.
        max_password_checks: 1,
        max_fields: 2_000,
        max_document_bytes: 32 * 1024,
        max_list_items: 100,
    };
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits::DEFAULT
    }
}

/// Webhook deliveries and support reminders.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Endpoints one account may register.
    #[arg(long, env = "WEBHOOK_MAX_ENDPOINTS", default_value_t = 10)]
    pub webhook_max_endpoints: u32,
    /// Attempts at one delivery before it is marked FAILED.
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 8)]
    pub webhook_max_attempts: u32,
    /// The pause after the first failed attempt, in milliseconds; each next
    /// pause doubles (the default spreads 8 attempts over about a day).
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = 660_000)]
    pub webhook_retry_base_ms: u64,
    /// An endpoint failing without a success for this long is disabled and
    /// its owner emailed, in hours.
    #[arg(long, env = "WEBHOOK_DISABLE_AFTER_HOURS", default_value_t = 72)]
    pub webhook_disable_after_hours: u64,
    /// How long the receiver has to answer one delivery, in milliseconds.
    #[arg(long, env = "WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// Whether the daily support reminders (SUPPORT_ENDING_SOON,
    /// SUPPORT_EXPIRED, digest emails) run in this process.
    #[arg(long, env = "SUPPORT_REMINDERS", default_value_t = true, action = clap::ArgAction::Set)]
    pub support_reminders: bool,
}

impl Default for WebhookArgs {
    fn default() -> Self {
        WebhookArgs {
            webhook_max_endpoints: 10,
            webhook_max_attempts: 8,
            webhook_retry_base_ms: 660_000,
            webhook_disable_after_hours: 72,
            webhook_timeout_ms: 10_000,
            support_reminders: true,
        }
    }
}

/// Settings of the outside integrations (API tokens).
#[derive(Debug, Clone, Args)]
pub struct IntegrationArgs {
    /// Requests one API token may make per minute.
    #[arg(long, env = "API_TOKEN_RATE_LIMIT", default_value_t = 600)]
    pub api_token_rate_limit: u32,
    /// When set, `GET /metrics` answers only to `Authorization: Bearer <token>`.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl Default for IntegrationArgs {
    fn default() -> Self {
        IntegrationArgs {
            api_token_rate_limit: 600,
            metrics_token: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    #[test]
    fn security_settings_have_their_defaults_and_read_lists() {
        let Ok(plain) = Serve::try_parse_from(["serve"]) else {
            panic!("bare start")
        };
        let d = SecurityArgs::default();
        let s = &plain.args.security;
        assert_eq!(
            (
                s.signin_account_failures,
                s.signin_client_failures,
                s.signin_window_minutes
            ),
            (
                d.signin_account_failures,
                d.signin_client_failures,
                d.signin_window_minutes
            )
        );
        assert!(s.trusted_proxies.is_empty());
        let Ok(behind) = Serve::try_parse_from(["serve", "--trusted-proxies", "10.0.0.0/8, ::1"])
        else {
            panic!("a list of proxies")
        };
        assert_eq!(behind.args.security.trusted_proxies.len(), 2);
        assert!(Serve::try_parse_from(["serve", "--trusted-proxies", "10.0.0.0/40"]).is_err());
    }
}
