//! A fake Firebase Cloud Messaging HTTP v1 server plus Google OAuth token endpoint on
//! loopback (feature `fake`), for this and other crates' tests.
//!
//! - `POST /token` takes the JWT-bearer grant, verifies the assertion's RS256 signature with
//!   the fake service account's public key, its `kid`, `iss`, `aud`, `scope`, `iat` and `exp`,
//!   and answers `{"access_token","expires_in","token_type":"Bearer"}` (`expires_in` set with
//!   [`FakeFcm::set_expires_in`]). Refusals are Google's `{"error":"invalid_grant",...}`.
//! - `POST /v1/projects/{project}/messages:send` wants `Authorization: Bearer <issued,
//!   unexpired token>` (else 401 `UNAUTHENTICATED`), the fake project (else 403
//!   `PERMISSION_DENIED`), a body FCM would accept (unknown fields, non-string data values,
//!   reserved data keys, a bad `android.priority` → 400 `INVALID_ARGUMENT`), a well-formed
//!   token (else 400 on `message.token`) that was [registered](FakeFcm::register) (else 404
//!   `UNREGISTERED`). Scripted failures ([`FakeFcm::fail_next`], [`FakeFcm::throttle_next`])
//!   are answered to authenticated requests before the body is looked at.
//!
//! ```ignore
//! let fcm = FakeFcm::start().await;
//! fcm.register("device-1");
//! let client = FcmClient::new(fcm.config())?;
//! client.send(&PushMessage::new("device-1", "Hi", "there")).await?;
//! assert_eq!(fcm.sent()[0].title(), Some("Hi"));
//! ```
//!
//! The key pairs are test fixtures committed with this crate (see `README.md` here): never
//! use them for anything real.

mod wire;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, VecDeque},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::any};

use crate::{AssertionClaims, FCM_SCOPE, JWT_BEARER_GRANT, PushConfig, ServiceAccount};

/// TEST FIXTURE: the fake service account's RSA private key (PKCS#8 PEM). Public knowledge.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("test_only_service_account_key.pem");
/// TEST FIXTURE: its public half, which the fake token endpoint verifies assertions with.
pub const TEST_PUBLIC_KEY_PEM: &str = include_str!("test_only_service_account_key.pub.pem");
/// TEST FIXTURE: an unrelated RSA private key, for "wrong key" tests.
pub const OTHER_PRIVATE_KEY_PEM: &str = include_str!("test_only_other_key.pem");

/// The fake service account's project.
pub const PROJECT_ID: &str = "fake-project";
/// The fake service account's `client_email`.
pub const CLIENT_EMAIL: &str = "firebase-adminsdk-fake@fake-project.iam.gserviceaccount.com";
/// The fake service account's `private_key_id`.
pub const PRIVATE_KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// A message FCM accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// The name answered (`projects/fake-project/messages/0:...`).
    pub name: String,
    pub token: String,
    /// The whole `message` object as received.
    pub message: Value,
    /// The bearer token the request carried.
    pub access_token: String,
}

impl SentMessage {
    pub fn title(&self) -> Option<&str> {
        self.message["notification"]["title"].as_str()
    }

    pub fn body(&self) -> Option<&str> {
        self.message["notification"]["body"].as_str()
    }

    /// `message.data` (values are known to be strings: the fake rejects anything else).
    pub fn data(&self) -> BTreeMap<String, String> {
        self.message["data"]
            .as_object()
            .map(|data| data.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default()
    }
}

/// One call of the token endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRequest {
    /// The access token issued, when the assertion was accepted.
    pub issued: Option<String>,
    /// `error: error_description` when refused.
    pub error: Option<String>,
    /// The assertion's header `kid`, if it could be read.
    pub kid: Option<String>,
    /// The assertion's claims, once verified.
    pub claims: Option<Value>,
}

impl TokenRequest {
    pub fn accepted(&self) -> bool {
        self.issued.is_some()
    }
}

#[derive(Debug, Clone, Copy)]
struct Fault {
    status: u16,
    retry_after: Option<u64>,
}

struct Inner {
    registered: BTreeSet<String>,
    /// Access token → when it expires.
    issued: HashMap<String, Instant>,
    expires_in: u64,
    faults: VecDeque<Fault>,
    token_faults: VecDeque<u16>,
    sent: Vec<SentMessage>,
    token_requests: Vec<TokenRequest>,
    send_attempts: usize,
    counter: u64,
}

