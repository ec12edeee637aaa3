//! The process manager: follows the global log and finishes every operation
//! that writes to two streams. It credits each reseller for every partner's
//! CreditsTransferredOut, and records each ResellerRegistered on the
//! partner's stream (AddReseller). Both second steps are idempotent (by
//! transfer id, by reseller id) and the checkpoint only moves after them, so
//! a crash between the two steps delays the second, never loses or doubles it.

use crate::error::{AppError, AppResult};
use crate::ledgers::{Actor, Ledgers};
use aggregates::{LedgerCommand, LedgerEvent, Role};
use projections::Db;
use projections::log::{self, LogPosition};
use projections::pacing::Pacing;
use projections::projector::{LazyCheckpoint, load_checkpoint};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The name of its checkpoint; `verify` reads it to tell a second step still
/// to come from one the process passed by.
pub const CONSUMER: &str = "transfers";
pub struct Transfers {
    db: Db,
    ledgers: Arc<Ledgers>,
    wake: Notify,
    progress: watch::Sender<LogPosition>,
    seen: LazyCheckpoint,
}

impl Transfers {
    pub fn new(db: Db, ledgers: Arc<Ledgers>) -> Arc<Transfers> {
        let (progress, _) = watch::channel(LogPosition::default());
        Arc::new(Transfers {
            db,
            ledgers,
            wake: Notify::new(),
            progress,
            seen: LazyCheckpoint::default(),
        })
    }

    pub async fn run_once(&self) -> AppResult<usize> {
        let stored = load_checkpoint(&self.db, CONSUMER).await?;
        let from = self.seen.from(stored);
        let events = log::read_after(&self.db, from, 100).await?;
        let Some(last) = events.last().map(|e| e.at_log) else {
            self.progress
                .send_if_modified(|p| std::mem::replace(p, from) != from);
            return Ok(0);
        };
        let mut worked = false;
        for e in &events {
            let (role, target, command, what) = match &e.event {
                LedgerEvent::CreditsTransferredOut {
                    transfer_id,
                    reseller_id,
                    amount,
                    ..
                } => (
                    Role::Reseller,
                    reseller_id,
                    LedgerCommand::ReceiveTransfer {
                        transfer_id: transfer_id.clone(),
                        partner_id: e.aggregate_id.clone(),
                        amount: *amount,
                    },
                    "transfer",
                ),
                LedgerEvent::ResellerRegistered { partner_id, .. } => (
                    Role::Partner,
                    partner_id,
                    LedgerCommand::AddReseller {
                        reseller_id: e.aggregate_id.clone(),
                    },
                    "reseller registration",
                ),
                _ => continue,
            };
            worked = true;
            let outcome = self
                .ledgers
                .execute(role, target, command, &Actor::System("transfers"))
                .await;
            match outcome {
                Ok(_) => {}
                // A storage failure is retried from the same checkpoint.
                Err(e @ AppError::Internal(_)) => return Err(e),
                // A refusal will not change on retry; stopping here would
                // hold up every later operation. It stays visibly incomplete
                // (a transfer in flight, a reseller its partner does not
                // list) for `verify` and an operator to see.
                Err(refusal) => tracing::error!(
                    source = %e.aggregate_id,
                    target = %target,
                    error = %refusal,
                    "the second step of a {what} was refused; it stays incomplete"
                ),
            }
        }
        let write = worked || self.seen.due();
        if write {
            let Some(tx) = self.seen.advance(&self.db, CONSUMER, stored, last).await? else {
                return Ok(0);
            };
            tx.commit().await?;
        }
        self.seen.read_to(last, write);
        self.progress.send_replace(last);
        Ok(events.len())
    }

    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut pacing = Pacing::new(Duration::from_millis(200));
        loop {
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => pacing.worked(),
                Err(e) => {
                    tracing::error!(error = %e, "transfer process failed; retrying");
                    pacing.failed();
                }
            }
            if !pacing.wait(Some(&self.wake), &mut shutdown).await {
                return;
            }
        }
    }

    /// Waits until every transfer and registration up to `position` has had
    /// its second step.
    pub async fn wait_for(&self, position: LogPosition, timeout: Duration) -> bool {
        let rx = self.progress.subscribe();
        self.wake.notify_one();
        projections::projector::reached(rx, position, timeout).await
    }
}
