//! Registration: each role registers its own kind of account.

use super::resellers::check_products;
use super::{Decision, Ledger, Role, guards::wrong_role};
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
                if role != Role::Admin {
                    return Err(wrong_role(role));
                }
                LedgerEvent::AdminRegistered {
                    login: values::parse_login(login)?,
                    email: values::parse_email(email)?,
                    name: values::parse_name(name, "name")?,
                }
            }
            // Decided by the Admin aggregate: an auditor's stream is of its type.
            RegisterAuditor { login, email, name } => {
                if role != Role::Admin {
                    return Err(wrong_role(role));
                }
                LedgerEvent::AuditorRegistered {
                    login: values::parse_login(login)?,
                    email: values::parse_email(email)?,
                    name: values::parse_name(name, "name")?,
                }
            }
            RegisterPartner { login, email, name } => {
                if role != Role::Partner {
                    return Err(wrong_role(role));
                }
                LedgerEvent::PartnerRegistered {
                    login: values::parse_login(login)?,
                    email: values::parse_email(email)?,
                    name: values::parse_name(name, "name")?,
                }
            }
            RegisterReseller {
                partner_id,
                login,
                email,
                name,
                products,
            } => {
                if role != Role::Reseller {
                    return Err(wrong_role(role));
                }
                LedgerEvent::ResellerRegistered {
                    partner_id: partner_id.clone(),
                    login: values::parse_login(login)?,
                    email: values::parse_email(email)?,
                    name: values::parse_name(name, "name")?,
                    products: check_products(products, catalog)?,
                }
            }
            other => unreachable!("decide sent {other:?} to the registration rules"),
        };
        Ok(vec![event])
    }
}
