//! The vendor's credit grants, the credit history and the audit trail.

use crate::common;
use crate::common::{Backend, TestApp, all_at_once, column};
use serde_json::{Value, json};

const GRANT: &str = "mutation($p: ID!, $a: Int!, $r: String!, $k: String) { grantCredits(partnerId: $p, amount: $a, reference: $r, idempotencyKey: $k) { id amount balanceAfter reason reference actor { login } } }";
const HISTORY: &str = "query($a: ID, $from: DateTime, $to: DateTime, $first: Int, $after: String) { creditHistory(accountId: $a, from: $from, to: $to, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id at amount balanceAfter reason reference } } } }";

/// The entry a grant document with `vars` made or replayed.
async fn grant(app: &TestApp, admin: &str, vars: Value) -> Value {
    app.ok(Some(admin), GRANT, vars).await["grantCredits"].clone()
}

/// The error code of a grant document with `vars` that must fail.
async fn grant_refused(app: &TestApp, admin: &str, vars: Value) -> String {
    app.error_code(Some(admin), GRANT, vars).await
}

both_backends!(
    grants_are_recorded_once_per_reference,
    |app: TestApp| async move {
        let (admin, acme, token) = app.admin_and_partner("acme").await;
        let first = grant(&app, &admin, json!({ "p": acme, "a": 1000, "r": "INV-1" })).await;
        assert_eq!(first["amount"], 1000);
        assert_eq!(first["balanceAfter"], 1000);
        assert_eq!(first["reason"], "GRANT");
        assert_eq!(first["reference"], "INV-1");
        assert_eq!(first["actor"]["login"], "admin");
        // The same reference again: the first entry, nothing granted twice.
        let again = grant(&app, &admin, json!({ "p": acme, "a": 1000, "r": "INV-1" })).await;
        assert_eq!(again["id"], first["id"]);
        assert_eq!(app.balance(&token).await, 1000);
        // … with another amount: a conflict, still nothing granted.
        assert_eq!(
            grant_refused(&app, &admin, json!({ "p": acme, "a": 5, "r": "INV-1" })).await,
            "CONFLICT"
        );
        // An idempotency key replays the first answer too.
        let keyed = grant(
            &app,
            &admin,
            json!({ "p": acme, "a": 7, "r": "INV-2", "k": "k-1" }),
        )
        .await;
        let replay = grant(
            &app,
            &admin,
            json!({ "p": acme, "a": 7, "r": "INV-2", "k": "k-1" }),
        )
        .await;
        assert_eq!(keyed, replay);
        assert_eq!(
            grant_refused(
                &app,
                &admin,
                json!({ "p": acme, "a": 8, "r": "INV-3", "k": "k-1" })
            )
            .await,
            "CONFLICT"
        );
        assert_eq!(app.balance(&token).await, 1007);
        app.assert_history_adds_up(&token).await;
    }
);

