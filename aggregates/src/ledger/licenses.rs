//! Licenses: assigned to an activation key, permanent or trial; upgraded,
//! edited, deleted with a refund.

use super::guards::Sale;
use super::pricing::{edition_of, license_terms, raise};
use super::{Decision, Ledger, LicenseState};
use crate::catalog::{Catalog, Product};
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::{LedgerEvent, LicenseKind};
use crate::values::{self, MAX_USERS};
use chrono::{DateTime, Utc};

impl Ledger {
    pub(super) fn decide_license(&self, command: &LedgerCommand, catalog: &Catalog) -> Decision {
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
                let product = self.product_for_sale(catalog, key_id, product, Sale::License)?;
                let price = edition_of(product, edition)?.license_per_user;
                values::check_range(*users, 1, MAX_USERS, "users")?;
                let (trial_ends_at, credits) =
                    license_terms(*kind, *trial_days, *users, price, *now, catalog)?;
                if *kind == LicenseKind::Trial {
                    self.ensure_no_running_trial(key_id, product, *now)?;
                }
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
                let license = self.live_license(license_id)?;
                if license.kind == LicenseKind::Trial {
                    return Err(DomainError::BadInput(
                        "a trial license cannot be upgraded; assign a permanent license to make it permanent".into(),
                    ));
                }
                let product = self.sellable(catalog, &license.product)?;
                let now = (license.users, license.edition.as_str());
                let (new_users, new_edition, credits) =
                    raise(product, now, (*users, edition.as_ref()), |e| {
                        e.license_per_user
                    })?;
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
                self.live_license(license_id)?;
                LedgerEvent::LicenseEdited {
                    license_id: license_id.clone(),
                    email: values::parse_edited_email(email.as_deref())?,
                    comment: values::parse_comment(comment.as_deref())?,
                }
            }
            DeleteLicense {
                license_id,
                now,
                idempotency,
            } => {
                let license = self.live_license(license_id)?;
                if matches!(self.keys.get(license.key_id.as_str()), Some(Some(_))) {
                    return Err(DomainError::Conflict(
                        "this license's activation key is activated on a device; deactivate it before deleting the license".into(),
                    ));
                }
                // A device keeps its last license file until it expires: the
                // credits come back only once no file grants the license.
                if license.credits_spent > 0
                    && self.was_on_device(license)
                    && let Some(until) = self.key_files_valid_until.get(license.key_id.as_str())
                    && until > now
                {
                    return Err(DomainError::Conflict(format!(
                        "this license was on a device, whose license file stays valid until {}; it can be deleted, and its credits refunded, from then on",
                        until.format("%Y-%m-%d %H:%M UTC")
                    )));
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

    /// Whether a license file naming this license was ever issued: its key
    /// was on a device when it was assigned, or was activated since.
    fn was_on_device(&self, license: &LicenseState) -> bool {
        license.assigned_on_device
            || self
                .key_activations
                .get(license.key_id.as_str())
                .is_some_and(|n| *n > license.key_activations_before)
    }

    fn ensure_no_running_trial(
        &self,
        key_id: &str,
        product: &Product,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let running = self
            .trials
            .get(key_id)
            .and_then(|by_product| by_product.get(&product.code))
            .filter(|(license_id, ends)| {
                *ends > now && self.licenses.get(license_id).is_some_and(|l| !l.deleted)
            });
        match running {
            Some((_, ends)) => Err(DomainError::Conflict(format!(
                "this activation key already has a running trial of {} (until {}); a key gets one running trial per product",
                product.name,
                ends.format("%Y-%m-%d")
            ))),
            None => Ok(()),
        }
    }
}
