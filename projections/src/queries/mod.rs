//! The typed reads the API serves, one module per area. Every list takes a
//! `Scope` — the one place that decides whose rows a caller may see — and
//! pages by keyset through `page`, which this module holds.

/// Declares a row type a `ViewRow`: its table and alias, its SELECT, and
/// how it decodes (`FromRow` unless a function is named). Every row keeps
/// its log position in `position`.
macro_rules! view_row {
    ($row:ty, $table:literal $alias:literal, $select:expr) => {
        view_row!($row, $table $alias, $select, <$row as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row);
    };
    ($row:ty, $table:literal $alias:literal, $select:expr, $decode:expr) => {
        impl super::ViewRow for $row {
            const TABLE: &'static str = $table;
            const ALIAS: &'static str = $alias;
            const SELECT: &'static str = $select;
            fn decode(r: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
                $decode(r)
            }
            fn position(&self) -> i64 {
                self.position
            }
        }
    };
}

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

/// A view row the queries read: its table, the SELECT that reads it, how
/// a result row decodes, and its log position (what newest first means).
trait ViewRow: Sized {
    /// The table and the alias every SQL of these queries gives it.
    const TABLE: &'static str;
    const ALIAS: &'static str;
    /// `SELECT` and the columns, each prefixed by `ALIAS`.
    const SELECT: &'static str;
    fn decode(r: &AnyRow) -> Result<Self, sqlx::Error>;
    fn position(&self) -> i64;
}

/// The row with this id, if `scope` may see it.
async fn by_id<T: ViewRow>(db: &Db, scope: &Scope, id: &str) -> Result<Option<T>, sqlx::Error> {
    let (table, alias) = (T::TABLE, T::ALIAS);
    let mut q = SqlBuilder::new(T::SELECT);
    q.push(&format!(" FROM {table} {alias} WHERE {alias}.id = "))
        .bind_text(id);
    scope.restrict(&mut q, alias);
    let row = q.query().fetch_optional(&db.pool).await?;
    row.as_ref().map(T::decode).transpose()
}

/// The rows on one activation key, oldest first.
async fn of_key<T: ViewRow>(db: &Db, key_id: &str) -> Result<Vec<T>, sqlx::Error> {
    let (select, table, alias) = (T::SELECT, T::TABLE, T::ALIAS);
    let rows = sqlx::query(&format!(
        "{select} FROM {table} {alias} WHERE {alias}.key_id = $1 ORDER BY {alias}.position"
    ))
    .bind(key_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(T::decode).collect()
}

/// The rows of `filter` newest first, by their log position: every list
/// that has no order of its own. `total` as for `page_of_total`.
async fn newest_first<T: ViewRow>(
    db: &Db,
    total: Option<i64>,
    filter: SqlBuilder,
    page_req: &PageRequest,
) -> Result<Page<T>, sqlx::Error> {
    let order = format!("{}.position DESC", T::ALIAS);
    let after = position_after(T::ALIAS, &page_req.after, true);
    page_of_total(
        db,
        total,
        filter,
        T::SELECT,
        &order,
        after,
        page_req.first,
        |r| {
            let row = T::decode(r)?;
            Ok((Cursor::Position(row.position()), row))
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
