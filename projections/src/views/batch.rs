//! What one projector batch holds until it commits: the rows its events
//! insert, kept in memory and written at `finish` a table at a time (one
//! statement on PostgreSQL, a few multi-row ones on SQLite), and what it
//! has looked up.
//!
//! Measured on a 120,000-event log (SQLite, 2 cores): a license cost five
//! statements (balance, the key twice, the entry, the row and its search
//! text), each a round trip through the driver's worker thread; those round
//! trips, not SQLite's work, were most of a replay. Rows an event inserts
//! therefore wait here, and a later event of the same batch that changes or
//! reads one of them finds it here instead of in the database. A row that
//! is not here is in the database and up to date there: changes to it are
//! written at once, as before. So every read sees the views exactly as if
//! each event had been written on its own, whatever the batch's size.

use super::Tx;
use super::binds::bind_row;
use crate::db::{Backend, Column, RowsTravel};
use serde::Serialize;
use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use std::collections::{BTreeMap, HashMap};

/// Rows of one table waiting to be inserted, by id.
pub(super) struct Pending<R> {
    rows: Vec<R>,
    at: HashMap<String, usize>,
}

impl<R> Default for Pending<R> {
    fn default() -> Self {
        Pending {
            rows: Vec::new(),
            at: HashMap::new(),
        }
    }
}

impl<R: Row> Pending<R> {
    pub(super) fn insert(&mut self, id: &str, row: R) {
        self.at.insert(id.to_string(), self.rows.len());
        self.rows.push(row);
    }

    pub(super) fn get(&self, id: &str) -> Option<&R> {
        self.at.get(id).map(|&i| &self.rows[i])
    }

    pub(super) fn get_mut(&mut self, id: &str) -> Option<&mut R> {
        self.at.get(id).map(|&i| &mut self.rows[i])
    }

    pub(super) fn push(&mut self, row: R) {
        self.rows.push(row);
    }

    /// Changes the row `id` where it is: here by `change` if the batch
    /// inserts it, else in the database by `update`, the same change in SQL.
    pub(super) async fn change<'q>(
        &mut self,
        tx: &mut Tx,
        id: &str,
        change: impl FnOnce(&mut R),
        update: Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<(), sqlx::Error> {
        match self.get_mut(id) {
            Some(row) => change(row),
            None => {
                update.execute(&mut **tx).await?;
            }
        }
        Ok(())
    }

    async fn write(self, tx: &mut Tx, backend: Backend) -> Result<(), sqlx::Error> {
        insert_rows(tx, backend, &self.rows).await
    }
}

/// A view row as `finish` writes it: its fields, serialized, are
/// `COLUMNS` in that order (a JSON object on PostgreSQL, bound values on
/// SQLite; see `binds`).
pub(crate) trait Row: Serialize {
    const TABLE: &'static str;
    const COLUMNS: &'static [(&'static str, Column)];
    /// Appended to the INSERT (a conflict clause).
    const ON_CONFLICT: &'static str = "";
}

/// Rows of one `VALUES` statement at most: far below SQLite's limit of
/// bound parameters (32,766) for the widest row. A batch's rows go in
/// statements of a power of two rows each, so that a table has at most a
/// dozen statement texts, each prepared once per connection.
const VALUES_ROWS: usize = 1024;

/// Inserts `rows` into their table, as the backend takes them
/// (`Backend::rows_travel`): one JSON array, or bound `VALUES`.
pub(crate) async fn insert_rows<R: Row>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    rows: &[R],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    match backend.rows_travel() {
        RowsTravel::JsonArray => {
            let json = serde_json::to_string(rows)
                .map_err(|e| sqlx::Error::Encode(format!("rows of {}: {e}", R::TABLE).into()))?;
            let sql = backend.insert_rows(R::TABLE, R::COLUMNS, rows.len(), R::ON_CONFLICT);
            sqlx::query(&sql).bind(json).execute(&mut *conn).await?;
        }
        RowsTravel::Values => {
            let mut rest = rows;
            while !rest.is_empty() {
                let n = VALUES_ROWS.min(1 << rest.len().ilog2());
                let (these, after) = rest.split_at(n);
                let mut args = AnyArguments::default();
                for row in these {
                    bind_row(row, R::COLUMNS, &mut args)?;
                }
                let sql = backend.insert_rows(R::TABLE, R::COLUMNS, n, R::ON_CONFLICT);
                sqlx::query_with(&sql, args).execute(&mut *conn).await?;
                rest = after;
            }
        }
    }
    Ok(())
}

