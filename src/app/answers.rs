//! Answers of committed commands, read from the account's stream in the
//! event store rather than from the views. A command that committed has
//! happened, whatever the projector has applied yet: when the views lag
//! (a slow projector, an old open transaction on PostgreSQL holding the log
//! back), the mutation still answers what it did, built from its events,
//! and the lag is reported (`freshness`), never turned into an error.
//!
//! Reading a whole stream is costly for a large account; it is only done
//! when the views do not have the answer.

use super::App;
use crate::error::{AppError, AppResult};
use aggregates::{Idempotency, LedgerEvent};
use projections::StoredEvent;
use projections::queries::{CreditEntryRow, KeyRow, LicenseRow, SubscriptionRow, SupportRow};
use projections::views::credit_entry_id;

impl App {
    async fn stream_of(&self, owner: &str) -> AppResult<Vec<StoredEvent>> {
        projections::log::read_stream(&self.db, owner)
            .await
            .map_err(|e| AppError::internal("reading an account's stream", e))
    }

    /// The credit entry of the last event of `owner`'s stream that `pick`
    /// chooses, with the balance after it.
    pub(crate) async fn credit_entry_in_log(
        &self,
        owner: &str,
        pick: impl Fn(&StoredEvent) -> bool,
    ) -> AppResult<Option<CreditEntryRow>> {
        let mut balance = 0;
        let mut found = None;
        for e in self.stream_of(owner).await? {
            let Some(m) = e.event.credit_movement() else {
                continue;
            };
            balance += m.amount;
            if pick(&e) {
                found = Some(CreditEntryRow {
                    id: credit_entry_id(&e.aggregate_id, e.sequence),
                    account_id: e.aggregate_id.clone(),
                    position: e.position(),
                    at: e.at.clone(),
                    amount: m.amount,
                    balance_after: balance,
                    reason: m.reason.as_str().to_string(),
                    reference: Some(m.reference.to_string()),
                    actor_id: e.actor.clone(),
                    // Words are the projector's to write; the answer of a
                    // lagging view goes without them.
                    detail: None,
                });
            }
        }
        Ok(found)
    }

    /// The credit entry made by the request with this idempotency key.
    pub(crate) async fn keyed_entry_in_log(
        &self,
        owner: &str,
        key: &str,
    ) -> AppResult<Option<CreditEntryRow>> {
        self.credit_entry_in_log(owner, |e| {
            e.event.idempotency().is_some_and(|i| i.key == key)
        })
        .await
    }

    /// What the request with this idempotency key made first: the id of its
    /// license, support, subscription or key, or of its credit entry (the
    /// same results the views keep in `idempotency_results`).
    pub(crate) async fn first_result_in_log(
        &self,
        owner: &str,
        idem: &Idempotency,
    ) -> AppResult<Option<String>> {
        use LedgerEvent::*;
        let stream = self.stream_of(owner).await?;
        let first = stream.iter().find(|e| {
            e.event
                .idempotency()
                .is_some_and(|i| i.key == idem.key && i.sender == idem.sender)
        });
        Ok(first.map(|e| match &e.event {
            LicenseAssigned { license_id, .. } | LicenseUpgraded { license_id, .. } => {
                license_id.clone()
            }
            SupportAssigned { support_id, .. }
            | SupportUpgraded { support_id, .. }
            | SupportExtended { support_id, .. } => support_id.clone(),
            SubscriptionCreated {
                subscription_id, ..
            } => subscription_id.clone(),
            ActivationKeyCreated { key_id, .. } => key_id.clone(),
            LicenseDeleted { refund: 0, .. } => String::new(),
            _ => credit_entry_id(&e.aggregate_id, e.sequence),
        }))
    }

    /// A license of `owner` as its events leave it.
    pub(crate) async fn license_in_log(
        &self,
        owner: &str,
        id: &str,
    ) -> AppResult<Option<LicenseRow>> {
        use LedgerEvent::*;
        let mut license: Option<LicenseRow> = None;
        let mut bound: Option<(String, bool)> = None;
        for e in self.stream_of(owner).await? {
            match &e.event {
                LicenseAssigned {
                    license_id,
                    key_id,
                    product,
                    edition,
                    users,
                    kind,
                    trial_ends_at,
                    email,
                    comment,
                    credits,
                    ..
                } if license_id == id => {
                    license = Some(LicenseRow {
                        id: license_id.clone(),
                        key_id: key_id.clone(),
                        owner_id: owner.to_string(),
                        product: product.clone(),
                        edition: edition.clone(),
                        users: *users,
                        kind: kind.as_str().to_string(),
                        trial_ends_at: trial_ends_at.map(projections::db::time_text),
                        email: email.clone(),
                        comment: comment.clone(),
                        credits_spent: *credits,
                        deleted: false,
                        activated: false,
                        created_at: e.at.clone(),
                        updated_at: e.at.clone(),
                        position: e.position(),
                    });
                    bound = Some((key_id.clone(), false));
                }
                LicenseUpgraded {
                    license_id,
                    users,
                    edition,
                    credits,
                    ..
                } if license_id == id => {
                    if let Some(l) = &mut license {
                        l.users = *users;
                        l.edition = edition.clone();
                        l.credits_spent += credits;
                        l.updated_at = e.at.clone();
                    }
                }
                LicenseEdited {
                    license_id,
                    email,
                    comment,
                } if license_id == id => {
                    if let Some(l) = &mut license {
                        l.email = email.clone();
                        l.comment = comment.clone();
                        l.updated_at = e.at.clone();
                    }
                }
                LicenseDeleted { license_id, .. } if license_id == id => {
                    if let Some(l) = &mut license {
                        l.deleted = true;
                        l.updated_at = e.at.clone();
                    }
                }
                KeyActivated { key_id, .. } | KeyDeactivated { key_id, .. } => {
                    if let Some((k, on)) = &mut bound
                        && k == key_id
                    {
                        *on = matches!(e.event, KeyActivated { .. });
                    }
                }
                _ => {}
            }
        }
        // A key bound before the license was put on it counts too.
        if let (Some(l), Some((key_id, on))) = (&mut license, bound) {
            l.activated = on || self.ledger_key_bound(owner, &key_id).await?;
        }
        Ok(license)
    }

