//! The connection pools of the two backends. The event store gets a pool of
//! its own because cqrs-es's repositories are built on a concrete sqlx pool;
//! everything else shares the `Db` (sqlx's Any driver) of `projections`.

use super::anyhow_lite::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
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

/// The SQLite file (created, with its directory, if missing) in WAL mode;
/// also the URL the Any driver opens the same file with.
pub(super) async fn sqlite(url: &str) -> Result<(sqlx::SqlitePool, String), String> {
    let options = SqliteConnectOptions::from_str(url)
        .context("DATABASE_URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).context(&format!("creating {}", dir.display()))?;
    }
    create_private_database(options.get_filename())?;
    let pool = SqlitePoolOptions::new()
        .max_connections(SQLITE_CONNECTIONS)
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

pub(super) async fn postgres(url: &str) -> Result<sqlx::PgPool, String> {
    PgPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .context("connecting to PostgreSQL")
}
