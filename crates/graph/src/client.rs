//! The client core: app-only tokens, requests with retries, paging.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, header::HeaderMap};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;
use url::Url;

use crate::{GraphConfig, GraphError};

/// Tokens are refreshed this long before `expires_in` runs out.
pub(crate) const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Graph's only scope for app-only (client-credentials) tokens.
pub(crate) const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Without `Retry-After`, throttled calls wait this, doubled per retry (capped at `max_retry_wait`).
const BASE_BACKOFF: Duration = Duration::from_millis(500);

/// Path segments and query values are encoded down to the unreserved characters (`@` is kept:
/// `/users/someone@contoso.com` is how Graph spells it).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
const SEGMENT: &AsciiSet = &COMPONENT.remove(b'@');
const QUERY_KEY: &AsciiSet = &COMPONENT.remove(b'$');

/// A Microsoft Graph client with app-only (client-credentials) authentication.
///
/// Cheap to clone: clones share the HTTP connection pool and the cached token.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: GraphConfig,
    http: reqwest::Client,
    graph_base: Url,
    token_url: Url,
    /// Held while a token is fetched, so only one caller refreshes at a time.
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient").field("config", &self.inner.cfg).finish_non_exhaustive()
    }
}

/// One HTTP call, kept whole so it can be sent again.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub body: Option<(Vec<u8>, &'static str)>,
    pub headers: Vec<(&'static str, String)>,
    /// Whether to send `Authorization: Bearer` (not on pre-authenticated upload URLs).
    pub auth: bool,
}

impl Call {
    pub fn get(url: Url) -> Self {
        Self { method: Method::GET, url, body: None, headers: Vec::new(), auth: true }
    }

    pub fn post_json(url: Url, body: &Value) -> Result<Self, GraphError> {
        let bytes = serde_json::to_vec(body).map_err(|e| GraphError::Decode(format!("encoding the request: {e}")))?;
        Ok(Self::post_bytes(url, bytes))
    }

