//! Opening the database: the backend named by the URL, its pools (`pools`)
//! and its migrations (`migrations/sqlite` or `migrations/postgres`, which
//! `tests/it/migrations.rs` keeps from drifting apart).

mod pools;

pub use pools::EventPool;

use anyhow_lite::Context;
use projections::{Backend, Db};
use sqlx::migrate::Migrator;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The pool the event store needs for itself and the one the rest of the
/// service shares, both on the migrated database.
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
            let (pool, any_url) = pools::sqlite(url).await?;
            SQLITE_MIGRATIONS
                .run(&pool)
                .await
                .context("migrating the database")?;
            let db = Db::connect(&any_url, backend, pools::SQLITE_CONNECTIONS)
                .await
                .context("opening the SQLite database")?;
            Ok(Storage {
                db,
                events: EventPool::Sqlite(pool),
            })
        }
        Backend::Postgres => {
            let pool = pools::postgres(url).await?;
            POSTGRES_MIGRATIONS
                .run(&pool)
                .await
                .context("migrating the database")?;
            let db = Db::connect(url, backend, pools::POSTGRES_CONNECTIONS)
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
