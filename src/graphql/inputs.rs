//! The contract's input types.

use super::scalars::{Date, LicenseKind, LicenseStatus, Software};
use async_graphql::{ID, InputObject};

#[derive(InputObject, Clone, Debug)]
pub struct DateRange {
    /// Inclusive.
    pub from: Option<Date>,
    /// Inclusive.
    pub to: Option<Date>,
}

#[derive(InputObject, Clone, Debug, Default)]
pub struct LicenseFilter {
    pub owner_id: Option<ID>,
    pub activation_key_id: Option<ID>,
    pub product: Option<ID>,
    pub kind: Option<LicenseKind>,
    pub status: Option<Vec<LicenseStatus>>,
    /// Matches key, email or comment.
    pub search: Option<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct SupportFilter {
    pub owner_id: Option<ID>,
    /// For a partner: also its resellers' supports. Ignored for others.
    #[graphql(default_with = "Some(true)")]
    pub include_resellers: Option<bool>,
    pub product: Option<ID>,
    pub end_of_support: Option<DateRange>,
    pub expired: Option<bool>,
}

#[derive(InputObject, Clone, Debug)]
pub struct CreatePartnerInput {
    pub login: String,
    pub email: String,
    pub name: String,
    /// Null: the server generates one and returns it in the account's welcome email.
    pub password: Option<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct AssignLicenseInput {
    pub activation_key_id: ID,
    pub product: ID,
    pub edition: ID,
    pub users: i32,
    pub kind: LicenseKind,
    /// Required for TRIAL, refused for PERMANENT.
    pub trial_days: Option<i32>,
    pub email: Option<String>,
    pub comment: Option<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct AssignSupportInput {
    pub activation_key_id: ID,
    pub product: ID,
    pub edition: ID,
    pub users: i32,
    pub months: i32,
    /// Default: today.
    pub starts_on: Option<Date>,
}

#[derive(InputObject, Clone, Debug)]
pub struct CreateServiceSubscriptionInput {
    pub activation_key_id: ID,
    pub software: Software,
    pub channels: i32,
    pub months: i32,
    pub email: Option<String>,
    pub comment: Option<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct CreateResellerInput {
    pub login: String,
    pub email: String,
    pub name: String,
    /// Null: the server generates a strong one.
    pub password: Option<String>,
    /// Product codes the reseller may sell.
    pub products: Vec<ID>,
}

#[derive(InputObject, Clone, Debug)]
pub struct EditResellerInput {
    pub email: Option<String>,
    pub name: Option<String>,
    pub products: Option<Vec<ID>>,
}

/// What quote prices: exactly one of the fields is set.
#[derive(InputObject, Clone, Debug)]
pub struct QuoteInput {
    pub assign_license: Option<AssignLicenseInput>,
    pub upgrade_license: Option<UpgradeLicenseQuote>,
    pub assign_support: Option<AssignSupportInput>,
    pub upgrade_support: Option<UpgradeSupportQuote>,
    pub extend_support: Option<ExtendSupportQuote>,
    pub create_service_subscription: Option<CreateServiceSubscriptionInput>,
    pub extend_service_subscription: Option<ExtendServiceSubscriptionQuote>,
    pub upgrade_service_subscription: Option<UpgradeServiceSubscriptionQuote>,
}

#[derive(InputObject, Clone, Debug)]
pub struct ExtendServiceSubscriptionQuote {
    pub id: ID,
    pub months: i32,
}

#[derive(InputObject, Clone, Debug)]
pub struct UpgradeServiceSubscriptionQuote {
    pub id: ID,
    pub channels: i32,
}

#[derive(InputObject, Clone, Debug)]
pub struct UpgradeLicenseQuote {
    pub id: ID,
    pub users: Option<i32>,
    pub edition: Option<ID>,
}

#[derive(InputObject, Clone, Debug)]
pub struct UpgradeSupportQuote {
    pub id: ID,
    pub users: Option<i32>,
    pub edition: Option<ID>,
}

#[derive(InputObject, Clone, Debug)]
pub struct ExtendSupportQuote {
    pub id: ID,
    pub months: i32,
}

pub fn software_code(_s: Software) -> String {
    "REMOTE_SUPPORT".to_string()
}

impl From<AssignLicenseInput> for crate::app::AssignLicense {
    fn from(i: AssignLicenseInput) -> Self {
        crate::app::AssignLicense {
            key_id: i.activation_key_id.0,
            product: i.product.0,
            edition: i.edition.0,
            users: i.users.into(),
            kind: i.kind.into(),
            trial_days: i.trial_days.map(i64::from),
            email: i.email,
            comment: i.comment,
        }
    }
}

impl From<AssignSupportInput> for crate::app::AssignSupport {
    fn from(i: AssignSupportInput) -> Self {
        crate::app::AssignSupport {
            key_id: i.activation_key_id.0,
            product: i.product.0,
            edition: i.edition.0,
            users: i.users.into(),
            months: i.months.into(),
            starts_on: i.starts_on.map(|d| d.0),
        }
    }
}

impl From<CreateServiceSubscriptionInput> for crate::app::CreateSubscription {
    fn from(i: CreateServiceSubscriptionInput) -> Self {
        crate::app::CreateSubscription {
            key_id: i.activation_key_id.0,
            software: software_code(i.software),
            channels: i.channels.into(),
            months: i.months.into(),
            email: i.email,
            comment: i.comment,
        }
    }
}
