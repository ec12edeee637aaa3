//! The activation keys view, with the device each is activated on.

use super::batch::{Batch, KeyRow};
use super::{Applied, Tx};
use crate::log::StoredEvent;
use aggregates::LedgerEvent;

/// Applies this area's events; `views::apply` routes the others elsewhere.
pub(super) async fn apply(tx: &mut Tx, batch: &mut Batch, e: &StoredEvent) -> Applied {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();
    let at = e.at.as_str();
    match &e.event {
        ActivationKeyCreated { key_id, name, key } => {
            let scope = batch.scope_of(tx, owner).await?;
            batch.keys.insert(
                key_id,
                KeyRow {
                    id: key_id.clone(),
                    owner_id: owner.to_string(),
                    scope_id: scope,
                    name: name.clone(),
                    key: key.clone(),
                    device_fingerprint: None,
                    device_name: None,
                    activated_at: None,
                    created_at: at.to_string(),
                    position: e.position(),
                },
            );
        }
        KeyActivated {
            key_id,
            fingerprint,
            device_name,
        } => {
            if let Some(k) = batch.keys.get_mut(key_id) {
                k.device_fingerprint = Some(fingerprint.clone());
                k.device_name = device_name.clone();
                k.activated_at = Some(at.to_string());
                return Ok(());
            }
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
            if let Some(k) = batch.keys.get_mut(key_id) {
                k.device_fingerprint = None;
                k.device_name = None;
                k.activated_at = None;
                return Ok(());
            }
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
