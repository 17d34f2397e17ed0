//! Live speech: turning a stream of re-transcriptions into stable partial transcripts.
//!
//! The caller re-transcribes a rolling window of audio about once a second and feeds each
//! full hypothesis to a [`Settler`]. Words that came out the same (ignoring case and
//! punctuation) at the start of the unsettled part of the last `N` (default 2) hypotheses are
//! *settled*: they never change again. The rest is the *tail*, shown but still moving. A
//! partial `transcript` event is [`Partial::text`] with `is_final: false`; at the end of speech
//! [`Settler::finish`] gives the final text.
//!
//! Comparison is per word for space-separated scripts and per character for Chinese and
//! Japanese (which are written without spaces).
//!
//! Rolling window: when the caller drops old audio from the window it calls
//! [`Settler::commit_window`]; the window should then start at (about) the end of the settled
//! words. The settled words are kept, and later hypotheses are matched against the unsettled
//! part only. A few leading words of a new hypothesis that repeat the end of the committed text
//! (audio cut a little late) are dropped. Audio cut *too early* (inside the unsettled tail)
//! loses those words: trim only audio that the settled words cover.

use std::collections::VecDeque;

/// Longest run of words at the start of a hypothesis checked against the end of the committed
/// text after [`Settler::commit_window`].
const MAX_OVERLAP: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    /// As transcribed (trailing punctuation attached).
    text: String,
    /// Lowercase letters and digits only: what comparisons use.
    norm: String,
    /// Whitespace preceded it in its hypothesis.
    space_before: bool,
    /// First token of its hypothesis (joins to earlier text by script).
    start: bool,
    cjk: bool,
}

/// What is settled and what is still moving after a hypothesis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partial {
    /// Everything settled so far (including earlier windows): never changes except by growing.
    pub settled: String,
    /// The unsettled rest of the latest hypothesis.
    pub tail: String,
    /// `settled` and `tail` joined: the text of a partial `transcript` event.
    pub text: String,
    /// What this hypothesis settled (may be empty).
    pub newly_settled: String,
}

/// Settles words of live transcription hypotheses. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Settler {
    agreement: usize,
    /// Settled words of earlier windows.
    committed: Vec<Token>,
    /// Settled words of the current window (the start of every hypothesis of this window).
    settled: Vec<Token>,
    /// The unsettled parts of the last `agreement` hypotheses, oldest first.
    history: VecDeque<Vec<Token>>,
}

impl Default for Settler {
    fn default() -> Self {
        Self::new()
    }
}

impl Settler {
    /// Settles what the last 2 hypotheses agree on.
    pub fn new() -> Self {
        Self::with_agreement(2)
    }

    /// Settles what the last `n` hypotheses agree on (`n` ≥ 1; 1 settles everything at once).
    pub fn with_agreement(n: usize) -> Self {
        Self { agreement: n.max(1), committed: Vec::new(), settled: Vec::new(), history: VecDeque::new() }
    }

    /// Feeds the transcript of the whole current window.
    pub fn feed(&mut self, hypothesis: &str) -> Partial {
        let candidate = self.unsettled_part(tokenize(hypothesis));
        self.history.push_back(candidate);
        while self.history.len() > self.agreement {
            self.history.pop_front();
        }
        let mut newly = Vec::new();
        if self.history.len() == self.agreement {
            let agreed = common_prefix(&self.history);
            if agreed > 0 {
                if let Some(latest) = self.history.back() {
                    newly = latest[..agreed].to_vec();
                }
                for h in &mut self.history {
                    h.drain(..agreed.min(h.len()));
                }
                self.settled.extend(newly.iter().cloned());
            }
        }
        let tail: &[Token] = self.history.back().map_or(&[], Vec::as_slice);
        let settled_all: Vec<&Token> = self.committed.iter().chain(&self.settled).collect();
        Partial {
            settled: render(settled_all.iter().copied()),
            tail: render(tail.iter()),
            text: render(settled_all.iter().copied().chain(tail)),
            newly_settled: render(newly.iter()),
        }
    }

