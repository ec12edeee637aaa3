//! Credit entries and idempotency results, which any event may add.

use super::batch::{Batch, CreditEntryRow, IdempotencyRow};
use super::{Applied, Tx};
use crate::log::StoredEvent;
use crate::queries::CreditDetail;
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
    format!("crd_{}", crate::hex(&digest[..16]))
}

/// Records the credits an event moves and the result of the idempotent
/// command that caused it, whatever its area.
pub(super) async fn apply(tx: &mut Tx, batch: &mut Batch, e: &StoredEvent) -> Applied {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();

    if let Some(movement) = e.event.credit_movement() {
        let after = batch.move_balance(tx, owner, movement.amount).await?;
        let detail = detail_of(tx, batch, &e.event)
            .await?
            .and_then(|d| serde_json::to_string(&d).ok());
        batch.credit_entries.push(CreditEntryRow {
            id: credit_entry_id(owner, e.sequence),
            account_id: owner.to_string(),
            position: e.position(),
            at: e.at.clone(),
            amount: movement.amount,
            balance_after: after,
            reason: movement.reason.as_str().to_string(),
            reference: Some(movement.reference.to_string()),
            actor_id: e.actor.clone(),
            detail,
        });
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
            }
            | SubscriptionExtended {
                subscription_id, ..
            }
            | SubscriptionUpgraded {
                subscription_id, ..
            } => subscription_id.clone(),
            // A deleted trial refunds nothing: its result is "no entry".
            LicenseDeleted { refund: 0, .. } => String::new(),
            _ => credit_entry_id(owner, e.sequence),
        };
        batch.idempotency.push(IdempotencyRow {
            account_id: owner.to_string(),
            // '': the stream's owner.
            sender: idem.sender.clone().unwrap_or_default(),
            key: idem.key.clone(),
            entity_id: entity,
        });
    }

    Ok(())
}

/// What an event's credit entry was for. Runs before the event's own view is
/// changed, so a row it reads is as it was before the event: the words then
/// come from the event where it changes them (an upgrade's new users). The
/// views hold the same at a replay's every step, so a replay writes the same.
async fn detail_of(
    tx: &mut Tx,
    batch: &mut Batch,
    event: &LedgerEvent,
) -> Result<Option<CreditDetail>, sqlx::Error> {
    use LedgerEvent::*;
    let detail = match event {
        CreditsTransferredOut {
            reseller_id: other, ..
        }
        | CreditsTransferredIn {
            partner_id: other, ..
        } => CreditDetail {
            account: account_name(tx, batch, other).await?,
            ..CreditDetail::default()
        },
        LicenseAssigned {
            key_id,
            product,
            edition,
            users,
            ..
        } => on_key(tx, batch, key_id, product, edition, *users).await?,
        // An upgrade names the new edition and users; the key and the
        // product are the row's.
        LicenseUpgraded {
            license_id: id,
            users,
            edition,
            ..
        }
        | SupportUpgraded {
            support_id: id,
            users,
            edition,
            ..
        } => {
            let table = match event {
                LicenseUpgraded { .. } => "licenses",
                _ => "supports",
            };
            match held(tx, batch, table, id).await? {
                Some((key_id, product, _, _)) => {
                    on_key(tx, batch, &key_id, &product, edition, *users).await?
                }
                None => return Ok(None),
            }
        }
        LicenseDeleted { license_id, .. } => match held(tx, batch, "licenses", license_id).await? {
            Some((key_id, product, edition, users)) => {
                on_key(tx, batch, &key_id, &product, &edition, users).await?
            }
            None => return Ok(None),
        },
        SupportAssigned {
            key_id,
            product,
            edition,
            users,
            months,
            ..
        } => CreditDetail {
            months: Some(i64::from(*months)),
            ..on_key(tx, batch, key_id, product, edition, *users).await?
        },
        SupportExtended {
            support_id, months, ..
        } => match held(tx, batch, "supports", support_id).await? {
            Some((key_id, product, edition, users)) => CreditDetail {
                months: Some(i64::from(*months)),
                ..on_key(tx, batch, &key_id, &product, &edition, users).await?
            },
            None => return Ok(None),
        },
        SubscriptionCreated {
            key_id,
            software,
            channels,
            months,
            ..
        } => CreditDetail {
            product: Some(software.clone()),
            channels: Some(*channels),
            months: Some(i64::from(*months)),
            ..key_detail(tx, batch, key_id).await?
        },
        SubscriptionExtended {
            subscription_id,
            months,
            ..
        } => match subscribed(tx, batch, subscription_id).await? {
            Some((key_id, software, channels)) => CreditDetail {
                product: Some(software),
                channels: Some(channels),
                months: Some(i64::from(*months)),
                ..key_detail(tx, batch, &key_id).await?
            },
            None => return Ok(None),
        },
        SubscriptionUpgraded {
            subscription_id,
            channels,
            ..
        } => match subscribed(tx, batch, subscription_id).await? {
            Some((key_id, software, _)) => CreditDetail {
                product: Some(software),
                channels: Some(*channels),
                ..key_detail(tx, batch, &key_id).await?
            },
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(detail))
}

async fn account_name(tx: &mut Tx, batch: &Batch, id: &str) -> Result<Option<String>, sqlx::Error> {
    if let Some(account) = batch.accounts.get(id) {
        return Ok(Some(account.name.clone()));
    }
    sqlx::query_scalar("SELECT name FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

async fn key_detail(
    tx: &mut Tx,
    batch: &mut Batch,
    key_id: &str,
) -> Result<CreditDetail, sqlx::Error> {
    let (key, key_name) = batch.key_text(tx, key_id).await?.unzip();
    Ok(CreditDetail {
        key,
        key_name,
        ..CreditDetail::default()
    })
}

async fn on_key(
    tx: &mut Tx,
    batch: &mut Batch,
    key_id: &str,
    product: &str,
    edition: &str,
    users: i64,
) -> Result<CreditDetail, sqlx::Error> {
    Ok(CreditDetail {
        product: Some(product.to_string()),
        edition: Some(edition.to_string()),
        users: Some(users),
        ..key_detail(tx, batch, key_id).await?
    })
}

/// Key id, product, edition and users of a license or support row.
async fn held(
    tx: &mut Tx,
    batch: &Batch,
    table: &'static str,
    id: &str,
) -> Result<Option<(String, String, String, i64)>, sqlx::Error> {
    let pending = match table {
        "licenses" => batch.licenses.get(id).map(|l| {
            (
                l.key_id.clone(),
                l.product.clone(),
                l.edition.clone(),
                l.users,
            )
        }),
        _ => batch.supports.get(id).map(|s| {
            (
                s.key_id.clone(),
                s.product.clone(),
                s.edition.clone(),
                s.users,
            )
        }),
    };
    if pending.is_some() {
        return Ok(pending);
    }
    sqlx::query_as(&format!(
        "SELECT key_id, product, edition, users FROM {table} WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Key id, software and channels of a subscription row.
async fn subscribed(
    tx: &mut Tx,
    batch: &Batch,
    id: &str,
) -> Result<Option<(String, String, i64)>, sqlx::Error> {
    if let Some(s) = batch.subscriptions.get(id) {
        return Ok(Some((s.key_id.clone(), s.software.clone(), s.channels)));
    }
    sqlx::query_as("SELECT key_id, software, channels FROM subscriptions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}
