//! A partner whose stream holds `--heavy-licenses` licenses: how long its
//! commands take, first from the raw events, then from snapshots, next to a
//! partner with a short stream. The licenses are appended to the log
//! directly (as the aggregate would have written them) so that the phase
//! takes seconds, not the hours the API would need.

use crate::BenchArgs;
use crate::measure::{ms_since, percentile};
use license_portal::app::App;
use serde_json::json;
use std::time::{Duration, Instant};
use testkit::Graphql;
use testkit::graphql::string_at;

/// The partner of this phase, kept for the portal phase.
pub struct Heavy {
    pub id: String,
    pub key: String,
    pub token: String,
}

/// Appended licenses per write transaction.
const BATCH: i64 = 5_000;

/// Runs the phase, unless `--heavy-licenses` is 0; `light_token` signs in
/// the partner of the short stream; `cache_limit` is the server's bound of
/// its state cache, in bytes.
pub async fn partner(
    args: &BenchArgs,
    client: &Graphql,
    admin: &str,
    light_token: &str,
    app: &App,
    cache_limit: usize,
) -> Result<Option<Heavy>, String> {
    let n = args.heavy_licenses;
    if n <= 0 {
        return Ok(None);
    }
    let heavy = create(client, admin).await?;
    let started = Instant::now();
    append_licenses(app, &heavy, n).await?;
    let appended = started.elapsed().as_secs_f64();
    let started = Instant::now();
    wait_projected(app, &heavy.id, n).await?;
    println!(
        "a partner with {n} licenses: appended in {appended:.1} s, projected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The first command reads every event and writes the first snapshot.
    let first = grant_latencies(client, admin, &heavy.id, "heavy-first", 1).await?;
    println!(
        "  first command, from {n} events:       {:>8.1} ms",
        first[0]
    );
    let heavy_took = grant_latencies(client, admin, &heavy.id, "heavy", 200).await?;
    let light_id = string_at(
        &client
            .data(Some(light_token), "{ me { id } }", json!({}))
            .await?,
        &["me", "id"],
    )?;
    let light_events = stream_length(&app.db, &light_id).await?;
    let light_took = grant_latencies(client, admin, &light_id, "light", 200).await?;
    println!(
        "  grantCredits one at a time (200), p50/p99: {:.1}/{:.1} ms; on a partner of {light_events} events: {:.1}/{:.1} ms",
        percentile(&heavy_took, 0.5),
        percentile(&heavy_took, 0.99),
        percentile(&light_took, 0.5),
        percentile(&light_took, 0.99),
    );
    state_sizes(app, &heavy.id).await?;
    let cold = from_snapshot(client, admin, &heavy.id, cache_limit).await?;
    println!(
        "  grantCredits from its snapshot (a cold cache), p50/p99: {:.1}/{:.1} ms",
        percentile(&cold, 0.5),
        percentile(&cold, 0.99),
    );
    Ok(Some(heavy))
}

/// What the heavy partner's state takes: its snapshot's bytes in the
/// database, and the in-memory cache's estimate of it, per event.
async fn state_sizes(app: &App, partner: &str) -> Result<(), String> {
    let snapshot: Option<i64> = sqlx::query_scalar(
        // The cast reads PostgreSQL's json column as the text it holds.
        "SELECT CAST(length(CAST(payload AS TEXT)) AS BIGINT) FROM snapshots \
         WHERE aggregate_type = 'Partner' AND aggregate_id = $1 \
         ORDER BY last_sequence DESC LIMIT 1",
    )
    .bind(partner)
    .fetch_optional(&app.db.pool)
    .await
    .map_err(|e| e.to_string())?;
    let events = stream_length(&app.db, partner).await?.max(1) as f64;
    let snapshot = snapshot.unwrap_or(0) as f64;
    // The other partners' states are a few KB: the cache is this one's.
    let cached = license_portal::event_store::cache_bytes() as f64;
    println!(
        "  its snapshot {:.1} MB ({:.0} bytes per event); in the state cache ~{:.1} MB ({:.0} bytes per event)",
        snapshot / 1e6,
        snapshot / events,
        cached / 1e6,
        cached / events,
    );
    Ok(())
}

/// Latency in ms of grants to `partner` with nothing cached, so each one
/// reads the snapshot and the events after it (a restarted process); the
/// cache's bound is put back to `cache_limit` bytes after.
async fn from_snapshot(
    client: &Graphql,
    admin: &str,
    partner: &str,
    cache_limit: usize,
) -> Result<Vec<f64>, String> {
    license_portal::event_store::set_cache_limit(0);
    // This first one still starts from the cached state, and drops it.
    let took = grant_latencies(client, admin, partner, "uncached-first", 1).await;
    let took = match took {
        Ok(_) => grant_latencies(client, admin, partner, "uncached", 20).await,
        Err(e) => Err(e),
    };
    license_portal::event_store::set_cache_limit(cache_limit);
    took
}

/// The partner "heavy" with credits to spare, signed in, and its one key.
async fn create(client: &Graphql, admin: &str) -> Result<Heavy, String> {
    let id = client
        .create_partner(admin, "heavy", "Heavy", crate::api::PARTNER_PASSWORD)
        .await?;
    client.grant(admin, &id, 10_000_000, "heavy").await?;
    let token = client.login("heavy", crate::api::PARTNER_PASSWORD).await?;
    let key = client.create_key(&token, "heavy").await?;
    Ok(Heavy { id, key, token })
}

/// Appends `n` LicenseAssigned events on the heavy partner's key.
async fn append_licenses(app: &App, heavy: &Heavy, n: i64) -> Result<(), String> {
    let db = &app.db;
    let head = testkit::events::stream_head(db, "Partner", &heavy.id).await?;
    let insert = testkit::events::insert_event_sql(db.backend);
    let metadata = testkit::events::metadata(&heavy.id);
    let mut written = 0;
    while written < n {
        let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
        for _ in 0..BATCH.min(n - written) {
            written += 1;
            let event = aggregates::LedgerEvent::LicenseAssigned {
                license_id: format!("lic_heavy_{written}"),
                key_id: heavy.key.clone(),
                product: "REMOTE_ACCESS".into(),
                edition: "DESKTOP".into(),
                users: 1,
                kind: aggregates::LicenseKind::Permanent,
                trial_ends_at: None,
                email: Some(format!("user{written}@customer.example")),
                comment: None,
                credits: 10,
                idempotency: None,
            };
            let payload = serde_json::to_string(&event).map_err(|e| e.to_string())?;
            sqlx::query(insert)
                .bind("Partner")
                .bind(&heavy.id)
                .bind(head + written)
                .bind("LicenseAssigned")
                .bind(payload)
                .bind(&metadata)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Waits until the views hold `n` licenses of `owner`.
async fn wait_projected(app: &App, owner: &str, n: i64) -> Result<(), String> {
    loop {
        app.projector.drain().await.map_err(|e| e.to_string())?;
        if license_count(&app.db, owner).await? >= n {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The licenses of `owner` in the views.
pub async fn license_count(db: &projections::Db, owner: &str) -> Result<i64, String> {
    sqlx::query_scalar("SELECT count(*) FROM licenses WHERE owner_id = $1")
        .bind(owner)
        .fetch_one(&db.pool)
        .await
        .map_err(|e| e.to_string())
}

/// The number of events in a partner's stream.
async fn stream_length(db: &projections::Db, partner: &str) -> Result<i64, String> {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'Partner' AND aggregate_id = $1",
    )
    .bind(partner)
    .fetch_one(&db.pool)
    .await
    .map_err(|e| e.to_string())
}

/// Latency in ms of `n` grants, one after the other, to `partner`; sorted.
async fn grant_latencies(
    client: &Graphql,
    admin: &str,
    partner: &str,
    label: &str,
    n: usize,
) -> Result<Vec<f64>, String> {
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        client
            .data(
                Some(admin),
                "mutation($p: ID!, $r: String!) { grantCredits(partnerId: $p, amount: 1, reference: $r) { id } }",
                json!({ "p": partner, "r": format!("{label}-{i}") }),
            )
            .await?;
        took.push(ms_since(started));
    }
    took.sort_by(f64::total_cmp);
    Ok(took)
}
