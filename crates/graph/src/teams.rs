//! Teams: channel messages, online meetings, one-on-one chats.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use serde_json::json;

use crate::{GraphClient, GraphError, client::Call};

/// A Teams meeting created on its own (without a calendar event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineMeeting {
    pub id: String,
    pub join_url: String,
}

#[derive(Deserialize)]
struct WithId {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireChannel {
    id: String,
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOnlineMeeting {
    id: String,
    join_web_url: Option<String>,
}

/// Whether `s` is a channel id (`19:...@thread.tacv2`, or the older `@thread.skype`)
/// rather than a display name.
pub fn looks_like_channel_id(s: &str) -> bool {
    s.starts_with("19:") && (s.ends_with("@thread.tacv2") || s.ends_with("@thread.skype")) && !s.contains(' ')
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `html` followed by a list of `(name, url)` links, both escaped. Only `http(s)` URLs become
/// anchors; anything else is shown as text.
pub fn append_links(html: &str, links: &[(String, String)]) -> String {
    if links.is_empty() {
        return html.to_string();
    }
    let mut out = format!("{html}<ul>");
    for (name, url) in links {
        let lower = url.trim_start().to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            out.push_str(&format!("<li><a href=\"{}\">{}</a></li>", html_escape(url.trim()), html_escape(name)));
        } else {
            out.push_str(&format!("<li>{}: {}</li>", html_escape(name), html_escape(url)));
        }
    }
    out.push_str("</ul>");
    out
}

/// A string literal for OData `$filter`: quoted, with `'` doubled.
fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl GraphClient {
    /// The id of `team_id`'s channel named `name_or_id` (`GET /teams/{team}/channels?$filter=
    /// displayName eq '...'`); something that already looks like a channel id is returned as is.
    /// An exact-case match wins over a case-insensitive one; no match is
    /// `Api { status: 404, code: "ChannelNotFound", .. }`.
    pub async fn resolve_channel(&self, team_id: &str, name_or_id: &str) -> Result<String, GraphError> {
        let wanted = name_or_id.trim();
        if looks_like_channel_id(wanted) {
            return Ok(wanted.to_string());
        }
        let filter = format!("displayName eq {}", odata_string(wanted));
        let url = self.url_with_query(&["teams", team_id, "channels"], &[("$filter", &filter)]);
        let channels: Vec<WireChannel> = self.get_pages(url, 1000).await?;
        let exact = channels.iter().find(|c| c.display_name.as_deref() == Some(wanted));
        let loose =
            || channels.iter().find(|c| c.display_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(wanted)));
        match exact.or_else(loose) {
            Some(c) => Ok(c.id.clone()),
            None => Err(GraphError::Api {
                status: 404,
                code: "ChannelNotFound".into(),
                message: format!("team {team_id} has no channel named {wanted:?}"),
                request_id: None,
            }),
        }
    }

    /// Posts `html` (plus `links` as a list of anchors) to a channel and returns the message id;
    /// `POST /teams/{team}/channels/{channel}/messages`.
    pub async fn post_channel_message(
        &self,
        team_id: &str,
        channel_id: &str,
        html: &str,
        links: &[(String, String)],
    ) -> Result<String, GraphError> {
        let body = json!({"body": {"contentType": "html", "content": append_links(html, links)}});
        let call = Call::post_json(self.url(&["teams", team_id, "channels", channel_id, "messages"]), &body)?;
        let created: WithId = self.send_json(&call).await?;
        Ok(created.id)
    }

    /// Creates a standalone Teams meeting organised by `user`; `POST /users/{user}/onlineMeetings`.
    pub async fn create_online_meeting(
        &self,
        user: &str,
        subject: &str,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
    ) -> Result<OnlineMeeting, GraphError> {
        if end <= start {
            return Err(GraphError::Decode("the meeting must end after it starts".into()));
        }
        let body = json!({
            "subject": subject,
            "startDateTime": start.to_rfc3339(),
            "endDateTime": end.to_rfc3339(),
        });
        let call = Call::post_json(self.url(&["users", user, "onlineMeetings"]), &body)?;
        let created: WireOnlineMeeting = self.send_json(&call).await?;
        let join_url =
            created.join_web_url.ok_or_else(|| GraphError::Decode("online meeting without joinWebUrl".into()))?;
        Ok(OnlineMeeting { id: created.id, join_url })
    }

    /// Sends `html` to `recipient_user` in the one-on-one chat with `sender_user` (created if
    /// needed: `POST /chats` answers the existing chat) and returns the message id.
    pub async fn send_chat_message(
        &self,
        sender_user: &str,
        recipient_user: &str,
        html: &str,
    ) -> Result<String, GraphError> {
        let member = |user: &str| {
            json!({
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "roles": ["owner"],
                "user@odata.bind": format!("{}/users({})", self.graph_root(), odata_string(user)),
            })
        };
        let chat = json!({"chatType": "oneOnOne", "members": [member(sender_user), member(recipient_user)]});
        let chat: WithId = self.send_json(&Call::post_json(self.url(&["chats"]), &chat)?).await?;
        let body = json!({"body": {"contentType": "html", "content": html}});
        let created: WithId =
            self.send_json(&Call::post_json(self.url(&["chats", &chat.id, "messages"]), &body)?).await?;
        Ok(created.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ids_are_recognised() {
        assert!(looks_like_channel_id("19:abc123@thread.tacv2"));
        assert!(looks_like_channel_id("19:abc123@thread.skype"));
        assert!(!looks_like_channel_id("General"));
        assert!(!looks_like_channel_id("19: not an id"));
    }

    #[test]
    fn links_are_escaped() {
        let html = append_links(
            "<p>Report</p>",
            &[
                ("Q1 <final> & \"signed\"".into(), "https://x.example/a?b=1&c='2'".into()),
                ("bad".into(), "javascript:alert(1)".into()),
            ],
        );
        assert_eq!(
            html,
            "<p>Report</p><ul><li><a href=\"https://x.example/a?b=1&amp;c=&#39;2&#39;\">Q1 &lt;final&gt; &amp; \
             &quot;signed&quot;</a></li><li>bad: javascript:alert(1)</li></ul>"
        );
        assert_eq!(append_links("<p>x</p>", &[]), "<p>x</p>");
    }

    #[test]
    fn odata_strings_double_quotes() {
        assert_eq!(odata_string("Sales 'EU'"), "'Sales ''EU'''");
    }
}
