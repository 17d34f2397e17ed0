//! The Google service-account file and the client's configuration.

use std::{fmt, path::Path, time::Duration};

use serde::Deserialize;

use crate::PushError;

/// FCM's production endpoint.
pub const DEFAULT_FCM_BASE_URL: &str = "https://fcm.googleapis.com";
/// Google's OAuth 2.0 token endpoint (what service-account files name in `token_uri`).
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The fields of a Google service-account JSON key file that FCM needs. `Debug` redacts
/// the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    project_id: String,
    private_key_id: String,
    private_key: String,
    client_email: String,
    token_uri: String,
}

#[derive(Deserialize)]
struct RawServiceAccount {
    #[serde(rename = "type")]
    kind: Option<String>,
    project_id: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
    client_email: Option<String>,
    token_uri: Option<String>,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"[redacted]")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish()
    }
}

impl ServiceAccount {
    /// Builds one from its parts; the key is checked like [`ServiceAccount::from_json`] does.
    pub fn new(
        project_id: impl Into<String>,
        private_key_id: impl Into<String>,
        private_key_pem: impl Into<String>,
        client_email: impl Into<String>,
        token_uri: impl Into<String>,
    ) -> Result<Self, PushError> {
        let account = ServiceAccount {
            project_id: project_id.into(),
            private_key_id: private_key_id.into(),
            private_key: private_key_pem.into(),
            client_email: client_email.into(),
            token_uri: token_uri.into(),
        };
        account.check()?;
        Ok(account)
    }

    /// Parses the JSON key file's contents (`"type": "service_account"`). A missing
    /// `token_uri` means Google's. Errors name the problem, never the key.
    pub fn from_json(json: &str) -> Result<Self, PushError> {
        let raw: RawServiceAccount = serde_json::from_str(json).map_err(|e| config(json_error(&e)))?;
        match raw.kind.as_deref() {
            Some("service_account") => {}
            Some(other) => {
                let other: String = other.chars().take(40).collect();
                return Err(config(format!("`type` is \"{other}\", expected \"service_account\"")));
            }
            None => return Err(config("missing field `type` (expected \"service_account\")")),
        }
        let field = |value: Option<String>, name: &str| value.ok_or_else(|| config(format!("missing field `{name}`")));
        let account = ServiceAccount {
            project_id: field(raw.project_id, "project_id")?,
            private_key_id: field(raw.private_key_id, "private_key_id")?,
            private_key: field(raw.private_key, "private_key")?,
            client_email: field(raw.client_email, "client_email")?,
            token_uri: raw.token_uri.unwrap_or_else(|| DEFAULT_TOKEN_URI.into()),
        };
        account.check()?;
        Ok(account)
    }

    /// Without checks, for the fake (its fixture key is known to be good).
    #[cfg(feature = "fake")]
    pub(crate) fn new_unchecked(
        project_id: &str,
        private_key_id: &str,
        private_key_pem: &str,
        client_email: &str,
        token_uri: &str,
    ) -> Self {
        ServiceAccount {
            project_id: project_id.into(),
            private_key_id: private_key_id.into(),
            private_key: private_key_pem.into(),
            client_email: client_email.into(),
            token_uri: token_uri.into(),
        }
    }

    /// Reads and parses a key file. Errors name the path and the problem, never the key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PushError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path)
            .map_err(|e| config(format!("reading service-account file {}: {e}", path.display())))?;
        Self::from_json(&json).map_err(|e| match e {
            PushError::Config { message } => config(format!("service-account file {}: {message}", path.display())),
            other => other,
        })
    }

    fn check(&self) -> Result<(), PushError> {
        for (name, value) in [
            ("project_id", &self.project_id),
            ("private_key_id", &self.private_key_id),
            ("private_key", &self.private_key),
            ("client_email", &self.client_email),
            ("token_uri", &self.token_uri),
        ] {
            if value.trim().is_empty() {
                return Err(config(format!("field `{name}` is empty")));
            }
        }
        // Parsing the PEM checks its framing only; a test signature checks the key itself.
        let key = self.encoding_key()?;
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &serde_json::json!({}), &key)
            .map(|_| ())
            .map_err(|e| config(format!("`private_key` cannot sign RS256 ({e})")))
    }

    pub(crate) fn encoding_key(&self) -> Result<jsonwebtoken::EncodingKey, PushError> {
        // jsonwebtoken's errors describe the format problem only (no key bytes).
        jsonwebtoken::EncodingKey::from_rsa_pem(self.private_key.as_bytes())
            .map_err(|e| config(format!("`private_key` is not an RSA private key in PEM form ({e})")))
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    pub fn private_key_id(&self) -> &str {
        &self.private_key_id
    }

    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// The PEM private key. Handle with care: never log it.
    pub fn private_key_pem(&self) -> &str {
        &self.private_key
    }
}

/// serde_json's message for a failed parse. Only string fields are read, so its "invalid
/// type" messages quote numbers or booleans at most, never a string such as the key.
fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => {
            format!("not valid JSON (line {}, column {})", e.line(), e.column())
        }
        Category::Data | Category::Io => format!("unexpected JSON content: {e}"),
    }
}

fn config(message: impl Into<String>) -> PushError {
    PushError::Config { message: message.into() }
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// Overrides the service account's `project_id` when set.
    pub project_id: Option<String>,
    pub service_account: ServiceAccount,
    /// Default [`DEFAULT_FCM_BASE_URL`]; no trailing `/v1`.
    pub fcm_base_url: String,
    /// Overrides the service account's `token_uri` (as the JWT audience too) when set.
    pub token_uri: Option<String>,
    /// Per HTTP request. Default 10 s.
    pub timeout: Duration,
    /// Retries after the first attempt for 429, 5xx and connection failures. Default 3.
    pub max_retries: u32,
    /// The longest single wait: a `Retry-After` above it ends the retries at once and
    /// backoff waits are capped at it. Default 30 s.
    pub max_retry_wait: Duration,
    /// The first backoff wait when the server names none; doubles per retry. Default 1 s.
    pub initial_backoff: Duration,
}

impl PushConfig {
    /// Defaults around a service account.
    pub fn new(service_account: ServiceAccount) -> Self {
        PushConfig {
            project_id: None,
            service_account,
            fcm_base_url: DEFAULT_FCM_BASE_URL.into(),
            token_uri: None,
            timeout: Duration::from_secs(10),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(30),
            initial_backoff: Duration::from_secs(1),
        }
    }

    /// Defaults around the key file at `path`; `project_id` and `fcm_base_url` override
    /// the file's project and production FCM when given.
    pub fn from_file(
        path: impl AsRef<Path>,
        project_id: Option<String>,
        fcm_base_url: Option<String>,
    ) -> Result<Self, PushError> {
        let mut config = PushConfig::new(ServiceAccount::from_file(path)?);
        config.project_id = project_id.filter(|p| !p.trim().is_empty());
        if let Some(url) = fcm_base_url.filter(|u| !u.trim().is_empty()) {
            config.fcm_base_url = url;
        }
        Ok(config)
    }

    /// The project messages are sent for.
    pub fn project_id(&self) -> &str {
        self.project_id.as_deref().unwrap_or(self.service_account.project_id())
    }

    /// The OAuth token endpoint (and JWT audience).
    pub fn token_uri(&self) -> &str {
        self.token_uri.as_deref().unwrap_or(self.service_account.token_uri())
    }
}
