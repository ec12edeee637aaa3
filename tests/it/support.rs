//! Support contracts (seed sections 3 and 4, "Support") and Remote Support
//! subscriptions (seed section 5).
//!
//! Prices (catalog/products.toml), credits per user and month of support:
//! REMOTE_ACCESS DESKTOP 1, MOBILE_WEB 2, ENTERPRISE 3; ADVANCED_SECURITY
//! ESSENTIALS 1, ULTIMATE 2; SERVER_MONITORING 1; TWO_FACTOR 1. Support lasts
//! 1, 3, 6, 12, 24 or 36 months. Remote Support: 4 credits per channel and
//! month, for the same lengths.

use crate::common;
use crate::common::{
    Backend, TestApp, column, ids, subscription_input, support_input, with_fields,
};
use chrono::{Days, Months, NaiveDate, Utc};
use serde_json::{Value, json};

const SUPPORT_FIELDS: &str = "id users startsOn endOfSupport expired creditsSpent product { code } edition { code } activationKey { id } owner { login } createdAt updatedAt";
const ASSIGN: &str = "mutation($i: AssignSupportInput!, $k: String) { assignSupport(input: $i, idempotencyKey: $k) { FIELDS } }";
const UPGRADE: &str = "mutation($id: ID!, $u: Int, $e: ID, $k: String) { upgradeSupport(id: $id, users: $u, edition: $e, idempotencyKey: $k) { FIELDS } }";
const EXTEND: &str = "mutation($id: ID!, $m: Int!, $k: String) { extendSupport(id: $id, months: $m, idempotencyKey: $k) { FIELDS } }";
const LIST: &str = "query($f: SupportFilter, $o: SupportOrder, $first: Int, $after: String) { supports(filter: $f, orderBy: $o, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { FIELDS } } } }";
const SUBSCRIPTION_FIELDS: &str = "id software channels startsOn endsOn email comment creditsSpent activationKey { id } owner { login } createdAt";
const SUBSCRIBE: &str = "mutation($i: CreateServiceSubscriptionInput!, $k: String) { createServiceSubscription(input: $i, idempotencyKey: $k) { FIELDS } }";
const SUBSCRIPTIONS: &str = "query($o: ID, $first: Int, $after: String) { serviceSubscriptions(ownerId: $o, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { FIELDS } } } }";

/// `doc` asking for the fields of a support where it says FIELDS.
fn support_doc(doc: &str) -> String {
    with_fields(doc, SUPPORT_FIELDS)
}

/// `doc` asking for the fields of a subscription where it says FIELDS.
fn subscription_doc(doc: &str) -> String {
    with_fields(doc, SUBSCRIPTION_FIELDS)
}

const QUOTE: &str = "query($i: QuoteInput!) { quote(input: $i) { cost balance sufficient } }";

/// What a refused request must leave as it was.
const STATE: &str = "{ me { creditBalance } creditHistory(first: 500) { totalCount edges { node { id amount balanceAfter reason reference } } } supports(first: 500) { totalCount edges { node { id users edition { code } startsOn endOfSupport creditsSpent updatedAt } } } serviceSubscriptions(first: 500) { totalCount } events(first: 1) { totalCount } }";

async fn state(app: &TestApp, token: &str) -> Value {
    app.query(token, STATE).await
}

async fn refused(app: &TestApp, token: &str, doc: &str, vars: Value, code: &str) -> Value {
    let before = state(app, token).await;
    let answer = app.gql(Some(token), doc, vars.clone()).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], code,
        "{vars} → {answer}"
    );
    assert_eq!(state(app, token).await, before, "{vars} changed something");
    answer
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The last day of `months` starting on `start`.
fn period_end(start: NaiveDate, months: u32) -> NaiveDate {
    start.checked_add_months(Months::new(months)).unwrap() - Days::new(1)
}

/// Credits for raising the monthly price by `monthly` over `days` days: a month
/// is a twelfth of 365 days, partial credits round up.
fn prorated(monthly: i64, days: i64) -> i64 {
    (monthly * days * 12 + 364) / 365
}

async fn assign(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), &support_doc(ASSIGN), json!({ "i": input }))
        .await["assignSupport"]
        .clone()
}

/// The support an upgrade with `vars` answers with.
async fn upgrade(app: &TestApp, token: &str, vars: Value) -> Value {
    app.ok(Some(token), &support_doc(UPGRADE), vars).await["upgradeSupport"].clone()
}

/// The support an extension with `vars` answers with.
async fn extend(app: &TestApp, token: &str, vars: Value) -> Value {
    app.ok(Some(token), &support_doc(EXTEND), vars).await["extendSupport"].clone()
}

async fn quote(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), QUOTE, json!({ "i": input })).await["quote"].clone()
}

/// Writes a support bought in the past to the partner's stream, as the service
/// wrote it then (support never starts in the past, so there is no other way
/// to have one that has ended), and waits until the views show it.
async fn past_support(
    app: &TestApp,
    account: &str,
    key: &Value,
    id: &str,
    users: i64,
    starts_on: NaiveDate,
    months: u32,
) {
    let event = common::support_assigned(key, id, users, starts_on, months);
    common::append_past_event(app, "Partner", account, &event, id).await;
}

