//! The connection pools of the two backends. The event store gets a pool of
//! its own because cqrs-es's repositories are built on a concrete sqlx pool;
//! everything else shares the `Db` (sqlx's Any driver) of `projections`.
//! Both pools of a backend are set up here alike: the same pragmas or
//! session settings, and no connection handed out inside a transaction.

use super::anyhow_lite::Context;
use crate::config::{DbArgs, Synchronous};
use projections::Backend;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Database, TransactionManager};
use std::str::FromStr;
use std::time::Duration;

/// The event store's pool. This enum is where SQLite and PostgreSQL part
/// ways for the command side: it is matched once, where the concrete
/// cqrs-es repository is chosen (`crate::ledgers::Ledgers::new`); the
/// snapshot table follows from that repository.
#[derive(Clone)]
pub enum EventPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

pub(super) const SQLITE_CONNECTIONS: u32 = 8;
pub(super) const POSTGRES_CONNECTIONS: u32 = 16;
/// How long a SQLite writer waits for the lock before "database is locked".
const SQLITE_BUSY: Duration = Duration::from_secs(10);

/// The pragmas every SQLite connection runs with (WAL is a property of the
/// file, set once by the event store's pool).
fn sqlite_synchronous(settings: &DbArgs) -> SqliteSynchronous {
    match settings.sqlite_synchronous {
        Synchronous::Full => SqliteSynchronous::Full,
        Synchronous::Normal => SqliteSynchronous::Normal,
    }
}

/// The same settings as statements, for the Any driver's pool.
pub(super) fn sqlite_session(settings: &DbArgs) -> Vec<String> {
    vec![
        format!("PRAGMA busy_timeout = {}", SQLITE_BUSY.as_millis()),
        projections::db::SQLITE_TEMP_STORE.to_string(),
        format!(
            "PRAGMA synchronous = {}",
            match settings.sqlite_synchronous {
                Synchronous::Full => "FULL",
                Synchronous::Normal => "NORMAL",
            }
        ),
    ]
}

/// PostgreSQL: a transaction of this service left open (a bug, a client
/// gone mid-request) is ended by the server after the configured time
/// instead of holding back every reader of the event log.
pub(super) fn postgres_session(settings: &DbArgs) -> Vec<String> {
    vec![format!(
        "SET idle_in_transaction_session_timeout = '{}s'",
        settings.idle_in_transaction_timeout
    )]
}

/// The SQLite file (created, with its directory, if missing) in WAL mode;
/// also the URL the Any driver opens the same file with.
pub(super) async fn sqlite(settings: &DbArgs) -> Result<(sqlx::SqlitePool, String), String> {
    let options = SqliteConnectOptions::from_str(&settings.database_url)
        .context("DATABASE_URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sqlite_synchronous(settings))
        .pragma("temp_store", "MEMORY")
        .busy_timeout(SQLITE_BUSY);
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).context(&format!("creating {}", dir.display()))?;
    }
    create_private_database(options.get_filename())?;
    let pool = SqlitePoolOptions::new()
        .max_connections(SQLITE_CONNECTIONS)
        .test_before_acquire(Backend::Sqlite.pings_before_use())
        .before_acquire(|conn, _| {
            Box::pin(async move {
                let depth =
                    <sqlx::Sqlite as Database>::TransactionManager::get_transaction_depth(conn);
                Ok(projections::db::left_clean(depth))
            })
        })
        .connect_with(options.clone())
        .await
        .context("opening the SQLite database")?;
    let any_url = format!("sqlite://{}", options.get_filename().display());
    Ok((pool, any_url))
}

/// Creates a missing database file with mode 0600 before SQLite opens it:
/// SQLite gives its -wal and -shm files the database file's mode, so all
/// three stay private.
fn create_private_database(path: &std::path::Path) -> Result<(), String> {
    let name = path.to_string_lossy();
    if name.is_empty() || name.starts_with(":memory:") || path.exists() {
        return Ok(());
    }
    match crate::files::create_private(path) {
        Ok(_) => Ok(()),
        // Another process made it in between: fine, it is its to make.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("creating {}: {e}", path.display())),
    }
}

pub(super) async fn postgres(settings: &DbArgs) -> Result<sqlx::PgPool, String> {
    let options = PgConnectOptions::from_str(&settings.database_url)
        .context("DATABASE_URL")?
        .options([(
            "idle_in_transaction_session_timeout",
            format!("{}s", settings.idle_in_transaction_timeout),
        )]);
    PgPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS)
        .test_before_acquire(Backend::Postgres.pings_before_use())
        .acquire_timeout(Duration::from_secs(30))
        .before_acquire(|conn, _| {
            Box::pin(async move {
                let depth =
                    <sqlx::Postgres as Database>::TransactionManager::get_transaction_depth(conn);
                Ok(projections::db::left_clean(depth))
            })
        })
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL")
}
