//! Remote Support subscriptions: channels × monthly price × months.
//!
//! The shipped catalog prices a Remote Support channel at 4 credits a month.

mod common;

use aggregates::{DomainError, LedgerEvent, Role};
use common::*;

#[test]
fn a_subscription_costs_channels_times_price_times_months() {
    // (channels, months, endsOn, credits)
    let cases = [
        (3, 12, day(2026, 3, 9), 144),
        (1, 1, day(2025, 4, 9), 4),
        (10, 36, day(2028, 3, 9), 1440),
    ];
    for (channels, months, ends_on, credits) in cases {
        let order = subscription("sub1", channels, months);
        partner(partner_with(2000))
            .when(order.cmd())
            .then_expect_events(vec![order.created(ends_on, credits)]);
    }
}

#[test]
fn a_subscription_needs_every_credit_it_costs() {
    let order = subscription("sub1", 3, 12);
    partner(partner_with(144))
        .when(order.cmd())
        .then_expect_events(vec![order.created(day(2026, 3, 9), 144)]);
    partner(partner_with(143))
        .when(order.cmd())
        .then_expect_error(insufficient(144, 143));
}

#[test]
fn only_a_subscription_product_is_sold_as_a_subscription() {
    let order = SubscriptionOrder {
        software: RA.into(),
        ..subscription("sub1", 3, 12)
    };
    partner(partner_with(1000))
        .when(order.cmd())
        .then_expect_error(bad("Remote Access is not sold as a subscription"));
    let order = SubscriptionOrder {
        software: "NOPE".into(),
        ..subscription("sub1", 3, 12)
    };
    partner(partner_with(1000))
        .when(order.cmd())
        .then_expect_error(bad("there is no product \"NOPE\""));
}

#[test]
fn a_subscription_has_1_to_1000_channels() {
    for channels in [0, -1, 1001] {
        partner(partner_with(10_000))
            .when(subscription("sub1", channels, 1).cmd())
            .then_expect_error(out_of_range("channels", 1, 1000, channels));
    }
    let order = subscription("sub1", 1000, 1);
    partner(partner_with(10_000))
        .when(order.cmd())
        .then_expect_events(vec![order.created(day(2025, 4, 9), 4000)]);
}

#[test]
fn a_subscription_lasts_one_of_the_catalogs_lengths() {
    for months in [0, -12, 2, 18, 60] {
        partner(partner_with(10_000))
            .when(subscription("sub1", 1, months).cmd())
            .then_expect_error(bad(&format!(
                "a subscription lasts one of 1, 3, 6, 12, 24, 36 months, not {months}"
            )));
    }
}

#[test]
fn a_subscription_goes_on_one_of_the_sellers_keys() {
    let order = SubscriptionOrder {
        key_id: "k9".into(),
        ..subscription("sub1", 1, 1)
    };
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_error(not_found("no such activation key"));
}

#[test]
fn a_subscription_keeps_its_email_and_comment() {
    let order = SubscriptionOrder {
        email: Some("it@customer.example".into()),
        comment: Some("helpdesk".into()),
        ..subscription("sub1", 1, 1)
    };
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_events(vec![order.created(day(2025, 4, 9), 4)]);
    let order = SubscriptionOrder {
        email: Some("helpdesk".into()),
        ..subscription("sub1", 1, 1)
    };
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_error(bad("\"helpdesk\" is not a valid email address"));
}

/// BUG (aggregates/src/ledger.rs, `CreateSubscription` in `Ledger::decide`):
/// a subscription id already in use is not refused; the read side receives
/// two `SubscriptionCreated` for one id.
#[test]

fn a_subscription_id_is_used_once() {
    let first = subscription("sub1", 1, 1);
    let given: Vec<LedgerEvent> = and(partner_with(100), [first.created(day(2025, 4, 9), 4)]);
    let again = outcome_as(Role::Partner, given, first.cmd());
    assert!(
        matches!(again, Err(DomainError::Conflict(_))),
        "a second subscription took the id sub1: {again:?}"
    );
}
