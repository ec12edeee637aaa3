//! The storage seam: one pool that speaks to SQLite or PostgreSQL, and the few
//! helpers every table uses. SQL written here uses `$n` placeholders and
//! portable types (text and 64-bit integers), which both backends accept.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

impl Db {
    pub async fn connect(
        url: &str,
        backend: Backend,
        max_connections: u32,
    ) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA busy_timeout = 10000")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await?;
        Ok(Db { pool, backend })
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock at
    /// once: a read-then-write transaction could otherwise fail on upgrade
    /// without waiting for the busy timeout.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }
}

/// RFC 3339, UTC, microseconds: fixed width, so text order is time order.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// A bind value for queries built at run time.
#[derive(Debug, Clone)]
pub enum Value {
    Int(i64),
    Text(String),
}

/// Builds SQL with numbered placeholders and keeps the values in order.
#[derive(Debug, Default)]
pub struct SqlBuilder {
    pub sql: String,
    pub values: Vec<Value>,
}

impl SqlBuilder {
    pub fn new(sql: &str) -> Self {
        SqlBuilder {
            sql: sql.to_string(),
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: Value) -> &mut Self {
        self.values.push(value);
        self.sql.push_str(&format!("${}", self.values.len()));
        self
    }

    pub fn bind_text(&mut self, text: impl Into<String>) -> &mut Self {
        self.bind(Value::Text(text.into()))
    }

    pub fn bind_int(&mut self, n: i64) -> &mut Self {
        self.bind(Value::Int(n))
    }

    pub fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.sql);
        for v in &self.values {
            q = match v {
                Value::Int(n) => q.bind(*n),
                Value::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

pub fn text(row: &AnyRow, column: &str) -> Result<String, sqlx::Error> {
    row.try_get(column)
}

pub fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, sqlx::Error> {
    row.try_get(column)
}

pub fn int(row: &AnyRow, column: &str) -> Result<i64, sqlx::Error> {
    row.try_get(column)
}
