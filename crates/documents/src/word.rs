//! The same [`Report`] as a Word document (DOCX, via `docx-rs`): title, subtitle, headings in
//! the brand colour, paragraphs, key/value lists and tables with a bold header row.

use docx_rs::{Docx, Paragraph, Run, Table, TableCell, TableRow};

use crate::{Block, Brand, DocumentError, Report};

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("{r:02X}{g:02X}{b:02X}")
}

/// Word refuses control characters other than tab, newline and carriage return.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')).collect()
}

fn text(s: &str, size: usize, bold: bool, color: &str) -> Paragraph {
    let mut p = Paragraph::new();
    for (i, line) in clean(s).split('\n').enumerate() {
        let mut run = Run::new().size(size).color(color);
        if bold {
            run = run.bold();
        }
        if i > 0 {
            run = run.add_break(docx_rs::BreakType::TextWrapping);
        }
        p = p.add_run(run.add_text(line));
    }
    p
}

fn cell(s: &str, bold: bool, color: &str) -> TableCell {
    TableCell::new().add_paragraph(text(s, 20, bold, color))
}

fn table(header: Option<&[String]>, rows: &[Vec<String>], brand: &Brand) -> Table {
    let body = hex(brand.text);
    let mut out = Vec::new();
    if let Some(h) = header {
        out.push(TableRow::new(h.iter().map(|c| cell(c, true, &hex(brand.primary))).collect()));
    }
    for r in rows {
        out.push(TableRow::new(r.iter().map(|c| cell(c, false, &body)).collect()));
    }
    Table::new(out)
}

/// Renders `report` as a DOCX file.
pub fn render_docx(report: &Report, brand: &Brand) -> Result<Vec<u8>, DocumentError> {
    let primary = hex(brand.primary);
    let body = hex(brand.text);
    let muted = hex(brand.muted);
    let mut doc = Docx::new().add_paragraph(text(&brand.company, 20, true, &primary));
    doc = doc.add_paragraph(text(&report.title, 40, true, &body));
    if let Some(s) = &report.subtitle {
        doc = doc.add_paragraph(text(s, 22, false, &muted));
    }
    for block in &report.blocks {
        doc = match block {
            Block::Heading(h) => doc.add_paragraph(text(h, 28, true, &primary)),
            Block::Paragraph(p) => doc.add_paragraph(text(p, 22, false, &body)),
            Block::Subheading(h) => doc.add_paragraph(text(h, 24, true, &body)),
            Block::List { ordered, items } => {
                for (i, item) in items.iter().enumerate() {
                    let marker = if *ordered { format!("{}.", i + 1) } else { "\u{2022}".to_owned() };
                    doc = doc.add_paragraph(text(&format!("{marker} {item}"), 22, false, &body));
                }
                doc
            }
            Block::KeyValues(kv) | Block::Metrics(kv) => {
                let rows: Vec<Vec<String>> = kv.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
                doc.add_table(table(None, &rows, brand))
            }
            Block::Table { columns, rows, .. } if rows.is_empty() => {
                doc.add_table(table(Some(columns), &[vec!["No data".to_string()]], brand))
            }
            Block::Table { columns, rows, .. } => doc.add_table(table(Some(columns), rows, brand)),
        };
    }
    doc = doc.add_paragraph(text(&report.footer, 16, false, &muted));
    let mut bytes = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut bytes).map_err(|e| DocumentError::Docx(e.to_string()))?;
    Ok(bytes.into_inner())
}

/// A report from plain text: `# ` and `## ` lines are headings, blank lines separate
/// paragraphs, `- ` lines stay as they are.
pub fn text_report(title: &str, content: &str) -> Report {
    let mut blocks = Vec::new();
    let mut para = String::new();
    let flush = |para: &mut String, blocks: &mut Vec<Block>| {
        if !para.trim().is_empty() {
            blocks.push(Block::Paragraph(para.trim().to_string()));
        }
        para.clear();
    };
    for line in content.lines() {
        if let Some(h) = line.strip_prefix("## ").or_else(|| line.strip_prefix("# ")) {
            flush(&mut para, &mut blocks);
            blocks.push(Block::Heading(h.trim().to_string()));
        } else if line.trim().is_empty() {
            flush(&mut para, &mut blocks);
        } else {
            if !para.is_empty() {
                para.push('\n');
            }
            para.push_str(line.trim_end());
        }
    }
    flush(&mut para, &mut blocks);
    Report { title: title.to_string(), subtitle: None, blocks, footer: crate::DEFAULT_FOOTER.to_string(), logo: None }
}
