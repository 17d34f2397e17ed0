//! Uploaded documents and images become text the agents can use.
//!
//! - [`document::extract_document`]: PDF (poppler `pdftotext`/`pdfinfo`, OCR of scanned
//!   pages through `pdftoppm` + tesseract), DOCX, PPTX, XLSX, CSV and plain text in any
//!   common encoding.
//! - [`image::process_image`]: JPEG / PNG / WebP / HEIC decoded under size limits, turned
//!   upright (EXIF orientation), scaled down, stripped of metadata, summarised and OCR'd.
//! - [`ocr::Ocr`]: the tesseract CLI (`eng+chi_sim+msa`, whichever packs are installed).
//!
//! File types always come from [`files::sniff_file`] (content, never the name); zip
//! containers are checked for bombs there before anything is inflated here.
//!
//! Every external tool runs with a timeout and is killed when it expires (or when the
//! future is dropped). Needed binaries (Debian): `pdftotext`, `pdfinfo`, `pdftoppm`
//! (poppler-utils), `tesseract` (tesseract-ocr, -eng, -chi-sim, -msa), `heif-convert`
//! (libheif-examples, HEIC only).

pub mod document;
pub mod image;
pub mod ocr;
mod proc;
mod text;

pub use document::{DocOptions, DocumentExtract, Heading, Metadata, Table, detect_document, extract_document};
pub use image::{ExifSummary, ImageExtract, ImageInput, ImageOptions, OutputFormat, process_image};
pub use ocr::{Ocr, OcrText};
pub use text::{DecodedText, decode_text, remove_han_spaces};

use files::SniffError;

/// Why an input could not be turned into text.
///
/// Suggested HTTP statuses: see [`InputError::http_status`].
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Not a kind this crate reads; `detected` says what it seems to be.
    #[error("unsupported file type: {detected}")]
    Unsupported { detected: String },
    /// Over a size limit (bytes, pixels, entries, expansion).
    #[error("too large: {0}")]
    TooLarge(String),
    /// Dangerous container (zip bomb by ratio, path traversal, lying sizes, ...).
    #[error("unsafe file: {0}")]
    Unsafe(String),
    /// The file claims to be of its kind but cannot be read as one (corrupt,
    /// encrypted, truncated).
    #[error("malformed file: {0}")]
    Malformed(String),
    /// An external program needed for this input is not installed.
    #[error("required tool is not installed: {0}")]
    ToolMissing(&'static str),
    /// An external program ran longer than allowed and was killed.
    #[error("{0} timed out")]
    Timeout(&'static str),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl InputError {
    /// A sensible HTTP status for the error: 415 unsupported, 413 too large,
    /// 422 unsafe/malformed, 503 tool missing, 504 timeout, 500 i/o.
    pub fn http_status(&self) -> u16 {
        match self {
            InputError::Unsupported { .. } => 415,
            InputError::TooLarge(_) => 413,
            InputError::Unsafe(_) | InputError::Malformed(_) => 422,
            InputError::ToolMissing(_) => 503,
            InputError::Timeout(_) => 504,
            InputError::Io(_) => 500,
        }
    }

    pub(crate) fn unsupported(detected: impl Into<String>) -> Self {
        InputError::Unsupported { detected: detected.into() }
    }
}

impl From<SniffError> for InputError {
    fn from(e: SniffError) -> Self {
        match e {
            SniffError::Unsupported { detected } => InputError::Unsupported { detected },
            SniffError::Unsafe(m) => InputError::Unsafe(m),
            SniffError::Io(e) => InputError::Io(e),
        }
    }
}

/// Runs blocking work on the blocking pool, turning a panic into [`InputError::Malformed`].
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, InputError>
where
    F: FnOnce() -> Result<T, InputError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(InputError::Malformed(format!("decoder failed: {e}"))),
    }
}
