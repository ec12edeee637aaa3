//! Licenses: the list the portal filters, searches and counts, with the
//! maintained totals that spare it a count.

use super::{Page, PageRequest, Scope, by_id, newest_first, of_key};
use crate::db::{Db, SqlBuilder, int, opt_text, text};
use aggregates::{LicenseKind, LicenseStatus};
use sqlx::any::AnyRow;
use std::collections::BTreeSet;

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

view_row!(LicenseRow, "licenses" "l", LICENSE_COLUMNS, license_row);

/// Written by hand, not derived: `deleted` and `activated` are stored as
/// 0 or 1, which the Any driver will not decode as a bool.
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
    pub kind: Option<LicenseKind>,
    /// Any of these; empty: all. A status named twice counts once.
    pub statuses: Vec<LicenseStatus>,
    pub search: Option<String>,
}

pub async fn license(db: &Db, scope: &Scope, id: &str) -> Result<Option<LicenseRow>, sqlx::Error> {
    by_id(db, scope, id).await
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
    let mut f = match search {
        Some(search) => db.backend.licenses_containing(search),
        // A filter few licenses pass (the deleted ones, say): SQLite would
        // walk the scope newest first and test every license to fill a
        // page (35 ms on 100,000); the filters index finds the few directly
        // and only they are sorted. PostgreSQL's statistics see this unaided.
        None if few => {
            let hint = filters_index(scope, filter)
                .map(|index| db.backend.indexed_by(index))
                .unwrap_or_default();
            SqlBuilder::new(&format!("FROM licenses l{hint} WHERE 1 = 1"))
        }
        // No join: the count reads this alone, from an index when it can.
        None => SqlBuilder::new("FROM licenses l WHERE 1 = 1"),
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
        f.push(" AND l.kind = ").bind_text(v.as_str());
    }
    restrict_statuses(&mut f, &filter.statuses, now);
    newest_first(db, total, f, page_req).await
}

/// Adds the condition that keeps licenses in one of `statuses` (none: all);
/// `now` tells running trials from expired ones.
fn restrict_statuses(f: &mut SqlBuilder, statuses: &[LicenseStatus], now: &str) {
    let statuses: BTreeSet<LicenseStatus> = statuses.iter().copied().collect();
    if LicenseStatus::LIVE.iter().all(|s| statuses.contains(s)) {
        // Every live status, with or without DELETED: one condition the
        // count's index answers alone.
        if !statuses.contains(&LicenseStatus::Deleted) {
            f.push(" AND l.deleted = 0");
        }
    } else if !statuses.is_empty() {
        // The kinds are inlined, not bound: the text is fixed and the
        // condition then matches the filters index as written.
        let (permanent, trial) = (LicenseKind::Permanent.as_str(), LicenseKind::Trial.as_str());
        f.push(" AND (");
        for (i, status) in statuses.iter().enumerate() {
            if i > 0 {
                f.push(" OR ");
            }
            match status {
                LicenseStatus::Active => {
                    f.push(&format!("(l.deleted = 0 AND l.kind = '{permanent}')"));
                }
                LicenseStatus::Trial => {
                    f.push(&format!(
                        "(l.deleted = 0 AND l.kind = '{trial}' AND l.trial_ends_at > "
                    ))
                    .bind_text(now)
                    .push(")");
                }
                LicenseStatus::TrialExpired => {
                    f.push(&format!(
                        "(l.deleted = 0 AND l.kind = '{trial}' AND l.trial_ends_at <= "
                    ))
                    .bind_text(now)
                    .push(")");
                }
                LicenseStatus::Deleted => {
                    f.push("(l.deleted = 1)");
                }
            }
        }
        f.push(")");
    }
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
    use LicenseStatus::*;
    let statuses: BTreeSet<LicenseStatus> = filter.statuses.iter().copied().collect();
    let statuses: Vec<LicenseStatus> = statuses.into_iter().collect();
    // The statuses in their declaration order (Active, Trial, TrialExpired,
    // Deleted), the order a BTreeSet yields them.
    let (kind, deleted) = match statuses.as_slice() {
        [] | [Active, Trial, TrialExpired, Deleted] => (None, None),
        [Active, Trial, TrialExpired] => (None, Some(0)),
        [Active] => (Some(LicenseKind::Permanent), Some(0)),
        [Trial, TrialExpired] => (Some(LicenseKind::Trial), Some(0)),
        [Deleted] => (None, Some(1)),
        _ => return Ok(None),
    };
    let kind = match (kind, filter.kind) {
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
        q.push(" AND kind = ").bind_text(kind.as_str());
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
    of_key(db, key_id).await
}
