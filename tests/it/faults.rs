//! Faults: an operation that writes in two places completes exactly once
//! after a crash between the two, and a committed write is never answered as
//! an error. A crash is made by an `App` built without the background tasks
//! with a crash point armed: the operation stops there, the test drops that
//! `App` and starts the server again on the same database.

use crate::common::{self, Backend, TestApp, license_input, subscription_input, support_input};
use aggregates::Role;
use license_portal::app::faults::FaultPoint;
use license_portal::app::{App, Caller, NewAccount};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const GIVE: &str =
    "mutation($r: ID!, $a: Int!) { giveCredits(resellerId: $r, amount: $a) { amount reason } }";

/// Stops the server and builds the service's `App` on its database with no
/// background task running (no projector, no process manager): what is left
/// when it stops at a crash point is what a killed process leaves.
async fn crashed_app(app: &mut TestApp, point: FaultPoint) -> Arc<App> {
    if let Some(r) = app.running.take() {
        r.stop().await;
    }
    let crashed = license_portal::server::build_app(&app.args)
        .await
        .expect("build the app");
    crashed.faults.arm(point);
    crashed
}

fn partner_caller(id: &str) -> Caller {
    Caller {
        id: id.to_string(),
        role: Role::Partner,
        must_change_password: false,
        session_hash: String::new(),
        token: None,
    }
}

fn new_reseller(login: &str) -> NewAccount {
    NewAccount {
        login: login.into(),
        email: format!("{login}@example.com"),
        name: login.into(),
        password: Some("reseller-pass-1".into()),
        parent: None,
        products: vec!["REMOTE_ACCESS".into()],
    }
}

async fn count_events(app: &TestApp, aggregate_id: &str, event_type: &str) -> i64 {
    let db = &app.running.as_ref().expect("running").app.db;
    sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = $2")
        .bind(aggregate_id)
        .bind(event_type)
        .fetch_one(&db.pool)
        .await
        .expect("count events")
}

