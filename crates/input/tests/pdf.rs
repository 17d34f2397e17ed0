#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use input::{DocOptions, InputError, extract_document};

fn pdf_kind() -> files::Detected {
    files::Detected::from_kind("pdf").unwrap()
}

#[tokio::test]
async fn text_pdf_with_cjk_and_metadata() {
    if !have_all(&["pdftotext", "pdfinfo"]) {
        return;
    }
    let pdf = report_pdf(
        "Quarterly Report",
        &["Revenue rose to 1.2 million in the third quarter.", "中文摘要：销售额增长百分之十二。"],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.pdf", &pdf);
    assert_eq!(files::sniff_file(&path).unwrap().kind, "pdf");
    let doc = extract_document(&path, &pdf_kind(), &DocOptions::default()).await.unwrap();
    assert_eq!(doc.kind, "pdf");
    assert_eq!(doc.pages, Some(1));
    assert!(!doc.ocr, "a text PDF must not be OCR'd");
    assert!(doc.text.contains("Quarterly Report"), "{}", doc.text);
    assert!(doc.text.contains("Revenue rose to 1.2 million"), "{}", doc.text);
    assert!(doc.text.contains("销售额增长百分之十二"), "{}", doc.text);
    // Layout padding is trimmed.
    assert!(!doc.text.lines().any(|l| l.ends_with(' ')), "trailing spaces left");
}

#[tokio::test]
async fn scanned_pdf_is_ocrd() {
    if !have_all(&["pdftotext", "pdfinfo", "pdftoppm", "tesseract"]) {
        return;
    }
    // Real glyphs: a documents-crate PDF rendered to pixels, then wrapped as an image-only PDF.
    let text_pdf = report_pdf("Invoice Summary", &["Payment received from Harbour Coffee for December services."]);
    let png = pdf_page_png(&text_pdf, 150);
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&img).unwrap();
    let scanned = image_only_pdf(&jpeg, img.width(), img.height());

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "scan.pdf", &scanned);
    // Sanity: no text layer at all.
    let plain = std::process::Command::new("pdftotext").arg(&path).arg("-").output().unwrap();
    assert!(String::from_utf8_lossy(&plain.stdout).trim().is_empty());

    let doc = extract_document(&path, &pdf_kind(), &DocOptions::default()).await.unwrap();
    assert!(doc.ocr, "{doc:?}");
    assert_eq!(doc.ocr_pages, vec![1]);
    assert_eq!(doc.pages, Some(1));
    let lower = doc.text.to_lowercase();
    for word in ["invoice", "summary", "harbour", "coffee", "december"] {
        assert!(lower.contains(word), "OCR missed {word:?}: {}", doc.text);
    }
}

#[tokio::test]
async fn scanned_page_ocr_is_limited() {
    if !have_all(&["pdftotext", "pdfinfo", "pdftoppm", "tesseract"]) {
        return;
    }
    let img = image::RgbImage::from_pixel(200, 200, image::Rgb([255, 255, 255]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&img).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "blank.pdf", &image_only_pdf(&jpeg, 200, 200));
    let opts = DocOptions { pdf_ocr_max_pages: 0, ..DocOptions::default() };
    let doc = extract_document(&path, &pdf_kind(), &opts).await.unwrap();
    assert!(!doc.ocr);
    assert!(doc.truncated, "left-out scanned pages must set truncated");
    assert!(!doc.warnings.is_empty());
}

#[tokio::test]
async fn broken_pdf_is_malformed() {
    if !have_all(&["pdfinfo"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "broken.pdf", b"%PDF-1.4\nthis is not really a pdf\n");
    let err = extract_document(&path, &pdf_kind(), &DocOptions::default()).await.unwrap_err();
    assert!(matches!(err, InputError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn missing_poppler_is_tool_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.pdf", b"%PDF-1.4\n");
    let opts = DocOptions { poppler_dir: Some(dir.path().join("nowhere")), ..DocOptions::default() };
    let err = extract_document(&path, &pdf_kind(), &opts).await.unwrap_err();
    assert!(matches!(err, InputError::ToolMissing("pdfinfo")), "{err:?}");
    assert_eq!(err.http_status(), 503);
}

#[tokio::test]
async fn hung_tool_is_killed_at_the_timeout() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = format!("#!/bin/sh\necho $$ > {}\nexec sleep 30\n", pid_file.display());
    let fake = write(dir.path(), "pdfinfo", script.as_bytes());
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = write(dir.path(), "r.pdf", b"%PDF-1.4\n");
    let opts = DocOptions {
        poppler_dir: Some(dir.path().to_path_buf()),
        timeout: Duration::from_millis(500),
        ..DocOptions::default()
    };
    let started = Instant::now();
    let err = extract_document(&path, &pdf_kind(), &opts).await.unwrap_err();
    assert!(matches!(err, InputError::Timeout("pdfinfo")), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // The process is gone (killed and reaped), not left sleeping.
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_owned();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ");
    assert!(!alive, "pdfinfo stand-in (pid {pid}) still running");
}
