//! What durability costs and what memory the process keeps: grantCredits
//! per second with SQLite's `synchronous=FULL` (the default) and `NORMAL`
//! (SQLITE_SYNCHRONOUS), each on a fresh database; and the resident memory
//! of this process (server and clients together) at idle, after load, after
//! 100 concurrent sign-ins and after a pause.

use crate::BenchArgs;
use crate::api::Api;
use license_portal::config::{ServeArgs, Synchronous};
use std::time::Duration;
use testkit::Graphql;

pub async fn synchronous(args: &BenchArgs, serve: &ServeArgs) -> Result<(), String> {
    if !serve.db.database_url.starts_with("sqlite") {
        return Ok(());
    }
    for (sync, name) in [(Synchronous::Full, "FULL"), (Synchronous::Normal, "NORMAL")] {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let url = testkit::database::sqlite_url(dir.path(), "durability.db");
        let mut serve = testkit::server::serve_args(url, dir.path(), crate::ADMIN_PASSWORD);
        serve.db.sqlite_synchronous = sync;
        let running = testkit::server::start(&serve).await?;
        let api = Api::set_up(args, Graphql::new(running.addr)).await?;
        print!("synchronous={name:<6} ");
        api.grants(args).await?;
        running.stop().await;
    }
    Ok(())
}

/// VmRSS of this process, in MB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn print_rss(when: &str) {
    println!(
        "resident memory {when:<28} {:>8.0} MB (state cache ~{:.0} MB)",
        rss_mb(),
        license_portal::event_store::cache_bytes() as f64 / 1e6
    );
}

/// 100 sign-ins at once (argon2 hashing is the memory a sign-in takes).
pub async fn sign_ins(client: &Graphql) -> Result<(), String> {
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client
                .login("bench0", crate::api::PARTNER_PASSWORD)
                .await
                .map(|_| ())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

pub async fn pause() {
    tokio::time::sleep(Duration::from_secs(10)).await;
}
