//! Deliveries the agents ask for: e-mail rendered from `knowledge/templates/emails` and Teams
//! posts. The tools enqueue `delivery.*` jobs (committed before the tool answers); the
//! worker performs them once, through the job system's exactly-once effects. Without
//! Microsoft 365 credentials every delivery lands in the outbox (`GET /admin/outbox`) with its
//! full rendered content, so the system works end to end on a new machine.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

pub const EMAIL_JOB: &str = "delivery.email";
pub const TEAMS_JOB: &str = "delivery.teams";
pub const PUSH_JOB: &str = "delivery.push";
pub const CALENDAR_JOB: &str = "delivery.calendar";
pub const REPLY_JOB: &str = "delivery.reply";
pub const CHAT_JOB: &str = "delivery.chat";

/// An e-mail as it will be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailJob {
    pub user_id: Uuid,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub html: String,
    /// Artifact ids (the caller's).
    pub attachments: Vec<Uuid>,
}

/// A Teams channel post as it will be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsJob {
    pub user_id: Uuid,
    pub channel: String,
    /// Another team than the configured one (a reply to a Teams activity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    pub text: String,
    pub attachments: Vec<Uuid>,
}

/// A push notification to users' registered devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushJob {
    /// Who asked for it.
    pub user_id: Uuid,
    /// The users whose devices get it.
    pub recipients: Vec<Uuid>,
    pub title: String,
    pub body: String,
    pub data: std::collections::BTreeMap<String, String>,
}

/// A calendar event in the organizer's Outlook calendar (a Teams meeting when online).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarJob {
    pub user_id: Uuid,
    /// The organizer's mailbox (the caller's address).
    pub organizer: String,
    pub subject: String,
    pub html: String,
    /// Wall-clock times in `time_zone`.
    pub start: chrono::NaiveDateTime,
    pub end: chrono::NaiveDateTime,
    pub time_zone: String,
    pub attendees: Vec<String>,
    pub location: Option<String>,
    pub online_meeting: bool,
    pub reminder_minutes: Option<u32>,
}

/// A reply to a message in the assistant's mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyJob {
    pub user_id: Uuid,
    pub message_id: String,
    pub html: String,
    pub reply_all: bool,
}

/// A one-on-one Teams chat message from the assistant's identity to a colleague.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatJob {
    pub user_id: Uuid,
    /// The colleague's address (user principal name).
    pub to: String,
    pub html: String,
}

pub use graph::html_escape;

/// Plain text as HTML paragraphs.
pub fn text_to_html(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", html_escape(p.trim()).replace('\n', "<br>")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TemplateError {
    #[error("'{0}' is not an e-mail template (use one of: {1})")]
    Unknown(String, String),
}

/// The names of the e-mail templates.
pub fn templates(knowledge_root: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(knowledge_root.join("templates/emails"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".html")).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Renders `knowledge/templates/emails/<name>.html` with `data` (values HTML-escaped; a
/// placeholder without a value becomes empty). Returns the template's subject line (from its
/// first-line comment, rendered the same way) and the HTML body.
pub fn render_template(
    knowledge_root: &std::path::Path,
    name: &str,
    data: &Map<String, Value>,
) -> Result<(Option<String>, String), TemplateError> {
    let known = templates(knowledge_root);
    if !known.iter().any(|k| k == name) {
        return Err(TemplateError::Unknown(name.chars().take(40).collect(), known.join(", ")));
    }
    let raw = std::fs::read_to_string(knowledge_root.join(format!("templates/emails/{name}.html")))
        .map_err(|_| TemplateError::Unknown(name.into(), known.join(", ")))?;
    let fill = |s: &str, escape: bool| -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let key = after[..end].trim();
            let value = data.get(key).map(crate::skills::engine::to_text).unwrap_or_default();
            out.push_str(&if escape { html_escape(&value).replace('\n', "<br>") } else { value });
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    };
    let (subject, body) = match raw.split_once("-->") {
        Some((comment, body)) if comment.trim_start().starts_with("<!--") => {
            let subject = comment
                .split('|')
                .find_map(|part| part.trim().trim_start_matches("<!--").trim().strip_prefix("subject:"))
                .map(|s| fill(s.trim(), false));
            (subject, body.trim_start().to_string())
        }
        _ => (None, raw),
    };
    Ok((subject, fill(&body, true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        std::env::current_dir().unwrap().join("../../knowledge")
    }

    #[test]
    fn templates_render_escaped_with_their_subject() {
        let mut data = Map::new();
        data.insert("report_name".into(), Value::String("Financial Statement".into()));
        data.insert("period".into(), Value::String("October 2026".into()));
        data.insert("summary".into(), Value::String("Revenue <b>SGD 1</b>\nNet & co".into()));
        let (subject, html) = render_template(&root(), "report_delivery", &data).unwrap();
        assert_eq!(subject.as_deref(), Some("Financial Statement – October 2026"));
        assert!(html.contains("Revenue &lt;b&gt;SGD 1&lt;/b&gt;<br>Net &amp; co"), "{html}");
        assert!(!html.contains("{{"), "{html}");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(matches!(render_template(&root(), "../secrets", &data), Err(TemplateError::Unknown(..))));
        assert!(templates(&root()).contains(&"welcome".to_string()));
    }

    #[test]
    fn text_becomes_safe_paragraphs() {
        assert_eq!(text_to_html("Hi <Bob>,\nline\n\nBye"), "<p>Hi &lt;Bob&gt;,<br>line</p>\n<p>Bye</p>");
    }
}
