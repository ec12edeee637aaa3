//! The supports view.

use super::batch::{Batch, SupportRow};
use super::upgrade::upgraded;
use super::{Applied, Tx};
use crate::log::StoredEvent;
use aggregates::LedgerEvent;

/// Applies this area's events; `views::apply` routes the others elsewhere.
pub(super) async fn apply(tx: &mut Tx, batch: &mut Batch, e: &StoredEvent) -> Applied {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();
    let at = e.at.as_str();
    match &e.event {
        SupportAssigned {
            support_id,
            key_id,
            product,
            edition,
            users,
            starts_on,
            end_of_support,
            credits,
            ..
        } => {
            let scope = batch.scope_of(tx, owner).await?;
            batch.supports.insert(
                support_id,
                SupportRow {
                    id: support_id.clone(),
                    key_id: key_id.clone(),
                    owner_id: owner.to_string(),
                    scope_id: scope,
                    product: product.clone(),
                    edition: edition.clone(),
                    users: *users,
                    starts_on: crate::db::date_text(*starts_on),
                    end_of_support: crate::db::date_text(*end_of_support),
                    credits_spent: *credits,
                    created_at: at.to_string(),
                    updated_at: at.to_string(),
                    position: e.position(),
                    email: None,
                    comment: None,
                },
            );
        }
        SupportUpgraded {
            support_id,
            users,
            edition,
            credits,
            ..
        } => {
            let upgrade = (*users, edition.as_str(), *credits);
            upgraded(tx, &mut batch.supports, support_id, upgrade, at).await?;
        }
        SupportExtended {
            support_id,
            end_of_support,
            credits,
            ..
        } => {
            let end_of_support = crate::db::date_text(*end_of_support);
            let update = sqlx::query(
                "UPDATE supports SET end_of_support = $1, credits_spent = credits_spent + $2,
                        updated_at = $3 WHERE id = $4",
            )
            .bind(end_of_support.clone())
            .bind(*credits)
            .bind(at)
            .bind(support_id);
            let extend = |s: &mut SupportRow| {
                s.end_of_support = end_of_support;
                s.credits_spent += *credits;
                s.updated_at = at.to_string();
            };
            batch
                .supports
                .change(tx, support_id, extend, update)
                .await?;
        }
        SupportEdited {
            support_id,
            email,
            comment,
        } => {
            let update = sqlx::query(
                "UPDATE supports SET email = $1, comment = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(email.as_deref())
            .bind(comment.as_deref())
            .bind(at)
            .bind(support_id);
            let edit = |s: &mut SupportRow| {
                s.email = email.clone();
                s.comment = comment.clone();
                s.updated_at = at.to_string();
            };
            batch.supports.change(tx, support_id, edit, update).await?;
        }
        _ => {}
    }
    Ok(())
}
