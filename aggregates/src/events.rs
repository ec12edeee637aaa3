//! The events of the ledger. Partner, Reseller and Admin aggregates share this
//! one enum so that the projector and the auditors read a single vocabulary;
//! each aggregate only ever emits the variants that belong to it.
//!
//! Credits are recorded as charged: a later price change never alters history.
//! Who did it and when lives in the event metadata (`actor`, `at`).

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

// The serde names are in stored events: never rename them. They equal the
// texts in `names`, whose tests hold them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LicenseKind {
    Trial,
    Permanent,
}

/// The client's idempotency key with a fingerprint of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
    /// The account that sent the key when it is not the stream's owner (a
    /// partner acting on its reseller's stream). Keys are looked up per
    /// sender, so no text a client picks lands in another sender's keys.
    /// None: the owner, and every event recorded before senders were kept
    /// (a partner's keys were then stored as "<partner id>/<key>").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

impl Idempotency {
    /// Whether a key first used with `first` (a fingerprint) may answer this
    /// request: the same request gets its first result, another is refused.
    pub fn same_request(&self, first: Option<&str>) -> Result<(), crate::DomainError> {
        if first == Some(self.fingerprint.as_str()) {
            return Ok(());
        }
        Err(crate::DomainError::Conflict(format!(
            "the idempotency key \"{}\" was already used for a different request",
            self.key
        )))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LedgerEvent {
    AdminRegistered {
        login: String,
        email: String,
        name: String,
    },
    /// On an Admin-type stream: vendor staff who may only read.
    AuditorRegistered {
        login: String,
        email: String,
        name: String,
    },
    PartnerRegistered {
        login: String,
        email: String,
        name: String,
    },
    ResellerRegistered {
        partner_id: String,
        login: String,
        email: String,
        name: String,
        products: Vec<String>,
    },
    /// On the partner: the reseller now belongs to it.
    ResellerAdded { reseller_id: String },
    ResellerProfileEdited {
        email: Option<String>,
        name: Option<String>,
        products: Option<Vec<String>>,
    },
    CreditsGranted {
        amount: i64,
        reference: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    CreditsTransferredOut {
        transfer_id: String,
        reseller_id: String,
        amount: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    CreditsTransferredIn {
        transfer_id: String,
        partner_id: String,
        amount: i64,
    },
    ActivationKeyCreated {
        key_id: String,
        name: String,
        key: String,
    },
    LicenseAssigned {
        license_id: String,
        key_id: String,
        product: String,
        edition: String,
        users: i64,
        kind: LicenseKind,
        trial_ends_at: Option<DateTime<Utc>>,
        email: Option<String>,
        comment: Option<String>,
        credits: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    LicenseUpgraded {
        license_id: String,
        users: i64,
        edition: String,
        credits: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    LicenseEdited {
        license_id: String,
        email: Option<String>,
        comment: Option<String>,
    },
    LicenseDeleted {
        license_id: String,
        refund: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    SupportAssigned {
        support_id: String,
        key_id: String,
        product: String,
        edition: String,
        users: i64,
        months: u32,
        starts_on: NaiveDate,
        end_of_support: NaiveDate,
        credits: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    SupportUpgraded {
        support_id: String,
        users: i64,
        edition: String,
        credits: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    SupportExtended {
        support_id: String,
        months: u32,
        /// First day of the added period.
        period_starts_on: NaiveDate,
        end_of_support: NaiveDate,
        credits: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    SupportEdited {
        support_id: String,
        email: Option<String>,
        comment: Option<String>,
    },
    SubscriptionCreated {
        subscription_id: String,
        key_id: String,
        software: String,
        channels: i64,
        months: u32,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        email: Option<String>,
        comment: Option<String>,
        credits: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    SubscriptionExtended {
        subscription_id: String,
        months: u32,
        /// First day of the added period.
        period_starts_on: NaiveDate,
        ends_on: NaiveDate,
        credits: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    SubscriptionUpgraded {
        subscription_id: String,
        channels: i64,
        credits: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Idempotency>,
    },
    KeyActivated {
        key_id: String,
        fingerprint: String,
        device_name: Option<String>,
    },
    KeyDeactivated {
        key_id: String,
        fingerprint: String,
        /// When the last license file the device could have received stops
        /// being valid: a license on the key is refunded only after that.
        /// Absent from events recorded before the rule.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        files_valid_until: Option<DateTime<Utc>>,
    },
}

/// A movement of credits an event causes on its own account's balance. Its
/// text (`as_str`, `FromStr`) is in `names`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditReason {
    Grant,
    License,
    LicenseUpgrade,
    LicenseRefund,
    Support,
    SupportUpgrade,
    SupportExtension,
    Subscription,
    TransferOut,
    TransferIn,
    SubscriptionUpgrade,
    SubscriptionExtension,
}

/// One line of an account's credit history, as an event implies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditMovement<'a> {
    /// Positive: in. Negative: out.
    pub amount: i64,
    pub reason: CreditReason,
    pub reference: &'a str,
}

impl LedgerEvent {
    /// The credits this event moves on its account, if any. The single source
    /// for balances: the aggregate, the projector and `verify` all use it.
    pub fn credit_movement(&self) -> Option<CreditMovement<'_>> {
        use LedgerEvent::*;
        let (amount, reason, reference) = match self {
            CreditsGranted {
                amount, reference, ..
            } => (*amount, CreditReason::Grant, reference),
            CreditsTransferredOut {
                amount,
                reseller_id,
                ..
            } => (-amount, CreditReason::TransferOut, reseller_id),
            CreditsTransferredIn {
                amount, partner_id, ..
            } => (*amount, CreditReason::TransferIn, partner_id),
            LicenseAssigned {
                credits,
                license_id,
                ..
            } => (-credits, CreditReason::License, license_id),
            LicenseUpgraded {
                credits,
                license_id,
                ..
            } => (-credits, CreditReason::LicenseUpgrade, license_id),
            LicenseDeleted {
                refund, license_id, ..
            } => (*refund, CreditReason::LicenseRefund, license_id),
            SupportAssigned {
                credits,
                support_id,
                ..
            } => (-credits, CreditReason::Support, support_id),
            SupportUpgraded {
                credits,
                support_id,
                ..
            } => (-credits, CreditReason::SupportUpgrade, support_id),
            SupportExtended {
                credits,
                support_id,
                ..
            } => (-credits, CreditReason::SupportExtension, support_id),
            SubscriptionCreated {
                credits,
                subscription_id,
                ..
            } => (-credits, CreditReason::Subscription, subscription_id),
            SubscriptionExtended {
                credits,
                subscription_id,
                ..
            } => (
                -credits,
                CreditReason::SubscriptionExtension,
                subscription_id,
            ),
            SubscriptionUpgraded {
                credits,
                subscription_id,
                ..
            } => (-credits, CreditReason::SubscriptionUpgrade, subscription_id),
            _ => return None,
        };
        // Free operations (a trial, a zero refund) leave no line in the history.
        (amount != 0).then_some(CreditMovement {
            amount,
            reason,
            reference,
        })
    }

    pub fn idempotency(&self) -> Option<&Idempotency> {
        use LedgerEvent::*;
        match self {
            CreditsGranted { idempotency, .. }
            | CreditsTransferredOut { idempotency, .. }
            | LicenseAssigned { idempotency, .. }
            | LicenseUpgraded { idempotency, .. }
            | LicenseDeleted { idempotency, .. }
            | SupportAssigned { idempotency, .. }
            | SupportUpgraded { idempotency, .. }
            | SupportExtended { idempotency, .. }
            | SubscriptionCreated { idempotency, .. }
            | SubscriptionExtended { idempotency, .. }
            | SubscriptionUpgraded { idempotency, .. } => idempotency.as_ref(),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        use LedgerEvent::*;
        match self {
            AdminRegistered { .. } => "AdminRegistered",
            AuditorRegistered { .. } => "AuditorRegistered",
            PartnerRegistered { .. } => "PartnerRegistered",
            ResellerRegistered { .. } => "ResellerRegistered",
            ResellerAdded { .. } => "ResellerAdded",
            ResellerProfileEdited { .. } => "ResellerProfileEdited",
            CreditsGranted { .. } => "CreditsGranted",
            CreditsTransferredOut { .. } => "CreditsTransferredOut",
            CreditsTransferredIn { .. } => "CreditsTransferredIn",
            ActivationKeyCreated { .. } => "ActivationKeyCreated",
            LicenseAssigned { .. } => "LicenseAssigned",
            LicenseUpgraded { .. } => "LicenseUpgraded",
            LicenseEdited { .. } => "LicenseEdited",
            LicenseDeleted { .. } => "LicenseDeleted",
            SupportAssigned { .. } => "SupportAssigned",
            SupportUpgraded { .. } => "SupportUpgraded",
            SupportExtended { .. } => "SupportExtended",
            SupportEdited { .. } => "SupportEdited",
            SubscriptionCreated { .. } => "SubscriptionCreated",
            SubscriptionExtended { .. } => "SubscriptionExtended",
            SubscriptionUpgraded { .. } => "SubscriptionUpgraded",
            KeyActivated { .. } => "KeyActivated",
            KeyDeactivated { .. } => "KeyDeactivated",
        }
    }
}

impl DomainEvent for LedgerEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
