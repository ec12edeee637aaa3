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
    pub security: SecurityArgs,
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
