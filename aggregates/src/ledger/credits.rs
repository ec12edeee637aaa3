//! Credits: granted to a partner by the vendor, passed on by a partner to its
//! resellers.

use super::guards::require;
use super::{Decision, Ledger, Role};
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::LedgerEvent;
use crate::values::{self, MAX_GRANT};

/// The most a balance may hold: the API's credits are GraphQL Ints (32 bits).
const MAX_BALANCE: i64 = i32::MAX as i64;

/// Refuses credits that would take `balance` beyond what the API can show.
fn ensure_room(balance: i64, amount: i64) -> Result<(), DomainError> {
    match balance.checked_add(amount) {
        Some(after) if after <= MAX_BALANCE => Ok(()),
        _ => Err(DomainError::BadInput(format!(
            "{amount} more credits would take the balance of {balance} above {MAX_BALANCE}, the most a balance can hold"
        ))),
    }
}

impl Ledger {
    pub(super) fn decide_credits(&self, role: Role, command: &LedgerCommand) -> Decision {
        use LedgerCommand::*;
        let event = match command {
            GrantCredits {
                amount,
                reference,
                idempotency,
            } => {
                if role != Role::Partner {
                    return Err(DomainError::BadInput(
                        "credits are granted to partners only".into(),
                    ));
                }
                values::check_range(*amount, 1, MAX_GRANT, "the amount")?;
                let reference = reference.trim();
                if reference.is_empty() || reference.chars().count() > 100 {
                    return Err(DomainError::BadInput(
                        "the reference must be 1 to 100 characters".into(),
                    ));
                }
                if let Some(first) = self.grants.get(reference) {
                    return if first == amount {
                        Ok(vec![])
                    } else {
                        Err(DomainError::Conflict(format!(
                            "the reference \"{reference}\" was already used for a grant of {first} credits"
                        )))
                    };
                }
                ensure_room(self.balance, *amount)?;
                LedgerEvent::CreditsGranted {
                    amount: *amount,
                    reference: reference.to_string(),
                    idempotency: idempotency.clone(),
                }
            }
            TransferOut {
                transfer_id,
                reseller_id,
                amount,
                idempotency,
            } => {
                require(role, Role::Partner)?;
                if !self.resellers.contains(reseller_id) {
                    return Err(DomainError::NotFound("no such reseller".into()));
                }
                values::check_range(*amount, 1, MAX_GRANT, "the amount")?;
                self.ensure_funds(*amount)?;
                LedgerEvent::CreditsTransferredOut {
                    transfer_id: transfer_id.clone(),
                    reseller_id: reseller_id.clone(),
                    amount: *amount,
                    idempotency: idempotency.clone(),
                }
            }
            ReceiveTransfer {
                transfer_id,
                partner_id,
                amount,
            } => {
                require(role, Role::Reseller)?;
                if self.transfers_in.contains(transfer_id) {
                    return Ok(vec![]);
                }
                if self.partner_id.as_deref() != Some(partner_id.as_str()) {
                    return Err(DomainError::Forbidden(
                        "credits can only come from the reseller's own partner".into(),
                    ));
                }
                if *amount <= 0 {
                    return Err(DomainError::BadInput(
                        "a transfer moves at least 1 credit".into(),
                    ));
                }
                LedgerEvent::CreditsTransferredIn {
                    transfer_id: transfer_id.clone(),
                    partner_id: partner_id.clone(),
                    amount: *amount,
                }
            }
            other => unreachable!("decide sent {other:?} to the credit rules"),
        };
        Ok(vec![event])
    }
}
