//! Durability: what was written is there after a restart.

use crate::common::{Backend, TestApp};
use serde_json::json;

both_backends!(data_survives_a_restart, |app: TestApp| async move {
    let mut app = app;
    let admin = app.admin().await;
    let (acme, token) = app.partner(&admin, "acme").await;
    app.grant(&admin, &acme, 500, "INV-1").await;
    let key = app.key(&token, "Server").await;
    let q = "{ me { login creditBalance } activationKeys { edges { node { id key } } } creditHistory { totalCount } }";
    let before = app.ok(Some(&token), q, json!({})).await;
    app.restart().await;
    // Sessions are stored too: the token still works.
    let after = app.ok(Some(&token), q, json!({})).await;
    assert_eq!(before, after);
    assert_eq!(
        after["activationKeys"]["edges"][0]["node"]["key"],
        key["key"]
    );
    // And the first administrator is not created twice.
    let token = app.admin().await;
    let admins = app
        .ok(
            Some(&token),
            "{ accounts(role: ADMIN) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(admins["accounts"]["totalCount"], 1);
});
