//! Business rules that close abuses: a refund that would outlive the
//! license file, trials stacked on one key, the CLI trusting a file's own
//! key, idempotency keys crossing senders, a reseller reading its partner's
//! figures, and ids that count the whole system's activity.

use crate::common::{Backend, Run, TestApp, license_input, run, run_bare};
use serde_json::{Value, json};

const ACTIVATE: &str = "mutation($k: String!, $f: String!) { activateKey(key: $k, deviceFingerprint: $f) { payload signature publicKey } }";
const DEACTIVATE: &str =
    "mutation($k: String!, $f: String!) { deactivateKey(key: $k, deviceFingerprint: $f) }";
const ASSIGN: &str = "mutation($i: AssignLicenseInput!, $idem: String) { assignLicense(input: $i, idempotencyKey: $idem) { id } }";
const DELETE: &str = "mutation($id: ID!) { deleteLicense(id: $id) { amount reason reference } }";

/// A partner with `credits` and one activation key; returns (token, key).
async fn seller(app: &TestApp, credits: i64) -> (String, Value) {
    let (admin, id, token) = app.admin_and_partner("acme").await;
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
        let lid =
            assign(&app, &token, &key, "PERMANENT").await["data"]["assignLicense"]["id"].clone();
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
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "CONFLICT",
            "{answer}"
        );
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
        let lid =
            assign(&app, &token, &fresh, "PERMANENT").await["data"]["assignLicense"]["id"].clone();
        let refund = app.ok_for_id(&token, DELETE, &lid).await;
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
        assert_eq!(
            second["errors"][0]["extensions"]["code"], "CONFLICT",
            "{second}"
        );
        let message = second["errors"][0]["message"].as_str().expect("message");
        assert!(
            message.contains("already has a running trial of Remote Access"),
            "{message}"
        );
        // Deleted, the trial no longer runs: another may start.
        let lid = first["data"]["assignLicense"]["id"].clone();
        app.ok_for_id(&token, DELETE, &lid).await;
        let third = assign(&app, &token, &key, "TRIAL").await;
        assert!(third["errors"].is_null(), "{third}");
    }
);

// --- check-license, public-key, verify: which key is trusted ---------------

/// A license file signed by `signer`, expiring `days` from now (negative: past).
fn signed_file(signer: &license_portal::signing::Signer25519, days: i64) -> String {
    let expires = chrono::Utc::now() + chrono::Duration::days(days);
    let payload = json!({
        "key": "ABCD-EFGH-IJKL-MNOP",
        "licenses": [{ "product": "REMOTE_ACCESS", "users": 999 }],
        "expiresAt": projections::db::time_text(expires),
    });
    serde_json::to_string(&signer.sign(payload.to_string())).expect("json")
}

/// `check-license` on `contents` written to `name` in `dir`, with only the
/// signing key at `signing_key` to trust: its exit code and what it printed.
fn check_license_file(
    dir: &std::path::Path,
    name: &str,
    contents: String,
    signing_key: &std::path::Path,
) -> (Option<i32>, String) {
    let file = dir.join(name);
    std::fs::write(&file, contents).expect("write");
    let Run { code, stdout, .. } = run_bare(
        &["check-license", file.to_str().expect("path")],
        &[("SIGNING_KEY_PATH", signing_key)],
    );
    (code, stdout)
}

#[test]
fn check_license_never_trusts_the_files_own_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Anyone can make a key, sign a file with it and name it in the file.
    let forger = license_portal::signing::Signer25519::ephemeral();
    let no_key = dir.path().join("no-signing-key");
    let (code, out) =
        check_license_file(dir.path(), "forged.json", signed_file(&forger, 30), &no_key);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("no trusted key"), "{out}");
    assert!(!out.contains("is VALID"), "{out}");
    assert!(!no_key.exists(), "check-license made a signing key");
}

#[test]
fn check_license_refuses_an_expired_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key_path = dir.path().join("signing-key");
    let vendor = license_portal::signing::Signer25519::load_or_create(&key_path).expect("key");
    let (code, out) = check_license_file(
        dir.path(),
        "fresh.json",
        signed_file(&vendor, 30),
        &key_path,
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("is VALID"), "{out}");
    let (code, out) = check_license_file(
        dir.path(),
        "expired.json",
        signed_file(&vendor, -1),
        &key_path,
    );
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("expired"), "{out}");
    assert!(!out.contains("is VALID"), "{out}");
}

