//! From the log to the endpoints. The consumer writes one delivery row per
//! event and endpoint that may see it and asked for it, in the same
//! transaction as its checkpoint: after a crash it resumes at the first event
//! whose rows were not committed, so no event is lost or queued twice (a
//! batch that made no rows moves the checkpoint lazily, see
//! `LazyCheckpoint`: its events are read again, and make none again). The
//! sender claims a row with a lease (an UPDATE that only one process wins),
//! posts it, and records the answer; a process dying mid-send leaves the
//! lease to run out and the row is sent again (at least once: receivers
//! de-duplicate by `Webhook-Id`).

use super::{Webhooks, event_data, event_type, payload, signing};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use projections::db::WriteOn;
use projections::db::{opt_text, parse_time, text, time_text};
use projections::log;
use projections::pacing::Pacing;
use projections::projector::load_checkpoint;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

const CONSUMER: &str = "webhooks";
const BATCH: i64 = 200;
const POLL: Duration = Duration::from_millis(250);

/// An endpoint as the consumer and the reminders match events against it.
pub struct Endpoint {
    pub id: String,
    pub owner_id: String,
    pub owner_is_admin: bool,
    pub event_types: Vec<String>,
    pub created_at: String,
}

impl Endpoint {
    /// Whether this endpoint is told of `event_type` on `account` (whose
    /// partner is `parent`): the administrator's endpoints hear of every
    /// account, a partner's of itself and its resellers, a reseller's of
    /// itself.
    pub fn wants(&self, event_type: &str, account: &str, parent: Option<&str>) -> bool {
        self.event_types.iter().any(|t| t == event_type)
            && (self.owner_is_admin
                || self.owner_id == account
                || parent == Some(self.owner_id.as_str()))
    }

    /// Whether the event recorded `at` is one this endpoint may hear of: it
    /// hears of what happened after it was made. (The consumer reads some
    /// events twice after a restart, with the endpoints of then.)
    fn existed_at(&self, at: &str) -> bool {
        match (parse_time(&self.created_at), parse_time(at)) {
            (Some(made), Some(at)) => made <= at,
            _ => true,
        }
    }
}

/// The enabled endpoints.
pub async fn enabled_endpoints(db: &projections::Db) -> AppResult<Vec<Endpoint>> {
    let rows = sqlx::query(
        "SELECT w.id, w.owner_id, w.event_types, w.created_at, a.role FROM webhooks w
           LEFT JOIN accounts a ON a.id = w.owner_id
          WHERE w.enabled = 1",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Endpoint {
                id: text(r, "id")?,
                owner_id: text(r, "owner_id")?,
                owner_is_admin: opt_text(r, "role")?.as_deref() == Some("ADMIN"),
                event_types: text(r, "event_types")?
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
                created_at: text(r, "created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// One delivery to insert.
pub struct NewDelivery {
    pub webhook_id: String,
    pub message_id: String,
    pub event_type: &'static str,
    pub payload: String,
}

/// The message `message_id` for each endpoint in `endpoints` that wants
/// an `event_type` of `account` (whose partner is `parent`).
pub fn fan_out<'a>(
    endpoints: impl IntoIterator<Item = &'a Endpoint> + 'a,
    message_id: &'a str,
    event_type: &'static str,
    (account, parent): (&'a str, Option<&'a str>),
    payload: &'a str,
) -> impl Iterator<Item = NewDelivery> + 'a {
    endpoints
        .into_iter()
        .filter(move |w| w.wants(event_type, account, parent))
        .map(move |w| NewDelivery {
            webhook_id: w.id.clone(),
            message_id: message_id.to_string(),
            event_type,
            payload: payload.to_string(),
        })
}

/// Inserts deliveries inside `tx`, numbered after every row there is (the
/// order the sender keeps per endpoint). A message an endpoint already has
/// is skipped.
pub async fn insert_deliveries(
    tx: &mut projections::db::WriteTx,
    max_attempts: u32,
    deliveries: &[NewDelivery],
) -> AppResult<usize> {
    if deliveries.is_empty() {
        return Ok(0);
    }
    let mut seq: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM webhook_deliveries")
        .fetch_one(&mut **tx)
        .await?;
    let now = time_text(Utc::now());
    let mut inserted = 0;
    for d in deliveries {
        seq += 1;
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries
               (id, seq, webhook_id, message_id, event_type, payload, status, attempts,
                max_attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', 0, $7, $8, $8)
             ON CONFLICT (webhook_id, message_id) DO NOTHING",
        )
        .bind(format!("dlv_{}", uuid::Uuid::new_v4().simple()))
        .bind(seq)
        .bind(&d.webhook_id)
        .bind(&d.message_id)
        .bind(d.event_type)
        .bind(&d.payload)
        .bind(i64::from(max_attempts))
        .bind(&now)
        .execute(&mut **tx)
        .await?;
        inserted += done.rows_affected() as usize;
    }
    Ok(inserted)
}

/// A delivery claimed for one attempt, decoded by column name: the fields
/// are the names `claim_due` selects.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    webhook_id: String,
    message_id: String,
    payload: String,
    attempts: i64,
    max_attempts: i64,
    url: String,
    secret: String,
}

