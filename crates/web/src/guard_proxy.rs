//! A short-lived HTTP proxy on loopback that lets a headless browser reach only what a
//! [`SafeClient`](crate::SafeClient) could reach.
//!
//! The browser resolves nothing itself (see [`crate::Browser`]); it sends every request
//! here, either as `CONNECT host:port` (HTTPS, WebSockets) or as a plain-HTTP request with
//! an absolute URI (`GET http://host/path HTTP/1.1`). For each one the proxy:
//!
//! * checks the target like the client does ([`WebPolicy`]'s allow-list, IP literals in
//!   any notation after the `url` crate's normalization, only `http`/`https`);
//! * resolves a host name once with the client's resolver, keeps only permitted
//!   addresses and connects to one of those (never resolving again);
//! * answers `403 Forbidden` when the target is refused, and records the refusal
//!   ([`GuardProxy::refusals`]);
//! * forwards plain-HTTP requests in origin form with `Connection: close` (one request per
//!   connection, so a kept-alive browser connection can never be reused for another host);
//! * counts every byte relayed in both directions; past [`ProxyLimits::max_total_bytes`]
//!   connections are cut and new ones refused;
//! * stops (closing every connection) after [`ProxyLimits::lifetime`] or when dropped.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use url::{Host, Url};

use crate::client::{Overrides, check_url, normalize_overrides, resolve_permitted};
use crate::{WebError, WebPolicy};

/// Largest request or response head read, in bytes.
const MAX_HEAD: usize = 64 * 1024;
/// Most refusals kept for [`GuardProxy::refusals`].
const MAX_REFUSALS: usize = 200;

/// Bounds of one [`GuardProxy`] (in practice: of one page render).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyLimits {
    /// Bytes relayed in both directions, all connections together, heads included. Default 25 MiB.
    pub max_total_bytes: u64,
    /// The proxy closes every connection and stops accepting after this long. Default 60 s.
    pub lifetime: Duration,
    /// Most connections open at once; further ones wait. Default 64.
    pub max_connections: usize,
}

impl Default for ProxyLimits {
    fn default() -> Self {
        Self { max_total_bytes: 25 * 1024 * 1024, lifetime: Duration::from_secs(60), max_connections: 64 }
    }
}

/// A request the proxy refused because of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What was asked for: `host:port` of a `CONNECT`, or the absolute URL of a plain request.
    pub target: String,
    /// Why ([`WebError::Blocked`], [`WebError::SchemeNotAllowed`], [`WebError::InvalidUrl`]).
    pub error: WebError,
}

/// The running proxy. It stops when dropped.
#[derive(Debug)]
pub struct GuardProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    allow: Arc<[IpNet]>,
    overrides: Overrides,
    connect_timeout: Duration,
    max_total_bytes: u64,
    used: AtomicU64,
    over_limit: AtomicBool,
    connections: AtomicUsize,
    refusals: Mutex<Vec<Refusal>>,
}

impl Shared {
    /// Counts `n` relayed bytes; `false` once the total passes the limit.
    fn charge(&self, n: usize) -> bool {
        let n = n as u64;
        let before = self.used.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) > self.max_total_bytes {
            if !self.over_limit.swap(true, Ordering::Relaxed) {
                tracing::warn!(limit = self.max_total_bytes, "guard proxy byte limit reached");
            }
            return false;
        }
        true
    }

    fn refuse(&self, target: &str, error: &WebError) {
        tracing::warn!(target, error = %error, "guard proxy refused a request");
        if let Ok(mut list) = self.refusals.lock()
            && list.len() < MAX_REFUSALS
        {
            list.push(Refusal { target: target.to_owned(), error: error.clone() });
        }
    }
}

impl GuardProxy {
    /// Starts a proxy on `127.0.0.1:<ephemeral>` enforcing `policy` (its allow-list and
    /// connect timeout) within `limits`.
    pub async fn start(policy: &WebPolicy, limits: ProxyLimits) -> Result<GuardProxy, WebError> {
        Self::start_inner(policy, limits, None).await
    }

    /// Test hook: like [`GuardProxy::start`], but names found in `overrides` resolve to
    /// the given addresses instead of asking DNS. The addresses are still checked.
    #[doc(hidden)]
    pub async fn start_with_resolver_override(
        policy: &WebPolicy,
        limits: ProxyLimits,
        overrides: HashMap<String, Vec<IpAddr>>,
    ) -> Result<GuardProxy, WebError> {
        Self::start_inner(policy, limits, Some(Arc::new(normalize_overrides(overrides)))).await
    }

