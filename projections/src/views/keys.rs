//! The activation keys view, with the device each is activated on.

use super::{Batch, Tx};
use crate::log::StoredEvent;
use aggregates::LedgerEvent;

/// Applies this area's events; `views::apply` routes the others elsewhere.
pub(super) async fn apply(
    tx: &mut Tx<'_>,
    batch: &mut Batch,
    e: &StoredEvent,
) -> Result<(), sqlx::Error> {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();
    let at = e.at.as_str();
    let pos = e.position();
    match &e.event {
        ActivationKeyCreated { key_id, name, key } => {
            let scope = batch.scope_of(tx, owner).await?;
            sqlx::query(
                "INSERT INTO activation_keys (id, owner_id, scope_id, name, key, created_at, position)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(key_id)
            .bind(owner)
            .bind(scope)
            .bind(name)
            .bind(key)
            .bind(at)
            .bind(pos)
            .execute(&mut **tx)
            .await?;
        }
        KeyActivated {
            key_id,
            fingerprint,
            device_name,
        } => {
            sqlx::query(
                "UPDATE activation_keys SET device_fingerprint = $1, device_name = $2, activated_at = $3
                  WHERE id = $4",
            )
            .bind(fingerprint)
            .bind(device_name.as_deref())
            .bind(at)
            .bind(key_id)
            .execute(&mut **tx)
            .await?;
        }
        KeyDeactivated { key_id, .. } => {
            sqlx::query(
                "UPDATE activation_keys SET device_fingerprint = NULL, device_name = NULL,
                        activated_at = NULL WHERE id = $1",
            )
            .bind(key_id)
            .execute(&mut **tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}
