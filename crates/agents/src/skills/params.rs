//! Filling a skill's parameters from the message: periods, dates, amounts, e-mail
//! addresses, people named by role (through the directory and the users table), counts,
//! industries, locations, company names, URLs, products, channels and formats — in
//! English, Chinese and Malay.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use regex::Regex;
use serde_json::{Value, json};

use super::{Param, ParamKind, Skill};
use crate::period::{self, re};
use crate::tools::ToolContext;

/// The parameters found, with the names the user actually gave (defaults are not "given").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filled {
    pub values: BTreeMap<String, Value>,
    pub given: Vec<String>,
    /// Things that could not be resolved, said back to the user ("no CTO in the directory").
    pub notes: Vec<String>,
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"));
static URL: LazyLock<Regex> = LazyLock::new(|| re(r#"https?://[^\s<>"'）)]+"#));
static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:(sgd|s\$|usd|us\$|rm|myr|hkd|hk\$|\$)\s?(\d[\d,]*(?:\.\d+)?)\s?(k|m)?|(\d[\d,]*(?:\.\d+)?)\s?(k|m)?\s?(sgd|usd|rm|myr|hkd|dollars|ringgit|新币|元))",
    )
});
static INTEGER: LazyLock<Regex> = LazyLock::new(|| re(r"(?:^|[^0-9A-Za-z_.$/-])(\d{1,4})(?:$|[^0-9A-Za-z_.%/-])"));
static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| re(r"\b(20\d\d)-(\d\d)-(\d\d)\b"));
static DMY_DATE: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d{1,2})/(\d{1,2})/(20\d\d)\b"));
static CHANNEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)#([a-z0-9_-]{2,50})|\b([a-z0-9_-]{2,50})\s+(?:teams\s+)?channel\b|频道\s*([\w-]{2,50})"));
static COMPANY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\b(?:for|to|with|at|about|untuk|dengan)\s+|给|为|向)((?:[A-Z0-9][\w&'.-]*)(?:\s+(?:[A-Z0-9&][\w&'.-]*|of|and|de))*)",
    )
});
static ME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:to|email|e-mail|send|cc)\s+me\b|\bme\s+a\s+copy\b|发给我|发送给我|抄送我|kepada saya|pada saya")
});

/// Role words → directory keys.
pub(crate) const ROLE_WORDS: &[(&str, &str)] = &[
    ("ceo", "ceo"),
    ("chief executive", "ceo"),
    ("首席执行官", "ceo"),
    ("总裁", "ceo"),
    ("ketua pegawai eksekutif", "ceo"),
    ("cfo", "cfo"),
    ("chief financial officer", "cfo"),
    ("finance director", "cfo"),
    ("财务总监", "cfo"),
    ("首席财务官", "cfo"),
    ("ketua pegawai kewangan", "cfo"),
    ("coo", "coo"),
    ("chief operating officer", "coo"),
    ("首席运营官", "coo"),
    ("sales manager", "sales_manager"),
    ("head of sales", "sales_manager"),
    ("销售经理", "sales_manager"),
    ("销售总监", "sales_manager"),
    ("pengurus jualan", "sales_manager"),
    ("marketing manager", "marketing_manager"),
    ("head of marketing", "marketing_manager"),
    ("市场经理", "marketing_manager"),
    ("营销经理", "marketing_manager"),
    ("pengurus pemasaran", "marketing_manager"),
    ("support manager", "support_manager"),
    ("head of support", "support_manager"),
    ("客服经理", "support_manager"),
    ("支持经理", "support_manager"),
    ("pengurus sokongan", "support_manager"),
];

/// Directory key → the role whose holder answers when the directory has no entry.
const ROLE_OF_KEY: &[(&str, &str)] = &[
    ("cfo", "finance_manager"),
    ("sales_manager", "sales_manager"),
    ("marketing_manager", "marketing_manager"),
    ("support_manager", "support_manager"),
];

