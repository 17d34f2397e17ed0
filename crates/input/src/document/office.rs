//! DOCX and PPTX (and the zip plumbing XLSX shares).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::Event;
use zip::ZipArchive;

use super::xml::{attr, local, parse_rels, prefixed_attr, reference, resolve};
use super::{DocOptions, DocumentExtract, Heading, Metadata, Table, TextOut, guess_header, row_line};
use crate::InputError;

pub(crate) type Archive = ZipArchive<BufReader<File>>;

/// Sniffs `path` again (bomb, traversal and entry checks on the central directory, before
/// anything is inflated), makes sure it is `kind`, and opens it.
pub(crate) fn open(path: &Path, kind: &str) -> Result<Archive, InputError> {
    let sniffed = files::sniff_file(path)?;
    if sniffed.kind != kind {
        return Err(InputError::unsupported(format!("expected {kind}, the content is {}", sniffed.kind)));
    }
    let file = File::open(path)?;
    ZipArchive::new(BufReader::new(file)).map_err(|e| InputError::Malformed(format!("invalid zip archive: {e}")))
}

/// The entry `name` as UTF-8 text, reading at most `cap` bytes; `None` when absent. An entry
/// declaring more than `cap`, or inflating past what it declares, is refused.
pub(crate) fn read_entry(archive: &mut Archive, name: &str, cap: u64) -> Result<Option<String>, InputError> {
    let entry = match archive.by_name(name) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(InputError::Malformed(format!("cannot open {name}: {e}"))),
    };
    let declared = entry.size();
    if declared > cap {
        return Err(InputError::TooLarge(format!("{name} expands to {declared} bytes; at most {cap}")));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(declared.min(1 << 20)).unwrap_or(0));
    entry.take(declared + 1).read_to_end(&mut bytes).map_err(|e| inflate_error(name, e))?;
    if bytes.len() as u64 > declared {
        return Err(InputError::Unsafe(format!("{name} inflates past its declared size of {declared} bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|_| InputError::Malformed(format!("{name} is not UTF-8 XML")))?;
    Ok(Some(text))
}

/// Checks the declared size of every entry against `cap` (central directory only), for
/// readers such as calamine that read whole entries. An entry inflating past its declared
/// size is stopped by the zip reader itself ("larger than its declared uncompressed size").
pub(crate) fn check_declared_sizes(archive: &mut Archive, cap: u64) -> Result<(), InputError> {
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| InputError::Malformed(format!("invalid zip entry: {e}")))?;
        if entry.size() > cap {
            let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
            return Err(InputError::TooLarge(format!("{name} expands to {} bytes; at most {cap}", entry.size())));
        }
    }
    Ok(())
}

/// An error while inflating `name`.
fn inflate_error(name: &str, e: std::io::Error) -> InputError {
    let msg = e.to_string();
    if msg.contains("larger than its declared") {
        InputError::Unsafe(format!("{name} inflates past its declared size"))
    } else {
        InputError::Malformed(format!("cannot inflate {name}: {msg}"))
    }
}

/// `docProps/core.xml` and `docProps/app.xml`.
pub(crate) fn core_properties(archive: &mut Archive, cap: u64) -> Result<Metadata, InputError> {
    let mut meta = Metadata::default();
    if let Some(xml) = read_entry(archive, "docProps/core.xml", cap)? {
        for (name, value) in simple_elements(&xml) {
            let slot = match name.as_str() {
                "title" => &mut meta.title,
                "creator" => &mut meta.author,
                "subject" => &mut meta.subject,
                "keywords" => &mut meta.keywords,
                "lastModifiedBy" => &mut meta.last_modified_by,
                "created" => &mut meta.created,
                "modified" => &mut meta.modified,
                _ => continue,
            };
            *slot = Some(value);
        }
    }
    if let Some(xml) = read_entry(archive, "docProps/app.xml", cap)? {
        meta.creator = simple_elements(&xml).into_iter().find(|(n, _)| n == "Application").map(|(_, v)| v);
    }
    Ok(meta)
}

/// (local name, trimmed text) of every element holding non-empty text directly.
fn simple_elements(xml: &str) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => current = Some((local(&e).to_owned(), String::new())),
            Ok(Event::Text(t)) => {
                if let Some((_, v)) = current.as_mut() {
                    v.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let (Some((_, v)), Some(s)) = (current.as_mut(), reference(&r)) {
                    v.push_str(&s);
                }
            }
            Ok(Event::End(_)) => {
                if let Some((n, v)) = current.take() {
                    let v = v.trim();
                    if !v.is_empty() {
                        out.push((n, v.to_owned()));
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

fn xml_error(part: &str, e: quick_xml::Error) -> InputError {
    InputError::Malformed(format!("{part} is not well-formed XML: {e}"))
}

/// Tables being read (nested ones inside cells of outer ones).
#[derive(Default)]
struct TableBuild {
    rows: Vec<Vec<String>>,
    row: Vec<String>,
    cell: String,
}

/// Finished tables and the cell budget they share.
struct Tables {
    done: Vec<Table>,
    cells: usize,
    max_cells: usize,
    max_rows: usize,
    max_cols: usize,
    truncated: bool,
}

impl Tables {
    fn new(opts: &DocOptions) -> Self {
        Self {
            done: Vec::new(),
            cells: 0,
            max_cells: opts.max_table_cells,
            max_rows: opts.max_table_rows,
            max_cols: opts.max_table_cols,
            truncated: false,
        }
    }

    /// Keeps `rows` as a table named `name` (within the limits) and returns the rows for text.
    fn add(&mut self, name: String, mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
        rows.retain(|r| r.iter().any(|c| !c.trim().is_empty()));
        let mut kept = Vec::new();
        for mut row in rows.iter().cloned() {
            if kept.len() >= self.max_rows || self.cells + row.len() > self.max_cells {
                self.truncated = true;
                break;
            }
            if row.len() > self.max_cols {
                row.truncate(self.max_cols);
                self.truncated = true;
            }
            self.cells += row.len();
            kept.push(row);
        }
        if !kept.is_empty() {
            let has_header = guess_header(&kept);
            self.done.push(Table { name, rows: kept, has_header });
        }
        rows
    }
}

// ---------------------------------------------------------------- DOCX

#[derive(Default)]
struct Para {
    style: Option<String>,
    outline: Option<u8>,
    text: String,
}

/// styleId → heading level, from `word/styles.xml`.
fn heading_styles(xml: &str) -> HashMap<String, u8> {
    let mut reader = Reader::from_str(xml);
    let mut map = HashMap::new();
    let mut current: Option<(String, Option<String>, Option<u8>)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if local(&e) == "style" => current = attr(&e, "styleId").map(|id| (id, None, None)),
            Ok(Event::Start(e) | Event::Empty(e)) => match (local(&e), current.as_mut()) {
                ("name", Some(c)) => c.1 = attr(&e, "val"),
                ("outlineLvl", Some(c)) => c.2 = attr(&e, "val").and_then(|v| v.parse().ok()),
                _ => {}
            },
            Ok(Event::End(e)) if local_end(e.name().into_inner()) == "style" => {
                if let Some((id, name, outline)) = current.take() {
                    let level = style_level(&id)
                        .or_else(|| name.as_deref().and_then(style_level))
                        .or_else(|| outline.filter(|o| *o < 9).map(|o| o + 1));
                    if let Some(l) = level {
                        map.insert(id, l);
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    map
}

fn local_end(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// `Title` → 0, `Heading 3` / `heading3` → 3.
fn style_level(name: &str) -> Option<u8> {
    let n: String = name.chars().filter(|c| !matches!(c, ' ' | '-' | '_')).collect::<String>().to_lowercase();
    if n == "title" {
        return Some(0);
    }
    n.strip_prefix("heading").and_then(|d| d.parse::<u8>().ok()).filter(|l| (1..=9).contains(l))
}

pub(crate) fn docx(path: &Path, opts: &DocOptions) -> Result<DocumentExtract, InputError> {
    let mut archive = open(path, "docx")?;
    let cap = opts.max_entry_bytes;
    let metadata = core_properties(&mut archive, cap)?;
    let styles = match read_entry(&mut archive, "word/styles.xml", cap)? {
        Some(xml) => heading_styles(&xml),
        None => HashMap::new(),
    };
    let xml = read_entry(&mut archive, "word/document.xml", cap)?
        .ok_or_else(|| InputError::Malformed("word/document.xml is missing".into()))?;

    let mut out = TextOut::new(opts.max_chars);
    let mut headings = Vec::new();
    let mut tables = Tables::new(opts);
    let mut paras: Vec<Para> = Vec::new();
    let mut building: Vec<TableBuild> = Vec::new();
    let (mut in_t, mut in_ppr, mut skip) = (false, false, 0usize);

    let mut reader = Reader::from_str(&xml);
    loop {
        let ev = reader.read_event().map_err(|e| xml_error("word/document.xml", e))?;
        if skip > 0 {
            match ev {
                Event::Start(_) => skip += 1,
                Event::End(_) => skip -= 1,
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Start(e) => match local(&e) {
                // mc:AlternateContent repeats the same content for old readers.
                "Fallback" => skip = 1,
                "p" => paras.push(Para::default()),
                "pPr" => in_ppr = true,
                "t" => in_t = true,
                "tbl" => building.push(TableBuild::default()),
                "tr" => {
                    if let Some(t) = building.last_mut() {
                        t.row.clear();
                    }
                }
                "tc" => {
                    if let Some(t) = building.last_mut() {
                        t.cell.clear();
                    }
                }
                "pStyle" | "outlineLvl" | "tab" | "br" | "cr" => docx_empty(&e, &mut paras, in_ppr),
                _ => {}
            },
            Event::Empty(e) => docx_empty(&e, &mut paras, in_ppr),
            Event::Text(t) if in_t => {
                if let Some(p) = paras.last_mut() {
                    p.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) if in_t => {
                if let (Some(p), Some(s)) = (paras.last_mut(), reference(&r)) {
                    p.text.push_str(&s);
                }
            }
            Event::End(e) => match local_end(e.name().into_inner()) {
                "pPr" => in_ppr = false,
                "t" => in_t = false,
                "p" => {
                    let Some(p) = paras.pop() else { continue };
                    if let Some(t) = building.last_mut() {
                        if !t.cell.is_empty() {
                            t.cell.push('\n');
                        }
                        t.cell.push_str(p.text.trim());
                        continue;
                    }
                    let text = p.text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    let level = p
                        .style
                        .as_ref()
                        .and_then(|s| styles.get(s).copied().or_else(|| style_level(s)))
                        .or_else(|| p.outline.filter(|o| *o < 9).map(|o| o + 1));
                    match level {
                        Some(level) => {
                            headings.push(Heading { level, text: text.to_owned() });
                            out.blank_line();
                            out.line(&format!("{} {text}", "#".repeat(usize::from(level.max(1)))));
                            out.push("\n");
                        }
                        None => out.line(text),
                    }
                }
                "tc" => {
                    if let Some(t) = building.last_mut() {
                        let cell = std::mem::take(&mut t.cell).trim().to_owned();
                        t.row.push(cell);
                    }
                }
                "tr" => {
                    if let Some(t) = building.last_mut() {
                        let row = std::mem::take(&mut t.row);
                        t.rows.push(row);
                    }
                }
                "tbl" => {
                    let Some(done) = building.pop() else { continue };
                    if let Some(outer) = building.last_mut() {
                        // A table nested in a cell: its rows become text of that cell.
                        for row in done.rows {
                            if !outer.cell.is_empty() {
                                outer.cell.push('\n');
                            }
                            outer.cell.push_str(&row_line(&row));
                        }
                        continue;
                    }
                    let name = format!("Table {}", tables.done.len() + 1);
                    let rows = tables.add(name, done.rows);
                    out.blank_line();
                    for row in &rows {
                        out.line(&row_line(row));
                    }
                    out.push("\n");
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        if out.full() {
            break;
        }
    }
    Ok(DocumentExtract {
        text: out.text.trim_end().to_owned() + "\n",
        truncated: out.truncated || tables.truncated,
        metadata,
        headings,
        tables: tables.done,
        ..Default::default()
    })
}

fn docx_empty(e: &quick_xml::events::BytesStart<'_>, paras: &mut [Para], in_ppr: bool) {
    let Some(p) = paras.last_mut() else { return };
    match local(e) {
        "pStyle" if in_ppr => p.style = attr(e, "val"),
        "outlineLvl" if in_ppr => p.outline = attr(e, "val").and_then(|v| v.parse().ok()),
        "tab" if !in_ppr => p.text.push('\t'),
        "br" | "cr" if !in_ppr => p.text.push('\n'),
        "noBreakHyphen" => p.text.push('-'),
        _ => {}
    }
}

// ---------------------------------------------------------------- PPTX

/// The text of one slide (or notes page).
#[derive(Default)]
struct SlideText {
    title: Vec<String>,
    paragraphs: Vec<String>,
    tables: Vec<Vec<Vec<String>>>,
}

/// Walks a slide or notes part. For notes only the body placeholder counts (not the slide
/// image, number or header/footer).
fn slide_text(xml: &str, part: &str, notes: bool) -> Result<SlideText, InputError> {
    let mut reader = Reader::from_str(xml);
    let mut out = SlideText::default();
    // Placeholder type of each open shape (`None`: not a placeholder).
    let mut shapes: Vec<Option<String>> = Vec::new();
    let mut para: Option<String> = None;
    let mut building: Vec<TableBuild> = Vec::new();
    let (mut in_t, mut skip) = (false, 0usize);
    loop {
        let ev = reader.read_event().map_err(|e| xml_error(part, e))?;
        if skip > 0 {
            match ev {
                Event::Start(_) => skip += 1,
                Event::End(_) => skip -= 1,
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Start(e) => match local(&e) {
                "Fallback" => skip = 1,
                "sp" => shapes.push(None),
                "p" => para = Some(String::new()),
                "t" => in_t = true,
                "tbl" => building.push(TableBuild::default()),
                "tr" => {
                    if let Some(t) = building.last_mut() {
                        t.row.clear();
                    }
                }
                "tc" => {
                    if let Some(t) = building.last_mut() {
                        t.cell.clear();
                    }
                }
                "ph" => {
                    if let Some(s) = shapes.last_mut() {
                        *s = Some(attr(&e, "type").unwrap_or_else(|| "body".into()));
                    }
                }
                _ => {}
            },
            Event::Empty(e) => match local(&e) {
                "ph" => {
                    if let Some(s) = shapes.last_mut() {
                        *s = Some(attr(&e, "type").unwrap_or_else(|| "body".into()));
                    }
                }
                "br" => {
                    if let Some(p) = para.as_mut() {
                        p.push('\n');
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_t => {
                if let Some(p) = para.as_mut() {
                    p.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) if in_t => {
                if let (Some(p), Some(s)) = (para.as_mut(), reference(&r)) {
                    p.push_str(&s);
                }
            }
            Event::End(e) => match local_end(e.name().into_inner()) {
                "t" => in_t = false,
                "sp" => {
                    shapes.pop();
                }
                "p" => {
                    let Some(p) = para.take() else { continue };
                    let p = p.trim().to_owned();
                    if p.is_empty() {
                        continue;
                    }
                    let ph = shapes.last().cloned().flatten();
                    if let Some(t) = building.last_mut() {
                        if !t.cell.is_empty() {
                            t.cell.push('\n');
                        }
                        t.cell.push_str(&p);
                        continue;
                    }
                    match ph.as_deref() {
                        Some("title" | "ctrTitle") if !notes => out.title.push(p),
                        Some("sldNum" | "dt" | "sldImg" | "hdr" | "ftr") => {}
                        Some("body") if notes => out.paragraphs.push(p),
                        _ if notes => {}
                        _ => out.paragraphs.push(p),
                    }
                }
                "tc" => {
                    if let Some(t) = building.last_mut() {
                        let cell = std::mem::take(&mut t.cell);
                        t.row.push(cell);
                    }
                }
                "tr" => {
                    if let Some(t) = building.last_mut() {
                        let row = std::mem::take(&mut t.row);
                        t.rows.push(row);
                    }
                }
                "tbl" => {
                    if let Some(t) = building.pop()
                        && !notes
                    {
                        out.tables.push(t.rows);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Slide part names in presentation order.
fn slide_order(archive: &mut Archive, cap: u64) -> Result<Vec<String>, InputError> {
    let presentation = read_entry(archive, "ppt/presentation.xml", cap)?;
    let rels = read_entry(archive, "ppt/_rels/presentation.xml.rels", cap)?.map(|x| parse_rels(&x)).unwrap_or_default();
    let mut order = Vec::new();
    if let Some(xml) = presentation {
        let mut reader = Reader::from_str(&xml);
        loop {
            match reader.read_event() {
                Ok(Event::Start(e) | Event::Empty(e)) if local(&e) == "sldId" => {
                    if let Some(rel) = prefixed_attr(&e, "id").and_then(|id| rels.get(&id)).filter(|r| !r.external) {
                        order.push(resolve("ppt/", &rel.target));
                    }
                }
                Ok(Event::Eof) => break,
                Err(e) => return Err(xml_error("ppt/presentation.xml", e)),
                _ => {}
            }
        }
    }
    if order.is_empty() {
        // No usable list: slides by number.
        let mut numbered: Vec<(u32, String)> = archive
            .file_names()
            .filter_map(|n| n.ok())
            .filter_map(|n| {
                let num = n.strip_prefix("ppt/slides/slide")?.strip_suffix(".xml")?.parse().ok()?;
                Some((num, n.into_owned()))
            })
            .collect();
        numbered.sort();
        order = numbered.into_iter().map(|(_, n)| n).collect();
    }
    Ok(order)
}

/// The notes part of the slide `slide` (e.g. `ppt/slides/slide1.xml`), if any.
fn notes_part(archive: &mut Archive, slide: &str, cap: u64) -> Result<Option<String>, InputError> {
    let (dir, file) = slide.rsplit_once('/').unwrap_or(("", slide));
    let rels_name = format!("{dir}/_rels/{file}.rels");
    let Some(xml) = read_entry(archive, &rels_name, cap)? else { return Ok(None) };
    Ok(parse_rels(&xml)
        .into_values()
        .find(|r| !r.external && r.kind.ends_with("/notesSlide"))
        .map(|r| resolve(&format!("{dir}/"), &r.target)))
}

pub(crate) fn pptx(path: &Path, opts: &DocOptions) -> Result<DocumentExtract, InputError> {
    let mut archive = open(path, "pptx")?;
    let cap = opts.max_entry_bytes;
    let metadata = core_properties(&mut archive, cap)?;
    let slides = slide_order(&mut archive, cap)?;

    let mut out = TextOut::new(opts.max_chars);
    let mut headings = Vec::new();
    let mut tables = Tables::new(opts);
    let mut warnings = Vec::new();
    for (i, slide) in slides.iter().enumerate() {
        if out.full() {
            out.truncated = true;
            break;
        }
        let n = i + 1;
        let Some(xml) = read_entry(&mut archive, slide, cap)? else {
            warnings.push(format!("slide {n} ({slide}) is missing"));
            continue;
        };
        let content = slide_text(&xml, slide, false)?;
        let title = content.title.join(" ").replace('\n', " ");
        out.blank_line();
        if title.is_empty() {
            out.line(&format!("Slide {n}:"));
        } else {
            out.line(&format!("Slide {n}: {title}"));
            headings.push(Heading { level: 1, text: title });
        }
        for p in &content.paragraphs {
            out.line(p);
        }
        for (k, rows) in content.tables.into_iter().enumerate() {
            let rows = tables.add(format!("Slide {n} table {}", k + 1), rows);
            for row in &rows {
                out.line(&row_line(row));
            }
        }
        if let Some(notes) = notes_part(&mut archive, slide, cap)?
            && let Some(xml) = read_entry(&mut archive, &notes, cap)?
        {
            let notes_text = slide_text(&xml, &notes, true)?;
            if !notes_text.paragraphs.is_empty() {
                out.line("Notes:");
                for p in &notes_text.paragraphs {
                    out.line(p);
                }
            }
        }
    }
    Ok(DocumentExtract {
        text: out.text.trim_end().to_owned() + "\n",
        slides: Some(u32::try_from(slides.len()).unwrap_or(u32::MAX)),
        truncated: out.truncated || tables.truncated,
        metadata,
        headings,
        tables: tables.done,
        warnings,
        ..Default::default()
    })
}
