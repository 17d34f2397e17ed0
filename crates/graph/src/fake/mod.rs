//! A fake Microsoft Graph (plus its Entra ID token endpoint) on loopback (feature `fake`), for
//! this and other crates' tests.
//!
//! It checks what real Graph checks, as far as the client uses it: client-credentials form
//! fields and the client secret (answering AADSTS errors), `Authorization: Bearer` with an issued
//! and unexpired token, the 4 MB request limit (413), JSON shapes (unknown properties, body
//! content types, recipients, base64 attachments), upload-session `Content-Range`s. It records
//! what was sent, decoded, and can be told to throttle or fail the next calls.
//!
//! The fake has no time zones: busy times and getSchedule answers are wall-clock times in
//! whatever zone the query names.
//!
//! ```ignore
//! let fake = FakeGraph::start().await;
//! let graph = GraphClient::new(fake.config())?;
//! graph.send_mail("sender@contoso.com", &mail).await?;
//! assert_eq!(fake.sent_mails()[0].to, vec!["a@contoso.com"]);
//! ```

mod server;
mod wire;

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use wiremock::{Mock, MockServer, matchers::any};

use crate::GraphConfig;
use server::{Responder, State};

/// The tenant id [`FakeGraph::config`] uses and the token endpoint accepts.
pub const FAKE_TENANT_ID: &str = "8d3c7f3e-0000-4000-8000-00000000fa4e";
/// The client id the token endpoint accepts.
pub const FAKE_CLIENT_ID: &str = "3f1e2d4c-0000-4000-8000-0000000c11e7";
/// The client secret the token endpoint accepts.
pub const FAKE_CLIENT_SECRET: &str = "fake~secret.value_0123456789";

/// A mail as the fake received it: sent (`sendMail` or a sent draft) or saved as a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMail {
    pub id: String,
    /// The mailbox it was sent from or saved in, as given in the path.
    pub user: String,
    pub subject: String,
    /// `HTML` or `Text`, as sent.
    pub body_content_type: String,
    pub body: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub attachments: Vec<FakeAttachment>,
    pub save_to_sent: bool,
    /// Sent with `POST /messages/{id}/send` rather than `sendMail`.
    pub via_draft: bool,
}

/// A file attachment, decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct FakeAttachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// Uploaded in chunks through an upload session.
    pub via_upload_session: bool,
}

impl std::fmt::Debug for FakeAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAttachment")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .field("via_upload_session", &self.via_upload_session)
            .finish()
    }
}

/// A reply or reply-all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeReply {
    pub user: String,
    pub message_id: String,
    /// The `comment` (HTML) put above the quoted message.
    pub comment: String,
    pub reply_all: bool,
}

/// A message to seed an inbox with ([`FakeGraph::add_inbox_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInboxMessage {
    pub from: String,
    pub from_name: String,
    pub subject: String,
    pub preview: String,
    pub received_at: DateTime<Utc>,
    pub is_read: bool,
}

/// A created calendar event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeEvent {
    pub id: String,
    pub user: String,
    pub subject: String,
    pub body_content_type: String,
    pub body: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub time_zone: String,
    pub attendees: Vec<String>,
    pub location: Option<String>,
    pub is_online_meeting: bool,
    pub online_meeting_provider: Option<String>,
    pub is_reminder_on: bool,
    pub reminder_minutes: Option<u32>,
    /// Set for online meetings.
    pub join_url: Option<String>,
}

/// A message posted to a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeChannelMessage {
    pub id: String,
    pub team_id: String,
    pub channel_id: String,
    /// `html` or `text`, as sent.
    pub content_type: String,
    pub content: String,
}

/// A one-on-one chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeChatMessage {
    pub id: String,
    pub chat_id: String,
    /// The chat's two members (as bound, lower-cased, sorted).
    pub members: Vec<String>,
    pub content_type: String,
    pub content: String,
}

/// A standalone online meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeOnlineMeeting {
    pub id: String,
    pub user: String,
    pub subject: String,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub join_url: String,
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRequest {
    pub method: String,
    /// As received (percent-encoded).
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub content_range: Option<String>,
    pub body_len: usize,
    /// What the fake answered.
    pub status: u16,
}

