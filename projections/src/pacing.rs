//! How the background consumers (projector, transfers, webhooks, mail,
//! reminders) wait between rounds: one rhythm, so a failing database is
//! retried the same way everywhere.

use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The longest pause after repeated failures.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// The pause before the next round: `idle` after a quiet round, doubling up
/// to five seconds while rounds fail.
pub struct Pacing {
    idle: Duration,
    pause: Duration,
}

impl Pacing {
    pub fn new(idle: Duration) -> Self {
        Pacing { idle, pause: idle }
    }

    /// A round that worked: the next pause is the idle one again.
    pub fn worked(&mut self) {
        self.pause = self.idle;
    }

    /// A round that failed: wait longer before the next one.
    pub fn failed(&mut self) {
        self.pause = (self.pause * 2).min(MAX_PAUSE);
    }

    /// Waits the pause, or less when `wake` is notified; false once
    /// `shutdown` changes (the consumer should return).
    pub async fn wait(&self, wake: Option<&Notify>, shutdown: &mut watch::Receiver<bool>) -> bool {
        let woken = async {
            match wake {
                Some(w) => w.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = woken => true,
            _ = tokio::time::sleep(self.pause) => true,
            _ = shutdown.changed() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_double_the_pause_up_to_five_seconds_and_a_success_resets_it() {
        let mut p = Pacing::new(Duration::from_millis(200));
        p.failed();
        assert_eq!(p.pause, Duration::from_millis(400));
        for _ in 0..10 {
            p.failed();
        }
        assert_eq!(p.pause, MAX_PAUSE);
        p.worked();
        assert_eq!(p.pause, Duration::from_millis(200));
    }
}
