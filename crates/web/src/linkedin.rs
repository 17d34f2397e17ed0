//! LinkedIn people search through the web app's internal "Voyager" API, with a staff
//! member's session cookie (`LINKEDIN_COOKIE`).
//!
//! The configured cookie may be just the `li_at` token, or a whole `Cookie` header copied
//! from a browser (`li_at=…; JSESSIONID="ajax:…"; …`; a leading `Cookie:` is tolerated).
//! Only `li_at` and `JSESSIONID` are sent. Without a `JSESSIONID` the client picks
//! `ajax:<19 random digits>` once and sends it both as the cookie and as the `csrf-token`
//! header, which is what LinkedIn's CSRF check compares.
//!
//! The cookie only ever goes to [`LinkedinConfig::base_url`]: the client follows no
//! redirects (a redirect to `/login`, `/authwall` or `/checkpoint` means the session is gone),
//! ignores proxies from the environment, and never puts the cookie in an error message or in
//! `Debug` output.
//!
//! This API is undocumented and not meant for third parties; LinkedIn changes it and blocks
//! automated use (HTTP 999). Expect [`LinkedinError::RateLimited`] and
//! [`LinkedinError::SessionExpired`] in normal operation.

use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, COOKIE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use serde_json::Value;
use url::Url;

/// LinkedIn's production origin.
pub const DEFAULT_BASE_URL: &str = "https://www.linkedin.com";
/// Most results one [`LinkedinClient::search_people`] call returns.
pub const MAX_LIMIT: usize = 50;
/// Results asked for per request (LinkedIn's web app uses 10).
pub const PAGE_SIZE: usize = 10;

const SEARCH_PATH: &str = "/voyager/api/search/dash/clusters";
const DECORATION_ID: &str = "com.linkedin.voyager.dash.deco.search.SearchClusterCollection-175";
const PERSON_TYPE: &str = "com.linkedin.voyager.dash.search.EntityResultViewModel";
const ACCEPT_VALUE: &str = "application/vnd.linkedin.normalized+json+2.1";
const USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Characters kept literally inside a Rest.li value; everything else (notably `(),:'` and
/// spaces) is percent-encoded.
const RESTLI_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Why a LinkedIn call failed. No message contains the session cookie.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkedinError {
    /// The configuration is unusable (empty or malformed cookie, bad base URL).
    #[error("LinkedIn is not configured correctly: {0}")]
    Config(String),
    /// The query is unusable (no keywords).
    #[error("invalid LinkedIn search: {0}")]
    InvalidQuery(String),
    /// 401/403, or a redirect to the login, authwall or checkpoint page.
    #[error("the LinkedIn session cookie is no longer valid; an administrator must refresh LINKEDIN_COOKIE")]
    SessionExpired,
    /// 429, or LinkedIn's bot-block status 999.
    #[error("LinkedIn is rate limiting this account{}", retry_hint(*.retry_after))]
    RateLimited {
        /// From a `Retry-After: <seconds>` header, when given.
        retry_after: Option<Duration>,
    },
    /// Any other non-2xx status (including other redirects).
    #[error("LinkedIn answered with HTTP status {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
    /// The answer was not the expected JSON.
    #[error("could not read LinkedIn's answer: {0}")]
    Decode(String),
    /// Connection, TLS, timeout or protocol failure.
    #[error("could not reach LinkedIn: {0}")]
    Transport(String),
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("; retry after {} s", d.as_secs()),
        None => String::new(),
    }
}

/// How to reach LinkedIn. `Debug` redacts the cookie.
#[derive(Clone)]
pub struct LinkedinConfig {
    /// `LINKEDIN_COOKIE`: the `li_at` token, or a full cookie header string.
    pub cookie: String,
    /// Origin of the API, default [`DEFAULT_BASE_URL`] (tests point it at a fake).
    pub base_url: String,
    /// Bound on one request, body included. Default 20 s.
    pub timeout: Duration,
    /// Pause between page requests of one search, to look less like a bot. Default 1 s; 0 in tests.
    pub page_delay: Duration,
}

