//! The benchmark: throughput and latency figures, printed. Runs a real
//! server on a fresh database and drives it over HTTP with GraphQL, next to
//! the same work done directly in SQL as the baseline.
//!
//! `cargo run -p bench --release -- [--database URL] [--seconds N] …`

mod abuse;
mod api;
mod durability;
mod heavy;
mod measure;
mod portal;
mod replay;
mod supports;
mod webhooks;

use clap::Parser;
use license_portal::config::ServeArgs;
use std::process::ExitCode;
use testkit::{Graphql, ScratchDatabase};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "bench",
    about = "Measure license-portal's throughput and latency"
)]
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
    /// Run only the abuse phase (the request limits' figures).
    #[arg(long)]
    pub abuse_only: bool,
    /// Only the durability phase: grantCredits/s with synchronous FULL and
    /// NORMAL (SQLite), then stop.
    #[arg(long)]
    pub durability_only: bool,
    /// Only the webhook phase: deliveries/s to a local receiver, and the
    /// API's latency beside a receiver that never answers.
    #[arg(long)]
    pub webhooks_only: bool,
    /// Only what the replay needs: the API phases write a log (with
    /// `--heavy-licenses` licenses appended), the server stops, every view
    /// is rebuilt and the replay's figure printed, then stop.
    #[arg(long)]
    pub replay_only: bool,
}

/// The first administrator's password on the bench's server.
pub const ADMIN_PASSWORD: &str = "bench-operator-pass";

fn main() -> ExitCode {
    let args = BenchArgs::parse();
    // The bulk loads trip sqlx's slow-statement warning by design; the
    // output is the figures.
    let work = async { run(args).await.map(|()| ExitCode::SUCCESS) };
    license_portal::cli::run_to_exit("warn,sqlx=error", work)
}

async fn run(args: BenchArgs) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (database_url, scratch) = match &args.database_url {
        None => (testkit::database::sqlite_url(dir.path(), "bench.db"), None),
        Some(url) if url.starts_with("postgres") => {
            let scratch = ScratchDatabase::create(url, "lp_bench").await?;
            (scratch.url.clone(), Some(scratch))
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
    let mut serve = testkit::server::serve_args(database_url, dir.path(), ADMIN_PASSWORD);
    // Thousands of activations from one address: the limit would be measured.
    serve.device_rate_limit = u32::MAX;
    // 100 sign-ins at once from one address are each counted before their
    // password is checked (see app/lockout.rs): the limits would refuse most
    // of the memory phase's sign-ins, which are what it measures.
    serve.security.signin_client_failures = u32::MAX;
    serve.security.signin_account_failures = u32::MAX;
    let result = phases(&args, &serve).await;
    if let Some(scratch) = scratch {
        scratch.drop().await;
    }
    result
}

/// Every phase in turn: the API's throughput on a running server, abuse,
/// the large aggregate, then (server stopped) the replay, and on fresh
/// servers over the same database the supports range and the portal's pages.
async fn phases(args: &BenchArgs, serve: &ServeArgs) -> Result<(), String> {
    if args.replay_only {
        return replay_only(args, serve).await;
    }
    if !(args.abuse_only || args.webhooks_only) {
        durability::synchronous(args, serve).await?;
    }
    if args.durability_only {
        return Ok(());
    }
    let running = testkit::server::start(serve).await?;
    durability::print_rss("at idle after start");
    let client = Graphql::new(running.addr);
    if args.abuse_only {
        let admin = client.login("admin", ADMIN_PASSWORD).await?;
        let result = abuse::phase(&client, &admin).await;
        running.stop().await;
        return result;
    }
    if args.webhooks_only {
        let admin = client.login("admin", ADMIN_PASSWORD).await?;
        let result = webhooks::phase(args, &client, &admin).await;
        running.stop().await;
        return result;
    }
    let api = api::Api::set_up(args, client.clone()).await?;
    let grants = api.grants(args).await?;
    let licenses = api.assign_licenses(args).await?;
    api.activations(args).await?;
    api::inserts_baseline(
        args,
        &running.app.db,
        &[("grantCredits", &grants), ("assignLicense", &licenses)],
    )
    .await?;
    abuse::phase(&client, &api.admin).await?;
    webhooks::phase(args, &client, &api.admin).await?;
    durability::print_rss("after the API phases");
    durability::sign_ins(&client).await?;
    durability::print_rss("after 100 concurrent sign-ins");
    durability::pause().await;
    durability::print_rss("after 10 s idle");
    let heavy = heavy_partner(args, serve, &client, &api, &running.app).await?;
    durability::print_rss("after the large-account phase");
    running.stop().await;

    let app = replay::all_views(serve).await?;
    supports::range(args, &app, serve).await?;
    match heavy {
        Some(heavy) => portal::pages(&app, serve, &heavy).await,
        None => Ok(()),
    }
}

/// The large-account phase on the first client's partner, with the
/// server's bound of its state cache in bytes.
async fn heavy_partner(
    args: &BenchArgs,
    serve: &ServeArgs,
    client: &Graphql,
    api: &api::Api,
    app: &license_portal::app::App,
) -> Result<Option<heavy::Heavy>, String> {
    let cache_limit = serve.db.aggregate_cache_mb.saturating_mul(1024 * 1024);
    heavy::partner(
        args,
        client,
        &api.admin,
        &api.partners[0].1,
        app,
        cache_limit,
    )
    .await
}

/// `--replay-only`: a log from the API phases and the large partner, then
/// the replay of every view.
async fn replay_only(args: &BenchArgs, serve: &ServeArgs) -> Result<(), String> {
    let running = testkit::server::start(serve).await?;
    let client = Graphql::new(running.addr);
    let api = api::Api::set_up(args, client.clone()).await?;
    api.grants(args).await?;
    api.assign_licenses(args).await?;
    api.activations(args).await?;
    heavy_partner(args, serve, &client, &api, &running.app).await?;
    running.stop().await;
    replay::all_views(serve).await?;
    Ok(())
}
