//! Subscriptions: a subscription-only product bought per channel and month.

use super::pricing::{allowed_months, period_end};
use super::{Decision, Ledger, Role};
use crate::catalog::Catalog;
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::LedgerEvent;
use crate::values::{self, MAX_CHANNELS};

impl Ledger {
    pub(super) fn decide_subscription(
        &self,
        role: Role,
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
                self.ensure_seller(role)?;
                self.ensure_key(key_id)?;
                let product = self.sellable(catalog, software)?;
                if !product.subscription_only {
                    return Err(DomainError::BadInput(format!(
                        "{} is not sold as a subscription",
                        product.name
                    )));
                }
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
            other => unreachable!("decide sent {other:?} to the subscription rules"),
        };
        Ok(vec![event])
    }
}