struct State {
    token_uri: String,
    public_key: Option<DecodingKey>,
    inner: Mutex<Inner>,
}

/// A fake FCM + OAuth server on `127.0.0.1:<random port>`.
pub struct FakeFcm {
    server: MockServer,
    state: Arc<State>,
}

impl std::fmt::Debug for FakeFcm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeFcm").field("uri", &self.server.uri()).finish()
    }
}

impl FakeFcm {
    /// A server with no registered device tokens and `expires_in` 3599 s (Google's).
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(State {
            token_uri: format!("{}/token", server.uri()),
            public_key: DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY_PEM.as_bytes()).ok(),
            inner: Mutex::new(Inner {
                registered: BTreeSet::new(),
                issued: HashMap::new(),
                expires_in: 3599,
                faults: VecDeque::new(),
                token_faults: VecDeque::new(),
                sent: Vec::new(),
                token_requests: Vec::new(),
                send_attempts: 0,
                counter: 0,
            }),
        });
        Mock::given(any()).respond_with(Responder(state.clone())).mount(&server).await;
        FakeFcm { server, state }
    }

    /// The base URL (`fcm_base_url`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The token endpoint (the service account's `token_uri` and the JWT audience).
    pub fn token_uri(&self) -> &str {
        &self.state.token_uri
    }

    /// The fake service account (project [`PROJECT_ID`], key [`TEST_PRIVATE_KEY_PEM`]).
    pub fn service_account(&self) -> ServiceAccount {
        ServiceAccount::new_unchecked(PROJECT_ID, PRIVATE_KEY_ID, TEST_PRIVATE_KEY_PEM, CLIENT_EMAIL, self.token_uri())
    }

    /// The fake service account but signing with `private_key_pem` (e.g.
    /// [`OTHER_PRIVATE_KEY_PEM`]), which the token endpoint will refuse.
    pub fn service_account_with_key(&self, private_key_pem: &str) -> Result<ServiceAccount, crate::PushError> {
        ServiceAccount::new(PROJECT_ID, PRIVATE_KEY_ID, private_key_pem, CLIENT_EMAIL, self.token_uri())
    }

    /// The service account as Google's JSON key file would hold it.
    pub fn service_account_json(&self) -> String {
        let json = json!({
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": PRIVATE_KEY_ID,
            "private_key": TEST_PRIVATE_KEY_PEM,
            "client_email": CLIENT_EMAIL,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri(),
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/firebase-adminsdk-fake%40fake-project.iam.gserviceaccount.com",
            "universe_domain": "googleapis.com"
        });
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    /// Writes [`FakeFcm::service_account_json`] to a temporary file (removed on drop).
    pub fn write_service_account_file(&self) -> std::io::Result<TempFile> {
        TempFile::with_contents(&self.service_account_json())
    }

    /// A config for this fake: timeout 5 s, 3 retries, waits ≤ 2 s, first backoff 10 ms.
    pub fn config(&self) -> PushConfig {
        let mut config = PushConfig::new(self.service_account());
        config.fcm_base_url = self.uri();
        config.timeout = Duration::from_secs(5);
        config.max_retries = 3;
        config.max_retry_wait = Duration::from_secs(2);
        config.initial_backoff = Duration::from_millis(10);
        config
    }

    /// Makes `token` a valid device token.
    pub fn register(&self, token: &str) {
        lock(&self.state.inner).registered.insert(token.to_string());
    }

    /// The device uninstalled the app: `token` now gets 404 `UNREGISTERED`.
    pub fn unregister(&self, token: &str) {
        lock(&self.state.inner).registered.remove(token);
    }

    /// The `expires_in` of tokens issued from now on (and how long the fake honours them).
    pub fn set_expires_in(&self, secs: u64) {
        lock(&self.state.inner).expires_in = secs;
    }

    /// Every access token issued so far stops working (401 `UNAUTHENTICATED`).
    pub fn revoke_tokens(&self) {
        lock(&self.state.inner).issued.clear();
    }

    /// An access token issued without the JWT dance, for raw-HTTP tests.
    pub fn issue_token(&self) -> String {
        issue(&mut lock(&self.state.inner))
    }

    /// The next `n` authenticated sends get 429 `QUOTA_EXCEEDED` with `Retry-After: secs`.
    pub fn throttle_next(&self, n: usize, retry_after_secs: u64) {
        let mut inner = lock(&self.state.inner);
        for _ in 0..n {
            inner.faults.push_back(Fault { status: 429, retry_after: Some(retry_after_secs) });
        }
    }

    /// The next authenticated send gets FCM's error for `status` (400 `INVALID_ARGUMENT`,
    /// 401 `UNAUTHENTICATED`, 403 `SENDER_ID_MISMATCH`, 404 `UNREGISTERED`, 429
    /// `QUOTA_EXCEEDED`, 500 `INTERNAL`, 503 `UNAVAILABLE`). Calls queue up.
    pub fn fail_next(&self, status: u16) {
        lock(&self.state.inner).faults.push_back(Fault { status, retry_after: None });
    }

    /// Like [`FakeFcm::fail_next`] with a `Retry-After: secs` header.
    pub fn fail_next_with_retry_after(&self, status: u16, retry_after_secs: u64) {
        lock(&self.state.inner).faults.push_back(Fault { status, retry_after: Some(retry_after_secs) });
    }

    /// The next token request gets `status` (e.g. 503) before its assertion is looked at.
    pub fn fail_next_token_request(&self, status: u16) {
        lock(&self.state.inner).token_faults.push_back(status);
    }

    /// Messages accepted, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        lock(&self.state.inner).sent.clone()
    }

    /// Token endpoint calls, accepted or not, in order.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        lock(&self.state.inner).token_requests.clone()
    }

    /// Requests to the send endpoint, whatever their outcome.
    pub fn send_attempts(&self) -> usize {
        lock(&self.state.inner).send_attempts
    }
}

