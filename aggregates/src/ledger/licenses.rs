//! Licenses: assigned to an activation key, permanent or trial; upgraded,
//! edited, deleted with a refund.

use super::pricing::{edition_of, license_terms, upgrade_prices};
use super::{Decision, Ledger, Role};
use crate::catalog::Catalog;
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::{LedgerEvent, LicenseKind};
use crate::values::{self, MAX_USERS};

impl Ledger {
    pub(super) fn decide_license(
        &self,
        role: Role,
        command: &LedgerCommand,
        catalog: &Catalog,
    ) -> Decision {
        use LedgerCommand::*;
        let event = match command {
            AssignLicense {
                license_id,
                key_id,
                product,
                edition,
                users,
                kind,
                trial_days,
                email,
                comment,
                now,
                idempotency,
            } => {
                self.ensure_seller(role)?;
                self.ensure_key(key_id)?;
                let product = self.sellable(catalog, product)?;
                if product.subscription_only {
                    return Err(DomainError::BadInput(format!(
                        "{} is sold as a subscription, not as a license",
                        product.name
                    )));
                }
                let price = edition_of(product, edition)?.license_per_user;
                values::check_range(*users, 1, MAX_USERS, "users")?;
                let (trial_ends_at, credits) =
                    license_terms(*kind, *trial_days, *users, price, *now, catalog)?;
                self.ensure_funds(credits)?;
                LedgerEvent::LicenseAssigned {
                    license_id: license_id.clone(),
                    key_id: key_id.clone(),
                    product: product.code.clone(),
                    edition: edition.clone(),
                    users: *users,
                    kind: *kind,
                    trial_ends_at,
                    email: email.as_deref().map(values::parse_email).transpose()?,
                    comment: values::parse_comment(comment.as_deref())?,
                    credits,
                    idempotency: idempotency.clone(),
                }
            }
            UpgradeLicense {
                license_id,
                users,
                edition,
                idempotency,
            } => {
                self.ensure_seller(role)?;
                let license = self.live_license(license_id)?;
                if license.kind == LicenseKind::Trial {
                    return Err(DomainError::BadInput(
                        "a trial license cannot be upgraded; assign a permanent license to make it permanent".into(),
                    ));
                }
                let product = self.sellable(catalog, &license.product)?;
                let new_users = users.unwrap_or(license.users);
                let new_edition = edition.clone().unwrap_or_else(|| license.edition.clone());
                values::check_range(new_users, 1, MAX_USERS, "users")?;
                let (old_price, new_price) = upgrade_prices(
                    product,
                    &license.edition,
                    &new_edition,
                    license.users,
                    new_users,
                    |e| e.license_per_user,
                )?;
                let credits = (new_users * new_price - license.users * old_price).max(0);
                self.ensure_funds(credits)?;
                LedgerEvent::LicenseUpgraded {
                    license_id: license_id.clone(),
                    users: new_users,
                    edition: new_edition,
                    credits,
                    idempotency: idempotency.clone(),
                }
            }
            EditLicense {
                license_id,
                email,
                comment,
            } => {
                self.ensure_seller(role)?;
                self.live_license(license_id)?;
                LedgerEvent::LicenseEdited {
                    license_id: license_id.clone(),
                    email: email
                        .as_deref()
                        .filter(|e| !e.trim().is_empty())
                        .map(values::parse_email)
                        .transpose()?,
                    comment: values::parse_comment(comment.as_deref())?,
                }
            }
            DeleteLicense {
                license_id,
                idempotency,
            } => {
                self.ensure_seller(role)?;
                let license = self.live_license(license_id)?;
                if matches!(self.keys.get(&license.key_id), Some(Some(_))) {
                    return Err(DomainError::Conflict(
                        "this license's activation key is activated on a device; deactivate it before deleting the license".into(),
                    ));
                }
                LedgerEvent::LicenseDeleted {
                    license_id: license_id.clone(),
                    refund: license.credits_spent,
                    idempotency: idempotency.clone(),
                }
            }
            other => unreachable!("decide sent {other:?} to the license rules"),
        };
        Ok(vec![event])
    }
}
