//! Accounts: admins, partners and resellers, and what each holds.

use super::{Page, PageRequest, Scope, by_id, newest_first};
use crate::db::{Db, SqlBuilder, int, opt_text, text};
use sqlx::any::AnyRow;

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub role: String,
    pub login: String,
    pub email: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub balance: i64,
    pub products: Option<Vec<String>>,
    pub created_at: String,
    pub position: i64,
}

const ACCOUNT_COLUMNS: &str = "SELECT a.id, a.role, a.login, a.email, a.name, a.parent_id, a.balance, a.products, a.created_at, a.position";

view_row!(AccountRow, "accounts" "a", ACCOUNT_COLUMNS, account_row);

/// Written by hand, not derived: `products` is stored as json text, which
/// the Any driver cannot decode into a list.
fn account_row(r: &AnyRow) -> Result<AccountRow, sqlx::Error> {
    let products = opt_text(r, "products")?.and_then(|p| serde_json::from_str(&p).ok());
    Ok(AccountRow {
        id: text(r, "id")?,
        role: text(r, "role")?,
        login: text(r, "login")?,
        email: text(r, "email")?,
        name: text(r, "name")?,
        parent_id: opt_text(r, "parent_id")?,
        balance: int(r, "balance")?,
        products,
        created_at: text(r, "created_at")?,
        position: int(r, "position")?,
    })
}

pub async fn account(db: &Db, id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    // Accounts are not scoped: who may see one is the caller's to decide.
    by_id(db, &Scope::All, id).await
}

/// Admin (`parent` None): every account, optionally of one role. Partner
/// (`parent` its id): its resellers.
pub async fn accounts(
    db: &Db,
    parent: Option<&str>,
    role: Option<&str>,
    page_req: &PageRequest,
) -> Result<Page<AccountRow>, sqlx::Error> {
    let mut f = SqlBuilder::new("FROM accounts a WHERE 1 = 1");
    if let Some(parent) = parent {
        f.push(" AND a.parent_id = ").bind_text(parent);
    }
    if let Some(role) = role {
        f.push(" AND a.role = ").bind_text(role);
    }
    newest_first(db, None, f, page_req).await
}

/// Counts of what an account holds, for lists of resellers and the home page.
pub async fn holdings_count(db: &Db, owner_id: &str) -> Result<(i64, i64), sqlx::Error> {
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM activation_keys WHERE owner_id = $1")
        .bind(owner_id)
        .fetch_one(&db.pool)
        .await?;
    let licenses: i64 =
        sqlx::query_scalar("SELECT count(*) FROM licenses WHERE owner_id = $1 AND deleted = 0")
            .bind(owner_id)
            .fetch_one(&db.pool)
            .await?;
    Ok((keys, licenses))
}
