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
    /// The detail is logged; the caller learns that it failed, and why when
    /// the reason is theirs to know (the database is out of space). Made
    /// only by [`AppError::internal`], so no 500 goes out without a log line.
    #[error("{0}")]
    Internal(Logged),
}

/// Proof that an internal error was logged: only [`AppError::internal`]
/// makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged(Option<&'static str>);

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.unwrap_or("internal error"))
    }
}

/// What a caller is told when the database refused a write for lack of
/// space: nothing of the request was stored, and it may be sent again.
pub const STORAGE_FULL: &str = "the database has no space left and refuses writes: \
nothing was changed; send the request again once space is freed";

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
        if crate::storage::is_storage_full(&error.to_string()) {
            crate::storage::note_write_refused();
            return AppError::Internal(Logged(Some(STORAGE_FULL)));
        }
        AppError::Internal(Logged(None))
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