/// A file under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    pub fn with_contents(contents: &str) -> std::io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("push-fake-{}-{n}.json", std::process::id()));
        std::fs::write(&path, contents)?;
        Ok(TempFile { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn issue(inner: &mut Inner) -> String {
    inner.counter += 1;
    let token = format!("ya29.fake-access-token-{}-{:08x}", inner.counter, pseudo_random(inner.counter));
    inner.issued.insert(token.clone(), Instant::now() + Duration::from_secs(inner.expires_in));
    token
}

fn pseudo_random(n: u64) -> u32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) as u32) ^ nanos
}

struct Responder(Arc<State>);

impl wiremock::Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        if request.method.as_str() != "POST" {
            return wire::google_error(404, "Requested entity was not found.", Vec::new());
        }
        if path == "/token" {
            return token_endpoint(&self.0, request);
        }
        match path.strip_prefix("/v1/projects/").and_then(|rest| rest.strip_suffix("/messages:send")) {
            Some(project) => send_endpoint(&self.0, request, project),
            None => wire::google_error(404, "Requested entity was not found.", Vec::new()),
        }
    }
}

fn token_endpoint(state: &State, request: &Request) -> ResponseTemplate {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
    let mut record = TokenRequest { issued: None, error: None, kid: None, claims: None };
    let scripted = lock(&state.inner).token_faults.pop_front();
    let outcome = match scripted {
        Some(status) => Err((status, "scripted_failure", format!("Scripted HTTP {status}."))),
        None => check_grant(state, &form, &mut record),
    };
    let mut inner = lock(&state.inner);
    let response = match outcome {
        Ok(claims) => {
            let token = issue(&mut inner);
            record.claims = Some(claims);
            record.issued = Some(token.clone());
            ResponseTemplate::new(200).set_body_json(json!({
                "access_token": token,
                "expires_in": inner.expires_in,
                "token_type": "Bearer",
            }))
        }
        Err((status, error, description)) => {
            record.error = Some(format!("{error}: {description}"));
            wire::oauth_error(status, error, &description)
        }
    };
    inner.token_requests.push(record);
    response
}