impl LinkedinConfig {
    /// Defaults for production, with the given cookie.
    pub fn new(cookie: impl Into<String>) -> Self {
        Self {
            cookie: cookie.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(20),
            page_delay: Duration::from_secs(1),
        }
    }
}

impl fmt::Debug for LinkedinConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkedinConfig")
            .field("cookie", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("page_delay", &self.page_delay)
            .finish()
    }
}

/// A people search.
///
/// LinkedIn's keyword search matches words anywhere in a member's name, headline, current
/// position and location, so `location` and `industry` are simply appended to `keywords`
/// (`"sales director" + "fintech" + "Singapore"` → `sales director fintech Singapore`)
/// instead of using LinkedIn's filter facets, which need internal ids (geo URNs) and change
/// often. This narrows results to profiles mentioning those words; it is not an exact filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeopleQuery {
    /// Free-text keywords (role, company, skills, name…).
    pub keywords: String,
    /// Optional location words, appended to the keywords.
    pub location: Option<String>,
    /// Optional industry words, appended to the keywords.
    pub industry: Option<String>,
    /// Most results wanted, clamped to `1..=`[`MAX_LIMIT`]. Default 25.
    pub limit: usize,
}

impl PeopleQuery {
    /// A query for `keywords` with the default limit.
    pub fn new(keywords: impl Into<String>) -> Self {
        Self { keywords: keywords.into(), location: None, industry: None, limit: 25 }
    }

    /// The keywords actually sent: keywords, industry and location, whitespace-normalized.
    pub fn search_keywords(&self) -> String {
        [Some(self.keywords.as_str()), self.industry.as_deref(), self.location.as_deref()]
            .into_iter()
            .flatten()
            .flat_map(str::split_whitespace)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Default for PeopleQuery {
    fn default() -> Self {
        Self::new("")
    }
}

/// One person found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prospect {
    /// Display name.
    pub name: String,
    /// Headline, often "Role at Company".
    pub headline: Option<String>,
    /// Derived from a headline of the form "X at Y" (or "X @ Y").
    pub company: Option<String>,
    /// Location as shown by LinkedIn.
    pub location: Option<String>,
    /// Profile URL without tracking parameters: `https://www.linkedin.com/in/<slug>`.
    pub profile_url: String,
}

/// Client for LinkedIn's people search. Cheap to clone. `Debug` redacts the cookie.
#[derive(Clone)]
pub struct LinkedinClient {
    http: reqwest::Client,
    base: Url,
    /// `li_at=…; JSESSIONID="ajax:…"`, marked sensitive.
    cookie_header: HeaderValue,
    csrf: HeaderValue,
    page_delay: Duration,
}

impl fmt::Debug for LinkedinClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkedinClient")
            .field("base_url", &self.base.as_str())
            .field("cookie", &"<redacted>")
            .field("page_delay", &self.page_delay)
            .finish()
    }
}

/// The two cookie values the client sends.
#[derive(PartialEq, Eq)]
struct SessionCookie {
    li_at: String,
    /// Without quotes, e.g. `ajax:1234…`.
    jsessionid: String,
}

