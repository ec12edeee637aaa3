//! The typed reads the API serves, one module per area. Every list takes a
//! `Scope` — the one place that decides whose rows a caller may see — and
//! pages by keyset through `page`, which this module holds.

mod accounts;
mod credits;
mod keys;
mod licenses;
mod subscriptions;
mod support;

pub use crate::db::like_pattern;
pub use accounts::*;
pub use credits::*;
pub use keys::*;
pub use licenses::*;
pub use subscriptions::*;
pub use support::*;

use crate::db::{Db, SqlBuilder};
use sqlx::any::AnyRow;

/// Whose rows a caller sees: everything, a partner's own and its resellers',
/// or one account's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Partner(String),
    Own(String),
}

impl Scope {
    /// Adds the visibility condition on a table with owner_id and scope_id.
    fn restrict(&self, q: &mut SqlBuilder, alias: &str) {
        match self {
            Scope::All => {}
            Scope::Partner(id) => {
                q.push(&format!(" AND {alias}.scope_id = ")).bind_text(id);
            }
            Scope::Own(id) => {
                q.push(&format!(" AND {alias}.owner_id = ")).bind_text(id);
            }
        }
    }
}

/// A page request: at most `first` rows after the row with key `after`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub first: i64,
    pub after: Option<Cursor>,
}

/// Where a page starts: the sort key of the last row seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Position(i64),
    DateAndPosition(String, i64),
    /// A credit entry's id: the history pages by the entry's place in the
    /// log without handing that place out.
    Entry(String),
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<(Cursor, T)>,
    pub has_next: bool,
    pub total: i64,
}

/// The rows newest first, by the log position of the table `alias` names:
/// every list that has no order of its own. `total` as for `page_of_total`.
async fn newest_first<T>(
    db: &Db,
    total: Option<i64>,
    filter: SqlBuilder,
    (select, alias): (&str, &str),
    page_req: &PageRequest,
    decode: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
    position: impl Fn(&T) -> i64,
) -> Result<Page<T>, sqlx::Error> {
    let order = format!("{alias}.position DESC");
    let after = position_after(alias, &page_req.after, true);
    page_of_total(
        db,
        total,
        filter,
        select,
        &order,
        after,
        page_req.first,
        |r| {
            let row = decode(r)?;
            Ok((Cursor::Position(position(&row)), row))
        },
    )
    .await
}

/// One page of `select` + `filter` in `order`, after the cursor `after`;
/// `total` given when a maintained count already knows it, else counted.
#[allow(clippy::too_many_arguments)]
async fn page_of_total<T>(
    db: &Db,
    total: Option<i64>,
    filter: SqlBuilder,
    select: &str,
    order: &str,
    after: Option<SqlBuilder>,
    first: i64,
    decode: impl Fn(&AnyRow) -> Result<(Cursor, T), sqlx::Error>,
) -> Result<Page<T>, sqlx::Error> {
    let total: i64 = match total {
        Some(total) => total,
        None => {
            let mut count = SqlBuilder::new("SELECT count(*) ");
            count.push(&filter.sql);
            count.values = filter.values.clone();
            sqlx::Row::try_get(&count.query().fetch_one(&db.pool).await?, 0)?
        }
    };

    let mut q = SqlBuilder::new(select);
    q.push(" ").push(&filter.sql);
    q.values = filter.values;
    if let Some(after) = after {
        // Re-number the cursor's placeholders after the filter's.
        let mut sql = after.sql;
        for i in (1..=after.values.len()).rev() {
            sql = sql.replace(&format!("${i}"), &format!("${}", i + q.values.len()));
        }
        q.push(" AND ").push(&sql);
        q.values.extend(after.values);
    }
    q.push(" ORDER BY ")
        .push(order)
        .push(" LIMIT ")
        .bind_int(first + 1);
    let rows = q.query().fetch_all(&db.pool).await?;
    let has_next = rows.len() as i64 > first;
    let rows = rows
        .iter()
        .take(first as usize)
        .map(&decode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        rows,
        has_next,
        total,
    })
}

/// The keyset condition of a list sorted by position alone.
fn position_after(alias: &str, after: &Option<Cursor>, descending: bool) -> Option<SqlBuilder> {
    match after {
        Some(Cursor::Position(p)) => {
            let mut b = SqlBuilder::new(&format!(
                "{alias}.position {} ",
                if descending { "<" } else { ">" }
            ));
            b.bind_int(*p);
            Some(b)
        }
        _ => None,
    }
}