/// What one attempt came to.
struct Outcome {
    code: Option<i64>,
    error: Option<String>,
}

impl Webhooks {
    /// Turns the next events of the log into deliveries; returns how many
    /// events it read. Only events the views already show are read, so an
    /// event's account and its partner are known.
    pub async fn enqueue_once(&self) -> AppResult<usize> {
        let stored = load_checkpoint(&self.db, CONSUMER).await?;
        let from = self.read.from(stored);
        let views = load_checkpoint(&self.db, "views").await?;
        if views <= from {
            return Ok(0);
        }
        let mut events = log::read_after(&self.db, from, BATCH).await?;
        events.retain(|e| e.at_log <= views);
        let Some(last) = events.last().map(|e| e.at_log) else {
            return Ok(0);
        };
        let endpoints = enabled_endpoints(&self.db).await?;
        let mut parents: HashMap<String, Option<String>> = HashMap::new();
        let mut rows = Vec::new();
        if !endpoints.is_empty() {
            for e in &events {
                let Some(kind) = event_type(&e.event) else {
                    continue;
                };
                if !endpoints
                    .iter()
                    .any(|w| w.event_types.iter().any(|t| t == kind))
                {
                    continue;
                }
                if !parents.contains_key(&e.aggregate_id) {
                    let parent = projections::queries::account(&self.db, &e.aggregate_id)
                        .await?
                        .and_then(|a| a.parent_id);
                    parents.insert(e.aggregate_id.clone(), parent);
                }
                let parent = parents.get(&e.aggregate_id).cloned().flatten();
                let message_id = format!("msg_{}", e.position());
                let body = payload(
                    &message_id,
                    kind,
                    &e.at,
                    &e.aggregate_id,
                    event_data(&e.event),
                );
                let to = (e.aggregate_id.as_str(), parent.as_deref());
                let heard = endpoints.iter().filter(|w| w.existed_at(&e.at));
                rows.extend(fan_out(heard, &message_id, kind, to, &body));
            }
        }
        let write = !rows.is_empty() || self.read.due();
        if write {
            let Some(mut tx) = self.read.advance(&self.db, CONSUMER, stored, last).await? else {
                return Ok(0);
            };
            let made =
                insert_deliveries(&mut tx, self.settings.webhook_max_attempts, &rows).await?;
            tx.commit().await?;
            if made > 0 {
                self.nudge();
            }
        }
        self.read.read_to(last, write);
        Ok(events.len())
    }

