//! Auditors: vendor staff who read what an administrator reads and change
//! nothing (the refusals are in `Caller::ensure_may_act` and the GraphQL
//! layer's mutation check).

use super::{App, Caller, NewAccount};
use crate::error::AppResult;
use aggregates::Role;
use projections::queries::AccountRow;

impl App {
    /// ADMIN only. A generated password is mailed, as for a partner, and must
    /// be changed at first sign-in.
    pub async fn create_auditor(&self, caller: &Caller, new: NewAccount) -> AppResult<AccountRow> {
        caller.ensure_admin()?;
        let new = NewAccount {
            parent: None,
            products: vec![],
            ..new
        };
        let (account, _) = self
            .create_account(Role::Auditor, new, &caller.actor())
            .await?;
        Ok(account)
    }
}