/// An account's balance as this batch left it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Balance {
    /// The row is in the database: `balance` is the balance after the
    /// batch's movements so far, `unwritten` and `entries` what `finish`
    /// still adds to the row.
    Stored {
        balance: i64,
        unwritten: i64,
        entries: i64,
    },
    /// No such account: each entry's balance is its own amount, as the
    /// UPDATE that found no row used to make it.
    Absent,
}

#[derive(Serialize, Clone, Default)]
pub(super) struct AccountRow {
    pub id: String,
    pub role: String,
    pub login: String,
    pub email: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub products: Option<String>,
    pub created_at: String,
    pub position: i64,
    pub balance: i64,
    pub entries: i64,
}

impl Row for AccountRow {
    const TABLE: &'static str = "accounts";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("id", Column::Text),
        ("role", Column::Text),
        ("login", Column::Text),
        ("email", Column::Text),
        ("name", Column::Text),
        ("parent_id", Column::Text),
        ("products", Column::Text),
        ("created_at", Column::Text),
        ("position", Column::Int),
        ("balance", Column::Int),
        ("entries", Column::Int),
    ];
}

#[derive(Serialize, Clone, Default)]
pub(super) struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub account_id: String,
    pub created_at: String,
    pub next_attempt_at: String,
}

impl Row for OutboxRow {
    const TABLE: &'static str = "outbox";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("id", Column::Text),
        ("kind", Column::Text),
        ("account_id", Column::Text),
        ("created_at", Column::Text),
        ("next_attempt_at", Column::Text),
    ];
    const ON_CONFLICT: &'static str = " ON CONFLICT (id) DO NOTHING";
}

#[derive(Serialize, Clone, Default)]
pub(super) struct CreditEntryRow {
    pub id: String,
    pub account_id: String,
    pub position: i64,
    pub at: String,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    pub reference: Option<String>,
    pub actor_id: Option<String>,
    pub detail: Option<String>,
}

impl Row for CreditEntryRow {
    const TABLE: &'static str = "credit_entries";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("id", Column::Text),
        ("account_id", Column::Text),
        ("position", Column::Int),
        ("at", Column::Text),
        ("amount", Column::Int),
        ("balance_after", Column::Int),
        ("reason", Column::Text),
        ("reference", Column::Text),
        ("actor_id", Column::Text),
        ("detail", Column::Text),
    ];
}

#[derive(Serialize, Clone, Default)]
pub(super) struct IdempotencyRow {
    pub account_id: String,
    pub sender: String,
    pub key: String,
    pub entity_id: String,
}

impl Row for IdempotencyRow {
    const TABLE: &'static str = "idempotency_results";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("account_id", Column::Text),
        ("sender", Column::Text),
        ("key", Column::Text),
        ("entity_id", Column::Text),
    ];
}

#[derive(Serialize, Clone, Default)]
pub(super) struct KeyRow {
    pub id: String,
    pub owner_id: String,
    pub scope_id: String,
    pub name: String,
    pub key: String,
    pub device_fingerprint: Option<String>,
    pub device_name: Option<String>,
    pub activated_at: Option<String>,
    pub created_at: String,
    pub position: i64,
}

