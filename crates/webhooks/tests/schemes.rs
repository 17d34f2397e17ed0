//! Signature matrices for the shared-secret schemes.
//!
//! Timestamp boundary (documented behaviour): with the default tolerance of 300 s a timestamp
//! exactly 300 s old or 300 s in the future passes; 301 s fails (Stale / Future).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use webhooks::{Scheme, Secret, VerifyError};

const NOW: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"id":"evt_1","type":"order.paid","amount":1250}"#;
const SECRET: &[u8] = b"secret-current-0123456789";
const OLD_SECRET: &[u8] = b"secret-previous-abcdefghij";
const OTHER_SECRET: &[u8] = b"secret-attacker-zzzzzzzzzz";

type Headers = Vec<(String, String)>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

fn h(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_owned(), value.into())
}

/// Every scheme under test, with how to configure it and how a legitimate sender signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mezzofy,
    Github,
    Stripe,
    /// Generic with `X-Signature: sha256=<hex>` (prefix configured), no timestamp.
    Generic,
    /// Generic with `X-Signature` and `X-Timestamp`.
    GenericTs,
    Teams,
}

const ALL: [Kind; 6] = [Kind::Mezzofy, Kind::Github, Kind::Stripe, Kind::Generic, Kind::GenericTs, Kind::Teams];
const TIMESTAMPED: [Kind; 3] = [Kind::Mezzofy, Kind::Stripe, Kind::GenericTs];

impl Kind {
    fn scheme(self, secrets: &[&[u8]]) -> Scheme {
        let s: Vec<Secret> = secrets.iter().map(|s| Secret::new(*s)).collect();
        match self {
            Kind::Mezzofy => Scheme::mezzofy(s),
            Kind::Github => Scheme::github(s),
            Kind::Stripe => Scheme::stripe(s),
            Kind::Generic => Scheme::Generic {
                header: "X-Signature".into(),
                secrets: s,
                prefix: Some("sha256=".into()),
                timestamp_header: None,
                tolerance: 300,
            },
            Kind::GenericTs => Scheme::Generic {
                header: "X-Signature".into(),
                secrets: s,
                prefix: None,
                timestamp_header: Some("X-Timestamp".into()),
                tolerance: 300,
            },
            Kind::Teams => Scheme::teams_outgoing(secrets.iter().map(|s| B64.encode(s))),
        }
    }

    /// The signature header name (the one `MissingHeader` must name when it is absent).
    fn signature_header(self) -> &'static str {
        match self {
            Kind::Mezzofy => "X-Mezzofy-Signature",
            Kind::Github => "X-Hub-Signature-256",
            Kind::Stripe => "Stripe-Signature",
            Kind::Generic | Kind::GenericTs => "X-Signature",
            Kind::Teams => "Authorization",
        }
    }

    /// Headers a legitimate sender with `key` sends for `body` at time `ts`.
    fn sign(self, key: &[u8], ts: i64, body: &[u8]) -> Headers {
        let t = ts.to_string();
        let dotted = [t.as_bytes(), b".", body];
        match self {
            Kind::Mezzofy => vec![
                h("X-Mezzofy-Timestamp", t.clone()),
                h("X-Mezzofy-Signature", format!("sha256={}", hex::encode(hmac(key, &dotted)))),
            ],
            Kind::Github => vec![h("X-Hub-Signature-256", format!("sha256={}", hex::encode(hmac(key, &[body]))))],
            Kind::Stripe => vec![h("Stripe-Signature", format!("t={t},v1={}", hex::encode(hmac(key, &dotted))))],
            Kind::Generic => vec![h("X-Signature", format!("sha256={}", hex::encode(hmac(key, &[body]))))],
            Kind::GenericTs => {
                vec![h("X-Timestamp", t.clone()), h("X-Signature", hex::encode(hmac(key, &dotted)))]
            }
            Kind::Teams => vec![h("Authorization", format!("HMAC {}", B64.encode(hmac(key, &[body]))))],
        }
    }

    fn expected_timestamp(self, ts: i64) -> Option<i64> {
        TIMESTAMPED.contains(&self).then_some(ts)
    }
}

