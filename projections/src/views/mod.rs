//! How each event changes the read models. Called by the projector inside the
//! transaction that also moves its checkpoint, so every event is applied
//! exactly once; `replay` empties these tables and runs the same code.
//! `apply` routes each event to the module of the view it changes.

mod accounts;
mod credits;
mod keys;
mod licenses;
mod subscriptions;
mod support;

pub use credits::credit_entry_id;

use crate::log::StoredEvent;
use aggregates::LedgerEvent;
use sqlx::{Any, Transaction};
use std::collections::{BTreeMap, HashMap};

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

type Tx<'a> = Transaction<'static, Any>;

/// What one projector batch carries from event to event. A license event
/// moves three license_totals rows and needs its owner's partner; written or
/// looked up per event, those were most of a replay's round trips.
#[derive(Default)]
pub struct Batch {
    /// (subject, product, kind, deleted) -> change, written by `finish`.
    license_totals: BTreeMap<(String, String, String, bool), i64>,
    /// owner -> the partner its rows belong under; an account's partner
    /// never changes.
    scopes: HashMap<String, String>,
}

impl Batch {
    /// The partner a row of `owner` belongs under: the reseller's partner,
    /// or the owner itself.
    async fn scope_of(&mut self, tx: &mut Tx<'_>, owner: &str) -> Result<String, sqlx::Error> {
        if let Some(scope) = self.scopes.get(owner) {
            return Ok(scope.clone());
        }
        let parent: Option<String> =
            sqlx::query_scalar("SELECT parent_id FROM accounts WHERE id = $1")
                .bind(owner)
                .fetch_optional(&mut **tx)
                .await?
                .flatten();
        let scope = parent.unwrap_or_else(|| owner.to_string());
        self.scopes.insert(owner.to_string(), scope.clone());
        Ok(scope)
    }

    /// Writes what the batch's events added up to; call before committing.
    pub async fn finish(self, tx: &mut Tx<'_>) -> Result<(), sqlx::Error> {
        for ((subject, product, kind, deleted), by) in self.license_totals {
            if by == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO license_totals (subject, product, kind, deleted, n) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (subject, product, kind, deleted) DO UPDATE SET n = license_totals.n + excluded.n",
            )
            .bind(subject)
            .bind(product)
            .bind(kind)
            .bind(i64::from(deleted))
            .bind(by)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// Applies one event to the views; what `batch` gathers is written by its
/// `finish`, in the same transaction.
pub async fn apply(tx: &mut Tx<'_>, batch: &mut Batch, e: &StoredEvent) -> Result<(), sqlx::Error> {
    use LedgerEvent::*;
    credits::apply(tx, e).await?;
    match &e.event {
        AdminRegistered { .. }
        | AuditorRegistered { .. }
        | PartnerRegistered { .. }
        | ResellerRegistered { .. }
        | ResellerProfileEdited { .. } => accounts::apply(tx, e).await,
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
