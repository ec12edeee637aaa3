//! The application layer: every use case the GraphQL API (and the portal
//! pages) offer, with who may do it. Resolvers stay thin and call these.

mod accounts;
mod answers;
mod audit;
mod auditors;
mod credits;
mod dashboard;
mod devices;
pub mod faults;
pub mod freshness;
mod keys;
mod licensing;
mod lockout;
mod resellers;
pub mod tokens;
mod webhooks;

pub use accounts::NewAccount;
pub use audit::{EventRow, LedgerHeadRow};
pub use credits::reason_words;
pub use dashboard::{BalancePoint, Dashboard, EXPIRING_DAYS};
pub use licensing::{
    AssignLicense, AssignSupport, CreateSubscription, Done, Made, Operation, Quote,
};
pub use tokens::{ApiTokenRow, TokenGrant, TokenScope};
pub use webhooks::{DeliveryRow, NewWebhook, WebhookRow};

use crate::error::{AppError, AppResult};
use crate::ledgers::{Actor, Ledgers};
use aggregates::{Catalog, LedgerCommand, Role};
use projections::queries::{self, Scope};
// The read models' rows, pages and filters: the data the app's use cases take
// and give back. Callers (GraphQL resolvers, portal pages) name them from
// here and never run a query themselves.
pub use projections::queries::{
    AccountRow, CreditEntryRow, Cursor, KeyRow, LicenseFilter, LicenseRow, Page, PageRequest,
    SubscriptionRow, SupportFilter, SupportOrder, SupportRow,
};
use projections::{Db, Projector};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

pub struct App {
    pub db: Db,
    pub ledgers: Arc<Ledgers>,
    pub projector: Arc<Projector>,
    pub transfers: Arc<crate::transfers::Transfers>,
    pub catalog: Arc<Catalog>,
    pub signer: crate::signing::Signer25519,
    pub device_limits: crate::limits::RateLimiter,
    /// Sign-in limits and the trusted proxies.
    pub security: crate::config::SecurityArgs,
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    pub token_limits: tokens::TokenLimiter,
    /// Crash points for tests; none is armed in service.
    pub faults: faults::Faults,
    /// How long a mutation waits for its effect to reach the views
    /// (`VIEWS_WAIT_MS`) before answering from its events.
    pub views_wait: Duration,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The signed-in account a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: String,
    pub role: Role,
    pub must_change_password: bool,
    pub session_hash: String,
    /// Set when the request came with an API token instead of a session.
    pub token: Option<TokenGrant>,
}

impl Caller {
    /// The one rule of visibility: admin all; partner itself and its
    /// resellers; reseller itself.
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Admin | Role::Auditor => Scope::All,
            Role::Partner => Scope::Partner(self.id.clone()),
            Role::Reseller => Scope::Own(self.id.clone()),
        }
    }

    pub fn may_see(&self, account: &AccountRow) -> bool {
        match self.role {
            Role::Admin | Role::Auditor => true,
            Role::Partner => {
                account.id == self.id || account.parent_id.as_deref() == Some(&self.id)
            }
            Role::Reseller => account.id == self.id,
        }
    }

    /// Mutations are refused until a generated password has been replaced.
    pub fn ensure_may_act(&self) -> AppResult<()> {
        if self.must_change_password {
            return Err(AppError::Forbidden(
                "change the generated password first (changePassword)".into(),
            ));
        }
        if self.role == Role::Auditor {
            return Err(AppError::Forbidden(
                "an auditor reads everything and changes nothing".into(),
            ));
        }
        if self
            .token
            .as_ref()
            .is_some_and(|t| t.scope == TokenScope::Read)
        {
            return Err(AppError::Forbidden(
                "this API token may only read (scope READ)".into(),
            ));
        }
        Ok(())
    }

    pub fn ensure_admin(&self) -> AppResult<()> {
        self.ensure_may_act()?;
        if self.role != Role::Admin {
            return Err(AppError::Forbidden(
                "only an administrator can do this".into(),
            ));
        }
        Ok(())
    }

    pub fn actor(&self) -> Actor {
        Actor::Account(self.id.clone())
    }
}

/// The role stored as text in the views and the credentials. Any other text
/// is a damaged row: an internal error, never a guess.
pub fn role_of(text: &str) -> AppResult<Role> {
    text.parse::<Role>()
        .map_err(|e| AppError::internal("a stored role is none the service knows", e))
}

/// The fingerprint of a request, so a reused idempotency key with other
/// arguments is told apart.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    crate::auth::hex(&h.finalize())
}

