//! Probing and converting media with the `ffprobe` / `ffmpeg` command-line tools.
//!
//! Every tool runs as a `tokio::process` child with a timeout and `kill_on_drop`, so a stuck or
//! cancelled conversion never outlives its future. Inputs are opened through ffmpeg's `file:`
//! protocol only (`-protocol_whitelist file`), so a path can never turn into a network fetch and
//! playlist-like formats (HLS, concat lists) are refused, as they could pull in other files.
//! Durations are checked against [`AvLimits::max_duration_secs`] before any conversion, and
//! outputs are capped with ffmpeg's `-t`/`-fs` and checked afterwards.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::process::Command;

/// Sample rate of the WAV files this module writes (what Whisper expects).
pub const WAV_SAMPLE_RATE: u32 = 16_000;

/// Container formats that reference other files or URLs: never opened.
const REFUSED_FORMATS: &[&str] = &["hls", "applehttp", "concat", "dash", "ffconcat", "tee", "lavfi"];

/// Limits and tool locations.
#[derive(Debug, Clone)]
pub struct AvLimits {
    /// Longest input accepted for conversion or frame extraction (seconds).
    pub max_duration_secs: f64,
    /// Largest input file accepted (bytes).
    pub max_input_bytes: u64,
    /// Largest single output file (a WAV, one JPEG frame) (bytes).
    pub max_output_bytes: u64,
    /// Timeout for one `ffprobe` run.
    pub probe_timeout: Duration,
    /// Timeout for one `ffmpeg` run.
    pub convert_timeout: Duration,
    /// Frames wider than this are scaled down (keeping the aspect ratio).
    pub max_frame_width: u32,
    /// `ffmpeg` executable (name looked up in `PATH`, or a path).
    pub ffmpeg: PathBuf,
    /// `ffprobe` executable.
    pub ffprobe: PathBuf,
}

impl Default for AvLimits {
    fn default() -> Self {
        Self {
            max_duration_secs: 2.0 * 3600.0,
            max_input_bytes: 2 * 1024 * 1024 * 1024,
            // 2 h of 16 kHz mono 16-bit PCM is 230 MB.
            max_output_bytes: 256 * 1024 * 1024,
            probe_timeout: Duration::from_secs(30),
            convert_timeout: Duration::from_secs(300),
            max_frame_width: 1280,
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: PathBuf::from("ffprobe"),
        }
    }
}

/// Errors from probing or converting media.
#[derive(Debug, thiserror::Error)]
pub enum AvError {
    /// The tool is not installed (or not executable).
    #[error("{tool} is not installed or not executable (apt-get install ffmpeg)")]
    ToolMissing {
        /// `ffmpeg` or `ffprobe`.
        tool: String,
    },
    /// The input file does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Input {
        /// The input path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not media ffmpeg can read (truncated, corrupt, or another kind of file).
    #[error("{path} is not a readable media file (truncated or corrupt?): {detail}")]
    Unreadable {
        /// The input path.
        path: PathBuf,
        /// ffprobe's own error message.
        detail: String,
    },
    /// The container format is refused (it may reference other files or URLs).
    #[error("media format {format} is not accepted")]
    RefusedFormat {
        /// ffprobe's format name.
        format: String,
    },
    /// The input needs a stream it does not have.
    #[error("{path} has no {kind} stream")]
    MissingStream {
        /// The input path.
        path: PathBuf,
        /// `video` or `audio`.
        kind: &'static str,
    },
    /// The input is longer than [`AvLimits::max_duration_secs`].
    #[error("media is {duration_secs:.0} s long; at most {max_secs:.0} s is accepted")]
    TooLong {
        /// The probed duration.
        duration_secs: f64,
        /// The limit.
        max_secs: f64,
    },
    /// An input or output file is over its size limit.
    #[error("{path} is {bytes} bytes; the limit is {max}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (for outputs: at least this much).
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// The tool did not finish in time (it was killed).
    #[error("{tool} timed out after {secs} s")]
    Timeout {
        /// `ffmpeg` or `ffprobe`.
        tool: String,
        /// The timeout.
        secs: u64,
    },
    /// The tool exited with an error.
    #[error("{tool} failed ({status}): {stderr}")]
    Failed {
        /// `ffmpeg` or `ffprobe`.
        tool: String,
        /// Exit status as text.
        status: String,
        /// The end of its standard error.
        stderr: String,
    },
    /// ffprobe's output could not be understood.
    #[error("unexpected ffprobe output: {0}")]
    BadProbe(String),
    /// Writing or listing outputs failed.
    #[error("output {path}: {source}")]
    Output {
        /// The output path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What `ffprobe` says about a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Duration in seconds.
    pub duration_secs: f64,
    /// ffprobe's format name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `avi`, `mp3`, `ogg`, `wav`.
    pub format: String,
    /// The first real video stream (cover art in audio files is not counted).
    pub video: Option<VideoStream>,
    /// The first audio stream.
    pub audio: Option<AudioStream>,
}

/// A video stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoStream {
    /// Codec name, e.g. `h264`, `mpeg4`.
    pub codec: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second (average; 0 when unknown).
    pub fps: f64,
}

