//! Media input: `POST /chat/send-media` (images, documents, audio, video) and
//! `POST /chat/send-url`. Every input is made inside the test (ffmpeg, espeak-ng, python3,
//! hand-written PDF and PNG bytes); the speech recognizer and the model are fakes on loopback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use testkit::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::auth::error_code;

const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

// ---------------------------------------------------------------------------------------
// Helpers: scratch directories, generated media, the upload call.
// ---------------------------------------------------------------------------------------

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("mzt-media-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a program and panics with its stderr unless it succeeds.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs an ffmpeg command line (quiet, overwriting) and returns the output file's bytes.
fn ffmpeg(args: &[&str], out: &Path) -> Vec<u8> {
    let mut all = vec!["-hide_banner", "-loglevel", "error", "-y"];
    all.extend_from_slice(args);
    let out_s = out.to_str().unwrap().to_string();
    all.push(&out_s);
    run("ffmpeg", &all);
    std::fs::read(out).unwrap()
}

/// A PNG (or JPEG, by extension) of black `text` on white, large enough for tesseract.
fn text_image(dir: &Scratch, name: &str, text: &str) -> Vec<u8> {
    let filter = format!("drawtext=fontfile={FONT}:text='{text}':fontsize=56:fontcolor=black:x=30:y=70");
    ffmpeg(&["-f", "lavfi", "-i", "color=c=white:s=900x200", "-frames:v", "1", "-vf", &filter], &dir.path(name))
}

/// A video of `secs` seconds (test pattern) with a sine-tone audio track.
fn test_video(dir: &Scratch, name: &str, secs: u32, size: &str) -> Vec<u8> {
    let video = format!("testsrc=duration={secs}:size={size}:rate=5");
    let audio = format!("sine=frequency=440:duration={secs}");
    let codecs = "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest";
    let mut args = vec!["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &audio];
    args.extend(codecs.split_whitespace());
    ffmpeg(&args, &dir.path(name))
}

/// Speech by espeak-ng, as a WAV.
fn speech_wav(dir: &Scratch, text: &str) -> Vec<u8> {
    let path = dir.path("speech.wav");
    run("espeak-ng", &["-w", path.to_str().unwrap(), text]);
    std::fs::read(path).unwrap()
}

/// Runs a python3 snippet that writes bytes to stdout.
fn python_bytes(script: &str) -> Vec<u8> {
    let out = Command::new("python3").args(["-c", script]).output().unwrap();
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A small valid PDF with one page per entry of `pages` (Helvetica text, readable by pdftotext).
fn pdf(pages: &[&str]) -> Vec<u8> {
    let n = pages.len();
    let mut objects: Vec<String> = Vec::new();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    for (i, text) in pages.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        let stream = format!("BT /F1 18 Tf 72 700 Td ({text}) Tj ET");
        objects.push(format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let mut typed = kind.to_vec();
    typed.extend_from_slice(data);
    out.extend_from_slice(&typed);
    out.extend_from_slice(&crc32(&typed).to_be_bytes());
}

/// A tiny PNG file whose (valid, checksummed) header claims `w`×`h` RGBA pixels.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // zlib of a few zero bytes: far fewer than the header promises.
    png_chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

struct Upload<'a> {
    input_type: Option<&'a str>,
    name: &'a str,
    bytes: Vec<u8>,
    message: Option<&'a str>,
    session_id: Option<String>,
    language: Option<&'a str>,
}

impl<'a> Upload<'a> {
    fn new(input_type: &'a str, name: &'a str, bytes: Vec<u8>) -> Self {
        Upload { input_type: Some(input_type), name, bytes, message: None, session_id: None, language: None }
    }

    fn language(mut self, l: &'a str) -> Self {
        self.language = Some(l);
        self
    }

    fn message(mut self, m: &'a str) -> Self {
        self.message = Some(m);
        self
    }
}

async fn send_media(app: &TestApp, token: &str, u: Upload<'_>) -> reqwest::Response {
    let mut form = Form::new();
    if let Some(m) = u.message {
        form = form.text("message", m.to_string());
    }
    if let Some(s) = u.session_id {
        form = form.text("session_id", s);
    }
    if let Some(t) = u.input_type {
        form = form.text("input_type", t.to_string());
    }
    if let Some(l) = u.language {
        form = form.text("language", l.to_string());
    }
    let part = Part::bytes(u.bytes).file_name(u.name.to_string()).mime_str("application/octet-stream").unwrap();
    form = form.part("media_file", part);
    app.client.post(app.url("/chat/send-media")).bearer_auth(token).multipart(form).send().await.unwrap()
}

/// Sends and expects 200; returns the body.
async fn send_ok(app: &TestApp, token: &str, u: Upload<'_>) -> Value {
    let res = send_media(app, token, u).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "completed", "{body}");
    body
}

async fn send_url(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url("/chat/send-url")).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn error_of(res: reqwest::Response) -> (StatusCode, String, String) {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}")).to_string();
    let message = body["error"]["message"].as_str().unwrap_or_default().to_string();
    (status, code, message)
}

async fn file_list(app: &TestApp, token: &str) -> Value {
    let res = app.get("/files/", token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Stored artifacts (and any temporaries left) under the app's storage root.
fn stored_files(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() { walk(&p, out) } else { out.push(p) }
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(&app.settings.paths.data_dir).join("artifacts"), &mut out);
    out
}

async fn history(app: &TestApp, token: &str, session: &str) -> Vec<Value> {
    let h: Value = app.get(&format!("/chat/history/{session}"), token).await.json().await.unwrap();
    h["messages"].as_array().unwrap_or_else(|| panic!("no history: {h}")).clone()
}

/// A fake Claude with vision (no classifier calls, so every model call is visible).
async fn with_fake_claude(extra: impl FnOnce(&mut settings::Settings)) -> (TestApp, llm::fake::FakeLlm) {
    let fake = llm::fake::FakeLlm::anthropic().await;
    let provider = fake.settings("claude-sonnet-4-6");
    let app = TestApp::spawn_with(move |s| {
        s.llm.anthropic = provider;
        s.agents.llm_classifier = false;
        extra(s);
    })
    .await;
    (app, fake)
}

/// Whether an Anthropic request carries an image block.
fn has_image(body: &Value) -> bool {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| m["content"].as_array().into_iter().flatten().any(|c| c["type"] == "image"))
}

/// All text of a request's user messages.
fn user_text(body: &Value) -> String {
    let mut out = String::new();
    for m in body["messages"].as_array().into_iter().flatten().filter(|m| m["role"] == "user") {
        match &m["content"] {
            Value::String(s) => out.push_str(s),
            Value::Array(parts) => {
                for p in parts {
                    if let Some(t) = p["text"].as_str() {
                        out.push_str(t);
                    }
                }
            }
            _ => {}
        }
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn media_image_text_is_read_and_reaches_the_model_with_a_description() {
    let (app, fake) = with_fake_claude(|_| {}).await;
    fake.push(llm::fake::Reply::text("A printed invoice from ACME on white paper."));
    fake.push(llm::fake::Reply::text("The invoice total is 142.50."));
    let user = app.create_user("finance_manager").await;
    let t = app.tokens(&user).await.access;
    let dir = Scratch::new();
    let png = text_image(&dir, "invoice.png", "INVOICE TOTAL 142.50");

    let body =
        send_ok(&app, &t, Upload::new("image", "invoice.png", png).message("What is the total on this invoice?")).await;
    assert_eq!(body["response"], "The invoice total is 142.50.", "{body}");
    let ip = &body["input_processed"];
    assert_eq!(ip["type"], "image", "{ip}");
    assert_eq!(ip["format"], "png");
    assert_eq!((ip["original_width"].as_u64(), ip["original_height"].as_u64()), (Some(900), Some(200)), "{ip}");
    assert_eq!(ip["description"], "A printed invoice from ACME on white paper.", "{ip}");
    let text = ip["extracted_text"].as_str().unwrap();
    for word in ["INVOICE", "TOTAL", "142.50"] {
        assert!(text.contains(word), "{word} not in {text}");
    }
    assert!(ip["ocr"]["words"].as_u64().unwrap() >= 3, "{ip}");
    assert!(ip["ocr"]["confidence"].as_f64().unwrap() > 50.0, "{ip}");
    assert!(ip["artifact_id"].is_string(), "{ip}");

    // Two model calls: the image description (with the picture), then the answer, whose
    // user message holds the question and the extracted text.
    let requests = fake.received().await;
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert!(has_image(&requests[0].body), "the first call should carry the image");
    assert!(user_text(&requests[0].body).contains("Describe this image."));
    assert!(!has_image(&requests[1].body), "the chat call should carry text only");
    let asked = user_text(&requests[1].body);
    assert!(asked.contains("What is the total on this invoice?"), "{asked}");
    assert!(asked.contains("[Content of the attached image]"), "{asked}");
    assert!(asked.contains("INVOICE TOTAL 142.50"), "{asked}");
    assert!(asked.contains("A printed invoice from ACME"), "{asked}");

    // The upload is kept as the user's artifact, and the question's metadata holds the text.
    let files = file_list(&app, &t).await;
    assert_eq!(files["total"], 1, "{files}");
    assert_eq!(files["artifacts"][0]["id"], ip["artifact_id"]);
    assert_eq!(files["artifacts"][0]["type"], "png");
    assert_eq!(files["artifacts"][0]["category"], "image");
    let messages = history(&app, &t, body["session_id"].as_str().unwrap()).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["metadata"]["input_type"], "image");
    assert!(messages[0]["metadata"]["extracted_text"].as_str().unwrap().contains("142.50"));
}

#[tokio::test]
async fn media_image_offline_says_there_is_no_vision_model() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let dir = Scratch::new();
    let jpeg = text_image(&dir, "sign.jpg", "OPEN DAILY 9 TO 5");
    let body = send_ok(&app, &t, Upload::new("image", "sign.jpg", jpeg)).await;
    let ip = &body["input_processed"];
    assert_eq!(ip["type"], "image");
    assert_eq!(ip["format"], "jpeg", "{ip}");
    assert!(ip["extracted_text"].as_str().unwrap().contains("OPEN DAILY"), "{ip}");
    // No model: the description is the image's facts and a note says why.
    assert!(ip["description"].as_str().unwrap().starts_with("JPEG image, 900×200"), "{ip}");
    let notes = ip["notes"].to_string();
    assert!(notes.contains("no vision model"), "{notes}");
    assert_eq!(body["provider"], "offline", "{body}");
    // The default question is the one asked.
    let messages = history(&app, &t, body["session_id"].as_str().unwrap()).await;
    assert_eq!(messages[0]["content"], "What does this image show?");
}

#[tokio::test]
async fn media_oversized_upload_is_refused_while_streaming_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;

    // A raw request announcing 200 MB; the server must answer 413 long before all of it is sent.
    let boundary = "mzt-boundary-7f3a";
    let preamble = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"input_type\"\r\n\r\nimage\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"media_file\"; filename=\"huge.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    );
    let epilogue = format!("\r\n--{boundary}--\r\n");
    let file_len: u64 = 200 * 1024 * 1024;
    let total = preamble.len() as u64 + file_len + epilogue.len() as u64;
    let head = format!(
        "POST /chat/send-media HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n{preamble}"
    );
    let stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        tokio::spawn(async move {
            if wr.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let mut chunk = vec![0u8; 64 * 1024];
            chunk[..8].copy_from_slice(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
            let mut sent: u64 = 0;
            while sent < file_len && !stop.load(Ordering::SeqCst) {
                if wr.write_all(&chunk).await.is_err() {
                    return;
                }
                sent += chunk.len() as u64;
                written.store(sent as usize, Ordering::SeqCst);
                chunk[..8].fill(0);
            }
            let _ = wr.write_all(epilogue.as_bytes()).await;
        })
    };
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        let mut buf = [0u8; 8192];
        loop {
            let n = rd.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&response);
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if response.len() >= end + 4 + len {
                    break;
                }
            }
        }
    })
    .await;
    let sent_when_answered = written.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    let _ = writer.await;
    assert!(read.is_ok(), "no answer within 60 s");
    let text = String::from_utf8_lossy(&response).to_string();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"file_too_large\""), "{text}");
    // Refused while streaming: far less than the 200 MB announced was read.
    assert!(sent_when_answered < 60 * 1024 * 1024, "the server read {sent_when_answered} bytes before answering");

    // Nothing stored: no artifact, no file, no temporary, no message.
    assert_eq!(file_list(&app, &t).await["total"], 0);
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    let sessions: Value = app.get("/chat/sessions", &t).await.json().await.unwrap();
    assert_eq!(sessions["sessions"], json!([]));
}

