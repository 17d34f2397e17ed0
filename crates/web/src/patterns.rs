//! E-mail addresses and phone numbers found in text.

use std::sync::LazyLock;

use regex::Regex;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)[a-z0-9](?:[a-z0-9._%+\-]{0,62}[a-z0-9_%+\-])?@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b")
});

/// Digit groups joined by the separators phone numbers use; judged by [`phone_ok`].
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\+[\t \x{A0}]?)?(?:\([\t \x{A0}]?\+?\d{1,4}[\t \x{A0}]?\)[\t \x{A0}]?)?\d{1,5}(?:(?:[\t \x{A0}]?[.\-][\t \x{A0}]?|[\t \x{A0}]|/)?(?:\(\d{1,4}\)[\t \x{A0}]?)?\d{1,5})+",
    )
});

/// A date at the start of a candidate: `2024-01-15`, `15/01/2024`, `15.01.24`.
static DATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}|\d{1,2}[\-/.]\d{1,2}[\-/.](?:\d{4}|\d{2}))(?:\D|$)"));

/// Compiles a constant pattern (every one is exercised by the tests).
#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant regex")
}

const NOT_TLDS: &[&str] =
    &["png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "css", "js", "bmp", "tif", "tiff"];

/// Whether `s` has the shape of an e-mail address (`local@domain.tld`, no file-name "TLD").
pub(crate) fn email_ok(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    let tld = domain.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c))
        && domain.contains('.')
        && domain.len() <= 253
        && domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && !NOT_TLDS.contains(&tld.as_str())
}

/// E-mail addresses in free text (domain lowercased).
pub(crate) fn emails_in(text: &str) -> Vec<String> {
    EMAIL.find_iter(text).map(|m| m.as_str()).filter(|s| email_ok(s)).map(normalize_email).collect()
}

/// `Local@Example.COM` → `Local@example.com`.
pub(crate) fn normalize_email(s: &str) -> String {
    match s.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => s.to_owned(),
    }
}

/// Phone numbers in free text, as written (whitespace collapsed).
pub(crate) fn phones_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in PHONE.find_iter(text) {
        let before = &text[..m.start()];
        let after = &text[m.end()..];
        if let Some(phone) = phone_ok(m.as_str(), before, after) {
            out.push(phone);
        }
    }
    out
}

/// Judges a candidate run and returns it cleaned, or `None` when it is more likely a
/// date, year range, price, decimal number, identifier or part of a longer token.
fn phone_ok(candidate: &str, before: &str, after: &str) -> Option<String> {
    let digits = candidate.chars().filter(char::is_ascii_digit).count();
    if !(8..=15).contains(&digits) {
        return None;
    }
    // Glued to a word, a decimal, an amount or a percentage.
    let prev = before.chars().next_back();
    if prev.is_some_and(|c| c.is_ascii_alphanumeric() || "$€£¥₹.,_/#-@".contains(c)) {
        return None;
    }
    if after.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || "%_@".contains(c)) {
        return None;
    }
    // Followed by more of a number or a time: "12 345 678.90", "2024-01-15 10:30".
    if after.starts_with([',', '.', ':']) && after[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    // A currency word just before: "USD 12 345 678", "S$ 1234 5678", "RM 1 234 567".
    let lead = before.trim_end();
    let lead_word: String =
        lead.chars().rev().take_while(|c| !c.is_whitespace()).collect::<Vec<_>>().into_iter().rev().collect();
    let lead_upper = lead_word.to_ascii_uppercase();
    if lead_upper.contains(['$', '€', '£', '¥'])
        || [
            "USD", "SGD", "HKD", "EUR", "GBP", "RM", "MYR", "RMB", "CNY", "JPY", "AUD", "IDR", "RP", "PHP", "THB",
            "INR",
        ]
        .contains(&lead_upper.as_str())
    {
        return None;
    }
    if ["ISBN", "ISBN:", "ISSN", "ISSN:"].contains(&lead_upper.as_str()) {
        return None;
    }
    let compact: String = candidate.chars().filter(|c| !c.is_whitespace()).collect();
    if DATE.is_match(&compact) {
        return None;
    }
    let groups: Vec<&str> = candidate.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    let international = candidate.starts_with('+') || candidate.starts_with("(+");
    // Two years: "2019 - 2024", "1999/2000".
    if groups.len() == 2 && groups.iter().all(|g| g.len() == 4 && (g.starts_with("19") || g.starts_with("20"))) {
        return None;
    }
    // A bare digit run ("20240115", an order number) is not taken as a phone number.
    if groups.len() < 2 && !international {
        return None;
    }
    // A single dot between two groups is a decimal number ("1234.5678").
    let dots = candidate.matches('.').count();
    if dots == 1 && groups.len() == 2 {
        return None;
    }
    // Dotted quads (IPv4 addresses) and version numbers ("1.2.3.4.5.6.7.8").
    let only_dots = candidate.chars().all(|c| c.is_ascii_digit() || c == '.');
    if only_dots && groups.len() == 4 && groups.iter().all(|g| g.len() <= 3) {
        return None;
    }
    if groups.iter().filter(|g| g.len() == 1).count() >= 3 {
        return None;
    }
    if groups.iter().any(|g| g.len() > 12) {
        return None;
    }
    Some(candidate.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The digits of a phone number: the key for de-duplication.
pub(crate) fn phone_key(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let text = "Write to Sales@Mezzofy.COM or hr.team+jobs@mezzofy.com.sg. Not logo@2x.png, not a@b, \
                    not user@@host.com, nor x@-bad.com. Support: support@help.example.org!";
        assert_eq!(
            emails_in(text),
            vec!["Sales@mezzofy.com", "hr.team+jobs@mezzofy.com.sg", "support@help.example.org"]
        );
        assert!(email_ok("a.b@c.io"));
        assert!(!email_ok("a..b@c.io"));
        assert!(!email_ok(".a@c.io"));
        assert!(!email_ok("a@c.i0"));
    }

    #[test]
    fn phones_found() {
        let text = "Call +65 6123 4567 or (65) 6123-4567, US +1-415-555-0100, UK +44 (0)20 7946 0958, \
                    CN +86 10 1234 5678, local 6123 4567 / 9123-4567, dotted 415.555.0100, (021) 5555-1234.";
        assert_eq!(
            phones_in(text),
            vec![
                "+65 6123 4567",
                "(65) 6123-4567",
                "+1-415-555-0100",
                "+44 (0)20 7946 0958",
                "+86 10 1234 5678",
                "6123 4567",
                "9123-4567",
                "415.555.0100",
                "(021) 5555-1234"
            ]
        );
    }

    #[test]
    fn not_phones() {
        for text in [
            "Founded 2019 - 2024 milestones",
            "Published 2024-01-15 and 15/01/2024 and 15.01.2024",
            "Price $1299.00 or S$ 1234 5678 or USD 12 345 678",
            "Revenue 12,345,678.90 this year",
            "Order 20240115123 shipped",
            "pi is 3.14159265 roughly",
            "ISBN 978-3-16-148410-0",
            "version 1.2.3.4.5.6.7.8",
            "ratio 12345678%",
            "copyright © 2024 Mezzofy Pte Ltd",
            "123 4567",
            "server 192.168.100.200 is down",
            "at 2024-01-15 10:30 local time",
        ] {
            assert!(phones_in(text).is_empty(), "{text}: {:?}", phones_in(text));
        }
    }

    #[test]
    fn keys() {
        assert_eq!(phone_key("+65 6123 4567"), "6561234567");
        assert_eq!(phone_key("(65) 6123-4567"), "6561234567");
    }
}
