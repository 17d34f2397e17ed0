//! Which language a user writes in, by cheap counting: Han characters for Chinese, frequent
//! function words for Malay against English ones. It picks the provider order and the
//! offline engine's reply language, so a wrong guess costs little.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    English,
    Chinese,
    Malay,
    Other,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::English => "english",
            Language::Chinese => "chinese",
            Language::Malay => "malay",
            Language::Other => "other",
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Frequent Malay words (function words and office vocabulary) that are not English words.
const MALAY: &[&str] = &[
    "ada",
    "adalah",
    "akan",
    "anda",
    "apa",
    "atau",
    "awak",
    "bagaimana",
    "bagi",
    "bahawa",
    "baru",
    "beli",
    "beliau",
    "belum",
    "berapa",
    "bila",
    "boleh",
    "buat",
    "bulan",
    "cari",
    "dalam",
    "dan",
    "dari",
    "daripada",
    "dengan",
    "di",
    "dia",
    "emel",
    "hantar",
    "harga",
    "hari",
    "ialah",
    "ini",
    "itu",
    "jika",
    "jualan",
    "juga",
    "jumlah",
    "jumpa",
    "kalau",
    "kami",
    "kasih",
    "ke",
    "kepada",
    "kita",
    "lagi",
    "laporan",
    "lepas",
    "mahu",
    "mereka",
    "mesyuarat",
    "minggu",
    "minta",
    "nak",
    "oleh",
    "pada",
    "pagi",
    "pelanggan",
    "pesanan",
    "petang",
    "ringkasan",
    "sahaja",
    "saya",
    "selamat",
    "semua",
    "senarai",
    "sila",
    "sudah",
    "syarikat",
    "tahun",
    "tak",
    "terima",
    "tidak",
    "tolong",
    "untuk",
    "yang",
];

/// Frequent English words that are not Malay words.
const ENGLISH: &[&str] = &[
    "a", "about", "all", "an", "and", "are", "at", "be", "by", "can", "could", "do", "does", "for", "from", "get",
    "give", "has", "have", "how", "i", "in", "is", "it", "last", "me", "month", "my", "of", "on", "our", "please",
    "send", "show", "that", "the", "this", "to", "was", "week", "were", "what", "when", "which", "who", "will", "with",
    "would", "you", "your",
];

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}' | '\u{2A700}'..='\u{2EBEF}' | '\u{30000}'..='\u{3134F}')
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}')
}

/// The language of `text`: Chinese when Han characters are at least a fifth of its letters
/// (or four or more in a short text; Japanese kana excluded), Malay when Malay function words
/// outscore English ones, English for other Latin text, `Other` for everything else.
pub fn detect(text: &str) -> Language {
    let (mut letters, mut han, mut kana, mut latin) = (0usize, 0usize, 0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if is_han(c) {
            han += 1;
        } else if is_kana(c) {
            kana += 1;
        } else if c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&c) {
            latin += 1;
        }
    }
    if letters == 0 {
        return Language::Other;
    }
    if han > 0 && kana * 2 < han && (han * 5 >= letters || (han >= 4 && letters <= 80)) {
        return Language::Chinese;
    }
    if latin * 2 < letters {
        return Language::Other;
    }
    let (mut malay, mut english, mut words) = (0usize, 0usize, 0usize);
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        words += 1;
        let w = word.to_lowercase();
        if MALAY.binary_search(&w.as_str()).is_ok() {
            malay += 1;
        } else if ENGLISH.binary_search(&w.as_str()).is_ok() {
            english += 1;
        }
    }
    if malay > english && (malay >= 2 || malay * 2 >= words) { Language::Malay } else { Language::English }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_are_sorted_and_disjoint() {
        assert!(MALAY.windows(2).all(|w| w[0] < w[1]));
        assert!(ENGLISH.windows(2).all(|w| w[0] < w[1]));
        // "and" is English; "dan" is Malay: no word is in both lists.
        assert!(MALAY.iter().all(|m| ENGLISH.binary_search(m).is_err()));
    }

    #[test]
    fn samples() {
        use Language::*;
        let cases: &[(&str, Language)] = &[
            ("Send the Q4 sales report to the CEO", English),
            ("What were our sales last month?", English),
            ("hello", English),
            ("Show me overdue invoices for Acme", English),
            ("Dan said the meeting is at 3pm", English),
            ("Schedule a call with Ali tomorrow", English),
            ("Résumé of the café's menu", English),
            ("ok", English),
            ("把Q4 report发给CEO", Chinese),
            ("请把上个月的销售报告发给我", Chinese),
            ("你好", Chinese),
            ("上个月的sales是多少？", Chinese),
            ("帮我查一下 Acme 的订单", Chinese),
            ("客户投诉处理进度", Chinese),
            ("發送報告給經理", Chinese),
            ("email the deck to 王经理 and 李总 please", Chinese),
            ("Sila hantar laporan jualan bulan ini kepada CEO", Malay),
            ("Saya nak sales report bulan lepas", Malay),
            ("Boleh tolong cari pesanan pelanggan ini?", Malay),
            ("Terima kasih", Malay),
            ("Apa jumlah jualan untuk minggu ini?", Malay),
            ("Selamat pagi, saya perlukan ringkasan mesyuarat", Malay),
            ("Ini laporan yang saya minta", Malay),
            ("boleh?", Malay),
            ("Tidak, itu salah", Malay),
            ("Hantar emel kepada semua pelanggan dengan harga baru", Malay),
            ("Привет, как дела?", Other),
            ("สวัสดีครับ", Other),
            ("مرحبا", Other),
            ("안녕하세요", Other),
            ("今日はいい天気ですね", Other),
            ("12345 !!!", Other),
            ("", Other),
        ];
        assert!(cases.len() >= 30);
        for (text, want) in cases {
            assert_eq!(detect(text), *want, "{text:?}");
        }
        let long = format!("{} 王经理", "Please send the quarterly report to the manager. ".repeat(10));
        assert_eq!(detect(&long), English);
    }

    #[test]
    fn serializes_snake_case() {
        assert_eq!(serde_json::to_string(&Language::Chinese).unwrap(), "\"chinese\"");
        assert_eq!(serde_json::from_str::<Language>("\"malay\"").unwrap(), Language::Malay);
        assert_eq!(Language::Other.to_string(), "other");
    }
}
