//! Opening the database: the backend named by the URL, its pools (`pools`)
//! and its migrations (`migrations/sqlite` or `migrations/postgres`, which
//! `tests/it/migrations.rs` keeps from drifting apart).

mod pools;

pub use pools::EventPool;

use crate::config::DbArgs;
use anyhow_lite::Context;
use projections::{Backend, Db};
use sqlx::migrate::Migrator;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The pool the event store needs for itself and the one the rest of the
/// service shares, both on the migrated database.
pub struct Storage {
    pub db: Db,
    pub events: EventPool,
}

/// Opens `url` with the default settings.
pub async fn open(url: &str) -> Result<Storage, String> {
    open_with(&DbArgs::new(url.to_string())).await
}

pub async fn open_with(settings: &DbArgs) -> Result<Storage, String> {
    let url = settings.database_url.as_str();
    let backend = Backend::of_url(url).ok_or_else(|| {
        format!("DATABASE_URL must start with sqlite:// or postgres://, not \"{url}\"")
    })?;
    // The event store's own pool, migrated, then the shared one; the
    // backends differ only in these parts.
    let (events, url, connections, session, opening) = match backend {
        Backend::Sqlite => {
            let (pool, any_url) = pools::sqlite(settings).await?;
            migrate(&SQLITE_MIGRATIONS, &pool).await?;
            let session = pools::sqlite_session(settings);
            let events = EventPool::Sqlite(pool);
            (
                events,
                any_url,
                pools::SQLITE_CONNECTIONS,
                session,
                "opening the SQLite database",
            )
        }
        Backend::Postgres => {
            let pool = pools::postgres(settings).await?;
            migrate(&POSTGRES_MIGRATIONS, &pool).await?;
            let session = pools::postgres_session(settings);
            let events = EventPool::Postgres(pool);
            (
                events,
                url.to_string(),
                pools::POSTGRES_CONNECTIONS,
                session,
                "connecting to PostgreSQL",
            )
        }
    };
    let db = Db::connect(&url, backend, connections, session)
        .await
        .context(opening)?;
    build_deferred_indexes(&db).await?;
    Ok(Storage { db, events })
}

async fn migrate<'a, A>(migrations: &Migrator, pool: A) -> Result<(), String>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    migrations.run(pool).await.context("migrating the database")
}

/// Builds the views' indexes a replay cut short left dropped (nothing to
/// do, one query, otherwise).
async fn build_deferred_indexes(db: &Db) -> Result<(), String> {
    let built = projections::projector::build_deferred_indexes(db)
        .await
        .context("building the indexes a replay deferred")?;
    if built > 0 {
        tracing::warn!(
            built,
            "built the views' indexes an unfinished replay had deferred"
        );
    }
    Ok(())
}

/// Whether a database error's text says the disk is full: SQLite's
/// SQLITE_FULL ("database or disk is full"), or the file system's ENOSPC as
/// either backend reports it. Matched on text because the error reaches the
/// service through cqrs-es boxed as a trait object.
pub fn is_storage_full(error: &str) -> bool {
    const SIGNS: [&str; 3] = [
        "database or disk is full",
        "No space left on device",
        "could not extend file",
    ];
    SIGNS.iter().any(|s| error.contains(s))
}

/// When a write was last refused for lack of space (ms since the Unix
/// epoch; 0: never).
static WRITE_REFUSED_AT: AtomicU64 = AtomicU64::new(0);
/// For how long after a refused write the service reports itself unable to
/// write, even when a small probe gets through.
const REFUSAL_SHOWN_FOR: Duration = Duration::from_secs(5);

pub fn note_write_refused() {
    WRITE_REFUSED_AT.store(now_ms(), Ordering::Relaxed);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Whether the database takes writes now: a write refused in the last few
/// seconds says no; otherwise one row is rewritten as it was and committed.
pub async fn check_writes(db: &Db) -> Result<(), String> {
    let refused = WRITE_REFUSED_AT.load(Ordering::Relaxed);
    let recent = u64::try_from(REFUSAL_SHOWN_FOR.as_millis()).unwrap_or(u64::MAX);
    if refused != 0 && now_ms().saturating_sub(refused) < recent {
        return Err("a write was refused for lack of space".into());
    }
    let probe = async {
        let mut tx = db.begin_write().await?;
        sqlx::query("UPDATE log_checkpoints SET position = position WHERE consumer = 'views'")
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    };
    match tokio::time::timeout(Duration::from_secs(5), probe).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            if is_storage_full(&e.to_string()) {
                note_write_refused();
            }
            Err(e.to_string())
        }
        Err(_) => Err("a write did not finish within 5 s".into()),
    }
}

/// Tiny context helper: errors here end the start with one readable line.
mod anyhow_lite {
    pub trait Context<T> {
        fn context(self, what: &str) -> Result<T, String>;
    }
    impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
        fn context(self, what: &str) -> Result<T, String> {
            self.map_err(|e| format!("{what}: {e}"))
        }
    }
}
