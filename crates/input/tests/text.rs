#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::write;
use input::{DocOptions, InputError, detect_document, extract_document};

#[tokio::test]
async fn gbk_text_is_decoded() {
    let original = "会议纪要\n今天我们讨论了第三季度的销售目标和新的优惠券活动。\n参加人员：张伟、李娜。\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(original);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err(), "fixture must not be UTF-8");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "notes.txt", &gbk);
    // files::sniff_file does not take legacy encodings for text; detect_document does.
    let detected = detect_document(&path).await.unwrap();
    assert_eq!(detected.kind, "txt");
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();
    assert_eq!(doc.encoding, Some("GBK"));
    assert_eq!(doc.text, original);
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
}

#[tokio::test]
async fn utf16_bom_text_is_decoded() {
    let original = "Hello 世界\r\nsecond line\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(original.encode_utf16().flat_map(u16::to_le_bytes));
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "u16.txt", &bytes);
    let detected = detect_document(&path).await.unwrap();
    assert_eq!(detected.kind, "txt");
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();
    assert_eq!(doc.encoding, Some("UTF-16LE"));
    assert_eq!(doc.text, "Hello 世界\nsecond line\n");
}

#[tokio::test]
async fn binary_garbage_is_not_text() {
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "noise.txt", &bytes);
    let err = detect_document(&path).await.unwrap_err();
    assert!(matches!(err, InputError::Unsupported { .. }), "{err:?}");
}

#[tokio::test]
async fn txt_is_capped_at_max_chars() {
    let text = "你好 world. ".repeat(1000);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "long.txt", text.as_bytes());
    let detected = detect_document(&path).await.unwrap();
    let opts = DocOptions { max_chars: 25, ..DocOptions::default() };
    let doc = extract_document(&path, &detected, &opts).await.unwrap();
    assert!(doc.truncated);
    assert_eq!(doc.text.chars().count(), 25);
    assert!(doc.text.starts_with("你好 world."));
}

#[tokio::test]
async fn semicolon_csv_with_header() {
    let csv = "Produkt;Preis;Datum\nApfel;1,50;2024-01-02\n\"Birne; grün\";2,25;2024-01-03\nKiwi;0,99;2024-01-04\n";
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "prices.csv", csv.as_bytes());
    let detected = detect_document(&path).await.unwrap();
    assert_eq!(detected.kind, "csv");
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();
    let table = &doc.tables[0];
    assert!(table.has_header);
    assert_eq!(table.rows.len(), 4);
    assert_eq!(table.rows[0], vec!["Produkt", "Preis", "Datum"]);
    assert_eq!(table.rows[1], vec!["Apfel", "1,50", "2024-01-02"]);
    assert_eq!(table.rows[2], vec!["Birne; grün", "2,25", "2024-01-03"]);
    assert!(doc.text.starts_with("Produkt | Preis | Datum\nApfel | 1,50 | 2024-01-02\n"), "{}", doc.text);
}

#[tokio::test]
async fn headerless_numeric_csv() {
    let csv = "1\t2\t3\n4\t5\t6\n";
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "n.csv", csv.as_bytes());
    let detected = detect_document(&path).await.unwrap();
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();
    assert!(!doc.tables[0].has_header);
    assert_eq!(doc.tables[0].rows, vec![vec!["1", "2", "3"], vec!["4", "5", "6"]]);
}

#[tokio::test]
async fn too_large_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "big.txt", &vec![b'a'; 2048]);
    let detected = detect_document(&path).await.unwrap();
    let opts = DocOptions { max_file_bytes: 1024, ..DocOptions::default() };
    let err = extract_document(&path, &detected, &opts).await.unwrap_err();
    assert!(matches!(err, InputError::TooLarge(_)), "{err:?}");
    assert_eq!(err.http_status(), 413);
}

#[tokio::test]
async fn images_are_not_documents() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x.png", &common::png_header_only(2, 2));
    let png = files::Detected::from_kind("png").unwrap();
    let err = extract_document(&path, &png, &DocOptions::default()).await.unwrap_err();
    assert!(matches!(err, InputError::Unsupported { .. }), "{err:?}");
}