/// Waits (up to 10 s) until `verify` passes with nothing left pending.
async fn verified(app: &TestApp) -> license_portal::verify::Summary {
    let running = app.running.as_ref().expect("running");
    let mut last = String::new();
    for _ in 0..200 {
        let _ = running.app.projector.drain().await;
        match license_portal::verify::verify(&running.app.db).await {
            Ok(s) if s.resellers_pending == 0 => return s,
            Ok(s) => last = format!("{s:?}"),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("verify never passed with nothing pending: {last}");
}

both_backends!(
    a_reseller_registered_before_a_crash_is_recorded_on_its_partner_once,
    |app: TestApp| async move {
        let mut app = app;
        let (_, acme, _) = app.funded_partner("acme", 100).await;

        let crashed = crashed_app(&mut app, FaultPoint::AfterResellerRegistered).await;
        let stopped = crashed
            .create_reseller(&partner_caller(&acme), new_reseller("shop"))
            .await;
        assert!(stopped.is_err(), "the crash point stops the operation");
        crashed.db.pool.close().await;
        drop(crashed);

        app.restart().await;
        let summary = verified(&app).await;
        assert_eq!(summary.resellers_pending, 0);
        let reseller = app.login("shop", "reseller-pass-1").await;
        let id = app.query(&reseller, "{ me { id } }").await["me"]["id"]
            .as_str()
            .expect("id")
            .to_string();
        assert_eq!(count_events(&app, &acme, "ResellerAdded").await, 1);

        // The partner can give credits to it: its record is there.
        let partner = app.login("acme", "partner-pass-1").await;
        let given = app
            .ok(Some(&partner), GIVE, json!({ "r": id, "a": 30 }))
            .await;
        assert_eq!(given["giveCredits"]["amount"], -30);
        assert_eq!(app.balance(&reseller).await, 30);

        // Another restart writes nothing more.
        app.restart().await;
        verified(&app).await;
        assert_eq!(count_events(&app, &acme, "ResellerAdded").await, 1);
    }
);

/// Two partners, acme and globex; acme's creation of the key
/// ABCD-1234-EFGH-5678 stopped between its reservation and its event, then
/// `meanwhile` run on the database and the server started again. Returns
/// (acme's token, globex's token).
async fn key_cut_after_its_reservation<F, Fut>(app: &mut TestApp, meanwhile: F) -> (String, String)
where
    F: FnOnce(projections::Db) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (admin, acme, partner) = app.admin_and_partner("acme").await;
    let (_, other) = app.partner(&admin, "globex").await;
    let crashed = crashed_app(app, FaultPoint::AfterKeyReserved).await;
    let stopped = crashed
        .create_activation_key(&partner_caller(&acme), "Server", Some(CUT_KEY))
        .await;
    assert!(stopped.is_err(), "the crash point stops the operation");
    meanwhile(crashed.db.clone()).await;
    crashed.db.pool.close().await;
    drop(crashed);
    app.restart().await;
    (partner, other)
}

const KEY: &str =
    "mutation($n: String!, $k: String) { createActivationKey(name: $n, key: $k) { id name key } }";

/// The key text whose creation was stopped after its reservation.
const CUT_KEY: &str = "ABCD-1234-EFGH-5678";

/// The variables of KEY for a key named `name` with the text CUT_KEY.
fn cut_key_named(name: &str) -> serde_json::Value {
    json!({ "n": name, "k": CUT_KEY })
}

both_backends!(
    an_activation_key_stopped_after_its_reservation_is_made_once_by_its_retry,
    |app: TestApp| async move {
        let mut app = app;
        let (partner, other) = key_cut_after_its_reservation(&mut app, |_| async {}).await;
        assert_eq!(verified(&app).await.keys_reserved_unused, 1);

        // Another account cannot take the text while it may still be made.
        let code = app
            .error_code(Some(&other), KEY, cut_key_named("Theirs"))
            .await;
        assert_eq!(code, "CONFLICT");
        // The owner's retry makes it, once; a second retry is refused.
        let made = app.ok(Some(&partner), KEY, cut_key_named("Server")).await;
        assert_eq!(made["createActivationKey"]["key"], CUT_KEY);
        let again = app
            .error_code(Some(&partner), KEY, cut_key_named("Server"))
            .await;
        assert_eq!(again, "CONFLICT");
        let keys = app
            .query(&partner, "{ activationKeys(first: 10) { totalCount } }")
            .await;
        assert_eq!(keys["activationKeys"]["totalCount"], 1);
        assert_eq!(verified(&app).await.keys_reserved_unused, 0);
    }
);

both_backends!(
    an_activation_key_text_left_reserved_long_ago_is_free_to_anyone,
    |app: TestApp| async move {
        let mut app = app;
        // Eleven minutes ago.
        let (_, other) = key_cut_after_its_reservation(&mut app, |db| async move {
            let long_ago =
                projections::db::time_text(chrono::Utc::now() - chrono::Duration::minutes(11));
            sqlx::query("UPDATE key_reservations SET reserved_at = $1")
                .bind(long_ago)
                .execute(&db.pool)
                .await
                .expect("age the reservation");
        })
        .await;

        let made = app.ok(Some(&other), KEY, cut_key_named("Theirs")).await;
        assert_eq!(made["createActivationKey"]["name"], "Theirs");
        assert_eq!(verified(&app).await.keys_reserved_unused, 0);
    }
);

/// The first start stopped after reserving `admin` and before registering it.
async fn first_start_stopped_before_the_admin_registered(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::fresh_database(backend, dir.path()).await;
    let args = common::serve_args(url, dir.path());
    let crashed = license_portal::server::build_app(&args)
        .await
        .expect("build the app");
    crashed.faults.arm(FaultPoint::AfterCredentialsWritten);
    let stopped = crashed
        .ensure_first_admin(Some(common::ADMIN_PASSWORD.into()))
        .await;
    assert!(stopped.is_err(), "the crash point stops the first start");
    crashed.db.pool.close().await;
    drop(crashed);

    let app = TestApp::spawn_with(args, dir).await;
    assert_eq!(verified(&app).await.logins_pending, 0);
    let admin = app.admin().await;
    let admins = app
        .query(&admin, "{ accounts(role: ADMIN) { totalCount } }")
        .await;
    assert_eq!(admins["accounts"]["totalCount"], 1);
    assert_eq!(count_type(&app, "AdminRegistered").await, 1);
    assert_eq!(verified(&app).await.logins_pending, 0);
}

each_backend!(
    the_administrator_signs_in_after_a_crash_at_first_start,
    first_start_stopped_before_the_admin_registered
);

async fn count_type(app: &TestApp, event_type: &str) -> i64 {
    let db = &app.running.as_ref().expect("running").app.db;
    sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(&db.pool)
        .await
        .expect("count events")
}

both_backends!(
    a_partner_whose_login_was_reserved_before_a_crash_exists_once_after_restart,
    |app: TestApp| async move {
        let mut app = app;
        let admin = app.admin().await;
        let admin_id = app.query(&admin, "{ me { id } }").await["me"]["id"]
            .as_str()
            .expect("id")
            .to_string();
        let crashed = crashed_app(&mut app, FaultPoint::AfterCredentialsWritten).await;
        let caller = Caller {
            id: admin_id,
            role: Role::Admin,
            must_change_password: false,
            session_hash: String::new(),
            token: None,
        };
        let new = NewAccount {
            login: "acme".into(),
            email: "acme@example.com".into(),
            name: "Acme".into(),
            password: Some("partner-pass-1".into()),
            parent: None,
            products: vec![],
        };
        assert!(crashed.create_partner(&caller, new).await.is_err());
        crashed.db.pool.close().await;
        drop(crashed);

        app.restart().await;
        assert_eq!(verified(&app).await.logins_pending, 0);
        // The login is not lost: the partner exists, once, and signs in.
        let partner = app.login("acme", "partner-pass-1").await;
        let me = app.query(&partner, "{ me { login role } }").await;
        assert_eq!(me["me"]["login"], "acme");
        assert_eq!(count_type(&app, "PartnerRegistered").await, 1);
        assert_eq!(verified(&app).await.logins_pending, 0);
        let admin = app.admin().await;
        let partners = app
            .query(&admin, "{ accounts(role: PARTNER) { totalCount } }")
            .await;
        assert_eq!(partners["accounts"]["totalCount"], 1);
    }
);

/// A committed mutation answers its result even when the views cannot
/// follow: an idle open transaction on PostgreSQL keeps every reader of the
/// log below its start, so the projector stands still. The answer comes from
/// the command's events and says `viewsBehind`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn committed_mutations_answer_their_result_while_the_views_are_held_back_postgres() {
    let app = impatient_app().await;
    let (admin, acme, partner) = app.funded_partner("acme", 500).await;
    let (shop, _) = app.reseller(&partner, "shop", &["REMOTE_ACCESS"], 0).await;
    let key = app.key(&partner, "Server").await;

    let mut blocker = hold_the_log(&app).await;
    let behind = answered_behind;
    let granted = behind(
        &app.gql(
            Some(&admin),
            "mutation($p: ID!) { grantCredits(partnerId: $p, amount: 100, reference: \"INV-2\") { amount balanceAfter reason reference } }",
            json!({ "p": acme }),
        )
        .await,
    );
    assert_eq!(
        granted["grantCredits"],
        json!({ "amount": 100, "balanceAfter": 600, "reason": "GRANT", "reference": "INV-2" })
    );
    let created = behind(
        &app.gql(
            Some(&partner),
            "mutation { createActivationKey(name: \"Laptop\") { id name } }",
            json!({}),
        )
        .await,
    );
    assert_eq!(created["createActivationKey"]["name"], "Laptop");
    let assigned = behind(
        &app.gql(
            Some(&partner),
            "mutation($i: AssignLicenseInput!) { assignLicense(input: $i, idempotencyKey: \"order-1\") { id users creditsSpent product { code } } }",
            json!({ "i": license_input(&key, "REMOTE_ACCESS", "DESKTOP", 2, "PERMANENT") }),
        )
        .await,
    );
    assert_eq!(assigned["assignLicense"]["users"], 2);
    assert_eq!(
        assigned["assignLicense"]["product"]["code"],
        "REMOTE_ACCESS"
    );
    let given = behind(
        &app.gql(
            Some(&partner),
            "mutation($r: ID!) { giveCredits(resellerId: $r, amount: 10) { amount balanceAfter reason } }",
            json!({ "r": shop }),
        )
        .await,
    );
    let spent = assigned["assignLicense"]["creditsSpent"]
        .as_i64()
        .expect("spent");
    assert_eq!(
        given["giveCredits"],
        json!({ "amount": -10, "balanceAfter": 600 - spent - 10, "reason": "TRANSFER_OUT" })
    );

    // A partner created meanwhile signs in with its right password.
    behind(
        &app.gql(
            Some(&admin),
            "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id } }",
            json!({ "i": { "login": "late", "email": "late@example.com", "name": "Late", "password": "partner-pass-1" } }),
        )
        .await,
    );
    let signed_in = behind(
        &app.gql(
            None,
            "mutation { login(login: \"late\", password: \"partner-pass-1\") { token } }",
            json!({}),
        )
        .await,
    );
    assert!(signed_in["login"]["token"].is_string(), "{signed_in}");

    sqlx::Executor::execute(&mut blocker, "ROLLBACK")
        .await
        .expect("let the log go");
    let summary = verified(&app).await;
    assert_eq!(summary.granted, 600);
    // Once the views follow, they show what the answers said.
    let licenses = app
        .query(
            &partner,
            "{ licenses(first: 10) { edges { node { id users } } } }",
        )
        .await;
    assert_eq!(
        licenses["licenses"]["edges"][0]["node"],
        json!({ "id": assigned["assignLicense"]["id"], "users": 2 })
    );
}

