//! The SSRF protections, through the real client against loopback servers.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;

use common::{Reply, Server, ip, loopback_policy, ok, redirect};
use web::{SafeClient, WebError, WebPolicy};

fn default_client() -> SafeClient {
    SafeClient::new(WebPolicy::default()).unwrap()
}

async fn hello_server() -> Server {
    Server::start(|_| ok("text/plain", b"hello")).await
}

fn assert_blocked(result: Result<web::Page, WebError>, want: &str, url: &str) {
    match result {
        Err(WebError::Blocked { addr, .. }) => assert_eq!(addr, ip(want), "{url}"),
        other => panic!("{url}: expected Blocked({want}), got {other:?}"),
    }
}

#[tokio::test]
async fn loopback_literals_are_blocked_before_sending() {
    let server = hello_server().await;
    let client = default_client();
    let p = server.port();
    for (url, addr) in [
        (format!("http://127.0.0.1:{p}/"), "127.0.0.1"),
        (format!("http://[::1]:{p}/"), "::1"),
        (format!("http://[::ffff:127.0.0.1]:{p}/"), "::ffff:127.0.0.1"),
        (format!("http://[::ffff:7f00:1]:{p}/"), "::ffff:127.0.0.1"),
        (format!("http://0.0.0.0:{p}/"), "0.0.0.0"),
        (format!("http://[::]:{p}/"), "::"),
    ] {
        assert_blocked(client.fetch(&url).await, addr, &url);
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn private_and_reserved_literals_are_blocked() {
    let client = default_client();
    for (url, addr) in [
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://172.16.5.4:8080/", "172.16.5.4"),
        ("https://192.168.1.1/admin", "192.168.1.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://100.64.0.1/", "100.64.0.1"),
        ("http://198.18.0.1/", "198.18.0.1"),
        ("http://224.0.0.1/", "224.0.0.1"),
        ("http://255.255.255.255/", "255.255.255.255"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254"),
        ("http://[fe80::1]/", "fe80::1"),
        ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254"),
        ("http://[64:ff9b::a00:1]/", "64:ff9b::10.0.0.1"),
        ("http://[2002:a00:1::1]/", "2002:a00:1::1"),
    ] {
        assert_blocked(client.fetch(url).await, addr, url);
    }
}

#[tokio::test]
async fn decimal_octal_and_hex_ipv4_forms_are_normalized_and_blocked() {
    let server = hello_server().await;
    let p = server.port();
    let forms = [
        format!("http://2130706433:{p}/"),
        format!("http://0177.0.0.1:{p}/"),
        format!("http://0x7f.1:{p}/"),
        format!("http://0x7f000001:{p}/"),
        format!("http://127.1:{p}/"),
        format!("http://017700000001:{p}/"),
    ];
    let client = default_client();
    for url in &forms {
        assert_blocked(client.fetch(url).await, "127.0.0.1", url);
    }
    assert_eq!(server.hits(), 0);
    // The same forms really are 127.0.0.1: allow-listed, they reach the server.
    let allowed = SafeClient::new(loopback_policy()).unwrap();
    for url in &forms {
        let page = allowed.fetch(url).await.unwrap();
        assert_eq!(page.text.as_deref(), Some("hello"), "{url}");
        assert_eq!(page.url.host_str(), Some("127.0.0.1"));
    }
    assert_eq!(server.hits(), forms.len());
}

#[tokio::test]
async fn localhost_name_is_blocked_by_the_resolver() {
    let server = hello_server().await;
    let client = default_client();
    for url in [format!("http://localhost:{}/", server.port()), format!("http://LocalHost:{}/x", server.port())] {
        match client.fetch(&url).await {
            Err(WebError::Blocked { host, addr }) => {
                assert_eq!(host, "localhost");
                assert!(addr.is_loopback(), "{addr}");
            }
            other => panic!("{url}: expected Blocked, got {other:?}"),
        }
    }
    assert_eq!(server.hits(), 0);
}

fn overrides(entries: &[(&str, &[&str])]) -> HashMap<String, Vec<std::net::IpAddr>> {
    entries.iter().map(|(name, addrs)| (name.to_string(), addrs.iter().map(|a| ip(a)).collect())).collect()
}

#[tokio::test]
async fn public_looking_names_resolving_to_private_addresses_are_refused() {
    let client = SafeClient::with_resolver_override(
        WebPolicy::default(),
        overrides(&[
            ("intranet.example.com", &["10.0.0.1"]),
            ("metadata.example.com", &["169.254.169.254", "fd00:ec2::254"]),
            ("mapped.example.com", &["::ffff:192.168.0.10"]),
        ]),
    )
    .unwrap();
    assert_eq!(
        client.fetch("http://intranet.example.com/").await.unwrap_err(),
        WebError::Blocked { host: "intranet.example.com".into(), addr: ip("10.0.0.1") }
    );
    assert_blocked(client.fetch("https://metadata.example.com/x").await, "169.254.169.254", "metadata");
    assert_blocked(client.fetch("http://mapped.example.com/").await, "::ffff:192.168.0.10", "mapped");
}

#[tokio::test]
async fn dns_rebinding_mixed_answer_uses_only_the_permitted_address() {
    // A "public" name answering with a blocked address first and an allowed one second.
    // 127.0.0.2 stands for the private address: it is blocked (only 127.0.0.1/32 is
    // allow-listed) and a trap server listens there on the same port.
    let real = Server::start(|_| ok("text/plain", b"real")).await;
    let trap_addr = SocketAddr::new(ip("127.0.0.2"), real.port());
    let trap = Server::start_on(trap_addr, |_| ok("text/plain", b"trap")).await;
    let client = SafeClient::with_resolver_override(
        loopback_policy(),
        overrides(&[("rebind.example.com", &["127.0.0.2", "127.0.0.1"]), ("only-trap.example.com", &["127.0.0.2"])]),
    )
    .unwrap();
    for _ in 0..3 {
        let page = client.fetch(&format!("http://rebind.example.com:{}/", real.port())).await.unwrap();
        assert_eq!(page.text.as_deref(), Some("real"));
    }
    assert_blocked(
        client.fetch(&format!("http://only-trap.example.com:{}/", real.port())).await,
        "127.0.0.2",
        "only-trap",
    );
    assert_eq!(trap.hits(), 0);
    assert_eq!(real.hits(), 3);
}

#[tokio::test]
async fn redirects_to_blocked_addresses_are_refused() {
    let trap = Server::start_on("127.0.0.2:0".parse().unwrap(), |_| ok("text/plain", b"trap")).await;
    let trap_port = trap.port();
    let server = Server::start(move |path| match path {
        "/metadata" => redirect("http://169.254.169.254/latest/meta-data/iam/"),
        "/private" => redirect("http://10.0.0.1/"),
        "/decimal" => redirect(&format!("http://2130706434:{trap_port}/")),
        "/v6" => redirect(&format!("http://[::1]:{trap_port}/")),
        "/file" => redirect("file:///etc/passwd"),
        "/ftp" => redirect("ftp://example.com/x"),
        "/userinfo" => redirect("http://admin:secret@example.com/"),
        _ => ok("text/plain", b"fine"),
    })
    .await;
    let client = SafeClient::new(loopback_policy()).unwrap();
    assert_eq!(
        client.fetch(&server.url("/metadata")).await.unwrap_err(),
        WebError::Blocked { host: "169.254.169.254".into(), addr: ip("169.254.169.254") }
    );
    assert_blocked(client.fetch(&server.url("/private")).await, "10.0.0.1", "/private");
    assert_blocked(client.fetch(&server.url("/decimal")).await, "127.0.0.2", "/decimal");
    assert_blocked(client.fetch(&server.url("/v6")).await, "::1", "/v6");
    assert_eq!(
        client.fetch(&server.url("/file")).await.unwrap_err(),
        WebError::SchemeNotAllowed { scheme: "file".into() }
    );
    assert_eq!(
        client.fetch(&server.url("/ftp")).await.unwrap_err(),
        WebError::SchemeNotAllowed { scheme: "ftp".into() }
    );
    assert!(matches!(client.fetch(&server.url("/userinfo")).await, Err(WebError::InvalidUrl(_))));
    assert_eq!(trap.hits(), 0);
}

#[tokio::test]
async fn redirects_resolving_to_blocked_names_are_refused() {
    let server = Server::start(|path| match path {
        "/to-name" => redirect("http://internal.example.com/"),
        _ => ok("text/plain", b"fine"),
    })
    .await;
    let client =
        SafeClient::with_resolver_override(loopback_policy(), overrides(&[("internal.example.com", &["192.168.7.7"])]))
            .unwrap();
    assert_blocked(client.fetch(&server.url("/to-name")).await, "192.168.7.7", "/to-name");
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit() {
    // /hop/N redirects to /hop/N-1; /hop/0 answers.
    let server = Server::start(|path| {
        let n: usize = path.trim_start_matches("/hop/").parse().unwrap_or(0);
        if n == 0 { ok("text/plain", b"arrived") } else { redirect(&format!("/hop/{}", n - 1)) }
    })
    .await;
    let client = SafeClient::new(loopback_policy()).unwrap();
    let page = client.fetch(&server.url("/hop/5")).await.unwrap();
    assert_eq!(page.text.as_deref(), Some("arrived"));
    assert_eq!(page.url.path(), "/hop/0");
    assert_eq!(client.fetch(&server.url("/hop/6")).await.unwrap_err(), WebError::TooManyRedirects { limit: 5 });

    let strict = SafeClient::new(WebPolicy { max_redirects: 1, ..loopback_policy() }).unwrap();
    assert!(strict.fetch(&server.url("/hop/1")).await.is_ok());
    assert_eq!(strict.fetch(&server.url("/hop/2")).await.unwrap_err(), WebError::TooManyRedirects { limit: 1 });
}

#[tokio::test]
async fn redirect_loop_is_too_many_redirects() {
    let server = Server::start(|path| if path == "/a" { redirect("/b") } else { redirect("/a") }).await;
    let client = SafeClient::new(loopback_policy()).unwrap();
    assert_eq!(client.fetch(&server.url("/a")).await.unwrap_err(), WebError::TooManyRedirects { limit: 5 });
    assert_eq!(server.hits(), 6);
}

#[tokio::test]
async fn only_http_and_https() {
    let client = default_client();
    for (url, scheme) in [
        ("ftp://example.com/file.txt", "ftp"),
        ("file:///etc/passwd", "file"),
        ("gopher://example.com/", "gopher"),
        ("data:text/plain,hello", "data"),
        ("javascript:alert(1)", "javascript"),
        ("ws://example.com/", "ws"),
    ] {
        assert_eq!(client.fetch(url).await.unwrap_err(), WebError::SchemeNotAllowed { scheme: scheme.into() }, "{url}");
    }
}

#[tokio::test]
async fn userinfo_and_malformed_urls_are_refused() {
    let server = hello_server().await;
    let client = SafeClient::new(loopback_policy()).unwrap();
    for url in [
        format!("http://user:pass@127.0.0.1:{}/", server.port()),
        format!("http://user@127.0.0.1:{}/", server.port()),
        "https://user:pass@example.com/".to_owned(),
        "not a url".to_owned(),
        "http://".to_owned(),
        "/relative/path".to_owned(),
    ] {
        assert!(matches!(client.fetch(&url).await, Err(WebError::InvalidUrl(_))), "{url}");
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn allow_list_is_exact() {
    // 127.0.0.1/32 is open; the rest of 127/8 and ::1 stay closed.
    let server = Server::start_on("127.0.0.3:0".parse().unwrap(), |_| ok("text/plain", b"x")).await;
    let client = SafeClient::new(loopback_policy()).unwrap();
    assert_blocked(client.fetch(&server.url("/")).await, "127.0.0.3", "127.0.0.3");
    let wider =
        SafeClient::new(WebPolicy { allow: vec!["127.0.0.0/8".parse().unwrap()], ..WebPolicy::default() }).unwrap();
    assert_eq!(wider.fetch(&server.url("/")).await.unwrap().text.as_deref(), Some("x"));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn unresolvable_names_are_transport_errors() {
    let client =
        SafeClient::with_resolver_override(WebPolicy::default(), overrides(&[("nowhere.example.com", &[])])).unwrap();
    match client.fetch("http://nowhere.example.com/").await {
        Err(WebError::Transport(msg)) => assert!(msg.contains("nowhere.example.com"), "{msg}"),
        other => panic!("expected Transport, got {other:?}"),
    }
}

#[tokio::test]
async fn no_content_is_an_empty_page() {
    let server = Server::start(|_| Reply::Raw(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_vec())).await;
    let client = SafeClient::new(loopback_policy()).unwrap();
    let page = client.fetch(&server.url("/")).await.unwrap();
    assert_eq!(page.status, 204);
    assert!(page.bytes.is_empty());
}