    /// A support of `owner` as its events leave it.
    pub(crate) async fn support_in_log(
        &self,
        owner: &str,
        id: &str,
    ) -> AppResult<Option<SupportRow>> {
        use LedgerEvent::*;
        let mut support: Option<SupportRow> = None;
        for e in self.stream_of(owner).await? {
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
                } if support_id == id => {
                    support = Some(SupportRow {
                        id: support_id.clone(),
                        key_id: key_id.clone(),
                        owner_id: owner.to_string(),
                        product: product.clone(),
                        edition: edition.clone(),
                        users: *users,
                        starts_on: projections::db::date_text(*starts_on),
                        end_of_support: projections::db::date_text(*end_of_support),
                        credits_spent: *credits,
                        email: None,
                        comment: None,
                        created_at: e.at.clone(),
                        updated_at: e.at.clone(),
                        position: e.position(),
                    });
                }
                SupportUpgraded {
                    support_id,
                    users,
                    edition,
                    credits,
                    ..
                } if support_id == id => {
                    if let Some(s) = &mut support {
                        s.users = *users;
                        s.edition = edition.clone();
                        s.credits_spent += credits;
                        s.updated_at = e.at.clone();
                    }
                }
                SupportExtended {
                    support_id,
                    end_of_support,
                    credits,
                    ..
                } if support_id == id => {
                    if let Some(s) = &mut support {
                        s.end_of_support = projections::db::date_text(*end_of_support);
                        s.credits_spent += credits;
                        s.updated_at = e.at.clone();
                    }
                }
                SupportEdited {
                    support_id,
                    email,
                    comment,
                } if support_id == id => {
                    if let Some(s) = &mut support {
                        s.email = email.clone();
                        s.comment = comment.clone();
                        s.updated_at = e.at.clone();
                    }
                }
                _ => {}
            }
        }
        Ok(support)
    }

    /// A Remote Support subscription of `owner` as its events leave it.
    pub(crate) async fn subscription_in_log(
        &self,
        owner: &str,
        id: &str,
    ) -> AppResult<Option<SubscriptionRow>> {
        use LedgerEvent::*;
        let mut subscription: Option<SubscriptionRow> = None;
        for e in self.stream_of(owner).await? {
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
                } if subscription_id == id => {
                    subscription = Some(SubscriptionRow {
                        id: subscription_id.clone(),
                        key_id: key_id.clone(),
                        owner_id: owner.to_string(),
                        software: software.clone(),
                        channels: *channels,
                        months: i64::from(*months),
                        starts_on: projections::db::date_text(*starts_on),
                        ends_on: projections::db::date_text(*ends_on),
                        email: email.clone(),
                        comment: comment.clone(),
                        credits_spent: *credits,
                        created_at: e.at.clone(),
                        position: e.position(),
                    });
                }
                SubscriptionExtended {
                    subscription_id,
                    months,
                    ends_on,
                    credits,
                    ..
                } if subscription_id == id => {
                    if let Some(u) = &mut subscription {
                        u.months += i64::from(*months);
                        u.ends_on = projections::db::date_text(*ends_on);
                        u.credits_spent += credits;
                    }
                }
                SubscriptionUpgraded {
                    subscription_id,
                    channels,
                    credits,
                    ..
                } if subscription_id == id => {
                    if let Some(u) = &mut subscription {
                        u.channels = *channels;
                        u.credits_spent += credits;
                    }
                }
                _ => {}
            }
        }
        Ok(subscription)
    }

    async fn ledger_key_bound(&self, owner: &str, key_id: &str) -> AppResult<bool> {
        let role = match self.account_of(owner).await? {
            Some(a) => super::role_of(&a.role)?,
            None => return Ok(false),
        };
        let ledger = self.ledgers.load(role, owner).await?;
        Ok(ledger.keys.get(key_id).is_some_and(Option::is_some))
    }

    /// An activation key of `owner` as its events leave it.
    pub(crate) async fn key_in_log(&self, owner: &str, id: &str) -> AppResult<Option<KeyRow>> {
        use LedgerEvent::*;
        let mut key: Option<KeyRow> = None;
        for e in self.stream_of(owner).await? {
            match &e.event {
                ActivationKeyCreated {
                    key_id,
                    name,
                    key: code,
                    ..
                } if key_id == id => {
                    key = Some(KeyRow {
                        id: key_id.clone(),
                        owner_id: owner.to_string(),
                        name: name.clone(),
                        key: code.clone(),
                        device_fingerprint: None,
                        device_name: None,
                        activated_at: None,
                        created_at: e.at.clone(),
                        position: e.position(),
                    });
                }
                KeyActivated {
                    key_id,
                    fingerprint,
                    device_name,
                } if key_id == id => {
                    if let Some(k) = &mut key {
                        k.device_fingerprint = Some(fingerprint.clone());
                        k.device_name = device_name.clone();
                        k.activated_at = Some(e.at.clone());
                    }
                }
                KeyDeactivated { key_id, .. } if key_id == id => {
                    if let Some(k) = &mut key {
                        k.device_fingerprint = None;
                        k.device_name = None;
                        k.activated_at = None;
                    }
                }
                _ => {}
            }
        }
        Ok(key)
    }
}
