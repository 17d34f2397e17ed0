#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use input::{DocOptions, InputError, detect_document, extract_document};

#[tokio::test]
async fn docx_headings_paragraphs_tables_metadata() {
    let body = [
        para(Some("Title"), "Quarterly Review"),
        para(Some("Heading1"), "Revenue"),
        para(None, "Sales grew 12% in Q3 &amp; margins held."),
        // A localized style id whose name says "heading 2".
        para(Some("berschrift2"), "By region"),
        table(&[&["Region", "Sales"], &["Asia", "1,200"], &["Europe", "900"]]),
        // Alternate content: the fallback repeats the text and must not appear twice.
        r#"<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:t>Boxed note</w:t></mc:Choice><mc:Fallback><w:t>Boxed note</w:t></mc:Fallback></mc:AlternateContent></w:r></w:p>"#.to_owned(),
        para(None, "Closing words&#x4E2D;"),
    ]
    .concat();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "upload.bin", &docx(&body));
    let detected = detect_document(&path).await.unwrap();
    assert_eq!(detected.kind, "docx");
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();

    assert_eq!(doc.kind, "docx");
    let levels: Vec<(u8, &str)> = doc.headings.iter().map(|h| (h.level, h.text.as_str())).collect();
    assert_eq!(levels, vec![(0, "Quarterly Review"), (1, "Revenue"), (2, "By region")]);
    assert!(doc.text.contains("# Revenue\n"), "{}", doc.text);
    assert!(doc.text.contains("## By region\n"), "{}", doc.text);
    assert!(doc.text.contains("Sales grew 12% in Q3 & margins held."), "{}", doc.text);
    assert!(doc.text.contains("Asia | 1,200"), "{}", doc.text);
    assert!(doc.text.contains("Closing words中"), "{}", doc.text);
    assert_eq!(doc.text.matches("Boxed note").count(), 1, "{}", doc.text);
    assert_eq!(doc.tables.len(), 1);
    assert_eq!(doc.tables[0].rows, vec![vec!["Region", "Sales"], vec!["Asia", "1,200"], vec!["Europe", "900"]]);
    assert!(doc.tables[0].has_header);
    assert_eq!(doc.metadata.title.as_deref(), Some("Quarterly & Annual"));
    assert_eq!(doc.metadata.author.as_deref(), Some("Alice Tan"));
    assert_eq!(doc.metadata.created.as_deref(), Some("2024-02-03T04:05:06Z"));
    // Paragraph order is kept.
    let rev = doc.text.find("Revenue").unwrap();
    let close = doc.text.find("Closing").unwrap();
    assert!(rev < close);
    assert!(!doc.truncated);
}

