//! Client for an OpenAI-compatible speech-to-text server
//! (`POST {base_url}/v1/audio/transcriptions`, multipart), such as `scripts/whisper/server.py`.
//!
//! ```ignore
//! let stt = Transcriber::new("http://127.0.0.1:8178", "base")?.with_timeout(Duration::from_secs(120));
//! let audio = AudioInput::from_file(Path::new("/tmp/x.wav"), 100 << 20).await?;
//! let t = stt.transcribe(audio, &TranscribeOptions::language("zh")).await?;
//! ```
//!
//! Requests always send `temperature=0` (no sampling fallback: measured 4× slow outliers
//! without it) and `response_format=verbose_json`; plain `{text}` answers are accepted too.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde::{Deserialize, Serialize};

/// Prompt sent with Mandarin audio: Whisper otherwise often writes traditional characters.
pub const SIMPLIFIED_CHINESE_PROMPT: &str = "以下是普通话的句子，使用简体中文。";

/// Errors from the speech-to-text server.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    /// The server cannot be reached, or it kept failing (5xx / 429) after one retry.
    #[error("speech-to-text unavailable: {message}")]
    Unavailable {
        /// What went wrong.
        message: String,
    },
    /// The server refused the request (4xx other than 429), with its error message.
    #[error("speech-to-text rejected the request ({status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// `error.message` from an OpenAI-style body, else the body text.
        message: String,
        /// `error.code`, when given.
        code: Option<String>,
    },
    /// No answer within the configured timeout.
    #[error("speech-to-text timed out after {secs} s")]
    Timeout {
        /// The timeout.
        secs: u64,
    },
    /// The answer was not a transcription.
    #[error("speech-to-text answered with something unexpected: {0}")]
    BadResponse(String),
    /// The language hint is not one this client knows.
    #[error("unsupported language {0:?} (use en, zh or ms, a two-letter code, or leave it empty to detect)")]
    UnsupportedLanguage(String),
    /// Bad client settings (e.g. base URL) or unusable input (e.g. empty audio).
    #[error("{0}")]
    Invalid(String),
    /// Reading the audio file failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl TranscribeError {
    /// Whether trying again later may succeed (server down or overloaded, or timed out).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Timeout { .. })
    }
}

/// Maps a language hint to a Whisper language code: `en`/`english`/`en-US` → `en`,
/// `zh`/`chinese`/`mandarin`/`zh-CN`/`cmn`/`简体中文`/`中文` → `zh`,
/// `ms`/`malay`/`bahasa melayu`/`ms-MY`/`zsm` → `ms`; any other two-letter code passes through.
/// `Ok(None)` for an empty hint or `auto` (let the server detect).
pub fn whisper_language(hint: &str) -> Result<Option<String>, TranscribeError> {
    let h = hint.trim().to_lowercase().replace('_', "-");
    let code = match h.as_str() {
        "" | "auto" | "detect" => return Ok(None),
        "english" => "en",
        "chinese" | "mandarin" | "cmn" | "zho" | "chi" | "中文" | "普通话" | "汉语" | "简体中文" | "华语" => {
            "zh"
        }
        "malay" | "bahasa" | "bahasa melayu" | "bahasa malaysia" | "melayu" | "zsm" | "msa" | "may" => "ms",
        _ => {
            let primary = h.split('-').next().unwrap_or_default();
            if primary.len() == 2 && primary.chars().all(|c| c.is_ascii_lowercase()) {
                return Ok(Some(primary.to_owned()));
            }
            return Err(TranscribeError::UnsupportedLanguage(hint.to_owned()));
        }
    };
    Ok(Some(code.to_owned()))
}

/// Normalizes a language as servers report it (`english`, `en`, `Chinese`) to a code;
/// unknown names are returned lowercased.
fn normalize_reported_language(lang: &str) -> String {
    match whisper_language(lang) {
        Ok(Some(code)) => code,
        _ => lang.trim().to_lowercase(),
    }
}

/// Audio to send: bytes plus the file name and MIME type the server sees.
#[derive(Debug, Clone)]
pub struct AudioInput {
    /// The encoded audio (WAV, MP3, …).
    pub bytes: Vec<u8>,
    /// File name sent in the multipart part (servers use its extension as a format hint).
    pub file_name: String,
    /// MIME type of the part.
    pub mime: String,
}

impl AudioInput {
    /// Audio from memory; the MIME type is guessed from the file name's extension.
    pub fn new(bytes: Vec<u8>, file_name: impl Into<String>) -> Self {
        let file_name = file_name.into();
        let mime = mime_for(&file_name).to_owned();
        Self { bytes, file_name, mime }
    }

