//! Accounts: registration, the account that does not exist yet, and which role
//! may issue which command.

mod common;

use aggregates::{LedgerCommand, Role};
use common::*;

const ROLES: [Role; 3] = [Role::Admin, Role::Partner, Role::Reseller];

// --- Registration -----------------------------------------------------------

#[test]
fn a_partner_registers() {
    partner(vec![])
        .when(register_partner())
        .then_expect_events(vec![partner_registered()]);
}

#[test]
fn an_admin_registers() {
    admin(vec![])
        .when(register_admin())
        .then_expect_events(vec![admin_registered()]);
}

#[test]
fn a_reseller_registers_under_its_partner_with_its_products() {
    reseller(vec![])
        .when(register_reseller(&[RA, TF]))
        .then_expect_events(vec![reseller_registered(&[RA, TF])]);
}

#[test]
fn registration_trims_login_email_and_name() {
    partner(vec![])
        .when(LedgerCommand::RegisterPartner {
            login: "  acme ".into(),
            email: " sales@acme.example ".into(),
            name: " Acme  ".into(),
        })
        .then_expect_events(vec![partner_registered()]);
}

#[test]
fn registering_an_account_twice_is_a_conflict() {
    partner(vec![partner_registered()])
        .when(register_partner())
        .then_expect_error(conflict("this account already exists"));
    admin(vec![admin_registered()])
        .when(register_admin())
        .then_expect_error(conflict("this account already exists"));
    reseller(vec![reseller_registered(&[RA])])
        .when(register_reseller(&[RA]))
        .then_expect_error(conflict("this account already exists"));
}

#[test]
fn registration_refuses_a_malformed_login_email_or_name() {
    let login = "a login is 3 to 64 characters: letters, digits, '.', '_' or '-'";
    let cases = [
        ("ab", "a@b.co", "Acme", bad(login)),
        ("with space", "a@b.co", "Acme", bad(login)),
        (&"x".repeat(65), "a@b.co", "Acme", bad(login)),
        (
            "acme",
            "not-an-email",
            "Acme",
            bad("\"not-an-email\" is not a valid email address"),
        ),
        (
            "acme",
            "a@b.co",
            "   ",
            bad("the name must be 1 to 100 characters"),
        ),
        (
            "acme",
            "a@b.co",
            &"n".repeat(101),
            bad("the name must be 1 to 100 characters"),
        ),
    ];
    for (login, email, name, error) in cases {
        let command = LedgerCommand::RegisterPartner {
            login: login.into(),
            email: email.into(),
            name: name.into(),
        };
        assert_eq!(
            outcome_as(Role::Partner, vec![], command),
            Err(error),
            "{login} {email} {name}"
        );
    }
}

#[test]
fn a_reseller_registers_with_at_least_one_known_product() {
    reseller(vec![])
        .when(register_reseller(&[]))
        .then_expect_error(bad("choose at least one product"));
    reseller(vec![])
        .when(register_reseller(&[RA, "NOPE"]))
        .then_expect_error(bad("there is no product \"NOPE\""));
}

#[test]
fn a_product_listed_twice_for_a_reseller_is_kept_once() {
    reseller(vec![])
        .when(register_reseller(&[RA, TF, RA]))
        .then_expect_events(vec![reseller_registered(&[RA, TF])]);
}

// --- The account must exist -------------------------------------------------

#[test]
fn every_command_on_an_account_not_registered_is_not_found() {
    for role in ROLES {
        for (name, command) in every_account_command() {
            assert_eq!(
                outcome_as(role, vec![], command),
                Err(not_found("no such account")),
                "{name} on an unregistered {role:?}"
            );
        }
    }
}

// --- Who may do what --------------------------------------------------------

#[test]
fn each_registration_belongs_to_its_own_role() {
    let cases = [
        (Role::Partner, register_admin()),
        (Role::Reseller, register_admin()),
        (Role::Admin, register_partner()),
        (Role::Reseller, register_partner()),
        (Role::Admin, register_reseller(&[RA])),
        (Role::Partner, register_reseller(&[RA])),
    ];
    for (role, command) in cases {
        assert_eq!(
            outcome_as(role, vec![], command.clone()),
            Err(wrong_role(role)),
            "{command:?} on {role:?}"
        );
    }
}

#[test]
fn account_commands_belong_to_their_role() {
    // (command, the role it belongs to)
    let cases = [
        (add_reseller(RESELLER_ID), Role::Partner),
        (transfer("t1", RESELLER_ID, 10), Role::Partner),
        (edit_reseller_products(&[RA]), Role::Reseller),
        (receive("t1", PARTNER_ID, 10), Role::Reseller),
    ];
    for (command, owner) in cases {
        for role in ROLES.into_iter().filter(|r| *r != owner) {
            assert_eq!(
                outcome_as(role, vec![registered(role)], command.clone()),
                Err(wrong_role(role)),
                "{command:?} on {role:?}"
            );
        }
    }
}

#[test]
fn credits_are_granted_to_partners_only() {
    for role in [Role::Admin, Role::Reseller] {
        assert_eq!(
            outcome_as(role, vec![registered(role)], grant(100, "invoice-1")),
            Err(bad("credits are granted to partners only")),
            "{role:?}"
        );
    }
}

#[test]
fn an_admin_sells_nothing_not_even_an_activation_key() {
    admin(vec![admin_registered()])
        .when(create_key("k1", KEY_CODE))
        .then_expect_error(wrong_role(Role::Admin));
    for (name, command) in every_seller_command() {
        assert_eq!(
            outcome_as(Role::Admin, vec![admin_registered()], command),
            Err(wrong_role(Role::Admin)),
            "{name}"
        );
    }
}

#[test]
fn partners_and_resellers_may_both_sell() {
    for role in [Role::Partner, Role::Reseller] {
        assert_eq!(
            outcome_as(role, vec![registered(role)], create_key("k1", KEY_CODE)),
            Ok(vec![key("k1")]),
            "{role:?}"
        );
    }
}
