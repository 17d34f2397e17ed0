//! The fake's state and request handling.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, NaiveDateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value, json};
use wiremock::{Request, Respond};

use super::{
    FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_TENANT_ID, FakeAttachment, FakeChannelMessage, FakeChatMessage, FakeEvent,
    FakeMail, FakeOnlineMeeting, FakeReply, FakeRequest, NewInboxMessage,
    wire::{Handled, Out, aad_error, access_token, body_read, empty, graph_error, item_id, join_url, json, now},
};

/// Graph's request size limit.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Upload-session chunks are multiples of this (except the last).
const CHUNK_UNIT: usize = 320 * 1024;
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

const MESSAGE_PROPS: &[&str] = &[
    "subject",
    "body",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "attachments",
    "importance",
    "from",
    "sender",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "internetMessageHeaders",
    "categories",
    "flag",
];
const EVENT_PROPS: &[&str] = &[
    "subject",
    "body",
    "start",
    "end",
    "attendees",
    "location",
    "locations",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "showAs",
    "importance",
    "sensitivity",
    "isAllDay",
    "categories",
    "allowNewTimeProposals",
    "responseRequested",
    "recurrence",
];
const CHAT_MESSAGE_PROPS: &[&str] = &["body", "subject", "attachments", "mentions", "importance"];
const INBOX_FIELDS: &[&str] =
    &["id", "subject", "from", "sender", "receivedDateTime", "bodyPreview", "isRead", "toRecipients", "body"];

struct InboxEntry {
    user: String,
    id: String,
    message: NewInboxMessage,
}

struct UploadSession {
    token: String,
    user: String,
    message_id: String,
    name: String,
    content_type: String,
    size: usize,
    received: Vec<u8>,
}

struct Channel {
    team: String,
    id: String,
    name: String,
}

pub(super) struct State {
    uri: String,
    pub token_lifetime: u64,
    /// Issued token -> when it stops working.
    pub tokens: HashMap<String, Instant>,
    pub token_requests: usize,
    pub throttle: Option<(u32, u64)>,
    pub failures: VecDeque<(u16, String)>,
    pub page_size: usize,
    inbox: Vec<InboxEntry>,
    pub drafts: Vec<FakeMail>,
    pub sent: Vec<FakeMail>,
    pub replies: Vec<FakeReply>,
    pub events: Vec<FakeEvent>,
    /// (user lower-cased, start, end, status)
    pub schedule: Vec<(String, NaiveDateTime, NaiveDateTime, String)>,
    channels: Vec<Channel>,
    pub channel_messages: Vec<FakeChannelMessage>,
    pub chats: Vec<(String, Vec<String>)>,
    pub chat_messages: Vec<FakeChatMessage>,
    pub online_meetings: Vec<FakeOnlineMeeting>,
    uploads: HashMap<String, UploadSession>,
    pub requests: Vec<FakeRequest>,
    counter: u64,
}

pub(super) struct Responder(pub Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, req: &Request) -> wiremock::ResponseTemplate {
        let mut st = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let out = st.handle(req).unwrap_or_else(|e| e);
        let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        st.requests.push(FakeRequest {
            method: req.method.to_string(),
            path: req.url.path().to_string(),
            query: req.url.query().map(str::to_string),
            authorization: header("authorization"),
            content_range: header("content-range"),
            body_len: req.body.len(),
            status: out.status,
        });
        *out.tpl
    }
}

fn decode_segment(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY).to_string()
}

fn not_found_item() -> Out {
    graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The JSON body, as Graph reads it.
fn body_json(req: &Request) -> Result<Value, Out> {
    if req.body.is_empty() {
        return Err(graph_error(400, "BadRequest", "Empty Payload. JSON content expected."));
    }
    if !header(req, "content-type").is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json")) {
        return Err(graph_error(415, "UnsupportedMediaType", "Content-Type must be application/json."));
    }
    let v: Value = serde_json::from_slice(&req.body).map_err(|_| {
        graph_error(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    })?;
    if !v.is_object() {
        return Err(body_read("The request payload must be a JSON object."));
    }
    Ok(v)
}

/// Graph refuses properties its type does not have.
fn known_props(v: &Value, type_name: &str, allowed: &[&str]) -> Result<(), Out> {
    if let Some(map) = v.as_object() {
        for key in map.keys() {
            if !key.contains('@') && !allowed.contains(&key.as_str()) {
                return Err(body_read(format!(
                    "The property '{key}' does not exist on type 'microsoft.graph.{type_name}'. Make sure to only use \
                     property names that are defined by the type or mark the type as open type."
                )));
            }
        }
    }
    Ok(())
}

fn opt_str(v: &Value, field: &str) -> Result<Option<String>, Out> {
    match &v[field] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(body_read(format!("Cannot convert the value of '{field}' to 'Edm.String'."))),
    }
}

fn opt_bool(v: &Value, field: &str) -> Result<Option<bool>, Out> {
    match &v[field] {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        _ => Err(body_read(format!("Cannot convert the value of '{field}' to 'Edm.Boolean'."))),
    }
}

/// An `itemBody`: (`HTML`/`Text` as sent, content).
fn item_body(v: &Value) -> Result<(String, String), Out> {
    if v.is_null() {
        return Ok(("Text".into(), String::new()));
    }
    known_props(v, "itemBody", &["contentType", "content"])?;
    let content_type = opt_str(v, "contentType")?.unwrap_or_else(|| "Text".into());
    if !["text", "html"].contains(&content_type.to_ascii_lowercase().as_str()) {
        return Err(body_read(format!(
            "Cannot convert the literal '{content_type}' to the expected type 'microsoft.graph.bodyType'."
        )));
    }
    Ok((content_type, opt_str(v, "content")?.unwrap_or_default()))
}

