//! Idempotency keys: a retried mutation gets its first result and spends
//! nothing; the same key with another request is a conflict.

mod common;

use aggregates::{Idempotency, LedgerCommand, LedgerEvent, Role};
use common::*;

/// A partner with 1000 credits, key "k1", reseller "reseller-1", license "l1"
/// (5 DESKTOP users, 50) and support "s1" (5 DESKTOP users, 12 months, 60).
fn seller() -> Vec<LedgerEvent> {
    and(
        partner_with(1000),
        [
            reseller_added(RESELLER_ID),
            permanent("l1", RA, "DESKTOP", 5).assigned(50),
            support("s1", RA, "DESKTOP", 5, 12).assigned(day(2026, 3, 9), 60),
        ],
    )
}

/// `command` carrying `idempotency` instead of its own.
fn keyed(command: &LedgerCommand, key: Option<Idempotency>) -> LedgerCommand {
    let mut command = command.clone();
    match command.idempotency_mut() {
        Some(slot) => *slot = key,
        None => panic!("{command:?} takes no idempotency key"),
    }
    command
}

/// Every command that moves credits, as the first request under key "req-1".
fn credit_commands() -> Vec<(&'static str, LedgerCommand)> {
    let first = |c: LedgerCommand| keyed(&c, idem("req-1", "fp-a"));
    vec![
        ("GrantCredits", first(grant(100, "invoice-9"))),
        ("TransferOut", first(transfer("t1", RESELLER_ID, 30))),
        (
            "AssignLicense",
            first(permanent("l2", RA, "DESKTOP", 2).cmd()),
        ),
        (
            "UpgradeLicense",
            first(upgrade_license("l1", Some(8), None)),
        ),
        ("DeleteLicense", first(delete_license("l1"))),
        (
            "AssignSupport",
            first(support("s2", RA, "DESKTOP", 1, 1).cmd()),
        ),
        (
            "UpgradeSupport",
            first(upgrade_support("s1", Some(8), None, today())),
        ),
        ("ExtendSupport", first(extend_support("s1", 1, today()))),
        (
            "CreateSubscription",
            first(subscription("sub1", 1, 1).cmd()),
        ),
    ]
}

