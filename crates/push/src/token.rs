//! OAuth 2.0 access tokens for a service account: a self-signed RS256 JWT exchanged at the
//! token endpoint (the "JWT bearer" grant), cached until a minute before it expires.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::{PushError, client::http_error, client::transport_error};

/// The scope FCM HTTP v1 needs.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The OAuth grant type of a JWT assertion.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime of the signed assertion (Google's maximum).
const ASSERTION_LIFETIME_SECS: i64 = 3600;
/// A cached token is replaced this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// The assertion's claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub scope: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
    token_type: Option<String>,
}

#[derive(Deserialize)]
struct TokenErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: String,
}

struct Cached {
    value: String,
    /// When to stop reusing it (expiry minus the margin).
    fresh_until: Instant,
}

pub(crate) struct TokenSource {
    http: reqwest::Client,
    key: EncodingKey,
    key_id: String,
    client_email: String,
    token_uri: String,
    cache: Mutex<Option<Cached>>,
}

impl TokenSource {
    pub(crate) fn new(
        http: reqwest::Client,
        key: EncodingKey,
        key_id: String,
        client_email: String,
        token_uri: String,
    ) -> Self {
        TokenSource { http, key, key_id, client_email, token_uri, cache: Mutex::new(None) }
    }

    /// A usable access token: the cached one while fresh, else a new one. The lock is held
    /// while fetching, so concurrent callers wait for one refresh instead of each doing one.
    pub(crate) async fn get(&self) -> Result<String, PushError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && Instant::now() < cached.fresh_until
        {
            return Ok(cached.value.clone());
        }
        *cache = None;
        let (value, expires_in) = self.fetch().await?;
        // A token living no longer than the margin is used for this request only.
        let fresh_until = Instant::now() + expires_in.saturating_sub(EXPIRY_MARGIN);
        *cache = Some(Cached { value: value.clone(), fresh_until });
        Ok(value)
    }

    /// Forgets `used` (refused by FCM) unless it has already been replaced.
    pub(crate) async fn invalidate(&self, used: &str) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|c| c.value == used) {
            *cache = None;
        }
    }

    fn assertion(&self) -> Result<String, PushError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key_id.clone());
        let iat = chrono::Utc::now().timestamp();
        let claims = AssertionClaims {
            iss: self.client_email.clone(),
            scope: FCM_SCOPE.into(),
            aud: self.token_uri.clone(),
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| PushError::Auth { message: format!("signing the token assertion: {e}") })
    }

    async fn fetch(&self) -> Result<(String, Duration), PushError> {
        let assertion = self.assertion()?;
        tracing::debug!(token_uri = %self.token_uri, "fetching an FCM access token");
        let response = self
            .http
            .post(&self.token_uri)
            .form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", assertion.as_str())])
            .send()
            .await
            .map_err(|e| transport_error("token endpoint", &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| transport_error("token endpoint", &e))?;
        if !(200..300).contains(&status) {
            return Err(token_error(status, &headers, &body));
        }
        let answer: TokenAnswer = serde_json::from_str(&body)
            .map_err(|e| PushError::Decode { message: format!("token endpoint answer: {e}") })?;
        if answer.access_token.is_empty() {
            return Err(PushError::Decode { message: "token endpoint answered an empty access_token".into() });
        }
        if let Some(kind) = answer.token_type.as_deref()
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(PushError::Decode { message: format!("token endpoint answered token_type {kind:?}") });
        }
        Ok((answer.access_token, Duration::from_secs(answer.expires_in.unwrap_or(3600))))
    }
}

/// OAuth error answers (`{"error":"invalid_grant","error_description":"..."}`): 4xx are
/// credential problems (`Auth`); 5xx and 429 are transient.
fn token_error(status: u16, headers: &reqwest::header::HeaderMap, body: &str) -> PushError {
    let described = serde_json::from_str::<TokenErrorAnswer>(body).ok().map(|e| {
        if e.error_description.is_empty() { e.error } else { format!("{}: {}", e.error, e.error_description) }
    });
    match (status, described) {
        (400..=499, Some(message)) if status != 429 => {
            PushError::Auth { message: format!("token endpoint refused the service account ({message})") }
        }
        _ => http_error(status, headers, body),
    }
}
