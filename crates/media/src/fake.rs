//! A fake OpenAI-compatible speech-to-text server on loopback (feature `fake`), for this and
//! other crates' tests.
//!
//! It speaks the wire format of `scripts/whisper/server.py` and OpenAI:
//! `POST /v1/audio/transcriptions` takes `multipart/form-data` and checks it as the real servers
//! do: a non-empty `file` part and a `model` field are required (else 400 with OpenAI's error
//! body `{"error":{"message","type","param","code"}}`), `language` must be a two-letter code,
//! `model` must be one of [`FakeWhisper::set_models`] (default `tiny.en`, `base`, `whisper-1`),
//! and an English-only model (`*.en`) refuses another language. It answers `verbose_json`
//! (`task`, `language`, `duration`, `text`, `segments[]`), `json` (`{text}`) or `text`.
//! The duration comes from the WAV header when the file is a WAV. `GET /health` and
//! `GET /v1/models` answer too.
//!
//! ```ignore
//! let fake = FakeWhisper::start().await;
//! fake.set_transcript("Hello there.", "en");
//! fake.fail_next(503, Some(0)); // one 503 with Retry-After: 0, then the transcript
//! let stt = Transcriber::new(fake.base_url(), "base")?;
//! assert_eq!(stt.transcribe(audio, &opts).await?.text, "Hello there.");
//! assert_eq!(fake.requests().len(), 2);
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// A transcription request the fake received (also the refused ones), in arrival order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeenTranscription {
    /// The `model` field.
    pub model: Option<String>,
    /// The `language` field.
    pub language: Option<String>,
    /// The `prompt` field.
    pub prompt: Option<String>,
    /// The `temperature` field.
    pub temperature: Option<String>,
    /// The `response_format` field.
    pub response_format: Option<String>,
    /// The `file` part's file name.
    pub file_name: Option<String>,
    /// The `file` part's content type.
    pub file_content_type: Option<String>,
    /// The `file` part's size (0 when absent).
    pub file_bytes: usize,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// All text fields, in order.
    pub fields: Vec<(String, String)>,
    /// The status the fake answered with.
    pub status: u16,
}

#[derive(Debug, Clone)]
struct Scripted {
    status: u16,
    message: String,
    code: Option<String>,
    retry_after: Option<u64>,
}

#[derive(Debug)]
struct State {
    text: String,
    language: String,
    models: Vec<String>,
    queue: VecDeque<Scripted>,
    delay: Option<Duration>,
    api_key: Option<String>,
    seen: Vec<SeenTranscription>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fake server on `127.0.0.1:<random port>`; it stops when dropped.
pub struct FakeWhisper {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for FakeWhisper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeWhisper").field("uri", &self.server.uri()).finish()
    }
}

