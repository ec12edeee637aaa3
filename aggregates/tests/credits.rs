//! A partner's credits: grants from the vendor and transfers to its resellers
//! (the reseller's side of a transfer is in resellers.rs).

mod common;

use aggregates::{LedgerCommand, LedgerEvent};
use common::*;

// --- Grants -----------------------------------------------------------------

#[test]
fn a_grant_credits_the_partner() {
    partner(vec![partner_registered()])
        .when(grant(500, "invoice-1"))
        .then_expect_events(vec![granted_ref(500, "invoice-1")]);
}

#[test]
fn a_grant_reference_is_trimmed() {
    partner(vec![partner_registered()])
        .when(grant(500, "  invoice-1 "))
        .then_expect_events(vec![granted_ref(500, "invoice-1")]);
}

#[test]
fn a_grant_is_between_1_and_10_000_000_credits() {
    for amount in [0, -1, -500, 10_000_001, i64::MAX] {
        partner(vec![partner_registered()])
            .when(grant(amount, "invoice-1"))
            .then_expect_error(out_of_range("the amount", 1, 10_000_000, amount));
    }
    for amount in [1, 10_000_000] {
        partner(vec![partner_registered()])
            .when(grant(amount, "invoice-1"))
            .then_expect_events(vec![granted_ref(amount, "invoice-1")]);
    }
}

#[test]
fn a_grant_never_takes_the_balance_beyond_a_graphql_int() {
    let full: Vec<LedgerEvent> = std::iter::once(partner_registered())
        .chain((0..214).map(|i| granted_ref(10_000_000, &format!("invoice-{i}"))))
        .chain(std::iter::once(granted_ref(7_483_647, "invoice-last")))
        .collect();
    // 2,147,483,647: the most a balance can hold; one more credit is refused.
    partner(full.clone())
        .when(grant(1, "one-more"))
        .then_expect_error(bad(
            "1 more credits would take the balance of 2147483647 above 2147483647, the most a balance can hold",
        ));
    // A repeated grant is still recognised as the same one.
    partner(full)
        .when(grant(7_483_647, "invoice-last"))
        .then_expect_events(vec![]);
    partner(vec![partner_registered(), granted_ref(10_000_000, "a")])
        .when(grant(10_000_000, "b"))
        .then_expect_events(vec![granted_ref(10_000_000, "b")]);
}

#[test]
fn a_grant_needs_a_reference_of_1_to_100_characters() {
    let refused = bad("the reference must be 1 to 100 characters");
    for reference in [String::new(), "   ".into(), "r".repeat(101)] {
        partner(vec![partner_registered()])
            .when(grant(100, &reference))
            .then_expect_error(refused.clone());
    }
    let longest = "r".repeat(100);
    partner(vec![partner_registered()])
        .when(grant(100, &longest))
        .then_expect_events(vec![granted_ref(100, &longest)]);
}

#[test]
fn the_same_grant_again_grants_nothing() {
    partner(vec![partner_registered(), granted_ref(500, "invoice-1")])
        .when(grant(500, "invoice-1"))
        .then_expect_events(vec![]);
    partner(vec![partner_registered(), granted_ref(500, "invoice-1")])
        .when(grant(500, " invoice-1 "))
        .then_expect_events(vec![]);
}

#[test]
fn a_reference_used_for_another_amount_is_a_conflict() {
    partner(vec![partner_registered(), granted_ref(500, "invoice-1")])
        .when(grant(600, "invoice-1"))
        .then_expect_error(conflict(
            "the reference \"invoice-1\" was already used for a grant of 500 credits",
        ));
}

#[test]
fn another_reference_is_another_grant() {
    partner(vec![partner_registered(), granted_ref(500, "invoice-1")])
        .when(grant(500, "invoice-2"))
        .then_expect_events(vec![granted_ref(500, "invoice-2")]);
}

// --- Transfers to resellers -------------------------------------------------

fn partner_with_reseller(credits: i64) -> Vec<LedgerEvent> {
    and(partner_with(credits), [reseller_added(RESELLER_ID)])
}