/// A server that waits a second, not ten, for its views before answering
/// from the events: the held-back tests wait that long on every mutation.
async fn impatient_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::fresh_database(Backend::Postgres, dir.path()).await;
    let mut args = common::serve_args(url, dir.path());
    args.views_wait_ms = 1_000;
    TestApp::spawn_with(args, dir).await
}

/// Holds the log back with an open transaction in the app's own database.
async fn hold_the_log(app: &TestApp) -> sqlx::PgConnection {
    let mut blocker = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url())
        .await
        .expect("connect");
    sqlx::Executor::execute(&mut blocker, "BEGIN; SELECT pg_current_xact_id();")
        .await
        .expect("hold the log back");
    blocker
}

/// The data of an answer that must succeed from the events, saying so.
fn answered_behind(answer: &serde_json::Value) -> serde_json::Value {
    assert!(
        answer.get("errors").is_none(),
        "unexpected errors: {answer}"
    );
    assert_eq!(answer["extensions"]["viewsBehind"], true, "{answer}");
    answer["data"].clone()
}

/// Supports, subscriptions and upgrades answer what they did while the
/// views stand still, as licenses and credits do.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn supports_subscriptions_and_upgrades_answer_while_the_views_are_held_back_postgres() {
    let app = impatient_app().await;
    let (partner, key) = app.funded_partner_key("acme", 5_000, "Server").await;
    let license = app
        .license_id(
            &partner,
            license_input(&key, "REMOTE_ACCESS", "DESKTOP", 2, "PERMANENT"),
        )
        .await;
    let mut blocker = hold_the_log(&app).await;

    let upgraded = answered_behind(
        &app.gql(
            Some(&partner),
            "mutation($id: ID!) { upgradeLicense(id: $id, users: 5) { id users } }",
            json!({ "id": license }),
        )
        .await,
    );
    assert_eq!(
        upgraded["upgradeLicense"],
        json!({ "id": license, "users": 5 })
    );
    let support = answered_behind(
        &app.gql(
            Some(&partner),
            "mutation($i: AssignSupportInput!) { assignSupport(input: $i) { id users edition { code } endOfSupport creditsSpent } }",
            json!({ "i": support_input(&key, "REMOTE_ACCESS", "DESKTOP", 2, 12) }),
        )
        .await,
    )["assignSupport"]
        .clone();
    assert_eq!(support["users"], 2);
    let upgraded = answered_behind(
        &app.gql(
            Some(&partner),
            "mutation($id: ID!) { upgradeSupport(id: $id, users: 4) { id users } }",
            json!({ "id": support["id"] }),
        )
        .await,
    );
    assert_eq!(upgraded["upgradeSupport"]["users"], 4);
    let extended = answered_behind(
        &app.gql(
            Some(&partner),
            "mutation($id: ID!) { extendSupport(id: $id, months: 12) { id endOfSupport } }",
            json!({ "id": support["id"] }),
        )
        .await,
    );
    assert_ne!(
        extended["extendSupport"]["endOfSupport"],
        support["endOfSupport"]
    );
    let subscription = answered_behind(
        &app.gql(
            Some(&partner),
            "mutation($i: CreateServiceSubscriptionInput!) { createServiceSubscription(input: $i) { id channels endsOn } }",
            json!({ "i": subscription_input(&key, 1, 12) }),
        )
        .await,
    )["createServiceSubscription"]
        .clone();
    assert_eq!(subscription["channels"], 1);
    let more = answered_behind(
        &app.gql(
            Some(&partner),
            "mutation($id: ID!) { upgradeServiceSubscription(id: $id, channels: 3) { id channels } }",
            json!({ "id": subscription["id"] }),
        )
        .await,
    );
    assert_eq!(more["upgradeServiceSubscription"]["channels"], 3);
    let longer = answered_behind(
        &app.gql(
            Some(&partner),
            "mutation($id: ID!) { extendServiceSubscription(id: $id, months: 12) { id endsOn } }",
            json!({ "id": subscription["id"] }),
        )
        .await,
    );
    assert_ne!(
        longer["extendServiceSubscription"]["endsOn"],
        subscription["endsOn"]
    );

    sqlx::Executor::execute(&mut blocker, "ROLLBACK")
        .await
        .expect("let the log go");
    verified(&app).await;
    // Once the views follow, they show what the answers said.
    let shown = app
        .ok(
            Some(&partner),
            "query($s: ID!, $u: ID!) { node(id: $s) { ... on Support { users endOfSupport } } sub: node(id: $u) { ... on ServiceSubscription { channels endsOn } } }",
            json!({ "s": support["id"], "u": subscription["id"] }),
        )
        .await;
    assert_eq!(shown["node"]["users"], 4);
    assert_eq!(
        shown["node"]["endOfSupport"],
        extended["extendSupport"]["endOfSupport"]
    );
    assert_eq!(
        shown["sub"],
        json!({ "channels": 3, "endsOn": longer["extendServiceSubscription"]["endsOn"] })
    );
}

