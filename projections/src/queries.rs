//! The typed reads the API serves. Every list takes a `Scope` — the one place
//! that decides whose rows a caller may see — and pages by keyset.

use crate::db::{Backend, Db, SqlBuilder, int, opt_text, text};
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
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<(Cursor, T)>,
    pub has_next: bool,
    pub total: i64,
}

async fn page<T>(
    db: &Db,
    filter: SqlBuilder,
    select: &str,
    order: &str,
    after: Option<SqlBuilder>,
    first: i64,
    decode: impl Fn(&AnyRow) -> Result<(Cursor, T), sqlx::Error>,
) -> Result<Page<T>, sqlx::Error> {
    page_of_total(db, None, filter, select, order, after, first, decode).await
}

/// As `page`, with the total given when a maintained count already knows it.
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

// ---------------------------------------------------------------- accounts

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
    let row = sqlx::query(&format!(
        "{ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(account_row).transpose()
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
    page(
        db,
        f,
        ACCOUNT_COLUMNS,
        "a.position DESC",
        position_after("a", &page_req.after, true),
        page_req.first,
        |r| {
            let row = account_row(r)?;
            Ok((Cursor::Position(row.position), row))
        },
    )
    .await
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

// ---------------------------------------------------------------- credits

#[derive(Debug, Clone)]
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
}

const ENTRY_COLUMNS: &str = "SELECT c.id, c.account_id, c.position, c.at, c.amount, c.balance_after, c.reason, c.reference, c.actor_id";

fn entry_row(r: &AnyRow) -> Result<CreditEntryRow, sqlx::Error> {
    Ok(CreditEntryRow {
        id: text(r, "id")?,
        account_id: text(r, "account_id")?,
        position: int(r, "position")?,
        at: text(r, "at")?,
        amount: int(r, "amount")?,
        balance_after: int(r, "balance_after")?,
        reason: text(r, "reason")?,
        reference: opt_text(r, "reference")?,
        actor_id: opt_text(r, "actor_id")?,
    })
}

pub async fn credit_entry(db: &Db, id: &str) -> Result<Option<CreditEntryRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "{ENTRY_COLUMNS} FROM credit_entries c WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(entry_row).transpose()
}

pub async fn grant_entry(
    db: &Db,
    account_id: &str,
    reference: &str,
) -> Result<Option<CreditEntryRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "{ENTRY_COLUMNS} FROM credit_entries c WHERE c.account_id = $1 AND c.reason = 'GRANT' AND c.reference = $2"
    ))
    .bind(account_id)
    .bind(reference)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(entry_row).transpose()
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
        position_after("c", &page_req.after, false),
        page_req.first,
        |r| {
            let row = entry_row(r)?;
            Ok((Cursor::Position(row.position), row))
        },
    )
    .await
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
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT entity_id FROM idempotency_results WHERE account_id = $1 AND key = $2",
    )
    .bind(account_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await
}

// ---------------------------------------------------------------- activation keys

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub key: String,
    pub device_fingerprint: Option<String>,
    pub device_name: Option<String>,
    pub activated_at: Option<String>,
    pub created_at: String,
    pub position: i64,
}

const KEY_COLUMNS: &str = "SELECT k.id, k.owner_id, k.name, k.key, k.device_fingerprint, k.device_name, k.activated_at, k.created_at, k.position";

fn key_row(r: &AnyRow) -> Result<KeyRow, sqlx::Error> {
    Ok(KeyRow {
        id: text(r, "id")?,
        owner_id: text(r, "owner_id")?,
        name: text(r, "name")?,
        key: text(r, "key")?,
        device_fingerprint: opt_text(r, "device_fingerprint")?,
        device_name: opt_text(r, "device_name")?,
        activated_at: opt_text(r, "activated_at")?,
        created_at: text(r, "created_at")?,
        position: int(r, "position")?,
    })
}

pub async fn activation_key(
    db: &Db,
    scope: &Scope,
    id: &str,
) -> Result<Option<KeyRow>, sqlx::Error> {
    let mut q = SqlBuilder::new(KEY_COLUMNS);
    q.push(" FROM activation_keys k WHERE k.id = ")
        .bind_text(id);
    scope.restrict(&mut q, "k");
    let row = q.query().fetch_optional(&db.pool).await?;
    row.as_ref().map(key_row).transpose()
}

