//! Credits: the ledger of each account's movements, its balance at a time,
//! and the results of idempotent commands.

use super::{Cursor, Page, PageRequest, Scope, by_id, newest_first, page_of_total};
use crate::db::{Db, SqlBuilder};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct CreditEntryRow {
    pub id: String,
    pub account_id: String,
    pub position: i64,
    pub at: String,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    pub reference: Option<String>,
    pub actor_id: Option<String>,
    /// JSON of `CreditDetail`; None for entries written before it existed.
    pub detail: Option<String>,
}

impl CreditEntryRow {
    /// What the entry was for, if the projector recorded it.
    pub fn detail(&self) -> Option<CreditDetail> {
        self.detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
    }
}

/// What a credit entry was for, as the projector found it when it wrote the
/// entry: the parts the portal puts into words. Codes, not names, for the
/// catalog's products and editions (the catalog names them when shown).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreditDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<i64>,
    /// The activation key and its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// The other account of a transfer, or the account a grant went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

const ENTRY_COLUMNS: &str = "SELECT c.id, c.account_id, c.position, c.at, c.amount, c.balance_after, c.reason, c.reference, c.actor_id, c.detail";

view_row!(CreditEntryRow, "credit_entries" "c", ENTRY_COLUMNS);

pub async fn credit_entry(db: &Db, id: &str) -> Result<Option<CreditEntryRow>, sqlx::Error> {
    // Entries are not scoped: who may see one is the caller's to decide.
    by_id(db, &Scope::All, id).await
}

pub async fn grant_entry(
    db: &Db,
    account_id: &str,
    reference: &str,
) -> Result<Option<CreditEntryRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{ENTRY_COLUMNS} FROM credit_entries c WHERE c.account_id = $1 AND c.reason = 'GRANT' AND c.reference = $2"
    ))
    .bind(account_id)
    .bind(reference)
    .fetch_optional(&db.pool)
    .await
}

/// Oldest first, optionally within [from, to].
pub async fn credit_history(
    db: &Db,
    account_id: &str,
    from: Option<&str>,
    to: Option<&str>,
    page_req: &PageRequest,
) -> Result<Page<CreditEntryRow>, sqlx::Error> {
    let mut f = SqlBuilder::new("FROM credit_entries c WHERE c.account_id = ");
    f.bind_text(account_id);
    if let Some(from) = from {
        f.push(" AND c.at >= ").bind_text(from);
    }
    if let Some(to) = to {
        f.push(" AND c.at <= ").bind_text(to);
    }
    // The whole history's length is kept with the balance; a date range is
    // counted through the (account, at) index.
    let total = match (from, to) {
        (None, None) => Some(
            sqlx::query_scalar::<_, i64>("SELECT entries FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&db.pool)
                .await?
                .unwrap_or(0),
        ),
        _ => None,
    };
    page_of_total(
        db,
        total,
        f,
        ENTRY_COLUMNS,
        "c.position ASC",
        entry_after(&page_req.after),
        page_req.first,
        |r| {
            let row = CreditEntryRow::from_row(r)?;
            Ok((Cursor::Entry(row.id.clone()), row))
        },
    )
    .await
}

/// The grants `actor_id` made, to any partner, newest first.
pub async fn grants_by_actor(
    db: &Db,
    actor_id: &str,
    page_req: &PageRequest,
) -> Result<Page<CreditEntryRow>, sqlx::Error> {
    let mut f = SqlBuilder::new("FROM credit_entries c WHERE c.actor_id = ");
    f.bind_text(actor_id).push(" AND c.reason = 'GRANT'");
    newest_first(db, None, f, page_req).await
}

/// The balance after the last entry at or before `at_or_before`.
pub async fn balance_as_of(
    db: &Db,
    account_id: &str,
    at_or_before: &str,
) -> Result<i64, sqlx::Error> {
    let balance: Option<i64> = sqlx::query_scalar(
        "SELECT balance_after FROM credit_entries WHERE account_id = $1 AND at <= $2
          ORDER BY position DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(at_or_before)
    .fetch_optional(&db.pool)
    .await?;
    Ok(balance.unwrap_or(0))
}

pub async fn idempotent_result(
    db: &Db,
    account_id: &str,
    idem: &aggregates::Idempotency,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT entity_id FROM idempotency_results WHERE account_id = $1 AND sender = $2 AND key = $3",
    )
    .bind(account_id)
    .bind(idem.sender.as_deref().unwrap_or(""))
    .bind(&idem.key)
    .fetch_optional(&db.pool)
    .await
}

/// The entries after the one a cursor names (none when it names no entry).
fn entry_after(after: &Option<Cursor>) -> Option<SqlBuilder> {
    match after {
        Some(Cursor::Entry(id)) => {
            let mut b = SqlBuilder::new(
                "c.position > (SELECT e.position FROM credit_entries e WHERE e.id = ",
            );
            b.bind_text(id.as_str()).push(")");
            Some(b)
        }
        _ => None,
    }
}
