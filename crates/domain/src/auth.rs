//! JSON Web Tokens: HS256 only, typed (access or refresh), with a `jti` per token and a
//! `fam` (token family) shared by every token descended from one login. Revoking a family
//! revokes the refresh chain and every access token minted from it.

use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Secrets shorter than this are refused in production.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: Uuid,
    /// This token's unique id.
    pub jti: Uuid,
    /// The token family (one per login; refresh rotation keeps it).
    pub fam: Uuid,
    pub typ: TokenKind,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
    #[error("expected an {expected:?} token")]
    WrongKind { expected: TokenKind },
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A freshly minted token and the facts about it the caller needs to store.
#[derive(Debug, Clone)]
pub struct Minted {
    pub token: String,
    pub claims: Claims,
}

impl Minted {
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.claims.exp, 0).unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct TokenCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    access_ttl_secs: i64,
    refresh_ttl_secs: i64,
}

impl std::fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCodec")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("refresh_ttl_secs", &self.refresh_ttl_secs)
            .finish_non_exhaustive()
    }
}

impl TokenCodec {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, access_ttl_secs: i64, refresh_ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        validation.validate_exp = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            access_ttl_secs,
            refresh_ttl_secs,
        }
    }

    pub fn access_ttl_secs(&self) -> i64 {
        self.access_ttl_secs
    }

    pub fn refresh_ttl_secs(&self) -> i64 {
        self.refresh_ttl_secs
    }

    /// Mints a token of `kind` for `user` in `family`, issued at `now`.
    pub fn mint(&self, kind: TokenKind, user: Uuid, family: Uuid, now: DateTime<Utc>) -> Result<Minted, TokenError> {
        let ttl = match kind {
            TokenKind::Access => self.access_ttl_secs,
            TokenKind::Refresh => self.refresh_ttl_secs,
        };
        let iat = now.timestamp();
        let claims = Claims {
            sub: user,
            jti: Uuid::now_v7(),
            fam: family,
            typ: kind,
            iat,
            exp: iat + ttl,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(Minted { token, claims })
    }

    /// Verifies signature, algorithm (HS256 only: `none` and every other algorithm are
    /// refused), issuer, audience and expiry, then the token kind.
    pub fn verify(&self, token: &str, expected: TokenKind) -> Result<Claims, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError::Invalid);
        }
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        if claims.typ != expected {
            return Err(TokenError::WrongKind { expected });
        }
        if claims.iat > Utc::now().timestamp() + 60 {
            // Issued in the future: not ours.
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64_like::encode_segment;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn codec() -> TokenCodec {
        TokenCodec::new(SECRET, "mezzofy", "mezzofy-api", 3600, 7 * 86400)
    }

    mod base64_like {
        /// URL-safe base64 without padding, enough to forge test tokens.
        pub fn encode_segment(bytes: &[u8]) -> String {
            const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }

    #[test]
    fn round_trip_and_kind_check() {
        let c = codec();
        let (user, fam) = (Uuid::now_v7(), Uuid::now_v7());
        let access = c.mint(TokenKind::Access, user, fam, Utc::now()).unwrap();
        let claims = c.verify(&access.token, TokenKind::Access).unwrap();
        assert_eq!(claims.sub, user);
        assert_eq!(claims.fam, fam);
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(
            c.verify(&access.token, TokenKind::Refresh),
            Err(TokenError::WrongKind { expected: TokenKind::Refresh })
        );
        let refresh = c.mint(TokenKind::Refresh, user, fam, Utc::now()).unwrap();
        assert_ne!(refresh.claims.jti, access.claims.jti);
        assert_eq!(
            c.verify(&refresh.token, TokenKind::Access),
            Err(TokenError::WrongKind { expected: TokenKind::Access })
        );
    }

    #[test]
    fn expired_and_wrong_key() {
        let c = codec();
        let old =
            c.mint(TokenKind::Access, Uuid::now_v7(), Uuid::now_v7(), Utc::now() - chrono::Duration::hours(2)).unwrap();
        assert_eq!(c.verify(&old.token, TokenKind::Access), Err(TokenError::Expired));
        let other = TokenCodec::new(b"another-secret-another-secret-xx", "mezzofy", "mezzofy-api", 3600, 60);
        let t = other.mint(TokenKind::Access, Uuid::now_v7(), Uuid::now_v7(), Utc::now()).unwrap();
        assert_eq!(c.verify(&t.token, TokenKind::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let c = codec();
        let good = c.mint(TokenKind::Access, Uuid::now_v7(), Uuid::now_v7(), Utc::now()).unwrap();
        let payload = good.token.split('.').nth(1).unwrap().to_string();
        for header in
            [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"HS512","typ":"JWT"}"#, r#"{"alg":"RS256","typ":"JWT"}"#]
        {
            let forged = format!("{}.{}.", encode_segment(header.as_bytes()), payload);
            assert_eq!(c.verify(&forged, TokenKind::Access), Err(TokenError::Invalid), "{header}");
        }
        assert_eq!(c.verify("garbage", TokenKind::Access), Err(TokenError::Invalid));
        assert_eq!(c.verify(&"a".repeat(5000), TokenKind::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn issuer_and_audience_are_checked() {
        let c = codec();
        let wrong_aud = TokenCodec::new(SECRET, "mezzofy", "someone-else", 3600, 60);
        let t = wrong_aud.mint(TokenKind::Access, Uuid::now_v7(), Uuid::now_v7(), Utc::now()).unwrap();
        assert_eq!(c.verify(&t.token, TokenKind::Access), Err(TokenError::Invalid));
        let wrong_iss = TokenCodec::new(SECRET, "evil", "mezzofy-api", 3600, 60);
        let t = wrong_iss.mint(TokenKind::Access, Uuid::now_v7(), Uuid::now_v7(), Utc::now()).unwrap();
        assert_eq!(c.verify(&t.token, TokenKind::Access), Err(TokenError::Invalid));
    }
}