/// Replace the value of `name` with `f(value)`.
fn edit(mut headers: Headers, name: &str, f: impl Fn(&str) -> String) -> Headers {
    let entry = headers.iter_mut().find(|(k, _)| k == name).unwrap();
    entry.1 = f(&entry.1);
    headers
}

/// Change one character of the signature (hex digit, or base64 char for Teams).
fn tamper_signature(kind: Kind, value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    // A position well inside the signature (not in a prefix, not base64 padding bits).
    let i = chars.len() - 12;
    chars[i] = match (kind, chars[i]) {
        (Kind::Teams, 'A') => 'B',
        (Kind::Teams, _) => 'A',
        (_, '0') => '1',
        _ => '0',
    };
    chars.into_iter().collect()
}

#[test]
fn valid_signatures_pass() {
    for kind in ALL {
        let v = kind.scheme(&[SECRET]).verify(&kind.sign(SECRET, NOW, BODY), BODY, NOW);
        assert_eq!(v.map(|v| (v.timestamp, v.secret_index)), Ok((kind.expected_timestamp(NOW), 0)), "{kind:?}");
    }
}

#[test]
fn header_names_are_case_insensitive() {
    for kind in ALL {
        let headers: Headers =
            kind.sign(SECRET, NOW, BODY).into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        assert!(kind.scheme(&[SECRET]).verify(&headers, BODY, NOW).is_ok(), "{kind:?}");
    }
}

#[test]
fn one_changed_body_byte_fails() {
    for kind in ALL {
        let headers = kind.sign(SECRET, NOW, BODY);
        for pos in [0, BODY.len() / 2, BODY.len() - 1] {
            let mut body = BODY.to_vec();
            body[pos] ^= 0x01;
            assert_eq!(
                kind.scheme(&[SECRET]).verify(&headers, &body, NOW),
                Err(VerifyError::BadSignature),
                "{kind:?} byte {pos}"
            );
        }
        // Appended and truncated bodies too.
        let mut longer = BODY.to_vec();
        longer.push(b' ');
        assert_eq!(kind.scheme(&[SECRET]).verify(&headers, &longer, NOW), Err(VerifyError::BadSignature));
        assert_eq!(
            kind.scheme(&[SECRET]).verify(&headers, &BODY[..BODY.len() - 1], NOW),
            Err(VerifyError::BadSignature)
        );
    }
}

#[test]
fn one_changed_signature_digit_fails() {
    for kind in ALL {
        let headers = edit(kind.sign(SECRET, NOW, BODY), kind.signature_header(), |v| tamper_signature(kind, v));
        assert_eq!(kind.scheme(&[SECRET]).verify(&headers, BODY, NOW), Err(VerifyError::BadSignature), "{kind:?}");
    }
}

#[test]
fn wrong_secret_fails() {
    for kind in ALL {
        let headers = kind.sign(OTHER_SECRET, NOW, BODY);
        assert_eq!(kind.scheme(&[SECRET]).verify(&headers, BODY, NOW), Err(VerifyError::BadSignature), "{kind:?}");
    }
}

#[test]
fn timestamp_is_covered_by_the_signature() {
    // Re-stamping a captured request with a fresh timestamp must not verify.
    for kind in TIMESTAMPED {
        let old = kind.sign(SECRET, NOW - 3600, BODY);
        let fresh_ts = NOW.to_string();
        let replayed = match kind {
            Kind::Mezzofy => edit(old, "X-Mezzofy-Timestamp", |_| fresh_ts.clone()),
            Kind::GenericTs => edit(old, "X-Timestamp", |_| fresh_ts.clone()),
            Kind::Stripe => edit(old, "Stripe-Signature", |v| v.replace(&(NOW - 3600).to_string(), &fresh_ts)),
            _ => unreachable!(),
        };
        assert_eq!(kind.scheme(&[SECRET]).verify(&replayed, BODY, NOW), Err(VerifyError::BadSignature), "{kind:?}");
    }
}

