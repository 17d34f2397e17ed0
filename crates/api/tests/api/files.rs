//! The files API: validation by content, limits while streaming, ownership.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use testkit::TestApp;

use crate::auth::error_code;

/// A real 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

async fn upload(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>, input_type: Option<&str>) -> reqwest::Response {
    let mut form = Form::new();
    if let Some(t) = input_type {
        form = form.text("input_type", t.to_string());
    }
    form = form.part("file", Part::bytes(bytes).file_name(name.to_string()).mime_str("application/pdf").unwrap());
    app.client.post(app.url("/files/upload")).bearer_auth(token).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn uploads_are_typed_by_content_and_private_to_their_owner() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("sales_rep").await;
    let bob = app.create_user("sales_rep").await;
    let admin = app.create_user("admin").await;
    let ta = app.tokens(&alice).await.access;
    let tb = app.tokens(&bob).await.access;
    let tadmin = app.tokens(&admin).await.access;

    // Named .pdf and declared application/pdf, but it is a PNG: stored as a PNG.
    let res = upload(&app, &ta, "../../etc/receipt \"1\".pdf", PNG.to_vec(), None).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let a: Value = res.json().await.unwrap();
    assert_eq!(a["type"], "png");
    assert_eq!(a["content_type"], "image/png");
    assert_eq!(a["category"], "image");
    assert_eq!(a["size_bytes"], PNG.len());
    assert_eq!(a["source"], "upload");
    let name = a["name"].as_str().unwrap();
    assert!(!name.contains('/') && !name.contains(".."), "{name}");
    let id = a["artifact_id"].as_str().unwrap();
    assert_eq!(a["download_url"], format!("/files/{id}"));

    // Download: the same bytes, the detected type, nosniff, a safe disposition.
    let res = app.get(&format!("/files/{id}"), &ta).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let cd = res.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(cd.starts_with("attachment;") && !cd.contains("../"), "{cd}");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);

    // Listed for Alice only.
    let list: Value = app.get("/files/", &ta).await.json().await.unwrap();
    assert_eq!(list["artifacts"].as_array().unwrap().len(), 1);
    let list2: Value = app.get("/files/list", &ta).await.json().await.unwrap();
    assert_eq!(list2["artifacts"], list["artifacts"]);
    let other: Value = app.get("/files/", &tb).await.json().await.unwrap();
    assert_eq!(other["artifacts"].as_array().unwrap().len(), 0);

    // Bob cannot see or delete it; it looks like nothing is there.
    assert_eq!(app.get(&format!("/files/{id}"), &tb).await.status(), StatusCode::NOT_FOUND);
    let res = app.client.delete(app.url(&format!("/files/{id}"))).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // files_read_all may read, not delete.
    assert_eq!(app.get(&format!("/files/{id}"), &tadmin).await.status(), StatusCode::OK);
    let res = app.client.delete(app.url(&format!("/files/{id}"))).bearer_auth(&tadmin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The owner deletes: row and bytes are gone.
    let row = store::artifacts::get(&app.db, id.parse().unwrap()).await.unwrap().unwrap();
    let on_disk = std::path::Path::new(&app.settings.paths.data_dir).join("artifacts").join(&row.path);
    assert!(on_disk.exists());
    let res = app.client.delete(app.url(&format!("/files/{id}"))).bearer_auth(&ta).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["deleted"], true);
    assert_eq!(app.get(&format!("/files/{id}"), &ta).await.status(), StatusCode::NOT_FOUND);
    assert!(!on_disk.exists());
}

#[tokio::test]
async fn wrong_types_and_sizes_are_refused_and_leave_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user("support_agent").await;
    let t = app.tokens(&user).await.access;

    // A PNG sent as a document: 415 naming what it is.
    let res = upload(&app, &t, "report.pdf", PNG.to_vec(), Some("file")).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_file_type");
    assert!(body["error"]["message"].as_str().unwrap().contains("png"), "{body}");

    // An executable is nothing we accept.
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend(std::iter::repeat_n(0u8, 2048));
    let res = upload(&app, &t, "invoice.pdf", exe, None).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Over the image limit (20 MB): 413.
    let mut big = PNG.to_vec();
    big.resize(21 * 1024 * 1024, 0);
    let res = upload(&app, &t, "big.png", big, Some("image")).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(res).await, "file_too_large");

    // Bad forms.
    let res = upload(&app, &t, "x.png", PNG.to_vec(), Some("spreadsheet")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = upload(&app, &t, "empty.txt", Vec::new(), None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let form = Form::new().text("input_type", "image");
    let res = app.client.post(app.url("/files/upload")).bearer_auth(&t).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "missing_file");
    let res = app.client.post(app.url("/files/upload")).bearer_auth(&t).body("not a form").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "invalid_multipart");
    let res = app.client.post(app.url("/files/upload")).multipart(Form::new()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Nothing was stored: no rows, no files, no temporaries.
    let list: Value = app.get("/files/", &t).await.json().await.unwrap();
    assert_eq!(list["total"], 0);
    let root = std::path::Path::new(&app.settings.paths.data_dir).join("artifacts");
    let leftovers: Vec<_> = walk(&root);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