/// A fake Graph on `127.0.0.1:<random port>`: token endpoint at `/{tenant}/oauth2/v2.0/token`,
/// Graph under `/v1.0`, upload sessions under `/upload`.
pub struct FakeGraph {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for FakeGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGraph").field("uri", &self.server.uri()).finish()
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeGraph {
    /// Starts the server (tokens live 3599 s, pages up to 1000 items).
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::new(server.uri())));
        Mock::given(any()).respond_with(Responder(state.clone())).mount(&server).await;
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// A config for this fake: its credentials, both base URLs on it, 10 s timeout, 3 retries,
    /// at most 2 s per retry wait.
    pub fn config(&self) -> GraphConfig {
        let uri = self.server.uri();
        GraphConfig {
            graph_base_url: format!("{uri}/v1.0"),
            login_base_url: uri,
            timeout: Duration::from_secs(10),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(2),
            ..GraphConfig::new(FAKE_TENANT_ID, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET)
        }
    }

    // ---- tokens ----

    /// The `expires_in` of tokens issued from now on (they also stop working after it).
    pub fn set_token_lifetime(&self, secs: u64) {
        lock(&self.state).token_lifetime = secs;
    }

    /// Makes every token issued so far invalid (Graph answers 401 to them).
    pub fn revoke_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// How many token requests arrived (refused ones included).
    pub fn token_requests(&self) -> usize {
        lock(&self.state).token_requests
    }

    // ---- failures ----

    /// The next `n` Graph calls answer 429 `TooManyRequests` with `Retry-After: retry_after_secs`.
    pub fn throttle_next(&self, n: u32, retry_after_secs: u64) {
        lock(&self.state).throttle = Some((n, retry_after_secs));
    }

    /// The next Graph call (after any queued before) answers `status` with Graph's error JSON
    /// carrying `code`.
    pub fn fail_next(&self, status: u16, code: &str) {
        lock(&self.state).failures.push_back((status, code.to_string()));
    }

    // ---- seeding ----

    /// The most items a page holds, whatever `$top` asks (default 1000, like Graph's cap).
    pub fn set_page_size(&self, n: usize) {
        lock(&self.state).page_size = n.max(1);
    }

    /// Puts a message in `user`'s inbox and returns its id.
    pub fn add_inbox_message(&self, user: &str, message: NewInboxMessage) -> String {
        lock(&self.state).add_inbox(user, message)
    }

    /// Marks `start..end` busy in `user`'s calendar.
    pub fn add_busy(&self, user: &str, start: NaiveDateTime, end: NaiveDateTime) {
        self.add_schedule_item(user, start, end, "busy");
    }

    /// Adds a calendar entry with a free/busy `status` (`free`, `tentative`, `busy`, `oof`,
    /// `workingElsewhere`).
    pub fn add_schedule_item(&self, user: &str, start: NaiveDateTime, end: NaiveDateTime, status: &str) {
        lock(&self.state).schedule.push((user.to_lowercase(), start, end, status.to_string()));
    }

    /// Adds a standard channel to `team_id` (creating the team) and returns its id.
    pub fn add_channel(&self, team_id: &str, display_name: &str) -> String {
        lock(&self.state).add_channel(team_id, display_name)
    }

    // ---- records ----

    /// Mails sent, in order, with decoded attachments.
    pub fn sent_mails(&self) -> Vec<FakeMail> {
        lock(&self.state).sent.clone()
    }

    /// Drafts not (yet) sent.
    pub fn drafts(&self) -> Vec<FakeMail> {
        lock(&self.state).drafts.clone()
    }

    pub fn replies(&self) -> Vec<FakeReply> {
        lock(&self.state).replies.clone()
    }

    pub fn events(&self) -> Vec<FakeEvent> {
        lock(&self.state).events.clone()
    }

    pub fn channel_messages(&self) -> Vec<FakeChannelMessage> {
        lock(&self.state).channel_messages.clone()
    }

    /// The one-on-one chats that exist, as `(id, sorted members)`.
    pub fn chats(&self) -> Vec<(String, Vec<String>)> {
        lock(&self.state).chats.clone()
    }

    pub fn chat_messages(&self) -> Vec<FakeChatMessage> {
        lock(&self.state).chat_messages.clone()
    }

    pub fn online_meetings(&self) -> Vec<FakeOnlineMeeting> {
        lock(&self.state).online_meetings.clone()
    }

    /// Every request answered (token, Graph and upload calls), in order.
    pub fn requests(&self) -> Vec<FakeRequest> {
        lock(&self.state).requests.clone()
    }

    /// The Graph calls (under `/v1.0`) answered with `method` whose path ends with `suffix`.
    pub fn graph_calls(&self, method: &str, suffix: &str) -> Vec<FakeRequest> {
        lock(&self.state)
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.starts_with("/v1.0/") && r.path.ends_with(suffix))
            .cloned()
            .collect()
    }
}
