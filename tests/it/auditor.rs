//! The AUDITOR role: reads what an administrator reads, changes nothing.

use crate::common::*;
use crate::tokens::{every_mutation, served_mutations};
use serde_json::{Value, json};

const CREATE: &str =
    "mutation($i: CreateAuditorInput!) { createAuditor(input: $i) { id role login } }";

/// Everything an administrator reads, with totals to compare.
const READS: &str = "query($p: ID!, $at: DateTime!) {
  partners: accounts(first: 500) { totalCount edges { node { id login creditBalance } } }
  resellers: accounts(role: RESELLER, first: 500) { totalCount }
  history: creditHistory(accountId: $p, first: 500) { totalCount edges { node { amount balanceAfter } } }
  then: creditBalance(accountId: $p, asOf: $at)
  now: creditBalance(accountId: $p)
  events(first: 500) { totalCount }
  partnerEvents: events(aggregateId: $p, first: 500) { totalCount }
  licenses(first: 500) { totalCount }
  supports(first: 500) { totalCount }
  serviceSubscriptions(first: 500) { totalCount }
  activationKeys(first: 500) { totalCount }
}";

async fn auditor(app: &TestApp, admin: &str) -> String {
    let d = app
        .ok(
            Some(admin),
            CREATE,
            json!({ "i": { "login": "audrey", "email": "audrey@example.com", "name": "Audrey", "password": "auditor-pass-1" } }),
        )
        .await;
    assert_eq!(d["createAuditor"]["role"], "AUDITOR");
    app.login("audrey", "auditor-pass-1").await
}

both_backends!(
    the_auditor_reads_what_an_admin_reads,
    |app: TestApp| async move {
        let (admin, partner_id, partner) = app.admin_and_partner("acme").await;
        app.grant(&admin, &partner_id, 100, "PO-1").await;
        let before = chrono::Utc::now();
        app.grant(&admin, &partner_id, 50, "PO-2").await;
        app.reseller(&partner, "shop", &["REMOTE_ACCESS"], 20).await;
        app.key(&partner, "Server").await;
        // Only an administrator makes auditors.
        assert_eq!(
            app.error_code(
                Some(&partner),
                CREATE,
                json!({ "i": { "login": "x1", "email": "x1@example.com", "name": "x" } })
            )
            .await,
            "FORBIDDEN"
        );
        let audrey = auditor(&app, &admin).await;
        let vars = json!({ "p": partner_id, "at": before.to_rfc3339() });
        let seen: Value = app.ok(Some(&audrey), READS, vars.clone()).await;
        let expected: Value = app.ok(Some(&admin), READS, vars).await;
        assert_eq!(seen, expected);
        assert_eq!(seen["then"], 100);
        assert_eq!(seen["now"], 130);
        assert_eq!(seen["resellers"]["totalCount"], 1);
        assert_eq!(seen["activationKeys"]["totalCount"], 1);
        assert!(
            seen["events"]["totalCount"].as_i64().unwrap_or(0) > 5,
            "{seen}"
        );
    }
);

both_backends!(the_auditor_changes_nothing, |app: TestApp| async move {
    let admin = app.admin().await;
    let audrey = auditor(&app, &admin).await;
    let before = app.query(&admin, "{ events { totalCount } }").await;
    let served = served_mutations(&app, &audrey).await;
    for (name, doc) in every_mutation() {
        if !served.iter().any(|s| s == name)
            || ["login", "logout", "changePassword"].contains(&name)
        {
            continue;
        }
        assert_eq!(
            app.error_code(Some(&audrey), doc, json!({})).await,
            "FORBIDDEN",
            "{name}"
        );
    }
    let after = app.query(&admin, "{ events { totalCount } }").await;
    assert_eq!(before, after, "a refused mutation wrote an event");
    // Its own password and session are its own.
    app.ok(
        Some(&audrey),
        r#"mutation { changePassword(current: "auditor-pass-1", new: "auditor-pass-2") }"#,
        json!({}),
    )
    .await;
    let again = app.login("audrey", "auditor-pass-2").await;
    app.query(&again, "mutation { logout }").await;
    let me = app.query(&again, "{ me { id } }").await;
    assert_eq!(me["me"], json!(null));
});

both_backends!(the_auditor_portal_is_read_only, |app: TestApp| async move {
    let (admin, partner_id, _) = app.admin_and_partner("acme").await;
    app.grant(&admin, &partner_id, 70, "PO-7").await;
    // A session from the API is a portal session too.
    let token = auditor(&app, &admin).await;
    let base = app.url.trim_end_matches("/graphql").to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let cookie = format!("lp_session={token}");
    let get = |path: String| {
        let client = client.clone();
        let cookie = cookie.clone();
        async move {
            let r = client
                .get(path)
                .header("cookie", cookie)
                .send()
                .await
                .expect("page");
            (r.status().as_u16(), r.text().await.expect("body"))
        }
    };
    let (status, partners) = get(format!("{base}/admin/partners")).await;
    assert_eq!(status, 200);
    assert!(partners.contains("acme"));
    assert!(!partners.contains("Grant credits") && !partners.contains("Create a partner"));
    let (status, history) = get(format!("{base}/credits?account={partner_id}")).await;
    assert_eq!(status, 200);
    assert!(history.contains("PO-7"), "{history}");
    let (status, csv) = get(format!("{base}/credits.csv?account={partner_id}")).await;
    assert_eq!(status, 200);
    assert!(csv.contains("PO-7"));
    let (status, _) = get(format!("{base}/admin/partners/new")).await;
    assert_eq!(status, 403);
});

both_backends!(
    create_auditor_on_the_command_line,
    |app: TestApp| async move {
        let out = run(
            &app,
            &[
                "create-auditor",
                "--login",
                "cli-audit",
                "--email",
                "cli@example.com",
                "--password",
                "auditor-pass-9",
            ],
            &[],
        );
        assert!(out.ok, "{}", out.stderr);
        assert!(out.stdout.contains("Created auditor cli-audit"));
        let token = app.login("cli-audit", "auditor-pass-9").await;
        let me = app.query(&token, "{ me { role } }").await;
        assert_eq!(me["me"]["role"], "AUDITOR");
    }
);
