//! Licenses: assigning (trial or permanent), upgrading, editing and deleting.
//!
//! Prices in the shipped catalog, per user: Remote Access DESKTOP 10,
//! MOBILE_WEB 15, ENTERPRISE 25.

mod common;

use aggregates::{DomainError, LedgerCommand, LedgerEvent, LicenseKind, Role};
use chrono::{Duration, TimeZone, Utc};
use common::*;

/// A partner with 200 credits granted who bought "l1": 5 DESKTOP users for 50
/// (balance 150).
fn with_l1() -> Vec<LedgerEvent> {
    and(
        partner_with(200),
        [permanent("l1", RA, "DESKTOP", 5).assigned(50)],
    )
}

// --- Assigning --------------------------------------------------------------

#[test]
fn a_permanent_license_costs_users_times_the_edition_price() {
    let order = permanent("l1", RA, "DESKTOP", 5);
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_events(vec![order.assigned(50)]);
    let order = permanent("l2", AS, "ULTIMATE", 3);
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_events(vec![order.assigned(60)]);
}

#[test]
fn a_permanent_license_needs_every_credit_it_costs() {
    let order = permanent("l1", RA, "DESKTOP", 5);
    needs_every_credit(order.cmd(), 50, order.assigned(50));
    partner(partner_with(0))
        .when(order.cmd())
        .then_expect_error(insufficient(50, 0));
}

#[test]
fn a_trial_is_free_and_ends_trial_days_after_now() {
    let order = trial("l1", RA, "ENTERPRISE", 5, 30);
    partner(partner_with(0))
        .when(order.cmd())
        .then_expect_events(vec![LedgerEvent::LicenseAssigned {
            license_id: "l1".into(),
            key_id: "k1".into(),
            product: RA.into(),
            edition: "ENTERPRISE".into(),
            users: 5,
            kind: LicenseKind::Trial,
            trial_ends_at: Some(Utc.with_ymd_and_hms(2025, 4, 9, 10, 0, 0).unwrap()),
            email: None,
            comment: None,
            credits: 0,
            idempotency: None,
        }]);
}

#[test]
fn a_license_has_1_to_10_000_users() {
    for users in [0, -1, 10_001] {
        partner(partner_with(1_000_000))
            .when(permanent("l1", RA, "DESKTOP", users).cmd())
            .then_expect_error(out_of_range("users", 1, 10_000, users));
        partner(partner_with(0))
            .when(trial("l1", RA, "DESKTOP", users, 30).cmd())
            .then_expect_error(out_of_range("users", 1, 10_000, users));
    }
    for users in [1, 10_000] {
        let order = permanent("l1", RA, "DESKTOP", users);
        partner(partner_with(100_000))
            .when(order.cmd())
            .then_expect_events(vec![order.assigned(10 * users)]);
    }
}

#[test]
fn a_trial_needs_trial_days() {
    let order = LicenseOrder {
        trial_days: None,
        ..trial("l1", RA, "DESKTOP", 5, 30)
    };
    partner(partner_with(0))
        .when(order.cmd())
        .then_expect_error(bad("a trial license needs trialDays, its duration in days"));
}

#[test]
fn a_trial_lasts_1_to_max_trial_days() {
    for days in [0, -3, 91] {
        partner(partner_with(0))
            .when(trial("l1", RA, "DESKTOP", 5, days).cmd())
            .then_expect_error(out_of_range("trialDays", 1, 90, days));
    }
    for days in [1, 90] {
        let order = trial("l1", RA, "DESKTOP", 5, days);
        partner(partner_with(0))
            .when(order.cmd())
            .then_expect_events(vec![order.assigned(0)]);
    }
}

#[test]
fn a_permanent_license_has_no_trial_days() {
    let order = LicenseOrder {
        trial_days: Some(30),
        ..permanent("l1", RA, "DESKTOP", 5)
    };
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_error(bad("a permanent license has no trialDays; leave it out"));
}

