//! Live speech on the WebSocket: audio chunks are collected; about once a second the last
//! [`WINDOW_SECS`] of audio are transcribed again and the words that stopped changing are
//! settled (partial `transcript` events, `is_final: false`); `speech_end` transcribes the
//! whole utterance once more for the final text, which then runs as a normal text turn.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::web::Data;
use agents::intake::Intake;
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::ApiError;

/// Seconds of the most recent audio re-transcribed for a partial transcript.
pub const WINDOW_SECS: u32 = 20;
/// Largest utterance in a container format (its chunks form one file), in bytes.
const MAX_CONTAINER_BYTES: usize = 25 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// 16-bit little-endian mono samples.
    Pcm16 { sample_rate: u32 },
    /// Chunks of one file (wav, webm, ogg, m4a, mp3), converted by ffmpeg.
    Container,
}

/// A partial transcript of utterance `utterance_id`.
pub struct SpeechUpdate {
    pub utterance_id: Uuid,
    pub text: String,
}

/// The final transcript.
pub struct SpeechFinal {
    pub text: String,
    pub language: Option<String>,
}

pub struct SpeechSession {
    /// Partial transcripts carry it; the socket drops those of an utterance already over.
    utterance_id: Uuid,
    intake: Arc<Intake>,
    format: Format,
    language: Option<String>,
    session_id: Option<Uuid>,
    audio: Arc<Mutex<Vec<u8>>>,
    max_bytes: usize,
    /// Audio length at the last partial.
    partial_at: usize,
    in_flight: Arc<AtomicBool>,
    settler: Arc<Mutex<realtime::speech::Settler>>,
    /// Bytes of audio before the current window (moves as the window slides).
    window_start: Arc<Mutex<usize>>,
}

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, message)
}

impl SpeechSession {
    pub fn start(
        ctx: &Data<AppContext>,
        language: Option<String>,
        format: Option<String>,
        sample_rate: Option<u32>,
        session_id: Option<Uuid>,
    ) -> Result<Self, ApiError> {
        if !ctx.intake.transcription_enabled() {
            return Err(ApiError::unavailable("transcription_unavailable", "speech recognition is turned off"));
        }
        let language = match language.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(l) => Some(
                agents::intake::normalize_language(l)
                    .ok_or_else(|| invalid("invalid_language", "language must be en, zh or ms"))?
                    .to_string(),
            ),
        };
        let max_secs = ctx.settings.realtime.speech_max_secs as usize;
        let (format, max_bytes) = match format.as_deref().unwrap_or("pcm16") {
            "pcm16" => {
                let rate = sample_rate.unwrap_or(16_000);
                if !(8_000..=48_000).contains(&rate) {
                    return Err(invalid("invalid_sample_rate", "sample_rate must be 8000..=48000"));
                }
                (Format::Pcm16 { sample_rate: rate }, max_secs * rate as usize * 2)
            }
            "wav" | "webm" | "ogg" | "m4a" | "mp3" => (Format::Container, MAX_CONTAINER_BYTES),
            other => {
                return Err(invalid(
                    "invalid_audio_format",
                    format!(
                        "format '{}' is not one of pcm16, wav, webm, ogg, m4a, mp3",
                        other.chars().take(20).collect::<String>()
                    ),
                ));
            }
        };
        Ok(Self {
            utterance_id: Uuid::now_v7(),
            intake: ctx.intake.clone(),
            format,
            language,
            session_id,
            audio: Arc::new(Mutex::new(Vec::new())),
            max_bytes,
            partial_at: 0,
            in_flight: Arc::new(AtomicBool::new(false)),
            settler: Arc::new(Mutex::new(realtime::speech::Settler::new())),
            window_start: Arc::new(Mutex::new(0)),
        })
    }

    pub fn session_id(&self) -> Option<Uuid> {
        self.session_id
    }

    pub fn utterance_id(&self) -> Uuid {
        self.utterance_id
    }

    fn len(&self) -> usize {
        self.audio.lock().map(|a| a.len()).unwrap_or(0)
    }

    /// Adds a chunk; an utterance longer than `realtime.speech_max_secs` is refused.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        let mut audio = self.audio.lock().map_err(|_| ApiError::internal("speech buffer poisoned"))?;
        if audio.len() + chunk.len() > self.max_bytes {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "speech_too_long",
                "the utterance is longer than this server accepts; send speech_end sooner",
            ));
        }
        audio.extend_from_slice(chunk);
        Ok(())
    }

    /// New audio arrived since the last partial and none is being computed.
    pub fn wants_partial(&self) -> bool {
        self.len() > self.partial_at && !self.in_flight.load(Ordering::Acquire)
    }

    /// Re-transcribes the current window in the background and reports the result.
    pub fn partial(&mut self, report: impl FnOnce(SpeechUpdate) + Send + 'static) {
        if self.in_flight.swap(true, Ordering::AcqRel) {
            return;
        }
        let audio = match self.audio.lock() {
            Ok(a) => a.clone(),
            Err(_) => return,
        };
        self.partial_at = audio.len();
        let format = self.format;
        let intake = self.intake.clone();
        let language = self.language.clone();
        let in_flight = self.in_flight.clone();
        let settler = self.settler.clone();
        let window_start = self.window_start.clone();
        let utterance_id = self.utterance_id;
        tokio::spawn(async move {
            let wav = match format {
                Format::Pcm16 { sample_rate } => {
                    let window = (WINDOW_SECS * sample_rate * 2) as usize;
                    let mut start = window_start.lock().map(|s| *s).unwrap_or(0);
                    if audio.len() - start > window {
                        // The window slides: what is settled stays, later text is matched anew.
                        start = (audio.len() - window) & !1;
                        if let Ok(mut s) = window_start.lock() {
                            *s = start;
                        }
                        if let Ok(mut st) = settler.lock() {
                            st.commit_window();
                        }
                    }
                    Ok(agents::intake::wav_from_pcm16(&audio[start..], sample_rate))
                }
                Format::Container => intake.to_wav(audio).await,
            };
            let result = match wav {
                Ok(wav) => intake.transcribe_wav(wav, language.as_deref()).await,
                Err(e) => Err(e),
            };
            if let Ok(t) = result {
                let text = settler.lock().ok().map(|mut s| s.feed(&t.text).text);
                if let Some(text) = text
                    && !text.trim().is_empty()
                {
                    report(SpeechUpdate { utterance_id, text });
                }
            }
            in_flight.store(false, Ordering::Release);
        });
    }

    /// Transcribes the whole utterance.
    pub async fn finish(self) -> Result<SpeechFinal, ApiError> {
        let audio = self.audio.lock().map(|a| a.clone()).unwrap_or_default();
        if audio.is_empty() {
            return Err(invalid("no_audio", "no speech_audio was sent"));
        }
        let wav = match self.format {
            Format::Pcm16 { sample_rate } => agents::intake::wav_from_pcm16(&audio, sample_rate),
            Format::Container => self.intake.to_wav(audio).await?,
        };
        let t = self.intake.transcribe_wav(wav, self.language.as_deref()).await?;
        let text = self.settler.lock().map(|mut s| s.finish(&t.text)).unwrap_or(t.text.clone());
        Ok(SpeechFinal { text, language: t.language.or(self.language) })
    }
}
