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
    needs_every_credit(order.cmd(), 144, order.created(day(2026, 3, 9), 144));
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

// --- Extending and adding channels -------------------------------------------

/// Partner with 1000 credits and "sub1": 3 channels for 12 months from today
/// (144 credits), ending 2026-03-09.
fn with_sub1() -> Vec<LedgerEvent> {
    let order = subscription("sub1", 3, 12);
    and(partner_with(1000), [order.created(day(2026, 3, 9), 144)])
}

fn extend(months: i64, today: chrono::NaiveDate) -> aggregates::LedgerCommand {
    aggregates::LedgerCommand::ExtendSubscription {
        subscription_id: "sub1".into(),
        months,
        today,
        idempotency: None,
    }
}

fn extended(
    months: u32,
    period_starts_on: chrono::NaiveDate,
    ends_on: chrono::NaiveDate,
    credits: i64,
) -> LedgerEvent {
    LedgerEvent::SubscriptionExtended {
        subscription_id: "sub1".into(),
        months,
        period_starts_on,
        ends_on,
        credits,
        idempotency: None,
    }
}

fn raise(channels: i64, today: chrono::NaiveDate) -> aggregates::LedgerCommand {
    aggregates::LedgerCommand::UpgradeSubscription {
        subscription_id: "sub1".into(),
        channels,
        today,
        idempotency: None,
    }
}

#[test]
fn an_extension_follows_on_and_costs_channels_times_price_times_months() {
    partner(with_sub1())
        .when(extend(6, today()))
        .then_expect_events(vec![extended(6, day(2026, 3, 10), day(2026, 9, 9), 72)]);
}

#[test]
fn an_ended_subscription_is_extended_from_today() {
    partner(with_sub1())
        .when(extend(1, day(2026, 5, 1)))
        .then_expect_events(vec![extended(1, day(2026, 5, 1), day(2026, 5, 31), 12)]);
}

#[test]
fn extensions_one_after_another_end_where_one_long_one_would() {
    // 12 + 1 + 1 months from 2025-03-10 end on 2026-05-09, where 14 months
    // bought at once would: month ends never drift.
    let given = and(
        with_sub1(),
        [extended(1, day(2026, 3, 10), day(2026, 4, 9), 12)],
    );
    partner(given)
        .when(extend(1, today()))
        .then_expect_events(vec![extended(1, day(2026, 4, 10), day(2026, 5, 9), 12)]);
}

#[test]
fn an_extension_lasts_one_of_the_catalogs_lengths_and_needs_its_credits() {
    partner(with_sub1())
        .when(extend(2, today()))
        .then_expect_error(bad(
            "a subscription lasts one of 1, 3, 6, 12, 24, 36 months, not 2",
        ));
    // 1000 - 144 = 856 left; 36 months of 3 channels cost 432, 2 × that does not fit.
    let given = and(
        with_sub1(),
        [extended(36, day(2026, 3, 10), day(2029, 3, 9), 432)],
    );
    partner(given)
        .when(extend(36, today()))
        .then_expect_error(insufficient(432, 424));
}

#[test]
fn more_channels_cost_the_difference_for_the_days_left() {
    // 2 more channels × 4 credits = 8 a month, for the whole year: 96.
    partner(with_sub1())
        .when(raise(5, today()))
        .then_expect_events(vec![LedgerEvent::SubscriptionUpgraded {
            subscription_id: "sub1".into(),
            channels: 5,
            credits: 96,
            idempotency: None,
        }]);
}

#[test]
fn channels_are_only_raised_on_a_running_subscription() {
    partner(with_sub1())
        .when(raise(5, day(2026, 3, 10)))
        .then_expect_error(bad(
            "this subscription has ended; extend it before adding channels",
        ));
}

#[test]
fn channels_are_never_lowered_and_must_change() {
    partner(with_sub1())
        .when(raise(2, today()))
        .then_expect_error(bad("an upgrade never lowers channels (3 now, 2 asked)"));
    partner(with_sub1())
        .when(raise(3, today()))
        .then_expect_error(bad("nothing to upgrade: give more channels"));
    partner(with_sub1())
        .when(raise(1001, today()))
        .then_expect_error(out_of_range("channels", 1, 1000, 1001));
}

#[test]
fn more_channels_need_every_credit_they_cost() {
    let given = vec![
        partner_registered(),
        granted(144),
        key("k1"),
        subscription("sub1", 3, 12).created(day(2026, 3, 9), 144),
    ];
    partner(given)
        .when(raise(4, today()))
        .then_expect_error(insufficient(48, 0));
}

#[test]
fn an_unknown_subscription_is_not_extended_or_raised() {
    for command in [
        aggregates::LedgerCommand::ExtendSubscription {
            subscription_id: "sub9".into(),
            months: 1,
            today: today(),
            idempotency: None,
        },
        aggregates::LedgerCommand::UpgradeSubscription {
            subscription_id: "sub9".into(),
            channels: 5,
            today: today(),
            idempotency: None,
        },
    ] {
        partner(with_sub1())
            .when(command)
            .then_expect_error(not_found("no such subscription"));
    }
}

#[test]
fn the_administrator_neither_extends_nor_raises() {
    admin(vec![admin_registered()])
        .when(extend(1, today()))
        .then_expect_error(wrong_role(Role::Admin));
    admin(vec![admin_registered()])
        .when(raise(5, today()))
        .then_expect_error(wrong_role(Role::Admin));
}

#[test]
fn a_retried_extension_does_nothing_again() {
    let command = aggregates::LedgerCommand::ExtendSubscription {
        subscription_id: "sub1".into(),
        months: 1,
        today: today(),
        idempotency: idem("ext-1", "f1"),
    };
    let given = and(
        with_sub1(),
        [LedgerEvent::SubscriptionExtended {
            subscription_id: "sub1".into(),
            months: 1,
            period_starts_on: day(2026, 3, 10),
            ends_on: day(2026, 4, 9),
            credits: 12,
            idempotency: idem("ext-1", "f1"),
        }],
    );
    partner(given).when(command).then_expect_events(vec![]);
}
