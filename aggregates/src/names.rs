//! The text each domain value is stored and shown as: one `as_str` and one
//! `FromStr` per enum, so a view, a query or a page never spells the value
//! itself. The texts are the GraphQL enum values of the contract and the
//! values in the views' columns; `LicenseKind` also writes them into stored
//! events through serde, and the tests below hold the two together.

use crate::error::DomainError;
use crate::events::{CreditReason, LicenseKind};
use crate::ledger::Role;
use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;

/// A text that names no value of the enum it was read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{text}\" is not a {what}; expected one of {expected}")]
pub struct UnknownName {
    /// What was being read, e.g. "role".
    pub what: &'static str,
    pub text: String,
    /// The texts that would have been accepted, comma-separated.
    pub expected: String,
}

impl From<UnknownName> for DomainError {
    fn from(e: UnknownName) -> Self {
        DomainError::BadInput(e.to_string())
    }
}

/// For an enum of unit variants: `ALL`, `as_str`, `FromStr` and `Display`
/// from one table, so the text and its parsing cannot disagree.
macro_rules! names {
    ($ty:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order of its declaration here.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(text: &str) -> Result<Self, UnknownName> {
                match text {
                    $($text => Ok($ty::$variant),)+
                    _ => Err(UnknownName {
                        what: $what,
                        text: text.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(Role, "role" {
    Admin => "ADMIN",
    Partner => "PARTNER",
    Reseller => "RESELLER",
    Auditor => "AUDITOR",
});

names!(LicenseKind, "license kind" {
    Trial => "TRIAL",
    Permanent => "PERMANENT",
});

names!(CreditReason, "credit reason" {
    Grant => "GRANT",
    License => "LICENSE",
    LicenseUpgrade => "LICENSE_UPGRADE",
    LicenseRefund => "LICENSE_REFUND",
    Support => "SUPPORT",
    SupportUpgrade => "SUPPORT_UPGRADE",
    SupportExtension => "SUPPORT_EXTENSION",
    Subscription => "SUBSCRIPTION",
    TransferOut => "TRANSFER_OUT",
    TransferIn => "TRANSFER_IN",
    SubscriptionUpgrade => "SUBSCRIPTION_UPGRADE",
    SubscriptionExtension => "SUBSCRIPTION_EXTENSION",
});

/// Where a license stands at a moment. Not stored: the views keep the kind,
/// the deletion and the trial's end, and the status follows from the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LicenseStatus {
    /// A permanent license, not deleted.
    Active,
    /// A trial whose end is still ahead.
    Trial,
    TrialExpired,
    Deleted,
}

names!(LicenseStatus, "license status" {
    Active => "ACTIVE",
    Trial => "TRIAL",
    TrialExpired => "TRIAL_EXPIRED",
    Deleted => "DELETED",
});

impl LicenseStatus {
    /// Every status but `Deleted`: what a list shows unless asked otherwise.
    pub const LIVE: [LicenseStatus; 3] = [
        LicenseStatus::Active,
        LicenseStatus::Trial,
        LicenseStatus::TrialExpired,
    ];

    /// The status at `now` of a license of `kind`; a trial without an end is
    /// taken as expired.
    pub fn at(
        kind: LicenseKind,
        deleted: bool,
        trial_ends_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> LicenseStatus {
        if deleted {
            LicenseStatus::Deleted
        } else if kind == LicenseKind::Permanent {
            LicenseStatus::Active
        } else if trial_ends_at.is_some_and(|t| t > now) {
            LicenseStatus::Trial
        } else {
            LicenseStatus::TrialExpired
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn round_trip<T>(all: &[T])
    where
        T: FromStr<Err = UnknownName> + fmt::Display + PartialEq + fmt::Debug + Copy,
    {
        let mut texts = Vec::new();
        for value in all {
            let text = value.to_string();
            assert_eq!(text.parse::<T>(), Ok(*value), "{text}");
            texts.push(text);
        }
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), all.len(), "two values share a text");
    }

    #[test]
    fn every_value_reads_back_from_its_text() {
        round_trip(Role::ALL);
        round_trip(LicenseKind::ALL);
        round_trip(CreditReason::ALL);
        round_trip(LicenseStatus::ALL);
    }

    #[test]
    fn an_unknown_text_is_named_in_the_error() {
        let e = "trial".parse::<LicenseKind>().unwrap_err();
        assert_eq!(e.text, "trial");
        assert_eq!(e.what, "license kind");
        assert_eq!(
            e.to_string(),
            "\"trial\" is not a license kind; expected one of TRIAL, PERMANENT"
        );
        assert_eq!(
            DomainError::from(e),
            DomainError::BadInput(
                "\"trial\" is not a license kind; expected one of TRIAL, PERMANENT".into()
            )
        );
        assert!("".parse::<Role>().is_err());
        assert!("GRANTED".parse::<CreditReason>().is_err());
        assert!("EXPIRED".parse::<LicenseStatus>().is_err());
    }

    #[test]
    fn license_kinds_in_stored_events_use_the_same_text() {
        // Events in the log carry the serde name: it must stay the text.
        for kind in LicenseKind::ALL {
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: LicenseKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *kind);
        }
    }

    #[test]
    fn credit_movements_name_their_reason() {
        use crate::events::LedgerEvent;
        let grant = LedgerEvent::CreditsGranted {
            amount: 5,
            reference: "PO-1".into(),
            idempotency: None,
        };
        let movement = grant.credit_movement().unwrap();
        assert_eq!(movement.reason.as_str(), "GRANT");
    }

    #[test]
    fn a_license_status_follows_from_kind_deletion_and_clock() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let later = Some(now + Duration::days(1));
        let earlier = Some(now - Duration::days(1));
        use LicenseKind::*;
        use LicenseStatus as S;
        assert_eq!(LicenseStatus::at(Permanent, false, None, now), S::Active);
        assert_eq!(LicenseStatus::at(Trial, false, later, now), S::Trial);
        assert_eq!(
            LicenseStatus::at(Trial, false, earlier, now),
            S::TrialExpired
        );
        assert_eq!(
            LicenseStatus::at(Trial, false, Some(now), now),
            S::TrialExpired
        );
        assert_eq!(LicenseStatus::at(Trial, false, None, now), S::TrialExpired);
        assert_eq!(LicenseStatus::at(Trial, true, later, now), S::Deleted);
        assert_eq!(LicenseStatus::at(Permanent, true, None, now), S::Deleted);
        assert!(!LicenseStatus::LIVE.contains(&S::Deleted));
    }
}
