//! Media input (`/chat/send-media`, `/chat/send-url`) and the real-time channel (`/chat/ws`).

use serde::{Deserialize, Serialize};

use crate::Secret;

/// How uploads and URLs become text. Every processor can be turned off; one whose program
/// is missing is reported unavailable by `/admin/health` and skipped, said so in the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputSettings {
    /// OCR of images and scanned PDFs (tesseract).
    pub ocr: bool,
    /// tesseract's languages (those installed are used).
    pub ocr_languages: String,
    /// Video processing (ffmpeg/ffprobe).
    pub video: bool,
    /// Videos longer than this run as `media` jobs; shorter ones inline.
    pub video_inline_max_secs: u64,
    /// Longest video or audio accepted.
    pub max_duration_secs: u64,
    /// Seconds between the frames taken from a video.
    pub frame_every_secs: u64,
    /// Most frames taken from one video.
    pub max_frames: usize,
    /// Speech-to-text through an OpenAI-compatible `/v1/audio/transcriptions`.
    pub transcription: bool,
    /// `WHISPER_BASE_URL`: the local faster-whisper server by default.
    pub transcription_base_url: String,
    /// `WHISPER_MODEL`.
    pub transcription_model: String,
    /// `WHISPER_API_KEY` (not needed by the local server).
    pub transcription_api_key: Secret,
    pub transcription_timeout_secs: u64,
    /// A description of images (and video frames) by a vision-capable model, when one is
    /// configured; offline the answer holds OCR text and image facts only.
    pub vision: bool,
    /// Rendering pages that need JavaScript in headless Chromium (with a screenshot).
    pub browser: bool,
    /// The Chromium binary; empty: `chromium`, `chromium-browser` or `google-chrome` on PATH.
    pub chromium_path: String,
    /// Most characters of extracted text handed to the agent.
    pub max_text_chars: usize,
    /// Seconds any one processing step may take.
    pub step_timeout_secs: u64,
}

impl Default for InputSettings {
    fn default() -> Self {
        Self {
            ocr: true,
            ocr_languages: "eng+chi_sim+msa".into(),
            video: true,
            video_inline_max_secs: 60,
            max_duration_secs: 1800,
            frame_every_secs: 5,
            max_frames: 24,
            transcription: true,
            transcription_base_url: "http://127.0.0.1:8178".into(),
            transcription_model: "base".into(),
            transcription_api_key: Secret::default(),
            transcription_timeout_secs: 300,
            vision: true,
            browser: true,
            chromium_path: String::new(),
            max_text_chars: 100_000,
            step_timeout_secs: 120,
        }
    }
}

/// `/chat/ws` and the streaming endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RealtimeSettings {
    /// Largest client message, in bytes (a base64 camera frame or audio chunk).
    pub max_message_bytes: usize,
    /// Seconds between server pings.
    pub ping_secs: u64,
    /// A socket with no message and no pong for this long is closed.
    pub idle_timeout_secs: u64,
    /// Events queued for one connection before further ones are dropped for it.
    pub connection_queue: usize,
    /// Camera frames analysed per second per connection (extra frames are dropped).
    pub camera_fps: u32,
    /// Seconds between partial transcripts while speech arrives.
    pub speech_partial_secs: u64,
    /// Seconds of audio one live-speech session may send.
    pub speech_max_secs: u64,
    /// Seconds a turn's events are kept for `Last-Event-ID` resume.
    pub turn_events_ttl_secs: u64,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        Self {
            max_message_bytes: 2 * 1024 * 1024,
            ping_secs: 15,
            idle_timeout_secs: 60,
            connection_queue: 256,
            camera_fps: 1,
            speech_partial_secs: 1,
            speech_max_secs: 300,
            turn_events_ttl_secs: 600,
        }
    }
}
