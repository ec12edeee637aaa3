//! Webhook endpoints and their deliveries: who may register, see, change
//! and redeliver them. Partners and resellers own endpoints for their own
//! scope; the administrator's see every account.

use super::{App, Caller, Cursor, Page, PageRequest};
use crate::error::{AppError, AppResult};
use crate::webhooks::{EVENT_TYPES, signing};
use aggregates::Role;
use chrono::Utc;
use projections::db::WriteOn;
use projections::db::{int, opt_text, text, time_text};
use sqlx::FromRow;
use sqlx::any::AnyRow;

pub const MAX_URL: usize = 2048;
pub const MAX_DESCRIPTION: usize = 500;

#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: String,
    pub owner_id: String,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub created_at: String,
    pub seq: i64,
}

/// Decoded by column name: the fields are the names `DELIVERY_COLUMNS`
/// selects.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub message_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub last_response_code: Option<i64>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub seq: i64,
}

pub struct NewWebhook {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
}

const WEBHOOK_COLUMNS: &str =
    "id, owner_id, url, description, event_types, enabled, created_at, seq";
const DELIVERY_COLUMNS: &str = "id, webhook_id, message_id, event_type, status, attempts, \
     last_response_code, last_error, last_attempt_at, next_attempt_at, seq";

fn webhook_row(r: &AnyRow) -> Result<WebhookRow, sqlx::Error> {
    Ok(WebhookRow {
        id: text(r, "id")?,
        owner_id: text(r, "owner_id")?,
        url: text(r, "url")?,
        description: opt_text(r, "description")?,
        event_types: text(r, "event_types")?
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        enabled: int(r, "enabled")? != 0,
        created_at: text(r, "created_at")?,
        seq: int(r, "seq")?,
    })
}

