//! Documents become text: PDF, DOCX, PPTX, XLSX, CSV, TXT.

mod delimited;
mod office;
mod pdf;
mod xlsx;
mod xml;

use std::path::{Path, PathBuf};
use std::time::Duration;

use files::Detected;
use serde::Serialize;

use crate::ocr::Ocr;
use crate::text::{decode_text, looks_like_text};
use crate::{InputError, blocking};

const MIB: u64 = 1024 * 1024;

/// Limits and choices for [`extract_document`].
#[derive(Debug, Clone)]
pub struct DocOptions {
    /// The text is cut at this many characters (and [`DocumentExtract::truncated`] set).
    pub max_chars: usize,
    /// Larger files are refused (default 20 MiB, as for file uploads).
    pub max_file_bytes: u64,
    /// Most bytes read from one entry of an Office zip (default 64 MiB).
    pub max_entry_bytes: u64,
    /// Rows and columns kept per table (defaults 10 000 and 256), cells over all tables
    /// (default 200 000); more sets `truncated`.
    pub max_table_rows: usize,
    pub max_table_cols: usize,
    pub max_table_cells: usize,
    /// OCR of PDF pages without a text layer.
    pub pdf_ocr: bool,
    /// At most this many text-less pages are OCR'd (default 10, in page order).
    pub pdf_ocr_max_pages: u32,
    /// Resolution for rendering a page to OCR (default 200 dpi).
    pub pdf_ocr_dpi: u32,
    pub ocr: Ocr,
    /// Directory of `pdftotext`, `pdfinfo`, `pdftoppm`; `None`: from `PATH`.
    pub poppler_dir: Option<PathBuf>,
    /// How long one poppler program may run (default 60 s; OCR has its own in [`Ocr`]).
    pub timeout: Duration,
}

impl Default for DocOptions {
    fn default() -> Self {
        Self {
            max_chars: 100_000,
            max_file_bytes: 20 * MIB,
            max_entry_bytes: 64 * MIB,
            max_table_rows: 10_000,
            max_table_cols: 256,
            max_table_cells: 200_000,
            pdf_ocr: true,
            pdf_ocr_max_pages: 10,
            pdf_ocr_dpi: 200,
            ocr: Ocr::default(),
            poppler_dir: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Document properties (whichever the format has).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Metadata {
    pub title: Option<String>,
    pub author: Option<String>,
    pub subject: Option<String>,
    pub keywords: Option<String>,
    /// The application that made it (PDF Creator / Office Application).
    pub creator: Option<String>,
    pub producer: Option<String>,
    pub last_modified_by: Option<String>,
    /// ISO 8601 as stored.
    pub created: Option<String>,
    pub modified: Option<String>,
}

/// A heading (DOCX Title = level 0, Heading N = level N; PPTX slide titles = level 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heading {
    pub level: u8,
    pub text: String,
}

/// A table: a DOCX/PPTX table, an XLSX sheet or a CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub name: String,
    pub rows: Vec<Vec<String>>,
    /// The first row looks like column names (a guess, for CSV and sheets).
    pub has_header: bool,
}

/// What a document contained.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DocumentExtract {
    /// `pdf`, `docx`, `pptx`, `xlsx`, `csv` or `txt`.
    pub kind: &'static str,
    /// All text in reading order (headings as `#` lines, table rows as `a | b | c`,
    /// slides as `Slide N:` sections, sheets as `Sheet: name` sections).
    pub text: String,
    /// PDF page count.
    pub pages: Option<u32>,
    /// PPTX slide count.
    pub slides: Option<u32>,
    /// XLSX sheet names in workbook order.
    pub sheets: Vec<String>,
    pub metadata: Metadata,
    pub headings: Vec<Heading>,
    pub tables: Vec<Table>,
    /// Text encoding (CSV, TXT), e.g. `UTF-8`, `UTF-16LE`, `GBK`.
    pub encoding: Option<&'static str>,
    /// Some text came from OCR (a scanned PDF).
    pub ocr: bool,
    /// PDF pages (1-based) whose text came from OCR.
    pub ocr_pages: Vec<u32>,
    /// Text or tables were cut at a limit, or scanned pages were left out.
    pub truncated: bool,
    /// Things that did not work but did not stop the rest.
    pub warnings: Vec<String>,
}

