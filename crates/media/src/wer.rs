//! Word and character error rates, for checking and benchmarking speech-to-text.

/// Lowercases and replaces everything but letters, digits and apostrophes with spaces.
pub fn normalize(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).map(|c| if c.is_alphanumeric() || c == '\'' { c } else { ' ' }).collect()
}

/// Word error rate: word-level edit distance / reference word count, after [`normalize`].
/// 0.0 is perfect; it can exceed 1.0 when the hypothesis adds words.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let r = normalize(reference);
    let h = normalize(hypothesis);
    let r: Vec<&str> = r.split_whitespace().collect();
    let h: Vec<&str> = h.split_whitespace().collect();
    rate(&r, &h)
}

/// Character error rate over letters and digits only (spaces and punctuation dropped), for
/// languages written without spaces such as Chinese.
pub fn char_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let keep = |s: &str| normalize(s).chars().filter(|c| !c.is_whitespace()).collect::<Vec<char>>();
    rate(&keep(reference), &keep(hypothesis))
}

fn rate<T: PartialEq>(r: &[T], h: &[T]) -> f64 {
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    let mut cur = vec![0; h.len() + 1];
    for (i, rw) in r.iter().enumerate() {
        cur[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[h.len()] as f64 / r.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(word_error_rate("The quick brown fox.", "the quick brown fox"), 0.0);
        assert_eq!(word_error_rate("a b c d", "a x c"), 0.5);
        assert_eq!(word_error_rate("a b", "a b c d"), 1.0);
        assert_eq!(char_error_rate("请把报告发给我。", "請把報告發給我"), 4.0 / 7.0);
        assert_eq!(char_error_rate("", ""), 0.0);
    }
}
