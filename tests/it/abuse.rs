//! No single request can take the service down: documents that would cost
//! too much (lists inside lists, aliases of expensive fields, fragments
//! spread many times, huge documents) are refused before they run, strings
//! and lists are checked before any SQL, and the API's answers are never
//! cached or sniffed.

use crate::common::{Backend, TestApp, assert_bad_input, error_message};
use serde_json::json;

const ASSIGN: &str =
    "mutation($i: AssignLicenseInput!) { assignLicense(input: $i) { id comment } }";

/// A partner with one key holding a few licenses (one free trial, the rest
/// permanent: a key gets one running trial per product); (token, key id).
async fn partner_with_trials(app: &TestApp, trials: usize) -> (String, String) {
    let (admin, partner_id, partner) = app.admin_and_partner("acme").await;
    app.grant(&admin, &partner_id, 100_000, "INV-ABUSE").await;
    let key = app.key(&partner, "office").await;
    for i in 0..trials {
        let kind = if i == 0 { "TRIAL" } else { "PERMANENT" };
        app.ok(
            Some(&partner),
            ASSIGN,
            json!({ "i": {
                "activationKeyId": key["id"], "product": "REMOTE_ACCESS", "edition": "DESKTOP",
                "users": 1, "kind": kind, "trialDays": if i == 0 { Some(30) } else { None },
            } }),
        )
        .await;
    }
    (partner, key["id"].as_str().expect("id").to_string())
}

both_backends!(
    lists_inside_lists_are_priced_by_their_size,
    |app: TestApp| async move {
        let (partner, key) = partner_with_trials(&app, 3).await;
        // Every license's key's licenses' key's licenses: 50 × 100 × 100 rows.
        let nested = "query($k: ID!) { licenses(first: 50, filter: { activationKeyId: $k }) { edges { node { activationKey { licenses { activationKey { licenses { id } } } } } } } }";
        let answer = app.gql(Some(&partner), nested, json!({ "k": key })).await;
        assert_bad_input(&answer, "exceeds the budget of 50000");
        assert!(
            error_message(&answer).starts_with("query cost "),
            "{answer}"
        );

        // One level of nesting is an ordinary question, and answered.
        let one_level = "query($k: ID!) { licenses(first: 50, filter: { activationKeyId: $k }) { edges { node { activationKey { licenses { id } supports { id } serviceSubscriptions { id } } } } } }";
        let d = app.ok(Some(&partner), one_level, json!({ "k": key })).await;
        let edges = d["licenses"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), 3, "{d}");
        assert_eq!(
            edges[0]["node"]["activationKey"]["licenses"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );

        // The lists of a key take a page size, capped like a page.
        let page_of = |size: usize| {
            format!(
                "query($k: ID!) {{ node(id: $k) {{ ... on ActivationKey {{ licenses(first: {size}) {{ id }} }} }} }}"
            )
        };
        let d = app
            .ok(Some(&partner), &page_of(2), json!({ "k": key }))
            .await;
        assert_eq!(d["node"]["licenses"].as_array().map(Vec::len), Some(2));
        let answer = app
            .gql(Some(&partner), &page_of(101), json!({ "k": key }))
            .await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{answer}"
        );
    }
);

both_backends!(
    aliases_cannot_multiply_expensive_work,
    |app: TestApp| async move {
        let admin = app.admin().await;
        // Password checks: one per request, however they are spelled.
        let logins: String = (0..5)
            .map(|i| format!("a{i}: login(login: \"admin\", password: \"guess-{i}\") {{ token }} "))
            .collect();
        let answer = app
            .gql(None, &format!("mutation {{ {logins} }}"), json!({}))
            .await;
        assert_bad_input(&answer, "passwords");
        let twice = "mutation { ...Twice } fragment Twice on Mutation { a: login(login: \"admin\", password: \"x\") { token } b: changePassword(current: \"x\", new: \"y\") }";
        let answer = app.gql(None, twice, json!({})).await;
        assert_bad_input(&answer, "passwords");
        // One is fine.
        app.login("admin", crate::common::ADMIN_PASSWORD).await;

        // Root fields: 50 are accepted, 51 are not.
        let answer = app.aliased_query(Some(&admin), "me { id }", 50).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let answer = app.aliased_query(Some(&admin), "me { id }", 51).await;
        assert_bad_input(&answer, "51 top-level fields");

        // A count and a search cost what they read, even for no rows.
        let search = "activationKeys(first: 0, search: \"zz\") { totalCount }";
        let answer = app.aliased_query(Some(&admin), search, 50).await;
        assert_bad_input(&answer, "exceeds the budget");
        let d = app.query(&admin, &format!("{{ {search} }}")).await;
        assert_eq!(d["activationKeys"]["totalCount"], 0);
    }
);

