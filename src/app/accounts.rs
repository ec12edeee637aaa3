//! Accounts and sessions: sign-in, sign-out, passwords, creating partners and
//! administrators. Credentials live in the `credentials` table, never in events.

use super::faults::FaultPoint;
use super::lockout::account_subject;
use super::{App, Caller, Page, PageRequest, idempotency, role_of};
use crate::auth::{self, SESSION_HOURS};
use crate::error::{AppError, AppResult};
use crate::ledgers::Actor;
use aggregates::{LedgerCommand, Role, values};
use chrono::{Duration, Utc};
use projections::db::WriteOn;
use projections::db::time_text;
use projections::queries::{self, AccountRow};
use serde::{Deserialize, Serialize};
use sqlx::Row;

pub struct NewAccount {
    pub login: String,
    pub email: String,
    pub name: String,
    pub password: Option<String>,
    /// Reseller: its partner and products.
    pub parent: Option<String>,
    pub products: Vec<String>,
}

impl NewAccount {
    /// An account under no partner: an administrator, auditor or partner.
    pub fn top_level(login: String, email: String, name: String, password: Option<String>) -> Self {
        NewAccount {
            login,
            email,
            name,
            password,
            parent: None,
            products: vec![],
        }
    }
}

impl App {
    /// Signs in by login or email from the client address `client`. Unknown
    /// login and wrong password give the same answer after the same work;
    /// failures are counted per account and per client (`lockout`).
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        client: &str,
    ) -> AppResult<(String, AccountRow, chrono::DateTime<Utc>)> {
        let key = login.trim().to_lowercase();
        let now = Utc::now();
        let row = sqlx::query(
            "SELECT account_id, password_hash FROM credentials WHERE login_lower = $1 OR email_lower = $1",
        )
        .bind(&key)
        .fetch_optional(&self.db.pool)
        .await?;
        let (account_id, hash) = match &row {
            Some(r) => (
                Some(r.try_get::<String, _>("account_id")?),
                Some(r.try_get::<String, _>("password_hash")?),
            ),
            None => (None, None),
        };
        let attempt = self
            .begin_attempt(&account_subject(account_id.as_deref(), &key), client)
            .await?;
        let valid = auth::verify_password(hash, password.to_string()).await;
        let account = match (valid, account_id) {
            (true, Some(id)) => self.signed_in_account(&id).await?,
            _ => None,
        };
        let Some(account) = account else {
            self.attempt_failed(attempt).await?;
            return Err(AppError::Unauthenticated("wrong login or password".into()));
        };
        self.attempt_succeeded(attempt).await?;
        let (token, hash) = auth::new_token();
        let expires = now + Duration::hours(SESSION_HOURS);
        sqlx::query("INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&hash)
            .bind(&account.id)
            .bind(time_text(now))
            .bind(time_text(expires))
            .write_on(&self.db)
            .await?;
        Ok((token, account, expires))
    }

    /// The caller a session token stands for, if it is live.
    pub async fn caller(&self, token: &str) -> AppResult<Option<Caller>> {
        let hash = auth::token_hash(token);
        let row = sqlx::query(
            "SELECT s.account_id, c.role, c.must_change_password FROM sessions s
               JOIN credentials c ON c.account_id = s.account_id
              WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(&hash)
        .bind(time_text(Utc::now()))
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Caller {
            id: row.try_get("account_id")?,
            role: role_of(&row.try_get::<String, _>("role")?)?,
            must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
            session_hash: hash,
            token: None,
        }))
    }

    pub async fn logout(&self, caller: &Caller) -> AppResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&caller.session_hash)
            .write_on(&self.db)
            .await?;
        Ok(())
    }

    /// Replaces the password and ends every session of the account, this one
    /// too. A wrong current password counts as a failed sign-in from `client`.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: &str,
        new: &str,
        client: &str,
    ) -> AppResult<()> {
        let row = sqlx::query(
            "SELECT password_hash, login_lower, email_lower FROM credentials WHERE account_id = $1",
        )
        .bind(&caller.id)
        .fetch_one(&self.db.pool)
        .await?;
        let hash: String = row.try_get("password_hash")?;
        let attempt = self
            .begin_attempt(&account_subject(Some(&caller.id), ""), client)
            .await?;
        if !auth::verify_password(Some(hash), current.to_string()).await {
            self.attempt_failed(attempt).await?;
            return Err(AppError::bad("the current password is wrong"));
        }
        self.attempt_succeeded(attempt).await?;
        if new == current {
            return Err(AppError::bad(
                "the new password must differ from the current one",
            ));
        }
        auth::check_new_password(
            new,
            &row.try_get::<String, _>("login_lower")?,
            &row.try_get::<String, _>("email_lower")?,
        )?;
        let hash = auth::hash_password(new.to_string()).await?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE credentials SET password_hash = $1, must_change_password = 0, welcome_password = NULL
              WHERE account_id = $2",
        )
        .bind(&hash)
        .bind(&caller.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(&caller.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn must_change_password(&self, account_id: &str) -> AppResult<bool> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT must_change_password FROM credentials WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(v.unwrap_or(0) != 0)
    }

    pub async fn create_partner(&self, caller: &Caller, new: NewAccount) -> AppResult<AccountRow> {
        self.create_partner_once(caller, new, None).await
    }

    /// `create_partner` with a client's idempotency key (see
    /// [`App::create_account_once`]).
    pub async fn create_partner_once(
        &self,
        caller: &Caller,
        new: NewAccount,
        idempotency_key: Option<&str>,
    ) -> AppResult<AccountRow> {
        caller.ensure_admin()?;
        let (account, _) = self
            .create_account_once(Role::Partner, new, &caller.actor(), idempotency_key)
            .await?;
        Ok(account)
    }

    /// Creates an account of `role`: reserves its login and email, then records
    /// its registration. Returns the account and the password when generated.
    pub async fn create_account(
        &self,
        role: Role,
        new: NewAccount,
        actor: &Actor,
    ) -> AppResult<(AccountRow, Option<String>)> {
        self.create_account_once(role, new, actor, None).await
    }

    /// `create_account`, where a chosen password is mailed as a generated one
    /// is, and has to be changed at first sign-in too (the portal's new
    /// reseller: the partner picks it, the reseller gets it by email).
    pub async fn create_account_mailing_password(
        &self,
        role: Role,
        new: NewAccount,
        actor: &Actor,
    ) -> AppResult<(AccountRow, Option<String>)> {
        self.register_account(role, new, actor, None, true).await
    }

    /// `create_account` with a client's idempotency key: the same creator
    /// sending the same key again gets the account made the first time (and
    /// its generated password while the welcome email still holds it); with
    /// other details it is a CONFLICT.
    ///
    /// The credentials row carries the registration it stands for, so a
    /// crash between it and the registration event is completed at the
    /// next start ([`App::reconcile_registrations`]) or by the retry.
    pub async fn create_account_once(
        &self,
        role: Role,
        new: NewAccount,
        actor: &Actor,
        idempotency_key: Option<&str>,
    ) -> AppResult<(AccountRow, Option<String>)> {
        self.register_account(role, new, actor, idempotency_key, false)
            .await
    }

    // The steps of a registration in the order a crash between any two must
    // leave recoverable (the credential row, its event, the partner's
    // record of a reseller; see DESIGN.md on operations that touch more
    // than one place), kept in one function so that the order reads top to
    // bottom with the retry and race answers beside each write.
    async fn register_account(
        &self,
        role: Role,
        new: NewAccount,
        actor: &Actor,
        idempotency_key: Option<&str>,
        mail_chosen: bool,
    ) -> AppResult<(AccountRow, Option<String>)> {
        let registration = Registration {
            login: values::parse_login(&new.login)?,
            email: values::parse_email(&new.email)?,
            name: values::parse_name(&new.name, "name")?,
            partner_id: new.parent.clone().filter(|_| role == Role::Reseller),
            products: new.products.clone(),
        };
        let (login, email) = (&registration.login, &registration.email);
        let creator = match actor {
            Actor::Account(id) => Some(id.as_str()),
            Actor::System(_) => None,
        };
        let idem = match creator {
            Some(_) => idempotency(
                idempotency_key,
                &[
                    "createAccount",
                    role.as_str(),
                    &registration.login,
                    &registration.email,
                    &registration.name,
                    &registration.products.join(","),
                    if new.password.is_some() {
                        "chosen"
                    } else {
                        "generated"
                    },
                ],
            )?,
            None => None,
        };
        if let (Some(creator), Some(idem)) = (creator, &idem)
            && let Some(first) = self.created_with_key(creator, idem, actor).await?
        {
            return Ok(first);
        }
        let generated = match &new.password {
            Some(p) => {
                auth::check_new_password(p, login, email)?;
                None
            }
            None => Some(auth::generate_password_for(login, email)),
        };
        let password = new
            .password
            .clone()
            .or_else(|| generated.clone())
            .unwrap_or_default();
        self.ensure_unused(&registration.login, &registration.email)
            .await?;
        let hash = auth::hash_password(password).await?;
        let id = auth::new_id("acc");
        let pending = serde_json::to_string(&registration)
            .map_err(|e| AppError::internal("writing a registration", e))?;
        let inserted = sqlx::query(
            "INSERT INTO credentials (account_id, role, login_lower, email_lower, password_hash,
                    must_change_password, welcome_password, created_at, registration, created_by,
                    idempotency_key, idempotency_fingerprint)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&id)
        .bind(role.as_str())
        .bind(registration.login.to_lowercase())
        .bind(registration.email.to_lowercase())
        .bind(&hash)
        .bind(i64::from(generated.is_some() || mail_chosen))
        // An administrator's generated password is printed once, not mailed.
        .bind(
            generated
                .as_deref()
                .or(new.password.as_deref().filter(|_| mail_chosen))
                .filter(|_| role != Role::Admin),
        )
        .bind(time_text(Utc::now()))
        .bind(&pending)
        .bind(creator)
        .bind(idem.as_ref().map(|i| i.key.as_str()))
        .bind(idem.as_ref().map(|i| i.fingerprint.as_str()))
        .write_on(&self.db)
        .await;
        if let Err(e) = inserted {
            if matches!(&e, sqlx::Error::Database(d) if d.is_unique_violation()) {
                // A concurrent retry with the same key got there first.
                if let (Some(creator), Some(idem)) = (creator, &idem)
                    && let Some(first) = self.created_with_key(creator, idem, actor).await?
                {
                    return Ok(first);
                }
                // Lost a race with another account taking the same login or email.
                return Err(AppError::Conflict(
                    "this login or email is already used".into(),
                ));
            }
            return Err(e.into());
        }
        self.faults.check(FaultPoint::AfterCredentialsWritten)?;
        if let Err(e) = self
            .complete_registration(role, &id, registration.clone(), actor)
            .await
        {
            self.release_credentials(&id).await;
            return Err(e);
        }
        if let (Role::Reseller, Some(partner)) = (role, &registration.partner_id) {
            self.faults.check(FaultPoint::AfterResellerRegistered)?;
            // The process manager records the reseller on its partner's
            // stream from the log, also after a crash here; doing it now
            // too lets the answer show a reseller its partner can already
            // give credits to. AddReseller is idempotent.
            let add = LedgerCommand::AddReseller {
                reseller_id: id.clone(),
            };
            if let Err(e) = self
                .ledgers
                .execute(Role::Partner, partner, add, actor)
                .await
            {
                // Committed all the same: the process manager will add it.
                tracing::warn!(error = %e, reseller = %id, "left the partner's record to the process manager");
            }
        }
        let account = self.created_account(role, &id, &registration).await?;
        Ok((account, generated))
    }

    /// Writes the registration event of a credentials row. Someone else
    /// (the start's reconciliation, a retry) may have written it first:
    /// that is success too.
    async fn complete_registration(
        &self,
        role: Role,
        id: &str,
        registration: Registration,
        actor: &Actor,
    ) -> AppResult<()> {
        let command = registration.command(role);
        match self.ledgers.execute(role, id, command, actor).await {
            Ok(()) => Ok(()),
            Err(e) => match projections::log::stream_head(&self.db, id).await {
                Ok(Some(_)) => Ok(()),
                _ => Err(e),
            },
        }
    }

    /// The account a right password signs in to. An account created a moment
    /// ago may not be in the views yet (they follow the log, and may be held
    /// back): its sign-in waits for them, then answers from its registration
    /// rather than refuse a right password. Credentials whose registration
    /// is not in the log (a crash between the two) sign in to nothing until
    /// the start's reconciliation completes them.
    async fn signed_in_account(&self, id: &str) -> AppResult<Option<AccountRow>> {
        if let Some(account) = self.account_of(id).await? {
            return Ok(Some(account));
        }
        let row = sqlx::query("SELECT role, registration FROM credentials WHERE account_id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let role = role_of(&row.try_get::<String, _>("role")?)?;
        let Some(registration) = Registration::parse(row.try_get("registration")?) else {
            return Ok(None);
        };
        if projections::log::stream_head(&self.db, id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.created_account(role, id, &registration).await?))
    }

    /// The answer for an account just registered: from the views once they
    /// show it, else from the registration itself (a new account has no
    /// credits yet).
    async fn created_account(
        &self,
        role: Role,
        id: &str,
        registration: &Registration,
    ) -> AppResult<AccountRow> {
        if self.caught_up(id).await
            && let Some(account) = self.account_of(id).await?
        {
            return Ok(account);
        }
        super::freshness::report_behind();
        Ok(AccountRow {
            id: id.to_string(),
            role: role.as_str().to_string(),
            login: registration.login.clone(),
            email: registration.email.clone(),
            name: registration.name.clone(),
            parent_id: registration.partner_id.clone(),
            balance: 0,
            products: (role == Role::Reseller).then(|| registration.products.clone()),
            created_at: time_text(Utc::now()),
            position: 0,
        })
    }

    /// The account `creator` made with this idempotency key, completing its
    /// registration if a crash stopped the first attempt before it.
    async fn created_with_key(
        &self,
        creator: &str,
        idem: &aggregates::Idempotency,
        actor: &Actor,
    ) -> AppResult<Option<(AccountRow, Option<String>)>> {
        const FIRST: &str =
            "SELECT account_id, role, registration, welcome_password, idempotency_fingerprint
               FROM credentials WHERE created_by = $1 AND idempotency_key = $2";
        let Some(row) = self.first_attempt(FIRST, creator, idem).await? else {
            return Ok(None);
        };
        let id: String = row.try_get("account_id")?;
        let role = role_of(&row.try_get::<String, _>("role")?)?;
        let registration = Registration::parse(row.try_get("registration")?)
            .ok_or_else(|| AppError::internal("a keyed account without its registration", &id))?;
        if projections::log::stream_head(&self.db, &id)
            .await?
            .is_none()
        {
            self.complete_registration(role, &id, registration.clone(), actor)
                .await?;
        }
        let account = self.created_account(role, &id, &registration).await?;
        Ok(Some((account, row.try_get("welcome_password")?)))
    }

    /// At start: every login reserved for an account whose registration a
    /// crash kept out of the log is completed, or released when it cannot
    /// be (a row written before registrations were kept with it; the first
    /// administrator with a generated password nobody saw, which the start
    /// makes again and prints). Returns how many rows it settled.
    pub async fn reconcile_registrations(&self) -> AppResult<usize> {
        let rows = sqlx::query(
            "SELECT account_id, role, registration, must_change_password FROM credentials c
              WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.aggregate_id = c.account_id)",
        )
        .fetch_all(&self.db.pool)
        .await?;
        for row in &rows {
            let id: String = row.try_get("account_id")?;
            let role = role_of(&row.try_get::<String, _>("role")?)?;
            let generated = row.try_get::<i64, _>("must_change_password")? != 0;
            let registration = Registration::parse(row.try_get("registration")?)
                .filter(|_| !(role == Role::Admin && generated));
            let done = match registration {
                Some(r) => {
                    let outcome = self
                        .complete_registration(role, &id, r, &Actor::System("reconcile"))
                        .await;
                    match outcome {
                        Ok(()) => true,
                        Err(e @ AppError::Internal(_)) => return Err(e),
                        Err(refusal) => {
                            tracing::warn!(account = %id, error = %refusal, "a half-made account cannot be completed; releasing its login");
                            false
                        }
                    }
                }
                None => false,
            };
            if done {
                tracing::info!(account = %id, "completed an account a crash left half made");
            } else {
                self.release_credentials(&id).await;
            }
        }
        Ok(rows.len())
    }

    async fn ensure_unused(&self, login: &str, email: &str) -> AppResult<()> {
        let row = sqlx::query(
            "SELECT login_lower, email_lower FROM credentials WHERE login_lower = $1 OR email_lower = $2 LIMIT 1",
        )
        .bind(login.to_lowercase())
        .bind(email.to_lowercase())
        .fetch_optional(&self.db.pool)
        .await?;
        if let Some(row) = row {
            let taken: String = row.try_get("login_lower")?;
            return Err(AppError::Conflict(if taken == login.to_lowercase() {
                format!("the login \"{login}\" is already used")
            } else {
                format!("the email \"{email}\" is already used by another account")
            }));
        }
        Ok(())
    }

    async fn release_credentials(&self, id: &str) {
        if let Err(e) = sqlx::query("DELETE FROM credentials WHERE account_id = $1")
            .bind(id)
            .write_on(&self.db)
            .await
        {
            tracing::error!(error = %e, account = id, "could not release an unused login");
        }
    }

    /// On first start with no administrator, creates `admin`. Returns the
    /// generated password, when it had to make one, to print once. The log
    /// says whether one exists: a credentials row alone is no account.
    pub async fn ensure_first_admin(&self, password: Option<String>) -> AppResult<Option<String>> {
        let admins: i64 =
            sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'AdminRegistered'")
                .fetch_one(&self.db.pool)
                .await?;
        if admins > 0 {
            return Ok(None);
        }
        let (login, email) = ("admin", "admin@license-portal.local");
        if let Some(p) = &password {
            auth::check_new_password(p, login, email).map_err(|e| {
                AppError::bad(format!("LICENSE_PORTAL_ADMIN_PASSWORD is refused: {e}"))
            })?;
        }
        let new =
            NewAccount::top_level(login.into(), email.into(), "Administrator".into(), password);
        let (_, generated) = self
            .create_account(Role::Admin, new, &Actor::System("first-start"))
            .await?;
        Ok(generated)
    }
}