    pub(crate) async fn start_inner(
        policy: &WebPolicy,
        limits: ProxyLimits,
        overrides: Overrides,
    ) -> Result<GuardProxy, WebError> {
        let listener = TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0))
            .await
            .map_err(|e| WebError::Transport(format!("could not start the browser proxy: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| WebError::Transport(format!("could not start the browser proxy: {e}")))?;
        let shared = Arc::new(Shared {
            allow: policy.allow.clone().into(),
            overrides,
            connect_timeout: policy.connect_timeout,
            max_total_bytes: limits.max_total_bytes,
            used: AtomicU64::new(0),
            over_limit: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            refusals: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(run(listener, shared.clone(), limits));
        Ok(GuardProxy { addr, shared, task })
    }

    /// The address the proxy listens on (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, for a browser's `--proxy-server`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests refused so far (at most 200 are kept).
    pub fn refusals(&self) -> Vec<Refusal> {
        self.shared.refusals.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Bytes relayed so far, both directions.
    pub fn bytes_relayed(&self) -> u64 {
        self.shared.used.load(Ordering::Relaxed)
    }

    /// Whether [`ProxyLimits::max_total_bytes`] was reached.
    pub fn hit_byte_limit(&self) -> bool {
        self.shared.over_limit.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for GuardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(listener: TcpListener, shared: Arc<Shared>, limits: ProxyLimits) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let accept_loop = async {
        let mut tasks = JoinSet::new();
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else { return };
            match listener.accept().await {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    tasks.spawn(async move {
                        let _permit = permit;
                        handle(stream, shared).await;
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "guard proxy accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            while tasks.try_join_next().is_some() {}
        }
    };
    // Dropping the loop at the deadline drops the JoinSet, which aborts every connection.
    let _ = tokio::time::timeout(limits.lifetime, accept_loop).await;
}

async fn handle(mut client: TcpStream, shared: Arc<Shared>) {
    shared.connections.fetch_add(1, Ordering::Relaxed);
    let _ = client.set_nodelay(true);
    let Ok((head, rest)) = read_head(&mut client).await else {
        respond(&mut client, 400, "bad request").await;
        return;
    };
    if !shared.charge(head.len() + rest.len()) {
        respond(&mut client, 403, "the page used more data than allowed").await;
        return;
    }
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut request = httparse::Request::new(&mut headers);
    let (method, target) = match request.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {
            (request.method.unwrap_or_default().to_owned(), request.path.unwrap_or_default().to_owned())
        }
        _ => {
            respond(&mut client, 400, "bad request").await;
            return;
        }
    };
    if method.eq_ignore_ascii_case("CONNECT") {
        tunnel(client, &target, rest, &shared).await;
    } else {
        forward(client, &method, &target, request.headers, rest, &shared).await;
    }
}

/// `CONNECT host:port`: check, connect, answer 200 and relay bytes both ways.
async fn tunnel(mut client: TcpStream, authority: &str, rest: Vec<u8>, shared: &Arc<Shared>) {
    let valid = !authority.is_empty()
        && authority.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:[]%".contains(&b))
        && authority.contains(':');
    let url = if valid { Url::parse(&format!("https://{authority}/")).ok() } else { None };
    let Some(url) = url else {
        let error = WebError::InvalidUrl(format!("bad CONNECT target {authority}"));
        shared.refuse(authority, &error);
        respond(&mut client, 400, &error.to_string()).await;
        return;
    };
    let Some(mut upstream) = open(&mut client, authority, &url, shared).await else { return };
    if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_err() {
        return;
    }
    if !rest.is_empty() && upstream.write_all(&rest).await.is_err() {
        return;
    }
    relay(client, upstream, shared, false).await;
}

/// A plain-HTTP request in absolute form: check, connect, send it in origin form with
/// `Connection: close`, relay the answer (its head rewritten to close too).
async fn forward(
    mut client: TcpStream,
    method: &str,
    target: &str,
    headers: &[httparse::Header<'_>],
    rest: Vec<u8>,
    shared: &Arc<Shared>,
) {
    let url = match Url::parse(target) {
        Ok(url) if url.scheme() == "http" => url,
        Ok(url) => {
            let error = WebError::SchemeNotAllowed { scheme: url.scheme().to_owned() };
            shared.refuse(target, &error);
            respond(&mut client, 403, &error.to_string()).await;
            return;
        }
        Err(_) => {
            respond(&mut client, 400, "this is a proxy: only absolute http:// URLs and CONNECT are served").await;
            return;
        }
    };
    let Some(mut upstream) = open(&mut client, target, &url, shared).await else { return };

    let mut out = Vec::with_capacity(1024);
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\n").as_bytes());
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => out.extend_from_slice(format!("Host: {host}:{port}\r\n").as_bytes()),
        None => out.extend_from_slice(format!("Host: {host}\r\n").as_bytes()),
    }
    for header in headers {
        if is_hop_header(header.name) || header.name.eq_ignore_ascii_case("host") {
            continue;
        }
        out.extend_from_slice(header.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(header.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&rest);
    if upstream.write_all(&out).await.is_err() {
        respond(&mut client, 502, "the site closed the connection").await;
        return;
    }
    relay(client, upstream, shared, true).await;
}

/// Checks `url` against the policy, resolves it once and connects to a permitted address.
/// On failure answers the client (403 refused, 502 unreachable) and returns `None`.
async fn open(client: &mut TcpStream, target: &str, url: &Url, shared: &Arc<Shared>) -> Option<TcpStream> {
    let addrs = match permitted_addrs(url, shared).await {
        Ok(addrs) => addrs,
        Err(error @ WebError::Transport(_)) => {
            tracing::debug!(target, error = %error, "guard proxy could not resolve");
            respond(client, 502, &error.to_string()).await;
            return None;
        }
        Err(error) => {
            shared.refuse(target, &error);
            respond(client, 403, &error.to_string()).await;
            return None;
        }
    };
    let mut last = String::from("no address");
    for addr in addrs {
        match tokio::time::timeout(shared.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Some(stream);
            }
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = "timed out".to_owned(),
        }
    }
    tracing::debug!(target, error = %last, "guard proxy could not connect");
    respond(client, 502, &format!("could not connect: {last}")).await;
    None
}

/// The addresses `url` may be reached at: its IP literal if permitted, else the
/// permitted addresses its host name resolves to.
async fn permitted_addrs(url: &Url, shared: &Shared) -> Result<Vec<SocketAddr>, WebError> {
    if shared.over_limit.load(Ordering::Relaxed) {
        return Err(WebError::Transport("the page used more data than allowed".to_owned()));
    }
    check_url(url, &shared.allow)?;
    let port = url.port_or_known_default().ok_or_else(|| WebError::InvalidUrl("no port".to_owned()))?;
    match url.host() {
        Some(Host::Domain(name)) => resolve_permitted(name, port, &shared.allow, &shared.overrides).await,
        Some(Host::Ipv4(v4)) => Ok(vec![SocketAddr::new(IpAddr::V4(v4), port)]),
        Some(Host::Ipv6(v6)) => Ok(vec![SocketAddr::new(IpAddr::V6(v6), port)]),
        None => Err(WebError::InvalidUrl("the address has no host".to_owned())),
    }
}

fn is_hop_header(name: &str) -> bool {
    ["connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te", "upgrade"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Relays both ways until both sides are done, an error, or the byte limit. With
/// `rewrite_response`, the first response head from `upstream` gets `Connection: close`.
async fn relay(client: TcpStream, upstream: TcpStream, shared: &Arc<Shared>, rewrite_response: bool) {
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    let up = pump(client_read, upstream_write, shared, Vec::new());
    let down = async {
        let mut upstream_read = upstream_read;
        let first = if rewrite_response { rewrite_response_head(&mut upstream_read).await? } else { Vec::new() };
        pump(upstream_read, client_write, shared, first).await
    };
    let _ = tokio::try_join!(up, down);
}

/// Reads the response head and returns it with the hop-by-hop headers replaced by
/// `Connection: close`, followed by whatever body bytes came with it. A head that does
/// not end within [`MAX_HEAD`] bytes is passed on unchanged.
async fn rewrite_response_head(reader: &mut (impl AsyncRead + Unpin)) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(pos) = find_head_end(&buf) {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Ok(buf);
        }
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = &buf[..end];
    let mut out = Vec::with_capacity(buf.len() + 32);
    for (i, line) in head.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if i > 0 {
            let name = line.split(|&b| b == b':').next().unwrap_or_default();
            if is_hop_header(&String::from_utf8_lossy(name)) {
                continue;
            }
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&buf[end..]);
    Ok(out)
}

/// Copies `reader` to `writer` (after `first`), charging every byte; shuts `writer` down at EOF.
async fn pump(
    mut reader: impl AsyncRead + Unpin,
    mut writer: impl AsyncWrite + Unpin,
    shared: &Shared,
    first: Vec<u8>,
) -> io::Result<()> {
    if !first.is_empty() {
        if !shared.charge(first.len()) {
            return Err(io::Error::other("byte limit"));
        }
        writer.write_all(&first).await?;
    }
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            let _ = writer.shutdown().await;
            return Ok(());
        }
        if !shared.charge(n) {
            return Err(io::Error::other("byte limit"));
        }
        writer.write_all(&buf[..n]).await?;
    }
}

/// Index just past the `\r\n\r\n` that ends a head, if present.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Reads a request head; returns it (with its blank line) and any bytes read past it.
async fn read_head(stream: &mut TcpStream) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find_head_end(&buf) {
            let rest = buf.split_off(end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::other("request head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Answers with an empty body and the reason in an `X-Guard-Proxy-Reason` header: an
/// error page with a body would be shown by the browser as if the site had sent it,
/// while an empty error answer makes the page load fail.
async fn respond(stream: &mut TcpStream, status: u16, message: &str) {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        _ => "Bad Gateway",
    };
    let message: String = message.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nX-Guard-Proxy-Reason: {message}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn response_head_is_rewritten_to_close() {
        let input: &[u8] =
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nhello";
        let mut reader = input;
        let out = rewrite_response_head(&mut reader).await.unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        );
    }

    #[test]
    fn hop_headers() {
        assert!(is_hop_header("Proxy-Connection"));
        assert!(is_hop_header("upgrade"));
        assert!(!is_hop_header("Content-Length"));
    }
}
