//! Fixed-window rate limits kept in memory, for device calls.

use crate::error::{AppError, AppResult};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    per_window: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(per_window: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            per_window,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one call against every name; refuses when any is over its limit.
    pub fn check(&self, first: &str, second: &str) -> AppResult<()> {
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        for name in [first, second] {
            let entry = counts.entry(name.to_string()).or_insert((now, 0));
            if now.duration_since(entry.0) >= self.window {
                *entry = (now, 0);
            }
            entry.1 += 1;
            if entry.1 > self.per_window {
                let wait = self
                    .window
                    .saturating_sub(now.duration_since(entry.0))
                    .as_secs()
                    + 1;
                return Err(AppError::RateLimited(format!(
                    "too many device requests; try again in {wait} s"
                )));
            }
        }
        Ok(())
    }
}
