//! Calendar, mailbox, Teams chat and push tools. Deliveries (events, replies, chat messages,
//! pushes) are queued as `delivery.*` jobs and performed once by the worker; reads (free
//! time, the inbox) call Microsoft Graph directly and need it configured.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Weekday};
use domain::Permission;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::delivery::{Recipients, enqueue, resolve};
use super::{Access, ToolContext, ToolError, ToolOutput, ToolRegistry, TypedTool};
use crate::delivery::{
    CALENDAR_JOB, CHAT_JOB, CalendarJob, ChatJob, PUSH_JOB, PushJob, REPLY_JOB, ReplyJob, text_to_html,
};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(CreateEvent);
    r.add(FindFreeTime);
    r.add(ReadInbox);
    r.add(ReplyMail);
    r.add(TeamsChat);
    r.add(PushNotify);
}

const DEFAULT_TZ: &str = "Asia/Singapore";

fn graph_failed(e: graph::GraphError) -> ToolError {
    tracing::warn!(error = %e, "Microsoft Graph call failed");
    match e {
        graph::GraphError::Throttled { .. } => {
            ToolError::Failed("Microsoft 365 is throttling requests right now; try again in a minute".into())
        }
        e => ToolError::Failed(format!("Microsoft 365 refused the request: {e}")),
    }
}

fn parse_when(field: &str, s: &str) -> Result<NaiveDateTime, ToolError> {
    let s = s.trim();
    for f in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t);
        }
    }
    Err(ToolError::InvalidInput(format!("{field} must be a local time like 2026-12-01T14:30")))
}

fn time_zone(tz: Option<String>) -> Result<String, ToolError> {
    let tz = tz.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).unwrap_or_else(|| DEFAULT_TZ.into());
    if tz.len() > 64 || !tz.chars().all(|c| c.is_ascii_alphanumeric() || "/_+- ".contains(c)) {
        return Err(ToolError::InvalidInput("time_zone must be a name like Asia/Singapore".into()));
    }
    Ok(tz)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub subject: String,
    /// Local start time, e.g. 2026-12-01T14:30.
    pub start: String,
    /// Local end time; or give duration_minutes (default 30).
    pub end: Option<String>,
    pub duration_minutes: Option<u32>,
    /// IANA name, default Asia/Singapore.
    pub time_zone: Option<String>,
    /// E-mail addresses or roles (CEO, CFO, sales manager, …).
    pub attendees: Option<Recipients>,
    pub location: Option<String>,
    /// Make it a Teams meeting with a join link.
    pub online_meeting: Option<bool>,
    /// Minutes before the start for the reminder (default 15; 0 for none).
    pub reminder_minutes: Option<u32>,
    pub description: Option<String>,
}

pub struct CreateEvent;

#[async_trait::async_trait]
impl TypedTool for CreateEvent {
    type Input = EventInput;
    const NAME: &'static str = "calendar_create_event";
    const DESCRIPTION: &'static str = "Create an event in the caller's Outlook calendar with attendees and a \
        reminder; with online_meeting it is a Teams meeting with a join link. Created once, in the background.";
    const ACCESS: Access = Access::AnyOf(&[Permission::CalendarManage]);
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Creating the calendar event…";

