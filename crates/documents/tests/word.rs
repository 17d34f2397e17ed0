//! The Word document: a real DOCX (the upload sniffer agrees) whose XML holds the text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use documents::{Block, Brand, render_docx, text_report};

fn document_xml(bytes: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name("word/document.xml").unwrap().read_to_string(&mut xml).unwrap();
    xml
}

#[test]
fn a_report_becomes_a_docx_with_its_text_and_tables() {
    let mut report = text_report(
        "Loyalty launch – 会员积分",
        "# Why now\nMerchants want repeat visits.\nSecond line.\n\n## Offer\n- 15% off annual plans\n\nA <tag> & \"quotes\" \u{0007}bell",
    );
    report.blocks.push(Block::Table {
        columns: vec!["Product".into(), "Price".into()],
        rows: vec![vec!["Mezzofy Loyalty & Membership".into(), "SGD 499.00".into()]],
        align_right: vec![false, true],
    });
    report.blocks.push(Block::Table { columns: vec!["Empty".into()], rows: vec![], align_right: vec![] });
    let bytes = render_docx(&report, &Brand::mezzofy()).unwrap();
    assert_eq!(files::sniff_bytes(&bytes).unwrap().kind, "docx");
    let xml = document_xml(&bytes);
    for text in [
        "Loyalty launch – 会员积分",
        "Why now",
        "Merchants want repeat visits.",
        "Second line.",
        "Offer",
        "- 15% off annual plans",
        "Mezzofy Loyalty &amp; Membership",
        "SGD 499.00",
        "No data",
        "A &lt;tag&gt; &amp;",
    ] {
        assert!(xml.contains(text), "{text} missing from the document XML");
    }
    // The control character is dropped, not written into the XML.
    assert!(!xml.contains('\u{0007}'));
    assert!(xml.contains("<w:tbl>"), "tables are Word tables");
}

#[test]
fn text_reports_split_headings_and_paragraphs() {
    let r = text_report("T", "# A\none\ntwo\n\nthree\n## B");
    assert_eq!(
        r.blocks,
        vec![
            Block::Heading("A".into()),
            Block::Paragraph("one\ntwo".into()),
            Block::Paragraph("three".into()),
            Block::Heading("B".into())
        ]
    );
}
