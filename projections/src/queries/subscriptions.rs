//! Subscriptions.

use super::{Page, PageRequest, Scope, newest_first};
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

pub async fn subscription(
    db: &Db,
    scope: &Scope,
    id: &str,
) -> Result<Option<SubscriptionRow>, sqlx::Error> {
    let mut q = SqlBuilder::new(SUBSCRIPTION_COLUMNS);
    q.push(" FROM subscriptions u WHERE u.id = ").bind_text(id);
    scope.restrict(&mut q, "u");
    q.query_as().fetch_optional(&db.pool).await
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
    newest_first(
        db,
        None,
        f,
        (SUBSCRIPTION_COLUMNS, "u"),
        page_req,
        |r| SubscriptionRow::from_row(r),
        |x| x.position,
    )
    .await
}

pub async fn subscriptions_of_key(
    db: &Db,
    key_id: &str,
) -> Result<Vec<SubscriptionRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SUBSCRIPTION_COLUMNS} FROM subscriptions u WHERE u.key_id = $1 ORDER BY u.position"
    ))
    .bind(key_id)
    .fetch_all(&db.pool)
    .await
}
