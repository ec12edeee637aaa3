//! The storage seam: one pool that speaks to SQLite or PostgreSQL, and the few
//! helpers every table uses. SQL written here uses `$n` placeholders and
//! portable types (text and 64-bit integers), which both backends accept.

use crate::log::LogPosition;
use crate::write_gate::{Turn, WriteGate};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::path::Path;
use std::time::Duration;

/// Every SQLite connection keeps its temporary files in memory. A
/// projector batch's multi-row INSERTs each need a statement journal (to
/// undo a statement refused halfway), and on disk those journals were a
/// third of a replay's time: 102,000 events replayed at 15,600 events/s
/// with them on disk, 25,000 in memory. They hold the pages one statement
/// changes, so they stay small; the one large use, sorting a table for an
/// index a replay builds, is sent back to disk
/// (`Backend::index_build_settings`).
pub const SQLITE_TEMP_STORE: &str = "PRAGMA temp_store = MEMORY";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Every SQL text that differs between the two backends is chosen here, so
/// the queries elsewhere read the same on both.
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

    /// A json column read as text: PostgreSQL's json type does not decode
    /// through the Any driver; SQLite stores the text itself.
    pub fn json_text(self, column: &str) -> String {
        match self {
            Backend::Postgres => format!("{column}::text"),
            Backend::Sqlite => column.to_string(),
        }
    }

    /// One top-level field of a json column, as text.
    pub fn json_field(self, column: &str, field: &str) -> String {
        match self {
            Backend::Postgres => format!("({column}->>'{field}')"),
            Backend::Sqlite => format!("json_extract({column}, '$.{field}')"),
        }
    }

    /// A placeholder bound with json text, for a json column: PostgreSQL
    /// will not put text into one without a cast.
    pub fn json_param(self, placeholder: &str) -> String {
        match self {
            Backend::Postgres => format!("{placeholder}::json"),
            Backend::Sqlite => placeholder.to_string(),
        }
    }

    /// The events table's transaction id as a 64-bit integer: an xid8 on
    /// PostgreSQL (which the Any driver cannot decode), always 0 on SQLite.
    pub fn log_transaction_id(self) -> &'static str {
        match self {
            Backend::Postgres => "transaction_id::text::bigint",
            Backend::Sqlite => "transaction_id",
        }
    }

    /// Adds the condition on the events table that selects the events after
    /// `after` which no transaction still running can precede: on
    /// PostgreSQL those below `horizon` (from [`crate::log::horizon`]), as
    /// a transaction commits in any order with others; SQLite has one
    /// writer at a time and its positions are commit order.
    pub fn log_after(self, q: &mut SqlBuilder, after: LogPosition, horizon: i64) {
        match self {
            Backend::Postgres => {
                q.push("(transaction_id, global_position) > (")
                    .bind_int(after.transaction_id)
                    .push("::bigint::text::xid8, ")
                    .bind_int(after.position)
                    .push(") AND transaction_id < ")
                    .bind_int(horizon)
                    .push("::bigint::text::xid8");
            }
            Backend::Sqlite => {
                q.push("global_position > ").bind_int(after.position);
            }
        }
    }

    /// The order `log_after` reads the log in (commit order).
    pub fn log_order(self) -> &'static str {
        match self {
            Backend::Postgres => "transaction_id, global_position",
            Backend::Sqlite => "global_position",
        }
    }

    /// The start of a licenses query (`FROM …`, alias `l`, ending in a
    /// `WHERE` that more conditions follow with AND) limited to the licenses
    /// whose search text (key, email, comment) contains `search`, through
    /// each backend's trigram index.
    pub fn licenses_containing(self, search: &str) -> SqlBuilder {
        match self {
            // The trigram index (license_search, FTS5) answers GLOB, not LIKE
            // with an ESCAPE clause, so the text is matched as a glob. CROSS
            // JOIN and INDEXED BY make SQLite start from the matches and look
            // each up by position; left to itself it walks every license of
            // the scope through the filters index and tests each (60 ms
            // instead of 1 on 100,000 licenses).
            Backend::Sqlite => {
                let mut f = SqlBuilder::new(
                    "FROM (SELECT rowid AS position FROM license_search WHERE search_text GLOB ",
                );
                f.bind_text(glob_pattern(search)).push(
                    ") s CROSS JOIN licenses l INDEXED BY licenses_position ON l.position = s.position WHERE 1 = 1",
                );
                f
            }
            // pg_trgm's index answers LIKE.
            Backend::Postgres => {
                let mut f = SqlBuilder::new("FROM licenses l WHERE l.search_text LIKE ");
                f.bind_text(like_pattern(search)).push(" ESCAPE '\\'");
                f
            }
        }
    }

    /// Names the index SQLite must read a table through (` INDEXED BY …`,
    /// to follow the table's alias). Empty on PostgreSQL, whose statistics
    /// find the index unaided.
    pub fn indexed_by(self, index: &str) -> String {
        match self {
            Backend::Sqlite => format!(" INDEXED BY {index}"),
            Backend::Postgres => String::new(),
        }
    }

    /// A common table expression `n(i)` holding the integers 1 to `count`,
    /// to prefix an `INSERT … SELECT … FROM n` that writes synthetic rows.
    pub fn integers(self, count: i64) -> String {
        match self {
            Backend::Postgres => format!("WITH n(i) AS (SELECT generate_series(1, {count}))"),
            Backend::Sqlite => format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"
            ),
        }
    }

    /// The placeholder of the `n`th (from 1) parameter of a statement with
    /// many: anonymous on SQLite, which looks a named one up in a list,
    /// so that thousands of `$n`s make binding quadratic.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Backend::Sqlite => "?".to_string(),
            Backend::Postgres => format!("${n}"),
        }
    }

    /// How the projector sends a batch's rows of one table. PostgreSQL
    /// takes them as one JSON array, taken apart by `json_to_recordset`:
    /// one parameter, whatever the number of rows. SQLite takes them as
    /// bound `VALUES`: its `json_each` turns every object back into text
    /// and parses it again for each column, which was a quarter of its
    /// thread's time in a replay (perf); jsonb_each, which would not, is
    /// missing from the SQLite linked here.
    pub fn rows_travel(self) -> RowsTravel {
        match self {
            Backend::Postgres => RowsTravel::JsonArray,
            Backend::Sqlite => RowsTravel::Values,
        }
    }

    /// The INSERT of `rows` rows into `table`'s `columns`, as
    /// `rows_travel` sends them (a JSON array ignores `rows`), followed by
    /// `tail` (a conflict clause or nothing).
    pub fn insert_rows(
        self,
        table: &str,
        columns: &[(&str, Column)],
        rows: usize,
        tail: &str,
    ) -> String {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let mut sql = format!("INSERT INTO {table} ({}) ", names.join(", "));
        match self.rows_travel() {
            RowsTravel::JsonArray => {
                let types: Vec<String> = columns
                    .iter()
                    .map(|(name, column)| {
                        let ty = match column {
                            Column::Text => "text",
                            Column::Int => "bigint",
                        };
                        format!("{name} {ty}")
                    })
                    .collect();
                // WHERE true, so that a conflict clause's ON can never be
                // read as a join condition of the FROM.
                sql.push_str(&format!(
                    "SELECT {} FROM json_to_recordset($1::json) AS r({}) WHERE true",
                    names.join(", "),
                    types.join(", ")
                ));
            }
            RowsTravel::Values => {
                // Anonymous `?`s, bound in order: SQLite looks a named
                // parameter (`$n`) up in a list, so a statement of thousands
                // of them took quadratic time to prepare.
                let row = format!("({})", vec!["?"; columns.len()].join(", "));
                sql.push_str("VALUES ");
                sql.push_str(&vec![row; rows].join(", "));
            }
        }
        sql.push_str(tail);
        sql
    }

    /// SQLite's search index, an FTS5 table (name, the statement filling it
    /// from the licenses): a full replay empties it, drops the triggers
    /// that keep it and fills it from the finished rows. None on
    /// PostgreSQL, whose search index (pg_trgm) is one of the table's
    /// indexes.
    pub fn search_table(self) -> Option<(&'static str, &'static str)> {
        match self {
            Backend::Sqlite => Some((
                "license_search",
                "INSERT INTO license_search (rowid, search_text) SELECT position, search_text FROM licenses",
            )),
            Backend::Postgres => None,
        }
    }

    /// The query listing what a full replay may drop on `tables` and build
    /// again after their rows: (name, kind: `index` or `trigger`, sql
    /// creating it). Not the indexes behind a primary key or a UNIQUE
    /// constraint, which the replay's own lookups and checks need.
    pub fn deferrable_indexes(self, tables: &[&str]) -> String {
        let list: Vec<String> = tables.iter().map(|t| format!("'{t}'")).collect();
        let list = list.join(", ");
        match self {
            // Indexes of constraints have no sql.
            Backend::Sqlite => format!(
                "SELECT name, type AS kind, sql FROM sqlite_master
                  WHERE type IN ('index', 'trigger') AND tbl_name IN ({list}) AND sql IS NOT NULL
                  ORDER BY type, name"
            ),
            Backend::Postgres => format!(
                "SELECT i.indexname::text AS name, 'index'::text AS kind, i.indexdef AS sql
                   FROM pg_indexes i
                  WHERE i.schemaname = current_schema() AND i.tablename IN ({list})
                    AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                     WHERE c.conname = i.indexname
                                       AND c.connamespace = current_schema()::regnamespace)
                  ORDER BY i.indexname"
            ),
        }
    }

    /// Set inside the transaction that builds the indexes a replay
    /// deferred: PostgreSQL sorts an index in `maintenance_work_mem`, and
    /// its 64 MB default made the trigram index of 20,000 licenses take
    /// 615 ms to build, 314 ms with 512 MB. SQLite's connections keep their
    /// temporary files in memory (see `SQLITE_TEMP_STORE`), which would
    /// put the whole sort of a large table's index in memory: here they go
    /// to disk, as SQLite's sorter spills them.
    pub fn index_build_settings(self) -> &'static str {
        match self {
            Backend::Postgres => "SET LOCAL maintenance_work_mem = '512MB'",
            Backend::Sqlite => "PRAGMA temp_store = FILE",
        }
    }

    /// Run at the end of that transaction to set back what
    /// `index_build_settings` changed for the connection's later users
    /// (PostgreSQL's SET LOCAL ends with the transaction).
    pub fn index_build_reset(self) -> Option<&'static str> {
        match self {
            Backend::Postgres => None,
            Backend::Sqlite => Some(SQLITE_TEMP_STORE),
        }
    }

    /// The statements emptying `tables`: one TRUNCATE on PostgreSQL (a
    /// DELETE there visits every row); SQLite's DELETE without a WHERE on a
    /// table without triggers already drops the pages whole.
    pub fn empty_tables(self, tables: &[&str]) -> Vec<String> {
        match self {
            Backend::Postgres => vec![format!("TRUNCATE {}", tables.join(", "))],
            Backend::Sqlite => tables.iter().map(|t| format!("DELETE FROM {t}")).collect(),
        }
    }

    /// The date text (`YYYY-MM-DD`) `days` (an integer expression) after
    /// the date text `date` (a literal).
    pub fn date_plus_days(self, date: &str, days: &str) -> String {
        match self {
            Backend::Postgres => format!("to_char(date '{date}' + ({days}), 'YYYY-MM-DD')"),
            Backend::Sqlite => format!("date('{date}', '+' || ({days}) || ' days')"),
        }
    }
}

