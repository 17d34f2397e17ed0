//! Bot Framework bearer-token verification against a loopback OpenID/JWKS server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use webhooks::{BotFrameworkConfig, BotFrameworkVerifier, JwtFailure, VerifyError};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: i64 = 1_700_000_000;
const APP_ID: &str = "6f3c1e2a-0000-4000-8000-00000000b07";
const ISSUER: &str = "https://api.botframework.com";
const SERVICE_URL: &str = "https://smba.trafficmanager.net/amer/";
const KID: &str = "bot-key-1";
const METADATA_PATH: &str = "/v1/.well-known/openidconfiguration";
const JWKS_PATH: &str = "/keys";
const DAY: i64 = 24 * 3600;

const BOT_KEY_PEM: &str = include_str!("fixtures/test_only_bot_key.pem");
const BOT_PUB_PEM: &str = include_str!("fixtures/test_only_bot_key.pub.pem");
const BOT_N: &str = include_str!("fixtures/test_only_bot_key.n.b64url");
const OTHER_KEY_PEM: &str = include_str!("fixtures/test_only_other_key.pem");
const OTHER_N: &str = include_str!("fixtures/test_only_other_key.n.b64url");

fn jwk(kid: &str, n: &str, endorsements: &[&str]) -> Value {
    json!({"kty": "RSA", "use": "sig", "kid": kid, "n": n.trim(), "e": "AQAB", "x5t": kid,
           "endorsements": endorsements})
}

fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

fn default_jwks() -> Value {
    jwks(&[jwk(KID, BOT_N, &["msteams", "webchat"])])
}

fn good_claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": APP_ID,
        "exp": NOW + 3600,
        "nbf": NOW - 60,
        "serviceurl": SERVICE_URL,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn sign(claims: &Value, kid: &str, private_pem: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap()).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn good_token() -> String {
    sign(&good_claims(), KID, BOT_KEY_PEM)
}

struct Fake {
    server: MockServer,
    verifier: BotFrameworkVerifier,
}

