//! How each event changes the read models. Called by the projector inside the
//! transaction that also moves its checkpoint, so every event is applied
//! exactly once; `replay` empties these tables and runs the same code.

use crate::log::StoredEvent;
use aggregates::{LedgerEvent, LicenseKind};
use sqlx::{Any, Row, Transaction};
use std::collections::{BTreeMap, HashMap};

/// Tables `replay` empties before rebuilding. Service tables (credentials,
/// sessions, outbox, key reservations) are not projections and stay.
pub const VIEW_TABLES: &[&str] = &[
    "accounts",
    "credit_entries",
    "idempotency_results",
    "activation_keys",
    "licenses",
    "license_totals",
    "supports",
    "subscriptions",
];

pub fn credit_entry_id(position: i64) -> String {
    format!("crd_{position}")
}

pub fn kind_text(kind: LicenseKind) -> &'static str {
    match kind {
        LicenseKind::Trial => "TRIAL",
        LicenseKind::Permanent => "PERMANENT",
    }
}

type Tx<'a> = Transaction<'static, Any>;

/// What one projector batch carries from event to event. A license event
/// moves three license_totals rows and needs its owner's partner; written or
/// looked up per event, those were most of a replay's round trips.
#[derive(Default)]
pub struct Batch {
    /// (subject, product, kind, deleted) -> change, written by `finish`.
    license_totals: BTreeMap<(String, String, String, bool), i64>,
    /// owner -> the partner its rows belong under; an account's partner
    /// never changes.
    scopes: HashMap<String, String>,
}

impl Batch {
    /// Adds `by` to the license totals of the system, the partner scope and
    /// the owner, for the license's product, kind and deletion.
    fn count_license(&mut self, c: &Counted<'_>, deleted: bool, by: i64) {
        for subject in [
            "all".to_string(),
            format!("scope:{}", c.scope),
            format!("owner:{}", c.owner),
        ] {
            *self
                .license_totals
                .entry((subject, c.product.to_string(), c.kind.to_string(), deleted))
                .or_default() += by;
        }
    }

    /// The partner a row of `owner` belongs under: the reseller's partner,
    /// or the owner itself.
    async fn scope_of(&mut self, tx: &mut Tx<'_>, owner: &str) -> Result<String, sqlx::Error> {
        if let Some(scope) = self.scopes.get(owner) {
            return Ok(scope.clone());
        }
        let parent: Option<String> =
            sqlx::query_scalar("SELECT parent_id FROM accounts WHERE id = $1")
                .bind(owner)
                .fetch_optional(&mut **tx)
                .await?
                .flatten();
        let scope = parent.unwrap_or_else(|| owner.to_string());
        self.scopes.insert(owner.to_string(), scope.clone());
        Ok(scope)
    }

