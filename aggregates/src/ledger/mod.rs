//! The state every account's stream folds into, and the rules that decide which
//! events a command produces. Partner, Reseller and Admin differ only in which
//! commands they accept (see `Role`), so the rules live here once.
//!
//! `decide` checks what every command shares (the account exists, a retried
//! request, a reused id) and hands the command to the rules of its area, one
//! file each, named like the test files in `aggregates/tests/`. `apply` folds
//! the events back into the state.

mod accounts;
mod apply;
mod credits;
mod guards;
mod keys;
mod licenses;
mod pricing;
mod resellers;
mod shared_text;
mod state;
mod subscriptions;
mod support;

pub use keys::LICENSE_FILE_DAYS;
pub use pricing::period_end;
pub use shared_text::{SharedText, decoding};
pub use state::{LicenseState, SubscriptionState, SupportState};

use crate::catalog::Catalog;
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::{Idempotency, LedgerEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
// Persistent maps: cloning a state (the event store keeps the last one of
// each stream and hands the command a copy) shares their structure instead
// of copying 100,000 licenses.
use imbl::{HashMap, HashSet};

/// The events a command produces, or why it is refused.
type Decision = Result<Vec<LedgerEvent>, DomainError>;

/// Which kind of account a stream belongs to. Its text ("ADMIN", …) is in
/// `names`; its serde names are not that text, and no event carries a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Admin,
    Partner,
    Reseller,
    /// Vendor staff who read everything and change nothing. Its stream is of
    /// the Admin aggregate type (see `accounts`): it holds only its registration.
    Auditor,
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
    /// Activation key id → how many times it has been activated.
    #[serde(default)]
    pub key_activations: HashMap<String, u64>,
    /// Activation key id → when the last license file issued to its last
    /// device stops being valid (recorded when the key leaves the device).
    #[serde(default)]
    pub key_files_valid_until: HashMap<String, DateTime<Utc>>,
    /// Activation key id → product → the trial license last put on it and
    /// its end: a key gets one running trial per product.
    #[serde(default)]
    pub trials: HashMap<String, HashMap<String, (String, DateTime<Utc>)>>,
    pub licenses: HashMap<String, LicenseState>,
    pub supports: HashMap<String, SupportState>,
    pub subscriptions: HashSet<String>,
    /// Subscription id → its terms. Snapshots older than this field are
    /// dropped by a migration, so every stream that has subscriptions
    /// refolds them from its events.
    #[serde(default)]
    pub subscription_terms: HashMap<String, SubscriptionState>,
    /// The owner's idempotency keys → fingerprint of the request that first
    /// used each.
    pub idempotency: HashMap<String, String>,
    /// Another sender's account id → its keys → fingerprint, kept apart
    /// from the owner's.
    #[serde(default)]
    pub idempotency_by_sender: HashMap<String, HashMap<String, String>>,
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
            RegisterAdmin { .. }
                | RegisterAuditor { .. }
                | RegisterPartner { .. }
                | RegisterReseller { .. }
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
            .and_then(|idem| self.first_use(idem).map(|first| (idem, first)))
        {
            return idem.same_request(Some(first.as_str())).map(|()| vec![]);
        }
        // New things get new ids: reusing one would overwrite what it names.
        self.ensure_new_id(command)?;
        // Each area's function is given only the commands listed here for it.
        match command {
            RegisterAdmin { .. }
            | RegisterAuditor { .. }
            | RegisterPartner { .. }
            | RegisterReseller { .. } => self.decide_registration(role, command, catalog),
            AddReseller { .. } | EditReseller { .. } => {
                self.decide_reseller(role, command, catalog)
            }
            GrantCredits { .. } | TransferOut { .. } | ReceiveTransfer { .. } => {
                self.decide_credits(role, command)
            }
            // Only sellers hold keys and sell: that is checked before anything else.
            CreateActivationKey { .. } | ActivateKey { .. } | DeactivateKey { .. } => {
                self.ensure_seller(role)?;
                self.decide_key(command)
            }
            AssignLicense { .. }
            | UpgradeLicense { .. }
            | EditLicense { .. }
            | DeleteLicense { .. } => {
                self.ensure_seller(role)?;
                self.decide_license(command, catalog)
            }
            AssignSupport { .. }
            | UpgradeSupport { .. }
            | ExtendSupport { .. }
            | EditSupport { .. } => {
                self.ensure_seller(role)?;
                self.decide_support(command, catalog)
            }
            CreateSubscription { .. } | ExtendSubscription { .. } | UpgradeSubscription { .. } => {
                self.ensure_seller(role)?;
                self.decide_subscription(command, catalog)
            }
        }
    }

    /// The fingerprint of the request that first used this sender's key.
    fn first_use(&self, idem: &Idempotency) -> Option<&String> {
        match &idem.sender {
            None => self.idempotency.get(&idem.key),
            Some(sender) => self
                .idempotency_by_sender
                .get(sender)
                .and_then(|keys| keys.get(&idem.key)),
        }
    }
}
