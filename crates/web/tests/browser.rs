//! Headless Chromium through the guard proxy: JavaScript rendering, screenshots and the
//! SSRF matrix with the default (production) policy.
//!
//! The page server lives on 127.0.0.2, the only network the rendering policy opens; the
//! "secret" servers live on 127.0.0.1 (and ::1), which stay blocked. Tests that need
//! Chromium are skipped (with a note) when none is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Reply, Server, ip, redirect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use web::{Browser, GuardProxy, ProxyLimits, RenderOptions, SafeClient, WebError, WebPolicy, extract};

const SECRET: &str = "TOPSECRET-7d1f";
const JS_TEXT: &str = "Rendered by JavaScript 4242";

fn browser() -> Option<Browser> {
    let found = Browser::detect(None);
    if found.is_none() {
        eprintln!("no Chromium installed: skipping");
    }
    found
}

/// Production policy, plus 127.0.0.2/32 so Chromium can reach the test page.
fn page_policy() -> WebPolicy {
    WebPolicy { allow: vec!["127.0.0.2/32".parse().unwrap()], ..WebPolicy::default() }
}

fn options() -> RenderOptions {
    RenderOptions { timeout: Duration::from_secs(45), ..RenderOptions::default() }
}

/// 200 with a body any origin may read (so a leaked secret would really show up in the DOM).
fn open_reply(content_type: &str, body: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nAccess-Control-Allow-Origin: *\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

struct Secrets {
    v4: Server,
    v6: Option<Server>,
    udp_packets: Arc<AtomicUsize>,
    udp_port: u16,
}

impl Secrets {
    async fn start() -> Secrets {
        let v4 = Server::start(|_| open_reply("text/plain", SECRET)).await;
        let v6 = if std::net::TcpListener::bind("[::1]:0").is_ok() {
            Some(Server::start_on("[::1]:0".parse().unwrap(), |_| open_reply("text/plain", SECRET)).await)
        } else {
            None
        };
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let udp_port = udp.local_addr().unwrap().port();
        let udp_packets = Arc::new(AtomicUsize::new(0));
        let counter = udp_packets.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while udp.recv_from(&mut buf).await.is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        Secrets { v4, v6, udp_packets, udp_port }
    }

    fn port(&self) -> u16 {
        self.v4.port()
    }

    fn v6_port(&self) -> u16 {
        self.v6.as_ref().map_or(self.port(), Server::port)
    }

    fn hits(&self) -> usize {
        self.v4.hits() + self.v6.as_ref().map_or(0, Server::hits)
    }
}

fn js_page() -> String {
    // The text is assembled by the script, so it is nowhere in the HTML as served.
    String::from(
        "<!doctype html><html><head><title>JS page</title></head><body><p>Loading…</p>\
         <script>const n = 4000 + 242; document.body.innerHTML = '<h1>Rendered by ' + 'JavaScript ' + n + '</h1>' +
         '<p>Call +1 415 555 ' + '0100 or sales' + '@example.com</p>';</script>\
         </body></html>",
    )
}

/// A page that tries every way it can think of to reach the secret servers, and puts
/// whatever it gets into the DOM. `/data` on its own server is the positive control.
fn attack_page(s: &Secrets) -> String {
    let p = s.port();
    let p6 = s.v6_port();
    let targets = [
        format!("http://127.0.0.1:{p}/secret"),
        format!("http://169.254.169.254:{p}/latest/meta-data/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://[::1]:{p6}/secret"),
        format!("http://2130706433:{p}/secret"),
        format!("http://0x7f.1:{p}/secret"),
        format!("http://0177.0.0.1:{p}/secret"),
        format!("http://[::ffff:127.0.0.1]:{p}/secret"),
        format!("http://localhost:{p}/secret"),
        format!("http://secret.test:{p}/secret"),
        format!("https://127.0.0.1:{p}/secret"),
    ];
    let list = targets.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(",");
    let frames = targets.iter().map(|t| format!("<iframe src=\"{t}\"></iframe><img src=\"{t}\">")).collect::<String>();
    let udp = s.udp_port;
    format!(
        "<!doctype html><html><body><div id=out>start</div>{frames}
<script>
const out = document.getElementById('out');
function add(t) {{ const d = document.createElement('pre'); d.textContent = t; out.appendChild(d); }}
fetch('/data').then(r => r.text()).then(add, e => add('own failed ' + e));
for (const u of [{list}]) {{
  fetch(u).then(r => r.text()).then(t => add('GOT ' + u + ' ' + t), e => add('refused ' + u));
  try {{ const x = new XMLHttpRequest(); x.open('GET', u, false); x.send(); add('XHR ' + x.responseText); }} catch (e) {{}}
}}
try {{ const w = new WebSocket('ws://127.0.0.1:{p}/ws'); w.onmessage = m => add('WS ' + m.data); }} catch (e) {{}}
for (const w of ['https://127.0.0.1:{udp}/wt', 'https://localhost:{udp}/wt', 'https://secret.test:{udp}/wt']) {{
  try {{ const t = new WebTransport(w); t.ready.then(() => add('WT open ' + w), e => add('WT refused ' + w)); }} catch (e) {{ add('no WT ' + e); }}
}}
try {{ navigator.sendBeacon('http://127.0.0.1:{p}/beacon', 'x'); }} catch (e) {{}}
try {{
  const pc = new RTCPeerConnection({{ iceServers: [{{ urls: 'stun:127.0.0.1:{udp}' }}, {{ urls: 'turn:127.0.0.1:{udp}?transport=udp', username: 'u', credential: 'c' }}] }});
  pc.createDataChannel('x');
  pc.onicecandidate = e => {{ if (e.candidate) add('ICE ' + e.candidate.candidate); }};
  pc.createOffer().then(o => pc.setLocalDescription(o));
}} catch (e) {{ add('no webrtc ' + e); }}
</script></body></html>"
    )
}

async fn page_server(secrets: &Secrets) -> Server {
    let attack = attack_page(secrets);
    let p = secrets.port();
    Server::start_on("127.0.0.2:0".parse().unwrap(), move |path| match path.split('?').next().unwrap_or_default() {
        "/js" => open_reply("text/html; charset=utf-8", &js_page()),
        "/attack" => open_reply("text/html; charset=utf-8", &attack),
        "/data" => open_reply("text/plain", "OWN-DATA-OK"),
        "/redirect" => redirect(&format!("http://127.0.0.1:{p}/secret")),
        "/redirect-decimal" => redirect(&format!("http://2130706433:{p}/secret")),
        "/redirect-name" => redirect(&format!("http://secret.test:{p}/secret")),
        "/jsnav" => open_reply(
            "text/html",
            &format!(
                "<html><body>navigating<script>location.href = 'http://127.0.0.1:{p}/secret';</script></body></html>"
            ),
        ),
        "/stall" => Reply::Stall,
        "/empty-error" => Reply::Raw(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()),
        _ => Reply::Raw(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno".to_vec()),
    })
    .await
}

fn overrides() -> HashMap<String, Vec<IpAddr>> {
    HashMap::from([("secret.test".to_owned(), vec![ip("127.0.0.1")]), ("page.test".to_owned(), vec![ip("127.0.0.2")])])
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn detect_with_a_missing_path_is_none() {
    assert!(Browser::detect(Some(PathBuf::from("/nonexistent"))).is_none());
    assert!(Browser::detect(Some(PathBuf::from("/nonexistent/chromium"))).is_none());
    let plain_file = std::env::temp_dir().join(format!("web-browser-test-{}", std::process::id()));
    std::fs::write(&plain_file, "not a program").unwrap();
    std::fs::set_permissions(&plain_file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    assert!(Browser::detect(Some(plain_file.clone())).is_none(), "not executable");
    std::fs::remove_file(plain_file).unwrap();
}

#[tokio::test]
async fn renders_javascript_text_and_takes_a_screenshot() {
    let Some(browser) = browser() else { return };
    let secrets = Secrets::start().await;
    let server = page_server(&secrets).await;
    let url = server.url("/js");

    // The plain client sees only what the server sent.
    let plain = SafeClient::new(page_policy()).unwrap().fetch(&url).await.unwrap();
    assert!(!plain.text.unwrap().contains(JS_TEXT));

    let started = Instant::now();
    let rendered = browser.render(&url, &page_policy(), &options()).await.unwrap();
    eprintln!("render took {:?} (reported {:?})", started.elapsed(), rendered.elapsed);
    assert!(rendered.html.contains(JS_TEXT), "{}", rendered.html);
    assert!(!rendered.html.contains("Loading…"));
    assert_eq!(rendered.url.as_str(), url);
    assert!(rendered.refused.is_empty(), "{:?}", rendered.refused);
    assert!(rendered.network_bytes > 0);
    assert!(!rendered.hit_byte_limit);

    let extracted = extract(&rendered.html, &rendered.url);
    assert_eq!(extracted.title.as_deref(), Some("JS page"));
    assert!(extracted.text.contains(JS_TEXT), "{}", extracted.text);
    assert_eq!(extracted.emails, vec!["sales@example.com".to_owned()]);
    assert_eq!(extracted.phones.len(), 1);

    let png = rendered.screenshot_png.expect("a screenshot");
    assert_eq!(png_size(&png), (1280, 1600));

    // Another size, no screenshot asked: none taken.
    let small = RenderOptions { window: (640, 480), ..options() };
    let rendered = browser.render(&url, &page_policy(), &small).await.unwrap();
    assert_eq!(png_size(rendered.screenshot_png.as_deref().unwrap()), (640, 480));
    let none = RenderOptions { screenshot: false, ..options() };
    let rendered = browser.render(&url, &page_policy(), &none).await.unwrap();
    assert!(rendered.screenshot_png.is_none());
    assert!(rendered.html.contains(JS_TEXT));
    assert_eq!(secrets.hits(), 0);
}

#[tokio::test]
async fn entry_urls_are_checked_before_chromium_starts() {
    // A path that would fail if it were ever started: every error must come earlier.
    let browser = Browser::detect(Some(PathBuf::from("/bin/false"))).unwrap();
    let secrets = Secrets::start().await;
    let page = page_server(&secrets).await;
    let p = secrets.port();
    let policy = WebPolicy::default();
    let opts = options();
    for (url, addr) in [
        (format!("http://127.0.0.1:{p}/"), "127.0.0.1"),
        (format!("http://2130706433:{p}/"), "127.0.0.1"),
        (format!("http://0x7f.1:{p}/"), "127.0.0.1"),
        (format!("http://[::1]:{p}/"), "::1"),
        ("http://169.254.169.254/latest/meta-data/".to_owned(), "169.254.169.254"),
        (page.url("/js"), "127.0.0.2"),
    ] {
        match browser.render(&url, &policy, &opts).await {
            Err(WebError::Blocked { addr: got, .. }) => assert_eq!(got, ip(addr), "{url}"),
            other => panic!("{url}: expected Blocked, got {other:?}"),
        }
    }
    match browser.render(&format!("http://localhost:{p}/"), &policy, &opts).await {
        Err(WebError::Blocked { addr, .. }) => assert!(addr.is_loopback()),
        other => panic!("localhost: expected Blocked, got {other:?}"),
    }
    let blocked =
        browser.render_with_resolver_override(&format!("http://secret.test:{p}/"), &policy, &opts, overrides()).await;
    assert!(matches!(blocked, Err(WebError::Blocked { .. })), "{blocked:?}");
    for (url, scheme) in [
        ("file:///etc/passwd", "file"),
        ("data:text/html,<script>alert(1)</script>", "data"),
        ("chrome://version", "chrome"),
        ("javascript:alert(1)", "javascript"),
        ("view-source:http://example.com/", "view-source"),
        ("about:blank", "about"),
        ("ftp://example.com/", "ftp"),
    ] {
        assert_eq!(
            browser.render(url, &policy, &opts).await.unwrap_err(),
            WebError::SchemeNotAllowed { scheme: scheme.to_owned() },
            "{url}"
        );
    }
    assert!(matches!(browser.render("http://u:p@example.com/", &policy, &opts).await, Err(WebError::InvalidUrl(_))));
    assert_eq!(secrets.hits(), 0);
    assert_eq!(page.hits(), 0);
}

#[tokio::test]
async fn page_scripts_cannot_reach_loopback_metadata_or_names_resolving_there() {
    let Some(browser) = browser() else { return };
    let secrets = Secrets::start().await;
    let server = page_server(&secrets).await;
    let rendered = browser
        .render_with_resolver_override(&server.url("/attack"), &page_policy(), &options(), overrides())
        .await
        .unwrap();
    // Positive control: the page's scripts ran and could fetch from their own (allowed) server.
    assert!(rendered.html.contains("OWN-DATA-OK"), "{}", rendered.html);
    assert!(!rendered.html.contains(SECRET), "{}", rendered.html);
    assert_eq!(secrets.hits(), 0, "a secret server was reached");
    assert_eq!(secrets.udp_packets.load(Ordering::SeqCst), 0, "WebRTC or WebTransport sent UDP to loopback");
    assert!(!rendered.html.contains("<pre>WT open"), "{}", rendered.html);
    assert!(!rendered.html.contains("<pre>ICE "), "WebRTC gathered UDP candidates: {}", rendered.html);

    // The attempts really went to the proxy and were refused there (not just dropped by Chromium).
    let p = secrets.port();
    let refused: Vec<&str> = rendered.refused.iter().map(|r| r.target.as_str()).collect();
    eprintln!("refused: {refused:?}");
    for expected in [
        format!("http://127.0.0.1:{p}/secret"),
        format!("http://169.254.169.254:{p}/latest/meta-data/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://[::1]:{}/secret", secrets.v6_port()),
        format!("http://localhost:{p}/secret"),
        format!("http://secret.test:{p}/secret"),
        format!("127.0.0.1:{p}"), // CONNECT: https and WebSocket
    ] {
        assert!(refused.contains(&expected.as_str()), "{expected} not refused by the proxy: {refused:?}");
    }
    for r in &rendered.refused {
        assert!(matches!(r.error, WebError::Blocked { .. }), "{r:?}");
    }
}

#[tokio::test]
async fn redirects_and_navigation_to_loopback_are_refused() {
    let Some(browser) = browser() else { return };
    let secrets = Secrets::start().await;
    let server = page_server(&secrets).await;
    let p = secrets.port();
    for path in ["/redirect", "/redirect-decimal"] {
        match browser.render(&server.url(path), &page_policy(), &options()).await {
            Err(WebError::Blocked { addr, host }) => {
                assert_eq!(addr, ip("127.0.0.1"), "{path}");
                assert_eq!(host, "127.0.0.1", "{path}");
            }
            other => panic!("{path}: expected Blocked, got {other:?}"),
        }
    }
    match browser
        .render_with_resolver_override(&server.url("/redirect-name"), &page_policy(), &options(), overrides())
        .await
    {
        Err(WebError::Blocked { addr, host }) => {
            assert_eq!(addr, ip("127.0.0.1"));
            assert_eq!(host, "secret.test");
        }
        other => panic!("/redirect-name: expected Blocked, got {other:?}"),
    }
    // A script navigating the page there: the navigation is refused; whatever the DOM is, no secret.
    let result = browser.render(&server.url("/jsnav"), &page_policy(), &options()).await;
    match &result {
        Ok(rendered) => {
            assert!(!rendered.html.contains(SECRET));
            assert!(rendered.refused.iter().any(|r| r.target == format!("http://127.0.0.1:{p}/secret")));
        }
        Err(e) => assert!(matches!(e, WebError::Blocked { .. }), "{e:?}"),
    }
    assert_eq!(secrets.hits(), 0);
}

#[tokio::test]
async fn http_errors_and_timeouts() {
    let Some(browser) = browser() else { return };
    let secrets = Secrets::start().await;
    let server = page_server(&secrets).await;
    // An error status with a body is a page like any other (Chromium shows it; the command
    // line does not report the status); an empty one makes the load fail.
    let rendered = browser.render(&server.url("/missing"), &page_policy(), &options()).await.unwrap();
    assert!(rendered.html.contains(">no<"), "{}", rendered.html);
    match browser.render(&server.url("/empty-error"), &page_policy(), &options()).await {
        Err(WebError::Transport(msg)) => assert!(msg.contains("ERR_HTTP_RESPONSE_CODE_FAILURE"), "{msg}"),
        other => panic!("500: expected Transport, got {other:?}"),
    }
    let quick = RenderOptions { timeout: Duration::from_secs(4), ..RenderOptions::default() };
    let started = Instant::now();
    let stall = server.url("/stall");
    assert_eq!(browser.render(&stall, &page_policy(), &quick).await.unwrap_err(), WebError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    assert_eq!(processes_with_arg(&stall), 0, "Chromium outlived the timeout");

    // Dropping the render future (the caller gave up) kills Chromium too.
    let stall = server.url("/stall?cancelled");
    let task = tokio::spawn({
        let browser = browser.clone();
        let stall = stall.clone();
        async move { browser.render(&stall, &page_policy(), &options()).await }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes_with_arg(&stall) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(processes_with_arg(&stall) > 0, "Chromium never started");
    task.abort();
    let _ = task.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(processes_with_arg(&stall), 0, "Chromium outlived the cancelled render");
}

/// Live processes whose command line contains `arg` (zombies have none).
fn processes_with_arg(arg: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmdline| cmdline.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
        .count()
}

// ---------------------------------------------------------------------------------------
// The proxy alone, spoken to directly.

/// Sends `request` to the proxy and returns everything it answers (until it closes).
async fn exchange(proxy: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn proxy_refuses_blocked_targets() {
    let secrets = Secrets::start().await;
    let page = page_server(&secrets).await;
    let proxy = GuardProxy::start_with_resolver_override(&WebPolicy::default(), ProxyLimits::default(), overrides())
        .await
        .unwrap();
    let p = secrets.port();
    let connect_targets = [
        format!("127.0.0.1:{p}"),
        format!("2130706433:{p}"),
        format!("0x7f.1:{p}"),
        format!("0177.0.0.1:{p}"),
        format!("127.1:{p}"),
        format!("[::1]:{}", secrets.v6_port()),
        format!("[::ffff:127.0.0.1]:{p}"),
        format!("localhost:{p}"),
        format!("LocalHost:{p}"),
        format!("secret.test:{p}"),
        "169.254.169.254:80".to_owned(),
        "169.254.169.254:443".to_owned(),
        "10.0.0.1:443".to_owned(),
        "[fd00:ec2::254]:443".to_owned(),
        format!("0.0.0.0:{p}"),
        format!("{}", page.addr), // 127.0.0.2: blocked under the default policy
    ];
    for target in &connect_targets {
        let answer = exchange(proxy.addr(), &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n")).await;
        assert!(answer.starts_with("HTTP/1.1 403 "), "CONNECT {target}: {answer}");
    }
    // Names the system resolver may or may not know: refused or unresolvable, never relayed.
    for target in [format!("localhost.:{p}"), format!("ip6-localhost:{p}"), format!("localhost.localdomain:{p}")] {
        let answer = exchange(proxy.addr(), &format!("CONNECT {target} HTTP/1.1\r\n\r\n")).await;
        assert!(
            answer.starts_with("HTTP/1.1 403 ") || answer.starts_with("HTTP/1.1 502 "),
            "CONNECT {target}: {answer}"
        );
    }
    let refused_before = proxy.refusals().len();
    let absolute = [
        format!("http://127.0.0.1:{p}/secret"),
        format!("http://2130706433:{p}/secret"),
        format!("http://[::1]:{}/secret", secrets.v6_port()),
        format!("http://localhost:{p}/secret"),
        format!("http://secret.test:{p}/secret"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ];
    for url in &absolute {
        let answer = exchange(proxy.addr(), &format!("GET {url} HTTP/1.1\r\nHost: x\r\n\r\n")).await;
        assert!(answer.starts_with("HTTP/1.1 403 "), "GET {url}: {answer}");
    }
    // Not a proxy request, a scheme other than http, a malformed CONNECT target.
    for (request, status) in [
        (format!("GET /secret HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\n\r\n"), "400"),
        (format!("GET ftp://127.0.0.1:{p}/ HTTP/1.1\r\nHost: x\r\n\r\n"), "403"),
        ("GET file:///etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(), "403"),
        (format!("CONNECT user@127.0.0.2:{} HTTP/1.1\r\n\r\n", page.port()), "400"),
        ("CONNECT example.com/x HTTP/1.1\r\n\r\n".to_owned(), "400"),
        ("garbage\r\n\r\n".to_owned(), "400"),
    ] {
        let answer = exchange(proxy.addr(), &request).await;
        assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{request:?}: {answer}");
    }
    assert_eq!(secrets.hits(), 0);
    assert_eq!(page.hits(), 0);
    // Two schemes and two malformed CONNECT targets besides the blocked addresses.
    assert_eq!(proxy.refusals().len(), refused_before + absolute.len() + 4);
    assert!(refused_before >= connect_targets.len());
    assert!(proxy.refusals().iter().all(|r| matches!(
        r.error,
        WebError::Blocked { .. } | WebError::SchemeNotAllowed { .. } | WebError::InvalidUrl(_)
    )));
}

#[tokio::test]
async fn proxy_relays_to_permitted_targets_one_request_per_connection() {
    let secrets = Secrets::start().await;
    let page = page_server(&secrets).await;
    let proxy = GuardProxy::start(&page_policy(), ProxyLimits::default()).await.unwrap();

    // Plain HTTP in absolute form: forwarded in origin form, answer closes the connection.
    let answer = exchange(
        proxy.addr(),
        &format!(
            "GET http://{}/data?x=1 HTTP/1.1\r\nHost: {}\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\n\r\n",
            page.addr, page.addr
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    assert!(answer.ends_with("OWN-DATA-OK"), "{answer}");
    let seen = page.requests.lock().unwrap()[0].clone();
    assert!(seen.starts_with("GET /data?x=1 HTTP/1.1\r\n"), "{seen}");
    assert!(seen.contains("\r\nConnection: close\r\n"), "{seen}");
    assert!(!seen.to_ascii_lowercase().contains("proxy-connection"), "{seen}");

    // CONNECT: a tunnel to the page server, then any bytes.
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    stream
        .write_all(format!("CONNECT {} HTTP/1.1\r\nHost: {}\r\n\r\n", page.addr, page.addr).as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 39];
    stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200 Connection established\r\n\r\n");
    stream.write_all(b"GET /data HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    assert!(String::from_utf8_lossy(&out).ends_with("OWN-DATA-OK"));

    // Through the resolver too: a name mapped to the allowed address.
    let named =
        GuardProxy::start_with_resolver_override(&page_policy(), ProxyLimits::default(), overrides()).await.unwrap();
    let answer = exchange(
        named.addr(),
        &format!("GET http://page.test:{}/data HTTP/1.1\r\nHost: page.test\r\n\r\n", page.port()),
    )
    .await;
    assert!(answer.ends_with("OWN-DATA-OK"), "{answer}");
    assert!(proxy.refusals().is_empty() && named.refusals().is_empty());
    assert_eq!(page.hits(), 3);
    assert_eq!(secrets.hits(), 0);
}

#[tokio::test]
async fn proxy_byte_limit_and_lifetime() {
    let big = "x".repeat(200_000);
    let server = Server::start_on("127.0.0.2:0".parse().unwrap(), move |path| match path {
        "/stall" => Reply::Stall,
        _ => open_reply("text/plain", &big),
    })
    .await;
    let limits = ProxyLimits { max_total_bytes: 50_000, ..ProxyLimits::default() };
    let proxy = GuardProxy::start(&page_policy(), limits).await.unwrap();
    let request = format!("GET http://{}/big HTTP/1.1\r\nHost: x\r\n\r\n", server.addr);
    let answer = exchange(proxy.addr(), &request).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"));
    assert!(answer.len() < 50_000, "{}", answer.len());
    assert!(proxy.hit_byte_limit());
    // Once over the limit, nothing more goes through.
    let answer = exchange(proxy.addr(), &request).await;
    assert!(answer.starts_with("HTTP/1.1 403 ") || answer.starts_with("HTTP/1.1 502 "), "{answer}");

    // After its lifetime the proxy cuts open connections.
    let limits = ProxyLimits { lifetime: Duration::from_millis(500), ..ProxyLimits::default() };
    let proxy = GuardProxy::start(&page_policy(), limits).await.unwrap();
    let started = Instant::now();
    let answer = exchange(proxy.addr(), &format!("GET http://{}/stall HTTP/1.1\r\nHost: x\r\n\r\n", server.addr)).await;
    assert!(answer.is_empty(), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