pub async fn activation_key_by_code(db: &Db, key: &str) -> Result<Option<KeyRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "{KEY_COLUMNS} FROM activation_keys k WHERE k.key = $1"
    ))
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(key_row).transpose()
}

/// Newest first; `search` matches the name or the key.
pub async fn activation_keys(
    db: &Db,
    scope: &Scope,
    owner_id: Option<&str>,
    search: Option<&str>,
    page_req: &PageRequest,
) -> Result<Page<KeyRow>, sqlx::Error> {
    let mut f = SqlBuilder::new("FROM activation_keys k WHERE 1 = 1");
    scope.restrict(&mut f, "k");
    if let Some(owner) = owner_id {
        f.push(" AND k.owner_id = ").bind_text(owner);
    }
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = like_pattern(search);
        f.push(" AND (lower(k.name) LIKE ")
            .bind_text(pattern.clone())
            .push(" ESCAPE '\\'");
        f.push(" OR lower(k.key) LIKE ")
            .bind_text(pattern)
            .push(" ESCAPE '\\')");
    }
    page(
        db,
        f,
        KEY_COLUMNS,
        "k.position DESC",
        position_after("k", &page_req.after, true),
        page_req.first,
        |r| {
            let row = key_row(r)?;
            Ok((Cursor::Position(row.position), row))
        },
    )
    .await
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

// ---------------------------------------------------------------- licenses

#[derive(Debug, Clone)]
pub struct LicenseRow {
    pub id: String,
    pub key_id: String,
    pub owner_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub kind: String,
    pub trial_ends_at: Option<String>,
    pub email: Option<String>,
    pub comment: Option<String>,
    pub credits_spent: i64,
    pub deleted: bool,
    pub activated: bool,
    pub created_at: String,
    pub updated_at: String,
    pub position: i64,
}

const LICENSE_COLUMNS: &str = "SELECT l.id, l.key_id, l.owner_id, l.product, l.edition, l.users, l.kind, l.trial_ends_at, \
     l.email, l.comment, l.credits_spent, l.deleted, l.created_at, l.updated_at, l.position, \
     (SELECT CASE WHEN k.device_fingerprint IS NULL THEN 0 ELSE 1 END \
        FROM activation_keys k WHERE k.id = l.key_id) AS activated";

fn license_row(r: &AnyRow) -> Result<LicenseRow, sqlx::Error> {
    Ok(LicenseRow {
        id: text(r, "id")?,
        key_id: text(r, "key_id")?,
        owner_id: text(r, "owner_id")?,
        product: text(r, "product")?,
        edition: text(r, "edition")?,
        users: int(r, "users")?,
        kind: text(r, "kind")?,
        trial_ends_at: opt_text(r, "trial_ends_at")?,
        email: opt_text(r, "email")?,
        comment: opt_text(r, "comment")?,
        credits_spent: int(r, "credits_spent")?,
        deleted: int(r, "deleted")? != 0,
        activated: int(r, "activated")? != 0,
        created_at: text(r, "created_at")?,
        updated_at: text(r, "updated_at")?,
        position: int(r, "position")?,
    })
}

#[derive(Debug, Clone, Default)]
pub struct LicenseFilter {
    pub owner_id: Option<String>,
    pub key_id: Option<String>,
    pub product: Option<String>,
    pub kind: Option<String>,
    /// ACTIVE, TRIAL, TRIAL_EXPIRED, DELETED; empty: all.
    pub statuses: Vec<String>,
    pub search: Option<String>,
}

pub async fn license(db: &Db, scope: &Scope, id: &str) -> Result<Option<LicenseRow>, sqlx::Error> {
    let mut q = SqlBuilder::new(LICENSE_COLUMNS);
    q.push(" FROM licenses l WHERE l.id = ").bind_text(id);
    scope.restrict(&mut q, "l");
    let row = q.query().fetch_optional(&db.pool).await?;
    row.as_ref().map(license_row).transpose()
}

