//! API tokens: long-lived secrets for dashboards and scripts that act as
//! their account, limited by a scope. Stored like sessions (only the hash of
//! the secret), never in the event log.

use super::{App, Caller, Cursor, Page, PageRequest, role_of};
use crate::auth;
use crate::error::{AppError, AppResult};
use base64::Engine;
use chrono::{DateTime, Utc};
use projections::db::WriteOn;
use projections::db::time_text;
use rand::RngCore;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every secret starts with this, so a leaked one is recognisable in logs
/// and by secret scanners, and the API tells it from a session token.
pub const SECRET_PREFIX: &str = "lpt_";
/// How much of the secret is kept in clear to recognise it (`lpt_` and four).
const SHOWN_PREFIX: usize = 8;
const MAX_NAME: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    Read,
    Write,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "READ",
            TokenScope::Write => "WRITE",
        }
    }

    fn parse(text: &str) -> AppResult<TokenScope> {
        match text {
            "READ" => Ok(TokenScope::Read),
            "WRITE" => Ok(TokenScope::Write),
            other => Err(AppError::internal(
                "a stored token scope is none the service knows",
                format!("scope {other:?}"),
            )),
        }
    }
}

/// The token a request came with, when it did not come with a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub id: String,
    pub scope: TokenScope,
}

#[derive(Debug, Clone)]
pub struct ApiTokenRow {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Requests per token per minute, counted in a fixed window in memory.
pub struct TokenLimiter {
    per_minute: u32,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl TokenLimiter {
    pub fn new(per_minute: u32) -> TokenLimiter {
        TokenLimiter {
            per_minute,
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, token_id: &str) -> AppResult<()> {
        const WINDOW: Duration = Duration::from_secs(60);
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = counts.entry(token_id.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 > self.per_minute {
            let wait = WINDOW.saturating_sub(now.duration_since(entry.0)).as_secs() + 1;
            return Err(AppError::RateLimited(format!(
                "this API token made more than {} requests this minute; try again in {wait} s",
                self.per_minute
            )));
        }
        Ok(())
    }
}

const COLUMNS: &str = "id, name, scope, prefix, created_at, last_used_at, expires_at, revoked_at";

fn row_of(r: &sqlx::any::AnyRow) -> AppResult<ApiTokenRow> {
    Ok(ApiTokenRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        scope: TokenScope::parse(&r.try_get::<String, _>("scope")?)?,
        prefix: r.try_get("prefix")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn new_secret() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = auth::token_hash(&secret);
    (secret, hash)
}

impl Caller {
    /// Tokens act for their account but cannot make or manage credentials.
    pub fn ensure_not_token(&self, what: &str) -> AppResult<()> {
        if self.token.is_some() {
            return Err(AppError::Forbidden(format!(
                "an API token cannot {what}; sign in with a password"
            )));
        }
        Ok(())
    }
}

impl App {
    /// A new token of the caller's; the secret is returned this once.
    pub async fn create_api_token(
        &self,
        caller: &Caller,
        name: &str,
        scope: TokenScope,
        expires_at: Option<DateTime<Utc>>,
    ) -> AppResult<(ApiTokenRow, String)> {
        caller.ensure_not_token("create API tokens")?;
        caller.ensure_may_act()?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(AppError::bad(format!(
                "a token's name is 1 to {MAX_NAME} characters"
            )));
        }
        let now = Utc::now();
        if let Some(at) = expires_at
            && at <= now
        {
            return Err(AppError::bad("expiresAt must be in the future"));
        }
        let (secret, hash) = new_secret();
        let id = auth::new_id("tok");
        let prefix: String = secret.chars().take(SHOWN_PREFIX).collect();
        sqlx::query(
            "INSERT INTO api_tokens (id, account_id, name, scope, prefix, secret_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(&caller.id)
        .bind(name)
        .bind(scope.as_str())
        .bind(&prefix)
        .bind(&hash)
        .bind(time_text(now))
        .bind(expires_at.map(time_text))
        .write_on(&self.db)
        .await?;
        Ok((self.own_token(caller, &id).await?, secret))
    }

    /// Revokes one of the caller's tokens; the next request with it is refused.
    /// Revoking a revoked token changes nothing.
    pub async fn revoke_api_token(&self, caller: &Caller, id: &str) -> AppResult<ApiTokenRow> {
        caller.ensure_may_act()?;
        self.own_token(caller, id).await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
        )
        .bind(time_text(Utc::now()))
        .bind(id)
        .bind(&caller.id)
        .write_on(&self.db)
        .await?;
        self.own_token(caller, id).await
    }

    /// One of the caller's tokens, or NOT_FOUND.
    pub async fn own_token(&self, caller: &Caller, id: &str) -> AppResult<ApiTokenRow> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE id = $1 AND account_id = $2"
        ))
        .bind(id)
        .bind(&caller.id)
        .fetch_optional(&self.db.pool)
        .await?;
        match row {
            Some(r) => row_of(&r),
            None => Err(AppError::not_found("API token")),
        }
    }

    /// The caller's tokens, newest first (revoked and expired ones too, so
    /// the list shows what happened to them).
    pub async fn api_tokens(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> AppResult<Page<ApiTokenRow>> {
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE account_id = $1")
                .bind(&caller.id)
                .fetch_one(&self.db.pool)
                .await?;
        // A caller has few tokens: the cursor is the count of rows before it.
        let offset = match page.after {
            Some(Cursor::Position(p)) if p >= 0 => p,
            Some(_) => return Err(AppError::bad("after is not a cursor this list gave out")),
            None => 0,
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE account_id = $1
              ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(&caller.id)
        .bind(page.first + 1)
        .bind(offset)
        .fetch_all(&self.db.pool)
        .await?;
        let has_next = rows.len() as i64 > page.first;
        let mut out = Vec::new();
        for (i, r) in rows.iter().take(page.first as usize).enumerate() {
            out.push((Cursor::Position(offset + i as i64 + 1), row_of(r)?));
        }
        Ok(Page {
            rows: out,
            has_next,
            total,
        })
    }

    /// The caller an API token's secret stands for: live (not revoked, not
    /// expired), within its rate limit. Marks it used.
    pub async fn token_caller(&self, secret: &str) -> AppResult<Option<Caller>> {
        let hash = auth::token_hash(secret);
        let now = time_text(Utc::now());
        let row = sqlx::query(
            "SELECT t.id, t.scope, t.account_id, c.role, c.must_change_password
               FROM api_tokens t JOIN credentials c ON c.account_id = t.account_id
              WHERE t.secret_hash = $1 AND t.revoked_at IS NULL
                AND (t.expires_at IS NULL OR t.expires_at > $2)",
        )
        .bind(&hash)
        .bind(&now)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get("id")?;
        self.token_limits.check(&id)?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(&now)
            .bind(&id)
            .write_on(&self.db)
            .await?;
        Ok(Some(Caller {
            id: row.try_get("account_id")?,
            role: role_of(&row.try_get::<String, _>("role")?)?,
            must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
            session_hash: String::new(),
            token: Some(TokenGrant {
                id,
                scope: TokenScope::parse(&row.try_get::<String, _>("scope")?)?,
            }),
        }))
    }
}
