//! `delivery.*` jobs: e-mail, Teams channel posts, Teams chats, mail replies, calendar
//! events and push notifications, each performed through `JobContext::effect`.
//!
//! With Microsoft 365 (or FCM) configured the provider is called and the delivery is recorded
//! in the outbox as `sent`; without, the delivery is recorded in the outbox (status `outbox`)
//! with its full rendered content. Every e-mail recipient, in every mode, gets an `email_log`
//! row.
//!
//! Exactly once: a retried job whose effect finished gets the recorded result back. A try that
//! the provider refused (an HTTP error answer: nothing was sent) is forgotten so the next try
//! is clean. A try whose outcome is unknown (the connection broke, or the process died after
//! calling the provider) leaves the effect `started`; the next try then does **not** call the
//! provider again — none of these APIs takes an idempotency key — and records the delivery as
//! `failed` with "outcome unknown", so nothing is ever sent twice and an operator can check.

use std::sync::Arc;

use agents::delivery::{
    CALENDAR_JOB, CHAT_JOB, CalendarJob, ChatJob, EMAIL_JOB, EmailJob, PUSH_JOB, PushJob, REPLY_JOB, ReplyJob,
    TEAMS_JOB, TeamsJob,
};
use agents::integrations::Integrations;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::runtime::{EffectAttempt, JobContext, JobFailure, KindSpec, Registry};

/// What the delivery jobs need: the provider clients and where artifacts are stored.
pub struct Deliverer {
    pub integrations: Arc<Integrations>,
}

impl Deliverer {
    pub fn new(integrations: Arc<Integrations>) -> Self {
        Self { integrations }
    }
}

fn parse<T: DeserializeOwned>(payload: Value) -> Result<T, JobFailure> {
    serde_json::from_value(payload).map_err(|e| JobFailure::permanent(format!("invalid payload: {e}")))
}

fn db_retry(e: impl std::fmt::Display) -> JobFailure {
    JobFailure::retry(e.to_string())
}

/// Graph attachments are capped well below Outlook's 150 MB message limit.
const MAX_ATTACHMENT_BYTES: u64 = 35 * 1024 * 1024;

struct Attached {
    meta: Value,
    files: Vec<(store::artifacts::ArtifactRow, String)>,
}

/// The sender's artifacts (a file that is gone or someone else's fails the job).
async fn attachments(ctx: &JobContext, user: Uuid, ids: &[Uuid]) -> Result<Attached, JobFailure> {
    let mut meta = Vec::new();
    let mut files = Vec::new();
    for id in ids {
        match store::artifacts::get(&ctx.db, *id).await.map_err(db_retry)? {
            Some(a) if a.user_id == user => {
                let url = format!("/files/{}", a.id);
                meta.push(json!({"id": a.id, "name": a.name, "type": a.kind, "size_bytes": a.size_bytes, "download_url": url}));
                files.push((a, url));
            }
            _ => return Err(JobFailure::permanent(format!("attachment {id} is gone or not the sender's"))),
        }
    }
    Ok(Attached { meta: Value::Array(meta), files })
}