const INDUSTRIES: &[(&str, &[&str])] = &[
    (
        "F&B",
        &[
            "f&b",
            "food and beverage",
            "food & beverage",
            "restaurant",
            "cafe",
            "café",
            "餐饮",
            "餐厅",
            "makanan dan minuman",
            "restoran",
            "kafe",
        ],
    ),
    ("retail", &["retail", "retailer", "shop", "零售", "runcit"]),
    ("beauty", &["beauty", "salon", "spa", "美容", "kecantikan"]),
    ("fitness", &["fitness", "gym", "健身", "kecergasan", "gimnasium"]),
    ("hospitality", &["hospitality", "hotel", "酒店", "hospitaliti", "hotel"]),
    ("e-commerce", &["e-commerce", "ecommerce", "online store", "电商", "电子商务", "e-dagang"]),
    ("education", &["education", "school", "tuition", "教育", "pendidikan"]),
];

const LOCATIONS: &[(&str, &[&str])] = &[
    ("Kuala Lumpur", &["kuala lumpur", "吉隆坡", " kl "]),
    ("Penang", &["penang", "槟城", "pulau pinang"]),
    ("Johor Bahru", &["johor", "新山"]),
    ("Singapore", &["singapore", "新加坡", "singapura", " sg "]),
    ("Malaysia", &["malaysia", "马来西亚", "大马"]),
    ("Hong Kong", &["hong kong", "hongkong", "香港"]),
];

const PRODUCTS: &[(&str, &[&str])] = &[
    ("Mezzofy Loyalty & Membership", &["loyalty", "membership", "会员", "积分", "kesetiaan", "keahlian"]),
    ("Mezzofy e-Gift Cards", &["gift card", "e-gift", "egift", "礼品卡", "kad hadiah"]),
    ("Campaign Analytics add-on", &["analytics", "分析", "analitik"]),
    ("POS Integration", &["pos integration", "pos", "收银"]),
    ("Onboarding & Training", &["onboarding", "training", "培训", "latihan"]),
    ("Mezzofy Coupon – Enterprise", &["enterprise"]),
    ("Mezzofy Coupon – Business", &["business plan"]),
    ("Mezzofy Coupon – Starter", &["starter"]),
    ("Mezzofy Coupon", &["coupon", "voucher", "优惠券", "代金券", "kupon", "baucar"]),
];

const FORMATS: &[(&str, &[&str])] = &[
    ("pdf", &["pdf"]),
    ("docx", &["docx", "word document", "word doc", "word 文档", "dokumen word"]),
    ("pptx", &["pptx", "powerpoint", "slides", "幻灯片", "slaid"]),
    ("csv", &["csv", "spreadsheet", "excel", "表格", "hamparan"]),
    ("markdown", &["markdown"]),
];

const DATASETS: &[(&str, &[&str])] = &[
    (
        "revenue_by_product",
        &["revenue by product", "sales by product", "product revenue", "各产品收入", "按产品", "hasil mengikut produk"],
    ),
    ("expenses_by_category", &["expense", "expenses", "spending", "cost", "费用", "支出", "perbelanjaan", "kos"]),
    ("tickets_by_category", &["ticket", "support", "工单", "客服", "tiket", "sokongan"]),
    ("leads_by_status", &["lead", "pipeline", "潜在客户", "线索", "prospek", "saluran jualan"]),
    ("top_customers", &["top customer", "best customer", "biggest customer", "大客户", "主要客户", "pelanggan utama"]),
    (
        "revenue_by_month",
        &["revenue", "sales", "income", "trend", "收入", "营收", "销售额", "hasil", "jualan", "pendapatan"],
    ),
];

const CONTENT_KINDS: &[(&str, &[&str])] = &[
    ("newsletter", &["newsletter", "通讯", "surat berita"]),
    ("blog_post", &["blog", "article", "博客", "文章", "artikel"]),
    ("email", &["email campaign", "edm", "邮件", "e-mel"]),
    ("announcement", &["announcement", "press release", "公告", "新闻稿", "pengumuman"]),
    ("case_study", &["case study", "案例", "kajian kes"]),
    (
        "social_post",
        &["linkedin post", "facebook post", "instagram", "social", "post", "社交", "帖子", "hantaran", "media sosial"],
    ),
];

