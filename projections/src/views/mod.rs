//! How each event changes the read models. Called by the projector inside the
//! transaction that also moves its checkpoint, so every event is applied
//! exactly once; `replay` empties these tables and runs the same code.
//! `apply` routes each event to the module of the view it changes.

mod accounts;
mod batch;
mod binds;
mod credits;
mod keys;
mod licenses;
mod subscriptions;
mod support;
mod upgrade;

pub use batch::Batch;
pub(crate) use batch::{Row, insert_rows};
pub use credits::credit_entry_id;

use crate::log::StoredEvent;
use aggregates::LedgerEvent;

/// Tables `replay` empties before rebuilding. Service tables (credentials,
/// sessions, outbox, key reservations) are not projections and stay.
pub const VIEW_TABLES: &[&str] = &[
    "accounts",
    "credit_entries",
    "idempotency_results",
    "activation_keys",
    "licenses",
    "license_totals",
    "supports",
    "subscriptions",
];

type Tx = crate::db::WriteTx;

/// What applying an event to a view comes to: only the database can fail.
type Applied = Result<(), sqlx::Error>;

/// Applies one event to the views; what `batch` gathers is written by its
/// `finish`, in the same transaction.
pub async fn apply(tx: &mut Tx, batch: &mut Batch, e: &StoredEvent) -> Applied {
    use LedgerEvent::*;
    credits::apply(tx, batch, e).await?;
    match &e.event {
        AdminRegistered { .. }
        | AuditorRegistered { .. }
        | PartnerRegistered { .. }
        | ResellerRegistered { .. }
        | ResellerProfileEdited { .. } => accounts::apply(tx, batch, e).await,
        ActivationKeyCreated { .. } | KeyActivated { .. } | KeyDeactivated { .. } => {
            keys::apply(tx, batch, e).await
        }
        LicenseAssigned { .. }
        | LicenseUpgraded { .. }
        | LicenseEdited { .. }
        | LicenseDeleted { .. } => licenses::apply(tx, batch, e).await,
        SupportAssigned { .. }
        | SupportUpgraded { .. }
        | SupportExtended { .. }
        | SupportEdited { .. } => support::apply(tx, batch, e).await,
        SubscriptionCreated { .. } | SubscriptionExtended { .. } | SubscriptionUpgraded { .. } => {
            subscriptions::apply(tx, batch, e).await
        }
        // Nothing to change beyond the credits they move: a reseller's own
        // registration already names its partner.
        ResellerAdded { .. }
        | CreditsGranted { .. }
        | CreditsTransferredOut { .. }
        | CreditsTransferredIn { .. } => Ok(()),
    }
}
