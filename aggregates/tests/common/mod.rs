//! What the domain tests share: the shipped catalog, a `TestFramework` for each
//! aggregate, and small constructors for events, commands and errors, so that
//! each test reads as one rule of the ledger.
//!
//! Every test file uses only part of this module.
#![allow(dead_code)]

use aggregates::catalog::DEFAULT_CATALOG;
use aggregates::{
    Admin, Catalog, DomainError, Idempotency, LedgerCommand, LedgerEvent, LedgerServices,
    LicenseKind, Partner, Reseller, Role,
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use cqrs_es::Aggregate;
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use std::sync::Arc;

// ---------------------------------------------------------------------------
// The catalog and the frameworks
// ---------------------------------------------------------------------------

pub const RA: &str = "REMOTE_ACCESS";
pub const AS: &str = "ADVANCED_SECURITY";
pub const SM: &str = "SERVER_MONITORING";
pub const TF: &str = "TWO_FACTOR";
pub const RS: &str = "REMOTE_SUPPORT";

pub const PARTNER_ID: &str = "partner-1";
pub const RESELLER_ID: &str = "reseller-1";
pub const KEY_CODE: &str = "ABCD-1234-EFGH-5678";

pub fn catalog() -> Catalog {
    Catalog::parse(DEFAULT_CATALOG).expect("the shipped catalog parses")
}

pub fn services() -> LedgerServices {
    LedgerServices {
        catalog: Arc::new(catalog()),
    }
}

/// A Partner aggregate that has seen `given`.
pub fn partner(given: Vec<LedgerEvent>) -> AggregateTestExecutor<Partner> {
    TestFramework::<Partner>::with(services()).given(given)
}

/// A Reseller aggregate that has seen `given`.
pub fn reseller(given: Vec<LedgerEvent>) -> AggregateTestExecutor<Reseller> {
    TestFramework::<Reseller>::with(services()).given(given)
}

/// An Admin aggregate that has seen `given`.
pub fn admin(given: Vec<LedgerEvent>) -> AggregateTestExecutor<Admin> {
    TestFramework::<Admin>::with(services()).given(given)
}

/// What `command` gives on an aggregate of type `A` that has seen `given`.
pub fn outcome<A>(
    given: Vec<LedgerEvent>,
    command: LedgerCommand,
) -> Result<Vec<LedgerEvent>, DomainError>
where
    A: Aggregate<
            Command = LedgerCommand,
            Event = LedgerEvent,
            Error = DomainError,
            Services = LedgerServices,
        >,
{
    TestFramework::<A>::with(services())
        .given(given)
        .when(command)
        .inspect_result()
}

/// What `command` gives on the aggregate of `role` that has seen `given`.
pub fn outcome_as(
    role: Role,
    given: Vec<LedgerEvent>,
    command: LedgerCommand,
) -> Result<Vec<LedgerEvent>, DomainError> {
    match role {
        Role::Partner => outcome::<Partner>(given, command),
        Role::Reseller => outcome::<Reseller>(given, command),
        // An auditor's stream is of the Admin aggregate type.
        Role::Admin | Role::Auditor => outcome::<Admin>(given, command),
    }
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

pub fn day(year: i32, month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, d).expect("a valid date")
}

/// The day most tests run on.
pub fn today() -> NaiveDate {
    day(2025, 3, 10)
}

/// 10:00 UTC on `today()`.
pub fn now() -> DateTime<Utc> {
    at(today())
}

/// 10:00 UTC on `date`.
pub fn at(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(10, 0, 0).expect("a valid time"))
}

// ---------------------------------------------------------------------------
// Errors, as `Ledger::decide` words them
// ---------------------------------------------------------------------------

pub fn bad(message: &str) -> DomainError {
    DomainError::BadInput(message.to_string())
}

pub fn not_found(message: &str) -> DomainError {
    DomainError::NotFound(message.to_string())
}

pub fn conflict(message: &str) -> DomainError {
    DomainError::Conflict(message.to_string())
}