/// A start and a length whose cover ends exactly today.
fn ending_today() -> (NaiveDate, u32) {
    let t = today();
    for months in [1u32, 3, 6, 12, 24, 36] {
        for back in 0..1200u64 {
            let start = t - Days::new(back);
            if period_end(start, months) == t {
                return (start, months);
            }
        }
    }
    unreachable!("some length ends today")
}

both_backends!(
    assign_upgrade_and_extend_support,
    |app: TestApp| async move {
        let (token, key) = app
            .funded_partner_key("acme", 1000, "Customer server")
            .await;
        let t = today();

        // 5 users × 1 credit × 12 months, from today.
        let input = support_input(&key, "REMOTE_ACCESS", "DESKTOP", 5, 12);
        assert_eq!(
            quote(&app, &token, json!({ "assignSupport": input })).await,
            json!({ "cost": 60, "balance": 1000, "sufficient": true })
        );
        let s = assign(&app, &token, input).await;
        let id = s["id"].as_str().unwrap().to_string();
        assert_eq!(s["startsOn"], day(t));
        assert_eq!(s["endOfSupport"], day(period_end(t, 12)));
        assert_eq!(s["expired"], false);
        assert_eq!(s["users"], 5);
        assert_eq!(s["creditsSpent"], 60);
        assert_eq!(s["product"]["code"], "REMOTE_ACCESS");
        assert_eq!(s["edition"]["code"], "DESKTOP");
        assert_eq!(s["activationKey"]["id"], key["id"]);
        assert_eq!(s["owner"]["login"], "acme");
        assert_eq!(app.balance(&token).await, 940);
        let entry = app.last_credit_entry(&token).await;
        assert_eq!(entry["amount"], -60);
        assert_eq!(entry["reason"], "SUPPORT");
        assert_eq!(entry["reference"], id.as_str());
        app.assert_history_adds_up(&token).await;

        // Starting later: endOfSupport = startsOn + months − 1 day.
        let later = t + Days::new(10);
        let mut input = support_input(&key, "ADVANCED_SECURITY", "ULTIMATE", 2, 3);
        input["startsOn"] = json!(day(later));
        let future = assign(&app, &token, input).await;
        assert_eq!(future["startsOn"], day(later));
        assert_eq!(future["endOfSupport"], day(period_end(later, 3)));
        assert_eq!(future["creditsSpent"], 2 * 2 * 3);
        assert_eq!(app.balance(&token).await, 928);
        // Starting today, given explicitly.
        let mut input = support_input(&key, "TWO_FACTOR", "STANDARD", 1, 1);
        input["startsOn"] = json!(day(t));
        let short = assign(&app, &token, input).await;
        assert_eq!(short["endOfSupport"], day(period_end(t, 1)));
        assert_eq!(app.balance(&token).await, 927);
        app.assert_history_adds_up(&token).await;

        // The key lists its supports.
        let on_key = app
            .ok_for_id(
                &token,
                "query($id: ID!) { node(id: $id) { ... on ActivationKey { supports { id } } } }",
                &key["id"],
            )
            .await;
        assert_eq!(
            on_key["node"]["supports"],
            json!([{ "id": id }, { "id": future["id"] }, { "id": short["id"] }])
        );

        // Upgrade 5 DESKTOP → 10 MOBILE_WEB: 10 × 2 − 5 × 1 = 15 a month more,
        // for the days left (today included), rounded up.
        let days_left = (period_end(t, 12) - t).num_days() + 1;
        let cost = prorated(15, days_left);
        assert_eq!(
            quote(
                &app,
                &token,
                json!({ "upgradeSupport": { "id": id, "users": 10, "edition": "MOBILE_WEB" } })
            )
            .await,
            json!({ "cost": cost, "balance": 927, "sufficient": true })
        );
        let up = upgrade(
            &app,
            &token,
            json!({ "id": id, "u": 10, "e": "MOBILE_WEB" }),
        )
        .await;
        assert_eq!(up["users"], 10);
        assert_eq!(up["edition"]["code"], "MOBILE_WEB");
        assert_eq!(up["creditsSpent"], 60 + cost);
        assert_eq!(up["startsOn"], s["startsOn"]);
        assert_eq!(up["endOfSupport"], s["endOfSupport"]);
        let mut balance = 927 - cost;
        assert_eq!(app.balance(&token).await, balance);
        let entry = app.last_credit_entry(&token).await;
        assert_eq!(entry["amount"], -cost);
        assert_eq!(entry["reason"], "SUPPORT_UPGRADE");
        assert_eq!(entry["reference"], id.as_str());
        app.assert_history_adds_up(&token).await;

        // A support that has not started yet: the whole period is charged.
        // 3 users ULTIMATE (3 × 2) − 2 × 2 = 2 a month more.
        let whole = (period_end(later, 3) - later).num_days() + 1;
        let cost = prorated(2, whole);
        let up = upgrade(&app, &token, json!({ "id": future["id"], "u": 3 })).await;
        assert_eq!(up["creditsSpent"], 12 + cost);
        balance -= cost;
        assert_eq!(app.balance(&token).await, balance);
        app.assert_history_adds_up(&token).await;

        // Extend a running support: the new months follow on from its end.
        // 10 users × 2 credits × 6 months.
        assert_eq!(
            quote(
                &app,
                &token,
                json!({ "extendSupport": { "id": id, "months": 6 } })
            )
            .await,
            json!({ "cost": 120, "balance": balance, "sufficient": true })
        );
        let ext = extend(&app, &token, json!({ "id": id, "m": 6 })).await;
        assert_eq!(ext["startsOn"], day(t));
        assert_eq!(ext["endOfSupport"], day(period_end(t, 18)));
        assert_eq!(ext["expired"], false);
        balance -= 120;
        assert_eq!(app.balance(&token).await, balance);
        let entry = app.last_credit_entry(&token).await;
        assert_eq!(entry["amount"], -120);
        assert_eq!(entry["reason"], "SUPPORT_EXTENSION");
        assert_eq!(entry["reference"], id.as_str());
        app.assert_history_adds_up(&token).await;
        // And again: 1 + 1 month after 18 ends where 20 would.
        for _ in 0..2 {
            extend(&app, &token, json!({ "id": id, "m": 1 })).await;
        }
        balance -= 2 * 20;
        let node = app
        .ok_for_id(&token, "query($id: ID!) { node(id: $id) { ... on Support { endOfSupport creditsSpent } } }", &id)
        .await;
        assert_eq!(node["node"]["endOfSupport"], day(period_end(t, 20)));
        assert_eq!(app.balance(&token).await, balance);
        app.assert_history_adds_up(&token).await;
    }
);