/// An audio stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioStream {
    /// Codec name, e.g. `aac`, `mp3`, `vorbis`, `pcm_s16le`.
    pub codec: String,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u32,
}

/// One extracted frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Position in the video (seconds from the start).
    pub at_secs: f64,
    /// The JPEG file.
    pub path: PathBuf,
}

/// A WAV file written by [`Av::extract_audio_wav`] / [`Av::to_wav`]: 16 kHz, mono, 16-bit PCM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wav {
    /// The file.
    pub path: PathBuf,
    /// Duration of the source audio (seconds, from probing it).
    pub duration_secs: f64,
    /// Size of the file.
    pub bytes: u64,
}

/// ffmpeg / ffprobe runner with limits.
#[derive(Debug, Clone, Default)]
pub struct Av {
    limits: AvLimits,
}

impl Av {
    /// A runner with these limits.
    pub fn new(limits: AvLimits) -> Self {
        Self { limits }
    }

    /// The limits in force.
    pub fn limits(&self) -> &AvLimits {
        &self.limits
    }

    /// Probes a file: duration, container format, first video and audio streams.
    pub async fn probe(&self, path: &Path) -> Result<Probe, AvError> {
        let meta = tokio::fs::metadata(path).await.map_err(|source| AvError::Input { path: path.into(), source })?;
        if !meta.is_file() {
            return Err(AvError::Input {
                path: path.into(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
            });
        }
        if meta.len() > self.limits.max_input_bytes {
            return Err(AvError::TooLarge { path: path.into(), bytes: meta.len(), max: self.limits.max_input_bytes });
        }
        let mut cmd = Command::new(&self.limits.ffprobe);
        cmd.args([
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(file_url(path));
        let out = run(cmd, "ffprobe", self.limits.probe_timeout).await?;
        if !out.status.success() {
            let detail = last_lines(&out.stderr, 3);
            return Err(AvError::Unreadable {
                path: path.into(),
                detail: if detail.is_empty() { format!("ffprobe exited with {}", out.status) } else { detail },
            });
        }
        let probe = parse_probe(&out.stdout).map_err(|e| match e {
            // A file ffprobe opens but finds nothing playable in (e.g. cut off right after the header).
            AvError::BadProbe(detail) if detail.contains("no streams") || detail.contains("duration") => {
                AvError::Unreadable { path: path.into(), detail }
            }
            other => other,
        })?;
        if probe.format.split(',').any(|f| REFUSED_FORMATS.contains(&f)) {
            return Err(AvError::RefusedFormat { format: probe.format });
        }
        Ok(probe)
    }

    /// Extracts one JPEG every `every_secs` seconds (the first at 0 s) into `out_dir`
    /// (created if missing; earlier `frame_*.jpg` files there are removed).
    ///
    /// At most `max_frames` frames: when the video is longer than `every_secs × max_frames`
    /// the interval is stretched to `duration / max_frames` so the frames still cover the
    /// whole video. Frames wider than [`AvLimits::max_frame_width`] are scaled down.
    pub async fn extract_frames(
        &self,
        path: &Path,
        out_dir: &Path,
        every_secs: f64,
        max_frames: usize,
    ) -> Result<Vec<Frame>, AvError> {
        let probe = self.probe(path).await?;
        if probe.video.is_none() {
            return Err(AvError::MissingStream { path: path.into(), kind: "video" });
        }
        self.check_duration(&probe)?;
        if max_frames == 0 {
            return Ok(Vec::new());
        }
        let every = if every_secs.is_finite() && every_secs > 0.0 { every_secs } else { 5.0 };
        let every = every.max(probe.duration_secs / max_frames as f64);
        let out_err = |source| AvError::Output { path: out_dir.into(), source };
        tokio::fs::create_dir_all(out_dir).await.map_err(out_err)?;
        remove_old_frames(out_dir).await.map_err(out_err)?;

        // The first frame of each `every`-second window (the `fps` filter would round the last
        // window away: 12 s every 5 s gave 2 frames instead of 0, 5 and 10 s).
        let filter = format!(
            "select='isnan(prev_selected_t)+gt(floor(t/{every}),floor(prev_selected_t/{every}))',scale='min({w},iw)':-2",
            w = self.limits.max_frame_width
        );
        let pattern = out_dir.join("frame_%05d.jpg");
        let mut cmd = self.ffmpeg(path);
        cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn", "-vf", &filter, "-fps_mode", "vfr", "-q:v", "3"])
            .args(["-frames:v", &max_frames.to_string(), "-fs", &self.limits.max_output_bytes.to_string()])
            .args(["-f", "image2", "-y"])
            .arg(file_url(&pattern));
        self.run_ffmpeg(cmd).await?;

        let mut frames = Vec::new();
        for i in 0..max_frames {
            let p = out_dir.join(format!("frame_{:05}.jpg", i + 1));
            match tokio::fs::metadata(&p).await {
                Ok(m) => {
                    if m.len() >= self.limits.max_output_bytes {
                        return Err(AvError::TooLarge { path: p, bytes: m.len(), max: self.limits.max_output_bytes });
                    }
                    frames.push(Frame { at_secs: i as f64 * every, path: p });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(source) => return Err(AvError::Output { path: p, source }),
            }
        }
        Ok(frames)
    }

    /// Writes the first audio track of a video (or any media) as 16 kHz mono 16-bit PCM WAV.
    pub async fn extract_audio_wav(&self, path: &Path, out: &Path) -> Result<Wav, AvError> {
        let probe = self.probe(path).await?;
        if probe.audio.is_none() {
            return Err(AvError::MissingStream { path: path.into(), kind: "audio" });
        }
        self.check_duration(&probe)?;
        let mut cmd = self.ffmpeg(path);
        cmd.args(["-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1", "-ar", &WAV_SAMPLE_RATE.to_string()])
            .args(["-c:a", "pcm_s16le", "-map_metadata", "-1"])
            .args(["-t", &format!("{}", self.limits.max_duration_secs)])
            .args(["-fs", &self.limits.max_output_bytes.to_string(), "-f", "wav", "-y"])
            .arg(file_url(out));
        self.run_ffmpeg(cmd).await?;
        let bytes =
            tokio::fs::metadata(out).await.map_err(|source| AvError::Output { path: out.into(), source })?.len();
        if bytes >= self.limits.max_output_bytes {
            let _ = tokio::fs::remove_file(out).await;
            return Err(AvError::TooLarge { path: out.into(), bytes, max: self.limits.max_output_bytes });
        }
        Ok(Wav { path: out.into(), duration_secs: probe.duration_secs, bytes })
    }

    /// Converts an audio file (MP3, WAV, M4A, OGG, FLAC, WebM, …) to 16 kHz mono 16-bit PCM WAV,
    /// the input speech-to-text wants. Same as [`Av::extract_audio_wav`]; named for audio inputs.
    pub async fn to_wav(&self, path: &Path, out: &Path) -> Result<Wav, AvError> {
        self.extract_audio_wav(path, out).await
    }

    fn check_duration(&self, probe: &Probe) -> Result<(), AvError> {
        if probe.duration_secs > self.limits.max_duration_secs {
            return Err(AvError::TooLong {
                duration_secs: probe.duration_secs,
                max_secs: self.limits.max_duration_secs,
            });
        }
        Ok(())
    }

    fn ffmpeg(&self, input: &Path) -> Command {
        let mut cmd = Command::new(&self.limits.ffmpeg);
        cmd.args(["-nostdin", "-hide_banner", "-v", "error", "-protocol_whitelist", "file", "-i"]).arg(file_url(input));
        cmd
    }

    async fn run_ffmpeg(&self, cmd: Command) -> Result<(), AvError> {
        let out = run(cmd, "ffmpeg", self.limits.convert_timeout).await?;
        if !out.status.success() {
            return Err(AvError::Failed {
                tool: "ffmpeg".into(),
                status: out.status.to_string(),
                stderr: last_lines(&out.stderr, 5),
            });
        }
        Ok(())
    }
}

/// [`Av::probe`] with default limits.
pub async fn probe(path: &Path) -> Result<Probe, AvError> {
    Av::default().probe(path).await
}

/// [`Av::extract_frames`] with default limits.
pub async fn extract_frames(
    path: &Path,
    out_dir: &Path,
    every_secs: f64,
    max_frames: usize,
) -> Result<Vec<Frame>, AvError> {
    Av::default().extract_frames(path, out_dir, every_secs, max_frames).await
}

/// [`Av::extract_audio_wav`] with default limits.
pub async fn extract_audio_wav(path: &Path, out: &Path) -> Result<Wav, AvError> {
    Av::default().extract_audio_wav(path, out).await
}

/// [`Av::to_wav`] with default limits.
pub async fn to_wav(path: &Path, out: &Path) -> Result<Wav, AvError> {
    Av::default().to_wav(path, out).await
}

/// `file:` URL form of a path, so ffmpeg never reads it as another protocol or an option.
fn file_url(path: &Path) -> std::ffi::OsString {
    let mut s = std::ffi::OsString::from("file:");
    s.push(path.as_os_str());
    s
}

async fn remove_old_frames(dir: &Path) -> std::io::Result<()> {
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("frame_") && name.ends_with(".jpg") {
            tokio::fs::remove_file(entry.path()).await?;
        }
    }
    Ok(())
}

async fn run(mut cmd: Command, tool: &str, timeout: Duration) -> Result<std::process::Output, AvError> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            AvError::ToolMissing { tool: tool.into() }
        }
        _ => AvError::Failed { tool: tool.into(), status: "not started".into(), stderr: e.to_string() },
    })?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(AvError::Failed { tool: tool.into(), status: "wait failed".into(), stderr: e.to_string() }),
        // Dropping the future drops the child, and kill_on_drop kills it.
        Err(_) => Err(AvError::Timeout { tool: tool.into(), secs: timeout.as_secs() }),
    }
}