/// A `recipient` collection's addresses.
fn recipients(v: &Value, field: &str) -> Result<Vec<String>, Out> {
    let items = match &v[field] {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(body_read(format!("'{field}' must be a collection of microsoft.graph.recipient."))),
    };
    items
        .iter()
        .map(|r| {
            known_props(r, "recipient", &["emailAddress"])?;
            let address = r["emailAddress"]["address"].as_str().unwrap_or_default().trim();
            if address.is_empty() || !address.contains('@') || address.contains(' ') {
                return Err(graph_error(
                    400,
                    "ErrorInvalidRecipients",
                    &format!("At least one recipient isn't valid., Recipient '{address}' isn't resolved."),
                ));
            }
            Ok(address.to_string())
        })
        .collect()
}

fn file_attachment(v: &Value) -> Result<FakeAttachment, Out> {
    if v["@odata.type"].as_str() != Some("#microsoft.graph.fileAttachment") {
        return Err(graph_error(
            400,
            "ErrorInvalidParameter",
            "An attachment needs an '@odata.type' of a concrete type (#microsoft.graph.fileAttachment).",
        ));
    }
    known_props(v, "fileAttachment", &["name", "contentType", "contentBytes", "isInline", "contentId", "size"])?;
    let name = opt_str(v, "name")?.unwrap_or_default();
    if name.is_empty() {
        return Err(graph_error(400, "ErrorInvalidParameter", "The attachment name is missing."));
    }
    let encoded = opt_str(v, "contentBytes")?.unwrap_or_default();
    let bytes = STANDARD.decode(encoded.as_bytes()).map_err(|_| {
        body_read("Cannot convert the literal value of 'contentBytes' to the expected type 'Edm.Binary'.")
    })?;
    Ok(FakeAttachment {
        name,
        content_type: opt_str(v, "contentType")?.unwrap_or_else(|| "application/octet-stream".into()),
        bytes,
        via_upload_session: false,
    })
}

/// A `message` resource as sent in `sendMail` or a draft.
fn parse_message(v: &Value, user: &str, id: String) -> Result<FakeMail, Out> {
    known_props(v, "message", MESSAGE_PROPS)?;
    let (body_content_type, body) = item_body(&v["body"])?;
    let attachments = match &v["attachments"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(file_attachment).collect::<Result<_, _>>()?,
        _ => return Err(body_read("'attachments' must be a collection.")),
    };
    Ok(FakeMail {
        id,
        user: user.to_string(),
        subject: opt_str(v, "subject")?.unwrap_or_default(),
        body_content_type,
        body,
        to: recipients(v, "toRecipients")?,
        cc: recipients(v, "ccRecipients")?,
        bcc: recipients(v, "bccRecipients")?,
        attachments,
        save_to_sent: true,
        via_draft: false,
    })
}

fn no_recipients() -> Out {
    graph_error(
        400,
        "ErrorInvalidRecipients",
        "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
    )
}

fn message_json(m: &FakeMail, uri: &str) -> Value {
    let recips = |list: &[String]| list.iter().map(|a| json!({"emailAddress": {"address": a}})).collect::<Vec<_>>();
    json!({
        "@odata.context": format!("{uri}/v1.0/$metadata#users('{}')/messages/$entity", m.user),
        "@odata.etag": format!("W/\"{}\"", uuid::Uuid::new_v4().simple()),
        "id": m.id,
        "createdDateTime": now(),
        "subject": m.subject,
        "isDraft": true,
        "webLink": format!("https://outlook.office365.com/owa/?ItemID={}&exvsurl=1&viewmodel=ReadMessageItem", enc(&m.id)),
        "body": {"contentType": m.body_content_type.to_lowercase(), "content": m.body},
        "toRecipients": recips(&m.to),
        "ccRecipients": recips(&m.cc),
        "bccRecipients": recips(&m.bcc),
        "hasAttachments": !m.attachments.is_empty(),
    })
}

/// `dateTimeTimeZone`: (`dateTime`, `timeZone`).
fn date_time_time_zone(v: &Value, field: &str) -> Result<(NaiveDateTime, String), Out> {
    let dt = v["dateTime"].as_str().unwrap_or_default();
    let tz = v["timeZone"].as_str().unwrap_or_default();
    let parsed = NaiveDateTime::parse_from_str(dt, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| {
        graph_error(400, "ErrorInvalidRequest", &format!("'{field}' needs a dateTime like 2026-03-02T10:00:00."))
    })?;
    if tz.is_empty() {
        return Err(graph_error(400, "ErrorInvalidRequest", &format!("'{field}' needs a timeZone.")));
    }
    Ok((parsed, tz.to_string()))
}

fn graph_date_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.0000000").to_string()
}

/// The literal of `displayName eq '...'` (with `''` for `'`).
fn display_name_filter(filter: &str) -> Option<String> {
    let rest = filter.trim().strip_prefix("displayName eq '")?.strip_suffix('\'')?;
    // Every quote inside must be doubled.
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

/// The id in `https://graph.microsoft.com/v1.0/users('<id>')`.
fn bound_user(bind: &str) -> Option<String> {
    let start = bind.find("/users('")? + "/users('".len();
    let inner = bind[start..].strip_suffix("')")?;
    if inner.is_empty() {
        return None;
    }
    Some(inner.replace("''", "'"))
}

fn parse_content_range(s: &str) -> Option<(usize, usize, usize)> {
    let rest = s.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?, total.parse().ok()?))
}

