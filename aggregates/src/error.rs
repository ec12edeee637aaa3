//! The one error type of the domain; the service maps each kind to a GraphQL
//! `extensions.code` in one place.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("this costs {required} credits and the balance is {balance}")]
    InsufficientCredits { required: i64, balance: i64 },
}
