//! Abuse: the documents one client could once hold the server with (lists
//! nested in lists, a thousand aliased logins), each with the server time it
//! now takes, and the latency an ordinary `{ me { id } }` sees beside them.

use crate::measure::{ms_since, percentile};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use testkit::Graphql;

const NESTED: &str = "query($k: ID!) { licenses(first: 50, filter: { activationKeyId: $k }) { edges { node { activationKey { licenses { activationKey { licenses { id } } } } } } } }";
const ASSIGN: &str = "mutation($i: AssignLicenseInput!) { assignLicense(input: $i) { id } }";
const PROBE: &str = "{ me { id } }";

/// A partner of its own with one key holding 100 licenses (a key gets one
/// running trial per product, so they are permanent ones); then each
/// abusive document while a probe runs beside it.
pub async fn phase(client: &Graphql, admin: &str) -> Result<(), String> {
    let id = client
        .create_partner(admin, "abuser", "Abuser", "guessed-at-pass-1")
        .await?;
    client.grant(admin, &id, 100_000, "abuse").await?;
    let partner = client.login("abuser", "guessed-at-pass-1").await?;
    let key = client.create_key(&partner, "trials").await?;
    for _ in 0..100 {
        client
            .data(
                Some(&partner),
                ASSIGN,
                json!({ "i": { "activationKeyId": key, "product": "TWO_FACTOR", "edition": "STANDARD", "users": 1, "kind": "PERMANENT" } }),
            )
            .await?;
    }
    let quiet = probe_while(client, &partner, async { Ok(()) }).await?;
    println!(
        "abuse: {{ me {{ id }} }} alone:           p50 {:>8.2} ms",
        quiet.1
    );

    let nested = timed(client, Some(&partner), NESTED, json!({ "k": key }));
    let ((ms, answer), p50) = probe_while(client, &partner, nested).await?;
    println!(
        "abuse: nested key → licenses lists:     {ms:>8.2} ms server, probe p50 {p50:.2} ms ({})",
        outcome(&answer)
    );

    let logins: String = (0..1000)
        .map(|i| format!("a{i}: login(login: \"abuser\", password: \"guess-{i}\") {{ token }} "))
        .collect();
    let logins = format!("mutation {{ {logins} }}");
    let aliased = timed(client, None, &logins, json!({}));
    let ((ms, answer), p50) = probe_while(client, &partner, aliased).await?;
    println!(
        "abuse: 1000 aliased logins:             {ms:>8.2} ms server, probe p50 {p50:.2} ms ({})",
        outcome(&answer)
    );
    Ok(())
}

/// "refused: <message>" or "answered, N bytes".
fn outcome(answer: &Value) -> String {
    match answer["errors"][0]["message"].as_str() {
        Some(m) => format!("refused: {m}"),
        None => format!("answered, {} bytes", answer.to_string().len()),
    }
}

/// Posts a document; the server's own time (its Server-Timing) and the
/// answer.
async fn timed(
    client: &Graphql,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<(f64, Value), String> {
    let started = Instant::now();
    let mut request = client
        .http
        .post(&client.url)
        .header("accept", "application/json")
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let server = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("dur=").nth(1))
        .and_then(|v| v.parse::<f64>().ok());
    let answer: Value = response.json().await.map_err(|e| e.to_string())?;
    Ok((server.unwrap_or_else(|| ms_since(started)), answer))
}

/// Runs `work` while a client sends `{ me { id } }` one after another (at
/// least 20 times); the work's result and the probe's median latency.
async fn probe_while<T>(
    client: &Graphql,
    token: &str,
    work: impl Future<Output = Result<T, String>>,
) -> Result<(T, f64), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (client, token, stop) = (client.clone(), token.to_string(), stop.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) || latencies.len() < 20 {
                let started = Instant::now();
                client.data(Some(&token), PROBE, json!({})).await?;
                latencies.push(ms_since(started));
            }
            Ok::<_, String>(latencies)
        })
    };
    let result = work.await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = probe.await.map_err(|e| e.to_string())??;
    latencies.sort_by(f64::total_cmp);
    Ok((result?, percentile(&latencies, 0.5)))
}
