//! The subscriptions view.

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
        SubscriptionCreated {
            subscription_id,
            key_id,
            software,
            channels,
            months,
            starts_on,
            ends_on,
            email,
            comment,
            credits,
            ..
        } => {
            let scope = batch.scope_of(tx, owner).await?;
            sqlx::query(
                "INSERT INTO subscriptions (id, key_id, owner_id, scope_id, software, channels, months,
                        starts_on, ends_on, email, comment, credits_spent, created_at, position)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(subscription_id)
            .bind(key_id)
            .bind(owner)
            .bind(scope)
            .bind(software)
            .bind(*channels)
            .bind(i64::from(*months))
            .bind(crate::db::date_text(*starts_on))
            .bind(crate::db::date_text(*ends_on))
            .bind(email.as_deref())
            .bind(comment.as_deref())
            .bind(*credits)
            .bind(at)
            .bind(pos)
            .execute(&mut **tx)
            .await?;
        }
        // `months` counts every month bought, extensions included.
        SubscriptionExtended {
            subscription_id,
            months,
            ends_on,
            credits,
            ..
        } => {
            sqlx::query(
                "UPDATE subscriptions SET ends_on = $1, months = months + $2,
                        credits_spent = credits_spent + $3 WHERE id = $4",
            )
            .bind(crate::db::date_text(*ends_on))
            .bind(i64::from(*months))
            .bind(*credits)
            .bind(subscription_id)
            .execute(&mut **tx)
            .await?;
        }
        SubscriptionUpgraded {
            subscription_id,
            channels,
            credits,
            ..
        } => {
            sqlx::query(
                "UPDATE subscriptions SET channels = $1, credits_spent = credits_spent + $2
                  WHERE id = $3",
            )
            .bind(*channels)
            .bind(*credits)
            .bind(subscription_id)
            .execute(&mut **tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}
