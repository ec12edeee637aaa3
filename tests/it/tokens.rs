//! API tokens: scopes, revocation, expiry, rate limit, and that the portal
//! never takes a token for a session.

use crate::common::*;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret token { id name scope prefix createdAt lastUsedAt expiresAt revokedAt } } }";
const LIST: &str =
    "{ apiTokens { totalCount edges { node { id name scope lastUsedAt revokedAt } } } }";

/// One document per mutation of the API, arguments well-formed, so a refusal
/// can only come from who is asking.
pub const EVERY_MUTATION: &[&str] = &[
    r#"mutation { editSupport(id: "sup_x", comment: "c") { id } }"#,
    r#"mutation { extendServiceSubscription(id: "sub_x", months: 1) { id } }"#,
    r#"mutation { upgradeServiceSubscription(id: "sub_x", channels: 2) { id } }"#,
    r#"mutation { createWebhook(input: { url: "https://example.com/h", eventTypes: [LICENSE_ASSIGNED] }) { secret } }"#,
    r#"mutation { setWebhookEnabled(id: "whk_x", enabled: false) { id } }"#,
    r#"mutation { deleteWebhook(id: "whk_x") }"#,
    r#"mutation { redeliverWebhook(deliveryId: "dlv_x") { id } }"#,
    r#"mutation { login(login: "x", password: "y") { token } }"#,
    "mutation { logout }",
    r#"mutation { changePassword(current: "a", new: "b") }"#,
    r#"mutation { createPartner(input: { login: "zz", email: "zz@example.com", name: "zz" }) { id } }"#,
    r#"mutation { grantCredits(partnerId: "acc_x", amount: 5, reference: "r") { id } }"#,
    r#"mutation { createActivationKey(name: "k") { id } }"#,
    r#"mutation { assignLicense(input: { activationKeyId: "key_x", product: "p", edition: "e", users: 1, kind: PERMANENT }) { id } }"#,
    r#"mutation { upgradeLicense(id: "lic_x", users: 2) { id } }"#,
    r#"mutation { editLicense(id: "lic_x", comment: "c") { id } }"#,
    r#"mutation { deleteLicense(id: "lic_x") { id } }"#,
    r#"mutation { assignSupport(input: { activationKeyId: "key_x", product: "p", edition: "e", users: 1, months: 12 }) { id } }"#,
    r#"mutation { upgradeSupport(id: "sup_x", users: 2) { id } }"#,
    r#"mutation { extendSupport(id: "sup_x", months: 12) { id } }"#,
    r#"mutation { createServiceSubscription(input: { activationKeyId: "key_x", software: REMOTE_SUPPORT, channels: 1, months: 12 }) { id } }"#,
    r#"mutation { createReseller(input: { login: "rr", email: "rr@example.com", name: "rr", products: [] }) { reseller { id } } }"#,
    r#"mutation { editReseller(id: "acc_x", input: { name: "n" }) { id } }"#,
    r#"mutation { giveCredits(resellerId: "acc_x", amount: 1) { id } }"#,
    r#"mutation { activateKey(key: "AAAA-AAAA-AAAA-AAAA", deviceFingerprint: "f") { payload } }"#,
    r#"mutation { refreshKey(key: "AAAA-AAAA-AAAA-AAAA", deviceFingerprint: "f") { payload } }"#,
    r#"mutation { deactivateKey(key: "AAAA-AAAA-AAAA-AAAA", deviceFingerprint: "f") }"#,
    r#"mutation { createApiToken(input: { name: "t", scope: READ }) { secret } }"#,
    r#"mutation { revokeApiToken(id: "tok_x") { id } }"#,
    r#"mutation { createAuditor(input: { login: "aa", email: "aa@example.com", name: "aa" }) { id } }"#,
];

