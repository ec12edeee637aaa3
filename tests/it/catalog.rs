//! The product catalog: what `products` lists, a replaced catalog file, and
//! prices charged as they stood when the event happened.

use crate::common;

use crate::common::{Backend, TestApp, license_input};
use license_portal::server;
use serde_json::{Value, json};

const ASSIGN: &str =
    "mutation($i: AssignLicenseInput!) { assignLicense(input: $i) { id creditsSpent } }";

/// The license a sale of `users` users of Remote Access Desktop on `key` made.
async fn sell_desktop(app: &TestApp, token: &str, key: &Value, users: i64) -> Value {
    let input = license_input(key, "REMOTE_ACCESS", "DESKTOP", users, "PERMANENT");
    app.ok(Some(token), ASSIGN, json!({ "i": input })).await["assignLicense"].clone()
}

/// The built-in catalog with Remote Access Desktop at `price` credits a user.
fn catalog_with_desktop_price(price: i64) -> String {
    let text = aggregates::catalog::DEFAULT_CATALOG;
    let marker = "code = \"DESKTOP\"";
    let at = text.find(marker).expect("DESKTOP in the built-in catalog");
    let line_start = at + text[at..].find("license_per_user").expect("its price");
    let line_end = line_start + text[line_start..].find('\n').expect("end of line");
    format!(
        "{}license_per_user = {price}{}",
        &text[..line_start],
        &text[line_end..]
    )
}

both_backends!(products_lists_the_catalog, |app: TestApp| async move {
    // No session needed.
    let d = app
        .ok(
            None,
            "{ products { code name subscriptionOnly editions { code name } } }",
            json!({}),
        )
        .await;
    let products = d["products"].as_array().expect("products");
    let codes: Vec<&str> = products
        .iter()
        .map(|p| p["code"].as_str().expect("code"))
        .collect();
    for code in [
        "REMOTE_ACCESS",
        "ADVANCED_SECURITY",
        "SERVER_MONITORING",
        "TWO_FACTOR",
        "REMOTE_SUPPORT",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    let remote_access = products
        .iter()
        .find(|p| p["code"] == "REMOTE_ACCESS")
        .expect("Remote Access");
    assert_eq!(remote_access["name"], "Remote Access");
    assert_eq!(remote_access["subscriptionOnly"], false);
    let editions: Vec<&str> = remote_access["editions"]
        .as_array()
        .expect("editions")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(editions, ["Desktop", "Mobile Web", "Enterprise"]);
    let remote_support = products
        .iter()
        .find(|p| p["code"] == "REMOTE_SUPPORT")
        .expect("Remote Support");
    assert_eq!(remote_support["subscriptionOnly"], true);
});

both_backends!(
    a_price_change_never_rewrites_history,
    |app: TestApp| async move {
        let mut app = app;
        let (token, key) = app.funded_partner_key("acme", 1000, "Server").await;
        let first = sell_desktop(&app, &token, &key, 10).await;
        assert_eq!(
            first["creditsSpent"], 100,
            "10 users at the built-in 10 a user"
        );

        // The vendor doubles the price and restarts with the new catalog.
        let catalog = app.dir.path().join("products.toml");
        std::fs::write(&catalog, catalog_with_desktop_price(20)).expect("write the catalog");
        app.args.catalog = Some(catalog);
        app.restart().await;
        let token = app.login("acme", "partner-pass-1").await;

        // What was charged stays what it was; new sales pay the new price.
        let history = app
            .query(
                &token,
                "{ creditHistory { edges { node { amount reason } } } }",
            )
            .await;
        assert_eq!(history["creditHistory"]["edges"][1]["node"]["amount"], -100);
        let second = sell_desktop(&app, &token, &key, 10).await;
        assert_eq!(second["creditsSpent"], 200);
        assert_eq!(app.balance(&token).await, 700);

        // Deleting the first license refunds what it cost then, not now.
        let refund = app
            .ok_for_id(
                &token,
                "mutation($id: ID!) { deleteLicense(id: $id) { amount reason } }",
                &first["id"],
            )
            .await;
        assert_eq!(refund["deleteLicense"]["amount"], 100);
        assert_eq!(refund["deleteLicense"]["reason"], "LICENSE_REFUND");
        assert_eq!(app.balance(&token).await, 800);
        app.assert_history_adds_up(&token).await;
    }
);

#[tokio::test]
async fn a_malformed_catalog_stops_the_start_and_names_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let catalog = dir.path().join("products.toml");
    std::fs::write(
        &catalog,
        "max_trial_days = 90\nsupport_months = [1, 12]\nsubscription_months = [1]\n\n[[products]]\ncode = \"X\"\nname = \n",
    )
    .expect("write the catalog");
    let url = common::fresh_database(Backend::Sqlite, dir.path()).await;
    let mut args = common::serve_args(url, dir.path());
    args.catalog = Some(catalog);
    let err = match server::start(&args).await {
        Ok(_) => panic!("a malformed catalog was accepted"),
        Err(e) => e,
    };
    assert!(err.contains("line 7"), "{err}");
    assert!(err.contains("products.toml"), "{err}");
}