impl LinkedinClient {
    /// Checks the configuration and builds the client (rustls, no proxy, no redirects).
    pub fn new(cfg: LinkedinConfig) -> Result<Self, LinkedinError> {
        let session = parse_cookie(&cfg.cookie)?;
        let base = parse_base(&cfg.base_url)?;
        let mut cookie_header =
            HeaderValue::from_str(&format!("li_at={}; JSESSIONID=\"{}\"", session.li_at, session.jsessionid)).map_err(
                |_| LinkedinError::Config("LINKEDIN_COOKIE contains characters not allowed in a cookie".into()),
            )?;
        cookie_header.set_sensitive(true);
        let mut csrf = HeaderValue::from_str(&session.jsessionid)
            .map_err(|_| LinkedinError::Config("the JSESSIONID in LINKEDIN_COOKIE is malformed".into()))?;
        csrf.set_sensitive(true);
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| LinkedinError::Transport(describe(&e)))?;
        Ok(Self { http, base, cookie_header, csrf, page_delay: cfg.page_delay })
    }

    /// Searches people; see [`PeopleQuery`] for how location and industry are used.
    ///
    /// Pages of [`PAGE_SIZE`] are requested until `limit` results are collected, a page has no
    /// people, or LinkedIn's reported total is reached. Results without a name or a `/in/`
    /// profile URL (out-of-network "LinkedIn Member" entries) are skipped, duplicates dropped.
    pub async fn search_people(&self, q: &PeopleQuery) -> Result<Vec<Prospect>, LinkedinError> {
        let keywords = q.search_keywords();
        if keywords.is_empty() {
            return Err(LinkedinError::InvalidQuery("keywords are required".into()));
        }
        let limit = q.limit.clamp(1, MAX_LIMIT);
        // Skipped entries can make a page contribute nothing new; bound the walk anyway.
        let max_pages = limit.div_ceil(PAGE_SIZE) + 2;
        let mut out: Vec<Prospect> = Vec::new();
        let mut start = 0;
        for page in 0..max_pages {
            if page > 0 && !self.page_delay.is_zero() {
                tokio::time::sleep(self.page_delay).await;
            }
            let count = (limit - out.len()).min(PAGE_SIZE);
            let body = self.get_json(&search_url(&self.base, &keywords, start, count)).await?;
            let parsed = parse_people(&body);
            for p in parsed.people {
                if out.len() < limit && !out.iter().any(|o| o.profile_url == p.profile_url) {
                    out.push(p);
                }
            }
            start += count;
            let exhausted = parsed.entities == 0 || parsed.total.is_some_and(|t| start >= t);
            if out.len() >= limit || exhausted {
                break;
            }
        }
        Ok(out)
    }

    async fn get_json(&self, url: &str) -> Result<Value, LinkedinError> {
        let resp = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header.clone())
            .header("csrf-token", self.csrf.clone())
            .header("x-restli-protocol-version", "2.0.0")
            .header("x-li-lang", "en_US")
            .header(ACCEPT, ACCEPT_VALUE)
            .send()
            .await
            .map_err(|e| LinkedinError::Transport(describe(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            let err = classify(status, resp.headers(), resp.url());
            tracing::warn!(status = status.as_u16(), error = %err, "LinkedIn search failed");
            return Err(err);
        }
        let mut bytes = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| LinkedinError::Transport(describe(&e)))?;
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(LinkedinError::Decode("the answer is too large".into()));
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes).map_err(|e| LinkedinError::Decode(e.to_string()))
    }
}

/// Maps a non-2xx answer to an error.
fn classify(status: StatusCode, headers: &HeaderMap, request_url: &Url) -> LinkedinError {
    match status.as_u16() {
        401 | 403 => LinkedinError::SessionExpired,
        429 | 999 => LinkedinError::RateLimited {
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        },
        code if status.is_redirection() => {
            let target = headers.get(LOCATION).and_then(|v| v.to_str().ok()).and_then(|l| request_url.join(l).ok());
            let to_login = target.is_some_and(|t| {
                let path = t.path();
                ["/login", "/authwall", "/checkpoint", "/uas/login"].iter().any(|p| path.starts_with(p))
            });
            if to_login { LinkedinError::SessionExpired } else { LinkedinError::Status { status: code } }
        }
        code => LinkedinError::Status { status: code },
    }
}

