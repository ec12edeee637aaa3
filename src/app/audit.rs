//! The audit trail: stored events as they are, filtered to what the caller may see.

use super::{App, Caller};
use crate::error::AppResult;
use aggregates::Role;
use projections::db::{SqlBuilder, time_text};
use projections::queries::{Cursor, Page, PageRequest};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct EventRow {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub at: String,
    pub actor: Option<String>,
    /// Its link in the hash chain (hex); None until the chain reaches it.
    pub hash: Option<String>,
}

impl App {
    /// Oldest first. A partner sees its own stream and its resellers'.
    pub async fn events(
        &self,
        caller: &Caller,
        aggregate_id: Option<&str>,
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
        page: &PageRequest,
    ) -> AppResult<Page<EventRow>> {
        // Streams are accounts: one the caller may not see is NOT_FOUND.
        if let Some(id) = aggregate_id {
            self.visible_account(caller, id).await?;
        }
        let mut f = SqlBuilder::new(
            "FROM events e LEFT JOIN event_hashes h ON h.position = e.global_position \
             WHERE e.global_position IS NOT NULL",
        );
        match caller.role {
            Role::Admin | Role::Auditor => {}
            Role::Partner => {
                f.push(" AND (e.aggregate_id = ").bind_text(&caller.id);
                f.push(" OR e.aggregate_id IN (SELECT id FROM accounts WHERE parent_id = ")
                    .bind_text(&caller.id);
                f.push("))");
            }
            Role::Reseller => {
                f.push(" AND e.aggregate_id = ").bind_text(&caller.id);
            }
        }
        if let Some(id) = aggregate_id {
            f.push(" AND e.aggregate_id = ").bind_text(id);
        }
        // An event's time is in its metadata (RFC 3339 text, fixed width).
        let at = self.db.backend.json_field("e.metadata", "at");
        if let Some(from) = from {
            f.push(&format!(" AND {at} >= ")).bind_text(time_text(from));
        }
        if let Some(to) = to {
            f.push(&format!(" AND {at} <= ")).bind_text(time_text(to));
        }
        let mut count = SqlBuilder::new("SELECT count(*) ");
        count.push(&f.sql);
        count.values = f.values.clone();
        let total: i64 = count.query().fetch_one(&self.db.pool).await?.try_get(0)?;

        let mut q = SqlBuilder::new(&format!(
            "SELECT e.global_position, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, {} AS payload, {} AS metadata, h.hash ",
            self.db.backend.json_text("e.payload"),
            self.db.backend.json_text("e.metadata"),
        ));
        q.push(&f.sql);
        q.values = f.values;
        if let Some(Cursor::Position(p)) = page.after {
            q.push(" AND e.global_position > ").bind_int(p);
        }
        q.push(" ORDER BY e.global_position LIMIT ")
            .bind_int(page.first + 1);
        let rows = q.query().fetch_all(&self.db.pool).await?;
        let has_next = rows.len() as i64 > page.first;
        let mut out = Vec::new();
        for r in rows.iter().take(page.first as usize) {
            let metadata: serde_json::Value =
                serde_json::from_str(&r.try_get::<String, _>("metadata")?).unwrap_or_default();
            let row = EventRow {
                position: r.try_get("global_position")?,
                aggregate_type: r.try_get("aggregate_type")?,
                aggregate_id: r.try_get("aggregate_id")?,
                sequence: r.try_get("sequence")?,
                event_type: r.try_get("event_type")?,
                payload: serde_json::from_str(&r.try_get::<String, _>("payload")?)
                    .unwrap_or_default(),
                at: metadata
                    .get("at")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
                actor: metadata
                    .get("actor")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                hash: r.try_get("hash")?,
            };
            out.push((Cursor::Position(row.position), row));
        }
        Ok(Page {
            rows: out,
            has_next,
            total,
        })
    }
}

/// The newest chained event, signed by the service at `at`.
#[derive(Debug, Clone)]
pub struct LedgerHeadRow {
    pub position: i64,
    pub hash: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// "position\nhash\nat": the exact text signed.
    pub signed_text: String,
    pub signature: String,
    pub public_key: String,
}

impl LedgerHeadRow {
    /// Signs `position` and `hash` as of now. `ledgerHead` and the export's
    /// last line both come from here, so one check fits both.
    pub fn sign(signer: &crate::signing::Signer25519, position: i64, hash: String) -> Self {
        // The time as signed (microseconds), so `at` and the text agree.
        let now = chrono::Utc::now();
        let at_text = time_text(now);
        let at = projections::db::parse_time(&at_text).unwrap_or(now);
        let signed_text = format!("{position}\n{hash}\n{at_text}");
        let signed = signer.sign(signed_text);
        LedgerHeadRow {
            position,
            hash,
            at,
            signed_text: signed.payload,
            signature: signed.signature,
            public_key: signed.public_key,
        }
    }

    /// The position, hash and time a signed text names; None when it is not
    /// three lines of that shape.
    pub fn parse_signed_text(text: &str) -> Option<(i64, String, String)> {
        let mut lines = text.split('\n');
        let position = lines.next()?.parse().ok()?;
        let hash = lines.next()?.to_string();
        let at = lines.next()?.to_string();
        if lines.next().is_some() {
            return None;
        }
        Some((position, hash, at))
    }
}

impl App {
    /// ADMIN and AUDITOR: what an outside party keeps to check later that the
    /// history up to here was not rewritten.
    pub async fn ledger_head(&self, caller: &Caller) -> AppResult<LedgerHeadRow> {
        if !matches!(caller.role, Role::Admin | Role::Auditor) {
            return Err(crate::error::AppError::Forbidden(
                "only an administrator or an auditor can read the ledger head".into(),
            ));
        }
        let (position, hash) = projections::chain::head(&self.db).await?;
        Ok(LedgerHeadRow::sign(&self.signer, position, hash))
    }
}