    async fn run(&self, ctx: &ToolContext, i: EventInput) -> Result<ToolOutput, ToolError> {
        let subject = i.subject.trim().to_string();
        if subject.is_empty() || subject.chars().count() > 250 {
            return Err(ToolError::InvalidInput("the subject must be 1 to 250 characters".into()));
        }
        let start = parse_when("start", &i.start)?;
        let end = match (&i.end, i.duration_minutes) {
            (Some(e), _) => parse_when("end", e)?,
            (None, d) => start + TimeDelta::minutes(i64::from(d.unwrap_or(30))),
        };
        if end <= start || end - start > TimeDelta::days(7) {
            return Err(ToolError::InvalidInput("the event must end after it starts, within 7 days".into()));
        }
        if start.date() < ctx.today - chrono::Days::new(1) {
            return Err(ToolError::InvalidInput(format!("{start} is in the past")));
        }
        let attendees = match i.attendees {
            Some(a) => resolve(ctx, a.list()).await?,
            None => Vec::new(),
        };
        if attendees.len() > 100 {
            return Err(ToolError::InvalidInput("at most 100 attendees".into()));
        }
        let reminder = i.reminder_minutes.unwrap_or(15);
        if reminder > 14 * 24 * 60 {
            return Err(ToolError::InvalidInput("reminder_minutes is at most two weeks".into()));
        }
        let job = CalendarJob {
            user_id: ctx.principal.user_id,
            organizer: ctx.principal.email.clone(),
            subject: subject.clone(),
            html: i.description.as_deref().map(text_to_html).unwrap_or_default(),
            start,
            end,
            time_zone: time_zone(i.time_zone)?,
            attendees: attendees.clone(),
            location: i.location.map(|l| l.trim().chars().take(200).collect()).filter(|l: &String| !l.is_empty()),
            online_meeting: i.online_meeting.unwrap_or(false),
            reminder_minutes: (reminder > 0).then_some(reminder),
        };
        let payload = serde_json::to_value(&job).map_err(|e| ToolError::Failed(e.to_string()))?;
        let (id, _) = enqueue(ctx, CALENDAR_JOB, payload).await?;
        ToolOutput::json(json!({
            "queued": true, "job_id": id, "subject": subject, "start": job.start, "end": job.end,
            "time_zone": job.time_zone, "attendees": attendees, "online_meeting": job.online_meeting,
        }))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreeTimeInput {
    /// Colleagues' addresses or roles (the caller is always included).
    pub attendees: Option<Recipients>,
    /// First day to search (YYYY-MM-DD), default tomorrow.
    pub from: Option<NaiveDate>,
    /// Working days to search (default 5, at most 10).
    pub days: Option<u32>,
    /// Meeting length in minutes (default 30).
    pub duration_minutes: Option<u32>,
    pub time_zone: Option<String>,
}

pub struct FindFreeTime;

#[async_trait::async_trait]
impl TypedTool for FindFreeTime {
    type Input = FreeTimeInput;
    const NAME: &'static str = "calendar_find_free_time";
    const DESCRIPTION: &'static str = "Find times in working hours (09:00–18:00, Monday to Friday) when the \
        caller and the attendees are all free, from their Outlook calendars.";
    const ACCESS: Access = Access::AnyOf(&[Permission::CalendarManage]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Checking calendars…";

    async fn run(&self, ctx: &ToolContext, i: FreeTimeInput) -> Result<ToolOutput, ToolError> {
        let graph = ctx.integrations.graph()?;
        let attendees = match i.attendees {
            Some(a) => resolve(ctx, a.list()).await?,
            None => Vec::new(),
        };
        let duration = TimeDelta::minutes(i64::from(i.duration_minutes.unwrap_or(30).clamp(15, 480)));
        let tz = time_zone(i.time_zone)?;
        let mut day = i.from.unwrap_or(ctx.today + chrono::Days::new(1));
        let mut left = i.days.unwrap_or(5).clamp(1, 10);
        let mut slots = Vec::new();
        while left > 0 && slots.len() < 12 {
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                left -= 1;
                let (from, to) = (
                    day.and_time(NaiveTime::MIN) + TimeDelta::hours(9),
                    day.and_time(NaiveTime::MIN) + TimeDelta::hours(18),
                );
                let free = graph
                    .find_free_time(&ctx.principal.email, &attendees, from, to, duration, &tz)
                    .await
                    .map_err(graph_failed)?;
                slots.extend(free.into_iter().map(|(s, e)| json!({"start": s, "end": e})));
            }
            day = day + chrono::Days::new(1);
        }
        slots.truncate(12);
        ToolOutput::json(json!({"time_zone": tz, "attendees": attendees, "duration_minutes": duration.num_minutes(),
                                "count": slots.len(), "free": slots}))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxInput {
    /// How many recent messages (default 10, at most 50).
    pub top: Option<u32>,
}

pub struct ReadInbox;

#[async_trait::async_trait]
impl TypedTool for ReadInbox {
    type Input = InboxInput;
    const NAME: &'static str = "outlook_read_inbox";
    const DESCRIPTION: &'static str =
        "List the newest messages in the caller's Outlook inbox (sender, subject, preview, id for replies).";
    const ACCESS: Access = Access::AnyOf(&[Permission::EmailSend]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Reading the inbox…";
    // Mail is written by outsiders: side effects after reading it need the user's consent.
    const UNTRUSTED_OUTPUT: bool = true;

    async fn run(&self, ctx: &ToolContext, i: InboxInput) -> Result<ToolOutput, ToolError> {
        let graph = ctx.integrations.graph()?;
        let top = i.top.unwrap_or(10).clamp(1, 50) as usize;
        let mails = graph.list_inbox(&ctx.principal.email, top).await.map_err(graph_failed)?;
        let messages: Vec<Value> = mails
            .iter()
            .map(|m| {
                json!({"id": m.id, "from": m.from, "from_name": m.from_name, "subject": m.subject,
                       "received_at": m.received_at, "preview": m.preview, "is_read": m.is_read})
            })
            .collect();
        ToolOutput::json(json!({"count": messages.len(), "messages": messages}))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyInput {
    /// The id from outlook_read_inbox.
    pub message_id: String,
    /// The reply as plain text.
    pub body: String,
    pub reply_all: Option<bool>,
}

pub struct ReplyMail;

#[async_trait::async_trait]
impl TypedTool for ReplyMail {
    type Input = ReplyInput;
    const NAME: &'static str = "outlook_reply";
    const DESCRIPTION: &'static str = "Reply (or reply all) to a message in the caller's Outlook inbox. Sent once, \
        in the background.";
    const ACCESS: Access = Access::AnyOf(&[Permission::EmailSend]);
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Sending the reply…";

    async fn run(&self, ctx: &ToolContext, i: ReplyInput) -> Result<ToolOutput, ToolError> {
        let id = i.message_id.trim().to_string();
        if id.is_empty() || id.len() > 512 {
            return Err(ToolError::InvalidInput("message_id is the id from outlook_read_inbox".into()));
        }
        if i.body.trim().is_empty() || i.body.len() > 100_000 {
            return Err(ToolError::InvalidInput("the reply must be 1 byte to 100 KB of text".into()));
        }
        let job = ReplyJob {
            user_id: ctx.principal.user_id,
            message_id: id,
            html: text_to_html(&i.body),
            reply_all: i.reply_all.unwrap_or(false),
        };
        let payload = serde_json::to_value(&job).map_err(|e| ToolError::Failed(e.to_string()))?;
        let (jid, _) = enqueue(ctx, REPLY_JOB, payload).await?;
        ToolOutput::json(json!({"queued": true, "job_id": jid, "reply_all": job.reply_all}))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatInput {
    /// The colleague's e-mail address or role.
    pub to: String,
    pub text: String,
}

pub struct TeamsChat;

#[async_trait::async_trait]
impl TypedTool for TeamsChat {
    type Input = ChatInput;
    const NAME: &'static str = "teams_send_chat";
    const DESCRIPTION: &'static str =
        "Send a colleague a direct Teams chat message from the assistant. Sent once, in the background.";
    const ACCESS: Access = Access::AnyOf(&[Permission::TeamsPost]);
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Messaging on Teams…";

    async fn run(&self, ctx: &ToolContext, i: ChatInput) -> Result<ToolOutput, ToolError> {
        let to = resolve(ctx, vec![i.to]).await?;
        let [to] = to.as_slice() else {
            return Err(ToolError::InvalidInput("one colleague per chat message".into()));
        };
        if i.text.trim().is_empty() || i.text.chars().count() > 20_000 {
            return Err(ToolError::InvalidInput("the text must be 1 to 20,000 characters".into()));
        }
        let job = ChatJob { user_id: ctx.principal.user_id, to: to.clone(), html: text_to_html(&i.text) };
        let payload = serde_json::to_value(&job).map_err(|e| ToolError::Failed(e.to_string()))?;
        let (jid, _) = enqueue(ctx, CHAT_JOB, payload).await?;
        ToolOutput::json(json!({"queued": true, "job_id": jid, "to": to}))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushInput {
    /// "me", or colleagues' e-mail addresses (needs the push_send permission).
    pub to: Recipients,
    pub title: String,
    pub body: String,
    /// Extra key/value strings for the app (e.g. {"session_id": "..."}).
    pub data: Option<BTreeMap<String, String>>,
}

pub struct PushNotify;

#[async_trait::async_trait]
impl TypedTool for PushNotify {
    type Input = PushInput;
    const NAME: &'static str = "push_notify";
    const DESCRIPTION: &'static str = "Send a push notification to the mobile app of the caller (\"me\") or of \
        colleagues. Sent once, in the background.";
    const ACCESS: Access = Access::Anyone;
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Sending the notification…";

    async fn run(&self, ctx: &ToolContext, i: PushInput) -> Result<ToolOutput, ToolError> {
        let title = i.title.trim().to_string();
        let body = i.body.trim().to_string();
        if title.is_empty() || title.chars().count() > 100 || body.chars().count() > 1000 {
            return Err(ToolError::InvalidInput("title 1 to 100 characters, body at most 1,000".into()));
        }
        let data = i.data.unwrap_or_default();
        if data.len() > 20 || data.iter().any(|(k, v)| k.len() > 64 || v.len() > 1000 || push::is_reserved_data_key(k))
        {
            return Err(ToolError::InvalidInput(
                "data: at most 20 keys (not reserved FCM names like 'from' or 'google.*'), values up to 1,000 characters"
                    .into(),
            ));
        }
        let mut recipients = Vec::new();
        let mut names = Vec::new();
        for r in i.to.list() {
            if matches!(r.trim().to_lowercase().as_str(), "me" | "myself") {
                recipients.push(ctx.principal.user_id);
                names.push(ctx.principal.email.clone());
                continue;
            }
            ctx.require(Permission::PushSend)?;
            let addr = domain::EmailAddress::parse(r.trim()).map_err(|_| {
                ToolError::InvalidInput(format!(
                    "'{}' is not \"me\" or an e-mail address",
                    r.chars().take(80).collect::<String>()
                ))
            })?;
            let user = store::users::by_email(&ctx.db, &addr)
                .await?
                .filter(|u| u.is_active)
                .ok_or_else(|| ToolError::NotFound(format!("no colleague with the address {}", addr.as_str())))?;
            recipients.push(user.id);
            names.push(user.email);
        }
        recipients.sort();
        recipients.dedup();
        if recipients.is_empty() || recipients.len() > 50 {
            return Err(ToolError::InvalidInput("1 to 50 recipients".into()));
        }
        let limit = i64::from(ctx.settings.delivery.push_per_hour);
        let used = store::outbox::deliveries_since(
            &ctx.db,
            ctx.principal.user_id,
            "push",
            chrono::Utc::now() - chrono::Duration::hours(1),
        )
        .await?;
        if used >= limit {
            return Err(ToolError::Failed(format!("the hourly push limit is reached ({limit} per hour); try later")));
        }
        let job = PushJob { user_id: ctx.principal.user_id, recipients, title: title.clone(), body, data };
        let payload = serde_json::to_value(&job).map_err(|e| ToolError::Failed(e.to_string()))?;
        let (jid, _) = enqueue(ctx, PUSH_JOB, payload).await?;
        ToolOutput::json(json!({"queued": true, "job_id": jid, "to": names, "title": title}))
    }
}
