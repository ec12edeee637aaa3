//! The subscriptions view.

use super::batch::{Batch, SubscriptionRow};
use super::{Applied, Tx};
use crate::log::StoredEvent;
use aggregates::LedgerEvent;

/// Applies this area's events; `views::apply` routes the others elsewhere.
pub(super) async fn apply(tx: &mut Tx, batch: &mut Batch, e: &StoredEvent) -> Applied {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();
    let at = e.at.as_str();
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
            batch.subscriptions.insert(
                subscription_id,
                SubscriptionRow {
                    id: subscription_id.clone(),
                    key_id: key_id.clone(),
                    owner_id: owner.to_string(),
                    scope_id: scope,
                    software: software.clone(),
                    channels: *channels,
                    months: i64::from(*months),
                    starts_on: crate::db::date_text(*starts_on),
                    ends_on: crate::db::date_text(*ends_on),
                    email: email.clone(),
                    comment: comment.clone(),
                    credits_spent: *credits,
                    created_at: at.to_string(),
                    position: e.position(),
                },
            );
        }
        // `months` counts every month bought, extensions included.
        SubscriptionExtended {
            subscription_id,
            months,
            ends_on,
            credits,
            ..
        } => {
            let (ends_on, months) = (crate::db::date_text(*ends_on), i64::from(*months));
            let update = sqlx::query(
                "UPDATE subscriptions SET ends_on = $1, months = months + $2,
                        credits_spent = credits_spent + $3 WHERE id = $4",
            )
            .bind(ends_on.clone())
            .bind(months)
            .bind(*credits)
            .bind(subscription_id);
            let extend = |s: &mut SubscriptionRow| {
                s.ends_on = ends_on;
                s.months += months;
                s.credits_spent += *credits;
            };
            batch
                .subscriptions
                .change(tx, subscription_id, extend, update)
                .await?;
        }
        SubscriptionUpgraded {
            subscription_id,
            channels,
            credits,
            ..
        } => {
            let update = sqlx::query(
                "UPDATE subscriptions SET channels = $1, credits_spent = credits_spent + $2
                  WHERE id = $3",
            )
            .bind(*channels)
            .bind(*credits)
            .bind(subscription_id);
            let upgrade = |s: &mut SubscriptionRow| {
                s.channels = *channels;
                s.credits_spent += *credits;
            };
            batch
                .subscriptions
                .change(tx, subscription_id, upgrade, update)
                .await?;
        }
        _ => {}
    }
    Ok(())
}