both_backends!(support_refusals_change_nothing, |app: TestApp| async move {
    let (admin, _, token) = app.funded_partner("acme", 100).await;
    let (_, other) = app.partner(&admin, "globex").await;
    let key = app.key(&token, "Server").await;
    let their_key = app.key(&other, "Globex").await;
    let s = assign(
        &app,
        &token,
        support_input(&key, "REMOTE_ACCESS", "MOBILE_WEB", 2, 12),
    )
    .await;
    assert_eq!(app.balance(&token).await, 52);
    let t = today();

    let doc = support_doc(ASSIGN);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut i = support_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, 1);
        f(&mut i);
        json!({ "i": i })
    };
    for (vars, code) in [
        (with(&|i| i["months"] = json!(2)), "BAD_USER_INPUT"),
        (with(&|i| i["months"] = json!(0)), "BAD_USER_INPUT"),
        (with(&|i| i["months"] = json!(48)), "BAD_USER_INPUT"),
        (with(&|i| i["months"] = json!(-12)), "BAD_USER_INPUT"),
        (with(&|i| i["users"] = json!(0)), "BAD_USER_INPUT"),
        (with(&|i| i["users"] = json!(10_001)), "BAD_USER_INPUT"),
        (
            with(&|i| i["startsOn"] = json!(day(t - Days::new(1)))),
            "BAD_USER_INPUT",
        ),
        (with(&|i| i["product"] = json!("NO_SUCH")), "BAD_USER_INPUT"),
        (
            with(&|i| i["edition"] = json!("STANDARD")),
            "BAD_USER_INPUT",
        ),
        (
            with(&|i| {
                i["product"] = json!("REMOTE_SUPPORT");
                i["edition"] = json!("STANDARD");
            }),
            "BAD_USER_INPUT",
        ),
        (
            with(&|i| i["activationKeyId"] = their_key["id"].clone()),
            "NOT_FOUND",
        ),
        // 3 users × 3 credits × 6 months = 54 > 52.
        (
            with(&|i| {
                i["edition"] = json!("ENTERPRISE");
                i["users"] = json!(3);
                i["months"] = json!(6);
            }),
            "INSUFFICIENT_CREDITS",
        ),
    ] {
        refused(&app, &token, &doc, vars, code).await;
    }
    let answer = refused(
        &app,
        &token,
        &doc,
        with(&|i| {
            i["users"] = json!(2);
            i["months"] = json!(36);
        }),
        "INSUFFICIENT_CREDITS",
    )
    .await;
    assert_eq!(answer["errors"][0]["extensions"]["required"], 72);
    assert_eq!(answer["errors"][0]["extensions"]["balance"], 52);
    assert_eq!(
        quote(
            &app,
            &token,
            json!({ "assignSupport": support_input(&key, "REMOTE_ACCESS", "ENTERPRISE", 3, 6) })
        )
        .await,
        json!({ "cost": 54, "balance": 52, "sufficient": false })
    );
    assert_eq!(
        app.error_code(Some(&admin), &doc, with(&|_| {})).await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.error_code(None, &doc, with(&|_| {})).await,
        "UNAUTHENTICATED"
    );

    let sid = s["id"].clone();
    let upgrade = support_doc(UPGRADE);
    for (vars, code) in [
        (json!({ "id": sid, "u": 1 }), "BAD_USER_INPUT"),
        (json!({ "id": sid, "e": "DESKTOP" }), "BAD_USER_INPUT"),
        (json!({ "id": sid }), "BAD_USER_INPUT"),
        (
            json!({ "id": sid, "u": 2, "e": "MOBILE_WEB" }),
            "BAD_USER_INPUT",
        ),
        (json!({ "id": sid, "e": "GOLD" }), "BAD_USER_INPUT"),
        (json!({ "id": "sup_nothing", "u": 3 }), "NOT_FOUND"),
        // 100 × 2 − 2 × 2 = 196 a month more for about a year.
        (json!({ "id": sid, "u": 100 }), "INSUFFICIENT_CREDITS"),
    ] {
        refused(&app, &token, &upgrade, vars, code).await;
    }
    let extend = support_doc(EXTEND);
    for (vars, code) in [
        (json!({ "id": sid, "m": 2 }), "BAD_USER_INPUT"),
        (json!({ "id": sid, "m": 0 }), "BAD_USER_INPUT"),
        (json!({ "id": "sup_nothing", "m": 1 }), "NOT_FOUND"),
        // 2 users × 2 credits × 36 months = 144 > 52.
        (json!({ "id": sid, "m": 36 }), "INSUFFICIENT_CREDITS"),
    ] {
        refused(&app, &token, &extend, vars, code).await;
    }
    // Another partner cannot see, change or price it.
    for (doc, vars) in [
        (upgrade.as_str(), json!({ "id": sid, "u": 3 })),
        (extend.as_str(), json!({ "id": sid, "m": 1 })),
        (
            QUOTE,
            json!({ "i": { "extendSupport": { "id": sid, "months": 1 } } }),
        ),
    ] {
        refused(&app, &other, doc, vars, "NOT_FOUND").await;
    }
    assert_eq!(app.balance(&token).await, 52);
    app.assert_history_adds_up(&token).await;
});