#[tokio::test]
async fn media_types_are_judged_by_content() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;

    // HTML named like a photo: 415 naming what it is.
    let html = b"<!doctype html><html><body><script>alert(1)</script>Hello</body></html>\n".to_vec();
    let (status, code, message) = error_of(send_media(&app, &t, Upload::new("image", "photo.png", html)).await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(code, "unsupported_file_type");
    assert!(message.contains("txt") && message.contains("image"), "{message}");

    // A real PNG declared as audio: 415 naming the PNG.
    let png = png_claiming(1, 1);
    let (status, code, message) = error_of(send_media(&app, &t, Upload::new("audio", "voice.m4a", png)).await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(code, "unsupported_file_type");
    assert!(message.contains("png") && message.contains("audio"), "{message}");

    // An executable is nothing we accept, whatever it is called.
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend(std::iter::repeat_n(0u8, 4096));
    let (status, _, _) = error_of(send_media(&app, &t, Upload::new("file", "report.pdf", exe)).await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(file_list(&app, &t).await["total"], 0);
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
}

#[tokio::test]
async fn media_pixel_bomb_png_is_refused_clearly() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let bomb = png_claiming(60_000, 60_000);
    assert!(bomb.len() < 200);
    let (status, code, message) = error_of(send_media(&app, &t, Upload::new("image", "tiny.png", bomb)).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{code}: {message}");
    assert_eq!(code, "file_too_large");
    assert!(message.contains("60000×60000"), "{message}");
    assert_eq!(file_list(&app, &t).await["total"], 0);
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
}

#[tokio::test]
async fn media_zip_bomb_disguised_as_docx_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    // A DOCX-shaped zip whose document.xml inflates 1000:1 (50 MB of zeros).
    let bomb = python_bytes(
        "import io, sys, zipfile\n\
         b = io.BytesIO()\n\
         with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:\n\
         \x20   z.writestr('[Content_Types].xml', '<?xml version=\"1.0\"?><Types/>')\n\
         \x20   z.writestr('word/document.xml', b'\\0' * (50 * 1024 * 1024))\n\
         sys.stdout.buffer.write(b.getvalue())\n",
    );
    assert!(bomb.starts_with(b"PK\x03\x04") && bomb.len() < 200 * 1024, "{} bytes", bomb.len());
    for input_type in [Some("file"), None] {
        let mut u = Upload::new("file", "quarterly.docx", bomb.clone());
        u.input_type = input_type;
        let (status, code, _) = error_of(send_media(&app, &t, u).await).await;
        assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unsafe_file"), "{input_type:?}");
    }
    assert_eq!(file_list(&app, &t).await["total"], 0);
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    let sessions: Value = app.get("/chat/sessions", &t).await.json().await.unwrap();
    assert_eq!(sessions["sessions"], json!([]));
}

// ---------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn media_documents_pdf_csv_and_gbk_text_are_read() {
    let app = TestApp::spawn().await;
    let user = app.create_user("finance_manager").await;
    let t = app.tokens(&user).await.access;

    // PDF: two pages of text.
    let doc = pdf(&["Quarterly revenue grew 12 percent", "Page two mentions Kuala Lumpur"]);
    let body = send_ok(&app, &t, Upload::new("file", "q3.pdf", doc)).await;
    let ip = &body["input_processed"];
    assert_eq!(ip["type"], "file", "{ip}");
    assert_eq!(ip["kind"], "pdf");
    assert_eq!(ip["pages"], 2, "{ip}");
    assert_eq!(ip["description"], "PDF document, 2 page(s)", "{ip}");
    let text = ip["extracted_text"].as_str().unwrap();
    assert!(text.contains("Quarterly revenue grew 12 percent") && text.contains("Kuala Lumpur"), "{text}");
    let messages = history(&app, &t, body["session_id"].as_str().unwrap()).await;
    assert_eq!(messages[0]["content"], "Summarize this document.");

    // CSV with semicolons.
    let csv = "Region;Revenue;Deals\nSingapore;120000;14\nMalaysia;80000;9\n".as_bytes().to_vec();
    let body = send_ok(&app, &t, Upload::new("file", "regions.csv", csv)).await;
    let ip = &body["input_processed"];
    assert_eq!(ip["kind"], "csv", "{ip}");
    assert_eq!(ip["description"], "CSV table, 3 row(s)", "{ip}");
    assert_eq!(ip["tables"], 1);
    let text = ip["extracted_text"].as_str().unwrap();
    assert!(text.starts_with("Region | Revenue | Deals\nSingapore | 120000 | 14"), "{text}");

    // Text in GBK (not UTF-8): decoded, and the encoding is reported.
    let original = "季度报告\n本季度新加坡的销售额增长了百分之十二。\n";
    let gbk = python_bytes(&format!("import sys; sys.stdout.buffer.write({original:?}.encode('gbk'))"));
    assert!(std::str::from_utf8(&gbk).is_err());
    let body = send_ok(&app, &t, Upload::new("file", "report.txt", gbk)).await;
    let ip = &body["input_processed"];
    assert_eq!(ip["kind"], "txt", "{ip}");
    assert_eq!(ip["encoding"], "GBK", "{ip}");
    assert_eq!(ip["description"], "Text file (GBK)");
    assert_eq!(ip["extracted_text"], original, "{ip}");

    let files = file_list(&app, &t).await;
    let kinds: Vec<&str> = files["artifacts"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
    assert_eq!(files["total"], 3, "{files}");
    for k in ["pdf", "csv", "txt"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Audio
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn media_audio_is_transcribed_by_the_recognizer() {
    let whisper = media::fake::FakeWhisper::start().await;
    whisper.set_transcript("Please send the sales report.", "en");
    let url = whisper.base_url();
    let app = TestApp::spawn_with(move |s| s.input.transcription_base_url = url).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let dir = Scratch::new();
    let wav = speech_wav(&dir, "please send the sales report");

    let body = send_ok(&app, &t, Upload::new("audio", "memo.wav", wav)).await;
    let ip = &body["input_processed"];
    assert_eq!(ip["type"], "audio", "{ip}");
    assert_eq!(ip["language"], "en", "{ip}");
    assert_eq!(ip["model"], "base", "{ip}");
    let secs = ip["duration_secs"].as_f64().unwrap();
    assert!((0.5..10.0).contains(&secs), "{ip}");
    assert!(ip["description"].as_str().unwrap().contains("transcribed (en)"), "{ip}");
    assert_eq!(ip["extracted_text"], "Transcript:\nPlease send the sales report.", "{ip}");
    let messages = history(&app, &t, body["session_id"].as_str().unwrap()).await;
    // No message was typed: what was said is the request.
    assert_eq!(messages[0]["content"], "Please send the sales report.");
    assert_eq!(ip["message_from_transcript"], true, "{ip}");
    assert_eq!(messages[0]["metadata"]["extracted_text"], "Transcript:\nPlease send the sales report.");

    // What the recognizer got: one request, the configured model, verbose JSON, a 16 kHz WAV.
    let seen = whisper.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].status, 200);
    assert_eq!(seen[0].model.as_deref(), Some("base"));
    assert_eq!(seen[0].response_format.as_deref(), Some("verbose_json"));
    assert_eq!(seen[0].language, None, "no language hint was given");
    let expected = 44.0 + secs * 32_000.0;
    assert!((seen[0].file_bytes as f64 - expected).abs() < 3_200.0, "{} bytes for {secs} s", seen[0].file_bytes);
}

/// The speaker's language goes to the recognizer (its detection is weak for Malay); an
/// unknown one is a 422 before anything is stored.
#[tokio::test]
async fn media_audio_language_hint_reaches_the_recognizer() {
    let whisper = media::fake::FakeWhisper::start().await;
    whisper.set_transcript("Tolong hantar laporan jualan.", "ms");
    let url = whisper.base_url();
    let app = TestApp::spawn_with(move |s| s.input.transcription_base_url = url).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let dir = Scratch::new();
    let wav = speech_wav(&dir, "tolong hantar laporan jualan");

    let res = send_media(&app, &t, Upload::new("audio", "memo.wav", wav.clone()).language("klingon")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_language");
    assert!(whisper.requests().is_empty());
    assert_eq!(file_list(&app, &t).await["total"], 0);

    let body = send_ok(&app, &t, Upload::new("audio", "memo.wav", wav).language("Malay")).await;
    assert_eq!(body["input_processed"]["language"], "ms", "{body}");
    let seen = whisper.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].language.as_deref(), Some("ms"));
}

