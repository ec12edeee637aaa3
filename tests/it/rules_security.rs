//! Business rules that close abuses: a refund that would outlive the
//! license file, trials stacked on one key, the CLI trusting a file's own
//! key, idempotency keys crossing senders, a reseller reading its partner's
//! figures, and ids that count the whole system's activity.

use crate::common::{Backend, TestApp};
use serde_json::{Value, json};

const ACTIVATE: &str = "mutation($k: String!, $f: String!) { activateKey(key: $k, deviceFingerprint: $f) { payload signature publicKey } }";
const DEACTIVATE: &str =
    "mutation($k: String!, $f: String!) { deactivateKey(key: $k, deviceFingerprint: $f) }";
const ASSIGN: &str = "mutation($i: AssignLicenseInput!, $idem: String) { assignLicense(input: $i, idempotencyKey: $idem) { id } }";
const DELETE: &str =
    "mutation($id: ID!) { deleteLicense(id: $id) { amount reason reference } }";

/// A partner with `credits` and one activation key; returns (token, key).
async fn seller(app: &TestApp, credits: i64) -> (String, Value) {
    let admin = app.admin().await;
    let (id, token) = app.partner(&admin, "acme").await;
    if credits > 0 {
        app.grant(&admin, &id, credits, "INV-1").await;
    }
    let key = app.key(&token, "front desk").await;
    (token, key)
}

async fn assign(app: &TestApp, token: &str, key: &Value, kind: &str) -> Value {
    let mut input = json!({ "activationKeyId": key["id"], "product": "REMOTE_ACCESS", "edition": "DESKTOP", "users": 10, "kind": kind });
    if kind == "TRIAL" {
        input["trialDays"] = json!(30);
    }
    app.gql(Some(token), ASSIGN, json!({ "i": input })).await
}

both_backends!(
    a_license_that_was_on_a_device_is_not_refunded_while_its_file_is_valid,
    |app: TestApp| async move {
        let (token, key) = seller(&app, 300).await;
        let code = key["key"].as_str().expect("code");
        let lid = assign(&app, &token, &key, "PERMANENT").await["data"]["assignLicense"]["id"]
            .clone();
        assert_eq!(app.balance(&token).await, 200);
        // The device gets a file valid 30 days, then the key leaves it.
        let file = app
            .ok(None, ACTIVATE, json!({ "k": code, "f": "device-A" }))
            .await;
        assert!(file["activateKey"]["payload"].as_str().is_some());
        app.ok(None, DEACTIVATE, json!({ "k": code, "f": "device-A" }))
            .await;
        // Deleting now would refund a license the device still holds.
        let answer = app.gql(Some(&token), DELETE, json!({ "id": lid })).await;
        assert_eq!(answer["errors"][0]["extensions"]["code"], "CONFLICT", "{answer}");
        let message = answer["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains("stays valid until"), "{message}");
        assert_eq!(app.balance(&token).await, 200);
        // The loop cannot be repeated either: the credits stayed spent.
        let again = assign(&app, &token, &key, "PERMANENT").await;
        assert!(again["errors"].is_null(), "{again}");
        assert_eq!(app.balance(&token).await, 100);

        // A license put on the key after the device left was never in a
        // file: it is refunded at once.
        let fresh = app.key(&token, "spare").await;
        let lid = assign(&app, &token, &fresh, "PERMANENT").await["data"]["assignLicense"]["id"]
            .clone();
        let refund = app.ok(Some(&token), DELETE, json!({ "id": lid })).await;
        assert_eq!(refund["deleteLicense"]["amount"], 100);
        app.assert_history_adds_up(&token).await;
    }
);

both_backends!(
    a_key_gets_one_running_trial_per_product,
    |app: TestApp| async move {
        let (token, key) = seller(&app, 0).await;
        let first = assign(&app, &token, &key, "TRIAL").await;
        assert!(first["errors"].is_null(), "{first}");
        let second = assign(&app, &token, &key, "TRIAL").await;
        assert_eq!(second["errors"][0]["extensions"]["code"], "CONFLICT", "{second}");
        let message = second["errors"][0]["message"].as_str().expect("message");
        assert!(
            message.contains("already has a running trial of Remote Access"),
            "{message}"
        );
        // Deleted, the trial no longer runs: another may start.
        let lid = first["data"]["assignLicense"]["id"].clone();
        app.ok(Some(&token), DELETE, json!({ "id": lid })).await;
        let third = assign(&app, &token, &key, "TRIAL").await;
        assert!(third["errors"].is_null(), "{third}");
    }
);
