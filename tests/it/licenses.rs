//! Licenses on activation keys (seed sections 3 and 4): the catalog's prices,
//! the quote that warns before spending, trial and permanent licenses,
//! upgrades, edits, deletion with its refund, and the licenses list.
//!
//! Prices (catalog/products.toml), credits per user: REMOTE_ACCESS DESKTOP 10,
//! MOBILE_WEB 15, ENTERPRISE 25; ADVANCED_SECURITY ESSENTIALS 8, ULTIMATE 20;
//! SERVER_MONITORING STANDARD 12; TWO_FACTOR STANDARD 5; trials up to 90 days.

use crate::common;
use crate::common::{Backend, TestApp, column, ids, license_input, trial_input, with_fields};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

const LICENSE_FIELDS: &str = "id kind status users trialEndsAt email comment creditsSpent activated product { code } edition { code } activationKey { id key } owner { login } createdAt updatedAt";
const ASSIGN: &str = "mutation($i: AssignLicenseInput!, $k: String) { assignLicense(input: $i, idempotencyKey: $k) { FIELDS } }";
const UPGRADE: &str = "mutation($id: ID!, $u: Int, $e: ID, $k: String) { upgradeLicense(id: $id, users: $u, edition: $e, idempotencyKey: $k) { FIELDS } }";
const EDIT: &str = "mutation($id: ID!, $email: String, $c: String) { editLicense(id: $id, email: $email, comment: $c) { FIELDS } }";
const LIST: &str = "query($f: LicenseFilter, $first: Int, $after: String) { licenses(filter: $f, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { FIELDS } } } }";

/// `doc` asking for the fields of a license where it says FIELDS.
fn license_doc(doc: &str) -> String {
    with_fields(doc, LICENSE_FIELDS)
}

const DELETE: &str = "mutation($id: ID!, $k: String) { deleteLicense(id: $id, idempotencyKey: $k) { id amount balanceAfter reason reference actor { login } } }";
const QUOTE: &str = "query($i: QuoteInput!) { quote(input: $i) { cost balance sufficient } }";

/// Everything a refused request must leave as it was: the balance, the credit
/// history, the licenses and the event log.
const STATE: &str = "{ me { creditBalance } creditHistory(first: 500) { totalCount edges { node { id amount balanceAfter reason reference } } } licenses(first: 500) { totalCount edges { node { id users edition { code } kind status creditsSpent email comment updatedAt } } } events(first: 1) { totalCount } }";

async fn state(app: &TestApp, token: &str) -> Value {
    app.query(token, STATE).await
}

/// Sends a request that must be refused with `code`; checks that it changed
/// nothing the caller can see. Returns the whole answer.
async fn refused(app: &TestApp, token: &str, doc: &str, vars: Value, code: &str) -> Value {
    let before = state(app, token).await;
    let answer = app.gql(Some(token), doc, vars.clone()).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], code,
        "{vars} → {answer}"
    );
    assert_eq!(answer["data"], json!(null), "{answer}");
    assert_eq!(state(app, token).await, before, "{vars} changed something");
    answer
}

async fn assign(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), &license_doc(ASSIGN), json!({ "i": input }))
        .await["assignLicense"]
        .clone()
}

async fn quote(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), QUOTE, json!({ "i": input })).await["quote"].clone()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

