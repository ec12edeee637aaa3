//! Webhooks: endpoints registered over GraphQL, events delivered to a real
//! local receiver (an axum server on port 0), signed as Standard Webhooks
//! says, retried, kept across a restart, and the daily support reminders.

use crate::common::{Backend, TestApp, license_input, nodes, support_input, wait_for_email};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Days, NaiveDate};
use hmac::{Hmac, Mac};
use license_portal::config::ServeArgs;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashSet;
use std::time::Duration;
use testkit::receiver::Received;

/// A receiver for a test: it starts, and a wait that times out fails the test.
struct Receiver(testkit::receiver::Receiver);

impl std::ops::Deref for Receiver {
    type Target = testkit::receiver::Receiver;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Receiver {
    async fn start(fail_first: usize, delay: Duration) -> Receiver {
        Receiver(
            testkit::receiver::Receiver::start(fail_first, delay)
                .await
                .expect("the receiver starts"),
        )
    }

    /// Waits (up to 30 s) until `done` holds for what was received.
    async fn wait(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        self.0
            .wait_until(Duration::from_secs(30), done)
            .await
            .unwrap_or_else(|got| panic!("the receiver never got {what}: {got:?}"))
    }
}

/// The Standard Webhooks check, written from the specification: HMAC-SHA256
/// keyed by the secret's base64 after `whsec_`, over `id.timestamp.body`,
/// any of the space-separated `v1,` signatures.
fn verifies(secret: &str, r: &Received) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| STANDARD.decode(k).ok())
    else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&key) else {
        return false;
    };
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.signature.split(' ').any(|s| s == expected)
}

const CREATE: &str = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret webhook { id url description eventTypes enabled owner { login } createdAt } } }";
const DELETE: &str = "mutation($id: ID!) { deleteWebhook(id: $id) }";
const DELIVERIES: &str = "query($w: ID!) { webhookDeliveries(webhookId: $w, first: 100) { totalCount edges { node { id messageId eventType status attempts lastResponseCode lastAttemptAt nextAttemptAt } } } }";

/// A partner `login` with an endpoint for ACTIVATION_KEY_CREATED at a new
/// receiver that fails its first `failures` deliveries; returns (the
/// partner's token, the receiver, the endpoint's id, its secret).
async fn partner_hearing_of_keys(
    app: &TestApp,
    login: &str,
    failures: usize,
) -> (String, Receiver, String, String) {
    let (_, _, partner) = app.admin_and_partner(login).await;
    let rx = Receiver::start(failures, Duration::ZERO).await;
    let (hook, secret) = create(app, &partner, &rx.url, &["ACTIVATION_KEY_CREATED"]).await;
    (partner, rx, hook, secret)
}

/// Registers an endpoint; returns (id, secret).
async fn create(app: &TestApp, token: &str, url: &str, types: &[&str]) -> (String, String) {
    let d = app
        .ok(
            Some(token),
            CREATE,
            json!({ "i": { "url": url, "description": "test receiver", "eventTypes": types } }),
        )
        .await;
    let id = d["createWebhook"]["webhook"]["id"].as_str().expect("id");
    let secret = d["createWebhook"]["secret"].as_str().expect("secret");
    (id.to_string(), secret.to_string())
}

async fn deliveries(app: &TestApp, token: &str, webhook: &str) -> Vec<Value> {
    let d = app
        .ok(Some(token), DELIVERIES, json!({ "w": webhook }))
        .await;
    nodes(&d["webhookDeliveries"])
}

