//! `GET /metrics` in the Prometheus text format. Request counts, latencies
//! and failed sign-ins are counted as they happen; everything else is read
//! from the views at scrape time. Written by hand: the format is a few lines
//! of text, and a metrics crate would cost more to build than this module.

use crate::http::HttpState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use projections::Db;
use projections::db::{SqlBuilder, int, text};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Upper bounds of the latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Operation names are the client's choice: past this many (operation, code)
/// series, new ones are counted under operation "other", so a client cannot
/// grow the scrape without bound.
const MAX_REQUEST_SERIES: usize = 500;

/// The views only change when the log moves, but supports expire with the
/// clock: an unchanged log still gets a fresh reading after this long.
const VIEWS_MAX_AGE: Duration = Duration::from_secs(30);

/// Supports ending within this many days count as ending soon.
const ENDING_SOON_DAYS: i64 = 30;

pub struct Metrics {
    token_digest: Option<[u8; 32]>,
    requests: Mutex<HashMap<(String, String), u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    login_failures: AtomicU64,
    views: tokio::sync::Mutex<Option<CachedViews>>,
}

struct CachedViews {
    log_head: i64,
    read_at: Instant,
    text: String,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

impl Metrics {
    /// `token`: when set, a scrape must present it as a bearer token.
    pub fn new(token: Option<&str>) -> Metrics {
        Metrics {
            token_digest: token.filter(|t| !t.is_empty()).map(digest),
            requests: Mutex::new(HashMap::new()),
            latency_buckets: Default::default(),
            latency_count: AtomicU64::new(0),
            latency_sum_micros: AtomicU64::new(0),
            login_failures: AtomicU64::new(0),
            views: tokio::sync::Mutex::new(None),
        }
    }

