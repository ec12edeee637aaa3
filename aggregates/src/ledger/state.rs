//! What the ledger remembers of the things an account sold: enough to price
//! an upgrade, a refund or an extension without reading the views.

use crate::events::LicenseKind;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseState {
    pub key_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub kind: LicenseKind,
    pub credits_spent: i64,
    pub deleted: bool,
    /// A trial's end.
    #[serde(default)]
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// Whether its key was on a device when it was assigned, and how many
    /// times the key had been activated by then: a later activation means a
    /// license file with this license on it was issued.
    #[serde(default)]
    pub assigned_on_device: bool,
    #[serde(default)]
    pub key_activations_before: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportState {
    pub key_id: String,
    pub product: String,
    pub edition: String,
    pub users: i64,
    pub starts_on: NaiveDate,
    pub end_of_support: NaiveDate,
    /// First day of the current unbroken run of cover, and its months: an
    /// extension that follows on is counted from here, so buying 1 + 1 + 1
    /// months ends where buying 3 at once would (month ends do not drift).
    #[serde(default)]
    pub anchor: Option<NaiveDate>,
    #[serde(default)]
    pub anchor_months: u32,
}

/// What an extension or an added channel of a subscription is priced from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionState {
    pub key_id: String,
    pub software: String,
    pub channels: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// As for a support: the first day of the unbroken run and its months.
    pub anchor: NaiveDate,
    pub anchor_months: u32,
}
