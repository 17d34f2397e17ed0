//! Administration: user management, the audit log, LLM usage and detailed health. Every function
//! checks the caller's permission itself, whatever route called it.

pub mod audit;
pub mod health;
pub mod outbox;
pub mod usage;
pub mod users;

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};

pub const MAX_PER_PAGE: u64 = 200;

/// `?page=1&per_page=50` (pages start at 1; at most 200 per page).
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
pub struct Paging {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl Paging {
    /// (page, per_page, offset) after validation.
    pub fn resolve(&self) -> ApiResult<(u64, u64, u64)> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if page == 0 {
            return Err(ApiError::bad_request("invalid_query", "page starts at 1"));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("per_page must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        let offset = (page - 1)
            .checked_mul(per_page)
            .filter(|o| *o <= i64::MAX as u64)
            .ok_or_else(|| ApiError::bad_request("invalid_query", "page is too large"))?;
        Ok((page, per_page, offset))
    }
}