/// How a batch's rows reach the database (`Backend::rows_travel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsTravel {
    /// One parameter: the rows as a JSON array of objects.
    JsonArray,
    /// One parameter per column of each row, in column order.
    Values,
}

/// The type of a column a batch inserts (`Backend::insert_rows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Text,
    Int,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// SQLite: this process's writers of the file take turns here (see
    /// `write_gate`); None on PostgreSQL.
    gate: Option<WriteGate>,
}

/// One statement that writes, outside a transaction: `.write_on(&db)` in
/// place of `.execute(&db.pool)` runs it in this process's turn on SQLite
/// (see `write_gate`), as `Db::begin_write` does for a transaction.
pub trait WriteOn {
    fn write_on(
        self,
        db: &Db,
    ) -> impl std::future::Future<Output = Result<sqlx::any::AnyQueryResult, sqlx::Error>> + Send;
}

impl<'q> WriteOn for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    async fn write_on(self, db: &Db) -> Result<sqlx::any::AnyQueryResult, sqlx::Error> {
        let _turn = db.write_turn().await?;
        self.execute(&db.pool).await
    }
}

/// A transaction that writes, holding the writer's turn on SQLite until it
/// commits or rolls back.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<Turn>,
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Backend {
    /// Whether a pool checks a connection before handing it out. A
    /// PostgreSQL connection can die with its server (a restart), and the
    /// check finds that before a request does. A SQLite connection is an open
    /// file that does not go stale, and the check would cost a round trip
    /// through its worker thread on every query.
    pub fn pings_before_use(self) -> bool {
        self == Backend::Postgres
    }
}

