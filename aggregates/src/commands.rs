//! What callers ask of an account. Identifiers of new things are chosen by the
//! caller (so it can find them afterwards); time comes in with the command so
//! the domain stays pure.

use crate::events::{Idempotency, LicenseKind};
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum LedgerCommand {
    RegisterAdmin {
        login: String,
        email: String,
        name: String,
    },
    /// On an Admin stream: an auditor is vendor staff.
    RegisterAuditor {
        login: String,
        email: String,
        name: String,
    },
    RegisterPartner {
        login: String,
        email: String,
        name: String,
    },
    RegisterReseller {
        partner_id: String,
        login: String,
        email: String,
        name: String,
        products: Vec<String>,
    },
    AddReseller {
        reseller_id: String,
    },
    EditReseller {
        email: Option<String>,
        name: Option<String>,
        products: Option<Vec<String>>,
    },
    GrantCredits {
        amount: i64,
        reference: String,
        idempotency: Option<Idempotency>,
    },
    TransferOut {
        transfer_id: String,
        reseller_id: String,
        amount: i64,
        idempotency: Option<Idempotency>,
    },
    ReceiveTransfer {
        transfer_id: String,
        partner_id: String,
        amount: i64,
    },
    CreateActivationKey {
        key_id: String,
        name: String,
        key: String,
    },
    AssignLicense {
        license_id: String,
        key_id: String,
        product: String,
        edition: String,
        users: i64,
        kind: LicenseKind,
        trial_days: Option<i64>,
        email: Option<String>,
        comment: Option<String>,
        now: DateTime<Utc>,
        idempotency: Option<Idempotency>,
    },
    UpgradeLicense {
        license_id: String,
        users: Option<i64>,
        edition: Option<String>,
        idempotency: Option<Idempotency>,
    },
    EditLicense {
        license_id: String,
        email: Option<String>,
        comment: Option<String>,
    },
    DeleteLicense {
        license_id: String,
        now: DateTime<Utc>,
        idempotency: Option<Idempotency>,
    },
    AssignSupport {
        support_id: String,
        key_id: String,
        product: String,
        edition: String,
        users: i64,
        months: i64,
        starts_on: Option<NaiveDate>,
        today: NaiveDate,
        idempotency: Option<Idempotency>,
    },
    UpgradeSupport {
        support_id: String,
        users: Option<i64>,
        edition: Option<String>,
        today: NaiveDate,
        idempotency: Option<Idempotency>,
    },
    ExtendSupport {
        support_id: String,
        months: i64,
        today: NaiveDate,
        idempotency: Option<Idempotency>,
    },
    /// The customer's email and comment on a support, as on a license.
    EditSupport {
        support_id: String,
        email: Option<String>,
        comment: Option<String>,
    },
    CreateSubscription {
        subscription_id: String,
        key_id: String,
        software: String,
        channels: i64,
        months: i64,
        email: Option<String>,
        comment: Option<String>,
        today: NaiveDate,
        idempotency: Option<Idempotency>,
    },
    /// More months, following on from the end (or from today if it ended).
    ExtendSubscription {
        subscription_id: String,
        months: i64,
        today: NaiveDate,
        idempotency: Option<Idempotency>,
    },
    /// More channels, charged for the days left.
    UpgradeSubscription {
        subscription_id: String,
        channels: i64,
        today: NaiveDate,
        idempotency: Option<Idempotency>,
    },
    ActivateKey {
        key_id: String,
        fingerprint: String,
        device_name: Option<String>,
    },
    DeactivateKey {
        key_id: String,
        fingerprint: String,
        now: DateTime<Utc>,
    },
}

/// Matches the commands that carry an idempotency key, binding it to `$key`:
/// the one list of them, read and written alike.
macro_rules! with_idempotency {
    ($command:expr, $key:ident => $found:expr) => {{
        use LedgerCommand::*;
        match $command {
            GrantCredits {
                idempotency: $key, ..
            }
            | TransferOut {
                idempotency: $key, ..
            }
            | AssignLicense {
                idempotency: $key, ..
            }
            | UpgradeLicense {
                idempotency: $key, ..
            }
            | DeleteLicense {
                idempotency: $key, ..
            }
            | AssignSupport {
                idempotency: $key, ..
            }
            | UpgradeSupport {
                idempotency: $key, ..
            }
            | ExtendSupport {
                idempotency: $key, ..
            }
            | CreateSubscription {
                idempotency: $key, ..
            }
            | ExtendSubscription {
                idempotency: $key, ..
            }
            | UpgradeSubscription {
                idempotency: $key, ..
            } => Some($found),
            _ => None,
        }
    }};
}

impl LedgerCommand {
    pub fn idempotency(&self) -> Option<&Idempotency> {
        with_idempotency!(self, key => key.as_ref()).flatten()
    }

    /// The key's place in a command that takes one, None for the others.
    pub fn idempotency_mut(&mut self) -> Option<&mut Option<Idempotency>> {
        with_idempotency!(self, key => key)
    }
}