#[test]
fn rotated_secrets_old_and_new_both_pass() {
    for kind in ALL {
        let scheme = kind.scheme(&[OLD_SECRET, SECRET]);
        let old = scheme.verify(&kind.sign(OLD_SECRET, NOW, BODY), BODY, NOW);
        let new = scheme.verify(&kind.sign(SECRET, NOW, BODY), BODY, NOW);
        assert_eq!(old.map(|v| v.secret_index), Ok(0), "{kind:?} old");
        assert_eq!(new.map(|v| v.secret_index), Ok(1), "{kind:?} new");
        assert_eq!(
            scheme.verify(&kind.sign(OTHER_SECRET, NOW, BODY), BODY, NOW),
            Err(VerifyError::BadSignature),
            "{kind:?} other"
        );
        // After the rotation window the old secret is removed and stops working.
        assert_eq!(
            kind.scheme(&[SECRET]).verify(&kind.sign(OLD_SECRET, NOW, BODY), BODY, NOW),
            Err(VerifyError::BadSignature),
            "{kind:?} retired"
        );
    }
}

#[test]
fn timestamp_tolerance_boundaries() {
    for kind in TIMESTAMPED {
        let scheme = kind.scheme(&[SECRET]);
        let at = |ts: i64| scheme.verify(&kind.sign(SECRET, ts, BODY), BODY, NOW).map(|v| v.timestamp);
        assert_eq!(at(NOW - 300), Ok(Some(NOW - 300)), "{kind:?} exactly 300 s old passes");
        assert_eq!(at(NOW - 301), Err(VerifyError::StaleTimestamp), "{kind:?} 301 s old");
        assert_eq!(at(NOW + 300), Ok(Some(NOW + 300)), "{kind:?} exactly 300 s ahead passes");
        assert_eq!(at(NOW + 301), Err(VerifyError::FutureTimestamp), "{kind:?} 301 s ahead");
        assert_eq!(at(0), Err(VerifyError::StaleTimestamp), "{kind:?} epoch");
    }
}

#[test]
fn configured_tolerance_is_used() {
    let scheme = Scheme::Mezzofy { secrets: vec![Secret::new(SECRET)], tolerance: 10 };
    assert!(scheme.verify(&Kind::Mezzofy.sign(SECRET, NOW - 10, BODY), BODY, NOW).is_ok());
    assert_eq!(scheme.verify(&Kind::Mezzofy.sign(SECRET, NOW - 11, BODY), BODY, NOW), Err(VerifyError::StaleTimestamp));
    let stripe = Scheme::Stripe { secrets: vec![Secret::new(SECRET)], tolerance: 10 };
    assert_eq!(stripe.verify(&Kind::Stripe.sign(SECRET, NOW + 11, BODY), BODY, NOW), Err(VerifyError::FutureTimestamp));
}

#[test]
fn missing_signature_header() {
    for kind in ALL {
        let headers: Headers =
            kind.sign(SECRET, NOW, BODY).into_iter().filter(|(k, _)| k != kind.signature_header()).collect();
        assert_eq!(
            kind.scheme(&[SECRET]).verify(&headers, BODY, NOW),
            Err(VerifyError::MissingHeader(kind.signature_header().to_owned())),
            "{kind:?}"
        );
        // An empty value counts as missing.
        let empty = edit(kind.sign(SECRET, NOW, BODY), kind.signature_header(), |_| "  ".into());
        assert_eq!(
            kind.scheme(&[SECRET]).verify(&empty, BODY, NOW),
            Err(VerifyError::MissingHeader(kind.signature_header().to_owned())),
            "{kind:?} empty"
        );
    }
}

#[test]
fn missing_timestamp_header() {
    let headers = edit(Kind::Mezzofy.sign(SECRET, NOW, BODY), "X-Mezzofy-Timestamp", |_| String::new());
    assert_eq!(
        Kind::Mezzofy.scheme(&[SECRET]).verify(&headers, BODY, NOW),
        Err(VerifyError::MissingHeader("X-Mezzofy-Timestamp".into()))
    );
    let headers: Headers =
        Kind::GenericTs.sign(SECRET, NOW, BODY).into_iter().filter(|(k, _)| k != "X-Timestamp").collect();
    assert_eq!(
        Kind::GenericTs.scheme(&[SECRET]).verify(&headers, BODY, NOW),
        Err(VerifyError::MissingHeader("X-Timestamp".into()))
    );
}

#[test]
fn no_secret_configured() {
    for kind in ALL {
        let headers = kind.sign(SECRET, NOW, BODY);
        assert_eq!(kind.scheme(&[]).verify(&headers, BODY, NOW), Err(VerifyError::NoSecretConfigured), "{kind:?}");
        assert_eq!(
            kind.scheme(&[b""]).verify(&headers, BODY, NOW),
            Err(VerifyError::NoSecretConfigured),
            "{kind:?} empty secret"
        );
    }
}

