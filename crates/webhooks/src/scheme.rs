//! Shared-secret (HMAC-SHA256) signature schemes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

use crate::VerifyError;
use crate::headers::{HeaderLookup, required};

type HmacSha256 = Hmac<Sha256>;

/// Default timestamp tolerance (seconds), both directions: `|now - t| <= 300` passes.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Header names used by the built-in schemes.
pub mod header {
    /// Mezzofy platform: unix seconds.
    pub const MEZZOFY_TIMESTAMP: &str = "X-Mezzofy-Timestamp";
    /// Mezzofy platform: `sha256=<hex>`.
    pub const MEZZOFY_SIGNATURE: &str = "X-Mezzofy-Signature";
    /// Mezzofy platform: optional event id.
    pub const MEZZOFY_EVENT_ID: &str = "X-Mezzofy-Event-Id";
    /// GitHub: `sha256=<hex>`.
    pub const GITHUB_SIGNATURE: &str = "X-Hub-Signature-256";
    /// GitHub: delivery GUID.
    pub const GITHUB_DELIVERY: &str = "X-GitHub-Delivery";
    /// Stripe: `t=...,v1=...`.
    pub const STRIPE_SIGNATURE: &str = "Stripe-Signature";
    /// Teams outgoing webhook / Bot Framework.
    pub const AUTHORIZATION: &str = "Authorization";
}

/// A webhook secret. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wrap raw secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s.into_bytes())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(b: Vec<u8>) -> Self {
        Self(b)
    }
}

/// A successfully verified request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The signed timestamp, for schemes that carry one (Mezzofy, Stripe, Generic with a
    /// timestamp header).
    pub timestamp: Option<i64>,
    /// Index (in the configured list) of the secret that matched: lets operators see when
    /// an old secret is no longer used during a rotation.
    pub secret_index: usize,
}

/// A shared-secret webhook signature scheme. Every variant takes a list of secrets: during a
/// rotation configure old and new, and a signature made with any of them passes.
///
/// All comparisons are constant-time and every configured secret is tried (no early exit).
#[derive(Debug, Clone)]
pub enum Scheme {
    /// `X-Mezzofy-Timestamp: <unix>` and
    /// `X-Mezzofy-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
    Mezzofy {
        /// Accepted secrets (rotation: old and new).
        secrets: Vec<Secret>,
        /// Allowed `|now - timestamp|`, seconds (default 300; exactly 300 passes).
        tolerance: i64,
    },
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. No timestamp (GitHub
    /// signs none): deduplicate on `X-GitHub-Delivery` against replays.
    Github {
        /// Accepted secrets.
        secrets: Vec<Secret>,
    },
    /// `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]`, signed payload
    /// `"<t>.<body>"`. Any `v1` matching any secret passes; `v0` and unknown schemes are
    /// ignored.
    Stripe {
        /// Accepted endpoint secrets (`whsec_...`, used as raw bytes like Stripe's libraries).
        secrets: Vec<Secret>,
        /// Allowed `|now - t|`, seconds (default 300).
        tolerance: i64,
    },
    /// Configurable HMAC-SHA256 hex scheme (Zapier and others).
    ///
    /// Signed payload: the raw body, or `"<timestamp>.<body>"` when `timestamp_header` is set.
    Generic {
        /// Header carrying the hex signature.
        header: String,
        /// Accepted secrets.
        secrets: Vec<Secret>,
        /// A prefix stripped from the signature value when present (e.g. `sha256=`).
        prefix: Option<String>,
        /// Header carrying a unix-seconds timestamp; when set it is required, checked against
        /// `tolerance`, and part of the signed payload.
        timestamp_header: Option<String>,
        /// Allowed `|now - timestamp|`, seconds.
        tolerance: i64,
    },
    /// Microsoft Teams outgoing webhook: `Authorization: HMAC <base64(HMAC-SHA256(key, body))>`
    /// where `key` is the base64-decoded security token Teams shows on creation.
    TeamsOutgoing {
        /// The security tokens exactly as Teams shows them (base64). Tokens that are not
        /// valid base64 are skipped (logged); if none is usable: `NoSecretConfigured`.
        secrets_b64: Vec<Secret>,
    },
}

impl Scheme {
    /// Mezzofy platform scheme with the default 300 s tolerance.
    pub fn mezzofy(secrets: impl IntoIterator<Item = impl Into<Secret>>) -> Self {
        Self::Mezzofy { secrets: collect(secrets), tolerance: DEFAULT_TOLERANCE_SECS }
    }

    /// GitHub scheme.
    pub fn github(secrets: impl IntoIterator<Item = impl Into<Secret>>) -> Self {
        Self::Github { secrets: collect(secrets) }
    }

    /// Stripe scheme with the default 300 s tolerance.
    pub fn stripe(secrets: impl IntoIterator<Item = impl Into<Secret>>) -> Self {
        Self::Stripe { secrets: collect(secrets), tolerance: DEFAULT_TOLERANCE_SECS }
    }