both_backends!(the_seed_story_end_to_end, |app: TestApp| async move {
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    app.grant(&admin, &acme, 1000, "INV-2026-001").await;
    app.assert_history_adds_up(&token).await;

    // The catalog, as the portal shows it before anyone signs in.
    let products = app
        .ok(
            None,
            "{ products { code name subscriptionOnly editions { code name } } }",
            json!({}),
        )
        .await["products"]
        .clone();
    let remote_access = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "REMOTE_ACCESS")
        .expect("REMOTE_ACCESS")
        .clone();
    assert_eq!(remote_access["subscriptionOnly"], false);
    let editions: Vec<&str> = remote_access["editions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(editions, vec!["DESKTOP", "MOBILE_WEB", "ENTERPRISE"]);
    let remote_support = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "REMOTE_SUPPORT")
        .expect("REMOTE_SUPPORT");
    assert_eq!(remote_support["subscriptionOnly"], true);

    // 2. An activation key.
    let key = app.key(&token, "Customer server").await;
    app.assert_history_adds_up(&token).await;

    // 3. A trial: free, for the days asked.
    let trial_in = trial_input(&key, "REMOTE_ACCESS", "DESKTOP", 5, 30);
    assert_eq!(
        quote(&app, &token, json!({ "assignLicense": trial_in })).await,
        json!({ "cost": 0, "balance": 1000, "sufficient": true })
    );
    let before = Utc::now();
    let trial = assign(&app, &token, trial_in).await;
    let after = Utc::now();
    assert_eq!(trial["kind"], "TRIAL");
    assert_eq!(trial["status"], "TRIAL");
    assert_eq!(trial["users"], 5);
    assert_eq!(trial["creditsSpent"], 0);
    assert_eq!(trial["activated"], false);
    assert_eq!(trial["product"]["code"], "REMOTE_ACCESS");
    assert_eq!(trial["edition"]["code"], "DESKTOP");
    assert_eq!(trial["activationKey"]["key"], key["key"]);
    assert_eq!(trial["owner"]["login"], "acme");
    let ends = time(&trial["trialEndsAt"]);
    assert!(
        ends >= before + Duration::days(30) - Duration::seconds(1)
            && ends <= after + Duration::days(30) + Duration::seconds(1),
        "{ends}"
    );
    assert_eq!(app.balance(&token).await, 1000);
    // A free trial leaves no line in the history.
    assert_eq!(app.last_credit_entry(&token).await["reason"], "GRANT");
    app.assert_history_adds_up(&token).await;

    // "Check if you have enough credits … You will be warned if not."
    let too_big = license_input(&key, "REMOTE_ACCESS", "ENTERPRISE", 50, "PERMANENT");
    assert_eq!(
        quote(&app, &token, json!({ "assignLicense": too_big })).await,
        json!({ "cost": 1250, "balance": 1000, "sufficient": false })
    );
    let answer = refused(
        &app,
        &token,
        &license_doc(ASSIGN),
        json!({ "i": too_big }),
        "INSUFFICIENT_CREDITS",
    )
    .await;
    assert_eq!(answer["errors"][0]["extensions"]["required"], 1250);
    assert_eq!(answer["errors"][0]["extensions"]["balance"], 1000);
    app.assert_history_adds_up(&token).await;

    // A permanent license: users × price.
    let mut permanent_in = license_input(&key, "REMOTE_ACCESS", "MOBILE_WEB", 10, "PERMANENT");
    permanent_in["email"] = json!("it@customer.example");
    permanent_in["comment"] = json!("Main office");
    assert_eq!(
        quote(&app, &token, json!({ "assignLicense": permanent_in })).await,
        json!({ "cost": 150, "balance": 1000, "sufficient": true })
    );
    let permanent = assign(&app, &token, permanent_in).await;
    let id = permanent["id"].as_str().unwrap().to_string();
    assert_eq!(permanent["kind"], "PERMANENT");
    assert_eq!(permanent["status"], "ACTIVE");
    assert_eq!(permanent["trialEndsAt"], json!(null));
    assert_eq!(permanent["creditsSpent"], 150);
    assert_eq!(permanent["email"], "it@customer.example");
    assert_eq!(permanent["comment"], "Main office");
    assert_eq!(app.balance(&token).await, 850);
    let entry = app.last_credit_entry(&token).await;
    assert_eq!(entry["amount"], -150);
    assert_eq!(entry["balanceAfter"], 850);
    assert_eq!(entry["reason"], "LICENSE");
    assert_eq!(entry["reference"], id.as_str());
    assert_eq!(entry["actor"]["login"], "acme");
    app.assert_history_adds_up(&token).await;

    // The key lists both.
    let on_key = app
        .ok_for_id(
            &token,
            "query($id: ID!) { node(id: $id) { ... on ActivationKey { licenses { id } } } }",
            &key["id"],
        )
        .await;
    assert_eq!(
        on_key["node"]["licenses"],
        json!([{ "id": trial["id"] }, { "id": id }])
    );

    // 4. Upgrade: more users and a dearer edition; the difference is charged.
    let up = json!({ "upgradeLicense": { "id": id, "users": 20, "edition": "ENTERPRISE" } });
    assert_eq!(
        quote(&app, &token, up).await,
        json!({ "cost": 350, "balance": 850, "sufficient": true })
    );
    let upgraded = app
        .ok(
            Some(&token),
            &license_doc(UPGRADE),
            json!({ "id": id, "u": 20, "e": "ENTERPRISE" }),
        )
        .await["upgradeLicense"]
        .clone();
    assert_eq!(upgraded["users"], 20);
    assert_eq!(upgraded["edition"]["code"], "ENTERPRISE");
    assert_eq!(upgraded["creditsSpent"], 500);
    assert_eq!(upgraded["createdAt"], permanent["createdAt"]);
    assert!(time(&upgraded["updatedAt"]) >= time(&permanent["updatedAt"]));
    assert_eq!(app.balance(&token).await, 500);
    let entry = app.last_credit_entry(&token).await;
    assert_eq!(entry["amount"], -350);
    assert_eq!(entry["reason"], "LICENSE_UPGRADE");
    assert_eq!(entry["reference"], id.as_str());
    app.assert_history_adds_up(&token).await;

    // Users alone, at the current edition's price.
    let upgraded = app
        .ok(
            Some(&token),
            &license_doc(UPGRADE),
            json!({ "id": id, "u": 25 }),
        )
        .await["upgradeLicense"]
        .clone();
    assert_eq!(upgraded["users"], 25);
    assert_eq!(upgraded["edition"]["code"], "ENTERPRISE");
    assert_eq!(upgraded["creditsSpent"], 625);
    assert_eq!(app.balance(&token).await, 375);
    app.assert_history_adds_up(&token).await;

    // Edit: a field left out keeps its value.
    let edited = app
        .ok(
            Some(&token),
            &license_doc(EDIT),
            json!({ "id": id, "c": "Moved to the Lyon office" }),
        )
        .await["editLicense"]
        .clone();
    assert_eq!(edited["comment"], "Moved to the Lyon office");
    assert_eq!(edited["email"], "it@customer.example");
    let edited = app
        .ok(
            Some(&token),
            &license_doc(EDIT),
            json!({ "id": id, "email": "admin@customer.example" }),
        )
        .await["editLicense"]
        .clone();
    assert_eq!(edited["email"], "admin@customer.example");
    assert_eq!(edited["comment"], "Moved to the Lyon office");
    assert_eq!(edited["creditsSpent"], 625);
    // A blank field clears it.
    let cleared = app
        .ok(
            Some(&token),
            &license_doc(EDIT),
            json!({ "id": id, "c": "" }),
        )
        .await["editLicense"]
        .clone();
    assert_eq!(cleared["comment"], json!(null));
    assert_eq!(cleared["email"], "admin@customer.example");
    assert_eq!(app.balance(&token).await, 375);
    refused(
        &app,
        &token,
        &license_doc(EDIT),
        json!({ "id": id, "email": "not an email" }),
        "BAD_USER_INPUT",
    )
    .await;
    app.assert_history_adds_up(&token).await;

    // Delete: refunds everything it cost, as a LICENSE_REFUND entry.
    let refund = app.ok_for_id(&token, DELETE, &id).await["deleteLicense"].clone();
    assert_eq!(refund["amount"], 625);
    assert_eq!(refund["balanceAfter"], 1000);
    assert_eq!(refund["reason"], "LICENSE_REFUND");
    assert_eq!(refund["reference"], id.as_str());
    assert_eq!(refund["actor"]["login"], "acme");
    assert_eq!(app.last_credit_entry(&token).await["id"], refund["id"]);
    assert_eq!(app.balance(&token).await, 1000);
    let node = app
        .ok_for_id(
            &token,
            "query($id: ID!) { node(id: $id) { ... on License { status creditsSpent users } } }",
            &id,
        )
        .await;
    assert_eq!(
        node["node"],
        json!({ "status": "DELETED", "creditsSpent": 0, "users": 25 })
    );
    app.assert_history_adds_up(&token).await;

    // Deleting the trial refunds nothing: no entry.
    let none = app.ok_for_id(&token, DELETE, &trial["id"]).await;
    assert_eq!(none["deleteLicense"], json!(null));
    assert_eq!(app.balance(&token).await, 1000);
    app.assert_history_adds_up(&token).await;

    let history = app
        .query(&token, "{ creditHistory { edges { node { reason } } } }")
        .await;
    assert_eq!(
        column(&history["creditHistory"], "reason"),
        [
            "GRANT",
            "LICENSE",
            "LICENSE_UPGRADE",
            "LICENSE_UPGRADE",
            "LICENSE_REFUND"
        ]
    );
    let deleted = app
        .ok(
            Some(&token),
            &license_doc(LIST),
            json!({ "f": { "status": ["DELETED"] } }),
        )
        .await;
    assert_eq!(deleted["licenses"]["totalCount"], 2);
});

