//! The outbox sender: emails recorded in `outbox` (by the projector, from the
//! log) go out through SMTP, or as .eml files when no SMTP server is set. A
//! failed send is retried with growing pauses; a sent one is never sent again.

use chrono::{Duration as ChronoDuration, Utc};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use projections::Db;
use projections::db::WriteOn;
use projections::db::time_text;
use projections::pacing::Pacing;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per message in this directory, mode 0600: a welcome
    /// email holds a generated password.
    Files(PathBuf),
}

pub struct Mailer {
    db: Db,
    transport: Transport,
    from: Mailbox,
    public_url: String,
}

/// The longest pause between two attempts at one email.
const MAX_BACKOFF_SECS: i64 = 3600;

impl Mailer {
    pub fn new(
        db: Db,
        smtp_url: Option<&str>,
        outbox_dir: PathBuf,
        from: &str,
        public_url: &str,
    ) -> Result<Mailer, String> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&outbox_dir)
                    .map_err(|e| format!("creating {}: {e}", outbox_dir.display()))?;
                Transport::Files(outbox_dir)
            }
        };
        // PUBLIC_URL's default: fine on one machine, wrong in every email sent.
        if public_url.contains("://127.0.0.1") || public_url.contains("://localhost") {
            tracing::warn!(
                public_url,
                "PUBLIC_URL is not set: welcome emails will point at 127.0.0.1; set it to the portal's public address"
            );
        }
        let from = from
            .parse()
            .map_err(|e| format!("MAIL_FROM \"{from}\": {e}"))?;
        Ok(Mailer {
            db,
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let pacing = Pacing::new(Duration::from_millis(500));
        loop {
            match self.send_due().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox"),
            }
            if !pacing.wait(None, &mut shutdown).await {
                return;
            }
        }
    }

    /// Sends what is due; returns how many it tried.
    pub async fn send_due(&self) -> Result<usize, sqlx::Error> {
        let now = time_text(Utc::now());
        let rows = sqlx::query(
            "SELECT o.id, o.kind, o.subject, o.body, o.attempts, a.login, a.email, a.name, a.role, c.welcome_password
               FROM outbox o JOIN accounts a ON a.id = o.account_id
               LEFT JOIN credentials c ON c.account_id = o.account_id
              WHERE o.sent_at IS NULL AND o.next_attempt_at <= $1
              ORDER BY o.next_attempt_at LIMIT 20",
        )
        .bind(&now)
        .fetch_all(&self.db.pool)
        .await?;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let attempts: i64 = row.try_get("attempts")?;
            let kind: String = row.try_get("kind")?;
            let result = if kind == "welcome" {
                self.send_welcome(row).await
            } else {
                self.send_text(row).await
            };
            match result {
                Ok(()) => {
                    // Sent, and the generated password has reached its owner:
                    // keep no copy. Both or neither, so a failure here leaves
                    // a message to retry, never a sent one still holding it.
                    let mut tx = self.db.begin_write().await?;
                    sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
                        .bind(time_text(Utc::now()))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE credentials SET welcome_password = NULL
                          WHERE account_id = (SELECT account_id FROM outbox WHERE id = $1 AND kind = 'welcome')",
                    )
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    tracing::info!(email = id, kind, "email sent");
                }
                Err(e) => {
                    let pause = (5i64 << attempts.min(12)).min(MAX_BACKOFF_SECS);
                    tracing::warn!(email = id, error = %e, retry_in_s = pause, "email not sent; will retry");
                    sqlx::query(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3",
                    )
                    .bind(e)
                    .bind(time_text(Utc::now() + ChronoDuration::seconds(pause)))
                    .bind(&id)
                    .write_on(&self.db)
                    .await?;
                }
            }
        }
        Ok(rows.len())
    }

    /// An email queued with its own subject and text (webhook and reminder
    /// notices), to the account's address.
    async fn send_text(&self, row: &AnyRow) -> Result<(), String> {
        let to = recipient(row)?;
        let subject = text(row, "subject")?;
        let body = text(row, "body")?;
        self.send(to, subject, body).await
    }

    async fn send(&self, to: Mailbox, subject: String, body: String) -> Result<(), String> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body)
            .map_err(|e| e.to_string())?;
        self.deliver(message).await
    }

    async fn deliver(&self, message: Message) -> Result<(), String> {
        match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            // Written private: a welcome email may hold a generated password.
            Transport::Files(dir) => {
                let path = dir.join(format!("{}.eml", uuid::Uuid::new_v4()));
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || crate::files::publish_private(&path, &bytes))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
        }
    }

    async fn send_welcome(&self, row: &AnyRow) -> Result<(), String> {
        let login = text(row, "login")?;
        let name = text(row, "name")?;
        let role = text(row, "role")?;
        let password: Option<String> =
            row.try_get("welcome_password").map_err(|e| e.to_string())?;
        let to = recipient(row)?;
        let kind = if role == aggregates::Role::Reseller.as_str() {
            "reseller"
        } else {
            "partner"
        };
        let password_line = match &password {
            Some(p) => format!(
                "Password: {p}\n\nYou will be asked to choose your own password when you first sign in.\n"
            ),
            None => "Password: the one chosen for you when the account was created.\n".to_string(),
        };
        let body = format!(
            "Hello {name},\n\nYour {kind} account in the Licensing Management Application is ready.\n\n\
             Address: {url}\nLogin: {login}\n{password_line}\nSign in at {url}/login\n\nWelcome aboard.\n",
            url = self.public_url,
        );
        self.send(to, "Your License Portal account".to_string(), body)
            .await
    }
}

fn text(row: &AnyRow, column: &str) -> Result<String, String> {
    row.try_get::<String, _>(column).map_err(|e| e.to_string())
}

/// The account a queued email goes to, by name where the name can stand in
/// an address.
fn recipient(row: &AnyRow) -> Result<Mailbox, String> {
    let email = text(row, "email")?;
    let name = text(row, "name")?;
    format!("{name} <{email}>")
        .parse()
        .or_else(|_| email.parse())
        .map_err(|e| format!("bad address {email}: {e}"))
}