    /// Generic scheme: hex signature in `header`, no prefix, no timestamp.
    pub fn generic(header: impl Into<String>, secrets: impl IntoIterator<Item = impl Into<Secret>>) -> Self {
        Self::Generic {
            header: header.into(),
            secrets: collect(secrets),
            prefix: None,
            timestamp_header: None,
            tolerance: DEFAULT_TOLERANCE_SECS,
        }
    }

    /// Teams outgoing-webhook scheme (base64 security tokens).
    pub fn teams_outgoing(secrets_b64: impl IntoIterator<Item = impl Into<Secret>>) -> Self {
        Self::TeamsOutgoing { secrets_b64: collect(secrets_b64) }
    }

    /// Verify `body` (the raw bytes, exactly as received) against the headers.
    ///
    /// `now` is the current unix time in seconds (injectable for tests). A timestamp passes
    /// when `now - tolerance <= timestamp <= now + tolerance` (inclusive boundaries).
    ///
    /// Checks run in this order: configuration, presence/format of headers, signature, then
    /// timestamp freshness, so a stale/future error is only reported for an authentic request.
    pub fn verify<H: HeaderLookup + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: i64,
    ) -> Result<Verified, VerifyError> {
        match self {
            Self::Mezzofy { secrets, tolerance } => {
                ensure_secrets(secrets)?;
                let ts_raw = required(headers, header::MEZZOFY_TIMESTAMP)?;
                let ts = parse_timestamp(ts_raw)?;
                let sig = required(headers, header::MEZZOFY_SIGNATURE)?;
                let sig =
                    sig.strip_prefix("sha256=").ok_or(VerifyError::Malformed("signature (expected sha256=<hex>)"))?;
                let sig = decode_hex_sig(sig)?;
                let secret_index =
                    match_any(secrets.iter().map(Secret::expose), &[ts_raw.as_bytes(), b".", body], &[sig])?;
                check_window(ts, now, *tolerance)?;
                Ok(Verified { timestamp: Some(ts), secret_index })
            }
            Self::Github { secrets } => {
                ensure_secrets(secrets)?;
                let sig = required(headers, header::GITHUB_SIGNATURE)?;
                let sig =
                    sig.strip_prefix("sha256=").ok_or(VerifyError::Malformed("signature (expected sha256=<hex>)"))?;
                let sig = decode_hex_sig(sig)?;
                let secret_index = match_any(secrets.iter().map(Secret::expose), &[body], &[sig])?;
                Ok(Verified { timestamp: None, secret_index })
            }
            Self::Stripe { secrets, tolerance } => {
                ensure_secrets(secrets)?;
                let raw = required(headers, header::STRIPE_SIGNATURE)?;
                let parsed = parse_stripe_header(raw)?;
                let secret_index =
                    match_any(secrets.iter().map(Secret::expose), &[parsed.t_raw.as_bytes(), b".", body], &parsed.v1)?;
                check_window(parsed.t, now, *tolerance)?;
                Ok(Verified { timestamp: Some(parsed.t), secret_index })
            }
            Self::Generic { header, secrets, prefix, timestamp_header, tolerance } => {
                ensure_secrets(secrets)?;
                let ts = match timestamp_header {
                    Some(name) => {
                        let raw = required(headers, name)?;
                        Some((raw, parse_timestamp(raw)?))
                    }
                    None => None,
                };
                let sig = required(headers, header)?;
                let sig = match prefix.as_deref() {
                    Some(p) => sig.strip_prefix(p).unwrap_or(sig),
                    None => sig,
                };
                let sig = decode_hex_sig(sig)?;
                let secret_index = match ts {
                    Some((raw, _)) => {
                        match_any(secrets.iter().map(Secret::expose), &[raw.as_bytes(), b".", body], &[sig])?
                    }
                    None => match_any(secrets.iter().map(Secret::expose), &[body], &[sig])?,
                };
                if let Some((_, t)) = ts {
                    check_window(t, now, *tolerance)?;
                }
                Ok(Verified { timestamp: ts.map(|(_, t)| t), secret_index })
            }
            Self::TeamsOutgoing { secrets_b64 } => {
                let keys: Vec<(usize, Vec<u8>)> = secrets_b64
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| match BASE64.decode(s.expose().trim_ascii()) {
                        Ok(k) if !k.is_empty() => Some((i, k)),
                        _ => {
                            tracing::warn!(index = i, "Teams outgoing-webhook secret is not valid base64; skipped");
                            None
                        }
                    })
                    .collect();
                if keys.is_empty() {
                    return Err(VerifyError::NoSecretConfigured);
                }
                let auth = required(headers, header::AUTHORIZATION)?;
                let (scheme, value) =
                    auth.split_once(' ').ok_or(VerifyError::Malformed("authorization (expected HMAC <base64>)"))?;
                if !scheme.eq_ignore_ascii_case("HMAC") {
                    return Err(VerifyError::Malformed("authorization (expected HMAC <base64>)"));
                }
                let sig = BASE64.decode(value.trim()).map_err(|_| VerifyError::Malformed("signature (not base64)"))?;
                if sig.len() != 32 {
                    return Err(VerifyError::Malformed("signature (wrong length)"));
                }
                let pos = match_any(keys.iter().map(|(_, k)| k.as_slice()), &[body], &[sig])?;
                let secret_index = keys.get(pos).map_or(pos, |(i, _)| *i);
                Ok(Verified { timestamp: None, secret_index })
            }
        }
    }
}