both_backends!(
    expired_support_is_extended_from_today,
    |app: TestApp| async move {
        let (_, acme, token) = app.funded_partner("acme", 1000).await;
        let key = app.key(&token, "Server").await;
        let t = today();
        // Bought 100 days ago for one month: over for about 70 days.
        let old_start = t - Days::new(100);
        past_support(&app, &acme, &key, "sup_old", 4, old_start, 1).await;
        // Bought so that its cover ends today: not expired yet.
        let (edge_start, edge_months) = ending_today();
        past_support(&app, &acme, &key, "sup_edge", 1, edge_start, edge_months).await;
        let balance = 1000 - 4 - i64::from(edge_months);
        assert_eq!(app.balance(&token).await, balance);
        app.assert_history_adds_up(&token).await;

        let node = format!(
            "query($id: ID!) {{ node(id: $id) {{ ... on Support {{ {SUPPORT_FIELDS} }} }} }}"
        );
        let old = app.ok_for_id(&token, &node, "sup_old").await["node"].clone();
        assert_eq!(old["expired"], true);
        assert_eq!(old["endOfSupport"], day(period_end(old_start, 1)));
        let edge = app.ok_for_id(&token, &node, "sup_edge").await["node"].clone();
        assert_eq!(edge["endOfSupport"], day(t));
        assert_eq!(edge["expired"], false, "the last day covered is today");

        // Expired support is extended, not upgraded.
        refused(
            &app,
            &token,
            &support_doc(UPGRADE),
            json!({ "id": "sup_old", "u": 5 }),
            "BAD_USER_INPUT",
        )
        .await;
        assert_eq!(
            quote(
                &app,
                &token,
                json!({ "extendSupport": { "id": "sup_old", "months": 3 } })
            )
            .await,
            json!({ "cost": 12, "balance": balance, "sufficient": true })
        );
        // After expiry the new period starts today, not the day after the old end.
        let ext = extend(
            &app,
            &token,
            json!({ "id": "sup_old", "m": 3, "k": "renew-old" }),
        )
        .await;
        assert_eq!(ext["endOfSupport"], day(period_end(t, 3)));
        assert_eq!(ext["expired"], false);
        assert_eq!(ext["creditsSpent"], 4 + 12);
        let balance = balance - 12;
        assert_eq!(app.balance(&token).await, balance);
        // The retry answers the same and spends nothing.
        let again = extend(
            &app,
            &token,
            json!({ "id": "sup_old", "m": 3, "k": "renew-old" }),
        )
        .await;
        assert_eq!(again["endOfSupport"], ext["endOfSupport"]);
        assert_eq!(app.balance(&token).await, balance);
        refused(
            &app,
            &token,
            &support_doc(EXTEND),
            json!({ "id": "sup_old", "m": 6, "k": "renew-old" }),
            "CONFLICT",
        )
        .await;
        app.assert_history_adds_up(&token).await;

        // Ending today: the extension follows on from tomorrow.
        let ext = extend(&app, &token, json!({ "id": "sup_edge", "m": 1 })).await;
        assert_eq!(
            ext["endOfSupport"],
            day(period_end(edge_start, edge_months + 1))
        );
        assert!(ext["endOfSupport"].as_str().unwrap() > day(t).as_str());
        assert_eq!(app.balance(&token).await, balance - 1);
        // Now running again, it may be upgraded.
        upgrade(&app, &token, json!({ "id": "sup_old", "u": 5 })).await;
        app.assert_history_adds_up(&token).await;
    }
);

/// Seven supports, to list: partner acme's, two ended in the past (a about
/// 70 days ago, b about 200) and four running (c 12 months, d 1, e and f 3
/// months ending the same day), and r, its reseller's, 6 months. Another
/// partner, globex, has none.
struct Seven {
    admin: String,
    acme: String,
    token: String,
    other: String,
    reseller_id: String,
    reseller_token: String,
    a_end: NaiveDate,
    b_end: NaiveDate,
    ids: [String; 7],
}

impl Seven {
    /// a, b, c, d, e, f, r.
    fn ids(&self) -> [&str; 7] {
        self.ids.each_ref().map(String::as_str)
    }

