//! Resellers (seed sections 6 and 7): a partner creates them, edits them and
//! gives them credits; they sell within their products and their credits; the
//! partner sees and edits what they sell; nobody else sees any of it. Credit
//! transfers reach the reseller exactly once, even when the transfer process
//! is stopped between the two sides, and never overdraw the partner.
//!
//! Prices (catalog/products.toml): REMOTE_ACCESS DESKTOP 10 credits a user;
//! TWO_FACTOR STANDARD 5; support REMOTE_ACCESS DESKTOP 1 credit a user and
//! month; Remote Support 4 credits a channel and month.

use crate::common;
use crate::common::{Backend, TestApp, all_at_once, cli, license_input, with_fields};
use aggregates::{LedgerCommand, Role};
use chrono::{Days, NaiveDate, Utc};
use license_portal::ledgers::Actor;
use license_portal::transfers::Transfers;
use serde_json::{Value, json};
use std::sync::Arc;

const ACCOUNT_FIELDS: &str = "id role login email name creditBalance parent { id login } allowedProducts { code } keyCount licenseCount mustChangePassword";
const CREATE: &str = "mutation($i: CreateResellerInput!) { createReseller(input: $i) { generatedPassword reseller { FIELDS } } }";
const EDIT: &str =
    "mutation($id: ID!, $i: EditResellerInput!) { editReseller(id: $id, input: $i) { FIELDS } }";
const ACCOUNTS: &str =
    "query($r: Role) { accounts(role: $r, first: 500) { totalCount edges { node { FIELDS } } } }";
const GIVE: &str = "mutation($r: ID!, $a: Int!, $k: String) { giveCredits(resellerId: $r, amount: $a, idempotencyKey: $k) { id account { id } amount balanceAfter reason reference actor { login } } }";
const LICENSE_FIELDS: &str = "id status users creditsSpent email comment product { code } owner { login } activationKey { id }";
const HISTORY: &str = "query($a: ID) { creditHistory(accountId: $a, first: 500) { totalCount edges { node { id amount balanceAfter reason reference actor { login } account { login } } } } }";
const EVENTS: &str = "query($a: ID) { events(aggregateId: $a, first: 500) { totalCount edges { node { aggregateType aggregateId eventType actor { login } } } } }";
const CHANGE_PASSWORD: &str =
    "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) }";
const ASSIGN: &str = "mutation($i: AssignLicenseInput!, $k: String) { assignLicense(input: $i, idempotencyKey: $k) { FIELDS } }";
const EDIT_LICENSE: &str = "mutation($id: ID!, $e: String, $c: String) { editLicense(id: $id, email: $e, comment: $c) { FIELDS } }";
const UPGRADE_LICENSE: &str =
    "mutation($id: ID!, $u: Int) { upgradeLicense(id: $id, users: $u) { FIELDS } }";
const LICENSES: &str = "query($f: LicenseFilter) { licenses(filter: $f, first: 500) { totalCount edges { node { FIELDS } } } }";
const DELETE: &str = "mutation($id: ID!) { deleteLicense(id: $id) { id account { login } amount balanceAfter reason reference actor { login } } }";
const SUPPORT_FIELDS: &str =
    "id users startsOn endOfSupport expired creditsSpent owner { login } activationKey { id }";
const ASSIGN_SUPPORT: &str =
    "mutation($i: AssignSupportInput!) { assignSupport(input: $i) { FIELDS } }";
const SUPPORTS: &str = "query($f: SupportFilter) { supports(filter: $f, first: 500) { totalCount edges { node { FIELDS } } } }";

/// `doc` asking for the fields of an account where it says FIELDS.
fn account_doc(doc: &str) -> String {
    with_fields(doc, ACCOUNT_FIELDS)
}

/// `doc` asking for the fields of a license where it says FIELDS.
fn license_doc(doc: &str) -> String {
    with_fields(doc, LICENSE_FIELDS)
}

/// `doc` asking for the fields of a support where it says FIELDS.
fn support_doc(doc: &str) -> String {
    with_fields(doc, SUPPORT_FIELDS)
}

const UPGRADE_SUPPORT: &str =
    "mutation($id: ID!, $u: Int) { upgradeSupport(id: $id, users: $u) { id users } }";
const EXTEND_SUPPORT: &str =
    "mutation($id: ID!, $m: Int!) { extendSupport(id: $id, months: $m) { id endOfSupport } }";
const SUBSCRIBE: &str = "mutation($i: CreateServiceSubscriptionInput!) { createServiceSubscription(input: $i) { id channels creditsSpent owner { login } } }";
const SUBSCRIPTIONS: &str = "query($o: ID) { serviceSubscriptions(ownerId: $o, first: 500) { totalCount edges { node { id owner { login } } } } }";
const KEYS: &str = "query($o: ID) { activationKeys(ownerId: $o, first: 500) { totalCount edges { node { id owner { login } } } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { id } }";
const QUOTE: &str = "query($i: QuoteInput!) { quote(input: $i) { cost balance sufficient } }";

// --- Helpers ----------------------------------------------------------------

fn reseller_input(login: &str, products: &[&str], password: Option<&str>) -> Value {
    json!({
        "login": login,
        "email": format!("{login}@shop.example"),
        "name": format!("Shop {login}"),
        "password": password,
        "products": products,
    })
}

/// A reseller with a chosen password, signed in; returns (id, token).
async fn reseller(
    app: &TestApp,
    partner: &str,
    login: &str,
    products: &[&str],
) -> (String, String) {
    let d = app
        .ok(
            Some(partner),
            &account_doc(CREATE),
            json!({ "i": reseller_input(login, products, Some("reseller-pass-1")) }),
        )
        .await;
    let id = d["createReseller"]["reseller"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    (id, app.login(login, "reseller-pass-1").await)
}

async fn give(app: &TestApp, partner: &str, reseller_id: &str, amount: i64) -> Value {
    app.ok(
        Some(partner),
        GIVE,
        json!({ "r": reseller_id, "a": amount }),
    )
    .await["giveCredits"]
        .clone()
}

fn support_input(key: &Value, users: i64, months: i64) -> Value {
    json!({
        "activationKeyId": key["id"],
        "product": "REMOTE_ACCESS",
        "edition": "DESKTOP",
        "users": users,
        "months": months,
    })
}

fn subscription_input(key: &Value, channels: i64, months: i64) -> Value {
    json!({
        "activationKeyId": key["id"],
        "software": "REMOTE_SUPPORT",
        "channels": channels,
        "months": months,
    })
}

async fn assign(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), &license_doc(ASSIGN), json!({ "i": input }))
        .await["assignLicense"]
        .clone()
}

