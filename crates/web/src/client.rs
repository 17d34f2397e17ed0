//! The SSRF-safe client.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures_util::StreamExt;
use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use url::{Host, Url};

use crate::charset::{self, Kind};
use crate::extract::{Extracted, extract, extract_text_plain};
use crate::ip::is_permitted;
use crate::{WebError, WebPolicy};

/// A fetched response with a 2xx status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The final URL, after redirects.
    pub url: Url,
    /// The HTTP status (always 2xx; other statuses are [`WebError::Status`]).
    pub status: u16,
    /// The lowercased media type without parameters (`text/html`), if the server sent one.
    pub content_type: Option<String>,
    /// Name of the encoding the text was decoded from (`UTF-8`, `GBK`, …), when textual.
    pub charset: Option<String>,
    /// The decoded body, when it is HTML or text (see [`Page::html`]); `None` for binary bodies.
    pub text: Option<String>,
    /// The raw body (at most [`WebPolicy::max_bytes`]).
    pub bytes: Vec<u8>,
    /// Whether the body is HTML (by media type, or sniffed when the server sent none).
    pub html: bool,
}

/// The one HTTP client for user-chosen URLs. Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct SafeClient {
    client: reqwest::Client,
    policy: Arc<WebPolicy>,
}

impl SafeClient {
    /// Builds a client enforcing `policy`.
    pub fn new(policy: WebPolicy) -> Result<SafeClient, WebError> {
        Self::build(policy, None)
    }

    /// Test hook: like [`SafeClient::new`], but names found in `overrides` resolve
    /// to the given addresses instead of asking DNS. The addresses still go through
    /// the same blocking filter.
    #[doc(hidden)]
    pub fn with_resolver_override(
        policy: WebPolicy,
        overrides: HashMap<String, Vec<IpAddr>>,
    ) -> Result<SafeClient, WebError> {
        Self::build(policy, Some(Arc::new(normalize_overrides(overrides))))
    }

    fn build(policy: WebPolicy, overrides: Overrides) -> Result<SafeClient, WebError> {
        let allow: Arc<[IpNet]> = policy.allow.clone().into();
        let resolver = SafeResolver { allow: allow.clone(), overrides };
        let max_redirects = policy.max_redirects;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(WebError::TooManyRedirects { limit: max_redirects });
            }
            match check_url(attempt.url(), &allow) {
                Ok(()) => attempt.follow(),
                Err(e) => {
                    tracing::warn!(url = %attempt.url(), error = %e, "redirect refused");
                    attempt.error(e)
                }
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(resolver)
            .redirect(redirect)
            .referer(false)
            .timeout(policy.timeout)
            .connect_timeout(policy.connect_timeout)
            .user_agent(policy.user_agent.as_str())
            .build()
            .map_err(|e| WebError::Transport(describe(&e)))?;
        Ok(SafeClient { client, policy: Arc::new(policy) })
    }

    /// The policy this client enforces.
    pub fn policy(&self) -> &WebPolicy {
        &self.policy
    }

    /// Fetches `url` (GET), following at most [`WebPolicy::max_redirects`] checked redirects.
    ///
    /// A non-2xx final status is [`WebError::Status`]; the body is then not read.
    pub async fn fetch(&self, url: &str) -> Result<Page, WebError> {
        let url = Url::parse(url.trim()).map_err(|e| WebError::InvalidUrl(e.to_string()))?;
        check_url(&url, &self.policy.allow)?;
        match tokio::time::timeout(self.policy.timeout, self.fetch_checked(url)).await {
            Ok(result) => result,
            Err(_) => Err(WebError::Timeout),
        }
    }

    /// [`SafeClient::fetch`] and [`extract`] (HTML) or [`extract_text_plain`] (other text);
    /// anything else is [`WebError::NotText`]. The extraction runs on a blocking thread.
    pub async fn read(&self, url: &str) -> Result<(Page, Extracted), WebError> {
        let page = self.fetch(url).await?;
        if page.text.is_none() {
            let content_type = page.content_type.unwrap_or_else(|| "an unknown type".to_owned());
            return Err(WebError::NotText { content_type });
        }
        tokio::task::spawn_blocking(move || {
            let text = page.text.as_deref().unwrap_or_default();
            let extracted = if page.html { extract(text, &page.url) } else { extract_text_plain(text) };
            (page, extracted)
        })
        .await
        .map_err(|e| WebError::Transport(format!("reading the page failed: {e}")))
    }

    async fn fetch_checked(&self, url: Url) -> Result<Page, WebError> {
        let response = self
            .client
            .get(url)
            .header(ACCEPT, "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.8")
            .send()
            .await
            .map_err(map_reqwest)?;
        let status = response.status();
        if status.is_redirection() {
            // A redirect reqwest did not follow: its target could not even be made a request
            // (`file:///etc/passwd`). Report why, when the target says so.
            let target = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| response.url().join(loc.trim()).ok());
            if let Some(target) = target {
                check_url(&target, &self.policy.allow)?;
            }
        }
        if !status.is_success() {
            return Err(WebError::Status { status: status.as_u16() });
        }
        let limit = self.policy.max_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(WebError::TooLarge { limit });
        }
        let final_url = response.url().clone();
        let (essence, header_charset) = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(charset::parse_content_type)
            .map_or((None, None), |(e, c)| (Some(e), c));

        let mut bytes = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(map_reqwest)?;
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(WebError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }

        let kind = charset::classify(essence.as_deref(), &bytes);
        let (text, used) = match kind {
            Kind::Binary => (None, None),
            Kind::Html | Kind::Text => {
                let (text, used) = charset::decode(&bytes, header_charset.as_deref(), kind == Kind::Html);
                (Some(text), Some(used.to_owned()))
            }
        };
        Ok(Page {
            url: final_url,
            status: status.as_u16(),
            content_type: essence.filter(|e| !e.is_empty()),
            charset: used,
            text,
            bytes,
            html: kind == Kind::Html,
        })
    }
}

