//! What a use case can answer instead of a result.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Unknown, or belonging to another organization: the two look alike.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{detail}")]
    Conflict { field: &'static str, detail: String },
    #[error("{field}: {detail}")]
    Invalid { field: &'static str, detail: String },
    /// The request must say which organization it means.
    #[error("{0}")]
    BadRequest(String),
    /// Storage could not be reached or did not answer in time: worth a
    /// retry. The cause is for the log only.
    #[error("storage is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Too much expensive work in flight (password hashing): try again in
    /// this many seconds.
    #[error("the server is busy")]
    Busy(u64),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ServiceError {
    pub fn invalid(field: &'static str, detail: impl Into<String>) -> Self {
        Self::Invalid { field, detail: detail.into() }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(detail.into())
    }

    /// A key wider than its maker: refused as a lack of authority (`403`),
    /// naming the field.
    pub fn above_ceiling(e: crate::domain::ceiling::Exceeds) -> Self {
        Self::forbidden(format!("{}: {} (a key gives no more than it has)", e.field, e.detail))
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(field) => {
                ServiceError::Conflict { field, detail: format!("{field} is already taken") }
            }
            StoreError::Unavailable(_) => ServiceError::Unavailable(err.into()),
            other => ServiceError::Internal(other.into()),
        }
    }
}

impl From<getrandom::Error> for ServiceError {
    fn from(err: getrandom::Error) -> Self {
        ServiceError::Internal(anyhow::anyhow!("no OS randomness: {err}"))
    }
}

impl From<crate::domain::seal::SealError> for ServiceError {
    fn from(err: crate::domain::seal::SealError) -> Self {
        ServiceError::Internal(err.into())
    }
}