/// The ids of a connection's nodes, sorted: for lists whose order is not
/// what the test is about.
fn ids(connection: &Value) -> Vec<String> {
    sorted(common::ids(connection))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn s(v: &Value) -> String {
    v.as_str().expect("a string").to_string()
}

fn entries(history: &Value) -> Vec<Value> {
    common::nodes(&history["creditHistory"])
}

/// The code of the first error; panics when the request succeeded.
async fn code(app: &TestApp, token: &str, doc: &str, vars: Value) -> String {
    let answer = app.gql(Some(token), doc, vars.clone()).await;
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{doc} {vars} should fail: {answer}"))
        .to_string()
}

// --- Seed sections 6 and 7 --------------------------------------------------

/// Partner acme (granted 1000 credits) and its reseller west (chosen
/// password, selling REMOTE_ACCESS and REMOTE_SUPPORT), given `credits`.
struct Acme {
    admin: String,
    acme: String,
    partner: String,
    west_id: String,
    west: String,
}

async fn acme_and_west(app: &TestApp, credits: i64) -> Acme {
    let (admin, acme, partner) = app.funded_partner("acme", 1000).await;
    let (west_id, west) =
        reseller(app, &partner, "west", &["REMOTE_ACCESS", "REMOTE_SUPPORT"]).await;
    if credits > 0 {
        give(app, &partner, &west_id, credits).await;
    }
    Acme {
        admin,
        acme,
        partner,
        west_id,
        west,
    }
}

/// What west sells on one key of its own: a license (2 users, 20 credits), a
/// year of support (2 users, 24) and a month of Remote Support (1 channel, 4).
struct Sold {
    key: Value,
    license: Value,
    support: Value,
    subscription: Value,
}

async fn west_sells(app: &TestApp, west: &str) -> Sold {
    sell(app, west, "West customer", 2, 12).await
}

/// A key named `name` with a Remote Access Desktop license and support for
/// `users`, support for `months`, and a one-channel subscription.
async fn sell(app: &TestApp, token: &str, name: &str, users: i64, months: i64) -> Sold {
    let key = app.key(token, name).await;
    let license = assign(
        app,
        token,
        license_input(&key, "REMOTE_ACCESS", "DESKTOP", users, "PERMANENT"),
    )
    .await;
    let support = app
        .ok(
            Some(token),
            &support_doc(ASSIGN_SUPPORT),
            json!({ "i": support_input(&key, users, months) }),
        )
        .await["assignSupport"]
        .clone();
    let subscription = app
        .ok(
            Some(token),
            SUBSCRIBE,
            json!({ "i": subscription_input(&key, 1, 1) }),
        )
        .await["createServiceSubscription"]
        .clone();
    Sold {
        key,
        license,
        support,
        subscription,
    }
}

async fn edit_products(app: &TestApp, partner: &str, reseller_id: &str, products: &[&str]) {
    app.ok(
        Some(partner),
        &account_doc(EDIT),
        json!({ "id": reseller_id, "i": { "products": products } }),
    )
    .await;
}

both_backends!(
    a_reseller_created_with_a_password_has_nothing_generated,
    |app: TestApp| async move {
        let (_, acme, partner) = app.admin_and_partner("acme").await;
        let created = app
            .ok(
                Some(&partner),
                &account_doc(CREATE),
                json!({ "i": reseller_input("west", &["REMOTE_ACCESS", "REMOTE_SUPPORT"], Some("reseller-pass-1")) }),
            )
            .await["createReseller"]
            .clone();
        assert_eq!(created["generatedPassword"], Value::Null);
        let west = created["reseller"].clone();
        assert_eq!(west["role"], "RESELLER");
        assert_eq!(west["login"], "west");
        assert_eq!(west["email"], "west@shop.example");
        assert_eq!(west["name"], "Shop west");
        assert_eq!(west["creditBalance"], 0);
        assert_eq!(west["parent"]["id"], acme.as_str());
        assert_eq!(
            west["allowedProducts"],
            json!([{ "code": "REMOTE_ACCESS" }, { "code": "REMOTE_SUPPORT" }])
        );
        assert_eq!(west["mustChangePassword"], false);
    }
);

both_backends!(
    a_reseller_created_without_a_password_replaces_the_generated_one_first,
    |app: TestApp| async move {
        let (_, _, partner) = app.admin_and_partner("acme").await;
        // A strong password, shown once, to be changed at first sign-in.
        let created = app
            .ok(
                Some(&partner),
                &account_doc(CREATE),
                json!({ "i": reseller_input("east", &["TWO_FACTOR"], None) }),
            )
            .await["createReseller"]
            .clone();
        let generated = s(&created["generatedPassword"]);
        assert!(generated.chars().count() >= 16, "{generated}");
        assert_eq!(created["reseller"]["mustChangePassword"], true);
        let east_first = app.login("east", &generated).await;
        assert_eq!(
            code(
                &app,
                &east_first,
                "mutation { createActivationKey(name: \"K\") { id } }",
                json!({})
            )
            .await,
            "FORBIDDEN"
        );
        assert_eq!(
            app.ok(
                Some(&east_first),
                CHANGE_PASSWORD,
                json!({ "c": generated, "n": "my-own-password-1" })
            )
            .await["changePassword"],
            true
        );
        let east = app.login("east", "my-own-password-1").await;
        app.key(&east, "East's first key").await;
    }
);

both_backends!(
    reseller_logins_and_emails_are_unique_and_products_are_checked,
    |app: TestApp| async move {
        let Acme { partner, .. } = acme_and_west(&app, 0).await;
        for (input, expected) in [
            (reseller_input("acme", &["TWO_FACTOR"], None), "CONFLICT"),
            (reseller_input("WEST", &["TWO_FACTOR"], None), "CONFLICT"),
            (
                json!({ "login": "north", "email": "acme@example.com", "name": "N", "products": ["TWO_FACTOR"] }),
                "CONFLICT",
            ),
            (reseller_input("north", &[], None), "BAD_USER_INPUT"),
            (reseller_input("north", &["NOPE"], None), "BAD_USER_INPUT"),
            (
                reseller_input("north", &["TWO_FACTOR"], Some("short")),
                "BAD_USER_INPUT",
            ),
        ] {
            assert_eq!(
                code(&app, &partner, &account_doc(CREATE), json!({ "i": input })).await,
                expected,
                "{input}"
            );
        }
    }
);

both_backends!(only_a_partner_has_resellers, |app: TestApp| async move {
    let Acme { admin, west, .. } = acme_and_west(&app, 0).await;
    let north = json!({ "i": reseller_input("north", &["TWO_FACTOR"], None) });
    assert_eq!(
        code(&app, &admin, &account_doc(CREATE), north.clone()).await,
        "FORBIDDEN"
    );
    assert_eq!(
        code(&app, &west, &account_doc(CREATE), north).await,
        "FORBIDDEN"
    );
});

// Seed section 7.
both_backends!(
    given_credits_reach_the_reseller_at_once,
    |app: TestApp| async move {
        let Acme {
            acme,
            partner,
            west_id,
            west,
            ..
        } = acme_and_west(&app, 0).await;
        let entry = give(&app, &partner, &west_id, 300).await;
        assert_eq!(entry["amount"], -300);
        assert_eq!(entry["balanceAfter"], 700);
        assert_eq!(entry["reason"], "TRANSFER_OUT");
        assert_eq!(entry["reference"], west_id.as_str());
        assert_eq!(entry["account"]["id"], acme.as_str());
        assert_eq!(entry["actor"]["login"], "acme");
        assert_eq!(
            app.query(&partner, &account_doc(ACCOUNTS)).await["accounts"]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .find(|e| e["node"]["id"] == west_id.as_str())
                .expect("west listed")["node"]["creditBalance"],
            300
        );
        assert_eq!(app.balance(&west).await, 300);
        assert_eq!(app.balance(&partner).await, 700);
        let received = entries(&app.query(&west, HISTORY).await);
        assert_eq!(received.len(), 1);
        assert_eq!(received[0]["amount"], 300);
        assert_eq!(received[0]["balanceAfter"], 300);
        assert_eq!(received[0]["reason"], "TRANSFER_IN");
        assert_eq!(received[0]["reference"], acme.as_str());
    }
);

both_backends!(
    a_reseller_sells_from_its_own_balance_within_its_products,
    |app: TestApp| async move {
        let Acme { partner, west, .. } = acme_and_west(&app, 300).await;
        let sold = west_sells(&app, &west).await;
        assert_eq!(sold.license["creditsSpent"], 20);
        assert_eq!(sold.license["owner"]["login"], "west");
        assert_eq!(sold.support["creditsSpent"], 24);
        assert_eq!(sold.subscription["creditsSpent"], 4);
        assert_eq!(app.balance(&west).await, 300 - 20 - 24 - 4);
        assert_eq!(app.balance(&partner).await, 700, "the partner paid nothing");
        // Outside its list: FORBIDDEN, quote included, nothing spent.
        let key = &sold.key;
        for doc_vars in [
            (
                license_doc(ASSIGN),
                json!({ "i": license_input(key, "TWO_FACTOR", "STANDARD", 1, "PERMANENT") }),
            ),
            (
                QUOTE.to_string(),
                json!({ "i": { "assignLicense": license_input(key, "TWO_FACTOR", "STANDARD", 1, "PERMANENT") } }),
            ),
        ] {
            assert_eq!(
                code(&app, &west, &doc_vars.0, doc_vars.1).await,
                "FORBIDDEN"
            );
        }
        assert_eq!(app.balance(&west).await, 252);
    }
);

both_backends!(
    the_partner_sees_what_its_reseller_sells,
    |app: TestApp| async move {
        let Acme {
            partner,
            west_id,
            west,
            ..
        } = acme_and_west(&app, 300).await;
        let Sold {
            key,
            license,
            support,
            subscription,
        } = west_sells(&app, &west).await;
        let lics = app
            .ok(
                Some(&partner),
                &license_doc(LICENSES),
                json!({ "f": { "ownerId": west_id } }),
            )
            .await;
        assert_eq!(ids(&lics["licenses"]), vec![s(&license["id"])]);
        let all = app.query(&partner, &license_doc(LICENSES)).await;
        assert_eq!(ids(&all["licenses"]), vec![s(&license["id"])]);
        let sups = app.query(&partner, &support_doc(SUPPORTS)).await;
        assert_eq!(ids(&sups["supports"]), vec![s(&support["id"])]);
        let sups = app
            .ok(
                Some(&partner),
                &support_doc(SUPPORTS),
                json!({ "f": { "includeResellers": true } }),
            )
            .await;
        assert_eq!(ids(&sups["supports"]), vec![s(&support["id"])]);
        let own_only = app
            .ok(
                Some(&partner),
                &support_doc(SUPPORTS),
                json!({ "f": { "includeResellers": false } }),
            )
            .await;
        assert_eq!(own_only["supports"]["totalCount"], 0);
        let subs = app
            .ok(Some(&partner), SUBSCRIPTIONS, json!({ "o": west_id }))
            .await;
        assert_eq!(
            ids(&subs["serviceSubscriptions"]),
            vec![s(&subscription["id"])]
        );
        let history = entries(
            &app.ok(Some(&partner), HISTORY, json!({ "a": west_id }))
                .await,
        );
        let reasons: Vec<&str> = history
            .iter()
            .map(|e| e["reason"].as_str().expect("reason"))
            .collect();
        assert_eq!(
            reasons,
            vec!["TRANSFER_IN", "LICENSE", "SUPPORT", "SUBSCRIPTION"]
        );
        let events = app
            .ok(Some(&partner), EVENTS, json!({ "a": west_id }))
            .await["events"]
            .clone();
        let types: Vec<&str> = events["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["eventType"].as_str().expect("type"))
            .collect();
        for t in [
            "ResellerRegistered",
            "CreditsTransferredIn",
            "ActivationKeyCreated",
            "LicenseAssigned",
            "SupportAssigned",
            "SubscriptionCreated",
        ] {
            assert!(types.contains(&t), "{t} missing from {types:?}");
        }
        assert!(
            events["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .all(|e| e["node"]["aggregateId"] == west_id.as_str())
        );
        for id in [
            &license["id"],
            &support["id"],
            &subscription["id"],
            &key["id"],
        ] {
            assert_eq!(app.ok_for_id(&partner, NODE, &id).await["node"]["id"], *id);
        }
    }
);

both_backends!(
    the_partner_edits_its_resellers_license_which_stays_the_resellers,
    |app: TestApp| async move {
        let Acme { partner, west, .. } = acme_and_west(&app, 300).await;
        let Sold { license, .. } = west_sells(&app, &west).await;
        let edited = app
            .ok(
                Some(&partner),
                &license_doc(EDIT_LICENSE),
                json!({ "id": license["id"], "c": "checked by acme" }),
            )
            .await["editLicense"]
            .clone();
        assert_eq!(edited["comment"], "checked by acme");
        assert_eq!(edited["owner"]["login"], "west");
        let seen = app.query(&west, &license_doc(LICENSES)).await;
        assert_eq!(
            seen["licenses"]["edges"][0]["node"]["comment"],
            "checked by acme"
        );
    }
);

both_backends!(
    deleting_a_resellers_license_refunds_the_reseller_not_the_partner,
    |app: TestApp| async move {
        let Acme { partner, west, .. } = acme_and_west(&app, 300).await;
        let Sold { key, .. } = west_sells(&app, &west).await;
        let second = assign(
            &app,
            &west,
            license_input(&key, "REMOTE_ACCESS", "DESKTOP", 3, "PERMANENT"),
        )
        .await;
        assert_eq!(app.balance(&west).await, 222);
        let refund = app.ok_for_id(&partner, DELETE, &second["id"]).await["deleteLicense"].clone();
        assert_eq!(refund["amount"], 30);
        assert_eq!(refund["balanceAfter"], 252);
        assert_eq!(refund["reason"], "LICENSE_REFUND");
        assert_eq!(refund["account"]["login"], "west");
        assert_eq!(refund["actor"]["login"], "acme");
        assert_eq!(app.balance(&west).await, 252);
        assert_eq!(app.balance(&partner).await, 700);
    }
);

both_backends!(
    edit_reseller_changes_email_name_and_products,
    |app: TestApp| async move {
        let Acme {
            partner, west_id, ..
        } = acme_and_west(&app, 252).await;
        reseller(&app, &partner, "east", &["TWO_FACTOR"]).await;
        let edited = app
            .ok(
                Some(&partner),
                &account_doc(EDIT),
                json!({ "id": west_id, "i": { "email": "sales@west.example", "name": "West Ltd", "products": ["TWO_FACTOR", "REMOTE_SUPPORT"] } }),
            )
            .await["editReseller"]
            .clone();
        assert_eq!(edited["email"], "sales@west.example");
        assert_eq!(edited["name"], "West Ltd");
        assert_eq!(
            edited["allowedProducts"],
            json!([{ "code": "TWO_FACTOR" }, { "code": "REMOTE_SUPPORT" }])
        );
        assert_eq!(edited["creditBalance"], 252);
        // Its new email signs in; the old one no longer does.
        app.login("sales@west.example", "reseller-pass-1").await;
        let old = app
            .error_code(
                None,
                "mutation { login(login: \"west@shop.example\", password: \"reseller-pass-1\") { token } }",
                json!({}),
            )
            .await;
        assert_eq!(old, "UNAUTHENTICATED");
        // The email is unique across accounts; a refused edit changes nothing.
        assert_eq!(
            code(
                &app,
                &partner,
                &account_doc(EDIT),
                json!({ "id": west_id, "i": { "email": "east@shop.example", "name": "Other" } })
            )
            .await,
            "CONFLICT"
        );
        assert_eq!(
            code(
                &app,
                &partner,
                &account_doc(EDIT),
                json!({ "id": west_id, "i": { "products": [] } })
            )
            .await,
            "BAD_USER_INPUT"
        );
        app.login("sales@west.example", "reseller-pass-1").await;
    }
);

both_backends!(
    removing_a_product_stops_new_licenses_and_keeps_the_existing_ones,
    |app: TestApp| async move {
        let Acme {
            partner,
            west_id,
            west,
            ..
        } = acme_and_west(&app, 300).await;
        let Sold { key, license, .. } = west_sells(&app, &west).await;
        edit_products(&app, &partner, &west_id, &["TWO_FACTOR", "REMOTE_SUPPORT"]).await;
        assert_eq!(
            code(
                &app,
                &west,
                &license_doc(ASSIGN),
                json!({ "i": license_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT") })
            )
            .await,
            "FORBIDDEN"
        );
        let kept = app
            .ok(
                Some(&west),
                &license_doc(LICENSES),
                json!({ "f": { "status": ["ACTIVE"] } }),
            )
            .await;
        assert_eq!(kept["licenses"]["totalCount"], 1);
        assert_eq!(kept["licenses"]["edges"][0]["node"]["id"], license["id"]);
        assert_eq!(kept["licenses"]["edges"][0]["node"]["status"], "ACTIVE");
        let two_factor = assign(
            &app,
            &west,
            license_input(&key, "TWO_FACTOR", "STANDARD", 2, "PERMANENT"),
        )
        .await;
        assert_eq!(two_factor["creditsSpent"], 10);
    }
);

both_backends!(
    the_partners_reseller_list_shows_balance_products_and_counts,
    |app: TestApp| async move {
        let Acme {
            partner,
            west_id,
            west,
            ..
        } = acme_and_west(&app, 300).await;
        // West: two licenses and a deleted one, 242 credits left.
        let Sold { key, .. } = west_sells(&app, &west).await;
        let deleted = assign(
            &app,
            &west,
            license_input(&key, "REMOTE_ACCESS", "DESKTOP", 3, "PERMANENT"),
        )
        .await;
        app.ok_for_id(&partner, DELETE, &deleted["id"]).await;
        edit_products(&app, &partner, &west_id, &["TWO_FACTOR", "REMOTE_SUPPORT"]).await;
        assign(
            &app,
            &west,
            license_input(&key, "TWO_FACTOR", "STANDARD", 2, "PERMANENT"),
        )
        .await;
        // East: a key and nothing on it.
        let (east_id, east) = reseller(&app, &partner, "east", &["TWO_FACTOR"]).await;
        app.key(&east, "East's first key").await;

        let list = app.query(&partner, &account_doc(ACCOUNTS)).await["accounts"].clone();
        assert_eq!(list["totalCount"], 2);
        let row = |id: &str| {
            list["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .find(|e| e["node"]["id"] == id)
                .map(|e| e["node"].clone())
                .expect("listed")
        };
        let w = row(&west_id);
        assert_eq!(w["creditBalance"], 242);
        assert_eq!(w["keyCount"], 1);
        assert_eq!(w["licenseCount"], 2, "the deleted license is not counted");
        assert_eq!(w["parent"]["login"], "acme");
        assert_eq!(
            w["allowedProducts"],
            json!([{ "code": "TWO_FACTOR" }, { "code": "REMOTE_SUPPORT" }])
        );
        let e = row(&east_id);
        assert_eq!(e["creditBalance"], 0);
        assert_eq!(e["keyCount"], 1);
        assert_eq!(e["licenseCount"], 0);
    }
);

both_backends!(
    a_reseller_lists_no_accounts_and_the_admin_lists_every_reseller,
    |app: TestApp| async move {
        let Acme {
            admin,
            partner,
            west,
            ..
        } = acme_and_west(&app, 0).await;
        reseller(&app, &partner, "east", &["TWO_FACTOR"]).await;
        let mine = app.query(&west, &account_doc(ACCOUNTS)).await;
        assert_eq!(mine["accounts"]["totalCount"], 0);
        let (_, globex) = app.partner(&admin, "globex").await;
        reseller(&app, &globex, "south", &["TWO_FACTOR"]).await;
        let every = app
            .ok(
                Some(&admin),
                &account_doc(ACCOUNTS),
                json!({ "r": "RESELLER" }),
            )
            .await;
        assert_eq!(every["accounts"]["totalCount"], 3);
        let partners = app.query(&admin, &account_doc(ACCOUNTS)).await;
        assert_eq!(partners["accounts"]["totalCount"], 2);
    }
);

both_backends!(
    histories_add_up_and_verify_counts_the_transfer_once,
    |app: TestApp| async move {
        let Acme { partner, west, .. } = acme_and_west(&app, 300).await;
        west_sells(&app, &west).await;
        let (_, east) = reseller(&app, &partner, "east", &["TWO_FACTOR"]).await;
        for t in [&partner, &west, &east] {
            app.assert_history_adds_up(t).await;
        }
        let (ok, out) = cli(&app, &["verify"]);
        assert!(ok, "{out}");
        assert!(
            out.contains("transfers:       1 (0 in flight, 0 credits)"),
            "{out}"
        );
    }
);

// --- giveCredits ------------------------------------------------------------

both_backends!(
    give_credits_refusals_and_idempotency,
    |app: TestApp| async move {
        let (admin, acme, partner) = app.funded_partner("acme", 100).await;
        let (west_id, west) = reseller(&app, &partner, "west", &["REMOTE_ACCESS"]).await;
        let (globex_id, globex) = app.partner(&admin, "globex").await;
        app.grant(&admin, &globex_id, 100, "INV-G").await;
        let (theirs, _) = reseller(&app, &globex, "south", &["REMOTE_ACCESS"]).await;
        let before = (
            app.query(&partner, HISTORY).await,
            app.query(&west, HISTORY).await,
        );

        for (amount, expected) in [(0, "BAD_USER_INPUT"), (-5, "BAD_USER_INPUT")] {
            assert_eq!(
                code(&app, &partner, GIVE, json!({ "r": west_id, "a": amount })).await,
                expected,
                "{amount}"
            );
        }
        let too_much = app
            .gql(Some(&partner), GIVE, json!({ "r": west_id, "a": 101 }))
            .await;
        let error = &too_much["errors"][0]["extensions"];
        assert_eq!(error["code"], "INSUFFICIENT_CREDITS", "{too_much}");
        assert_eq!(error["required"], 101);
        assert_eq!(error["balance"], 100);
        assert_eq!(too_much["data"], Value::Null);
        // Not its reseller, not a reseller, nobody: NOT_FOUND.
        for r in [
            theirs.as_str(),
            globex_id.as_str(),
            acme.as_str(),
            "acc_nobody",
        ] {
            assert_eq!(
                code(&app, &partner, GIVE, json!({ "r": r, "a": 5 })).await,
                "NOT_FOUND",
                "{r}"
            );
        }
        // Only a partner gives credits.
        for t in [&admin, &west] {
            assert_eq!(
                code(&app, t, GIVE, json!({ "r": west_id, "a": 5 })).await,
                "FORBIDDEN"
            );
        }
        assert_eq!(
            (
                app.query(&partner, HISTORY).await,
                app.query(&west, HISTORY).await,
            ),
            before,
            "a refused transfer changed something"
        );

        // The whole balance may go.
        let (east_id, east) = reseller(&app, &partner, "east", &["REMOTE_ACCESS"]).await;
        // The same idempotency key twice: the first entry, spent once.
        let vars = json!({ "r": west_id, "a": 40, "k": "give-west-1" });
        let first = app.ok(Some(&partner), GIVE, vars.clone()).await["giveCredits"].clone();
        let again = app.ok(Some(&partner), GIVE, vars).await["giveCredits"].clone();
        assert_eq!(first, again);
        assert_eq!(app.balance(&partner).await, 60);
        assert_eq!(app.balance(&west).await, 40);
        // … with other arguments: CONFLICT, nothing moved.
        for other in [
            json!({ "r": west_id, "a": 41, "k": "give-west-1" }),
            json!({ "r": east_id, "a": 40, "k": "give-west-1" }),
        ] {
            assert_eq!(code(&app, &partner, GIVE, other).await, "CONFLICT");
        }
        // Another partner may use the same key for its own transfer.
        let theirs_entry = app
            .ok(
                Some(&globex),
                GIVE,
                json!({ "r": theirs, "a": 40, "k": "give-west-1" }),
            )
            .await["giveCredits"]
            .clone();
        assert_ne!(theirs_entry["id"], first["id"]);
        // Concurrent retries of one request spend once.
        let app = Arc::new(app);
        let seen = all_at_once((0..8).map(|_| {
            let (app, partner, east_id) = (app.clone(), partner.clone(), east_id.clone());
            async move {
                app.ok(
                    Some(&partner),
                    GIVE,
                    json!({ "r": east_id, "a": 60, "k": "give-east-all" }),
                )
                .await["giveCredits"]["id"]
                    .clone()
            }
        }))
        .await;
        assert!(seen.iter().all(|id| *id == seen[0]), "{seen:?}");
        assert_eq!(app.balance(&partner).await, 0);
        assert_eq!(app.balance(&east).await, 60);
        let history = entries(&app.query(&east, HISTORY).await);
        assert_eq!(history.len(), 1, "{history:?}");
        for t in [&partner, &west, &east, &globex] {
            app.assert_history_adds_up(t).await;
        }
        let (ok, out) = cli(&app, &["verify"]);
        assert!(ok, "{out}");
        assert!(
            out.contains("transfers:       3 (0 in flight, 0 credits)"),
            "{out}"
        );
    }
);

// --- Who pays when the partner sells on its reseller's key ------------------

both_backends!(
    a_partner_selling_on_its_resellers_key_spends_the_resellers_credits,
    |app: TestApp| async move {
        let (_, _, partner) = app.funded_partner("acme", 1000).await;
        let (west_id, west) = reseller(&app, &partner, "west", &["REMOTE_ACCESS"]).await;
        give(&app, &partner, &west_id, 50).await;
        let key = app.key(&west, "West customer").await;
        // The key's owner pays and its product list applies: the license is the
        // reseller's like every other on its key, and a refund goes back to it.
        let input = license_input(&key, "REMOTE_ACCESS", "DESKTOP", 2, "PERMANENT");
        assert_eq!(
            app.ok(
                Some(&partner),
                QUOTE,
                json!({ "i": { "assignLicense": input } })
            )
            .await["quote"],
            json!({ "cost": 20, "balance": 50, "sufficient": true })
        );
        let license = assign(&app, &partner, input).await;
        assert_eq!(license["owner"]["login"], "west");
        assert_eq!(app.balance(&west).await, 30);
        assert_eq!(app.balance(&partner).await, 950);
        // The partner sees that it acted; the reseller sees only itself.
        let last = entries(
            &app.ok(Some(&partner), HISTORY, json!({ "a": west_id }))
                .await,
        )
        .pop()
        .expect("an entry");
        assert_eq!(last["reason"], "LICENSE");
        assert_eq!(last["amount"], -20);
        assert_eq!(last["actor"]["login"], "acme", "the partner did it");
        let own_view = entries(&app.query(&west, HISTORY).await)
            .pop()
            .expect("an entry");
        assert_eq!(own_view["id"], last["id"]);
        assert_eq!(
            own_view["actor"],
            Value::Null,
            "its partner is not its to see"
        );
        // Upgrades and support on the reseller's things are the reseller's too.
        let upgraded = app
            .ok(
                Some(&partner),
                &license_doc(UPGRADE_LICENSE),
                json!({ "id": license["id"], "u": 3 }),
            )
            .await["upgradeLicense"]
            .clone();
        assert_eq!(upgraded["creditsSpent"], 30);
        assert_eq!(app.balance(&west).await, 20);
        let support = app
            .ok(
                Some(&partner),
                &support_doc(ASSIGN_SUPPORT),
                json!({ "i": support_input(&key, 1, 3) }),
            )
            .await["assignSupport"]
            .clone();
        assert_eq!(support["owner"]["login"], "west");
        assert_eq!(app.balance(&west).await, 17);
        // Outside the reseller's products, or beyond its credits: refused, even
        // though the partner itself sells everything and has the credits.
        assert_eq!(
            code(
                &app,
                &partner,
                &license_doc(ASSIGN),
                json!({ "i": license_input(&key, "TWO_FACTOR", "STANDARD", 1, "PERMANENT") })
            )
            .await,
            "FORBIDDEN"
        );
        let short = app
            .gql(
                Some(&partner),
                &license_doc(ASSIGN),
                json!({ "i": license_input(&key, "REMOTE_ACCESS", "DESKTOP", 2, "PERMANENT") }),
            )
            .await;
        assert_eq!(
            short["errors"][0]["extensions"]["code"],
            "INSUFFICIENT_CREDITS"
        );
        assert_eq!(short["errors"][0]["extensions"]["required"], 20);
        assert_eq!(short["errors"][0]["extensions"]["balance"], 17);
        assert_eq!(app.balance(&partner).await, 950);
        assert_eq!(app.balance(&west).await, 17);
        let refund = app.ok_for_id(&partner, DELETE, &license["id"]).await["deleteLicense"].clone();
        assert_eq!(refund["amount"], 30);
        assert_eq!(refund["account"]["login"], "west");
        assert_eq!(app.balance(&west).await, 47);
        assert_eq!(app.balance(&partner).await, 950);
        // Idempotency keys belong to the account sending them: the reseller's
        // "order-1" and the partner's "order-1" on the reseller's key are two
        // orders, each replayed to its own sender only.
        let order = license_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT");
        let send = |token: &str, order: &Value| keyed_order(&app, token.to_string(), order.clone());
        let by_reseller = send(&west, &order).await["assignLicense"].clone();
        assert_eq!(app.balance(&west).await, 37);
        let by_partner = send(&partner, &order).await["assignLicense"].clone();
        assert_ne!(by_partner["id"], by_reseller["id"]);
        assert_eq!(app.balance(&west).await, 27);
        assert_eq!(
            send(&partner, &order).await["assignLicense"]["id"],
            by_partner["id"]
        );
        assert_eq!(
            send(&west, &order).await["assignLicense"]["id"],
            by_reseller["id"]
        );
        assert_eq!(app.balance(&west).await, 27);
        let mut other = order.clone();
        other["users"] = json!(2);
        assert_eq!(
            code(
                &app,
                &partner,
                &license_doc(ASSIGN),
                json!({ "i": other, "k": "order-1" })
            )
            .await,
            "CONFLICT"
        );
        for t in [&partner, &west] {
            app.assert_history_adds_up(t).await;
        }
    }
);

async fn keyed_order(app: &TestApp, token: String, order: Value) -> Value {
    app.ok(
        Some(&token),
        &license_doc(ASSIGN),
        json!({ "i": order, "k": "order-1" }),
    )
    .await
}

// --- Isolation --------------------------------------------------------------

/// Everything an account has: its key, a license, a support, a subscription
/// and a credit entry.
struct Holdings {
    account: String,
    key: Value,
    license: String,
    support: String,
    subscription: String,
    entry: String,
}

async fn holdings(app: &TestApp, account: &str, token: &str) -> Holdings {
    let Sold {
        key,
        license,
        support,
        subscription,
    } = sell(app, token, "Customer", 1, 1).await;
    let entry = entries(&app.query(token, HISTORY).await)
        .pop()
        .expect("an entry");
    Holdings {
        account: account.to_string(),
        key,
        license: s(&license["id"]),
        support: s(&support["id"]),
        subscription: s(&subscription["id"]),
        entry: s(&entry["id"]),
    }
}

/// Every way `token` could reach `other`'s things: each one NOT_FOUND, and
/// nothing changed for `owner_token`.
async fn cannot_touch(app: &TestApp, token: &str, other: &Holdings, owner_token: &str) {
    const STATE: &str = "{ me { creditBalance } creditHistory(first: 500) { totalCount } licenses(first: 500) { totalCount edges { node { id users email comment status } } } supports(first: 500) { totalCount edges { node { id users endOfSupport } } } serviceSubscriptions(first: 500) { totalCount } activationKeys(first: 500) { totalCount } events(first: 1) { totalCount } }";
    let before = app.query(owner_token, STATE).await;
    let key_id = &other.key["id"];
    let attempts: Vec<(String, Value)> = vec![
        (NODE.into(), json!({ "id": other.account })),
        (NODE.into(), json!({ "id": key_id })),
        (NODE.into(), json!({ "id": other.license })),
        (NODE.into(), json!({ "id": other.support })),
        (NODE.into(), json!({ "id": other.subscription })),
        (NODE.into(), json!({ "id": other.entry })),
        (KEYS.into(), json!({ "o": other.account })),
        (
            license_doc(LICENSES),
            json!({ "f": { "ownerId": other.account } }),
        ),
        (
            support_doc(SUPPORTS),
            json!({ "f": { "ownerId": other.account } }),
        ),
        (SUBSCRIPTIONS.into(), json!({ "o": other.account })),
        (HISTORY.into(), json!({ "a": other.account })),
        (
            "query($a: ID) { creditBalance(accountId: $a) }".into(),
            json!({ "a": other.account }),
        ),
        (
            license_doc(EDIT_LICENSE),
            json!({ "id": other.license, "c": "mine now" }),
        ),
        (
            license_doc(UPGRADE_LICENSE),
            json!({ "id": other.license, "u": 2 }),
        ),
        (DELETE.into(), json!({ "id": other.license })),
        (
            UPGRADE_SUPPORT.into(),
            json!({ "id": other.support, "u": 2 }),
        ),
        (
            EXTEND_SUPPORT.into(),
            json!({ "id": other.support, "m": 1 }),
        ),
        (
            license_doc(ASSIGN),
            json!({ "i": license_input(&other.key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT") }),
        ),
        (
            support_doc(ASSIGN_SUPPORT),
            json!({ "i": support_input(&other.key, 1, 1) }),
        ),
        (
            SUBSCRIBE.into(),
            json!({ "i": subscription_input(&other.key, 1, 1) }),
        ),
        (
            QUOTE.into(),
            json!({ "i": { "upgradeLicense": { "id": other.license, "users": 2 } } }),
        ),
        (
            QUOTE.into(),
            json!({ "i": { "extendSupport": { "id": other.support, "months": 1 } } }),
        ),
        (
            QUOTE.into(),
            json!({ "i": { "assignLicense": license_input(&other.key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT") } }),
        ),
    ];
    for (doc, vars) in attempts {
        let answer = app.gql(Some(token), &doc, vars.clone()).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{doc} {vars} → {answer}"
        );
    }
    // Filters naming another account's stream or key are NOT_FOUND too.
    assert_eq!(
        app.error_code(Some(token), EVENTS, json!({ "a": other.account }))
            .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(
            Some(token),
            &license_doc(LICENSES),
            json!({ "f": { "activationKeyId": key_id } }),
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(app.query(owner_token, STATE).await, before);
}

both_backends!(
    a_reseller_sees_and_touches_only_its_own,
    |app: TestApp| async move {
        let (admin, acme, a) = app.admin_and_partner("acme").await;
        let (globex, b) = app.partner(&admin, "globex").await;
        app.grant(&admin, &acme, 1000, "INV-A").await;
        app.grant(&admin, &globex, 1000, "INV-B").await;
        let all = ["REMOTE_ACCESS", "REMOTE_SUPPORT"];
        let (r1, t1) = reseller(&app, &a, "acme-r1", &all).await;
        let (r2, t2) = reseller(&app, &a, "acme-r2", &all).await;
        let (r3, t3) = reseller(&app, &b, "globex-r3", &all).await;
        for (partner, r) in [(&a, &r1), (&a, &r2), (&b, &r3)] {
            give(&app, partner, r, 200).await;
        }
        let h1 = holdings(&app, &r1, &t1).await;
        let h2 = holdings(&app, &r2, &t2).await;
        let h3 = holdings(&app, &r3, &t3).await;
        let ha = holdings(&app, &acme, &a).await;
        let hb = holdings(&app, &globex, &b).await;

        // A reseller: not its sibling, not another partner's reseller, not
        // either partner, its own included.
        for (other, owner) in [(&h2, &t2), (&h3, &t3), (&ha, &a), (&hb, &b)] {
            cannot_touch(&app, &t1, other, owner).await;
        }
        // A partner: not another partner's reseller nor that partner.
        for (other, owner) in [(&h3, &t3), (&hb, &b)] {
            cannot_touch(&app, &a, other, owner).await;
        }
        for (other, owner) in [(&h1, &t1), (&h2, &t2), (&ha, &a)] {
            cannot_touch(&app, &b, other, owner).await;
        }
        // Reseller management across partners: NOT_FOUND; for a reseller it is
        // no business at all.
        assert_eq!(
            code(
                &app,
                &b,
                &account_doc(EDIT),
                json!({ "id": r1, "i": { "name": "Mine" } })
            )
            .await,
            "NOT_FOUND"
        );
        assert_eq!(
            code(
                &app,
                &a,
                &account_doc(EDIT),
                json!({ "id": globex, "i": { "name": "Mine" } })
            )
            .await,
            "NOT_FOUND"
        );
        assert_eq!(
            code(&app, &b, GIVE, json!({ "r": r1, "a": 1 })).await,
            "NOT_FOUND"
        );
        for (doc, vars) in [
            (
                account_doc(EDIT),
                json!({ "id": r2, "i": { "name": "Mine" } }),
            ),
            (GIVE.to_string(), json!({ "r": r2, "a": 1 })),
        ] {
            assert_eq!(code(&app, &t1, &doc, vars).await, "FORBIDDEN");
        }

        // Unfiltered lists show a reseller only its own things.
        let lists = "{ activationKeys(first: 500) { edges { node { id } } } licenses(first: 500) { edges { node { id } } } supports(first: 500) { edges { node { id } } } serviceSubscriptions(first: 500) { edges { node { id } } } creditHistory(first: 500) { edges { node { id account { id } } } } events(first: 500) { edges { node { aggregateId } } } accounts(first: 500) { totalCount } }";
        let mine = app.query(&t1, lists).await;
        assert_eq!(ids(&mine["activationKeys"]), vec![s(&h1.key["id"])]);
        assert_eq!(ids(&mine["licenses"]), vec![h1.license.clone()]);
        assert_eq!(ids(&mine["supports"]), vec![h1.support.clone()]);
        assert_eq!(
            ids(&mine["serviceSubscriptions"]),
            vec![h1.subscription.clone()]
        );
        for e in mine["creditHistory"]["edges"].as_array().expect("edges") {
            assert_eq!(e["node"]["account"]["id"], r1.as_str());
        }
        for e in mine["events"]["edges"].as_array().expect("edges") {
            assert_eq!(e["node"]["aggregateId"], r1.as_str());
        }
        assert_eq!(mine["accounts"]["totalCount"], 0);
        // A partner sees itself and its resellers, not the other partner's.
        let theirs = app.query(&a, lists).await;
        assert_eq!(
            ids(&theirs["licenses"]),
            sorted(vec![
                h1.license.clone(),
                h2.license.clone(),
                ha.license.clone()
            ])
        );
        assert_eq!(
            ids(&theirs["supports"]),
            sorted(vec![
                h1.support.clone(),
                h2.support.clone(),
                ha.support.clone()
            ])
        );
        assert_eq!(
            ids(&theirs["serviceSubscriptions"]),
            sorted(vec![
                h1.subscription.clone(),
                h2.subscription.clone(),
                ha.subscription.clone()
            ])
        );
        assert_eq!(
            ids(&theirs["activationKeys"]),
            sorted(vec![s(&h1.key["id"]), s(&h2.key["id"]), s(&ha.key["id"])])
        );
        for e in theirs["events"]["edges"].as_array().expect("edges") {
            let id = &e["node"]["aggregateId"];
            assert!(
                *id == acme.as_str() || *id == r1.as_str() || *id == r2.as_str(),
                "{id}"
            );
        }
        assert_eq!(theirs["accounts"]["totalCount"], 2);
        // The admin sees all of it.
        let everything = app
            .query(&admin, "{ licenses(first: 500) { totalCount } }")
            .await;
        assert_eq!(everything["licenses"]["totalCount"], 5);
    }
);

// --- Expired supports of resellers ------------------------------------------

/// Writes a support bought in the past to an account's stream, as the service
/// wrote it then (support never starts in the past, so there is no other way
/// to have one that has ended), and waits until the views show it.
async fn past_support(
    app: &TestApp,
    aggregate_type: &str,
    account: &str,
    key: &Value,
    id: &str,
    starts_on: NaiveDate,
    months: u32,
) {
    let event = common::support_assigned(key, id, 1, starts_on, months);
    common::append_past_event(app, aggregate_type, account, &event, id).await;
}

async fn expired_supports(app: &TestApp, token: &str, filter: Value) -> Value {
    let mut f = filter;
    f["expired"] = json!(true);
    app.ok(Some(token), &support_doc(SUPPORTS), json!({ "f": f }))
        .await["supports"]
        .clone()
}

both_backends!(
    the_partner_sees_its_resellers_expired_supports,
    |app: TestApp| async move {
        let (admin, acme, partner) = app.funded_partner("acme", 1000).await;
        let (west_id, west) = reseller(&app, &partner, "west", &["REMOTE_ACCESS"]).await;
        give(&app, &partner, &west_id, 100).await;
        let (globex, other) = app.partner(&admin, "globex").await;
        app.grant(&admin, &globex, 1000, "INV-2").await;
        let (south_id, south) = reseller(&app, &other, "south", &["REMOTE_ACCESS"]).await;
        give(&app, &other, &south_id, 100).await;

        let long_ago = Utc::now().date_naive() - Days::new(400);
        let west_key = app.key(&west, "West customer").await;
        let acme_key = app.key(&partner, "Acme customer").await;
        let south_key = app.key(&south, "South customer").await;
        past_support(
            &app,
            "Reseller",
            &west_id,
            &west_key,
            "sup_west_old",
            long_ago,
            3,
        )
        .await;
        past_support(
            &app,
            "Partner",
            &acme,
            &acme_key,
            "sup_acme_old",
            long_ago,
            1,
        )
        .await;
        past_support(
            &app,
            "Reseller",
            &south_id,
            &south_key,
            "sup_south_old",
            long_ago,
            1,
        )
        .await;
        let current = app
            .ok(
                Some(&west),
                &support_doc(ASSIGN_SUPPORT),
                json!({ "i": support_input(&west_key, 1, 1) }),
            )
            .await["assignSupport"]
            .clone();
        assert_eq!(current["expired"], false);

        let expired = |f: Value| expired_supports(&app, &partner, f);
        let list = expired(json!({})).await;
        assert_eq!(
            ids(&list),
            sorted(vec!["sup_acme_old".into(), "sup_west_old".into()])
        );
        for e in list["edges"].as_array().expect("edges") {
            assert_eq!(e["node"]["expired"], true);
        }
        let list = expired(json!({ "includeResellers": true })).await;
        assert_eq!(list["totalCount"], 2);
        let list = expired(json!({ "includeResellers": false })).await;
        assert_eq!(ids(&list), vec!["sup_acme_old".to_string()]);
        let list = expired(json!({ "ownerId": west_id })).await;
        assert_eq!(ids(&list), vec!["sup_west_old".to_string()]);
        let live = app
            .ok(
                Some(&partner),
                &support_doc(SUPPORTS),
                json!({ "f": { "expired": false } }),
            )
            .await;
        assert_eq!(ids(&live["supports"]), vec![s(&current["id"])]);
        // The reseller sees its own only; the other partner its own reseller's.
        let mine = app
            .ok(
                Some(&west),
                &support_doc(SUPPORTS),
                json!({ "f": { "expired": true } }),
            )
            .await;
        assert_eq!(ids(&mine["supports"]), vec!["sup_west_old".to_string()]);
        let theirs = app
            .ok(
                Some(&other),
                &support_doc(SUPPORTS),
                json!({ "f": { "expired": true } }),
            )
            .await;
        assert_eq!(ids(&theirs["supports"]), vec!["sup_south_old".to_string()]);
        // The partner extends its reseller's expired support from the reseller's credits.
        let before = app.balance(&west).await;
        app.ok(
            Some(&partner),
            EXTEND_SUPPORT,
            json!({ "id": "sup_west_old", "m": 1 }),
        )
        .await;
        assert_eq!(app.balance(&west).await, before - 1);
        let list = expired(json!({})).await;
        assert_eq!(ids(&list), vec!["sup_acme_old".to_string()]);
    }
);

// --- Exactly-once transfers -------------------------------------------------

async fn count(db: &projections::Db, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

const TRANSFERS_IN: &str =
    "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'CreditsTransferredIn'";

async fn reseller_balance(app: &license_portal::app::App, id: &str) -> i64 {
    app.ledgers
        .load(Role::Reseller, id)
        .await
        .expect("load")
        .balance
}

async fn transfer_exactly_once_across_a_stopped_process(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let (_, acme, partner) = app.funded_partner("acme", 100).await;
    let (west_id, _) = reseller(&app, &partner, "west", &["REMOTE_ACCESS"]).await;
    give(&app, &partner, &west_id, 10).await;

    // The service stops. Its event store is then written without any of the
    // background tasks: the partner's side of two transfers lands, as when
    // giveCredits had appended it and the service died before the transfer
    // process saw it.
    if let Some(r) = app.running.take() {
        r.stop().await;
    }
    let offline = license_portal::server::build_app(&app.args)
        .await
        .expect("app");
    let actor = Actor::Account(acme.clone());
    for (id, amount) in [("trf_offline_1", 30), ("trf_offline_2", 20)] {
        let out = LedgerCommand::TransferOut {
            transfer_id: id.into(),
            reseller_id: west_id.clone(),
            amount,
            idempotency: None,
        };
        offline
            .ledgers
            .execute(Role::Partner, &acme, out, &actor)
            .await
            .expect("the partner's side");
    }
    let db = &offline.db;
    assert_eq!(
        reseller_balance(&offline, &west_id).await,
        10,
        "nothing credited yet"
    );
    // In flight is not a violation: verify says so.
    let summary = license_portal::verify::verify(db).await.expect("verify");
    assert_eq!(summary.transfers, 3);
    assert_eq!(summary.transfers_in_flight, 2);
    assert_eq!(summary.credits_in_flight, 50);

    // Two transfer processes resume at once: each transfer credited once.
    let a = Transfers::new(db.clone(), offline.ledgers.clone());
    let b = Transfers::new(db.clone(), offline.ledgers.clone());
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    ra.expect("a");
    rb.expect("b");
    assert_eq!(reseller_balance(&offline, &west_id).await, 60);
    assert_eq!(count(db, TRANSFERS_IN, &west_id).await, 3);
    // A crash after the credits but before the checkpoint moved: the
    // restarted process reads the same events again and credits nothing
    // twice.
    sqlx::query(
        "UPDATE log_checkpoints SET transaction_id = 0, position = 0 WHERE consumer = 'transfers'",
    )
    .execute(&db.pool)
    .await
    .expect("rewind");
    let restarted = Transfers::new(db.clone(), offline.ledgers.clone());
    assert!(
        restarted.run_once().await.expect("again") > 0,
        "it read them again"
    );
    while restarted.run_once().await.expect("drain") > 0 {}
    assert_eq!(reseller_balance(&offline, &west_id).await, 60);
    assert_eq!(count(db, TRANSFERS_IN, &west_id).await, 3);

    // One more partner debit while nothing runs; the restarted service's own
    // transfer process picks it up.
    let out = LedgerCommand::TransferOut {
        transfer_id: "trf_offline_3".into(),
        reseller_id: west_id.clone(),
        amount: 5,
        idempotency: None,
    };
    offline
        .ledgers
        .execute(Role::Partner, &acme, out, &actor)
        .await
        .expect("the partner's side");
    offline.db.pool.close().await;
    drop(offline);

    app.restart().await;
    let west = app.login("west", "reseller-pass-1").await;
    let mut balance = 0;
    for _ in 0..200 {
        balance = app.balance(&west).await;
        if balance == 65 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(balance, 65);
    let partner = app.login("acme", "partner-pass-1").await;
    assert_eq!(app.balance(&partner).await, 35);
    // Restarting again credits nothing more.
    app.restart().await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let west = app.login("west", "reseller-pass-1").await;
    assert_eq!(app.balance(&west).await, 65);
    let history = entries(&app.query(&west, HISTORY).await);
    let ins: Vec<i64> = history
        .iter()
        .filter(|e| e["reason"] == "TRANSFER_IN")
        .map(|e| e["amount"].as_i64().expect("amount"))
        .collect();
    assert_eq!(ins, vec![10, 30, 20, 5]);
    app.assert_history_adds_up(&west).await;
    app.assert_history_adds_up(&partner).await;
    let (ok, out) = cli(&app, &["verify"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("transfers:       4 (0 in flight, 0 credits)"),
        "{out}"
    );
    assert!(out.contains("total balance:   100"), "{out}");
}

each_backend!(
    transfer_exactly_once_across_a_stopped_process,
    transfer_exactly_once_across_a_stopped_process
);

both_backends!(
    thirty_concurrent_gives_never_overdraw_the_partner,
    |app: TestApp| async move {
        let (_, _, partner) = app.funded_partner("acme", 100).await;
        let (r1, t1) = reseller(&app, &partner, "west", &["REMOTE_ACCESS"]).await;
        let (r2, t2) = reseller(&app, &partner, "east", &["REMOTE_ACCESS"]).await;
        let app = Arc::new(app);
        // 30 × 7 = 210 credits asked for, 100 there.
        let answers = all_at_once((0..30).map(|i| {
            let (app, partner) = (app.clone(), partner.clone());
            let r = if i % 2 == 0 { r1.clone() } else { r2.clone() };
            async move {
                app.gql(Some(&partner), GIVE, json!({ "r": r, "a": 7 }))
                    .await
            }
        }))
        .await;
        let mut won = 0;
        for answer in answers {
            match answer["errors"][0]["extensions"]["code"].as_str() {
                None => {
                    assert_eq!(answer["data"]["giveCredits"]["amount"], -7, "{answer}");
                    won += 1;
                }
                Some("INSUFFICIENT_CREDITS") => {
                    let balance = answer["errors"][0]["extensions"]["balance"]
                        .as_i64()
                        .expect("balance");
                    assert!(balance < 7, "{answer}");
                }
                Some(other) => panic!("unexpected {other}: {answer}"),
            }
        }
        // Every refusal saw less than 7 left: exactly 14 went through.
        assert_eq!(won, 14);
        let (p, b1, b2) = (
            app.balance(&partner).await,
            app.balance(&t1).await,
            app.balance(&t2).await,
        );
        assert_eq!(p, 2);
        assert_eq!(b1 + b2, 98);
        assert_eq!(p + b1 + b2, 100, "credits conserved");
        for t in [&partner, &t1, &t2] {
            app.assert_history_adds_up(t).await;
        }
        let outs = entries(&app.query(&partner, HISTORY).await)
            .iter()
            .filter(|e| e["reason"] == "TRANSFER_OUT")
            .count();
        assert_eq!(outs, 14);
        let (ok, out) = cli(&app, &["verify"]);
        assert!(ok, "{out}");
        assert!(
            out.contains("transfers:       14 (0 in flight, 0 credits)"),
            "{out}"
        );
        assert!(out.contains("total balance:   100"), "{out}");
    }
);

// --- Welcome email ----------------------------------------------------------

both_backends!(
    the_resellers_welcome_email_arrives,
    |app: TestApp| async move {
        let (_, _, partner) = app.admin_and_partner("acme").await;
        let created = app
            .ok(
                Some(&partner),
                &account_doc(CREATE),
                json!({ "i": reseller_input("east", &["TWO_FACTOR"], None) }),
            )
            .await["createReseller"]
            .clone();
        let generated = s(&created["generatedPassword"]);
        let message = common::wait_for_welcome(&app, "east@shop.example").await;
        assert!(message.contains("Login: east"), "{message}");
        assert!(
            message.contains("Address: http://portal.example.test"),
            "{message}"
        );
        assert!(message.contains("reseller account"), "{message}");
        let mailed = common::wait_for_welcome_password(&app, "east@shop.example").await;
        assert_eq!(mailed, generated);
        let first = app.login("east", &mailed).await;
        let me = app
            .query(
                &first,
                "{ me { role mustChangePassword parent { login } } }",
            )
            .await;
        assert_eq!(
            me["me"],
            json!({ "role": "RESELLER", "mustChangePassword": true, "parent": { "login": "acme" } })
        );
        // A chosen password is not mailed.
        reseller(&app, &partner, "west", &["TWO_FACTOR"]).await;
        let message = common::wait_for_welcome(&app, "west@shop.example").await;
        assert!(message.contains("Login: west"), "{message}");
        assert!(!message.contains("reseller-pass-1"), "{message}");
        // One email each.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let to_resellers = common::outbox_messages(&app)
            .iter()
            .filter(|m| m.contains("@shop.example"))
            .count();
        assert_eq!(to_resellers, 2);
    }
);