/// [`files::sniff_file`], and plain text in a legacy encoding (GBK, Big5, Shift_JIS,
/// windows-1252, ...) that the sniffer does not take for text, as `txt`.
pub async fn detect_document(path: &Path) -> Result<Detected, InputError> {
    let p = path.to_path_buf();
    blocking(move || match files::sniff_file(&p) {
        Ok(d) => Ok(d),
        Err(files::SniffError::Unsupported { detected }) if detected == "binary data" => {
            use std::io::Read;
            let mut head = Vec::new();
            std::fs::File::open(&p)?.take(files::TEXT_SNIFF_BYTES as u64).read_to_end(&mut head)?;
            let decoded = decode_text(&head);
            match Detected::from_kind("txt") {
                Some(txt) if looks_like_text(&decoded) => Ok(txt),
                _ => Err(InputError::Unsupported { detected }),
            }
        }
        Err(e) => Err(e.into()),
    })
    .await
}

/// Extracts text, tables and properties from the document at `path`, whose type the caller
/// got from [`files::sniff_file`] (or [`detect_document`]).
///
/// Office files are sniffed again here (zip bomb, traversal and entry-count checks happen
/// before anything is inflated); every entry read is capped at
/// [`DocOptions::max_entry_bytes`] and an entry inflating past its declared size is
/// refused. PDFs go through `pdfinfo` and `pdftotext -layout`; pages without text are
/// rendered with `pdftoppm` and OCR'd (see [`DocOptions::pdf_ocr`]).
pub async fn extract_document(
    path: &Path,
    detected: &Detected,
    opts: &DocOptions,
) -> Result<DocumentExtract, InputError> {
    let len = tokio::fs::metadata(path).await?.len();
    if len > opts.max_file_bytes {
        return Err(InputError::TooLarge(format!("file is {len} bytes; at most {}", opts.max_file_bytes)));
    }
    let kind = detected.kind;
    let mut out = match kind {
        "pdf" => pdf::extract(path, opts).await?,
        "docx" | "pptx" | "xlsx" | "csv" | "txt" => {
            let (p, o) = (path.to_path_buf(), opts.clone());
            blocking(move || match kind {
                "docx" => office::docx(&p, &o),
                "pptx" => office::pptx(&p, &o),
                "xlsx" => xlsx::extract(&p, &o),
                "csv" => delimited::csv(&p, &o),
                _ => delimited::txt(&p, &o),
            })
            .await?
        }
        _ => {
            return Err(InputError::unsupported(format!(
                "{} ({}): not a document; images go through process_image",
                detected.kind, detected.mime
            )));
        }
    };
    out.kind = kind;
    if crate::text::truncate_chars(&mut out.text, opts.max_chars) {
        out.truncated = true;
    }
    Ok(out)
}

/// Text assembled under a character budget.
pub(crate) struct TextOut {
    pub text: String,
    chars: usize,
    max: usize,
    pub truncated: bool,
}

impl TextOut {
    pub fn new(max: usize) -> Self {
        Self { text: String::new(), chars: 0, max, truncated: false }
    }

    /// Appends `s` (a little past the budget is fine: the caller cuts exactly).
    pub fn push(&mut self, s: &str) {
        if self.chars > self.max {
            self.truncated = true;
            return;
        }
        self.chars += s.chars().count();
        self.text.push_str(s);
    }

    pub fn line(&mut self, s: &str) {
        self.push(s);
        self.push("\n");
    }

    /// Makes sure the text ends with an empty line (unless empty).
    pub fn blank_line(&mut self) {
        if self.text.is_empty() || self.text.ends_with("\n\n") {
            return;
        }
        self.push(if self.text.ends_with('\n') { "\n" } else { "\n\n" });
    }

    pub fn full(&self) -> bool {
        self.chars > self.max
    }
}

/// A table row as one text line.
pub(crate) fn row_line(row: &[String]) -> String {
    row.iter().map(|c| c.replace(['\n', '\r'], " ")).collect::<Vec<_>>().join(" | ")
}

/// Does the first row look like column names? Every cell filled and not a number, and
/// either some column holds numbers below, or no name repeats in its own column.
pub(crate) fn guess_header(rows: &[Vec<String>]) -> bool {
    let Some(first) = rows.first() else { return false };
    if rows.len() < 2 || first.is_empty() {
        return false;
    }
    let is_number = |s: &str| {
        let t = s.trim().trim_end_matches('%').replace([',', ' '], "");
        let t = t.trim_start_matches(['$', '€', '£', '¥']);
        !t.is_empty() && t.parse::<f64>().is_ok()
    };
    if first.iter().any(|c| c.trim().is_empty() || is_number(c)) {
        return false;
    }
    let body = &rows[1..];
    let numeric_below = (0..first.len()).any(|i| body.iter().any(|r| r.get(i).is_some_and(|c| is_number(c))));
    let repeated = (0..first.len()).any(|i| body.iter().any(|r| r.get(i).is_some_and(|c| c.trim() == first[i].trim())));
    numeric_below || !repeated
}
