//! The contract's object types, each a thin wrapper over a read-model row.

use super::paging::{nested_complexity, nested_first};
use super::scalars::{CreditReason, Date, LicenseKind, LicenseStatus, Role, Software, date, time};
use super::{app, gql, maybe_caller};
use crate::app::{
    AccountRow, CreditEntryRow, EventRow, KeyRow, LicenseRow, SubscriptionRow, SupportRow, role_of,
};
use async_graphql::{Context, ID, Interface, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Account(Account),
    ActivationKey(ActivationKey),
    License(License),
    Support(Support),
    ServiceSubscription(ServiceSubscription),
    CreditEntry(CreditEntry),
    Webhook(super::Webhook),
    WebhookDelivery(super::WebhookDelivery),
    ApiToken(super::integrations::ApiToken),
}

#[derive(Clone, Debug, SimpleObject)]
pub struct Edition {
    pub code: ID,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Product(pub aggregates::catalog::Product);

#[Object]
impl Product {
    async fn code(&self) -> ID {
        ID(self.0.code.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn editions(&self) -> Vec<Edition> {
        self.0
            .editions
            .iter()
            .map(|e| Edition {
                code: ID(e.code.clone()),
                name: e.name.clone(),
            })
            .collect()
    }
    /// True for products sold only as subscriptions (Remote Support).
    async fn subscription_only(&self) -> bool {
        self.0.subscription_only
    }
}

fn product(ctx: &Context<'_>, code: &str) -> Product {
    let catalog = &app(ctx).catalog;
    Product(
        catalog
            .product(code)
            .cloned()
            .unwrap_or_else(|| aggregates::catalog::Product {
                // A product since removed from the catalog still shows under its code.
                code: code.to_string(),
                name: code.to_string(),
                subscription_only: false,
                subscription_per_channel_month: 0,
                editions: vec![],
            }),
    )
}

fn edition(ctx: &Context<'_>, product_code: &str, code: &str) -> Edition {
    let name = app(ctx).catalog.edition_name(product_code, code);
    Edition {
        code: ID(code.to_string()),
        name,
    }
}

/// The owner of a row the caller can see: it is the caller or within its scope.
pub(super) async fn owner(ctx: &Context<'_>, id: &str) -> Result<Account> {
    app(ctx).known_account(id).await.map(Account).map_err(gql)
}

#[derive(Clone, Debug)]
pub struct Account(pub AccountRow);

#[Object]
impl Account {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn role(&self) -> Result<Role> {
        role_of(&self.0.role).map(Role::from).map_err(gql)
    }
    async fn login(&self) -> &str {
        &self.0.login
    }
    async fn email(&self, ctx: &Context<'_>) -> Result<&str> {
        self.ensure_private_visible(ctx, "email")?;
        Ok(&self.0.email)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Credits available now; 0 for an ADMIN.
    async fn credit_balance(&self, ctx: &Context<'_>) -> Result<i32> {
        self.ensure_private_visible(ctx, "creditBalance")?;
        Ok(clamp(self.0.balance))
    }
    /// A reseller's partner; null otherwise. The reseller sees its partner's
    /// id, login and name; its figures and email are the partner's own.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        match &self.0.parent_id {
            Some(p) => Ok(app(ctx).account_of(p).await.map_err(gql)?.map(Account)),
            None => Ok(None),
        }
    }
    /// Products this account may sell: every product for a partner.
    async fn allowed_products(&self, ctx: &Context<'_>) -> Vec<Product> {
        let catalog = &app(ctx).catalog;
        match (&self.0.products, self.0.role.as_str()) {
            (_, r)
                if r == aggregates::Role::Admin.as_str()
                    || r == aggregates::Role::Auditor.as_str() =>
            {
                vec![]
            }
            (Some(codes), _) => codes.iter().map(|c| product(ctx, c)).collect(),
            (None, _) => catalog.products.iter().cloned().map(Product).collect(),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(&self.0.created_at)
    }
    /// Whether the account must replace a generated password before doing anything else.
    async fn must_change_password(&self, ctx: &Context<'_>) -> Result<bool> {
        self.ensure_private_visible(ctx, "mustChangePassword")?;
        app(ctx).must_change_password(&self.0.id).await.map_err(gql)
    }
    /// Activation keys the account owns.
    async fn key_count(&self, ctx: &Context<'_>) -> Result<i32> {
        self.ensure_private_visible(ctx, "keyCount")?;
        let (keys, _) = app(ctx).holdings(&self.0.id).await.map_err(gql)?;
        Ok(clamp(keys))
    }
    /// Licenses (not deleted) the account owns.
    async fn license_count(&self, ctx: &Context<'_>) -> Result<i32> {
        self.ensure_private_visible(ctx, "licenseCount")?;
        let (_, licenses) = app(ctx).holdings(&self.0.id).await.map_err(gql)?;
        Ok(clamp(licenses))
    }
}

impl Account {
    /// An account's email, balance and counts are for those whose scope
    /// holds it. A reseller reaches its partner through `parent`, and only
    /// its name and login are for the reseller to read. The vendor's
    /// administrators, shown as the actor of a grant, stay as they were;
    /// `login` answers its own account before any caller is known.
    fn ensure_private_visible(&self, ctx: &Context<'_>, field: &str) -> Result<()> {
        match maybe_caller(ctx) {
            Some(c) if !c.may_see(&self.0) && self.0.role != "ADMIN" => {
                Err(gql(crate::error::AppError::Forbidden(format!(
                    "{field} of an account outside yours is not for you to read"
                ))))
            }
            _ => Ok(()),
        }
    }
}

pub fn clamp(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
}

#[derive(Clone, Debug, SimpleObject)]
pub struct Device {
    pub fingerprint: String,
    pub name: Option<String>,
    pub activated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct ActivationKey(pub KeyRow);

#[Object]
impl ActivationKey {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// XXXX-XXXX-XXXX-XXXX, upper-case letters and digits.
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Account> {
        owner(ctx, &self.0.owner_id).await
    }
    /// The device the key is activated on; null while it is not.
    async fn device(&self) -> Option<Device> {
        let fingerprint = self.0.device_fingerprint.clone()?;
        Some(Device {
            fingerprint,
            name: self.0.device_name.clone(),
            activated_at: time(self.0.activated_at.as_deref().unwrap_or_default()),
        })
    }
    /// The first `first` (default and at most 100), oldest first.
    #[graphql(complexity = "nested_complexity(first, child_complexity)")]
    async fn licenses(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<License>> {
        let first = nested_first(first).map_err(gql)?;
        let rows = app(ctx).key_licenses(&self.0.id).await.map_err(gql)?;
        Ok(rows.into_iter().take(first).map(License).collect())
    }
    /// The first `first` (default and at most 100), oldest first.
    #[graphql(complexity = "nested_complexity(first, child_complexity)")]
    async fn supports(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<Support>> {
        let first = nested_first(first).map_err(gql)?;
        let rows = app(ctx).key_supports(&self.0.id).await.map_err(gql)?;
        Ok(rows.into_iter().take(first).map(Support).collect())
    }
    /// Remote Support subscriptions on this key: the first `first` (default
    /// and at most 100), oldest first.
    #[graphql(complexity = "nested_complexity(first, child_complexity)")]
    async fn service_subscriptions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> Result<Vec<ServiceSubscription>> {
        let first = nested_first(first).map_err(gql)?;
        let rows = app(ctx).key_subscriptions(&self.0.id).await.map_err(gql)?;
        Ok(rows
            .into_iter()
            .take(first)
            .map(ServiceSubscription)
            .collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(&self.0.created_at)
    }
}

#[derive(Clone, Debug)]
pub struct License(pub LicenseRow);

impl License {
    pub fn status_at(&self, now: DateTime<Utc>) -> LicenseStatus {
        aggregates::LicenseStatus::at(
            self.domain_kind(),
            self.0.deleted,
            self.0.trial_ends_at.as_deref().map(time),
            now,
        )
        .into()
    }

    /// The stored kind; the views only ever write the two texts, and any
    /// other reads as permanent, as it always has.
    fn domain_kind(&self) -> aggregates::LicenseKind {
        self.0
            .kind
            .parse()
            .unwrap_or(aggregates::LicenseKind::Permanent)
    }
}

#[Object]
impl License {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn activation_key(&self, ctx: &Context<'_>) -> Result<ActivationKey> {
        key_row(ctx, &self.0.key_id).await
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Account> {
        owner(ctx, &self.0.owner_id).await
    }
    async fn product(&self, ctx: &Context<'_>) -> Product {
        product(ctx, &self.0.product)
    }
    async fn edition(&self, ctx: &Context<'_>) -> Edition {
        edition(ctx, &self.0.product, &self.0.edition)
    }
    async fn users(&self) -> i32 {
        clamp(self.0.users)
    }
    async fn kind(&self) -> LicenseKind {
        match self.domain_kind() {
            aggregates::LicenseKind::Trial => LicenseKind::Trial,
            aggregates::LicenseKind::Permanent => LicenseKind::Permanent,
        }
    }
    async fn status(&self) -> LicenseStatus {
        self.status_at(Utc::now())
    }
    /// Set for TRIAL licenses only.
    async fn trial_ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.trial_ends_at.as_deref().map(time)
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    /// Net credits this license has cost (refunds subtracted).
    async fn credits_spent(&self) -> i32 {
        clamp(self.0.credits_spent)
    }
    /// True while its activation key is activated on a device.
    async fn activated(&self) -> bool {
        self.0.activated
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(&self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(&self.0.updated_at)
    }
}

async fn key_row(ctx: &Context<'_>, id: &str) -> Result<ActivationKey> {
    app(ctx).known_key(id).await.map(ActivationKey).map_err(gql)
}

#[derive(Clone, Debug)]
pub struct Support(pub SupportRow);

#[Object]
impl Support {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn activation_key(&self, ctx: &Context<'_>) -> Result<ActivationKey> {
        key_row(ctx, &self.0.key_id).await
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Account> {
        owner(ctx, &self.0.owner_id).await
    }
    async fn product(&self, ctx: &Context<'_>) -> Product {
        product(ctx, &self.0.product)
    }
    async fn edition(&self, ctx: &Context<'_>) -> Edition {
        edition(ctx, &self.0.product, &self.0.edition)
    }
    async fn users(&self) -> i32 {
        clamp(self.0.users)
    }
    async fn starts_on(&self) -> Date {
        date(&self.0.starts_on)
    }
    /// The last day covered.
    async fn end_of_support(&self) -> Date {
        date(&self.0.end_of_support)
    }
    /// True when endOfSupport is before today.
    async fn expired(&self) -> bool {
        date(&self.0.end_of_support).0 < Utc::now().date_naive()
    }
    async fn credits_spent(&self) -> i32 {
        clamp(self.0.credits_spent)
    }
    /// The customer's email, set with editSupport.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(&self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(&self.0.updated_at)
    }
}

#[derive(Clone, Debug)]
pub struct ServiceSubscription(pub SubscriptionRow);

#[Object]
impl ServiceSubscription {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn activation_key(&self, ctx: &Context<'_>) -> Result<ActivationKey> {
        key_row(ctx, &self.0.key_id).await
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Account> {
        owner(ctx, &self.0.owner_id).await
    }
    async fn software(&self) -> Software {
        Software::RemoteSupport
    }
    /// Concurrent sessions the customer may hold at the same time.
    async fn channels(&self) -> i32 {
        clamp(self.0.channels)
    }
    async fn starts_on(&self) -> Date {
        date(&self.0.starts_on)
    }
    async fn ends_on(&self) -> Date {
        date(&self.0.ends_on)
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    async fn credits_spent(&self) -> i32 {
        clamp(self.0.credits_spent)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(&self.0.created_at)
    }
}

#[derive(Clone, Debug)]
pub struct CreditEntry(pub CreditEntryRow);

#[Object]
impl CreditEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        owner(ctx, &self.0.account_id).await
    }
    async fn at(&self) -> DateTime<Utc> {
        time(&self.0.at)
    }
    /// Positive: credits in. Negative: credits out.
    async fn amount(&self) -> i32 {
        clamp(self.0.amount)
    }
    async fn balance_after(&self) -> i32 {
        clamp(self.0.balance_after)
    }
    async fn reason(&self) -> async_graphql::Result<CreditReason> {
        self.0
            .reason
            .parse::<aggregates::CreditReason>()
            .map(CreditReason::from)
            .map_err(|e| {
                gql(crate::error::AppError::internal(
                    "a stored credit reason is unknown",
                    e,
                ))
            })
    }
    /// The grant's reference, or the id of the license, support, subscription or account it concerns.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }
    /// Who caused it.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        actor(ctx, self.0.actor_id.as_deref()).await
    }
    /// What it was for, in words: the product, edition, users or channels,
    /// months and key (with its name), or the other account of a transfer.
    async fn description(&self, ctx: &Context<'_>) -> String {
        app(ctx).credit_description(&self.0)
    }
}

/// The account behind an actor id, when the caller may see it.
async fn actor(ctx: &Context<'_>, id: Option<&str>) -> Result<Option<Account>> {
    let Some(id) = id else { return Ok(None) };
    let row = app(ctx)
        .visible_actor(maybe_caller(ctx), id)
        .await
        .map_err(gql)?;
    Ok(row.map(Account))
}

/// One stored event, as the audit trail shows it.
#[derive(Clone, Debug)]
pub struct Event(pub EventRow);

#[Object]
impl Event {
    async fn aggregate_type(&self) -> &str {
        &self.0.aggregate_type
    }
    async fn aggregate_id(&self) -> ID {
        ID(self.0.aggregate_id.clone())
    }
    /// Position of the event in its aggregate's stream, from 1.
    async fn sequence(&self) -> i32 {
        clamp(self.0.sequence)
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
    async fn at(&self) -> DateTime<Utc> {
        time(&self.0.at)
    }
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        actor(ctx, self.0.actor.as_deref()).await
    }
    /// Position of the event in the whole log.
    async fn global_position(&self) -> String {
        self.0.position.to_string()
    }
    /// Position in the global log, from 1, as a decimal string (it may pass 2^31).
    async fn position(&self) -> String {
        self.0.position.to_string()
    }
    /// SHA-256 over the previous event's hash and this event's canonical bytes.
    async fn hash(&self) -> Result<&str> {
        self.0.hash.as_deref().ok_or_else(|| {
            crate::graphql::gql(crate::error::AppError::Conflict(
                "this event is not in the hash chain yet; retry shortly".into(),
            ))
        })
    }
}

#[derive(SimpleObject)]
pub struct Quote {
    /// Credits the operation would cost.
    pub cost: i32,
    pub balance: i32,
    /// False when the balance does not cover the cost: the portal's warning.
    pub sufficient: bool,
}

#[derive(SimpleObject)]
pub struct Session {
    pub token: String,
    pub account: Account,
    pub expires_at: DateTime<Utc>,
}

/// What a product on a device receives: a license file it can check offline.
#[derive(SimpleObject)]
pub struct LicenseFile {
    /// The license document, JSON text: key, device, licenses, supports, subscriptions, issuedAt.
    pub payload: String,
    /// Ed25519 signature of payload's UTF-8 bytes, standard padded base64 (RFC 4648 section 4).
    pub signature: String,
    /// The vendor's Ed25519 public key: its raw 32 bytes in standard padded base64.
    pub public_key: String,
}

#[derive(SimpleObject)]
pub struct CreateResellerPayload {
    pub reseller: Account,
    /// The password, when the server generated it; shown this once.
    pub generated_password: Option<String>,
}
