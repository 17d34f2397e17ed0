//! Outlook mail: send (with large attachments through upload sessions), drafts, inbox, replies.

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{GraphClient, GraphError, client::Call};

/// Graph refuses request bodies over 4 MB.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Attachments totalling more than this go through a draft plus separate uploads.
pub const INLINE_ATTACHMENTS_LIMIT: usize = 3_000_000;
/// A single attachment of at least this size is uploaded through an upload session.
pub const UPLOAD_SESSION_THRESHOLD: usize = 3_000_000;
/// Upload-session chunks: a multiple of 320 KiB, under 4 MB.
pub const UPLOAD_CHUNK_BYTES: usize = 10 * 320 * 1024;
/// Room left under [`MAX_REQUEST_BYTES`] for headers and rounding.
const REQUEST_HEADROOM: usize = 64 * 1024;

/// A file to attach.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Attachment {
    /// The file name the recipient sees.
    pub name: String,
    /// A MIME type such as `application/pdf`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A mail to send or save as a draft. Recipients are SMTP addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingMail {
    pub subject: String,
    /// The HTML body.
    pub html: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub attachments: Vec<Attachment>,
    /// Keep a copy in the sender's Sent Items. Mails with attachments over
    /// [`INLINE_ATTACHMENTS_LIMIT`] are sent from a draft and always keep a copy.
    pub save_to_sent: bool,
}

impl OutgoingMail {
    fn attachment_bytes(&self) -> usize {
        self.attachments.iter().map(|a| a.bytes.len()).sum()
    }
}

/// One message of a mailbox listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSummary {
    pub id: String,
    pub subject: String,
    /// The sender's address, when Graph knows it.
    pub from: Option<String>,
    /// The sender's display name, when Graph knows it.
    pub from_name: Option<String>,
    pub received_at: DateTime<Utc>,
    /// Graph's `bodyPreview`: the first 255 characters of the body, as text.
    pub preview: String,
    pub is_read: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage {
    id: String,
    subject: Option<String>,
    from: Option<WireRecipient>,
    received_date_time: Option<DateTime<Utc>>,
    body_preview: Option<String>,
    is_read: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRecipient {
    email_address: Option<WireAddress>,
}

#[derive(Deserialize)]
struct WireAddress {
    address: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct WithId {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadSession {
    upload_url: String,
}

pub(crate) fn recipients(addresses: &[String]) -> Value {
    addresses.iter().map(|a| json!({"emailAddress": {"address": a}})).collect()
}

fn file_attachment(a: &Attachment) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": a.name,
        "contentType": a.content_type,
        "contentBytes": STANDARD.encode(&a.bytes),
    })
}

/// Graph's `message` resource for `mail`, with the attachments inline or not.
fn message_json(mail: &OutgoingMail, with_attachments: bool) -> Value {
    let mut m = json!({
        "subject": mail.subject,
        "body": {"contentType": "HTML", "content": mail.html},
        "toRecipients": recipients(&mail.to),
        "ccRecipients": recipients(&mail.cc),
        "bccRecipients": recipients(&mail.bcc),
    });
    if with_attachments && !mail.attachments.is_empty() {
        m["attachments"] = mail.attachments.iter().map(file_attachment).collect();
    }
    m
}

fn encode(v: &Value) -> Result<Vec<u8>, GraphError> {
    serde_json::to_vec(v).map_err(|e| GraphError::Decode(format!("encoding the request: {e}")))
}

/// `Some(body)` when `v` fits in one Graph request.
fn fits(v: &Value) -> Result<Option<Vec<u8>>, GraphError> {
    let bytes = encode(v)?;
    Ok((bytes.len() <= MAX_REQUEST_BYTES - REQUEST_HEADROOM).then_some(bytes))
}

impl GraphClient {
    /// Sends `mail` as `sender` (a user id or UPN); `POST /users/{sender}/sendMail`.
    ///
    /// Attachments totalling more than [`INLINE_ATTACHMENTS_LIMIT`] (or a body too big for one
    /// request) take the large path: a draft, each attachment added separately (upload
    /// sessions from [`UPLOAD_SESSION_THRESHOLD`]), then `POST /messages/{id}/send`.
    pub async fn send_mail(&self, sender: &str, mail: &OutgoingMail) -> Result<(), GraphError> {
        if mail.attachment_bytes() <= INLINE_ATTACHMENTS_LIMIT
            && let Some(body) =
                fits(&json!({"message": message_json(mail, true), "saveToSentItems": mail.save_to_sent}))?
        {
            self.send(&Call::post_bytes(self.url(&["users", sender, "sendMail"]), body)).await?;
            return Ok(());
        }
        tracing::debug!(attachments = mail.attachments.len(), "sending a large mail through a draft");
        let id = self.create_draft(sender, mail).await?;
        self.send(&Call::post_bytes(self.url(&["users", sender, "messages", &id, "send"]), Vec::new())).await?;
        Ok(())
    }

