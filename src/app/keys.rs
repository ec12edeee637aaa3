//! Activation keys: creating them (unique across every account) and listing.

use super::{App, Caller, idempotency, role_of};
use crate::auth;
use crate::error::{AppError, AppResult};
use aggregates::LedgerCommand;
use aggregates::values::ActivationKeyCode;
use chrono::{Duration, Utc};
use projections::db::WriteOn;
use projections::db::{parse_time, time_text};
use projections::queries::{
    self, AccountRow, KeyRow, LicenseRow, Page, PageRequest, SubscriptionRow, SupportRow,
};
use sqlx::Row;

/// A reservation older than this whose key is not in the log was left by a
/// creation that died between its two writes: another account may take it.
const ORPHANED_AFTER_MINUTES: i64 = 10;

impl App {
    pub async fn create_activation_key(
        &self,
        caller: &Caller,
        name: &str,
        key: Option<&str>,
    ) -> AppResult<KeyRow> {
        self.create_activation_key_once(caller, name, key, None)
            .await
    }

    /// `create_activation_key` with a client's idempotency key, kept with
    /// the key's reservation: the same key again answers the first key
    /// (completing it if a crash stopped it between its two writes).
    pub async fn create_activation_key_once(
        &self,
        caller: &Caller,
        name: &str,
        key: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> AppResult<KeyRow> {
        App::ensure_seller(caller)?;
        aggregates::values::parse_name(name, "key's name")?;
        let owner = self.visible_account(caller, &caller.id).await?;
        let given = key.map(str::trim).filter(|k| !k.is_empty());
        let idem = idempotency(
            idempotency_key,
            &["createActivationKey", name, given.unwrap_or_default()],
        )?;
        if let Some(i) = &idem
            && let Some(first) = self.keyed_key(caller, &owner, name, i).await?
        {
            return Ok(first);
        }
        let key_id = auth::new_id("key");
        let reserve = |code: ActivationKeyCode| {
            let key_id = key_id.clone();
            let owner = owner.id.clone();
            let idem = idem.clone();
            async move {
                let done = self
                    .reserve_key(&code, &key_id, &owner, idem.as_ref())
                    .await;
                match done {
                    Ok(true) => Ok(Some(code)),
                    Ok(false) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        };
        // Reserve the key first: uniqueness spans every account's stream.
        let reserved = match given {
            Some(text) => {
                let code = ActivationKeyCode::parse(text)?;
                match reserve(code.clone()).await {
                    Ok(Some(code)) => Ok(Ok((key_id, code))),
                    Ok(None) => self
                        .claim_orphan(&code, &key_id, &owner.id, idem.as_ref())
                        .await
                        .map(|claimed| claimed.map(|id| (id, code.clone())).ok_or(code)),
                    Err(e) => Err(e),
                }
            }
            None => loop {
                match reserve(auth::random_activation_key()).await {
                    Ok(None) => continue,
                    Ok(Some(code)) => break Ok(Ok((key_id, code))),
                    Err(e) => break Err(e),
                }
            },
        };
        let (key_id, code) = match reserved {
            Ok(Ok(reserved)) => reserved,
            Ok(Err(code)) => {
                return Err(AppError::Conflict(format!(
                    "the key {} is already in use",
                    code.as_str()
                )));
            }
            Err(e) => {
                // A concurrent retry with the same idempotency key got there first.
                if let Some(i) = &idem
                    && let Some(first) = self.keyed_key(caller, &owner, name, i).await?
                {
                    return Ok(first);
                }
                return Err(e);
            }
        };
        self.faults
            .check(super::faults::FaultPoint::AfterKeyReserved)?;
        self.write_key(caller, &owner, &key_id, name, code).await
    }

    /// A key text already reserved: the key id to create it under when the
    /// reservation holds no key, which a crash between the reservation and
    /// the event leaves behind. The owner's own retry completes it at once
    /// (under the reserved id, so a slow first attempt and its retry make
    /// one key); another account takes it over once it is
    /// [`ORPHANED_AFTER_MINUTES`] old, as a live creation takes
    /// milliseconds. None when the key exists, or may still.
    async fn claim_orphan(
        &self,
        code: &ActivationKeyCode,
        key_id: &str,
        owner: &str,
        idem: Option<&aggregates::Idempotency>,
    ) -> AppResult<Option<String>> {
        let row = sqlx::query(
            "SELECT key_id, owner_id, reserved_at FROM key_reservations WHERE key = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else {
            // Released since: free again.
            let free = self.reserve_key(code, key_id, owner, idem).await?;
            return Ok(free.then(|| key_id.to_string()));
        };
        let held_id: String = row.try_get("key_id")?;
        let holder: String = row.try_get("owner_id")?;
        if self.key_in_log(&holder, &held_id).await?.is_some() {
            return Ok(None);
        }
        if holder == owner {
            return Ok(Some(held_id));
        }
        let reserved_at = row
            .try_get::<Option<String>, _>("reserved_at")?
            .and_then(|t| parse_time(&t));
        let orphaned = reserved_at
            .is_none_or(|at| Utc::now() - at > Duration::minutes(ORPHANED_AFTER_MINUTES));
        if !orphaned {
            return Ok(None);
        }
        let taken = sqlx::query(
            "UPDATE key_reservations
                SET key_id = $1, owner_id = $2, reserved_at = $3,
                    idempotency_key = $4, idempotency_fingerprint = $5
              WHERE key = $6 AND key_id = $7",
        )
        .bind(key_id)
        .bind(owner)
        .bind(time_text(Utc::now()))
        .bind(idem.map(|i| i.key.as_str()))
        .bind(idem.map(|i| i.fingerprint.as_str()))
        .bind(code.as_str())
        .bind(&held_id)
        .write_on(&self.db)
        .await?;
        if taken.rows_affected() == 1 {
            tracing::info!(key_id = %held_id, "took over an activation key reserved by a creation that never finished");
            return Ok(Some(key_id.to_string()));
        }
        Ok(None)
    }

    /// The key made with this idempotency key, finished if its event is
    /// missing.
    async fn keyed_key(
        &self,
        caller: &Caller,
        owner: &AccountRow,
        name: &str,
        idem: &aggregates::Idempotency,
    ) -> AppResult<Option<KeyRow>> {
        const FIRST: &str = "SELECT key, key_id, idempotency_fingerprint FROM key_reservations
              WHERE owner_id = $1 AND idempotency_key = $2";
        let Some(row) = self.first_attempt(FIRST, &owner.id, idem).await? else {
            return Ok(None);
        };
        let key_id: String = row.try_get("key_id")?;
        if let Some(k) = self.key_in_log(&owner.id, &key_id).await? {
            return Ok(Some(k));
        }
        let code = ActivationKeyCode::parse(&row.try_get::<String, _>("key")?)?;
        Ok(Some(
            self.write_key(caller, owner, &key_id, name, code).await?,
        ))
    }

    /// The second write of a key: its event, after its reservation.
    async fn write_key(
        &self,
        caller: &Caller,
        owner: &AccountRow,
        key_id: &str,
        name: &str,
        code: ActivationKeyCode,
    ) -> AppResult<KeyRow> {
        let command = LedgerCommand::CreateActivationKey {
            key_id: key_id.to_string(),
            name: name.to_string(),
            key: code.as_str().to_string(),
        };
        if let Err(e) = self
            .run(role_of(&owner.role)?, &owner.id, command, &caller.actor())
            .await
        {
            // Refused because a concurrent attempt under the same id made it:
            // that is the key asked for, and its reservation stays.
            if self.key_in_log(&owner.id, key_id).await?.is_some() {
                return self.key_done(&owner.id, key_id).await;
            }
            sqlx::query("DELETE FROM key_reservations WHERE key_id = $1")
                .bind(key_id)
                .write_on(&self.db)
                .await?;
            return Err(e);
        }
        self.key_done(&owner.id, key_id).await
    }

    /// A key just created: from the views when they show it, else as its
    /// committed event made it.
    async fn key_done(&self, owner: &str, key_id: &str) -> AppResult<KeyRow> {
        if !super::freshness::behind()
            && let Some(k) = queries::activation_key(&self.db, &queries::Scope::All, key_id).await?
        {
            return Ok(k);
        }
        super::freshness::report_behind();
        self.key_in_log(owner, key_id).await?.ok_or_else(|| {
            AppError::internal("a key is missing from the log after it was created", key_id)
        })
    }

    /// True when the key was free and is now held for `key_id`.
    async fn reserve_key(
        &self,
        code: &ActivationKeyCode,
        key_id: &str,
        owner: &str,
        idem: Option<&aggregates::Idempotency>,
    ) -> AppResult<bool> {
        let done = sqlx::query(
            "INSERT INTO key_reservations (key, key_id, owner_id, idempotency_key, idempotency_fingerprint, reserved_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
        )
        .bind(code.as_str())
        .bind(key_id)
        .bind(owner)
        .bind(idem.map(|i| i.key.as_str()))
        .bind(idem.map(|i| i.fingerprint.as_str()))
        .bind(time_text(Utc::now()))
        .write_on(&self.db)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn activation_keys(
        &self,
        caller: &Caller,
        owner_id: Option<&str>,
        search: Option<&str>,
        page: &PageRequest,
    ) -> AppResult<Page<KeyRow>> {
        self.check_owner_filter(caller, owner_id).await?;
        Ok(queries::activation_keys(&self.db, &caller.scope(), owner_id, search, page).await?)
    }

    pub async fn activation_key(&self, caller: &Caller, id: &str) -> AppResult<KeyRow> {
        queries::activation_key(&self.db, &caller.scope(), id)
            .await?
            .ok_or_else(|| AppError::not_found("activation key"))
    }
}

/// What is on a key the caller has already been shown: it is the key owner's,
/// so within the same scope as the key.
impl App {
    pub async fn key_licenses(&self, key_id: &str) -> AppResult<Vec<LicenseRow>> {
        Ok(queries::licenses_of_key(&self.db, key_id).await?)
    }

    pub async fn key_supports(&self, key_id: &str) -> AppResult<Vec<SupportRow>> {
        Ok(queries::supports_of_key(&self.db, key_id).await?)
    }

    pub async fn key_subscriptions(&self, key_id: &str) -> AppResult<Vec<SubscriptionRow>> {
        Ok(queries::subscriptions_of_key(&self.db, key_id).await?)
    }
}
