//! The supports view.

use super::{Batch, Tx};
use crate::log::StoredEvent;
use aggregates::LedgerEvent;

/// Applies this area's events; `views::apply` routes the others elsewhere.
pub(super) async fn apply(
    tx: &mut Tx<'_>,
    batch: &mut Batch,
    e: &StoredEvent,
) -> Result<(), sqlx::Error> {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();
    let at = e.at.as_str();
    let pos = e.position();
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
            sqlx::query(
                "INSERT INTO supports (id, key_id, owner_id, scope_id, product, edition, users, starts_on,
                        end_of_support, credits_spent, created_at, updated_at, position)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
            )
            .bind(support_id)
            .bind(key_id)
            .bind(owner)
            .bind(scope)
            .bind(product)
            .bind(edition)
            .bind(*users)
            .bind(crate::db::date_text(*starts_on))
            .bind(crate::db::date_text(*end_of_support))
            .bind(*credits)
            .bind(at)
            .bind(pos)
            .execute(&mut **tx)
            .await?;
        }
        SupportUpgraded {
            support_id,
            users,
            edition,
            credits,
            ..
        } => {
            sqlx::query(
                "UPDATE supports SET users = $1, edition = $2, credits_spent = credits_spent + $3,
                        updated_at = $4 WHERE id = $5",
            )
            .bind(*users)
            .bind(edition)
            .bind(*credits)
            .bind(at)
            .bind(support_id)
            .execute(&mut **tx)
            .await?;
        }
        SupportExtended {
            support_id,
            end_of_support,
            credits,
            ..
        } => {
            sqlx::query(
                "UPDATE supports SET end_of_support = $1, credits_spent = credits_spent + $2,
                        updated_at = $3 WHERE id = $4",
            )
            .bind(crate::db::date_text(*end_of_support))
            .bind(*credits)
            .bind(at)
            .bind(support_id)
            .execute(&mut **tx)
            .await?;
        }
        SupportEdited {
            support_id,
            email,
            comment,
        } => {
            sqlx::query(
                "UPDATE supports SET email = $1, comment = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(email.as_deref())
            .bind(comment.as_deref())
            .bind(at)
            .bind(support_id)
            .execute(&mut **tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}
