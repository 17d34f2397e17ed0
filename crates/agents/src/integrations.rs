//! The outside services a process talks to, built once from the settings: Microsoft Graph
//! (Outlook, calendar, Teams) and Firebase Cloud Messaging. Each is `None` when it is not
//! configured; callers then use the outbox (deliveries) or say the service is not set up
//! (reads such as the inbox or free time).

use std::time::Duration;

use anyhow::Context;

/// Built once per process and shared.
#[derive(Clone)]
pub struct Integrations {
    /// Where artifacts live: `paths.data_dir/artifacts`, or an S3-compatible bucket.
    pub storage: files::ArtifactStorage,
    pub graph: Option<graph::GraphClient>,
    pub fcm: Option<std::sync::Arc<push::FcmClient>>,
    /// The mailbox / Teams identity deliveries are sent as.
    pub sender: String,
    /// The team whose channels receive posts.
    pub team_id: String,
    /// Channel names mapped to ids (others are looked up by display name).
    pub channels: std::collections::BTreeMap<String, String>,
    /// The one client for user-chosen URLs (refuses private and metadata addresses).
    pub web: Option<web::SafeClient>,
    /// LinkedIn people search, when a session cookie is configured.
    pub linkedin: Option<web::LinkedinClient>,
}

impl Default for Integrations {
    /// Nothing configured; artifacts in `./data/artifacts`.
    fn default() -> Self {
        Self {
            storage: files::ArtifactStorage::local(files::LocalStore::new("./data/artifacts")),
            graph: None,
            fcm: None,
            sender: String::new(),
            team_id: String::new(),
            channels: Default::default(),
            web: None,
            linkedin: None,
        }
    }
}

/// The artifact storage the settings name (`storage.*`).
pub fn storage_from_settings(s: &settings::Settings) -> anyhow::Result<files::ArtifactStorage> {
    let st = &s.storage;
    let config = files::StorageConfig {
        kind: match st.kind {
            settings::StorageKind::Local => files::StorageKind::Local,
            settings::StorageKind::S3 => files::StorageKind::S3,
        },
        bucket: st.bucket.clone(),
        endpoint: st.endpoint.clone(),
        region: st.region.clone(),
        prefix: st.prefix.clone(),
        access_key_id: st.access_key_id.clone(),
        secret_access_key: st.secret_access_key.expose().to_string(),
        allow_http: st.allow_http,
    };
    let local_root = std::path::Path::new(&s.paths.data_dir).join("artifacts");
    Ok(files::ArtifactStorage::from_config(&config, local_root)?)
}

impl Integrations {
    pub fn from_settings(s: &settings::Settings) -> anyhow::Result<Self> {
        let ms = &s.delivery.ms365;
        let graph = if ms.is_configured() {
            let mut cfg = graph::GraphConfig::new(&ms.tenant_id, &ms.client_id, ms.client_secret.expose());
            cfg.graph_base_url = ms.graph_base_url.trim_end_matches('/').to_string();
            cfg.login_base_url = ms.login_base_url.trim_end_matches('/').to_string();
            cfg.timeout = Duration::from_secs(ms.timeout_secs);
            Some(graph::GraphClient::new(cfg).context("Microsoft Graph client")?)
        } else {
            None
        };
        let p = &s.delivery.push;
        let fcm = if p.is_configured() {
            let project = (!p.project_id.is_empty()).then(|| p.project_id.clone());
            let cfg = push::PushConfig::from_file(&p.service_account_file, project, Some(p.base_url.clone()))
                .with_context(|| format!("FCM service account {}", p.service_account_file))?;
            Some(std::sync::Arc::new(push::FcmClient::new(cfg).context("FCM client")?))
        } else {
            None
        };
        let w = &s.web;
        let policy = web::WebPolicy {
            timeout: Duration::from_secs(w.timeout_secs),
            max_bytes: w.max_bytes,
            max_redirects: w.max_redirects,
            allow: w.allow_networks.iter().filter_map(|n| n.parse().ok()).collect(),
            ..web::WebPolicy::default()
        };
        let web = Some(web::SafeClient::new(policy).context("web client")?);
        Ok(Self {
            storage: storage_from_settings(s)?,
            web,
            linkedin: if w.linkedin_cookie.is_empty() {
                None
            } else {
                let mut cfg = web::LinkedinConfig::new(w.linkedin_cookie.expose().to_string());
                cfg.base_url = w.linkedin_base_url.trim_end_matches('/').to_string();
                Some(web::LinkedinClient::new(cfg).context("LINKEDIN_COOKIE")?)
            },
            graph,
            fcm,
            sender: ms.sender_user_id.clone(),
            team_id: ms.team_id.clone(),
            channels: ms.channels.clone(),
        })
    }

    /// The Graph client, or the error a tool shows when Microsoft 365 is not set up.
    pub fn graph(&self) -> Result<&graph::GraphClient, crate::ToolError> {
        self.graph.as_ref().ok_or_else(|| {
            crate::ToolError::Failed(
                "Microsoft 365 is not configured on this server (MS365_TENANT_ID, MS365_CLIENT_ID, \
                 MS365_CLIENT_SECRET), so mailboxes and calendars cannot be read"
                    .into(),
            )
        })
    }
}