fn malformed(kind: Kind, headers: Headers) {
    let r = kind.scheme(&[SECRET]).verify(&headers, BODY, NOW);
    assert!(matches!(r, Err(VerifyError::Malformed(_))), "{kind:?} {headers:?}: {r:?}");
}

#[test]
fn malformed_hex_signatures() {
    let good = hex::encode(hmac(SECRET, &[BODY]));
    for (kind, name) in
        [(Kind::Mezzofy, "X-Mezzofy-Signature"), (Kind::Github, "X-Hub-Signature-256"), (Kind::Generic, "X-Signature")]
    {
        let base = kind.sign(SECRET, NOW, BODY);
        malformed(kind, edit(base.clone(), name, |_| "sha256=".into()));
        malformed(kind, edit(base.clone(), name, |_| "sha256=zz".repeat(32)));
        malformed(kind, edit(base.clone(), name, |_| format!("sha256={}", "g".repeat(64))));
        malformed(kind, edit(base.clone(), name, |_| format!("sha256={}", &good[..62])));
        malformed(kind, edit(base.clone(), name, |_| format!("sha256={good}00")));
        if kind != Kind::Generic {
            // The prefix is mandatory for Mezzofy and GitHub.
            malformed(kind, edit(base.clone(), name, |_| good.clone()));
            malformed(kind, edit(base, name, |_| format!("sha1={good}")));
        }
    }
}

#[test]
fn malformed_timestamps() {
    for bad in ["abc", "-5", "1.5", "17000000001700000000170000000017", " "] {
        let headers = edit(Kind::Mezzofy.sign(SECRET, NOW, BODY), "X-Mezzofy-Timestamp", |_| bad.into());
        let r = Kind::Mezzofy.scheme(&[SECRET]).verify(&headers, BODY, NOW);
        assert!(matches!(r, Err(VerifyError::Malformed(_)) | Err(VerifyError::MissingHeader(_))), "{bad:?}: {r:?}");
    }
}

#[test]
fn github_published_test_vector() {
    // docs.github.com, "Validating webhook deliveries".
    let scheme = Scheme::github(["It's a Secret to Everybody"]);
    let headers = [("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")];
    assert_eq!(
        scheme.verify(&headers, b"Hello, World!", NOW),
        Ok(webhooks::Verified { timestamp: None, secret_index: 0 })
    );
    assert_eq!(scheme.verify(&headers, b"Hello, World?", NOW), Err(VerifyError::BadSignature));
    assert_eq!(
        Scheme::github(["It's a secret to everybody"]).verify(&headers, b"Hello, World!", NOW),
        Err(VerifyError::BadSignature)
    );
}

// Vectors below were computed independently with `openssl dgst -sha256 -hmac ...`.

