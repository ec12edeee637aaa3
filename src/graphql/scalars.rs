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
    Auditor,
}

impl From<aggregates::Role> for Role {
    fn from(r: aggregates::Role) -> Self {
        match r {
            aggregates::Role::Admin => Role::Admin,
            aggregates::Role::Partner => Role::Partner,
            aggregates::Role::Reseller => Role::Reseller,
            aggregates::Role::Auditor => Role::Auditor,
        }
    }
}

impl From<Role> for aggregates::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => aggregates::Role::Admin,
            Role::Partner => aggregates::Role::Partner,
            Role::Reseller => aggregates::Role::Reseller,
            Role::Auditor => aggregates::Role::Auditor,
        }
    }
}

impl Role {
    pub fn as_text(self) -> &'static str {
        aggregates::Role::from(self).as_str()
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

impl From<LicenseStatus> for aggregates::LicenseStatus {
    fn from(s: LicenseStatus) -> Self {
        match s {
            LicenseStatus::Active => aggregates::LicenseStatus::Active,
            LicenseStatus::Trial => aggregates::LicenseStatus::Trial,
            LicenseStatus::TrialExpired => aggregates::LicenseStatus::TrialExpired,
            LicenseStatus::Deleted => aggregates::LicenseStatus::Deleted,
        }
    }
}

impl From<aggregates::LicenseStatus> for LicenseStatus {
    fn from(s: aggregates::LicenseStatus) -> Self {
        match s {
            aggregates::LicenseStatus::Active => LicenseStatus::Active,
            aggregates::LicenseStatus::Trial => LicenseStatus::Trial,
            aggregates::LicenseStatus::TrialExpired => LicenseStatus::TrialExpired,
            aggregates::LicenseStatus::Deleted => LicenseStatus::Deleted,
        }
    }
}

impl LicenseStatus {
    pub fn as_text(self) -> &'static str {
        aggregates::LicenseStatus::from(self).as_str()
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

impl From<aggregates::CreditReason> for CreditReason {
    fn from(r: aggregates::CreditReason) -> Self {
        use aggregates::CreditReason as R;
        match r {
            R::Grant => CreditReason::Grant,
            R::License => CreditReason::License,
            R::LicenseUpgrade => CreditReason::LicenseUpgrade,
            R::LicenseRefund => CreditReason::LicenseRefund,
            R::Support => CreditReason::Support,
            R::SupportUpgrade => CreditReason::SupportUpgrade,
            R::SupportExtension => CreditReason::SupportExtension,
            R::Subscription => CreditReason::Subscription,
            R::SubscriptionUpgrade => CreditReason::SubscriptionUpgrade,
            R::SubscriptionExtension => CreditReason::SubscriptionExtension,
            R::TransferOut => CreditReason::TransferOut,
            R::TransferIn => CreditReason::TransferIn,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SupportOrder {
    EndOfSupportAsc,
    EndOfSupportDesc,
    CreatedDesc,
}