#[tokio::test]
async fn media_audio_without_a_recognizer_is_kept_and_says_so() {
    // Test settings point the recognizer at 127.0.0.1:9 (nothing listens).
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let dir = Scratch::new();
    let wav = speech_wav(&dir, "please send the sales report");
    let body = send_ok(&app, &t, Upload::new("audio", "memo.wav", wav).message("Please action this voice memo")).await;
    let ip = &body["input_processed"];
    assert_eq!(ip["type"], "audio");
    assert!(ip["description"].as_str().unwrap().contains("not transcribed"), "{ip}");
    assert_eq!(ip["transcription"]["available"], false, "{ip}");
    assert!(ip["extracted_text"].as_str().unwrap().contains("could not be transcribed"), "{ip}");
    let files = file_list(&app, &t).await;
    assert_eq!(files["total"], 1, "{files}");
    assert_eq!(files["artifacts"][0]["id"], ip["artifact_id"]);
    assert_eq!(files["artifacts"][0]["type"], "wav");
    assert_eq!(files["artifacts"][0]["category"], "audio");
    assert_eq!(app.get(&format!("/files/{}", ip["artifact_id"].as_str().unwrap()), &t).await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// Video (inline; the long one is in the worker's tests)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn media_short_video_is_processed_inline() {
    let whisper = media::fake::FakeWhisper::start().await;
    whisper.set_transcript("A steady tone plays.", "en");
    let url = whisper.base_url();
    let app = TestApp::spawn_with(move |s| s.input.transcription_base_url = url).await;
    let user = app.create_user("marketing_manager").await;
    let t = app.tokens(&user).await.access;
    let dir = Scratch::new();
    let mp4 = test_video(&dir, "clip.mp4", 10, "320x240");

    let body = send_ok(&app, &t, Upload::new("video", "clip.mp4", mp4.clone())).await;
    assert!(body["task_id"].is_null(), "{body}");
    let ip = &body["input_processed"];
    assert_eq!(ip["type"], "video", "{ip}");
    let secs = ip["duration_secs"].as_f64().unwrap();
    assert!((9.5..=10.5).contains(&secs), "{ip}");
    assert_eq!((ip["video"]["width"].as_u64(), ip["video"]["height"].as_u64()), (Some(320), Some(240)), "{ip}");
    assert!(ip["audio"].is_object(), "{ip}");
    let frames = ip["frames"].as_array().unwrap();
    assert!((2..=3).contains(&frames.len()), "frames every 5 s of 10 s: {ip}");
    assert!(frames.iter().all(|f| f["at_secs"].is_number()), "{ip}");
    assert!(ip["description"].as_str().unwrap().starts_with("Video of 00:10, 320×240"), "{ip}");
    assert!(ip["extracted_text"].as_str().unwrap().contains("Transcript of the audio:\nA steady tone plays."), "{ip}");
    assert_eq!(whisper.requests().len(), 1);

    // A truncated MP4 (no index): a clear 4xx, nothing stored.
    let truncated = mp4[..4096].to_vec();
    let res = send_media(&app, &t, Upload::new("video", "broken.mp4", truncated)).await;
    let (status, code, message) = error_of(res).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unreadable_media"), "{message}");
    assert_eq!(file_list(&app, &t).await["total"], 1);
}

// ---------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------

/// A one-page HTTP server; counts the requests it gets.
async fn serve(addr: &str, body: String, content_type: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(addr).await.unwrap();
    let local = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut got = Vec::new();
                while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nAccess-Control-Allow-Origin: *\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (local, hits)
}

#[tokio::test]
async fn media_url_is_rendered_with_javascript_and_a_screenshot() {
    const SECRET: &str = "TOPSECRET-b41c";
    let (secret, secret_hits) = serve("127.0.0.1:0", SECRET.to_string(), "text/plain").await;
    // The text, the e-mail and the phone exist only once the script has run; the script also
    // tries to read the secret server on 127.0.0.1.
    let page = format!(
        "<!doctype html><html><head><title>Acme Regional Office</title></head><body>\
         <h1>Acme</h1><div id=\"out\"></div><div id=\"leak\"></div>\
         <script>\
         var p = document.createElement('p');\
         p.textContent = 'Rendered by JavaScript 4242. Write to ' + 'sales' + '@' + 'acme-example.com' + \
         ' or call +65 ' + '6123 4567' + ' today.';\
         document.getElementById('out').appendChild(p);\
         fetch('http://{secret}/').then(function (r) {{ return r.text(); }})\
         .then(function (t) {{ document.getElementById('leak').textContent = t; }}).catch(function () {{}});\
         </script></body></html>"
    );
    let (site, site_hits) = serve("127.0.0.2:0", page, "text/html; charset=utf-8").await;
    let app = TestApp::spawn_with(|s| s.web.allow_networks = vec!["127.0.0.2/32".into()]).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;

    let res = send_url(&app, &t, json!({"url": format!("http://{site}/office"), "message": "Who do I contact?"})).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let ip = &body["input_processed"];
    assert_eq!(ip["type"], "url", "{ip}");
    assert_eq!(ip["rendered"], true, "{ip}");
    assert_eq!(ip["title"], "Acme Regional Office", "{ip}");
    let text = ip["extracted_text"].as_str().unwrap();
    assert!(text.contains("Rendered by JavaScript 4242"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert_eq!(ip["contacts"]["emails"], json!(["sales@acme-example.com"]), "{ip}");
    assert_eq!(ip["contacts"]["phones"], json!(["+65 6123 4567"]), "{ip}");
    assert!(site_hits.load(Ordering::SeqCst) >= 1);
    let messages = history(&app, &t, body["session_id"].as_str().unwrap()).await;
    assert_eq!(messages[0]["metadata"]["input_type"], "url");
    assert!(messages[0]["metadata"]["extracted_text"].as_str().unwrap().contains("sales@acme-example.com"));

    // The screenshot is the user's PNG artifact.
    let shot = ip["screenshot"]["download_url"].as_str().unwrap_or_else(|| panic!("no screenshot: {ip}"));
    let res = app.get(shot, &t).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = res.bytes().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000, "{} bytes", png.len());
    let files = file_list(&app, &t).await;
    assert_eq!(files["artifacts"][0]["source"], "generated", "{files}");

    // The page's script never reached the secret server.
    assert_eq!(secret_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn media_url_refuses_private_addresses_and_other_schemes() {
    const SECRET: &str = "TOPSECRET-51f0";
    let (secret, secret_hits) = serve("127.0.0.1:0", SECRET.to_string(), "text/plain").await;
    // Even with 127.0.0.2 opened, loopback 127.0.0.1 and the rest stay closed.
    let app = TestApp::spawn_with(|s| s.web.allow_networks = vec!["127.0.0.2/32".into()]).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let cases = [
        (format!("http://{secret}/"), "url_not_allowed"),
        (format!("http://localhost:{}/", secret.port()), "url_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/".to_string(), "url_not_allowed"),
        (format!("http://2130706433:{}/", secret.port()), "url_not_allowed"),
        (format!("http://[::ffff:127.0.0.1]:{}/", secret.port()), "url_not_allowed"),
        ("file:///etc/passwd".to_string(), "invalid_url"),
        ("not a url".to_string(), "invalid_url"),
    ];
    for (url, expected) in cases {
        let (status, code, message) = error_of(send_url(&app, &t, json!({"url": url})).await).await;
        assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, expected), "{url}: {message}");
        assert!(!message.contains(SECRET));
    }
    assert_eq!(secret_hits.load(Ordering::SeqCst), 0, "the secret server was contacted");
    let sessions: Value = app.get("/chat/sessions", &t).await.json().await.unwrap();
    assert_eq!(sessions["sessions"], json!([]), "a refused URL must not start a conversation");
}

// ---------------------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn media_bad_forms_get_clear_errors() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("sales_rep").await;
    let bob = app.create_user("sales_rep").await;
    let ta = app.tokens(&alice).await.access;
    let tb = app.tokens(&bob).await.access;
    let dir = Scratch::new();
    let png = text_image(&dir, "note.png", "HELLO");

    // Unknown session, and another user's session: 404.
    let mut u = Upload::new("image", "note.png", png.clone());
    u.session_id = Some(uuid::Uuid::now_v7().to_string());
    let (status, code, _) = error_of(send_media(&app, &ta, u).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "not_found"));
    let first = send_ok(&app, &tb, Upload::new("image", "note.png", png.clone()).message("  ")).await;
    let bobs = first["session_id"].as_str().unwrap().to_string();
    let mut u = Upload::new("image", "note.png", png.clone());
    u.session_id = Some(bobs.clone());
    assert_eq!(send_media(&app, &ta, u).await.status(), StatusCode::NOT_FOUND);
    let res = send_url(&app, &ta, json!({"url": "https://example.com/", "session_id": bobs})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // A blank message got the default question.
    let messages = history(&app, &tb, &bobs).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["content"], "What does this image show?");

    // The same session continues for its owner.
    let mut u = Upload::new("image", "note.png", png.clone()).message("And this one?");
    u.session_id = Some(bobs.clone());
    let again = send_ok(&app, &tb, u).await;
    assert_eq!(again["session_id"], bobs.as_str());
    assert_eq!(history(&app, &tb, &bobs).await.len(), 4);

    // No file: 400 missing_file.
    let form = Form::new().text("input_type", "image").text("message", "hi");
    let res = app.client.post(app.url("/chat/send-media")).bearer_auth(&ta).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "missing_file");
    // An unknown field: 400 unknown_field.
    let form = Form::new()
        .text("input_type", "image")
        .text("colour", "blue")
        .part("media_file", Part::bytes(png.clone()).file_name("note.png"));
    let res = app.client.post(app.url("/chat/send-media")).bearer_auth(&ta).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "unknown_field");
    // Two files: 400.
    let form = Form::new()
        .part("media_file", Part::bytes(png.clone()).file_name("a.png"))
        .part("file", Part::bytes(png.clone()).file_name("b.png"));
    let res = app.client.post(app.url("/chat/send-media")).bearer_auth(&ta).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "too_many_files");
    // A bad input_type, an empty file: 422.
    let (status, code, _) =
        error_of(send_media(&app, &ta, Upload::new("spreadsheet", "x.png", png.clone())).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input_type"));
    let (status, code, _) = error_of(send_media(&app, &ta, Upload::new("image", "x.png", Vec::new())).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "empty_file"));
    // send-url: unknown fields are refused too.
    let res = send_url(&app, &ta, json!({"url": "https://example.com/", "depth": 3})).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    // No token: 401.
    let res = app.client.post(app.url("/chat/send-media")).multipart(Form::new()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // None of Alice's failures stored anything.
    assert_eq!(file_list(&app, &ta).await["total"], 0);
    let sessions: Value = app.get("/chat/sessions", &ta).await.json().await.unwrap();
    assert_eq!(sessions["sessions"], json!([]));
}

