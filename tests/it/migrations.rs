//! The two migration sets (`migrations/sqlite`, `migrations/postgres`) are
//! written by hand, side by side: this migrates a fresh database of each
//! backend and compares what they end with (tables, their columns and
//! whether each may be NULL, the indexes by name), so one cannot gain a
//! column or an index the other lacks. Column types are not compared: the
//! backends name them differently (integer/bigint, text/json).
//!
//! Where the backends differ on purpose, the difference is in an allow-list
//! below with the reason; anything else fails the test.

use crate::common::{Backend, fresh_database};
use license_portal::storage::{self, EventPool};
use std::collections::{BTreeMap, BTreeSet};

/// Only in SQLite: license search is an FTS5 table with the trigram
/// tokenizer, and FTS5 keeps its index in shadow tables of its own.
/// PostgreSQL searches `licenses.search_text` through a pg_trgm index
/// (`licenses_search`, below) instead.
const SQLITE_ONLY_TABLES: &[&str] = &[
    "license_search",
    "license_search_config",
    "license_search_content",
    "license_search_data",
    "license_search_docsize",
    "license_search_idx",
];

/// Only in PostgreSQL:
/// - `licenses_search`: the pg_trgm index doing what SQLite's FTS5 table
///   does. The migration skips it (with a warning) where the extension is
///   not installed, so it may be missing too.
/// - `events_global_order`: the log is read in commit order, (transaction
///   id, position); PostgreSQL commits concurrent transactions, whose
///   positions can commit out of order. SQLite has one writer, so the
///   position alone is commit order and `transaction_id` is always 0.
const POSTGRES_ONLY_INDEXES: &[&str] = &["licenses_search", "events_global_order"];

/// Columns NOT NULL in PostgreSQL only:
/// - `events.global_position` is an identity column there; in SQLite a
///   trigger numbers the row just after it is inserted, so the column must
///   accept the NULL it is inserted with.
const NOT_NULL_IN_POSTGRES_ONLY: &[(&str, &str)] = &[("events", "global_position")];

#[derive(Debug, Default)]
struct Schema {
    /// table -> column -> NOT NULL
    tables: BTreeMap<String, BTreeMap<String, bool>>,
    /// Indexes created by the migrations, not those backing a primary key
    /// or a UNIQUE constraint (their names are the backend's own).
    indexes: BTreeSet<String>,
}

async fn migrated(backend: Backend, dir: &std::path::Path) -> Schema {
    let url = fresh_database(backend, dir).await;
    let storage = storage::open(&url).await.expect("migrate a fresh database");
    let mut schema = Schema::default();
    let (columns, indexes): (Vec<(String, String, bool)>, Vec<String>) = match &storage.events {
        EventPool::Sqlite(pool) => {
            // A primary key column of any type but INTEGER takes NULL in
            // SQLite (a historical quirk), while PostgreSQL makes it NOT NULL;
            // neither migration set means it to be nullable.
            let columns = sqlx::query_as(
                "SELECT m.name, p.name, p.\"notnull\" OR p.pk > 0 \
                 FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                   AND m.name <> '_sqlx_migrations'",
            )
            .fetch_all(pool)
            .await
            .expect("SQLite columns");
            // Indexes SQLite makes for constraints itself have no SQL.
            let indexes = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
            )
            .fetch_all(pool)
            .await
            .expect("SQLite indexes");
            (columns, indexes)
        }
        EventPool::Postgres(pool) => {
            let columns = sqlx::query_as(
                "SELECT c.table_name::text, c.column_name::text, c.is_nullable = 'NO' \
                 FROM information_schema.columns c \
                 JOIN information_schema.tables t USING (table_schema, table_name) \
                 WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
                   AND c.table_name <> '_sqlx_migrations'",
            )
            .fetch_all(pool)
            .await
            .expect("PostgreSQL columns");
            let indexes = sqlx::query_scalar(
                "SELECT i.relname::text FROM pg_index x \
                 JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN pg_namespace n ON n.oid = i.relnamespace \
                 WHERE n.nspname = 'public' \
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            )
            .fetch_all(pool)
            .await
            .expect("PostgreSQL indexes");
            (columns, indexes)
        }
    };
    for (table, column, not_null) in columns {
        schema
            .tables
            .entry(table)
            .or_default()
            .insert(column, not_null);
    }
    schema.indexes = indexes.into_iter().collect();
    storage.db.pool.close().await;
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_migrate_to_the_same_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = migrated(Backend::Sqlite, dir.path()).await;
    let postgres = migrated(Backend::Postgres, dir.path()).await;

    let mut drift = Vec::new();
    for (table, sqlite_columns) in &sqlite.tables {
        let Some(postgres_columns) = postgres.tables.get(table) else {
            if !SQLITE_ONLY_TABLES.contains(&table.as_str()) {
                drift.push(format!("table {table} only in SQLite"));
            }
            continue;
        };
        for (column, &sqlite_not_null) in sqlite_columns {
            match postgres_columns.get(column) {
                None => drift.push(format!("column {table}.{column} only in SQLite")),
                Some(&postgres_not_null) if postgres_not_null != sqlite_not_null => {
                    let allowed = postgres_not_null
                        && NOT_NULL_IN_POSTGRES_ONLY.contains(&(table.as_str(), column.as_str()));
                    if !allowed {
                        drift.push(format!(
                            "column {table}.{column}: NOT NULL in {} only",
                            if postgres_not_null {
                                "PostgreSQL"
                            } else {
                                "SQLite"
                            }
                        ));
                    }
                }
                Some(_) => {}
            }
        }
        for column in postgres_columns.keys() {
            if !sqlite_columns.contains_key(column) {
                drift.push(format!("column {table}.{column} only in PostgreSQL"));
            }
        }
    }
    for table in postgres.tables.keys() {
        if !sqlite.tables.contains_key(table) {
            drift.push(format!("table {table} only in PostgreSQL"));
        }
    }
    for index in sqlite.indexes.difference(&postgres.indexes) {
        drift.push(format!("index {index} only in SQLite"));
    }
    for index in postgres.indexes.difference(&sqlite.indexes) {
        if !POSTGRES_ONLY_INDEXES.contains(&index.as_str()) {
            drift.push(format!("index {index} only in PostgreSQL"));
        }
    }
    assert!(
        drift.is_empty(),
        "the migration sets have drifted apart (add a migration to the set \
         that lacks it, or a commented entry to the allow-lists here):\n{}",
        drift.join("\n")
    );

    // An allow-list entry that no longer differs would hide a future drift.
    for table in SQLITE_ONLY_TABLES {
        assert!(
            sqlite.tables.contains_key(*table) && !postgres.tables.contains_key(*table),
            "{table} is allow-listed as SQLite-only but is not"
        );
    }
    for (table, column) in NOT_NULL_IN_POSTGRES_ONLY {
        assert_eq!(
            (
                sqlite.tables[*table].get(*column),
                postgres.tables[*table].get(*column)
            ),
            (Some(&false), Some(&true)),
            "{table}.{column} is allow-listed as NOT NULL in PostgreSQL only but is not"
        );
    }
    assert!(
        postgres.indexes.contains("events_global_order")
            && !sqlite.indexes.contains("events_global_order"),
        "events_global_order is allow-listed as PostgreSQL-only but is not"
    );
}