    /// Reads a file (refusing files over `max_bytes`).
    pub async fn from_file(path: &Path, max_bytes: u64) -> Result<Self, TranscribeError> {
        let io_err = |source| TranscribeError::Io { path: path.display().to_string(), source };
        let len = tokio::fs::metadata(path).await.map_err(io_err)?.len();
        if len > max_bytes {
            return Err(TranscribeError::Invalid(format!("{} is {len} bytes; at most {max_bytes}", path.display())));
        }
        let bytes = tokio::fs::read(path).await.map_err(io_err)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "audio.wav".into());
        Ok(Self::new(bytes, name))
    }
}

fn mime_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "m4a" | "mp4" => "audio/mp4",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "flac" => "audio/flac",
        "webm" => "audio/webm",
        _ => "application/octet-stream",
    }
}

/// Per-request options.
#[derive(Debug, Clone, Default)]
pub struct TranscribeOptions {
    /// The user's language hint (see [`whisper_language`]); `None` lets the server detect.
    pub language: Option<String>,
    /// Extra context for the model (names, terms); sent as `prompt`.
    pub prompt: Option<String>,
    /// Use this model instead of the client's.
    pub model: Option<String>,
}

impl TranscribeOptions {
    /// Options with just a language hint.
    pub fn language(hint: impl Into<String>) -> Self {
        Self { language: Some(hint.into()), ..Self::default() }
    }
}

/// A transcription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The whole text.
    pub text: String,
    /// Language code (reported by the server, else the one requested).
    pub language: Option<String>,
    /// Audio duration in seconds, when reported.
    pub duration_secs: Option<f64>,
    /// Timed segments (empty for plain `{text}` answers).
    pub segments: Vec<Segment>,
    /// The model that was asked.
    pub model: String,
}

/// A timed piece of a transcription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start (seconds).
    pub start: f64,
    /// End (seconds).
    pub end: f64,
    /// Text (trimmed).
    pub text: String,
}

/// What [`Transcriber::health`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// The URL that answered.
    pub url: String,
    /// Its HTTP status (any status means the server is reachable).
    pub status: u16,
}

#[derive(Deserialize)]
struct RawTranscript {
    text: String,
    language: Option<String>,
    duration: Option<f64>,
    #[serde(default)]
    segments: Vec<RawSegment>,
}

#[derive(Deserialize)]
struct RawSegment {
    start: f64,
    end: f64,
    text: String,
}

#[derive(Deserialize)]
struct OpenAiErrorBody {
    error: OpenAiError,
}

#[derive(Deserialize)]
struct OpenAiError {
    message: String,
    code: Option<serde_json::Value>,
}

/// OpenAI-compatible speech-to-text client.
#[derive(Debug, Clone)]
pub struct Transcriber {
    base_url: String,
    model: String,
    multilingual_model: Option<String>,
    api_key: Option<String>,
    timeout: Duration,
    max_retry_wait: Duration,
    http: reqwest::Client,
}