    pub async fn run_consumer(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut pacing = Pacing::new(POLL);
        loop {
            match self.enqueue_once().await {
                Ok(n) if n > 0 => {
                    pacing.worked();
                    continue;
                }
                Ok(_) => pacing.worked(),
                Err(e) => {
                    tracing::error!(error = %e, "webhook consumer failed; retrying");
                    pacing.failed();
                }
            }
            if !pacing.wait(None, &mut shutdown).await {
                return;
            }
        }
    }

    /// How long a claim holds a delivery: longer than any attempt can take.
    fn lease(&self) -> ChronoDuration {
        ChronoDuration::milliseconds(
            i64::try_from(self.settings.webhook_timeout_ms).unwrap_or(i64::MAX / 4) + 5_000,
        )
    }

    /// Claims the due deliveries: for each enabled endpoint, only its oldest
    /// pending one, so each endpoint gets its events in log order.
    async fn claim_due(&self, busy: &HashSet<String>) -> AppResult<Vec<Claimed>> {
        let now = Utc::now();
        let now_text = time_text(now);
        let due: Vec<Claimed> = sqlx::query_as(
            "SELECT d.id, d.webhook_id, d.message_id, d.payload, d.attempts, d.max_attempts,
                    w.url, w.secret
               FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
              WHERE w.enabled = 1 AND d.status = 'PENDING'
                AND d.seq = (SELECT min(x.seq) FROM webhook_deliveries x
                              WHERE x.webhook_id = d.webhook_id AND x.status = 'PENDING')
                AND d.next_attempt_at <= $1
                AND (d.lease_until IS NULL OR d.lease_until < $1)
              ORDER BY d.next_attempt_at LIMIT 50",
        )
        .bind(&now_text)
        .fetch_all(&self.db.pool)
        .await?;
        let lease_until = time_text(now + self.lease());
        let mut claimed = Vec::new();
        for c in due {
            if busy.contains(&c.webhook_id) {
                continue;
            }
            let won = sqlx::query(
                "UPDATE webhook_deliveries SET lease_until = $1
                  WHERE id = $2 AND status = 'PENDING'
                    AND (lease_until IS NULL OR lease_until < $3)",
            )
            .bind(&lease_until)
            .bind(&c.id)
            .bind(&now_text)
            .write_on(&self.db)
            .await?;
            if won.rows_affected() == 1 {
                claimed.push(c);
            }
        }
        Ok(claimed)
    }

    async fn post(&self, d: &Claimed) -> Outcome {
        let timestamp = Utc::now().timestamp();
        let Some(signature) = signing::signature(&d.secret, &d.message_id, timestamp, &d.payload)
        else {
            return Outcome {
                code: None,
                error: Some("the endpoint's secret cannot be read".into()),
            };
        };
        let sent = self
            .http
            .post(&d.url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(d.payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                Outcome {
                    code: Some(i64::from(status.as_u16())),
                    error: (!status.is_success()).then(|| format!("HTTP {status}")),
                }
            }
            Err(e) => Outcome {
                code: None,
                error: Some(e.to_string()),
            },
        }
    }

    /// The pause before attempt `attempts + 1`, after `attempts` failures.
    pub fn backoff(&self, attempts: i64) -> ChronoDuration {
        let base = i64::try_from(self.settings.webhook_retry_base_ms).unwrap_or(i64::MAX);
        let factor = 1i64 << (attempts - 1).clamp(0, 20);
        ChronoDuration::milliseconds(base.saturating_mul(factor))
    }