/// Only this database's transactions can hold its views back: one left open
/// in another database of the same PostgreSQL server (another service, a
/// report) changes nothing here.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_open_in_another_database_does_not_hold_the_views_back_postgres() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let admin = app.admin().await;
    let server = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let other = testkit::database::ScratchDatabase::create(&server, "lp_other")
        .await
        .expect("another database");
    let mut blocker = <sqlx::PgConnection as sqlx::Connection>::connect(&other.url)
        .await
        .expect("connect");
    sqlx::Executor::execute(&mut blocker, "BEGIN; SELECT pg_current_xact_id();")
        .await
        .expect("open a transaction next door");

    let (acme, partner) = app.partner(&admin, "acme").await;
    let grant = "mutation($p: ID!) { grantCredits(partnerId: $p, amount: 100, reference: \"INV-1\") { balanceAfter } }";
    let granted = app.gql(Some(&admin), grant, json!({ "p": acme })).await;
    assert!(granted.get("errors").is_none(), "{granted}");
    assert!(
        granted.get("extensions").is_none(),
        "the views kept up: {granted}"
    );
    assert_eq!(app.balance(&partner).await, 100);

    sqlx::Executor::execute(&mut blocker, "ROLLBACK")
        .await
        .expect("end it");
    drop(blocker);
    other.drop().await;
}

