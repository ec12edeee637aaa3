//! Resellers: credits from their partner, their profile, and the products they
//! may sell.

mod common;

use aggregates::{LedgerCommand, LedgerEvent};
use common::*;

// --- Credits from the partner -----------------------------------------------

#[test]
fn a_reseller_receives_a_transfer_from_its_partner() {
    reseller(vec![reseller_registered(&[RA])])
        .when(receive("t1", PARTNER_ID, 30))
        .then_expect_events(vec![transferred_in("t1", 30)]);
}

#[test]
fn a_transfer_is_received_once() {
    let given = vec![reseller_registered(&[RA]), transferred_in("t1", 30)];
    reseller(given.clone())
        .when(receive("t1", PARTNER_ID, 30))
        .then_expect_events(vec![]);
    // The id decides, whatever else the retry says.
    reseller(given.clone())
        .when(receive("t1", PARTNER_ID, 999))
        .then_expect_events(vec![]);
    reseller(given)
        .when(receive("t2", PARTNER_ID, 30))
        .then_expect_events(vec![transferred_in("t2", 30)]);
}

#[test]
fn credits_come_from_the_resellers_own_partner_only() {
    reseller(vec![reseller_registered(&[RA])])
        .when(receive("t1", "partner-2", 30))
        .then_expect_error(forbidden(
            "credits can only come from the reseller's own partner",
        ));
}

#[test]
fn a_transfer_received_moves_at_least_one_credit() {
    for amount in [0, -5] {
        reseller(vec![reseller_registered(&[RA])])
            .when(receive("t1", PARTNER_ID, amount))
            .then_expect_error(bad("a transfer moves at least 1 credit"));
    }
}

#[test]
fn a_reseller_spends_only_what_it_received() {
    let order = permanent("l1", RA, "DESKTOP", 3);
    reseller(reseller_with(&[RA], 30))
        .when(order.cmd())
        .then_expect_events(vec![order.assigned(30)]);
    let order = permanent("l1", RA, "DESKTOP", 4);
    reseller(reseller_with(&[RA], 30))
        .when(order.cmd())
        .then_expect_error(insufficient(40, 30));
}

// --- Profile ----------------------------------------------------------------

#[test]
fn a_reseller_profile_is_edited() {
    reseller(vec![reseller_registered(&[RA])])
        .when(LedgerCommand::EditReseller {
            email: Some("new@shop.example".into()),
            name: Some(" New Shop ".into()),
            products: Some(strings(&[RA, TF, RA])),
        })
        .then_expect_events(vec![LedgerEvent::ResellerProfileEdited {
            email: Some("new@shop.example".into()),
            name: Some("New Shop".into()),
            products: Some(strings(&[RA, TF])),
        }]);
}

#[test]
fn an_edit_may_leave_the_products_as_they_are() {
    reseller(vec![reseller_registered(&[RA])])
        .when(LedgerCommand::EditReseller {
            email: None,
            name: Some("Shop".into()),
            products: None,
        })
        .then_expect_events(vec![LedgerEvent::ResellerProfileEdited {
            email: None,
            name: Some("Shop".into()),
            products: None,
        }]);
}

#[test]
fn an_edit_refuses_an_unknown_product_or_an_empty_list() {
    reseller(vec![reseller_registered(&[RA])])
        .when(edit_reseller_products(&[RA, "NOPE"]))
        .then_expect_error(bad("there is no product \"NOPE\""));
    reseller(vec![reseller_registered(&[RA])])
        .when(edit_reseller_products(&[]))
        .then_expect_error(bad("choose at least one product"));
}

#[test]
fn an_edit_refuses_a_malformed_email_or_name() {
    reseller(vec![reseller_registered(&[RA])])
        .when(LedgerCommand::EditReseller {
            email: Some("shop".into()),
            name: None,
            products: None,
        })
        .then_expect_error(bad("\"shop\" is not a valid email address"));
    reseller(vec![reseller_registered(&[RA])])
        .when(LedgerCommand::EditReseller {
            email: None,
            name: Some(" ".into()),
            products: None,
        })
        .then_expect_error(bad("the name must be 1 to 100 characters"));
}