    /// The ids a filter and an order list for acme, checked against the total.
    async fn find(&self, app: &TestApp, filter: Value, order: Option<&str>) -> Vec<String> {
        let data = app
            .ok(
                Some(&self.token),
                &support_doc(LIST),
                json!({ "f": filter, "o": order }),
            )
            .await;
        let found = ids(&data["supports"]);
        assert_eq!(data["supports"]["totalCount"], found.len());
        found
    }
}

async fn seven_supports(app: &TestApp) -> Seven {
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    let (_, other) = app.partner(&admin, "globex").await;
    app.grant(&admin, &acme, 2000, "INV-1").await;
    let key = app.key(&token, "Server").await;
    let t = today();
    let a_start = t - Days::new(100);
    past_support(app, &acme, &key, "sup_a", 1, a_start, 1).await;
    let b_start = t - Days::new(400);
    past_support(app, &acme, &key, "sup_b", 1, b_start, 6).await;
    let mut running = Vec::new();
    for (product, edition, users, months) in [
        ("REMOTE_ACCESS", "DESKTOP", 1, 12),
        ("SERVER_MONITORING", "STANDARD", 1, 1),
        ("TWO_FACTOR", "STANDARD", 1, 3),
        ("TWO_FACTOR", "STANDARD", 2, 3),
    ] {
        let s = assign(
            app,
            &token,
            support_input(&key, product, edition, users, months),
        )
        .await;
        running.push(s["id"].as_str().expect("id").to_string());
    }
    let (reseller_id, reseller_token) = app
        .reseller(&token, "acme-east", &["REMOTE_ACCESS"], 100)
        .await;
    let rkey = app.key(&reseller_token, "Reseller's customer").await;
    let r = assign(
        app,
        &reseller_token,
        support_input(&rkey, "REMOTE_ACCESS", "DESKTOP", 1, 6),
    )
    .await;
    let [c, d, e, f] = <[String; 4]>::try_from(running).expect("four");
    Seven {
        admin,
        acme,
        token,
        other,
        reseller_id,
        reseller_token,
        a_end: period_end(a_start, 1),
        b_end: period_end(b_start, 6),
        ids: [
            "sup_a".into(),
            "sup_b".into(),
            c,
            d,
            e,
            f,
            r["id"].as_str().expect("id").to_string(),
        ],
    }
}

both_backends!(
    buying_supports_keeps_the_histories_adding_up,
    |app: TestApp| async move {
        let seven = seven_supports(&app).await;
        app.assert_history_adds_up(&seven.token).await;
        app.assert_history_adds_up(&seven.reseller_token).await;
    }
);

both_backends!(
    supports_are_ordered_by_end_of_support_or_creation,
    |app: TestApp| async move {
        let seven = seven_supports(&app).await;
        let [a, b, c, d, e, f, r] = seven.ids();
        // Default order: endOfSupport ascending, then oldest first.
        let ascending = vec![b, a, d, e, f, r, c];
        assert_eq!(seven.find(&app, json!({}), None).await, ascending);
        assert_eq!(
            seven
                .find(&app, json!({}), Some("END_OF_SUPPORT_ASC"))
                .await,
            ascending
        );
        assert_eq!(
            seven
                .find(&app, json!({}), Some("END_OF_SUPPORT_DESC"))
                .await,
            vec![c, r, f, e, d, a, b]
        );
        assert_eq!(
            seven.find(&app, json!({}), Some("CREATED_DESC")).await,
            vec![r, f, e, d, c, b, a]
        );
    }
);

both_backends!(
    the_end_of_support_range_includes_both_ends,
    |app: TestApp| async move {
        let seven = seven_supports(&app).await;
        let [a, b, c, _, e, f, r] = seven.ids();
        let (a_end, b_end, t) = (seven.a_end, seven.b_end, today());
        // "Track the expired ones by changing the End of Support date range to a
        // past date": both ends inclusive.
        let range = |from: NaiveDate, to: NaiveDate| json!({ "endOfSupport": { "from": day(from), "to": day(to) } });
        assert_eq!(
            seven
                .find(&app, range(t - Days::new(1000), t - Days::new(1)), None)
                .await,
            vec![b, a]
        );
        assert_eq!(
            seven.find(&app, range(b_end, a_end), None).await,
            vec![b, a]
        );
        assert_eq!(
            seven
                .find(&app, range(b_end + Days::new(1), a_end), None)
                .await,
            vec![a]
        );
        assert_eq!(
            seven
                .find(&app, range(b_end, a_end - Days::new(1)), None)
                .await,
            vec![b]
        );
        assert_eq!(seven.find(&app, range(a_end, a_end), None).await, vec![a]);
        assert_eq!(
            seven
                .find(&app, json!({ "endOfSupport": { "to": day(a_end) } }), None)
                .await,
            vec![b, a]
        );
        assert_eq!(
            seven
                .find(
                    &app,
                    json!({ "endOfSupport": { "from": day(period_end(t, 3)) } }),
                    None
                )
                .await,
            vec![e, f, r, c]
        );
        // A range that ends before it starts is refused.
        assert_eq!(
            app.error_code(
                Some(&seven.token),
                &support_doc(LIST),
                json!({ "f": { "endOfSupport": { "from": day(t), "to": day(t - Days::new(1)) } } })
            )
            .await,
            "BAD_USER_INPUT"
        );
    }
);

