//! The daily support reminders: `SUPPORT_ENDING_SOON` 30 and 7 days before a
//! support's End of Support, `SUPPORT_EXPIRED` the day after, once per
//! support and End of Support date (an extension moves the date, so the new
//! period is reminded again). A day is claimed by moving the job's
//! checkpoint in the same transaction as the notices, deliveries and digest
//! emails it writes: with several servers, one does each day's work.

use super::Webhooks;
use super::deliveries::{enabled_endpoints, fan_out, insert_deliveries};
use crate::error::AppResult;
use chrono::{Days, NaiveDate, Utc};
use projections::db::{date_text, int, opt_text, text, time_text};
use projections::pacing::Pacing;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const JOB: &str = "support";
/// How often the job looks whether a new day has begun.
const POLL: Duration = Duration::from_secs(60);
/// Supports that ended longer ago than this are not reported as expired
/// (a server that was down a while catches up a week, not all history).
const EXPIRED_CATCH_UP_DAYS: u64 = 7;

/// One notice due today.
struct Notice {
    support_id: String,
    end_of_support: String,
    notice: &'static str,
    event_type: &'static str,
    owner_id: String,
    parent_id: Option<String>,
    owner_role: String,
    key: String,
    product: String,
    edition: String,
    customer_email: Option<String>,
}

