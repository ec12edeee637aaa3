//! The subscriptions view.

use super::{Batch, Tx};
use crate::log::StoredEvent;
use aggregates::LedgerEvent;

/// Adds a new subscription; other events are not routed here.
pub(super) async fn apply(
    tx: &mut Tx<'_>,
    batch: &mut Batch,
    e: &StoredEvent,
) -> Result<(), sqlx::Error> {
    let owner = e.aggregate_id.as_str();
    let at = e.at.as_str();
    let pos = e.position();
    let LedgerEvent::SubscriptionCreated {
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
    } = &e.event
    else {
        return Ok(());
    };
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
    Ok(())
}