both_backends!(
    expired_means_end_of_support_before_today,
    |app: TestApp| async move {
        let seven = seven_supports(&app).await;
        let [a, b, c, d, e, f, r] = seven.ids();
        let t = today();
        assert_eq!(
            seven.find(&app, json!({ "expired": true }), None).await,
            vec![b, a]
        );
        assert_eq!(
            seven.find(&app, json!({ "expired": false }), None).await,
            vec![d, e, f, r, c]
        );
        assert_eq!(
            seven
                .find(
                    &app,
                    json!({ "expired": true, "endOfSupport": { "from": day(seven.b_end + Days::new(1)) } }),
                    Some("END_OF_SUPPORT_DESC")
                )
                .await,
            vec![a]
        );
        assert_eq!(
            seven
                .find(
                    &app,
                    json!({ "expired": false, "endOfSupport": { "to": day(t - Days::new(1)) } }),
                    None
                )
                .await,
            Vec::<String>::new()
        );
        let listed = app.query(&seven.token, &support_doc(LIST)).await;
        assert_eq!(
            column(&listed["supports"], "expired"),
            [true, true, false, false, false, false, false]
        );
    }
);

both_backends!(
    supports_filter_by_product_and_owner,
    |app: TestApp| async move {
        let seven = seven_supports(&app).await;
        let [a, b, c, d, e, f, r] = seven.ids();
        assert_eq!(
            seven
                .find(&app, json!({ "product": "TWO_FACTOR" }), None)
                .await,
            vec![e, f]
        );
        assert_eq!(
            seven
                .find(
                    &app,
                    json!({ "product": "REMOTE_ACCESS" }),
                    Some("CREATED_DESC")
                )
                .await,
            vec![r, c, b, a]
        );
        assert_eq!(
            seven
                .find(&app, json!({ "ownerId": seven.reseller_id }), None)
                .await,
            vec![r]
        );
        assert_eq!(
            seven
                .find(&app, json!({ "ownerId": seven.acme }), None)
                .await,
            vec![b, a, d, e, f, c]
        );
        assert_eq!(
            seven
                .find(&app, json!({ "includeResellers": false }), None)
                .await,
            vec![b, a, d, e, f, c]
        );
    }
);

both_backends!(
    each_caller_lists_the_supports_it_may_see,
    |app: TestApp| async move {
        let seven = seven_supports(&app).await;
        let r = seven.ids()[6];
        let list = support_doc(LIST);
        // The reseller sees its own; another partner nothing.
        let data = app.query(&seven.reseller_token, &list).await;
        assert_eq!(ids(&data["supports"]), vec![r]);
        let data = app.query(&seven.other, &list).await;
        assert_eq!(data["supports"]["totalCount"], 0);
        assert_eq!(
            app.error_code(
                Some(&seven.other),
                &list,
                json!({ "f": { "ownerId": seven.acme } })
            )
            .await,
            "NOT_FOUND"
        );
        // The vendor sees them all.
        let data = app
            .ok(Some(&seven.admin), &list, json!({ "first": 500 }))
            .await;
        assert_eq!(data["supports"]["totalCount"], 7);
    }
);

both_backends!(
    the_support_list_pages_through_ties_in_every_order,
    |app: TestApp| async move {
        let seven = seven_supports(&app).await;
        let [a, b, c, d, e, f, r] = seven.ids();
        let (token, list) = (&seven.token, support_doc(LIST));
        // Pages of two in each order, through the ties, give the whole list.
        for (order, whole) in [
            ("END_OF_SUPPORT_ASC", vec![b, a, d, e, f, r, c]),
            ("END_OF_SUPPORT_DESC", vec![c, r, f, e, d, a, b]),
            ("CREATED_DESC", vec![r, f, e, d, c, b, a]),
        ] {
            let mut seen: Vec<String> = Vec::new();
            let mut after: Option<String> = None;
            for page in 0..4 {
                let data = app
                    .ok(
                        Some(token),
                        &list,
                        json!({ "o": order, "first": 2, "after": after }),
                    )
                    .await["supports"]
                    .clone();
                assert_eq!(data["totalCount"], 7);
                assert_eq!(data["pageInfo"]["hasNextPage"], page < 3, "{order} {data}");
                assert_eq!(data["pageInfo"]["hasPreviousPage"], page > 0);
                seen.extend(ids(&data));
                after = data["pageInfo"]["endCursor"].as_str().map(str::to_string);
            }
            assert_eq!(seen, whole, "{order}");
        }
        // A filtered list pages too.
        let p1 = app
            .ok(
                Some(token),
                &list,
                json!({ "f": { "expired": false }, "first": 3 }),
            )
            .await["supports"]
            .clone();
        assert_eq!(ids(&p1), vec![d, e, f]);
        let p2 = app
            .ok(
                Some(token),
                &list,
                json!({ "f": { "expired": false }, "first": 3, "after": p1["pageInfo"]["endCursor"] }),
            )
            .await["supports"]
            .clone();
        assert_eq!(ids(&p2), vec![r, c]);
        assert_eq!(p2["pageInfo"]["hasNextPage"], false);
        assert_eq!(p2["totalCount"], 5);
        for bad in [json!({ "first": 501 }), json!({ "after": "not-a-cursor" })] {
            assert_eq!(
                app.error_code(Some(token), &list, bad).await,
                "BAD_USER_INPUT"
            );
        }
    }
);

