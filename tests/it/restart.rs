//! Durability: what was written is there after a restart.

use crate::common::{Backend, TestApp};

both_backends!(data_survives_a_restart, |app: TestApp| async move {
    let mut app = app;
    let (token, key) = app.funded_partner_key("acme", 500, "Server").await;
    let q = "{ me { login creditBalance } activationKeys { edges { node { id key } } } creditHistory { totalCount } }";
    let before = app.query(&token, q).await;
    app.restart().await;
    // Sessions are stored too: the token still works.
    let after = app.query(&token, q).await;
    assert_eq!(before, after);
    assert_eq!(
        after["activationKeys"]["edges"][0]["node"]["key"],
        key["key"]
    );
    // And the first administrator is not created twice.
    let token = app.admin().await;
    let admins = app
        .query(&token, "{ accounts(role: ADMIN) { totalCount } }")
        .await;
    assert_eq!(admins["accounts"]["totalCount"], 1);
});
