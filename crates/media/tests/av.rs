//! ffprobe / ffmpeg against media generated here with ffmpeg's lavfi sources.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use media::{Av, AvError, AvLimits};

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("media-test-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg must be installed (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg {args:?} failed");
}

/// `secs` of 320x240 test pattern at 10 fps with a 440 Hz tone, in the container `out` names.
fn make_video(out: &Path, secs: u32, vcodec: &[&str], acodec: &[&str]) {
    let video = format!("testsrc=duration={secs}:size=320x240:rate=10");
    let audio = format!("sine=frequency=440:duration={secs}:sample_rate=44100");
    let mut args = vec!["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &audio];
    args.extend_from_slice(vcodec);
    args.extend_from_slice(acodec);
    args.push("-shortest");
    ffmpeg(&args, out);
}

fn make_audio(out: &Path, secs: u32, codec: &[&str]) {
    let src = format!("sine=frequency=440:duration={secs}:sample_rate=44100");
    let mut args = vec!["-f", "lavfi", "-i", &src, "-ac", "2"];
    args.extend_from_slice(codec);
    ffmpeg(&args, out);
}

const H264: &[&str] = &["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
const AAC: &[&str] = &["-c:a", "aac"];

/// Reads a WAV header: (format tag, channels, sample rate, bits per sample, data bytes).
fn wav_header(path: &Path) -> (u16, u16, u32, u16, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], b"RIFF");
    assert_eq!(&b[8..12], b"WAVE");
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let (mut i, mut fmt, mut data) = (12, None, None);
    while i + 8 <= b.len() {
        let len = u32_at(i + 4) as usize;
        match &b[i..i + 4] {
            b"fmt " => fmt = Some((u16_at(i + 8), u16_at(i + 10), u32_at(i + 12), u16_at(i + 22))),
            b"data" => {
                data = Some(len as u32);
                break;
            }
            _ => {}
        }
        i += 8 + len + (len & 1);
    }
    let (tag, ch, rate, bits) = fmt.expect("fmt chunk");
    (tag, ch, rate, bits, data.expect("data chunk"))
}

#[tokio::test]
async fn mp4_probe_frames_and_audio_track() {
    let dir = TempDir::new("mp4");
    let mp4 = dir.path("in.mp4");
    make_video(&mp4, 70, H264, AAC);
    let av = Av::default();

    let probe = av.probe(&mp4).await.unwrap();
    assert!((probe.duration_secs - 70.0).abs() < 0.5, "duration {}", probe.duration_secs);
    assert!(probe.format.contains("mp4"), "format {}", probe.format);
    let v = probe.video.as_ref().expect("video stream");
    assert_eq!((v.codec.as_str(), v.width, v.height), ("h264", 320, 240));
    assert!((v.fps - 10.0).abs() < 0.01, "fps {}", v.fps);
    let a = probe.audio.as_ref().expect("audio stream");
    assert_eq!((a.codec.as_str(), a.sample_rate), ("aac", 44100));
    assert_eq!(a.channels, 1);

    let frames_dir = dir.path("frames");
    let frames = av.extract_frames(&mp4, &frames_dir, 5.0, 100).await.unwrap();
    assert_eq!(frames.len(), 14, "70 s every 5 s: {frames:?}");
    assert_eq!(frames[0].at_secs, 0.0);
    assert_eq!(frames[13].at_secs, 65.0);
    for f in &frames {
        let b = std::fs::read(&f.path).unwrap();
        assert_eq!(&b[..3], &[0xFF, 0xD8, 0xFF], "{} is not a JPEG", f.path.display());
    }
    // Frames are real pictures of the right size.
    let fp = av.probe(&frames[3].path).await.unwrap();
    let fv = fp.video.unwrap();
    assert_eq!((fv.codec.as_str(), fv.width, fv.height), ("mjpeg", 320, 240));

    // Fewer allowed frames: the interval stretches so they still span the video.
    let few = av.extract_frames(&mp4, &frames_dir, 5.0, 4).await.unwrap();
    assert_eq!(few.len(), 4);
    assert!((few[1].at_secs - 17.5).abs() < 1e-9, "{few:?}");
    assert_eq!(std::fs::read_dir(&frames_dir).unwrap().count(), 4, "old frames are removed");

    let wav = dir.path("out.wav");
    let w = av.extract_audio_wav(&mp4, &wav).await.unwrap();
    let (tag, ch, rate, bits, data) = wav_header(&wav);
    assert_eq!((tag, ch, rate, bits), (1, 1, 16_000, 16), "PCM 16-bit mono 16 kHz");
    let secs = f64::from(data) / 32_000.0;
    assert!((secs - 70.0).abs() < 0.5, "wav holds {secs} s");
    assert_eq!(w.bytes, std::fs::metadata(&wav).unwrap().len());
    assert!((w.duration_secs - 70.0).abs() < 0.5);
}

