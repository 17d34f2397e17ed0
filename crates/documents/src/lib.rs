//! Branded PDF reports rendered from structured data.
//!
//! Build a [`Report`] (by hand, with [`financial_statement`] or
//! [`generic_report`], or from a YAML template with [`templates::Templates`])
//! and turn it into PDF bytes with [`render_pdf`]. Colours come from the
//! brand palette ([`Brand::from_palette_file`]); an optional [`Logo`] (a
//! small SVG) is drawn as vector graphics in the header band of every page.
//! Fonts are loaded at run time from the paths in [`Fonts`] (and kept in a
//! per-process cache); text that the Latin font cannot draw (Han characters
//! and other CJK text) falls back to the CJK font. Every embedded font is
//! subset to the glyphs used.

mod builders;
pub use builders::{financial_statement, format_amount, generic_report};
mod fonts;
mod layout;
mod logo;
pub use logo::{Logo, LogoError};
mod markdown;
pub use markdown::{deck_markdown, render_markdown};
mod slides;
pub use slides::{Deck, EA_FONT, LATIN_FONT, PitchInput, PitchProduct, PptxError, Slide, pitch_deck, render_pptx};
pub mod templates;
mod word;
pub use word::{render_docx, text_report};
mod writer;

use std::path::{Path, PathBuf};

/// Brand colours and name used in the header band and accents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// Brand orange: the band without a logo, the title rule, key numbers.
    pub primary: [u8; 3],
    /// Charcoal: headings, table headers and the header band behind a logo.
    pub secondary: [u8; 3],
    /// Highlights (the bar above each KPI tile).
    pub accent: [u8; 3],
    /// Body text colour.
    pub text: [u8; 3],
    /// Secondary text (subtitle, keys, footer).
    pub muted: [u8; 3],
    /// Company name shown in the header band on every page (when there is no logo).
    pub company: String,
}

impl Brand {
    /// The Mezzofy brand as in `knowledge/brand/color_palette.yaml`: orange
    /// `#F26A21`, charcoal `#2E3138`, amber `#FFB347`, text `#1F2125`, muted
    /// `#6E737B`. The fallback when the palette file is not available.
    pub fn mezzofy() -> Self {
        Self {
            primary: [0xF2, 0x6A, 0x21],
            secondary: [0x2E, 0x31, 0x38],
            accent: [0xFF, 0xB3, 0x47],
            text: [0x1F, 0x21, 0x25],
            muted: [0x6E, 0x73, 0x7B],
            company: "Mezzofy".to_owned(),
        }
    }

    /// Reads a brand palette file (see [`Brand::from_palette_yaml`]).
    pub fn from_palette_file(path: &Path) -> Result<Self, BrandError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BrandError { path: path.display().to_string(), message: e.to_string() })?;
        Self::parse_palette(&text, &path.display().to_string())
    }

    /// Parses palette YAML: `primary`, `secondary`, `text` and `muted` are
    /// required, `accent` is optional (default: `primary`), all `"#RRGGBB"`
    /// (or `"#RGB"`). An optional `company` sets the name (default
    /// "Mezzofy"). The palette's other keys (`background`, `success`,
    /// `warning`, `danger`, `font_family`, ...) are for other generators and
    /// ignored here.
    pub fn from_palette_yaml(yaml: &str) -> Result<Self, BrandError> {
        Self::parse_palette(yaml, "palette")
    }

    fn parse_palette(yaml: &str, origin: &str) -> Result<Self, BrandError> {
        let err = |message: String| BrandError { path: origin.to_owned(), message };
        let map: std::collections::BTreeMap<String, serde_json::Value> =
            serde_saphyr::from_str(yaml).map_err(|e| err(templates::first_line(&e.to_string())))?;
        let colour = |key: &str| -> Result<Option<[u8; 3]>, BrandError> {
            match map.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => {
                    parse_hex(s).map(Some).ok_or_else(|| err(format!("{key}: '{s}' is not a colour like \"#F26A21\"")))
                }
                Some(other) => Err(err(format!("{key}: {other} is not a colour like \"#F26A21\""))),
            }
        };
        let required =
            |key: &str| colour(key)?.ok_or_else(|| err(format!("{key}: missing (a colour like \"#F26A21\")")));
        let primary = required("primary")?;
        let company = match map.get("company") {
            None | Some(serde_json::Value::Null) => "Mezzofy".to_owned(),
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(other) => return Err(err(format!("company: {other} is not a name"))),
        };
        Ok(Self {
            primary,
            secondary: required("secondary")?,
            accent: colour("accent")?.unwrap_or(primary),
            text: required("text")?,
            muted: required("muted")?,
            company,
        })
    }
}

