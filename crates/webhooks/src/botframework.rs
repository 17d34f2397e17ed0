//! Bot Framework (Teams bot) bearer-token verification with a cached OpenID/JWKS key set.
//!
//! Implements Microsoft's "Authenticate requests from the Bot Connector service to your bot":
//! `Authorization: Bearer <jwt>`, RS256 only, signed by a key listed at the `jwks_uri` of the
//! OpenID metadata document, `iss` = `https://api.botframework.com`, `aud` = the bot's app id,
//! `exp`/`nbf` with 5 minutes of clock skew, and the `serviceurl` claim equal to the activity's
//! `serviceUrl`. Optionally (`verify_for_channel`) the key's `endorsements` must list the
//! activity's `channelId`.
//!
//! Key cache (all times are the injected `now`, unix seconds):
//! - metadata + keys are fetched on first use and kept `cache_ttl_secs` (24 h);
//! - an unknown `kid` on a fresh cache triggers one JWKS refetch, at most once per
//!   `unknown_kid_refetch_interval_secs` (5 min): an attacker sending random `kid`s cannot
//!   make us fetch per request;
//! - after a failed fetch no new fetch is attempted for `failure_backoff_secs`; meanwhile (and
//!   on the failure itself) expired keys keep serving for up to `stale_if_error_secs` past the
//!   TTL, otherwise the result is [`VerifyError::KeysUnavailable`];
//! - fetches are serialised (one in flight), so a cold start under load fetches once; the
//!   cache itself is never locked across a fetch, so cached keys keep verifying meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{JwtFailure, VerifyError};

/// Bot Framework's OpenID metadata for channel → bot tokens.
pub const DEFAULT_OPENID_METADATA_URL: &str = "https://login.botframework.com/v1/.well-known/openidconfiguration";
/// The issuer of channel → bot tokens.
pub const BOT_FRAMEWORK_ISSUER: &str = "https://api.botframework.com";
/// Largest metadata/JWKS document accepted.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Configuration of [`BotFrameworkVerifier`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotFrameworkConfig {
    /// The bot's Microsoft App ID: the required `aud`.
    pub app_id: String,
    /// OpenID metadata document URL (its `jwks_uri` lists the keys).
    pub openid_metadata_url: String,
    /// Required `iss`.
    pub issuer: String,
    /// Clock skew allowed on `exp` and `nbf`, seconds (300).
    pub clock_skew_secs: i64,
    /// How long fetched metadata and keys are used, seconds (86 400).
    pub cache_ttl_secs: i64,
    /// Minimum time between two JWKS refetches caused by unknown `kid`s, seconds (300).
    pub unknown_kid_refetch_interval_secs: i64,
    /// After a failed fetch, no new fetch for this long, seconds (30).
    pub failure_backoff_secs: i64,
    /// How long past the TTL expired keys still serve while fetching fails, seconds (86 400).
    pub stale_if_error_secs: i64,
    /// Timeout of each HTTP request (10 s).
    pub http_timeout: Duration,
}

impl BotFrameworkConfig {
    /// Defaults for Bot Framework's public cloud.
    pub fn new(app_id: impl Into<String>) -> Self {
        Self {
            app_id: app_id.into(),
            openid_metadata_url: DEFAULT_OPENID_METADATA_URL.to_owned(),
            issuer: BOT_FRAMEWORK_ISSUER.to_owned(),
            clock_skew_secs: 300,
            cache_ttl_secs: 24 * 3600,
            unknown_kid_refetch_interval_secs: 300,
            failure_backoff_secs: 30,
            stale_if_error_secs: 24 * 3600,
            http_timeout: Duration::from_secs(10),
        }
    }

    /// The same with another metadata URL (tests, sovereign clouds).
    pub fn with_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.openid_metadata_url = url.into();
        self
    }
}

/// The claims of a validated Bot Framework token.
#[derive(Debug, Clone, PartialEq)]
pub struct BotClaims {
    /// `iss` (the configured issuer).
    pub issuer: String,
    /// The audience that matched (the configured app id).
    pub audience: String,
    /// The `serviceurl` claim (equal to the activity's `serviceUrl`).
    pub service_url: String,
    /// `exp`, unix seconds.
    pub expires_at: i64,
    /// `nbf`, unix seconds, if present.
    pub not_before: Option<i64>,
    /// `kid` of the signing key.
    pub key_id: String,
    /// The signing key's `endorsements` (channel ids), as published.
    pub endorsements: Vec<String>,
    /// Every claim of the token.
    pub claims: Map<String, Value>,
}

