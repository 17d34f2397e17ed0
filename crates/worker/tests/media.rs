//! `media.process`: a video longer than `input.video_inline_max_secs` sent to
//! `/chat/send-media` is answered 202 `queued`; a worker reads it (frames, OCR, audio track),
//! stores the text on the user's message, reports progress to the user's channel and posts
//! the answer to the session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use testkit::TestApp;

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn start_media_worker(app: &TestApp) -> worker::WorkerHandle {
    let roles = Arc::new(settings::load_roles(std::path::Path::new(&app.settings.paths.roles_file)).unwrap());
    let assistant = Arc::new(agents::chat::build(Arc::new(app.settings.clone()), app.db.clone()).unwrap());
    let intake = Arc::new(agents::intake::Intake::from_settings(&app.settings, assistant.llm.clone()));
    let timeout = Duration::from_secs(120);
    let registry = worker::agent_jobs::register(worker::builtin::registry(), assistant.clone(), roles.clone(), timeout);
    let registry = worker::media_jobs::register(registry, assistant, roles, intake, timeout);
    worker::start(&app.settings, app.db.clone(), app.redis.clone(), registry)
}

/// A 70-second video: a white card reading `text`, and a sine tone.
fn long_video(text: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("mzt-wmedia-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let out: PathBuf = dir.join("long.mp4");
    let filter = format!("drawtext=fontfile={FONT}:text='{text}':fontsize=48:fontcolor=black:x=20:y=50");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "color=c=white:s=640x160:d=70:r=2"])
        .args(["-f", "lavfi", "-i", "sine=frequency=330:duration=70"])
        .args(["-vf", &filter, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .args(["-c:a", "aac", "-shortest"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&status.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

/// Polls the job until it is completed or dead (deadline 120 s).
async fn finished_job(app: &TestApp, token: &str, task: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let job: Value = app.get(&format!("/jobs/{task}"), token).await.json().await.unwrap();
        if job["status"] == "completed" || job["status"] == "dead" {
            return job;
        }
        assert!(tokio::time::Instant::now() < deadline, "job did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn media_a_long_video_is_processed_by_a_job_that_answers_in_the_session() {
    let app = TestApp::spawn_with(|s| {
        s.worker.sweep_interval_ms = 100;
        s.input.frame_every_secs = 20;
    })
    .await;
    let user = app.create_user("marketing_manager").await;
    let t = app.tokens(&user).await.access;

    // The user's live channel (what the WebSocket layer forwards).
    let client = redis::Client::open(app.settings.redis.url.expose()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe(realtime::user_channel(app.redis.prefix(), user.id)).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let listener = tokio::spawn(async move {
        let mut messages = pubsub.into_on_message();
        while let Some(msg) = messages.next().await {
            let v: Value = serde_json::from_str(&msg.get_payload::<String>().unwrap()).unwrap();
            if tx.send(v).is_err() {
                break;
            }
        }
    });

    let video = long_video("QUARTERLY KICKOFF AGENDA");
    let form = reqwest::multipart::Form::new()
        .text("input_type", "video")
        .text("message", "Summarize this recording for the team")
        .part("media_file", reqwest::multipart::Part::bytes(video).file_name("kickoff.mp4"));
    let res = app.client.post(app.url("/chat/send-media")).bearer_auth(&t).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let queued: Value = res.json().await.unwrap();
    assert_eq!(queued["status"], "queued", "{queued}");
    let task = queued["task_id"].as_str().unwrap().to_string();
    let sid = queued["session_id"].as_str().unwrap().to_string();
    let ip = &queued["input_processed"];
    assert_eq!(ip["type"], "video", "{ip}");
    assert_eq!(ip["status"], "queued", "{ip}");
    let secs = ip["duration_secs"].as_f64().unwrap();
    assert!((69.0..=71.0).contains(&secs), "{ip}");
    let artifact = ip["artifact_id"].as_str().unwrap().to_string();

    // Queued, not yet processed: the question is stored without text.
    let job: Value = app.get(&format!("/jobs/{task}"), &t).await.json().await.unwrap();
    assert_eq!((job["kind"].as_str(), job["status"].as_str()), (Some("media.process"), Some("queued")), "{job}");
    let history: Value = app.get(&format!("/chat/history/{sid}"), &t).await.json().await.unwrap();
    assert_eq!(history["messages"].as_array().unwrap().len(), 1);
    assert!(history["messages"][0]["metadata"].get("extracted_text").is_none());

    let worker = start_media_worker(&app);
    let job = finished_job(&app, &t, &task).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["progress"]["percent"], 100, "{job}");
    let result = &job["result"];
    assert_eq!(result["task_id"], task.as_str());
    assert_eq!(result["session_id"], sid.as_str());
    let summary = &result["input_processed"];
    assert_eq!(summary["type"], "video", "{summary}");
    assert_eq!(summary["artifact_id"], artifact.as_str());
    let frames = summary["frames"].as_array().unwrap();
    assert!((3..=5).contains(&frames.len()), "a frame every 20 s of 70 s: {summary}");
    assert!(summary["description"].as_str().unwrap().starts_with("Video of 01:10, 640×160"), "{summary}");
    // The recognizer of the test settings is unreachable: said, not failed.
    assert_eq!(summary["transcription"]["available"], false, "{summary}");

    // The question now carries the text; the answer is in the session.
    let history: Value = app.get(&format!("/chat/history/{sid}"), &t).await.json().await.unwrap();
    let messages = history["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant"], "{history}");
    let text = messages[0]["metadata"]["extracted_text"].as_str().unwrap();
    assert!(text.contains("QUARTERLY KICKOFF"), "frame text missing: {text}");
    assert!(text.contains("could not be transcribed"), "{text}");
    assert_eq!(messages[0]["metadata"]["input_processed"]["frames"].as_array().map(Vec::len), Some(frames.len()));
    assert_eq!(messages[1]["content"], result["response"]);
    assert!(!result["response"].as_str().unwrap().is_empty());

    // Progress went to the user's channel, in order, up to the answer; then `complete`.
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !events.iter().any(|e: &Value| e["type"] == "complete") {
        let e = tokio::time::timeout_at(deadline, rx.recv()).await.expect("no complete event").unwrap();
        events.push(e);
    }
    let progress: Vec<u64> = events
        .iter()
        .filter(|e| e["type"] == "task_progress" && e["task_id"] == task.as_str())
        .map(|e| e["progress"].as_u64().unwrap())
        .collect();
    assert!(progress.contains(&90) && progress.contains(&92), "{events:#?}");
    assert!(progress.first().is_some_and(|p| *p < 90), "{events:#?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "progress went backwards: {progress:?}");
    let complete = events.iter().find(|e| e["type"] == "complete").unwrap();
    assert_eq!(complete["task_id"], task.as_str());
    assert_eq!(complete["response"]["response"], result["response"]);

    // Run again (as after a crash before completion) with the video deleted: the stored text
    // is used, nothing is processed twice and no second answer is stored.
    let res = app.client.delete(app.url(&format!("/files/{artifact}"))).bearer_auth(&t).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    store::maintenance::execute(
        &app.db,
        &format!(
            "UPDATE jobs SET status = 'queued', finished_at = NULL, pushed_at = NULL, run_at = now() WHERE id = '{task}'"
        ),
    )
    .await
    .unwrap();
    let job = finished_job(&app, &t, &task).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["result"]["input_processed"]["frames"].as_array().map(Vec::len), Some(frames.len()));
    let history: Value = app.get(&format!("/chat/history/{sid}"), &t).await.json().await.unwrap();
    assert_eq!(history["messages"].as_array().unwrap().len(), 2, "{history}");

    worker.stop().await;
    listener.abort();
}
