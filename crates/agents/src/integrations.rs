//! The outside services a process talks to, built once from the settings: Microsoft Graph
//! (Outlook, calendar, Teams) and Firebase Cloud Messaging. Each is `None` when it is not
//! configured; callers then use the outbox (deliveries) or say the service is not set up
//! (reads such as the inbox or free time).

use std::time::Duration;

use anyhow::Context;

/// Built once per process and shared.
#[derive(Clone, Default)]
pub struct Integrations {
    pub graph: Option<graph::GraphClient>,
    pub fcm: Option<std::sync::Arc<push::FcmClient>>,
    /// The mailbox / Teams identity deliveries are sent as.
    pub sender: String,
    /// The team whose channels receive posts.
    pub team_id: String,
    /// Channel names mapped to ids (others are looked up by display name).
    pub channels: std::collections::BTreeMap<String, String>,
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
        Ok(Self {
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
