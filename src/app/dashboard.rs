//! What the portal's home page and account lists need beyond the API's use
//! cases: the counts on the home page and the balance chart.

use super::{App, Caller};
use crate::error::AppResult;
use aggregates::Role;
use chrono::{Duration, Utc};
use projections::db::date_text;
use projections::queries::{LicenseFilter, PageRequest, SupportFilter, SupportOrder};

/// The home page's figures for the signed-in account (a partner's include
/// its resellers', as its lists do).
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub keys: i64,
    pub licenses: i64,
    pub supports_expiring: i64,
    pub resellers: i64,
}

/// "Expiring soon" on the home page: support ending within this many days.
pub const EXPIRING_DAYS: i64 = 30;

impl App {
    /// Counts only: each list is asked for one row and its total.
    pub async fn dashboard(&self, caller: &Caller) -> AppResult<Dashboard> {
        let one = PageRequest {
            first: 1,
            after: None,
        };
        let keys = self.activation_keys(caller, None, None, &one).await?.total;
        let live = LicenseFilter {
            statuses: aggregates::LicenseStatus::LIVE.to_vec(),
            ..LicenseFilter::default()
        };
        let licenses = self.licenses(caller, &live, &one).await?.total;
        let today = Utc::now().date_naive();
        let soon = SupportFilter {
            end_from: Some(date_text(today)),
            end_to: Some(date_text(today + Duration::days(EXPIRING_DAYS))),
            ..SupportFilter::default()
        };
        let supports_expiring = self
            .supports(caller, &soon, true, SupportOrder::EndAsc, &one)
            .await?
            .total;
        let resellers = match caller.role {
            Role::Partner => self.visible_accounts(caller, None, &one).await?.total,
            _ => 0,
        };
        Ok(Dashboard {
            keys,
            licenses,
            supports_expiring,
            resellers,
        })
    }
}

/// One point of the balance chart: when, and the balance after that entry.
#[derive(Debug, Clone)]
pub struct BalancePoint {
    pub at: String,
    pub balance: i64,
}

impl App {
    /// The newest `limit` entries' balances of an account in [from, to],
    /// oldest first, and whether older ones were left out. Read newest first
    /// through the (account, position) index, so a long history costs no
    /// more than a short one.
    pub async fn recent_balances(
        &self,
        caller: &Caller,
        account_id: Option<&str>,
        from: Option<chrono::DateTime<Utc>>,
        to: Option<chrono::DateTime<Utc>>,
        limit: i64,
    ) -> AppResult<(Vec<BalancePoint>, bool)> {
        let id = self
            .visible_account(caller, account_id.unwrap_or(&caller.id))
            .await?
            .id;
        let mut q = projections::db::SqlBuilder::new(
            "SELECT at, balance_after FROM credit_entries WHERE account_id = ",
        );
        q.bind_text(id);
        // `at || ''` keeps the planner off the (account, at) index: with it,
        // a long history is sorted whole to find its newest rows (70 ms for
        // 100k entries on SQLite), instead of walking (account, position)
        // backwards and stopping after `limit` (under 1 ms).
        if let Some(from) = from {
            q.push(" AND (at || '') >= ")
                .bind_text(projections::db::time_text(from));
        }
        if let Some(to) = to {
            q.push(" AND (at || '') <= ")
                .bind_text(projections::db::time_text(to));
        }
        q.push(" ORDER BY position DESC LIMIT ").bind_int(limit + 1);
        let rows = q.query().fetch_all(&self.db.pool).await?;
        let truncated = rows.len() as i64 > limit;
        let mut points = rows
            .iter()
            .take(limit as usize)
            .map(|r| {
                Ok(BalancePoint {
                    at: projections::db::text(r, "at")?,
                    balance: projections::db::int(r, "balance_after")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        points.reverse();
        Ok((points, truncated))
    }
}