/// Verifies `Authorization: Bearer` tokens sent by the Bot Connector service. Cheap to share
/// (`Arc`); keeps its key cache inside.
#[derive(Debug)]
pub struct BotFrameworkVerifier {
    config: BotFrameworkConfig,
    http: reqwest::Client,
    cache: std::sync::Mutex<KeyCache>,
    fetch_lock: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct KeyCache {
    jwks_uri: Option<String>,
    keys: HashMap<String, Arc<CachedKey>>,
    /// Last successful fetch.
    fetched_at: Option<i64>,
    /// Last refetch caused by an unknown kid.
    last_forced: Option<i64>,
    /// Time of the last fetch attempt if it failed (`None` after a success).
    last_failure: Option<i64>,
    /// Bumped on every fetch attempt.
    generation: u64,
}

impl KeyCache {
    fn is_fresh(&self, now: i64, ttl: i64) -> bool {
        self.fetched_at.is_some_and(|t| now.saturating_sub(t) < ttl)
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("jwks_uri", &self.jwks_uri)
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .field("fetched_at", &self.fetched_at)
            .finish_non_exhaustive()
    }
}

struct CachedKey {
    key: DecodingKey,
    endorsements: Vec<String>,
}

#[derive(Deserialize)]
struct OpenIdMetadata {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<RawJwk>,
}

#[derive(Deserialize)]
struct RawJwk {
    #[serde(default)]
    kty: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    endorsements: Vec<String>,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
struct TokenHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

impl BotFrameworkVerifier {
    /// A verifier with its own HTTP client (timeout from the config).
    pub fn new(config: BotFrameworkConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(config.http_timeout).build()?;
        Ok(Self::with_http_client(config, http))
    }

    /// A verifier using `http` (which should have a timeout).
    pub fn with_http_client(config: BotFrameworkConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            cache: std::sync::Mutex::new(KeyCache::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BotFrameworkConfig {
        &self.config
    }

    /// Validate the `Authorization` header value of an incoming activity. `service_url` is the
    /// activity's root `serviceUrl` (compared exactly with the token's `serviceurl` claim);
    /// `now` is unix seconds.
    pub async fn verify(
        &self,
        authorization: Option<&str>,
        service_url: &str,
        now: i64,
    ) -> Result<BotClaims, VerifyError> {
        self.verify_inner(authorization, service_url, None, now).await
    }

    /// [`verify`](Self::verify), and also require the signing key to be endorsed for
    /// `channel_id` (the activity's `channelId`, e.g. `msteams`).
    pub async fn verify_for_channel(
        &self,
        authorization: Option<&str>,
        service_url: &str,
        channel_id: &str,
        now: i64,
    ) -> Result<BotClaims, VerifyError> {
        self.verify_inner(authorization, service_url, Some(channel_id), now).await
    }

    async fn verify_inner(
        &self,
        authorization: Option<&str>,
        service_url: &str,
        channel_id: Option<&str>,
        now: i64,
    ) -> Result<BotClaims, VerifyError> {
        if self.config.app_id.trim().is_empty() {
            return Err(VerifyError::NoSecretConfigured);
        }
        let token = bearer_token(authorization)?;
        let header = token_header(token)?;
        if header.alg != "RS256" {
            return Err(JwtFailure::Algorithm.into());
        }
        let kid = header.kid.filter(|k| !k.is_empty()).ok_or(JwtFailure::MissingKeyId)?;
        let key = self.key_for(&kid, now).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        // Time claims are checked below against the injected `now`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["iss", "aud"]);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.app_id]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation).map_err(|e| {
            VerifyError::Jwt(match e.kind() {
                ErrorKind::InvalidSignature => JwtFailure::Signature,
                ErrorKind::InvalidIssuer => JwtFailure::Issuer,
                ErrorKind::InvalidAudience => JwtFailure::Audience,
                ErrorKind::MissingRequiredClaim(c) if c == "iss" => JwtFailure::Issuer,
                ErrorKind::MissingRequiredClaim(c) if c == "aud" => JwtFailure::Audience,
                ErrorKind::InvalidAlgorithm => JwtFailure::Algorithm,
                _ => JwtFailure::Malformed,
            })
        })?;
        let claims = data.claims;

        // Belt and braces: the library checked these; re-check what we return.
        let issuer = claims.get("iss").and_then(Value::as_str).ok_or(JwtFailure::Issuer)?;
        if issuer != self.config.issuer {
            return Err(JwtFailure::Issuer.into());
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.config.app_id,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(self.config.app_id.as_str())),
            _ => false,
        };
        if !aud_ok {
            return Err(JwtFailure::Audience.into());
        }