impl Row for KeyRow {
    const TABLE: &'static str = "activation_keys";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("id", Column::Text),
        ("owner_id", Column::Text),
        ("scope_id", Column::Text),
        ("name", Column::Text),
        ("key", Column::Text),
        ("device_fingerprint", Column::Text),
        ("device_name", Column::Text),
        ("activated_at", Column::Text),
        ("created_at", Column::Text),
        ("position", Column::Int),
    ];
}

#[derive(Serialize, Clone, Default)]
pub(super) struct LicenseRow {
    pub id: String,
    pub key_id: String,
    pub owner_id: String,
    pub scope_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub kind: String,
    pub trial_ends_at: Option<String>,
    pub email: Option<String>,
    pub comment: Option<String>,
    pub credits_spent: i64,
    pub deleted: i64,
    pub created_at: String,
    pub updated_at: String,
    pub position: i64,
    pub search_text: String,
}

impl Row for LicenseRow {
    const TABLE: &'static str = "licenses";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("id", Column::Text),
        ("key_id", Column::Text),
        ("owner_id", Column::Text),
        ("scope_id", Column::Text),
        ("product", Column::Text),
        ("edition", Column::Text),
        ("users", Column::Int),
        ("kind", Column::Text),
        ("trial_ends_at", Column::Text),
        ("email", Column::Text),
        ("comment", Column::Text),
        ("credits_spent", Column::Int),
        ("deleted", Column::Int),
        ("created_at", Column::Text),
        ("updated_at", Column::Text),
        ("position", Column::Int),
        ("search_text", Column::Text),
    ];
}

#[derive(Serialize, Clone, Default)]
pub(super) struct SupportRow {
    pub id: String,
    pub key_id: String,
    pub owner_id: String,
    pub scope_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub starts_on: String,
    pub end_of_support: String,
    pub credits_spent: i64,
    pub created_at: String,
    pub updated_at: String,
    pub position: i64,
    pub email: Option<String>,
    pub comment: Option<String>,
}

impl Row for SupportRow {
    const TABLE: &'static str = "supports";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("id", Column::Text),
        ("key_id", Column::Text),
        ("owner_id", Column::Text),
        ("scope_id", Column::Text),
        ("product", Column::Text),
        ("edition", Column::Text),
        ("users", Column::Int),
        ("starts_on", Column::Text),
        ("end_of_support", Column::Text),
        ("credits_spent", Column::Int),
        ("created_at", Column::Text),
        ("updated_at", Column::Text),
        ("position", Column::Int),
        ("email", Column::Text),
        ("comment", Column::Text),
    ];
}

#[derive(Serialize, Clone, Default)]
pub(super) struct SubscriptionRow {
    pub id: String,
    pub key_id: String,
    pub owner_id: String,
    pub scope_id: String,
    pub software: String,
    pub channels: i64,
    pub months: i64,
    pub starts_on: String,
    pub ends_on: String,
    pub email: Option<String>,
    pub comment: Option<String>,
    pub credits_spent: i64,
    pub created_at: String,
    pub position: i64,
}

impl Row for SubscriptionRow {
    const TABLE: &'static str = "subscriptions";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("id", Column::Text),
        ("key_id", Column::Text),
        ("owner_id", Column::Text),
        ("scope_id", Column::Text),
        ("software", Column::Text),
        ("channels", Column::Int),
        ("months", Column::Int),
        ("starts_on", Column::Text),
        ("ends_on", Column::Text),
        ("email", Column::Text),
        ("comment", Column::Text),
        ("credits_spent", Column::Int),
        ("created_at", Column::Text),
        ("position", Column::Int),
    ];
}

#[derive(Serialize)]
struct TotalRow<'a> {
    subject: &'a str,
    product: &'a str,
    kind: &'a str,
    deleted: i64,
    n: i64,
}

impl Row for TotalRow<'_> {
    const TABLE: &'static str = "license_totals";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("subject", Column::Text),
        ("product", Column::Text),
        ("kind", Column::Text),
        ("deleted", Column::Int),
        ("n", Column::Int),
    ];
    const ON_CONFLICT: &'static str = " ON CONFLICT (subject, product, kind, deleted) \
         DO UPDATE SET n = license_totals.n + excluded.n";
}