pub fn forbidden(message: &str) -> DomainError {
    DomainError::Forbidden(message.to_string())
}

pub fn insufficient(required: i64, balance: i64) -> DomainError {
    DomainError::InsufficientCredits { required, balance }
}

/// A partner holding exactly `price` credits is answered `accepted` to
/// `command`; one holding a credit less is refused with the figures.
pub fn needs_every_credit(command: LedgerCommand, price: i64, accepted: LedgerEvent) {
    partner(partner_with(price))
        .when(command.clone())
        .then_expect_events(vec![accepted]);
    partner(partner_with(price - 1))
        .when(command)
        .then_expect_error(insufficient(price, price - 1));
}

/// The refusal of a command that belongs to another role.
pub fn wrong_role(role: Role) -> DomainError {
    forbidden(match role {
        Role::Admin => "an administrator cannot do this",
        Role::Partner => "a partner cannot do this",
        Role::Reseller => "a reseller cannot do this",
        Role::Auditor => "an auditor cannot do this",
    })
}

pub fn out_of_range(what: &str, min: i64, max: i64, value: i64) -> DomainError {
    bad(&format!(
        "{what} must be between {min} and {max}, not {value}"
    ))
}

pub fn idem(key: &str, fingerprint: &str) -> Option<Idempotency> {
    Some(Idempotency {
        key: key.to_string(),
        fingerprint: fingerprint.to_string(),
        sender: None,
    })
}

// ---------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------

pub fn register_partner() -> LedgerCommand {
    LedgerCommand::RegisterPartner {
        login: "acme".into(),
        email: "sales@acme.example".into(),
        name: "Acme".into(),
    }
}

pub fn partner_registered() -> LedgerEvent {
    LedgerEvent::PartnerRegistered {
        login: "acme".into(),
        email: "sales@acme.example".into(),
        name: "Acme".into(),
    }
}

pub fn register_admin() -> LedgerCommand {
    LedgerCommand::RegisterAdmin {
        login: "root".into(),
        email: "root@vendor.example".into(),
        name: "Vendor".into(),
    }
}

pub fn admin_registered() -> LedgerEvent {
    LedgerEvent::AdminRegistered {
        login: "root".into(),
        email: "root@vendor.example".into(),
        name: "Vendor".into(),
    }
}

pub fn register_reseller(products: &[&str]) -> LedgerCommand {
    LedgerCommand::RegisterReseller {
        partner_id: PARTNER_ID.into(),
        login: "shop".into(),
        email: "shop@example.com".into(),
        name: "Shop".into(),
        products: strings(products),
    }
}

pub fn reseller_registered(products: &[&str]) -> LedgerEvent {
    LedgerEvent::ResellerRegistered {
        partner_id: PARTNER_ID.into(),
        login: "shop".into(),
        email: "shop@example.com".into(),
        name: "Shop".into(),
        products: strings(products),
    }
}

/// The registration event of an account of `role`.
pub fn registered(role: Role) -> LedgerEvent {
    match role {
        Role::Admin | Role::Auditor => admin_registered(),
        Role::Partner => partner_registered(),
        Role::Reseller => reseller_registered(&[RA, AS, SM, TF, RS]),
    }
}

pub fn add_reseller(reseller_id: &str) -> LedgerCommand {
    LedgerCommand::AddReseller {
        reseller_id: reseller_id.into(),
    }
}

pub fn reseller_added(reseller_id: &str) -> LedgerEvent {
    LedgerEvent::ResellerAdded {
        reseller_id: reseller_id.into(),
    }
}

pub fn edit_reseller_products(products: &[&str]) -> LedgerCommand {
    LedgerCommand::EditReseller {
        email: None,
        name: None,
        products: Some(strings(products)),
    }
}