/// The file a `sqlite:` URL opens.
fn sqlite_file(url: &str) -> &str {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    path.split('?').next().unwrap_or(path)
}

impl Db {
    /// A pool of `max_connections` on `url`. `session` is run on every new
    /// connection (pragmas, session settings): the caller decides them, so
    /// the event store's pool and this one are set up alike. A connection
    /// that comes back to the pool still inside a transaction is closed
    /// rather than handed out again: see `storage` in the service.
    pub async fn connect(
        url: &str,
        backend: Backend,
        max_connections: u32,
        session: Vec<String>,
    ) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let session = std::sync::Arc::new(session);
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(backend.pings_before_use())
            .after_connect(move |conn, _| {
                let session = session.clone();
                Box::pin(async move {
                    for statement in session.iter() {
                        sqlx::query(statement).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .before_acquire(|conn, _| {
                Box::pin(async move {
                    use sqlx::TransactionManager;
                    let depth =
                        <sqlx::Any as sqlx::Database>::TransactionManager::get_transaction_depth(
                            conn,
                        );
                    Ok(left_clean(depth))
                })
            })
            .connect(url)
            .await?;
        let gate = match backend {
            Backend::Sqlite => WriteGate::for_file(Path::new(sqlite_file(url))),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            backend,
            gate,
        })
    }

    /// This process's turn to write to the database (see `write_gate`).
    async fn write_turn(&self) -> Result<Option<Turn>, sqlx::Error> {
        crate::write_gate::turn(self.gate.as_ref()).await
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock at
    /// once: a read-then-write transaction could otherwise fail on upgrade
    /// without waiting for the busy timeout.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        // The turn first: a writer waiting for it holds no connection.
        let turn = self.write_turn().await?;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    /// Refreshes the planner's statistics after a bulk write, on `table` or
    /// every table. Only PostgreSQL's are refreshed: SQLite's plans are left
    /// as they were measured, and the queries that need an index name it.
    pub async fn analyze(&self, table: Option<&str>) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            let sql = match table {
                Some(table) => format!("ANALYZE {table}"),
                None => "ANALYZE".to_string(),
            };
            sqlx::query(&sql).execute(&self.pool).await?;
        }
        Ok(())
    }
}

/// Whether a pooled connection may be handed out again: not when it is
/// still inside a transaction. A failed COMMIT or ROLLBACK (SQLite's "disk
/// is full" rolls the transaction back itself, and sqlx's own ROLLBACK then
/// fails) leaves sqlx counting a transaction the connection may or may not
/// hold; handed out again, it refused every `BEGIN IMMEDIATE` ("non-zero
/// transaction depth") or kept the write lock, and every other writer
/// waited out its busy timeout. Closing the connection ends whatever it
/// held; the pool opens a fresh one.
pub fn left_clean(transaction_depth: usize) -> bool {
    if transaction_depth > 0 {
        tracing::warn!(
            transaction_depth,
            "a connection came back inside a transaction; closing it"
        );
        return false;
    }
    true
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

    /// As `query`, decoding each row as a `T`.
    pub fn query_as<T>(&self) -> sqlx::query::QueryAs<'_, sqlx::Any, T, sqlx::any::AnyArguments<'_>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        let mut q = sqlx::query_as(&self.sql);
        for v in &self.values {
            q = match v {
                Value::Int(n) => q.bind(*n),
                Value::Text(s) => q.bind(s.as_str()),
            };
        }
        q
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

/// `%text%`, lower case, with LIKE's wildcards escaped.
pub fn like_pattern(search: &str) -> String {
    let escaped = search
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `*text*`, lower case, with GLOB's special characters taken literally.
fn glob_pattern(search: &str) -> String {
    let mut out = String::from("*");
    for c in search.to_lowercase().chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out.push('*');
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_take_wildcards_literally() {
        assert_eq!(like_pattern("50%_A\\"), "%50\\%\\_a\\\\%");
        assert_eq!(glob_pattern("What? [X]*"), "*what[?] [[]x][*]*");
    }
}