    /// Saves `mail` in `user`'s Drafts (attachments included) and returns the message id.
    pub async fn create_draft(&self, user: &str, mail: &OutgoingMail) -> Result<String, GraphError> {
        let url = self.url(&["users", user, "messages"]);
        if mail.attachment_bytes() <= INLINE_ATTACHMENTS_LIMIT
            && let Some(body) = fits(&message_json(mail, true))?
        {
            let created: WithId = self.send_json(&Call::post_bytes(url, body)).await?;
            return Ok(created.id);
        }
        let body = fits(&message_json(mail, false))?
            .ok_or_else(|| GraphError::Decode("the mail body alone is over Graph's 4 MB request limit".into()))?;
        let created: WithId = self.send_json(&Call::post_bytes(url, body)).await?;
        for attachment in &mail.attachments {
            self.add_attachment(user, &created.id, attachment).await?;
        }
        Ok(created.id)
    }

    /// Adds a file to a draft: one POST under [`UPLOAD_SESSION_THRESHOLD`], else an upload
    /// session whose URL gets the bytes in [`UPLOAD_CHUNK_BYTES`] chunks.
    pub async fn add_attachment(&self, user: &str, message_id: &str, a: &Attachment) -> Result<(), GraphError> {
        let attachments = ["users", user, "messages", message_id, "attachments"];
        if a.bytes.len() < UPLOAD_SESSION_THRESHOLD {
            self.send(&Call::post_json(self.url(&attachments), &file_attachment(a))?).await?;
            return Ok(());
        }
        let item = json!({"AttachmentItem": {
            "attachmentType": "file",
            "name": a.name,
            "size": a.bytes.len(),
            "contentType": a.content_type,
        }});
        let url = self.url(&[&attachments[..], &["createUploadSession"]].concat());
        let session: UploadSession = self.send_json(&Call::post_json(url, &item)?).await?;
        let upload_url = url::Url::parse(&session.upload_url)
            .map_err(|e| GraphError::Decode(format!("bad uploadUrl in the upload session: {e}")))?;
        let total = a.bytes.len();
        for (i, chunk) in a.bytes.chunks(UPLOAD_CHUNK_BYTES).enumerate() {
            let first = i * UPLOAD_CHUNK_BYTES;
            let last = first + chunk.len() - 1;
            let call = Call {
                method: Method::PUT,
                url: upload_url.clone(),
                body: Some((chunk.to_vec(), "application/octet-stream")),
                headers: vec![("content-range", format!("bytes {first}-{last}/{total}"))],
                auth: false,
            };
            let resp = self.send(&call).await?;
            if last + 1 == total && resp.status().as_u16() != 201 {
                let status = resp.status().as_u16();
                return Err(GraphError::Decode(format!("the last upload chunk got {status}, not 201 Created")));
            }
        }
        Ok(())
    }

    /// The newest `top` messages of `user`'s Inbox, newest first, following `@odata.nextLink`.
    pub async fn list_inbox(&self, user: &str, top: usize) -> Result<Vec<MailSummary>, GraphError> {
        if top == 0 {
            return Ok(Vec::new());
        }
        let page = top.min(1000).to_string();
        let url = self.url_with_query(
            &["users", user, "mailFolders", "inbox", "messages"],
            &[
                ("$top", &page),
                ("$select", "id,subject,from,receivedDateTime,bodyPreview,isRead"),
                ("$orderby", "receivedDateTime desc"),
            ],
        );
        let wire: Vec<WireMessage> = self.get_pages(url, top).await?;
        wire.into_iter()
            .map(|m| {
                let address = m.from.and_then(|f| f.email_address);
                Ok(MailSummary {
                    received_at: m
                        .received_date_time
                        .ok_or_else(|| GraphError::Decode(format!("message {} without receivedDateTime", m.id)))?,
                    id: m.id,
                    subject: m.subject.unwrap_or_default(),
                    from: address.as_ref().and_then(|a| a.address.clone()),
                    from_name: address.and_then(|a| a.name),
                    preview: m.body_preview.unwrap_or_default(),
                    is_read: m.is_read.unwrap_or(false),
                })
            })
            .collect()
    }

    /// Replies to (or replies all to) a message in `user`'s mailbox with `html` as the comment
    /// above the quoted original; `POST /users/{user}/messages/{id}/reply|replyAll`.
    pub async fn reply(&self, user: &str, message_id: &str, html: &str, reply_all: bool) -> Result<(), GraphError> {
        let action = if reply_all { "replyAll" } else { "reply" };
        let url = self.url(&["users", user, "messages", message_id, action]);
        self.send(&Call::post_json(url, &json!({"comment": html}))?).await?;
        Ok(())
    }
}