    /// Writes what the batch's events added up to; call before committing.
    pub async fn finish(self, tx: &mut Tx<'_>) -> Result<(), sqlx::Error> {
        for ((subject, product, kind, deleted), by) in self.license_totals {
            if by == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO license_totals (subject, product, kind, deleted, n) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (subject, product, kind, deleted) DO UPDATE SET n = license_totals.n + excluded.n",
            )
            .bind(subject)
            .bind(product)
            .bind(kind)
            .bind(i64::from(deleted))
            .bind(by)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// Applies one event to the views; what `batch` gathers is written by its
/// `finish`, in the same transaction.
pub async fn apply(tx: &mut Tx<'_>, batch: &mut Batch, e: &StoredEvent) -> Result<(), sqlx::Error> {
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

    match &e.event {
        AdminRegistered { login, email, name } => {
            insert_account(tx, e, "ADMIN", login, email, name, None, None).await?;
        }
        PartnerRegistered { login, email, name } => {
            insert_account(tx, e, "PARTNER", login, email, name, None, None).await?;
            welcome(tx, e).await?;
        }
        ResellerRegistered {
            partner_id,
            login,
            email,
            name,
            products,
        } => {
            let products = serde_json::to_string(products).unwrap_or_else(|_| "[]".into());
            insert_account(
                tx,
                e,
                "RESELLER",
                login,
                email,
                name,
                Some(partner_id),
                Some(&products),
            )
            .await?;
            welcome(tx, e).await?;
        }
        ResellerProfileEdited {
            email,
            name,
            products,
        } => {
            let products = products
                .as_ref()
                .map(|p| serde_json::to_string(p).unwrap_or_else(|_| "[]".into()));
            sqlx::query(
                "UPDATE accounts SET email = coalesce($1, email), name = coalesce($2, name),
                        products = coalesce($3, products) WHERE id = $4",
            )
            .bind(email.as_deref())
            .bind(name.as_deref())
            .bind(products)
            .bind(owner)
            .execute(&mut **tx)
            .await?;
        }
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
        LicenseAssigned {
            license_id,
            key_id,
            product,
            edition,
            users,
            kind,
            trial_ends_at,
            email,
            comment,
            credits,
            ..
        } => {
            let scope = batch.scope_of(tx, owner).await?;
            let search =
                license_search_text(tx, key_id, email.as_deref(), comment.as_deref()).await?;
            sqlx::query(
                "INSERT INTO licenses (id, key_id, owner_id, scope_id, product, edition, users, kind,
                        trial_ends_at, email, comment, credits_spent, created_at, updated_at, position,
                        search_text)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15)",
            )
            .bind(license_id)
            .bind(key_id)
            .bind(owner)
            .bind(&scope)
            .bind(product)
            .bind(edition)
            .bind(*users)
            .bind(kind_text(*kind))
            .bind(trial_ends_at.map(crate::db::time_text))
            .bind(email.as_deref())
            .bind(comment.as_deref())
            .bind(*credits)
            .bind(at)
            .bind(pos)
            .bind(search)
            .execute(&mut **tx)
            .await?;
            let counted = Counted {
                owner,
                scope: &scope,
                product,
                kind: kind_text(*kind),
            };
            batch.count_license(&counted, false, 1);
        }
        LicenseUpgraded {
            license_id,
            users,
            edition,
            credits,
            ..
        } => {
            sqlx::query(
                "UPDATE licenses SET users = $1, edition = $2, credits_spent = credits_spent + $3,
                        updated_at = $4 WHERE id = $5",
            )
            .bind(*users)
            .bind(edition)
            .bind(*credits)
            .bind(at)
            .bind(license_id)
            .execute(&mut **tx)
            .await?;
        }
        LicenseEdited {
            license_id,
            email,
            comment,
        } => {
            let key_id: Option<String> =
                sqlx::query_scalar("SELECT key_id FROM licenses WHERE id = $1")
                    .bind(license_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            let search = license_search_text(
                tx,
                key_id.as_deref().unwrap_or_default(),
                email.as_deref(),
                comment.as_deref(),
            )
            .await?;
            sqlx::query(
                "UPDATE licenses SET email = $1, comment = $2, updated_at = $3, search_text = $4
                  WHERE id = $5",
            )
            .bind(email.as_deref())
            .bind(comment.as_deref())
            .bind(at)
            .bind(search)
            .bind(license_id)
            .execute(&mut **tx)
            .await?;
        }
        LicenseDeleted {
            license_id, refund, ..
        } => {
            sqlx::query(
                "UPDATE licenses SET deleted = 1, credits_spent = credits_spent - $1, updated_at = $2
                  WHERE id = $3",
            )
            .bind(*refund)
            .bind(at)
            .bind(license_id)
            .execute(&mut **tx)
            .await?;
            let row =
                sqlx::query("SELECT owner_id, scope_id, product, kind FROM licenses WHERE id = $1")
                    .bind(license_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            if let Some(row) = row {
                let columns: [String; 4] = [
                    row.try_get("owner_id")?,
                    row.try_get("scope_id")?,
                    row.try_get("product")?,
                    row.try_get("kind")?,
                ];
                let [owner, scope, product, kind] = &columns;
                let counted = Counted {
                    owner,
                    scope,
                    product,
                    kind,
                };
                batch.count_license(&counted, false, -1);
                batch.count_license(&counted, true, 1);
            }
        }
        SupportAssigned {
            support_id,
            key_id,
            product,
            edition,
            users,
            starts_on,
            end_of_support,
            credits,
            ..
        } => {
            let scope = batch.scope_of(tx, owner).await?;
            sqlx::query(
                "INSERT INTO supports (id, key_id, owner_id, scope_id, product, edition, users, starts_on,
                        end_of_support, credits_spent, created_at, updated_at, position)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
            )
            .bind(support_id)
            .bind(key_id)
            .bind(owner)
            .bind(scope)
            .bind(product)
            .bind(edition)
            .bind(*users)
            .bind(crate::db::date_text(*starts_on))
            .bind(crate::db::date_text(*end_of_support))
            .bind(*credits)
            .bind(at)
            .bind(pos)
            .execute(&mut **tx)
            .await?;
        }
        SupportUpgraded {
            support_id,
            users,
            edition,
            credits,
            ..
        } => {
            sqlx::query(
                "UPDATE supports SET users = $1, edition = $2, credits_spent = credits_spent + $3,
                        updated_at = $4 WHERE id = $5",
            )
            .bind(*users)
            .bind(edition)
            .bind(*credits)
            .bind(at)
            .bind(support_id)
            .execute(&mut **tx)
            .await?;
        }
        SupportExtended {
            support_id,
            end_of_support,
            credits,
            ..
        } => {
            sqlx::query(
                "UPDATE supports SET end_of_support = $1, credits_spent = credits_spent + $2,
                        updated_at = $3 WHERE id = $4",
            )
            .bind(crate::db::date_text(*end_of_support))
            .bind(*credits)
            .bind(at)
            .bind(support_id)
            .execute(&mut **tx)
            .await?;
        }
        SubscriptionCreated {
            subscription_id,
            key_id,
            software,
            channels,
            months,
            starts_on,
            ends_on,
            email,
            comment,
            credits,
            ..
        } => {
            let scope = batch.scope_of(tx, owner).await?;
            sqlx::query(
                "INSERT INTO subscriptions (id, key_id, owner_id, scope_id, software, channels, months,
                        starts_on, ends_on, email, comment, credits_spent, created_at, position)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(subscription_id)
            .bind(key_id)
            .bind(owner)
            .bind(scope)
            .bind(software)
            .bind(*channels)
            .bind(i64::from(*months))
            .bind(crate::db::date_text(*starts_on))
            .bind(crate::db::date_text(*ends_on))
            .bind(email.as_deref())
            .bind(comment.as_deref())
            .bind(*credits)
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
        ResellerAdded { .. }
        | CreditsGranted { .. }
        | CreditsTransferredOut { .. }
        | CreditsTransferredIn { .. } => {}
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_account(
    tx: &mut Tx<'_>,
    e: &StoredEvent,
    role: &str,
    login: &str,
    email: &str,
    name: &str,
    parent: Option<&str>,
    products: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (id, role, login, email, name, parent_id, products, created_at, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&e.aggregate_id)
    .bind(role)
    .bind(login)
    .bind(email)
    .bind(name)
    .bind(parent)
    .bind(products)
    .bind(&e.at)
    .bind(e.position())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The welcome email goes out once per account, even if the views are
/// rebuilt: the outbox is not a view and its id is the account's.
async fn welcome(tx: &mut Tx<'_>, e: &StoredEvent) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (id, kind, account_id, created_at, next_attempt_at)
         VALUES ($1, 'welcome', $2, $3, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(format!("welcome:{}", e.aggregate_id))
    .bind(&e.aggregate_id)
    .bind(&e.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where a license is counted in license_totals.
struct Counted<'a> {
    owner: &'a str,
    scope: &'a str,
    product: &'a str,
    kind: &'a str,
}

/// What a license search matches: its key, email and comment, lower case,
/// one per line (a search never spans two of them: the box is one line).
async fn license_search_text(
    tx: &mut Tx<'_>,
    key_id: &str,
    email: Option<&str>,
    comment: Option<&str>,
) -> Result<String, sqlx::Error> {
    let key: Option<String> = sqlx::query_scalar("SELECT key FROM activation_keys WHERE id = $1")
        .bind(key_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok([
        key.as_deref().unwrap_or_default(),
        email.unwrap_or_default(),
        comment.unwrap_or_default(),
    ]
    .join("\n")
    .to_lowercase())
}