#[test]
fn a_license_goes_on_one_of_the_sellers_keys() {
    let order = LicenseOrder {
        key_id: "k9".into(),
        ..permanent("l1", RA, "DESKTOP", 5)
    };
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_error(not_found("no such activation key"));
}

#[test]
fn a_license_is_for_a_product_of_the_catalog() {
    partner(partner_with(100))
        .when(permanent("l1", "NOPE", "DESKTOP", 5).cmd())
        .then_expect_error(bad("there is no product \"NOPE\""));
}

#[test]
fn a_subscription_only_product_is_not_licensed() {
    partner(partner_with(100))
        .when(permanent("l1", RS, "STANDARD", 5).cmd())
        .then_expect_error(bad(
            "Remote Support is sold as a subscription, not as a license",
        ));
    partner(partner_with(100))
        .when(trial("l1", RS, "STANDARD", 5, 30).cmd())
        .then_expect_error(bad(
            "Remote Support is sold as a subscription, not as a license",
        ));
}

#[test]
fn the_edition_belongs_to_the_product() {
    partner(partner_with(100))
        .when(permanent("l1", RA, "ULTIMATE", 5).cmd())
        .then_expect_error(bad(
            "Remote Access has no edition \"ULTIMATE\"; it has DESKTOP, MOBILE_WEB, ENTERPRISE",
        ));
}

#[test]
fn a_license_keeps_a_valid_email_and_comment() {
    let order = LicenseOrder {
        email: Some(" it@customer.example ".into()),
        comment: Some(" for the front desk ".into()),
        ..permanent("l1", RA, "DESKTOP", 1)
    };
    let stored = LicenseOrder {
        email: Some("it@customer.example".into()),
        comment: Some("for the front desk".into()),
        ..order.clone()
    };
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_events(vec![stored.assigned(10)]);
}

#[test]
fn a_license_refuses_a_malformed_email_or_a_long_comment() {
    let order = LicenseOrder {
        email: Some("nope".into()),
        ..permanent("l1", RA, "DESKTOP", 1)
    };
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_error(bad("\"nope\" is not a valid email address"));
    let order = LicenseOrder {
        comment: Some("c".repeat(1001)),
        ..permanent("l1", RA, "DESKTOP", 1)
    };
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_error(bad("a comment is at most 1000 characters"));
}

#[test]
fn a_blank_comment_is_no_comment() {
    let order = LicenseOrder {
        comment: Some("   ".into()),
        ..permanent("l1", RA, "DESKTOP", 1)
    };
    let stored = LicenseOrder {
        comment: None,
        ..order.clone()
    };
    partner(partner_with(100))
        .when(order.cmd())
        .then_expect_events(vec![stored.assigned(10)]);
}

/// BUG (aggregates/src/ledger.rs, `AssignLicense` in `Ledger::decide`, and
/// `Ledger::apply` for `LicenseAssigned`): a license id already in use is not
/// refused (keys are: "this activation key already exists"); `apply` then
/// overwrites the first license's state. Here a 5-user license (50 credits)
/// is replaced by a free trial under the same id, so deleting it refunds 0 and
/// the 50 credits can never come back; a deleted license can be brought back
/// to life the same way, and the read side sees two `LicenseAssigned` for one
/// id.
#[test]

fn a_license_id_is_used_once() {
    let again = outcome_as(
        Role::Partner,
        with_l1(),
        trial("l1", RA, "DESKTOP", 1, 30).cmd(),
    );
    assert!(
        matches!(again, Err(DomainError::Conflict(_))),
        "a second license took the id l1: {again:?}"
    );
    let deleted = and(with_l1(), [license_deleted("l1", 50)]);
    let again = outcome_as(
        Role::Partner,
        deleted,
        permanent("l1", RA, "DESKTOP", 5).cmd(),
    );
    assert!(
        matches!(again, Err(DomainError::Conflict(_))),
        "a deleted license came back: {again:?}"
    );
}

// --- Upgrading --------------------------------------------------------------