/// An endpoint's address: https, or http to this machine only (a receiver
/// under test or a local relay).
pub fn check_url(url: &str) -> AppResult<()> {
    if url.len() > MAX_URL {
        return Err(AppError::bad(format!(
            "a webhook URL is at most {MAX_URL} characters"
        )));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| AppError::bad("the webhook URL is not a valid URL"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| AppError::bad("the webhook URL has no host"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if matches!(host, "127.0.0.1" | "[::1]" | "::1" | "localhost") => Ok(()),
        "http" => Err(AppError::bad(
            "a webhook URL must use https (http only for 127.0.0.1, ::1 or localhost)",
        )),
        _ => Err(AppError::bad("a webhook URL must use https")),
    }
}

type Decode<T> = fn(&AnyRow) -> Result<T, sqlx::Error>;

/// A page of `rows` (one more than `first` fetched, to tell whether a next
/// page exists), each decoded and given its `seq` as the cursor.
fn seq_page<T>(
    rows: &[AnyRow],
    decode: Decode<T>,
    first: i64,
    total: i64,
    seq: impl Fn(&T) -> i64,
) -> AppResult<Page<T>> {
    let has_next = rows.len() as i64 > first;
    let rows = rows
        .iter()
        .take(usize::try_from(first).unwrap_or(0))
        .map(|r| {
            let row = decode(r)?;
            Ok((Cursor::Position(seq(&row)), row))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Page {
        rows,
        has_next,
        total,
    })
}

/// The row `select` finds, decoded; `select` takes the id as `$1`.
async fn one_by_id<T>(
    app: &App,
    select: &str,
    id: &str,
    decode: Decode<T>,
) -> AppResult<Option<T>> {
    let row = sqlx::query(select)
        .bind(id)
        .fetch_optional(&app.db.pool)
        .await?;
    Ok(row.as_ref().map(decode).transpose()?)
}

fn before(page: &PageRequest) -> AppResult<i64> {
    match &page.after {
        None => Ok(i64::MAX),
        Some(Cursor::Position(p)) => Ok(*p),
        Some(_) => Err(AppError::bad("after is not a cursor this list gave out")),
    }
}

impl App {
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        new: NewWebhook,
    ) -> AppResult<(WebhookRow, String)> {
        caller.ensure_may_act()?;
        let url = new.url.trim().to_string();
        check_url(&url)?;
        let description = new
            .description
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
        {
            return Err(AppError::bad(format!(
                "a webhook description is at most {MAX_DESCRIPTION} characters"
            )));
        }
        let mut types: Vec<String> = Vec::new();
        for t in new.event_types {
            if !EVENT_TYPES.contains(&t.as_str()) {
                return Err(AppError::bad(format!("{t} is not a webhook event type")));
            }
            if !types.contains(&t) {
                types.push(t);
            }
        }
        if types.is_empty() {
            return Err(AppError::bad("choose at least one event type"));
        }
        let secret = signing::new_secret();
        let id = format!("whk_{}", uuid::Uuid::new_v4().simple());
        let now = time_text(Utc::now());
        let max = i64::from(self.webhooks.settings.webhook_max_endpoints);
        let mut tx = self.db.begin_write().await?;
        let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM webhooks WHERE owner_id = $1")
            .bind(&caller.id)
            .fetch_one(&mut *tx)
            .await?;
        if owned >= max {
            return Err(AppError::bad(format!(
                "an account may register at most {max} webhook endpoints; delete one first"
            )));
        }
        let seq: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) + 1 FROM webhooks")
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO webhooks (id, owner_id, url, description, event_types, secret, enabled, created_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)",
        )
        .bind(&id)
        .bind(&caller.id)
        .bind(&url)
        .bind(description.as_deref())
        .bind(types.join(","))
        .bind(&secret)
        .bind(&now)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let row = WebhookRow {
            id,
            owner_id: caller.id.clone(),
            url,
            description,
            event_types: types,
            enabled: true,
            created_at: now,
            seq,
        };
        Ok((row, secret))
    }

    /// The caller's endpoints, newest first (the administrator: all).
    pub async fn webhooks(
        &self,
        caller: &Caller,
        page: PageRequest,
    ) -> AppResult<Page<WebhookRow>> {
        let admin = caller.role == Role::Admin;
        let rows = sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks
              WHERE seq < $1 AND (owner_id = $3 OR $4 = 1) ORDER BY seq DESC LIMIT $2"
        ))
        .bind(before(&page)?)
        .bind(page.first + 1)
        .bind(&caller.id)
        .bind(i64::from(admin))
        .fetch_all(&self.db.pool)
        .await?;
        let total: i64 = if admin {
            sqlx::query_scalar("SELECT count(*) FROM webhooks")
                .fetch_one(&self.db.pool)
                .await?
        } else {
            sqlx::query_scalar("SELECT count(*) FROM webhooks WHERE owner_id = $1")
                .bind(&caller.id)
                .fetch_one(&self.db.pool)
                .await?
        };
        seq_page(&rows, webhook_row, page.first, total, |r| r.seq)
    }

    /// An endpoint the caller owns (the administrator: any), or NOT_FOUND.
    pub async fn webhook(&self, caller: &Caller, id: &str) -> AppResult<WebhookRow> {
        let select = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        match one_by_id(self, &select, id, webhook_row).await? {
            Some(w) if caller.role == Role::Admin || w.owner_id == caller.id => Ok(w),
            _ => Err(AppError::not_found("webhook")),
        }
    }

    pub async fn set_webhook_enabled(
        &self,
        caller: &Caller,
        id: &str,
        enabled: bool,
    ) -> AppResult<WebhookRow> {
        caller.ensure_may_act()?;
        self.webhook(caller, id).await?;
        // Enabling starts a fresh count of failures towards disabling it.
        sqlx::query("UPDATE webhooks SET enabled = $1, failing_since = NULL WHERE id = $2")
            .bind(i64::from(enabled))
            .bind(id)
            .write_on(&self.db)
            .await?;
        self.webhooks.nudge();
        self.webhook(caller, id).await
    }

    pub async fn delete_webhook(&self, caller: &Caller, id: &str) -> AppResult<()> {
        caller.ensure_may_act()?;
        self.webhook(caller, id).await?;
        let mut tx = self.db.begin_write().await?;
        // Its deliveries first: they name it.
        for delete in [
            "DELETE FROM webhook_deliveries WHERE webhook_id = $1",
            "DELETE FROM webhooks WHERE id = $1",
        ] {
            sqlx::query(delete).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        caller: &Caller,
        webhook_id: &str,
        page: PageRequest,
    ) -> AppResult<Page<DeliveryRow>> {
        self.webhook(caller, webhook_id).await?;
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
              WHERE webhook_id = $1 AND seq < $2 ORDER BY seq DESC, id DESC LIMIT $3"
        ))
        .bind(webhook_id)
        .bind(before(&page)?)
        .bind(page.first + 1)
        .fetch_all(&self.db.pool)
        .await?;
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1")
                .bind(webhook_id)
                .fetch_one(&self.db.pool)
                .await?;
        seq_page(
            &rows,
            |r| DeliveryRow::from_row(r),
            page.first,
            total,
            |r| r.seq,
        )
    }

    pub async fn webhook_delivery(&self, caller: &Caller, id: &str) -> AppResult<DeliveryRow> {
        let select = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        let Some(d) = one_by_id(self, &select, id, |r| DeliveryRow::from_row(r)).await? else {
            return Err(AppError::not_found("webhook delivery"));
        };
        // Someone else's endpoint answers NOT_FOUND like a missing one.
        self.webhook(caller, &d.webhook_id)
            .await
            .map_err(|_| AppError::not_found("webhook delivery"))?;
        Ok(d)
    }

    /// Sends a delivery again now: one more attempt, after the endpoint's
    /// earlier pending ones.
    pub async fn redeliver_webhook(&self, caller: &Caller, id: &str) -> AppResult<DeliveryRow> {
        caller.ensure_may_act()?;
        self.webhook_delivery(caller, id).await?;
        sqlx::query(
            "UPDATE webhook_deliveries
                SET status = 'PENDING', max_attempts = attempts + 1, next_attempt_at = $1,
                    lease_until = NULL
              WHERE id = $2 AND status <> 'PENDING'",
        )
        .bind(time_text(Utc::now()))
        .bind(id)
        .write_on(&self.db)
        .await?;
        self.webhooks.nudge();
        self.webhook_delivery(caller, id).await
    }

    /// Whether the partner gets the daily support reminder email.
    pub async fn reminder_digest(&self, caller: &Caller) -> AppResult<bool> {
        let on: Option<i64> =
            sqlx::query_scalar("SELECT digest FROM reminder_settings WHERE account_id = $1")
                .bind(&caller.id)
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(on.unwrap_or(0) != 0)
    }

    pub async fn set_reminder_digest(&self, caller: &Caller, on: bool) -> AppResult<()> {
        caller.ensure_may_act()?;
        if caller.role != Role::Partner {
            return Err(AppError::Forbidden(
                "the reminder email is a partner's setting".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO reminder_settings (account_id, digest) VALUES ($1, $2)
             ON CONFLICT (account_id) DO UPDATE SET digest = $2",
        )
        .bind(&caller.id)
        .bind(i64::from(on))
        .write_on(&self.db)
        .await?;
        Ok(())
    }
}
