//! How the figures are taken: operations per second from concurrent
//! clients, and percentiles of latencies.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a throughput phase measured: operations per second, and the
/// latency of each operation as its client saw it.
pub struct Rate {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>10.0} /s, p50/p99 {:.1}/{:.1} ms",
            self.per_second, self.p50_ms, self.p99_ms
        )
    }
}

/// Runs `op(client index, iteration)` from every client for `seconds`.
pub async fn throughput<F, Fut>(clients: usize, seconds: u64, op: F) -> Result<Rate, String>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let one = Instant::now();
                op(c, i).await?;
                took.push(ms_since(one));
                i += 1;
            }
            Ok::<Vec<f64>, String>(took)
        }));
    }
    let mut took = Vec::new();
    for t in tasks {
        took.extend(t.await.map_err(|e| e.to_string())??);
    }
    let per_second = took.len() as f64 / started.elapsed().as_secs_f64();
    took.sort_by(f64::total_cmp);
    Ok(Rate {
        per_second,
        p50_ms: percentile(&took, 0.5),
        p99_ms: percentile(&took, 0.99),
    })
}

/// The `p` percentile (0 to 1) of sorted figures; 0 when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The median and 99th percentile of sorted latencies, for a report line.
pub fn p50_p99(sorted: &[f64]) -> String {
    format!(
        "p50 {:>7.2} ms   p99 {:>7.2} ms",
        percentile(sorted, 0.5),
        percentile(sorted, 0.99)
    )
}

/// Milliseconds since `started`.
pub fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
