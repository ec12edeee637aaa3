//! Resellers: a partner creates them, edits them and gives them credits.

use super::{App, Caller, NewAccount, idempotency};
use crate::error::{AppError, AppResult};
use aggregates::{LedgerCommand, Role, values};
use projections::db::WriteOn;
use projections::queries::{self, AccountRow, CreditEntryRow};
use std::time::Duration;

/// The one answer for a login or email some account has: the same whether
/// that account is the partner's or anyone else's.
fn not_available(what: &str) -> AppError {
    AppError::Conflict(format!("{what} is not available"))
}

impl App {
    fn ensure_partner(caller: &Caller) -> AppResult<()> {
        caller.ensure_may_act()?;
        if caller.role != Role::Partner {
            return Err(AppError::Forbidden("only a partner has resellers".into()));
        }
        Ok(())
    }

    /// One of the caller's resellers, or NOT_FOUND.
    async fn own_reseller(&self, caller: &Caller, id: &str) -> AppResult<AccountRow> {
        match queries::account(&self.db, id).await? {
            Some(a)
                if a.role == Role::Reseller.as_str()
                    && a.parent_id.as_deref() == Some(&caller.id) =>
            {
                Ok(a)
            }
            _ => Err(AppError::not_found("reseller")),
        }
    }

    pub async fn create_reseller(
        &self,
        caller: &Caller,
        new: NewAccount,
    ) -> AppResult<(AccountRow, Option<String>)> {
        self.create_reseller_once(caller, new, None).await
    }

    /// `create_reseller` with a client's idempotency key (see
    /// [`App::create_account_once`]).
    pub async fn create_reseller_once(
        &self,
        caller: &Caller,
        new: NewAccount,
        idempotency_key: Option<&str>,
    ) -> AppResult<(AccountRow, Option<String>)> {
        App::ensure_partner(caller)?;
        let new = NewAccount {
            parent: Some(caller.id.clone()),
            ..new
        };
        // Which of the two is taken, and by whom, is not the partner's to
        // learn: most accounts are outside its scope.
        self.create_account_once(Role::Reseller, new, &caller.actor(), idempotency_key)
            .await
            .map_err(|e| match e {
                AppError::Conflict(_) => not_available("this login or email"),
                other => other,
            })
    }

    /// `create_reseller` for the portal: a chosen password is mailed too,
    /// and the reseller changes it at first sign-in.
    pub async fn create_reseller_mailing_password(
        &self,
        caller: &Caller,
        new: NewAccount,
    ) -> AppResult<(AccountRow, Option<String>)> {
        App::ensure_partner(caller)?;
        let new = NewAccount {
            parent: Some(caller.id.clone()),
            ..new
        };
        self.create_account_mailing_password(Role::Reseller, new, &caller.actor())
            .await
    }

    pub async fn edit_reseller(
        &self,
        caller: &Caller,
        id: &str,
        email: Option<String>,
        name: Option<String>,
        products: Option<Vec<String>>,
    ) -> AppResult<AccountRow> {
        App::ensure_partner(caller)?;
        let reseller = self.own_reseller(caller, id).await?;
        let email = email.map(|e| values::parse_email(&e)).transpose()?;
        let name = name.map(|n| values::parse_name(&n, "name")).transpose()?;
        if let Some(email) = &email {
            let taken =
                sqlx::query("UPDATE credentials SET email_lower = $1 WHERE account_id = $2")
                    .bind(email.to_lowercase())
                    .bind(&reseller.id)
                    .write_on(&self.db)
                    .await;
            if let Err(e) = taken {
                if matches!(&e, sqlx::Error::Database(d) if d.is_unique_violation()) {
                    return Err(not_available("this email"));
                }
                return Err(e.into());
            }
        }
        let command = LedgerCommand::EditReseller {
            email,
            name,
            products,
        };
        if let Err(e) = self
            .run(Role::Reseller, &reseller.id, command, &caller.actor())
            .await
        {
            // Put the sign-in email back as the log still has it.
            sqlx::query("UPDATE credentials SET email_lower = $1 WHERE account_id = $2")
                .bind(reseller.email.to_lowercase())
                .bind(&reseller.id)
                .write_on(&self.db)
                .await?;
            return Err(e);
        }
        self.known_account(&reseller.id).await
    }

    /// Moves credits to a reseller. The partner's event carries a transfer id;
    /// the transfer process credits the reseller from the log, once. When
    /// this returns, the reseller's balance shows the credits.
    pub async fn give_credits(
        &self,
        caller: &Caller,
        reseller_id: &str,
        amount: i64,
        idempotency_key: Option<&str>,
    ) -> AppResult<CreditEntryRow> {
        App::ensure_partner(caller)?;
        let reseller = self.own_reseller(caller, reseller_id).await?;
        // The reseller's balance is in its own stream, credited after the
        // partner's is debited: refused here, before either moves, when the
        // API could not show the result (a GraphQL Int).
        if reseller.balance.saturating_add(amount) > i64::from(i32::MAX) {
            return Err(AppError::bad(format!(
                "{amount} more credits would take the reseller's balance of {} above {}, the most a balance can hold",
                reseller.balance,
                i32::MAX
            )));
        }
        let transfer_id = crate::auth::new_id("trf");
        // Without a client key, the transfer's own id serves to find its entry.
        let key = idempotency_key
            .map(str::to_string)
            .unwrap_or_else(|| format!("transfer:{transfer_id}"));
        let idem = idempotency(
            Some(&key),
            &["giveCredits", reseller_id, &amount.to_string()],
        )?;
        let command = LedgerCommand::TransferOut {
            transfer_id,
            reseller_id: reseller.id.clone(),
            amount,
            idempotency: idem.clone(),
        };
        self.run(Role::Partner, &caller.id, command, &caller.actor())
            .await?;
        if let Some(head) = projections::log::stream_head(&self.db, &caller.id).await?
            && !self.transfers.wait_for(head, Duration::from_secs(10)).await
        {
            tracing::warn!(
                "transfer still in flight after 10 s; the reseller will be credited when it lands"
            );
        }
        self.catch_up(&reseller.id).await?;
        let entry = match &idem {
            Some(i) => queries::idempotent_result(&self.db, &caller.id, i).await?,
            None => None,
        };
        let entry = match entry {
            Some(id) => queries::credit_entry(&self.db, &id).await?,
            None => None,
        };
        if let Some(entry) = entry {
            return Ok(entry);
        }
        // Committed, and the views do not show it yet: the log does.
        let logged = match &idem {
            Some(i) => self.keyed_entry_in_log(&caller.id, &i.key).await?,
            None => None,
        };
        super::freshness::report_behind();
        logged.ok_or_else(|| {
            AppError::internal(
                "a transfer's credit entry is missing after it ran",
                format!("partner {}, reseller {}", caller.id, reseller.id),
            )
        })
    }
}
