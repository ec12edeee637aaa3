//! Support contracts: bought for months on a licensed product, upgraded for
//! the days left, extended.

use super::guards::Sale;
use super::pricing::{
    allowed_months, edition_of, extension_period, period_end, prorated_upgrade, raise,
};
use super::{Decision, Ledger};
use crate::catalog::Catalog;
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::LedgerEvent;
use crate::values::{self, MAX_USERS};

impl Ledger {
    pub(super) fn decide_support(&self, command: &LedgerCommand, catalog: &Catalog) -> Decision {
        use LedgerCommand::*;
        let event = match command {
            AssignSupport {
                support_id,
                key_id,
                product,
                edition,
                users,
                months,
                starts_on,
                today,
                idempotency,
            } => {
                let product = self.product_for_sale(catalog, key_id, product, Sale::Support)?;
                let price = edition_of(product, edition)?.support_per_user_month;
                values::check_range(*users, 1, MAX_USERS, "users")?;
                let months = allowed_months(*months, &catalog.support_months, "support")?;
                let starts_on = starts_on.unwrap_or(*today);
                if starts_on < *today {
                    return Err(DomainError::BadInput(format!(
                        "startsOn {starts_on} is in the past; support starts today or later"
                    )));
                }
                let end_of_support = period_end(starts_on, months).ok_or_else(|| {
                    DomainError::BadInput("startsOn is too far in the future".into())
                })?;
                let credits = users * price * i64::from(months);
                self.ensure_funds(credits)?;
                LedgerEvent::SupportAssigned {
                    support_id: support_id.clone(),
                    key_id: key_id.clone(),
                    product: product.code.clone(),
                    edition: edition.clone(),
                    users: *users,
                    months,
                    starts_on,
                    end_of_support,
                    credits,
                    idempotency: idempotency.clone(),
                }
            }
            UpgradeSupport {
                support_id,
                users,
                edition,
                today,
                idempotency,
            } => {
                let support = self.support(support_id)?;
                if support.end_of_support < *today {
                    return Err(DomainError::BadInput(
                        "this support has expired; extend it before upgrading".into(),
                    ));
                }
                let product = self.sellable(catalog, &support.product)?;
                let now = (support.users, support.edition.as_str());
                let (new_users, new_edition, monthly_difference) =
                    raise(product, now, (*users, edition.as_ref()), |e| {
                        e.support_per_user_month
                    })?;
                let credits = prorated_upgrade(
                    monthly_difference,
                    support.starts_on,
                    support.end_of_support,
                    *today,
                );
                self.ensure_funds(credits)?;
                LedgerEvent::SupportUpgraded {
                    support_id: support_id.clone(),
                    users: new_users,
                    edition: new_edition,
                    credits,
                    idempotency: idempotency.clone(),
                }
            }
            ExtendSupport {
                support_id,
                months,
                today,
                idempotency,
            } => {
                let support = self.support(support_id)?;
                let product = self.sellable(catalog, &support.product)?;
                let price = edition_of(product, &support.edition)?.support_per_user_month;
                let months = allowed_months(*months, &catalog.support_months, "support")?;
                let (period_starts_on, end_of_support) = extension_period(support, months, *today)?;
                let credits = support.users * price * i64::from(months);
                self.ensure_funds(credits)?;
                LedgerEvent::SupportExtended {
                    support_id: support_id.clone(),
                    months,
                    period_starts_on,
                    end_of_support,
                    credits,
                    idempotency: idempotency.clone(),
                }
            }
            EditSupport {
                support_id,
                email,
                comment,
            } => {
                self.support(support_id)?;
                LedgerEvent::SupportEdited {
                    support_id: support_id.clone(),
                    email: values::parse_edited_email(email.as_deref())?,
                    comment: values::parse_comment(comment.as_deref())?,
                }
            }
            other => unreachable!("decide sent {other:?} to the support rules"),
        };
        Ok(vec![event])
    }
}