pub fn idempotency(
    key: Option<&str>,
    parts: &[&str],
) -> AppResult<Option<aggregates::Idempotency>> {
    match key.map(str::trim) {
        None => Ok(None),
        Some(k) if k.is_empty() || k.len() > 200 => {
            Err(AppError::bad("an idempotencyKey is 1 to 200 characters"))
        }
        Some(k) => Ok(Some(aggregates::Idempotency {
            key: k.to_string(),
            fingerprint: fingerprint(parts),
            sender: None,
        })),
    }
}

impl App {
    /// The row a first attempt under `idem` left in a service table, which
    /// `sql` selects with its sender as `$1` and the key as `$2`, with an
    /// `idempotency_fingerprint` column; refused when that attempt was
    /// another request.
    async fn first_attempt(
        &self,
        sql: &str,
        sender: &str,
        idem: &aggregates::Idempotency,
    ) -> AppResult<Option<sqlx::any::AnyRow>> {
        let row = sqlx::query(sql)
            .bind(sender)
            .bind(&idem.key)
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let fingerprint: Option<String> = sqlx::Row::try_get(&row, "idempotency_fingerprint")?;
        idem.same_request(fingerprint.as_deref())?;
        Ok(Some(row))
    }

    /// Runs a command on an account's stream and waits until the views show it.
    pub async fn run(
        &self,
        role: Role,
        account_id: &str,
        command: LedgerCommand,
        actor: &Actor,
    ) -> AppResult<()> {
        self.ledgers
            .execute(role, account_id, command, actor)
            .await?;
        self.catch_up(account_id).await
    }

    /// Read-your-writes: waits until the projector has applied the latest
    /// event of `aggregate_id`. It follows a committed write, so it never
    /// fails: a lag (or a failure to look) is reported, and the caller
    /// answers from what its command decided.
    pub async fn catch_up(&self, aggregate_id: &str) -> AppResult<()> {
        self.caught_up(aggregate_id).await;
        Ok(())
    }

    /// Like [`App::catch_up`]; true when the views show the stream's latest
    /// event.
    pub async fn caught_up(&self, aggregate_id: &str) -> bool {
        let fresh = match projections::log::stream_head(&self.db, aggregate_id).await {
            Ok(None) => true,
            Ok(Some(head)) => self.projector.wait_for(head, self.views_wait).await,
            Err(e) => {
                tracing::error!(error = %e, aggregate_id, "could not read the stream's head");
                false
            }
        };
        if !fresh {
            tracing::warn!(
                aggregate_id,
                "views are behind the log; answering from what the command decided"
            );
            freshness::report_behind();
        }
        fresh
    }

    /// An account the caller may see, or NOT_FOUND.
    pub async fn visible_account(&self, caller: &Caller, id: &str) -> AppResult<AccountRow> {
        match queries::account(&self.db, id).await? {
            Some(a) if caller.may_see(&a) => Ok(a),
            _ => Err(AppError::not_found("account")),
        }
    }

    /// Checks a list's owner filter: asking for an account the caller cannot
    /// see is NOT_FOUND, not an empty list.
    pub async fn check_owner_filter(
        &self,
        caller: &Caller,
        owner_id: Option<&str>,
    ) -> AppResult<()> {
        if let Some(id) = owner_id {
            self.visible_account(caller, id).await?;
        }
        Ok(())
    }

    pub async fn account_of(&self, id: &str) -> AppResult<Option<AccountRow>> {
        Ok(queries::account(&self.db, id).await?)
    }

    /// An account another row refers to (an owner, a payer, what was just
    /// created): the views always have it, so its absence is an internal error.
    pub async fn known_account(&self, id: &str) -> AppResult<AccountRow> {
        self.account_of(id).await?.ok_or_else(|| {
            AppError::internal(
                "an account the views refer to is missing",
                format!("account {id}"),
            )
        })
    }

    /// An activation key another row refers to (a license's, a support's):
    /// missing, it is an internal error, as for [`App::known_account`].
    pub async fn known_key(&self, id: &str) -> AppResult<KeyRow> {
        queries::activation_key(&self.db, &Scope::All, id)
            .await?
            .ok_or_else(|| {
                AppError::internal(
                    "an activation key the views refer to is missing",
                    format!("key {id}"),
                )
            })
    }

    /// The seller a caller acts for when creating things: itself, or (admin) nobody.
    pub fn ensure_seller(caller: &Caller) -> AppResult<()> {
        caller.ensure_may_act()?;
        if caller.role == Role::Admin {
            return Err(AppError::Forbidden(
                "an administrator does not sell; sign in as a partner or reseller".into(),
            ));
        }
        Ok(())
    }
}