#[test]
fn the_first_request_records_its_key_in_its_event() {
    for (name, command) in credit_commands() {
        let events = outcome_as(Role::Partner, seller(), command.clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(events.len(), 1, "{name}");
        assert_eq!(events[0].idempotency(), command.idempotency(), "{name}");
    }
}

#[test]
fn a_retry_with_the_same_key_and_request_gives_no_events() {
    for (name, command) in credit_commands() {
        let first = outcome_as(Role::Partner, seller(), command.clone()).unwrap();
        assert_eq!(
            outcome_as(Role::Partner, and(seller(), first), command),
            Ok(vec![]),
            "{name}"
        );
    }
}

#[test]
fn the_same_key_with_another_request_is_a_conflict() {
    let used = conflict("the idempotency key \"req-1\" was already used for a different request");
    for (name, command) in credit_commands() {
        let first = outcome_as(Role::Partner, seller(), command.clone()).unwrap();
        let other = keyed(&command, idem("req-1", "fp-b"));
        assert_eq!(
            outcome_as(Role::Partner, and(seller(), first), other),
            Err(used.clone()),
            "{name}"
        );
    }
}

#[test]
fn a_key_belongs_to_the_whole_account_not_to_one_kind_of_request() {
    let license = keyed(
        &permanent("l2", RA, "DESKTOP", 2).cmd(),
        idem("req-1", "fp-a"),
    );
    let given = and(
        seller(),
        outcome_as(Role::Partner, seller(), license).unwrap(),
    );
    partner(given.clone())
        .when(keyed(
            &subscription("sub1", 1, 1).cmd(),
            idem("req-1", "fp-b"),
        ))
        .then_expect_error(conflict(
            "the idempotency key \"req-1\" was already used for a different request",
        ));
    partner(given)
        .when(keyed(
            &subscription("sub1", 1, 1).cmd(),
            idem("req-2", "fp-b"),
        ))
        .then_expect_events(vec![
            SubscriptionOrder {
                idempotency: idem("req-2", "fp-b"),
                ..subscription("sub1", 1, 1)
            }
            .created(day(2025, 4, 9), 4),
        ]);
}

#[test]
fn a_retry_is_answered_even_when_the_request_would_now_be_refused() {
    // The license was deleted by the first request: a plain second delete is
    // a conflict, the retry is not.
    let delete = keyed(&delete_license("l1"), idem("del-1", "fp-a"));
    let given = and(
        seller(),
        [LedgerEvent::LicenseDeleted {
            license_id: "l1".into(),
            refund: 50,
            idempotency: idem("del-1", "fp-a"),
        }],
    );
    partner(given.clone())
        .when(delete_license("l1"))
        .then_expect_error(conflict("this license has been deleted"));
    partner(given).when(delete).then_expect_events(vec![]);

    // The first request spent the whole balance: the retry spends nothing.
    let order = LicenseOrder {
        idempotency: idem("buy-1", "fp-a"),
        ..permanent("l2", RA, "DESKTOP", 5)
    };
    let given = and(partner_with(50), [order.assigned(50)]);
    partner(given).when(order.cmd()).then_expect_events(vec![]);
}

#[test]
fn a_refused_request_does_not_use_up_its_key() {
    let order = LicenseOrder {
        idempotency: idem("buy-1", "fp-a"),
        ..permanent("l2", RA, "DESKTOP", 5)
    };
    partner(partner_with(40))
        .when(order.cmd())
        .then_expect_error(insufficient(50, 40));
    partner(and(partner_with(40), [granted(10)]))
        .when(order.cmd())
        .then_expect_events(vec![order.assigned(50)]);
}

#[test]
fn without_a_key_a_repeated_request_is_a_new_one() {
    let given = and(seller(), [transferred_out("t1", RESELLER_ID, 30)]);
    partner(given)
        .when(transfer("t2", RESELLER_ID, 30))
        .then_expect_events(vec![transferred_out("t2", RESELLER_ID, 30)]);
}

#[test]
fn a_retried_grant_grants_nothing_by_key_or_by_reference() {
    let keyed_grant = keyed(&grant(100, "invoice-9"), idem("g-1", "fp-a"));
    let given = and(
        seller(),
        [LedgerEvent::CreditsGranted {
            amount: 100,
            reference: "invoice-9".into(),
            idempotency: idem("g-1", "fp-a"),
        }],
    );
    partner(given.clone())
        .when(keyed_grant)
        .then_expect_events(vec![]);
    partner(given)
        .when(grant(100, "invoice-9"))
        .then_expect_events(vec![]);
}

fn from(sender: &str, key: &str, fingerprint: &str) -> Option<Idempotency> {
    idem(key, fingerprint).map(|i| Idempotency {
        sender: Some(sender.to_string()),
        ..i
    })
}

#[test]
fn a_key_is_looked_up_under_its_sender_only() {
    // The owner picks a key that spells "<partner>/order-77"; its partner
    // then sends "order-77" on the same stream.
    let owners = keyed(
        &permanent("l2", RA, "DESKTOP", 1).cmd(),
        idem(&format!("{PARTNER_ID}/order-77"), "fp-a"),
    );
    let first = outcome_as(Role::Partner, seller(), owners).unwrap();
    let partners = keyed(
        &permanent("l3", RA, "DESKTOP", 2).cmd(),
        from(PARTNER_ID, "order-77", "fp-b"),
    );
    let second = outcome_as(
        Role::Partner,
        and(seller(), first.clone()),
        partners.clone(),
    )
    .expect("another sender's key is its own");
    assert_eq!(second.len(), 1);
    // The partner's retry is still recognised, under its own name.
    let given = and(and(seller(), first), second);
    assert_eq!(
        outcome_as(Role::Partner, given.clone(), partners),
        Ok(vec![])
    );
    // And the owner's plain "order-77" is not the partner's.
    let owners_plain = keyed(
        &permanent("l4", RA, "DESKTOP", 3).cmd(),
        idem("order-77", "fp-c"),
    );
    assert_eq!(
        outcome_as(Role::Partner, given, owners_plain).map(|e| e.len()),
        Ok(1)
    );
}

#[test]
fn events_recorded_without_a_sender_still_load() {
    let old = r#"{"LicenseAssigned":{"license_id":"l9","key_id":"k1","product":"REMOTE_ACCESS","edition":"DESKTOP","users":1,"kind":"PERMANENT","trial_ends_at":null,"email":null,"comment":null,"credits":10,"idempotency":{"key":"acc_x/order-1","fingerprint":"fp"}}}"#;
    let event: LedgerEvent = serde_json::from_str(old).expect("an old event loads");
    assert_eq!(
        event
            .idempotency()
            .map(|i| (i.key.as_str(), i.sender.is_none())),
        Some(("acc_x/order-1", true))
    );
}