type GrantError = (u16, &'static str, String);

/// Checks a JWT-bearer grant the way Google's token endpoint does; returns the claims.
fn check_grant(state: &State, form: &HashMap<String, String>, record: &mut TokenRequest) -> Result<Value, GrantError> {
    let invalid_grant = |description: &str| (400, "invalid_grant", description.to_string());
    match form.get("grant_type").map(String::as_str) {
        Some(JWT_BEARER_GRANT) => {}
        Some(other) => return Err((400, "unsupported_grant_type", format!("Invalid grant_type: {other}"))),
        None => return Err((400, "invalid_request", "Missing required parameter: grant_type".into())),
    }
    let Some(assertion) = form.get("assertion") else {
        return Err((400, "invalid_request", "Missing required parameter: assertion".into()));
    };
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| invalid_grant("Invalid JWT: malformed."))?;
    record.kid = header.kid.clone();
    if header.alg != Algorithm::RS256 {
        return Err(invalid_grant("Invalid JWT Signature."));
    }
    if header.kid.as_deref().is_some_and(|kid| kid != PRIVATE_KEY_ID) {
        return Err(invalid_grant("Invalid JWT Signature."));
    }
    let Some(key) = state.public_key.as_ref() else {
        return Err((500, "internal_failure", "the fake's public key fixture does not parse".into()));
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[state.token_uri.as_str()]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let data = jsonwebtoken::decode::<AssertionClaims>(assertion, key, &validation).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => invalid_grant("Invalid JWT Signature."),
        ErrorKind::ExpiredSignature => invalid_grant(TIMEFRAME),
        ErrorKind::InvalidAudience => invalid_grant("Invalid JWT: Failed audience check."),
        ErrorKind::InvalidIssuer => invalid_grant("Invalid grant: account not found"),
        _ => invalid_grant("Invalid JWT: malformed or missing claims."),
    })?;
    let claims = data.claims;
    let now = chrono::Utc::now().timestamp();
    if claims.iat > now + 60 || claims.exp <= claims.iat || claims.exp - claims.iat > 3600 {
        return Err(invalid_grant(TIMEFRAME));
    }
    if !claims.scope.split(' ').any(|s| s == FCM_SCOPE) {
        return Err((400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.".into()));
    }
    serde_json::to_value(&claims).map_err(|e| (500, "internal_failure", e.to_string()))
}

const TIMEFRAME: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. \
                         Check your iat and exp values in the JWT claim.";

fn send_endpoint(state: &State, request: &Request, project: &str) -> ResponseTemplate {
    let mut inner = lock(&state.inner);
    inner.send_attempts += 1;
    let bearer = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let Some(bearer) = bearer.filter(|t| inner.issued.get(t).is_some_and(|expiry| Instant::now() < *expiry)) else {
        return wire::unauthenticated();
    };
    if project != PROJECT_ID {
        let message = format!(
            "Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/\
             projects/{project}' (or it may not exist)."
        );
        return wire::google_error(403, &message, Vec::new());
    }
    if let Some(fault) = inner.faults.pop_front() {
        return wire::canned(fault.status, fault.retry_after);
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(e) => return wire::invalid_payload(&format!("Unexpected token: {e}"), ""),
    };
    let (message, validate_only) = match check_request(&body) {
        Ok(ok) => ok,
        Err(response) => return *response,
    };
    let token = message.get("token").and_then(Value::as_str).unwrap_or_default().to_string();
    if !well_formed_token(&token) {
        return wire::invalid_field("message.token", "The registration token is not a valid FCM registration token");
    }
    if !inner.registered.contains(&token) {
        return wire::unregistered();
    }
    if validate_only {
        return ResponseTemplate::new(200)
            .set_body_json(json!({ "name": format!("projects/{PROJECT_ID}/messages/fake_message_id") }));
    }
    inner.counter += 1;
    let name = format!(
        "projects/{PROJECT_ID}/messages/0:{}%{:016x}",
        1_700_000_000_000_000u64 + inner.counter,
        u64::from(pseudo_random(inner.counter))
    );
    inner.sent.push(SentMessage { name: name.clone(), token, message: Value::Object(message), access_token: bearer });
    ResponseTemplate::new(200).set_body_json(json!({ "name": name }))
}

/// FCM's tokens are long URL-safe strings (`<instance id>:<base64url>`).
fn well_formed_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 4096
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
}

const MESSAGE_FIELDS: &[&str] =
    &["name", "data", "notification", "android", "webpush", "apns", "fcm_options", "token", "topic", "condition"];
const NOTIFICATION_FIELDS: &[&str] = &["title", "body", "image"];
const ANDROID_FIELDS: &[&str] = &[
    "collapse_key",
    "priority",
    "ttl",
    "restricted_package_name",
    "data",
    "notification",
    "fcm_options",
    "direct_boot_ok",
];
const APNS_FIELDS: &[&str] = &["headers", "payload", "fcm_options", "live_activity_token"];