/// The last `n` non-empty lines of a tool's stderr, joined with "; " (at most 1 000 chars).
fn last_lines(stderr: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let joined = lines[lines.len().saturating_sub(n)..].join("; ");
    if joined.chars().count() > 1000 { joined.chars().take(1000).collect::<String>() + "…" } else { joined }
}

#[derive(Deserialize)]
struct RawProbe {
    #[serde(default)]
    streams: Vec<RawStream>,
    format: Option<RawFormat>,
}

#[derive(Deserialize)]
struct RawFormat {
    format_name: Option<String>,
    duration: Option<String>,
}

#[derive(Deserialize)]
struct RawStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    sample_rate: Option<String>,
    channels: Option<u32>,
    duration: Option<String>,
    #[serde(default)]
    disposition: std::collections::HashMap<String, i64>,
}

/// Parses `ffprobe -print_format json -show_format -show_streams` output.
pub fn parse_probe(json: &[u8]) -> Result<Probe, AvError> {
    let raw: RawProbe = serde_json::from_slice(json).map_err(|e| AvError::BadProbe(e.to_string()))?;
    let format = raw.format.ok_or_else(|| AvError::BadProbe("no format section".into()))?;
    if raw.streams.is_empty() {
        return Err(AvError::BadProbe("no streams found".into()));
    }
    let video = raw
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video") && s.disposition.get("attached_pic").copied() != Some(1))
        .map(|s| VideoStream {
            codec: s.codec_name.clone().unwrap_or_default(),
            width: s.width.unwrap_or(0),
            height: s.height.unwrap_or(0),
            fps: [&s.avg_frame_rate, &s.r_frame_rate]
                .into_iter()
                .filter_map(|r| r.as_deref().and_then(parse_rate))
                .next()
                .unwrap_or(0.0),
        });
    let audio = raw.streams.iter().find(|s| s.codec_type.as_deref() == Some("audio")).map(|s| AudioStream {
        codec: s.codec_name.clone().unwrap_or_default(),
        sample_rate: s.sample_rate.as_deref().and_then(|r| r.parse().ok()).unwrap_or(0),
        channels: s.channels.unwrap_or(0),
    });
    let duration_secs = format
        .duration
        .as_deref()
        .and_then(parse_secs)
        .or_else(|| raw.streams.iter().filter_map(|s| s.duration.as_deref().and_then(parse_secs)).reduce(f64::max))
        .ok_or_else(|| AvError::BadProbe("no duration reported".into()))?;
    Ok(Probe { duration_secs, format: format.format_name.unwrap_or_default(), video, audio })
}