/// Each document of EVERY_MUTATION with the mutation it sends, the name the
/// schema lists it under.
pub fn every_mutation() -> impl Iterator<Item = (&'static str, &'static str)> {
    EVERY_MUTATION.iter().map(|doc| {
        let field = doc.strip_prefix("mutation { ").expect("a mutation");
        (field.split(['(', ' ']).next().expect("a name"), *doc)
    })
}

/// The mutations the server serves; the list above must name each one.
pub async fn served_mutations(app: &TestApp, token: &str) -> Vec<String> {
    let d = app
        .query(token, "{ __schema { mutationType { fields { name } } } }")
        .await;
    d["__schema"]["mutationType"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect()
}

pub async fn create_token(
    app: &TestApp,
    session: &str,
    name: &str,
    scope: &str,
) -> (String, Value) {
    let d = app
        .ok(
            Some(session),
            CREATE,
            json!({ "i": { "name": name, "scope": scope } }),
        )
        .await;
    let secret = d["createApiToken"]["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    (secret, d["createApiToken"]["token"].clone())
}

both_backends!(
    read_token_reads_and_is_refused_every_mutation,
    |app: TestApp| async move {
        let (_, partner_id, partner) = app.admin_and_partner("acme").await;
        let (secret, token) = create_token(&app, &partner, "Dashboard", "READ").await;
        assert!(secret.starts_with("lpt_"), "{secret}");
        assert_eq!(token["prefix"].as_str(), Some(&secret[..8]));
        assert_eq!(token["scope"], "READ");
        assert_eq!(token["lastUsedAt"], json!(null));
        // The secret is not kept: only its hash is.
        let db = &app.running.as_ref().expect("running").app.db;
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE secret_hash = $1")
                .bind(&secret)
                .fetch_one(&db.pool)
                .await
                .expect("count");
        assert_eq!(stored, 0);

        let me = app.query(&secret, "{ me { id role } }").await;
        assert_eq!(me["me"]["id"], json!(partner_id));
        app.query(
            &secret,
            "{ licenses { totalCount } creditHistory { totalCount } }",
        )
        .await;

        let served = served_mutations(&app, &secret).await;
        for name in &served {
            assert!(
                every_mutation().any(|(n, _)| n == name),
                "mutation {name} is not in EVERY_MUTATION: add it so its refusal is tested"
            );
        }
        for (name, doc) in every_mutation() {
            if !served.iter().any(|s| s == name) {
                continue;
            }
            assert_eq!(
                app.error_code(Some(&secret), doc, json!({})).await,
                "FORBIDDEN",
                "{name}"
            );
        }
        // Nothing happened on the partner's behalf.
        assert_eq!(app.key_count(&partner).await, 0);
        // It was used: the list shows when.
        let list = app.query(&partner, LIST).await;
        assert!(
            list["apiTokens"]["edges"][0]["node"]["lastUsedAt"].is_string(),
            "{list}"
        );
    }
);

both_backends!(
    write_token_acts_but_manages_no_credentials,
    |app: TestApp| async move {
        let (admin, _, partner) = app.admin_and_partner("acme").await;
        let (_, _) = create_token(&app, &partner, "First", "READ").await;
        let (secret, _) = create_token(&app, &partner, "CI", "WRITE").await;
        app.key(&secret, "Build server").await;
        for doc in [
            r#"mutation { createApiToken(input: { name: "t", scope: WRITE }) { secret } }"#,
            r#"mutation { changePassword(current: "partner-pass-1", new: "another-pass-2") }"#,
            r#"mutation { logout }"#,
        ] {
            assert_eq!(
                app.error_code(Some(&secret), doc, json!({})).await,
                "FORBIDDEN",
                "{doc}"
            );
        }
        // The password still works: the refused change did nothing.
        app.login("acme", "partner-pass-1").await;
        // Newest first, only the caller's own.
        let list = app.query(&partner, LIST).await;
        let names: Vec<&str> = list["apiTokens"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter_map(|e| e["node"]["name"].as_str())
            .collect();
        assert_eq!(names, ["CI", "First"]);
        let (_, other) = app.partner(&admin, "globex").await;
        let theirs = app.query(&other, LIST).await;
        assert_eq!(theirs["apiTokens"]["totalCount"], 0);
        let id = list["apiTokens"]["edges"][0]["node"]["id"].clone();
        let revoke = "mutation($id: ID!) { revokeApiToken(id: $id) { id } }";
        let code = app
            .error_code(Some(&other), revoke, json!({ "id": id }))
            .await;
        assert_eq!(code, "NOT_FOUND");
    }
);

both_backends!(
    revoked_and_expired_tokens_stop_at_once,
    |app: TestApp| async move {
        let (_, _, partner) = app.admin_and_partner("acme").await;
        let (secret, token) = create_token(&app, &partner, "Script", "WRITE").await;
        app.query(&secret, "{ me { id } }").await;
        let revoked = app
            .ok_for_id(
                &partner,
                "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }",
                &token["id"],
            )
            .await;
        assert!(revoked["revokeApiToken"]["revokedAt"].is_string());
        let me = app.query(&secret, "{ me { id } }").await;
        assert_eq!(me["me"], json!(null));
        assert_eq!(
            app.error_code(
                Some(&secret),
                r#"mutation { createActivationKey(name: "k") { id } }"#,
                json!({})
            )
            .await,
            "UNAUTHENTICATED"
        );

        let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        assert_eq!(
            app.error_code(
                Some(&partner),
                CREATE,
                json!({ "i": { "name": "old", "scope": "READ", "expiresAt": past } })
            )
            .await,
            "BAD_USER_INPUT"
        );
        let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
        let d = app
            .ok(
                Some(&partner),
                CREATE,
                json!({ "i": { "name": "brief", "scope": "READ", "expiresAt": soon } }),
            )
            .await;
        let brief = d["createApiToken"]["secret"]
            .as_str()
            .expect("secret")
            .to_string();
        assert!(d["createApiToken"]["token"]["expiresAt"].is_string());
        let me = app.query(&brief, "{ me { id } }").await;
        assert!(me["me"]["id"].is_string());
        tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
        let me = app.query(&brief, "{ me { id } }").await;
        assert_eq!(me["me"], json!(null));
    }
);

both_backends!(the_portal_takes_no_token, |app: TestApp| async move {
    let (_, _, partner) = app.admin_and_partner("acme").await;
    let (secret, _) = create_token(&app, &partner, "Dashboard", "WRITE").await;
    let base = app.url.trim_end_matches("/graphql").to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for request in [
        client
            .get(format!("{base}/credits"))
            .header("cookie", format!("lp_session={secret}")),
        client.get(format!("{base}/credits")).bearer_auth(&secret),
    ] {
        let answer = request.send().await.expect("answer");
        assert_eq!(
            answer.status().as_u16(),
            303,
            "a token must not open the portal"
        );
    }
    // Nor does the cookie act as a token on the API.
    let answer: Value = client
        .post(&app.url)
        .header("cookie", format!("lp_session={secret}"))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["data"]["me"], json!(null));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_token_has_a_rate_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(Backend::Sqlite, dir.path()).await;
    let mut args = serve_args(url, dir.path());
    args.integrations.api_token_rate_limit = 3;
    let app = TestApp::spawn_with(args, dir).await;
    let (_, _, partner) = app.admin_and_partner("acme").await;
    let (secret, _) = create_token(&app, &partner, "Busy", "READ").await;
    let (other, _) = create_token(&app, &partner, "Quiet", "READ").await;
    for _ in 0..3 {
        app.query(&secret, "{ me { id } }").await;
    }
    assert_eq!(
        app.error_code(Some(&secret), "{ me { id } }", json!({}))
            .await,
        "RATE_LIMITED"
    );
    // Per token: another token of the same account still works, as does the session.
    app.query(&other, "{ me { id } }").await;
    app.query(&partner, "{ me { id } }").await;
}