both_backends!(bad_grants_change_nothing, |app: TestApp| async move {
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    for (amount, reference) in [
        (0, "R0"),
        (-5, "R1"),
        (10_000_001, "R2"),
        (5, ""),
        (5, "   "),
    ] {
        let code = grant_refused(
            &app,
            &admin,
            json!({ "p": acme, "a": amount, "r": reference }),
        )
        .await;
        assert_eq!(code, "BAD_USER_INPUT", "{amount} {reference:?}");
    }
    // Out of Int range entirely: refused by the schema, still BAD_USER_INPUT.
    let code = grant_refused(
        &app,
        &admin,
        json!({ "p": acme, "a": 3_000_000_000i64, "r": "R3" }),
    )
    .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(
        grant_refused(
            &app,
            &admin,
            json!({ "p": "acc_nobody", "a": 5, "r": "R4" })
        )
        .await,
        "NOT_FOUND"
    );
    // Only the vendor grants.
    assert_eq!(
        app.error_code(Some(&token), GRANT, json!({ "p": acme, "a": 5, "r": "R5" }))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(app.balance(&token).await, 0);
    assert_eq!(
        app.query(&token, HISTORY).await["creditHistory"]["totalCount"],
        0
    );
});

both_backends!(history_pages_and_balance_as_of, |app: TestApp| async move {
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    for i in 1..=5 {
        app.grant(&admin, &acme, i * 10, &format!("INV-{i}")).await;
    }
    let page1 = app.ok(Some(&token), HISTORY, json!({ "first": 2 })).await["creditHistory"].clone();
    assert_eq!(page1["totalCount"], 5);
    assert_eq!(page1["pageInfo"]["hasNextPage"], true);
    assert_eq!(column(&page1, "amount"), [10, 20], "oldest first");
    let page2 = app
        .ok(
            Some(&token),
            HISTORY,
            json!({ "first": 10, "after": page1["pageInfo"]["endCursor"] }),
        )
        .await["creditHistory"]
        .clone();
    assert_eq!(column(&page2, "balanceAfter"), [60, 100, 150]);
    assert_eq!(page2["pageInfo"]["hasNextPage"], false);
    for bad in [json!({ "first": 501 }), json!({ "after": "garbage" })] {
        let code = app.error_code(Some(&token), HISTORY, bad.clone()).await;
        assert_eq!(code, "BAD_USER_INPUT", "{bad}");
    }

    // The balance as it stood just after the third grant.
    let third_at = page2["edges"][0]["node"]["at"]
        .as_str()
        .unwrap()
        .to_string();
    let q = "query($a: ID, $t: DateTime) { creditBalance(accountId: $a, asOf: $t) }";
    assert_eq!(
        app.ok(Some(&token), q, json!({ "t": third_at })).await["creditBalance"],
        60
    );
    assert_eq!(
        app.ok(Some(&token), q, json!({ "t": "2000-01-01T00:00:00Z" }))
            .await["creditBalance"],
        0
    );
    assert_eq!(app.query(&token, q).await["creditBalance"], 150);
    assert_eq!(
        app.ok(Some(&admin), q, json!({ "a": acme })).await["creditBalance"],
        150
    );
    let ranged = app
        .ok(
            Some(&token),
            HISTORY,
            json!({ "from": third_at, "to": third_at }),
        )
        .await;
    assert_eq!(ranged["creditHistory"]["totalCount"], 1);
});

both_backends!(partners_cannot_see_each_other, |app: TestApp| async move {
    let (admin, acme, acme_token) = app.funded_partner("acme", 100).await;
    let (_globex, globex_token) = app.partner(&admin, "globex").await;
    let key = app.key(&acme_token, "Acme server").await;
    assert_eq!(
        app.error_code(Some(&globex_token), HISTORY, json!({ "a": acme }))
            .await,
        "NOT_FOUND"
    );
    let q = "query($a: ID) { creditBalance(accountId: $a) }";
    assert_eq!(
        app.error_code(Some(&globex_token), q, json!({ "a": acme }))
            .await,
        "NOT_FOUND"
    );
    let node = "query($id: ID!) { node(id: $id) { id ... on ActivationKey { key } } }";
    assert_eq!(
        app.error_code(Some(&globex_token), node, json!({ "id": key["id"] }))
            .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.ok_for_id(&acme_token, node, &key["id"]).await["node"]["key"],
        key["key"]
    );
    let keys = "query($o: ID) { activationKeys(ownerId: $o) { totalCount } }";
    assert_eq!(
        app.error_code(Some(&globex_token), keys, json!({ "o": acme }))
            .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.query(&globex_token, keys).await["activationKeys"]["totalCount"],
        0
    );
    let events = "query($a: ID) { events(aggregateId: $a) { totalCount } }";
    assert_eq!(
        app.error_code(Some(&globex_token), events, json!({ "a": acme }))
            .await,
        "NOT_FOUND"
    );
});

both_backends!(events_show_the_audit_trail, |app: TestApp| async move {
    let (admin, acme, token) = app.funded_partner("acme", 100).await;
    app.key(&token, "Server").await;
    let q = "query($a: ID) { events(aggregateId: $a) { totalCount edges { node { aggregateType aggregateId sequence eventType payload at actor { login } } } } }";
    let d = app.ok(Some(&token), q, json!({ "a": acme })).await;
    assert_eq!(
        column(&d["events"], "eventType"),
        [
            "PartnerRegistered",
            "CreditsGranted",
            "ActivationKeyCreated"
        ]
    );
    let grant = &d["events"]["edges"][1]["node"];
    assert_eq!(grant["aggregateType"], "Partner");
    assert_eq!(grant["sequence"], 2);
    assert_eq!(grant["payload"]["CreditsGranted"]["amount"], 100);
    assert_eq!(grant["actor"]["login"], "admin");
    // Credentials never reach the log.
    let all = app
        .query(
            &admin,
            "{ events(first: 500) { edges { node { payload } } } }",
        )
        .await
        .to_string();
    assert!(
        !all.contains("partner-pass-1")
            && !all.contains("argon2")
            && !all.contains(common::ADMIN_PASSWORD)
    );
});

both_backends!(concurrent_grants_all_land, |app: TestApp| async move {
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    let app = std::sync::Arc::new(app);
    all_at_once((1..=20i64).map(|i| {
        let (app, admin, acme) = (app.clone(), admin.clone(), acme.clone());
        async move {
            app.ok(
                Some(&admin),
                GRANT,
                json!({ "p": acme, "a": i, "r": format!("C-{i}") }),
            )
            .await
        }
    }))
    .await;
    assert_eq!(app.balance(&token).await, (1..=20).sum::<i64>());
    let d = app.query(&token, HISTORY).await;
    assert_eq!(d["creditHistory"]["totalCount"], 20);
    app.assert_history_adds_up(&token).await;
});