/// Newest first. `now` decides which trials have expired.
pub async fn licenses(
    db: &Db,
    scope: &Scope,
    filter: &LicenseFilter,
    now: &str,
    page_req: &PageRequest,
) -> Result<Page<LicenseRow>, sqlx::Error> {
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let total = license_total(db, scope, filter).await?;
    let narrowed = !filter.statuses.is_empty() || filter.product.is_some() || filter.kind.is_some();
    let few = narrowed && total.is_some_and(|n| n <= FEW_LICENSES);
    let mut f = match (search, db.backend) {
        // The trigram index (license_search) answers GLOB, not LIKE with an
        // ESCAPE clause, so the text is matched as a glob. CROSS JOIN and
        // INDEXED BY make SQLite start from the matches and look each up by
        // position; left to itself it walks every license of the scope
        // through the filters index and tests each (60 ms instead of 1 on
        // 100,000 licenses).
        (Some(search), Backend::Sqlite) => {
            let mut f = SqlBuilder::new(
                "FROM (SELECT rowid AS position FROM license_search WHERE search_text GLOB ",
            );
            f.bind_text(glob_pattern(search)).push(
                ") s CROSS JOIN licenses l INDEXED BY licenses_position ON l.position = s.position WHERE 1 = 1",
            );
            f
        }
        (Some(search), Backend::Postgres) => {
            let mut f = SqlBuilder::new("FROM licenses l WHERE l.search_text LIKE ");
            f.bind_text(like_pattern(search)).push(" ESCAPE '\\'");
            f
        }
        // A filter few licenses pass (the deleted ones, say): SQLite would
        // walk the scope newest first and test every license to fill a
        // page (35 ms on 100,000); the filters index finds the few directly
        // and only they are sorted. PostgreSQL's statistics see this unaided.
        (None, Backend::Sqlite) if few => match filters_index(scope, filter) {
            Some(index) => {
                SqlBuilder::new(&format!("FROM licenses l INDEXED BY {index} WHERE 1 = 1"))
            }
            None => SqlBuilder::new("FROM licenses l WHERE 1 = 1"),
        },
        // No join: the count reads this alone, from an index when it can.
        (None, _) => SqlBuilder::new("FROM licenses l WHERE 1 = 1"),
    };
    scope.restrict(&mut f, "l");
    if let Some(v) = &filter.owner_id {
        f.push(" AND l.owner_id = ").bind_text(v);
    }
    if let Some(v) = &filter.key_id {
        f.push(" AND l.key_id = ").bind_text(v);
    }
    if let Some(v) = &filter.product {
        f.push(" AND l.product = ").bind_text(v);
    }
    if let Some(v) = &filter.kind {
        f.push(" AND l.kind = ").bind_text(v);
    }
    let live = ["ACTIVE", "TRIAL", "TRIAL_EXPIRED"];
    let has = |s: &str| filter.statuses.iter().any(|x| x == s);
    if live.iter().all(|s| has(s)) {
        // Every live status, with or without DELETED: one condition the
        // count's index answers alone.
        if !has("DELETED") {
            f.push(" AND l.deleted = 0");
        }
    } else if !filter.statuses.is_empty() {
        let mut any = Vec::new();
        for status in &filter.statuses {
            let mut c = SqlBuilder::default();
            match status.as_str() {
                "ACTIVE" => {
                    c.push("(l.deleted = 0 AND l.kind = 'PERMANENT')");
                }
                "TRIAL" => {
                    c.push("(l.deleted = 0 AND l.kind = 'TRIAL' AND l.trial_ends_at > ")
                        .bind_text(now)
                        .push(")");
                }
                "TRIAL_EXPIRED" => {
                    c.push("(l.deleted = 0 AND l.kind = 'TRIAL' AND l.trial_ends_at <= ")
                        .bind_text(now)
                        .push(")");
                }
                _ => {
                    c.push("(l.deleted = 1)");
                }
            }
            any.push(c);
        }
        f.push(" AND (");
        for (i, c) in any.into_iter().enumerate() {
            if i > 0 {
                f.push(" OR ");
            }
            let mut sql = c.sql;
            if !c.values.is_empty() {
                sql = sql.replace("$1", &format!("${}", f.values.len() + 1));
            }
            f.push(&sql);
            f.values.extend(c.values);
        }
        f.push(")");
    }
    page_of_total(
        db,
        total,
        f,
        LICENSE_COLUMNS,
        "l.position DESC",
        position_after("l", &page_req.after, true),
        page_req.first,
        |r| {
            let row = license_row(r)?;
            Ok((Cursor::Position(row.position), row))
        },
    )
    .await
}