/// What one projector batch carries from event to event.
pub struct Batch {
    pub(super) backend: Backend,
    /// (subject, product, kind, deleted) -> change: a license moves three
    /// rows (system, partner, owner), summed over the batch.
    pub(super) license_totals: BTreeMap<(String, String, String, bool), i64>,
    /// owner -> the partner its rows belong under; an account's partner
    /// never changes.
    pub(super) scopes: HashMap<String, String>,
    /// Balances this batch moved.
    pub(super) balances: HashMap<String, Balance>,
    /// key id -> (key, name) as the database holds them (neither changes).
    pub(super) key_texts: HashMap<String, Option<(String, String)>>,
    pub(super) accounts: Pending<AccountRow>,
    pub(super) outbox: Pending<OutboxRow>,
    pub(super) credit_entries: Pending<CreditEntryRow>,
    pub(super) idempotency: Pending<IdempotencyRow>,
    pub(super) keys: Pending<KeyRow>,
    pub(super) licenses: Pending<LicenseRow>,
    pub(super) supports: Pending<SupportRow>,
    pub(super) subscriptions: Pending<SubscriptionRow>,
}

impl Batch {
    pub fn new(backend: Backend) -> Batch {
        Batch {
            backend,
            license_totals: BTreeMap::new(),
            scopes: HashMap::new(),
            balances: HashMap::new(),
            key_texts: HashMap::new(),
            accounts: Pending::default(),
            outbox: Pending::default(),
            credit_entries: Pending::default(),
            idempotency: Pending::default(),
            keys: Pending::default(),
            licenses: Pending::default(),
            supports: Pending::default(),
            subscriptions: Pending::default(),
        }
    }

    /// The partner a row of `owner` belongs under: the reseller's partner,
    /// or the owner itself.
    pub(super) async fn scope_of(
        &mut self,
        tx: &mut Tx,
        owner: &str,
    ) -> Result<String, sqlx::Error> {
        if let Some(account) = self.accounts.get(owner) {
            return Ok(account
                .parent_id
                .clone()
                .unwrap_or_else(|| owner.to_string()));
        }
        if let Some(scope) = self.scopes.get(owner) {
            return Ok(scope.clone());
        }
        let parent: Option<String> =
            sqlx::query_scalar("SELECT parent_id FROM accounts WHERE id = $1")
                .bind(owner)
                .fetch_optional(&mut **tx)
                .await?
                .flatten();
        let scope = parent.unwrap_or_else(|| owner.to_string());
        self.scopes.insert(owner.to_string(), scope.clone());
        Ok(scope)
    }

    /// The text and name of an activation key (None when there is none).
    pub(super) async fn key_text(
        &mut self,
        tx: &mut Tx,
        key_id: &str,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        if let Some(k) = self.keys.get(key_id) {
            return Ok(Some((k.key.clone(), k.name.clone())));
        }
        if let Some(k) = self.key_texts.get(key_id) {
            return Ok(k.clone());
        }
        let k: Option<(String, String)> =
            sqlx::query_as("SELECT key, name FROM activation_keys WHERE id = $1")
                .bind(key_id)
                .fetch_optional(&mut **tx)
                .await?;
        self.key_texts.insert(key_id.to_string(), k.clone());
        Ok(k)
    }