fn parse_secs(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|d| d.is_finite() && *d >= 0.0)
}

/// `"30000/1001"` → 29.97; `"0/0"` → None.
fn parse_rate(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
    (d > 0.0 && n > 0.0).then(|| n / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_cover_art() {
        assert_eq!(parse_rate("30000/1001").map(|r| (r * 100.0).round()), Some(2997.0));
        assert_eq!(parse_rate("0/0"), None);
        let json = br#"{"streams":[
            {"codec_type":"video","codec_name":"mjpeg","width":500,"height":500,"avg_frame_rate":"0/0","r_frame_rate":"90000/1","disposition":{"attached_pic":1}},
            {"codec_type":"audio","codec_name":"mp3","sample_rate":"44100","channels":2,"duration":"12.5"}],
            "format":{"format_name":"mp3"}}"#;
        let p = parse_probe(json).map_err(|e| e.to_string());
        assert_eq!(
            p,
            Ok(Probe {
                duration_secs: 12.5,
                format: "mp3".into(),
                video: None,
                audio: Some(AudioStream { codec: "mp3".into(), sample_rate: 44100, channels: 2 }),
            })
        );
    }

    #[test]
    fn empty_probe_is_an_error() {
        assert!(matches!(parse_probe(br#"{"format":{"format_name":"mov"}}"#), Err(AvError::BadProbe(_))));
        assert!(matches!(parse_probe(b"not json"), Err(AvError::BadProbe(_))));
    }

    #[test]
    fn stderr_tail() {
        assert_eq!(last_lines(b"a\n\nb\nc\n", 2), "b; c");
    }
}