both_backends!(
    documents_too_large_to_read_are_refused,
    |app: TestApp| async move {
        let admin = app.admin().await;
        // Fragments spread into fragments: 10 fields become 10^6.
        let mut doc = String::from("{ me { ...F0 } }");
        for level in 0..6 {
            let next = if level == 5 {
                "id".to_string()
            } else {
                format!("...F{}", level + 1)
            };
            let body: String = (0..10)
                .map(|i| format!("p{i}: parent {{ {next} }} "))
                .collect();
            doc.push_str(&format!(" fragment F{level} on Account {{ id {body} }}"));
        }
        let answer = app.gql(Some(&admin), &doc, json!({})).await;
        assert_bad_input(&answer, "fragments are spread");

        // A document of 40 KB.
        let padding = " ".repeat(40 * 1024);
        let large = format!("{{ me {{ id }} {padding} }}");
        let answer = app.gql(Some(&admin), &large, json!({})).await;
        assert_bad_input(&answer, "bytes");
    }
);

both_backends!(
    control_characters_are_refused_before_any_sql,
    |app: TestApp| async move {
        // Without a session, in a variable and in the document's text.
        let answer = app
            .gql(
                None,
                "mutation($l: String!) { login(login: $l, password: \"x\") { token } }",
                json!({ "l": "ad\u{0}min" }),
            )
            .await;
        assert_bad_input(&answer, "U+0000");
        let escaped = "mutation { login(login: \"ad\\u0000min\", password: \"x\") { token } }";
        let answer = app.gql(None, escaped, json!({})).await;
        assert_bad_input(&answer, "U+0000");

        let (partner, key) = partner_with_trials(&app, 0).await;
        let answer = app
            .gql(
                Some(&partner),
                "mutation($n: String!) { createActivationKey(name: $n) { id } }",
                json!({ "n": "line\nbreak" }),
            )
            .await;
        assert_bad_input(&answer, "U+000A");
        let input = |comment: &str| {
            json!({ "i": {
                "activationKeyId": key, "product": "REMOTE_ACCESS", "edition": "DESKTOP",
                "users": 1, "kind": "TRIAL", "trialDays": 30, "comment": comment,
            } })
        };
        // Free text keeps its tabs and line breaks, but no other control.
        let answer = app.gql(Some(&partner), ASSIGN, input("bad\u{7}bell")).await;
        assert_bad_input(&answer, "U+0007");
        let d = app
            .ok(Some(&partner), ASSIGN, input("first line\n\tsecond"))
            .await;
        assert_eq!(d["assignLicense"]["comment"], "first line\n\tsecond");
        assert_eq!(app.key_count(&partner).await, 1);
    }
);

both_backends!(
    filter_lists_are_capped_and_deduplicated,
    |app: TestApp| async move {
        let (partner, _) = partner_with_trials(&app, 2).await;
        let doc = "query($s: [LicenseStatus!]) { licenses(filter: { status: $s }) { totalCount } }";
        let many: Vec<&str> = ["ACTIVE", "TRIAL", "TRIAL_EXPIRED", "DELETED"]
            .into_iter()
            .cycle()
            .take(996)
            .collect();
        let answer = app.gql(Some(&partner), doc, json!({ "s": many })).await;
        assert_bad_input(&answer, "at most 100");
        let repeated: Vec<&str> = std::iter::repeat_n("TRIAL", 100).collect();
        let d = app.ok(Some(&partner), doc, json!({ "s": repeated })).await;
        // One running trial (the other license is permanent), counted once.
        assert_eq!(d["licenses"]["totalCount"], 1, "{d}");
    }
);

both_backends!(
    balances_stay_within_a_graphql_int,
    |app: TestApp| async move {
        let (admin, partner_id, partner) = app.admin_and_partner("acme").await;
        let grant = "mutation($p: ID!, $a: Int!, $r: String!) { grantCredits(partnerId: $p, amount: $a, reference: $r) { balanceAfter } }";
        for i in 0..214 {
            app.ok(
                Some(&admin),
                grant,
                json!({ "p": partner_id, "a": 10_000_000, "r": format!("invoice-{i}") }),
            )
            .await;
        }
        app.ok(
            Some(&admin),
            grant,
            json!({ "p": partner_id, "a": 7_483_647, "r": "invoice-last" }),
        )
        .await;
        assert_eq!(app.balance(&partner).await, 2_147_483_647);
        let answer = app
            .gql(
                Some(&admin),
                grant,
                json!({ "p": partner_id, "a": 1, "r": "one-more" }),
            )
            .await;
        assert_bad_input(&answer, "the most a balance can hold");
        assert_eq!(app.balance(&partner).await, 2_147_483_647);
    }
);

both_backends!(
    api_answers_are_never_cached_and_the_explorer_is_local,
    |app: TestApp| async move {
        let resp = app
            .client
            .post(&app.url)
            .json(&json!({ "query": "{ products { code } }" }))
            .send()
            .await
            .expect("POST");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        assert_eq!(resp.headers()["cache-control"], "no-store");

        let page = app.browser_page().await;
        assert_eq!(page.status(), 200);
        let policy = page.headers()["content-security-policy"]
            .to_str()
            .expect("policy")
            .to_string();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        let html = page.text().await.expect("body");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{html}"
        );
        let base = app.url.trim_end_matches("/graphql").to_string();
        for asset in ["/graphql/explorer.js", "/graphql/explorer.css"] {
            assert!(html.contains(asset), "{html}");
            let resp = app
                .client
                .get(format!("{base}{asset}"))
                .send()
                .await
                .expect("GET");
            assert_eq!(resp.status(), 200, "{asset}");
            assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        }
    }
);