    /// The caller dropped the old audio of the window, which now starts at (about) the end of
    /// the settled words: they are kept, and later hypotheses are matched against the
    /// unsettled part only.
    pub fn commit_window(&mut self) {
        self.committed.append(&mut self.settled);
    }

    /// Words settled in the current window (since the last [`Settler::commit_window`]): the
    /// caller can trim the window once this is large enough.
    pub fn settled_in_window(&self) -> usize {
        self.settled.len()
    }

    /// Everything settled so far.
    pub fn settled_text(&self) -> String {
        render(self.committed.iter().chain(&self.settled))
    }

    /// The final text: the settled words and the unsettled part of the final hypothesis (the
    /// transcript of the last window, as complete as possible). Resets the settler.
    pub fn finish(&mut self, final_hypothesis: &str) -> String {
        let rest = self.unsettled_part(tokenize(final_hypothesis));
        let text = render(self.committed.iter().chain(&self.settled).chain(&rest));
        self.reset();
        text
    }

    pub fn reset(&mut self) {
        self.committed.clear();
        self.settled.clear();
        self.history.clear();
    }

    /// The part of a window hypothesis after the settled words.
    fn unsettled_part(&self, mut tokens: Vec<Token>) -> Vec<Token> {
        if !self.settled.is_empty() && starts_with(&tokens, &self.settled) {
            return tokens.split_off(self.settled.len());
        }
        let skip = overlap(&self.committed, &tokens);
        tokens.drain(..skip);
        let k = align(&self.settled, &tokens);
        tokens.split_off(k.min(tokens.len()))
    }
}

fn starts_with(tokens: &[Token], prefix: &[Token]) -> bool {
    tokens.len() >= prefix.len() && tokens.iter().zip(prefix).all(|(a, b)| a.norm == b.norm)
}

/// How many tokens of `hypothesis` (the window with the settled words at its start) the
/// settled words take up, when the recognizer re-wrote some of them.
fn align(settled: &[Token], hypothesis: &[Token]) -> usize {
    let Some(last) = settled.last() else { return 0 };
    let expected = settled.len() - 1;
    // The settled words' end, found by their last word near where it should be.
    let best = hypothesis
        .iter()
        .enumerate()
        .filter(|(j, t)| t.norm == last.norm && j.abs_diff(expected) <= 2)
        .min_by_key(|(j, _)| j.abs_diff(expected));
    match best {
        Some((j, _)) => j + 1,
        None => settled.len(),
    }
}

/// The longest run at the start of `hypothesis` that repeats the end of `committed`.
fn overlap(committed: &[Token], hypothesis: &[Token]) -> usize {
    let max = MAX_OVERLAP.min(committed.len()).min(hypothesis.len());
    for k in (1..=max).rev() {
        let end = &committed[committed.len() - k..];
        if end.iter().zip(&hypothesis[..k]).all(|(a, b)| a.norm == b.norm) {
            // A single repeated short word or character is as likely speech ("no, no").
            if k == 1 && (hypothesis[0].cjk || hypothesis[0].norm.chars().count() < 3) {
                return 0;
            }
            return k;
        }
    }
    0
}

fn common_prefix(history: &VecDeque<Vec<Token>>) -> usize {
    let Some(first) = history.front() else { return 0 };
    let mut n = 0;
    while n < first.len() && history.iter().all(|h| h.get(n).is_some_and(|t| t.norm == first[n].norm)) {
        n += 1;
    }
    n
}

/// Chinese and Japanese characters: each is compared on its own.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x3134F  // Extensions B..G
    )
}