/// `"#F26A21"` or `"#F62"` → RGB.
pub(crate) fn parse_hex(s: &str) -> Option<[u8; 3]> {
    let hex = s.trim().strip_prefix('#')?;
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok();
    match hex.len() {
        6 => Some([
            u8::from_str_radix(hex.get(0..2)?, 16).ok()?,
            u8::from_str_radix(hex.get(2..4)?, 16).ok()?,
            u8::from_str_radix(hex.get(4..6)?, 16).ok()?,
        ]),
        3 => Some([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17]),
        _ => None,
    }
}

/// A brand palette that cannot be read or is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("brand palette {path}: {message}")]
pub struct BrandError {
    /// The palette file (or "palette" for YAML text).
    pub path: String,
    pub message: String,
}

/// Paths of the TrueType fonts used for rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fonts {
    /// Regular Latin font (`.ttf`).
    pub latin: PathBuf,
    /// Bold Latin font (`.ttf`).
    pub latin_bold: PathBuf,
    /// CJK fallback font (`.ttf`, or `.ttc` of which face 0 is used).
    pub cjk: PathBuf,
}

impl Fonts {
    /// DejaVu Sans (regular and bold) and WenQuanYi Micro Hei as installed by
    /// the Debian packages `fonts-dejavu-core` and `fonts-wqy-microhei`.
    pub fn debian_default() -> Self {
        Self {
            latin: PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
            latin_bold: PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
            cjk: PathBuf::from("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
        }
    }
}

/// One piece of report content, laid out top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A section heading in the brand colour.
    Heading(String),
    /// A smaller heading inside a section.
    Subheading(String),
    /// Wrapped body text.
    Paragraph(String),
    /// Two-column label/value list.
    KeyValues(Vec<(String, String)>),
    /// A table; its header row repeats on each page it spans.
    /// `align_right[i]` right-aligns column `i` (missing entries: left).
    Table { columns: Vec<String>, rows: Vec<Vec<String>>, align_right: Vec<bool> },
    /// A bulleted (or, when `ordered`, numbered) list of wrapped items.
    List { ordered: bool, items: Vec<String> },
    /// Headline figures as tiles: (label, value), three to a row.
    Metrics(Vec<(String, String)>),
}

/// A complete report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub title: String,
    pub subtitle: Option<String>,
    pub blocks: Vec<Block>,
    /// Shown at the bottom left of every page, next to "Page N of M".
    pub footer: String,
    /// Drawn in the header band of every page (which then takes the brand's
    /// secondary colour); without one the band shows the company name.
    pub logo: Option<Logo>,
}

/// Default footer text.
pub const DEFAULT_FOOTER: &str = "Confidential \u{2013} generated by Mezzofy AI Assistant";

/// Errors from [`render_pdf`].
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot read font file {path}: {source}")]
    FontRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("font file {path} is not a usable TrueType font: {reason}")]
    FontParse { path: PathBuf, reason: String },
    #[error("cannot subset font {path}: {reason}")]
    FontSubset { path: PathBuf, reason: String },
    #[error("cannot write the Word document: {0}")]
    Docx(String),
}

/// Render `report` as an A4 portrait PDF.
///
/// The font files are read once per process and kept in memory (re-read when
/// a file's size or modification time changes).
pub fn render_pdf(report: &Report, brand: &Brand, fonts: &Fonts) -> Result<Vec<u8>, DocumentError> {
    let data = fonts::FontData::load(fonts)?;
    let set = data.parse()?;
    let logo = report.logo.as_ref().map(|l| l.on_background(layout::band_colour(report, brand)));
    let pages = layout::layout(report, brand, &set);
    writer::write(&pages, &set, logo.as_ref())
}
