//! GET /metrics: the Prometheus text format, counters that follow what the
//! service did, and the optional scrape token.

use crate::common::{Backend, TestApp, fresh_database, serve_args};
use serde_json::json;
use std::collections::BTreeMap;

const GRANT: &str = "mutation Grant($p: ID!, $a: Int!, $r: String!) { grantCredits(partnerId: $p, amount: $a, reference: $r) { id } }";

struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Every line a comment (`# …`) or `name{label="value",…} number`.
fn parse(body: &str) -> Vec<Sample> {
    let mut samples = vec![];
    for line in body.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value in {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("not a number in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels in {line:?}"));
                (name, parse_labels(inner, line))
            }
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

fn parse_labels(inner: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = inner.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "unquoted label value in {line:?}");
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("dangling escape in {line:?}"),
                },
                Some('"') => break,
                Some(c) => value.push(c),
                None => panic!("unterminated label value in {line:?}"),
            }
        }
        labels.insert(key, value);
        match chars.next() {
            Some(',') | None => {}
            Some(c) => panic!("unexpected {c:?} after a label in {line:?}"),
        }
    }
    labels
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

fn metrics_url(app: &TestApp) -> String {
    app.url.replace("/graphql", "/metrics")
}

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(metrics_url(app));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request.send().await.expect("metrics request")
}

async fn samples(app: &TestApp, token: Option<&str>) -> Vec<Sample> {
    let response = scrape(app, token).await;
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse(&response.text().await.expect("body"))
}

both_backends!(counters_follow_operations, |app: TestApp| async move {
    let before = samples(&app, None).await;
    let grants_before = value(
        &before,
        "license_portal_graphql_requests_total",
        &[("operation", "Grant"), ("code", "OK")],
    )
    .unwrap_or(0.0);
    assert_eq!(grants_before, 0.0);

    let (admin, acme, _) = app.admin_and_partner("acme").await;
    app.ok(
        Some(&admin),
        GRANT,
        json!({ "p": acme, "a": 250, "r": "INV-1" }),
    )
    .await;
    assert_eq!(
        app.error_code(
            None,
            "mutation { login(login: \"acme\", password: \"wrong-password-1\") { token } }",
            json!({})
        )
        .await,
        "UNAUTHENTICATED"
    );

    let after = samples(&app, None).await;
    let requests = |op: &str, code: &str| {
        value(
            &after,
            "license_portal_graphql_requests_total",
            &[("operation", op), ("code", code)],
        )
    };
    let counted: Vec<_> = after
        .iter()
        .filter(|s| s.name == "license_portal_graphql_requests_total")
        .map(|s| (&s.labels, s.value))
        .collect();
    assert_eq!(requests("Grant", "OK"), Some(1.0), "{counted:?}");
    assert_eq!(
        requests("anonymous", "UNAUTHENTICATED"),
        Some(1.0),
        "{counted:?}"
    );
    assert_eq!(
        value(
            &after,
            "license_portal_credits_total",
            &[("reason", "GRANT")]
        ),
        Some(250.0)
    );
    assert!(value(&after, "license_portal_login_failures_total", &[]).unwrap_or(0.0) >= 1.0);
    let count = value(
        &after,
        "license_portal_graphql_request_duration_seconds_count",
        &[],
    )
    .expect("latency count");
    assert!(count >= 4.0, "{count}");
    assert_eq!(
        value(
            &after,
            "license_portal_graphql_request_duration_seconds_bucket",
            &[("le", "+Inf")]
        ),
        Some(count)
    );
    assert!(
        after
            .iter()
            .any(|s| s.name == "license_portal_events_total" && s.value >= 1.0)
    );
    for name in [
        "license_portal_projector_lag_events",
        "license_portal_projector_lag_seconds",
        "license_portal_outbox_unsent",
    ] {
        assert!(value(&after, name, &[]).is_some(), "{name} missing");
    }
});

async fn refuses_without_the_token(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(backend, dir.path()).await;
    let mut args = serve_args(url, dir.path());
    args.integrations.metrics_token = Some("scrape-secret".into());
    let app = TestApp::spawn_with(args, dir).await;
    assert_eq!(scrape(&app, None).await.status(), 401);
    assert_eq!(scrape(&app, Some("wrong")).await.status(), 401);
    // A session token is no scrape token.
    let admin = app.admin().await;
    assert_eq!(scrape(&app, Some(&admin)).await.status(), 401);
    let ok = samples(&app, Some("scrape-secret")).await;
    assert!(value(&ok, "license_portal_login_failures_total", &[]).is_some());
}

each_backend!(token_is_required_when_set, refuses_without_the_token);
