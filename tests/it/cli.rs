//! The operator's commands on a populated database: replay rebuilds views
//! that answer exactly as before; verify checks the ledger.

use crate::common::{Backend, TestApp, cli, insert_event};
use serde_json::json;

const EVERYTHING: &str = "{ me { creditBalance } activationKeys(first: 500) { totalCount edges { node { id key name owner { login } } } } creditHistory(first: 500) { totalCount edges { node { id at amount balanceAfter reason reference actor { login } } } } accounts(first: 500) { totalCount edges { node { id login creditBalance } } } licenses(first: 500) { totalCount edges { node { id status email } } } live: licenses(first: 500, filter: { status: [ACTIVE, TRIAL, TRIAL_EXPIRED] }) { totalCount } found: licenses(first: 500, filter: { search: \"SERVER-2@ex\" }) { totalCount edges { node { id } } } }";

both_backends!(
    replay_and_verify_a_populated_database,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let mut partners = Vec::new();
        for p in ["acme", "globex", "initech"] {
            let (id, token) = app.partner(&admin, p).await;
            for i in 1..=5 {
                app.grant(&admin, &id, 100 * i, &format!("{p}-{i}")).await;
            }
            for i in 1..=3 {
                let key = app.key(&token, &format!("{p} server {i}")).await;
                // Trials cost nothing: the ledger's figures below stay put.
                let d = app
                    .ok(
                        Some(&token),
                        "mutation($i: AssignLicenseInput!) { assignLicense(input: $i) { id } }",
                        json!({ "i": { "activationKeyId": key["id"], "product": "REMOTE_ACCESS", "edition": "DESKTOP", "users": 1, "kind": "TRIAL", "trialDays": 30, "email": format!("{p}-server-{i}@example.com") } }),
                    )
                    .await;
                if i == 1 {
                    app.ok_for_id(
                        &token,
                        "mutation($id: ID!) { deleteLicense(id: $id) { id } }",
                        &d["assignLicense"]["id"],
                    )
                    .await;
                }
            }
            partners.push(token);
        }
        let before_admin = app.query(&admin, EVERYTHING).await;
        let before: Vec<_> = futures_join(&app, &partners).await;
        assert_eq!(before_admin["licenses"]["totalCount"], 9);
        assert_eq!(before_admin["live"]["totalCount"], 6);
        assert_eq!(before_admin["found"]["totalCount"], 3);
        assert_eq!(before[0]["live"]["totalCount"], 2);

        let (ok, out) = cli(&app, &["verify"]);
        assert!(ok, "{out}");
        assert!(out.contains("accounts:        4"), "{out}");
        assert!(out.contains("total granted:   4500"), "{out}");
        assert!(out.contains("total balance:   4500"), "{out}");

        let (ok, out) = cli(&app, &["replay"]);
        assert!(ok, "{out}");
        assert!(out.contains("events/s"), "{out}");
        // The server's own projector and the CLI share the checkpoint: the views
        // answer exactly as before.
        assert_eq!(app.query(&admin, EVERYTHING).await, before_admin);
        assert_eq!(futures_join(&app, &partners).await, before);
        let (ok, out) = cli(&app, &["verify"]);
        assert!(ok, "{out}");
    }
);

async fn futures_join(app: &TestApp, tokens: &[String]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for t in tokens {
        out.push(app.query(t, EVERYTHING).await);
    }
    out
}

/// Appends an event behind the aggregates' back, as a corrupted or tampered
/// log would hold it.
async fn forge(app: &TestApp, aggregate_type: &str, id: &str, event_type: &str, payload: &str) {
    let db = &app.running.as_ref().expect("running").app.db;
    let metadata = r#"{"at":"2026-01-01T00:00:00.000000Z"}"#;
    insert_event(db, aggregate_type, id, 99, event_type, payload, metadata).await;
}

both_backends!(verify_reports_a_broken_ledger, |app: TestApp| async move {
    let (_, id, _) = app.funded_partner("acme", 100).await;
    // An event that spends more than the balance.
    let payload = r#"{"SubscriptionCreated":{"subscription_id":"sub_forged","key_id":"key_x","software":"REMOTE_SUPPORT","channels":1,"months":1,"starts_on":"2026-01-01","ends_on":"2026-01-31","email":null,"comment":null,"credits":500}}"#;
    forge(&app, "Partner", &id, "SubscriptionCreated", payload).await;
    let (ok, out) = cli(&app, &["verify"]);
    assert!(!ok, "{out}");
    assert!(out.contains("below zero"), "{out}");
});

both_backends!(
    verify_reports_a_transfer_credited_to_another_reseller,
    |app: TestApp| async move {
        let (_, acme, acme_token) = app.funded_partner("acme", 100).await;
        let (resb, _) = app
            .reseller(&acme_token, "resb", &["REMOTE_ACCESS"], 0)
            .await;
        // The amounts balance, but the partner named an account that does
        // not exist and another reseller took the credits.
        let out = r#"{"CreditsTransferredOut":{"transfer_id":"trf_forged","reseller_id":"acc_nobody","amount":40}}"#;
        forge(&app, "Partner", &acme, "CreditsTransferredOut", out).await;
        let credit = format!(
            r#"{{"CreditsTransferredIn":{{"transfer_id":"trf_forged","partner_id":"{acme}","amount":40}}}}"#
        );
        forge(&app, "Reseller", &resb, "CreditsTransferredIn", &credit).await;
        let (ok, out) = cli(&app, &["verify"]);
        assert!(!ok, "{out}");
        assert!(
            out.contains(&format!(
                "transfer trf_forged from {acme} to acc_nobody credited {resb}"
            )),
            "{out}"
        );
    }
);
