//! Credit entries and idempotency results, which any event may add.

use super::Tx;
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
        let detail = detail_of(tx, &e.event)
            .await?
            .and_then(|d| serde_json::to_string(&d).ok());
        sqlx::query(
            "INSERT INTO credit_entries (id, account_id, position, at, amount, balance_after, reason, reference, actor_id, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        .bind(detail)
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

/// What an event's credit entry was for. Runs before the event's own view is
/// changed, so a row it reads is as it was before the event: the words then
/// come from the event where it changes them (an upgrade's new users). The
/// views hold the same at a replay's every step, so a replay writes the same.
async fn detail_of(
    tx: &mut Tx<'_>,
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
            account: account_name(tx, other).await?,
            ..CreditDetail::default()
        },
        LicenseAssigned {
            key_id,
            product,
            edition,
            users,
            ..
        } => on_key(tx, key_id, product, edition, *users).await?,
        LicenseUpgraded {
            license_id,
            users,
            edition,
            ..
        } => match held(tx, "licenses", license_id).await? {
            Some((key_id, product, _, _)) => on_key(tx, &key_id, &product, edition, *users).await?,
            None => return Ok(None),
        },
        LicenseDeleted { license_id, .. } => match held(tx, "licenses", license_id).await? {
            Some((key_id, product, edition, users)) => {
                on_key(tx, &key_id, &product, &edition, users).await?
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
            ..on_key(tx, key_id, product, edition, *users).await?
        },
        SupportUpgraded {
            support_id,
            users,
            edition,
            ..
        } => match held(tx, "supports", support_id).await? {
            Some((key_id, product, _, _)) => on_key(tx, &key_id, &product, edition, *users).await?,
            None => return Ok(None),
        },
        SupportExtended {
            support_id, months, ..
        } => match held(tx, "supports", support_id).await? {
            Some((key_id, product, edition, users)) => CreditDetail {
                months: Some(i64::from(*months)),
                ..on_key(tx, &key_id, &product, &edition, users).await?
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
            ..key_detail(tx, key_id).await?
        },
        SubscriptionExtended {
            subscription_id,
            months,
            ..
        } => match subscribed(tx, subscription_id).await? {
            Some((key_id, software, channels)) => CreditDetail {
                product: Some(software),
                channels: Some(channels),
                months: Some(i64::from(*months)),
                ..key_detail(tx, &key_id).await?
            },
            None => return Ok(None),
        },
        SubscriptionUpgraded {
            subscription_id,
            channels,
            ..
        } => match subscribed(tx, subscription_id).await? {
            Some((key_id, software, _)) => CreditDetail {
                product: Some(software),
                channels: Some(*channels),
                ..key_detail(tx, &key_id).await?
            },
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(detail))
}

async fn account_name(tx: &mut Tx<'_>, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

async fn key_detail(tx: &mut Tx<'_>, key_id: &str) -> Result<CreditDetail, sqlx::Error> {
    let key: Option<(String, String)> =
        sqlx::query_as("SELECT key, name FROM activation_keys WHERE id = $1")
            .bind(key_id)
            .fetch_optional(&mut **tx)
            .await?;
    let (key, key_name) = key.unzip();
    Ok(CreditDetail {
        key,
        key_name,
        ..CreditDetail::default()
    })
}

async fn on_key(
    tx: &mut Tx<'_>,
    key_id: &str,
    product: &str,
    edition: &str,
    users: i64,
) -> Result<CreditDetail, sqlx::Error> {
    Ok(CreditDetail {
        product: Some(product.to_string()),
        edition: Some(edition.to_string()),
        users: Some(users),
        ..key_detail(tx, key_id).await?
    })
}

/// Key id, product, edition and users of a license or support row.
async fn held(
    tx: &mut Tx<'_>,
    table: &'static str,
    id: &str,
) -> Result<Option<(String, String, String, i64)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT key_id, product, edition, users FROM {table} WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Key id, software and channels of a subscription row.
async fn subscribed(
    tx: &mut Tx<'_>,
    id: &str,
) -> Result<Option<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT key_id, software, channels FROM subscriptions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}
