//! `license-portal bench`: throughput and latency figures, printed. Runs a
//! real server on a fresh database and drives it over HTTP with GraphQL, next
//! to the same work done directly in SQL as the baseline.

use crate::config::{DbArgs, ServeArgs};
use clap::Args;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Where to run: unset, a fresh SQLite file in a temporary directory; a
    /// postgres:// URL, a fresh database created (and dropped) through it.
    #[arg(long = "database")]
    pub database_url: Option<String>,
    /// Seconds each throughput phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Support rows behind the endOfSupport range query.
    #[arg(long, default_value_t = 1_000_000)]
    pub support_rows: i64,
    /// Licenses held by the partner of the large-aggregate phase.
    #[arg(long, default_value_t = 100_000)]
    pub heavy_licenses: i64,
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let v: Value = req
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match v.get("errors") {
            Some(e) => Err(e.to_string()),
            None => Ok(v["data"].clone()),
        }
    }
}

/// Runs `op(client index, iteration)` from every client for `seconds`;
/// returns operations per second.
async fn throughput<F, Fut>(clients: usize, seconds: u64, op: F) -> Result<f64, String>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (op, done) = (op.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < deadline {
                op(c, i).await?;
                i += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (database_url, drop_after) = match &args.database_url {
        None => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
        Some(url) if url.starts_with("postgres") => {
            let name = format!("lp_bench_{}", uuid::Uuid::new_v4().simple());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                .await
                .map_err(|e| e.to_string())?;
            let base = url
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or_else(|| url.clone());
            (format!("{base}/{name}"), Some((url.clone(), name)))
        }
        Some(url) => (url.clone(), None),
    };
    let backend = if database_url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    println!(
        "benchmark on {backend}, {} clients, {} s per phase",
        args.clients, args.seconds
    );
    let serve = ServeArgs {
        db: DbArgs { database_url },
        listen: "127.0.0.1:0".parse().map_err(|_| "address")?,
        public_url: "http://127.0.0.1".into(),
        smtp_url: None,
        mail_from: "Bench <bench@license-portal.local>".into(),
        outbox_dir: dir.path().join("outbox"),
        catalog: None,
        admin_password: Some("bench-admin-password".into()),
        signing_key: dir.path().join("signing-key"),
        device_rate_limit: u32::MAX,
    };
    let result = phases(&args, &serve).await;
    if let Some((admin_url, name)) = drop_after
        && let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await
    {
        let _ = sqlx::Executor::execute(
            &mut conn,
            format!("DROP DATABASE {name} WITH (FORCE)").as_str(),
        )
        .await;
    }
    result
}

async fn phases(args: &BenchArgs, serve: &ServeArgs) -> Result<(), String> {
    let running = crate::server::start(serve).await?;
    let client = Arc::new(Client {
        http: reqwest::Client::new(),
        url: format!("http://{}/graphql", running.addr),
    });
    let login = "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }";
    let admin = client
        .gql(
            None,
            login,
            json!({ "l": "admin", "p": "bench-admin-password" }),
        )
        .await?["login"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut partners = Vec::new();
    for i in 0..args.clients {
        let d = client
            .gql(
                Some(&admin),
                "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id } }",
                json!({ "i": { "login": format!("bench{i}"), "email": format!("bench{i}@example.com"), "name": format!("Bench {i}"), "password": "bench-password" } }),
            )
            .await?;
        let id = d["createPartner"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let token = client
            .gql(
                None,
                login,
                json!({ "l": format!("bench{i}"), "p": "bench-password" }),
            )
            .await?["login"]["token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        partners.push((id, token));
    }
    let partners = Arc::new(partners);

    // Grants through the API, each client granting to its own partner.
    let (c, p, a) = (client.clone(), partners.clone(), admin.clone());
    let grants = throughput(args.clients, args.seconds, move |i, n| {
        let (c, p, a) = (c.clone(), p.clone(), a.clone());
        async move {
            c.gql(
                Some(&a),
                "mutation($p: ID!, $r: String!) { grantCredits(partnerId: $p, amount: 10000, reference: $r) { id } }",
                json!({ "p": p[i].0, "r": format!("bench-{i}-{n}") }),
            )
            .await
            .map(|_| ())
        }
    })
    .await?;
    println!("grantCredits through GraphQL:          {grants:>10.0} /s");

    // The baseline: single-row INSERTs on the same database.
    let db = running.app.db.clone();
    sqlx::query("CREATE TABLE bench_inserts (id TEXT PRIMARY KEY, amount BIGINT NOT NULL)")
        .execute(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    let pool = db.pool.clone();
    let inserts = throughput(args.clients, args.seconds, move |i, n| {
        let pool = pool.clone();
        async move {
            sqlx::query("INSERT INTO bench_inserts (id, amount) VALUES ($1, $2)")
                .bind(format!("{i}-{n}"))
                .bind(1i64)
                .execute(&pool)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    })
    .await?;
    sqlx::query("DROP TABLE bench_inserts")
        .execute(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    println!("baseline: single-row INSERT:           {inserts:>10.0} /s");

    // assignLicense through the API, each client on its own partner's key.
    let mut keys = Vec::new();
    for (_, token) in partners.iter() {
        let d = client
            .gql(
                Some(token),
                "mutation { createActivationKey(name: \"bench\") { id key } }",
                json!({}),
            )
            .await?;
        keys.push((
            d["createActivationKey"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            d["createActivationKey"]["key"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
    }
    let keys = Arc::new(keys);
    let (c, p, k) = (client.clone(), partners.clone(), keys.clone());
    let licenses = throughput(args.clients, args.seconds, move |i, _| {
        let (c, p, k) = (c.clone(), p.clone(), k.clone());
        async move {
            c.gql(
                Some(&p[i].1),
                "mutation($k: ID!) { assignLicense(input: { activationKeyId: $k, product: \"TWO_FACTOR\", edition: \"STANDARD\", users: 1, kind: PERMANENT }) { id } }",
                json!({ "k": k[i].0 }),
            )
            .await
            .map(|_| ())
        }
    })
    .await?;
    println!("assignLicense through GraphQL:         {licenses:>10.0} /s");

    // activateKey: the first activation of a key (an event), then the same
    // device asking again (a fresh signed file). Enough keys that the
    // second phase, spread over them, stays under each key's limit of 60
    // requests a minute however long the phase runs.
    let per_client = (args.seconds as usize * 40).max(50);
    let mut fresh = Vec::new();
    for (i, (_, token)) in partners.iter().enumerate() {
        let mut mine = Vec::new();
        for n in 0..per_client {
            let d = client
                .gql(
                    Some(token),
                    "mutation($n: String!) { createActivationKey(name: $n) { key } }",
                    json!({ "n": format!("device {i}-{n}") }),
                )
                .await?;
            mine.push(
                d["createActivationKey"]["key"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        fresh.push(mine);
    }
    let fresh = Arc::new(fresh);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, mine) in fresh.iter().cloned().enumerate() {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            for key in mine {
                c.gql(
                    None,
                    "mutation($k: String!, $f: String!) { activateKey(key: $k, deviceFingerprint: $f) { signature } }",
                    json!({ "k": key, "f": format!("bench-device-{i}") }),
                )
                .await?;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let first = (args.clients * per_client) as f64 / started.elapsed().as_secs_f64();
    println!("activateKey, first activation:         {first:>10.0} /s");
    // Round-robin over the activated keys: each key's own limit (60 a
    // minute) is not what is measured here.
    let (c, k) = (client.clone(), fresh.clone());
    let again = throughput(args.clients, args.seconds, move |i, n| {
        let (c, k) = (c.clone(), k.clone());
        async move {
            c.gql(
                None,
                "mutation($k: String!, $f: String!) { activateKey(key: $k, deviceFingerprint: $f) { signature } }",
                json!({ "k": k[i][n as usize % k[i].len()], "f": format!("bench-device-{i}") }),
            )
            .await
            .map(|_| ())
        }
    })
    .await?;
    println!("activateKey, same device again:        {again:>10.0} /s");

    let heavy = heavy_partner(args, &client, &admin, &partners[0].1, &running.app).await?;
    running.stop().await;

    // Replay: every view rebuilt from the log.
    let app = crate::server::build_app(serve).await?;
    let events = projections::log::count(&app.db)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    projections::projector::reset_views(&app.db)
        .await
        .map_err(|e| e.to_string())?;
    let replayed = app.projector.drain().await.map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "replay: {replayed} of {events} events in {secs:.2} s: {:>10.0} events/s",
        replayed as f64 / secs
    );

    supports_range(args, &app, serve).await?;
    match heavy {
        Some(heavy) => portal_pages(&app, serve, &heavy).await,
        None => Ok(()),
    }
}

/// Latency in ms of `n` grants, one after the other, to `partner`.
async fn grant_latencies(
    client: &Client,
    admin: &str,
    partner: &str,
    label: &str,
    n: usize,
) -> Result<Vec<f64>, String> {
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        client
            .gql(
                Some(admin),
                "mutation($p: ID!, $r: String!) { grantCredits(partnerId: $p, amount: 1, reference: $r) { id } }",
                json!({ "p": partner, "r": format!("{label}-{i}") }),
            )
            .await?;
        took.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    Ok(took)
}

/// The partner of the large-aggregate phase, kept for the portal phase.
struct Heavy {
    id: String,
    key: String,
    token: String,
}

/// A partner whose stream holds `heavy_licenses` licenses: how long its
/// commands take, first from the raw events, then from snapshots, next to a
/// partner with a short stream. The licenses are appended to the log
/// directly (as the aggregate would have written them) so that the phase
/// takes seconds, not the hours the API would need.
async fn heavy_partner(
    args: &BenchArgs,
    client: &Client,
    admin: &str,
    light_token: &str,
    app: &crate::app::App,
) -> Result<Option<Heavy>, String> {
    let n = args.heavy_licenses;
    if n <= 0 {
        return Ok(None);
    }
    let d = client
        .gql(
            Some(admin),
            "mutation { createPartner(input: { login: \"heavy\", email: \"heavy@example.com\", name: \"Heavy\", password: \"bench-password\" }) { id } }",
            json!({}),
        )
        .await?;
    let heavy = d["createPartner"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    client
        .gql(
            Some(admin),
            "mutation($p: ID!) { grantCredits(partnerId: $p, amount: 10000000, reference: \"heavy\") { id } }",
            json!({ "p": heavy }),
        )
        .await?;
    let token = client
        .gql(
            None,
            "mutation { login(login: \"heavy\", password: \"bench-password\") { token } }",
            json!({}),
        )
        .await?["login"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let key = client
        .gql(
            Some(&token),
            "mutation { createActivationKey(name: \"heavy\") { id } }",
            json!({}),
        )
        .await?["createActivationKey"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let db = &app.db;
    let started = Instant::now();
    let head: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(sequence), 0) FROM events WHERE aggregate_type = 'Partner' AND aggregate_id = $1",
    )
    .bind(&heavy)
    .fetch_one(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    let insert = match db.backend {
        projections::Backend::Postgres => {
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES ('Partner', $1, $2, 'LicenseAssigned', '1', $3::json, $4::json)"
        }
        projections::Backend::Sqlite => {
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES ('Partner', $1, $2, 'LicenseAssigned', '1', $3, $4)"
        }
    };
    let metadata = json!({
        "actor": heavy,
        "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
    .to_string();
    let mut written = 0;
    while written < n {
        let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
        for _ in 0..5_000.min(n - written) {
            written += 1;
            let event = aggregates::LedgerEvent::LicenseAssigned {
                license_id: format!("lic_heavy_{written}"),
                key_id: key.clone(),
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
                .bind(&heavy)
                .bind(head + written)
                .bind(payload)
                .bind(&metadata)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    let appended = started.elapsed().as_secs_f64();
    // The server's projector picks the events up; wait until every license
    // is in the view.
    let started = Instant::now();
    loop {
        app.projector.drain().await.map_err(|e| e.to_string())?;
        let projected: i64 =
            sqlx::query_scalar("SELECT count(*) FROM licenses WHERE owner_id = $1")
                .bind(&heavy)
                .fetch_one(&db.pool)
                .await
                .map_err(|e| e.to_string())?;
        if projected >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "a partner with {n} licenses: appended in {appended:.1} s, projected in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The first command reads every event and writes the first snapshot.
    let first = grant_latencies(client, admin, &heavy, "heavy-first", 1).await?;
    println!(
        "  first command, from {n} events:       {:>8.1} ms",
        first[0]
    );
    let heavy_took = grant_latencies(client, admin, &heavy, "heavy", 200).await?;
    let light_id = client
        .gql(Some(light_token), "{ me { id } }", json!({}))
        .await?["me"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let light_events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'Partner' AND aggregate_id = $1",
    )
    .bind(&light_id)
    .fetch_one(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    let light_took = grant_latencies(client, admin, &light_id, "light", 200).await?;
    println!(
        "  grantCredits one at a time (200), p50/p99: {:.1}/{:.1} ms; on a partner of {light_events} events: {:.1}/{:.1} ms",
        percentile(&heavy_took, 0.5),
        percentile(&heavy_took, 0.99),
        percentile(&light_took, 0.5),
        percentile(&light_took, 0.99),
    );
    Ok(Some(Heavy {
        id: heavy,
        key,
        token,
    }))
}

/// p50/p99 of the dashboard's query: supports whose endOfSupport falls in a
/// 30-day range, over `support_rows` rows; through GraphQL and in plain SQL.
async fn supports_range(
    args: &BenchArgs,
    app: &crate::app::App,
    serve: &ServeArgs,
) -> Result<(), String> {
    let db = &app.db;
    let started = Instant::now();
    // Synthetic rows written straight into the read model: this measures the
    // query, not the ingestion (which the figures above cover).
    let series = match db.backend {
        projections::Backend::Postgres => format!(
            "INSERT INTO supports (id, key_id, owner_id, scope_id, product, edition, users, starts_on, end_of_support,
                                   credits_spent, created_at, updated_at, position)
             SELECT 'sup_bench_' || i, 'key_bench', 'acc_bench_' || (i % 100), 'acc_bench_' || (i % 100),
                    'REMOTE_ACCESS', 'DESKTOP', 1, '2026-01-01',
                    to_char(date '2024-01-01' + (i % 1500), 'YYYY-MM-DD'), 12,
                    '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1000000000 + i
               FROM generate_series(1, {}) AS i",
            args.support_rows
        ),
        projections::Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {})
             INSERT INTO supports (id, key_id, owner_id, scope_id, product, edition, users, starts_on, end_of_support,
                                   credits_spent, created_at, updated_at, position)
             SELECT 'sup_bench_' || i, 'key_bench', 'acc_bench_' || (i % 100), 'acc_bench_' || (i % 100),
                    'REMOTE_ACCESS', 'DESKTOP', 1, '2026-01-01',
                    date('2024-01-01', '+' || (i % 1500) || ' days'), 12,
                    '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1000000000 + i
               FROM n",
            args.support_rows
        ),
    };
    sqlx::query(&series)
        .execute(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    if db.backend == projections::Backend::Postgres {
        sqlx::query("ANALYZE supports")
            .execute(&db.pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    println!(
        "inserted {} support rows in {:.1} s",
        args.support_rows,
        started.elapsed().as_secs_f64()
    );

    let running = crate::server::start(serve).await?;
    let client = Client {
        http: reqwest::Client::new(),
        url: format!("http://{}/graphql", running.addr),
    };
    let admin = client
        .gql(
            None,
            "mutation { login(login: \"admin\", password: \"bench-admin-password\") { token } }",
            json!({}),
        )
        .await?["login"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let query = "query($f: Date!, $t: Date!) { supports(filter: { endOfSupport: { from: $f, to: $t } }, first: 50) { totalCount edges { node { id endOfSupport } } } }";
    let mut api = Vec::new();
    let mut sql = Vec::new();
    let mut matched = 0;
    for round in 0..200 {
        let from = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default()
            + chrono::Days::new(round * 7 % 1400);
        let to = from + chrono::Days::new(29);
        let vars = json!({ "f": from.to_string(), "t": to.to_string() });
        let t = Instant::now();
        let d = client.gql(Some(&admin), query, vars).await?;
        api.push(t.elapsed().as_secs_f64() * 1000.0);
        matched = d["supports"]["totalCount"].as_i64().unwrap_or(0);
        let t = Instant::now();
        let (f, e) = (from.to_string(), to.to_string());
        let _: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM supports WHERE end_of_support >= $1 AND end_of_support <= $2",
        )
        .bind(&f)
        .bind(&e)
        .fetch_one(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
        sqlx::query(
            "SELECT id, end_of_support FROM supports WHERE end_of_support >= $1 AND end_of_support <= $2
              ORDER BY end_of_support, position LIMIT 51",
        )
        .bind(&f)
        .bind(&e)
        .fetch_all(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
        sql.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    api.sort_by(f64::total_cmp);
    sql.sort_by(f64::total_cmp);
    println!(
        "supports, 30-day endOfSupport range over {} rows (~{matched} match, first 50 + totalCount):",
        args.support_rows
    );
    println!(
        "  through GraphQL:  p50 {:>7.2} ms   p99 {:>7.2} ms",
        percentile(&api, 0.5),
        percentile(&api, 0.99)
    );
    println!(
        "  same SQL direct:  p50 {:>7.2} ms   p99 {:>7.2} ms",
        percentile(&sql, 0.5),
        percentile(&sql, 0.99)
    );
    running.stop().await;
    Ok(())
}

/// Server-side render times of the portal's pages for the heavy partner:
/// its 100,000 licenses, its credit history, and 1 % of the synthetic
/// supports handed to it. Each page is fetched 50 times in a row; the time is
/// the server's own (its Server-Timing header), so the client's parsing of
/// the HTML is left out.
async fn portal_pages(
    app: &crate::app::App,
    serve: &ServeArgs,
    heavy: &Heavy,
) -> Result<(), String> {
    let db = &app.db;
    let moved = sqlx::query(
        "UPDATE supports SET owner_id = $1, scope_id = $1, key_id = $2 WHERE owner_id = 'acc_bench_0'",
    )
    .bind(&heavy.id)
    .bind(&heavy.key)
    .execute(&db.pool)
    .await
    .map_err(|e| e.to_string())?
    .rows_affected();
    if db.backend == projections::Backend::Postgres {
        sqlx::query("ANALYZE")
            .execute(&db.pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    let running = crate::server::start(serve).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let base = format!("http://{}", running.addr);
    let cookie = format!("{}={}", crate::http::SESSION_COOKIE, heavy.token);
    let today = chrono::Utc::now().date_naive();
    let month = (today + chrono::Days::new(30)).to_string();
    let pages = [
        ("home", "/".to_string()),
        ("activation keys", "/keys".to_string()),
        ("licenses", "/licenses".to_string()),
        (
            "licenses, permanent Remote Access",
            "/licenses?product=REMOTE_ACCESS&kind=PERMANENT&status=ACTIVE".to_string(),
        ),
        (
            "licenses, search an email",
            "/licenses?q=user4242%40".to_string(),
        ),
        (
            "licenses, deleted (none are)",
            "/licenses?status=DELETED".to_string(),
        ),
        ("licenses, page 2", "/licenses?after=".to_string()),
        ("support", "/support".to_string()),
        (
            "support, ending in 30 days",
            format!("/support?from={today}&to={month}"),
        ),
        ("support, expired", "/support?expired=1".to_string()),
        ("subscriptions", "/subscriptions".to_string()),
        ("resellers", "/resellers".to_string()),
        ("credit history", "/credits".to_string()),
        ("generate a license", "/licenses/new".to_string()),
    ];
    println!(
        "portal pages, server-side render for a partner with {} licenses and {moved} supports (50 each):",
        heavy_count(db, &heavy.id).await?
    );
    for (label, path) in pages {
        let mut path = path;
        if path.ends_with("after=") {
            // The second page's cursor, as the first page's "Next" link gives it.
            let first = fetch_page(&http, &base, "/licenses", &cookie).await?.1;
            match next_link(&first) {
                Some(next) => path = next,
                None => continue,
            }
        }
        let mut took = Vec::with_capacity(50);
        for _ in 0..53 {
            took.push(fetch_page(&http, &base, &path, &cookie).await?.0);
        }
        // The first three warm the caches.
        let mut took = took.split_off(3);
        took.sort_by(f64::total_cmp);
        println!(
            "  {label:<36} p50 {:>7.2} ms   p99 {:>7.2} ms",
            percentile(&took, 0.5),
            percentile(&took, 0.99)
        );
    }
    running.stop().await;
    Ok(())
}

async fn heavy_count(db: &projections::Db, id: &str) -> Result<i64, String> {
    sqlx::query_scalar("SELECT count(*) FROM licenses WHERE owner_id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .map_err(|e| e.to_string())
}

/// One page: the server's time for it in ms, and its HTML.
async fn fetch_page(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: &str,
) -> Result<(f64, String), String> {
    let response = http
        .get(format!("{base}{path}"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{path} answered {}", response.status()));
    }
    let server = response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("dur=").nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("{path} has no Server-Timing header"))?;
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok((server, body))
}

/// The href of the page's "Next" link, HTML entities undone.
fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\"")?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&amp;", "&"))
}