fn normalize(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut raw: Vec<(String, bool, bool)> = Vec::new(); // (text, space_before, cjk)
    let mut word = String::new();
    let mut word_space = false;
    let mut space = false;
    let flush = |word: &mut String, word_space: bool, raw: &mut Vec<(String, bool, bool)>| {
        if !word.is_empty() {
            raw.push((std::mem::take(word), word_space, false));
        }
    };
    for c in text.chars() {
        if c.is_whitespace() {
            flush(&mut word, word_space, &mut raw);
            space = true;
        } else if is_cjk(c) {
            flush(&mut word, word_space, &mut raw);
            raw.push((c.to_string(), space, true));
            space = false;
        } else {
            if word.is_empty() {
                word_space = space;
            }
            word.push(c);
            space = false;
        }
    }
    flush(&mut word, word_space, &mut raw);

    // Punctuation on its own sticks to the word before it (or the one after, at the start).
    let mut tokens: Vec<Token> = Vec::with_capacity(raw.len());
    let mut pending = String::new();
    for (text, space_before, cjk) in raw {
        let norm = normalize(&text);
        if norm.is_empty() {
            match tokens.last_mut() {
                Some(prev) => {
                    if space_before {
                        prev.text.push(' ');
                    }
                    prev.text.push_str(&text);
                }
                None => {
                    pending.push_str(&text);
                    if space_before {
                        pending.push(' ');
                    }
                }
            }
            continue;
        }
        let text = if pending.is_empty() { text } else { format!("{}{text}", std::mem::take(&mut pending)) };
        tokens.push(Token { text, norm, space_before, start: false, cjk });
    }
    if let Some(first) = tokens.first_mut() {
        first.start = true;
    }
    tokens
}

