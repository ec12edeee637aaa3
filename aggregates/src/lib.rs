//! The domain of license-portal: accounts and their credit ledgers, activation
//! keys, licenses, support and subscriptions. Pure: no I/O.

pub mod accounts;
pub mod catalog;
pub mod commands;
pub mod error;
pub mod events;
pub mod ledger;
pub mod names;
pub mod values;

pub use accounts::{Admin, LedgerServices, Partner, Reseller};
pub use catalog::Catalog;
pub use commands::LedgerCommand;
pub use error::DomainError;
pub use events::{CreditReason, Idempotency, LedgerEvent, LicenseKind};
pub use ledger::{Ledger, Role};
pub use names::{LicenseStatus, UnknownName};
