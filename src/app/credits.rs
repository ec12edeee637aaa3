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

    /// The grants the administrator made, newest first.
    pub async fn grants_made(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> AppResult<Page<CreditEntryRow>> {
        caller.ensure_admin()?;
        Ok(queries::grants_by_actor(&self.db, &caller.id, page).await?)
    }

    /// What an entry was for, in words: "License · Remote Access Enterprise
    /// · 10 users · key TAIL-SPIN-2026-0001 (Tailspin HQ)", "Given to
    /// reseller Northwind". Entries written before their parts were kept
    /// say only their reason.
    pub fn credit_description(&self, e: &CreditEntryRow) -> String {
        let what = reason_words(&e.reason);
        let Some(d) = e.detail() else {
            return what.to_string();
        };
        match e.reason.as_str() {
            "TRANSFER_OUT" => {
                return format!("Given to reseller {}", d.account.as_deref().unwrap_or("?"));
            }
            "TRANSFER_IN" => {
                return format!(
                    "Received from partner {}",
                    d.account.as_deref().unwrap_or("?")
                );
            }
            _ => {}
        }
        let mut parts = vec![what.to_string()];
        let product = d.product.as_deref().and_then(|p| self.catalog.product(p));
        let mut name = product
            .map(|p| p.name.clone())
            .or(d.product.clone())
            .unwrap_or_default();
        if let Some(code) = &d.edition {
            let edition = product
                .and_then(|p| p.edition(code))
                .map(|x| x.name.clone())
                .unwrap_or_else(|| code.clone());
            name = format!("{name} {edition}");
        }
        if !name.is_empty() {
            parts.push(name);
        }
        if let Some(n) = d.users {
            parts.push(count(n, "user"));
        }
        if let Some(n) = d.channels {
            parts.push(count(n, "channel"));
        }
        if let Some(n) = d.months {
            parts.push(count(n, "month"));
        }
        if let Some(key) = &d.key {
            parts.push(match &d.key_name {
                Some(n) if !n.is_empty() => format!("key {key} ({n})"),
                _ => format!("key {key}"),
            });
        }
        parts.join(" · ")
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

/// "1 user", "10 users".
fn count(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A credit reason in words; the portal's history and its CSV use it.
pub fn reason_words(reason: &str) -> &'static str {
    match reason {
        "GRANT" => "Credits granted",
        "LICENSE" => "License",
        "LICENSE_UPGRADE" => "License upgrade",
        "LICENSE_REFUND" => "License deleted (refund)",
        "SUPPORT" => "Support",
        "SUPPORT_UPGRADE" => "Support upgrade",
        "SUPPORT_EXTENSION" => "Support extension",
        "SUBSCRIPTION" => "Subscription",
        "SUBSCRIPTION_UPGRADE" => "Subscription: more channels",
        "SUBSCRIPTION_EXTENSION" => "Subscription extension",
        "TRANSFER_OUT" => "Given to a reseller",
        "TRANSFER_IN" => "Received from partner",
        _ => "Other",
    }
}