impl Transcriber {
    /// A client for `base_url` (e.g. `http://127.0.0.1:8178`; a trailing `/v1` is accepted)
    /// asking for `model` (e.g. `base`, `tiny.en`, `whisper-1`). Timeout 300 s.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Result<Self, TranscribeError> {
        let mut base_url = base_url.into().trim().trim_end_matches('/').to_owned();
        if let Some(stripped) = base_url.strip_suffix("/v1") {
            base_url = stripped.to_owned();
        }
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|e| TranscribeError::Invalid(format!("bad speech-to-text URL {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TranscribeError::Invalid(format!("speech-to-text URL must be http(s): {base_url}")));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .map_err(|e| TranscribeError::Invalid(format!("HTTP client: {e}")))?;
        Ok(Self {
            base_url,
            model: model.into(),
            multilingual_model: None,
            api_key: None,
            timeout: Duration::from_secs(300),
            max_retry_wait: Duration::from_secs(10),
            http,
        })
    }

    /// Sends `Authorization: Bearer {key}`.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Whole-request timeout (upload + transcription + answer).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest wait before the single retry after a 5xx / 429, whatever `Retry-After` says
    /// (default 10 s).
    pub fn with_max_retry_wait(mut self, wait: Duration) -> Self {
        self.max_retry_wait = wait;
        self
    }

    /// Model used instead of an English-only default model (name ending in `.en`) when the
    /// language hint is not English, e.g. `tiny.en` + `base`.
    pub fn with_multilingual_model(mut self, model: impl Into<String>) -> Self {
        self.multilingual_model = Some(model.into());
        self
    }

    /// The base URL (without `/v1`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The default model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The model a request with this (already mapped) language goes to.
    pub fn model_for(&self, language: Option<&str>) -> &str {
        match (language, &self.multilingual_model) {
            (Some(lang), Some(multi)) if lang != "en" && self.model.ends_with(".en") => multi,
            _ => &self.model,
        }
    }

    /// Reads a file and transcribes it (files over 100 MiB are refused).
    pub async fn transcribe_file(&self, path: &Path, opts: &TranscribeOptions) -> Result<Transcript, TranscribeError> {
        let audio = AudioInput::from_file(path, 100 * 1024 * 1024).await?;
        self.transcribe(audio, opts).await
    }

    /// Transcribes audio. Retries once after a 5xx or 429 (waiting `Retry-After`, capped).
    pub async fn transcribe(&self, audio: AudioInput, opts: &TranscribeOptions) -> Result<Transcript, TranscribeError> {
        if audio.bytes.is_empty() {
            return Err(TranscribeError::Invalid("empty audio".into()));
        }
        let language = match opts.language.as_deref() {
            Some(hint) => whisper_language(hint)?,
            None => None,
        };
        let model = opts.model.clone().unwrap_or_else(|| self.model_for(language.as_deref()).to_owned());
        let prompt = match (language.as_deref(), opts.prompt.as_deref().map(str::trim).filter(|p| !p.is_empty())) {
            (Some("zh"), Some(p)) => Some(format!("{SIMPLIFIED_CHINESE_PROMPT}{p}")),
            (Some("zh"), None) => Some(SIMPLIFIED_CHINESE_PROMPT.to_owned()),
            (_, p) => p.map(str::to_owned),
        };
        let url = format!("{}/v1/audio/transcriptions", self.base_url);
        let started = Instant::now();
        let mut retried = false;
        loop {
            let mut form = Form::new()
                .part(
                    "file",
                    Part::bytes(audio.bytes.clone())
                        .file_name(audio.file_name.clone())
                        .mime_str(&audio.mime)
                        .map_err(|e| TranscribeError::Invalid(format!("MIME type {:?}: {e}", audio.mime)))?,
                )
                .text("model", model.clone())
                .text("response_format", "verbose_json")
                .text("temperature", "0");
            if let Some(lang) = &language {
                form = form.text("language", lang.clone());
            }
            if let Some(p) = &prompt {
                form = form.text("prompt", p.clone());
            }
            let remaining = self.timeout.saturating_sub(started.elapsed());
            let mut req = self.http.post(&url).multipart(form).timeout(remaining);
            if let Some(key) = &self.api_key {
                req = req.bearer_auth(key);
            }
            let resp = req.send().await.map_err(|e| self.send_error(e))?;
            let status = resp.status();
            if status.is_success() {
                let body = resp.bytes().await.map_err(|e| self.send_error(e))?;
                return parse_transcript(&body, &model, language.as_deref());
            }
            let retry_after =
                resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body = resp.text().await.unwrap_or_default();
            let message = error_message(&body).unwrap_or_else(|| snippet(&body));
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_wait(retry_after.as_deref(), self.max_retry_wait);
                if !retried && started.elapsed() + wait < self.timeout {
                    tracing::warn!(%status, ?wait, "speech-to-text busy or failing; retrying once");
                    retried = true;
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(TranscribeError::Unavailable { message: format!("{status}: {message}") });
            }
            let code =
                serde_json::from_str::<OpenAiErrorBody>(&body).ok().and_then(|b| b.error.code).and_then(|c| match c {
                    serde_json::Value::String(s) => Some(s),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                });
            return Err(TranscribeError::Rejected { status: status.as_u16(), message, code });
        }
    }

    /// Checks the server answers: `GET /health`, then `GET /v1/models` if `/health` is not a
    /// route there. Any HTTP answer counts as reachable; only a failed connection (or timeout)
    /// is an error ([`TranscribeError::Unavailable`]).
    pub async fn health(&self) -> Result<Health, TranscribeError> {
        let mut last = None;
        for path in ["/health", "/v1/models"] {
            let url = format!("{}{path}", self.base_url);
            let mut req = self.http.get(&url).timeout(Duration::from_secs(5).min(self.timeout));
            if let Some(key) = &self.api_key {
                req = req.bearer_auth(key);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| TranscribeError::Unavailable { message: format!("{url}: {}", describe(&e)) })?;
            let status = resp.status().as_u16();
            let health = Health { url, status };
            if !matches!(status, 404 | 405) {
                return Ok(health);
            }
            last = Some(health);
        }
        last.ok_or_else(|| TranscribeError::Unavailable { message: "no health route".into() })
    }

    fn send_error(&self, e: reqwest::Error) -> TranscribeError {
        if e.is_timeout() {
            TranscribeError::Timeout { secs: self.timeout.as_secs() }
        } else {
            TranscribeError::Unavailable { message: format!("{}: {}", self.base_url, describe(&e)) }
        }
    }
}

/// reqwest error with its causes (e.g. "error sending request: Connection refused").
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

fn retry_wait(retry_after: Option<&str>, cap: Duration) -> Duration {
    let wait = retry_after
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_millis(500));
    wait.min(cap)
}

