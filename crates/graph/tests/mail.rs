//! Outlook mail against the fake.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use graph::{
    Attachment, GraphClient, GraphError, OutgoingMail, UPLOAD_CHUNK_BYTES,
    fake::{FakeGraph, NewInboxMessage},
};

const SENDER: &str = "sales+reports@contoso.com";

async fn setup() -> (FakeGraph, GraphClient) {
    let fake = FakeGraph::start().await;
    let client = GraphClient::new(fake.config()).unwrap();
    (fake, client)
}

/// Deterministic bytes covering every byte value (so base64 and chunking mistakes show).
fn bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn mail(attachments: Vec<Attachment>) -> OutgoingMail {
    OutgoingMail {
        subject: "Q1 report — final".into(),
        html: "<h1>Report</h1><p>Numbers &amp; charts</p>".into(),
        to: vec!["ceo@contoso.com".into(), "cfo@contoso.com".into()],
        cc: vec!["team@contoso.com".into()],
        bcc: vec!["archive@contoso.com".into()],
        attachments,
        save_to_sent: false,
    }
}

#[tokio::test]
async fn send_mail_delivers_recipients_html_and_attachment_intact() {
    let (fake, client) = setup().await;
    let pdf = bytes(50_000, 1);
    let out = mail(vec![Attachment {
        name: "report.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: pdf.clone(),
    }]);
    client.send_mail(SENDER, &out).await.unwrap();

    let sent = fake.sent_mails();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.user, SENDER);
    assert_eq!(m.subject, out.subject);
    assert_eq!((m.body_content_type.as_str(), m.body.as_str()), ("HTML", out.html.as_str()));
    assert_eq!(m.to, out.to);
    assert_eq!(m.cc, out.cc);
    assert_eq!(m.bcc, out.bcc);
    assert!(!m.save_to_sent);
    assert!(!m.via_draft);
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].name, "report.pdf");
    assert_eq!(m.attachments[0].content_type, "application/pdf");
    assert!(m.attachments[0].bytes == pdf, "attachment bytes differ");
    // The '+' in the mailbox is percent-encoded in the path.
    assert_eq!(fake.graph_calls("POST", "/sendMail")[0].path, "/v1.0/users/sales%2Breports@contoso.com/sendMail");
}

#[tokio::test]
async fn a_mail_without_recipients_is_refused() {
    let (fake, client) = setup().await;
    let mut out = mail(Vec::new());
    out.to.clear();
    out.cc.clear();
    out.bcc.clear();
    let err = client.send_mail(SENDER, &out).await.unwrap_err();
    assert!(matches!(&err, GraphError::Api { status: 400, code, .. } if code == "ErrorInvalidRecipients"), "{err:?}");
    assert!(!err.is_retryable());
    assert!(fake.sent_mails().is_empty());
}

#[tokio::test]
async fn a_5_mb_attachment_goes_through_an_upload_session() {
    let (fake, client) = setup().await;
    let big = bytes(5 * 1024 * 1024, 2);
    let small = bytes(1000, 3);
    let out = mail(vec![
        Attachment { name: "deck.pptx".into(), content_type: "application/octet-stream".into(), bytes: big.clone() },
        Attachment { name: "notes.txt".into(), content_type: "text/plain".into(), bytes: small.clone() },
    ]);
    client.send_mail(SENDER, &out).await.unwrap();

    let sent = fake.sent_mails();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert!(m.via_draft, "a 5 MB mail cannot go through sendMail");
    assert_eq!((m.to.clone(), m.cc.clone(), m.bcc.clone()), (out.to.clone(), out.cc.clone(), out.bcc.clone()));
    assert_eq!(m.attachments.len(), 2);
    let deck = m.attachments.iter().find(|a| a.name == "deck.pptx").unwrap();
    assert!(deck.via_upload_session);
    assert!(deck.bytes == big, "uploaded bytes differ");
    let notes = m.attachments.iter().find(|a| a.name == "notes.txt").unwrap();
    assert!(!notes.via_upload_session && notes.bytes == small);
    assert!(fake.drafts().is_empty(), "the draft was sent");
    assert!(fake.graph_calls("POST", "/sendMail").is_empty());

    // The chunks: contiguous, 320 KiB multiples, no Authorization header on the upload URL.
    let puts: Vec<_> = fake.requests().into_iter().filter(|r| r.method == "PUT").collect();
    assert_eq!(puts.len(), big.len().div_ceil(UPLOAD_CHUNK_BYTES));
    assert!(puts.iter().all(|p| p.authorization.is_none()));
    assert_eq!(
        puts[0].content_range.as_deref(),
        Some(format!("bytes 0-{}/{}", UPLOAD_CHUNK_BYTES - 1, big.len()).as_str())
    );
    assert_eq!(puts.iter().map(|p| p.status).collect::<Vec<_>>(), vec![200, 201]);
    // Every Graph request stayed under Graph's 4 MB limit.
    assert!(fake.requests().iter().all(|r| r.body_len <= 4 * 1024 * 1024 && r.status != 413));
}

