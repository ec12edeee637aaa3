//! The state every account's stream folds into, and the rules that decide which
//! events a command produces. Partner, Reseller and Admin differ only in which
//! commands they accept (see `Role`), so the rules live here once.

use crate::catalog::{Catalog, Product};
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::{Idempotency, LedgerEvent, LicenseKind};
use crate::values::{self, MAX_CHANNELS, MAX_GRANT, MAX_USERS};
use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
// Persistent maps: cloning a state (the event store keeps the last one of
// each stream and hands the command a copy) shares their structure instead
// of copying 100,000 licenses.
use imbl::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Admin,
    Partner,
    Reseller,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub registered: bool,
    pub balance: i64,
    /// Reseller: its partner.
    pub partner_id: Option<String>,
    /// Reseller: products it may sell. `None`: every product.
    pub allowed_products: Option<Vec<String>>,
    /// Partner: its resellers.
    pub resellers: HashSet<String>,
    /// Grant reference → amount, so a repeated grant is recognised.
    pub grants: HashMap<String, i64>,
    /// Reseller: transfer ids already credited.
    pub transfers_in: HashSet<String>,
    /// Partner: transfer ids already debited.
    #[serde(default)]
    pub transfers_out: HashSet<String>,
    /// Activation key id → fingerprint of the device it is bound to.
    pub keys: HashMap<String, Option<String>>,
    pub licenses: HashMap<String, LicenseState>,
    pub supports: HashMap<String, SupportState>,
    pub subscriptions: HashSet<String>,
    /// Idempotency key → fingerprint of the request that first used it.
    pub idempotency: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseState {
    pub key_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub kind: LicenseKind,
    pub credits_spent: i64,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportState {
    pub key_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub starts_on: NaiveDate,
    pub end_of_support: NaiveDate,
    /// First day of the current unbroken run of cover, and its months: an
    /// extension that follows on is counted from here, so buying 1 + 1 + 1
    /// months ends where buying 3 at once would (month ends do not drift).
    #[serde(default)]
    pub anchor: Option<NaiveDate>,
    #[serde(default)]
    pub anchor_months: u32,
}

/// Last day of a period of `months` starting on `start`.
pub fn period_end(start: NaiveDate, months: u32) -> Option<NaiveDate> {
    start
        .checked_add_months(Months::new(months))?
        .checked_sub_days(Days::new(1))
}

fn wrong_role(role: Role) -> DomainError {
    let who = match role {
        Role::Admin => "an administrator",
        Role::Partner => "a partner",
        Role::Reseller => "a reseller",
    };
    DomainError::Forbidden(format!("{who} cannot do this"))
}

impl Ledger {
    /// The events `command` produces against this state, or why it is refused.
    /// Pure: `quote` calls it to price an operation without running it.
    pub fn decide(
        &self,
        role: Role,
        command: &LedgerCommand,
        catalog: &Catalog,
    ) -> Result<Vec<LedgerEvent>, DomainError> {
        use LedgerCommand::*;
        let registration = matches!(
            command,
            RegisterAdmin { .. } | RegisterPartner { .. } | RegisterReseller { .. }
        );
        if registration && self.registered {
            return Err(DomainError::Conflict("this account already exists".into()));
        }
        if !registration && !self.registered {
            return Err(DomainError::NotFound("no such account".into()));
        }
        // A retried request gets its first result: nothing happens again.
        if let Some((idem, first)) = command
            .idempotency()
            .and_then(|idem| self.idempotency.get(&idem.key).map(|first| (idem, first)))
        {
            return if *first == idem.fingerprint {
                Ok(vec![])
            } else {
                Err(DomainError::Conflict(format!(
                    "the idempotency key \"{}\" was already used for a different request",
                    idem.key
                )))
            };
        }
        // New things get new ids: reusing one would overwrite what it names.
        self.ensure_new_id(command)?;
        let event = match command {
            RegisterAdmin { login, email, name } => {
                if role != Role::Admin {
                    return Err(wrong_role(role));
                }
                LedgerEvent::AdminRegistered {
                    login: values::parse_login(login)?,
                    email: values::parse_email(email)?,
                    name: values::parse_name(name, "name")?,
                }
            }
            RegisterPartner { login, email, name } => {
                if role != Role::Partner {
                    return Err(wrong_role(role));
                }
                LedgerEvent::PartnerRegistered {
                    login: values::parse_login(login)?,
                    email: values::parse_email(email)?,
                    name: values::parse_name(name, "name")?,
                }
            }
            RegisterReseller {
                partner_id,
                login,
                email,
                name,
                products,
            } => {
                if role != Role::Reseller {
                    return Err(wrong_role(role));
                }
                LedgerEvent::ResellerRegistered {
                    partner_id: partner_id.clone(),
                    login: values::parse_login(login)?,
                    email: values::parse_email(email)?,
                    name: values::parse_name(name, "name")?,
                    products: check_products(products, catalog)?,
                }
            }
            AddReseller { reseller_id } => {
                if role != Role::Partner {
                    return Err(wrong_role(role));
                }
                if self.resellers.contains(reseller_id) {
                    return Ok(vec![]);
                }
                LedgerEvent::ResellerAdded {
                    reseller_id: reseller_id.clone(),
                }
            }
            EditReseller {
                email,
                name,
                products,
            } => {
                if role != Role::Reseller {
                    return Err(wrong_role(role));
                }
                LedgerEvent::ResellerProfileEdited {
                    email: email.as_deref().map(values::parse_email).transpose()?,
                    name: name
                        .as_deref()
                        .map(|n| values::parse_name(n, "name"))
                        .transpose()?,
                    products: products
                        .as_ref()
                        .map(|p| check_products(p, catalog))
                        .transpose()?,
                }
            }
            GrantCredits {
                amount,
                reference,
                idempotency,
            } => {
                if role != Role::Partner {
                    return Err(DomainError::BadInput(
                        "credits are granted to partners only".into(),
                    ));
                }
                values::check_range(*amount, 1, MAX_GRANT, "the amount")?;
                let reference = reference.trim();
                if reference.is_empty() || reference.chars().count() > 100 {
                    return Err(DomainError::BadInput(
                        "the reference must be 1 to 100 characters".into(),
                    ));
                }
                if let Some(first) = self.grants.get(reference) {
                    return if first == amount {
                        Ok(vec![])
                    } else {
                        Err(DomainError::Conflict(format!(
                            "the reference \"{reference}\" was already used for a grant of {first} credits"
                        )))
                    };
                }
                LedgerEvent::CreditsGranted {
                    amount: *amount,
                    reference: reference.to_string(),
                    idempotency: idempotency.clone(),
                }
            }
            TransferOut {
                transfer_id,
                reseller_id,
                amount,
                idempotency,
            } => {
                if role != Role::Partner {
                    return Err(wrong_role(role));
                }
                if !self.resellers.contains(reseller_id) {
                    return Err(DomainError::NotFound("no such reseller".into()));
                }
                values::check_range(*amount, 1, MAX_GRANT, "the amount")?;
                self.ensure_funds(*amount)?;
                LedgerEvent::CreditsTransferredOut {
                    transfer_id: transfer_id.clone(),
                    reseller_id: reseller_id.clone(),
                    amount: *amount,
                    idempotency: idempotency.clone(),
                }
            }
            ReceiveTransfer {
                transfer_id,
                partner_id,
                amount,
            } => {
                if role != Role::Reseller {
                    return Err(wrong_role(role));
                }
                if self.transfers_in.contains(transfer_id) {
                    return Ok(vec![]);
                }
                if self.partner_id.as_deref() != Some(partner_id.as_str()) {
                    return Err(DomainError::Forbidden(
                        "credits can only come from the reseller's own partner".into(),
                    ));
                }
                if *amount <= 0 {
                    return Err(DomainError::BadInput(
                        "a transfer moves at least 1 credit".into(),
                    ));
                }
                LedgerEvent::CreditsTransferredIn {
                    transfer_id: transfer_id.clone(),
                    partner_id: partner_id.clone(),
                    amount: *amount,
                }
            }
            CreateActivationKey { key_id, name, key } => {
                self.ensure_seller(role)?;
                if self.keys.contains_key(key_id) {
                    return Err(DomainError::Conflict(
                        "this activation key already exists".into(),
                    ));
                }
                LedgerEvent::ActivationKeyCreated {
                    key_id: key_id.clone(),
                    name: values::parse_name(name, "key's name")?,
                    key: values::ActivationKeyCode::parse(key)?.as_str().to_string(),
                }
            }
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
                let (trial_ends_at, credits) = match (kind, trial_days) {
                    (LicenseKind::Trial, None) => {
                        return Err(DomainError::BadInput(
                            "a trial license needs trialDays, its duration in days".into(),
                        ));
                    }
                    (LicenseKind::Trial, Some(days)) => {
                        values::check_range(*days, 1, catalog.max_trial_days.into(), "trialDays")?;
                        (Some(*now + chrono::Duration::days(*days)), 0)
                    }
                    (LicenseKind::Permanent, Some(_)) => {
                        return Err(DomainError::BadInput(
                            "a permanent license has no trialDays; leave it out".into(),
                        ));
                    }
                    (LicenseKind::Permanent, None) => (None, users * price),
                };
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
                self.ensure_seller(role)?;
                self.ensure_key(key_id)?;
                let product = self.sellable(catalog, product)?;
                if product.subscription_only {
                    return Err(DomainError::BadInput(format!(
                        "{} is sold as a subscription; support contracts are for licensed products",
                        product.name
                    )));
                }
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
                self.ensure_seller(role)?;
                let support = self.support(support_id)?;
                if support.end_of_support < *today {
                    return Err(DomainError::BadInput(
                        "this support has expired; extend it before upgrading".into(),
                    ));
                }
                let product = self.sellable(catalog, &support.product)?;
                let new_users = users.unwrap_or(support.users);
                let new_edition = edition.clone().unwrap_or_else(|| support.edition.clone());
                values::check_range(new_users, 1, MAX_USERS, "users")?;
                let (old_price, new_price) = upgrade_prices(
                    product,
                    &support.edition,
                    &new_edition,
                    support.users,
                    new_users,
                    |e| e.support_per_user_month,
                )?;
                let monthly_difference = (new_users * new_price - support.users * old_price).max(0);
                let first_day = support.starts_on.max(*today);
                let remaining_days = (support.end_of_support - first_day).num_days() + 1;
                // A month is a twelfth of a 365-day year; partial credits round up.
                let credits = (monthly_difference * remaining_days * 12 + 364) / 365;
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
                self.ensure_seller(role)?;
                let support = self.support(support_id)?;
                let product = self.sellable(catalog, &support.product)?;
                let price = edition_of(product, &support.edition)?.support_per_user_month;
                let months = allowed_months(*months, &catalog.support_months, "support")?;
                let day_after = support
                    .end_of_support
                    .checked_add_days(Days::new(1))
                    .unwrap_or(support.end_of_support);
                let period_starts_on = day_after.max(*today);
                let follows_on = period_starts_on == day_after;
                let end_of_support = match support.anchor {
                    Some(anchor) if follows_on => {
                        period_end(anchor, support.anchor_months + months)
                    }
                    _ => period_end(period_starts_on, months),
                }
                .ok_or_else(|| {
                    DomainError::BadInput("the support would end too far in the future".into())
                })?;
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
            ActivateKey {
                key_id,
                fingerprint,
                device_name,
            } => {
                self.ensure_seller(role)?;
                match self.ensure_key(key_id)? {
                    Some(bound) if bound == fingerprint => return Ok(vec![]),
                    Some(_) => {
                        return Err(DomainError::Conflict(
                            "this key is activated on another device; deactivate it there first"
                                .into(),
                        ));
                    }
                    None => LedgerEvent::KeyActivated {
                        key_id: key_id.clone(),
                        fingerprint: fingerprint.clone(),
                        device_name: device_name.clone(),
                    },
                }
            }
            DeactivateKey {
                key_id,
                fingerprint,
            } => {
                self.ensure_seller(role)?;
                match self.ensure_key(key_id)? {
                    Some(bound) if bound == fingerprint => LedgerEvent::KeyDeactivated {
                        key_id: key_id.clone(),
                        fingerprint: fingerprint.clone(),
                    },
                    _ => {
                        return Err(DomainError::Conflict(
                            "this key is not activated on this device".into(),
                        ));
                    }
                }
            }
        };
        Ok(vec![event])
    }

    pub fn apply(&mut self, event: &LedgerEvent) {
        use LedgerEvent::*;
        if let Some(movement) = event.credit_movement() {
            self.balance += movement.amount;
        }
        if let Some(Idempotency { key, fingerprint }) = event.idempotency() {
            self.idempotency.insert(key.clone(), fingerprint.clone());
        }
        match event {
            AdminRegistered { .. } | PartnerRegistered { .. } => self.registered = true,
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
                ..
            } => {
                self.licenses.insert(
                    license_id.clone(),
                    LicenseState {
                        key_id: key_id.clone(),
                        product: product.clone(),
                        edition: edition.clone(),
                        users: *users,
                        kind: *kind,
                        credits_spent: *credits,
                        deleted: false,
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
                    l.edition = edition.clone();
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
                        key_id: key_id.clone(),
                        product: product.clone(),
                        edition: edition.clone(),
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
                    s.edition = edition.clone();
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
            SubscriptionCreated {
                subscription_id, ..
            } => {
                self.subscriptions.insert(subscription_id.clone());
            }
            KeyActivated {
                key_id,
                fingerprint,
                ..
            } => {
                self.keys.insert(key_id.clone(), Some(fingerprint.clone()));
            }
            KeyDeactivated { key_id, .. } => {
                self.keys.insert(key_id.clone(), None);
            }
        }
    }

    fn ensure_seller(&self, role: Role) -> Result<(), DomainError> {
        match role {
            Role::Partner | Role::Reseller => Ok(()),
            Role::Admin => Err(wrong_role(role)),
        }
    }

    fn ensure_funds(&self, required: i64) -> Result<(), DomainError> {
        if required > self.balance {
            return Err(DomainError::InsufficientCredits {
                required,
                balance: self.balance,
            });
        }
        Ok(())
    }

    /// The device a key is bound to, if the key is this account's.
    fn ensure_key(&self, key_id: &str) -> Result<Option<&str>, DomainError> {
        self.keys
            .get(key_id)
            .map(|bound| bound.as_deref())
            .ok_or_else(|| DomainError::NotFound("no such activation key".into()))
    }

    fn live_license(&self, license_id: &str) -> Result<&LicenseState, DomainError> {
        match self.licenses.get(license_id) {
            None => Err(DomainError::NotFound("no such license".into())),
            Some(l) if l.deleted => Err(DomainError::Conflict(
                "this license has been deleted".into(),
            )),
            Some(l) => Ok(l),
        }
    }

    fn support(&self, support_id: &str) -> Result<&SupportState, DomainError> {
        self.supports
            .get(support_id)
            .ok_or_else(|| DomainError::NotFound("no such support".into()))
    }

    /// A product of the catalog this account may sell.
    fn sellable<'c>(&self, catalog: &'c Catalog, code: &str) -> Result<&'c Product, DomainError> {
        let product = catalog
            .product(code)
            .ok_or_else(|| DomainError::BadInput(format!("there is no product \"{code}\"")))?;
        if let Some(allowed) = &self.allowed_products
            && !allowed.iter().any(|p| p == code)
        {
            return Err(DomainError::Forbidden(format!(
                "this account may not sell {}",
                product.name
            )));
        }
        Ok(product)
    }

    fn ensure_new_id(&self, command: &LedgerCommand) -> Result<(), DomainError> {
        use LedgerCommand::*;
        let taken = match command {
            TransferOut { transfer_id, .. } => self.transfers_out.contains(transfer_id),
            AssignLicense { license_id, .. } => self.licenses.contains_key(license_id),
            AssignSupport { support_id, .. } => self.supports.contains_key(support_id),
            CreateSubscription {
                subscription_id, ..
            } => self.subscriptions.contains(subscription_id),
            _ => false,
        };
        if taken {
            return Err(DomainError::Conflict(
                "this id is already used in this account".into(),
            ));
        }
        Ok(())
    }
}

fn edition_of<'c>(
    product: &'c Product,
    code: &str,
) -> Result<&'c crate::catalog::Edition, DomainError> {
    product.edition(code).ok_or_else(|| {
        DomainError::BadInput(format!(
            "{} has no edition \"{code}\"; it has {}",
            product.name,
            product
                .editions
                .iter()
                .map(|e| e.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Prices per unit before and after an upgrade, refusing anything that lowers.
fn upgrade_prices(
    product: &Product,
    old_edition: &str,
    new_edition: &str,
    old_users: i64,
    new_users: i64,
    price: impl Fn(&crate::catalog::Edition) -> i64,
) -> Result<(i64, i64), DomainError> {
    let new = edition_of(product, new_edition)?;
    let old_rank = product.rank(old_edition).unwrap_or(0);
    let new_rank = product.rank(new_edition).unwrap_or(0);
    if new_users < old_users {
        return Err(DomainError::BadInput(format!(
            "an upgrade never lowers users ({old_users} now, {new_users} asked)"
        )));
    }
    if new_rank < old_rank {
        return Err(DomainError::BadInput(format!(
            "an upgrade never moves to a lesser edition ({old_edition} now, {new_edition} asked)"
        )));
    }
    if new_users == old_users && new_rank == old_rank {
        return Err(DomainError::BadInput(
            "nothing to upgrade: give more users or a higher edition".into(),
        ));
    }
    let old_price = product.edition(old_edition).map(&price).unwrap_or(0);
    Ok((old_price, price(new)))
}

fn allowed_months(months: i64, allowed: &[u32], what: &str) -> Result<u32, DomainError> {
    match u32::try_from(months) {
        Ok(m) if allowed.contains(&m) => Ok(m),
        _ => Err(DomainError::BadInput(format!(
            "a {what} lasts one of {} months, not {months}",
            allowed
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn check_products(products: &[String], catalog: &Catalog) -> Result<Vec<String>, DomainError> {
    if products.is_empty() {
        return Err(DomainError::BadInput("choose at least one product".into()));
    }
    let mut out: Vec<String> = Vec::new();
    for code in products {
        if catalog.product(code).is_none() {
            return Err(DomainError::BadInput(format!(
                "there is no product \"{code}\""
            )));
        }
        if !out.contains(code) {
            out.push(code.clone());
        }
    }
    Ok(out)
}