#[test]
fn an_upgrade_charges_the_difference() {
    // (users, edition) → (users, edition, credits)
    let cases = [
        ((Some(8), None), (8, "DESKTOP", 30)),
        ((None, Some("MOBILE_WEB")), (5, "MOBILE_WEB", 25)),
        ((Some(5), Some("ENTERPRISE")), (5, "ENTERPRISE", 75)),
        ((Some(8), Some("ENTERPRISE")), (8, "ENTERPRISE", 150)),
    ];
    for ((users, edition), (new_users, new_edition, credits)) in cases {
        partner(with_l1())
            .when(upgrade_license("l1", users, edition))
            .then_expect_events(vec![license_upgraded(
                "l1",
                new_users,
                new_edition,
                credits,
            )]);
    }
}

#[test]
fn an_upgrade_needs_every_credit_it_costs() {
    // Balance 150: 20 users cost 200 − 50 = 150, 21 users 160.
    partner(with_l1())
        .when(upgrade_license("l1", Some(20), None))
        .then_expect_events(vec![license_upgraded("l1", 20, "DESKTOP", 150)]);
    partner(with_l1())
        .when(upgrade_license("l1", Some(21), None))
        .then_expect_error(insufficient(160, 150));
}

#[test]
fn an_upgrade_never_lowers_users() {
    partner(with_l1())
        .when(upgrade_license("l1", Some(4), None))
        .then_expect_error(bad("an upgrade never lowers users (5 now, 4 asked)"));
    partner(with_l1())
        .when(upgrade_license("l1", Some(4), Some("ENTERPRISE")))
        .then_expect_error(bad("an upgrade never lowers users (5 now, 4 asked)"));
}

#[test]
fn an_upgrade_never_moves_to_a_lesser_edition() {
    let given = and(
        partner_with(200),
        [permanent("l1", RA, "MOBILE_WEB", 5).assigned(75)],
    );
    let lesser = bad("an upgrade never moves to a lesser edition (MOBILE_WEB now, DESKTOP asked)");
    partner(given.clone())
        .when(upgrade_license("l1", None, Some("DESKTOP")))
        .then_expect_error(lesser.clone());
    partner(given)
        .when(upgrade_license("l1", Some(8), Some("DESKTOP")))
        .then_expect_error(lesser);
}

#[test]
fn an_upgrade_must_change_something() {
    let nothing = bad("nothing to upgrade: give more users or a higher edition");
    for (users, edition) in [
        (None, None),
        (Some(5), None),
        (None, Some("DESKTOP")),
        (Some(5), Some("DESKTOP")),
    ] {
        partner(with_l1())
            .when(upgrade_license("l1", users, edition))
            .then_expect_error(nothing.clone());
    }
}

#[test]
fn an_upgrade_stays_within_10_000_users_and_the_products_editions() {
    partner(with_l1())
        .when(upgrade_license("l1", Some(10_001), None))
        .then_expect_error(out_of_range("users", 1, 10_000, 10_001));
    partner(with_l1())
        .when(upgrade_license("l1", None, Some("GOLD")))
        .then_expect_error(bad(
            "Remote Access has no edition \"GOLD\"; it has DESKTOP, MOBILE_WEB, ENTERPRISE",
        ));
}

#[test]
fn a_trial_is_not_upgraded() {
    let given = and(
        partner_with(200),
        [trial("l1", RA, "DESKTOP", 5, 30).assigned(0)],
    );
    partner(given)
        .when(upgrade_license("l1", Some(8), None))
        .then_expect_error(bad(
            "a trial license cannot be upgraded; assign a permanent license to make it permanent",
        ));
}

#[test]
fn an_unknown_license_is_not_found() {
    for command in [
        upgrade_license("l9", Some(8), None),
        edit_license("l9", None, Some("x")),
        delete_license("l9"),
    ] {
        partner(with_l1())
            .when(command)
            .then_expect_error(not_found("no such license"));
    }
}

#[test]
fn a_deleted_license_is_not_upgraded_edited_or_deleted_again() {
    let given = and(with_l1(), [license_deleted("l1", 50)]);
    for command in [
        upgrade_license("l1", Some(8), None),
        edit_license("l1", Some("a@b.co"), None),
        delete_license("l1"),
    ] {
        partner(given.clone())
            .when(command)
            .then_expect_error(conflict("this license has been deleted"));
    }
}

