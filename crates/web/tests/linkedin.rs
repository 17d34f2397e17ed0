//! The real LinkedIn client against the fake Voyager server.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use web::linkedin_fake::{FAKE_TOKEN, FakeLinkedin};
use web::{LinkedinClient, LinkedinConfig, LinkedinError, PeopleQuery, Prospect};

async fn seeded() -> FakeLinkedin {
    let fake = FakeLinkedin::start().await;
    fake.add_person("Jane Doe", "Head of Sales at Acme Pte Ltd", "Singapore", "jane-doe-1a2b");
    fake.add_person("Raj Kumar", "Sales Director @ Globex | ex-Initech", "Kuala Lumpur, Malaysia", "rajkumar");
    fake.add_person("Mei Lin", "Freelance designer", "Singapore", "mei-lin");
    fake
}

fn client(fake: &FakeLinkedin) -> LinkedinClient {
    LinkedinClient::new(fake.config()).unwrap()
}

fn query(keywords: &str, limit: usize) -> PeopleQuery {
    PeopleQuery { limit, ..PeopleQuery::new(keywords) }
}

#[tokio::test]
async fn results_are_parsed() {
    let fake = seeded().await;
    let people = client(&fake).search_people(&query("singapore", 25)).await.unwrap();
    assert_eq!(
        people,
        vec![
            Prospect {
                name: "Jane Doe".into(),
                headline: Some("Head of Sales at Acme Pte Ltd".into()),
                company: Some("Acme Pte Ltd".into()),
                location: Some("Singapore".into()),
                profile_url: "https://www.linkedin.com/in/jane-doe-1a2b".into(),
            },
            Prospect {
                name: "Mei Lin".into(),
                headline: Some("Freelance designer".into()),
                company: None,
                location: Some("Singapore".into()),
                profile_url: "https://www.linkedin.com/in/mei-lin".into(),
            },
        ]
    );
}

#[tokio::test]
async fn request_carries_browser_like_headers_and_query() {
    let fake = seeded().await;
    client(&fake).search_people(&query("sales", 25)).await.unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/voyager/api/search/dash/clusters");
    assert_eq!(r.header("x-restli-protocol-version"), Some("2.0.0"));
    assert_eq!(r.header("accept"), Some("application/vnd.linkedin.normalized+json+2.1"));
    assert!(r.header("user-agent").unwrap().starts_with("Mozilla/5.0"));
    assert_eq!(r.param("q"), Some("all"));
    assert_eq!(r.param("origin"), Some("GLOBAL_SEARCH_HEADER"));
    assert_eq!(r.param("start"), Some("0"));
    assert_eq!(r.param("count"), Some("10"));
    assert!(r.param("query").unwrap().contains("resultType:List(PEOPLE)"));
    assert_eq!(r.keywords().as_deref(), Some("sales"));
}

#[tokio::test]
async fn keywords_filter_and_location_industry_are_appended() {
    let fake = seeded().await;
    let c = client(&fake);
    let sales = c.search_people(&query("SALES", 25)).await.unwrap();
    let names: Vec<_> = sales.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Jane Doe", "Raj Kumar"]);
    assert_eq!(sales[1].company.as_deref(), Some("Globex"));

    let q =
        PeopleQuery { location: Some("Kuala  Lumpur".into()), industry: Some("director".into()), ..query("sales", 25) };
    let found = c.search_people(&q).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Raj Kumar");
    assert_eq!(fake.requests().last().unwrap().keywords().as_deref(), Some("sales director Kuala Lumpur"));

    assert!(c.search_people(&query("nobody-matches", 25)).await.unwrap().is_empty());
}

