//! Spending under contention: many requests at once on one partner never
//! overdraw it, and a retried request spends once. The ledger is then checked
//! by the operator's `verify`.

use crate::common::{Backend, TestApp, all_at_once, cli};
use serde_json::{Value, json};
use std::sync::Arc;

const ASSIGN: &str = "mutation($i: AssignLicenseInput!, $k: String) { assignLicense(input: $i, idempotencyKey: $k) { id creditsSpent } }";
const HISTORY: &str = "{ me { creditBalance } creditHistory(first: 500) { totalCount edges { node { amount balanceAfter reason } } } licenses(first: 500) { totalCount } }";

/// TWO_FACTOR STANDARD costs 5 credits a user.
fn one_user(key: &Value) -> Value {
    json!({
        "activationKeyId": key["id"],
        "product": "TWO_FACTOR",
        "edition": "STANDARD",
        "users": 1,
        "kind": "PERMANENT",
    })
}

/// The answers to `n` copies of ASSIGN with `vars`, all sent at once.
async fn assigned_at_once(app: &Arc<TestApp>, token: &str, n: usize, vars: Value) -> Vec<Value> {
    all_at_once((0..n).map(|_| {
        let (app, token, vars) = (app.clone(), token.to_string(), vars.clone());
        async move { app.gql(Some(&token), ASSIGN, vars).await }
    }))
    .await
}

both_backends!(
    fifty_buyers_for_twenty_licenses,
    |app: TestApp| async move {
        // Exactly 20 licenses' worth.
        let (token, key) = app.funded_partner_key("acme", 100, "Server").await;
        let app = Arc::new(app);
        let answers = assigned_at_once(&app, &token, 50, json!({ "i": one_user(&key) })).await;
        let mut won = 0;
        let mut lost = 0;
        for answer in answers {
            match answer.get("errors") {
                None => {
                    assert_eq!(answer["data"]["assignLicense"]["creditsSpent"], 5);
                    won += 1;
                }
                Some(errors) => {
                    let ext = &errors[0]["extensions"];
                    assert_eq!(ext["code"], "INSUFFICIENT_CREDITS", "{answer}");
                    assert_eq!(ext["required"], 5, "{answer}");
                    let balance = ext["balance"].as_i64().expect("balance");
                    assert!((0..5).contains(&balance), "{answer}");
                    lost += 1;
                }
            }
        }
        assert_eq!((won, lost), (20, 30));

        let d = app.query(&token, HISTORY).await;
        assert_eq!(d["me"]["creditBalance"], 0);
        assert_eq!(d["licenses"]["totalCount"], 20);
        assert_eq!(d["creditHistory"]["totalCount"], 21);
        for e in d["creditHistory"]["edges"].as_array().unwrap() {
            assert!(e["node"]["balanceAfter"].as_i64().unwrap() >= 0, "{d}");
        }
        app.assert_history_adds_up(&token).await;
        // The replayed ledger agrees: never below zero, every credit accounted for.
        let (ok, out) = cli(&app, &["verify"]);
        assert!(ok, "{out}");
        assert!(out.contains("total granted:   100"), "{out}");
        assert!(out.contains("total spent:     100"), "{out}");
        assert!(out.contains("total balance:   0"), "{out}");
    }
);

both_backends!(a_retried_request_spends_once, |app: TestApp| async move {
    let (token, key) = app.funded_partner_key("acme", 100, "Server").await;
    let app = Arc::new(app);
    // The same request, sent 20 times at once with one idempotency key.
    let vars = json!({ "i": one_user(&key), "k": "retry-me" });
    let answers: Vec<Value> = assigned_at_once(&app, &token, 20, vars)
        .await
        .into_iter()
        .map(|a| {
            assert!(a.get("errors").is_none(), "unexpected errors: {a}");
            a["data"]["assignLicense"].clone()
        })
        .collect();
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0]["creditsSpent"], 5);
    let d = app.query(&token, HISTORY).await;
    assert_eq!(d["me"]["creditBalance"], 95);
    assert_eq!(d["licenses"]["totalCount"], 1);
    assert_eq!(d["creditHistory"]["totalCount"], 2);
    // Retried later, it still answers the first license.
    let late = app
        .ok(
            Some(&token),
            ASSIGN,
            json!({ "i": one_user(&key), "k": "retry-me" }),
        )
        .await;
    assert_eq!(late["assignLicense"], answers[0]);
    // Racing keys with different arguments: one wins, the others conflict.
    let answers = all_at_once((1..=10i64).map(|users| {
        let (app, token) = (app.clone(), token.clone());
        let mut input = one_user(&key);
        input["users"] = json!(users);
        async move {
            app.gql(
                Some(&token),
                ASSIGN,
                json!({ "i": input, "k": "contested" }),
            )
            .await
        }
    }))
    .await;
    let mut winners = Vec::new();
    for answer in answers {
        match answer.get("errors") {
            None => winners.push(answer["data"]["assignLicense"].clone()),
            Some(e) => assert_eq!(e[0]["extensions"]["code"], "CONFLICT", "{answer}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let spent = winners[0]["creditsSpent"].as_i64().unwrap();
    let d = app.query(&token, HISTORY).await;
    assert_eq!(d["me"]["creditBalance"], 95 - spent);
    assert_eq!(d["licenses"]["totalCount"], 2);
    app.assert_history_adds_up(&token).await;
    let (ok, out) = cli(&app, &["verify"]);
    assert!(ok, "{out}");
});
