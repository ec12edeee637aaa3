//! Registration: each role registers its own kind of account.

use super::guards::require;
use super::resellers::check_products;
use super::{Decision, Ledger, Role};
use crate::catalog::Catalog;
use crate::commands::LedgerCommand;
use crate::events::LedgerEvent;
use crate::values;

impl Ledger {
    pub(super) fn decide_registration(
        &self,
        role: Role,
        command: &LedgerCommand,
        catalog: &Catalog,
    ) -> Decision {
        use LedgerCommand::*;
        let event = match command {
            RegisterAdmin { login, email, name } => {
                require(role, Role::Admin)?;
                let (login, email, name) = values::parse_identity(login, email, name)?;
                LedgerEvent::AdminRegistered { login, email, name }
            }
            // Decided by the Admin aggregate: an auditor's stream is of its type.
            RegisterAuditor { login, email, name } => {
                require(role, Role::Admin)?;
                let (login, email, name) = values::parse_identity(login, email, name)?;
                LedgerEvent::AuditorRegistered { login, email, name }
            }
            RegisterPartner { login, email, name } => {
                require(role, Role::Partner)?;
                let (login, email, name) = values::parse_identity(login, email, name)?;
                LedgerEvent::PartnerRegistered { login, email, name }
            }
            RegisterReseller {
                partner_id,
                login,
                email,
                name,
                products,
            } => {
                require(role, Role::Reseller)?;
                let (login, email, name) = values::parse_identity(login, email, name)?;
                LedgerEvent::ResellerRegistered {
                    partner_id: partner_id.clone(),
                    login,
                    email,
                    name,
                    products: check_products(products, catalog)?,
                }
            }
            other => unreachable!("decide sent {other:?} to the registration rules"),
        };
        Ok(vec![event])
    }
}
