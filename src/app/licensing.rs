//! Licenses, support contracts and Remote Support subscriptions: putting them
//! on activation keys, changing them, listing them, and pricing them first.
//! Each operation is prepared once (owner + command) and either run or priced.

use super::{App, Caller, idempotency, role_of};
use crate::auth;
use crate::error::{AppError, AppResult};
use aggregates::{LedgerCommand, LicenseKind, Role};
use chrono::{NaiveDate, Utc};
use projections::queries::{
    self, AccountRow, CreditEntryRow, LicenseRow, Page, PageRequest, SubscriptionRow, SupportRow,
};

#[derive(Debug, Clone)]
pub struct AssignLicense {
    pub key_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub kind: LicenseKind,
    pub trial_days: Option<i64>,
    pub email: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AssignSupport {
    pub key_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub months: i64,
    pub starts_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct CreateSubscription {
    pub key_id: String,
    pub software: String,
    pub channels: i64,
    pub months: i64,
    pub email: Option<String>,
    pub comment: Option<String>,
}

/// Any operation that costs credits, for `quote` and for running it.
#[derive(Debug, Clone)]
pub enum Operation {
    AssignLicense(AssignLicense),
    UpgradeLicense {
        id: String,
        users: Option<i64>,
        edition: Option<String>,
    },
    AssignSupport(AssignSupport),
    UpgradeSupport {
        id: String,
        users: Option<i64>,
        edition: Option<String>,
    },
    ExtendSupport {
        id: String,
        months: i64,
    },
    CreateSubscription(CreateSubscription),
    ExtendSubscription {
        id: String,
        months: i64,
    },
    UpgradeSubscription {
        id: String,
        channels: i64,
    },
}

/// An operation made ready: whose stream it runs on, the command, and the id
/// of what it creates or changes.
struct Prepared {
    owner: AccountRow,
    command: LedgerCommand,
    entity_id: String,
}

impl Prepared {
    fn on(owner: AccountRow, command: LedgerCommand, entity_id: &str) -> Prepared {
        Prepared {
            owner,
            command,
            entity_id: entity_id.to_string(),
        }
    }
}

/// What an operation made or changed, and the account whose stream holds it.
pub struct Done {
    pub owner_id: String,
    pub id: String,
}

/// A license, support or subscription as an operation just left it: from
/// the views when they show it, else as its committed events leave it.
pub trait Made: Sized {
    fn read(
        app: &App,
        caller: &Caller,
        done: &Done,
    ) -> impl Future<Output = AppResult<Self>> + Send;
}

impl Made for LicenseRow {
    async fn read(app: &App, caller: &Caller, done: &Done) -> AppResult<Self> {
        let scope = caller.scope();
        let view = queries::license(&app.db, &scope, &done.id);
        let log = app.license_in_log(&done.owner_id, &done.id);
        views_or_log("license", view, log).await
    }
}

impl Made for SupportRow {
    async fn read(app: &App, caller: &Caller, done: &Done) -> AppResult<Self> {
        let scope = caller.scope();
        let view = queries::support(&app.db, &scope, &done.id);
        let log = app.support_in_log(&done.owner_id, &done.id);
        views_or_log("support", view, log).await
    }
}

impl Made for SubscriptionRow {
    async fn read(app: &App, caller: &Caller, done: &Done) -> AppResult<Self> {
        let scope = caller.scope();
        let view = queries::subscription(&app.db, &scope, &done.id);
        let log = app.subscription_in_log(&done.owner_id, &done.id);
        views_or_log("subscription", view, log).await
    }
}

pub struct Quote {
    pub cost: i64,
    pub balance: i64,
    pub sufficient: bool,
    /// The name of the account that pays, when it is not the caller (a
    /// partner acting on its reseller's license or support).
    pub payer: Option<String>,
}

/// Idempotency keys belong to the account that sends them. A partner acting
/// on its reseller's stream would otherwise share the reseller's keys: its
/// "order-1" would replay the reseller's "order-1" (or be a CONFLICT). The
/// sender is kept beside the key, never joined into its text, so no key a
/// reseller picks can name its partner's.
fn sender_scoped(
    caller: &Caller,
    owner_id: &str,
    idem: Option<aggregates::Idempotency>,
) -> Option<aggregates::Idempotency> {
    idem.map(|i| aggregates::Idempotency {
        sender: (caller.id != owner_id).then(|| caller.id.clone()),
        ..i
    })
}

fn opt(v: &Option<impl ToString>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

/// What a seller sold that later operations act on.
#[derive(Debug, Clone, Copy)]
enum Sold {
    License,
    Support,
    Subscription,
}

impl Sold {
    fn noun(self) -> &'static str {
        match self {
            Sold::License => "license",
            Sold::Support => "support",
            Sold::Subscription => "subscription",
        }
    }
}

impl App {
    /// Finds what an operation acts on, who pays, and the command to run:
    /// the same for quoting it and for running it.
    async fn prepare(
        &self,
        caller: &Caller,
        op: &Operation,
        idem_key: Option<&str>,
    ) -> AppResult<Prepared> {
        App::ensure_seller(caller)?;
        match op {
            Operation::AssignLicense(a) => self.prepare_assign_license(caller, a, idem_key).await,
            Operation::UpgradeLicense { id, users, edition } => {
                let seller = self.seller_of(caller, Sold::License, id).await?;
                let parts = ["upgradeLicense", id, &opt(users), &opt(edition)];
                let (owner, idem) = self.payer(caller, &seller, idem_key, &parts).await?;
                let command = LedgerCommand::UpgradeLicense {
                    license_id: id.clone(),
                    users: *users,
                    edition: edition.clone(),
                    idempotency: idem,
                };
                Ok(Prepared::on(owner, command, id))
            }
            Operation::AssignSupport(a) => self.prepare_assign_support(caller, a, idem_key).await,
            Operation::UpgradeSupport { id, users, edition } => {
                let seller = self.seller_of(caller, Sold::Support, id).await?;
                let parts = ["upgradeSupport", id, &opt(users), &opt(edition)];
                let (owner, idem) = self.payer(caller, &seller, idem_key, &parts).await?;
                let command = LedgerCommand::UpgradeSupport {
                    support_id: id.clone(),
                    users: *users,
                    edition: edition.clone(),
                    today: Utc::now().date_naive(),
                    idempotency: idem,
                };
                Ok(Prepared::on(owner, command, id))
            }
            Operation::ExtendSupport { id, months } => {
                let seller = self.seller_of(caller, Sold::Support, id).await?;
                let parts = ["extendSupport", id, &months.to_string()];
                let (owner, idem) = self.payer(caller, &seller, idem_key, &parts).await?;
                let command = LedgerCommand::ExtendSupport {
                    support_id: id.clone(),
                    months: *months,
                    today: Utc::now().date_naive(),
                    idempotency: idem,
                };
                Ok(Prepared::on(owner, command, id))
            }
            Operation::CreateSubscription(s) => {
                self.prepare_subscription(caller, s, idem_key).await
            }
            Operation::ExtendSubscription { id, months } => {
                let seller = self.seller_of(caller, Sold::Subscription, id).await?;
                let parts = ["extendServiceSubscription", id, &months.to_string()];
                let (owner, idem) = self.payer(caller, &seller, idem_key, &parts).await?;
                let command = LedgerCommand::ExtendSubscription {
                    subscription_id: id.clone(),
                    months: *months,
                    today: Utc::now().date_naive(),
                    idempotency: idem,
                };
                Ok(Prepared::on(owner, command, id))
            }
            Operation::UpgradeSubscription { id, channels } => {
                let seller = self.seller_of(caller, Sold::Subscription, id).await?;
                let parts = ["upgradeServiceSubscription", id, &channels.to_string()];
                let (owner, idem) = self.payer(caller, &seller, idem_key, &parts).await?;
                let command = LedgerCommand::UpgradeSubscription {
                    subscription_id: id.clone(),
                    channels: *channels,
                    today: Utc::now().date_naive(),
                    idempotency: idem,
                };
                Ok(Prepared::on(owner, command, id))
            }
        }
    }

    /// The account whose stream holds the license, support or subscription
    /// `id`, if the caller may act on it. The views say, unless they have not
    /// caught up with a sale just made (its answer came from its events):
    /// then the ledgers the caller may act on do, the caller's own and, for
    /// a partner, its resellers'. Only what neither holds is NOT_FOUND.
    async fn seller_of(&self, caller: &Caller, sold: Sold, id: &str) -> AppResult<String> {
        let in_views = match sold {
            Sold::License => queries::license(&self.db, &caller.scope(), id)
                .await?
                .map(|l| l.owner_id),
            Sold::Support => queries::support(&self.db, &caller.scope(), id)
                .await?
                .map(|s| s.owner_id),
            Sold::Subscription => queries::subscription(&self.db, &caller.scope(), id)
                .await?
                .map(|u| u.owner_id),
        };
        if let Some(owner) = in_views {
            return Ok(owner);
        }
        let holds = |ledger: &aggregates::Ledger| match sold {
            Sold::License => ledger.licenses.contains_key(id),
            Sold::Support => ledger.supports.contains_key(id),
            Sold::Subscription => ledger.subscriptions.contains(id),
        };
        let own = self.ledgers.load(caller.role, &caller.id).await?;
        if holds(&own) {
            return Ok(caller.id.clone());
        }
        if caller.role == Role::Partner {
            for reseller in &own.resellers {
                if holds(&self.ledgers.load(Role::Reseller, reseller).await?) {
                    return Ok(reseller.clone());
                }
            }
        }
        Err(AppError::not_found(sold.noun()))
    }

    /// The account an operation runs on (and pays from) and the caller's
    /// idempotency key for it. The key is checked before the owner is read,
    /// so a malformed key is BAD_USER_INPUT whatever else is wrong.
    async fn payer(
        &self,
        caller: &Caller,
        owner_id: &str,
        idem_key: Option<&str>,
        parts: &[&str],
    ) -> AppResult<(AccountRow, Option<aggregates::Idempotency>)> {
        let idem = sender_scoped(caller, owner_id, idempotency(idem_key, parts)?);
        Ok((self.known_account(owner_id).await?, idem))
    }

    async fn prepare_assign_license(
        &self,
        caller: &Caller,
        a: &AssignLicense,
        idem_key: Option<&str>,
    ) -> AppResult<Prepared> {
        let key = self.activation_key(caller, &a.key_id).await?;
        let entity_id = auth::new_id("lic");
        let kind = format!("{:?}", a.kind);
        let parts = [
            "assignLicense",
            &a.key_id,
            &a.product,
            &a.edition,
            &a.users.to_string(),
            &kind,
            &opt(&a.trial_days),
            &opt(&a.email),
            &opt(&a.comment),
        ];
        let (owner, idem) = self.payer(caller, &key.owner_id, idem_key, &parts).await?;
        let command = LedgerCommand::AssignLicense {
            license_id: entity_id.clone(),
            key_id: key.id,
            product: a.product.clone(),
            edition: a.edition.clone(),
            users: a.users,
            kind: a.kind,
            trial_days: a.trial_days,
            email: a.email.clone(),
            comment: a.comment.clone(),
            now: Utc::now(),
            idempotency: idem,
        };
        Ok(Prepared::on(owner, command, &entity_id))
    }

    async fn prepare_assign_support(
        &self,
        caller: &Caller,
        a: &AssignSupport,
        idem_key: Option<&str>,
    ) -> AppResult<Prepared> {
        let key = self.activation_key(caller, &a.key_id).await?;
        let entity_id = auth::new_id("sup");
        let parts = [
            "assignSupport",
            &a.key_id,
            &a.product,
            &a.edition,
            &a.users.to_string(),
            &a.months.to_string(),
            &opt(&a.starts_on),
        ];
        let (owner, idem) = self.payer(caller, &key.owner_id, idem_key, &parts).await?;
        let command = LedgerCommand::AssignSupport {
            support_id: entity_id.clone(),
            key_id: key.id,
            product: a.product.clone(),
            edition: a.edition.clone(),
            users: a.users,
            months: a.months,
            starts_on: a.starts_on,
            today: Utc::now().date_naive(),
            idempotency: idem,
        };
        Ok(Prepared::on(owner, command, &entity_id))
    }

    async fn prepare_subscription(
        &self,
        caller: &Caller,
        s: &CreateSubscription,
        idem_key: Option<&str>,
    ) -> AppResult<Prepared> {
        let key = self.activation_key(caller, &s.key_id).await?;
        let entity_id = auth::new_id("sub");
        let parts = [
            "createServiceSubscription",
            &s.key_id,
            &s.software,
            &s.channels.to_string(),
            &s.months.to_string(),
            &opt(&s.email),
            &opt(&s.comment),
        ];
        let (owner, idem) = self.payer(caller, &key.owner_id, idem_key, &parts).await?;
        let command = LedgerCommand::CreateSubscription {
            subscription_id: entity_id.clone(),
            key_id: key.id,
            software: s.software.clone(),
            channels: s.channels,
            months: s.months,
            email: s.email.clone(),
            comment: s.comment.clone(),
            today: Utc::now().date_naive(),
            idempotency: idem,
        };
        Ok(Prepared::on(owner, command, &entity_id))
    }

    /// Runs a prepared operation; returns the id of what it made or changed
    /// (the first result's, for a retried idempotency key).
    async fn perform(&self, caller: &Caller, p: Prepared) -> AppResult<Done> {
        let idem = p.command.idempotency().cloned();
        self.run(
            role_of(&p.owner.role)?,
            &p.owner.id,
            p.command,
            &caller.actor(),
        )
        .await?;
        let done = |id: String| Done {
            owner_id: p.owner.id.clone(),
            id,
        };
        if let Some(idem) = &idem {
            if let Some(first) = queries::idempotent_result(&self.db, &p.owner.id, idem).await? {
                return Ok(done(first));
            }
            // The views may not show the first result yet; the log does.
            if let Some(first) = self.first_result_in_log(&p.owner.id, idem).await? {
                return Ok(done(first));
            }
        }
        Ok(done(p.entity_id))
    }

    /// `execute_operation`, also telling whose stream it ran on: what the
    /// answer is read from when the views lag.
    pub async fn execute_operation_done(
        &self,
        caller: &Caller,
        op: &Operation,
        idem_key: Option<&str>,
    ) -> AppResult<Done> {
        let p = self.prepare(caller, op, idem_key).await?;
        self.perform(caller, p).await
    }

    /// Runs an operation and answers with what it made or changed.
    pub async fn operate<T: Made>(
        &self,
        caller: &Caller,
        op: &Operation,
        idem_key: Option<&str>,
    ) -> AppResult<T> {
        let done = self.execute_operation_done(caller, op, idem_key).await?;
        T::read(self, caller, &done).await
    }

    /// What an operation would cost the account it runs on, without running it.
    pub async fn quote(&self, caller: &Caller, op: &Operation) -> AppResult<Quote> {
        let p = self.prepare(caller, op, None).await?;
        let role = role_of(&p.owner.role)?;
        let ledger = self.ledgers.load(role, &p.owner.id).await?;
        let payer = (p.owner.id != caller.id).then(|| p.owner.name.clone());
        match ledger.decide(role, &p.command, &self.catalog) {
            Ok(events) => {
                let cost = -events
                    .iter()
                    .filter_map(|e| e.credit_movement())
                    .map(|m| m.amount)
                    .sum::<i64>();
                Ok(Quote {
                    cost,
                    balance: ledger.balance,
                    sufficient: true,
                    payer,
                })
            }
            Err(aggregates::DomainError::InsufficientCredits { required, balance }) => Ok(Quote {
                cost: required,
                balance,
                sufficient: false,
                payer,
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn execute_operation(
        &self,
        caller: &Caller,
        op: &Operation,
        idem_key: Option<&str>,
    ) -> AppResult<String> {
        Ok(self.execute_operation_done(caller, op, idem_key).await?.id)
    }

    pub async fn license(&self, caller: &Caller, id: &str) -> AppResult<LicenseRow> {
        queries::license(&self.db, &caller.scope(), id)
            .await?
            .ok_or_else(|| AppError::not_found("license"))
    }

    pub async fn support(&self, caller: &Caller, id: &str) -> AppResult<SupportRow> {
        queries::support(&self.db, &caller.scope(), id)
            .await?
            .ok_or_else(|| AppError::not_found("support"))
    }

    pub async fn subscription(&self, caller: &Caller, id: &str) -> AppResult<SubscriptionRow> {
        queries::subscription(&self.db, &caller.scope(), id)
            .await?
            .ok_or_else(|| AppError::not_found("subscription"))
    }

    pub async fn edit_license(
        &self,
        caller: &Caller,
        id: &str,
        email: Option<String>,
        comment: Option<String>,
    ) -> AppResult<LicenseRow> {
        App::ensure_seller(caller)?;
        let license = self.license(caller, id).await?;
        // Fields left out keep their value.
        let email = email.or(license.email.clone());
        let comment = comment.or(license.comment.clone());
        let owner = self.known_account(&license.owner_id).await?;
        let command = LedgerCommand::EditLicense {
            license_id: id.to_string(),
            email,
            comment,
        };
        self.run(role_of(&owner.role)?, &owner.id, command, &caller.actor())
            .await?;
        self.license(caller, id).await
    }

    /// The customer's email and comment on a support, as `edit_license`.
    pub async fn edit_support(
        &self,
        caller: &Caller,
        id: &str,
        email: Option<String>,
        comment: Option<String>,
    ) -> AppResult<SupportRow> {
        App::ensure_seller(caller)?;
        let support = self.support(caller, id).await?;
        // Fields left out keep their value.
        let email = email.or(support.email.clone());
        let comment = comment.or(support.comment.clone());
        let owner = self.known_account(&support.owner_id).await?;
        let command = LedgerCommand::EditSupport {
            support_id: id.to_string(),
            email,
            comment,
        };
        self.run(role_of(&owner.role)?, &owner.id, command, &caller.actor())
            .await?;
        self.support(caller, id).await
    }

    /// Deletes a license not activated on a device and refunds what it cost.
    pub async fn delete_license(
        &self,
        caller: &Caller,
        id: &str,
        idem_key: Option<&str>,
    ) -> AppResult<Option<CreditEntryRow>> {
        App::ensure_seller(caller)?;
        let license = self.license(caller, id).await?;
        let owner = self.known_account(&license.owner_id).await?;
        let idem = sender_scoped(
            caller,
            &owner.id,
            idempotency(idem_key, &["deleteLicense", id])?,
        );
        let command = LedgerCommand::DeleteLicense {
            license_id: id.to_string(),
            now: Utc::now(),
            idempotency: idem.clone(),
        };
        self.run(role_of(&owner.role)?, &owner.id, command, &caller.actor())
            .await?;
        let entry_id = match &idem {
            Some(i) => queries::idempotent_result(&self.db, &owner.id, i).await?,
            None => None,
        };
        let entry_id = match entry_id {
            Some(id) => Some(id),
            None => self.refund_entry_of(&owner.id, id).await?,
        };
        match entry_id.filter(|e| !e.is_empty()) {
            Some(e) => Ok(queries::credit_entry(&self.db, &e).await?),
            None => Ok(None),
        }
    }

    async fn refund_entry_of(&self, owner: &str, license_id: &str) -> AppResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM credit_entries WHERE account_id = $1 AND reason = 'LICENSE_REFUND' AND reference = $2
              ORDER BY position DESC LIMIT 1",
        )
        .bind(owner)
        .bind(license_id)
        .fetch_optional(&self.db.pool)
        .await?)
    }

    pub async fn licenses(
        &self,
        caller: &Caller,
        filter: &queries::LicenseFilter,
        page: &PageRequest,
    ) -> AppResult<Page<LicenseRow>> {
        self.check_owner_filter(caller, filter.owner_id.as_deref())
            .await?;
        // As with the owner: a key the caller cannot see is NOT_FOUND.
        if let Some(key_id) = filter.key_id.as_deref() {
            self.activation_key(caller, key_id).await?;
        }
        let now = projections::db::time_text(Utc::now());
        Ok(queries::licenses(&self.db, &caller.scope(), filter, &now, page).await?)
    }

    pub async fn supports(
        &self,
        caller: &Caller,
        filter: &queries::SupportFilter,
        include_resellers: bool,
        order: queries::SupportOrder,
        page: &PageRequest,
    ) -> AppResult<Page<SupportRow>> {
        let scope = match (caller.role, include_resellers) {
            (Role::Partner, false) => queries::Scope::Own(caller.id.clone()),
            _ => caller.scope(),
        };
        self.check_owner_filter(caller, filter.owner_id.as_deref())
            .await?;
        let today = projections::db::date_text(Utc::now().date_naive());
        Ok(queries::supports(&self.db, &scope, filter, &today, order, page).await?)
    }

    pub async fn subscriptions(
        &self,
        caller: &Caller,
        owner_id: Option<&str>,
        page: &PageRequest,
    ) -> AppResult<Page<SubscriptionRow>> {
        // Like every other list: an owner the caller cannot see is NOT_FOUND,
        // not an empty page.
        self.check_owner_filter(caller, owner_id).await?;
        Ok(queries::subscriptions(&self.db, &caller.scope(), owner_id, page).await?)
    }
}

/// A row from the views unless this request found them behind its own
/// writes, else as the log leaves it (the lag then reported). Neither future
/// runs unless it is the one needed.
async fn views_or_log<T>(
    noun: &'static str,
    view: impl std::future::Future<Output = Result<Option<T>, sqlx::Error>>,
    log: impl std::future::Future<Output = AppResult<Option<T>>>,
) -> AppResult<T> {
    if !super::freshness::behind()
        && let Some(row) = view.await?
    {
        return Ok(row);
    }
    super::freshness::report_behind();
    log.await?.ok_or_else(|| AppError::not_found(noun))
}
