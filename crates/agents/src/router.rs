//! Which agent handles a request. Webhooks route by event, schedules by the job's agent;
//! people's messages by skill triggers and department keywords in English, Chinese and
//! Malay, with the sender's department as a hint, then (when configured) the model as a
//! classifier. When the signals disagree and none is the sender's department, the answer
//! is a clarifying question, not a guess.

use domain::AgentKind;
use serde::Serialize;

use crate::skills::SkillSet;

const KEYWORDS: &[(AgentKind, &[&str])] = &[
    (
        AgentKind::Finance,
        &[
            "revenue",
            "expense",
            "expenses",
            "invoice",
            "invoices",
            "p&l",
            "profit",
            "loss",
            "budget",
            "cash flow",
            "cashflow",
            "financial",
            "finance",
            "accounting",
            "refund",
            "refunds",
            "payroll",
            "net income",
            "margin",
            "收入",
            "营收",
            "费用",
            "支出",
            "发票",
            "利润",
            "预算",
            "财务",
            "现金流",
            "退款",
            "工资",
            "hasil",
            "perbelanjaan",
            "invois",
            "keuntungan",
            "belanjawan",
            "kewangan",
            "aliran tunai",
            "bayaran balik",
        ],
    ),
    (
        AgentKind::Sales,
        &[
            "lead",
            "leads",
            "prospect",
            "prospects",
            "pitch",
            "crm",
            "deal",
            "deals",
            "pipeline",
            "quote",
            "proposal",
            "outreach",
            "follow up",
            "follow-up",
            "linkedin",
            "cold email",
            "sales",
            "潜在客户",
            "客户线索",
            "线索",
            "销售",
            "报价",
            "提案",
            "跟进",
            "商机",
            "prospek",
            "jualan",
            "sebut harga",
            "cadangan",
            "susulan",
            "bakal pelanggan",
        ],
    ),
    (
        AgentKind::Marketing,
        &[
            "campaign",
            "content",
            "playbook",
            "blog",
            "newsletter",
            "social media",
            "post",
            "brand",
            "seo",
            "announcement",
            "press release",
            "marketing",
            "copy",
            "launch",
            "营销",
            "推广",
            "内容",
            "活动",
            "品牌",
            "社交媒体",
            "文案",
            "新闻稿",
            "公告",
            "kempen",
            "kandungan",
            "pemasaran",
            "jenama",
            "media sosial",
            "pengumuman",
        ],
    ),
    (
        AgentKind::Support,
        &[
            "ticket",
            "tickets",
            "issues",
            "complaint",
            "complaints",
            "bug",
            "bugs",
            "not working",
            "error",
            "errors",
            "broken",
            "refund request",
            "customer complaint",
            "support",
            "redemption failed",
            "can't redeem",
            "cannot redeem",
            "qr code",
            "工单",
            "投诉",
            "故障",
            "无法使用",
            "客服",
            "报错",
            "tiket",
            "aduan",
            "masalah",
            "rosak",
            "tidak berfungsi",
            "sokongan",
        ],
    ),
    (
        AgentKind::Management,
        &[
            "kpi",
            "kpis",
            "dashboard",
            "cross-department",
            "company performance",
            "overview",
            "okr",
            "board",
            "headcount",
            "all departments",
            "executive summary",
            "business review",
            "仪表板",
            "关键指标",
            "绩效",
            "公司业绩",
            "各部门",
            "管理层",
            "总览",
            "papan pemuka",
            "prestasi syarikat",
            "semua jabatan",
            "ringkasan eksekutif",
        ],
    ),
];

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Route {
    Agent { agent: AgentKind, reason: String, skill: Option<String> },
    Clarify { question: String, candidates: Vec<AgentKind> },
}

impl Route {
    pub fn agent(&self) -> Option<AgentKind> {
        match self {
            Route::Agent { agent, .. } => Some(*agent),
            Route::Clarify { .. } => None,
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Mobile,
    Webhook,
    Scheduler,
    Teams,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Mobile => "mobile",
            Source::Webhook => "webhook",
            Source::Scheduler => "scheduler",
            Source::Teams => "teams",
        }
    }
}

/// The agent of a platform event.
pub fn agent_for_event(event: &str) -> Option<AgentKind> {
    Some(match event {
        "customer_signed_up" => AgentKind::Sales,
        "customer_churned" => AgentKind::Management,
        "order_completed" => AgentKind::Finance,
        "support_ticket_created" => AgentKind::Support,
        "feature_released" => AgentKind::Marketing,
        _ => return None,
    })
}