#[test]
fn mezzofy_fixed_vector() {
    let scheme = Scheme::mezzofy(["mezzofy_test_secret"]);
    let headers = [
        ("X-Mezzofy-Timestamp", "1700000000"),
        ("X-Mezzofy-Signature", "sha256=243c93899282c51ce71ff556dc01ef7a98c31c015e3e7d47dfc1a77f82d1bc5e"),
    ];
    assert_eq!(scheme.verify(&headers, br#"{"id":"evt_1"}"#, NOW).map(|v| v.timestamp), Ok(Some(NOW)));
    // Uppercase hex is the same signature.
    let upper = [
        ("X-Mezzofy-Timestamp", "1700000000"),
        ("X-Mezzofy-Signature", "sha256=243C93899282C51CE71FF556DC01EF7A98C31C015E3E7D47DFC1A77F82D1BC5E"),
    ];
    assert!(scheme.verify(&upper, br#"{"id":"evt_1"}"#, NOW).is_ok());
}

#[test]
fn stripe_fixed_vector_with_several_v1_and_v0() {
    let body = br#"{"id":"evt_1","object":"event"}"#;
    let good = "0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd";
    let wrong = "1".repeat(64);
    let scheme = Scheme::stripe(["whsec_test_secret"]);
    for header in [
        format!("t=1700000000,v1={good}"),
        format!("t=1700000000,v1={wrong},v1={good}"),
        format!("t=1700000000,v1={good},v1={wrong},v0={wrong}"),
        format!("v0={wrong}, v1={wrong}, t=1700000000, v1={good}, scheme9=xyz"),
        format!("t=1700000000,v1=nothex,v1={good}"),
    ] {
        let r = scheme.verify(&[("Stripe-Signature", header.as_str())], body, NOW);
        assert_eq!(r.map(|v| v.timestamp), Ok(Some(NOW)), "{header}");
    }
    // v0 is never accepted, even when it holds the right digest.
    for header in
        [format!("t=1700000000,v0={good}"), format!("t=1700000000,v1={wrong},v1={wrong}"), "t=1700000000".into()]
    {
        let r = scheme.verify(&[("Stripe-Signature", header.as_str())], body, NOW);
        assert_eq!(r, Err(VerifyError::BadSignature), "{header}");
    }
    // Several secrets (rotation) × several v1: the second secret matches the second v1.
    let rotated = Scheme::stripe(["whsec_old", "whsec_test_secret"]);
    let header = format!("t=1700000000,v1={wrong},v1={good}");
    assert_eq!(rotated.verify(&[("Stripe-Signature", header.as_str())], body, NOW).map(|v| v.secret_index), Ok(1));
}

#[test]
fn stripe_malformed_headers() {
    let sig = hex::encode(hmac(SECRET, &[b"1700000000.", BODY]));
    for header in [
        format!("v1={sig}"),                           // no t
        format!("t=,v1={sig}"),                        // empty t
        format!("t=abc,v1={sig}"),                     // non-numeric t
        format!("t=1700000000,t=1700000000,v1={sig}"), // duplicate t
        format!("t=1700000000,garbage,v1={sig}"),      // item without '='
        "nonsense".to_owned(),
    ] {
        malformed(Kind::Stripe, vec![h("Stripe-Signature", header)]);
    }
}

#[test]
fn teams_fixed_vector_and_malformed() {
    // Security token as Teams shows it (base64 of the 31-byte key below).
    let token = "dGVhbXMtdGVzdC1rZXktMDEyMzQ1Njc4OWFiY2RlZg==";
    assert_eq!(B64.decode(token).unwrap(), b"teams-test-key-0123456789abcdef");
    let body = br#"{"type":"message","text":"hi"}"#;
    let scheme = Scheme::teams_outgoing([token]);
    let auth = "HMAC /RpWFWKs0Sm66NKDK0604sZDbDIEfeSSvwBx8jJAeiU=";
    assert_eq!(scheme.verify(&[("Authorization", auth)], body, NOW).map(|v| v.secret_index), Ok(0));
    // HMAC must be keyed with the *decoded* token, not the base64 text.
    let with_text_key = B64.encode(hmac(token.as_bytes(), &[body]));
    assert_eq!(
        scheme.verify(&[("Authorization", format!("HMAC {with_text_key}").as_str())], body, NOW),
        Err(VerifyError::BadSignature)
    );
    malformed(Kind::Teams, vec![h("Authorization", "Bearer abc.def.ghi")]);
    malformed(Kind::Teams, vec![h("Authorization", "HMAC")]);
    malformed(Kind::Teams, vec![h("Authorization", "HMAC not*base64!")]);
    malformed(Kind::Teams, vec![h("Authorization", format!("HMAC {}", B64.encode([0u8; 16])))]);
    // An unusable (non-base64) token is skipped; a good one next to it still works.
    let mixed = Scheme::teams_outgoing(["%%%not base64%%%", token]);
    assert_eq!(mixed.verify(&[("Authorization", auth)], body, NOW).map(|v| v.secret_index), Ok(1));
    assert_eq!(
        Scheme::teams_outgoing(["%%%not base64%%%"]).verify(&[("Authorization", auth)], body, NOW),
        Err(VerifyError::NoSecretConfigured)
    );
}

#[test]
fn generic_prefix_is_optional_when_configured_and_rejected_otherwise() {
    let sig = hex::encode(hmac(SECRET, &[BODY]));
    let with_prefix = Kind::Generic.scheme(&[SECRET]);
    assert!(with_prefix.verify(&[("X-Signature", format!("sha256={sig}"))], BODY, NOW).is_ok());
    assert!(with_prefix.verify(&[("X-Signature", sig.clone())], BODY, NOW).is_ok());
    let no_prefix = Scheme::generic("X-Signature", [SECRET.to_vec()]);
    assert!(no_prefix.verify(&[("X-Signature", sig.clone())], BODY, NOW).is_ok());
    malformed(Kind::Generic, vec![h("X-Signature", format!("md5={sig}"))]);
    let r = no_prefix.verify(&[("X-Signature", format!("sha256={sig}"))], BODY, NOW);
    assert!(matches!(r, Err(VerifyError::Malformed(_))), "{r:?}");
}

#[test]
fn generic_with_timestamp_signs_timestamp_dot_body() {
    // A body-only signature is not enough once a timestamp header is configured.
    let body_only = hex::encode(hmac(SECRET, &[BODY]));
    let headers = [("X-Timestamp", NOW.to_string()), ("X-Signature", body_only)];
    assert_eq!(Kind::GenericTs.scheme(&[SECRET]).verify(&headers, BODY, NOW), Err(VerifyError::BadSignature));
}

#[test]
fn errors_never_leak_secrets_or_expected_signatures() {
    for kind in ALL {
        let scheme = kind.scheme(&[SECRET, OLD_SECRET]);
        let expected = kind.sign(SECRET, NOW, BODY);
        let attempts = [
            kind.sign(OTHER_SECRET, NOW, BODY),
            kind.sign(SECRET, NOW - 1000, BODY),
            kind.sign(SECRET, NOW + 1000, BODY),
            edit(kind.sign(SECRET, NOW, BODY), kind.signature_header(), |_| "x".into()),
            vec![],
        ];
        for headers in attempts {
            let err = scheme.verify(&headers, b"other body", NOW).unwrap_err();
            let text = format!("{err} {err:?}");
            for secret in [SECRET, OLD_SECRET] {
                assert!(!text.contains(std::str::from_utf8(secret).unwrap()), "{kind:?}: {text}");
            }
            for (_, value) in &expected {
                assert!(!text.contains(value.as_str()), "{kind:?}: {text}");
            }
            assert!(!text.contains(&hex::encode(hmac(SECRET, &[b"other body"]))), "{kind:?}: {text}");
        }
        assert!(!format!("{scheme:?}").contains("secret-current"), "{kind:?} Debug shows a secret");
    }
}

#[test]
fn error_codes_and_statuses() {
    let cases = [
        (VerifyError::MissingHeader("X".into()), "missing_header", 401),
        (VerifyError::Malformed("x"), "malformed_header", 401),
        (VerifyError::StaleTimestamp, "stale_timestamp", 401),
        (VerifyError::FutureTimestamp, "future_timestamp", 401),
        (VerifyError::BadSignature, "bad_signature", 401),
        (VerifyError::Jwt(webhooks::JwtFailure::Expired), "invalid_token", 401),
        (VerifyError::NoSecretConfigured, "webhook_not_configured", 500),
        (VerifyError::KeysUnavailable, "keys_unavailable", 503),
    ];
    for (err, code, status) in cases {
        assert_eq!((err.code(), err.http_status()), (code, status), "{err:?}");
        assert_eq!(err.is_server_side(), status != 401);
    }
}

#[test]
fn header_lookup_containers() {
    use std::collections::{BTreeMap, HashMap};
    use webhooks::HeaderLookup;
    let sig = format!("sha256={}", hex::encode(hmac(SECRET, &[BODY])));
    let scheme = Kind::Github.scheme(&[SECRET]);
    let hm: HashMap<String, String> = [("x-hub-signature-256".to_owned(), sig.clone())].into();
    let bm: BTreeMap<&str, &str> = [("X-HUB-SIGNATURE-256", sig.as_str())].into();
    assert!(scheme.verify(&hm, BODY, NOW).is_ok());
    assert!(scheme.verify(&bm, BODY, NOW).is_ok());
    // Repeated header: the first value is used.
    let repeated = [("X-Hub-Signature-256", sig.as_str()), ("x-hub-signature-256", "sha256=00")];
    assert_eq!(repeated.get("X-HUB-signature-256"), Some(sig.as_str()));
    assert!(scheme.verify(&repeated[..], BODY, NOW).is_ok());
}