impl FakeWhisper {
    /// Starts a fake answering "This is a fake transcript." in English.
    pub async fn start() -> Self {
        let server = MockServer::builder().disable_request_recording().start().await;
        let state = Arc::new(Mutex::new(State {
            text: "This is a fake transcript.".into(),
            language: "en".into(),
            models: vec!["tiny.en".into(), "base".into(), "whisper-1".into()],
            queue: VecDeque::new(),
            delay: None,
            api_key: None,
            seen: Vec::new(),
        }));
        Mock::given(any()).respond_with(Responder(state.clone())).mount(&server).await;
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>` (the client adds `/v1/audio/transcriptions`).
    pub fn base_url(&self) -> String {
        self.server.uri()
    }

    /// What the next successful transcriptions return. `language` is reported as given,
    /// unless the request named a language (then that one is reported, as Whisper does).
    pub fn set_transcript(&self, text: &str, language: &str) {
        let mut s = lock(&self.state);
        s.text = text.into();
        s.language = language.into();
    }

    /// Models the fake accepts (others get 400 `model_not_found`).
    pub fn set_models(&self, models: &[&str]) {
        lock(&self.state).models = models.iter().map(|m| (*m).to_owned()).collect();
    }

    /// The next transcription request gets `status` (e.g. 503, 500, 429) with an OpenAI
    /// error body and, if given, `Retry-After: secs`. Calls queue up.
    pub fn fail_next(&self, status: u16, retry_after_secs: Option<u64>) {
        lock(&self.state).queue.push_back(Scripted {
            status,
            message: format!("fake server error {status}"),
            code: None,
            retry_after: retry_after_secs,
        });
    }

    /// The next transcription request gets `status` (e.g. 400, 413) with OpenAI's error body
    /// carrying `message` and `code`. Calls queue up (shared queue with [`Self::fail_next`]).
    pub fn reject_next(&self, status: u16, message: &str, code: Option<&str>) {
        lock(&self.state).queue.push_back(Scripted {
            status,
            message: message.into(),
            code: code.map(str::to_owned),
            retry_after: None,
        });
    }

    /// Delays every answer (to test client timeouts).
    pub fn set_delay(&self, delay: Option<Duration>) {
        lock(&self.state).delay = delay;
    }

    /// Requires `Authorization: Bearer {key}` (else 401 `invalid_api_key`).
    pub fn require_api_key(&self, key: &str) {
        lock(&self.state).api_key = Some(key.into());
    }

    /// The transcription requests received so far, refused ones included.
    pub fn requests(&self) -> Vec<SeenTranscription> {
        lock(&self.state).seen.clone()
    }
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut state = lock(&self.0);
        let reply = match (req.method.as_str(), req.url.path()) {
            ("GET", "/health") => ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})),
            ("GET", "/v1/models") => ResponseTemplate::new(200).set_body_json(json!({
                "object": "list",
                "data": state.models.iter().map(|m| json!({"id": m, "object": "model"})).collect::<Vec<_>>(),
            })),
            ("POST", "/v1/audio/transcriptions") => {
                let (seen, reply) = transcription(&mut state, req);
                state.seen.push(seen);
                reply
            }
            (m, p) => error(404, &format!("no route {m} {p}"), None, None),
        };
        match state.delay {
            Some(d) => reply.set_delay(d),
            None => reply,
        }
    }
}

fn error(status: u16, message: &str, param: Option<&str>, code: Option<&str>) -> ResponseTemplate {
    let kind = if status >= 500 { "server_error" } else { "invalid_request_error" };
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": {"message": message, "type": kind, "param": param, "code": code}}))
}

fn transcription(state: &mut State, req: &Request) -> (SeenTranscription, ResponseTemplate) {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut seen = SeenTranscription { authorization: header("authorization"), ..SeenTranscription::default() };
    let reply = check_and_answer(state, req, &mut seen, header("content-type").unwrap_or_default());
    seen.status = reply.0;
    (seen, reply.1)
}

fn check_and_answer(
    state: &mut State,
    req: &Request,
    seen: &mut SeenTranscription,
    content_type: String,
) -> (u16, ResponseTemplate) {
    let fail = |status: u16, message: &str, param: Option<&str>, code: Option<&str>| {
        (status, error(status, message, param, code))
    };
    if let Some(key) = &state.api_key
        && seen.authorization.as_deref() != Some(format!("Bearer {key}").as_str())
    {
        return fail(401, "Incorrect API key provided", None, Some("invalid_api_key"));
    }
    let Some(parts) = parse_multipart(&content_type, &req.body) else {
        return fail(400, "expected a multipart/form-data body", None, None);
    };
    let mut file: Option<&Part> = None;
    for part in &parts {
        if part.name == "file" {
            file = Some(part);
        } else {
            let value = String::from_utf8_lossy(&part.data).into_owned();
            match part.name.as_str() {
                "model" => seen.model = Some(value.clone()),
                "language" => seen.language = Some(value.clone()),
                "prompt" => seen.prompt = Some(value.clone()),
                "temperature" => seen.temperature = Some(value.clone()),
                "response_format" => seen.response_format = Some(value.clone()),
                _ => {}
            }
            seen.fields.push((part.name.clone(), value));
        }
    }
    if let Some(f) = file {
        seen.file_name = f.file_name.clone();
        seen.file_content_type = f.content_type.clone();
        seen.file_bytes = f.data.len();
    }
    if let Some(s) = state.queue.pop_front() {
        let mut reply = error(s.status, &s.message, None, s.code.as_deref());
        if let Some(secs) = s.retry_after {
            reply = reply.insert_header("retry-after", secs.to_string().as_str());
        }
        return (s.status, reply);
    }
    let Some(file) = file.filter(|f| !f.data.is_empty() && f.file_name.is_some()) else {
        return fail(400, "you must provide a 'file' (a file part with a file name)", Some("file"), None);
    };
    let Some(model) = seen.model.clone().filter(|m| !m.is_empty()) else {
        return fail(400, "you must provide a model parameter", Some("model"), None);
    };
    if !state.models.contains(&model) {
        return fail(404, &format!("the model `{model}` does not exist"), Some("model"), Some("model_not_found"));
    }
    let language = seen.language.clone().filter(|l| !l.is_empty());
    if let Some(lang) = &language {
        if lang.len() != 2 || !lang.chars().all(|c| c.is_ascii_lowercase()) {
            return fail(400, &format!("language '{lang}' is not an ISO-639-1 code"), Some("language"), None);
        }
        if model.ends_with(".en") && lang != "en" {
            return fail(400, &format!("model '{model}' is English-only"), Some("language"), None);
        }
    }
    if let Some(t) = &seen.temperature
        && t.parse::<f64>().is_err()
    {
        return fail(400, "temperature must be a number", Some("temperature"), None);
    }
    let text = state.text.clone();
    let language = language.unwrap_or_else(|| state.language.clone());
    let duration = wav_duration(&file.data).unwrap_or(text.chars().count() as f64 * 0.06);
    match seen.response_format.as_deref().unwrap_or("json") {
        "json" => (200, ResponseTemplate::new(200).set_body_json(json!({"text": text}))),
        "text" => (200, ResponseTemplate::new(200).set_body_string(format!("{text}\n"))),
        "verbose_json" => (
            200,
            ResponseTemplate::new(200).set_body_json(json!({
                "task": "transcribe",
                "language": language,
                "duration": duration,
                "text": text,
                "segments": segments(&text, duration),
            })),
        ),
        other => fail(400, &format!("response_format '{other}' is not supported"), Some("response_format"), None),
    }
}

/// Sentences spread over the duration in proportion to their length.
fn segments(text: &str, duration: f64) -> Vec<Value> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if matches!(c, '.' | '!' | '?' | '。' | '！' | '？') {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    let total = pieces.iter().map(|p| p.chars().count()).sum::<usize>().max(1) as f64;
    let mut at = 0.0;
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let end = at + duration * p.chars().count() as f64 / total;
            let seg = json!({"id": i, "seek": 0, "start": at, "end": end, "text": format!(" {}", p.trim()),
                "tokens": [], "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.2, "no_speech_prob": 0.01});
            at = end;
            seg
        })
        .collect()
}

/// Duration of a PCM WAV from its `fmt ` and `data` chunks.
fn wav_duration(b: &[u8]) -> Option<f64> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return None;
    }
    let u32_at = |i: usize| b.get(i..i + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let mut i = 12;
    let mut byte_rate = None;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let len = u32_at(i + 4)? as usize;
        if id == b"fmt " {
            byte_rate = u32_at(i + 16);
        } else if id == b"data" {
            // ffmpeg writing to a pipe leaves the length unset: use what is there.
            let len = if len == 0 || len == u32::MAX as usize { b.len() - i - 8 } else { len };
            return byte_rate.filter(|r| *r > 0).map(|r| len as f64 / r as f64);
        }
        i += 8 + len + (len & 1);
    }
    None
}

struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

/// A small `multipart/form-data` parser (RFC 7578), enough for clients' requests.
fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_owned())
    })?;
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = &body[find(body, &delim)? + delim.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let next = find(rest, &[b"\r\n".as_slice(), &delim].concat())?;
        let chunk = &rest[..next];
        rest = &rest[next + 2 + delim.len()..];
        let head_end = find(chunk, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&chunk[..head_end]);
        let mut part =
            Part { name: String::new(), file_name: None, content_type: None, data: chunk[head_end + 4..].to_vec() };
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else { continue };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                for p in v.split(';').skip(1) {
                    if let Some((pk, pv)) = p.split_once('=') {
                        let pv = pv.trim().trim_matches('"').to_owned();
                        match pk.trim() {
                            "name" => part.name = pv,
                            "filename" => part.file_name = Some(pv),
                            _ => {}
                        }
                    }
                }
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(v.trim().to_owned());
            }
        }
        parts.push(part);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nbase\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRI\r\nFF\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap_or_default();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), parts[0].data.as_slice()), ("model", b"base".as_slice()));
        assert_eq!(parts[1].file_name.as_deref(), Some("a.wav"));
        assert_eq!(parts[1].data, b"RI\r\nFF");
        assert!(parse_multipart("application/json", body).is_none());
    }

    #[test]
    fn wav_header_duration() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data".to_vec();
        wav.extend_from_slice(&64_000u32.to_le_bytes());
        wav.extend(std::iter::repeat_n(0u8, 64_000));
        assert_eq!(wav_duration(&wav), Some(2.0));
        assert_eq!(wav_duration(b"ID3 mp3"), None);
    }
}
