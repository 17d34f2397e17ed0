/// `SGD 1,234,567.89` from cents.
pub fn format_cents(currency: &str, cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{currency} {grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::format_cents;

    #[test]
    fn groups_thousands_and_keeps_cents() {
        assert_eq!(format_cents("SGD", 0), "SGD 0.00");
        assert_eq!(format_cents("SGD", 5), "SGD 0.05");
        assert_eq!(format_cents("SGD", 123_456_789), "SGD 1,234,567.89");
        assert_eq!(format_cents("SGD", -100_000), "-SGD 1,000.00");
        assert_eq!(format_cents("SGD", 99_999), "SGD 999.99");
    }
}
