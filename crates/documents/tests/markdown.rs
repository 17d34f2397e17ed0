//! Markdown export of a report and of a deck, compared with the expected text.

#![allow(clippy::unwrap_used)]

use documents::{Block, Deck, Report, Slide, deck_markdown, render_markdown, text_report};

#[test]
fn a_report_becomes_markdown_with_escaped_tables() {
    let report = Report {
        title: "Sales report\nMarch – 三月".into(),
        subtitle: Some("1–31 March *2026*".into()),
        blocks: vec![
            Block::Heading("Summary".into()),
            Block::Paragraph("Revenue grew.\n- 12% more orders  \n\n".into()),
            Block::KeyValues(vec![("Net *income*".into(), "1,234.50".into()), ("Period".into(), "Q1\n2026".into())]),
            Block::Table {
                columns: vec!["Product | plan".into(), "Amount".into()],
                rows: vec![
                    vec!["Coupon | Pro".into(), "1,000.00".into()],
                    vec!["Two\nlines".into(), "5.00".into(), "extra".into()],
                    vec![r"C:\dir\|x".into()],
                ],
                align_right: vec![false, true],
            },
            Block::Table { columns: vec!["Empty".into()], rows: vec![], align_right: vec![] },
        ],
        footer: "Confidential".into(),
        logo: None,
    };
    let expected = "\
# Sales report March – 三月

*1–31 March \\*2026\\**

## Summary

Revenue grew.
- 12% more orders

- **Net \\*income\\*:** 1,234.50
- **Period:** Q1 2026

| Product \\| plan | Amount |  |
| --- | ---: | --- |
| Coupon \\| Pro | 1,000.00 |  |
| Two<br>lines | 5.00 | extra |
| C:\\dir\\\\\\|x |  |  |

| Empty |
| --- |
| No data |

---

*Confidential*
";
    assert_eq!(render_markdown(&report), expected);
}

#[test]
fn text_reports_round_trip_their_headings_and_paragraphs() {
    let md = render_markdown(&text_report("T", "# A\none\ntwo\n\n## B\n- x"));
    assert!(md.starts_with("# T\n\n## A\n\none\ntwo\n\n## B\n\n- x\n\n---\n\n*Confidential"), "{md}");
}

#[test]
fn a_deck_becomes_markdown() {
    let deck = Deck {
        title: "Mezzofy for Kopi & Co".into(),
        subtitle: Some("Prepared for Kopi & Co".into()),
        company: "Mezzofy".into(),
        slides: vec![
            Slide {
                title: "The challenge".into(),
                bullets: vec!["One".into(), "Two\nlines".into()],
                notes: Some("Ask first.\n\nThen listen.".into()),
                table: None,
            },
            Slide {
                title: "Pricing".into(),
                bullets: vec![],
                notes: None,
                table: Some(vec![vec!["Product".into(), "Price".into()], vec!["A|B".into(), "SGD 1".into()]]),
            },
        ],
    };
    let expected = "\
# Mezzofy for Kopi & Co

*Prepared for Kopi & Co*

Presented by Mezzofy

## 2. The challenge

- One
- Two
  lines

> **Notes:**
> Ask first.
>
> Then listen.

## 3. Pricing

| Product | Price |
| --- | --- |
| A\\|B | SGD 1 |
";
    assert_eq!(deck_markdown(&deck), expected);
}
