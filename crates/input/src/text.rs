//! Text decoding (BOM, UTF-8, UTF-16, legacy encodings) and small text helpers.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use serde::Serialize;

/// Text decoded from bytes of an unknown encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecodedText {
    pub text: String,
    /// WHATWG name of the encoding used, e.g. `UTF-8`, `UTF-16LE`, `GBK`, `Big5`, `Shift_JIS`.
    pub encoding: &'static str,
    /// Some bytes were not valid in that encoding (replaced by U+FFFD).
    pub had_errors: bool,
}

/// Decodes `bytes`: a BOM wins (UTF-8, UTF-16LE/BE); else valid UTF-8; else UTF-16 without a
/// BOM when the NUL pattern says so; else the legacy encoding `chardetng` guesses (GBK,
/// Big5, Shift_JIS, EUC-KR, windows-1252, ...). A multi-byte character cut off at the very
/// end (a truncated read) does not make UTF-8 input count as legacy.
pub fn decode_text(bytes: &[u8]) -> DecodedText {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return decode_with(enc, &bytes[bom_len..]);
    }
    // Before UTF-8: ASCII in UTF-16 is valid UTF-8 too (full of NULs).
    if let Some(enc) = utf16_without_bom(bytes) {
        return decode_with(enc, bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => return DecodedText { text: s.to_owned(), encoding: UTF_8.name(), had_errors: false },
        Err(e) if e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4 => {
            let text = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
            return DecodedText { text, encoding: UTF_8.name(), had_errors: false };
        }
        Err(_) => {}
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    let enc = detector.guess(None, chardetng::Utf8Detection::Allow);
    decode_with(enc, bytes)
}

fn decode_with(enc: &'static Encoding, bytes: &[u8]) -> DecodedText {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    DecodedText { text: text.into_owned(), encoding: enc.name(), had_errors }
}

/// Mostly-ASCII UTF-16 text has a NUL in every other byte.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 8 {
        return None;
    }
    let pairs = sample.len() / 2;
    let even = sample.iter().step_by(2).filter(|b| **b == 0).count();
    let odd = sample.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    if odd * 10 >= pairs * 4 && even * 20 <= pairs {
        Some(UTF_16LE)
    } else if even * 10 >= pairs * 4 && odd * 20 <= pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Does decoded text look like text (not binary data decoded by force)?
pub(crate) fn looks_like_text(d: &DecodedText) -> bool {
    if d.had_errors || d.text.is_empty() {
        return false;
    }
    let control = d.text.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c')).count();
    control * 100 <= d.text.chars().count()
}

/// Han ideographs, kana, CJK punctuation and full-width forms: scripts written without
/// spaces between characters.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F   // CJK symbols and punctuation
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3400..=0x4DBF // Extension A
        | 0x4E00..=0x9FFF // Unified ideographs
        | 0xF900..=0xFAFF // Compatibility ideographs
        | 0xFF00..=0xFFEF // Full-width forms
        | 0x20000..=0x2EBEF)
}

/// Removes the spaces OCR puts between CJK characters (`你 好 世 界` → `你好世界`), leaving
/// spaces next to Latin text and line breaks alone.
pub fn remove_han_spaces(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\u{3000}' {
            let start = i;
            while i < chars.len() && (chars[i] == ' ' || chars[i] == '\u{3000}') {
                i += 1;
            }
            let before = start.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i).copied();
            if !(before.is_some_and(is_cjk) && after.is_some_and(is_cjk)) {
                out.extend(&chars[start..i]);
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Cuts `s` to at most `max` characters; `true` when something was cut.
pub(crate) fn truncate_chars(s: &mut String, max: usize) -> bool {
    match s.char_indices().nth(max) {
        Some((at, _)) => {
            s.truncate(at);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn han_spaces() {
        assert_eq!(remove_han_spaces("你 好 世 界 hello world 中 文"), "你好世界 hello world 中文");
        assert_eq!(remove_han_spaces("a  b\n中 文\n"), "a  b\n中文\n");
        assert_eq!(remove_han_spaces("价格 ： 100"), "价格：100".replace("100", " 100"));
    }

    #[test]
    fn truncation() {
        let mut s = "中文abc".to_owned();
        assert!(truncate_chars(&mut s, 3));
        assert_eq!(s, "中文a");
        assert!(!truncate_chars(&mut s, 3));
    }

    #[test]
    fn utf16_no_bom() {
        let bytes: Vec<u8> = "hello world, plain".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let d = decode_text(&bytes);
        assert_eq!(d.encoding, "UTF-16LE");
        assert_eq!(d.text, "hello world, plain");
    }
}