/// Up to how many matches a filtered licenses list is read through the
/// filters index and sorted, rather than walked newest first.
const FEW_LICENSES: i64 = 1_000;

/// The SQLite index that leads with the column a licenses query is narrowed
/// by (owner or partner scope) and holds the filtered columns after it.
fn filters_index(scope: &Scope, filter: &LicenseFilter) -> Option<&'static str> {
    match (scope, &filter.owner_id) {
        (_, Some(_)) | (Scope::Own(_), None) => Some("licenses_owner_filters"),
        (Scope::Partner(_), None) => Some("licenses_scope_filters"),
        (Scope::All, None) => None,
    }
}

/// The count of licenses `filter` selects, summed from the maintained
/// totals; None when the filter needs a real count (a key, a search, or
/// running trials told from expired ones, which moves with the clock).
async fn license_total(
    db: &Db,
    scope: &Scope,
    filter: &LicenseFilter,
) -> Result<Option<i64>, sqlx::Error> {
    if filter.key_id.is_some()
        || filter
            .search
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
    {
        return Ok(None);
    }
    let statuses: std::collections::BTreeSet<&str> =
        filter.statuses.iter().map(String::as_str).collect();
    let statuses: Vec<&str> = statuses.into_iter().collect();
    let (kind, deleted) = match statuses.as_slice() {
        [] | ["ACTIVE", "DELETED", "TRIAL", "TRIAL_EXPIRED"] => (None, None),
        ["ACTIVE", "TRIAL", "TRIAL_EXPIRED"] => (None, Some(0)),
        ["ACTIVE"] => (Some("PERMANENT"), Some(0)),
        ["TRIAL", "TRIAL_EXPIRED"] => (Some("TRIAL"), Some(0)),
        ["DELETED"] => (None, Some(1)),
        _ => return Ok(None),
    };
    let kind = match (kind, filter.kind.as_deref()) {
        (Some(a), Some(b)) if a != b => return Ok(Some(0)),
        (a, b) => a.or(b),
    };
    // An owner filter has been checked against the scope by the caller.
    let subject = match (&filter.owner_id, scope) {
        (Some(owner), _) => format!("owner:{owner}"),
        (None, Scope::All) => "all".to_string(),
        (None, Scope::Partner(id)) => format!("scope:{id}"),
        (None, Scope::Own(id)) => format!("owner:{id}"),
    };
    let mut q = SqlBuilder::new(
        "SELECT CAST(coalesce(sum(n), 0) AS bigint) FROM license_totals WHERE subject = ",
    );
    q.bind_text(subject);
    if let Some(product) = &filter.product {
        q.push(" AND product = ").bind_text(product);
    }
    if let Some(kind) = kind {
        q.push(" AND kind = ").bind_text(kind);
    }
    if let Some(deleted) = deleted {
        q.push(" AND deleted = ").bind_int(deleted);
    }
    Ok(Some(sqlx::Row::try_get(
        &q.query().fetch_one(&db.pool).await?,
        0,
    )?))
}

pub async fn licenses_of_key(db: &Db, key_id: &str) -> Result<Vec<LicenseRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{LICENSE_COLUMNS} FROM licenses l WHERE l.key_id = $1 ORDER BY l.position"
    ))
    .bind(key_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(license_row).collect()
}

// ---------------------------------------------------------------- supports

#[derive(Debug, Clone)]
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
    pub created_at: String,
    pub updated_at: String,
    pub position: i64,
}

const SUPPORT_COLUMNS: &str = "SELECT s.id, s.key_id, s.owner_id, s.product, s.edition, s.users, s.starts_on, \
     s.end_of_support, s.credits_spent, s.created_at, s.updated_at, s.position";

