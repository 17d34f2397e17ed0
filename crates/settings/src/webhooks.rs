//! Incoming webhooks: secrets per source, routing of other sources' events to agents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Secret;

/// How a custom source signs its deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureScheme {
    /// `X-Hub-Signature-256: sha256=<hex>`.
    Github,
    /// `Stripe-Signature: t=…,v1=…` (300 s tolerance).
    Stripe,
    /// A hex HMAC-SHA256 of the body in `header` (Zapier and others).
    Generic,
}

/// A custom webhook source (`POST /webhooks/custom/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSource {
    pub scheme: SignatureScheme,
    /// Several during a rotation: any one verifies.
    pub secrets: Vec<Secret>,
    /// The signature header of the `generic` scheme (default `X-Signature`).
    #[serde(default)]
    pub header: Option<String>,
    /// Where the event type is: a header (`X-GitHub-Event`) or a top-level JSON field.
    #[serde(default)]
    pub event_header: Option<String>,
    #[serde(default)]
    pub event_field: Option<String>,
}

/// Where a routed event's answer goes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteDelivery {
    pub teams_channel: Option<String>,
    pub email: Vec<String>,
}

/// `source` + `event` (or `*`) → an agent with an instruction and a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookRoute {
    pub source: String,
    pub event: String,
    pub agent: String,
    /// `{event}` and `{source}` are replaced.
    pub message: String,
    #[serde(default)]
    pub deliver_to: RouteDelivery,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// The Mezzofy platform's signing secret (`WEBHOOK_SECRET`).
    pub secret: Secret,
    /// The previous secret during a rotation (`WEBHOOK_SECRET_PREVIOUS`).
    pub previous_secret: Secret,
    /// Largest accepted body.
    pub body_limit_bytes: usize,
    /// Orders at or above this many cents notify finance.
    pub large_order_cents: i64,
    /// Custom sources by name (`github`, `stripe`, `zapier`, ...).
    pub sources: BTreeMap<String, WebhookSource>,
    pub routes: Vec<WebhookRoute>,
    /// The Teams bot's Microsoft app id (`TEAMS_BOT_APP_ID`): Bot Framework tokens must be for it.
    pub teams_app_id: String,
    /// Where Bot Framework's signing keys are published.
    pub teams_openid_url: String,
    /// A Teams outgoing webhook's security token (base64), as an alternative to the bot.
    pub teams_outgoing_secret: Secret,
    /// The role whose permissions a Teams @mention runs with (Teams users are not mapped to
    /// accounts here).
    pub teams_role: String,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            secret: Secret::default(),
            previous_secret: Secret::default(),
            body_limit_bytes: 1024 * 1024,
            large_order_cents: 1_000_000,
            sources: BTreeMap::new(),
            routes: Vec::new(),
            teams_app_id: String::new(),
            teams_openid_url: "https://login.botframework.com/v1/.well-known/openidconfiguration".into(),
            teams_outgoing_secret: Secret::default(),
            teams_role: "sales_rep".into(),
        }
    }
}
