//! The licensed product on a device: activating its key, refreshing and
//! deactivating it. No session; rate-limited per key and per client address.

use super::{App, role_of};
use crate::error::{AppError, AppResult};
use crate::ledgers::Actor;
use crate::signing::SignedFile;
use aggregates::LedgerCommand;
use aggregates::values::ActivationKeyCode;
use chrono::{Duration, Utc};
use projections::db::time_text;
use projections::queries::{self, KeyRow, LicenseRow, SubscriptionRow, SupportRow};
use serde_json::{Value, json};

/// A license file stays valid this long; products refresh before it ends.
/// The ledger holds a refund until the last file a device got has expired.
const FILE_DAYS: i64 = aggregates::ledger::LICENSE_FILE_DAYS;

impl App {
    async fn device_key(&self, client: &str, key: &str, fingerprint: &str) -> AppResult<KeyRow> {
        let fingerprint = fingerprint.trim();
        if fingerprint.is_empty() || fingerprint.chars().count() > 200 {
            return Err(AppError::bad(
                "deviceFingerprint must be 1 to 200 characters",
            ));
        }
        let code = ActivationKeyCode::parse(key)?;
        self.device_limits.check(
            &format!("key:{}", code.as_str()),
            &format!("client:{client}"),
        )?;
        // An unknown key costs the same look-up as a known one.
        queries::activation_key_by_code(&self.db, code.as_str())
            .await?
            .ok_or_else(|| AppError::NotFound("no activation key like this".into()))
    }

    pub async fn activate_key(
        &self,
        client: &str,
        key: &str,
        fingerprint: &str,
        device_name: Option<&str>,
    ) -> AppResult<SignedFile> {
        let row = self.device_key(client, key, fingerprint).await?;
        let device_name = device_name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if device_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 100)
        {
            return Err(AppError::bad("deviceName is at most 100 characters"));
        }
        let command = LedgerCommand::ActivateKey {
            key_id: row.id.clone(),
            fingerprint: fingerprint.trim().to_string(),
            device_name,
        };
        self.device_command(&row, command).await?;
        self.license_file(&row.id).await
    }

    pub async fn refresh_key(
        &self,
        client: &str,
        key: &str,
        fingerprint: &str,
    ) -> AppResult<SignedFile> {
        let row = self.device_key(client, key, fingerprint).await?;
        if row.device_fingerprint.as_deref() != Some(fingerprint.trim()) {
            return Err(AppError::Conflict(
                "this key is not activated on this device; activate it first".into(),
            ));
        }
        self.license_file(&row.id).await
    }

    pub async fn deactivate_key(
        &self,
        client: &str,
        key: &str,
        fingerprint: &str,
    ) -> AppResult<()> {
        let row = self.device_key(client, key, fingerprint).await?;
        let command = LedgerCommand::DeactivateKey {
            key_id: row.id.clone(),
            fingerprint: fingerprint.trim().to_string(),
            now: Utc::now(),
        };
        self.device_command(&row, command).await
    }

    async fn device_command(&self, row: &KeyRow, command: LedgerCommand) -> AppResult<()> {
        let owner = self.known_account(&row.owner_id).await?;
        self.run(
            role_of(&owner.role)?,
            &owner.id,
            command,
            &Actor::System("device"),
        )
        .await
    }

    /// The signed document of what is live on a key now.
    async fn license_file(&self, key_id: &str) -> AppResult<SignedFile> {
        let key = self.known_key(key_id).await?;
        let now = Utc::now();
        let now_text = time_text(now);
        let licenses: Vec<_> = queries::licenses_of_key(&self.db, key_id)
            .await?
            .iter()
            .filter(|l| {
                !l.deleted
                    && l.trial_ends_at
                        .as_deref()
                        .is_none_or(|t| t > now_text.as_str())
            })
            .map(license_entry)
            .collect();
        let supports = queries::supports_of_key(&self.db, key_id).await?;
        let subscriptions = queries::subscriptions_of_key(&self.db, key_id).await?;
        let payload = json!({
            "key": key.key,
            "device": { "fingerprint": key.device_fingerprint, "name": key.device_name },
            "licenses": licenses,
            "supports": supports.iter().map(support_entry).collect::<Vec<_>>(),
            "subscriptions": subscriptions.iter().map(subscription_entry).collect::<Vec<_>>(),
            "issuedAt": time_text(now),
            "expiresAt": time_text(now + Duration::days(FILE_DAYS)),
        });
        Ok(self.signer.sign(payload.to_string()))
    }
}

fn license_entry(l: &LicenseRow) -> Value {
    json!({
        "id": l.id, "product": l.product, "edition": l.edition, "users": l.users,
        "kind": l.kind, "trialEndsAt": l.trial_ends_at,
    })
}

fn support_entry(s: &SupportRow) -> Value {
    json!({
        "id": s.id, "product": s.product, "edition": s.edition, "users": s.users,
        "startsOn": s.starts_on, "endOfSupport": s.end_of_support,
    })
}

fn subscription_entry(s: &SubscriptionRow) -> Value {
    json!({
        "id": s.id, "software": s.software, "channels": s.channels,
        "startsOn": s.starts_on, "endsOn": s.ends_on,
    })
}