both_backends!(idempotent_support_operations, |app: TestApp| async move {
    let (token, key) = app.funded_partner_key("acme", 1000, "Server").await;
    let input = support_input(&key, "REMOTE_ACCESS", "DESKTOP", 2, 6);
    let doc = support_doc(ASSIGN);
    let first = app
        .ok(Some(&token), &doc, json!({ "i": input, "k": "sup-1" }))
        .await["assignSupport"]
        .clone();
    let again = app
        .ok(Some(&token), &doc, json!({ "i": input, "k": "sup-1" }))
        .await["assignSupport"]
        .clone();
    assert_eq!(again, first);
    assert_eq!(app.balance(&token).await, 988);
    let mut changed = input.clone();
    changed["months"] = json!(12);
    refused(
        &app,
        &token,
        &doc,
        json!({ "i": changed, "k": "sup-1" }),
        "CONFLICT",
    )
    .await;

    let up = json!({ "id": first["id"], "u": 4, "k": "sup-up" });
    let one = upgrade(&app, &token, up.clone()).await;
    let balance = app.balance(&token).await;
    let two = upgrade(&app, &token, up).await;
    assert_eq!(one["creditsSpent"], two["creditsSpent"]);
    assert_eq!(two["users"], 4);
    assert_eq!(app.balance(&token).await, balance);
    refused(
        &app,
        &token,
        &support_doc(UPGRADE),
        json!({ "id": first["id"], "u": 5, "k": "sup-up" }),
        "CONFLICT",
    )
    .await;

    let ext = json!({ "id": first["id"], "m": 3, "k": "sup-ext" });
    let one = extend(&app, &token, ext.clone()).await;
    let balance = app.balance(&token).await;
    let two = extend(&app, &token, ext).await;
    assert_eq!(one["endOfSupport"], two["endOfSupport"]);
    assert_eq!(app.balance(&token).await, balance);
    refused(
        &app,
        &token,
        &support_doc(EXTEND),
        json!({ "id": first["id"], "m": 1, "k": "sup-ext" }),
        "CONFLICT",
    )
    .await;
    app.assert_history_adds_up(&token).await;
});

