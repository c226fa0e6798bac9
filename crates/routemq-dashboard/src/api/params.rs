//! Query parameters and path segments, read as text and checked here so that a
//! bad one is a JSON 400 naming it.

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use routemq_core::QueueName;
use serde::Deserialize;

use crate::error::ApiError;

/// The page size when none is given.
pub(crate) const DEFAULT_LIMIT: usize = 50;

/// `?queue=&state=&offset=&limit=`, every one optional.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Params {
    pub(crate) queue: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) offset: Option<String>,
    pub(crate) limit: Option<String>,
}

impl Params {
    /// The parameters of a request, or a 400 naming what could not be read.
    pub(crate) fn read(query: Result<Query<Params>, QueryRejection>) -> Result<Params, ApiError> {
        query
            .map(|Query(p)| p)
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }

    /// `queue`, when given and not empty.
    pub(crate) fn queue(&self) -> Result<Option<QueueName>, ApiError> {
        match self.queue.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(q) => queue_name(q).map(Some),
        }
    }

    /// `offset`, 0 when not given.
    pub(crate) fn offset(&self) -> Result<u64, ApiError> {
        match self.offset.as_deref().map(str::trim) {
            None | Some("") => Ok(0),
            Some(text) => text.parse().map_err(|_| {
                ApiError::BadRequest(format!("offset={text:?} is not a whole number"))
            }),
        }
    }

    /// `limit`, 1 to `max` ([`DEFAULT_LIMIT`] when not given).
    pub(crate) fn limit(&self, max: usize) -> Result<usize, ApiError> {
        match self.limit.as_deref().map(str::trim) {
            None | Some("") => Ok(DEFAULT_LIMIT.min(max)),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::BadRequest(format!(
                    "limit={text:?} must be a whole number from 1 to {max}"
                ))),
            },
        }
    }
}

/// A queue name from a path or a parameter.
pub(crate) fn queue_name(text: &str) -> Result<QueueName, ApiError> {
    QueueName::new(text).map_err(|e| ApiError::BadRequest(e.to_string()))
}