    /// Moves `owner`'s balance by `amount` and counts one more entry;
    /// returns the balance after it.
    pub(super) async fn move_balance(
        &mut self,
        tx: &mut Tx,
        owner: &str,
        amount: i64,
    ) -> Result<i64, sqlx::Error> {
        if let Some(account) = self.accounts.get_mut(owner) {
            account.balance += amount;
            account.entries += 1;
            return Ok(account.balance);
        }
        match self.balances.get_mut(owner) {
            Some(Balance::Stored {
                balance,
                unwritten,
                entries,
            }) => {
                *balance += amount;
                *unwritten += amount;
                *entries += 1;
                Ok(*balance)
            }
            Some(Balance::Absent) => Ok(amount),
            None => {
                // The first movement is written at once, as a single event
                // of the live path needs; later ones add up until `finish`.
                let after: Option<i64> = sqlx::query_scalar(
                    "UPDATE accounts SET balance = balance + $1, entries = entries + 1 WHERE id = $2
                      RETURNING balance",
                )
                .bind(amount)
                .bind(owner)
                .fetch_optional(&mut **tx)
                .await?;
                let state = match after {
                    Some(balance) => Balance::Stored {
                        balance,
                        unwritten: 0,
                        entries: 0,
                    },
                    None => Balance::Absent,
                };
                self.balances.insert(owner.to_string(), state);
                Ok(after.unwrap_or(amount))
            }
        }
    }

    /// Writes what the batch holds; call before committing.
    pub async fn finish(self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        let backend = self.backend;
        self.accounts.write(tx, backend).await?;
        self.outbox.write(tx, backend).await?;
        self.keys.write(tx, backend).await?;
        self.licenses.write(tx, backend).await?;
        self.supports.write(tx, backend).await?;
        self.subscriptions.write(tx, backend).await?;
        self.credit_entries.write(tx, backend).await?;
        self.idempotency.write(tx, backend).await?;
        for (id, balance) in &self.balances {
            if let Balance::Stored {
                unwritten, entries, ..
            } = balance
                && *entries > 0
            {
                sqlx::query(
                    "UPDATE accounts SET balance = balance + $1, entries = entries + $2 WHERE id = $3",
                )
                .bind(*unwritten)
                .bind(*entries)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            }
        }
        let totals: Vec<TotalRow<'_>> = self
            .license_totals
            .iter()
            .filter(|(_, by)| **by != 0)
            .map(|((subject, product, kind, deleted), by)| TotalRow {
                subject,
                product,
                kind,
                deleted: i64::from(*deleted),
                n: *by,
            })
            .collect();
        insert_rows(tx, backend, &totals).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row's fields are exactly the columns its INSERT names, in
    /// their order, and bind as one value per column.
    fn fields_are_columns<R: Row + Default>() {
        let mut args = AnyArguments::default();
        bind_row(&R::default(), R::COLUMNS, &mut args).expect("a row binds");
        assert_eq!(
            sqlx::Arguments::len(&args),
            R::COLUMNS.len(),
            "{}",
            R::TABLE
        );
    }

    #[test]
    fn a_field_out_of_its_columns_place_is_refused() {
        const SWAPPED: &[(&str, Column)] = &[
            ("account_id", Column::Text),
            ("key", Column::Text),
            ("sender", Column::Text),
            ("entity_id", Column::Text),
        ];
        let row = IdempotencyRow::default();
        assert!(bind_row(&row, SWAPPED, &mut AnyArguments::default()).is_err());
        const SHORT: &[(&str, Column)] = &[("account_id", Column::Text)];
        assert!(bind_row(&row, SHORT, &mut AnyArguments::default()).is_err());
    }

    #[test]
    fn a_values_insert_has_a_placeholder_per_field() {
        let columns = &[("a", Column::Text), ("b", Column::Int)];
        let sql = Backend::Sqlite.insert_rows("t", columns, 3, "");
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)");
    }

    #[test]
    fn every_row_names_its_columns() {
        fields_are_columns::<AccountRow>();
        fields_are_columns::<OutboxRow>();
        fields_are_columns::<CreditEntryRow>();
        fields_are_columns::<IdempotencyRow>();
        fields_are_columns::<KeyRow>();
        fields_are_columns::<LicenseRow>();
        fields_are_columns::<SupportRow>();
        fields_are_columns::<SubscriptionRow>();
    }
}
