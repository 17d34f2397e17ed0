//! Video and audio: probing, frames, audio tracks and speech-to-text.
//!
//! - [`av`]: `ffprobe` / `ffmpeg` subprocesses with timeouts and limits: [`Av::probe`],
//!   [`Av::extract_frames`] (JPEG every N seconds), [`Av::extract_audio_wav`] / [`Av::to_wav`]
//!   (16 kHz mono PCM WAV for Whisper).
//! - [`transcribe`]: [`Transcriber`], a client for OpenAI-compatible
//!   `POST /v1/audio/transcriptions` servers such as the local faster-whisper server in
//!   `scripts/whisper/` (see its `install.sh` / `start.sh`).
//! - `fake` (feature `fake`): [`fake::FakeWhisper`], a fake transcription server for tests.

pub mod av;
#[cfg(feature = "fake")]
pub mod fake;
pub mod transcribe;
pub mod wer;

pub use av::{AudioStream, Av, AvError, AvLimits, Frame, Probe, VideoStream, Wav};
pub use transcribe::{
    AudioInput, Health, Segment, TranscribeError, TranscribeOptions, Transcriber, Transcript, whisper_language,
};
