//! XLSX through calamine, streaming cells (no dense range that a far-away cell could blow up).

use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};

use super::office::{check_declared_sizes, core_properties, open};
use super::{DocOptions, DocumentExtract, TextOut, guess_header, row_line};
use crate::InputError;
use crate::document::Table;

pub(crate) fn extract(path: &Path, opts: &DocOptions) -> Result<DocumentExtract, InputError> {
    let mut archive = open(path, "xlsx")?;
    let metadata = core_properties(&mut archive, opts.max_entry_bytes)?;
    // calamine reads whole entries: none may declare more than the entry cap (and the zip
    // reader refuses to inflate past what an entry declares).
    check_declared_sizes(&mut archive, opts.max_entry_bytes)?;
    drop(archive);

    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut workbook: Xlsx<_> =
        Xlsx::new(file).map_err(|e| InputError::Malformed(format!("cannot read the workbook: {e}")))?;
    let sheets = workbook.sheet_names();

    let mut out = TextOut::new(opts.max_chars);
    let mut tables = Vec::new();
    let mut truncated = false;
    let mut cells_total = 0usize;
    let mut warnings = Vec::new();
    for name in &sheets {
        let mut reader = match workbook.worksheet_cells_reader(name) {
            Ok(r) => r,
            Err(e) => {
                warnings.push(format!("sheet {name:?} not read: {e}"));
                continue;
            }
        };
        // Sparse cells first; rows and columns are capped before anything is padded.
        let mut cells: Vec<(u32, u32, String)> = Vec::new();
        let (mut distinct_rows, mut last_row) = (0usize, None);
        loop {
            let cell = match reader.next_cell() {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    warnings.push(format!("sheet {name:?} read in part: {e}"));
                    break;
                }
            };
            let (row, col) = cell.get_position();
            let value = format_cell(cell.get_value());
            if value.is_empty() {
                continue;
            }
            if last_row != Some(row) {
                distinct_rows += 1;
                last_row = Some(row);
            }
            if distinct_rows > opts.max_table_rows || cells_total >= opts.max_table_cells {
                truncated = true;
                break;
            }
            cells_total += 1;
            cells.push((row, col, value));
        }
        let rows = densify(cells, opts, &mut truncated);
        out.blank_line();
        out.line(&format!("Sheet: {name}"));
        for row in &rows {
            out.line(&row_line(row));
        }
        let has_header = guess_header(&rows);
        tables.push(Table { name: name.clone(), rows, has_header });
    }
    Ok(DocumentExtract {
        text: out.text.trim_end().to_owned() + "\n",
        truncated: truncated || out.truncated,
        sheets,
        metadata,
        tables,
        warnings,
        ..Default::default()
    })
}

/// Sparse cells → rows (empty rows dropped, leading empty columns removed), at most
/// `max_table_rows` × `max_table_cols`.
fn densify(mut cells: Vec<(u32, u32, String)>, opts: &DocOptions, truncated: &mut bool) -> Vec<Vec<String>> {
    cells.sort_by_key(|(r, c, _)| (*r, *c));
    let min_col = cells.iter().map(|(_, c, _)| *c).min().unwrap_or(0);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut last_row: Option<u32> = None;
    for (r, c, v) in cells {
        let col = (c - min_col) as usize;
        if col >= opts.max_table_cols {
            *truncated = true;
            continue;
        }
        if last_row != Some(r) {
            if rows.len() >= opts.max_table_rows {
                *truncated = true;
                break;
            }
            rows.push(Vec::new());
            last_row = Some(r);
        }
        if let Some(row) = rows.last_mut() {
            if row.len() <= col {
                row.resize(col + 1, String::new());
            }
            row[col] = v;
        }
    }
    // Same width for every row.
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for row in &mut rows {
        row.resize(width, String::new());
    }
    rows
}

/// A cell as text: dates as ISO dates (not serial numbers), whole floats without `.0`.
fn format_cell(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.trim_end().to_owned(),
        DataRef::SharedString(s) => s.trim_end().to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => format_float(*f),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        DataRef::DateTime(dt) => {
            if dt.is_duration() {
                let secs = dt.as_duration().map(|d| d.num_seconds()).unwrap_or(0);
                return format!("{}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
            }
            match dt.as_datetime() {
                Some(d) => {
                    let time = d.time();
                    let midnight = time == chrono::NaiveTime::MIN;
                    if dt.as_f64() < 1.0 && dt.as_f64() >= 0.0 && !midnight {
                        time.format("%H:%M:%S").to_string()
                    } else if midnight {
                        d.date().format("%Y-%m-%d").to_string()
                    } else {
                        d.format("%Y-%m-%dT%H:%M:%S").to_string()
                    }
                }
                None => format_float(dt.as_f64()),
            }
        }
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    }
}

fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 { format!("{}", f as i64) } else { format!("{f}") }
}