    /// One GraphQL request: the operation it ran (empty when the document
    /// did not parse), the code of its first error ("OK" without one).
    pub fn record_request(&self, operation: &str, code: &str, elapsed: Duration) {
        let operation = if operation.is_empty() {
            "unknown"
        } else {
            operation
        };
        {
            let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            let key = (operation.to_string(), code.to_string());
            let key = if requests.contains_key(&key) || requests.len() < MAX_REQUEST_SERIES {
                key
            } else {
                ("other".to_string(), code.to_string())
            };
            *requests.entry(key).or_insert(0) += 1;
        }
        let seconds = elapsed.as_secs_f64();
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn record_login_failure(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.token_digest else {
            return true;
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| digest(token.trim()));
        // Comparing digests: the time taken tells nothing about the token.
        presented.is_some_and(|p| p == *expected)
    }

    fn counters(&self, out: &mut String) {
        family(
            out,
            "license_portal_graphql_requests_total",
            "counter",
            "GraphQL requests by operation name and the code of the first error (OK: none).",
        );
        let mut requests: Vec<_> = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        requests.sort();
        for ((operation, code), n) in requests {
            sample(
                out,
                "license_portal_graphql_requests_total",
                &[("operation", &operation), ("code", &code)],
                n,
            );
        }
        family(
            out,
            "license_portal_graphql_request_duration_seconds",
            "histogram",
            "Time to answer a GraphQL request.",
        );
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            sample(
                out,
                "license_portal_graphql_request_duration_seconds_bucket",
                &[("le", &bound.to_string())],
                count.load(Ordering::Relaxed),
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        sample(
            out,
            "license_portal_graphql_request_duration_seconds_bucket",
            &[("le", "+Inf")],
            count,
        );
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        sample(
            out,
            "license_portal_graphql_request_duration_seconds_sum",
            &[],
            sum,
        );
        sample(
            out,
            "license_portal_graphql_request_duration_seconds_count",
            &[],
            count,
        );
        family(
            out,
            "license_portal_login_failures_total",
            "counter",
            "Sign-ins refused for a wrong login or password.",
        );
        sample(
            out,
            "license_portal_login_failures_total",
            &[],
            self.login_failures.load(Ordering::Relaxed),
        );
    }

    /// The views' part of the scrape, read again only when the log has moved
    /// or the last reading is older than [`VIEWS_MAX_AGE`].
    async fn views(&self, db: &Db) -> Result<String, sqlx::Error> {
        let mut cached = self.views.lock().await;
        let log_head = newest_position(db).await?;
        if let Some(c) = cached.as_ref()
            && c.log_head == log_head
            && c.read_at.elapsed() < VIEWS_MAX_AGE
        {
            return Ok(c.text.clone());
        }
        let text = read_views(db).await?;
        *cached = Some(CachedViews {
            log_head,
            read_at: Instant::now(),
            text: text.clone(),
        });
        Ok(text)
    }
}

async fn newest_position(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT coalesce(max(global_position), 0) FROM events")
        .fetch_one(&db.pool)
        .await
}

async fn read_views(db: &Db) -> Result<String, sqlx::Error> {
    let mut out = String::new();
    family(
        &mut out,
        "license_portal_events_total",
        "counter",
        "Events in the log by type.",
    );
    let rows = sqlx::query(
        "SELECT event_type, count(*) AS n FROM events GROUP BY event_type ORDER BY event_type",
    )
    .fetch_all(&db.pool)
    .await?;
    for r in &rows {
        sample(
            &mut out,
            "license_portal_events_total",
            &[("type", &text(r, "event_type")?)],
            int(r, "n")?,
        );
    }

    family(
        &mut out,
        "license_portal_credits_total",
        "counter",
        "Credits moved by reason (GRANT granted; LICENSE, SUPPORT, SUBSCRIPTION and their upgrades spent; LICENSE_REFUND refunded), as a positive amount.",
    );
    let rows = sqlx::query(
        "SELECT reason, CAST(abs(sum(amount)) AS bigint) AS total FROM credit_entries GROUP BY reason ORDER BY reason",
    )
    .fetch_all(&db.pool)
    .await?;
    for r in &rows {
        sample(
            &mut out,
            "license_portal_credits_total",
            &[("reason", &text(r, "reason")?)],
            int(r, "total")?,
        );
    }

    family(
        &mut out,
        "license_portal_licenses",
        "gauge",
        "Licenses not deleted, by product and kind.",
    );
    let rows = sqlx::query(
        "SELECT product, kind, n FROM license_totals
          WHERE subject = 'all' AND deleted = 0 AND n > 0 ORDER BY product, kind",
    )
    .fetch_all(&db.pool)
    .await?;
    for r in &rows {
        sample(
            &mut out,
            "license_portal_licenses",
            &[
                ("product", &text(r, "product")?),
                ("kind", &text(r, "kind")?),
            ],
            int(r, "n")?,
        );
    }

    let today = chrono::Utc::now().date_naive();
    let soon = today + chrono::Duration::days(ENDING_SOON_DAYS);
    let today = projections::db::date_text(today);
    let soon = projections::db::date_text(soon);
    for (name, help, condition) in [
        (
            "license_portal_supports_expired",
            "Supports whose end has passed, by partner (login).",
            "s.end_of_support < $1",
        ),
        (
            "license_portal_supports_ending_soon",
            "Supports ending within 30 days, by partner (login).",
            "s.end_of_support >= $1 AND s.end_of_support <= $2",
        ),
    ] {
        family(&mut out, name, "gauge", help);
        let sql = format!(
            "SELECT coalesce(a.login, s.scope_id) AS partner, count(*) AS n
               FROM supports s LEFT JOIN accounts a ON a.id = s.scope_id
              WHERE {condition} GROUP BY coalesce(a.login, s.scope_id) ORDER BY 1"
        );
        let mut q = sqlx::query(&sql).bind(&today);
        if condition.contains("$2") {
            q = q.bind(&soon);
        }
        for r in &q.fetch_all(&db.pool).await? {
            sample(
                &mut out,
                name,
                &[("partner", &text(r, "partner")?)],
                int(r, "n")?,
            );
        }
    }
    Ok(out)
}

/// What changes between two scrapes of an idle log: the projector and the
/// outbox.
async fn live(db: &Db, out: &mut String) -> Result<(), String> {
    let checkpoint = projections::projector::load_checkpoint(db, "views")
        .await
        .map_err(|e| e.to_string())?;
    let horizon = projections::log::horizon(db)
        .await
        .map_err(|e| e.to_string())?;
    let mut q = SqlBuilder::new("SELECT count(*) AS n FROM events WHERE ");
    db.backend.log_after(&mut q, checkpoint, horizon);
    let behind: i64 = q
        .query()
        .fetch_one(&db.pool)
        .await
        .and_then(|r| int(&r, "n"))
        .map_err(|e| e.to_string())?;
    // The age of the oldest event the views do not hold yet.
    let seconds = if behind > 0 {
        projections::log::read_after(db, checkpoint, 1)
            .await
            .map_err(|e| e.to_string())?
            .first()
            .and_then(|e| projections::db::parse_time(&e.at))
            .map(|at| (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0)
    } else {
        0.0
    };
    family(
        out,
        "license_portal_projector_lag_events",
        "gauge",
        "Events in the log the views do not include yet.",
    );
    sample(out, "license_portal_projector_lag_events", &[], behind);
    family(
        out,
        "license_portal_projector_lag_seconds",
        "gauge",
        "Age of the oldest event the views do not include yet (0 when caught up).",
    );
    sample(out, "license_portal_projector_lag_seconds", &[], seconds);

    let unsent: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    family(
        out,
        "license_portal_outbox_unsent",
        "gauge",
        "Emails waiting to be sent.",
    );
    sample(out, "license_portal_outbox_unsent", &[], unsent);
    Ok(())
}

pub async fn handler(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    let metrics = &state.app.metrics;
    if !metrics.authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "send the metrics token as Authorization: Bearer <token>\n",
        )
            .into_response();
    }
    let db = &state.app.db;
    let mut out = String::new();
    metrics.counters(&mut out);
    let views = match metrics.views(db).await {
        Ok(v) => Ok(v),
        Err(e) => Err(e.to_string()),
    };
    let result = match views {
        Ok(v) => {
            out.push_str(&v);
            live(db, &mut out).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "metrics: the database does not answer");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response()
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape backslash, quote and newline (the text format's rule).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("a", "x\"y\\z\nw")], 1);
        assert_eq!(out, "m{a=\"x\\\"y\\\\z\\nw\"} 1\n");
    }

    #[test]
    fn latency_lands_in_every_bucket_above_it() {
        let m = Metrics::new(None);
        m.record_request("Q", "OK", Duration::from_millis(30));
        let mut out = String::new();
        m.counters(&mut out);
        assert!(out.contains("_bucket{le=\"0.025\"} 0\n"));
        assert!(out.contains("_bucket{le=\"0.05\"} 1\n"));
        assert!(out.contains("_bucket{le=\"+Inf\"} 1\n"));
        assert!(out.contains("operation=\"Q\",code=\"OK\"} 1\n"));
    }
}