both_backends!(every_refusal_changes_nothing, |app: TestApp| async move {
    let (admin, _, token) = app.funded_partner("acme", 100).await;
    let (globex, other) = app.partner(&admin, "globex").await;
    app.grant(&admin, &globex, 100, "INV-G").await;
    let key = app.key(&token, "Server").await;
    let their_key = app.key(&other, "Globex server").await;
    let permanent = assign(
        &app,
        &token,
        license_input(&key, "REMOTE_ACCESS", "MOBILE_WEB", 2, "PERMANENT"),
    )
    .await;
    let trial = assign(
        &app,
        &token,
        trial_input(&key, "ADVANCED_SECURITY", "ESSENTIALS", 3, 14),
    )
    .await;
    let gone = assign(
        &app,
        &token,
        license_input(&key, "TWO_FACTOR", "STANDARD", 1, "PERMANENT"),
    )
    .await;
    app.ok_for_id(&token, DELETE, &gone["id"]).await;
    let theirs = assign(
        &app,
        &other,
        license_input(&their_key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT"),
    )
    .await;
    assert_eq!(app.balance(&token).await, 70);
    app.assert_history_adds_up(&token).await;

    let assign_doc = license_doc(ASSIGN);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut i = license_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT");
        f(&mut i);
        json!({ "i": i })
    };
    let cases: Vec<(Value, &str)> = vec![
        // A trial needs its days, 1 to 90.
        (with(&|i| i["kind"] = json!("TRIAL")), "BAD_USER_INPUT"),
        (
            with(&|i| {
                i["kind"] = json!("TRIAL");
                i["trialDays"] = json!(0);
            }),
            "BAD_USER_INPUT",
        ),
        (
            with(&|i| {
                i["kind"] = json!("TRIAL");
                i["trialDays"] = json!(91);
            }),
            "BAD_USER_INPUT",
        ),
        (
            with(&|i| {
                i["kind"] = json!("TRIAL");
                i["trialDays"] = json!(-3);
            }),
            "BAD_USER_INPUT",
        ),
        // A permanent license has none.
        (with(&|i| i["trialDays"] = json!(30)), "BAD_USER_INPUT"),
        (with(&|i| i["users"] = json!(0)), "BAD_USER_INPUT"),
        (with(&|i| i["users"] = json!(-1)), "BAD_USER_INPUT"),
        (with(&|i| i["users"] = json!(10_001)), "BAD_USER_INPUT"),
        (with(&|i| i["product"] = json!("NO_SUCH")), "BAD_USER_INPUT"),
        (
            with(&|i| i["edition"] = json!("ULTIMATE")),
            "BAD_USER_INPUT",
        ),
        (
            with(&|i| {
                i["product"] = json!("REMOTE_SUPPORT");
                i["edition"] = json!("STANDARD");
            }),
            "BAD_USER_INPUT",
        ),
        (with(&|i| i["email"] = json!("nobody")), "BAD_USER_INPUT"),
        (with(&|i| i["email"] = json!("a@b")), "BAD_USER_INPUT"),
        (with(&|i| i["kind"] = json!("FOREVER")), "BAD_USER_INPUT"),
        // Not one of the caller's keys.
        (
            with(&|i| i["activationKeyId"] = their_key["id"].clone()),
            "NOT_FOUND",
        ),
        (
            with(&|i| i["activationKeyId"] = json!("key_nothing")),
            "NOT_FOUND",
        ),
        // 11 × 10 = 110 > 70.
        (with(&|i| i["users"] = json!(11)), "INSUFFICIENT_CREDITS"),
    ];
    for (vars, code) in cases {
        refused(&app, &token, &assign_doc, vars, code).await;
    }
    // Exactly the balance is enough: 7 × 10 = 70 is not refused (quoted only).
    let q = quote(
        &app,
        &token,
        json!({ "assignLicense": license_input(&key, "REMOTE_ACCESS", "DESKTOP", 7, "PERMANENT") }),
    )
    .await;
    assert_eq!(q, json!({ "cost": 70, "balance": 70, "sufficient": true }));
    let q = quote(
        &app,
        &token,
        json!({ "assignLicense": license_input(&key, "REMOTE_ACCESS", "DESKTOP", 8, "PERMANENT") }),
    )
    .await;
    assert_eq!(q, json!({ "cost": 80, "balance": 70, "sufficient": false }));
    let answer = refused(
        &app,
        &token,
        &assign_doc,
        with(&|i| i["users"] = json!(8)),
        "INSUFFICIENT_CREDITS",
    )
    .await;
    assert_eq!(answer["errors"][0]["extensions"]["required"], 80);
    assert_eq!(answer["errors"][0]["extensions"]["balance"], 70);

    // Without a session, and as the vendor.
    let answer = app.gql(None, &assign_doc, with(&|_| {})).await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(
        app.error_code(Some(&admin), &assign_doc, with(&|_| {}))
            .await,
        "FORBIDDEN"
    );

    // Upgrades: never lower, must change something, not a trial, not deleted,
    // not another partner's, paid in full.
    let upgrade = license_doc(UPGRADE);
    let pid = permanent["id"].clone();
    for (vars, code) in [
        (json!({ "id": pid, "u": 1 }), "BAD_USER_INPUT"),
        (json!({ "id": pid, "e": "DESKTOP" }), "BAD_USER_INPUT"),
        (
            json!({ "id": pid, "u": 3, "e": "DESKTOP" }),
            "BAD_USER_INPUT",
        ),
        (json!({ "id": pid }), "BAD_USER_INPUT"),
        (
            json!({ "id": pid, "u": 2, "e": "MOBILE_WEB" }),
            "BAD_USER_INPUT",
        ),
        (json!({ "id": pid, "e": "ULTIMATE" }), "BAD_USER_INPUT"),
        (json!({ "id": pid, "u": 10_001 }), "BAD_USER_INPUT"),
        (json!({ "id": trial["id"], "u": 5 }), "BAD_USER_INPUT"),
        (json!({ "id": gone["id"], "u": 5 }), "CONFLICT"),
        (json!({ "id": theirs["id"], "u": 5 }), "NOT_FOUND"),
        (json!({ "id": "lic_nothing", "u": 5 }), "NOT_FOUND"),
        // 2 × 15 = 30 spent; 7 × 15 − 30 = 75 > 70.
        (json!({ "id": pid, "u": 7 }), "INSUFFICIENT_CREDITS"),
    ] {
        refused(&app, &token, &upgrade, vars, code).await;
    }
    let answer = refused(
        &app,
        &token,
        &upgrade,
        json!({ "id": pid, "u": 5, "e": "ENTERPRISE" }),
        "INSUFFICIENT_CREDITS",
    )
    .await;
    // 5 × 25 − 2 × 15 = 95.
    assert_eq!(answer["errors"][0]["extensions"]["required"], 95);
    assert_eq!(answer["errors"][0]["extensions"]["balance"], 70);
    // 4 × 25 − 30 = 70: exactly the balance is enough.
    assert_eq!(
        quote(
            &app,
            &token,
            json!({ "upgradeLicense": { "id": pid, "users": 4, "edition": "ENTERPRISE" } })
        )
        .await,
        json!({ "cost": 70, "balance": 70, "sufficient": true })
    );
    // A quote of something refused is refused the same way.
    for (input, code) in [
        (
            json!({ "upgradeLicense": { "id": trial["id"], "users": 5 } }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "upgradeLicense": { "id": theirs["id"], "users": 5 } }),
            "NOT_FOUND",
        ),
        (
            json!({ "assignLicense": license_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, "TRIAL") }),
            "BAD_USER_INPUT",
        ),
        // Exactly one operation per quote.
        (json!({}), "BAD_USER_INPUT"),
        (
            json!({
                "assignLicense": license_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT"),
                "upgradeLicense": { "id": pid, "users": 3 }
            }),
            "BAD_USER_INPUT",
        ),
    ] {
        refused(&app, &token, QUOTE, json!({ "i": input }), code).await;
    }

    // Edits: a valid email, a live license of the caller's.
    let edit = license_doc(EDIT);
    for (vars, code) in [
        (
            json!({ "id": pid, "email": "no-at-sign" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "id": pid, "email": "two@@example.com" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "id": pid, "email": "spa ce@example.com" }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "id": pid, "c": "x".repeat(5000) }),
            "BAD_USER_INPUT",
        ),
        (json!({ "id": gone["id"], "c": "back" }), "CONFLICT"),
        (json!({ "id": theirs["id"], "c": "mine" }), "NOT_FOUND"),
    ] {
        refused(&app, &token, &edit, vars, code).await;
    }
    assert_eq!(
        app.error_code(Some(&admin), &edit, json!({ "id": pid, "c": "x" }))
            .await,
        "FORBIDDEN"
    );

    // Deletes: not twice, not another partner's.
    for (vars, code) in [
        (json!({ "id": gone["id"] }), "CONFLICT"),
        (json!({ "id": theirs["id"] }), "NOT_FOUND"),
        (json!({ "id": "lic_nothing" }), "NOT_FOUND"),
    ] {
        refused(&app, &token, DELETE, vars, code).await;
    }
    let answer = app.gql(None, DELETE, json!({ "id": pid })).await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // The bounds themselves are accepted.
    for days in [1, 90] {
        let before = Utc::now();
        let t = assign(
            &app,
            &token,
            trial_input(&key, "TWO_FACTOR", "STANDARD", 10_000, days),
        )
        .await;
        let ends = time(&t["trialEndsAt"]);
        assert!(ends >= before + Duration::days(days) - Duration::seconds(1));
        assert!(ends <= Utc::now() + Duration::days(days) + Duration::seconds(1));
        assert_eq!(t["users"], 10_000);
        assert_eq!(t["creditsSpent"], 0);
        // A key holds one running trial per product: make room for the next.
        app.ok_for_id(&token, DELETE, &t["id"]).await;
    }
    assert_eq!(app.balance(&token).await, 70);
    // Globex saw none of it.
    assert_eq!(app.balance(&other).await, 90);
    app.assert_history_adds_up(&token).await;
    app.assert_history_adds_up(&other).await;
});