fn support_row(r: &AnyRow) -> Result<SupportRow, sqlx::Error> {
    Ok(SupportRow {
        id: text(r, "id")?,
        key_id: text(r, "key_id")?,
        owner_id: text(r, "owner_id")?,
        product: text(r, "product")?,
        edition: text(r, "edition")?,
        users: int(r, "users")?,
        starts_on: text(r, "starts_on")?,
        end_of_support: text(r, "end_of_support")?,
        credits_spent: int(r, "credits_spent")?,
        created_at: text(r, "created_at")?,
        updated_at: text(r, "updated_at")?,
        position: int(r, "position")?,
    })
}

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
    let mut q = SqlBuilder::new(SUPPORT_COLUMNS);
    q.push(" FROM supports s WHERE s.id = ").bind_text(id);
    scope.restrict(&mut q, "s");
    let row = q.query().fetch_optional(&db.pool).await?;
    row.as_ref().map(support_row).transpose()
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
    let (order_sql, after) = match (order, &page_req.after) {
        (SupportOrder::CreatedDesc, after) => ("s.position DESC", position_after("s", after, true)),
        (SupportOrder::EndAsc, Some(Cursor::DateAndPosition(d, p))) => {
            let mut b = SqlBuilder::new("(s.end_of_support > ");
            b.bind_text(d)
                .push(" OR (s.end_of_support = ")
                .bind_text(d)
                .push(" AND s.position > ")
                .bind_int(*p)
                .push("))");
            ("s.end_of_support ASC, s.position ASC", Some(b))
        }
        (SupportOrder::EndDesc, Some(Cursor::DateAndPosition(d, p))) => {
            let mut b = SqlBuilder::new("(s.end_of_support < ");
            b.bind_text(d)
                .push(" OR (s.end_of_support = ")
                .bind_text(d)
                .push(" AND s.position < ")
                .bind_int(*p)
                .push("))");
            ("s.end_of_support DESC, s.position DESC", Some(b))
        }
        (SupportOrder::EndAsc, _) => ("s.end_of_support ASC, s.position ASC", None),
        (SupportOrder::EndDesc, _) => ("s.end_of_support DESC, s.position DESC", None),
    };
    page(
        db,
        f,
        SUPPORT_COLUMNS,
        order_sql,
        after,
        page_req.first,
        |r| {
            let row = support_row(r)?;
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
    let rows = sqlx::query(&format!(
        "{SUPPORT_COLUMNS} FROM supports s WHERE s.key_id = $1 ORDER BY s.position"
    ))
    .bind(key_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(support_row).collect()
}

// ---------------------------------------------------------------- subscriptions

#[derive(Debug, Clone)]
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

fn subscription_row(r: &AnyRow) -> Result<SubscriptionRow, sqlx::Error> {
    Ok(SubscriptionRow {
        id: text(r, "id")?,
        key_id: text(r, "key_id")?,
        owner_id: text(r, "owner_id")?,
        software: text(r, "software")?,
        channels: int(r, "channels")?,
        months: int(r, "months")?,
        starts_on: text(r, "starts_on")?,
        ends_on: text(r, "ends_on")?,
        email: opt_text(r, "email")?,
        comment: opt_text(r, "comment")?,
        credits_spent: int(r, "credits_spent")?,
        created_at: text(r, "created_at")?,
        position: int(r, "position")?,
    })
}

pub async fn subscription(
    db: &Db,
    scope: &Scope,
    id: &str,
) -> Result<Option<SubscriptionRow>, sqlx::Error> {
    let mut q = SqlBuilder::new(SUBSCRIPTION_COLUMNS);
    q.push(" FROM subscriptions u WHERE u.id = ").bind_text(id);
    scope.restrict(&mut q, "u");
    let row = q.query().fetch_optional(&db.pool).await?;
    row.as_ref().map(subscription_row).transpose()
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
    page(
        db,
        f,
        SUBSCRIPTION_COLUMNS,
        "u.position DESC",
        position_after("u", &page_req.after, true),
        page_req.first,
        |r| {
            let row = subscription_row(r)?;
            Ok((Cursor::Position(row.position), row))
        },
    )
    .await
}

pub async fn subscriptions_of_key(
    db: &Db,
    key_id: &str,
) -> Result<Vec<SubscriptionRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SUBSCRIPTION_COLUMNS} FROM subscriptions u WHERE u.key_id = $1 ORDER BY u.position"
    ))
    .bind(key_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(subscription_row).collect()
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
