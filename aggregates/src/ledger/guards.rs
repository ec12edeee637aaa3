//! The checks every area of the ledger shares: who may act, what the account
//! owns, whether it can pay.

use super::{Ledger, LicenseState, Role, SubscriptionState, SupportState};
use crate::catalog::{Catalog, Product};
use crate::commands::LedgerCommand;
use crate::error::DomainError;

pub(super) fn wrong_role(role: Role) -> DomainError {
    let who = match role {
        Role::Admin => "an administrator",
        Role::Partner => "a partner",
        Role::Reseller => "a reseller",
        Role::Auditor => "an auditor",
    };
    DomainError::Forbidden(format!("{who} cannot do this"))
}

/// Refuses a command sent to a stream of another kind than `wanted`.
pub(super) fn require(role: Role, wanted: Role) -> Result<(), DomainError> {
    if role == wanted {
        Ok(())
    } else {
        Err(wrong_role(role))
    }
}

/// What a new sale puts on a key: a subscription-only product is sold only
/// as a subscription, every other product only as a license or a support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sale {
    License,
    Support,
    Subscription,
}

impl Ledger {
    pub(super) fn ensure_seller(&self, role: Role) -> Result<(), DomainError> {
        match role {
            Role::Partner | Role::Reseller => Ok(()),
            Role::Admin | Role::Auditor => Err(wrong_role(role)),
        }
    }

    pub(super) fn ensure_funds(&self, required: i64) -> Result<(), DomainError> {
        if required > self.balance {
            return Err(DomainError::InsufficientCredits {
                required,
                balance: self.balance,
            });
        }
        Ok(())
    }

    /// The device a key is bound to, if the key is this account's.
    pub(super) fn ensure_key(&self, key_id: &str) -> Result<Option<&str>, DomainError> {
        self.keys
            .get(key_id)
            .map(|bound| bound.as_deref())
            .ok_or_else(|| DomainError::NotFound("no such activation key".into()))
    }

    pub(super) fn live_license(&self, license_id: &str) -> Result<&LicenseState, DomainError> {
        match self.licenses.get(license_id) {
            None => Err(DomainError::NotFound("no such license".into())),
            Some(l) if l.deleted => Err(DomainError::Conflict(
                "this license has been deleted".into(),
            )),
            Some(l) => Ok(l),
        }
    }

    pub(super) fn support(&self, support_id: &str) -> Result<&SupportState, DomainError> {
        self.supports
            .get(support_id)
            .ok_or_else(|| DomainError::NotFound("no such support".into()))
    }

    pub(super) fn subscription(
        &self,
        subscription_id: &str,
    ) -> Result<&SubscriptionState, DomainError> {
        self.subscription_terms
            .get(subscription_id)
            .ok_or_else(|| DomainError::NotFound("no such subscription".into()))
    }

    /// A product of the catalog this account may sell.
    pub(super) fn sellable<'c>(
        &self,
        catalog: &'c Catalog,
        code: &str,
    ) -> Result<&'c Product, DomainError> {
        let product = catalog
            .product(code)
            .ok_or_else(|| DomainError::BadInput(format!("there is no product \"{code}\"")))?;
        if let Some(allowed) = &self.allowed_products
            && !allowed.iter().any(|p| p == code)
        {
            return Err(DomainError::Forbidden(format!(
                "this account may not sell {}",
                product.name
            )));
        }
        Ok(product)
    }

    /// The product of a new sale on the key `key_id`: the key is this
    /// account's, the product one it may sell, and sold as `sale`.
    pub(super) fn product_for_sale<'c>(
        &self,
        catalog: &'c Catalog,
        key_id: &str,
        code: &str,
        sale: Sale,
    ) -> Result<&'c Product, DomainError> {
        self.ensure_key(key_id)?;
        let product = self.sellable(catalog, code)?;
        let refusal = match sale {
            Sale::License if product.subscription_only => {
                "is sold as a subscription, not as a license"
            }
            Sale::Support if product.subscription_only => {
                "is sold as a subscription; support contracts are for licensed products"
            }
            Sale::Subscription if !product.subscription_only => "is not sold as a subscription",
            _ => return Ok(product),
        };
        Err(DomainError::BadInput(format!("{} {refusal}", product.name)))
    }

    pub(super) fn ensure_new_id(&self, command: &LedgerCommand) -> Result<(), DomainError> {
        use LedgerCommand::*;
        let taken = match command {
            TransferOut { transfer_id, .. } => self.transfers_out.contains(transfer_id),
            AssignLicense { license_id, .. } => self.licenses.contains_key(license_id),
            AssignSupport { support_id, .. } => self.supports.contains_key(support_id),
            CreateSubscription {
                subscription_id, ..
            } => self.subscriptions.contains(subscription_id),
            _ => false,
        };
        if taken {
            return Err(DomainError::Conflict(
                "this id is already used in this account".into(),
            ));
        }
        Ok(())
    }
}
