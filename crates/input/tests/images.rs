#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;
use std::time::{Duration, Instant};

use common::*;
use image::{GenericImageView, ImageFormat, Rgb, RgbImage};
use input::{ImageOptions, InputError, Ocr, OutputFormat, process_image};

fn no_ocr() -> ImageOptions {
    ImageOptions { ocr: None, ..ImageOptions::default() }
}

/// TIFF EXIF with make, model, orientation, time taken and a GPS position.
fn exif_tiff(orientation: u16) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let fields = [
        Field { tag: Tag::Make, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"TestCam".to_vec()]) },
        Field { tag: Tag::Model, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"X100".to_vec()]) },
        Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![orientation]) },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2024:03:05 10:20:30".to_vec()]),
        },
        Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"N".to_vec()]) },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 1, denom: 1 },
                Rational { num: 17, denom: 1 },
                Rational { num: 4242, denom: 100 },
            ]),
        },
    ];
    let mut w = exif::experimental::Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    w.write(&mut out, false).unwrap();
    out.into_inner()
}

/// A JPEG of `img` with an APP1 EXIF segment right after SOI.
fn jpeg_with_exif(img: &RgbImage, tiff: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 95).encode_image(img).unwrap();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff);
    let len = u16::try_from(app1.len() + 2).unwrap();
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// 400×200: left half red, right half blue.
fn two_colour() -> RgbImage {
    RgbImage::from_fn(400, 200, |x, _| if x < 200 { Rgb([230, 20, 20]) } else { Rgb([20, 20, 230]) })
}

fn is_red(p: [u8; 3]) -> bool {
    p[0] > 150 && p[2] < 100
}
fn is_blue(p: [u8; 3]) -> bool {
    p[2] > 150 && p[0] < 100
}

#[tokio::test]
async fn rotated_jpeg_comes_out_upright_without_metadata() {
    let jpeg = jpeg_with_exif(&two_colour(), &exif_tiff(6));
    let out = process_image(&jpeg, &no_ocr()).await.unwrap();
    assert_eq!(out.format, "jpeg");
    assert_eq!((out.original_width, out.original_height), (400, 200));
    // Orientation 6: rotate 90° clockwise to display.
    assert_eq!((out.width, out.height), (200, 400));
    let exif = out.exif.clone().unwrap();
    assert_eq!(exif.make.as_deref(), Some("TestCam"));
    assert_eq!(exif.model.as_deref(), Some("X100"));
    assert_eq!(exif.orientation, Some(6));
    assert_eq!(exif.taken_at.as_deref(), Some("2024-03-05T10:20:30"));
    assert!(exif.has_gps);

    assert_eq!(out.normalized_mime, "image/jpeg");
    let img = image::load_from_memory_with_format(&out.normalized, ImageFormat::Jpeg).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (200, 400));
    // The stored left (red) half is now on top, the right (blue) half at the bottom.
    assert!(is_red(img.get_pixel(100, 50).0), "{:?}", img.get_pixel(100, 50));
    assert!(is_blue(img.get_pixel(100, 350).0), "{:?}", img.get_pixel(100, 350));
    // Nothing of the EXIF (least of all GPS) is re-served.
    assert!(exif::Reader::new().read_from_container(&mut Cursor::new(&out.normalized)).is_err());
    assert!(!out.normalized.windows(7).any(|w| w == b"TestCam"));
    // The JSON carries the summary but neither pixels nor coordinates.
    let json = serde_json::to_string(&out).unwrap();
    assert!(json.contains("\"has_gps\":true"));
    assert!(!json.contains("normalized\":["));
    assert!(!json.contains("42.42") && !json.contains("4242"));
}

#[tokio::test]
async fn orientation_3_turns_upside_down() {
    let jpeg = jpeg_with_exif(&two_colour(), &exif_tiff(3));
    let out = process_image(&jpeg, &no_ocr()).await.unwrap();
    assert_eq!((out.width, out.height), (400, 200));
    let img = image::load_from_memory(&out.normalized).unwrap().to_rgb8();
    assert!(is_blue(img.get_pixel(50, 100).0));
    assert!(is_red(img.get_pixel(350, 100).0));
}

