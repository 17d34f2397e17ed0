//! Media-type classification and charset decoding of response bodies.

use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How a body is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Html,
    Text,
    Binary,
}

/// The lowercased media type (`text/html`) and `charset` parameter of a `Content-Type` value.
pub(crate) fn parse_content_type(value: &str) -> (String, Option<String>) {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
            (!v.is_empty()).then(|| v.to_owned())
        } else {
            None
        }
    });
    (essence, charset)
}

/// Classifies a body by its media type; without one, by sniffing its first bytes.
pub(crate) fn classify(essence: Option<&str>, bytes: &[u8]) -> Kind {
    match essence {
        Some("text/html" | "application/xhtml+xml") => Kind::Html,
        Some("") | None => sniff(bytes),
        Some(m)
            if m.starts_with("text/")
                || m.ends_with("+xml")
                || m.ends_with("+json")
                || matches!(m, "application/json" | "application/xml" | "application/javascript") =>
        {
            Kind::Text
        }
        Some(_) => Kind::Binary,
    }
}

fn sniff(bytes: &[u8]) -> Kind {
    let head = &bytes[..bytes.len().min(1024)];
    let lower = head.to_ascii_lowercase();
    let start = strip_bom(&lower).trim_ascii_start();
    if start.starts_with(b"<!doctype html")
        || start.starts_with(b"<html")
        || contains(&lower, b"<html")
        || contains(&lower, b"<body")
        || contains(&lower, b"<head")
    {
        Kind::Html
    } else if head.contains(&0) {
        Kind::Binary
    } else {
        Kind::Text
    }
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

static META_CHARSET: LazyLock<regex::bytes::Regex> =
    LazyLock::new(|| re(r#"<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)"#));

/// Compiles a constant pattern (every one is exercised by the tests).
#[allow(clippy::expect_used)]
fn re(pattern: &str) -> regex::bytes::Regex {
    regex::bytes::Regex::new(pattern).expect("constant regex")
}

/// Decodes a body to text: a byte-order mark wins, then the `Content-Type` charset,
/// then (for HTML) a `<meta charset>` / `http-equiv` declaration in the first 4 KiB,
/// then UTF-8 if the bytes are valid UTF-8, else windows-1252.
/// Returns the text and the name of the encoding used.
pub(crate) fn decode(bytes: &[u8], header_charset: Option<&str>, html: bool) -> (String, &'static str) {
    let declared = header_charset
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .or_else(|| if html { meta_charset(bytes) } else { None });
    let encoding = declared.unwrap_or_else(|| if std::str::from_utf8(bytes).is_ok() { UTF_8 } else { WINDOWS_1252 });
    // `decode` sniffs a BOM first and strips it.
    let (text, used, _had_errors) = encoding.decode(bytes);
    (text.into_owned(), used.name())
}

fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = bytes[..bytes.len().min(4096)].to_ascii_lowercase();
    let caps = META_CHARSET.captures(&head)?;
    let enc = Encoding::for_label(caps.get(1)?.as_bytes())?;
    // A page that says it is UTF-16 in its own (ASCII) text is not: HTML spec treats it as UTF-8.
    Some(if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE { UTF_8 } else { enc })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_parsing() {
        assert_eq!(parse_content_type("text/html; charset=GBK"), ("text/html".into(), Some("GBK".into())));
        assert_eq!(parse_content_type("Text/HTML;charset=\"utf-8\""), ("text/html".into(), Some("utf-8".into())));
        assert_eq!(parse_content_type("application/json"), ("application/json".into(), None));
    }

    #[test]
    fn classification() {
        assert_eq!(classify(Some("text/html"), b""), Kind::Html);
        assert_eq!(classify(Some("application/xhtml+xml"), b""), Kind::Html);
        assert_eq!(classify(Some("text/plain"), b""), Kind::Text);
        assert_eq!(classify(Some("application/rss+xml"), b""), Kind::Text);
        assert_eq!(classify(Some("application/json"), b"{}"), Kind::Text);
        assert_eq!(classify(Some("image/png"), b"\x89PNG"), Kind::Binary);
        assert_eq!(classify(None, b"  <!DOCTYPE html><p>x"), Kind::Html);
        assert_eq!(classify(None, b"hello world"), Kind::Text);
        assert_eq!(classify(None, b"\x00\x01\x02"), Kind::Binary);
    }

    #[test]
    fn decoding_order() {
        // GBK for "中文"
        let gbk = b"\xD6\xD0\xCE\xC4";
        assert_eq!(decode(gbk, Some("gb2312"), false), ("中文".to_owned(), "GBK"));
        let page = b"<html><head><meta charset=\"gbk\"></head><body>\xD6\xD0\xCE\xC4</body></html>";
        assert!(decode(page, None, true).0.contains("中文"));
        let page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=big5\">\xA4\xA4\xA4\xE5";
        let (text, enc) = decode(page, None, true);
        assert!(text.ends_with("中文"), "{text}");
        assert_eq!(enc, "Big5");
        // The header wins over the meta tag.
        let (_, enc) = decode(b"<meta charset=big5>abc", Some("utf-8"), true);
        assert_eq!(enc, "UTF-8");
        // A BOM wins over everything.
        let (text, enc) = decode(b"\xEF\xBB\xBFcaf\xC3\xA9", Some("windows-1252"), false);
        assert_eq!((text.as_str(), enc), ("café", "UTF-8"));
        // Undeclared: UTF-8 if valid, else windows-1252.
        assert_eq!(decode("中文".as_bytes(), None, true).0, "中文");
        assert_eq!(decode(b"caf\xE9", None, false).0, "café");
    }
}
