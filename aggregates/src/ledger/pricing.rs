//! Prices and periods: the arithmetic the license, support and subscription
//! rules share.

use super::SupportState;
use crate::catalog::{Catalog, Edition, Product};
use crate::error::DomainError;
use crate::events::LicenseKind;
use crate::values;
use chrono::{DateTime, Days, Months, NaiveDate, Utc};

/// Last day of a period of `months` starting on `start`.
pub fn period_end(start: NaiveDate, months: u32) -> Option<NaiveDate> {
    start
        .checked_add_months(Months::new(months))?
        .checked_sub_days(Days::new(1))
}

/// The edition `code` of `product`; the error lists the ones it has.
pub(super) fn edition_of<'c>(product: &'c Product, code: &str) -> Result<&'c Edition, DomainError> {
    product.edition(code).ok_or_else(|| {
        DomainError::BadInput(format!(
            "{} has no edition \"{code}\"; it has {}",
            product.name,
            product
                .editions
                .iter()
                .map(|e| e.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// An upgrade of what holds `(users, edition)` now to the users and
/// edition asked (None: unchanged): the new users and edition, and how much
/// more the whole costs at `price` per user. Refuses anything that lowers
/// or changes nothing.
pub(super) fn raise(
    product: &Product,
    (old_users, old_edition): (i64, &str),
    (users, edition): (Option<i64>, Option<&String>),
    price: impl Fn(&Edition) -> i64,
) -> Result<(i64, String, i64), DomainError> {
    let new_users = users.unwrap_or(old_users);
    let new_edition = edition.map_or(old_edition, String::as_str);
    values::check_range(new_users, 1, values::MAX_USERS, "users")?;
    let new = edition_of(product, new_edition)?;
    let old_rank = product.rank(old_edition).unwrap_or(0);
    let new_rank = product.rank(new_edition).unwrap_or(0);
    if new_users < old_users {
        return Err(DomainError::BadInput(format!(
            "an upgrade never lowers users ({old_users} now, {new_users} asked)"
        )));
    }
    if new_rank < old_rank {
        return Err(DomainError::BadInput(format!(
            "an upgrade never moves to a lesser edition ({old_edition} now, {new_edition} asked)"
        )));
    }
    if new_users == old_users && new_rank == old_rank {
        return Err(DomainError::BadInput(
            "nothing to upgrade: give more users or a higher edition".into(),
        ));
    }
    let old_price = product.edition(old_edition).map(&price).unwrap_or(0);
    let difference = (new_users * price(new) - old_users * old_price).max(0);
    Ok((new_users, new_edition.to_string(), difference))
}

/// `months` if the catalog sells a `what` of that length.
pub(super) fn allowed_months(months: i64, allowed: &[u32], what: &str) -> Result<u32, DomainError> {
    match u32::try_from(months) {
        Ok(m) if allowed.contains(&m) => Ok(m),
        _ => Err(DomainError::BadInput(format!(
            "a {what} lasts one of {} months, not {months}",
            allowed
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// When a new license's trial ends and what the license costs: a trial is
/// free for its days, a permanent license costs its users at `price`.
pub(super) fn license_terms(
    kind: LicenseKind,
    trial_days: Option<i64>,
    users: i64,
    price: i64,
    now: DateTime<Utc>,
    catalog: &Catalog,
) -> Result<(Option<DateTime<Utc>>, i64), DomainError> {
    match (kind, trial_days) {
        (LicenseKind::Trial, None) => Err(DomainError::BadInput(
            "a trial license needs trialDays, its duration in days".into(),
        )),
        (LicenseKind::Trial, Some(days)) => {
            values::check_range(days, 1, catalog.max_trial_days.into(), "trialDays")?;
            Ok((Some(now + chrono::Duration::days(days)), 0))
        }
        (LicenseKind::Permanent, Some(_)) => Err(DomainError::BadInput(
            "a permanent license has no trialDays; leave it out".into(),
        )),
        (LicenseKind::Permanent, None) => Ok((None, users * price)),
    }
}

/// What an upgrade of a support costs for the days it still has to run, from
/// the increase of its monthly price.
pub(super) fn prorated_upgrade(
    monthly_difference: i64,
    starts_on: NaiveDate,
    end_of_support: NaiveDate,
    today: NaiveDate,
) -> i64 {
    let first_day = starts_on.max(today);
    let remaining_days = (end_of_support - first_day).num_days() + 1;
    // A month is a twelfth of a 365-day year; partial credits round up.
    (monthly_difference * remaining_days * 12 + 364) / 365
}

/// The first day an extension of `months` adds to `support` and its new last
/// day. An extension that follows on without a gap counts from the anchor.
pub(super) fn extension_period(
    support: &SupportState,
    months: u32,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), DomainError> {
    let cover = Cover {
        end: support.end_of_support,
        anchor: support.anchor,
        anchor_months: support.anchor_months,
    };
    cover
        .extended(months, today)
        .ok_or_else(|| DomainError::BadInput("the support would end too far in the future".into()))
}

/// A run of paid-for days (a support's or a subscription's) and where its
/// unbroken part began.
pub(super) struct Cover {
    pub end: NaiveDate,
    pub anchor: Option<NaiveDate>,
    pub anchor_months: u32,
}

impl Cover {
    /// The first day `months` more add and the new last day, or None when
    /// that is past the calendar's end.
    pub(super) fn extended(&self, months: u32, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let day_after = self.end.checked_add_days(Days::new(1)).unwrap_or(self.end);
        let period_starts_on = day_after.max(today);
        let follows_on = period_starts_on == day_after;
        let end = match self.anchor {
            Some(anchor) if follows_on => period_end(anchor, self.anchor_months + months),
            _ => period_end(period_starts_on, months),
        }?;
        Some((period_starts_on, end))
    }
}