/// `word` in `haystack`; ASCII words only at word boundaries ("p and l" is not in
/// "help and list").
pub(crate) fn contains_word(haystack: &str, word: &str) -> bool {
    if !word.is_ascii() {
        return haystack.contains(word);
    }
    haystack.match_indices(word).any(|(i, _)| {
        let before = haystack[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after = haystack[i + word.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        before && after
    })
}

/// Keyword scores per agent (longer phrases count more).
pub fn scores(message: &str) -> Vec<(AgentKind, f64)> {
    let lowered = message.to_lowercase();
    KEYWORDS
        .iter()
        .map(|(agent, words)| {
            let s: f64 = words
                .iter()
                .filter(|w| contains_word(&lowered, w))
                .map(|w| 1.0 + (w.chars().count() as f64 / 12.0).min(1.0))
                .sum();
            (*agent, s)
        })
        .collect()
}

/// Routes a person's message by skills and keywords; `department` is the sender's.
pub fn route_message(message: &str, department: Option<AgentKind>, skills: &SkillSet) -> Route {
    let mut s = scores(message);
    let skill = skills.match_message(message, department);
    if let Some(m) = &skill {
        // A skill trigger is the strongest signal there is.
        if let Some(e) = s.iter_mut().find(|(a, _)| *a == m.agent) {
            e.1 += 5.0;
        }
    }
    // The sender's department breaks ties and narrows borderline cases.
    if let Some(d) = department
        && let Some(e) = s.iter_mut().find(|(a, _)| *a == d)
        && e.1 > 0.0
    {
        e.1 += 0.75;
    }
    s.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (top, top_score) = s[0];
    let second = s[1];
    if top_score == 0.0 {
        return match department {
            Some(d) => {
                Route::Agent { agent: d, reason: "no topic signal; the sender's department agent".into(), skill: None }
            }
            None => clarify(&[]),
        };
    }
    if second.1 > 0.0 && (top_score - second.1).abs() < 0.5 {
        return clarify(&[top, second.0]);
    }
    let reason = match &skill {
        Some(m) if m.agent == top => format!("skill {} (trigger \"{}\")", m.name, m.trigger),
        _ => "keywords".to_string(),
    };
    Route::Agent { agent: top, reason, skill: skill.filter(|m| m.agent == top).map(|m| m.name) }
}

fn describe(a: AgentKind) -> &'static str {
    match a {
        AgentKind::Finance => "finance (revenue, expenses, statements)",
        AgentKind::Sales => "sales (leads, CRM, pitch decks, outreach)",
        AgentKind::Marketing => "marketing (campaigns, content, playbooks)",
        AgentKind::Support => "support (tickets, customer issues)",
        AgentKind::Management => "management (KPIs, dashboards, cross-department views)",
    }
}

pub fn clarify(candidates: &[AgentKind]) -> Route {
    let options: Vec<&str> = if candidates.is_empty() {
        AgentKind::ALL.iter().map(|a| describe(*a)).collect()
    } else {
        candidates.iter().map(|a| describe(*a)).collect()
    };
    Route::Clarify {
        question: format!(
            "I'm not sure which team this is for. Is it about {}? A few more words (for example the period, the customer or what you want produced) will help.",
            options.join(", or ")
        ),
        candidates: candidates.to_vec(),
    }
}

/// Parses the LLM classifier's JSON answer (`{"agent": "...", "confidence": .., "question": ".."}`).
pub fn parse_classifier(answer: &str) -> Option<Route> {
    let start = answer.find('{')?;
    let end = answer.rfind('}')?;
    let v: serde_json::Value = serde_json::from_str(answer.get(start..=end)?).ok()?;
    let agent = v.get("agent")?.as_str()?;
    let confidence = v.get("confidence").and_then(|c| c.as_f64()).unwrap_or(1.0);
    if agent == "clarify" || confidence < 0.5 {
        let question = v.get("question").and_then(|q| q.as_str()).filter(|q| !q.trim().is_empty()).map(str::to_string);
        return Some(match question {
            Some(question) => Route::Clarify { question, candidates: Vec::new() },
            None => clarify(&[]),
        });
    }
    let agent: AgentKind = agent.parse().ok()?;
    Some(Route::Agent { agent, reason: format!("classifier (confidence {confidence:.2})"), skill: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifier_answers_are_parsed_defensively() {
        assert_eq!(
            parse_classifier(r#"{"agent":"sales","confidence":0.9}"#).and_then(|r| r.agent()),
            Some(AgentKind::Sales)
        );
        assert_eq!(
            parse_classifier("Sure! ```json\n{\"agent\": \"support\", \"confidence\": 0.8}\n```")
                .and_then(|r| r.agent()),
            Some(AgentKind::Support)
        );
        assert!(
            matches!(parse_classifier(r#"{"agent":"clarify","question":"Which report?"}"#), Some(Route::Clarify { question, .. }) if question == "Which report?")
        );
        assert!(matches!(parse_classifier(r#"{"agent":"sales","confidence":0.2}"#), Some(Route::Clarify { .. })));
        assert_eq!(parse_classifier(r#"{"agent":"legal"}"#), None);
        assert_eq!(parse_classifier("no json"), None);
    }
}