#[tokio::test]
async fn docx_from_documents_crate() {
    use documents::{Block, Brand, Report, render_docx};
    let report = Report {
        title: "Board Pack".into(),
        subtitle: None,
        blocks: vec![
            Block::Heading("Highlights".into()),
            Block::Paragraph("Merchants onboarded: 42".into()),
            Block::Table {
                columns: vec!["Month".into(), "Count".into()],
                rows: vec![vec!["Jan".into(), "7".into()]],
                align_right: vec![],
            },
        ],
        footer: String::new(),
        logo: None,
    };
    let bytes = render_docx(&report, &Brand::mezzofy()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.docx", &bytes);
    let detected = files::sniff_file(&path).unwrap();
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();
    assert!(doc.text.contains("Merchants onboarded: 42"), "{}", doc.text);
    assert!(doc.text.contains("Highlights"), "{}", doc.text);
    assert!(
        doc.tables.iter().any(|t| t.rows.iter().any(|r| r == &vec!["Jan".to_owned(), "7".to_owned()])),
        "{:?}",
        doc.tables
    );
}

#[tokio::test]
async fn docx_zip_bomb_is_refused_before_inflating() {
    // 60 MiB of spaces compresses ~1000:1.
    let filler = vec![b' '; 60 * 1024 * 1024];
    let doc = r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#.to_owned();
    let mut document = doc.into_bytes();
    document.extend_from_slice(&filler);
    document.extend_from_slice(b"</w:body></w:document>");
    let bytes = zip_bytes(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", &document)]);
    assert!(bytes.len() < 1024 * 1024, "the bomb should be small: {}", bytes.len());
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bomb.docx", &bytes);
    // Even told it is a DOCX, the extractor re-checks the container.
    let docx_kind = files::Detected::from_kind("docx").unwrap();
    let err = extract_document(&path, &docx_kind, &DocOptions::default()).await.unwrap_err();
    assert!(matches!(err, InputError::Unsafe(_)), "{err:?}");
    assert_eq!(err.http_status(), 422);
}

#[tokio::test]
async fn docx_entry_over_the_entry_cap_is_refused() {
    let mut body = String::new();
    for i in 0..2000 {
        body.push_str(&para(None, &format!("Paragraph number {i} with some words")));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "big.docx", &docx(&body));
    let detected = files::sniff_file(&path).unwrap();
    let opts = DocOptions { max_entry_bytes: 10_000, ..DocOptions::default() };
    let err = extract_document(&path, &detected, &opts).await.unwrap_err();
    assert!(matches!(err, InputError::TooLarge(_)), "{err:?}");
}

#[tokio::test]
async fn docx_text_is_capped_and_flagged() {
    let mut body = String::new();
    for i in 0..500 {
        body.push_str(&para(None, &format!("Line {i}: the quick brown fox jumps over the lazy dog")));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "long.docx", &docx(&body));
    let detected = files::sniff_file(&path).unwrap();
    let opts = DocOptions { max_chars: 1000, ..DocOptions::default() };
    let doc = extract_document(&path, &detected, &opts).await.unwrap();
    assert!(doc.truncated);
    assert_eq!(doc.text.chars().count(), 1000);
    assert!(doc.text.starts_with("Line 0:"));
}

#[tokio::test]
async fn pptx_slides_in_presentation_order_with_notes() {
    let slide_a = slide_xml(
        &[shape(Some("title"), &["Market Size"]), shape(None, &["SEA vouchers: $2B", "Growing 20% a year"])].concat(),
    );
    let slide_b = slide_xml(
        &[
            shape(Some("ctrTitle"), &["Mezzofy Pitch"]),
            shape(Some("subTitle"), &["Coupons &amp; loyalty"]),
            shape(Some("sldNum"), &["99"]),
        ]
        .concat(),
    );
    let notes_b = notes_xml(
        &[
            shape(Some("sldImg"), &[]),
            shape(Some("body"), &["Open with the customer story."]),
            shape(Some("sldNum"), &["1"]),
        ]
        .concat(),
    );
    // File slide2 is shown first.
    let bytes = pptx(&[slide_a, slide_b], &[None, Some(notes_b)], &[2, 1]);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "deck.pptx", &bytes);
    let detected = files::sniff_file(&path).unwrap();
    assert_eq!(detected.kind, "pptx");
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();

    assert_eq!(doc.slides, Some(2));
    let expected = "Slide 1: Mezzofy Pitch\nCoupons & loyalty\nNotes:\nOpen with the customer story.\n\nSlide 2: Market Size\nSEA vouchers: $2B\nGrowing 20% a year\n";
    assert_eq!(doc.text, expected);
    assert!(!doc.text.contains("99"), "slide number placeholder leaked");
    let titles: Vec<&str> = doc.headings.iter().map(|h| h.text.as_str()).collect();
    assert_eq!(titles, vec!["Mezzofy Pitch", "Market Size"]);
}

#[tokio::test]
async fn pptx_from_documents_crate() {
    use documents::{Brand, Deck, Slide, render_pptx};
    let deck = Deck {
        title: "Loyalty Deck".into(),
        slides: vec![
            Slide {
                title: "Why now".into(),
                bullets: vec!["Merchants want repeat visits".into()],
                notes: Some("Mention the pilot".into()),
                ..Default::default()
            },
            Slide {
                title: "Pricing".into(),
                bullets: vec!["From $99 a month".into()],
                notes: None,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let bytes = render_pptx(&deck, &Brand::mezzofy()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "d.pptx", &bytes);
    let detected = files::sniff_file(&path).unwrap();
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();
    let why = doc.text.find("Why now").expect(&doc.text);
    let pricing = doc.text.find("Pricing").expect(&doc.text);
    assert!(why < pricing, "{}", doc.text);
    assert!(doc.text.contains("Merchants want repeat visits"), "{}", doc.text);
    assert!(doc.text.contains("$99"), "{}", doc.text);
    assert!(doc.text.contains("Notes:\nMention the pilot"), "{}", doc.text);
}

#[tokio::test]
async fn xlsx_every_sheet_with_iso_dates() {
    let sales = r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>
<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" s="1"><v>45306</v></c><c r="C2"><v>1234.5</v></c></row>
<row r="3"><c r="A3" t="inlineStr"><is><t>Pear</t></is></c><c r="B3" s="2"><v>45306.5</v></c><c r="C3"><v>7</v></c></row>"#
        .to_owned();
    let notes = r#"<row r="2"><c r="B2" t="inlineStr"><is><t>second sheet</t></is></c></row>"#.to_owned();
    let bytes = xlsx(&[("Sales", sales), ("Notes", notes)], &["Item", "Date", "Amount", "Apple"]);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "book.xlsx", &bytes);
    let detected = files::sniff_file(&path).unwrap();
    assert_eq!(detected.kind, "xlsx");
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();

    assert_eq!(doc.sheets, vec!["Sales", "Notes"]);
    assert_eq!(doc.tables.len(), 2);
    assert_eq!(
        doc.tables[0].rows,
        vec![
            vec!["Item", "Date", "Amount"],
            vec!["Apple", "2024-01-15", "1234.5"],
            vec!["Pear", "2024-01-15T12:00:00", "7"],
        ]
    );
    assert!(doc.tables[0].has_header);
    assert_eq!(doc.tables[1].rows, vec![vec!["second sheet"]]);
    assert!(!doc.text.contains("45306"), "serial date leaked: {}", doc.text);
    assert!(doc.text.contains("Sheet: Sales\nItem | Date | Amount\nApple | 2024-01-15 | 1234.5"), "{}", doc.text);
    assert!(doc.text.contains("Sheet: Notes\nsecond sheet"), "{}", doc.text);
}

#[tokio::test]
async fn xlsx_far_away_cell_does_not_allocate_a_huge_grid() {
    // A1 and XFD1048576: a dense range would be 17 billion cells.
    let data = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>top</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far</t></is></c></row>"#.to_owned();
    let bytes = xlsx(&[("S", data)], &[]);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "far.xlsx", &bytes);
    let detected = files::sniff_file(&path).unwrap();
    let doc = extract_document(&path, &detected, &DocOptions::default()).await.unwrap();
    assert!(doc.text.contains("top"));
    assert!(doc.truncated, "a column past the cap must set truncated");
}

#[tokio::test]
async fn office_kind_mismatch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x.docx", &docx(&para(None, "hi")));
    let xlsx_kind = files::Detected::from_kind("xlsx").unwrap();
    let err = extract_document(&path, &xlsx_kind, &DocOptions::default()).await.unwrap_err();
    assert!(matches!(err, InputError::Unsupported { .. }), "{err:?}");
}

#[tokio::test]
async fn entry_lying_about_its_size_is_refused() {
    // 8 MiB of text whose headers claim 100 bytes: the sniffer sees nothing wrong, the
    // reader must stop at the declared size.
    let mut document =
        b"<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>".to_vec();
    document.extend(std::iter::repeat_n(b'x', 8 * 1024 * 1024));
    let mut bytes = zip_bytes(&[("word/document.xml", &document), ("[Content_Types].xml", b"<Types/>")]);
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    bytes[22..26].copy_from_slice(&100u32.to_le_bytes());
    let cd = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    bytes[cd + 24..cd + 28].copy_from_slice(&100u32.to_le_bytes());

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "liar.docx", &bytes);
    let detected = files::sniff_file(&path).unwrap();
    assert_eq!(detected.kind, "docx");
    let err = extract_document(&path, &detected, &DocOptions::default()).await.unwrap_err();
    assert!(matches!(err, InputError::Unsafe(_) | InputError::Malformed(_)), "{err:?}");

    // The same lie in a workbook, read by calamine.
    let mut sheet = b"<worksheet><sheetData>".to_vec();
    sheet.extend(std::iter::repeat_n(b' ', 8 * 1024 * 1024));
    let mut book = zip_bytes(&[("xl/workbook.xml", &sheet), ("[Content_Types].xml", b"<Types/>")]);
    book[22..26].copy_from_slice(&100u32.to_le_bytes());
    let cd = book.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    book[cd + 24..cd + 28].copy_from_slice(&100u32.to_le_bytes());
    let path = write(dir.path(), "liar.xlsx", &book);
    let detected = files::sniff_file(&path).unwrap();
    assert_eq!(detected.kind, "xlsx");
    let err = extract_document(&path, &detected, &DocOptions::default()).await.unwrap_err();
    assert!(matches!(err, InputError::Unsafe(_) | InputError::Malformed(_)), "{err:?}");
}