both_backends!(only_serve_makes_a_signing_key, |app: TestApp| async move {
    let dir = tempfile::tempdir().expect("temp dir");
    let no_key = dir.path().join("data").join("signing-key");
    let Run {
        code, stdout: out, ..
    } = run_bare(&["public-key"], &[("SIGNING_KEY_PATH", &no_key)]);
    assert_ne!(code, Some(0), "{out}");
    assert!(!no_key.exists(), "public-key made a signing key");
    for args in [&["verify"][..], &["replay"][..]] {
        let out = run(&app, args, &[("SIGNING_KEY_PATH", &no_key)]);
        assert!(out.ok, "{out}");
        assert!(!no_key.exists(), "{args:?} made a signing key");
    }
});

// --- Idempotency keys are the sender's own --------------------------------

both_backends!(
    a_resellers_key_never_names_its_partners,
    |app: TestApp| async move {
        let (_, partner_id, partner) = app.funded_partner("acme", 500).await;
        let (_, reseller) = app
            .reseller(&partner, "resb", &["REMOTE_ACCESS"], 300)
            .await;
        let key = app.key(&reseller, "shop server").await;
        let order =
            |users: i64| license_input(&key, "REMOTE_ACCESS", "DESKTOP", users, "PERMANENT");
        // The reseller picks a key that spells its partner's "order-77".
        let spelled = format!("{partner_id}/order-77");
        // What a sale of `users` under the key `idem` made, or a retry found.
        let assigned = async |token: &str, users: i64, idem: &str| {
            app.ok(
                Some(token),
                ASSIGN,
                json!({ "i": order(users), "idem": idem }),
            )
            .await["assignLicense"]["id"]
                .clone()
        };
        let by_reseller = assigned(&reseller, 1, &spelled).await;
        // The partner's own "order-77" on the reseller's key is another request.
        let by_partner = assigned(&partner, 2, "order-77").await;
        assert_ne!(by_reseller, by_partner);
        // Each retry still finds its own first result.
        assert_eq!(assigned(&partner, 2, "order-77").await, by_partner);
        assert_eq!(assigned(&reseller, 1, &spelled).await, by_reseller);
        // 10 + 20 spent from the reseller's 300.
        assert_eq!(app.balance(&reseller).await, 270);
    }
);

// --- What a reseller reads of its partner; what a partner learns of others --

both_backends!(
    a_reseller_reads_its_partners_name_not_its_figures,
    |app: TestApp| async move {
        let (_, partner_id, partner) = app.funded_partner("acme", 500).await;
        let (_, reseller) = app.reseller(&partner, "resb", &["REMOTE_ACCESS"], 0).await;
        let d = app
            .query(&reseller, "{ me { parent { id name login } } }")
            .await;
        assert_eq!(
            d["me"]["parent"],
            json!({ "id": partner_id, "name": "acme", "login": "acme" })
        );
        for field in ["creditBalance", "email", "keyCount", "licenseCount"] {
            let answer = app
                .gql(
                    Some(&reseller),
                    &format!("{{ me {{ login parent {{ id {field} }} }} }}"),
                    json!({}),
                )
                .await;
            assert_eq!(
                answer["errors"][0]["extensions"]["code"], "FORBIDDEN",
                "{answer}"
            );
            assert_eq!(
                answer["errors"][0]["path"],
                json!(["me", "parent", field]),
                "{answer}"
            );
            // Never the value: the partner comes back without it (or null).
            assert!(answer["data"]["me"]["parent"][field].is_null(), "{answer}");
            assert_eq!(answer["data"]["me"]["login"], "resb", "{answer}");
            assert!(!answer.to_string().contains("500"), "{answer}");
        }
        // The partner still reads its own figures.
        let d = app.query(&partner, "{ me { creditBalance email } }").await;
        assert_eq!(d["me"]["creditBalance"], 500);
    }
);

const CREATE_RESELLER: &str =
    "mutation($i: CreateResellerInput!) { createReseller(input: $i) { reseller { id } } }";