fn collect(secrets: impl IntoIterator<Item = impl Into<Secret>>) -> Vec<Secret> {
    secrets.into_iter().map(Into::into).collect()
}

fn ensure_secrets(secrets: &[Secret]) -> Result<(), VerifyError> {
    if secrets.iter().any(|s| !s.expose().is_empty()) { Ok(()) } else { Err(VerifyError::NoSecretConfigured) }
}

fn parse_timestamp(raw: &str) -> Result<i64, VerifyError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed("timestamp (expected unix seconds)"));
    }
    raw.parse::<i64>().map_err(|_| VerifyError::Malformed("timestamp (expected unix seconds)"))
}

/// `now - tolerance <= ts <= now + tolerance` passes.
fn check_window(ts: i64, now: i64, tolerance: i64) -> Result<(), VerifyError> {
    let age = i128::from(now) - i128::from(ts);
    let tol = i128::from(tolerance.max(0));
    if age > tol {
        Err(VerifyError::StaleTimestamp)
    } else if -age > tol {
        Err(VerifyError::FutureTimestamp)
    } else {
        Ok(())
    }
}

fn decode_hex_sig(s: &str) -> Result<Vec<u8>, VerifyError> {
    let bytes = hex::decode(s.trim()).map_err(|_| VerifyError::Malformed("signature (not hex)"))?;
    if bytes.len() != 32 {
        return Err(VerifyError::Malformed("signature (wrong length)"));
    }
    Ok(bytes)
}

/// HMAC-SHA256 of the concatenated `parts` under each non-empty key, compared in constant time
/// against every candidate signature. Returns the index (among `keys`) of the first matching
/// key; all keys and candidates are always evaluated.
fn match_any<'k>(
    keys: impl Iterator<Item = &'k [u8]>,
    parts: &[&[u8]],
    candidates: &[Vec<u8>],
) -> Result<usize, VerifyError> {
    let mut found: Option<usize> = None;
    for (i, key) in keys.enumerate() {
        if key.is_empty() {
            continue;
        }
        let Ok(mut mac) = HmacSha256::new_from_slice(key) else { continue };
        for p in parts {
            mac.update(p);
        }
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        let mut hit = Choice::from(0);
        for c in candidates {
            hit |= expected[..].ct_eq(c.as_slice());
        }
        if bool::from(hit) && found.is_none() {
            found = Some(i);
        }
    }
    found.ok_or(VerifyError::BadSignature)
}

struct StripeHeader<'a> {
    t: i64,
    t_raw: &'a str,
    v1: Vec<Vec<u8>>,
}

fn parse_stripe_header(raw: &str) -> Result<StripeHeader<'_>, VerifyError> {
    let mut t: Option<&str> = None;
    let mut v1 = Vec::new();
    for item in raw.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item.split_once('=').ok_or(VerifyError::Malformed("Stripe-Signature (expected key=value)"))?;
        match k.trim() {
            "t" if t.is_none() => t = Some(v.trim()),
            "t" => return Err(VerifyError::Malformed("Stripe-Signature (duplicate t)")),
            // A v1 value that is not 32 bytes of hex cannot match; skip it like Stripe's libraries.
            "v1" => {
                if let Ok(b) = hex::decode(v.trim())
                    && b.len() == 32
                {
                    v1.push(b);
                }
            }
            _ => {} // v0 (test-mode legacy) and future schemes are ignored
        }
    }
    let t_raw = t.ok_or(VerifyError::Malformed("Stripe-Signature (missing t)"))?;
    let t = parse_timestamp(t_raw).map_err(|_| VerifyError::Malformed("Stripe-Signature (bad t)"))?;
    if v1.is_empty() {
        // Well-formed but carries no signature of a scheme we accept.
        return Err(VerifyError::BadSignature);
    }
    Ok(StripeHeader { t, t_raw, v1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_inclusive() {
        assert_eq!(check_window(1000, 1300, 300), Ok(()));
        assert_eq!(check_window(1000, 1301, 300), Err(VerifyError::StaleTimestamp));
        assert_eq!(check_window(1300, 1000, 300), Ok(()));
        assert_eq!(check_window(1301, 1000, 300), Err(VerifyError::FutureTimestamp));
        assert_eq!(check_window(i64::MIN, i64::MAX, 300), Err(VerifyError::StaleTimestamp));
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::from("hunter2")), "Secret(<redacted>)");
    }
}