#[tokio::test]
async fn png_claiming_60000_square_is_refused_without_allocating() {
    let png = png_header_only(60_000, 60_000);
    let started = Instant::now();
    let err = process_image(&png, &no_ocr()).await.unwrap_err();
    let InputError::TooLarge(msg) = &err else { panic!("{err:?}") };
    assert!(msg.contains("60000×60000"), "{msg}");
    assert!(msg.contains("10000×10000"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(err.http_status(), 413);
}

#[tokio::test]
async fn decode_memory_limit_is_checked_from_the_header() {
    // Within 10000² but 9000×9000 RGB needs ~232 MiB.
    let err = process_image(&png_header_only(9_000, 9_000), &no_ocr()).await.unwrap_err();
    let InputError::TooLarge(msg) = &err else { panic!("{err:?}") };
    assert!(msg.contains("MiB"), "{msg}");
}

#[tokio::test]
async fn html_named_png_is_not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "photo.png", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>");
    let err = process_image(&path, &no_ocr()).await.unwrap_err();
    let InputError::Unsupported { detected } = &err else { panic!("{err:?}") };
    assert!(detected.starts_with("text/"), "{detected}");
    assert_eq!(err.http_status(), 415);
}

#[tokio::test]
async fn pdf_is_not_an_image() {
    let err = process_image(&b"%PDF-1.4\n%%EOF\n".to_vec(), &no_ocr()).await.unwrap_err();
    assert!(matches!(err, InputError::Unsupported { .. }), "{err:?}");
}

#[tokio::test]
async fn truncated_png_is_malformed() {
    let mut png = Vec::new();
    two_colour().write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
    png.truncate(png.len() / 2);
    let err = process_image(&png, &no_ocr()).await.unwrap_err();
    assert!(matches!(err, InputError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn large_image_is_scaled_to_2048_and_png_keeps_png() {
    let img = RgbImage::from_fn(2100, 300, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
    let out = process_image(&png, &no_ocr()).await.unwrap();
    assert_eq!((out.original_width, out.original_height), (2100, 300));
    assert_eq!(out.width, 2048);
    assert!((292..=293).contains(&out.height), "{}", out.height);
    assert_eq!(out.normalized_mime, "image/png");
    let back = image::load_from_memory_with_format(&out.normalized, ImageFormat::Png).unwrap();
    assert_eq!(back.dimensions(), (out.width, out.height));
    assert!(out.exif.is_none());
}

#[tokio::test]
async fn webp_is_accepted_and_jpeg_output_can_be_forced() {
    let img = two_colour();
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(img.as_raw(), 400, 200, image::ExtendedColorType::Rgb8)
        .unwrap();
    let opts = ImageOptions { output: OutputFormat::Jpeg, ..no_ocr() };
    let out = process_image(&webp, &opts).await.unwrap();
    assert_eq!(out.format, "webp");
    assert_eq!((out.width, out.height), (400, 200));
    assert_eq!(out.normalized_mime, "image/jpeg");
    assert!(out.normalized.starts_with(&[0xFF, 0xD8, 0xFF]));
}

#[tokio::test]
async fn heic_is_converted() {
    if !have_all(&["heif-convert", "heif-enc"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let png_path = dir.path().join("in.png");
    two_colour().save(&png_path).unwrap();
    let heic_path = dir.path().join("in.heic");
    let status = std::process::Command::new("heif-enc").arg("-o").arg(&heic_path).arg(&png_path).output().unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let out = process_image(&heic_path, &no_ocr()).await.unwrap();
    assert_eq!(out.format, "heic");
    assert_eq!((out.width, out.height), (400, 200));
    assert_eq!(out.normalized_mime, "image/png");
    let img = image::load_from_memory(&out.normalized).unwrap().to_rgb8();
    assert!(is_red(img.get_pixel(50, 100).0));
    assert!(is_blue(img.get_pixel(350, 100).0));
}

#[tokio::test]
async fn screenshot_text_is_ocrd() {
    if !have_all(&["pdftoppm", "tesseract"]) {
        return;
    }
    let pdf = report_pdf("Voucher Campaign", &["Redeem the coupon at any participating outlet before Friday."]);
    // 300 dpi A4 is 2480×3508: the OCR runs on the 2048-high normalized copy.
    let png = pdf_page_png(&pdf, 300);
    let out = process_image(&png, &ImageOptions::default()).await.unwrap();
    assert_eq!(out.height, 2048);
    let ocr = out.ocr.expect("OCR result");
    let lower = ocr.text.to_lowercase();
    for word in ["voucher", "campaign", "coupon", "participating", "friday"] {
        assert!(lower.contains(word), "OCR missed {word:?}: {}", ocr.text);
    }
    assert!(ocr.confidence.unwrap() > 50.0);
    assert!(ocr.languages.contains("eng"));
}

#[tokio::test]
async fn chinese_ocr_has_no_spaces_between_han() {
    if !have_all(&["pdftoppm", "tesseract"]) {
        return;
    }
    let ocr = Ocr::default();
    if !ocr.languages_to_use().await.unwrap().contains("chi_sim") {
        if std::env::var("MEZZOFY_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("tesseract-ocr-chi-sim is required");
        }
        eprintln!("SKIPPED: tesseract chi_sim data not installed");
        return;
    }
    let pdf = report_pdf("优惠券活动", &["欢迎光临我们的商店"]);
    let png = pdf_page_png(&pdf, 200);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "zh.png", &png);
    let text = ocr.recognize(&path).await.unwrap();
    assert!(text.text.contains("优惠券活动") || text.text.contains("欢迎光临"), "{}", text.text);
    assert!(!text.text.contains("欢 迎"), "{}", text.text);
}

#[tokio::test]
async fn ocr_uses_only_installed_languages() {
    if !have("tesseract") {
        return;
    }
    let ocr = Ocr { languages: "eng+zzz_nonexistent".into(), ..Ocr::default() };
    assert_eq!(ocr.languages_to_use().await.unwrap(), "eng");
    assert!(ocr.available().await);
    let none = Ocr { languages: "zzz_nonexistent".into(), ..Ocr::default() };
    assert!(matches!(none.languages_to_use().await, Err(InputError::ToolMissing(_))));
    let missing = Ocr { tesseract: "/nonexistent/tesseract".into(), ..Ocr::default() };
    assert!(!missing.available().await);
}

#[tokio::test]
async fn missing_tesseract_is_a_warning_not_a_failure() {
    let img = two_colour();
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
    let opts = ImageOptions {
        ocr: Some(Ocr { tesseract: "/nonexistent/tesseract".into(), ..Ocr::default() }),
        ..ImageOptions::default()
    };
    let out = process_image(&png, &opts).await.unwrap();
    assert!(out.ocr.is_none());
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    let _ = out.normalized.len();
    let _ = GenericImageView::dimensions(&image::load_from_memory(&out.normalized).unwrap());
}
