//! `outlook_send_email` and `teams_post_message`: checked, rendered and handed to the
//! delivery queue (the job is committed before the tool answers; the worker sends it once).

use std::collections::BTreeMap;

use domain::Permission;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Access, ToolContext, ToolError, ToolOutput, ToolRegistry, TypedTool};
use crate::delivery::{self, EMAIL_JOB, EmailJob, TEAMS_JOB, TeamsJob};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(SendEmail);
    r.add(PostTeams);
}

/// One address or role word, or a list of them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Recipients {
    One(String),
    Many(Vec<String>),
}

impl Recipients {
    pub(super) fn list(self) -> Vec<String> {
        match self {
            Recipients::One(s) => {
                s.split([',', ';']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
            }
            Recipients::Many(v) => v,
        }
    }
}

/// E-mail addresses, or people by role (CEO, CFO, COO, sales manager, …) resolved through
/// the directory and the users table.
pub(super) async fn resolve(ctx: &ToolContext, raw: Vec<String>) -> Result<Vec<String>, ToolError> {
    let mut out = Vec::new();
    for r in raw {
        let r = r.trim().to_string();
        if let Ok(addr) = domain::EmailAddress::parse(&r) {
            out.push(addr.as_str().to_lowercase());
            continue;
        }
        let lowered = r.to_lowercase();
        let key = crate::skills::params::ROLE_WORDS
            .iter()
            .find(|(word, _)| lowered == *word || lowered == format!("the {word}"))
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                ToolError::InvalidInput(format!(
                    "'{}' is not an e-mail address or a known role",
                    r.chars().take(80).collect::<String>()
                ))
            })?;
        out.push(crate::skills::params::resolve_role(key, ctx).await.map_err(ToolError::InvalidInput)?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The caller's artifacts, checked.
pub(super) async fn own_artifacts(ctx: &ToolContext, ids: &[Uuid]) -> Result<Vec<Value>, ToolError> {
    let mut out = Vec::new();
    for id in ids {
        match store::artifacts::get(&ctx.db, *id).await? {
            Some(a) if a.user_id == ctx.principal.user_id => {
                out.push(json!({"id": a.id, "name": a.name, "type": a.kind, "size_bytes": a.size_bytes}));
            }
            _ => return Err(ToolError::InvalidInput(format!("no file {id} of yours to attach"))),
        }
    }
    Ok(out)
}

fn key_of(ctx: &ToolContext, what: &str, payload: &Value) -> String {
    let digest = hex::encode(Sha256::digest(payload.to_string().as_bytes()));
    format!("{what}:{}:{}", ctx.turn_id, &digest[..32])
}

/// Commits the delivery job; the same turn asking for the same delivery twice gets the
/// first job back.
pub(super) async fn enqueue(ctx: &ToolContext, kind: &str, payload: Value) -> Result<(Uuid, bool), ToolError> {
    let key = key_of(ctx, kind, &payload);
    let job = jobs::NewJob::new(domain::jobs::Queue::Delivery, kind, &payload)
        .priority(80)
        .user(ctx.principal.user_id)
        .idempotency_key(key)
        .max_attempts(5);
    let e = jobs::enqueue(&ctx.db, job).await.map_err(|e| {
        tracing::error!(error = %e, "could not enqueue a delivery");
        ToolError::Failed("the delivery could not be queued".into())
    })?;
    Ok((e.id, e.created))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailInput {
    /// Recipients: e-mail addresses, or roles such as "CEO", "CFO", "sales manager".
    pub to: Recipients,
    pub cc: Option<Recipients>,
    pub subject: String,
    /// The message as plain text (used when no template is given).
    pub body: Option<String>,
    /// An e-mail template: intro, followup, proposal, welcome, churn_followup, report_delivery.
    pub body_template: Option<String>,
    /// Values for the template's placeholders (report_name, period, summary, contact_name, …).
    pub template_data: Option<BTreeMap<String, Value>>,
    /// Ids of the caller's files to attach.
    pub attachments: Option<Vec<Uuid>>,
}

pub struct SendEmail;

#[async_trait::async_trait]
impl TypedTool for SendEmail {
    type Input = EmailInput;
    const NAME: &'static str = "outlook_send_email";
    const DESCRIPTION: &'static str = "Send an e-mail through Outlook (from a template or plain text, with the \
        caller's files attached). Sent once, in the background; at most 30 recipients per hour per user.";
    const ACCESS: Access = Access::AnyOf(&[Permission::EmailSend]);
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Sending the e-mail…";

    async fn run(&self, ctx: &ToolContext, i: EmailInput) -> Result<ToolOutput, ToolError> {
        let to = resolve(ctx, i.to.list()).await?;
        if to.is_empty() {
            return Err(ToolError::InvalidInput("no recipients".into()));
        }
        let cc = match i.cc {
            Some(c) => resolve(ctx, c.list()).await?,
            None => Vec::new(),
        };
        let subject = i.subject.trim().to_string();
        if subject.is_empty() || subject.chars().count() > 250 {
            return Err(ToolError::InvalidInput("the subject must be 1 to 250 characters".into()));
        }
        let limit = i64::from(ctx.settings.delivery.email_per_hour);
        let sent = store::outbox::emails_since(
            &ctx.db,
            ctx.principal.user_id,
            chrono::Utc::now() - chrono::Duration::hours(1),
        )
        .await?;
        if sent + (to.len() + cc.len()) as i64 > limit {
            return Err(ToolError::Failed(format!(
                "the hourly e-mail limit is reached ({limit} recipients per hour; {sent} used); try again later"
            )));
        }
        let attachments = i.attachments.unwrap_or_default();
        let attached = own_artifacts(ctx, &attachments).await?;
        let html = match (&i.body_template, &i.body) {
            (Some(t), _) => {
                let mut data: Map<String, Value> = i.template_data.unwrap_or_default().into_iter().collect();
                data.entry("sender_name").or_insert_with(|| json!(ctx.principal.name));
                data.entry("sender_title").or_insert_with(|| json!(ctx.principal.role.replace('_', " ")));
                data.entry("contact_name").or_insert_with(|| json!("there"));
                let root = std::path::Path::new(&ctx.settings.paths.knowledge_dir);
                delivery::render_template(root, t.trim(), &data).map_err(|e| ToolError::InvalidInput(e.to_string()))?.1
            }
            (None, Some(b)) if !b.trim().is_empty() => delivery::text_to_html(b),
            _ => return Err(ToolError::InvalidInput("give a body or a body_template".into())),
        };
        let payload = serde_json::to_value(EmailJob {
            user_id: ctx.principal.user_id,
            to: to.clone(),
            cc,
            subject: subject.clone(),
            html,
            attachments,
        })
        .map_err(|e| ToolError::Failed(e.to_string()))?;
        let (job, created) = enqueue(ctx, EMAIL_JOB, payload).await?;
        ToolOutput::json(json!({
            "queued": true, "job_id": job, "to": to, "subject": subject, "attachments": attached,
            "count": to.len(), "note": if created { "sending in the background" } else { "already queued by this turn" },
        }))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamsInput {
    /// The channel, e.g. "sales", "support", "management".
    pub channel: String,
    /// The message (plain text; links allowed).
    pub text: String,
    /// Ids of the caller's files to link.
    pub attachments: Option<Vec<Uuid>>,
}

pub struct PostTeams;

#[async_trait::async_trait]
impl TypedTool for PostTeams {
    type Input = TeamsInput;
    const NAME: &'static str = "teams_post_message";
    const DESCRIPTION: &'static str = "Post a message to a Microsoft Teams channel (files as links). Posted once, \
        in the background.";
    const ACCESS: Access = Access::AnyOf(&[Permission::TeamsPost]);
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Posting to Teams…";

    async fn run(&self, ctx: &ToolContext, i: TeamsInput) -> Result<ToolOutput, ToolError> {
        let channel = i.channel.trim().trim_start_matches('#').to_lowercase();
        if channel.is_empty()
            || channel.len() > 100
            || !channel.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ToolError::InvalidInput("the channel must be a name like sales or support".into()));
        }
        let text = i.text.trim().to_string();
        if text.is_empty() || text.chars().count() > 20_000 {
            return Err(ToolError::InvalidInput("the text must be 1 to 20,000 characters".into()));
        }
        let attachments = i.attachments.unwrap_or_default();
        let attached = own_artifacts(ctx, &attachments).await?;
        let payload = serde_json::to_value(TeamsJob {
            user_id: ctx.principal.user_id,
            channel: channel.clone(),
            team_id: None,
            text,
            attachments,
        })
        .map_err(|e| ToolError::Failed(e.to_string()))?;
        let (job, _) = enqueue(ctx, TEAMS_JOB, payload).await?;
        ToolOutput::json(json!({"queued": true, "job_id": job, "channel": channel, "attachments": attached}))
    }
}
