//! Credit entries and idempotency results, which any event may add.

use super::Tx;
use crate::log::StoredEvent;
use aggregates::LedgerEvent;

/// A credit entry is named by the position of the event that wrote it.
pub fn credit_entry_id(position: i64) -> String {
    format!("crd_{position}")
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
        .bind(credit_entry_id(pos))
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
            _ => credit_entry_id(pos),
        };
        sqlx::query(
            "INSERT INTO idempotency_results (account_id, key, entity_id) VALUES ($1, $2, $3)",
        )
        .bind(owner)
        .bind(&idem.key)
        .bind(entity)
        .execute(&mut **tx)
        .await?;
    }

    Ok(())
}
