//! The same [`Report`] (and a [`Deck`]) as Markdown: headings, `- **Key:** value` lists, GitHub
//! pipe tables and paragraphs. Paragraph text is written as it is (it may already hold
//! Markdown); titles, headings, keys, values and table cells are kept on one line each, and
//! table cells have `|` escaped so they cannot break the table.

use crate::{Block, Deck, Report};

/// Strips carriage returns and control characters other than tab and newline.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n')).collect()
}

/// Newlines become spaces; surrounding whitespace is trimmed.
fn one_line(s: &str) -> String {
    clean(s).split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Emphasised text: `*` and `_` inside are escaped.
fn emphasis(s: &str) -> String {
    let text = one_line(s).replace('\\', "\\\\").replace('*', "\\*").replace('_', "\\_");
    format!("*{text}*")
}

/// A table cell: `|` escaped (a backslash right before it doubled), line breaks as `<br>`.
fn cell(s: &str) -> String {
    let text = clean(s).trim().split('\n').map(str::trim).collect::<Vec<_>>().join("<br>");
    let mut out = String::with_capacity(text.len());
    let mut backslashes = 0;
    for c in text.chars() {
        if c == '|' {
            // An odd run of backslashes would escape the escaping one.
            out.push_str(&"\\".repeat(backslashes));
            out.push_str("\\|");
            backslashes = 0;
            continue;
        }
        if c == '\\' {
            backslashes += 1;
        } else {
            backslashes = 0;
        }
        out.push(c);
    }
    out
}

fn table(header: &[String], rows: &[Vec<String>], align_right: &[bool]) -> Option<String> {
    let width = rows.iter().map(Vec::len).chain([header.len()]).max().unwrap_or(0);
    if width == 0 {
        return None;
    }
    let row = |cells: &[String]| {
        let cells: Vec<String> = (0..width).map(|i| cells.get(i).map(|c| cell(c)).unwrap_or_default()).collect();
        format!("| {} |", cells.join(" | "))
    };
    let rule: Vec<&str> =
        (0..width).map(|i| if align_right.get(i).copied().unwrap_or(false) { "---:" } else { "---" }).collect();
    let mut lines = vec![row(header), format!("| {} |", rule.join(" | "))];
    if rows.is_empty() {
        lines.push(row(&["No data".to_owned()]));
    }
    lines.extend(rows.iter().map(|r| row(r)));
    Some(lines.join("\n"))
}

fn finish(chunks: Vec<String>) -> String {
    let mut out = chunks.into_iter().filter(|c| !c.trim().is_empty()).collect::<Vec<_>>().join("\n\n");
    out.push('\n');
    out
}

/// Renders `report` as GitHub-flavoured Markdown.
pub fn render_markdown(report: &Report) -> String {
    let mut chunks = vec![format!("# {}", one_line(&report.title))];
    if let Some(sub) = report.subtitle.as_deref().filter(|s| !s.trim().is_empty()) {
        chunks.push(emphasis(sub));
    }
    for block in &report.blocks {
        match block {
            Block::Heading(h) => chunks.push(format!("## {}", one_line(h))),
            Block::Paragraph(p) => {
                chunks.push(clean(p).lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_owned());
            }
            Block::KeyValues(kv) => chunks.push(
                kv.iter()
                    .map(|(k, v)| format!("- **{}:** {}", one_line(k).replace('*', "\\*"), one_line(v)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Block::Table { columns, rows, align_right } => chunks.extend(table(columns, rows, align_right)),
            Block::Subheading(h) => chunks.push(format!("### {}", one_line(h))),
            Block::List { ordered, items } => chunks.push(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let marker = if *ordered { format!("{}.", i + 1) } else { "-".to_owned() };
                        format!("{marker} {}", one_line(item))
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Block::Metrics(m) => chunks.push(
                m.iter()
                    .map(|(k, v)| format!("- **{}:** {}", one_line(k).replace('*', "\\*"), one_line(v)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        }
    }
    if !report.footer.trim().is_empty() {
        chunks.push("---".to_owned());
        chunks.push(emphasis(&report.footer));
    }
    finish(chunks)
}

/// Renders `deck` as Markdown: one `##` section per slide with its bullets, its table (first
/// row as the header) and its speaker notes as a quote.
pub fn deck_markdown(deck: &Deck) -> String {
    let mut chunks = vec![format!("# {}", one_line(&deck.title))];
    if let Some(sub) = deck.subtitle.as_deref().filter(|s| !s.trim().is_empty()) {
        chunks.push(emphasis(sub));
    }
    if !deck.company.trim().is_empty() {
        chunks.push(format!("Presented by {}", one_line(&deck.company)));
    }
    for (i, slide) in deck.slides.iter().enumerate() {
        chunks.push(format!("## {}. {}", i + 2, one_line(&slide.title)));
        if !slide.bullets.is_empty() {
            chunks.push(
                slide
                    .bullets
                    .iter()
                    .map(|b| format!("- {}", clean(b).lines().map(str::trim).collect::<Vec<_>>().join("\n  ")))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        if let Some((header, rows)) = slide.table.as_deref().and_then(<[Vec<String>]>::split_first) {
            chunks.extend(table(header, rows, &[]));
        }
        if let Some(notes) = slide.notes.as_deref().filter(|n| !n.trim().is_empty()) {
            let quoted: Vec<String> = clean(notes.trim())
                .lines()
                .map(|l| if l.trim().is_empty() { ">".to_owned() } else { format!("> {}", l.trim_end()) })
                .collect();
            chunks.push(format!("> **Notes:**\n{}", quoted.join("\n")));
        }
    }
    finish(chunks)
}
