//! How each event changes the state. Never refuses: an event is a fact.

use super::{Ledger, LicenseState, SubscriptionState, SupportState};
use crate::events::{Idempotency, LedgerEvent};
use chrono::Days;

impl Ledger {
    // One arm per event and each arm a few lines of bookkeeping: kept as one
    // match so that everything the state remembers reads in one place, and so
    // the compiler names any new event left unhandled.
    pub fn apply(&mut self, event: &LedgerEvent) {
        use LedgerEvent::*;
        if let Some(movement) = event.credit_movement() {
            self.balance += movement.amount;
        }
        if let Some(Idempotency {
            key,
            fingerprint,
            sender,
        }) = event.idempotency()
        {
            let keys = match sender {
                None => &mut self.idempotency,
                Some(sender) => self
                    .idempotency_by_sender
                    .entry(sender.clone())
                    .or_default(),
            };
            keys.insert(key.clone(), fingerprint.clone());
        }
        match event {
            AdminRegistered { .. } | AuditorRegistered { .. } | PartnerRegistered { .. } => {
                self.registered = true
            }
            ResellerRegistered {
                partner_id,
                products,
                ..
            } => {
                self.registered = true;
                self.partner_id = Some(partner_id.clone());
                self.allowed_products = Some(products.clone());
            }
            ResellerAdded { reseller_id } => {
                self.resellers.insert(reseller_id.clone());
            }
            ResellerProfileEdited { products, .. } => {
                if let Some(products) = products {
                    self.allowed_products = Some(products.clone());
                }
            }
            CreditsGranted {
                amount, reference, ..
            } => {
                self.grants.insert(reference.clone(), *amount);
            }
            CreditsTransferredOut { transfer_id, .. } => {
                self.transfers_out.insert(transfer_id.clone());
            }
            CreditsTransferredIn { transfer_id, .. } => {
                self.transfers_in.insert(transfer_id.clone());
            }
            ActivationKeyCreated { key_id, .. } => {
                self.keys.insert(key_id.clone(), None);
            }
            LicenseAssigned {
                license_id,
                key_id,
                product,
                edition,
                users,
                kind,
                credits,
                trial_ends_at,
                ..
            } => {
                if let Some(ends) = trial_ends_at {
                    self.trials
                        .entry(key_id.clone())
                        .or_default()
                        .insert(product.clone(), (license_id.clone(), *ends));
                }
                self.licenses.insert(
                    license_id.clone(),
                    LicenseState {
                        key_id: key_id.into(),
                        product: product.into(),
                        edition: edition.into(),
                        users: *users,
                        kind: *kind,
                        credits_spent: *credits,
                        deleted: false,
                        trial_ends_at: *trial_ends_at,
                        assigned_on_device: matches!(self.keys.get(key_id), Some(Some(_))),
                        key_activations_before: self
                            .key_activations
                            .get(key_id)
                            .copied()
                            .unwrap_or(0),
                    },
                );
            }
            LicenseUpgraded {
                license_id,
                users,
                edition,
                credits,
                ..
            } => {
                if let Some(l) = self.licenses.get_mut(license_id) {
                    l.users = *users;
                    l.edition = edition.into();
                    l.credits_spent += credits;
                }
            }
            LicenseEdited { .. } => {}
            LicenseDeleted {
                license_id, refund, ..
            } => {
                if let Some(l) = self.licenses.get_mut(license_id) {
                    l.deleted = true;
                    l.credits_spent -= refund;
                }
            }
            SupportAssigned {
                support_id,
                key_id,
                product,
                edition,
                users,
                starts_on,
                end_of_support,
                months,
                ..
            } => {
                self.supports.insert(
                    support_id.clone(),
                    SupportState {
                        key_id: key_id.into(),
                        product: product.into(),
                        edition: edition.into(),
                        users: *users,
                        starts_on: *starts_on,
                        end_of_support: *end_of_support,
                        anchor: Some(*starts_on),
                        anchor_months: *months,
                    },
                );
            }
            SupportUpgraded {
                support_id,
                users,
                edition,
                ..
            } => {
                if let Some(s) = self.supports.get_mut(support_id) {
                    s.users = *users;
                    s.edition = edition.into();
                }
            }
            SupportExtended {
                support_id,
                months,
                period_starts_on,
                end_of_support,
                ..
            } => {
                if let Some(s) = self.supports.get_mut(support_id) {
                    let follows_on =
                        s.end_of_support.checked_add_days(Days::new(1)) == Some(*period_starts_on);
                    match s.anchor {
                        Some(_) if follows_on => s.anchor_months += months,
                        _ => {
                            s.anchor = Some(*period_starts_on);
                            s.anchor_months = *months;
                        }
                    }
                    s.end_of_support = *end_of_support;
                }
            }
            SupportEdited { .. } => {}
            SubscriptionCreated {
                subscription_id,
                key_id,
                software,
                channels,
                months,
                starts_on,
                ends_on,
                ..
            } => {
                self.subscriptions.insert(subscription_id.clone());
                self.subscription_terms.insert(
                    subscription_id.clone(),
                    SubscriptionState {
                        key_id: key_id.into(),
                        software: software.into(),
                        channels: *channels,
                        starts_on: *starts_on,
                        ends_on: *ends_on,
                        anchor: *starts_on,
                        anchor_months: *months,
                    },
                );
            }
            SubscriptionExtended {
                subscription_id,
                months,
                period_starts_on,
                ends_on,
                ..
            } => {
                if let Some(s) = self.subscription_terms.get_mut(subscription_id) {
                    if s.ends_on.checked_add_days(Days::new(1)) == Some(*period_starts_on) {
                        s.anchor_months += months;
                    } else {
                        s.anchor = *period_starts_on;
                        s.anchor_months = *months;
                    }
                    s.ends_on = *ends_on;
                }
            }
            SubscriptionUpgraded {
                subscription_id,
                channels,
                ..
            } => {
                if let Some(s) = self.subscription_terms.get_mut(subscription_id) {
                    s.channels = *channels;
                }
            }
            KeyActivated {
                key_id,
                fingerprint,
                ..
            } => {
                self.keys.insert(key_id.clone(), Some(fingerprint.clone()));
                *self.key_activations.entry(key_id.clone()).or_default() += 1;
            }
            KeyDeactivated {
                key_id,
                files_valid_until,
                ..
            } => {
                self.keys.insert(key_id.clone(), None);
                if let Some(until) = files_valid_until {
                    self.key_files_valid_until.insert(key_id.clone(), *until);
                }
            }
        }
    }
}