fn error_message(body: &str) -> Option<String> {
    serde_json::from_str::<OpenAiErrorBody>(body).ok().map(|b| b.error.message)
}

fn snippet(body: &str) -> String {
    let t = body.trim();
    if t.is_empty() {
        return "(empty body)".into();
    }
    let mut s: String = t.chars().take(300).collect();
    if t.chars().count() > 300 {
        s.push('…');
    }
    s
}

fn parse_transcript(body: &[u8], model: &str, requested: Option<&str>) -> Result<Transcript, TranscribeError> {
    let raw: RawTranscript = serde_json::from_slice(body)
        .map_err(|e| TranscribeError::BadResponse(format!("{e}: {}", snippet(&String::from_utf8_lossy(body)))))?;
    Ok(Transcript {
        text: raw.text.trim().to_owned(),
        language: raw
            .language
            .as_deref()
            .map(normalize_reported_language)
            .filter(|l| !l.is_empty())
            .or_else(|| requested.map(str::to_owned)),
        duration_secs: raw.duration,
        segments: raw
            .segments
            .into_iter()
            .map(|s| Segment { start: s.start, end: s.end, text: s.text.trim().to_owned() })
            .collect(),
        model: model.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_hints() {
        let code = |h: &str| whisper_language(h).ok().flatten();
        assert_eq!(code("English"), Some("en".into()));
        assert_eq!(code("en-US"), Some("en".into()));
        assert_eq!(code("zh_CN"), Some("zh".into()));
        assert_eq!(code("Chinese"), Some("zh".into()));
        assert_eq!(code("中文"), Some("zh".into()));
        assert_eq!(code("Bahasa Melayu"), Some("ms".into()));
        assert_eq!(code("malay"), Some("ms".into()));
        assert_eq!(code("fr"), Some("fr".into()));
        assert!(whisper_language("").is_ok_and(|l| l.is_none()));
        assert!(whisper_language("auto").is_ok_and(|l| l.is_none()));
        assert!(matches!(whisper_language("klingon"), Err(TranscribeError::UnsupportedLanguage(_))));
    }

    #[test]
    fn retry_after_is_capped() {
        let cap = Duration::from_secs(2);
        assert_eq!(retry_wait(Some("1"), cap), Duration::from_secs(1));
        assert_eq!(retry_wait(Some("120"), cap), cap);
        assert_eq!(retry_wait(Some("Wed, 21 Oct 2015 07:28:00 GMT"), cap), Duration::from_millis(500));
        assert_eq!(retry_wait(None, Duration::from_millis(100)), Duration::from_millis(100));
    }

    #[test]
    fn plain_and_verbose_answers() {
        let t = parse_transcript(br#"{"text":" hi there "}"#, "m", Some("en")).map_err(|e| e.to_string());
        assert_eq!(t.as_ref().map(|t| (t.text.as_str(), t.language.as_deref())), Ok(("hi there", Some("en"))));
        let t = parse_transcript(
            br#"{"task":"transcribe","language":"english","duration":2.5,"text":"a b",
                 "segments":[{"id":0,"start":0.0,"end":1.2,"text":" a","tokens":[1]},{"id":1,"start":1.2,"end":2.5,"text":" b"}]}"#,
            "m",
            None,
        )
        .map_err(|e| e.to_string());
        let t = t.as_ref().ok();
        assert_eq!(t.and_then(|t| t.language.as_deref()), Some("en"));
        assert_eq!(t.map(|t| t.segments.len()), Some(2));
        assert_eq!(t.and_then(|t| t.duration_secs), Some(2.5));
        assert!(matches!(parse_transcript(b"<html>", "m", None), Err(TranscribeError::BadResponse(_))));
    }

    #[test]
    fn english_only_model_switches_for_other_languages() {
        let t = Transcriber::new("http://127.0.0.1:1/v1/", "tiny.en").map(|t| t.with_multilingual_model("base"));
        let t = t.as_ref().ok();
        assert_eq!(t.map(|t| t.base_url()), Some("http://127.0.0.1:1"));
        assert_eq!(t.map(|t| t.model_for(Some("zh"))), Some("base"));
        assert_eq!(t.map(|t| t.model_for(Some("en"))), Some("tiny.en"));
        assert_eq!(t.map(|t| t.model_for(None)), Some("tiny.en"));
        assert!(Transcriber::new("ftp://x", "m").is_err());
    }
}