fn render<'a>(tokens: impl IntoIterator<Item = &'a Token>) -> String {
    let mut out = String::new();
    let mut prev: Option<&Token> = None;
    for t in tokens {
        if let Some(p) = prev {
            let space = if t.start { !(p.cjk || t.cjk) || t.space_before } else { t.space_before };
            if space {
                out.push(' ');
            }
        }
        out.push_str(&t.text);
        prev = Some(t);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn feed(s: &mut Settler, h: &str) -> (String, String) {
        let p = s.feed(h);
        assert_eq!(p.text, join(&p.settled, &p.tail), "text = settled + tail for {h:?}");
        (p.settled, p.tail)
    }

    fn join(a: &str, b: &str) -> String {
        match (a.is_empty(), b.is_empty()) {
            (true, _) => b.into(),
            (_, true) => a.into(),
            _ if a.chars().last().is_some_and(is_cjk) || b.chars().next().is_some_and(is_cjk) => format!("{a}{b}"),
            _ => format!("{a} {b}"),
        }
    }

    #[test]
    fn settles_what_two_hypotheses_agree_on() {
        let mut s = Settler::new();
        assert_eq!(feed(&mut s, "hello"), ("".into(), "hello".into()));
        assert_eq!(feed(&mut s, "hello world"), ("hello".into(), "world".into()));
        assert_eq!(feed(&mut s, "hello word how"), ("hello".into(), "word how".into()));
        assert_eq!(feed(&mut s, "hello world how are"), ("hello".into(), "world how are".into()));
        let p = s.feed("hello world how are you");
        assert_eq!(p.settled, "hello world how are");
        assert_eq!(p.newly_settled, "world how are");
        assert_eq!(p.tail, "you");
        assert_eq!(p.text, "hello world how are you");
        assert_eq!(s.finish("hello world how are you today"), "hello world how are you today");
    }

    #[test]
    fn the_first_hypothesis_settles_nothing() {
        let mut s = Settler::new();
        let p = s.feed("one two three");
        assert_eq!(p.settled, "");
        assert_eq!(p.tail, "one two three");
        assert_eq!(p.newly_settled, "");
    }

    #[test]
    fn changing_tail_words_do_not_settle() {
        let mut s = Settler::new();
        feed(&mut s, "the cat");
        assert_eq!(feed(&mut s, "the hat sat"), ("the".into(), "hat sat".into()));
        assert_eq!(feed(&mut s, "the bat sat on"), ("the".into(), "bat sat on".into()));
        assert_eq!(feed(&mut s, "the bat sat on the mat"), ("the bat sat on".into(), "the mat".into()));
    }

    #[test]
    fn settled_words_never_unsettle() {
        let mut s = Settler::new();
        feed(&mut s, "I scream");
        assert_eq!(feed(&mut s, "I scream for"), ("I scream".into(), "for".into()));
        // The recognizer changes its mind about settled words: they stay, the rest is aligned.
        // ("for" was the previous tail and is still there: it settles.)
        assert_eq!(feed(&mut s, "ice cream for ice"), ("I scream for".into(), "ice".into()));
        assert_eq!(feed(&mut s, "Ice cream for ice cream"), ("I scream for ice".into(), "cream".into()));
        // A hypothesis shorter than what is settled: nothing un-settles, the tail is empty.
        assert_eq!(feed(&mut s, "I"), ("I scream for ice".into(), "".into()));
        assert_eq!(s.finish("I scream for ice cream"), "I scream for ice cream");
    }

    #[test]
    fn punctuation_and_case_are_ignored_but_the_latest_form_is_kept() {
        let mut s = Settler::new();
        feed(&mut s, "hello world how");
        let p = s.feed("Hello, world. How are");
        assert_eq!(p.settled, "Hello, world. How");
        assert_eq!(p.tail, "are");
        // Later forms of settled words do not change them.
        let p = s.feed("hello world, how are you?");
        assert_eq!(p.settled, "Hello, world. How are");
        assert_eq!(p.tail, "you?");
        assert_eq!(p.text, "Hello, world. How are you?");
        // Lone punctuation sticks to its word.
        let p = s.feed("Hello world how are you ?");
        assert_eq!(p.settled, "Hello, world. How are you ?");
        assert_eq!(s.finish("Hello, world. How are you?"), "Hello, world. How are you ?");
    }

    #[test]
    fn numbers_and_apostrophes_normalize() {
        let mut s = Settler::new();
        feed(&mut s, "It's 1,000 dollars");
        assert_eq!(feed(&mut s, "its 1000 dollars and"), ("its 1000 dollars".into(), "and".into()));
    }

    #[test]
    fn chinese_is_compared_by_character() {
        let mut s = Settler::new();
        assert_eq!(feed(&mut s, "今天天"), ("".into(), "今天天".into()));
        assert_eq!(feed(&mut s, "今天天气"), ("今天天".into(), "气".into()));
        assert_eq!(feed(&mut s, "今天天汽很"), ("今天天".into(), "汽很".into()));
        let p = s.feed("今天天气很好，");
        assert_eq!(p.settled, "今天天");
        assert_eq!(p.tail, "气很好，");
        let p = s.feed("今天天气很好，我们");
        assert_eq!(p.settled, "今天天气很好，");
        assert_eq!(p.newly_settled, "气很好，");
        assert_eq!(p.tail, "我们");
        assert_eq!(p.text, "今天天气很好，我们");
        // Punctuation differences between hypotheses do not matter for CJK either.
        let p = s.feed("今天天气很好。我们去");
        assert_eq!(p.settled, "今天天气很好，我们");
        assert_eq!(s.finish("今天天气很好。我们去公园。"), "今天天气很好，我们去公园。");
    }

    #[test]
    fn mixed_scripts_keep_their_spacing() {
        let mut s = Settler::new();
        feed(&mut s, "我用 iPhone 拍照");
        let p = s.feed("我用 iphone 拍照了");
        assert_eq!(p.settled, "我用 iphone 拍照");
        assert_eq!(p.tail, "了");
        assert_eq!(p.text, "我用 iphone 拍照了");
        let mut s = Settler::new();
        feed(&mut s, "我用iPhone拍照");
        assert_eq!(s.feed("我用iPhone拍照").settled, "我用iPhone拍照");
    }

    #[test]
    fn japanese_without_spaces() {
        let mut s = Settler::new();
        feed(&mut s, "こんにちは世界");
        let p = s.feed("こんにちは、世界です");
        assert_eq!(p.settled, "こんにちは、世界");
        assert_eq!(p.tail, "です");
    }

    #[test]
    fn commit_window_keeps_settled_words_and_matches_only_new_ones() {
        let mut s = Settler::new();
        feed(&mut s, "the quick brown");
        feed(&mut s, "the quick brown fox");
        assert_eq!(s.settled_in_window(), 3);
        // The caller drops the audio of "the quick brown".
        s.commit_window();
        assert_eq!(s.settled_in_window(), 0);
        // The new window's hypotheses start where the settled words ended; the earlier tail
        // ("fox") still counts as one of the agreeing hypotheses.
        let p = s.feed("fox jumps");
        assert_eq!(p.settled, "the quick brown fox");
        assert_eq!(p.newly_settled, "fox");
        assert_eq!(p.tail, "jumps");
        assert_eq!(p.text, "the quick brown fox jumps");
        let p = s.feed("fox jumps over");
        assert_eq!(p.settled, "the quick brown fox jumps");
        assert_eq!(p.tail, "over");
        s.commit_window();
        assert_eq!(s.finish("over the lazy dog"), "the quick brown fox jumps over the lazy dog");
    }

    #[test]
    fn a_window_cut_a_little_late_repeats_nothing() {
        let mut s = Settler::new();
        feed(&mut s, "we should meet tomorrow");
        feed(&mut s, "we should meet tomorrow morning");
        s.commit_window();
        // The trimmed window still holds "meet tomorrow": they are not repeated.
        let p = s.feed("meet tomorrow morning at");
        assert_eq!(p.settled, "we should meet tomorrow morning");
        assert_eq!(p.tail, "at");
        let p = s.feed("meet tomorrow morning at nine");
        assert_eq!(p.settled, "we should meet tomorrow morning at");
        assert_eq!(s.finish("meet tomorrow morning at nine."), "we should meet tomorrow morning at nine.");
    }

    #[test]
    fn a_single_short_repeated_word_is_speech_not_overlap() {
        let mut s = Settler::new();
        feed(&mut s, "I said no");
        feed(&mut s, "I said no");
        s.commit_window();
        let p = s.feed("no no");
        assert_eq!(p.text, "I said no no no");
    }

    #[test]
    fn chinese_rolling_window() {
        let mut s = Settler::new();
        feed(&mut s, "我们明天");
        feed(&mut s, "我们明天见面");
        s.commit_window();
        let p = s.feed("见面吧");
        assert_eq!(p.settled, "我们明天见面");
        assert_eq!(p.tail, "吧");
        assert_eq!(p.text, "我们明天见面吧");
        assert_eq!(s.finish("见面吧。"), "我们明天见面吧。");
    }

    #[test]
    fn silence_and_empty_hypotheses() {
        let mut s = Settler::new();
        assert_eq!(s.feed("").text, "");
        assert_eq!(s.feed("   ").text, "");
        feed(&mut s, "yes");
        assert_eq!(feed(&mut s, "yes"), ("yes".into(), "".into()));
        assert_eq!(feed(&mut s, ""), ("yes".into(), "".into()));
        assert_eq!(s.finish(""), "yes");
        // finish resets.
        assert_eq!(s.settled_text(), "");
        assert_eq!(s.finish("again"), "again");
    }

    #[test]
    fn more_agreement_settles_later() {
        let mut s = Settler::with_agreement(3);
        feed(&mut s, "a b");
        assert_eq!(feed(&mut s, "a b c"), ("".into(), "a b c".into()));
        assert_eq!(feed(&mut s, "a b c d"), ("a b".into(), "c d".into()));
        let mut s = Settler::with_agreement(1);
        assert_eq!(feed(&mut s, "a b"), ("a b".into(), "".into()));
    }

    #[test]
    fn leading_whitespace_and_punctuation() {
        let mut s = Settler::new();
        feed(&mut s, " — well, okay");
        let p = s.feed(" — Well, okay then");
        assert_eq!(p.settled, "— Well, okay");
        assert_eq!(p.tail, "then");
    }
}
