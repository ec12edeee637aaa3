//! The transfer process manager: follows the global log and credits each
//! reseller for every partner's CreditsTransferredOut. ReceiveTransfer is
//! idempotent by transfer id and the checkpoint only moves after the credit,
//! so a crash between the two steps delays a credit, never loses or doubles it.

use crate::error::{AppError, AppResult};
use crate::store::{Actor, Ledgers};
use aggregates::{LedgerCommand, LedgerEvent, Role};
use projections::Db;
use projections::log::{self, LogPosition};
use projections::projector::{advance_checkpoint, load_checkpoint};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

const CONSUMER: &str = "transfers";

pub struct Transfers {
    db: Db,
    ledgers: Arc<Ledgers>,
    wake: Notify,
    progress: watch::Sender<LogPosition>,
}

impl Transfers {
    pub fn new(db: Db, ledgers: Arc<Ledgers>) -> Arc<Transfers> {
        let (progress, _) = watch::channel(LogPosition::default());
        Arc::new(Transfers {
            db,
            ledgers,
            wake: Notify::new(),
            progress,
        })
    }

    pub async fn run_once(&self) -> AppResult<usize> {
        let from = load_checkpoint(&self.db, CONSUMER).await?;
        let events = log::read_after(&self.db, from, 100).await?;
        let Some(last) = events.last().map(|e| e.at_log) else {
            self.progress
                .send_if_modified(|p| std::mem::replace(p, from) != from);
            return Ok(0);
        };
        for e in &events {
            if let LedgerEvent::CreditsTransferredOut {
                transfer_id,
                reseller_id,
                amount,
                ..
            } = &e.event
            {
                let command = LedgerCommand::ReceiveTransfer {
                    transfer_id: transfer_id.clone(),
                    partner_id: e.aggregate_id.clone(),
                    amount: *amount,
                };
                let outcome = self
                    .ledgers
                    .execute(
                        Role::Reseller,
                        reseller_id,
                        command,
                        &Actor::System("transfers"),
                    )
                    .await;
                match outcome {
                    Ok(_) => {}
                    // A storage failure is retried from the same checkpoint.
                    Err(AppError::Internal) => return Err(AppError::Internal),
                    // A refusal will not change on retry; stopping here would
                    // hold up every later transfer. The transfer stays visibly
                    // in flight for `verify` and an operator to see.
                    Err(refusal) => tracing::error!(
                        transfer_id,
                        reseller_id,
                        error = %refusal,
                        "reseller refused a transfer; it stays in flight"
                    ),
                }
            }
        }
        let mut tx = self.db.begin_write().await?;
        if advance_checkpoint(&mut tx, CONSUMER, from, last).await? {
            tx.commit().await?;
            self.progress.send_replace(last);
        } else {
            tx.rollback().await?;
        }
        Ok(events.len())
    }

    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => backoff = Duration::from_millis(200),
                Err(e) => {
                    tracing::error!(error = %e, "transfer process failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Waits until every transfer up to `position` has been credited.
    pub async fn wait_for(&self, position: LogPosition, timeout: Duration) -> bool {
        let mut rx = self.progress.subscribe();
        self.wake.notify_one();
        let reached = async {
            loop {
                if *rx.borrow_and_update() >= position {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(timeout, reached).await.is_ok()
    }
}
