//! The contract's scalars and enums, and the conversions between the API's
//! values and the stored ones.

use async_graphql::{Enum, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDate, Utc};

/// An ISO day, "2026-11-28".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            // chrono accepts "2026-1-5"; the contract's form is the padded one.
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|d| d.format("%Y-%m-%d").to_string() == *s)
                .map(Date)
                .ok_or_else(|| {
                    InputValueError::custom(format!("\"{s}\" is not a date like 2026-11-28"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

pub fn date(text: &str) -> Date {
    Date(projections::db::parse_date(text).unwrap_or_default())
}

pub fn time(text: &str) -> DateTime<Utc> {
    projections::db::parse_time(text).unwrap_or_default()
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Role {
    Admin,
    Partner,
    Reseller,
}

impl From<aggregates::Role> for Role {
    fn from(r: aggregates::Role) -> Self {
        match r {
            aggregates::Role::Admin => Role::Admin,
            aggregates::Role::Partner => Role::Partner,
            aggregates::Role::Reseller => Role::Reseller,
        }
    }
}

impl Role {
    pub fn as_text(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Partner => "PARTNER",
            Role::Reseller => "RESELLER",
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum LicenseKind {
    Trial,
    Permanent,
}

impl From<LicenseKind> for aggregates::LicenseKind {
    fn from(k: LicenseKind) -> Self {
        match k {
            LicenseKind::Trial => aggregates::LicenseKind::Trial,
            LicenseKind::Permanent => aggregates::LicenseKind::Permanent,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum LicenseStatus {
    /// A permanent license, not deleted.
    Active,
    /// A trial whose trialEndsAt is in the future.
    Trial,
    TrialExpired,
    Deleted,
}

impl LicenseStatus {
    pub fn as_text(self) -> &'static str {
        match self {
            LicenseStatus::Active => "ACTIVE",
            LicenseStatus::Trial => "TRIAL",
            LicenseStatus::TrialExpired => "TRIAL_EXPIRED",
            LicenseStatus::Deleted => "DELETED",
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Software {
    RemoteSupport,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CreditReason {
    Grant,
    License,
    LicenseUpgrade,
    LicenseRefund,
    Support,
    SupportUpgrade,
    SupportExtension,
    Subscription,
    TransferOut,
    TransferIn,
    SubscriptionUpgrade,
    SubscriptionExtension,
}

impl CreditReason {
    pub fn from_text(text: &str) -> CreditReason {
        match text {
            "GRANT" => CreditReason::Grant,
            "LICENSE" => CreditReason::License,
            "LICENSE_UPGRADE" => CreditReason::LicenseUpgrade,
            "LICENSE_REFUND" => CreditReason::LicenseRefund,
            "SUPPORT" => CreditReason::Support,
            "SUPPORT_UPGRADE" => CreditReason::SupportUpgrade,
            "SUPPORT_EXTENSION" => CreditReason::SupportExtension,
            "SUBSCRIPTION" => CreditReason::Subscription,
            "TRANSFER_OUT" => CreditReason::TransferOut,
            "SUBSCRIPTION_UPGRADE" => CreditReason::SubscriptionUpgrade,
            "SUBSCRIPTION_EXTENSION" => CreditReason::SubscriptionExtension,
            _ => CreditReason::TransferIn,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SupportOrder {
    EndOfSupportAsc,
    EndOfSupportDesc,
    CreatedDesc,
}