// ---------------------------------------------------------------------------------------
// Defects found while writing these tests (each test states the expected behaviour).
// ---------------------------------------------------------------------------------------

/// A page that cannot be fetched is a 502 `fetch_failed` (as documented on the route), not
/// a 500 that hides the reason.
#[tokio::test]
async fn media_url_that_cannot_be_fetched_is_a_502() {
    // A port on the allowed 127.0.0.2 where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap();
    let app = TestApp::spawn_with(|s| s.web.allow_networks = vec!["127.0.0.2/32".into()]).await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let (status, code, message) = error_of(send_url(&app, &t, json!({"url": format!("http://{closed}/")})).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::BAD_GATEWAY, "fetch_failed"), "{message}");
}

/// A video over `input.max_duration_secs` is refused at once (422 `media_too_long`), as a
/// short one is, instead of being accepted as a job that can only fail.
#[tokio::test]
async fn media_video_over_the_longest_accepted_is_refused_before_queuing() {
    let app = TestApp::spawn_with(|s| {
        s.input.video_inline_max_secs = 3;
        s.input.max_duration_secs = 6;
    })
    .await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let dir = Scratch::new();
    let mp4 = test_video(&dir, "long.mp4", 10, "160x120");
    let res = send_media(&app, &t, Upload::new("video", "long.mp4", mp4)).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("media_too_long")),
        "{body}"
    );
    assert_eq!(file_list(&app, &t).await["total"], 0);
}

