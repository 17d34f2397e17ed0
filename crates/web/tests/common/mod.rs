//! A tiny loopback HTTP/1.1 responder for the client tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use web::WebPolicy;

/// What the server does with one request.
pub enum Reply {
    /// Write these bytes (a whole response) and close.
    Raw(Vec<u8>),
    /// Read the request, then never answer.
    Stall,
    /// Send these headers (with `Transfer-Encoding: chunked`), then 1 KiB chunks until the client hangs up.
    Endless(String),
    /// Send this response head, then never send the body.
    StallBody(String),
}

pub fn ok(content_type: &str, body: &[u8]) -> Reply {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    Reply::Raw(out)
}

pub fn status(code: u16) -> Reply {
    Reply::Raw(format!("HTTP/1.1 {code} Whatever\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno").into_bytes())
}

pub fn redirect(location: &str) -> Reply {
    Reply::Raw(
        format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .into_bytes(),
    )
}

/// A response of `len` bytes in chunked encoding (no Content-Length).
pub fn chunked(len: usize) -> Reply {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    let mut left = len;
    while left > 0 {
        let n = left.min(512);
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend(std::iter::repeat_n(b'a', n));
        out.extend_from_slice(b"\r\n");
        left -= n;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    Reply::Raw(out)
}

type Handler = dyn Fn(&str) -> Reply + Send + Sync;

/// A loopback server; `requests` holds the head of every request it got.
pub struct Server {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub async fn start(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
        Self::start_on("127.0.0.1:0".parse().unwrap(), handler).await
    }

    pub async fn start_on(addr: SocketAddr, handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, handler.clone(), log.clone()));
            }
        });
        Server { addr, requests }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

async fn serve(mut stream: TcpStream, handler: Arc<Handler>, log: Arc<Mutex<Vec<String>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    log.lock().unwrap().push(head);
    match handler(&path) {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Stall => std::future::pending::<()>().await,
        Reply::StallBody(head) => {
            let _ = stream.write_all(head.as_bytes()).await;
            std::future::pending::<()>().await
        }
        Reply::Endless(head) => {
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = format!("400\r\n{}\r\n", "x".repeat(0x400));
            while stream.write_all(chunk.as_bytes()).await.is_ok() {}
        }
    }
}

/// A policy that lets the client reach the test servers on 127.0.0.1 (and only there).
pub fn loopback_policy() -> WebPolicy {
    WebPolicy { allow: vec!["127.0.0.1/32".parse().unwrap()], timeout: Duration::from_secs(10), ..WebPolicy::default() }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
