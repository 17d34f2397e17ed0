//! The transcription client against the fake server (wire format, language handling, errors).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use media::fake::FakeWhisper;
use media::transcribe::SIMPLIFIED_CHINESE_PROMPT;
use media::{AudioInput, TranscribeError, TranscribeOptions, Transcriber};

/// A real 16 kHz mono 16-bit WAV of `secs` seconds of silence.
fn wav(secs: u32) -> AudioInput {
    let data_len = secs * 32_000;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&16_000u32.to_le_bytes());
    b.extend_from_slice(&32_000u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.resize(b.len() + data_len as usize, 0);
    AudioInput::new(b, "speech.wav")
}

#[tokio::test]
async fn sends_the_openai_fields_and_parses_verbose_json() {
    let fake = FakeWhisper::start().await;
    fake.set_transcript("Send the report. Thanks!", "en");
    fake.require_api_key("sk-local");
    let stt = Transcriber::new(fake.base_url(), "base").unwrap().with_api_key("sk-local");
    let audio = wav(3);
    let len = audio.bytes.len();

    let t = stt.transcribe(audio, &TranscribeOptions::language("English")).await.unwrap();
    assert_eq!(t.text, "Send the report. Thanks!");
    assert_eq!(t.language.as_deref(), Some("en"));
    assert_eq!(t.duration_secs, Some(3.0), "duration from the WAV the fake received");
    assert_eq!(t.segments.len(), 2);
    assert_eq!(t.segments[0].text, "Send the report.");
    assert!(t.segments[0].end > 0.0 && t.segments[1].end <= 3.0 + 1e-9);
    assert_eq!(t.model, "base");

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.status, 200);
    assert_eq!(r.model.as_deref(), Some("base"));
    assert_eq!(r.language.as_deref(), Some("en"), "'English' is sent as the code");
    assert_eq!(r.response_format.as_deref(), Some("verbose_json"));
    assert_eq!(r.temperature.as_deref(), Some("0"));
    assert_eq!(r.prompt, None, "no prompt for English");
    assert_eq!(r.file_name.as_deref(), Some("speech.wav"));
    assert_eq!(r.file_content_type.as_deref(), Some("audio/wav"));
    assert_eq!(r.file_bytes, len);
    assert_eq!(r.authorization.as_deref(), Some("Bearer sk-local"));
}