fn lookup(table: &[(&'static str, &[&str])], lowered: &str) -> Option<&'static str> {
    let padded = format!(" {lowered} ");
    table.iter().find(|(_, words)| words.iter().any(|w| padded.contains(w))).map(|(v, _)| *v)
}

/// Runs `fill_one` for every parameter of `skill`, then applies defaults.
pub async fn fill(skill: &Skill, message: &str, ctx: &ToolContext) -> Filled {
    let mut out = Filled::default();
    for p in &skill.parameters {
        let found = fill_one(p, skill, message, ctx, &mut out.notes).await;
        match found {
            Some(v) => {
                out.values.insert(p.name.clone(), v);
                out.given.push(p.name.clone());
            }
            None => {
                if let Some(d) = &p.default {
                    let v = match p.kind {
                        ParamKind::Period => period::parse(d, ctx.today).map(|x| json!(x.spec)).unwrap_or(json!(d)),
                        ParamKind::Integer => d.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(d)),
                        _ => json!(d),
                    };
                    out.values.insert(p.name.clone(), v);
                }
            }
        }
    }
    out
}

async fn fill_one(
    p: &Param,
    skill: &Skill,
    message: &str,
    ctx: &ToolContext,
    notes: &mut Vec<String>,
) -> Option<Value> {
    let lowered = message.to_lowercase();
    match p.kind {
        ParamKind::Period => period::parse(message, ctx.today).map(|x| json!(x.spec)),
        ParamKind::Date => date(message, ctx.today).map(|d| json!(d.to_string())),
        ParamKind::Amount => amount(message).map(|a| json!(a)),
        ParamKind::Email => EMAIL.find(message).map(|m| json!(m.as_str().to_lowercase())),
        ParamKind::Recipients => {
            let list = recipients(message, ctx, notes).await;
            (!list.is_empty()).then(|| json!(list))
        }
        ParamKind::Integer => integer(message).map(|n| json!(n)),
        ParamKind::Industry => lookup(INDUSTRIES, &lowered).map(|v| json!(v)),
        ParamKind::Location => lookup(LOCATIONS, &lowered).map(|v| json!(v)),
        ParamKind::Product => lookup(PRODUCTS, &lowered).map(|v| json!(v)),
        ParamKind::Format => lookup(FORMATS, &lowered).map(|v| json!(v)),
        ParamKind::Url => URL.find(message).map(|m| json!(m.as_str().trim_end_matches(['.', ',']))),
        ParamKind::Channel => CHANNEL
            .captures(message)
            .and_then(|c| [1, 2, 3].iter().find_map(|i| c.get(*i)).map(|m| json!(m.as_str().to_lowercase()))),
        ParamKind::Company => company(message).map(|c| json!(c)),
        ParamKind::Text => text(p, skill, message, &lowered),
    }
}

/// Text parameters by name: a few have a vocabulary, the rest take what follows "about"
/// (or, when required, the request without its trigger phrase).
fn text(p: &Param, skill: &Skill, message: &str, lowered: &str) -> Option<Value> {
    match p.name.as_str() {
        "dataset" => lookup(DATASETS, lowered).map(|v| json!(v)),
        "kind" => lookup(CONTENT_KINDS, lowered).map(|v| json!(v)),
        "status" => ["new", "contacted", "qualified", "proposal"]
            .iter()
            .find(|s| lowered.split(|c: char| !c.is_alphanumeric()).any(|w| w == **s))
            .map(|s| json!(s)),
        "template" => ["followup", "follow-up", "proposal", "intro"]
            .iter()
            .find(|t| lowered.contains(**t))
            .map(|t| json!(t.replace('-', ""))),
        "save_to_crm" => {
            ["crm", "save", "add them", "保存", "simpan"].iter().any(|w| lowered.contains(w)).then(|| json!("yes"))
        }
        "tone" => ["formal", "casual", "friendly", "playful", "professional"]
            .iter()
            .find(|t| lowered.contains(**t))
            .map(|t| json!(t)),
        "keywords" => None,
        _ => {
            static ABOUT: LazyLock<Regex> = LazyLock::new(|| {
                re(
                    r"(?i)(?:\babout\b|\bon the topic of\b|\bregarding\b|\bon\b|\btentang\b|\bmengenai\b|关于|有关)\s*(.+)",
                )
            });
            if let Some(c) = ABOUT.captures(message) {
                let t = c
                    .get(1)
                    .map(|m| m.as_str().trim().trim_end_matches(['.', '?', '!', '。', '？']))
                    .unwrap_or_default();
                if !t.is_empty() {
                    return Some(json!(t.chars().take(300).collect::<String>()));
                }
            }
            if p.required {
                let mut rest = message.to_string();
                if let Some(t) = skill.best_trigger(lowered)
                    && let Some(i) = lowered.find(t)
                    && message.is_char_boundary(i)
                    && message.is_char_boundary(i + t.len())
                {
                    rest = format!("{} {}", &message[..i], &message[i + t.len()..]);
                }
                let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
                let rest = rest.trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
                return (!rest.is_empty()).then(|| json!(rest.chars().take(300).collect::<String>()));
            }
            None
        }
    }
}

fn integer(message: &str) -> Option<i64> {
    INTEGER
        .captures_iter(message)
        .filter_map(|c| c.get(1)?.as_str().parse::<i64>().ok())
        .find(|n| !(1900..=2100).contains(n) && *n > 0)
}

fn amount(message: &str) -> Option<f64> {
    let c = AMOUNT.captures(message)?;
    let number = c.get(2).or(c.get(4))?.as_str().replace(',', "");
    let mut v: f64 = number.parse().ok()?;
    match c.get(3).or(c.get(5)).map(|m| m.as_str().to_lowercase()).as_deref() {
        Some("k") => v *= 1_000.0,
        Some("m") => v *= 1_000_000.0,
        _ => {}
    }
    Some(v)
}

fn date(message: &str, today: NaiveDate) -> Option<NaiveDate> {
    if let Some(c) = ISO_DATE.captures(message) {
        let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        return NaiveDate::from_ymd_opt(n(1)? as i32, n(2)?, n(3)?);
    }
    if let Some(c) = DMY_DATE.captures(message) {
        let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        return NaiveDate::from_ymd_opt(n(3)? as i32, n(2)?, n(1)?);
    }
    let l = message.to_lowercase();
    if ["day after tomorrow", "后天", "lusa"].iter().any(|w| l.contains(w)) {
        return Some(today + Duration::days(2));
    }
    if ["tomorrow", "明天", "esok"].iter().any(|w| l.contains(w)) {
        return Some(today + Duration::days(1));
    }
    if ["next week", "下周", "minggu depan"].iter().any(|w| l.contains(w)) {
        let to_monday = 7 - today.weekday().num_days_from_monday() as i64;
        return Some(today + Duration::days(to_monday));
    }
    let days = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
    ];
    for (name, wd) in days {
        if l.contains(name) {
            let ahead = (wd.num_days_from_monday() as i64 - today.weekday().num_days_from_monday() as i64 + 7) % 7;
            return Some(today + Duration::days(if ahead == 0 { 7 } else { ahead }));
        }
    }
    if ["today", "今天", "hari ini"].iter().any(|w| l.contains(w)) {
        return Some(today);
    }
    None
}

const NOT_COMPANIES: &[&str] = &[
    "CEO",
    "CFO",
    "COO",
    "Singapore",
    "Malaysia",
    "Hong Kong",
    "Kuala Lumpur",
    "Teams",
    "Outlook",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "Mezzofy",
];

fn company(message: &str) -> Option<String> {
    COMPANY
        .captures_iter(message)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().trim_end_matches(['.', ',']).to_string())
        .find(|c| {
            !NOT_COMPANIES.iter().any(|n| c.eq_ignore_ascii_case(n) || c.starts_with(&format!("{n} ")))
                && !c.chars().all(|ch| ch.is_ascii_digit())
        })
}

