//! A fake LinkedIn Voyager people search on loopback (feature `fake`), for this and other
//! crates' tests.
//!
//! It checks what LinkedIn checks: the `li_at` cookie must equal the configured token and the
//! `csrf-token` header must equal the `JSESSIONID` cookie (without quotes), otherwise 403
//! `{"status":403}`; `x-restli-protocol-version: 2.0.0` is required (else 400). It serves the
//! seeded people whose name, headline or location contain every keyword word
//! (case-insensitively), paged by `start`/`count`, in the normalized format with unrelated
//! `included` entities mixed in.
//!
//! ```ignore
//! let fake = FakeLinkedin::start().await;
//! fake.add_person("Jane Doe", "Head of Sales at Acme", "Singapore", "jane-doe");
//! let client = LinkedinClient::new(fake.config())?;
//! let people = client.search_people(&PeopleQuery::new("sales")).await?;
//! ```

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

use crate::linkedin::LinkedinConfig;

/// The token [`FakeLinkedin::start`] accepts.
pub const FAKE_TOKEN: &str = "AQEDAFakeLiAtToken-0123456789abcdefSECRET";
const MEDIA_TYPE: &str = "application/vnd.linkedin.normalized+json+2.1";

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// E.g. `/voyager/api/search/dash/clusters`.
    pub path: String,
    /// The raw (still percent-encoded) query string.
    pub query: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
}

impl SeenRequest {
    /// First value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A raw query parameter's value (not decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }

    /// The decoded `keywords:` value inside the Rest.li `query=(…)` parameter.
    pub fn keywords(&self) -> Option<String> {
        let query = self.param("query")?;
        let raw = query.split_once("keywords:")?.1.split([',', ')']).next()?;
        Some(percent_decode_str(raw).decode_utf8_lossy().into_owned())
    }
}

#[derive(Debug, Clone)]
struct Person {
    name: String,
    headline: String,
    location: String,
    slug: String,
}

#[derive(Debug, Default)]
struct State {
    token: String,
    people: Vec<Person>,
    expired: bool,
    throttle: Option<(u16, Option<u64>)>,
    malformed_next: bool,
    seen: Vec<SeenRequest>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fake server. Dropping it stops it.
pub struct FakeLinkedin {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for FakeLinkedin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLinkedin").field("uri", &self.server.uri()).finish_non_exhaustive()
    }
}

impl FakeLinkedin {
    /// Starts a fake accepting [`FAKE_TOKEN`].
    pub async fn start() -> Self {
        Self::with_token(FAKE_TOKEN).await
    }

    /// Starts a fake accepting `li_at=<token>`.
    pub async fn with_token(token: &str) -> Self {
        let state = Arc::new(Mutex::new(State { token: token.to_owned(), ..State::default() }));
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(Responder(state.clone())).mount(&server).await;
        Self { server, state }
    }

    /// The server's origin, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The accepted `li_at` token.
    pub fn token(&self) -> String {
        lock(&self.state).token.clone()
    }

    /// A client configuration for this fake: token-only cookie, no page delay, short timeout.
    pub fn config(&self) -> LinkedinConfig {
        self.config_with_cookie(self.token())
    }

    /// Like [`FakeLinkedin::config`] with another cookie string.
    pub fn config_with_cookie(&self, cookie: impl Into<String>) -> LinkedinConfig {
        LinkedinConfig {
            base_url: self.uri(),
            timeout: Duration::from_secs(10),
            page_delay: Duration::ZERO,
            ..LinkedinConfig::new(cookie)
        }
    }

    /// Seeds a person; the profile URL will be `https://www.linkedin.com/in/<slug>?<tracking>`.
    pub fn add_person(&self, name: &str, headline: &str, location: &str, slug: &str) {
        lock(&self.state).people.push(Person {
            name: name.to_owned(),
            headline: headline.to_owned(),
            location: location.to_owned(),
            slug: slug.to_owned(),
        });
    }

    /// From now on, answer 302 to `/login` like LinkedIn does for a dead session.
    pub fn expire_session(&self) {
        lock(&self.state).expired = true;
    }

    /// Answer the next request with LinkedIn's bot-block status 999.
    pub fn throttle_next(&self) {
        lock(&self.state).throttle = Some((999, None));
    }

    /// Answer the next request with 429 and, if given, `Retry-After: <secs>`.
    pub fn rate_limit_next(&self, retry_after_secs: Option<u64>) {
        lock(&self.state).throttle = Some((429, retry_after_secs));
    }

    /// Answer the next authorized request with a 200 whose body is not JSON.
    pub fn malformed_next(&self) {
        lock(&self.state).malformed_next = true;
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        lock(&self.state).seen.clone()
    }
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let seen = SeenRequest {
            path: request.url.path().to_owned(),
            query: request.url.query().unwrap_or_default().to_owned(),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect(),
        };
        let mut state = lock(&self.0);
        state.seen.push(seen.clone());

