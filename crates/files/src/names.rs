//! User-supplied file names made harmless to store, show and send back.

use std::fmt::Write as _;

/// The longest name [`safe_name`] returns, in characters.
const MAX_NAME_CHARS: usize = 200;
/// A suffix longer than this after the last dot is not treated as an extension.
const MAX_EXTENSION_CHARS: usize = 20;

/// A file name safe to store and to show.
///
/// Keeps only the last path component (both `/` and `\` separate), drops control and
/// invisible formatting characters (bidi overrides, zero-width), turns `"` into `'` and the
/// other characters Windows forbids (`<>:|?*`) into `_`, trims spaces and leading/trailing
/// dots, and cuts to 200 characters keeping the extension. Never empty: `"file"`.
pub fn safe_name(original: &str) -> String {
    let last = original.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_invisible(*c))
        .map(|c| match c {
            '"' => '\'',
            '<' | '>' | ':' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim_end_matches(['.', ' ']).trim();
    if trimmed.is_empty() {
        return "file".to_owned();
    }
    if trimmed.chars().count() <= MAX_NAME_CHARS {
        return trimmed.to_owned();
    }
    let (stem, ext) = split_extension(trimmed);
    let keep = MAX_NAME_CHARS - ext.map_or(0, |e| e.chars().count() + 1);
    let mut out: String = stem.chars().take(keep).collect();
    out.truncate(out.trim_end_matches(['.', ' ']).len());
    if let Some(ext) = ext {
        out.push('.');
        out.push_str(ext);
    }
    out
}

/// `(stem, Some(extension))` when the name ends in a short `.ext` after a non-empty stem.
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && !ext.is_empty()
                && ext.chars().count() <= MAX_EXTENSION_CHARS
                && !ext.contains(' ') =>
        {
            (stem, Some(ext))
        }
        _ => (name, None),
    }
}

/// Characters that change how a name looks without being seen: bidi controls (the
/// "invoice\u{202E}fdp.exe" trick), zero-width characters, BOM, interlinear annotations.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// A `Content-Disposition` header value for downloading a file named `name` (RFC 6266):
/// `attachment; filename="ascii-fallback"; filename*=UTF-8''percent-encoded`.
///
/// The name goes through [`safe_name`] first. The fallback keeps printable ASCII (`"` `\` `%`
/// never appear in it), folds common accented Latin letters (é → e) and turns other runs of
/// characters into `_` (`file.ext` when nothing readable is left); `filename*` carries the full
/// name percent-encoded (RFC 5987 `attr-char`s only).
pub fn content_disposition(name: &str) -> String {
    let name = safe_name(name);
    format!("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii_fallback(&name), percent_encode(&name))
}

fn ascii_fallback(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let mapped = match c {
            ' '..='~' if !matches!(c, '"' | '\\' | '%') => Some(c),
            _ => fold_latin(c),
        };
        match mapped {
            Some(m) => out.push(m),
            None if out.ends_with('_') => {}
            None => out.push('_'),
        }
    }
    let (stem, ext) = split_extension(&out);
    if stem.chars().any(|c| c.is_ascii_alphanumeric()) {
        return out;
    }
    match ext {
        Some(ext) => format!("file.{ext}"),
        None => "file".to_owned(),
    }
}

/// The plain letter of an accented Latin-1 letter.
fn fold_latin(c: char) -> Option<char> {
    Some(match c {
        'À'..='Å' => 'A',
        'Ç' => 'C',
        'È'..='Ë' => 'E',
        'Ì'..='Ï' => 'I',
        'Ñ' => 'N',
        'Ò'..='Ö' | 'Ø' => 'O',
        'Ù'..='Ü' => 'U',
        'Ý' => 'Y',
        'à'..='å' => 'a',
        'ç' => 'c',
        'è'..='ë' => 'e',
        'ì'..='ï' => 'i',
        'ñ' => 'n',
        'ò'..='ö' | 'ø' => 'o',
        'ù'..='ü' => 'u',
        'ý' | 'ÿ' => 'y',
        _ => return None,
    })
}

/// RFC 5987 `value-chars`: every byte except `attr-char`s is `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
