//! Verification of incoming webhooks: pure, synchronous signature checks for shared-secret
//! schemes ([`Scheme`]: Mezzofy, GitHub, Stripe, generic HMAC, Teams outgoing webhooks), an
//! async verifier for Bot Framework bearer tokens with a cached JWKS ([`BotFrameworkVerifier`]),
//! and event-id extraction for duplicate detection ([`event_id`]).
//!
//! ```
//! use webhooks::{EventSource, Scheme, event_id};
//!
//! // Old and new secret during a rotation.
//! let scheme = Scheme::github(["previous secret", "It's a Secret to Everybody"]);
//! let headers = [
//!     ("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
//!     ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
//! ];
//! let now = 1_700_000_000; // chrono::Utc::now().timestamp() in production
//! let verified = scheme.verify(&headers, b"Hello, World!", now).unwrap();
//! assert_eq!(verified.secret_index, 1);
//! let id = event_id(EventSource::Github, &headers, None);
//! assert_eq!(id.as_deref(), Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
//!
//! let err = scheme.verify(&headers, b"Hello, World?", now).unwrap_err();
//! assert_eq!((err.http_status(), err.code()), (401, "bad_signature"));
//! ```
//!
//! Always verify the raw body bytes exactly as received, before any JSON parsing.
//!
//! Status mapping ([`VerifyError::http_status`]): 401 for every sender-side failure, 500 for
//! [`VerifyError::NoSecretConfigured`], 503 for [`VerifyError::KeysUnavailable`].

mod botframework;
mod error;
mod event_id;
mod headers;
mod scheme;

pub use botframework::{
    BOT_FRAMEWORK_ISSUER, BotClaims, BotFrameworkConfig, BotFrameworkVerifier, DEFAULT_OPENID_METADATA_URL,
};
pub use error::{JwtFailure, VerifyError};
pub use event_id::{EventSource, MAX_EVENT_ID_LEN, event_id};
pub use headers::HeaderLookup;
pub use scheme::{DEFAULT_TOLERANCE_SECS, Scheme, Secret, Verified, header};