both_backends!(remote_support_subscriptions, |app: TestApp| async move {
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    let (globex, other) = app.partner(&admin, "globex").await;
    app.grant(&admin, &acme, 5000, "INV-1").await;
    app.grant(&admin, &globex, 100, "INV-G").await;
    let key = app.key(&token, "Helpdesk").await;
    let their_key = app.key(&other, "Globex").await;
    let t = today();
    let doc = subscription_doc(SUBSCRIBE);

    // 5 channels × 4 credits × 12 months.
    let mut input = subscription_input(&key, 5, 12);
    input["email"] = json!("helpdesk@customer.example");
    input["comment"] = json!("Support team");
    assert_eq!(
        quote(&app, &token, json!({ "createServiceSubscription": input })).await,
        json!({ "cost": 240, "balance": 5000, "sufficient": true })
    );
    let s = app.ok(Some(&token), &doc, json!({ "i": input })).await["createServiceSubscription"]
        .clone();
    assert_eq!(s["software"], "REMOTE_SUPPORT");
    assert_eq!(s["channels"], 5);
    assert_eq!(s["startsOn"], day(t));
    assert_eq!(s["endsOn"], day(period_end(t, 12)));
    assert_eq!(s["email"], "helpdesk@customer.example");
    assert_eq!(s["comment"], "Support team");
    assert_eq!(s["creditsSpent"], 240);
    assert_eq!(s["activationKey"]["id"], key["id"]);
    assert_eq!(s["owner"]["login"], "acme");
    let mut balance = 4760;
    assert_eq!(app.balance(&token).await, balance);
    let entry = app.last_credit_entry(&token).await;
    assert_eq!(entry["amount"], -240);
    assert_eq!(entry["reason"], "SUBSCRIPTION");
    assert_eq!(entry["reference"], s["id"]);
    app.assert_history_adds_up(&token).await;

    // Channels 1 to 1000, for each length of the catalog.
    let mut made = vec![s["id"].as_str().unwrap().to_string()];
    for (channels, months) in [(1, 1), (1000, 1), (2, 3), (3, 6), (1, 24), (1, 36)] {
        let s = app
            .ok(
                Some(&token),
                &doc,
                json!({ "i": subscription_input(&key, channels, months) }),
            )
            .await["createServiceSubscription"]
            .clone();
        let cost = channels * 4 * months;
        assert_eq!(s["channels"], channels);
        assert_eq!(s["creditsSpent"], cost);
        assert_eq!(
            s["endsOn"],
            day(period_end(t, u32::try_from(months).unwrap()))
        );
        assert_eq!(s["email"], json!(null));
        balance -= cost;
        assert_eq!(app.balance(&token).await, balance);
        app.assert_history_adds_up(&token).await;
        made.push(s["id"].as_str().unwrap().to_string());
    }

    let with = |f: &dyn Fn(&mut Value)| {
        let mut i = subscription_input(&key, 1, 1);
        f(&mut i);
        json!({ "i": i })
    };
    for (vars, code) in [
        (with(&|i| i["channels"] = json!(0)), "BAD_USER_INPUT"),
        (with(&|i| i["channels"] = json!(-1)), "BAD_USER_INPUT"),
        (with(&|i| i["channels"] = json!(1001)), "BAD_USER_INPUT"),
        (with(&|i| i["months"] = json!(2)), "BAD_USER_INPUT"),
        (with(&|i| i["months"] = json!(0)), "BAD_USER_INPUT"),
        (
            with(&|i| i["software"] = json!("REMOTE_ACCESS")),
            "BAD_USER_INPUT",
        ),
        (with(&|i| i["email"] = json!("helpdesk")), "BAD_USER_INPUT"),
        (
            with(&|i| i["comment"] = json!("x".repeat(1001))),
            "BAD_USER_INPUT",
        ),
        (
            with(&|i| i["activationKeyId"] = their_key["id"].clone()),
            "NOT_FOUND",
        ),
        // 1000 × 4 × 36 = 144,000.
        (
            with(&|i| {
                i["channels"] = json!(1000);
                i["months"] = json!(36);
            }),
            "INSUFFICIENT_CREDITS",
        ),
    ] {
        refused(&app, &token, &doc, vars, code).await;
    }
    let answer = app
        .gql(
            Some(&other),
            &doc,
            json!({ "i": subscription_input(&their_key, 10, 3) }),
        )
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"],
        json!({ "code": "INSUFFICIENT_CREDITS", "required": 120, "balance": 100 })
    );
    assert_eq!(app.balance(&other).await, 100);

    // Idempotent.
    let vars = json!({ "i": subscription_input(&key, 2, 1), "k": "sub-1" });
    let one = app.ok(Some(&token), &doc, vars.clone()).await["createServiceSubscription"].clone();
    let two = app.ok(Some(&token), &doc, vars).await["createServiceSubscription"].clone();
    assert_eq!(one, two);
    balance -= 8;
    assert_eq!(app.balance(&token).await, balance);
    refused(
        &app,
        &token,
        &doc,
        json!({ "i": subscription_input(&key, 3, 1), "k": "sub-1" }),
        "CONFLICT",
    )
    .await;
    made.push(one["id"].as_str().unwrap().to_string());

    // The list: newest first, in pages; a reseller without Remote Support
    // cannot sell it.
    made.reverse();
    let list = subscription_doc(SUBSCRIPTIONS);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = app
            .ok(Some(&token), &list, json!({ "first": 3, "after": after }))
            .await["serviceSubscriptions"]
            .clone();
        assert_eq!(data["totalCount"], 8);
        seen.extend(ids(&data));
        if data["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = data["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, made);
    assert_eq!(
        app.query(&other, &list).await["serviceSubscriptions"]["totalCount"],
        0
    );
    // Asking for an account one cannot see is NOT_FOUND, as for every list.
    assert_eq!(
        app.error_code(Some(&other), &list, json!({ "o": acme }))
            .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(Some(&other), &list, json!({ "o": "acc_nobody" }))
            .await,
        "NOT_FOUND"
    );
    let (reseller_id, reseller_token) = app
        .reseller(&token, "acme-east", &["REMOTE_ACCESS"], 100)
        .await;
    let rkey = app.key(&reseller_token, "Reseller's customer").await;
    refused(
        &app,
        &reseller_token,
        &doc,
        json!({ "i": subscription_input(&rkey, 1, 1) }),
        "FORBIDDEN",
    )
    .await;
    let (seller_id, seller_token) = app
        .reseller(&token, "acme-west", &["REMOTE_SUPPORT"], 100)
        .await;
    let skey = app.key(&seller_token, "West helpdesk").await;
    let theirs = app
        .ok(
            Some(&seller_token),
            &doc,
            json!({ "i": subscription_input(&skey, 2, 3) }),
        )
        .await["createServiceSubscription"]
        .clone();
    assert_eq!(theirs["creditsSpent"], 24);
    assert_eq!(app.balance(&seller_token).await, 76);
    let data = app.ok(Some(&token), &list, json!({ "o": seller_id })).await;
    assert_eq!(
        ids(&data["serviceSubscriptions"]),
        vec![theirs["id"].as_str().unwrap()]
    );
    let data = app
        .ok(Some(&token), &list, json!({ "o": reseller_id }))
        .await;
    assert_eq!(data["serviceSubscriptions"]["totalCount"], 0);
    let data = app.query(&token, &list).await;
    assert_eq!(data["serviceSubscriptions"]["totalCount"], 9);
    app.assert_history_adds_up(&token).await;
    app.assert_history_adds_up(&seller_token).await;
});

both_backends!(
    a_malformed_date_is_bad_user_input,
    |app: TestApp| async move {
        let (token, key) = app.funded_partner_key("acme", 100, "Server").await;
        for bad in ["2026-02-30", "tomorrow", "2026-1-5"] {
            let mut input = support_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, 1);
            input["startsOn"] = json!(bad);
            refused(
                &app,
                &token,
                &support_doc(ASSIGN),
                json!({ "i": input }),
                "BAD_USER_INPUT",
            )
            .await;
            let filter = json!({ "f": { "endOfSupport": { "from": bad } } });
            assert_eq!(
                app.error_code(Some(&token), &support_doc(LIST), filter)
                    .await,
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }
);