#[test]
fn a_partner_adds_a_reseller_once() {
    partner(vec![partner_registered()])
        .when(add_reseller(RESELLER_ID))
        .then_expect_events(vec![reseller_added(RESELLER_ID)]);
    partner(vec![partner_registered(), reseller_added(RESELLER_ID)])
        .when(add_reseller(RESELLER_ID))
        .then_expect_events(vec![]);
}

#[test]
fn a_partner_transfers_credits_to_its_reseller() {
    partner(partner_with_reseller(100))
        .when(transfer("t1", RESELLER_ID, 30))
        .then_expect_events(vec![transferred_out("t1", RESELLER_ID, 30)]);
}

#[test]
fn a_partner_may_transfer_its_whole_balance() {
    partner(partner_with_reseller(100))
        .when(transfer("t1", RESELLER_ID, 100))
        .then_expect_events(vec![transferred_out("t1", RESELLER_ID, 100)]);
}

#[test]
fn a_transfer_goes_to_the_partners_own_resellers_only() {
    partner(partner_with_reseller(100))
        .when(transfer("t1", "someone-else", 30))
        .then_expect_error(not_found("no such reseller"));
    partner(partner_with(100))
        .when(transfer("t1", RESELLER_ID, 30))
        .then_expect_error(not_found("no such reseller"));
}

#[test]
fn a_transfer_above_the_balance_is_refused_with_the_figures() {
    partner(partner_with_reseller(100))
        .when(transfer("t1", RESELLER_ID, 101))
        .then_expect_error(insufficient(101, 100));
    partner(and(
        partner_with_reseller(100),
        [transferred_out("t1", RESELLER_ID, 70)],
    ))
    .when(transfer("t2", RESELLER_ID, 31))
    .then_expect_error(insufficient(31, 30));
}

#[test]
fn a_transfer_moves_1_to_10_000_000_credits() {
    for amount in [0, -10, 10_000_001] {
        partner(partner_with_reseller(100))
            .when(transfer("t1", RESELLER_ID, amount))
            .then_expect_error(out_of_range("the amount", 1, 10_000_000, amount));
    }
}

#[test]
fn credits_transferred_out_are_no_longer_the_partners() {
    let given = and(
        partner_with_reseller(100),
        [transferred_out("t1", RESELLER_ID, 60)],
    );
    partner(given)
        .when(permanent("l1", RA, "DESKTOP", 5).cmd())
        .then_expect_error(insufficient(50, 40));
}

/// The reseller's side is idempotent by transfer id (resellers.rs), so the
/// partner must never debit twice under one id: a second debit would never be
/// credited and the credits would be destroyed. A reused id is refused, even
/// when the partner has the credits and the request is otherwise identical.
#[test]
fn a_transfer_id_is_used_once() {
    let given = and(
        partner_with_reseller(100),
        [transferred_out("t1", RESELLER_ID, 30)],
    );
    let refused = conflict("this id is already used in this account");
    partner(given.clone())
        .when(transfer("t1", RESELLER_ID, 30))
        .then_expect_error(refused.clone());
    partner(given.clone())
        .when(transfer("t1", RESELLER_ID, 5))
        .then_expect_error(refused);
    partner(given)
        .when(transfer("t2", RESELLER_ID, 30))
        .then_expect_events(vec![transferred_out("t2", RESELLER_ID, 30)]);
}

#[test]
fn a_transfer_records_its_idempotency_key() {
    partner(partner_with_reseller(100))
        .when(LedgerCommand::TransferOut {
            transfer_id: "t1".into(),
            reseller_id: RESELLER_ID.into(),
            amount: 30,
            idempotency: idem("give-1", "fp-a"),
        })
        .then_expect_events(vec![LedgerEvent::CreditsTransferredOut {
            transfer_id: "t1".into(),
            reseller_id: RESELLER_ID.into(),
            amount: 30,
            idempotency: idem("give-1", "fp-a"),
        }]);
}