    pub fn post_bytes(url: Url, json: Vec<u8>) -> Self {
        Self { method: Method::POST, url, body: Some((json, "application/json")), headers: Vec::new(), auth: true }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

impl GraphClient {
    /// A client for `cfg`, with its own HTTP client (the configured timeout, no proxy).
    /// Fails with [`GraphError::Decode`] when a base URL is unusable.
    pub fn new(cfg: GraphConfig) -> Result<Self, GraphError> {
        let graph_base = base_url("graph_base_url", &cfg.graph_base_url)?;
        let mut token_url = base_url("login_base_url", &cfg.login_base_url)?;
        if cfg.tenant_id.trim().is_empty() {
            return Err(GraphError::Decode("tenant_id is empty".into()));
        }
        set_segments(&mut token_url, &[&cfg.tenant_id, "oauth2", "v2.0", "token"]);
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .no_proxy()
            .build()
            .map_err(|e| GraphError::Transport(format!("building the HTTP client: {e}")))?;
        Ok(Self { inner: Arc::new(Inner { cfg, http, graph_base, token_url, token: tokio::sync::Mutex::new(None) }) })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &GraphConfig {
        &self.inner.cfg
    }

    /// `{graph_base_url}/seg/seg...`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.graph_base.clone();
        set_segments(&mut url, segments);
        url
    }

    /// [`Self::url`] with a query; keys keep their `$`, spaces become `%20`.
    pub(crate) fn url_with_query(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.url(segments);
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY_KEY), utf8_percent_encode(v, COMPONENT)))
            .collect();
        url.set_query(Some(&q.join("&")));
        url
    }

    /// `https://graph.microsoft.com/v1.0` or whatever is configured, without a trailing slash.
    pub(crate) fn graph_root(&self) -> &str {
        self.inner.cfg.graph_base_url.trim_end_matches('/')
    }

    // ---- tokens ----

    /// A valid access token: the cached one, or a fresh one (fetched by one caller at a time).
    async fn token(&self) -> Result<String, GraphError> {
        let mut cached = self.inner.token.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.value.clone());
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Forgets `stale` if it is still the cached token (a newer one is kept).
    async fn invalidate(&self, stale: &str) {
        let mut cached = self.inner.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == stale) {
            *cached = None;
        }
    }

    async fn fetch_token(&self) -> Result<CachedToken, GraphError> {
        let cfg = &self.inner.cfg;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("client_secret", &cfg.client_secret)
            .append_pair("scope", GRAPH_SCOPE)
            .finish();
        let started = Instant::now();
        let resp = self
            .inner
            .http
            .post(self.inner.token_url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| GraphError::Transport(format!("token request: {}", without_url(&e))))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| GraphError::Transport(format!("token answer: {e}")))?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !(200..300).contains(&status) {
            let (code, message) = match &json {
                Some(v) if v["error"].is_string() => (
                    v["error"].as_str().unwrap_or_default().to_string(),
                    v["error_description"].as_str().unwrap_or_default().to_string(),
                ),
                _ => (format!("HTTP {status}"), snippet(&String::from_utf8_lossy(&body))),
            };
            tracing::warn!(status, %code, "Graph token request refused");
            return Err(GraphError::Auth { status, code, message });
        }
        let json = json.ok_or_else(|| GraphError::Decode("token answer is not JSON".into()))?;
        let value = json["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| GraphError::Decode("token answer without access_token".into()))?
            .to_string();
        // v2.0 sends a number, v1.0 a string.
        let expires_in = json["expires_in"]
            .as_u64()
            .or_else(|| json["expires_in"].as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| GraphError::Decode("token answer without expires_in".into()))?;
        let lifetime = Duration::from_secs(expires_in).saturating_sub(TOKEN_EXPIRY_MARGIN);
        tracing::debug!(expires_in, "fetched a Graph access token");
        Ok(CachedToken { value, refresh_at: started + lifetime })
    }

    // ---- requests ----

    /// Sends `call`; retries throttling (429/503/504) and refreshes the token once on a 401.
    /// Any 2xx is returned; other statuses become errors.
    pub(crate) async fn send(&self, call: &Call) -> Result<reqwest::Response, GraphError> {
        let cfg = &self.inner.cfg;
        let mut retries = 0u32;
        let mut reauthorized = false;
        loop {
            let token = if call.auth { Some(self.token().await?) } else { None };
            let mut req = self.inner.http.request(call.method.clone(), call.url.clone());
            for (name, value) in &call.headers {
                req = req.header(*name, value);
            }
            if let Some(token) = &token {
                req = req.bearer_auth(token);
            }
            if let Some((bytes, content_type)) = &call.body {
                req = req.header(reqwest::header::CONTENT_TYPE, *content_type).body(bytes.clone());
                if bytes.is_empty() {
                    // hyper leaves it out for an empty body; Graph answers 411 without it.
                    req = req.header(reqwest::header::CONTENT_LENGTH, "0");
                }
            }
            let resp = req.send().await.map_err(|e| {
                GraphError::Transport(format!("{} {}: {}", call.method, call.url.path(), without_url(&e)))
            })?;
            let status = resp.status().as_u16();
            tracing::debug!(method = %call.method, path = call.url.path(), status, "Graph call");
            if (200..300).contains(&status) {
                return Ok(resp);
            }
            if status == 401
                && let Some(token) = &token
                && !reauthorized
            {
                tracing::info!(path = call.url.path(), "Graph refused the access token; fetching a new one");
                reauthorized = true;
                self.invalidate(token).await;
                continue;
            }
            if matches!(status, 429 | 503 | 504) {
                let asked = retry_after(resp.headers());
                let wait = asked.unwrap_or_else(|| backoff(retries).min(cfg.max_retry_wait));
                if retries < cfg.max_retries && wait <= cfg.max_retry_wait {
                    tracing::warn!(
                        status,
                        path = call.url.path(),
                        wait_ms = wait.as_millis() as u64,
                        "Graph throttled; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    retries += 1;
                    continue;
                }
                if status == 429 || asked.is_some() {
                    return Err(GraphError::Throttled { retry_after: wait });
                }
            }
            return Err(api_error(resp).await);
        }
    }

    /// Sends `call` and decodes its JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, call: &Call) -> Result<T, GraphError> {
        let resp = self.send(call).await?;
        decode(resp, call.url.path()).await
    }

    /// GETs `first` and follows `@odata.nextLink` until `limit` items are collected.
    pub(crate) async fn get_pages<T: DeserializeOwned>(&self, first: Url, limit: usize) -> Result<Vec<T>, GraphError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut empty_pages = 0;
        while let Some(url) = next.take() {
            if out.len() >= limit {
                break;
            }
            let page: Page<T> = self.send_json(&Call::get(url)).await?;
            if page.value.is_empty() {
                empty_pages += 1;
                if empty_pages > 10 {
                    return Err(GraphError::Decode("Graph keeps answering empty pages".into()));
                }
            }
            out.extend(page.value);
            next = page.next_link.map(|link| self.next_link(&link)).transpose()?;
        }
        out.truncate(limit);
        Ok(out)
    }

    /// A `@odata.nextLink`, accepted only on Graph's own origin (it gets the bearer token).
    fn next_link(&self, link: &str) -> Result<Url, GraphError> {
        let url = Url::parse(link).map_err(|e| GraphError::Decode(format!("bad @odata.nextLink: {e}")))?;
        if url.origin() != self.inner.graph_base.origin() {
            return Err(GraphError::Decode(format!(
                "@odata.nextLink leaves Graph: {}",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }
}

fn base_url(name: &str, value: &str) -> Result<Url, GraphError> {
    let url = Url::parse(value.trim_end_matches('/')).map_err(|e| GraphError::Decode(format!("{name}: {e}")))?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(GraphError::Decode(format!("{name} is not an http(s) URL")));
    }
    Ok(url)
}

fn set_segments(url: &mut Url, segments: &[&str]) {
    let mut path = url.path().trim_end_matches('/').to_string();
    for s in segments {
        path.push('/');
        path.extend(utf8_percent_encode(s, SEGMENT));
    }
    url.set_path(&path);
    url.set_query(None);
}

/// `Retry-After` in (possibly fractional) seconds; HTTP dates are ignored.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0 && *v < 1e9)
        .map(Duration::from_secs_f64)
}

fn backoff(retries: u32) -> Duration {
    BASE_BACKOFF.saturating_mul(1u32 << retries.min(16))
}

/// Graph's `{"error":{"code","message","innerError":{"request-id"}}}`, or the status and a snippet.
async fn api_error(resp: reqwest::Response) -> GraphError {
    let status = resp.status().as_u16();
    let header_id = resp.headers().get("request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = resp.bytes().await.unwrap_or_default();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let error = &json["error"];
    let err = match error["code"].as_str() {
        Some(code) => {
            let inner = if error["innerError"].is_object() { &error["innerError"] } else { &error["innererror"] };
            GraphError::Api {
                status,
                code: code.to_string(),
                message: error["message"].as_str().unwrap_or_default().to_string(),
                request_id: inner["request-id"].as_str().map(str::to_string).or(header_id),
            }
        }
        None => GraphError::Api {
            status,
            code: format!("HTTP {status}"),
            message: snippet(&String::from_utf8_lossy(&body)),
            request_id: header_id,
        },
    };
    tracing::debug!(error = %err, "Graph call failed");
    err
}

async fn decode<T: DeserializeOwned>(resp: reqwest::Response, what: &str) -> Result<T, GraphError> {
    let body = resp.bytes().await.map_err(|e| GraphError::Transport(format!("reading {what}: {e}")))?;
    serde_json::from_slice(&body).map_err(|e| GraphError::Decode(format!("{what}: {e}")))
}

/// At most 200 characters of a body, for error messages.
fn snippet(body: &str) -> String {
    let s: String = body.chars().take(200).collect();
    if s.len() < body.len() { format!("{s}…") } else { s }
}

/// A reqwest error without its URL (upload URLs carry a credential in the query).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "request failed"
    };
    let mut msg = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> GraphClient {
        GraphClient::new(GraphConfig::new("tenant", "id", "secret")).unwrap()
    }

    #[test]
    fn urls_are_percent_encoded() {
        let c = client();
        let u = c.url(&["users", "o'brien+x/y?@contoso.com", "messages", "AAMk=/+"]);
        assert_eq!(
            u.as_str(),
            "https://graph.microsoft.com/v1.0/users/o%27brien%2Bx%2Fy%3F@contoso.com/messages/AAMk%3D%2F%2B"
        );
        let q = c.url_with_query(&["teams", "t", "channels"], &[("$filter", "displayName eq 'a&b'")]);
        assert_eq!(q.query(), Some("$filter=displayName%20eq%20%27a%26b%27"));
        assert_eq!(c.inner.token_url.as_str(), "https://login.microsoftonline.com/tenant/oauth2/v2.0/token");
    }

    #[test]
    fn bad_base_urls_are_rejected() {
        let mut cfg = GraphConfig::new("tenant", "id", "secret");
        cfg.graph_base_url = "not a url".into();
        assert!(matches!(GraphClient::new(cfg), Err(GraphError::Decode(_))));
    }

    #[test]
    fn next_links_must_stay_on_graph() {
        let c = client();
        assert!(c.next_link("https://graph.microsoft.com/v1.0/users?$skiptoken=x").is_ok());
        assert!(c.next_link("https://evil.example/v1.0/users").is_err());
    }

    #[test]
    fn retry_after_parsing() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(2));
    }
}