// --- The products a reseller may sell ---------------------------------------

#[test]
fn a_reseller_sells_the_products_of_its_list() {
    let given = reseller_with(&[RA, RS], 1000);
    let license = permanent("l1", RA, "DESKTOP", 1);
    reseller(given.clone())
        .when(license.cmd())
        .then_expect_events(vec![license.assigned(10)]);
    let contract = support("s1", RA, "DESKTOP", 1, 1);
    reseller(given.clone())
        .when(contract.cmd())
        .then_expect_events(vec![contract.assigned(day(2025, 4, 9), 1)]);
    let sub = subscription("sub1", 1, 1);
    reseller(given)
        .when(sub.cmd())
        .then_expect_events(vec![sub.created(day(2025, 4, 9), 4)]);
}

#[test]
fn a_product_outside_the_resellers_list_is_forbidden() {
    let given = reseller_with(&[RA], 1000);
    reseller(given.clone())
        .when(permanent("l1", TF, "STANDARD", 1).cmd())
        .then_expect_error(forbidden(
            "this account may not sell Two-Factor Authentication",
        ));
    reseller(given.clone())
        .when(trial("l1", AS, "ESSENTIALS", 1, 30).cmd())
        .then_expect_error(forbidden("this account may not sell Advanced Security"));
    reseller(given.clone())
        .when(support("s1", SM, "STANDARD", 1, 1).cmd())
        .then_expect_error(forbidden("this account may not sell Server Monitoring"));
    reseller(given)
        .when(subscription("sub1", 1, 1).cmd())
        .then_expect_error(forbidden("this account may not sell Remote Support"));
}

#[test]
fn a_product_added_to_the_list_may_be_sold() {
    let given = and(
        reseller_with(&[RA], 1000),
        [reseller_products_edited(&[RA, TF])],
    );
    let order = permanent("l1", TF, "STANDARD", 2);
    reseller(given)
        .when(order.cmd())
        .then_expect_events(vec![order.assigned(10)]);
}

#[test]
fn a_product_taken_off_the_list_is_no_longer_upgraded_or_extended() {
    let license = permanent("l1", RA, "DESKTOP", 1);
    let contract = support("s1", RA, "DESKTOP", 1, 1);
    let given = and(
        reseller_with(&[RA, TF], 1000),
        [
            license.assigned(10),
            contract.assigned(day(2025, 4, 9), 1),
            reseller_products_edited(&[TF]),
        ],
    );
    let refused = forbidden("this account may not sell Remote Access");
    for command in [
        permanent("l2", RA, "DESKTOP", 1).cmd(),
        upgrade_license("l1", Some(2), None),
        upgrade_support("s1", Some(2), None, today()),
        extend_support("s1", 1, today()),
    ] {
        reseller(given.clone())
            .when(command)
            .then_expect_error(refused.clone());
    }
    // Deleting refunds what was sold while it was allowed.
    reseller(given)
        .when(delete_license("l1"))
        .then_expect_events(vec![license_deleted("l1", 10)]);
}

#[test]
fn a_partner_sells_every_product() {
    for (product, edition, credits) in [
        (RA, "ENTERPRISE", 25),
        (AS, "ESSENTIALS", 8),
        (SM, "STANDARD", 12),
        (TF, "STANDARD", 5),
    ] {
        let order = permanent("l1", product, edition, 1);
        partner(partner_with(100))
            .when(order.cmd())
            .then_expect_events(vec![order.assigned(credits)]);
    }
    let sub = subscription("sub1", 1, 1);
    partner(partner_with(100))
        .when(sub.cmd())
        .then_expect_events(vec![sub.created(day(2025, 4, 9), 4)]);
}