        let skew = self.config.clock_skew_secs.max(0);
        let exp = claims.get("exp").and_then(numeric).ok_or(JwtFailure::MissingExpiry)?;
        if now > exp.saturating_add(skew) {
            return Err(JwtFailure::Expired.into());
        }
        let nbf = match claims.get("nbf") {
            None | Some(Value::Null) => None,
            Some(v) => Some(numeric(v).ok_or(JwtFailure::Malformed)?),
        };
        if let Some(nbf) = nbf
            && nbf > now.saturating_add(skew)
        {
            return Err(JwtFailure::NotYetValid.into());
        }

        // Bot Framework spells the claim `serviceurl`; accept `serviceUrl` too, but every
        // spelling present must match and at least one must be present.
        let spellings: Vec<&Value> = ["serviceurl", "serviceUrl"].iter().filter_map(|k| claims.get(*k)).collect();
        if service_url.is_empty() || spellings.is_empty() || !spellings.iter().all(|v| v.as_str() == Some(service_url))
        {
            return Err(JwtFailure::ServiceUrl.into());
        }

        if let Some(channel) = channel_id
            && !key.endorsements.iter().any(|e| e == channel)
        {
            return Err(JwtFailure::Endorsement.into());
        }

        Ok(BotClaims {
            issuer: issuer.to_owned(),
            audience: self.config.app_id.clone(),
            service_url: service_url.to_owned(),
            expires_at: exp,
            not_before: nbf,
            key_id: kid,
            endorsements: key.endorsements.clone(),
            claims,
        })
    }

    /// The key for `kid`, fetching/refetching per the cache policy (module docs).
    ///
    /// The cache lock is never held across a fetch: verifications with cached keys proceed
    /// while a refresh is in flight. Fetches are serialised by `fetch_lock`; a task that waited
    /// for another's fetch uses its result instead of fetching again.
    async fn key_for(&self, kid: &str, now: i64) -> Result<Arc<CachedKey>, VerifyError> {
        let cfg = &self.config;
        let (forced_jwks_uri, generation) = {
            let mut cache = self.state();
            if cache.is_fresh(now, cfg.cache_ttl_secs) {
                if let Some(k) = cache.keys.get(kid) {
                    return Ok(Arc::clone(k));
                }
                if cache.last_forced.is_some_and(|t| now.saturating_sub(t) < cfg.unknown_kid_refetch_interval_secs) {
                    tracing::debug!("unknown Bot Framework kid; refetch rate-limited");
                    return Err(JwtFailure::UnknownKey.into());
                }
                // Claimed before fetching, so concurrent unknown kids do not fetch too.
                cache.last_forced = Some(now);
                tracing::info!("unknown Bot Framework kid; refetching keys");
                (Some(cache.jwks_uri.clone()), cache.generation)
            } else {
                if cache.last_failure.is_some_and(|t| now.saturating_sub(t) < cfg.failure_backoff_secs) {
                    return self.usable_key(&cache, kid, now);
                }
                (None, cache.generation)
            }
        };

        let _fetching = match self.fetch_lock.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // A refresh is in flight: an expired-but-usable key need not wait for it.
                if forced_jwks_uri.is_none()
                    && let Ok(k) = self.usable_key(&self.state(), kid, now)
                {
                    return Ok(k);
                }
                self.fetch_lock.lock().await
            }
        };
        if self.state().generation != generation {
            // Someone else fetched while we waited: use their result.
            return self.usable_key(&self.state(), kid, now);
        }

