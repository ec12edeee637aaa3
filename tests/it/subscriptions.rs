//! Subscriptions extended and given more channels, a support's email and
//! comment, and credit entries that say what they were for, over the API.

use crate::common::*;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateServiceSubscriptionInput!, $k: String) { createServiceSubscription(input: $i, idempotencyKey: $k) { id channels endsOn creditsSpent } }";
const EXTEND: &str = "mutation($id: ID!, $m: Int!, $k: String) { extendServiceSubscription(id: $id, months: $m, idempotencyKey: $k) { id channels endsOn creditsSpent } }";
const UPGRADE: &str = "mutation($id: ID!, $c: Int!, $k: String) { upgradeServiceSubscription(id: $id, channels: $c, idempotencyKey: $k) { id channels endsOn creditsSpent } }";

/// A partner with 1000 credits and a 3-channel, 12-month subscription
/// (144 credits) on a key named "Tailspin HQ"; its token and subscription.
async fn with_subscription(app: &TestApp) -> (String, Value) {
    let (token, key) = app.funded_partner_key("acme", 1000, "Tailspin HQ").await;
    let d = app
        .ok(
            Some(&token),
            CREATE,
            json!({ "i": subscription_input(&key, 3, 12) }),
        )
        .await;
    (token, d["createServiceSubscription"].clone())
}

fn later(date: &str, months: u32) -> String {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a date");
    (d + chrono::Months::new(months)).to_string()
}

both_backends!(
    a_subscription_is_extended_and_charged_once,
    |app: TestApp| async move {
        let (token, sub) = with_subscription(&app).await;
        assert_eq!(app.balance(&token).await, 856);
        let vars = json!({ "id": sub["id"], "m": 6, "k": "ext-1" });
        let first =
            app.ok(Some(&token), EXTEND, vars.clone()).await["extendServiceSubscription"].clone();
        // Follows on: six months after the old end, charged 3 × 4 × 6.
        let ends = sub["endsOn"].as_str().expect("endsOn");
        assert_eq!(first["endsOn"], json!(later(ends, 6)), "{first}");
        assert_eq!(first["creditsSpent"], json!(144 + 72));
        // The same key again changes nothing and returns the same.
        let again = app.ok(Some(&token), EXTEND, vars).await["extendServiceSubscription"].clone();
        assert_eq!(again, first);
        assert_eq!(app.balance(&token).await, 856 - 72);
        // A length the catalog does not sell is refused in words.
        let code = app
            .error_code(Some(&token), EXTEND, json!({ "id": sub["id"], "m": 2 }))
            .await;
        assert_eq!(code, "BAD_USER_INPUT");
        app.assert_history_adds_up(&token).await;
    }
);

both_backends!(
    a_subscription_gets_more_channels_never_fewer,
    |app: TestApp| async move {
        let (token, sub) = with_subscription(&app).await;
        let q = app
            .ok_for_id(&token, "query($id: ID!) { quote(input: { upgradeServiceSubscription: { id: $id, channels: 5 } }) { cost sufficient } }", &sub["id"])
            .await;
        let cost = q["quote"]["cost"].as_i64().expect("cost");
        // Two more channels for (about) the whole year: 8 credits a month.
        assert!((95..=97).contains(&cost), "{q}");
        let d = app
            .ok(
                Some(&token),
                UPGRADE,
                json!({ "id": sub["id"], "c": 5, "k": "up-1" }),
            )
            .await;
        assert_eq!(d["upgradeServiceSubscription"]["channels"], json!(5));
        assert_eq!(app.balance(&token).await, 856 - cost);
        let to_channels = |channels: i64| json!({ "id": sub["id"], "c": channels });
        for (channels, code) in [
            (4, "BAD_USER_INPUT"),
            (5, "BAD_USER_INPUT"),
            (1001, "BAD_USER_INPUT"),
        ] {
            let got = app
                .error_code(Some(&token), UPGRADE, to_channels(channels))
                .await;
            assert_eq!(got, code, "{channels} channels");
        }
        // Another partner's subscription is not found.
        let (_, _, globex) = app.admin_and_partner("globex").await;
        let got = app.error_code(Some(&globex), UPGRADE, to_channels(9)).await;
        assert_eq!(got, "NOT_FOUND");
    }
);

both_backends!(
    a_support_keeps_an_email_and_a_comment_like_a_license,
    |app: TestApp| async move {
        let (token, _) = with_subscription(&app).await;
        let key = app.key(&token, "Tailspin Lab").await;
        let assign =
            "mutation($i: AssignSupportInput!) { assignSupport(input: $i) { id email comment } }";
        let input = support_input(&key, "REMOTE_ACCESS", "ENTERPRISE", 2, 1);
        let s = app.ok(Some(&token), assign, json!({ "i": input })).await["assignSupport"].clone();
        assert_eq!(s["email"], Value::Null);
        const EDIT: &str = "mutation($id: ID!, $e: String, $c: String) { editSupport(id: $id, email: $e, comment: $c) { id email comment activationKey { name } } }";
        let d = app
            .ok(
                Some(&token),
                EDIT,
                json!({ "id": s["id"], "e": "it@tailspin.example", "c": "lab" }),
            )
            .await;
        assert_eq!(d["editSupport"]["email"], json!("it@tailspin.example"));
        assert_eq!(
            d["editSupport"]["activationKey"]["name"],
            json!("Tailspin Lab")
        );
        // A field left out keeps its value; an empty one clears it.
        let d = app
            .ok(Some(&token), EDIT, json!({ "id": s["id"], "c": "" }))
            .await;
        assert_eq!(d["editSupport"]["email"], json!("it@tailspin.example"));
        assert_eq!(d["editSupport"]["comment"], Value::Null);
        let code = app
            .error_code(Some(&token), EDIT, json!({ "id": s["id"], "e": "it@" }))
            .await;
        assert_eq!(code, "BAD_USER_INPUT");
        let admin = app.admin().await;
        let code = app
            .error_code(Some(&admin), EDIT, json!({ "id": s["id"], "c": "x" }))
            .await;
        assert_eq!(code, "FORBIDDEN");
    }
);

both_backends!(
    credit_entries_say_what_they_were_for,
    |app: TestApp| async move {
        let (token, sub) = with_subscription(&app).await;
        let key = app.key(&token, "Tailspin HQ 2").await;
        let code = key["key"].as_str().expect("key").to_string();
        app.license_id(
            &token,
            license_input(&key, "REMOTE_ACCESS", "ENTERPRISE", 10, "PERMANENT"),
        )
        .await;
        app.ok(Some(&token), EXTEND, json!({ "id": sub["id"], "m": 1 }))
            .await;
        app.reseller(&token, "northwind", &["REMOTE_ACCESS"], 50)
            .await;
        let d = app
            .query(
                &token,
                "{ creditHistory(first: 50) { edges { node { reason reference description } } } }",
            )
            .await;
        let lines: Vec<String> = d["creditHistory"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["description"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(
            lines.contains(&format!(
                "License · Remote Access Enterprise · 10 users · key {code} (Tailspin HQ 2)"
            )),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"Given to reseller northwind".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with(
                "Subscription extension · Remote Support · 3 channels · 1 month · key "
            )),
            "{lines:?}"
        );
        assert!(d.to_string().contains("\"SUBSCRIPTION_EXTENSION\""), "{d}");
    }
);