/// The deliveries of `webhook` once `settled` holds for them (they are made
/// in the background), or as they are after 5 s for the caller to assert on.
async fn settled_deliveries(
    app: &TestApp,
    token: &str,
    webhook: &str,
    settled: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut listed = deliveries(app, token, webhook).await;
    for _ in 0..100 {
        if settled(&listed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        listed = deliveries(app, token, webhook).await;
    }
    listed
}

/// Retries within milliseconds and reminders only when a test asks for a
/// day, so that a test need not wait for the real schedule.
fn fast_webhooks(args: &mut ServeArgs) {
    args.webhooks.webhook_retry_base_ms = 50;
    args.webhooks.webhook_timeout_ms = 1000;
    args.webhooks.support_reminders = false;
}

both_backends!(
    deliveries_are_signed_and_listed,
    settings: fast_webhooks,
    |app: TestApp| async move {
        let (admin, partner_id, partner) = app.admin_and_partner("hookp").await;
        let rx = Receiver::start(0, Duration::ZERO).await;
        let (hook, secret) = create(
            &app,
            &partner,
            &rx.url,
            &["CREDITS_GRANTED", "ACTIVATION_KEY_CREATED"],
        )
        .await;
        assert!(secret.starts_with("whsec_"));
        assert_eq!(
            STANDARD
                .decode(secret.trim_start_matches("whsec_"))
                .map(|b| b.len())
                .ok(),
            Some(32)
        );
        app.grant(&admin, &partner_id, 100, "PO-1").await;
        app.key(&partner, "first key").await;
        let got = rx.wait("two events", |r| r.len() >= 2).await;
        assert_eq!(got.len(), 2, "{got:?}");
        for r in &got {
            assert!(verifies(&secret, r), "signature does not verify: {r:?}");
            assert!(!verifies(
                "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                r
            ));
            let body = r.json();
            assert_eq!(body["id"], r.id.as_str());
            assert_eq!(body["account"], partner_id.as_str());
            assert!(body["at"].is_string());
        }
        // Log order, with the event's fields as data.
        assert_eq!(got[0].json()["type"], "CREDITS_GRANTED");
        assert_eq!(got[0].json()["data"]["amount"], 100);
        assert_eq!(got[1].json()["type"], "ACTIVATION_KEY_CREATED");
        assert_eq!(got[1].json()["data"]["name"], "first key");

        let listed = app
            .query(&partner, "{ webhooks { totalCount edges { node { id url eventTypes enabled } } } }")
            .await;
        assert_eq!(listed["webhooks"]["totalCount"], 1);
        assert_eq!(listed["webhooks"]["edges"][0]["node"]["id"], hook.as_str());
        let done = settled_deliveries(&app, &partner, &hook, |all| {
            all.iter().all(|d| d["status"] == "SUCCEEDED")
        })
        .await;
        assert_eq!(done.len(), 2);
        for d in &done {
            assert_eq!(d["status"], "SUCCEEDED", "{d}");
            assert_eq!(d["attempts"], 1);
            assert_eq!(d["lastResponseCode"], 200);
            assert!(d["lastAttemptAt"].is_string());
        }
        // Newest first; the message id is the header's.
        assert_eq!(done[0]["eventType"], "ACTIVATION_KEY_CREATED");
        assert_eq!(done[0]["messageId"], got[1].id.as_str());

        // Redelivery sends the same message again.
        let id = done[0]["id"].as_str().expect("delivery id");
        let redeliver = "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id status } }";
        let again = app.ok_for_id(&partner, redeliver, id).await;
        assert_eq!(again["redeliverWebhook"]["id"], id);
        let got = rx.wait("the redelivery", |r| r.len() >= 3).await;
        assert_eq!(got[2].id, got[1].id);

        // The administrator sees every endpoint; another partner sees none of them.
        let all = app
            .query(&admin, "{ webhooks { totalCount } }")
            .await;
        assert_eq!(all["webhooks"]["totalCount"], 1);
        let (_, other) = app.partner(&admin, "hookq").await;
        let code = app
            .error_code(Some(&other), DELIVERIES, json!({ "w": hook }))
            .await;
        assert_eq!(code, "NOT_FOUND");
        let code = app
            .error_code(Some(&other), DELETE, json!({ "id": hook }))
            .await;
        assert_eq!(code, "NOT_FOUND");
        let deleted = app.ok_for_id(&partner, DELETE, &hook).await;
        assert_eq!(deleted["deleteWebhook"], true);
    }
);

both_backends!(endpoints_are_checked,settings: fast_webhooks, |app: TestApp| async move {
    let (_, _, partner) = app.admin_and_partner("boundp").await;
    let refused = |url: String, description: Option<String>, types: Vec<&'static str>| {
        let app = &app;
        let partner = partner.clone();
        async move {
            app.error_code(
                Some(&partner),
                CREATE,
                json!({ "i": { "url": url, "description": description, "eventTypes": types } }),
            )
            .await
        }
    };
    for url in [
        "http://example.com/hook",
        "ftp://example.com/hook",
        "not a url",
        "http://10.0.0.1/hook",
    ] {
        assert_eq!(
            refused(url.into(), None, vec!["LICENSE_ASSIGNED"]).await,
            "BAD_USER_INPUT",
            "{url}"
        );
    }
    let long = format!("https://example.com/{}", "a".repeat(2100));
    assert_eq!(
        refused(long, None, vec!["LICENSE_ASSIGNED"]).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        refused(
            "https://example.com/h".into(),
            Some("d".repeat(501)),
            vec!["LICENSE_ASSIGNED"]
        )
        .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        refused("https://example.com/h".into(), None, vec![]).await,
        "BAD_USER_INPUT"
    );
    for url in [
        "http://localhost:9/h",
        "http://[::1]:9/h",
        "http://127.0.0.1:9/h",
    ] {
        create(&app, &partner, url, &["LICENSE_ASSIGNED"]).await;
    }
    for i in 3..10 {
        create(
            &app,
            &partner,
            &format!("https://example.com/{i}"),
            &["LICENSE_ASSIGNED"],
        )
        .await;
    }
    assert_eq!(
        refused(
            "https://example.com/11".into(),
            None,
            vec!["LICENSE_ASSIGNED"]
        )
        .await,
        "BAD_USER_INPUT"
    );
    let code = app
        .error_code(None, "{ webhooks { totalCount } }", json!({}))
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
});

