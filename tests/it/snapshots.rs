//! Aggregate snapshots: a stream loaded from its snapshot decides exactly as
//! one replayed from its events. The check is the balance the aggregate
//! reports when it refuses a spend (extensions.balance), against the ledger.

use crate::common::{Backend, TestApp, license_input};
use serde_json::json;

const ASSIGN: &str =
    "mutation($i: AssignLicenseInput!) { assignLicense(input: $i) { creditsSpent } }";

both_backends!(
    a_snapshot_holds_the_state_of_the_log,
    |app: TestApp| async move {
        let mut app = app;
        // The stream passes the snapshot at event 100 in the middle of them.
        let (_, acme, token) = acme_with_grants(&app, 130).await;
        let key = app.key(&token, "Server").await;
        let desktop = |users: i64| json!({ "i": license_input(&key, "REMOTE_ACCESS", "DESKTOP", users, "PERMANENT") });
        assert!(
            snapshot_reaching(&app, &acme, 100).await.is_some(),
            "a snapshot after 100 events"
        );

        for round in ["live", "after a restart"] {
            let answer = app.gql(Some(&token), ASSIGN, desktop(14)).await;
            let e = &answer["errors"][0]["extensions"];
            assert_eq!(e["code"], "INSUFFICIENT_CREDITS", "{round}: {answer}");
            assert_eq!(
                e["balance"], 130,
                "{round}: the aggregate's balance: {answer}"
            );
            assert_eq!(app.balance(&token).await, 130, "{round}");
            if round == "live" {
                app.restart().await;
            }
        }
        let token = app.login("acme", "partner-pass-1").await;
        // Exactly the balance can be spent, and not one credit more.
        let spent = app.ok(Some(&token), ASSIGN, desktop(13)).await;
        assert_eq!(spent["assignLicense"]["creditsSpent"], 130);
        let answer = app.gql(Some(&token), ASSIGN, desktop(1)).await;
        assert_eq!(answer["errors"][0]["extensions"]["balance"], 0, "{answer}");
        assert_eq!(app.balance(&token).await, 0);
        app.assert_history_adds_up(&token).await;
    }
);

both_backends!(two_servers_share_one_ledger, |app: TestApp| async move {
    // A second server on the same database: each keeps the states it last
    // committed in memory, and must still see what the other wrote.
    let mut args = app.args.clone();
    args.listen = "127.0.0.1:0".parse().expect("address");
    let second = license_portal::server::start(&args)
        .await
        .expect("a second server starts");
    let other = TestApp {
        url: format!("http://{}/graphql", second.addr),
        running: Some(second),
        client: reqwest::Client::new(),
        dir: tempfile::tempdir().expect("temp dir"),
        args,
    };
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    let key = app.key(&token, "Server").await;
    let desktop = |users: i64| json!({ "i": license_input(&key, "REMOTE_ACCESS", "DESKTOP", users, "PERMANENT") });
    let other_admin = other.admin().await;
    let other_token = other.login("acme", "partner-pass-1").await;
    for round in 0..3 {
        // Credits granted on one server, spent on the other, and back.
        app.grant(&admin, &acme, 50, &format!("A-{round}")).await;
        other
            .grant(&other_admin, &acme, 50, &format!("B-{round}"))
            .await;
        let answer = app.gql(Some(&token), ASSIGN, desktop(11)).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["balance"], 100,
            "{answer}"
        );
        other.ok(Some(&other_token), ASSIGN, desktop(6)).await;
        app.ok(Some(&token), ASSIGN, desktop(4)).await;
        let answer = other.gql(Some(&other_token), ASSIGN, desktop(1)).await;
        assert_eq!(answer["errors"][0]["extensions"]["balance"], 0, "{answer}");
    }
    assert_eq!(app.balance(&token).await, 0);
    app.assert_history_adds_up(&token).await;
});

/// Partner acme, granted one credit `grants` times: (admin token, acme's
/// id, acme's token).
async fn acme_with_grants(app: &TestApp, grants: usize) -> (String, String, String) {
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    for i in 0..grants {
        app.grant(&admin, &acme, 1, &format!("INV-{i}")).await;
    }
    (admin, acme, token)
}

/// The sequence of `account`'s newest snapshot once it reaches `at_least`
/// (snapshots are written in the background, after the answer).
async fn snapshot_reaching(app: &TestApp, account: &str, at_least: i64) -> Option<i64> {
    let db = &app.running.as_ref().expect("running").app.db;
    crate::common::eventually(100, || async move {
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT max(last_sequence) FROM snapshots WHERE aggregate_id = $1")
                .bind(account)
                .fetch_one(&db.pool)
                .await
                .expect("newest snapshot");
        newest.filter(|n| *n >= at_least)
    })
    .await
}

both_backends!(
    a_stream_read_far_past_its_snapshot_gets_a_new_one_at_its_next_command,
    |app: TestApp| async move {
        let mut app = app;
        let (_, acme, _) = acme_with_grants(&app, 110).await;
        assert!(snapshot_reaching(&app, &acme, 100).await.is_some());
        // As if it had never been written: the next load reads every event.
        let db = app.running.as_ref().expect("running").app.db.clone();
        sqlx::query("DELETE FROM snapshots WHERE aggregate_id = $1")
            .bind(&acme)
            .execute(&db.pool)
            .await
            .expect("forget the snapshot");
        app.restart().await;
        let admin = app.admin().await;
        app.grant(&admin, &acme, 1, "AFTER").await;
        let db = app.running.as_ref().expect("running").app.db.clone();
        let head = testkit::events::stream_head(&db, "Partner", &acme)
            .await
            .expect("head");
        // No multiple of 100 lies between the load and the commit: only
        // having read more than a snapshot's interval makes this one.
        assert_eq!(head / 100, (head - 1) / 100, "pick another count of grants");
        assert_eq!(snapshot_reaching(&app, &acme, head).await, Some(head));
    }
);
