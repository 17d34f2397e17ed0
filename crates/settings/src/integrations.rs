//! Outside services: Microsoft 365, push notifications, object storage and the web client.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Secret;

/// Microsoft 365 through Microsoft Graph (application permissions, client credentials).
/// Without a tenant, client id and secret every delivery goes to the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ms365Settings {
    /// `MS365_TENANT_ID`.
    pub tenant_id: String,
    /// `MS365_CLIENT_ID`.
    pub client_id: String,
    /// `MS365_CLIENT_SECRET`.
    pub client_secret: Secret,
    /// `MS_GRAPH_BASE_URL`.
    pub graph_base_url: String,
    /// `MS_LOGIN_BASE_URL`.
    pub login_base_url: String,
    /// The team whose channels reports are posted to (`MS_TEAMS_TEAM_ID`).
    pub team_id: String,
    /// The mailbox and Teams identity the assistant sends as (`MS_TEAMS_SENDER_USER_ID`):
    /// a user id or user principal name.
    pub sender_user_id: String,
    /// Channel names (`sales`, `finance`, ...) mapped to channel ids; a name not listed is
    /// looked up by display name in the team.
    pub channels: BTreeMap<String, String>,
    /// Seconds per Graph request.
    pub timeout_secs: u64,
}

impl Default for Ms365Settings {
    fn default() -> Self {
        Self {
            tenant_id: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            graph_base_url: "https://graph.microsoft.com/v1.0".into(),
            login_base_url: "https://login.microsoftonline.com".into(),
            team_id: String::new(),
            sender_user_id: String::new(),
            channels: BTreeMap::new(),
            timeout_secs: 30,
        }
    }
}

impl Ms365Settings {
    /// Tenant, client id and secret are all set.
    pub fn is_configured(&self) -> bool {
        !self.tenant_id.is_empty() && !self.client_id.is_empty() && !self.client_secret.is_empty()
    }
}

/// Mobile push through Firebase Cloud Messaging (HTTP v1). Without a service account,
/// pushes go to the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSettings {
    /// `FCM_PROJECT_ID` (defaults to the service account's project).
    pub project_id: String,
    /// The Google service-account JSON file (`FCM_SERVICE_ACCOUNT_FILE`).
    pub service_account_file: String,
    /// `FCM_BASE_URL`.
    pub base_url: String,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            project_id: String::new(),
            service_account_file: String::new(),
            base_url: "https://fcm.googleapis.com".into(),
        }
    }
}

impl PushSettings {
    pub fn is_configured(&self) -> bool {
        !self.service_account_file.is_empty()
    }
}

/// Where artifacts (uploads and generated files) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    /// `paths.data_dir/artifacts`.
    #[default]
    Local,
    /// An S3-compatible bucket.
    S3,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `local` or `s3` (`STORAGE_TYPE`).
    #[serde(rename = "type")]
    pub kind: StorageKind,
    /// `S3_BUCKET`.
    pub bucket: String,
    /// `S3_ENDPOINT`: empty for AWS itself, else the URL of an S3-compatible service.
    pub endpoint: String,
    /// `S3_REGION`.
    pub region: String,
    /// Key prefix inside the bucket.
    pub prefix: String,
    /// `S3_ACCESS_KEY_ID` (else `AWS_ACCESS_KEY_ID` from the environment).
    pub access_key_id: String,
    /// `S3_SECRET_ACCESS_KEY` (else `AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key: Secret,
    /// Plain-HTTP endpoints (a local MinIO, tests).
    pub allow_http: bool,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            kind: StorageKind::Local,
            bucket: String::new(),
            endpoint: String::new(),
            region: "ap-southeast-1".into(),
            prefix: "artifacts".into(),
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            allow_http: false,
        }
    }
}

/// Outbound requests to user-chosen URLs (web research, URL input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    pub timeout_secs: u64,
    /// Largest response body read, in bytes.
    pub max_bytes: u64,
    pub max_redirects: usize,
    /// Networks that would be refused as private but are allowed (an intranet wiki),
    /// e.g. `10.20.0.0/16`. Empty by default: private, loopback and metadata addresses are
    /// never fetched.
    pub allow_networks: Vec<String>,
    /// A LinkedIn session cookie (`LINKEDIN_COOKIE`: the `li_at` value, or the browser's whole
    /// cookie string); without it LinkedIn prospecting is off.
    pub linkedin_cookie: Secret,
    pub linkedin_base_url: String,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            timeout_secs: 15,
            max_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            allow_networks: Vec::new(),
            linkedin_cookie: Secret::default(),
            linkedin_base_url: "https://www.linkedin.com".into(),
        }
    }
}
