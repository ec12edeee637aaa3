//! The licenses view, its search text and its maintained totals.

use super::batch::{Batch, LicenseRow};
use super::upgrade::upgraded;
use super::{Applied, Tx};
use crate::log::StoredEvent;
use aggregates::LedgerEvent;

/// Applies this area's events; `views::apply` routes the others elsewhere.
pub(super) async fn apply(tx: &mut Tx, batch: &mut Batch, e: &StoredEvent) -> Applied {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();
    let at = e.at.as_str();
    let pos = e.position();
    match &e.event {
        LicenseAssigned {
            license_id,
            key_id,
            product,
            edition,
            users,
            kind,
            trial_ends_at,
            email,
            comment,
            credits,
            ..
        } => {
            let scope = batch.scope_of(tx, owner).await?;
            let search =
                license_search_text(tx, batch, key_id, email.as_deref(), comment.as_deref())
                    .await?;
            let counted = Counted {
                owner,
                scope: &scope,
                product,
                kind: kind.as_str(),
            };
            batch.count_license(&counted, false, 1);
            batch.licenses.insert(
                license_id,
                LicenseRow {
                    id: license_id.clone(),
                    key_id: key_id.clone(),
                    owner_id: owner.to_string(),
                    scope_id: scope,
                    product: product.clone(),
                    edition: edition.clone(),
                    users: *users,
                    kind: kind.as_str().to_string(),
                    trial_ends_at: trial_ends_at.map(crate::db::time_text),
                    email: email.clone(),
                    comment: comment.clone(),
                    credits_spent: *credits,
                    deleted: 0,
                    created_at: at.to_string(),
                    updated_at: at.to_string(),
                    position: pos,
                    search_text: search,
                },
            );
        }
        LicenseUpgraded {
            license_id,
            users,
            edition,
            credits,
            ..
        } => {
            let upgrade = (*users, edition.as_str(), *credits);
            upgraded(tx, &mut batch.licenses, license_id, upgrade, at).await?;
        }
        LicenseEdited {
            license_id,
            email,
            comment,
        } => {
            let key_id: Option<String> = match batch.licenses.get(license_id) {
                Some(l) => Some(l.key_id.clone()),
                None => {
                    sqlx::query_scalar("SELECT key_id FROM licenses WHERE id = $1")
                        .bind(license_id)
                        .fetch_optional(&mut **tx)
                        .await?
                }
            };
            let search = license_search_text(
                tx,
                batch,
                key_id.as_deref().unwrap_or_default(),
                email.as_deref(),
                comment.as_deref(),
            )
            .await?;
            let update = sqlx::query(
                "UPDATE licenses SET email = $1, comment = $2, updated_at = $3, search_text = $4
                  WHERE id = $5",
            )
            .bind(email.as_deref())
            .bind(comment.as_deref())
            .bind(at)
            .bind(search.clone())
            .bind(license_id);
            let edit = |l: &mut LicenseRow| {
                l.email = email.clone();
                l.comment = comment.clone();
                l.updated_at = at.to_string();
                l.search_text = search;
            };
            batch.licenses.change(tx, license_id, edit, update).await?;
        }
        LicenseDeleted {
            license_id, refund, ..
        } => deleted(tx, batch, at, license_id, *refund).await?,
        _ => {}
    }
    Ok(())
}

/// Marks a license deleted and moves it to the deleted totals.
async fn deleted(
    tx: &mut Tx,
    batch: &mut Batch,
    at: &str,
    license_id: &str,
    refund: i64,
) -> Result<(), sqlx::Error> {
    let row: Option<(String, String, String, String)> =
        if let Some(l) = batch.licenses.get_mut(license_id) {
            l.deleted = 1;
            l.credits_spent -= refund;
            l.updated_at = at.to_string();
            Some((
                l.owner_id.clone(),
                l.scope_id.clone(),
                l.product.clone(),
                l.kind.clone(),
            ))
        } else {
            sqlx::query(
            "UPDATE licenses SET deleted = 1, credits_spent = credits_spent - $1, updated_at = $2
                  WHERE id = $3",
        )
        .bind(refund)
        .bind(at)
        .bind(license_id)
        .execute(&mut **tx)
        .await?;
            sqlx::query_as("SELECT owner_id, scope_id, product, kind FROM licenses WHERE id = $1")
                .bind(license_id)
                .fetch_optional(&mut **tx)
                .await?
        };
    if let Some((owner, scope, product, kind)) = &row {
        let counted = Counted {
            owner,
            scope,
            product,
            kind,
        };
        batch.count_license(&counted, false, -1);
        batch.count_license(&counted, true, 1);
    }
    Ok(())
}

/// Where a license is counted in license_totals.
struct Counted<'a> {
    owner: &'a str,
    scope: &'a str,
    product: &'a str,
    kind: &'a str,
}

/// What a license search matches: its key, email, comment, the key's name
/// and the key without its dashes, lower case, one per line (a search never
/// spans two of them: the box is one line).
async fn license_search_text(
    tx: &mut Tx,
    batch: &mut Batch,
    key_id: &str,
    email: Option<&str>,
    comment: Option<&str>,
) -> Result<String, sqlx::Error> {
    let (key, name) = batch.key_text(tx, key_id).await?.unwrap_or_default();
    Ok([
        key.as_str(),
        email.unwrap_or_default(),
        comment.unwrap_or_default(),
        name.as_str(),
        &key.replace('-', ""),
    ]
    .join("\n")
    .to_lowercase())
}

impl Batch {
    /// Adds `by` to the license totals of the system, the partner scope and
    /// the owner, for the license's product, kind and deletion.
    fn count_license(&mut self, c: &Counted<'_>, deleted: bool, by: i64) {
        for subject in [
            "all".to_string(),
            format!("scope:{}", c.scope),
            format!("owner:{}", c.owner),
        ] {
            *self
                .license_totals
                .entry((subject, c.product.to_string(), c.kind.to_string(), deleted))
                .or_default() += by;
        }
    }
}
