//! Prices and periods: the arithmetic the license, support and subscription
//! rules share.

use crate::catalog::{Edition, Product};
use crate::error::DomainError;
use chrono::{Days, Months, NaiveDate};

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

/// Prices per unit before and after an upgrade, refusing anything that lowers.
pub(super) fn upgrade_prices(
    product: &Product,
    old_edition: &str,
    new_edition: &str,
    old_users: i64,
    new_users: i64,
    price: impl Fn(&Edition) -> i64,
) -> Result<(i64, i64), DomainError> {
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
    Ok((old_price, price(new)))
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
