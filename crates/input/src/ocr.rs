//! OCR through the tesseract CLI.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use tokio::process::Command;

use crate::InputError;
use crate::proc::run;
use crate::text::remove_han_spaces;

/// The languages asked for by default: English, Simplified Chinese, Malay.
pub const DEFAULT_LANGUAGES: &str = "eng+chi_sim+msa";

/// The tesseract command line program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ocr {
    /// The program (looked up in `PATH` when not a path).
    pub tesseract: PathBuf,
    /// `+`-separated tesseract language codes, most wanted first. Codes whose data is not
    /// installed are left out at run time.
    pub languages: String,
    /// One recognition may take this long before tesseract is killed.
    pub timeout: Duration,
}

impl Default for Ocr {
    fn default() -> Self {
        Self {
            tesseract: PathBuf::from("tesseract"),
            languages: DEFAULT_LANGUAGES.to_owned(),
            timeout: Duration::from_secs(120),
        }
    }
}

/// Recognised text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OcrText {
    /// Lines as tesseract found them; blank line between blocks; no spaces between Han
    /// characters.
    pub text: String,
    /// Mean word confidence, 0–100 (`None` when no word was found).
    pub confidence: Option<f32>,
    /// The languages actually used, e.g. `eng+chi_sim+msa`.
    pub languages: String,
    /// Number of words recognised.
    pub words: usize,
}

static LANGUAGES: OnceLock<Mutex<HashMap<PathBuf, Vec<String>>>> = OnceLock::new();

impl Ocr {
    /// The defaults: `tesseract` from `PATH`, [`DEFAULT_LANGUAGES`], 120 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// Is tesseract installed with at least one of the wanted languages?
    pub async fn available(&self) -> bool {
        self.languages_to_use().await.is_ok()
    }

    /// Language packs installed (`tesseract --list-langs`), cached per program path.
    pub async fn installed_languages(&self) -> Result<Vec<String>, InputError> {
        let cache = LANGUAGES.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(langs) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&self.tesseract) {
            return Ok(langs.clone());
        }
        let mut cmd = Command::new(&self.tesseract);
        cmd.arg("--list-langs");
        let out = run("tesseract", cmd, Duration::from_secs(20), 64 * 1024).await?;
        if !out.status.success() {
            return Err(InputError::ToolMissing("tesseract"));
        }
        // Tesseract 5 lists on stdout, older versions on stderr.
        let listing = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), out.stderr);
        let langs: Vec<String> = listing
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.contains(' ') && !l.contains(':'))
            .map(str::to_owned)
            .collect();
        cache.lock().unwrap_or_else(|e| e.into_inner()).insert(self.tesseract.clone(), langs.clone());
        Ok(langs)
    }

    /// The wanted languages that are installed, joined with `+` (in the order asked for).
    pub async fn languages_to_use(&self) -> Result<String, InputError> {
        let installed = self.installed_languages().await?;
        let chosen: Vec<&str> =
            self.languages.split('+').map(str::trim).filter(|l| installed.iter().any(|i| i == l)).collect();
        if chosen.is_empty() {
            return Err(InputError::ToolMissing("tesseract language data"));
        }
        Ok(chosen.join("+"))
    }

    /// Recognises the text of the image file at `path` (PNG, JPEG, TIFF, ...).
    pub async fn recognize(&self, path: &Path) -> Result<OcrText, InputError> {
        let languages = self.languages_to_use().await?;
        let mut cmd = Command::new(&self.tesseract);
        cmd.arg(safe_path_arg(path))
            .arg("stdout")
            .args(["-l", &languages, "--psm", "3", "tsv"])
            // One thread per run: several uploads at once share the cores better.
            .env("OMP_THREAD_LIMIT", "1");
        let out = run("tesseract", cmd, self.timeout, 32 * 1024 * 1024).await?;
        if !out.status.success() {
            let msg = out.stderr_line();
            if msg.contains("Failed loading language") {
                return Err(InputError::ToolMissing("tesseract language data"));
            }
            return Err(InputError::Malformed(format!("tesseract could not read the image: {msg}")));
        }
        let (text, confidence, words) = parse_tsv(&String::from_utf8_lossy(&out.stdout));
        Ok(OcrText { text: remove_han_spaces(&text), confidence, languages, words })
    }
}

/// A path given to a program as an argument must not look like an option.
pub(crate) fn safe_path_arg(path: &Path) -> PathBuf {
    if path.is_relative() { Path::new(".").join(path) } else { path.to_path_buf() }
}

/// Text (words of a line joined by spaces, a blank line between blocks and paragraphs),
/// mean confidence and word count from tesseract's TSV output.
fn parse_tsv(tsv: &str) -> (String, Option<f32>, usize) {
    let mut text = String::new();
    let mut last: Option<(&str, &str, &str, &str)> = None;
    let mut conf_sum = 0f64;
    let mut conf_n = 0usize;
    let mut words = 0usize;
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let word = cols[11].trim();
        if word.is_empty() {
            continue;
        }
        let key = (cols[1], cols[2], cols[3], cols[4]);
        match last {
            Some(prev) if prev == key => text.push(' '),
            Some(prev) if (prev.0, prev.1, prev.2) == (key.0, key.1, key.2) => text.push('\n'),
            Some(_) => text.push_str("\n\n"),
            None => {}
        }
        last = Some(key);
        text.push_str(word);
        words += 1;
        if let Ok(c) = cols[10].parse::<f64>()
            && c >= 0.0
        {
            conf_sum += c;
            conf_n += 1;
        }
    }
    if !text.is_empty() {
        text.push('\n');
    }
    let confidence = (conf_n > 0).then(|| (conf_sum / conf_n as f64) as f32);
    (text, confidence, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_lines_and_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
            1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
            5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\tHello\n\
            5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t80\tworld\n\
            5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t70\t你\n\
            5\t1\t1\t1\t2\t2\t0\t0\t1\t1\t60\t好\n\
            5\t1\t2\t1\t1\t1\t0\t0\t1\t1\t100\tEnd\n";
        let (text, conf, words) = parse_tsv(tsv);
        assert_eq!(remove_han_spaces(&text), "Hello world\n你好\n\nEnd\n");
        assert_eq!(words, 5);
        assert!((conf.unwrap_or(0.0) - 80.0).abs() < 0.01);
    }
}
