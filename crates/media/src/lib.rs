//! Video and audio: probing, frames, audio tracks and speech-to-text.
