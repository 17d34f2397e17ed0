//! Limits, statuses, charsets and `read` through the real client against loopback servers.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Reply, Server, chunked, loopback_policy, ok, status};
use web::{SafeClient, WebError, WebPolicy};

fn client_with(policy: WebPolicy) -> SafeClient {
    SafeClient::new(policy).unwrap()
}

#[tokio::test]
async fn body_over_the_limit_with_content_length_is_too_large() {
    let body = vec![b'a'; 5000];
    let server = Server::start(move |_| ok("text/plain", &body)).await;
    let client = client_with(WebPolicy { max_bytes: 1000, ..loopback_policy() });
    assert_eq!(client.fetch(&server.url("/")).await.unwrap_err(), WebError::TooLarge { limit: 1000 });
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_too_large() {
    let server = Server::start(|_| chunked(5000)).await;
    let client = client_with(WebPolicy { max_bytes: 1000, ..loopback_policy() });
    assert_eq!(client.fetch(&server.url("/")).await.unwrap_err(), WebError::TooLarge { limit: 1000 });
}

#[tokio::test]
async fn endless_body_is_cut_off_at_the_limit() {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned();
    let server = Server::start(move |_| Reply::Endless(head.clone())).await;
    let client = client_with(WebPolicy { max_bytes: 64 * 1024, ..loopback_policy() });
    assert_eq!(client.fetch(&server.url("/")).await.unwrap_err(), WebError::TooLarge { limit: 64 * 1024 });
}

#[tokio::test]
async fn body_at_the_limit_is_accepted() {
    let server =
        Server::start(|path| if path == "/cl" { ok("text/plain", &[b'a'; 1000]) } else { chunked(1000) }).await;
    let client = client_with(WebPolicy { max_bytes: 1000, ..loopback_policy() });
    assert_eq!(client.fetch(&server.url("/cl")).await.unwrap().bytes.len(), 1000);
    assert_eq!(client.fetch(&server.url("/chunked")).await.unwrap().bytes.len(), 1000);
}

#[tokio::test]
async fn silent_server_times_out() {
    let server = Server::start(|_| Reply::Stall).await;
    let client = client_with(WebPolicy { timeout: Duration::from_millis(500), ..loopback_policy() });
    let started = Instant::now();
    assert_eq!(client.fetch(&server.url("/")).await.unwrap_err(), WebError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn stalled_body_times_out() {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly part".to_owned();
    let server = Server::start(move |_| Reply::StallBody(head.clone())).await;
    let client = client_with(WebPolicy { timeout: Duration::from_millis(500), ..loopback_policy() });
    let started = Instant::now();
    assert_eq!(client.fetch(&server.url("/")).await.unwrap_err(), WebError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn error_statuses_are_errors() {
    let server = Server::start(|path| match path {
        "/missing" => status(404),
        "/forbidden" => status(403),
        "/broken" => status(500),
        _ => status(503),
    })
    .await;
    let client = client_with(loopback_policy());
    for (path, code) in [("/missing", 404), ("/forbidden", 403), ("/broken", 500), ("/busy", 503)] {
        let err = client.fetch(&server.url(path)).await.unwrap_err();
        assert_eq!(err, WebError::Status { status: code });
        assert!(err.to_string().contains(&code.to_string()));
    }
}

#[tokio::test]
async fn refused_connection_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = client_with(loopback_policy());
    assert!(matches!(client.fetch(&format!("http://127.0.0.1:{port}/")).await, Err(WebError::Transport(_))));
}

#[tokio::test]
async fn sends_the_policy_user_agent_and_no_referer() {
    let server =
        Server::start(|path| if path == "/start" { common::redirect("/end") } else { ok("text/plain", b"ok") }).await;
    let client = client_with(loopback_policy());
    client.fetch(&server.url("/start")).await.unwrap();
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    for head in &requests {
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("user-agent: mezzofyassistant/1.0 (+https://mezzofy.com)"), "{head}");
        assert!(!lower.contains("referer:"), "{head}");
    }
}

#[tokio::test]
async fn gbk_and_big5_pages_are_decoded() {
    // "中文网页" in GBK and "繁體中文" in Big5.
    let (gbk, _, _) =
        encoding_rs::GBK.encode("<html><head><title>中文网页</title></head><body><p>欢迎光临</p></body></html>");
    let gbk = gbk.into_owned();
    let (big5, _, _) = encoding_rs::BIG5.encode(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=big5\"><title>繁體中文</title></head>\
         <body><p>歡迎光臨</p></body></html>",
    );
    let big5 = big5.into_owned();
    let server = Server::start(move |path| match path {
        "/gbk" => ok("text/html; charset=GB2312", &gbk),
        _ => ok("text/html", &big5),
    })
    .await;
    let client = client_with(loopback_policy());

    let page = client.fetch(&server.url("/gbk")).await.unwrap();
    assert_eq!(page.charset.as_deref(), Some("GBK"));
    assert_eq!(page.content_type.as_deref(), Some("text/html"));
    assert!(page.html);
    assert!(page.text.as_deref().unwrap().contains("中文网页"));

    let (page, extracted) = client.read(&server.url("/big5")).await.unwrap();
    assert_eq!(page.charset.as_deref(), Some("Big5"));
    assert_eq!(extracted.title.as_deref(), Some("繁體中文"));
    assert_eq!(extracted.text, "歡迎光臨");
}

#[tokio::test]
async fn read_extracts_html_and_text_and_refuses_binary() {
    let server = Server::start(|path| match path {
        "/page" => ok(
            "text/html; charset=utf-8",
            b"<html><head><title>Acme</title></head><body><nav><a href=\"/about\">About</a></nav>\
              <main><h1>Welcome</h1><p>Call +65 6123 4567.</p></main></body></html>",
        ),
        "/notes.txt" => ok("text/plain", b"Notes\n\nWrite to ops@acme.example"),
        "/untyped" => {
            let body = "<!doctype html><p>Hi there";
            Reply::Raw(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes())
        }
        _ => ok("image/png", b"\x89PNG\r\n\x1a\n\0\0\0"),
    })
    .await;
    let client = client_with(loopback_policy());

    let (page, ex) = client.read(&server.url("/page")).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(ex.title.as_deref(), Some("Acme"));
    assert_eq!(ex.text, "Welcome\n\nCall +65 6123 4567.");
    assert_eq!(ex.phones, ["+65 6123 4567"]);
    assert_eq!(ex.links.len(), 1);
    assert_eq!(ex.links[0].url, server.url("/about"));

    let (page, ex) = client.read(&server.url("/notes.txt")).await.unwrap();
    assert!(!page.html);
    assert_eq!(ex.text, "Notes\n\nWrite to ops@acme.example");
    assert_eq!(ex.emails, ["ops@acme.example"]);

    let (page, ex) = client.read(&server.url("/untyped")).await.unwrap();
    assert_eq!(page.content_type, None);
    assert!(page.html);
    assert_eq!(ex.text, "Hi there");

    let err = client.read(&server.url("/logo.png")).await.unwrap_err();
    assert_eq!(err, WebError::NotText { content_type: "image/png".into() });
    let page = client.fetch(&server.url("/logo.png")).await.unwrap();
    assert_eq!(page.text, None);
    assert_eq!(page.bytes.len(), 11);
}

#[test]
fn errors_read_well() {
    let blocked = WebError::Blocked { host: "intranet.local".into(), addr: "10.0.0.1".parse().unwrap() };
    assert_eq!(
        blocked.to_string(),
        "intranet.local points to 10.0.0.1, a private or reserved network address, which is not fetched"
    );
    assert_eq!(WebError::TooLarge { limit: 5 }.to_string(), "the page is larger than the 5-byte limit");
    assert_eq!(
        WebError::SchemeNotAllowed { scheme: "ftp".into() }.to_string(),
        "only http and https addresses can be fetched, not ftp:"
    );
    let policy = WebPolicy::default();
    assert_eq!(policy.timeout, Duration::from_secs(15));
    assert_eq!(policy.max_bytes, 5 * 1024 * 1024);
    assert_eq!(policy.max_redirects, 5);
    assert_eq!(policy.user_agent, "MezzofyAssistant/1.0 (+https://mezzofy.com)");
    assert!(policy.allow.is_empty());
}
