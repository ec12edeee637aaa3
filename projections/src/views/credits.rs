//! Credit entries and idempotency results, which any event may add.

use super::Tx;
use crate::log::StoredEvent;
use aggregates::LedgerEvent;
use sha2::{Digest, Sha256};

/// A credit entry is named after the event that wrote it: its stream and
/// place in that stream, hashed. The name stays the same through a replay,
/// and unlike the event's place in the whole log it tells nothing of how
/// much everyone else has done.
pub fn credit_entry_id(stream: &str, sequence: i64) -> String {
    let mut h = Sha256::new();
    h.update(b"credit-entry\0");
    h.update(stream.as_bytes());
    h.update([0u8]);
    h.update(sequence.to_be_bytes());
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("crd_{hex}")
}

/// Records the credits an event moves and the result of the idempotent
/// command that caused it, whatever its area.
pub(super) async fn apply(tx: &mut Tx<'_>, e: &StoredEvent) -> Result<(), sqlx::Error> {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();
    let at = e.at.as_str();
    let pos = e.position();

    if let Some(movement) = e.event.credit_movement() {
        let after: i64 = sqlx::query_scalar(
            "UPDATE accounts SET balance = balance + $1, entries = entries + 1 WHERE id = $2
              RETURNING balance",
        )
        .bind(movement.amount)
        .bind(owner)
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or(movement.amount);
        sqlx::query(
            "INSERT INTO credit_entries (id, account_id, position, at, amount, balance_after, reason, reference, actor_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(credit_entry_id(owner, e.sequence))
        .bind(owner)
        .bind(pos)
        .bind(at)
        .bind(movement.amount)
        .bind(after)
        .bind(movement.reason.as_str())
        .bind(movement.reference)
        .bind(e.actor.as_deref())
        .execute(&mut **tx)
        .await?;
    }

    if let Some(idem) = e.event.idempotency() {
        let entity = match &e.event {
            LicenseAssigned { license_id, .. } | LicenseUpgraded { license_id, .. } => {
                license_id.clone()
            }
            SupportAssigned { support_id, .. }
            | SupportUpgraded { support_id, .. }
            | SupportExtended { support_id, .. } => support_id.clone(),
            SubscriptionCreated {
                subscription_id, ..
            } => subscription_id.clone(),
            // A deleted trial refunds nothing: its result is "no entry".
            LicenseDeleted { refund: 0, .. } => String::new(),
            _ => credit_entry_id(owner, e.sequence),
        };
        sqlx::query(
            "INSERT INTO idempotency_results (account_id, sender, key, entity_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(owner)
        // '': the stream's owner.
        .bind(idem.sender.as_deref().unwrap_or(""))
        .bind(&idem.key)
        .bind(entity)
        .execute(&mut **tx)
        .await?;
    }

    Ok(())
}
