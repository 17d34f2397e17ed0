//! Teams channels, meetings and chats against the fake.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::DateTime;
use graph::{GraphClient, GraphError, append_links, fake::FakeGraph};

const TEAM: &str = "6c1f0a9e-0000-4000-8000-00000000te4m";

async fn setup() -> (FakeGraph, GraphClient) {
    let fake = FakeGraph::start().await;
    let client = GraphClient::new(fake.config()).unwrap();
    (fake, client)
}

#[tokio::test]
async fn channels_resolve_by_name_and_get_messages() {
    let (fake, client) = setup().await;
    let general = fake.add_channel(TEAM, "General");
    let sales = fake.add_channel(TEAM, "Sales 'EU' & Co");

    // Quotes doubled for OData, '&' encoded so the query survives.
    assert_eq!(client.resolve_channel(TEAM, "Sales 'EU' & Co").await.unwrap(), sales);
    assert_eq!(client.resolve_channel(TEAM, "General").await.unwrap(), general);
    let lookups = fake.graph_calls("GET", "/channels").len();
    // An id passes through without a lookup.
    assert_eq!(client.resolve_channel(TEAM, &sales).await.unwrap(), sales);
    assert_eq!(fake.graph_calls("GET", "/channels").len(), lookups);
    let err = client.resolve_channel(TEAM, "Nope").await.unwrap_err();
    assert!(matches!(&err, GraphError::Api { status: 404, code, .. } if code == "ChannelNotFound"), "{err:?}");

    let links = vec![("Q1 <final>.pdf".to_string(), "https://files.example/q1?x=1&y=2".to_string())];
    let id = client.post_channel_message(TEAM, &sales, "<p>Report is ready</p>", &links).await.unwrap();
    let posted = fake.channel_messages();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].id, id);
    assert_eq!((posted[0].team_id.as_str(), posted[0].channel_id.as_str()), (TEAM, sales.as_str()));
    assert_eq!(posted[0].content_type, "html");
    assert_eq!(posted[0].content, append_links("<p>Report is ready</p>", &links));
    assert!(posted[0].content.contains("<a href=\"https://files.example/q1?x=1&amp;y=2\">Q1 &lt;final&gt;.pdf</a>"));

    // Posting to a channel of another team fails.
    let err = client.post_channel_message("other-team", &sales, "<p>x</p>", &[]).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn standalone_online_meeting() {
    let (fake, client) = setup().await;
    let start = DateTime::parse_from_rfc3339("2026-03-02T10:00:00+08:00").unwrap();
    let end = DateTime::parse_from_rfc3339("2026-03-02T10:30:00+08:00").unwrap();
    let meeting = client.create_online_meeting("pm@contoso.com", "Sync", start, end).await.unwrap();
    let recorded = &fake.online_meetings()[0];
    assert_eq!(meeting.id, recorded.id);
    assert_eq!(meeting.join_url, recorded.join_url);
    assert_eq!((recorded.start, recorded.end), (start, end));
    assert_eq!((recorded.user.as_str(), recorded.subject.as_str()), ("pm@contoso.com", "Sync"));
}

#[tokio::test]
async fn one_on_one_chat_messages_reuse_the_chat() {
    let (fake, client) = setup().await;
    let first =
        client.send_chat_message("bot@contoso.com", "Alice@contoso.com", "<p>Your report is ready</p>").await.unwrap();
    let second = client.send_chat_message("alice@contoso.com", "bot@contoso.com", "<b>thanks</b>").await.unwrap();
    assert_ne!(first, second);

    let chats = fake.chats();
    assert_eq!(chats.len(), 1, "POST /chats answers the existing one-on-one chat");
    assert_eq!(chats[0].1, vec!["alice@contoso.com".to_string(), "bot@contoso.com".to_string()]);
    let messages = fake.chat_messages();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.chat_id == chats[0].0 && m.content_type == "html"));
    assert_eq!(messages[0].id, first);
    assert_eq!(messages[0].content, "<p>Your report is ready</p>");
    assert_eq!(messages[1].content, "<b>thanks</b>");
}