both_backends!(
    a_failing_receiver_gets_the_event_on_the_third_try,
    settings: fast_webhooks,
    |app: TestApp| async move {
        let (partner, rx, hook, secret) = partner_hearing_of_keys(&app, "retryp", 2).await;
        app.key(&partner, "retried").await;
        let got = rx.wait("three attempts", |r| r.len() >= 3).await;
        assert!(
            got.iter()
                .all(|r| r.id == got[0].id && verifies(&secret, r))
        );
        let d = settled_deliveries(&app, &partner, &hook, |all| {
            all[0]["status"] == "SUCCEEDED"
        })
        .await;
        assert_eq!(d[0]["status"], "SUCCEEDED", "{d:?}");
        assert_eq!(d[0]["attempts"], 3);
        assert_eq!(d[0]["lastResponseCode"], 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(rx.received().len(), 3);
    }
);

// The consumer moves its checkpoint lazily past events that made no
// delivery, so after a restart it reads them again, with the endpoints of
// then: one made meanwhile must still not hear of what came before it.
both_backends!(
    an_endpoint_hears_only_of_what_happened_after_it_was_made_even_across_a_restart,
    settings: fast_webhooks,
    |mut app: TestApp| async move {
        let (_, _, partner) = app.admin_and_partner("laterp").await;
        app.key(&partner, "before any endpoint").await;
        app.key(&partner, "still before").await;
        let rx = Receiver::start(0, Duration::ZERO).await;
        create(&app, &partner, &rx.url, &["ACTIVATION_KEY_CREATED"]).await;
        let after = app.key(&partner, "after the endpoint").await;
        app.restart().await;
        app.key(&partner, "after the restart").await;
        rx.wait("the two keys made after the endpoint", |r| {
            r.iter().map(|x| &x.id).collect::<HashSet<_>>().len() >= 2
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let names: HashSet<String> = rx
            .received()
            .iter()
            .filter_map(|r| r.json()["data"]["name"].as_str().map(str::to_string))
            .collect();
        assert_eq!(
            names,
            HashSet::from(["after the endpoint".to_string(), "after the restart".to_string()]),
            "key {after}"
        );
    }
);

both_backends!(
    a_restart_during_delivery_loses_no_event,
    settings: fast_webhooks,
    |mut app: TestApp| async move {
        let (_, _, partner) = app.admin_and_partner("restartp").await;
        let rx = Receiver::start(0, Duration::from_millis(30)).await;
        create(&app, &partner, &rx.url, &["ACTIVATION_KEY_CREATED"]).await;
        const KEYS: usize = 25;
        for i in 0..KEYS {
            app.key(&partner, &format!("key {i}")).await;
        }
        app.restart().await;
        let got = rx
            .wait("every event after the restart", |r| {
                r.iter().map(|x| &x.id).collect::<HashSet<_>>().len() >= KEYS
            })
            .await;
        assert_eq!(rx.unique_ids().len(), KEYS, "{got:?}");
        // Each endpoint's events come in log order, the first time each is sent.
        let mut firsts = Vec::new();
        for r in &got {
            if !firsts.contains(&r.id) {
                firsts.push(r.id.clone());
            }
        }
        let positions: Vec<i64> = firsts
            .iter()
            .filter_map(|id| id.strip_prefix("msg_").and_then(|p| p.parse().ok()))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{firsts:?}");
    }
);

both_backends!(
    an_endpoint_failing_for_three_days_is_disabled_and_its_owner_emailed,
    settings: fast_webhooks,
    |app: TestApp| async move {
        let (partner, rx, hook, _) = partner_hearing_of_keys(&app, "downp", usize::MAX).await;
        const ENABLED: &str = "{ webhooks { edges { node { id enabled } } } }";
        let enabled = |d: Value| d["webhooks"]["edges"][0]["node"]["enabled"].clone();
        app.key(&partner, "first").await;
        rx.wait("a failed attempt", |r| !r.is_empty()).await;
        // Failing for a moment is not failing for three days.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            enabled(app.query(&partner, ENABLED).await),
            true
        );

        // It started failing 73 hours ago; the next failure disables it.
        let db = &app.running.as_ref().expect("running").app.db;
        let long_ago = projections::db::time_text(chrono::Utc::now() - chrono::Duration::hours(73));
        sqlx::query("UPDATE webhooks SET failing_since = $1 WHERE id = $2")
            .bind(long_ago)
            .bind(&hook)
            .execute(&db.pool)
            .await
            .expect("age the failure");
        let seen = rx.received().len();
        app.key(&partner, "second").await;
        rx.wait("another failed attempt", |r| r.len() > seen).await;
        let mut on = enabled(app.query(&partner, ENABLED).await);
        for _ in 0..100 {
            if on == false {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            on = enabled(app.query(&partner, ENABLED).await);
        }
        assert_eq!(on, false, "the endpoint is disabled");
        // The owner is emailed.
        let email = wait_for_email(&app, "has been disabled").await;
        assert!(email.contains("downp@example.com"), "{email}");
        assert!(email.contains(&rx.url), "{email}");
        // Nothing more is sent to it.
        let after = rx.received().len();
        app.key(&partner, "third").await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(rx.received().len(), after);
    }
);

both_backends!(
    a_disabled_endpoint_gets_nothing,
    settings: fast_webhooks,
    |app: TestApp| async move {
        let (partner, rx, hook, _) = partner_hearing_of_keys(&app, "pausep", 0).await;
        let paused = app
            .ok_for_id(&partner, "mutation($id: ID!) { setWebhookEnabled(id: $id, enabled: false) { enabled } }", &hook)
            .await;
        assert_eq!(paused["setWebhookEnabled"]["enabled"], false);
        app.key(&partner, "unseen").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(rx.received().is_empty());
        assert!(deliveries(&app, &partner, &hook).await.is_empty());
        app.ok_for_id(&partner, "mutation($id: ID!) { setWebhookEnabled(id: $id, enabled: true) { enabled } }", &hook)
        .await;
        app.key(&partner, "seen").await;
        let got = rx.wait("the event after enabling", |r| !r.is_empty()).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].json()["data"]["name"], "seen");
    }
);

both_backends!(
    a_resellers_events_reach_its_partner_only,
    settings: fast_webhooks,
    |app: TestApp| async move {
        let (admin, _, partner_a) = app.admin_and_partner("parta").await;
        let (_, partner_b) = app.partner(&admin, "partb").await;
        let rx_a = Receiver::start(0, Duration::ZERO).await;
        let rx_b = Receiver::start(0, Duration::ZERO).await;
        create(
            &app,
            &partner_a,
            &rx_a.url,
            &["ACTIVATION_KEY_CREATED", "RESELLER_CREATED"],
        )
        .await;
        create(&app, &partner_b, &rx_b.url, &["ACTIVATION_KEY_CREATED"]).await;
        let (reseller_id, reseller) = app
            .reseller(&partner_a, "resa", &["REMOTE_ACCESS"], 0)
            .await;
        app.key(&reseller, "reseller key").await;
        app.key(&partner_b, "b key").await;
        let got_a = rx_a.wait("the reseller's events", |r| r.len() >= 2).await;
        assert_eq!(got_a[0].json()["type"], "RESELLER_CREATED");
        assert_eq!(got_a[1].json()["account"], reseller_id.as_str());
        assert_eq!(got_a[1].json()["data"]["name"], "reseller key");
        let got_b = rx_b.wait("partner b's own event", |r| !r.is_empty()).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(rx_a.received().len(), 2, "{:?}", rx_a.received());
        assert_eq!(rx_b.received().len(), 1, "{got_b:?}");
        assert_eq!(got_b[0].json()["data"]["name"], "b key");
    }
);

both_backends!(support_reminders_fire_once,settings: fast_webhooks, |mut app: TestApp| async move {
    let (admin, partner_id, partner) = app.admin_and_partner("remindp").await;
    app.grant(&admin, &partner_id, 1000, "PO-R").await;
    let rx = Receiver::start(0, Duration::ZERO).await;
    create(
        &app,
        &partner,
        &rx.url,
        &["SUPPORT_ENDING_SOON", "SUPPORT_EXPIRED"],
    )
    .await;
    sqlx::query("INSERT INTO reminder_settings (account_id, digest) VALUES ($1, 1)")
        .bind(&partner_id)
        .execute(&app.running.as_ref().expect("running").app.db.pool)
        .await
        .expect("opt in to the digest");
    let key = app.key(&partner, "supported").await;
    let mut input = license_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT");
    input["email"] = json!("customer@example.com");
    app.license_id(&partner, input).await;
    let support = app
        .ok(
            Some(&partner),
            "mutation($i: AssignSupportInput!) { assignSupport(input: $i) { id endOfSupport } }",
            json!({ "i": support_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, 3) }),
        )
        .await;
    let eos: NaiveDate = support["assignSupport"]["endOfSupport"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("end of support");
    let day = |before: i64| {
        if before >= 0 {
            eos.checked_sub_days(Days::new(before as u64))
        } else {
            eos.checked_add_days(Days::new((-before) as u64))
        }
        .expect("a day")
    };
    let remind = |app: &TestApp, d: NaiveDate| {
        let webhooks = app.running.as_ref().expect("running").app.webhooks.clone();
        async move { webhooks.remind(d).await.expect("reminders run") }
    };
    assert_eq!(remind(&app, day(31)).await, 0);
    assert_eq!(remind(&app, day(30)).await, 1);
    assert_eq!(remind(&app, day(30)).await, 0, "the same day twice");
    let got = rx.wait("the 30-day notice", |r| !r.is_empty()).await;
    let body = got[0].json();
    assert_eq!(body["type"], "SUPPORT_ENDING_SOON");
    assert_eq!(body["data"]["supportId"], support["assignSupport"]["id"]);
    assert_eq!(body["data"]["key"], key["key"]);
    assert_eq!(body["data"]["customerEmail"], "customer@example.com");
    assert_eq!(body["data"]["endOfSupport"], eos.to_string());
    // The digest email lists it with its key, customer and date.
    let digest = wait_for_email(&app, "Supports ending soon").await;
    let flat = digest.replace("=\r\n", "").replace("=\n", "");
    assert!(flat.contains(key["key"].as_str().expect("key")), "{digest}");
    assert!(flat.contains("customer@example.com"), "{digest}");

    app.restart().await;
    assert_eq!(remind(&app, day(29)).await, 0, "not twice across a restart");
    assert_eq!(remind(&app, day(7)).await, 1);
    assert_eq!(remind(&app, day(0)).await, 0);
    assert_eq!(remind(&app, day(-1)).await, 1);
    assert_eq!(remind(&app, day(-2)).await, 0);
    let got = rx.wait("three notices", |r| r.len() >= 3).await;
    let types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "SUPPORT_ENDING_SOON",
            "SUPPORT_ENDING_SOON",
            "SUPPORT_EXPIRED"
        ]
    );
    assert_eq!(rx.unique_ids().len(), 3);
});