/// The request's shape as the proto would accept it; returns `message` and `validate_only`.
fn check_request(body: &Value) -> Result<(Map<String, Value>, bool), Box<ResponseTemplate>> {
    let Some(top) = body.as_object() else {
        return Err(Box::new(wire::invalid_payload("Root element must be a message.", "")));
    };
    known_fields(top, &["message", "validate_only"], "")?;
    let validate_only = match top.get("validate_only") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(Box::new(type_error("validate_only", "TYPE_BOOL", other))),
    };
    let Some(message) = top.get("message").and_then(Value::as_object) else {
        return Err(Box::new(wire::google_error(400, "Request contains an invalid argument.", Vec::new())));
    };
    known_fields(message, MESSAGE_FIELDS, "message")?;
    let targets = ["token", "topic", "condition"].iter().filter(|t| message.contains_key(**t)).count();
    if targets == 0 {
        return Err(Box::new(wire::invalid_field("message", "Recipient of the message is not set.")));
    }
    if targets > 1 {
        return Err(Box::new(wire::invalid_field("message", "Exactly one of token, topic or condition must be set.")));
    }
    for target in ["token", "topic", "condition"] {
        if let Some(value) = message.get(target)
            && !value.is_string()
        {
            return Err(Box::new(type_error(&format!("message.{target}"), "TYPE_STRING", value)));
        }
    }
    if let Some(notification) = message.get("notification") {
        let Some(fields) = notification.as_object() else {
            return Err(Box::new(wire::invalid_payload(
                "Unknown name \"notification\": Proto field is not repeating.",
                "message",
            )));
        };
        known_fields(fields, NOTIFICATION_FIELDS, "message.notification")?;
        string_values(fields, "message.notification", false)?;
    }
    if let Some(data) = message.get("data") {
        let Some(data) = data.as_object() else {
            return Err(Box::new(type_error("message.data", "TYPE_MAP", data)));
        };
        string_values(data, "message.data", true)?;
        if let Some(key) = data.keys().find(|k| crate::is_reserved_data_key(k)) {
            return Err(Box::new(wire::invalid_field("message.data", &format!("Invalid data payload key: {key}"))));
        }
    }
    if let Some(android) = message.get("android") {
        let Some(android) = android.as_object() else {
            return Err(Box::new(type_error("message.android", "TYPE_MESSAGE", android)));
        };
        known_fields(android, ANDROID_FIELDS, "message.android")?;
        if let Some(priority) = android.get("priority")
            && !matches!(priority.as_str(), Some("NORMAL" | "HIGH"))
        {
            return Err(Box::new(type_error(
                "message.android.priority",
                "type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority",
                priority,
            )));
        }
    }
    if let Some(apns) = message.get("apns") {
        let Some(apns) = apns.as_object() else {
            return Err(Box::new(type_error("message.apns", "TYPE_MESSAGE", apns)));
        };
        known_fields(apns, APNS_FIELDS, "message.apns")?;
        if let Some(headers) = apns.get("headers") {
            let Some(headers) = headers.as_object() else {
                return Err(Box::new(type_error("message.apns.headers", "TYPE_MAP", headers)));
            };
            string_values(headers, "message.apns.headers", true)?;
        }
    }
    Ok((message.clone(), validate_only))
}

fn known_fields(object: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), Box<ResponseTemplate>> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => {
            let place = if at.is_empty() { String::new() } else { format!(" at '{at}'") };
            Err(Box::new(wire::invalid_payload(&format!("Unknown name \"{unknown}\"{place}: Cannot find field."), at)))
        }
    }
}

/// Every value a string (`map`: report as `field[i].value` like a proto map does).
fn string_values(object: &Map<String, Value>, at: &str, map: bool) -> Result<(), Box<ResponseTemplate>> {
    for (i, (key, value)) in object.iter().enumerate() {
        if !value.is_string() {
            let field = if map { format!("{at}[{i}].value") } else { format!("{at}.{key}") };
            return Err(Box::new(type_error(&field, "TYPE_STRING", value)));
        }
    }
    Ok(())
}

/// `Invalid value at 'field' (TYPE), value`, FCM's answer to a JSON value of the wrong type.
fn type_error(field: &str, kind: &str, value: &Value) -> ResponseTemplate {
    let message = format!("Invalid value at '{field}' ({kind}), {value}");
    wire::google_error(400, &message, vec![wire::field_violation(field, &message)])
}
