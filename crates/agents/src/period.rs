//! Reporting periods from what people type: "last month", "Q4 2025", "October", "this
//! year", "上个月", "2025年第四季度", "bulan lepas", and the canonical tokens skills use
//! (`last_month`, `this_quarter`, `latest`, ...). Periods are half-open `[from, to)`.

use std::sync::LazyLock;

use chrono::{Datelike, Months, NaiveDate};
use regex::Regex;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    pub label: String,
    /// Text that [`parse`] reads back as this same period (what skills pass to tools).
    pub spec: String,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const MONTHS_MS: [&str; 12] = [
    "januari",
    "februari",
    "mac",
    "april",
    "mei",
    "jun",
    "julai",
    "ogos",
    "september",
    "oktober",
    "november",
    "disember",
];

fn month_start(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MIN)
}

fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    if n >= 0 { d.checked_add_months(Months::new(n as u32)) } else { d.checked_sub_months(Months::new((-n) as u32)) }
        .unwrap_or(d)
}

fn month(y: i32, m: u32) -> Period {
    let from = month_start(y, m);
    Period {
        from,
        to: add_months(from, 1),
        label: from.format("%B %Y").to_string(),
        spec: from.format("%Y-%m").to_string(),
    }
}

fn quarter(y: i32, q: u32) -> Period {
    let from = month_start(y, (q - 1) * 3 + 1);
    Period { from, to: add_months(from, 3), label: format!("Q{q} {y}"), spec: format!("Q{q} {y}") }
}

fn year(y: i32) -> Period {
    Period { from: month_start(y, 1), to: month_start(y + 1, 1), label: y.to_string(), spec: y.to_string() }
}

fn tomorrow(today: NaiveDate) -> NaiveDate {
    today.succ_opt().unwrap_or(today)
}

/// The canonical tokens and their meaning relative to `today`.
pub fn token(t: &str, today: NaiveDate) -> Option<Period> {
    let (y, m) = (today.year(), today.month());
    let q = (m - 1) / 3 + 1;
    Some(match t {
        // "The latest financial statement" is the last complete month.
        "last_month" | "latest" | "previous_month" => {
            let p = add_months(month_start(y, m), -1);
            month(p.year(), p.month())
        }
        "this_month" | "month_to_date" => Period {
            from: month_start(y, m),
            to: tomorrow(today),
            label: format!("{} (to date)", today.format("%B %Y")),
            spec: "this_month".into(),
        },
        "last_quarter" => {
            if q == 1 {
                quarter(y - 1, 4)
            } else {
                quarter(y, q - 1)
            }
        }
        "this_quarter" => {
            let mut p = quarter(y, q);
            p.to = tomorrow(today);
            p.label = format!("{} (to date)", p.label);
            p.spec = "this_quarter".into();
            p
        }
        "this_year" | "year_to_date" | "ytd" => Period {
            from: month_start(y, 1),
            to: tomorrow(today),
            label: format!("{y} (year to date)"),
            spec: "this_year".into(),
        },
        "last_year" => year(y - 1),
        _ => return None,
    })
}

static QUARTER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:q([1-4])|([1-4])(?:st|nd|rd|th)\s+quarter|quarter\s+([1-4])|suku\s+(?:tahun\s+)?(?:ke-?)?([1-4]))(?:\s*(?:of\s+|,\s*)?((?:19|20)\d\d))?\b",
    )
});
static ZH_QUARTER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"((?:19|20)\d\d)\s*年\s*(?:第\s*([一二三四1-4])\s*季度?|[Qq]([1-4]))|第\s*([一二三四1-4])\s*季度")
});
static ZH_MONTH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:((?:19|20)\d\d)\s*年\s*)?(1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九])\s*月"));
static YEAR: LazyLock<Regex> = LazyLock::new(|| re(r"\b((?:19|20)\d\d)\b"));
static ISO_MONTH: LazyLock<Regex> = LazyLock::new(|| re(r"\b((?:19|20)\d\d)-(0[1-9]|1[0-2])\b"));
static LAST_N: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:last|past|previous)\s+(\d{1,2})\s+months?\b|过去\s*(\d{1,2})\s*个?月|(\d{1,2})\s*bulan\s+(?:lepas|terakhir)",
    )
});

/// Compiles a constant pattern (every one is exercised by the tests below).
#[allow(clippy::expect_used)]
pub(crate) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant regex")
}