/// E-mail addresses in the message, people named by role, and "me".
async fn recipients(message: &str, ctx: &ToolContext, notes: &mut Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = EMAIL.find_iter(message).map(|m| m.as_str().to_lowercase()).collect();
    let lowered = message.to_lowercase();
    let mut keys: Vec<&str> = Vec::new();
    for (word, key) in ROLE_WORDS {
        let hit = crate::router::contains_word(&lowered, word);
        if hit && !keys.contains(key) {
            keys.push(key);
        }
    }
    for key in keys {
        match resolve_role(key, ctx).await {
            Ok(email) => out.push(email),
            Err(why) => notes.push(why),
        }
    }
    if ME.is_match(message) {
        out.push(ctx.principal.email.clone());
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|e| seen.insert(e.clone()));
    out
}

/// The directory entry for `key`, checked against the users table (a deactivated person is
/// not a recipient), or the active holder of the matching role.
pub(crate) async fn resolve_role(key: &str, ctx: &ToolContext) -> Result<String, String> {
    let label = key.replace('_', " ");
    let label = if label.len() <= 3 { label.to_uppercase() } else { format!("the {label}") };
    if let Some(email) = ctx.settings.agents.directory.get(key)
        && let Ok(addr) = domain::EmailAddress::parse(email)
    {
        {
            match store::users::by_email(&ctx.db, &addr).await {
                Ok(Some(u)) if !u.is_active => {
                    return Err(format!("{label} ({email}) has a deactivated account, so I did not send to them"));
                }
                Ok(_) => return Ok(email.to_lowercase()),
                Err(e) => {
                    tracing::warn!(error = %e, "directory lookup");
                    return Ok(email.to_lowercase());
                }
            }
        }
    }
    if let Some((_, role)) = ROLE_OF_KEY.iter().find(|(k, _)| *k == key) {
        let filter =
            store::users::UserFilter { role: Some((*role).to_string()), active: Some(true), ..Default::default() };
        if let Ok((users, _)) = store::users::list(&ctx.db, &filter, 0, 1).await
            && let Some(u) = users.into_iter().next()
        {
            return Ok(u.email.as_str().to_lowercase());
        }
    }
    Err(format!("I don't know who {label} is: add them to agents.directory in the configuration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_integers_dates_and_companies() {
        assert_eq!(amount("orders above SGD 5,000"), Some(5000.0));
        assert_eq!(amount("budget RM 12k"), Some(12000.0));
        assert_eq!(amount("$1,250.50 total"), Some(1250.5));
        assert_eq!(amount("no money here"), None);
        assert_eq!(integer("find 20 leads in Singapore"), Some(20));
        assert_eq!(integer("Q4 2025 report"), None);
        assert_eq!(integer("找50个潜在客户"), Some(50));
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(); // a Tuesday
        assert_eq!(date("follow up on 2026-12-01", today), NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(date("remind me tomorrow", today), NaiveDate::from_ymd_opt(2026, 11, 25));
        assert_eq!(date("next week please", today), NaiveDate::from_ymd_opt(2026, 11, 30));
        assert_eq!(date("on friday", today), NaiveDate::from_ymd_opt(2026, 11, 27));
        assert_eq!(date("明天跟进", today), NaiveDate::from_ymd_opt(2026, 11, 25));
        assert_eq!(company("Make a pitch deck for ABC Restaurant Group."), Some("ABC Restaurant Group".into()));
        assert_eq!(company("send the statement to CEO"), None);
        assert_eq!(company("Research about Grab"), Some("Grab".into()));
        assert_eq!(company("make a deck for a cafe"), None);
    }

    #[test]
    fn vocabularies_in_three_languages() {
        assert_eq!(lookup(INDUSTRIES, "find f&b leads"), Some("F&B"));
        assert_eq!(lookup(INDUSTRIES, "新加坡的餐饮客户"), Some("F&B"));
        assert_eq!(lookup(INDUSTRIES, "cari pelanggan restoran"), Some("F&B"));
        assert_eq!(lookup(LOCATIONS, "leads in kuala lumpur"), Some("Kuala Lumpur"));
        assert_eq!(lookup(LOCATIONS, "新加坡的餐饮客户"), Some("Singapore"));
        assert_eq!(lookup(DATASETS, "analyse expenses by category"), Some("expenses_by_category"));
        assert_eq!(lookup(DATASETS, "analyse revenue trend"), Some("revenue_by_month"));
        assert_eq!(lookup(FORMATS, "as a word document"), Some("docx"));
    }
}