/// The registration a credentials row stands for, kept with it so that a
/// crash between the row and the event can be completed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Registration {
    login: String,
    email: String,
    name: String,
    #[serde(default)]
    partner_id: Option<String>,
    #[serde(default)]
    products: Vec<String>,
}

impl Registration {
    fn parse(text: Option<String>) -> Option<Registration> {
        serde_json::from_str(&text?).ok()
    }

    fn command(self, role: Role) -> LedgerCommand {
        let Registration {
            login,
            email,
            name,
            partner_id,
            products,
        } = self;
        match role {
            Role::Admin => LedgerCommand::RegisterAdmin { login, email, name },
            Role::Auditor => LedgerCommand::RegisterAuditor { login, email, name },
            Role::Partner => LedgerCommand::RegisterPartner { login, email, name },
            Role::Reseller => LedgerCommand::RegisterReseller {
                partner_id: partner_id.unwrap_or_default(),
                login,
                email,
                name,
                products,
            },
        }
    }
}

/// Which accounts a caller sees beyond single look-ups (those go through
/// [`App::visible_account`]).
impl App {
    /// The accounts a caller lists, by the same rule as the API's `accounts`:
    /// an administrator lists partners (or another role), a partner its
    /// resellers, a reseller nobody.
    pub async fn visible_accounts(
        &self,
        caller: &Caller,
        role: Option<&str>,
        page: &PageRequest,
    ) -> AppResult<Page<AccountRow>> {
        Ok(match caller.role {
            Role::Admin | Role::Auditor => {
                queries::accounts(
                    &self.db,
                    None,
                    Some(role.unwrap_or(Role::Partner.as_str())),
                    page,
                )
                .await?
            }
            Role::Partner => queries::accounts(&self.db, Some(&caller.id), role, page).await?,
            Role::Reseller => Page {
                rows: vec![],
                has_next: false,
                total: 0,
            },
        })
    }

    /// The account behind an actor id (who granted, who sold), when the
    /// caller may see it: its own scope, and the vendor's administrators,
    /// who act on partners and whom a partner sees granting.
    pub async fn visible_actor(
        &self,
        caller: Option<&Caller>,
        id: &str,
    ) -> AppResult<Option<AccountRow>> {
        let Some(caller) = caller else {
            return Ok(None);
        };
        let Some(row) = self.account_of(id).await? else {
            return Ok(None);
        };
        let visible = caller.may_see(&row) || row.role == Role::Admin.as_str();
        Ok(visible.then_some(row))
    }

    /// How many activation keys and licenses (not deleted) an account holds.
    pub async fn holdings(&self, account_id: &str) -> AppResult<(i64, i64)> {
        Ok(queries::holdings_count(&self.db, account_id).await?)
    }
}