#[tokio::test]
async fn inbox_follows_next_links_until_top_is_reached() {
    let (fake, client) = setup().await;
    let user = "o'brien@contoso.com";
    fake.set_page_size(3);
    let base = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
    // Inserted out of order; message i arrives at base + i hours.
    for i in [4, 0, 7, 2, 6, 1, 5, 3] {
        fake.add_inbox_message(
            user,
            NewInboxMessage {
                from: format!("sender{i}@example.com"),
                from_name: format!("Sender {i}"),
                subject: format!("message {i}"),
                preview: format!("preview {i}"),
                received_at: base + chrono::TimeDelta::hours(i),
                is_read: i % 2 == 0,
            },
        );
    }
    fake.add_inbox_message(
        "someone.else@contoso.com",
        NewInboxMessage {
            from: "x@example.com".into(),
            from_name: "X".into(),
            subject: "not yours".into(),
            preview: String::new(),
            received_at: base,
            is_read: false,
        },
    );

    let inbox = client.list_inbox(user, 7).await.unwrap();
    let subjects: Vec<&str> = inbox.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["message 7", "message 6", "message 5", "message 4", "message 3", "message 2", "message 1"]);
    assert_eq!(fake.graph_calls("GET", "/inbox/messages").len(), 3, "pages of 3: 3 + 3 + 1");
    let first = &inbox[0];
    assert_eq!(first.from.as_deref(), Some("sender7@example.com"));
    assert_eq!(first.from_name.as_deref(), Some("Sender 7"));
    assert_eq!(first.received_at, base + chrono::TimeDelta::hours(7));
    assert_eq!(first.preview, "preview 7");
    assert!(!first.is_read && inbox[1].is_read);

    // Asking for more than there is ends when the pages do.
    assert_eq!(client.list_inbox(user, 50).await.unwrap().len(), 8);
}

#[tokio::test]
async fn drafts_and_replies() {
    let (fake, client) = setup().await;
    let note = bytes(10, 4);
    let out = mail(vec![Attachment {
        name: "a.bin".into(),
        content_type: "application/octet-stream".into(),
        bytes: note.clone(),
    }]);
    let id = client.create_draft(SENDER, &out).await.unwrap();
    let drafts = fake.drafts();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].id, id);
    assert_eq!(drafts[0].to, out.to);
    assert_eq!(drafts[0].attachments[0].bytes, note);
    assert!(fake.sent_mails().is_empty(), "a draft is not sent");

    let incoming = fake.add_inbox_message(
        SENDER,
        NewInboxMessage {
            from: "client@example.com".into(),
            from_name: "Client".into(),
            subject: "Question".into(),
            preview: "?".into(),
            received_at: Utc::now(),
            is_read: false,
        },
    );
    client.reply(SENDER, &incoming, "<p>Thanks, on it.</p>", true).await.unwrap();
    client.reply(SENDER, &incoming, "<p>Just you.</p>", false).await.unwrap();
    let replies = fake.replies();
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].message_id, incoming);
    assert_eq!(replies[0].comment, "<p>Thanks, on it.</p>");
    assert!(replies[0].reply_all && !replies[1].reply_all);
    assert_eq!(fake.graph_calls("POST", "/replyAll").len(), 1);

    let err = client.reply(SENDER, "AAMkAGnope=", "<p>x</p>", false).await.unwrap_err();
    assert!(matches!(&err, GraphError::Api { status: 404, code, .. } if code == "ErrorItemNotFound"), "{err:?}");
}