/// How a provider call ended.
enum Sent {
    /// Delivered; provider details for the outbox row.
    Ok(Value),
    /// Not configured: record in the outbox.
    Outbox(&'static str),
}

/// A provider error: refused (nothing happened; forget the try) or unknown outcome.
async fn provider_failed(
    ctx: &JobContext,
    attempt: &EffectAttempt,
    what: &str,
    e: impl std::fmt::Display,
    refused: bool,
    retryable: bool,
) -> JobFailure {
    if refused {
        // An HTTP answer refusing the call: nothing was delivered, the next try is a first try.
        if let Err(err) = store::effects::abandon(&ctx.db, &attempt.idempotency_key).await {
            tracing::warn!(error = %err, "could not reset a refused effect");
        }
    }
    let message = format!("{what}: {e}");
    if retryable { JobFailure::retry(message) } else { JobFailure::permanent(message) }
}

struct Record {
    channel: &'static str,
    user_id: Uuid,
    recipients: Vec<String>,
    subject: Option<String>,
    body: String,
    attachments: Value,
    detail: Value,
}

/// Writes the outbox row (and e-mail recipients' `email_log` rows) of a delivery.
async fn record(
    ctx: &JobContext,
    attempt: &EffectAttempt,
    r: Record,
    status: &str,
    error: Option<String>,
) -> Result<Value, JobFailure> {
    let (row, _) = store::outbox::record(
        &ctx.db,
        store::outbox::NewDelivery {
            channel: r.channel.into(),
            status: status.into(),
            user_id: Some(r.user_id),
            recipients: r.recipients,
            subject: r.subject,
            body: r.body,
            attachments: r.attachments,
            detail: Some(r.detail),
            job_id: Some(ctx.job_id),
            effect_key: attempt.idempotency_key.clone(),
            error,
        },
    )
    .await
    .map_err(db_retry)?;
    Ok(json!({"outbox_id": row.id, "status": row.status, "recipients": row.recipients}))
}

/// Runs one delivery once: `send` is called only on a first try; a try after an unknown
/// outcome records the delivery as failed instead of risking a duplicate.
async fn deliver<F, Fut>(ctx: &JobContext, step: &str, kind: &str, r: Record, send: F) -> Result<Value, JobFailure>
where
    F: FnOnce(EffectAttempt) -> Fut,
    Fut: Future<Output = Result<Sent, JobFailure>>,
{
    ctx.effect(step, kind, |attempt| async move {
        if attempt.attempt > 1 {
            let why = "outcome unknown: an earlier try may have delivered this (the connection or the process \
                       failed mid-call); not sent again to avoid a duplicate — check the provider";
            tracing::warn!(job = %ctx.job_id, step, "{why}");
            let mut r = r;
            r.detail["mode"] = json!("unknown");
            return record(ctx, &attempt, r, "failed", Some(why.into())).await;
        }
        match send(attempt.clone()).await? {
            Sent::Ok(detail) => {
                let mut r = r;
                if let (Value::Object(d), Value::Object(extra)) = (&mut r.detail, detail) {
                    d.extend(extra);
                }
                r.detail["mode"] = json!("sent");
                record(ctx, &attempt, r, "sent", None).await
            }
            Sent::Outbox(reason) => {
                let mut r = r;
                r.detail["mode"] = json!("outbox");
                r.detail["reason"] = json!(reason);
                record(ctx, &attempt, r, "outbox", None).await
            }
        }
    })
    .await
}

fn graph_failure(e: &graph::GraphError) -> (bool, bool) {
    // (refused: an HTTP answer, nothing happened; retryable)
    let refused = !matches!(e, graph::GraphError::Transport(_) | graph::GraphError::Decode(_));
    (refused, e.is_retryable())
}

const NOT_CONFIGURED: &str = "Microsoft 365 is not configured";

async fn email(d: Arc<Deliverer>, ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let job: EmailJob = parse(payload)?;
    let attached = attachments(&ctx, job.user_id, &job.attachments).await?;
    let r = Record {
        channel: "email",
        user_id: job.user_id,
        recipients: job.to.iter().chain(&job.cc).cloned().collect(),
        subject: Some(job.subject.clone()),
        body: job.html.clone(),
        attachments: attached.meta.clone(),
        detail: json!({"to": job.to, "cc": job.cc, "from": d.integrations.sender}),
    };
    let c = &ctx;
    deliver(&ctx, "send", "email", r, |attempt| async move {
        let Some(g) = &d.integrations.graph else { return Ok(Sent::Outbox(NOT_CONFIGURED)) };
        let mut files = Vec::new();
        for (a, _) in &attached.files {
            if a.size_bytes.unwrap_or(0) as u64 > MAX_ATTACHMENT_BYTES {
                return Err(JobFailure::permanent(format!("{} is too large to attach", a.name)));
            }
            let bytes = match d.integrations.storage.read_all(&a.path, MAX_ATTACHMENT_BYTES).await {
                Ok(b) => b,
                Err(files::StoreFileError::NotFound) => {
                    return Err(JobFailure::permanent(format!("the content of {} is gone", a.name)));
                }
                Err(e) => return Err(JobFailure::retry(format!("{}: {e}", a.name))),
            };
            files.push(graph::Attachment { name: a.name.clone(), content_type: a.content_type.clone(), bytes });
        }
        let mail = graph::OutgoingMail {
            subject: job.subject,
            html: job.html,
            to: job.to,
            cc: job.cc,
            bcc: Vec::new(),
            attachments: files,
            save_to_sent: true,
        };
        match g.send_mail(&d.integrations.sender, &mail).await {
            Ok(()) => Ok(Sent::Ok(json!({"provider": "graph"}))),
            Err(e) => {
                let (refused, retry) = graph_failure(&e);
                Err(provider_failed(c, &attempt, "Outlook refused the e-mail", e, refused, retry).await)
            }
        }
    })
    .await
}

async fn teams(d: Arc<Deliverer>, ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let job: TeamsJob = parse(payload)?;
    let attached = attachments(&ctx, job.user_id, &job.attachments).await?;
    let r = Record {
        channel: "teams",
        user_id: job.user_id,
        recipients: vec![job.channel.clone()],
        subject: None,
        body: job.text.clone(),
        attachments: attached.meta.clone(),
        detail: json!({"channel": job.channel, "kind": "channel_message"}),
    };
    let c = &ctx;
    deliver(&ctx, "post", "teams", r, |attempt| async move {
        let Some(g) = &d.integrations.graph else { return Ok(Sent::Outbox(NOT_CONFIGURED)) };
        let team = job.team_id.clone().unwrap_or_else(|| d.integrations.team_id.clone());
        if team.is_empty() {
            return Err(JobFailure::permanent("MS_TEAMS_TEAM_ID is not set: no team to post to"));
        }
        let fail = |e: graph::GraphError| async move {
            let (refused, retry) = graph_failure(&e);
            provider_failed(c, &attempt, "Teams refused the post", e, refused, retry).await
        };
        let channel = match d.integrations.channels.get(&job.channel) {
            Some(id) => id.clone(),
            None => match g.resolve_channel(&team, &job.channel).await {
                Ok(id) => id,
                Err(e) => return Err(fail(e).await),
            },
        };
        let links: Vec<(String, String)> =
            attached.files.iter().map(|(a, url)| (a.name.clone(), url.clone())).collect();
        let html = agents::delivery::text_to_html(&job.text);
        match g.post_channel_message(&team, &channel, &html, &links).await {
            Ok(id) => Ok(Sent::Ok(json!({"provider": "graph", "channel_id": channel, "message_id": id}))),
            Err(e) => Err(fail(e).await),
        }
    })
    .await
}

async fn chat(d: Arc<Deliverer>, ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let job: ChatJob = parse(payload)?;
    let r = Record {
        channel: "teams",
        user_id: job.user_id,
        recipients: vec![job.to.clone()],
        subject: None,
        body: job.html.clone(),
        attachments: json!([]),
        detail: json!({"to": job.to, "kind": "chat_message"}),
    };
    let c = &ctx;
    deliver(&ctx, "chat", "teams", r, |attempt| async move {
        let Some(g) = &d.integrations.graph else { return Ok(Sent::Outbox(NOT_CONFIGURED)) };
        match g.send_chat_message(&d.integrations.sender, &job.to, &job.html).await {
            Ok(id) => Ok(Sent::Ok(json!({"provider": "graph", "message_id": id}))),
            Err(e) => {
                let (refused, retry) = graph_failure(&e);
                Err(provider_failed(c, &attempt, "Teams refused the chat message", e, refused, retry).await)
            }
        }
    })
    .await
}

async fn reply(d: Arc<Deliverer>, ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let job: ReplyJob = parse(payload)?;
    let user = store::users::by_id(&ctx.db, job.user_id)
        .await
        .map_err(db_retry)?
        .ok_or_else(|| JobFailure::permanent("the sender no longer exists"))?;
    let r = Record {
        channel: "email",
        user_id: job.user_id,
        recipients: Vec::new(),
        subject: None,
        body: job.html.clone(),
        attachments: json!([]),
        detail: json!({"reply_to": job.message_id, "reply_all": job.reply_all, "mailbox": user.email}),
    };
    let c = &ctx;
    deliver(&ctx, "reply", "email", r, |attempt| async move {
        let Some(g) = &d.integrations.graph else { return Ok(Sent::Outbox(NOT_CONFIGURED)) };
        match g.reply(&user.email, &job.message_id, &job.html, job.reply_all).await {
            Ok(()) => Ok(Sent::Ok(json!({"provider": "graph"}))),
            Err(e) => {
                let (refused, retry) = graph_failure(&e);
                Err(provider_failed(c, &attempt, "Outlook refused the reply", e, refused, retry).await)
            }
        }
    })
    .await
}

async fn calendar(d: Arc<Deliverer>, ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let job: CalendarJob = parse(payload)?;
    let r = Record {
        channel: "calendar",
        user_id: job.user_id,
        recipients: job.attendees.clone(),
        subject: Some(job.subject.clone()),
        body: job.html.clone(),
        attachments: json!([]),
        detail: json!({
            "organizer": job.organizer, "start": job.start, "end": job.end, "time_zone": job.time_zone,
            "location": job.location, "online_meeting": job.online_meeting, "reminder_minutes": job.reminder_minutes,
        }),
    };
    let c = &ctx;
    deliver(&ctx, "event", "calendar", r, |attempt| async move {
        let Some(g) = &d.integrations.graph else { return Ok(Sent::Outbox(NOT_CONFIGURED)) };
        let event = graph::NewEvent {
            subject: job.subject,
            html: job.html,
            start: job.start,
            end: job.end,
            time_zone: job.time_zone,
            attendees: job.attendees,
            location: job.location,
            online_meeting: job.online_meeting,
            reminder_minutes: job.reminder_minutes,
        };
        match g.create_event(&job.organizer, &event).await {
            Ok(e) => Ok(Sent::Ok(
                json!({"provider": "graph", "event_id": e.id, "web_link": e.web_link, "join_url": e.join_url}),
            )),
            Err(e) => {
                let (refused, retry) = graph_failure(&e);
                Err(provider_failed(c, &attempt, "Outlook refused the event", e, refused, retry).await)
            }
        }
    })
    .await
}

/// One push job: one effect per device, so a retry after a partial failure resumes where it
/// stopped. Tokens FCM reports as unregistered are forgotten.
async fn push_job(d: Arc<Deliverer>, ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let job: PushJob = parse(payload)?;
    let mut devices = Vec::new();
    for user in &job.recipients {
        devices.extend(store::devices::for_user(&ctx.db, *user).await.map_err(db_retry)?);
    }
    let mut results = Vec::new();
    for dev in devices {
        let r = Record {
            channel: "push",
            user_id: job.user_id,
            recipients: vec![dev.user_id.to_string()],
            subject: Some(job.title.clone()),
            body: job.body.clone(),
            attachments: json!([]),
            detail: json!({"device_id": dev.id, "platform": dev.platform, "data": job.data}),
        };
        let c = &ctx;
        let (title, body, data) = (job.title.clone(), job.body.clone(), job.data.clone());
        let fcm = d.integrations.fcm.clone();
        let out = deliver(&ctx, &format!("push:{}", dev.id), "push", r, |attempt| async move {
            let Some(fcm) = fcm else { return Ok(Sent::Outbox("FCM is not configured")) };
            let mut m = push::PushMessage::new(dev.token.clone(), title, body);
            for (k, v) in data {
                m = m.with_data(k, v);
            }
            match fcm.send(&m).await {
                Ok(name) => Ok(Sent::Ok(json!({"provider": "fcm", "message": name}))),
                Err(e) if e.is_unregistered() => {
                    if let Err(err) = store::devices::forget_token(&c.db, &dev.token).await {
                        tracing::warn!(error = %err, "could not forget an unregistered device");
                    }
                    Ok(Sent::Ok(json!({"provider": "fcm", "skipped": "the device is no longer registered; forgotten"})))
                }
                Err(e) => {
                    let refused = !matches!(e, push::PushError::Transport { .. });
                    let retry = e.is_retryable();
                    Err(provider_failed(c, &attempt, "FCM refused the push", e, refused, retry).await)
                }
            }
        })
        .await?;
        results.push(out);
    }
    Ok(json!({"devices": results.len(), "results": results}))
}

fn spec<F, Fut>(d: &Arc<Deliverer>, f: F) -> KindSpec
where
    F: Fn(Arc<Deliverer>, JobContext, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, JobFailure>> + Send + 'static,
{
    let d = d.clone();
    KindSpec::new(move |ctx, payload| f(d.clone(), ctx, payload))
}

/// Adds the delivery job kinds to `registry`.
pub fn register(registry: Registry, deliverer: Arc<Deliverer>) -> Registry {
    registry
        .register(EMAIL_JOB, spec(&deliverer, email))
        .register(TEAMS_JOB, spec(&deliverer, teams))
        .register(CHAT_JOB, spec(&deliverer, chat))
        .register(REPLY_JOB, spec(&deliverer, reply))
        .register(CALENDAR_JOB, spec(&deliverer, calendar))
        .register(PUSH_JOB, spec(&deliverer, push_job))
}
