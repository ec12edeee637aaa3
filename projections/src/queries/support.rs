//! Supports (maintenance periods), listed by end of support or creation.

use super::{Cursor, Page, PageRequest, Scope, by_id, of_key, page_of_total, position_after};
use crate::db::{Db, SqlBuilder};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct SupportRow {
    pub id: String,
    pub key_id: String,
    pub owner_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub starts_on: String,
    pub end_of_support: String,
    pub credits_spent: i64,
    pub email: Option<String>,
    pub comment: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub position: i64,
}

const SUPPORT_COLUMNS: &str = "SELECT s.id, s.key_id, s.owner_id, s.product, s.edition, s.users, s.starts_on, \
     s.end_of_support, s.credits_spent, s.email, s.comment, s.created_at, s.updated_at, s.position";

view_row!(SupportRow, "supports" "s", SUPPORT_COLUMNS);

#[derive(Debug, Clone, Default)]
pub struct SupportFilter {
    pub owner_id: Option<String>,
    pub product: Option<String>,
    pub key_id: Option<String>,
    pub end_from: Option<String>,
    pub end_to: Option<String>,
    pub expired: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportOrder {
    EndAsc,
    EndDesc,
    CreatedDesc,
}

pub async fn support(db: &Db, scope: &Scope, id: &str) -> Result<Option<SupportRow>, sqlx::Error> {
    by_id(db, scope, id).await
}

/// `today` decides what has expired (endOfSupport before today).
pub async fn supports(
    db: &Db,
    scope: &Scope,
    filter: &SupportFilter,
    today: &str,
    order: SupportOrder,
    page_req: &PageRequest,
) -> Result<Page<SupportRow>, sqlx::Error> {
    let mut f = SqlBuilder::new("FROM supports s WHERE 1 = 1");
    scope.restrict(&mut f, "s");
    if let Some(v) = &filter.owner_id {
        f.push(" AND s.owner_id = ").bind_text(v);
    }
    if let Some(v) = &filter.key_id {
        f.push(" AND s.key_id = ").bind_text(v);
    }
    if let Some(v) = &filter.product {
        f.push(" AND s.product = ").bind_text(v);
    }
    if let Some(v) = &filter.end_from {
        f.push(" AND s.end_of_support >= ").bind_text(v);
    }
    if let Some(v) = &filter.end_to {
        f.push(" AND s.end_of_support <= ").bind_text(v);
    }
    match filter.expired {
        Some(true) => {
            f.push(" AND s.end_of_support < ").bind_text(today);
        }
        Some(false) => {
            f.push(" AND s.end_of_support >= ").bind_text(today);
        }
        None => {}
    }
    let (order_sql, after) = match order {
        SupportOrder::CreatedDesc => (
            "s.position DESC",
            position_after("s", &page_req.after, true),
        ),
        SupportOrder::EndAsc => (
            "s.end_of_support ASC, s.position ASC",
            end_after(&page_req.after, ">"),
        ),
        SupportOrder::EndDesc => (
            "s.end_of_support DESC, s.position DESC",
            end_after(&page_req.after, "<"),
        ),
    };
    page_of_total(
        db,
        None,
        f,
        SUPPORT_COLUMNS,
        order_sql,
        after,
        page_req.first,
        |r| {
            let row = SupportRow::from_row(r)?;
            let cursor = match order {
                SupportOrder::CreatedDesc => Cursor::Position(row.position),
                _ => Cursor::DateAndPosition(row.end_of_support.clone(), row.position),
            };
            Ok((cursor, row))
        },
    )
    .await
}

pub async fn supports_of_key(db: &Db, key_id: &str) -> Result<Vec<SupportRow>, sqlx::Error> {
    of_key(db, key_id).await
}

/// The keyset condition of a list sorted by end of support, then position:
/// `past` is `>` when ascending, `<` when descending.
fn end_after(after: &Option<Cursor>, past: &str) -> Option<SqlBuilder> {
    let Some(Cursor::DateAndPosition(d, p)) = after else {
        return None;
    };
    let mut b = SqlBuilder::new(&format!("(s.end_of_support {past} "));
    b.bind_text(d)
        .push(" OR (s.end_of_support = ")
        .bind_text(d)
        .push(&format!(" AND s.position {past} "))
        .bind_int(*p)
        .push("))");
    Some(b)
}