const EDIT_RESELLER: &str =
    "mutation($id: ID!, $i: EditResellerInput!) { editReseller(id: $id, input: $i) { id } }";

both_backends!(
    a_partner_cannot_tell_whose_login_or_email_is_taken,
    |app: TestApp| async move {
        let (admin, _, acme) = app.admin_and_partner("acme").await;
        let (_, _globex) = app.partner(&admin, "globex").await;
        let (own, _) = app.reseller(&acme, "resb", &["REMOTE_ACCESS"], 0).await;
        let (_, _) = app.reseller(&acme, "resc", &["REMOTE_ACCESS"], 0).await;
        let create = |login: &str, email: &str| json!({ "i": { "login": login, "email": email, "name": "New", "password": "reseller-pass-1", "products": ["REMOTE_ACCESS"] } });
        let mut answers = Vec::new();
        for (login, email) in [
            // Another partner's login, and its email.
            ("globex", "fresh-1@example.com"),
            ("fresh-2", "globex@example.com"),
            // The partner's own reseller's login, and its email.
            ("resc", "fresh-3@example.com"),
            ("fresh-4", "resc@example.com"),
        ] {
            let answer = app
                .gql(Some(&acme), CREATE_RESELLER, create(login, email))
                .await;
            assert_eq!(
                answer["errors"][0]["extensions"]["code"], "CONFLICT",
                "{answer}"
            );
            answers.push(answer["errors"][0]["message"].clone());
        }
        for email in [
            "globex@example.com",
            "resc@example.com",
            "admin@example.com",
        ] {
            let answer = app
                .gql(
                    Some(&acme),
                    EDIT_RESELLER,
                    json!({ "id": own, "i": { "email": email } }),
                )
                .await;
            if answer["errors"].is_null() {
                // No such account: the address was free.
                continue;
            }
            assert_eq!(
                answer["errors"][0]["extensions"]["code"], "CONFLICT",
                "{answer}"
            );
            answers.push(answer["errors"][0]["message"].clone());
        }
        assert!(answers.len() >= 6, "{answers:?}");
        let first_create = &answers[0];
        assert!(
            answers[..4].iter().all(|a| a == first_create),
            "{answers:?}"
        );
        assert!(answers[4..].iter().all(|a| a == &answers[4]), "{answers:?}");
        assert!(
            first_create
                .as_str()
                .unwrap_or("")
                .contains("not available"),
            "{answers:?}"
        );
    }
);

// --- Credit entry ids and cursors tell nothing of the system's volume -----

both_backends!(
    credit_entry_ids_and_cursors_are_opaque,
    |app: TestApp| async move {
        let (admin, id, token) = app.admin_and_partner("acme").await;
        let mut ids = Vec::new();
        for i in 1..=3 {
            ids.push(app.grant(&admin, &id, 10 * i, &format!("INV-{i}")).await["id"].clone());
        }
        for entry in &ids {
            let text = entry.as_str().expect("id");
            let hex = text.strip_prefix("crd_").expect("crd_ prefix");
            assert_eq!(hex.len(), 32, "{text}");
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{text}");
        }
        const PAGE: &str = "query($a: String) { creditHistory(first: 2, after: $a) { edges { cursor node { id amount } } pageInfo { endCursor hasNextPage } } }";
        let first = app.ok(Some(&token), PAGE, json!({ "a": null })).await;
        let page = &first["creditHistory"];
        assert_eq!(page["pageInfo"]["hasNextPage"], true);
        let cursor = page["pageInfo"]["endCursor"].as_str().expect("cursor");
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .expect("base64");
        let raw = String::from_utf8(raw).expect("text");
        assert_eq!(raw, format!("e:{}", ids[1].as_str().expect("id")));
        let next = app.ok(Some(&token), PAGE, json!({ "a": cursor })).await;
        let edges = next["creditHistory"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0]["node"]["id"], ids[2]);
        assert_eq!(edges[0]["node"]["amount"], 30);
        // The node look-up finds an entry by its new id.
        let node = app
            .ok_for_id(
                &token,
                "query($id: ID!) { node(id: $id) { ... on CreditEntry { amount } } }",
                &ids[0],
            )
            .await;
        assert_eq!(node["node"]["amount"], 10);
    }
);