fn zh_number(s: &str) -> Option<u32> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    let digit = |c: char| "一二三四五六七八九".chars().position(|d| d == c).map(|i| i as u32 + 1);
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        ['十'] => Some(10),
        ['十', c] => digit(*c).map(|d| 10 + d),
        [c] => digit(*c),
        _ => None,
    }
}

/// A period mentioned in `text`, or `None`. Canonical tokens are accepted too.
pub fn parse(text: &str, today: NaiveDate) -> Option<Period> {
    let t = text.trim().to_lowercase();
    if let Some(p) = token(t.replace([' ', '-'], "_").as_str(), today) {
        return Some(p);
    }
    let year_in = |s: Option<regex::Match>| s.and_then(|m| m.as_str().parse::<i32>().ok());

    if let Some(c) = LAST_N.captures(&t) {
        let n: i32 = c.get(1).or(c.get(2)).or(c.get(3)).and_then(|m| m.as_str().parse().ok()).unwrap_or(3);
        let n = n.clamp(1, 36);
        let to = month_start(today.year(), today.month());
        return Some(Period {
            from: add_months(to, -n),
            to,
            label: format!("the last {n} months"),
            spec: format!("last {n} months"),
        });
    }
    if let Some(c) = ZH_QUARTER.captures(text) {
        let q = c
            .get(2)
            .or(c.get(4))
            .and_then(|m| zh_number(m.as_str()))
            .or_else(|| c.get(3).and_then(|m| m.as_str().parse().ok()));
        if let Some(q) = q.filter(|q| (1..=4).contains(q)) {
            return Some(quarter(year_in(c.get(1)).unwrap_or(today.year()), q));
        }
    }
    if let Some(c) = QUARTER.captures(&t) {
        let q = [1, 2, 3, 4].iter().find_map(|i| c.get(*i)).and_then(|m| m.as_str().parse::<u32>().ok());
        if let Some(q) = q {
            return Some(quarter(year_in(c.get(5)).unwrap_or(today.year()), q));
        }
    }
    if let Some(c) = ISO_MONTH.captures(&t) {
        let y = year_in(c.get(1)).unwrap_or(today.year());
        let m = c.get(2).and_then(|m| m.as_str().parse().ok()).unwrap_or(1);
        return Some(month(y, m));
    }
    // Relative words, most specific first.
    let rel: &[(&[&str], &str)] = &[
        (&["last quarter", "previous quarter", "上季度", "上个季度", "suku lepas", "suku tahun lepas"], "last_quarter"),
        (
            &["this quarter", "current quarter", "本季度", "这个季度", "这季度", "suku ini", "suku tahun ini"],
            "this_quarter",
        ),
        (&["last month", "previous month", "上个月", "上月", "bulan lepas", "bulan sudah"], "last_month"),
        (&["this month", "current month", "month to date", "本月", "这个月", "bulan ini"], "this_month"),
        (&["last year", "previous year", "去年", "tahun lepas"], "last_year"),
        (&["this year", "year to date", "ytd", "今年", "本年", "tahun ini"], "this_year"),
        (&["latest", "most recent", "最新", "最近", "terkini", "terbaru"], "latest"),
    ];
    for (words, tok) in rel {
        if words.iter().any(|w| t.contains(w)) {
            return token(tok, today);
        }
    }
    if let Some(c) = ZH_MONTH.captures(text)
        && let Some(m) = c.get(2).and_then(|m| zh_number(m.as_str())).filter(|m| (1..=12).contains(m))
    {
        {
            let y =
                year_in(c.get(1)).unwrap_or_else(|| if m > today.month() { today.year() - 1 } else { today.year() });
            return Some(month(y, m));
        }
    }
    // "October 2025", "oct 2025", "Oktober": a month name, with a year or the last such month.
    for (i, (en, ms)) in MONTHS.iter().zip(MONTHS_MS).enumerate() {
        let m = i as u32 + 1;
        let hit = |name: &str| {
            let short = &name[..3];
            t.split(|c: char| !c.is_alphanumeric()).any(|w| {
                w == name || (w == short && short != "mac" && short != "mei") || (w.len() > 3 && name.starts_with(w))
            })
        };
        // "may" alone is too often a verb; accept it only with a year.
        if hit(en) || hit(ms) {
            let y = YEAR.captures(&t).and_then(|c| year_in(c.get(1)));
            if en == &"may" && y.is_none() && !t.contains("mei") {
                continue;
            }
            let y = y.unwrap_or_else(|| if m > today.month() { today.year() - 1 } else { today.year() });
            return Some(month(y, m));
        }
    }
    if let Some(c) = YEAR.captures(&t) {
        return year_in(c.get(1)).map(year);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn table() {
        let today = d(2026, 11, 24);
        let cases: &[(&str, NaiveDate, NaiveDate, &str)] = &[
            ("last_month", d(2026, 10, 1), d(2026, 11, 1), "October 2026"),
            ("latest", d(2026, 10, 1), d(2026, 11, 1), "October 2026"),
            ("Generate the latest financial statement", d(2026, 10, 1), d(2026, 11, 1), "October 2026"),
            ("revenue last month", d(2026, 10, 1), d(2026, 11, 1), "October 2026"),
            ("this month so far", d(2026, 11, 1), d(2026, 11, 25), "November 2026 (to date)"),
            ("Q4 2025 P&L", d(2025, 10, 1), d(2026, 1, 1), "Q4 2025"),
            ("q2", d(2026, 4, 1), d(2026, 7, 1), "Q2 2026"),
            ("3rd quarter of 2025", d(2025, 7, 1), d(2025, 10, 1), "Q3 2025"),
            ("last quarter", d(2026, 7, 1), d(2026, 10, 1), "Q3 2026"),
            ("this year", d(2026, 1, 1), d(2026, 11, 25), "2026 (year to date)"),
            ("last year", d(2025, 1, 1), d(2026, 1, 1), "2025"),
            ("revenue in 2025", d(2025, 1, 1), d(2026, 1, 1), "2025"),
            ("October 2025", d(2025, 10, 1), d(2025, 11, 1), "October 2025"),
            ("sales in sept", d(2026, 9, 1), d(2026, 10, 1), "September 2026"),
            ("december", d(2025, 12, 1), d(2026, 1, 1), "December 2025"),
            ("2026-03", d(2026, 3, 1), d(2026, 4, 1), "March 2026"),
            ("last 6 months", d(2026, 5, 1), d(2026, 11, 1), "the last 6 months"),
            ("上个月的财务报表", d(2026, 10, 1), d(2026, 11, 1), "October 2026"),
            ("2025年第四季度", d(2025, 10, 1), d(2026, 1, 1), "Q4 2025"),
            ("第二季度销售", d(2026, 4, 1), d(2026, 7, 1), "Q2 2026"),
            ("今年的收入", d(2026, 1, 1), d(2026, 11, 25), "2026 (year to date)"),
            ("2025年3月", d(2025, 3, 1), d(2025, 4, 1), "March 2025"),
            ("十月份收入", d(2026, 10, 1), d(2026, 11, 1), "October 2026"),
            ("过去3个月", d(2026, 8, 1), d(2026, 11, 1), "the last 3 months"),
            ("penyata kewangan bulan lepas", d(2026, 10, 1), d(2026, 11, 1), "October 2026"),
            ("laporan suku lepas", d(2026, 7, 1), d(2026, 10, 1), "Q3 2026"),
            ("jualan tahun ini", d(2026, 1, 1), d(2026, 11, 25), "2026 (year to date)"),
            ("Ogos 2025", d(2025, 8, 1), d(2025, 9, 1), "August 2025"),
        ];
        for (text, from, to, label) in cases {
            let p = parse(text, today).unwrap_or_else(|| panic!("no period in {text:?}"));
            assert_eq!((p.from, p.to, p.label.as_str()), (*from, *to, *label), "{text}");
            assert_eq!(parse(&p.spec, today).as_ref(), Some(&p), "spec of {text}");
        }
        for text in ["hello", "may I have the leads", "find 20 leads in Singapore", ""] {
            assert_eq!(parse(text, today), None, "{text}");
        }
    }

    #[test]
    fn january_last_month_is_december_of_last_year() {
        let p = parse("last month", d(2027, 1, 15)).unwrap();
        assert_eq!((p.from, p.to), (d(2026, 12, 1), d(2027, 1, 1)));
        let q = parse("last quarter", d(2027, 2, 1)).unwrap();
        assert_eq!(q.label, "Q4 2026");
    }
}
