//! The licensed product on a device: activating its key, the signed license
//! file it receives and checks offline, refreshing and deactivating; and the
//! portal's rule that a license is deleted only while its key is not activated
//! (seed section 4).

use crate::common::{
    Backend, TestApp, all_at_once, assert_signed, cli, license_input, run, run_bare, signatures,
    subscription_input, support_input,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

const ACTIVATE: &str = "mutation($k: String!, $f: String!, $n: String) { activateKey(key: $k, deviceFingerprint: $f, deviceName: $n) { payload signature publicKey } }";
const REFRESH: &str = "mutation($k: String!, $f: String!) { refreshKey(key: $k, deviceFingerprint: $f) { payload signature publicKey } }";
const DEACTIVATE: &str =
    "mutation($k: String!, $f: String!) { deactivateKey(key: $k, deviceFingerprint: $f) }";
const ASSIGN: &str = "mutation($i: AssignLicenseInput!) { assignLicense(input: $i) { id status creditsSpent activated } }";
const DELETE: &str =
    "mutation($id: ID!) { deleteLicense(id: $id) { amount balanceAfter reason reference } }";
const KEY: &str = "query($id: ID!) { node(id: $id) { ... on ActivationKey { key device { fingerprint name activatedAt } licenses { id activated status } } } }";
const LICENSE: &str =
    "query($id: ID!) { node(id: $id) { ... on License { status activated creditsSpent } } }";

/// Checks a license file the way a product does: the Ed25519 signature of
/// the payload's bytes under the public key. Returns the payload's JSON.
fn verified(file: &Value) -> Value {
    let payload = file["payload"].as_str().expect("payload");
    assert_signed(
        file["publicKey"].as_str().expect("publicKey"),
        file["signature"].as_str().expect("signature"),
        payload,
    );
    serde_json::from_str(payload).expect("the payload is JSON")
}

fn signature_holds(file: &Value) -> bool {
    signatures::signature_holds(
        file["publicKey"].as_str().unwrap(),
        file["signature"].as_str().unwrap(),
        file["payload"].as_str().unwrap(),
    )
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

async fn activate(app: &TestApp, key: &str, device: &str, name: Option<&str>) -> Value {
    app.ok(None, ACTIVATE, json!({ "k": key, "f": device, "n": name }))
        .await["activateKey"]
        .clone()
}

/// `license-portal check-license FILE` trusting the server's signing key:
/// (exit status success, stdout).
fn check_license(app: &TestApp, path: &std::path::Path) -> (bool, String) {
    let r = run(app, &["check-license", path.to_str().expect("path")], &[]);
    (r.ok, r.to_string())
}

both_backends!(activation_binds_one_device, |app: TestApp| async move {
    let (token, key) = app.funded_partner_key("acme", 500, "Customer server").await;
    let code = key["key"].as_str().unwrap().to_string();
    let license = app
        .ok(
            Some(&token),
            ASSIGN,
            json!({ "i": license_input(&key, "REMOTE_ACCESS", "ENTERPRISE", 4, "PERMANENT") }),
        )
        .await["assignLicense"]
        .clone();
    let lid = license["id"].as_str().unwrap().to_string();
    assert_eq!(license["activated"], false);
    let trial = app
        .ok(
            Some(&token),
            ASSIGN,
            json!({ "i": { "activationKeyId": key["id"], "product": "TWO_FACTOR", "edition": "STANDARD", "users": 2, "kind": "TRIAL", "trialDays": 14 } }),
        )
        .await["assignLicense"]
        .clone();
    let support = app
        .ok(
            Some(&token),
            "mutation($i: AssignSupportInput!) { assignSupport(input: $i) { id endOfSupport } }",
            json!({ "i": support_input(&key, "REMOTE_ACCESS", "ENTERPRISE", 4, 12) }),
        )
        .await["assignSupport"]
        .clone();
    let subscription = app
        .ok(
            Some(&token),
            "mutation($i: CreateServiceSubscriptionInput!) { createServiceSubscription(input: $i) { id channels endsOn } }",
            json!({ "i": subscription_input(&key, 3, 1) }),
        )
        .await["createServiceSubscription"]
        .clone();
    let balance = app.balance(&token).await;
    assert_eq!(balance, 500 - 100 - 4 * 3 * 12 - 3 * 4);
    app.assert_history_adds_up(&token).await;

    // The product activates its key: no session; the key in any case.
    let before = Utc::now();
    let file = activate(&app, &code.to_lowercase(), "device-A", Some("Server A")).await;
    let payload = verified(&file);
    assert_eq!(payload["key"], code.as_str());
    assert_eq!(payload["device"]["fingerprint"], "device-A");
    assert_eq!(payload["device"]["name"], "Server A");
    let licenses = payload["licenses"].as_array().expect("licenses");
    let ids: Vec<&str> = licenses.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![lid.as_str(), trial["id"].as_str().unwrap()]);
    assert_eq!(licenses[0]["product"], "REMOTE_ACCESS");
    assert_eq!(licenses[0]["edition"], "ENTERPRISE");
    assert_eq!(licenses[0]["users"], 4);
    assert_eq!(payload["supports"][0]["id"], support["id"]);
    assert_eq!(
        payload["supports"][0]["endOfSupport"],
        support["endOfSupport"]
    );
    assert_eq!(payload["subscriptions"][0]["id"], subscription["id"]);
    assert_eq!(payload["subscriptions"][0]["channels"], 3);
    let issued = time(&payload["issuedAt"]);
    assert!(issued >= before - Duration::seconds(1) && issued <= Utc::now());
    assert!(time(&payload["expiresAt"]) > issued);

    // The portal shows the binding.
    let k = app.ok_for_id(&token, KEY, &key["id"]).await["node"].clone();
    assert_eq!(k["device"]["fingerprint"], "device-A");
    assert_eq!(k["device"]["name"], "Server A");
    assert!(time(&k["device"]["activatedAt"]) >= before - Duration::seconds(1));
    assert_eq!(
        k["licenses"],
        json!([
            { "id": lid, "activated": true, "status": "ACTIVE" },
            { "id": trial["id"], "activated": true, "status": "TRIAL" }
        ])
    );
    let listed = app
        .query(&token, "{ licenses { edges { node { id activated } } } }")
        .await;
    for e in listed["licenses"]["edges"].as_array().unwrap() {
        assert_eq!(e["node"]["activated"], true);
    }

    // The same device again: a fresh file, still bound.
    let again = activate(&app, &code, "device-A", Some("Server A")).await;
    let payload2 = verified(&again);
    assert_eq!(again["publicKey"], file["publicKey"]);
    assert!(time(&payload2["issuedAt"]) >= issued);
    let refreshed = app
        .ok(None, REFRESH, json!({ "k": code, "f": "device-A" }))
        .await["refreshKey"]
        .clone();
    assert_eq!(verified(&refreshed)["device"]["fingerprint"], "device-A");

    // Another device while bound: refused; the binding stays.
    assert_eq!(
        app.error_code(
            None,
            ACTIVATE,
            json!({ "k": code, "f": "device-B", "n": "Intruder" })
        )
        .await,
        "CONFLICT"
    );
    assert_eq!(
        app.error_code(None, REFRESH, json!({ "k": code, "f": "device-B" }))
            .await,
        "CONFLICT"
    );
    assert_eq!(
        app.error_code(None, DEACTIVATE, json!({ "k": code, "f": "device-B" }))
            .await,
        "CONFLICT"
    );
    let k = app.ok_for_id(&token, KEY, &key["id"]).await["node"].clone();
    assert_eq!(k["device"]["fingerprint"], "device-A");

    // Deleting a license of an activated key is refused and changes nothing.
    assert_eq!(
        app.error_code(Some(&token), DELETE, json!({ "id": lid }))
            .await,
        "CONFLICT"
    );
    assert_eq!(
        app.error_code(Some(&token), DELETE, json!({ "id": trial["id"] }))
            .await,
        "CONFLICT"
    );
    assert_eq!(
        app.ok_for_id(&token, LICENSE, &lid).await["node"],
        json!({ "status": "ACTIVE", "activated": true, "creditsSpent": 100 })
    );
    assert_eq!(app.balance(&token).await, balance);
    app.assert_history_adds_up(&token).await;

    // Deactivated on its device: unbound; refresh needs an activation again.
    let d = app
        .ok(None, DEACTIVATE, json!({ "k": code, "f": "device-A" }))
        .await;
    assert_eq!(d["deactivateKey"], true);
    let k = app.ok_for_id(&token, KEY, &key["id"]).await["node"].clone();
    assert_eq!(k["device"], json!(null));
    assert_eq!(k["licenses"][0]["activated"], false);
    assert_eq!(
        app.error_code(None, REFRESH, json!({ "k": code, "f": "device-A" }))
            .await,
        "CONFLICT"
    );
    assert_eq!(
        app.error_code(None, DEACTIVATE, json!({ "k": code, "f": "device-A" }))
            .await,
        "CONFLICT"
    );

    // The device keeps its last file 30 days: until then the license is not
    // refunded (see rules_security for the refund once the file expired).
    assert_eq!(
        app.error_code(Some(&token), DELETE, json!({ "id": lid }))
            .await,
        "CONFLICT"
    );
    assert_eq!(app.balance(&token).await, balance);
    app.assert_history_adds_up(&token).await;

    // Another device may take the key now and gets what is live on it.
    let file_b = activate(&app, &code, "device-B", None).await;
    let payload_b = verified(&file_b);
    assert_eq!(payload_b["device"]["fingerprint"], "device-B");
    assert_eq!(payload_b["device"]["name"], json!(null));
    let mut ids: Vec<&str> = payload_b["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![lid.as_str(), trial["id"].as_str().unwrap()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(file_b["publicKey"], file["publicKey"]);
    let k = app.ok_for_id(&token, KEY, &key["id"]).await["node"].clone();
    assert_eq!(k["device"]["fingerprint"], "device-B");
    assert_eq!(
        app.error_code(None, ACTIVATE, json!({ "k": code, "f": "device-A" }))
            .await,
        "CONFLICT"
    );
    // Activation moves no credits.
    assert_eq!(app.balance(&token).await, balance);
    app.assert_history_adds_up(&token).await;
});

both_backends!(device_requests_refused, |app: TestApp| async move {
    let (_, _, token) = app.admin_and_partner("acme").await;
    let key = app.key(&token, "Server").await;
    let code = key["key"].as_str().unwrap();
    // A well-formed key nobody has.
    let unknown = if code == "ZZZZ-ZZZZ-ZZZZ-ZZZZ" {
        "YYYY-YYYY-YYYY-YYYY"
    } else {
        "ZZZZ-ZZZZ-ZZZZ-ZZZZ"
    };
    for doc in [ACTIVATE, REFRESH, DEACTIVATE] {
        assert_eq!(
            app.error_code(None, doc, json!({ "k": unknown, "f": "device-A" }))
                .await,
            "NOT_FOUND",
            "{doc}"
        );
        assert_eq!(
            app.error_code(None, doc, json!({ "k": "not-a-key", "f": "device-A" }))
                .await,
            "BAD_USER_INPUT",
            "{doc}"
        );
        assert_eq!(
            app.error_code(None, doc, json!({ "k": code, "f": "   " }))
                .await,
            "BAD_USER_INPUT",
            "{doc}"
        );
        assert_eq!(
            app.error_code(None, doc, json!({ "k": code, "f": "x".repeat(201) }))
                .await,
            "BAD_USER_INPUT",
            "{doc}"
        );
    }
    // Refresh before any activation.
    assert_eq!(
        app.error_code(None, REFRESH, json!({ "k": code, "f": "device-A" }))
            .await,
        "CONFLICT"
    );
    let k = app.ok_for_id(&token, KEY, &key["id"]).await["node"].clone();
    assert_eq!(k["device"], json!(null));
    // A key with nothing on it still activates, with an empty file.
    let file = activate(&app, code, "device-A", None).await;
    let payload = verified(&file);
    assert_eq!(payload["licenses"], json!([]));
    assert_eq!(payload["supports"], json!([]));
    assert_eq!(payload["subscriptions"], json!([]));
});

both_backends!(check_license_offline, |app: TestApp| async move {
    let (token, key) = app.funded_partner_key("acme", 100, "Server").await;
    let code = key["key"].as_str().unwrap().to_string();
    app.ok(
        Some(&token),
        ASSIGN,
        json!({ "i": license_input(&key, "SERVER_MONITORING", "STANDARD", 3, "PERMANENT") }),
    )
    .await;
    let file = activate(&app, &code, "device-A", Some("Monitor")).await;
    assert!(signature_holds(&file));
    let dir = tempfile::tempdir().expect("temp dir");

    // As the product saves it.
    let valid = dir.path().join("license.json");
    std::fs::write(&valid, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    let (ok, out) = check_license(&app, &valid);
    assert!(ok, "{out}");
    assert!(out.contains("VALID"), "{out}");
    assert!(out.contains(&code), "{out}");

    // One byte of the payload altered: a digit of the users count.
    let payload = file["payload"].as_str().unwrap();
    let at = payload.find("\"users\":3").expect("users in the payload") + "\"users\":".len();
    let mut bytes = payload.as_bytes().to_vec();
    bytes[at] = b'9';
    let mut altered = file.clone();
    altered["payload"] = json!(String::from_utf8(bytes).unwrap());
    assert!(!signature_holds(&altered));
    let path = dir.path().join("payload-altered.json");
    std::fs::write(&path, altered.to_string()).unwrap();
    let (ok, out) = check_license(&app, &path);
    assert!(!ok, "an altered payload passed: {out}");
    assert!(out.contains("NOT valid"), "{out}");

    // One byte of the signature altered.
    let mut sig = STANDARD
        .decode(file["signature"].as_str().unwrap())
        .unwrap();
    sig[17] ^= 0x01;
    let mut altered = file.clone();
    altered["signature"] = json!(STANDARD.encode(&sig));
    assert!(!signature_holds(&altered));
    let path = dir.path().join("signature-altered.json");
    std::fs::write(&path, altered.to_string()).unwrap();
    let (ok, out) = check_license(&app, &path);
    assert!(!ok, "an altered signature passed: {out}");
    assert!(out.contains("NOT valid"), "{out}");

    // One byte of the saved file's signature text altered.
    let text = file.to_string();
    let sig_text = file["signature"].as_str().unwrap();
    let at = text.find(sig_text).unwrap() + 5;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let path = dir.path().join("signature-text-altered.json");
    std::fs::write(&path, &bytes).unwrap();
    let (ok, out) = check_license(&app, &path);
    assert!(!ok, "{out}");

    // A forger's file: intact, signed by the forger's own key and naming it.
    // Only a trusted key (here the server's signing key) can tell.
    let forger = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let forged_payload = payload.replace("\"users\":3", "\"users\":999");
    let forged = json!({
        "payload": forged_payload,
        "signature": STANDARD.encode(
            ed25519_dalek::Signer::sign(&forger, forged_payload.as_bytes()).to_bytes()
        ),
        "publicKey": STANDARD.encode(forger.verifying_key().to_bytes()),
    });
    assert!(signature_holds(&forged), "the forgery is self-consistent");
    let path = dir.path().join("forged.json");
    std::fs::write(&path, forged.to_string()).unwrap();
    let (ok, out) = check_license(&app, &path);
    assert!(!ok, "a file signed by another key passed: {out}");
    assert!(out.contains("NOT valid"), "{out}");

    // Signed by another key: the vendor's key given on the command line wins.
    let other_key = STANDARD.encode([7u8; 32]);
    let valid_path = valid.to_str().expect("path");
    let out = run_bare(
        &["check-license", valid_path, "--public-key", &other_key],
        &[],
    );
    assert!(!out.ok);
    let vendor_key = file["publicKey"].as_str().unwrap();
    let out = run_bare(
        &["check-license", valid_path, "--public-key", vendor_key],
        &[],
    );
    assert!(out.ok);

    // The vendor's public key is the one on the server's signing key.
    let (ok, out) = cli(&app, &["public-key"]);
    assert!(ok);
    assert_eq!(out.trim(), file["publicKey"].as_str().unwrap());
});

both_backends!(racing_devices_one_wins, |app: TestApp| async move {
    let (token, key) = app.funded_partner_key("acme", 100, "Contested").await;
    let spare = app.key(&token, "Spare").await;
    let on_spare = app
        .ok(
            Some(&token),
            ASSIGN,
            json!({ "i": license_input(&spare, "TWO_FACTOR", "STANDARD", 2, "PERMANENT") }),
        )
        .await["assignLicense"]
        .clone();
    let code = key["key"].as_str().unwrap().to_string();
    let app = std::sync::Arc::new(app);
    let answers = all_at_once((0..10).map(|i| {
        let (app, code) = (app.clone(), code.clone());
        async move {
            let device = format!("device-{i}");
            let answer = app
                .gql(None, ACTIVATE, json!({ "k": code, "f": device, "n": null }))
                .await;
            (device, answer)
        }
    }))
    .await;
    let mut winners = Vec::new();
    for (device, answer) in answers {
        match answer.get("errors") {
            None => {
                let payload = verified(&answer["data"]["activateKey"]);
                assert_eq!(payload["device"]["fingerprint"], device.as_str());
                winners.push(device);
            }
            Some(e) => assert_eq!(e[0]["extensions"]["code"], "CONFLICT", "{answer}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let k = app.ok_for_id(&token, KEY, &key["id"]).await["node"].clone();
    assert_eq!(k["device"]["fingerprint"], winners[0].as_str());
    // Another key's activation does not hold back this key's licenses.
    assert_eq!(
        app.ok_for_id(&token, LICENSE, &on_spare["id"]).await["node"]["activated"],
        false
    );
    let refund = app.ok_for_id(&token, DELETE, &on_spare["id"]).await;
    assert_eq!(refund["deleteLicense"]["amount"], 10);
    assert_eq!(app.balance(&token).await, 100);
    app.assert_history_adds_up(&token).await;
});
