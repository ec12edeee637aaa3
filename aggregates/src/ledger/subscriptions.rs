//! Subscriptions: a subscription-only product bought per channel and month,
//! extended by more months and raised by more channels like a support.

use super::guards::Sale;
use super::pricing::{Cover, allowed_months, period_end, prorated_upgrade};
use super::{Decision, Ledger};
use crate::catalog::Catalog;
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::LedgerEvent;
use crate::values::{self, MAX_CHANNELS};

impl Ledger {
    pub(super) fn decide_subscription(
        &self,
        command: &LedgerCommand,
        catalog: &Catalog,
    ) -> Decision {
        use LedgerCommand::*;
        let event = match command {
            CreateSubscription {
                subscription_id,
                key_id,
                software,
                channels,
                months,
                email,
                comment,
                today,
                idempotency,
            } => {
                let product =
                    self.product_for_sale(catalog, key_id, software, Sale::Subscription)?;
                values::check_range(*channels, 1, MAX_CHANNELS, "channels")?;
                let months = allowed_months(*months, &catalog.subscription_months, "subscription")?;
                let ends_on = period_end(*today, months).ok_or_else(|| {
                    DomainError::BadInput("the subscription would end too far in the future".into())
                })?;
                let credits = channels * product.subscription_per_channel_month * i64::from(months);
                self.ensure_funds(credits)?;
                LedgerEvent::SubscriptionCreated {
                    subscription_id: subscription_id.clone(),
                    key_id: key_id.clone(),
                    software: product.code.clone(),
                    channels: *channels,
                    months,
                    starts_on: *today,
                    ends_on,
                    email: email.as_deref().map(values::parse_email).transpose()?,
                    comment: values::parse_comment(comment.as_deref())?,
                    credits,
                    idempotency: idempotency.clone(),
                }
            }
            ExtendSubscription {
                subscription_id,
                months,
                today,
                idempotency,
            } => {
                let subscription = self.subscription(subscription_id)?;
                let product = self.sellable(catalog, &subscription.software)?;
                let months = allowed_months(*months, &catalog.subscription_months, "subscription")?;
                let cover = Cover {
                    end: subscription.ends_on,
                    anchor: Some(subscription.anchor),
                    anchor_months: subscription.anchor_months,
                };
                let (period_starts_on, ends_on) =
                    cover.extended(months, *today).ok_or_else(|| {
                        DomainError::BadInput(
                            "the subscription would end too far in the future".into(),
                        )
                    })?;
                let credits = subscription.channels
                    * product.subscription_per_channel_month
                    * i64::from(months);
                self.ensure_funds(credits)?;
                LedgerEvent::SubscriptionExtended {
                    subscription_id: subscription_id.clone(),
                    months,
                    period_starts_on,
                    ends_on,
                    credits,
                    idempotency: idempotency.clone(),
                }
            }
            UpgradeSubscription {
                subscription_id,
                channels,
                today,
                idempotency,
            } => {
                let subscription = self.subscription(subscription_id)?;
                if subscription.ends_on < *today {
                    return Err(DomainError::BadInput(
                        "this subscription has ended; extend it before adding channels".into(),
                    ));
                }
                let product = self.sellable(catalog, &subscription.software)?;
                values::check_range(*channels, 1, MAX_CHANNELS, "channels")?;
                if *channels < subscription.channels {
                    return Err(DomainError::BadInput(format!(
                        "an upgrade never lowers channels ({} now, {channels} asked)",
                        subscription.channels
                    )));
                }
                if *channels == subscription.channels {
                    return Err(DomainError::BadInput(
                        "nothing to upgrade: give more channels".into(),
                    ));
                }
                let monthly_difference =
                    (channels - subscription.channels) * product.subscription_per_channel_month;
                let credits = prorated_upgrade(
                    monthly_difference,
                    subscription.starts_on,
                    subscription.ends_on,
                    *today,
                );
                self.ensure_funds(credits)?;
                LedgerEvent::SubscriptionUpgraded {
                    subscription_id: subscription_id.clone(),
                    channels: *channels,
                    credits,
                    idempotency: idempotency.clone(),
                }
            }
            other => unreachable!("decide sent {other:?} to the subscription rules"),
        };
        Ok(vec![event])
    }
}