#[tokio::test]
async fn truncated_mp4_is_a_clear_error() {
    let dir = TempDir::new("trunc");
    let mp4 = dir.path("in.mp4");
    make_video(&mp4, 10, H264, AAC);
    let bytes = std::fs::read(&mp4).unwrap();
    let cut = dir.path("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();

    let err = Av::default().probe(&cut).await.unwrap_err();
    match &err {
        AvError::Unreadable { path, detail } => {
            assert_eq!(path, &cut);
            assert!(detail.contains("moov atom not found"), "detail: {detail}");
        }
        other => panic!("expected Unreadable, got {other:?}"),
    }
    assert!(err.to_string().contains("not a readable media file"), "{err}");
    let err = Av::default().extract_audio_wav(&cut, &dir.path("x.wav")).await.unwrap_err();
    assert!(matches!(err, AvError::Unreadable { .. }), "{err:?}");

    // Not media at all, and a missing file.
    let txt = dir.path("notes.mp4");
    std::fs::write(&txt, "just some text, not a video").unwrap();
    assert!(matches!(Av::default().probe(&txt).await, Err(AvError::Unreadable { .. })));
    assert!(matches!(Av::default().probe(&dir.path("missing.mp4")).await, Err(AvError::Input { .. })));
}

#[tokio::test]
async fn mov_and_avi_containers() {
    let dir = TempDir::new("containers");
    let mov = dir.path("in.mov");
    make_video(&mov, 12, H264, AAC);
    let avi = dir.path("in.avi");
    make_video(&avi, 12, &["-c:v", "mpeg4"], &["-c:a", "libmp3lame"]);
    let av = Av::default();

    let p = av.probe(&mov).await.unwrap();
    assert!(p.format.contains("mov"), "{}", p.format);
    assert_eq!(p.video.as_ref().map(|v| v.codec.as_str()), Some("h264"));
    let p = av.probe(&avi).await.unwrap();
    assert_eq!(p.format, "avi");
    assert_eq!(p.video.as_ref().map(|v| (v.codec.as_str(), v.width)), Some(("mpeg4", 320)));
    assert_eq!(p.audio.as_ref().map(|a| a.codec.as_str()), Some("mp3"));
    assert!((p.duration_secs - 12.0).abs() < 0.5, "{}", p.duration_secs);

    for input in [&mov, &avi] {
        let frames = av.extract_frames(input, &dir.path("f"), 5.0, 10).await.unwrap();
        assert_eq!(frames.len(), 3, "12 s every 5 s from {}", input.display());
        let wav = dir.path("a.wav");
        av.extract_audio_wav(input, &wav).await.unwrap();
        let (tag, ch, rate, ..) = wav_header(&wav);
        assert_eq!((tag, ch, rate), (1, 1, 16_000));
    }
}

#[tokio::test]
async fn audio_formats_convert_to_16k_mono_wav() {
    let dir = TempDir::new("audio");
    let av = Av::default();
    let inputs = [
        ("in.mp3", &["-c:a", "libmp3lame"][..], "mp3", "mp3"),
        ("in.ogg", &["-c:a", "libvorbis"][..], "ogg", "vorbis"),
        ("in.m4a", &["-c:a", "aac"][..], "mp4", "aac"),
        ("in.wav", &["-c:a", "pcm_s16le"][..], "wav", "pcm_s16le"),
    ];
    for (name, codec, format, acodec) in inputs {
        let input = dir.path(name);
        make_audio(&input, 3, codec);
        let p = av.probe(&input).await.unwrap();
        assert!(p.format.contains(format), "{name}: {}", p.format);
        assert!(p.video.is_none(), "{name} has no video");
        let a = p.audio.unwrap();
        assert_eq!((a.codec.as_str(), a.channels, a.sample_rate), (acodec, 2, 44100), "{name}");

        let out = dir.path(&format!("{name}.wav"));
        let w = av.to_wav(&input, &out).await.unwrap();
        let (tag, ch, rate, bits, data) = wav_header(&out);
        assert_eq!((tag, ch, rate, bits), (1, 1, 16_000, 16), "{name}");
        let secs = f64::from(data) / 32_000.0;
        assert!((secs - 3.0).abs() < 0.15, "{name}: {secs} s");
        assert!((w.duration_secs - 3.0).abs() < 0.15, "{name}: probed {}", w.duration_secs);
    }
}

#[tokio::test]
async fn limits_and_missing_streams() {
    let dir = TempDir::new("limits");
    let mp3 = dir.path("in.mp3");
    make_audio(&mp3, 4, &["-c:a", "libmp3lame"]);

    let strict = Av::new(AvLimits { max_duration_secs: 2.0, ..AvLimits::default() });
    let err = strict.to_wav(&mp3, &dir.path("x.wav")).await.unwrap_err();
    assert!(matches!(err, AvError::TooLong { max_secs, .. } if max_secs == 2.0), "{err:?}");
    assert!(!dir.path("x.wav").exists(), "nothing written when too long");

    let err = Av::default().extract_frames(&mp3, &dir.path("f"), 5.0, 10).await.unwrap_err();
    assert!(matches!(err, AvError::MissingStream { kind: "video", .. }), "{err:?}");

    let small_in = Av::new(AvLimits { max_input_bytes: 100, ..AvLimits::default() });
    assert!(matches!(small_in.probe(&mp3).await, Err(AvError::TooLarge { max: 100, .. })));

    // 4 s of 16 kHz mono is 128 kB: a 50 kB output cap must refuse it and leave no file.
    let small_out = Av::new(AvLimits { max_output_bytes: 50_000, ..AvLimits::default() });
    let err = small_out.to_wav(&mp3, &dir.path("y.wav")).await.unwrap_err();
    assert!(matches!(err, AvError::TooLarge { max: 50_000, .. }), "{err:?}");
    assert!(!dir.path("y.wav").exists());

    let video_only = dir.path("silent.mp4");
    ffmpeg(
        &["-f", "lavfi", "-i", "testsrc=duration=2:size=160x120:rate=5", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
        &video_only,
    );
    let err = Av::default().extract_audio_wav(&video_only, &dir.path("z.wav")).await.unwrap_err();
    assert!(matches!(err, AvError::MissingStream { kind: "audio", .. }), "{err:?}");
}

#[tokio::test]
async fn playlists_are_refused_and_tools_are_killed_on_timeout() {
    let dir = TempDir::new("refuse");
    let wav = dir.path("a.wav");
    make_audio(&wav, 2, &["-c:a", "pcm_s16le"]);
    // A concat list would let a "media" upload read any other file.
    let list = dir.path("list.ffconcat");
    std::fs::write(&list, format!("ffconcat version 1.0\nfile '{}'\n", wav.display())).unwrap();
    match Av::default().probe(&list).await {
        Err(AvError::RefusedFormat { .. } | AvError::Unreadable { .. }) => {}
        other => panic!("a concat list must not be probed as media: {other:?}"),
    }

    // A fake "ffmpeg" that hangs: the timeout fires and the child is killed.
    let fake_tool = dir.path("hang.sh");
    std::fs::write(&fake_tool, "#!/bin/sh\necho $$ > \"$(dirname \"$0\")/pid\"\nexec sleep 30\n").unwrap();
    let mut perms = std::fs::metadata(&fake_tool).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake_tool, perms).unwrap();
    let av = Av::new(AvLimits {
        ffprobe: fake_tool.clone(),
        probe_timeout: Duration::from_millis(300),
        ..AvLimits::default()
    });
    let started = std::time::Instant::now();
    let err = av.probe(&wav).await.unwrap_err();
    assert!(matches!(err, AvError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let pid = std::fs::read_to_string(dir.path("pid")).unwrap().trim().to_owned();
    // kill_on_drop sends SIGKILL as the future is dropped; reaping may lag a moment.
    let mut gone = false;
    for _ in 0..50 {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting to be reaped: either way no longer running.
        if state.is_empty() || state.split_whitespace().nth(2) == Some("Z") {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone, "hung tool {pid} still running");

    let missing = Av::new(AvLimits { ffprobe: PathBuf::from("/nonexistent/ffprobe"), ..AvLimits::default() });
    assert!(matches!(missing.probe(&wav).await, Err(AvError::ToolMissing { .. })));
}