        if state.expired {
            return ResponseTemplate::new(302).insert_header(
                "location",
                "https://www.linkedin.com/login?session_redirect=%2Fvoyager%2Fapi%2Fsearch&fromSignIn=true",
            );
        }
        if let Some((status, retry)) = state.throttle.take() {
            let t = ResponseTemplate::new(status).set_body_raw("", "text/html");
            return match retry {
                Some(secs) => t.insert_header("retry-after", secs.to_string().as_str()),
                None => t,
            };
        }
        if !authorized(&seen, &state.token) {
            return error(403);
        }
        if seen.header("x-restli-protocol-version") != Some("2.0.0") {
            return error(400);
        }
        if seen.path != "/voyager/api/search/dash/clusters" {
            return error(404);
        }
        let (Some(keywords), Some(start), Some(count)) = (
            seen.keywords(),
            seen.param("start").and_then(|s| s.parse::<usize>().ok()),
            seen.param("count").and_then(|s| s.parse::<usize>().ok()),
        ) else {
            return error(400);
        };
        let query_ok = seen.param("q") == Some("all")
            && seen.param("decorationId").is_some()
            && seen.param("query").is_some_and(|q| q.contains("resultType:List(PEOPLE)"));
        if !query_ok || !(1..=50).contains(&count) {
            return error(400);
        }
        if std::mem::take(&mut state.malformed_next) {
            return ResponseTemplate::new(200).set_body_raw("<html>not json", MEDIA_TYPE);
        }
        let words: Vec<String> = keywords.split_whitespace().map(str::to_lowercase).collect();
        let matching: Vec<&Person> = state
            .people
            .iter()
            .filter(|p| {
                let hay = format!("{} {} {}", p.name, p.headline, p.location).to_lowercase();
                words.iter().all(|w| hay.contains(w.as_str()))
            })
            .collect();
        let page: Vec<&Person> = matching.iter().skip(start).take(count).copied().collect();
        ResponseTemplate::new(200).set_body_raw(page_body(&page, start, count, matching.len()).to_string(), MEDIA_TYPE)
    }
}

fn error(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(json!({ "status": status }).to_string(), "application/json")
}

/// `li_at` equals the token and `csrf-token` equals the `JSESSIONID` cookie (unquoted).
fn authorized(req: &SeenRequest, token: &str) -> bool {
    let Some(cookie) = req.header("cookie") else { return false };
    let mut li_at = None;
    let mut jsessionid = None;
    for pair in cookie.split(';') {
        if let Some((name, value)) = pair.trim().split_once('=') {
            match name {
                "li_at" => li_at = Some(value),
                "JSESSIONID" => jsessionid = Some(value.trim_matches('"')),
                _ => {}
            }
        }
    }
    li_at == Some(token) && jsessionid.is_some_and(|j| !j.is_empty() && req.header("csrf-token") == Some(j))
}

fn page_body(page: &[&Person], start: usize, count: usize, total: usize) -> Value {
    let mut included = vec![
        json!({
            "$type": "com.linkedin.voyager.dash.search.SearchClusterViewModel",
            "entityUrn": format!("urn:li:fsd_searchCluster:(PEOPLE,{start})"),
            "title": { "text": "People" },
        }),
        json!({
            "$type": "com.linkedin.voyager.dash.feed.FollowingState",
            "entityUrn": "urn:li:fsd_followingState:urn:li:fsd_company:1",
            "following": false,
        }),
    ];
    for (i, p) in page.iter().enumerate() {
        let id = format!("ACoAAFake{:04}", start + i);
        included.push(json!({
            "$type": "com.linkedin.voyager.dash.search.EntityResultViewModel",
            "entityUrn": format!("urn:li:fsd_entityResultViewModel:(urn:li:fsd_profile:{id},SEARCH_SRP,DEFAULT)"),
            "template": "UNIVERSAL",
            "title": { "$type": "com.linkedin.voyager.dash.common.text.TextViewModel", "text": p.name, "attributesV2": [] },
            "primarySubtitle": { "$type": "com.linkedin.voyager.dash.common.text.TextViewModel", "text": p.headline },
            "secondarySubtitle": { "$type": "com.linkedin.voyager.dash.common.text.TextViewModel", "text": p.location },
            "navigationUrl": format!("https://www.linkedin.com/in/{}?miniProfileUrn=urn%3Ali%3Afs_miniProfile%3A{id}", p.slug),
            "trackingId": "ZmFrZQ==",
        }));
        // A profile entity with a similar shape but another type, which must be ignored.
        included.push(json!({
            "$type": "com.linkedin.voyager.dash.identity.profile.Profile",
            "entityUrn": format!("urn:li:fsd_profile:{id}"),
            "title": { "text": "not a search result" },
            "navigationUrl": "https://www.linkedin.com/in/not-a-result",
        }));
    }
    json!({
        "data": {
            "$type": "com.linkedin.restli.common.CollectionResponse",
            "paging": { "start": start, "count": count, "total": total, "links": [] },
            "*elements": [format!("urn:li:fsd_searchCluster:(PEOPLE,{start})")],
        },
        "included": included,
    })
}
