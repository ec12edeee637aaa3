//! What the portal's home page and account lists need beyond the API's use
//! cases: the counts on the home page and the accounts a caller may list.

use super::{App, Caller};
use crate::error::AppResult;
use aggregates::Role;
use chrono::{Duration, Utc};
use projections::db::date_text;
use projections::queries::{
    self, AccountRow, LicenseFilter, Page, PageRequest, SupportFilter, SupportOrder,
};

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
            statuses: vec!["ACTIVE".into(), "TRIAL".into(), "TRIAL_EXPIRED".into()],
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

    /// The accounts a caller lists, by the same rule as the API's `accounts`:
    /// an administrator lists partners (or another role), a partner its
    /// resellers, a reseller nobody.
    pub async fn visible_accounts(
        &self,
        caller: &Caller,
        role: Option<&str>,
        page: &PageRequest,
    ) -> AppResult<Page<AccountRow>> {
        Ok(match caller.role {
            Role::Admin => {
                queries::accounts(&self.db, None, Some(role.unwrap_or("PARTNER")), page).await?
            }
            Role::Partner => queries::accounts(&self.db, Some(&caller.id), role, page).await?,
            Role::Reseller => Page {
                rows: vec![],
                has_next: false,
                total: 0,
            },
        })
    }
}