// --- Editing ----------------------------------------------------------------

#[test]
fn a_license_is_edited() {
    partner(with_l1())
        .when(edit_license(
            "l1",
            Some(" it@customer.example"),
            Some("moved"),
        ))
        .then_expect_events(vec![license_edited(
            "l1",
            Some("it@customer.example"),
            Some("moved"),
        )]);
}

#[test]
fn an_edit_with_blank_fields_clears_them() {
    partner(with_l1())
        .when(edit_license("l1", Some("  "), Some("")))
        .then_expect_events(vec![license_edited("l1", None, None)]);
}

#[test]
fn an_edit_refuses_a_malformed_email() {
    partner(with_l1())
        .when(edit_license("l1", Some("it@"), None))
        .then_expect_error(bad("\"it@\" is not a valid email address"));
}

// --- Deleting ---------------------------------------------------------------

#[test]
fn deleting_a_license_refunds_what_it_cost() {
    partner(with_l1())
        .when(delete_license("l1"))
        .then_expect_events(vec![license_deleted("l1", 50)]);
}

#[test]
fn the_refund_includes_upgrades() {
    let given = and(
        with_l1(),
        [
            license_upgraded("l1", 8, "DESKTOP", 30),
            license_upgraded("l1", 8, "ENTERPRISE", 120),
        ],
    );
    partner(given)
        .when(delete_license("l1"))
        .then_expect_events(vec![license_deleted("l1", 200)]);
}

#[test]
fn deleting_a_trial_refunds_nothing() {
    let given = and(
        partner_with(0),
        [trial("l1", RA, "DESKTOP", 5, 30).assigned(0)],
    );
    partner(given)
        .when(delete_license("l1"))
        .then_expect_events(vec![license_deleted("l1", 0)]);
}

#[test]
fn a_license_whose_key_is_activated_is_not_deleted() {
    let given = and(with_l1(), [activated("k1", "device-a")]);
    partner(given)
        .when(delete_license("l1"))
        .then_expect_error(conflict(
            "this license's activation key is activated on a device; deactivate it before deleting the license",
        ));
}

#[test]
fn after_deactivation_the_license_is_deleted_with_its_upgrades_refunded() {
    let given = and(
        with_l1(),
        [
            activated("k1", "device-a"),
            license_upgraded("l1", 8, "DESKTOP", 30),
            // The device's last file expired yesterday.
            deactivated_until("k1", "device-a", Some(now() - Duration::days(1))),
        ],
    );
    partner(given)
        .when(delete_license("l1"))
        .then_expect_events(vec![license_deleted("l1", 80)]);
}

const FILE_STILL_VALID: &str = "this license was on a device, whose license file stays valid until 2025-04-09 10:00 UTC; it can be deleted, and its credits refunded, from then on";

#[test]
fn a_license_that_was_on_a_device_is_not_refunded_while_its_file_is_valid() {
    // Activated, deactivated today: the device keeps a file valid 30 days.
    let given = and(
        with_l1(),
        [activated("k1", "device-a"), deactivated("k1", "device-a")],
    );
    partner(given.clone())
        .when(delete_license("l1"))
        .then_expect_error(conflict(FILE_STILL_VALID));
    // From the moment the file expires, the full price comes back.
    let later = LedgerCommand::DeleteLicense {
        license_id: "l1".into(),
        now: now() + Duration::days(aggregates::ledger::LICENSE_FILE_DAYS),
        idempotency: None,
    };
    partner(given)
        .when(later)
        .then_expect_events(vec![license_deleted("l1", 50)]);
}

#[test]
fn a_license_assigned_while_its_key_is_on_a_device_was_on_the_device() {
    let given = and(
        partner_with(200),
        [
            activated("k1", "device-a"),
            permanent("l1", RA, "DESKTOP", 5).assigned(50),
            deactivated("k1", "device-a"),
        ],
    );
    partner(given)
        .when(delete_license("l1"))
        .then_expect_error(conflict(FILE_STILL_VALID));
}