/// Error messages name the problem, not the server's file system.
#[tokio::test]
async fn media_errors_do_not_reveal_server_paths() {
    let app = TestApp::spawn().await;
    let user = app.create_user("sales_rep").await;
    let t = app.tokens(&user).await.access;
    let dir = Scratch::new();
    let mp4 = test_video(&dir, "clip.mp4", 2, "160x120");
    let res = send_media(&app, &t, Upload::new("video", "broken.mp4", mp4[..4096].to_vec())).await;
    let (status, code, message) = error_of(res).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "unreadable_media"));
    assert!(!message.contains(&app.settings.paths.data_dir) && !message.contains("upload-"), "{message}");
}

/// A voice memo asking for a side effect: the transcript is the request, the offline skill
/// makes the PDF, and the e-mail it asks for is held for the user's confirmation (the memo is
/// untrusted content) — no delivery job exists until the user confirms.
#[tokio::test]
async fn media_a_spoken_request_runs_but_its_side_effects_wait_for_consent() {
    let whisper = media::fake::FakeWhisper::start().await;
    whisper.set_transcript("Generate the latest financial statement and send it to the CEO.", "en");
    let url = whisper.base_url();
    let app = TestApp::spawn_with(move |s| s.input.transcription_base_url = url).await;
    store::demo::seed_company_demo(&app.db, chrono::Utc::now().date_naive(), 5).await.unwrap();
    let cfo = app.create_user("finance_manager").await;
    let t = app.tokens(&cfo).await.access;
    let dir = Scratch::new();
    let wav = speech_wav(&dir, "generate the latest financial statement and send it to the CEO");

    let body = send_ok(&app, &t, Upload::new("audio", "memo.wav", wav)).await;
    assert_eq!(body["input_processed"]["message_from_transcript"], true, "{body}");
    assert_eq!(body["agent_used"], "finance", "{body}");
    let pdf = body["artifacts"].as_array().unwrap();
    assert!(pdf.iter().any(|a| a["type"] == "pdf"), "{body}");
    let held = body["pending_actions"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{body}");
    assert_eq!(held[0]["tool"], "outlook_send_email");
    assert_eq!(held[0]["input"]["to"], serde_json::json!(["ceo@mezzofy.com"]));
    assert!(held[0]["reason"].as_str().unwrap().contains("audio"), "{body}");
    let (jobs, _) = store::jobs::list(
        &app.db,
        &store::jobs::JobFilter { queue: Some("delivery".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert!(jobs.is_empty(), "nothing is sent before the user confirms: {jobs:?}");

    // The user confirms: now exactly that e-mail is queued.
    let id = held[0]["confirmation_id"].as_str().unwrap();
    let res = app.client.post(app.url(&format!("/chat/confirm/{id}"))).bearer_auth(&t).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (jobs, _) = store::jobs::list(
        &app.db,
        &store::jobs::JobFilter { queue: Some("delivery".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
}