/// Error text without the URL (which holds the search keywords) and with the causes.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "the request timed out".into();
    }
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn parse_base(base_url: &str) -> Result<Url, LinkedinError> {
    let bad = || LinkedinError::Config("the LinkedIn base URL must be an http(s) origin".into());
    let url = Url::parse(base_url.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || url.username() != "" {
        return Err(bad());
    }
    Ok(url)
}

fn search_url(base: &Url, keywords: &str, start: usize, count: usize) -> String {
    let origin = base.as_str().trim_end_matches('/');
    let kw = utf8_percent_encode(keywords, RESTLI_VALUE);
    format!(
        "{origin}{SEARCH_PATH}?decorationId={DECORATION_ID}&origin=GLOBAL_SEARCH_HEADER&q=all\
         &query=(keywords:{kw},flagshipSearchIntent:SEARCH_SRP,queryParameters:(resultType:List(PEOPLE)),\
         includeFiltersInResponse:false)&start={start}&count={count}"
    )
}

/// Reads `li_at` and `JSESSIONID` from a token or a cookie header string.
fn parse_cookie(raw: &str) -> Result<SessionCookie, LinkedinError> {
    let mut raw = raw.trim();
    if let Some(prefix) = raw.get(..7)
        && prefix.eq_ignore_ascii_case("cookie:")
    {
        raw = raw.get(7..).unwrap_or_default().trim();
    }
    if raw.is_empty() {
        return Err(LinkedinError::Config("LINKEDIN_COOKIE is empty".into()));
    }
    let (li_at, jsessionid) = if raw.contains('=') || raw.contains(';') {
        let mut li_at = None;
        let mut jsessionid = None;
        for pair in raw.split(';') {
            let Some((name, value)) = pair.split_once('=') else { continue };
            let value = value.trim().trim_matches('"');
            match name.trim() {
                "li_at" => li_at = Some(value),
                n if n.eq_ignore_ascii_case("JSESSIONID") => jsessionid = Some(value),
                _ => {}
            }
        }
        let li_at = li_at.ok_or_else(|| LinkedinError::Config("LINKEDIN_COOKIE has no li_at cookie".into()))?;
        (li_at, jsessionid.filter(|j| !j.is_empty()).map(str::to_owned))
    } else {
        (raw.trim_matches('"'), None)
    };
    if li_at.is_empty() || !li_at.bytes().all(cookie_byte) {
        return Err(LinkedinError::Config("the li_at value in LINKEDIN_COOKIE is malformed".into()));
    }
    let jsessionid = match jsessionid {
        Some(j) if j.bytes().all(cookie_byte) => j,
        Some(_) => return Err(LinkedinError::Config("the JSESSIONID in LINKEDIN_COOKIE is malformed".into())),
        None => random_jsessionid(),
    };
    Ok(SessionCookie { li_at: li_at.to_owned(), jsessionid })
}

/// RFC 6265 cookie-octet.
fn cookie_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\')
}

fn random_jsessionid() -> String {
    let mut rng = rand::rng();
    let digits: String = (0..19).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
    format!("ajax:{digits}")
}

struct ParsedPage {
    people: Vec<Prospect>,
    /// Person entities seen, including skipped ones.
    entities: usize,
    /// `data.paging.total`, when present.
    total: Option<usize>,
}

fn parse_people(body: &Value) -> ParsedPage {
    let total = body.pointer("/data/paging/total").and_then(Value::as_u64).and_then(|t| usize::try_from(t).ok());
    let mut people = Vec::new();
    let mut entities = 0;
    for e in body.get("included").and_then(Value::as_array).into_iter().flatten() {
        if e.get("$type").and_then(Value::as_str) != Some(PERSON_TYPE) {
            continue;
        }
        entities += 1;
        if let Some(p) = parse_person(e) {
            people.push(p);
        }
    }
    ParsedPage { people, entities, total }
}

fn parse_person(e: &Value) -> Option<Prospect> {
    let text = |field: &str| {
        e.get(field).and_then(|t| t.get("text")).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
    };
    let name = text("title").filter(|n| !n.eq_ignore_ascii_case("LinkedIn Member"))?;
    let profile_url = clean_profile_url(e.get("navigationUrl").and_then(Value::as_str)?)?;
    let headline = text("primarySubtitle").map(str::to_owned);
    Some(Prospect {
        name: name.to_owned(),
        company: headline.as_deref().and_then(company_from_headline),
        headline,
        location: text("secondarySubtitle").map(str::to_owned),
        profile_url,
    })
}