/// Checks what can be checked before sending: scheme, userinfo and IP-literal hosts.
/// Host names are checked by [`SafeResolver`] when they are resolved.
pub(crate) fn check_url(url: &Url, allow: &[IpNet]) -> Result<(), WebError> {
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(WebError::SchemeNotAllowed { scheme: other.to_owned() }),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(WebError::InvalidUrl("addresses with a user name or password are not accepted".to_owned()));
    }
    let addr = match url.host() {
        None => return Err(WebError::InvalidUrl("the address has no host".to_owned())),
        Some(Host::Domain(_)) => return Ok(()),
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
    };
    if is_permitted(addr, allow) {
        Ok(())
    } else {
        Err(WebError::Blocked { host: url.host_str().unwrap_or_default().to_owned(), addr })
    }
}

/// Keeps the permitted addresses of `host`; none left is [`WebError::Blocked`].
pub(crate) fn filter_addrs(host: &str, addrs: Vec<SocketAddr>, allow: &[IpNet]) -> Result<Vec<SocketAddr>, WebError> {
    let Some(first) = addrs.first().copied() else {
        return Err(WebError::Transport(format!("could not resolve {host}")));
    };
    let (kept, dropped): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|a| is_permitted(a.ip(), allow));
    if !dropped.is_empty() {
        tracing::warn!(host, ?dropped, "dropped blocked addresses");
    }
    if kept.is_empty() {
        return Err(WebError::Blocked { host: host.to_owned(), addr: first.ip() });
    }
    Ok(kept)
}

/// Test overrides of name resolution: lowercased name to addresses.
pub(crate) type Overrides = Option<Arc<HashMap<String, Vec<IpAddr>>>>;

/// Lowercases the override names.
pub(crate) fn normalize_overrides(overrides: HashMap<String, Vec<IpAddr>>) -> HashMap<String, Vec<IpAddr>> {
    overrides.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect()
}

/// Resolves `host` with the system resolver (or the test overrides) and keeps only the
/// permitted addresses, with `port`; none left is [`WebError::Blocked`].
pub(crate) async fn resolve_permitted(
    host: &str,
    port: u16,
    allow: &[IpNet],
    overrides: &Overrides,
) -> Result<Vec<SocketAddr>, WebError> {
    let key = host.trim_end_matches('.').to_ascii_lowercase();
    let addrs: Vec<SocketAddr> = match overrides.as_ref().and_then(|o| o.get(&key)) {
        Some(ips) => ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect(),
        None => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| WebError::Transport(format!("could not resolve {host}: {e}")))?
            .collect(),
    };
    filter_addrs(host, addrs, allow)
}

/// Resolves with the system resolver (or test overrides) and drops blocked addresses.
struct SafeResolver {
    allow: Arc<[IpNet]>,
    overrides: Overrides,
}

impl Resolve for SafeResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow = self.allow.clone();
        let overrides = self.overrides.clone();
        Box::pin(async move {
            let kept = resolve_permitted(&host, 0, &allow, &overrides).await?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// Maps a reqwest error, recovering our own error from the resolver or redirect policy.
fn map_reqwest(e: reqwest::Error) -> WebError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(ours) = err.downcast_ref::<WebError>() {
            return ours.clone();
        }
        source = err.source();
    }
    if e.is_timeout() {
        return WebError::Timeout;
    }
    WebError::Transport(describe(&e))
}

/// The error and its causes as one line, e.g. `error sending request: connection refused`.
fn describe(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = Some(e);
    while let Some(err) = source {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 0)
    }

    #[test]
    fn filter_keeps_only_public_addresses() {
        let kept = filter_addrs("mixed.example", vec![sock("10.0.0.1"), sock("93.184.216.34"), sock("::1")], &[]);
        assert_eq!(kept.unwrap(), vec![sock("93.184.216.34")]);
        let err = filter_addrs("private.example", vec![sock("10.0.0.1"), sock("fd00::1")], &[]).unwrap_err();
        assert_eq!(err, WebError::Blocked { host: "private.example".into(), addr: "10.0.0.1".parse().unwrap() });
        assert!(matches!(filter_addrs("none.example", vec![], &[]), Err(WebError::Transport(_))));
        let allow = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(filter_addrs("intranet", vec![sock("10.0.0.1")], &allow).unwrap(), vec![sock("10.0.0.1")]);
    }

    #[test]
    fn url_checks() {
        let check = |s: &str| check_url(&Url::parse(s).unwrap(), &[]);
        assert!(check("https://example.com/").is_ok());
        assert!(check("http://8.8.8.8:8080/x").is_ok());
        assert!(matches!(check("ftp://example.com/"), Err(WebError::SchemeNotAllowed { .. })));
        assert!(matches!(check("http://u:p@example.com/"), Err(WebError::InvalidUrl(_))));
        assert!(matches!(check("http://u@example.com/"), Err(WebError::InvalidUrl(_))));
        for blocked in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://0.0.0.0/",
            "http://0/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://10.0.0.1/",
            "http://192.168.1.1/",
        ] {
            assert!(matches!(check(blocked), Err(WebError::Blocked { .. })), "{blocked}");
        }
    }
}
