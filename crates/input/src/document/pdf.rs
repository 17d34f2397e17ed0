//! PDF through poppler: `pdfinfo`, `pdftotext -layout`, and `pdftoppm` + OCR for pages
//! without a text layer.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::{DocOptions, DocumentExtract, Metadata};
use crate::InputError;
use crate::ocr::safe_path_arg;
use crate::proc::run;

/// A page with fewer non-blank characters than this counts as having no text layer.
const MIN_PAGE_CHARS: usize = 10;
/// Rendered pages are at most this many pixels on a side.
const MAX_RENDER_SIDE: f64 = 6000.0;

fn tool(opts: &DocOptions, name: &str) -> PathBuf {
    match &opts.poppler_dir {
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

fn refused(what: &str, stderr: &str) -> InputError {
    let lower = stderr.to_lowercase();
    if lower.contains("password") || lower.contains("encrypt") {
        InputError::Malformed(format!("the PDF is password-protected ({what})"))
    } else if lower.contains("copying of text") {
        InputError::Malformed("the PDF does not allow copying its text".into())
    } else {
        InputError::Malformed(format!("{what} cannot read the PDF: {stderr}"))
    }
}

#[derive(Default)]
struct Info {
    meta: Metadata,
    pages: Option<u32>,
    /// Page sizes in points for the first pages (as asked with `-f/-l`).
    sizes: Vec<(u32, f64, f64)>,
}

async fn pdfinfo(path: &Path, opts: &DocOptions) -> Result<Info, InputError> {
    let mut cmd = Command::new(tool(opts, "pdfinfo"));
    let last = opts.pdf_ocr_max_pages.clamp(1, 500).to_string();
    cmd.args(["-isodates", "-enc", "UTF-8", "-f", "1", "-l", &last]).arg(safe_path_arg(path));
    let out = run("pdfinfo", cmd, opts.timeout, 1024 * 1024).await?;
    if !out.status.success() {
        return Err(refused("pdfinfo", &out.stderr_line()));
    }
    let mut info = Info::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        let key = key.trim();
        if let Some(page) = key.strip_prefix("Page").and_then(|k| k.strip_suffix("size")).map(str::trim)
            && let Ok(n) = page.parse::<u32>()
        {
            // "612 x 792 pts (letter)"
            let mut it = value.split_whitespace();
            if let (Some(w), Some("x"), Some(h)) = (it.next(), it.next(), it.next())
                && let (Ok(w), Ok(h)) = (w.parse(), h.parse())
            {
                info.sizes.push((n, w, h));
            }
            continue;
        }
        if value.is_empty() {
            continue;
        }
        let v = Some(value.to_owned());
        match key {
            "Title" => info.meta.title = v,
            "Author" => info.meta.author = v,
            "Subject" => info.meta.subject = v,
            "Keywords" => info.meta.keywords = v,
            "Creator" => info.meta.creator = v,
            "Producer" => info.meta.producer = v,
            "CreationDate" => info.meta.created = v,
            "ModDate" => info.meta.modified = v,
            "Pages" => info.pages = value.parse().ok(),
            _ => {}
        }
    }
    Ok(info)
}

/// Trailing spaces off every line, runs of blank lines down to one.
fn tidy(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    let mut blank = 0;
    for line in page.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_matches('\n').to_owned()
}

pub(crate) async fn extract(path: &Path, opts: &DocOptions) -> Result<DocumentExtract, InputError> {
    let info = pdfinfo(path, opts).await?;

    let mut cmd = Command::new(tool(opts, "pdftotext"));
    cmd.args(["-layout", "-enc", "UTF-8"]).arg(safe_path_arg(path)).arg("-");
    // Layout mode pads with spaces: allow well over the character budget.
    let max_stdout = opts.max_chars.saturating_mul(16).clamp(1 << 20, 64 << 20);
    let out = run("pdftotext", cmd, opts.timeout, max_stdout).await?;
    if !out.status.success() {
        return Err(refused("pdftotext", &out.stderr_line()));
    }
    let mut truncated = out.stdout_truncated;
    let raw = String::from_utf8_lossy(&out.stdout);
    let mut pages: Vec<String> = raw.split('\x0c').map(tidy).collect();
    // pdftotext ends every page with a form feed.
    if pages.len() > 1 && pages.last().is_some_and(String::is_empty) {
        pages.pop();
    }

    let mut warnings = Vec::new();
    let mut ocr_pages = Vec::new();
    let textless: Vec<u32> = if out.stdout_truncated {
        Vec::new()
    } else {
        let count = info.pages.map_or(pages.len(), |p| p as usize).max(pages.len());
        pages.resize(count, String::new());
        (1..=count)
            .filter(|&i| pages[i - 1].chars().filter(|c| !c.is_whitespace()).count() < MIN_PAGE_CHARS)
            .filter_map(|i| u32::try_from(i).ok())
            .collect()
    };
    if !textless.is_empty() && opts.pdf_ocr {
        let limit = opts.pdf_ocr_max_pages as usize;
        if textless.len() > limit {
            truncated = true;
            warnings.push(format!("{} pages have no text layer; only the first {limit} were OCR'd", textless.len()));
        }
        match ocr_pages_of(path, &textless[..textless.len().min(limit)], &info, opts).await {
            Ok(done) => {
                for (page, text) in done {
                    pages[page as usize - 1] = text;
                    ocr_pages.push(page);
                }
            }
            Err(e @ (InputError::ToolMissing(_) | InputError::Timeout(_))) => {
                tracing::warn!(error = %e, "scanned PDF pages not OCR'd");
                warnings.push(format!("pages without text were not OCR'd: {e}"));
            }
            Err(e) => return Err(e),
        }
    }

    let text = pages.iter().filter(|p| !p.trim().is_empty()).cloned().collect::<Vec<_>>().join("\n\n") + "\n";
    Ok(DocumentExtract {
        text,
        pages: info.pages,
        metadata: info.meta,
        ocr: !ocr_pages.is_empty(),
        ocr_pages,
        truncated,
        warnings,
        ..Default::default()
    })
}

/// Renders each page with `pdftoppm` into a private temporary directory and OCRs it.
async fn ocr_pages_of(
    path: &Path,
    pages: &[u32],
    info: &Info,
    opts: &DocOptions,
) -> Result<Vec<(u32, String)>, InputError> {
    // Fail early (and clearly) when tesseract is not there.
    opts.ocr.languages_to_use().await?;
    let dir = tempfile::tempdir()?;
    let mut done = Vec::new();
    for &page in pages {
        let prefix = dir.path().join(format!("page-{page}"));
        let n = page.to_string();
        let mut cmd = Command::new(tool(opts, "pdftoppm"));
        cmd.args(["-png", "-f", &n, "-l", &n, "-singlefile"]);
        let dpi = f64::from(opts.pdf_ocr_dpi.clamp(50, 600));
        let size = info.sizes.iter().find(|(p, _, _)| *p == page);
        match size {
            Some((_, w, h)) if w.max(*h) / 72.0 * dpi > MAX_RENDER_SIDE => {
                cmd.args(["-scale-to", &(MAX_RENDER_SIDE as u32).to_string()]);
            }
            _ => {
                cmd.args(["-r", &(dpi as u32).to_string()]);
            }
        }
        cmd.arg(safe_path_arg(path)).arg(&prefix);
        let out = run("pdftoppm", cmd, opts.timeout, 64 * 1024).await?;
        let png = prefix.with_extension("png");
        if !out.status.success() || !tokio::fs::try_exists(&png).await? {
            return Err(refused("pdftoppm", &out.stderr_line()));
        }
        let text = opts.ocr.recognize(&png).await?;
        let _ = tokio::fs::remove_file(&png).await;
        done.push((page, text.text.trim_end().to_owned()));
    }
    Ok(done)
}
