//! Webhook deliveries: how fast events reach a local receiver while the API
//! writes them, and what a receiver that never answers costs the API
//! (nothing, if deliveries never block commands).

use crate::BenchArgs;
use crate::measure::{ms_since, percentile, throughput};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use testkit::Graphql;
use testkit::graphql::string_at;
use testkit::receiver::Receiver;

const KEY: &str = "mutation($n: String!) { createActivationKey(name: $n) { id } }";
const CREATE: &str = "mutation($u: String!) { createWebhook(input: { url: $u, description: \"bench\", eventTypes: [ACTIVATION_KEY_CREATED] }) { webhook { id } } }";
const ENABLE: &str =
    "mutation($id: ID!, $e: Boolean!) { setWebhookEnabled(id: $id, enabled: $e) { enabled } }";
/// Sequential key creations whose latencies are compared.
const LATENCY_SAMPLES: usize = 200;

pub async fn phase(args: &BenchArgs, client: &Graphql, admin: &str) -> Result<(), String> {
    client
        .create_partner(admin, "hooks", "Hooks", crate::api::PARTNER_PASSWORD)
        .await?;
    let partner = client.login("hooks", crate::api::PARTNER_PASSWORD).await?;

    let fast = Receiver::start(0, Duration::ZERO).await?;
    let hook = create(client, &partner, &fast.url).await?;
    let quiet = latencies(client, &partner, "quiet").await?;
    let before = fast.count();
    let created = Arc::new(AtomicU64::new(0));
    let (c, p, n) = (Arc::new(client.clone()), partner.clone(), created.clone());
    let started = Instant::now();
    let rate = throughput(args.clients, args.seconds, move |i, k| {
        let (c, p, n) = (c.clone(), p.clone(), n.clone());
        async move {
            c.data(Some(&p), KEY, json!({ "n": format!("hook {i}-{k}") }))
                .await?;
            n.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    })
    .await?;
    let wrote = ms_since(started);
    let expected = before + created.load(Ordering::Relaxed) as usize;
    let arrived = fast
        .wait_until(Duration::from_secs(120), |r| r.len() >= expected)
        .await;
    let last = ms_since(started);
    match arrived {
        Ok(_) => println!(
            "webhook deliveries to a local receiver:  {:>10.0} events/s (keys created at {:.0} /s; the last arrived {:.0} ms after the last write)",
            (expected - before) as f64 / (last / 1000.0),
            rate.per_second,
            last - wrote
        ),
        Err(got) => println!(
            "webhook deliveries: only {} of {} events arrived within 120 s",
            got.len() - before,
            expected - before
        ),
    }

    // The same endpoint pointed at a receiver that never answers: each
    // delivery waits out WEBHOOK_TIMEOUT_MS, and the API must not notice.
    client
        .data(Some(&partner), ENABLE, json!({ "id": hook, "e": false }))
        .await?;
    let hanging = Receiver::start(0, Duration::from_secs(3600)).await?;
    create(client, &partner, &hanging.url).await?;
    let hung = latencies(client, &partner, "hanging").await?;
    println!(
        "createActivationKey, one client, p50 / p99: {:.2} / {:.2} ms with a quick receiver, {:.2} / {:.2} ms with one that never answers ({} requests waiting on it)",
        quiet.0,
        quiet.1,
        hung.0,
        hung.1,
        hanging.count()
    );
    Ok(())
}

/// Registers an endpoint for key creations; its id.
async fn create(client: &Graphql, partner: &str, url: &str) -> Result<String, String> {
    let d = client
        .data(Some(partner), CREATE, json!({ "u": url }))
        .await?;
    string_at(&d, &["createWebhook", "webhook", "id"])
}

/// p50 and p99 (ms) of sequential key creations.
async fn latencies(client: &Graphql, partner: &str, tag: &str) -> Result<(f64, f64), String> {
    let mut ms = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        let started = Instant::now();
        client
            .data(Some(partner), KEY, json!({ "n": format!("{tag} {i}") }))
            .await?;
        ms.push(ms_since(started));
    }
    ms.sort_by(f64::total_cmp);
    Ok((percentile(&ms, 0.5), percentile(&ms, 0.99)))
}