#[tokio::test]
async fn paging_follows_start_up_to_the_limit() {
    let fake = FakeLinkedin::start().await;
    for i in 0..37 {
        fake.add_person(&format!("Person {i:02}"), &format!("Engineer at Co{i}"), "Berlin", &format!("p{i:02}"));
    }
    let c = client(&fake);

    let people = c.search_people(&query("engineer", 25)).await.unwrap();
    assert_eq!(people.len(), 25);
    assert_eq!(people[0].name, "Person 00");
    assert_eq!(people[24].profile_url, "https://www.linkedin.com/in/p24");
    let pages: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| (r.param("start").unwrap().to_owned(), r.param("count").unwrap().to_owned()))
        .collect();
    let expected = [("0", "10"), ("10", "10"), ("20", "5")];
    assert_eq!(pages, expected.map(|(s, c)| (s.to_owned(), c.to_owned())));

    // Fewer results than the limit: stops at LinkedIn's total without an extra empty page.
    let before = fake.requests().len();
    let all = c.search_people(&query("engineer", 50)).await.unwrap();
    assert_eq!(all.len(), 37);
    assert_eq!(fake.requests().len() - before, 4);

    // Limits are clamped to 1..=50.
    assert_eq!(c.search_people(&query("engineer", 0)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn token_only_cookie_gets_matching_jsessionid_and_csrf() {
    let fake = seeded().await;
    client(&fake).search_people(&query("sales", 5)).await.unwrap();
    let r = &fake.requests()[0];
    let cookie = r.header("cookie").unwrap();
    let csrf = r.header("csrf-token").unwrap();
    assert!(csrf.starts_with("ajax:") && csrf.len() == 5 + 19, "{csrf}");
    assert_eq!(cookie, format!("li_at={FAKE_TOKEN}; JSESSIONID=\"{csrf}\""));
}

#[tokio::test]
async fn full_cookie_string_is_used() {
    let fake = seeded().await;
    let full = format!(
        "bcookie=\"v=2&abc\"; li_at={FAKE_TOKEN}; JSESSIONID=\"ajax:1234567890123456789\"; lang=v=2&lang=en-us"
    );
    let c = LinkedinClient::new(fake.config_with_cookie(full)).unwrap();
    assert_eq!(c.search_people(&query("sales", 5)).await.unwrap().len(), 2);
    let r = &fake.requests()[0];
    assert_eq!(r.header("csrf-token"), Some("ajax:1234567890123456789"));
    assert_eq!(r.header("cookie").unwrap(), format!("li_at={FAKE_TOKEN}; JSESSIONID=\"ajax:1234567890123456789\""));
}

#[tokio::test]
async fn wrong_token_or_csrf_mismatch_is_session_expired() {
    let fake = seeded().await;
    let wrong = LinkedinClient::new(fake.config_with_cookie("AQEDAwrongtoken")).unwrap();
    assert_eq!(wrong.search_people(&query("sales", 5)).await.unwrap_err(), LinkedinError::SessionExpired);

    // The client always sends csrf-token equal to the JSESSIONID cookie, so a mismatch (which the
    // client would map, as any 403, to SessionExpired) is checked against the fake directly.
    let http = reqwest::Client::new();
    let url = format!(
        "{}/voyager/api/search/dash/clusters?decorationId=x&q=all&query=(keywords:sales,queryParameters:(resultType:List(PEOPLE)))&start=0&count=10",
        fake.uri()
    );
    let resp = http
        .get(&url)
        .header("cookie", format!("li_at={FAKE_TOKEN}; JSESSIONID=\"ajax:111\""))
        .header("csrf-token", "ajax:222")
        .header("x-restli-protocol-version", "2.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(resp.text().await.unwrap(), r#"{"status":403}"#);

    // An empty JSESSIONID in the cookie string is replaced by a generated one.
    let ok = LinkedinClient::new(fake.config_with_cookie(format!("li_at={FAKE_TOKEN}; JSESSIONID=\"\""))).unwrap();
    assert_eq!(ok.search_people(&query("sales", 5)).await.unwrap().len(), 2);
}

#[tokio::test]
async fn expired_session_redirect_is_session_expired() {
    let fake = seeded().await;
    fake.expire_session();
    let err = client(&fake).search_people(&query("sales", 5)).await.unwrap_err();
    assert_eq!(err, LinkedinError::SessionExpired);
    assert_eq!(
        err.to_string(),
        "the LinkedIn session cookie is no longer valid; an administrator must refresh LINKEDIN_COOKIE"
    );
    // The redirect was not followed.
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn status_999_and_429_are_rate_limited() {
    let fake = seeded().await;
    let c = client(&fake);
    fake.throttle_next();
    assert_eq!(
        c.search_people(&query("sales", 5)).await.unwrap_err(),
        LinkedinError::RateLimited { retry_after: None }
    );
    // Only once.
    assert_eq!(c.search_people(&query("sales", 5)).await.unwrap().len(), 2);

    fake.rate_limit_next(Some(120));
    let err = c.search_people(&query("sales", 5)).await.unwrap_err();
    assert_eq!(err, LinkedinError::RateLimited { retry_after: Some(Duration::from_secs(120)) });
}

#[tokio::test]
async fn bad_json_is_decode_error_and_bad_status_is_status() {
    let fake = seeded().await;
    fake.malformed_next();
    let err = client(&fake).search_people(&query("sales", 5)).await.unwrap_err();
    assert!(matches!(err, LinkedinError::Decode(_)), "{err:?}");

    // The fake answers 404 off the search path: a wrong base path surfaces as Status.
    let cfg = LinkedinConfig { base_url: format!("{}/prefix/", fake.uri()), ..fake.config() };
    let err = LinkedinClient::new(cfg).unwrap().search_people(&query("sales", 5)).await.unwrap_err();
    assert_eq!(err, LinkedinError::Status { status: 404 });
}

/// An origin nobody listens on (wiremock pools its servers, so a dropped fake may still answer).
fn closed_origin() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn transport_failure_is_transport() {
    let fake = seeded().await;
    let cfg = LinkedinConfig { base_url: closed_origin(), ..fake.config() };
    let err = LinkedinClient::new(cfg).unwrap().search_people(&query("sales", 5)).await.unwrap_err();
    assert!(matches!(err, LinkedinError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn invalid_config_and_query_are_refused() {
    for cookie in ["", "JSESSIONID=ajax:1", "li_at=has space"] {
        let err = LinkedinClient::new(LinkedinConfig::new(cookie)).unwrap_err();
        assert!(matches!(err, LinkedinError::Config(_)), "{cookie:?}: {err:?}");
    }
    let cfg = LinkedinConfig { base_url: "ftp://example.com".into(), ..LinkedinConfig::new("tok") };
    assert!(matches!(LinkedinClient::new(cfg).unwrap_err(), LinkedinError::Config(_)));

    let fake = seeded().await;
    let err = client(&fake).search_people(&PeopleQuery::new("  ")).await.unwrap_err();
    assert!(matches!(err, LinkedinError::InvalidQuery(_)));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn cookie_never_appears_in_errors_or_debug() {
    let fake = seeded().await;
    let full = format!("li_at={FAKE_TOKEN}; JSESSIONID=\"ajax:9876543210987654321\"");
    let cfg = fake.config_with_cookie(full);
    let c = LinkedinClient::new(cfg.clone()).unwrap();
    for text in [format!("{cfg:?}"), format!("{c:?}")] {
        assert!(!text.contains(FAKE_TOKEN) && !text.contains("9876543210987654321"), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }

    let mut errors = Vec::new();
    fake.throttle_next();
    errors.push(c.search_people(&query("sales", 5)).await.unwrap_err());
    fake.malformed_next();
    errors.push(c.search_people(&query("sales", 5)).await.unwrap_err());
    fake.expire_session();
    errors.push(c.search_people(&query("sales", 5)).await.unwrap_err());
    errors.push(LinkedinClient::new(LinkedinConfig::new(format!("li_at={FAKE_TOKEN}\u{7f}"))).unwrap_err());
    let dead = LinkedinConfig { base_url: closed_origin(), ..fake.config() };
    errors.push(LinkedinClient::new(dead).unwrap().search_people(&query("sales", 5)).await.unwrap_err());
    for e in &errors {
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(FAKE_TOKEN) && !text.contains("9876543210987654321"), "{text}");
        }
    }
}