pub fn reseller_products_edited(products: &[&str]) -> LedgerEvent {
    LedgerEvent::ResellerProfileEdited {
        email: None,
        name: None,
        products: Some(strings(products)),
    }
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// Credits
// ---------------------------------------------------------------------------

pub fn grant(amount: i64, reference: &str) -> LedgerCommand {
    LedgerCommand::GrantCredits {
        amount,
        reference: reference.into(),
        idempotency: None,
    }
}

pub fn granted_ref(amount: i64, reference: &str) -> LedgerEvent {
    LedgerEvent::CreditsGranted {
        amount,
        reference: reference.into(),
        idempotency: None,
    }
}

/// A grant of `amount` credits (its reference is "grant-<amount>").
pub fn granted(amount: i64) -> LedgerEvent {
    granted_ref(amount, &format!("grant-{amount}"))
}

pub fn transfer(transfer_id: &str, reseller_id: &str, amount: i64) -> LedgerCommand {
    LedgerCommand::TransferOut {
        transfer_id: transfer_id.into(),
        reseller_id: reseller_id.into(),
        amount,
        idempotency: None,
    }
}

pub fn transferred_out(transfer_id: &str, reseller_id: &str, amount: i64) -> LedgerEvent {
    LedgerEvent::CreditsTransferredOut {
        transfer_id: transfer_id.into(),
        reseller_id: reseller_id.into(),
        amount,
        idempotency: None,
    }
}

pub fn receive(transfer_id: &str, partner_id: &str, amount: i64) -> LedgerCommand {
    LedgerCommand::ReceiveTransfer {
        transfer_id: transfer_id.into(),
        partner_id: partner_id.into(),
        amount,
    }
}

/// Credits from `PARTNER_ID` arrived on the reseller.
pub fn transferred_in(transfer_id: &str, amount: i64) -> LedgerEvent {
    LedgerEvent::CreditsTransferredIn {
        transfer_id: transfer_id.into(),
        partner_id: PARTNER_ID.into(),
        amount,
    }
}

// ---------------------------------------------------------------------------
// Activation keys
// ---------------------------------------------------------------------------

pub fn create_key(key_id: &str, code: &str) -> LedgerCommand {
    LedgerCommand::CreateActivationKey {
        key_id: key_id.into(),
        name: format!("Key {key_id}"),
        key: code.into(),
    }
}

/// The activation key `key_id` exists (named "Key <id>", code `KEY_CODE`).
pub fn key(key_id: &str) -> LedgerEvent {
    LedgerEvent::ActivationKeyCreated {
        key_id: key_id.into(),
        name: format!("Key {key_id}"),
        key: KEY_CODE.into(),
    }
}

pub fn activate(key_id: &str, fingerprint: &str) -> LedgerCommand {
    LedgerCommand::ActivateKey {
        key_id: key_id.into(),
        fingerprint: fingerprint.into(),
        device_name: Some("Front desk".into()),
    }
}

pub fn activated(key_id: &str, fingerprint: &str) -> LedgerEvent {
    LedgerEvent::KeyActivated {
        key_id: key_id.into(),
        fingerprint: fingerprint.into(),
        device_name: Some("Front desk".into()),
    }
}

pub fn deactivate(key_id: &str, fingerprint: &str) -> LedgerCommand {
    LedgerCommand::DeactivateKey {
        key_id: key_id.into(),
        fingerprint: fingerprint.into(),
        now: now(),
    }
}

/// The key left its device; the device's license file is valid until `until`.
pub fn deactivated_until(
    key_id: &str,
    fingerprint: &str,
    until: Option<DateTime<Utc>>,
) -> LedgerEvent {
    LedgerEvent::KeyDeactivated {
        key_id: key_id.into(),
        fingerprint: fingerprint.into(),
        files_valid_until: until,
    }
}

pub fn deactivated(key_id: &str, fingerprint: &str) -> LedgerEvent {
    LedgerEvent::KeyDeactivated {
        key_id: key_id.into(),
        fingerprint: fingerprint.into(),
        files_valid_until: Some(now() + Duration::days(aggregates::ledger::LICENSE_FILE_DAYS)),
    }
}

// ---------------------------------------------------------------------------
// Fixtures: a registered seller with credits and one key "k1"
// ---------------------------------------------------------------------------

/// A partner with `credits` granted and the activation key "k1".
pub fn partner_with(credits: i64) -> Vec<LedgerEvent> {
    let mut events = vec![partner_registered()];
    if credits > 0 {
        events.push(granted(credits));
    }
    events.push(key("k1"));
    events
}

/// A reseller that may sell `products`, with `credits` from its partner and
/// the activation key "k1".
pub fn reseller_with(products: &[&str], credits: i64) -> Vec<LedgerEvent> {
    let mut events = vec![reseller_registered(products)];
    if credits > 0 {
        events.push(transferred_in("t0", credits));
    }
    events.push(key("k1"));
    events
}

/// `a` followed by `b`.
pub fn and(mut a: Vec<LedgerEvent>, b: impl IntoIterator<Item = LedgerEvent>) -> Vec<LedgerEvent> {
    a.extend(b);
    a
}

// ---------------------------------------------------------------------------
// Licenses
// ---------------------------------------------------------------------------

/// An `AssignLicense` command, built field by field so a test can change one:
/// `LicenseOrder { users: 0, ..permanent("l1", RA, "DESKTOP", 5) }`.
#[derive(Debug, Clone)]
pub struct LicenseOrder {
    pub license_id: String,
    pub key_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub kind: LicenseKind,
    pub trial_days: Option<i64>,
    pub email: Option<String>,
    pub comment: Option<String>,
    pub now: DateTime<Utc>,
    pub idempotency: Option<Idempotency>,
}

/// A permanent license on key "k1", ordered at `now()`.
pub fn permanent(license_id: &str, product: &str, edition: &str, users: i64) -> LicenseOrder {
    LicenseOrder {
        license_id: license_id.into(),
        key_id: "k1".into(),
        product: product.into(),
        edition: edition.into(),
        users,
        kind: LicenseKind::Permanent,
        trial_days: None,
        email: None,
        comment: None,
        now: now(),
        idempotency: None,
    }
}

/// A trial license of `days` days on key "k1", ordered at `now()`.
pub fn trial(
    license_id: &str,
    product: &str,
    edition: &str,
    users: i64,
    days: i64,
) -> LicenseOrder {
    LicenseOrder {
        kind: LicenseKind::Trial,
        trial_days: Some(days),
        ..permanent(license_id, product, edition, users)
    }
}

impl LicenseOrder {
    pub fn cmd(&self) -> LedgerCommand {
        LedgerCommand::AssignLicense {
            license_id: self.license_id.clone(),
            key_id: self.key_id.clone(),
            product: self.product.clone(),
            edition: self.edition.clone(),
            users: self.users,
            kind: self.kind,
            trial_days: self.trial_days,
            email: self.email.clone(),
            comment: self.comment.clone(),
            now: self.now,
            idempotency: self.idempotency.clone(),
        }
    }

    /// The event of this order accepted for `credits`.
    pub fn assigned(&self, credits: i64) -> LedgerEvent {
        LedgerEvent::LicenseAssigned {
            license_id: self.license_id.clone(),
            key_id: self.key_id.clone(),
            product: self.product.clone(),
            edition: self.edition.clone(),
            users: self.users,
            kind: self.kind,
            trial_ends_at: self.trial_days.map(|d| self.now + Duration::days(d)),
            email: self.email.clone(),
            comment: self.comment.clone(),
            credits,
            idempotency: self.idempotency.clone(),
        }
    }
}

pub fn upgrade_license(
    license_id: &str,
    users: Option<i64>,
    edition: Option<&str>,
) -> LedgerCommand {
    LedgerCommand::UpgradeLicense {
        license_id: license_id.into(),
        users,
        edition: edition.map(str::to_string),
        idempotency: None,
    }
}

pub fn license_upgraded(license_id: &str, users: i64, edition: &str, credits: i64) -> LedgerEvent {
    LedgerEvent::LicenseUpgraded {
        license_id: license_id.into(),
        users,
        edition: edition.into(),
        credits,
        idempotency: None,
    }
}

pub fn edit_license(license_id: &str, email: Option<&str>, comment: Option<&str>) -> LedgerCommand {
    LedgerCommand::EditLicense {
        license_id: license_id.into(),
        email: email.map(str::to_string),
        comment: comment.map(str::to_string),
    }
}

pub fn license_edited(license_id: &str, email: Option<&str>, comment: Option<&str>) -> LedgerEvent {
    LedgerEvent::LicenseEdited {
        license_id: license_id.into(),
        email: email.map(str::to_string),
        comment: comment.map(str::to_string),
    }
}

pub fn delete_license(license_id: &str) -> LedgerCommand {
    LedgerCommand::DeleteLicense {
        license_id: license_id.into(),
        now: now(),
        idempotency: None,
    }
}

pub fn license_deleted(license_id: &str, refund: i64) -> LedgerEvent {
    LedgerEvent::LicenseDeleted {
        license_id: license_id.into(),
        refund,
        idempotency: None,
    }
}

// ---------------------------------------------------------------------------
// Support
// ---------------------------------------------------------------------------

/// An `AssignSupport` command, built like `LicenseOrder`.
#[derive(Debug, Clone)]
pub struct SupportOrder {
    pub support_id: String,
    pub key_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub months: i64,
    pub starts_on: Option<NaiveDate>,
    pub today: NaiveDate,
    pub idempotency: Option<Idempotency>,
}

/// Support on key "k1" from `today()`.
pub fn support(
    support_id: &str,
    product: &str,
    edition: &str,
    users: i64,
    months: i64,
) -> SupportOrder {
    SupportOrder {
        support_id: support_id.into(),
        key_id: "k1".into(),
        product: product.into(),
        edition: edition.into(),
        users,
        months,
        starts_on: None,
        today: today(),
        idempotency: None,
    }
}

impl SupportOrder {
    pub fn cmd(&self) -> LedgerCommand {
        LedgerCommand::AssignSupport {
            support_id: self.support_id.clone(),
            key_id: self.key_id.clone(),
            product: self.product.clone(),
            edition: self.edition.clone(),
            users: self.users,
            months: self.months,
            starts_on: self.starts_on,
            today: self.today,
            idempotency: self.idempotency.clone(),
        }
    }

    /// The event of this order accepted, ending on `end_of_support`, for `credits`.
    pub fn assigned(&self, end_of_support: NaiveDate, credits: i64) -> LedgerEvent {
        LedgerEvent::SupportAssigned {
            support_id: self.support_id.clone(),
            key_id: self.key_id.clone(),
            product: self.product.clone(),
            edition: self.edition.clone(),
            users: self.users,
            months: u32::try_from(self.months).expect("a valid number of months"),
            starts_on: self.starts_on.unwrap_or(self.today),
            end_of_support,
            credits,
            idempotency: self.idempotency.clone(),
        }
    }
}

pub fn upgrade_support(
    support_id: &str,
    users: Option<i64>,
    edition: Option<&str>,
    today: NaiveDate,
) -> LedgerCommand {
    LedgerCommand::UpgradeSupport {
        support_id: support_id.into(),
        users,
        edition: edition.map(str::to_string),
        today,
        idempotency: None,
    }
}

pub fn support_upgraded(support_id: &str, users: i64, edition: &str, credits: i64) -> LedgerEvent {
    LedgerEvent::SupportUpgraded {
        support_id: support_id.into(),
        users,
        edition: edition.into(),
        credits,
        idempotency: None,
    }
}

pub fn extend_support(support_id: &str, months: i64, today: NaiveDate) -> LedgerCommand {
    LedgerCommand::ExtendSupport {
        support_id: support_id.into(),
        months,
        today,
        idempotency: None,
    }
}

pub fn support_extended(
    support_id: &str,
    months: u32,
    period_starts_on: NaiveDate,
    end_of_support: NaiveDate,
    credits: i64,
) -> LedgerEvent {
    LedgerEvent::SupportExtended {
        support_id: support_id.into(),
        months,
        period_starts_on,
        end_of_support,
        credits,
        idempotency: None,
    }
}

// ---------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------

/// A `CreateSubscription` command, built like `LicenseOrder`.
#[derive(Debug, Clone)]
pub struct SubscriptionOrder {
    pub subscription_id: String,
    pub key_id: String,
    pub software: String,
    pub channels: i64,
    pub months: i64,
    pub email: Option<String>,
    pub comment: Option<String>,
    pub today: NaiveDate,
    pub idempotency: Option<Idempotency>,
}

/// A Remote Support subscription on key "k1" from `today()`.
pub fn subscription(subscription_id: &str, channels: i64, months: i64) -> SubscriptionOrder {
    SubscriptionOrder {
        subscription_id: subscription_id.into(),
        key_id: "k1".into(),
        software: RS.into(),
        channels,
        months,
        email: None,
        comment: None,
        today: today(),
        idempotency: None,
    }
}

impl SubscriptionOrder {
    pub fn cmd(&self) -> LedgerCommand {
        LedgerCommand::CreateSubscription {
            subscription_id: self.subscription_id.clone(),
            key_id: self.key_id.clone(),
            software: self.software.clone(),
            channels: self.channels,
            months: self.months,
            email: self.email.clone(),
            comment: self.comment.clone(),
            today: self.today,
            idempotency: self.idempotency.clone(),
        }
    }

    /// The event of this order accepted, ending on `ends_on`, for `credits`.
    pub fn created(&self, ends_on: NaiveDate, credits: i64) -> LedgerEvent {
        LedgerEvent::SubscriptionCreated {
            subscription_id: self.subscription_id.clone(),
            key_id: self.key_id.clone(),
            software: self.software.clone(),
            channels: self.channels,
            months: u32::try_from(self.months).expect("a valid number of months"),
            starts_on: self.today,
            ends_on,
            email: self.email.clone(),
            comment: self.comment.clone(),
            credits,
            idempotency: self.idempotency.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// One command of each kind
// ---------------------------------------------------------------------------

/// One well-formed command of every kind but registration, named.
pub fn every_account_command() -> Vec<(&'static str, LedgerCommand)> {
    let mut commands = vec![
        ("AddReseller", add_reseller(RESELLER_ID)),
        ("EditReseller", edit_reseller_products(&[RA])),
        ("GrantCredits", grant(100, "invoice-1")),
        ("TransferOut", transfer("t1", RESELLER_ID, 10)),
        ("ReceiveTransfer", receive("t1", PARTNER_ID, 10)),
    ];
    commands.extend(every_seller_command());
    commands
}

/// One well-formed command of every kind a partner or reseller may sell with.
pub fn every_seller_command() -> Vec<(&'static str, LedgerCommand)> {
    vec![
        ("CreateActivationKey", create_key("k2", KEY_CODE)),
        ("AssignLicense", permanent("l1", RA, "DESKTOP", 1).cmd()),
        ("UpgradeLicense", upgrade_license("l1", Some(2), None)),
        ("EditLicense", edit_license("l1", None, Some("note"))),
        ("DeleteLicense", delete_license("l1")),
        ("AssignSupport", support("s1", RA, "DESKTOP", 1, 1).cmd()),
        (
            "UpgradeSupport",
            upgrade_support("s1", Some(2), None, today()),
        ),
        ("ExtendSupport", extend_support("s1", 1, today())),
        ("CreateSubscription", subscription("sub1", 1, 1).cmd()),
        ("ActivateKey", activate("k1", "device-a")),
        ("DeactivateKey", deactivate("k1", "device-a")),
    ]
}
