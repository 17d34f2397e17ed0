//! CSV (delimiter and header guessed) and plain text (encoding guessed).

use std::collections::HashMap;
use std::path::Path;

use super::{DocOptions, DocumentExtract, Table, TextOut, guess_header, row_line};
use crate::InputError;
use crate::text::{DecodedText, decode_text};

fn read_decoded(path: &Path, opts: &DocOptions) -> Result<DecodedText, InputError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(opts.max_file_bytes).read_to_end(&mut bytes)?;
    let mut decoded = decode_text(&bytes);
    if decoded.text.contains('\r') {
        decoded.text = decoded.text.replace("\r\n", "\n").replace('\r', "\n");
    }
    Ok(decoded)
}

pub(crate) fn txt(path: &Path, opts: &DocOptions) -> Result<DocumentExtract, InputError> {
    let decoded = read_decoded(path, opts)?;
    let mut warnings = Vec::new();
    if decoded.had_errors {
        warnings.push(format!("some bytes were not valid {}; replaced with U+FFFD", decoded.encoding));
    }
    Ok(DocumentExtract { text: decoded.text, encoding: Some(decoded.encoding), warnings, ..Default::default() })
}

const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The delimiter whose field count (> 1) is the most consistent over the first records.
pub(crate) fn sniff_delimiter(text: &str) -> u8 {
    let mut best = (b',', 0.0f64, 0usize);
    for d in DELIMITERS {
        let mut reader =
            csv::ReaderBuilder::new().delimiter(d).has_headers(false).flexible(true).from_reader(text.as_bytes());
        let counts: Vec<usize> = reader
            .records()
            .take(50)
            .map_while(Result::ok)
            .filter(|r| r.iter().any(|f| !f.trim().is_empty()))
            .map(|r| r.len())
            .collect();
        if counts.is_empty() {
            continue;
        }
        let mut freq: HashMap<usize, usize> = HashMap::new();
        for c in &counts {
            *freq.entry(*c).or_default() += 1;
        }
        let Some((mode, n)) = freq.into_iter().max_by_key(|(fields, n)| (*n, *fields)) else { continue };
        if mode < 2 {
            continue;
        }
        let consistency = n as f64 / counts.len() as f64;
        if consistency > best.1 || (consistency == best.1 && mode > best.2) {
            best = (d, consistency, mode);
        }
    }
    best.0
}

pub(crate) fn csv(path: &Path, opts: &DocOptions) -> Result<DocumentExtract, InputError> {
    let decoded = read_decoded(path, opts)?;
    let text = decoded.text.strip_prefix('\u{feff}').unwrap_or(&decoded.text);
    let delimiter = sniff_delimiter(text);
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());

    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut truncated = false;
    let mut cells = 0usize;
    let mut warnings = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                warnings.push(format!("CSV read in part: {e}"));
                break;
            }
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rows.len() >= opts.max_table_rows || cells + record.len() > opts.max_table_cells {
            truncated = true;
            break;
        }
        let mut row: Vec<String> = record.iter().map(|f| f.trim().to_owned()).collect();
        if row.len() > opts.max_table_cols {
            row.truncate(opts.max_table_cols);
            truncated = true;
        }
        cells += row.len();
        rows.push(row);
    }
    let mut out = TextOut::new(opts.max_chars);
    for row in &rows {
        out.line(&row_line(row));
    }
    let has_header = guess_header(&rows);
    if decoded.had_errors {
        warnings.push(format!("some bytes were not valid {}; replaced with U+FFFD", decoded.encoding));
    }
    if delimiter != b',' {
        tracing::debug!(delimiter = %char::from(delimiter), "CSV delimiter guessed");
    }
    Ok(DocumentExtract {
        text: out.text,
        truncated: truncated || out.truncated,
        tables: vec![Table { name: "csv".into(), rows, has_header }],
        encoding: Some(decoded.encoding),
        warnings,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(sniff_delimiter("name;price\nApple;1,5\nPear;2,25\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2\t3\n"), b'\t');
        assert_eq!(sniff_delimiter("a|b\n1|2\n"), b'|');
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n\"x;y\",2,3\n"), b',');
    }
}
