//! Activation keys: creating them, and binding them to one device at a time.

mod common;

use aggregates::LedgerEvent;
use common::*;

// --- Creating a key ---------------------------------------------------------

#[test]
fn a_seller_creates_an_activation_key() {
    partner(vec![partner_registered()])
        .when(create_key("k1", KEY_CODE))
        .then_expect_events(vec![key("k1")]);
}

#[test]
fn a_key_is_stored_upper_case_and_trimmed() {
    partner(vec![partner_registered()])
        .when(create_key("k1", "  abcd-1234-efgh-5678 "))
        .then_expect_events(vec![key("k1")]);
}

#[test]
fn a_malformed_key_is_refused() {
    for code in [
        "",
        "ABCD-1234-EFGH",
        "ABCD-1234-EFGH-56789",
        "ABCD1234EFGH5678",
        "ABCD_1234_EFGH_5678",
        "ABCD-1234-EFGH-567!",
        "ÄBCD-1234-EFGH-5678",
        "ABCD-1234-EFGH-5678-",
    ] {
        partner(vec![partner_registered()])
            .when(create_key("k1", code))
            .then_expect_error(bad(&format!(
                "the key \"{}\" is not in the format XXXX-XXXX-XXXX-XXXX (letters A-Z and digits 0-9)",
                code.trim()
            )));
    }
}

#[test]
fn a_key_needs_a_name_of_1_to_100_characters() {
    for name in ["", "   ", &"n".repeat(101)] {
        partner(vec![partner_registered()])
            .when(aggregates::LedgerCommand::CreateActivationKey {
                key_id: "k1".into(),
                name: name.into(),
                key: KEY_CODE.into(),
            })
            .then_expect_error(bad("the key's name must be 1 to 100 characters"));
    }
}

#[test]
fn a_key_id_is_used_once() {
    partner(vec![partner_registered(), key("k1")])
        .when(create_key("k1", "WXYZ-0000-1111-2222"))
        .then_expect_error(conflict("this activation key already exists"));
}

// --- Activation -------------------------------------------------------------

#[test]
fn a_key_is_activated_on_a_device() {
    partner(partner_with(0))
        .when(activate("k1", "device-a"))
        .then_expect_events(vec![activated("k1", "device-a")]);
}

#[test]
fn activating_on_the_same_device_again_changes_nothing() {
    partner(and(partner_with(0), [activated("k1", "device-a")]))
        .when(activate("k1", "device-a"))
        .then_expect_events(vec![]);
}

#[test]
fn a_key_activated_on_another_device_is_a_conflict() {
    partner(and(partner_with(0), [activated("k1", "device-a")]))
        .when(activate("k1", "device-b"))
        .then_expect_error(conflict(
            "this key is activated on another device; deactivate it there first",
        ));
}

#[test]
fn an_unknown_key_cannot_be_activated_or_deactivated() {
    partner(partner_with(0))
        .when(activate("k9", "device-a"))
        .then_expect_error(not_found("no such activation key"));
    partner(partner_with(0))
        .when(deactivate("k9", "device-a"))
        .then_expect_error(not_found("no such activation key"));
}

#[test]
fn a_key_is_deactivated_from_its_device() {
    partner(and(partner_with(0), [activated("k1", "device-a")]))
        .when(deactivate("k1", "device-a"))
        .then_expect_events(vec![deactivated("k1", "device-a")]);
}

#[test]
fn deactivating_from_another_device_is_a_conflict() {
    partner(and(partner_with(0), [activated("k1", "device-a")]))
        .when(deactivate("k1", "device-b"))
        .then_expect_error(conflict("this key is not activated on this device"));
}

#[test]
fn deactivating_a_key_not_activated_is_a_conflict() {
    partner(partner_with(0))
        .when(deactivate("k1", "device-a"))
        .then_expect_error(conflict("this key is not activated on this device"));
    partner(and(
        partner_with(0),
        [activated("k1", "device-a"), deactivated("k1", "device-a")],
    ))
    .when(deactivate("k1", "device-a"))
    .then_expect_error(conflict("this key is not activated on this device"));
}

#[test]
fn a_deactivated_key_may_move_to_another_device() {
    partner(and(
        partner_with(0),
        [activated("k1", "device-a"), deactivated("k1", "device-a")],
    ))
    .when(activate("k1", "device-b"))
    .then_expect_events(vec![activated("k1", "device-b")]);
}

#[test]
fn keys_are_bound_one_by_one() {
    let given = and(partner_with(0), [key("k2"), activated("k1", "device-a")]);
    partner(given)
        .when(activate("k2", "device-b"))
        .then_expect_events(vec![LedgerEvent::KeyActivated {
            key_id: "k2".into(),
            fingerprint: "device-b".into(),
            device_name: Some("Front desk".into()),
        }]);
}

#[test]
fn a_reseller_binds_its_keys_the_same_way() {
    reseller(reseller_with(&[RA], 0))
        .when(activate("k1", "device-a"))
        .then_expect_events(vec![activated("k1", "device-a")]);
    reseller(and(reseller_with(&[RA], 0), [activated("k1", "device-a")]))
        .when(activate("k1", "device-b"))
        .then_expect_error(conflict(
            "this key is activated on another device; deactivate it there first",
        ));
}
