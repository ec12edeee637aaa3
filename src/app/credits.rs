//! Credits: the vendor's grants, the history of an account, its balance.

use super::{App, Caller, idempotency};
use crate::error::{AppError, AppResult};
use aggregates::{LedgerCommand, LedgerEvent, Role};
use chrono::{DateTime, Utc};
use projections::db::time_text;
use projections::queries::{self, CreditEntryRow, Page, PageRequest};

impl App {
    /// Grants credits to a partner. The same reference again returns the first
    /// entry and grants nothing; with another amount it is a CONFLICT.
    pub async fn grant_credits(
        &self,
        caller: &Caller,
        partner_id: &str,
        amount: i64,
        reference: &str,
        idempotency_key: Option<&str>,
    ) -> AppResult<CreditEntryRow> {
        caller.ensure_admin()?;
        let partner = self.visible_account(caller, partner_id).await?;
        if partner.role != Role::Partner.as_str() {
            return Err(AppError::bad(
                "credits are granted to partners; resellers get theirs from their partner",
            ));
        }
        let reference = reference.trim();
        let idem = idempotency(
            idempotency_key,
            &["grantCredits", partner_id, &amount.to_string(), reference],
        )?;
        let command = LedgerCommand::GrantCredits {
            amount,
            reference: reference.to_string(),
            idempotency: idem.clone(),
        };
        self.run(Role::Partner, partner_id, command, &caller.actor())
            .await?;
        let entry = match &idem {
            Some(idem) => match queries::idempotent_result(&self.db, partner_id, idem).await? {
                Some(id) => queries::credit_entry(&self.db, &id).await?,
                None => None,
            },
            None => None,
        };
        let entry = match entry {
            Some(e) => Some(e),
            None => queries::grant_entry(&self.db, partner_id, reference).await?,
        };
        if let Some(entry) = entry {
            return Ok(entry);
        }
        // Committed, and the views do not show it yet: the log does.
        let logged = match &idem {
            Some(i) => self.keyed_entry_in_log(partner_id, &i.key).await?,
            None => None,
        };
        let logged = match logged {
            Some(e) => Some(e),
            None => {
                self.credit_entry_in_log(partner_id, |e| {
                    matches!(&e.event, LedgerEvent::CreditsGranted { reference: r, .. } if r == reference)
                })
                .await?
            }
        };
        super::freshness::report_behind();
        logged.ok_or_else(|| {
            AppError::internal(
                "a grant's credit entry is missing after it ran",
                format!("partner {partner_id}, reference {reference:?}"),
            )
        })
    }

    /// The account whose credits the caller asks about: its own by default.
    async fn ledger_account(&self, caller: &Caller, account_id: Option<&str>) -> AppResult<String> {
        let id = account_id.unwrap_or(&caller.id);
        Ok(self.visible_account(caller, id).await?.id)
    }

    pub async fn credit_history(
        &self,
        caller: &Caller,
        account_id: Option<&str>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        page: &PageRequest,
    ) -> AppResult<Page<CreditEntryRow>> {
        let id = self.ledger_account(caller, account_id).await?;
        let from = from.map(time_text);
        let to = to.map(time_text);
        Ok(queries::credit_history(&self.db, &id, from.as_deref(), to.as_deref(), page).await?)
    }

    pub async fn credit_balance(
        &self,
        caller: &Caller,
        account_id: Option<&str>,
        as_of: Option<DateTime<Utc>>,
    ) -> AppResult<i64> {
        let id = self.ledger_account(caller, account_id).await?;
        let at = time_text(as_of.unwrap_or_else(Utc::now));
        Ok(queries::balance_as_of(&self.db, &id, &at).await?)
    }

    pub async fn credit_entry(&self, caller: &Caller, id: &str) -> AppResult<CreditEntryRow> {
        let entry = queries::credit_entry(&self.db, id)
            .await?
            .ok_or_else(|| AppError::not_found("credit entry"))?;
        self.visible_account(caller, &entry.account_id)
            .await
            .map_err(|_| AppError::not_found("credit entry"))?;
        Ok(entry)
    }
}