    /// Records an attempt's outcome; the row only changes if no other
    /// process recorded this attempt first.
    async fn record(&self, d: &Claimed, outcome: Outcome) -> AppResult<()> {
        let now = Utc::now();
        let attempts = d.attempts + 1;
        let succeeded = outcome.error.is_none();
        let (status, next) = if succeeded {
            ("SUCCEEDED", None)
        } else if attempts >= d.max_attempts {
            ("FAILED", None)
        } else {
            ("PENDING", Some(time_text(now + self.backoff(attempts))))
        };
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries
                SET status = $1, attempts = $2, last_response_code = $3, last_error = $4,
                    last_attempt_at = $5, next_attempt_at = $6, lease_until = NULL
              WHERE id = $7 AND status = 'PENDING' AND attempts = $8",
        )
        .bind(status)
        .bind(attempts)
        .bind(outcome.code)
        .bind(outcome.error.as_deref())
        .bind(time_text(now))
        .bind(next)
        .bind(&d.id)
        .bind(d.attempts)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(());
        }
        if succeeded {
            sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = $1")
                .bind(&d.webhook_id)
                .execute(&mut *tx)
                .await?;
        } else {
            self.note_failure(&mut tx, &d.webhook_id, now).await?;
        }
        tx.commit().await?;
        if let Some(error) = outcome.error {
            tracing::warn!(delivery = d.id, attempts, error, "webhook delivery failed");
        }
        Ok(())
    }

    /// Marks an endpoint failing; one failing for longer than the setting is
    /// disabled and its owner emailed, in the same transaction.
    async fn note_failure(
        &self,
        tx: &mut projections::db::WriteTx,
        webhook_id: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let now_text = time_text(now);
        sqlx::query(
            "UPDATE webhooks SET failing_since = coalesce(failing_since, $1) WHERE id = $2",
        )
        .bind(&now_text)
        .bind(webhook_id)
        .execute(&mut **tx)
        .await?;
        let hours = i64::try_from(self.settings.webhook_disable_after_hours)
            .unwrap_or(i64::MAX / 3_600_000);
        let limit = time_text(now - ChronoDuration::hours(hours));
        let disabled = sqlx::query(
            "UPDATE webhooks SET enabled = 0
              WHERE id = $1 AND enabled = 1 AND failing_since <= $2",
        )
        .bind(webhook_id)
        .bind(&limit)
        .execute(&mut **tx)
        .await?;
        if disabled.rows_affected() == 1 {
            let row = sqlx::query("SELECT owner_id, url FROM webhooks WHERE id = $1")
                .bind(webhook_id)
                .fetch_one(&mut **tx)
                .await?;
            let owner = text(&row, "owner_id")?;
            let url = text(&row, "url")?;
            let body = format!(
                "Hello,\n\nThe webhook endpoint {url} has failed every delivery for {hours} hours, \
                 so it has been disabled. Events are no longer sent to it.\n\n\
                 Once it answers again, enable it at {portal}/webhooks; deliveries that failed \
                 can be sent again from there.\n",
                portal = self.public_url,
            );
            crate::webhooks::reminders::queue_email(
                tx,
                &format!("webhook-disabled:{webhook_id}:{now_text}"),
                "webhook_disabled",
                &owner,
                "A webhook endpoint was disabled",
                &body,
            )
            .await?;
            tracing::warn!(
                webhook = webhook_id,
                url,
                "webhook endpoint disabled after failing"
            );
        }
        Ok(())
    }

    pub async fn run_sender(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut in_flight: JoinSet<String> = JoinSet::new();
        let mut busy: HashSet<String> = HashSet::new();
        loop {
            while let Some(done) = in_flight.try_join_next() {
                if let Ok(webhook) = done {
                    busy.remove(&webhook);
                }
            }
            match self.claim_due(&busy).await {
                Ok(claimed) => {
                    for d in claimed {
                        busy.insert(d.webhook_id.clone());
                        let me = self.clone();
                        in_flight.spawn(async move {
                            let outcome = me.post(&d).await;
                            if let Err(e) = me.record(&d, outcome).await {
                                // The lease runs out and the delivery is sent again.
                                tracing::error!(delivery = d.id, error = %e, "recording a webhook attempt");
                            }
                            me.nudge();
                            d.webhook_id
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "claiming webhook deliveries"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {
                    // Unfinished attempts keep their lease and are sent
                    // again once it runs out, by this server or another.
                    in_flight.abort_all();
                    return;
                }
            }
        }
    }
}