impl State {
    pub fn new(uri: String) -> Self {
        Self {
            uri,
            token_lifetime: 3599,
            tokens: HashMap::new(),
            token_requests: 0,
            throttle: None,
            failures: VecDeque::new(),
            page_size: 1000,
            inbox: Vec::new(),
            drafts: Vec::new(),
            sent: Vec::new(),
            replies: Vec::new(),
            events: Vec::new(),
            schedule: Vec::new(),
            channels: Vec::new(),
            channel_messages: Vec::new(),
            chats: Vec::new(),
            chat_messages: Vec::new(),
            online_meetings: Vec::new(),
            uploads: HashMap::new(),
            requests: Vec::new(),
            counter: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    pub fn add_inbox(&mut self, user: &str, message: NewInboxMessage) -> String {
        let id = item_id("AAMkAGI2T");
        self.inbox.push(InboxEntry { user: user.to_lowercase(), id: id.clone(), message });
        id
    }

    pub fn add_channel(&mut self, team: &str, name: &str) -> String {
        let id = format!("19:{}@thread.tacv2", uuid::Uuid::new_v4().simple());
        self.channels.push(Channel { team: team.to_string(), id: id.clone(), name: name.to_string() });
        id
    }

    fn handle(&mut self, req: &Request) -> Handled {
        let segments: Vec<String> =
            req.url.path_segments().map(|s| s.map(decode_segment).collect()).unwrap_or_default();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        match (req.method.as_str(), segs.as_slice()) {
            (_, [tenant, "oauth2", "v2.0", "token"]) => self.token(req, tenant),
            ("PUT", ["upload", session]) => self.upload(req, session),
            (_, ["v1.0", rest @ ..]) => {
                if req.body.len() > MAX_BODY {
                    return Err(graph_error(
                        413,
                        "RequestEntityTooLarge",
                        &format!("The maximum request length supported is {MAX_BODY} bytes."),
                    ));
                }
                self.authorize(req)?;
                if let Some((n, secs)) = self.throttle.take() {
                    if n > 1 {
                        self.throttle = Some((n - 1, secs));
                    }
                    return Err(graph_error(
                        429,
                        "TooManyRequests",
                        "Too many requests. Please retry after some time.",
                    )
                    .header("retry-after", secs.to_string()));
                }
                if let Some((status, code)) = self.failures.pop_front() {
                    return Err(graph_error(status, &code, &format!("Injected failure ({code}).")));
                }
                if req.method.as_str() == "POST"
                    && header(req, "content-length").is_none()
                    && header(req, "transfer-encoding").is_none()
                {
                    return Err(graph_error(411, "LengthRequired", "POST requests need a Content-Length header."));
                }
                self.graph(req, rest)
            }
            _ => Err(graph_error(404, "NotFound", "No such endpoint on the fake.")),
        }
    }

    // ---- token endpoint ----

    fn token(&mut self, req: &Request, tenant: &str) -> Handled {
        self.token_requests += 1;
        if req.method.as_str() != "POST" {
            return Err(aad_error(405, "invalid_request", 900561, "The endpoint only accepts POST requests."));
        }
        if tenant != FAKE_TENANT_ID {
            return Err(aad_error(
                400,
                "invalid_request",
                90002,
                &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."),
            ));
        }
        let form_type = header(req, "content-type").unwrap_or_default().to_ascii_lowercase();
        if !form_type.starts_with("application/x-www-form-urlencoded") {
            return Err(aad_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            ));
        }
        let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body).into_owned().collect();
        let field = |name: &str| form.get(name).map(String::as_str);
        match field("grant_type") {
            None => {
                return Err(aad_error(
                    400,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'grant_type'.",
                ));
            }
            Some("client_credentials") => {}
            Some(other) => {
                return Err(aad_error(
                    400,
                    "unsupported_grant_type",
                    70003,
                    &format!("The app requested an unsupported grant type '{other}'."),
                ));
            }
        }
        let client_id = field("client_id").unwrap_or_default();
        if client_id != FAKE_CLIENT_ID {
            return Err(aad_error(
                400,
                "unauthorized_client",
                700016,
                &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
            ));
        }
        match field("client_secret") {
            None | Some("") => {
                return Err(aad_error(
                    401,
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                ));
            }
            Some(FAKE_CLIENT_SECRET) => {}
            Some(_) => {
                return Err(aad_error(
                    401,
                    "invalid_client",
                    7000215,
                    &format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client \
                         secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                ));
            }
        }
        if field("scope") != Some(GRAPH_SCOPE) {
            return Err(aad_error(
                400,
                "invalid_scope",
                1002012,
                &format!(
                    "The provided value for scope {} is not valid. Client credential flows must have a scope value \
                     with /.default suffixed to the resource identifier (application ID URI).",
                    field("scope").unwrap_or_default()
                ),
            ));
        }
        let token = access_token(tenant, client_id);
        let lifetime = self.token_lifetime;
        self.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(lifetime));
        Ok(json(
            200,
            json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}),
        ))
    }

    fn authorize(&self, req: &Request) -> Result<(), Out> {
        let unauthorized = |message: &str| {
            graph_error(401, "InvalidAuthenticationToken", message).header(
                "www-authenticate",
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", \
                 client_id=\"00000003-0000-0000-c000-000000000000\"",
            )
        };
        let value = header(req, "authorization").unwrap_or_default().trim();
        if value.is_empty() {
            return Err(unauthorized("Access token is empty."));
        }
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(unauthorized("Access token is empty.")),
        };
        match self.tokens.get(token) {
            None => Err(unauthorized("IDX14100: JWT is not well formed. Access token validation failure.")),
            Some(expiry) if Instant::now() >= *expiry => {
                Err(unauthorized("Lifetime validation failed, the token is expired."))
            }
            Some(_) => Ok(()),
        }
    }

    // ---- Graph routes ----

    fn graph(&mut self, req: &Request, rest: &[&str]) -> Handled {
        match (req.method.as_str(), rest) {
            ("POST", ["users", user, "sendMail"]) => self.send_mail(req, user),
            ("POST", ["users", user, "messages"]) => self.create_draft(req, user),
            ("POST", ["users", user, "messages", id, "attachments"]) => self.add_attachment(req, user, id),
            ("POST", ["users", user, "messages", id, "attachments", "createUploadSession"]) => {
                self.create_upload_session(req, user, id)
            }
            ("POST", ["users", user, "messages", id, "send"]) => self.send_draft(user, id),
            ("POST", ["users", user, "messages", id, action @ ("reply" | "replyAll")]) => {
                self.reply(req, user, id, *action == "replyAll")
            }
            ("GET", ["users", user, "mailFolders", folder, "messages"]) if folder.eq_ignore_ascii_case("inbox") => {
                self.list_inbox(req, user)
            }
            ("POST", ["users", user, "events"]) => self.create_event(req, user),
            ("POST", ["users", _, "calendar", "getSchedule"]) => self.get_schedule(req),
            ("GET", ["teams", team, "channels"]) => self.list_channels(req, team),
            ("POST", ["teams", team, "channels", channel, "messages"]) => self.post_channel_message(req, team, channel),
            ("POST", ["users", user, "onlineMeetings"]) => self.create_online_meeting(req, user),
            ("POST", ["chats"]) => self.create_chat(req),
            ("POST", ["chats", chat, "messages"]) => self.post_chat_message(req, chat),
            (_, segments) => Err(graph_error(
                400,
                "BadRequest",
                &format!("Resource not found for the segment '{}'.", segments.last().copied().unwrap_or_default()),
            )),
        }
    }

    fn send_mail(&mut self, req: &Request, user: &str) -> Handled {
        let v = body_json(req)?;
        known_props(&v, "sendMail", &["message", "saveToSentItems"])?;
        if !v["message"].is_object() {
            return Err(graph_error(400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty."));
        }
        let mut mail = parse_message(&v["message"], user, item_id("AAMkAGS"))?;
        if mail.to.is_empty() && mail.cc.is_empty() && mail.bcc.is_empty() {
            return Err(no_recipients());
        }
        mail.save_to_sent = opt_bool(&v, "saveToSentItems")?.unwrap_or(true);
        self.sent.push(mail);
        Ok(empty(202))
    }

    fn draft_index(&self, user: &str, id: &str) -> Result<usize, Out> {
        self.drafts.iter().position(|d| d.id == id && d.user.eq_ignore_ascii_case(user)).ok_or_else(not_found_item)
    }

    fn create_draft(&mut self, req: &Request, user: &str) -> Handled {
        let v = body_json(req)?;
        let draft = parse_message(&v, user, item_id("AAMkAGD"))?;
        let answer = message_json(&draft, &self.uri);
        self.drafts.push(draft);
        Ok(json(201, answer))
    }

    fn add_attachment(&mut self, req: &Request, user: &str, id: &str) -> Handled {
        let index = self.draft_index(user, id)?;
        let v = body_json(req)?;
        let attachment = file_attachment(&v)?;
        let answer = json!({
            "@odata.type": "#microsoft.graph.fileAttachment",
            "id": item_id("AAMkAGA"),
            "name": attachment.name,
            "contentType": attachment.content_type,
            "size": attachment.bytes.len(),
            "isInline": false,
        });
        self.drafts[index].attachments.push(attachment);
        Ok(json(201, answer))
    }

    fn create_upload_session(&mut self, req: &Request, user: &str, id: &str) -> Handled {
        self.draft_index(user, id)?;
        let v = body_json(req)?;
        known_props(&v, "createUploadSession", &["AttachmentItem"])?;
        let item = &v["AttachmentItem"];
        known_props(
            item,
            "attachmentItem",
            &["attachmentType", "name", "size", "contentType", "isInline", "contentId"],
        )?;
        if item["attachmentType"].as_str() != Some("file") {
            return Err(graph_error(400, "ErrorInvalidParameter", "AttachmentItem.attachmentType must be 'file'."));
        }
        let name = opt_str(item, "name")?.unwrap_or_default();
        let size = item["size"].as_u64().unwrap_or(0) as usize;
        if name.is_empty() || size == 0 {
            return Err(graph_error(400, "ErrorInvalidParameter", "AttachmentItem needs a name and a positive size."));
        }
        if size > 150 * 1024 * 1024 {
            return Err(graph_error(400, "ErrorAttachmentSizeLimitExceeded", "The attachment is over 150 MB."));
        }
        let session = format!("s{}", self.next());
        let token = uuid::Uuid::new_v4().simple().to_string();
        let upload_url = format!("{}/upload/{session}?authtoken={token}", self.uri);
        self.uploads.insert(
            session,
            UploadSession {
                token,
                user: user.to_string(),
                message_id: id.to_string(),
                name,
                content_type: opt_str(item, "contentType")?.unwrap_or_else(|| "application/octet-stream".into()),
                size,
                received: Vec::new(),
            },
        );
        Ok(json(
            201,
            json!({
                "@odata.context": format!("{}/v1.0/$metadata#microsoft.graph.uploadSession", self.uri),
                "uploadUrl": upload_url,
                "expirationDateTime": (Utc::now() + chrono::TimeDelta::hours(6)).to_rfc3339(),
                "nextExpectedRanges": ["0-"],
            }),
        ))
    }

    /// `PUT` of a chunk to an upload URL: pre-authenticated, so no `Authorization` header.
    fn upload(&mut self, req: &Request, session_id: &str) -> Handled {
        let range_error = |m: &str| graph_error(400, "InvalidRange", m);
        let Some(session) = self.uploads.get_mut(session_id) else {
            return Err(graph_error(404, "ErrorItemNotFound", "The upload session does not exist or has expired."));
        };
        let token = req.url.query_pairs().find(|(k, _)| k == "authtoken").map(|(_, v)| v.into_owned());
        if token.as_deref() != Some(session.token.as_str()) {
            return Err(graph_error(401, "InvalidAuthenticationToken", "The upload URL's authtoken is not valid."));
        }
        if header(req, "authorization").is_some() {
            return Err(graph_error(
                401,
                "InvalidAuthenticationToken",
                "The upload URL is pre-authenticated; do not send an Authorization header.",
            ));
        }
        if req.body.len() > MAX_BODY {
            return Err(graph_error(413, "RequestEntityTooLarge", "A chunk must be at most 4 MB."));
        }
        let Some((first, last, total)) = header(req, "content-range").and_then(parse_content_range) else {
            return Err(range_error("A Content-Range header 'bytes first-last/total' is required."));
        };
        if total != session.size {
            return Err(range_error("The Content-Range total differs from the session's size."));
        }
        if first != session.received.len() {
            return Err(graph_error(
                416,
                "InvalidRange",
                &format!("The next expected range starts at {}.", session.received.len()),
            ));
        }
        if last < first || last - first + 1 != req.body.len() || last >= total {
            return Err(range_error("The Content-Range does not match the body."));
        }
        let final_chunk = last + 1 == total;
        if !final_chunk && !req.body.len().is_multiple_of(CHUNK_UNIT) {
            return Err(range_error("Chunks other than the last must be a multiple of 320 KiB."));
        }
        session.received.extend_from_slice(&req.body);
        if !final_chunk {
            let next = session.received.len();
            return Ok(json(
                200,
                json!({
                    "expirationDateTime": (Utc::now() + chrono::TimeDelta::hours(6)).to_rfc3339(),
                    "nextExpectedRanges": [format!("{next}-")],
                }),
            ));
        }
        let Some(done) = self.uploads.remove(session_id) else {
            return Err(not_found_item());
        };
        let index = self.draft_index(&done.user, &done.message_id)?;
        let attachment_id = item_id("AAMkAGA");
        self.drafts[index].attachments.push(FakeAttachment {
            name: done.name,
            content_type: done.content_type,
            bytes: done.received,
            via_upload_session: true,
        });
        let location = format!(
            "{}/v1.0/users('{}')/messages('{}')/attachments('{}')",
            self.uri, done.user, done.message_id, attachment_id
        );
        Ok(empty(201).header("location", location))
    }

    fn send_draft(&mut self, user: &str, id: &str) -> Handled {
        let index = self.draft_index(user, id)?;
        let draft = &self.drafts[index];
        if draft.to.is_empty() && draft.cc.is_empty() && draft.bcc.is_empty() {
            return Err(no_recipients());
        }
        let mut mail = self.drafts.remove(index);
        mail.via_draft = true;
        mail.save_to_sent = true;
        self.sent.push(mail);
        Ok(empty(202))
    }

    fn reply(&mut self, req: &Request, user: &str, id: &str, reply_all: bool) -> Handled {
        let v = body_json(req)?;
        known_props(&v, "reply", &["comment", "message"])?;
        let known = self.inbox.iter().any(|m| m.id == id && m.user.eq_ignore_ascii_case(user))
            || self.sent.iter().chain(&self.drafts).any(|m| m.id == id && m.user.eq_ignore_ascii_case(user));
        if !known {
            return Err(not_found_item());
        }
        let comment = opt_str(&v, "comment")?.unwrap_or_default();
        self.replies.push(FakeReply { user: user.to_string(), message_id: id.to_string(), comment, reply_all });
        Ok(empty(202))
    }

    fn list_inbox(&mut self, req: &Request, user: &str) -> Handled {
        let query: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        let number = |name: &str, default: usize| -> Result<usize, Out> {
            match query.get(name) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| {
                    graph_error(400, "BadRequest", &format!("Invalid value '{v}' for the query option {name}."))
                }),
            }
        };
        let top = number("$top", 10)?;
        let skip = number("$skip", 0)?;
        if top == 0 || top > 1000 {
            return Err(graph_error(400, "ErrorInvalidUrlQuery", "The value of $top must be between 1 and 1000."));
        }
        let select: Option<Vec<String>> =
            query.get("$select").map(|s| s.split(',').map(|f| f.trim().to_string()).collect());
        if let Some(fields) = &select
            && let Some(bad) = fields.iter().find(|f| !INBOX_FIELDS.contains(&f.as_str()))
        {
            return Err(graph_error(
                400,
                "RequestBroker--ParseUri",
                &format!("Could not find a property named '{bad}' on type 'microsoft.graph.message'."),
            ));
        }
        let mut items: Vec<&InboxEntry> = self.inbox.iter().filter(|m| m.user.eq_ignore_ascii_case(user)).collect();
        match query.get("$orderby").map(|o| o.trim()) {
            None => {}
            Some("receivedDateTime desc") => items.sort_by_key(|m| std::cmp::Reverse(m.message.received_at)),
            Some("receivedDateTime" | "receivedDateTime asc") => items.sort_by_key(|m| m.message.received_at),
            Some(other) => {
                return Err(graph_error(400, "ErrorInvalidUrlQuery", &format!("Unsupported $orderby '{other}'.")));
            }
        }
        let page = top.min(self.page_size);
        let value: Vec<Value> = items
            .iter()
            .skip(skip)
            .take(page)
            .map(|e| {
                let m = &e.message;
                let from = json!({"emailAddress": {"name": m.from_name, "address": m.from}});
                let all = [
                    ("id", json!(e.id)),
                    ("subject", json!(m.subject)),
                    ("from", from.clone()),
                    ("sender", from),
                    ("receivedDateTime", json!(m.received_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))),
                    ("bodyPreview", json!(m.preview)),
                    ("isRead", json!(m.is_read)),
                    ("toRecipients", json!([{"emailAddress": {"address": user}}])),
                    ("body", json!({"contentType": "text", "content": m.preview})),
                ];
                let mut obj = Map::new();
                obj.insert("@odata.etag".into(), json!(format!("W/\"{}\"", e.id.len())));
                for (name, value) in all {
                    let wanted = select.as_ref().is_none_or(|s| s.iter().any(|f| f == name)) || name == "id";
                    if wanted {
                        obj.insert(name.into(), value);
                    }
                }
                Value::Object(obj)
            })
            .collect();
        let mut answer = json!({
            "@odata.context": format!("{}/v1.0/$metadata#users('{}')/mailFolders('inbox')/messages", self.uri, user),
            "value": value,
        });
        if skip + page < items.len() {
            let mut next = format!("{}{}?%24top={top}&%24skip={}", self.uri, req.url.path(), skip + page);
            for key in ["$select", "$orderby"] {
                if let Some(v) = query.get(key) {
                    next.push_str(&format!("&{}={}", enc(key), enc(v)));
                }
            }
            answer["@odata.nextLink"] = json!(next);
        }
        Ok(json(200, answer))
    }

    fn create_event(&mut self, req: &Request, user: &str) -> Handled {
        let v = body_json(req)?;
        known_props(&v, "event", EVENT_PROPS)?;
        let (body_content_type, body) = item_body(&v["body"])?;
        let (start, time_zone) = date_time_time_zone(&v["start"], "start")?;
        let (end, _) = date_time_time_zone(&v["end"], "end")?;
        if end < start {
            return Err(graph_error(400, "ErrorInvalidRequest", "The event's end is before its start."));
        }
        let attendees = match &v["attendees"] {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .iter()
                .map(|a| {
                    known_props(a, "attendee", &["emailAddress", "type", "status"])?;
                    if let Some(t) = a["type"].as_str()
                        && !["required", "optional", "resource"].contains(&t)
                    {
                        return Err(body_read(format!(
                            "Cannot convert the literal '{t}' to 'microsoft.graph.attendeeType'."
                        )));
                    }
                    let address = a["emailAddress"]["address"].as_str().unwrap_or_default();
                    if !address.contains('@') {
                        return Err(graph_error(400, "ErrorInvalidRecipients", "An attendee has no valid address."));
                    }
                    Ok(address.to_string())
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(body_read("'attendees' must be a collection.")),
        };
        let is_online_meeting = opt_bool(&v, "isOnlineMeeting")?.unwrap_or(false);
        let provider = opt_str(&v, "onlineMeetingProvider")?;
        if let Some(p) = &provider
            && !["teamsForBusiness", "skypeForBusiness", "skypeForConsumer", "unknown"].contains(&p.as_str())
        {
            return Err(body_read(format!(
                "Cannot convert the literal '{p}' to 'microsoft.graph.onlineMeetingProviderType'."
            )));
        }
        let reminder_minutes = match &v["reminderMinutesBeforeStart"] {
            Value::Null => None,
            n => Some(n.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                body_read("Cannot convert the value of 'reminderMinutesBeforeStart' to 'Edm.Int32'.")
            })?),
        };
        let is_reminder_on = opt_bool(&v, "isReminderOn")?.unwrap_or(true);
        let location = v["location"]["displayName"].as_str().map(str::to_string);
        let id = item_id("AAMkAGE");
        let join = (is_online_meeting && provider.as_deref() != Some("unknown")).then(join_url);
        let event = FakeEvent {
            id: id.clone(),
            user: user.to_string(),
            subject: opt_str(&v, "subject")?.unwrap_or_default(),
            body_content_type,
            body,
            start,
            end,
            time_zone: time_zone.clone(),
            attendees,
            location: location.clone(),
            is_online_meeting,
            online_meeting_provider: provider.clone(),
            is_reminder_on,
            reminder_minutes,
            join_url: join.clone(),
        };
        let answer = json!({
            "@odata.context": format!("{}/v1.0/$metadata#users('{}')/events/$entity", self.uri, user),
            "id": id,
            "webLink": format!("https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item", enc(&id)),
            "subject": event.subject,
            "start": {"dateTime": graph_date_time(start), "timeZone": time_zone},
            "end": {"dateTime": graph_date_time(end), "timeZone": time_zone},
            "isOnlineMeeting": is_online_meeting,
            "onlineMeetingProvider": provider.unwrap_or_else(|| "unknown".into()),
            "onlineMeeting": join.map(|u| json!({"joinUrl": u})),
            "isReminderOn": is_reminder_on,
            "reminderMinutesBeforeStart": reminder_minutes.unwrap_or(15),
            "location": {"displayName": location.unwrap_or_default()},
        });
        // The organiser is busy then (the fake ignores time zones).
        self.schedule.push((user.to_lowercase(), start, end, "busy".into()));
        self.events.push(event);
        Ok(json(201, answer))
    }

    fn get_schedule(&mut self, req: &Request) -> Handled {
        let v = body_json(req)?;
        known_props(&v, "getSchedule", &["schedules", "startTime", "endTime", "availabilityViewInterval"])?;
        let schedules: Vec<String> = match &v["schedules"] {
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| body_read("'schedules' must be a collection of strings."))?,
            _ => return Err(graph_error(400, "ErrorInvalidParameter", "'schedules' must list at least one address.")),
        };
        let (start, _) = date_time_time_zone(&v["startTime"], "startTime")?;
        let (end, _) = date_time_time_zone(&v["endTime"], "endTime")?;
        if end <= start {
            return Err(graph_error(400, "ErrorInvalidParameter", "endTime must be after startTime."));
        }
        let interval = match &v["availabilityViewInterval"] {
            Value::Null => 30,
            n => n.as_i64().filter(|n| (5..=1440).contains(n)).ok_or_else(|| {
                graph_error(400, "ErrorInvalidParameter", "availabilityViewInterval must be between 5 and 1440.")
            })?,
        };
        let tz = header(req, "prefer")
            .and_then(|p| p.split(',').find_map(|part| part.trim().strip_prefix("outlook.timezone=")))
            .map(|t| t.trim_matches('"').to_string())
            .unwrap_or_else(|| "UTC".into());
        let slots = ((end - start).num_minutes() + interval - 1) / interval;
        let value: Vec<Value> = schedules
            .iter()
            .map(|who| {
                let mine: Vec<_> = self
                    .schedule
                    .iter()
                    .filter(|(u, s, e, _)| u.eq_ignore_ascii_case(who) && *s < end && *e > start)
                    .collect();
                let view: String = (0..slots)
                    .map(|i| {
                        let from = start + chrono::TimeDelta::minutes(i * interval);
                        let to = from + chrono::TimeDelta::minutes(interval);
                        let rank = |status: &str| match status {
                            "oof" => (4, '3'),
                            "busy" => (3, '2'),
                            "workingElsewhere" => (2, '4'),
                            "tentative" => (1, '1'),
                            _ => (0, '0'),
                        };
                        mine.iter()
                            .filter(|(_, s, e, _)| *s < to && *e > from)
                            .map(|(_, _, _, st)| rank(st))
                            .max()
                            .map_or('0', |(_, c)| c)
                    })
                    .collect();
                let items: Vec<Value> = mine
                    .iter()
                    .map(|(_, s, e, status)| {
                        json!({
                            "isPrivate": false,
                            "status": status,
                            "subject": "Busy",
                            "location": "",
                            "isMeeting": true,
                            "start": {"dateTime": graph_date_time(*s), "timeZone": tz},
                            "end": {"dateTime": graph_date_time(*e), "timeZone": tz},
                        })
                    })
                    .collect();
                json!({
                    "scheduleId": who,
                    "availabilityView": view,
                    "scheduleItems": items,
                    "workingHours": {
                        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                        "startTime": "08:00:00.0000000",
                        "endTime": "17:00:00.0000000",
                        "timeZone": {"name": tz},
                    },
                })
            })
            .collect();
        Ok(json(
            200,
            json!({"@odata.context": format!("{}/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)", self.uri), "value": value}),
        ))
    }

    fn list_channels(&mut self, req: &Request, team: &str) -> Handled {
        if !self.channels.iter().any(|c| c.team == team) {
            return Err(graph_error(404, "NotFound", &format!("No team found with Group Id {team}")));
        }
        let filter = req.url.query_pairs().find(|(k, _)| k == "$filter").map(|(_, v)| v.into_owned());
        let name = match &filter {
            None => None,
            Some(f) => Some(
                display_name_filter(f)
                    .ok_or_else(|| graph_error(400, "BadRequest", &format!("Invalid filter clause: {f}")))?,
            ),
        };
        let value: Vec<Value> = self
            .channels
            .iter()
            .filter(|c| c.team == team && name.as_ref().is_none_or(|n| c.name.eq_ignore_ascii_case(n)))
            .map(|c| {
                json!({
                    "id": c.id,
                    "createdDateTime": "2024-01-01T00:00:00Z",
                    "displayName": c.name,
                    "description": null,
                    "membershipType": "standard",
                    "webUrl": format!("https://teams.microsoft.com/l/channel/{}/{}", enc(&c.id), enc(&c.name)),
                })
            })
            .collect();
        Ok(json(
            200,
            json!({"@odata.context": format!("{}/v1.0/$metadata#teams('{team}')/channels", self.uri), "@odata.count": value.len(), "value": value}),
        ))
    }

    /// A `chatMessage` body: (`html`/`text`, content).
    fn chat_body(v: &Value) -> Result<(String, String), Out> {
        known_props(v, "chatMessage", CHAT_MESSAGE_PROPS)?;
        let (content_type, content) = item_body(&v["body"])?;
        if content.trim().is_empty() {
            return Err(graph_error(400, "BadRequest", "Message body cannot be empty."));
        }
        Ok((content_type, content))
    }

    fn post_channel_message(&mut self, req: &Request, team: &str, channel: &str) -> Handled {
        if !self.channels.iter().any(|c| c.team == team && c.id == channel) {
            return Err(graph_error(404, "NotFound", "Channel not found in the team."));
        }
        let v = body_json(req)?;
        let (content_type, content) = Self::chat_body(&v)?;
        let id = (1_700_000_000_000 + self.next()).to_string();
        self.channel_messages.push(FakeChannelMessage {
            id: id.clone(),
            team_id: team.to_string(),
            channel_id: channel.to_string(),
            content_type: content_type.clone(),
            content: content.clone(),
        });
        Ok(json(
            201,
            json!({
                "id": id,
                "replyToId": null,
                "messageType": "message",
                "createdDateTime": now(),
                "body": {"contentType": content_type, "content": content},
                "channelIdentity": {"teamId": team, "channelId": channel},
                "webUrl": format!("https://teams.microsoft.com/l/message/{}/{id}", enc(channel)),
            }),
        ))
    }

    fn create_online_meeting(&mut self, req: &Request, user: &str) -> Handled {
        let v = body_json(req)?;
        known_props(
            &v,
            "onlineMeeting",
            &["subject", "startDateTime", "endDateTime", "participants", "lobbyBypassSettings"],
        )?;
        let parse = |field: &str| -> Result<DateTime<chrono::FixedOffset>, Out> {
            let s = v[field].as_str().unwrap_or_default();
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| body_read(format!("Cannot convert '{s}' of '{field}' to 'Edm.DateTimeOffset'.")))
        };
        let start = parse("startDateTime")?;
        let end = parse("endDateTime")?;
        if end <= start {
            return Err(graph_error(400, "BadRequest", "endDateTime must be after startDateTime."));
        }
        let meeting = FakeOnlineMeeting {
            id: format!("MSo{}", uuid::Uuid::new_v4().simple()),
            user: user.to_string(),
            subject: opt_str(&v, "subject")?.unwrap_or_default(),
            start,
            end,
            join_url: join_url(),
        };
        let answer = json!({
            "id": meeting.id,
            "creationDateTime": now(),
            "startDateTime": start.to_rfc3339(),
            "endDateTime": end.to_rfc3339(),
            "joinWebUrl": meeting.join_url,
            "subject": meeting.subject,
            "joinMeetingIdSettings": {"isPasscodeRequired": false, "joinMeetingId": "1234567890", "passcode": null},
        });
        self.online_meetings.push(meeting);
        Ok(json(201, answer))
    }

    fn create_chat(&mut self, req: &Request) -> Handled {
        let v = body_json(req)?;
        known_props(&v, "chat", &["chatType", "members", "topic"])?;
        if v["chatType"].as_str() != Some("oneOnOne") {
            return Err(graph_error(400, "BadRequest", "The fake only creates chats of chatType 'oneOnOne'."));
        }
        let members = v["members"].as_array().cloned().unwrap_or_default();
        if members.len() != 2 {
            return Err(graph_error(400, "BadRequest", "A oneOnOne chat must have exactly two members."));
        }
        let mut users = Vec::new();
        for m in &members {
            if m["@odata.type"].as_str() != Some("#microsoft.graph.aadUserConversationMember") {
                return Err(graph_error(
                    400,
                    "BadRequest",
                    "Members must be #microsoft.graph.aadUserConversationMember.",
                ));
            }
            let owner = m["roles"].as_array().is_some_and(|r| r.iter().any(|x| x.as_str() == Some("owner")));
            if !owner {
                return Err(graph_error(400, "BadRequest", "oneOnOne chat members must have the 'owner' role."));
            }
            let user = m["user@odata.bind"].as_str().and_then(bound_user).ok_or_else(|| {
                graph_error(
                    400,
                    "BadRequest",
                    "user@odata.bind must look like https://graph.microsoft.com/v1.0/users('<id>').",
                )
            })?;
            users.push(user.to_lowercase());
        }
        users.sort();
        if users[0] == users[1] {
            return Err(graph_error(400, "BadRequest", "A oneOnOne chat needs two different users."));
        }
        let existing = self.chats.iter().find(|(_, m)| *m == users).map(|(id, _)| id.clone());
        let id = match existing {
            Some(id) => id,
            None => {
                let id = format!("19:{}_{}@unq.gbl.spaces", self.next(), uuid::Uuid::new_v4().simple());
                self.chats.push((id.clone(), users));
                id
            }
        };
        Ok(json(201, json!({"id": id, "chatType": "oneOnOne", "createdDateTime": now(), "topic": null})))
    }

    fn post_chat_message(&mut self, req: &Request, chat: &str) -> Handled {
        let Some(members) = self.chats.iter().find(|(id, _)| id == chat).map(|(_, m)| m.clone()) else {
            return Err(graph_error(404, "NotFound", "Chat not found."));
        };
        let v = body_json(req)?;
        let (content_type, content) = Self::chat_body(&v)?;
        let id = (1_700_000_000_000 + self.next()).to_string();
        self.chat_messages.push(FakeChatMessage {
            id: id.clone(),
            chat_id: chat.to_string(),
            members,
            content_type: content_type.clone(),
            content: content.clone(),
        });
        Ok(json(
            201,
            json!({"id": id, "chatId": chat, "messageType": "message", "createdDateTime": now(), "body": {"contentType": content_type, "content": content}}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_binds_parse() {
        assert_eq!(display_name_filter("displayName eq 'Sales ''EU'''").as_deref(), Some("Sales 'EU'"));
        assert_eq!(display_name_filter("displayName eq 'bad'quote'"), None);
        assert_eq!(display_name_filter("startswith(displayName,'x')"), None);
        assert_eq!(
            bound_user("https://graph.microsoft.com/v1.0/users('o''brien@x.com')").as_deref(),
            Some("o'brien@x.com")
        );
        assert_eq!(bound_user("https://graph.microsoft.com/v1.0/users/abc"), None);
        assert_eq!(parse_content_range("bytes 0-9/100"), Some((0, 9, 100)));
        assert_eq!(parse_content_range("0-9/100"), None);
    }
}
