//! Connection settings of a [`GraphClient`](crate::GraphClient).

use std::{fmt, time::Duration};

/// The default Graph endpoint (global cloud, v1.0).
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.microsoft.com/v1.0";
/// The default Microsoft Entra ID (Azure AD) login endpoint.
pub const DEFAULT_LOGIN_BASE_URL: &str = "https://login.microsoftonline.com";

/// An app registration's client credentials plus where and how to call Graph.
///
/// `Debug` never shows the client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct GraphConfig {
    /// The directory (tenant) id or a verified domain.
    pub tenant_id: String,
    /// The application (client) id.
    pub client_id: String,
    /// The client secret's *value* (not its id).
    pub client_secret: String,
    /// Graph's root, without a trailing slash (default [`DEFAULT_GRAPH_BASE_URL`]).
    pub graph_base_url: String,
    /// The token authority's root (default [`DEFAULT_LOGIN_BASE_URL`]); the token endpoint is
    /// `{login_base_url}/{tenant_id}/oauth2/v2.0/token`.
    pub login_base_url: String,
    /// The whole-request timeout of every HTTP call (default 30 s).
    pub timeout: Duration,
    /// How many times a throttled (429) or unavailable (503/504) call is retried (default 3).
    pub max_retries: u32,
    /// The longest single wait before a retry (default 30 s). A `Retry-After` above it is not
    /// waited for: the call fails with [`GraphError::Throttled`](crate::GraphError::Throttled).
    pub max_retry_wait: Duration,
}

impl GraphConfig {
    /// Credentials with every other setting at its default.
    pub fn new(tenant_id: impl Into<String>, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            graph_base_url: DEFAULT_GRAPH_BASE_URL.into(),
            login_base_url: DEFAULT_LOGIN_BASE_URL.into(),
            timeout: Duration::from_secs(30),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for GraphConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphConfig")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("graph_base_url", &self.graph_base_url)
            .field("login_base_url", &self.login_base_url)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_retry_wait", &self.max_retry_wait)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let cfg = GraphConfig::new("tenant", "client", "s3cr3t-value");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("client"), "{shown}");
    }
}
