//! Failed password checks (sign-in, and the current password of a password
//! change), counted per account and per client address.
//!
//! An attempt is counted before its password is checked, in one transaction
//! that moves both counters and reads them back, and taken back if the
//! password was right: parallel guesses each see the count with the others
//! in it, so no more than the limit are ever checked.
//!
//! Past the account's limit the account is locked, but only to clients that
//! have themselves been failing: a client with no failure in the window still
//! has its password checked, so whoever floods an account with guesses locks
//! themselves out, not its owner. Each client is also held to a limit over
//! all accounts.

use super::App;
use crate::auth::token_hash;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use projections::db::WriteOn;
use projections::db::{parse_time, time_text};
use sqlx::Row;

/// Both counters of one attempt, to take back when the password was right.
pub(super) struct Attempt {
    counters: [(String, String); 2],
}

/// The counter of a known account, or of what was typed when no account has
/// that login or email (hashed: it can be anything, of any length).
pub(super) fn account_subject(account_id: Option<&str>, typed: &str) -> String {
    match account_id {
        Some(id) => format!("account:{id}"),
        None => format!("login:{}", &token_hash(typed)[..32]),
    }
}

impl App {
    fn lockout_window(&self) -> Duration {
        Duration::minutes(i64::from(self.security.signin_window_minutes.max(1)))
    }

    /// Counts an attempt on `account` (see [`account_subject`]) from
    /// `client`; refuses it, unchecked, when a limit is passed.
    pub(super) async fn begin_attempt(&self, account: &str, client: &str) -> AppResult<Attempt> {
        let now = Utc::now();
        let since = time_text(now - self.lockout_window());
        let client_subject = format!("client:{client}");
        let mut tx = self.db.begin_write().await?;
        // Always the account first, then the client: concurrent attempts on
        // one account queue on its row, so they count in one order.
        let (account_failures, account_start) = bump(&mut tx, account, now, &since).await?;
        let (client_failures, client_start) = bump(&mut tx, &client_subject, now, &since).await?;
        tx.commit().await?;
        let attempt = Attempt {
            counters: [
                (account.to_string(), account_start.clone()),
                (client_subject, client_start.clone()),
            ],
        };
        if client_failures > i64::from(self.security.signin_client_failures) {
            return Err(AppError::RateLimited(format!(
                "too many failed sign-ins from this address; try again in {}",
                self.wait_text(&client_start, now)
            )));
        }
        // The client's own attempt is the 1 it sees when it has no failure.
        if account_failures > i64::from(self.security.signin_account_failures)
            && client_failures > 1
        {
            return Err(AppError::RateLimited(format!(
                "too many failed sign-ins for this account; try again in {}",
                self.wait_text(&account_start, now)
            )));
        }
        Ok(attempt)
    }

    /// The password was right: the attempt was no failure.
    pub(super) async fn attempt_succeeded(&self, attempt: Attempt) -> AppResult<()> {
        let mut tx = self.db.begin_write().await?;
        for (subject, start) in &attempt.counters {
            sqlx::query(
                "UPDATE sign_in_failures SET failures = failures - 1
                  WHERE subject = $1 AND window_start = $2 AND failures > 0",
            )
            .bind(subject)
            .bind(start)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The password was wrong: the attempt stays counted. Counters whose
    /// window has passed are deleted here, so the table holds only live ones.
    pub(super) async fn attempt_failed(&self, _attempt: Attempt) -> AppResult<()> {
        self.metrics.record_login_failure();
        let since = time_text(Utc::now() - self.lockout_window());
        sqlx::query("DELETE FROM sign_in_failures WHERE window_start <= $1")
            .bind(&since)
            .write_on(&self.db)
            .await?;
        Ok(())
    }

    fn wait_text(&self, window_start: &str, now: DateTime<Utc>) -> String {
        let ends = parse_time(window_start).unwrap_or(now) + self.lockout_window();
        let minutes = ((ends - now).num_seconds().max(0) + 59) / 60;
        match minutes.max(1) {
            1 => "1 minute".to_string(),
            m => format!("{m} minutes"),
        }
    }
}

/// Adds one to `subject`'s counter (a new window when its last one has
/// passed); returns the count and the window's start.
async fn bump(
    tx: &mut projections::db::WriteTx,
    subject: &str,
    now: DateTime<Utc>,
    since: &str,
) -> AppResult<(i64, String)> {
    let row = sqlx::query(
        "INSERT INTO sign_in_failures (subject, window_start, failures) VALUES ($1, $2, 1)
         ON CONFLICT (subject) DO UPDATE SET
             failures = CASE WHEN sign_in_failures.window_start <= $3
                             THEN 1 ELSE sign_in_failures.failures + 1 END,
             window_start = CASE WHEN sign_in_failures.window_start <= $3
                                 THEN $2 ELSE sign_in_failures.window_start END
         RETURNING failures, window_start",
    )
    .bind(subject)
    .bind(time_text(now))
    .bind(since)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.try_get("failures")?, row.try_get("window_start")?))
}