        let result = self.fetch(forced_jwks_uri.flatten()).await;
        let mut cache = self.state();
        cache.generation = cache.generation.wrapping_add(1);
        match result {
            Ok((jwks_uri, keys)) => {
                tracing::info!(keys = keys.len(), "Bot Framework signing keys fetched");
                cache.jwks_uri = Some(jwks_uri);
                cache.keys = keys;
                cache.fetched_at = Some(now);
                cache.last_failure = None;
            }
            Err(reason) => {
                tracing::warn!(%reason, "Bot Framework signing key fetch failed");
                cache.last_failure = Some(now);
            }
        }
        self.usable_key(&cache, kid, now)
    }

    /// The cached key for `kid` if it is fresh, or expired but within the stale-if-error
    /// window; otherwise `KeysUnavailable` if the last fetch failed or the cache is too old,
    /// else `UnknownKey`.
    fn usable_key(&self, cache: &KeyCache, kid: &str, now: i64) -> Result<Arc<CachedKey>, VerifyError> {
        let cfg = &self.config;
        let age = cache.fetched_at.map(|t| now.saturating_sub(t));
        let usable = age.is_some_and(|a| a < cfg.cache_ttl_secs.saturating_add(cfg.stale_if_error_secs));
        match cache.keys.get(kid) {
            Some(k) if usable => {
                if !cache.is_fresh(now, cfg.cache_ttl_secs) {
                    tracing::warn!("Bot Framework key refresh failing or in flight; using expired cached key");
                }
                Ok(Arc::clone(k))
            }
            _ if !usable || cache.last_failure.is_some() => Err(VerifyError::KeysUnavailable),
            _ => Err(JwtFailure::UnknownKey.into()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn fetch(&self, jwks_uri: Option<String>) -> Result<(String, HashMap<String, Arc<CachedKey>>), String> {
        let jwks_uri = match jwks_uri {
            Some(u) => u,
            None => {
                let meta: OpenIdMetadata = self.get_json(&self.config.openid_metadata_url).await?;
                if self.config.openid_metadata_url.starts_with("https://") && !meta.jwks_uri.starts_with("https://") {
                    return Err("metadata jwks_uri is not https".to_owned());
                }
                meta.jwks_uri
            }
        };
        let set: JwkSet = self.get_json(&jwks_uri).await?;
        let mut keys = HashMap::new();
        for jwk in set.keys {
            let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else { continue };
            if jwk.kty.as_deref().is_some_and(|k| k != "RSA") || jwk.use_.as_deref().is_some_and(|u| u != "sig") {
                continue;
            }
            match DecodingKey::from_rsa_components(&n, &e) {
                Ok(key) => {
                    keys.insert(kid, Arc::new(CachedKey { key, endorsements: jwk.endorsements }));
                }
                Err(err) => tracing::warn!(%kid, error = %err, "skipping unusable JWK"),
            }
        }
        if keys.is_empty() {
            return Err("JWKS has no usable RSA signing key".to_owned());
        }
        Ok((jwks_uri, keys))
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let resp = self.http.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("GET {url}: status {status}"));
        }
        if resp.content_length().is_some_and(|l| l > MAX_DOCUMENT_BYTES as u64) {
            return Err(format!("GET {url}: document too large"));
        }
        let bytes = resp.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("GET {url}: document too large"));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("GET {url}: invalid JSON: {e}"))
    }
}

fn bearer_token(authorization: Option<&str>) -> Result<&str, VerifyError> {
    let value = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| VerifyError::MissingHeader(crate::scheme::header::AUTHORIZATION.to_owned()))?;
    let (scheme, token) =
        value.split_once(' ').ok_or(VerifyError::Malformed("authorization (expected Bearer <jwt>)"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("Bearer") || token.is_empty() {
        return Err(VerifyError::Malformed("authorization (expected Bearer <jwt>)"));
    }
    Ok(token)
}

fn token_header(token: &str) -> Result<TokenHeader, VerifyError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtFailure::Malformed.into());
    };
    if h.is_empty() || p.is_empty() {
        return Err(JwtFailure::Malformed.into());
    }
    let raw = URL_SAFE_NO_PAD.decode(h).map_err(|_| JwtFailure::Malformed)?;
    serde_json::from_slice(&raw).map_err(|_| JwtFailure::Malformed.into())
}

/// A NumericDate: integer, or a finite float truncated to whole seconds.
fn numeric(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        assert!(matches!(bearer_token(None), Err(VerifyError::MissingHeader(_))));
        assert!(matches!(bearer_token(Some("Basic abc")), Err(VerifyError::Malformed(_))));
        assert!(matches!(bearer_token(Some("Bearer")), Err(VerifyError::Malformed(_))));
    }

    #[test]
    fn header_parsing() {
        assert_eq!(token_header("a.b"), Err(JwtFailure::Malformed.into()));
        assert_eq!(token_header("a.b.c.d"), Err(JwtFailure::Malformed.into()));
        assert_eq!(token_header("!!.b.c"), Err(JwtFailure::Malformed.into()));
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let parsed = token_header(&format!("{h}.e30.")).unwrap();
        assert_eq!(parsed.alg, "none");
        assert_eq!(parsed.kid, None);
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric(&serde_json::json!(5)), Some(5));
        assert_eq!(numeric(&serde_json::json!(5.9)), Some(5));
        assert_eq!(numeric(&serde_json::json!("5")), None);
    }
}