both_backends!(filters_search_and_pages, |app: TestApp| async move {
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    let (_, other) = app.partner(&admin, "globex").await;
    app.grant(&admin, &acme, 500, "INV-1").await;
    let create_key =
        "mutation($n: String!, $k: String) { createActivationKey(name: $n, key: $k) { id key } }";
    let k1 = app
        .ok(
            Some(&token),
            create_key,
            json!({ "n": "Berlin", "k": "BERL-0000-0000-0001" }),
        )
        .await["createActivationKey"]
        .clone();
    let k2 = app
        .ok(
            Some(&token),
            create_key,
            json!({ "n": "Paris", "k": "PARI-0000-0000-0002" }),
        )
        .await["createActivationKey"]
        .clone();

    let mut i = license_input(&k1, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT");
    i["email"] = json!("Alice@One.example");
    i["comment"] = json!("Head office 100%");
    let l1 = assign(&app, &token, i).await;
    let mut i = trial_input(&k1, "ADVANCED_SECURITY", "ESSENTIALS", 2, 10);
    i["comment"] = json!("Evaluation");
    let l2 = assign(&app, &token, i).await;
    let mut i = license_input(&k2, "SERVER_MONITORING", "STANDARD", 2, "PERMANENT");
    i["email"] = json!("bob@two.example");
    let l3 = assign(&app, &token, i).await;
    let l4 = assign(
        &app,
        &token,
        license_input(&k2, "TWO_FACTOR", "STANDARD", 1, "PERMANENT"),
    )
    .await;
    app.ok_for_id(&token, DELETE, &l4["id"]).await;
    // A trial given 30 days, 40 days ago: it has ended.
    let started = Utc::now() - Duration::days(40);
    common::append_past_event(
        &app,
        "Partner",
        &acme,
        &json!({ "LicenseAssigned": {
            "license_id": "lic_oldtrial",
            "key_id": k2["id"],
            "product": "TWO_FACTOR",
            "edition": "STANDARD",
            "users": 3,
            "kind": "TRIAL",
            "trial_ends_at": (started + Duration::days(30)).to_rfc3339_opts(SecondsFormat::Micros, true),
            "email": null,
            "comment": "last year's evaluation",
            "credits": 0
        } }),
        "lic_oldtrial",
    )
    .await;
    let l5 = app
        .ok(
            Some(&token),
            &format!(
                "query($id: ID!) {{ node(id: $id) {{ ... on License {{ {LICENSE_FIELDS} }} }} }}"
            ),
            json!({ "id": "lic_oldtrial" }),
        )
        .await["node"]
        .clone();
    assert_eq!(l5["status"], "TRIAL_EXPIRED");
    assert_eq!(l5["kind"], "TRIAL");
    // A reseller's license shows in its partner's list.
    let (reseller_id, reseller_token) = app
        .reseller(&token, "acme-east", &["REMOTE_ACCESS"], 50)
        .await;
    let k3 = app.key(&reseller_token, "Reseller's customer").await;
    let l6 = assign(
        &app,
        &reseller_token,
        license_input(&k3, "REMOTE_ACCESS", "DESKTOP", 2, "PERMANENT"),
    )
    .await;
    assert_eq!(l6["owner"]["login"], "acme-east");
    app.assert_history_adds_up(&token).await;
    app.assert_history_adds_up(&reseller_token).await;

    let id = |l: &Value| l["id"].as_str().unwrap().to_string();
    let (l1, l2, l3, l4, l5, l6) = (id(&l1), id(&l2), id(&l3), id(&l4), id(&l5), id(&l6));
    let (l1, l2, l3, l4, l5, l6) = (
        l1.as_str(),
        l2.as_str(),
        l3.as_str(),
        l4.as_str(),
        l5.as_str(),
        l6.as_str(),
    );
    let list = license_doc(LIST);
    let find = |filter: Value| {
        let (app, token, list) = (&app, &token, &list);
        async move {
            let d = app.ok(Some(token), list, json!({ "f": filter })).await;
            let found = ids(&d["licenses"]);
            assert_eq!(
                d["licenses"]["totalCount"],
                found.len(),
                "totalCount counts the matches"
            );
            found
        }
    };

    // Newest first.
    assert_eq!(find(json!({})).await, vec![l6, l5, l4, l3, l2, l1]);
    assert_eq!(
        find(json!({ "activationKeyId": k1["id"] })).await,
        vec![l2, l1]
    );
    assert_eq!(
        find(json!({ "activationKeyId": k2["id"] })).await,
        vec![l5, l4, l3]
    );
    assert_eq!(
        find(json!({ "product": "REMOTE_ACCESS" })).await,
        vec![l6, l1]
    );
    assert_eq!(find(json!({ "product": "TWO_FACTOR" })).await, vec![l5, l4]);
    assert_eq!(find(json!({ "kind": "TRIAL" })).await, vec![l5, l2]);
    assert_eq!(
        find(json!({ "kind": "PERMANENT" })).await,
        vec![l6, l4, l3, l1]
    );
    assert_eq!(
        find(json!({ "status": ["ACTIVE"] })).await,
        vec![l6, l3, l1]
    );
    assert_eq!(find(json!({ "status": ["TRIAL"] })).await, vec![l2]);
    assert_eq!(find(json!({ "status": ["TRIAL_EXPIRED"] })).await, vec![l5]);
    assert_eq!(find(json!({ "status": ["DELETED"] })).await, vec![l4]);
    assert_eq!(
        find(json!({ "status": ["TRIAL", "TRIAL_EXPIRED"] })).await,
        vec![l5, l2]
    );
    assert_eq!(
        find(json!({ "status": ["DELETED", "TRIAL_EXPIRED", "TRIAL"] })).await,
        vec![l5, l4, l2]
    );
    assert_eq!(
        find(json!({ "status": [] })).await.len(),
        6,
        "an empty status list filters nothing"
    );
    // The totals the projector keeps answer these two without a count.
    assert_eq!(
        find(json!({ "status": ["TRIAL_EXPIRED", "ACTIVE", "TRIAL"] })).await,
        vec![l6, l5, l3, l2, l1]
    );
    assert_eq!(
        find(json!({ "status": ["DELETED", "TRIAL_EXPIRED", "ACTIVE", "TRIAL"] })).await,
        vec![l6, l5, l4, l3, l2, l1]
    );
    // Product, kind, owner and status mixed: the totals are summed by
    // product, kind and deletion.
    assert_eq!(
        find(json!({ "product": "TWO_FACTOR", "status": ["ACTIVE", "TRIAL", "TRIAL_EXPIRED"] }))
            .await,
        vec![l5]
    );
    assert_eq!(
        find(json!({ "kind": "PERMANENT", "status": ["DELETED"] })).await,
        vec![l4]
    );
    assert_eq!(
        find(json!({ "kind": "PERMANENT", "status": ["TRIAL", "TRIAL_EXPIRED"] })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        find(json!({ "ownerId": acme, "product": "REMOTE_ACCESS", "status": ["ACTIVE"] })).await,
        vec![l1]
    );
    // Search: key, email or comment, any case, LIKE's wildcards taken literally.
    assert_eq!(
        find(json!({ "search": "pari-0000" })).await,
        vec![l5, l4, l3]
    );
    assert_eq!(find(json!({ "search": "ALICE@one" })).await, vec![l1]);
    assert_eq!(find(json!({ "search": "evaluation" })).await, vec![l5, l2]);
    assert_eq!(find(json!({ "search": "100%" })).await, vec![l1]);
    assert_eq!(find(json!({ "search": "%" })).await, vec![l1]);
    assert_eq!(find(json!({ "search": "_" })).await, Vec::<String>::new());
    assert_eq!(find(json!({ "search": "  " })).await.len(), 6);
    // An edit is searchable at once, and what it replaced no longer is;
    // glob characters are taken literally too; a search never spans two
    // fields (l1's email ends where its comment starts).
    app.ok(
        Some(&token),
        "mutation($id: ID!, $c: String) { editLicense(id: $id, comment: $c) { id } }",
        json!({ "id": l2, "c": "Rack [B]* why?" }),
    )
    .await;
    assert_eq!(find(json!({ "search": "evaluation" })).await, vec![l5]);
    assert_eq!(find(json!({ "search": "rack [b]*" })).await, vec![l2]);
    assert_eq!(find(json!({ "search": "why?" })).await, vec![l2]);
    assert_eq!(find(json!({ "search": "[" })).await, vec![l2]);
    assert_eq!(find(json!({ "search": "?" })).await, vec![l2]);
    assert_eq!(find(json!({ "search": "*" })).await, vec![l2]);
    assert_eq!(find(json!({ "search": "one.example" })).await, vec![l1]);
    assert_eq!(
        find(json!({ "search": "example head" })).await,
        Vec::<String>::new()
    );
    // Owners: the partner itself, or one of its resellers.
    assert_eq!(
        find(json!({ "ownerId": acme })).await,
        vec![l5, l4, l3, l2, l1]
    );
    assert_eq!(find(json!({ "ownerId": reseller_id })).await, vec![l6]);
    // Filters combine.
    assert_eq!(
        find(
            json!({ "activationKeyId": k2["id"], "status": ["ACTIVE", "DELETED"], "search": "two" })
        )
        .await,
        vec![l3]
    );
    assert_eq!(
        find(json!({ "kind": "TRIAL", "status": ["ACTIVE"] })).await,
        Vec::<String>::new()
    );

    // The reseller sees its own only; another partner nothing of it.
    let d = app.query(&reseller_token, &list).await;
    assert_eq!(ids(&d["licenses"]), vec![l6]);
    assert_eq!(d["licenses"]["totalCount"], 1);
    let d = app.query(&admin, &list).await;
    assert_eq!(d["licenses"]["totalCount"], 6);
    let d = app.query(&other, &list).await;
    assert_eq!(d["licenses"]["totalCount"], 0);
    assert_eq!(
        app.error_code(Some(&other), &list, json!({ "f": { "ownerId": acme } }))
            .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(
            Some(&reseller_token),
            &list,
            json!({ "f": { "ownerId": acme } })
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(
            Some(&other),
            &list,
            json!({ "f": { "activationKeyId": k1["id"] } })
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(None, &list, json!({})).await,
        "UNAUTHENTICATED"
    );

    // Pages of two, newest first; totalCount counts every match.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for page in 0..3 {
        let d = app
            .ok(Some(&token), &list, json!({ "first": 2, "after": after }))
            .await["licenses"]
            .clone();
        assert_eq!(d["totalCount"], 6);
        assert_eq!(d["edges"].as_array().unwrap().len(), 2);
        assert_eq!(d["pageInfo"]["hasNextPage"], page < 2, "{d}");
        assert_eq!(d["pageInfo"]["hasPreviousPage"], page > 0, "{d}");
        assert_eq!(d["pageInfo"]["startCursor"], d["edges"][0]["cursor"]);
        assert_eq!(d["pageInfo"]["endCursor"], d["edges"][1]["cursor"]);
        seen.extend(ids(&d));
        after = d["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, vec![l6, l5, l4, l3, l2, l1]);
    let d = app
        .ok(Some(&token), &list, json!({ "first": 2, "after": after }))
        .await["licenses"]
        .clone();
    assert_eq!(d["edges"], json!([]));
    assert_eq!(d["pageInfo"]["hasNextPage"], false);
    // Pages of a filtered list.
    let d = app
        .ok(
            Some(&token),
            &list,
            json!({ "f": { "status": ["ACTIVE"] }, "first": 1 }),
        )
        .await["licenses"]
        .clone();
    assert_eq!(ids(&d), vec![l6]);
    assert_eq!(d["totalCount"], 3);
    let d = app
        .ok(
            Some(&token),
            &list,
            json!({ "f": { "status": ["ACTIVE"] }, "first": 5, "after": d["pageInfo"]["endCursor"] }),
        )
        .await["licenses"]
        .clone();
    assert_eq!(ids(&d), vec![l3, l1]);
    assert_eq!(d["pageInfo"]["hasNextPage"], false);
    let d = app.ok(Some(&token), &list, json!({ "first": 0 })).await["licenses"].clone();
    assert_eq!(d["edges"], json!([]));
    assert_eq!(d["totalCount"], 6);
    for bad in [
        json!({ "first": 501 }),
        json!({ "first": -1 }),
        json!({ "after": "garbage" }),
    ] {
        assert_eq!(
            app.error_code(Some(&token), &list, bad.clone()).await,
            "BAD_USER_INPUT",
            "{bad}"
        );
    }
});

both_backends!(idempotent_license_operations, |app: TestApp| async move {
    let (admin, acme, token) = app.funded_partner("acme", 1000).await;
    let key = app.key(&token, "Server").await;
    let doc = license_doc(ASSIGN);
    let input = license_input(&key, "REMOTE_ACCESS", "DESKTOP", 10, "PERMANENT");

    let first = app
        .ok(Some(&token), &doc, json!({ "i": input, "k": "order-1" }))
        .await["assignLicense"]
        .clone();
    let again = app
        .ok(Some(&token), &doc, json!({ "i": input, "k": "order-1" }))
        .await["assignLicense"]
        .clone();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["creditsSpent"], 100);
    assert_eq!(app.balance(&token).await, 900);
    let mut other_input = input.clone();
    other_input["users"] = json!(11);
    refused(
        &app,
        &token,
        &doc,
        json!({ "i": other_input, "k": "order-1" }),
        "CONFLICT",
    )
    .await;
    // The same arguments without a key: a second license.
    let second = assign(&app, &token, input.clone()).await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(app.balance(&token).await, 800);
    app.assert_history_adds_up(&token).await;

    // Upgrade.
    let upgrade = license_doc(UPGRADE);
    let vars = json!({ "id": first["id"], "u": 12, "k": "up-1" });
    let up = app.ok(Some(&token), &upgrade, vars.clone()).await["upgradeLicense"].clone();
    assert_eq!(up["creditsSpent"], 120);
    let up_again = app.ok(Some(&token), &upgrade, vars).await["upgradeLicense"].clone();
    assert_eq!(up_again["id"], first["id"]);
    assert_eq!(up_again["users"], 12);
    assert_eq!(up_again["creditsSpent"], 120);
    assert_eq!(app.balance(&token).await, 780);
    refused(
        &app,
        &token,
        &upgrade,
        json!({ "id": first["id"], "u": 13, "k": "up-1" }),
        "CONFLICT",
    )
    .await;
    // A key already used by another kind of request.
    refused(
        &app,
        &token,
        &upgrade,
        json!({ "id": first["id"], "u": 13, "k": "order-1" }),
        "CONFLICT",
    )
    .await;

    // Delete: the retry gets the same refund entry, refunded once.
    let gone = app
        .ok(
            Some(&token),
            DELETE,
            json!({ "id": first["id"], "k": "del-1" }),
        )
        .await["deleteLicense"]
        .clone();
    assert_eq!(gone["amount"], 120);
    assert_eq!(gone["reason"], "LICENSE_REFUND");
    let gone_again = app
        .ok(
            Some(&token),
            DELETE,
            json!({ "id": first["id"], "k": "del-1" }),
        )
        .await["deleteLicense"]
        .clone();
    assert_eq!(gone_again, gone);
    assert_eq!(app.balance(&token).await, 900);
    refused(
        &app,
        &token,
        DELETE,
        json!({ "id": second["id"], "k": "del-1" }),
        "CONFLICT",
    )
    .await;
    // Without the key, a second delete is a conflict: it is gone.
    refused(
        &app,
        &token,
        DELETE,
        json!({ "id": first["id"] }),
        "CONFLICT",
    )
    .await;
    // A trial's delete answers null, on the retry too.
    let trial = assign(
        &app,
        &token,
        trial_input(&key, "TWO_FACTOR", "STANDARD", 1, 7),
    )
    .await;
    for _ in 0..2 {
        let d = app
            .ok(
                Some(&token),
                DELETE,
                json!({ "id": trial["id"], "k": "del-trial" }),
            )
            .await;
        assert_eq!(d["deleteLicense"], json!(null));
    }
    // The first assignment's retry after its deletion still answers the
    // first result and spends nothing.
    let late = app
        .ok(Some(&token), &doc, json!({ "i": input, "k": "order-1" }))
        .await["assignLicense"]
        .clone();
    assert_eq!(late["id"], first["id"]);
    assert_eq!(app.balance(&token).await, 900);
    // Keys belong to their account: another partner may use the same one.
    let (globex, other) = app.partner(&admin, "globex").await;
    app.grant(&admin, &globex, 100, "INV-G").await;
    let their_key = app.key(&other, "Globex").await;
    let theirs = app
        .ok(
            Some(&other),
            &doc,
            json!({ "i": license_input(&their_key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT"), "k": "order-1" }),
        )
        .await["assignLicense"]
        .clone();
    assert_ne!(theirs["id"], first["id"]);
    assert_eq!(app.balance(&other).await, 90);
    for t in [&token, &other] {
        app.assert_history_adds_up(t).await;
    }
    let bad_key = app
        .error_code(Some(&token), &doc, json!({ "i": input, "k": "" }))
        .await;
    assert_eq!(bad_key, "BAD_USER_INPUT");
    // A request refused for want of credits used up nothing: the same key
    // goes through once the credits are there, and only once.
    let mut big = input.clone();
    big["users"] = json!(95);
    refused(
        &app,
        &token,
        &doc,
        json!({ "i": big, "k": "big-order" }),
        "INSUFFICIENT_CREDITS",
    )
    .await;
    app.grant(&admin, &acme, 100, "INV-2").await;
    let done = app
        .ok(Some(&token), &doc, json!({ "i": big, "k": "big-order" }))
        .await["assignLicense"]
        .clone();
    assert_eq!(done["creditsSpent"], 950);
    let again = app
        .ok(Some(&token), &doc, json!({ "i": big, "k": "big-order" }))
        .await["assignLicense"]
        .clone();
    assert_eq!(again["id"], done["id"]);
    assert_eq!(app.balance(&token).await, 50);
    app.assert_history_adds_up(&token).await;
});

both_backends!(
    a_reseller_sells_what_it_was_given,
    |app: TestApp| async move {
        let (_, _, token) = app.funded_partner("acme", 1000).await;
        let (reseller_id, reseller_token) = app
            .reseller(&token, "acme-east", &["REMOTE_ACCESS", "TWO_FACTOR"], 100)
            .await;
        assert_eq!(app.balance(&reseller_token).await, 100);
        let key = app.key(&reseller_token, "Customer").await;
        // Its own credits pay for it.
        let l = assign(
            &app,
            &reseller_token,
            license_input(&key, "TWO_FACTOR", "STANDARD", 4, "PERMANENT"),
        )
        .await;
        assert_eq!(l["creditsSpent"], 20);
        assert_eq!(app.balance(&reseller_token).await, 80);
        assert_eq!(app.balance(&token).await, 900);
        for product in ["ADVANCED_SECURITY", "SERVER_MONITORING"] {
            let edition = if product == "ADVANCED_SECURITY" {
                "ESSENTIALS"
            } else {
                "STANDARD"
            };
            let input = license_input(&key, product, edition, 1, "PERMANENT");
            refused(
                &app,
                &reseller_token,
                &license_doc(ASSIGN),
                json!({ "i": input }),
                "FORBIDDEN",
            )
            .await;
            refused(
                &app,
                &reseller_token,
                QUOTE,
                json!({ "i": { "assignLicense": input } }),
                "FORBIDDEN",
            )
            .await;
            let trial = trial_input(&key, product, edition, 1, 5);
            refused(
                &app,
                &reseller_token,
                &license_doc(ASSIGN),
                json!({ "i": trial }),
                "FORBIDDEN",
            )
            .await;
        }
        let answer = refused(
            &app,
            &reseller_token,
            &license_doc(ASSIGN),
            json!({ "i": license_input(&key, "REMOTE_ACCESS", "ENTERPRISE", 4, "PERMANENT") }),
            "INSUFFICIENT_CREDITS",
        )
        .await;
        assert_eq!(answer["errors"][0]["extensions"]["required"], 100);
        assert_eq!(answer["errors"][0]["extensions"]["balance"], 80);
        // The partner's keys are not the reseller's.
        let partner_key = app.key(&token, "Partner's own").await;
        refused(
            &app,
            &reseller_token,
            &license_doc(ASSIGN),
            json!({ "i": license_input(&partner_key, "TWO_FACTOR", "STANDARD", 1, "PERMANENT") }),
            "NOT_FOUND",
        )
        .await;
        let d = app
            .ok(
                Some(&token),
                &license_doc(LIST),
                json!({ "f": { "ownerId": reseller_id } }),
            )
            .await;
        assert_eq!(ids(&d["licenses"]), vec![l["id"].as_str().unwrap()]);
        app.assert_history_adds_up(&reseller_token).await;
        app.assert_history_adds_up(&token).await;
    }
);