#[tokio::test]
async fn language_hints_map_to_whisper_codes_and_chinese_gets_a_simplified_prompt() {
    let fake = FakeWhisper::start().await;
    fake.set_transcript("请把报告发给我。", "zh");
    // English-only default model: other languages go to the multilingual one.
    let stt = Transcriber::new(format!("{}/v1/", fake.base_url()), "tiny.en").unwrap().with_multilingual_model("base");

    let t = stt.transcribe(wav(1), &TranscribeOptions::language("chinese")).await.unwrap();
    assert_eq!(t.language.as_deref(), Some("zh"));
    assert_eq!(t.model, "base");
    let opts =
        TranscribeOptions { language: Some("Bahasa Melayu".into()), prompt: Some("Mezzofy".into()), model: None };
    stt.transcribe(wav(1), &opts).await.unwrap();
    let opts = TranscribeOptions { language: Some("zh-CN".into()), prompt: Some("Mezzofy".into()), model: None };
    stt.transcribe(wav(1), &opts).await.unwrap();
    stt.transcribe(wav(1), &TranscribeOptions::default()).await.unwrap();

    let reqs = fake.requests();
    let seen: Vec<_> = reqs.iter().map(|r| (r.model.as_deref(), r.language.as_deref(), r.prompt.as_deref())).collect();
    let zh_with_user_prompt = format!("{SIMPLIFIED_CHINESE_PROMPT}Mezzofy");
    assert_eq!(
        seen,
        vec![
            (Some("base"), Some("zh"), Some(SIMPLIFIED_CHINESE_PROMPT)),
            (Some("base"), Some("ms"), Some("Mezzofy")),
            (Some("base"), Some("zh"), Some(zh_with_user_prompt.as_str())),
            (Some("tiny.en"), None, None),
        ]
    );
    assert!(reqs.iter().all(|r| r.status == 200));

    // An unknown hint is refused before anything is sent.
    let err = stt.transcribe(wav(1), &TranscribeOptions::language("klingon")).await.unwrap_err();
    assert!(matches!(err, TranscribeError::UnsupportedLanguage(_)), "{err:?}");
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn openai_error_bodies_become_rejected() {
    let fake = FakeWhisper::start().await;
    let stt = Transcriber::new(fake.base_url(), "base").unwrap();

    fake.reject_next(400, "Audio file might be corrupted or unsupported", Some("invalid_value"));
    let err = stt.transcribe(wav(1), &TranscribeOptions::default()).await.unwrap_err();
    match &err {
        TranscribeError::Rejected { status, message, code } => {
            assert_eq!(*status, 400);
            assert_eq!(message, "Audio file might be corrupted or unsupported");
            assert_eq!(code.as_deref(), Some("invalid_value"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert_eq!(fake.requests().len(), 1, "4xx is not retried");

    // The fake's own validation: an unknown model is refused like OpenAI does.
    let other = Transcriber::new(fake.base_url(), "large-v3").unwrap();
    let err = other.transcribe(wav(1), &TranscribeOptions::default()).await.unwrap_err();
    assert!(
        matches!(&err, TranscribeError::Rejected { status: 404, code: Some(c), .. } if c == "model_not_found"),
        "{err:?}"
    );
    // English-only model asked for Malay without a multilingual fallback.
    let en_only = Transcriber::new(fake.base_url(), "tiny.en").unwrap();
    let err = en_only.transcribe(wav(1), &TranscribeOptions::language("ms")).await.unwrap_err();
    assert!(matches!(&err, TranscribeError::Rejected { status: 400, message, .. } if message.contains("English-only")));

    // Wrong key.
    fake.require_api_key("right");
    let err = stt.transcribe(wav(1), &TranscribeOptions::default()).await.unwrap_err();
    assert!(matches!(&err, TranscribeError::Rejected { status: 401, .. }), "{err:?}");

    // Empty audio never reaches the server.
    let before = fake.requests().len();
    let err = stt.transcribe(AudioInput::new(Vec::new(), "a.wav"), &TranscribeOptions::default()).await.unwrap_err();
    assert!(matches!(err, TranscribeError::Invalid(_)));
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test]
async fn retries_once_after_503_honouring_capped_retry_after() {
    let fake = FakeWhisper::start().await;
    fake.set_transcript("back again", "en");
    let stt = Transcriber::new(fake.base_url(), "base").unwrap().with_max_retry_wait(Duration::from_millis(300));

    // Retry-After: 30 is capped to 300 ms, and honoured up to the cap.
    fake.fail_next(503, Some(30));
    let started = Instant::now();
    let t = stt.transcribe(wav(1), &TranscribeOptions::default()).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(t.text, "back again");
    assert!(waited >= Duration::from_millis(300), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(5), "cap ignored: {waited:?}");
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 200]);

    // 429 then 500: one retry only, then Unavailable.
    fake.fail_next(429, Some(0));
    fake.fail_next(500, None);
    let err = stt.transcribe(wav(1), &TranscribeOptions::default()).await.unwrap_err();
    match &err {
        TranscribeError::Unavailable { message } => assert!(message.contains("500"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_transient());
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 200, 429, 500]);
}

#[tokio::test]
async fn unreachable_server_is_unavailable_and_slow_server_times_out() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let stt = Transcriber::new(format!("http://127.0.0.1:{port}"), "base").unwrap();
    let err = stt.transcribe(wav(1), &TranscribeOptions::default()).await.unwrap_err();
    assert!(matches!(err, TranscribeError::Unavailable { .. }), "{err:?}");
    assert!(matches!(stt.health().await, Err(TranscribeError::Unavailable { .. })));

    let fake = FakeWhisper::start().await;
    fake.set_delay(Some(Duration::from_secs(10)));
    let slow = Transcriber::new(fake.base_url(), "base").unwrap().with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = slow.transcribe(wav(1), &TranscribeOptions::default()).await.unwrap_err();
    assert!(matches!(err, TranscribeError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn health_accepts_any_http_answer() {
    let fake = FakeWhisper::start().await;
    let stt = Transcriber::new(fake.base_url(), "base").unwrap();
    let h = stt.health().await.unwrap();
    assert_eq!(h.status, 200);
    assert!(h.url.ends_with("/health"));
}

#[tokio::test]
async fn plain_json_answers_and_garbage() {
    let fake = FakeWhisper::start().await;
    fake.set_transcript("plain", "en");
    // A raw multipart POST with response_format=json, as other clients send it, gets {text}.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(wav(1).bytes).file_name("a.wav"))
        .text("model", "base")
        .text("response_format", "json");
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/audio/transcriptions", fake.base_url()))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, serde_json::json!({"text": "plain"}));

    // Missing file part: the fake refuses it like the real server.
    let form = reqwest::multipart::Form::new().text("model", "base");
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/audio/transcriptions", fake.base_url()))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["param"], "file");
}