#[test]
fn a_license_put_on_the_key_after_its_device_left_is_refunded_at_once() {
    let given = and(
        partner_with(200),
        [
            activated("k1", "device-a"),
            deactivated("k1", "device-a"),
            permanent("l1", RA, "DESKTOP", 5).assigned(50),
        ],
    );
    partner(given)
        .when(delete_license("l1"))
        .then_expect_events(vec![license_deleted("l1", 50)]);
}

#[test]
fn a_deactivation_recorded_without_its_files_end_does_not_hold_the_refund() {
    // Logs written before the rule: nothing says how long the file lasts.
    let given = and(
        with_l1(),
        [
            activated("k1", "device-a"),
            deactivated_until("k1", "device-a", None),
        ],
    );
    partner(given)
        .when(delete_license("l1"))
        .then_expect_events(vec![license_deleted("l1", 50)]);
}

#[test]
fn a_trial_that_was_on_a_device_is_deleted_at_once() {
    // Nothing to refund, nothing to wait for.
    let given = and(
        partner_with(0),
        [
            trial("l1", RA, "DESKTOP", 5, 30).assigned(0),
            activated("k1", "device-a"),
            deactivated("k1", "device-a"),
        ],
    );
    partner(given)
        .when(delete_license("l1"))
        .then_expect_events(vec![license_deleted("l1", 0)]);
}

// --- One running trial per product on a key --------------------------------

const TRIAL_RUNNING: &str = "this activation key already has a running trial of Remote Access (until 2025-04-09); a key gets one running trial per product";

fn with_trial() -> Vec<LedgerEvent> {
    and(
        and(partner_with(0), [key("k2")]),
        [trial("l1", RA, "DESKTOP", 5, 30).assigned(0)],
    )
}

#[test]
fn a_key_gets_one_running_trial_per_product() {
    partner(with_trial())
        .when(trial("l2", RA, "ENTERPRISE", 1, 7).cmd())
        .then_expect_error(conflict(TRIAL_RUNNING));
}

#[test]
fn another_product_or_another_key_gets_its_own_trial() {
    let other_product = trial("l2", AS, "ULTIMATE", 1, 7);
    partner(with_trial())
        .when(other_product.cmd())
        .then_expect_events(vec![other_product.assigned(0)]);
    let other_key = LicenseOrder {
        key_id: "k2".into(),
        ..trial("l2", RA, "DESKTOP", 1, 7)
    };
    partner(with_trial())
        .when(other_key.cmd())
        .then_expect_events(vec![other_key.assigned(0)]);
}

#[test]
fn a_new_trial_follows_one_that_ended_or_was_deleted() {
    let after_end = LicenseOrder {
        now: now() + Duration::days(30),
        ..trial("l2", RA, "DESKTOP", 1, 7)
    };
    partner(with_trial())
        .when(after_end.cmd())
        .then_expect_events(vec![after_end.assigned(0)]);
    let after_delete = trial("l2", RA, "DESKTOP", 1, 7);
    partner(and(with_trial(), [license_deleted("l1", 0)]))
        .when(after_delete.cmd())
        .then_expect_events(vec![after_delete.assigned(0)]);
}

#[test]
fn another_keys_activation_does_not_block_deletion() {
    let given = and(with_l1(), [key("k2"), activated("k2", "device-a")]);
    partner(given)
        .when(delete_license("l1"))
        .then_expect_events(vec![license_deleted("l1", 50)]);
}

#[test]
fn a_refund_can_be_spent_again() {
    // 50 granted, all spent on l1, refunded.
    let given = and(
        partner_with(50),
        [
            permanent("l1", RA, "DESKTOP", 5).assigned(50),
            license_deleted("l1", 50),
        ],
    );
    let order = permanent("l2", RA, "DESKTOP", 5);
    partner(given)
        .when(order.cmd())
        .then_expect_events(vec![order.assigned(50)]);
}
