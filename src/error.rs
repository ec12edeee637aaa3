//! The service's one error type. Each variant is one `extensions.code` of the
//! contract; the GraphQL layer and the portal pages both render from here.

use aggregates::DomainError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadInput(String),
    #[error("this costs {required} credits and the balance is {balance}")]
    InsufficientCredits { required: i64, balance: i64 },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    RateLimited(String),
    /// The detail is logged; the caller only learns that it failed. Made
    /// only by [`AppError::internal`], so no 500 goes out without a log line.
    #[error("internal error")]
    Internal(Logged),
}

/// Proof that an internal error was logged: only [`AppError::internal`]
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged(());

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadInput(_) => "BAD_USER_INPUT",
            AppError::InsufficientCredits { .. } => "INSUFFICIENT_CREDITS",
            AppError::Conflict(_) => "CONFLICT",
            AppError::RateLimited(_) => "RATE_LIMITED",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    pub fn bad(message: impl Into<String>) -> AppError {
        AppError::BadInput(message.into())
    }

    pub fn not_found(what: &str) -> AppError {
        AppError::NotFound(format!("no {what} with this id"))
    }

    /// The one way to an internal error: logs the unexpected failure in
    /// full (what was being done, and what went wrong) and hides it from the
    /// caller.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> AppError {
        tracing::error!(%error, "{context}");
        AppError::Internal(Logged(()))
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::BadInput(m) => AppError::BadInput(m),
            DomainError::NotFound(m) => AppError::NotFound(m),
            DomainError::Conflict(m) => AppError::Conflict(m),
            DomainError::Forbidden(m) => AppError::Forbidden(m),
            DomainError::InsufficientCredits { required, balance } => {
                AppError::InsufficientCredits { required, balance }
            }
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::internal("database error", e)
    }
}

impl From<projections::log::LogError> for AppError {
    fn from(e: projections::log::LogError) -> Self {
        AppError::internal("event log error", e)
    }
}