both_backends!(
    creating_mutations_retried_with_their_idempotency_key_answer_the_first_result,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let partner_doc = "mutation($k: String) { createPartner(input: { login: \"acme\", email: \"acme@example.com\", name: \"Acme\", password: \"partner-pass-1\" }, idempotencyKey: $k) { id } }";
        let first = app
            .ok(Some(&admin), partner_doc, json!({ "k": "p-1" }))
            .await;
        let again = app
            .ok(Some(&admin), partner_doc, json!({ "k": "p-1" }))
            .await;
        assert_eq!(first, again);
        let partner = app.login("acme", "partner-pass-1").await;

        let reseller_doc = "mutation($k: String, $n: String!) { createReseller(input: { login: \"shop\", email: \"shop@example.com\", name: $n, products: [\"REMOTE_ACCESS\"] }, idempotencyKey: $k) { reseller { id } generatedPassword } }";
        let under_r1 = |name: &str| json!({ "k": "r-1", "n": name });
        let first = app.ok(Some(&partner), reseller_doc, under_r1("Shop")).await;
        let again = app.ok(Some(&partner), reseller_doc, under_r1("Shop")).await;
        assert_eq!(
            first["createReseller"]["reseller"],
            again["createReseller"]["reseller"]
        );
        // The same key for another request is a CONFLICT.
        let code = app
            .error_code(Some(&partner), reseller_doc, under_r1("Other"))
            .await;
        assert_eq!(code, "CONFLICT");

        let key_doc = "mutation($k: String) { createActivationKey(name: \"Server\", idempotencyKey: $k) { id key } }";
        let first = app.ok(Some(&partner), key_doc, json!({ "k": "k-1" })).await;
        let again = app.ok(Some(&partner), key_doc, json!({ "k": "k-1" })).await;
        assert_eq!(first, again);
        assert_eq!(app.key_count(&partner).await, 1);
        assert_eq!(count_type(&app, "PartnerRegistered").await, 1);
        assert_eq!(count_type(&app, "ResellerRegistered").await, 1);
    }
);
