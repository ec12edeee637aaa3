//! A fresh, empty database per run: a SQLite file in a directory the caller
//! owns, or a new PostgreSQL database created through a server's URL.

use sqlx::{Connection, Executor, PgConnection};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A SQLite file named `file` under `dir`, as a database URL.
pub fn sqlite_url(dir: &Path, file: &str) -> String {
    format!("sqlite://{}", dir.join(file).display())
}

/// A fresh, empty database of the backend for a test; its URL. PostgreSQL
/// databases are made through `TEST_DATABASE_URL` and left behind (the
/// throwaway server of `scripts/test` goes with them).
pub async fn fresh_database(backend: Backend, dir: &Path) -> Result<String, String> {
    match backend {
        Backend::Sqlite => Ok(sqlite_url(dir, "test.db")),
        Backend::Postgres => {
            let admin = std::env::var("TEST_DATABASE_URL").map_err(|_| {
                "PostgreSQL tests need TEST_DATABASE_URL (scripts/test starts a throwaway server and sets it)"
            })?;
            Ok(ScratchDatabase::create(&admin, "lp_test").await?.url)
        }
    }
}

/// A PostgreSQL database created for one run, dropped by [`Self::drop`].
pub struct ScratchDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl ScratchDatabase {
    /// Creates `{prefix}_{uuid}` through `admin_url`, a URL of the same
    /// server whose user may create databases.
    pub async fn create(admin_url: &str, prefix: &str) -> Result<Self, String> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(admin_url)
            .await
            .map_err(|e| format!("connecting to {admin_url}: {e}"))?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(|e| format!("creating the database {name}: {e}"))?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url, |(base, _)| base);
        Ok(ScratchDatabase {
            url: format!("{base}/{name}"),
            admin_url: admin_url.to_string(),
            name,
        })
    }

    /// Drops the database, closing its open connections; best effort, as
    /// the last thing a run does.
    pub async fn drop(self) {
        if let Ok(mut conn) = PgConnection::connect(&self.admin_url).await {
            let _ = conn
                .execute(format!("DROP DATABASE {} WITH (FORCE)", self.name).as_str())
                .await;
        }
    }
}
