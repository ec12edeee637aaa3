//! Subscriptions.

use super::{Page, PageRequest, Scope, by_id, newest_first, of_key};
use crate::db::{Db, SqlBuilder};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct SubscriptionRow {
    pub id: String,
    pub key_id: String,
    pub owner_id: String,
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

const SUBSCRIPTION_COLUMNS: &str = "SELECT u.id, u.key_id, u.owner_id, u.software, u.channels, u.months, u.starts_on, \
     u.ends_on, u.email, u.comment, u.credits_spent, u.created_at, u.position";

view_row!(SubscriptionRow, "subscriptions" "u", SUBSCRIPTION_COLUMNS);

pub async fn subscription(
    db: &Db,
    scope: &Scope,
    id: &str,
) -> Result<Option<SubscriptionRow>, sqlx::Error> {
    by_id(db, scope, id).await
}

pub async fn subscriptions(
    db: &Db,
    scope: &Scope,
    owner_id: Option<&str>,
    page_req: &PageRequest,
) -> Result<Page<SubscriptionRow>, sqlx::Error> {
    let mut f = SqlBuilder::new("FROM subscriptions u WHERE 1 = 1");
    scope.restrict(&mut f, "u");
    if let Some(owner) = owner_id {
        f.push(" AND u.owner_id = ").bind_text(owner);
    }
    newest_first(db, None, f, page_req).await
}

pub async fn subscriptions_of_key(
    db: &Db,
    key_id: &str,
) -> Result<Vec<SubscriptionRow>, sqlx::Error> {
    of_key(db, key_id).await
}