/// `https://www.linkedin.com/in/<slug>` from a navigation URL, or `None` if it is not a profile.
fn clean_profile_url(raw: &str) -> Option<String> {
    let base = Url::parse(DEFAULT_BASE_URL).ok()?;
    let url = base.join(raw.trim()).ok()?;
    let host = url.host_str()?;
    if !matches!(url.scheme(), "https" | "http") || !(host == "linkedin.com" || host.ends_with(".linkedin.com")) {
        return None;
    }
    let slug = url.path().strip_prefix("/in/")?.split('/').next().filter(|s| !s.is_empty())?;
    Some(format!("https://www.linkedin.com/in/{slug}"))
}

/// "Head of Sales at Acme | Ex-Foo" → "Acme".
fn company_from_headline(headline: &str) -> Option<String> {
    let lower = headline.to_ascii_lowercase();
    let idx = [" at ", " @ "].iter().filter_map(|sep| lower.find(sep).map(|i| i + sep.len())).min()?;
    let rest = headline.get(idx..)?;
    let company = rest.split(['|', '·', '•']).next()?.trim().trim_end_matches([',', '.', ';']).trim();
    (!company.is_empty()).then(|| company.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_only_cookie_gets_a_random_jsessionid() {
        let c = parse_cookie("AQEDATtoken-_123").unwrap();
        assert_eq!(c.li_at, "AQEDATtoken-_123");
        let digits = c.jsessionid.strip_prefix("ajax:").unwrap();
        assert_eq!(digits.len(), 19);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn full_cookie_string_is_read() {
        let c = parse_cookie(r#"Cookie: lang=v=2&lang=en-us; li_at=TOK; JSESSIONID="ajax:123"; bcookie="x""#).unwrap();
        assert_eq!(c.li_at, "TOK");
        assert_eq!(c.jsessionid, "ajax:123");
    }

    #[test]
    fn bad_cookies_are_refused_without_echoing_them() {
        for raw in ["", "   ", "JSESSIONID=ajax:1", "li_at=", "li_at=a b"] {
            let err = parse_cookie(raw).err().unwrap();
            assert!(matches!(err, LinkedinError::Config(_)), "{raw:?}");
        }
        let err = parse_cookie("li_at=SECRETVALUE\u{7f}").err().unwrap();
        assert!(!err.to_string().contains("SECRETVALUE"));
    }

    #[test]
    fn company_is_derived_from_headline() {
        assert_eq!(company_from_headline("Head of Sales at Acme Pte Ltd").as_deref(), Some("Acme Pte Ltd"));
        assert_eq!(company_from_headline("CTO @ Foo | ex-Bar").as_deref(), Some("Foo"));
        assert_eq!(company_from_headline("Engineer At Globex · Rust").as_deref(), Some("Globex"));
        assert_eq!(company_from_headline("Freelance consultant"), None);
        assert_eq!(company_from_headline("Looking at "), None);
    }

    #[test]
    fn profile_urls_are_cleaned() {
        assert_eq!(
            clean_profile_url("https://www.linkedin.com/in/jane-doe-1a2b?miniProfileUrn=urn%3Ali%3Afs").as_deref(),
            Some("https://www.linkedin.com/in/jane-doe-1a2b")
        );
        assert_eq!(clean_profile_url("/in/x/#top").as_deref(), Some("https://www.linkedin.com/in/x"));
        assert_eq!(clean_profile_url("https://www.linkedin.com/search/results/people/headless?x=1"), None);
        assert_eq!(clean_profile_url("https://evil.example/in/x"), None);
    }

    #[test]
    fn keywords_combine_and_encode() {
        let q = PeopleQuery {
            keywords: " sales  director ".into(),
            location: Some("Kuala Lumpur".into()),
            industry: Some("fintech".into()),
            limit: 5,
        };
        assert_eq!(q.search_keywords(), "sales director fintech Kuala Lumpur");
        let url = search_url(&Url::parse("https://www.linkedin.com/").unwrap(), "a (b),c:d", 10, 5);
        assert!(url.contains("query=(keywords:a%20%28b%29%2Cc%3Ad,flagshipSearchIntent:SEARCH_SRP,"), "{url}");
        assert!(url.starts_with("https://www.linkedin.com/voyager/api/search/dash/clusters?"));
        assert!(url.ends_with("&start=10&count=5"));
    }
}