/// Queues an email in the outbox (sent by the mailer) inside `tx`; a second
/// one with the same id is skipped.
pub async fn queue_email(
    tx: &mut projections::db::WriteTx,
    id: &str,
    kind: &str,
    account_id: &str,
    subject: &str,
    body: &str,
) -> AppResult<()> {
    let now = time_text(Utc::now());
    sqlx::query(
        "INSERT INTO outbox (id, kind, account_id, created_at, next_attempt_at, subject, body)
         VALUES ($1, $2, $3, $4, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(account_id)
    .bind(&now)
    .bind(subject)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn plus(day: NaiveDate, days: u64) -> String {
    date_text(day.checked_add_days(Days::new(days)).unwrap_or(day))
}

fn minus(day: NaiveDate, days: u64) -> String {
    date_text(day.checked_sub_days(Days::new(days)).unwrap_or(day))
}

impl Webhooks {
    /// Runs the reminders of `today` unless a process already has; returns
    /// how many notices it sent.
    pub async fn remind(&self, today: NaiveDate) -> AppResult<usize> {
        let day = date_text(today);
        let mut tx = self.db.begin_write().await?;
        let claimed =
            sqlx::query("UPDATE reminder_runs SET last_day = $1 WHERE job = $2 AND last_day < $1")
                .bind(&day)
                .bind(JOB)
                .execute(&mut *tx)
                .await?;
        if claimed.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(0);
        }
        // (notice, event type, first and last End of Support date in range)
        let windows = [
            ("30", "SUPPORT_ENDING_SOON", plus(today, 8), plus(today, 30)),
            ("7", "SUPPORT_ENDING_SOON", day.clone(), plus(today, 7)),
            (
                "expired",
                "SUPPORT_EXPIRED",
                minus(today, EXPIRED_CATCH_UP_DAYS),
                minus(today, 1),
            ),
        ];
        let mut notices = Vec::new();
        for (notice, event_type, from, to) in windows {
            let rows = sqlx::query(
                "SELECT s.id, s.end_of_support, s.owner_id, s.product, s.edition,
                        a.parent_id, a.role, k.key,
                        (SELECT min(l.email) FROM licenses l WHERE l.key_id = s.key_id) AS customer_email
                   FROM supports s
                   JOIN accounts a ON a.id = s.owner_id
                   JOIN activation_keys k ON k.id = s.key_id
                   LEFT JOIN support_reminders r
                     ON r.support_id = s.id AND r.end_of_support = s.end_of_support AND r.notice = $1
                  WHERE s.end_of_support >= $2 AND s.end_of_support <= $3 AND r.support_id IS NULL
                  ORDER BY s.end_of_support, s.position",
            )
            .bind(notice)
            .bind(&from)
            .bind(&to)
            .fetch_all(&mut *tx)
            .await?;
            for r in &rows {
                notices.push(Notice {
                    support_id: text(r, "id")?,
                    end_of_support: text(r, "end_of_support")?,
                    notice,
                    event_type,
                    owner_id: text(r, "owner_id")?,
                    parent_id: opt_text(r, "parent_id")?,
                    owner_role: text(r, "role")?,
                    key: text(r, "key")?,
                    product: text(r, "product")?,
                    edition: text(r, "edition")?,
                    customer_email: opt_text(r, "customer_email")?,
                });
            }
        }
        for n in &notices {
            sqlx::query(
                "INSERT INTO support_reminders (support_id, end_of_support, notice, sent_on)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(&n.support_id)
            .bind(&n.end_of_support)
            .bind(n.notice)
            .bind(&day)
            .execute(&mut *tx)
            .await?;
        }
        let endpoints = enabled_endpoints(&self.db).await?;
        let at = time_text(Utc::now());
        let mut rows = Vec::new();
        for n in &notices {
            let message_id = format!("msg_{}_{}_{}", n.support_id, n.end_of_support, n.notice);
            let body = super::payload(
                &message_id,
                n.event_type,
                &at,
                &n.owner_id,
                json!({
                    "supportId": n.support_id,
                    "key": n.key,
                    "product": n.product,
                    "edition": n.edition,
                    "endOfSupport": n.end_of_support,
                    "customerEmail": n.customer_email,
                }),
            );
            let to = (n.owner_id.as_str(), n.parent_id.as_deref());
            rows.extend(fan_out(&endpoints, &message_id, n.event_type, to, &body));
        }
        insert_deliveries(&mut tx, self.settings.webhook_max_attempts, &rows).await?;
        self.queue_digests(&mut tx, &day, &notices).await?;
        tx.commit().await?;
        self.nudge();
        Ok(notices.len())
    }

    /// One email per partner that opted in, listing its and its resellers'
    /// notices of the day.
    async fn queue_digests(
        &self,
        tx: &mut projections::db::WriteTx,
        day: &str,
        notices: &[Notice],
    ) -> AppResult<()> {
        let mut by_partner: BTreeMap<&str, Vec<&Notice>> = BTreeMap::new();
        for n in notices {
            let partner = match n.owner_role.as_str() {
                "PARTNER" => n.owner_id.as_str(),
                _ => match n.parent_id.as_deref() {
                    Some(p) => p,
                    None => continue,
                },
            };
            by_partner.entry(partner).or_default().push(n);
        }
        for (partner, list) in by_partner {
            let wanted: i64 =
                sqlx::query("SELECT digest FROM reminder_settings WHERE account_id = $1")
                    .bind(partner)
                    .fetch_optional(&mut **tx)
                    .await?
                    .map(|r| int(&r, "digest"))
                    .transpose()?
                    .unwrap_or(0);
            if wanted == 0 {
                continue;
            }
            let mut body = String::from("Hello,\n\nSupport reminders for today:\n\n");
            for n in list {
                let what = match n.notice {
                    "expired" => "expired on",
                    _ => "ends on",
                };
                body.push_str(&format!(
                    "- {key}: {product} {edition}, customer {email}, support {what} {eos}\n",
                    key = n.key,
                    product = n.product,
                    edition = n.edition,
                    email = n.customer_email.as_deref().unwrap_or("(no email)"),
                    eos = n.end_of_support,
                ));
            }
            body.push_str(&format!("\nExtend them at {}/support\n", self.public_url));
            queue_email(
                tx,
                &format!("support-digest:{partner}:{day}"),
                "support_digest",
                partner,
                "Supports ending soon",
                &body,
            )
            .await?;
        }
        Ok(())
    }

    pub async fn run_reminders(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        // A failed round waits the full minute too: reminders are daily.
        let pacing = Pacing::new(POLL);
        loop {
            if let Err(e) = self.remind(Utc::now().date_naive()).await {
                tracing::error!(error = %e, "support reminders failed; retrying");
            }
            if !pacing.wait(None, &mut shutdown).await {
                return;
            }
        }
    }
}
