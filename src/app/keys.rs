//! Activation keys: creating them (unique across every account) and listing.

use super::{App, Caller, role_of};
use crate::auth;
use crate::error::{AppError, AppResult};
use aggregates::LedgerCommand;
use aggregates::values::ActivationKeyCode;
use projections::queries::{
    self, KeyRow, LicenseRow, Page, PageRequest, SubscriptionRow, SupportRow,
};

impl App {
    pub async fn create_activation_key(
        &self,
        caller: &Caller,
        name: &str,
        key: Option<&str>,
    ) -> AppResult<KeyRow> {
        App::ensure_seller(caller)?;
        aggregates::values::parse_name(name, "key's name")?;
        let owner = self.visible_account(caller, &caller.id).await?;
        let given = key.map(str::trim).filter(|k| !k.is_empty());
        let key_id = auth::new_id("key");
        // Reserve the key first: uniqueness spans every account's stream.
        let code = match given {
            Some(text) => {
                let code = ActivationKeyCode::parse(text)?;
                if !self.reserve_key(&code, &key_id, &owner.id).await? {
                    return Err(AppError::Conflict(format!(
                        "the key {} is already in use",
                        code.as_str()
                    )));
                }
                code
            }
            None => loop {
                let code = auth::random_activation_key();
                if self.reserve_key(&code, &key_id, &owner.id).await? {
                    break code;
                }
            },
        };
        let command = LedgerCommand::CreateActivationKey {
            key_id: key_id.clone(),
            name: name.to_string(),
            key: code.as_str().to_string(),
        };
        if let Err(e) = self
            .run(role_of(&owner.role)?, &owner.id, command, &caller.actor())
            .await
        {
            sqlx::query("DELETE FROM key_reservations WHERE key_id = $1")
                .bind(&key_id)
                .execute(&self.db.pool)
                .await?;
            return Err(e);
        }
        self.key_done(&owner.id, &key_id).await
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
    ) -> AppResult<bool> {
        let done = sqlx::query(
            "INSERT INTO key_reservations (key, key_id, owner_id) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
        )
        .bind(code.as_str())
        .bind(key_id)
        .bind(owner)
        .execute(&self.db.pool)
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
