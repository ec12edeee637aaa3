//! Opening the database: the pools, the migrations of the chosen backend.

use anyhow_lite::Context;
use projections::{Backend, Db};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The event store's own pool (cqrs-es needs a concrete one) and the pool the
/// rest of the service shares.
pub enum EventPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

pub struct Storage {
    pub db: Db,
    pub events: EventPool,
}

pub async fn open(url: &str) -> Result<Storage, String> {
    let backend = Backend::of_url(url).ok_or_else(|| {
        format!("DATABASE_URL must start with sqlite:// or postgres://, not \"{url}\"")
    })?;
    match backend {
        Backend::Sqlite => {
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
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options.clone())
                .await
                .context("opening the SQLite database")?;
            SQLITE_MIGRATIONS
                .run(&pool)
                .await
                .context("migrating the database")?;
            let any_url = format!("sqlite://{}", options.get_filename().display());
            let db = Db::connect(&any_url, backend, 8)
                .await
                .context("opening the SQLite database")?;
            Ok(Storage {
                db,
                events: EventPool::Sqlite(pool),
            })
        }
        Backend::Postgres => {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(30))
                .connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            POSTGRES_MIGRATIONS
                .run(&pool)
                .await
                .context("migrating the database")?;
            let db = Db::connect(url, backend, 16)
                .await
                .context("connecting to PostgreSQL")?;
            Ok(Storage {
                db,
                events: EventPool::Postgres(pool),
            })
        }
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