impl Fake {
    async fn start(jwks: Value) -> Self {
        let server = MockServer::start().await;
        mount_metadata(&server).await;
        Mock::given(method("GET"))
            .and(path(JWKS_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
            .mount(&server)
            .await;
        let verifier = verifier_for(&server, APP_ID);
        Self { server, verifier }
    }

    async fn count(&self, p: &str) -> usize {
        count(&self.server, p).await
    }

    async fn verify(&self, token: &str, now: i64) -> Result<webhooks::BotClaims, VerifyError> {
        self.verifier.verify(Some(&bearer(token)), SERVICE_URL, now).await
    }
}

async fn mount_metadata(server: &MockServer) {
    let metadata = json!({
        "issuer": ISSUER,
        "authorization_endpoint": "https://invalid.botframework.com",
        "jwks_uri": format!("{}{JWKS_PATH}", server.uri()),
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
    });
    Mock::given(method("GET"))
        .and(path(METADATA_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata))
        .mount(server)
        .await;
}

fn verifier_for(server: &MockServer, app_id: &str) -> BotFrameworkVerifier {
    let config = BotFrameworkConfig::new(app_id).with_metadata_url(format!("{}{METADATA_PATH}", server.uri()));
    BotFrameworkVerifier::new(config).unwrap()
}

async fn count(server: &MockServer, p: &str) -> usize {
    server.received_requests().await.unwrap().iter().filter(|r| r.url.path() == p).count()
}

fn jwt_err(f: JwtFailure) -> Result<webhooks::BotClaims, VerifyError> {
    Err(VerifyError::Jwt(f))
}

#[tokio::test]
async fn valid_token_is_accepted_with_claims() {
    let fake = Fake::start(default_jwks()).await;
    let claims = fake.verify(&good_token(), NOW).await.unwrap();
    assert_eq!(claims.issuer, ISSUER);
    assert_eq!(claims.audience, APP_ID);
    assert_eq!(claims.service_url, SERVICE_URL);
    assert_eq!(claims.expires_at, NOW + 3600);
    assert_eq!(claims.not_before, Some(NOW - 60));
    assert_eq!(claims.key_id, KID);
    assert_eq!(claims.endorsements, ["msteams", "webchat"]);
    assert_eq!(claims.claims.get("serviceurl"), Some(&json!(SERVICE_URL)));
    // Lowercase scheme, camelCase claim spelling, array audience are all fine too.
    let alt = without(with(good_claims(), "serviceUrl", json!(SERVICE_URL)), "serviceurl");
    let alt = with(alt, "aud", json!(["someone-else", APP_ID]));
    let token = sign(&alt, KID, BOT_KEY_PEM);
    assert!(fake.verifier.verify(Some(&format!("bearer {token}")), SERVICE_URL, NOW).await.is_ok());
}

#[tokio::test]
async fn metadata_and_keys_are_cached_for_24h() {
    let fake = Fake::start(default_jwks()).await;
    let long_lived = sign(&with(good_claims(), "exp", json!(NOW + 3 * DAY)), KID, BOT_KEY_PEM);
    for i in 0..20 {
        fake.verify(&long_lived, NOW + i * 3600).await.unwrap();
    }
    assert_eq!(fake.count(METADATA_PATH).await, 1);
    assert_eq!(fake.count(JWKS_PATH).await, 1);
    // Just before the TTL: still cached. At the TTL: metadata and keys fetched again.
    fake.verify(&long_lived, NOW + DAY - 1).await.unwrap();
    assert_eq!((fake.count(METADATA_PATH).await, fake.count(JWKS_PATH).await), (1, 1));
    fake.verify(&long_lived, NOW + DAY).await.unwrap();
    assert_eq!((fake.count(METADATA_PATH).await, fake.count(JWKS_PATH).await), (2, 2));
    fake.verify(&long_lived, NOW + DAY + 5).await.unwrap();
    assert_eq!((fake.count(METADATA_PATH).await, fake.count(JWKS_PATH).await), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_start_fetches_once() {
    let fake = Arc::new(Fake::start(default_jwks()).await);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let fake = Arc::clone(&fake);
            tokio::spawn(async move { fake.verify(&good_token(), NOW).await.is_ok() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
    assert_eq!(fake.count(METADATA_PATH).await, 1);
    assert_eq!(fake.count(JWKS_PATH).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_keys_keep_working_during_a_slow_refetch() {
    let server = MockServer::start().await;
    mount_metadata(&server).await;
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(default_jwks()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(default_jwks()).set_delay(std::time::Duration::from_secs(3)),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let verifier = Arc::new(verifier_for(&server, APP_ID));
    verifier.verify(Some(&bearer(&good_token())), SERVICE_URL, NOW).await.unwrap();

    // An unknown kid starts a (slow) refetch ...
    let slow = {
        let verifier = Arc::clone(&verifier);
        tokio::spawn(async move {
            let forged = sign(&good_claims(), "attacker-kid", OTHER_KEY_PEM);
            verifier.verify(Some(&bearer(&forged)), SERVICE_URL, NOW + 1).await
        })
    };
    while count(&server, JWKS_PATH).await < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // ... during which a token signed by a cached key is verified without waiting for it.
    let quick = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        verifier.verify(Some(&bearer(&good_token())), SERVICE_URL, NOW + 2),
    )
    .await;
    assert!(matches!(quick, Ok(Ok(_))), "{quick:?}");
    assert_eq!(slow.await.unwrap(), jwt_err(JwtFailure::UnknownKey));
}

#[tokio::test]
async fn wrong_or_missing_issuer_is_rejected() {
    let fake = Fake::start(default_jwks()).await;
    for iss in [json!("https://sts.windows.net/evil/"), json!("https://api.botframework.com/"), json!(null)] {
        let token = sign(&with(good_claims(), "iss", iss.clone()), KID, BOT_KEY_PEM);
        assert_eq!(fake.verify(&token, NOW).await, jwt_err(JwtFailure::Issuer), "{iss}");
    }
    let token = sign(&without(good_claims(), "iss"), KID, BOT_KEY_PEM);
    assert_eq!(fake.verify(&token, NOW).await, jwt_err(JwtFailure::Issuer));
}

#[tokio::test]
async fn wrong_or_missing_audience_is_rejected() {
    let fake = Fake::start(default_jwks()).await;
    for aud in [json!("another-bot"), json!(["another-bot"]), json!([]), json!("")] {
        let token = sign(&with(good_claims(), "aud", aud.clone()), KID, BOT_KEY_PEM);
        assert_eq!(fake.verify(&token, NOW).await, jwt_err(JwtFailure::Audience), "{aud}");
    }
    let token = sign(&without(good_claims(), "aud"), KID, BOT_KEY_PEM);
    assert_eq!(fake.verify(&token, NOW).await, jwt_err(JwtFailure::Audience));
    // Same token, verifier configured for another app.
    let other = verifier_for(&fake.server, "another-bot");
    assert_eq!(other.verify(Some(&bearer(&good_token())), SERVICE_URL, NOW).await, jwt_err(JwtFailure::Audience));
}

#[tokio::test]
async fn expiry_with_five_minute_skew() {
    let fake = Fake::start(default_jwks()).await;
    let exp_at = |exp: i64| sign(&with(good_claims(), "exp", json!(exp)), KID, BOT_KEY_PEM);
    assert!(fake.verify(&exp_at(NOW - 300), NOW).await.is_ok(), "300 s past exp is within skew");
    assert_eq!(fake.verify(&exp_at(NOW - 301), NOW).await, jwt_err(JwtFailure::Expired));
    assert_eq!(fake.verify(&exp_at(NOW - DAY), NOW).await, jwt_err(JwtFailure::Expired));
    // Same token, clock moved on: `now` is honoured (not the wall clock).
    assert!(fake.verify(&good_token(), NOW + 3600 + 300).await.is_ok());
    assert_eq!(fake.verify(&good_token(), NOW + 3600 + 301).await, jwt_err(JwtFailure::Expired));
    let token = sign(&without(good_claims(), "exp"), KID, BOT_KEY_PEM);
    assert_eq!(fake.verify(&token, NOW).await, jwt_err(JwtFailure::MissingExpiry));
    let token = sign(&with(good_claims(), "exp", json!("tomorrow")), KID, BOT_KEY_PEM);
    assert!(matches!(fake.verify(&token, NOW).await, Err(VerifyError::Jwt(_))));
}

#[tokio::test]
async fn not_yet_valid_with_five_minute_skew() {
    let fake = Fake::start(default_jwks()).await;
    let nbf_at = |nbf: i64| sign(&with(good_claims(), "nbf", json!(nbf)), KID, BOT_KEY_PEM);
    assert!(fake.verify(&nbf_at(NOW + 300), NOW).await.is_ok(), "nbf 300 s ahead is within skew");
    assert_eq!(fake.verify(&nbf_at(NOW + 301), NOW).await, jwt_err(JwtFailure::NotYetValid));
    assert_eq!(fake.verify(&nbf_at(NOW + DAY), NOW).await, jwt_err(JwtFailure::NotYetValid));
    // nbf is optional.
    let token = sign(&without(good_claims(), "nbf"), KID, BOT_KEY_PEM);
    assert_eq!(fake.verify(&token, NOW).await.unwrap().not_before, None);
}

#[tokio::test]
async fn unknown_kid_refetches_once_then_is_rate_limited() {
    let fake = Fake::start(default_jwks()).await;
    fake.verify(&good_token(), NOW).await.unwrap();
    assert_eq!(fake.count(JWKS_PATH).await, 1);

    let forged = sign(&good_claims(), "attacker-kid-1", OTHER_KEY_PEM);
    assert_eq!(fake.verify(&forged, NOW + 10).await, jwt_err(JwtFailure::UnknownKey));
    assert_eq!(fake.count(JWKS_PATH).await, 2, "one refetch for the unknown kid");

    // Within the refetch window: no more fetches, whatever the kid.
    for (i, kid) in ["attacker-kid-1", "attacker-kid-2", "attacker-kid-3"].iter().enumerate() {
        let forged = sign(&good_claims(), kid, OTHER_KEY_PEM);
        assert_eq!(fake.verify(&forged, NOW + 20 + i as i64).await, jwt_err(JwtFailure::UnknownKey));
    }
    assert_eq!(fake.verify(&forged, NOW + 10 + 299).await, jwt_err(JwtFailure::UnknownKey));
    assert_eq!(fake.count(JWKS_PATH).await, 2, "rate limited");
    assert_eq!(fake.count(METADATA_PATH).await, 1, "unknown kid refetches keys only");
    // Known keys keep working meanwhile.
    assert!(fake.verify(&good_token(), NOW + 30).await.is_ok());

    // After the window, one more refetch is allowed.
    assert_eq!(fake.verify(&forged, NOW + 10 + 300).await, jwt_err(JwtFailure::UnknownKey));
    assert_eq!(fake.count(JWKS_PATH).await, 3);
}

#[tokio::test]
async fn rotated_key_is_picked_up_by_the_unknown_kid_refetch() {
    let server = MockServer::start().await;
    mount_metadata(&server).await;
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(default_jwks()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(jwks(&[jwk(KID, BOT_N, &["msteams"]), jwk("bot-key-2", OTHER_N, &["msteams"])])),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let verifier = verifier_for(&server, APP_ID);
    verifier.verify(Some(&bearer(&good_token())), SERVICE_URL, NOW).await.unwrap();
    let rotated = sign(&good_claims(), "bot-key-2", OTHER_KEY_PEM);
    let claims = verifier.verify(Some(&bearer(&rotated)), SERVICE_URL, NOW + 5).await.unwrap();
    assert_eq!(claims.key_id, "bot-key-2");
    assert_eq!(count(&server, JWKS_PATH).await, 2);
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let fake = Fake::start(default_jwks()).await;
    let payload = URL_SAFE_NO_PAD.encode(good_claims().to_string());
    for header in [json!({"alg": "none", "kid": KID}), json!({"alg": "None", "kid": KID}), json!({"kid": KID})] {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        for token in [format!("{h}.{payload}."), format!("{h}.{payload}.c2ln")] {
            assert!(
                matches!(
                    fake.verify(&token, NOW).await,
                    Err(VerifyError::Jwt(JwtFailure::Algorithm | JwtFailure::Malformed))
                ),
                "{header}"
            );
        }
    }
    let h = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": KID}).to_string());
    assert_eq!(fake.verify(&format!("{h}.{payload}."), NOW).await, jwt_err(JwtFailure::Algorithm));
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    // The classic RS/HS confusion: HMAC keyed with the public key the verifier knows.
    let fake = Fake::start(default_jwks()).await;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.to_owned());
    for secret in [BOT_PUB_PEM.as_bytes(), BOT_N.trim().as_bytes()] {
        let token = jsonwebtoken::encode(&header, &good_claims(), &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(fake.verify(&token, NOW).await, jwt_err(JwtFailure::Algorithm));
    }
}

#[tokio::test]
async fn other_rsa_algorithms_are_rejected() {
    let fake = Fake::start(default_jwks()).await;
    for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256] {
        let mut header = Header::new(alg);
        header.kid = Some(KID.to_owned());
        let key = EncodingKey::from_rsa_pem(BOT_KEY_PEM.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&header, &good_claims(), &key).unwrap();
        assert_eq!(fake.verify(&token, NOW).await, jwt_err(JwtFailure::Algorithm), "{alg:?}");
    }
}

#[tokio::test]
async fn wrong_key_or_tampered_token_fails_signature() {
    let fake = Fake::start(default_jwks()).await;
    // Known kid, but signed by another key.
    let forged = sign(&good_claims(), KID, OTHER_KEY_PEM);
    assert_eq!(fake.verify(&forged, NOW).await, jwt_err(JwtFailure::Signature));
    // Payload swapped after signing (audience changed to ours from someone else's token).
    let theirs = sign(&with(good_claims(), "aud", json!("another-bot")), KID, BOT_KEY_PEM);
    let ours = good_token();
    let mut t: Vec<&str> = theirs.split('.').collect();
    t[1] = ours.split('.').nth(1).unwrap();
    assert_eq!(fake.verify(&t.join("."), NOW).await, jwt_err(JwtFailure::Signature));
    // Signature removed.
    let (head, _) = ours.rsplit_once('.').unwrap();
    assert!(fake.verify(&format!("{head}."), NOW).await.is_err());
}

#[tokio::test]
async fn service_url_must_match() {
    let fake = Fake::start(default_jwks()).await;
    let token = good_token();
    for activity_url in
        ["https://evil.example/", "https://smba.trafficmanager.net/amer", "https://smba.trafficmanager.net/emea/", ""]
    {
        assert_eq!(
            fake.verifier.verify(Some(&bearer(&token)), activity_url, NOW).await,
            jwt_err(JwtFailure::ServiceUrl),
            "{activity_url:?}"
        );
    }
    let token = sign(&without(good_claims(), "serviceurl"), KID, BOT_KEY_PEM);
    assert_eq!(fake.verify(&token, NOW).await, jwt_err(JwtFailure::ServiceUrl));
    // Both spellings present and disagreeing: rejected.
    let token = sign(&with(good_claims(), "serviceUrl", json!("https://evil.example/")), KID, BOT_KEY_PEM);
    assert_eq!(fake.verify(&token, NOW).await, jwt_err(JwtFailure::ServiceUrl));
}

#[tokio::test]
async fn channel_endorsement() {
    let fake = Fake::start(default_jwks()).await;
    let auth = bearer(&good_token());
    assert!(fake.verifier.verify_for_channel(Some(&auth), SERVICE_URL, "msteams", NOW).await.is_ok());
    assert_eq!(
        fake.verifier.verify_for_channel(Some(&auth), SERVICE_URL, "slack", NOW).await,
        jwt_err(JwtFailure::Endorsement)
    );
}

#[tokio::test]
async fn missing_or_malformed_authorization() {
    let fake = Fake::start(default_jwks()).await;
    let v = &fake.verifier;
    assert_eq!(v.verify(None, SERVICE_URL, NOW).await, Err(VerifyError::MissingHeader("Authorization".into())));
    assert_eq!(v.verify(Some(" "), SERVICE_URL, NOW).await, Err(VerifyError::MissingHeader("Authorization".into())));
    let token = good_token();
    for bad in [format!("Basic {token}"), token.clone(), "Bearer ".to_owned(), format!("HMAC {token}")] {
        assert!(matches!(v.verify(Some(&bad), SERVICE_URL, NOW).await, Err(VerifyError::Malformed(_))), "{bad}");
    }
    for bad in ["Bearer abc", "Bearer a.b", "Bearer a.b.c.d", "Bearer !!!.e30.sig"] {
        assert_eq!(v.verify(Some(bad), SERVICE_URL, NOW).await, jwt_err(JwtFailure::Malformed), "{bad}");
    }
    // Header without kid.
    let header = Header::new(Algorithm::RS256);
    let key = EncodingKey::from_rsa_pem(BOT_KEY_PEM.as_bytes()).unwrap();
    let no_kid = jsonwebtoken::encode(&header, &good_claims(), &key).unwrap();
    assert_eq!(fake.verify(&no_kid, NOW).await, jwt_err(JwtFailure::MissingKeyId));
    // None of this needed the keys.
    assert_eq!(fake.count(JWKS_PATH).await, 0);
}

#[tokio::test]
async fn unreachable_keys_give_keys_unavailable_with_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path(METADATA_PATH)).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let verifier = verifier_for(&server, APP_ID);
    let auth = bearer(&good_token());
    assert_eq!(verifier.verify(Some(&auth), SERVICE_URL, NOW).await, Err(VerifyError::KeysUnavailable));
    assert_eq!(VerifyError::KeysUnavailable.http_status(), 503);
    // Within the 30 s failure backoff: no new fetch.
    assert_eq!(verifier.verify(Some(&auth), SERVICE_URL, NOW + 29).await, Err(VerifyError::KeysUnavailable));
    assert_eq!(count(&server, METADATA_PATH).await, 1);
    // After the backoff, and with the endpoint back, it recovers.
    server.reset().await;
    mount_metadata(&server).await;
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(default_jwks()))
        .mount(&server)
        .await;
    assert!(verifier.verify(Some(&auth), SERVICE_URL, NOW + 30).await.is_ok());
}

#[tokio::test]
async fn bad_jwks_documents_give_keys_unavailable() {
    for body in [json!({"keys": []}), json!({"keys": [{"kty": "EC", "kid": KID}]}), json!({"nokeys": 1})] {
        let fake = Fake::start(body.clone()).await;
        assert_eq!(fake.verify(&good_token(), NOW).await, Err(VerifyError::KeysUnavailable), "{body}");
    }
}

#[tokio::test]
async fn expired_cache_serves_stale_keys_while_refresh_fails() {
    let fake = Fake::start(default_jwks()).await;
    fake.verify(&good_token(), NOW).await.unwrap();
    fake.server.reset().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).mount(&fake.server).await;
    // 25 h later the cache has expired and the refresh fails: the expired key still serves.
    let later = NOW + DAY + 3600;
    let token = sign(&with(good_claims(), "exp", json!(later + 600)), KID, BOT_KEY_PEM);
    assert!(fake.verify(&token, later).await.is_ok());
    assert_eq!(fake.count(METADATA_PATH).await, 1, "one failed refresh attempt");
    // Beyond TTL + stale-if-error (48 h): unavailable.
    let much_later = NOW + 2 * DAY + 1;
    let token = sign(&with(good_claims(), "exp", json!(much_later + 600)), KID, BOT_KEY_PEM);
    assert_eq!(fake.verify(&token, much_later).await, Err(VerifyError::KeysUnavailable));
}

#[tokio::test]
async fn empty_app_id_is_a_configuration_error() {
    let fake = Fake::start(default_jwks()).await;
    let verifier = verifier_for(&fake.server, " ");
    assert_eq!(
        verifier.verify(Some(&bearer(&good_token())), SERVICE_URL, NOW).await,
        Err(VerifyError::NoSecretConfigured)
    );
}
