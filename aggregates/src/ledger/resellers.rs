//! A partner's resellers: joining the partner, editing a reseller's profile
//! and the products it may sell.

use super::guards::require;
use super::{Decision, Ledger, Role};
use crate::catalog::Catalog;
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::LedgerEvent;
use crate::values;

impl Ledger {
    pub(super) fn decide_reseller(
        &self,
        role: Role,
        command: &LedgerCommand,
        catalog: &Catalog,
    ) -> Decision {
        use LedgerCommand::*;
        let event = match command {
            AddReseller { reseller_id } => {
                require(role, Role::Partner)?;
                if self.resellers.contains(reseller_id) {
                    return Ok(vec![]);
                }
                LedgerEvent::ResellerAdded {
                    reseller_id: reseller_id.clone(),
                }
            }
            EditReseller {
                email,
                name,
                products,
            } => {
                require(role, Role::Reseller)?;
                LedgerEvent::ResellerProfileEdited {
                    email: email.as_deref().map(values::parse_email).transpose()?,
                    name: name
                        .as_deref()
                        .map(|n| values::parse_name(n, "name"))
                        .transpose()?,
                    products: products
                        .as_ref()
                        .map(|p| check_products(p, catalog))
                        .transpose()?,
                }
            }
            other => unreachable!("decide sent {other:?} to the reseller rules"),
        };
        Ok(vec![event])
    }
}

/// The products a reseller may sell: known to the catalog, each listed once.
pub(super) fn check_products(
    products: &[String],
    catalog: &Catalog,
) -> Result<Vec<String>, DomainError> {
    if products.is_empty() {
        return Err(DomainError::BadInput("choose at least one product".into()));
    }
    let mut out: Vec<String> = Vec::new();
    for code in products {
        if catalog.product(code).is_none() {
            return Err(DomainError::BadInput(format!(
                "there is no product \"{code}\""
            )));
        }
        if !out.contains(code) {
            out.push(code.clone());
        }
    }
    Ok(out)
}
