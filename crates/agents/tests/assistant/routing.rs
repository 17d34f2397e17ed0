//! Which agent a message reaches: keywords and skill triggers in English, Chinese and Malay,
//! the sender's department as a tie-break, clarifying questions, and webhook events.

use agents::router::{Route, route_message};
use agents::skills::SkillSet;
use agents::{AgentRequest, Source};
use domain::AgentKind::{self, *};

use crate::common::{Env, request};

fn skills() -> SkillSet {
    SkillSet::load(&std::env::current_dir().unwrap().join("../../knowledge/skills")).unwrap()
}

enum Want {
    Agent(AgentKind),
    /// The agent and the skill the route names.
    Skill(AgentKind, &'static str),
    /// A clarifying question offering these candidates (in order).
    Clarify(&'static [AgentKind]),
}

fn check(cases: &[(&str, Option<AgentKind>, Want)]) -> Vec<String> {
    let skills = skills();
    let mut failures = Vec::new();
    for (msg, dept, want) in cases {
        let got = route_message(msg, *dept, &skills);
        let ok = match (want, &got) {
            (Want::Agent(a), Route::Agent { agent, .. }) => agent == a,
            (Want::Skill(a, s), Route::Agent { agent, skill, .. }) => agent == a && skill.as_deref() == Some(*s),
            (Want::Clarify(c), Route::Clarify { candidates, question }) => {
                candidates.as_slice() == *c && question.starts_with("I'm not sure which team this is for.")
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{msg:?} (department {dept:?}) → {got:?}"));
        }
    }
    failures
}

#[test]
fn routing_table_in_three_languages() {
    use Want::*;
    let cases: &[(&str, Option<AgentKind>, Want)] = &[
        // English, no department hint.
        ("What was our revenue last month?", None, Agent(Finance)),
        ("Show me the unpaid invoices from October", None, Agent(Finance)),
        ("What does our cash flow look like this quarter?", None, Agent(Finance)),
        ("How much did we spend on payroll this year?", None, Agent(Finance)),
        ("Generate the latest financial statement and send to CEO", None, Skill(Finance, "financial_reporting")),
        ("Find new leads in the F&B industry in Singapore", None, Skill(Sales, "linkedin_prospecting")),
        ("Update the CRM: ABC Cafe is now qualified", None, Agent(Sales)),
        ("Make a pitch deck for ABC Restaurant", None, Skill(Sales, "pitch_deck_generation")),
        ("How healthy is the sales pipeline?", None, Agent(Sales)),
        ("Send intro email to new F&B leads in Singapore", None, Skill(Sales, "email_outreach")),
        ("Draft a newsletter for our merchants about loyalty", None, Skill(Marketing, "content_generation")),
        ("Plan a social media campaign for Hari Raya", None, Agent(Marketing)),
        ("Prepare a press release for the analytics launch", None, Agent(Marketing)),
        ("A merchant says their QR code is not working", None, Agent(Support)),
        ("How many urgent tickets are still open?", None, Agent(Support)),
        ("Summarise this week's customer complaint tickets", None, Agent(Support)),
        ("Customers cannot redeem vouchers since this morning", None, Agent(Support)),
        ("Give me the KPI dashboard for last month", None, Agent(Management)),
        ("Company performance overview across all departments", None, Agent(Management)),
        ("Prepare an executive summary for the board", None, Agent(Management)),
        // English, with the sender's department.
        ("Analyse expenses by category for last quarter", Some(Finance), Skill(Finance, "data_analysis")),
        ("Analyse leads by status", Some(Sales), Skill(Sales, "data_analysis")),
        ("Write a LinkedIn post about our loyalty app", Some(Marketing), Skill(Marketing, "content_generation")),
        ("Write a LinkedIn post about our loyalty app", Some(Sales), Skill(Sales, "content_generation")),
        ("Show me our revenue for last quarter", Some(Support), Agent(Finance)),
        ("Research bubble tea chains in Kuala Lumpur", Some(Marketing), Skill(Marketing, "web_research")),
        // No topic at all: the sender's department agent; without one, a question.
        ("Give me the numbers for this week", Some(Finance), Agent(Finance)),
        ("Hello, can you help me?", Some(Sales), Agent(Sales)),
        ("hello", Some(Management), Agent(Management)),
        ("hello", None, Clarify(&[])),
        // Equal signals: the department breaks the tie; without it, a question.
        ("What is the budget for this deal?", None, Clarify(&[Finance, Sales])),
        ("What is the budget for this deal?", Some(Sales), Agent(Sales)),
        ("What is the budget for this deal?", Some(Finance), Agent(Finance)),
        ("The customer opened a ticket about a refund", None, Clarify(&[Finance, Support])),
        ("The customer opened a ticket about a refund", Some(Support), Agent(Support)),
        ("The customer opened a ticket about a refund", Some(Finance), Agent(Finance)),
        // ... but a department with no signal in the message does not break it.
        ("What is the budget for this deal?", Some(Marketing), Clarify(&[Finance, Sales])),
        // Chinese.
        ("上个月的收入是多少？", None, Agent(Finance)),
        ("生成上个月的财务报表", Some(Finance), Skill(Finance, "financial_reporting")),
        ("帮我找新加坡餐饮行业的潜在客户", None, Agent(Sales)),
        ("给ABC餐厅做一份ppt", None, Skill(Sales, "pitch_deck_generation")),
        ("写一篇关于会员积分的营销文案", None, Skill(Marketing, "content_generation")),
        ("客户投诉二维码无法使用", None, Agent(Support)),
        ("这周有多少工单还没处理？", None, Agent(Support)),
        ("给我看各部门的关键指标", None, Agent(Management)),
        ("公司业绩总览", Some(Sales), Agent(Management)),
        ("帮我调研一下竞争对手", Some(Marketing), Skill(Marketing, "web_research")),
        // Malay.
        ("Sediakan penyata kewangan bulan lepas", Some(Finance), Skill(Finance, "financial_reporting")),
        ("Tunjukkan perbelanjaan bulan lepas", None, Agent(Finance)),
        ("Cari prospek baharu dalam industri F&B di Kuala Lumpur", None, Skill(Sales, "linkedin_prospecting")),
        ("Sediakan slaid jualan untuk ABC Cafe", None, Skill(Sales, "pitch_deck_generation")),
        ("Tulis kandungan untuk kempen Hari Raya", None, Skill(Marketing, "content_generation")),
        ("Pelanggan buat aduan, aplikasi tidak berfungsi", None, Agent(Support)),
        ("Tiket sokongan yang belum selesai", None, Agent(Support)),
        ("Tunjukkan papan pemuka prestasi syarikat", None, Agent(Management)),
    ];
    assert!(cases.len() >= 40);
    let failures = check(cases);
    assert!(failures.is_empty(), "{} of {} routed wrongly:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Skill triggers are matched as substrings, so a trigger inside other words decides the
/// route: "help and list" contains "p and l" (financial_reporting), which outweighs the
/// sales keywords and the sender's department.
#[test]
fn skill_triggers_match_whole_words_only() {
    use Want::*;
    let cases: &[(&str, Option<AgentKind>, Want)] = &[
        ("Can you help and list my leads due for follow-up?", Some(Sales), Agent(Sales)),
        ("Please help and look up the Q3 campaign content", Some(Marketing), Agent(Marketing)),
    ];
    let failures = check(cases);
    assert!(failures.is_empty(), "{} of {} routed wrongly:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Everyday words counted as support topics, and support words that only count in the
/// singular.
#[test]
fn everyday_words_are_not_support_topics() {
    use Want::*;
    let cases: &[(&str, Option<AgentKind>, Want)] = &[
        // "issue" the verb: finance vs support → a question.
        ("Issue an invoice to ABC Cafe for the Enterprise plan", None, Agent(Finance)),
        // 问题 = "question": "I have a question: what was revenue last month?" → a question back.
        ("我有个问题：上个月的收入是多少？", None, Agent(Finance)),
        // Plurals: no signal at all → "which team is this for?".
        ("Summarise this week's customer complaints", None, Agent(Support)),
        ("Which bugs and errors did merchants report yesterday?", None, Agent(Support)),
    ];
    let failures = check(cases);
    assert!(failures.is_empty(), "{} of {} routed wrongly:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

fn webhook(principal: &domain::Principal, event: &str, message: &str) -> AgentRequest {
    AgentRequest { source: Source::Webhook, event: Some(event.into()), ..request(principal, message) }
}

#[tokio::test]
async fn webhooks_route_by_event_and_schedules_by_their_agent() {
    let env = Env::empty().await;
    let assistant = env.offline();
    let sender = env.user("support_agent", "support").await;
    // The event decides, whatever the text says and whoever the sender is.
    let cases = [
        ("order_completed", Finance),
        ("customer_signed_up", Sales),
        ("customer_churned", Management),
        ("support_ticket_created", Support),
        ("feature_released", Marketing),
    ];
    for (event, agent) in cases {
        let route = assistant.route_quick(&webhook(&sender, event, "New support ticket: QR code is not working"));
        match route {
            Route::Agent { agent: got, reason, skill } => {
                assert_eq!(got, agent, "{event}");
                assert_eq!(reason, "webhook event");
                assert_eq!(skill, None);
            }
            other => panic!("{event}: {other:?}"),
        }
    }
    // An unknown event falls back to the text.
    let route = assistant.route_quick(&webhook(&sender, "something_else", "Refund the invoice of order 1234"));
    assert_eq!(route.agent(), Some(Finance), "{route:?}");
    // An event is only trusted from a webhook.
    let mobile = AgentRequest { event: Some("order_completed".into()), ..request(&sender, "QR code is not working") };
    assert_eq!(assistant.route_quick(&mobile).agent(), Some(Support));
    // A schedule names its agent.
    let scheduled = AgentRequest {
        source: Source::Scheduler,
        agent: Some(Marketing),
        ..request(&sender, "Weekly financial statement")
    };
    assert_eq!(
        assistant.route_quick(&scheduled),
        Route::Agent { agent: Marketing, reason: "scheduler request".into(), skill: None }
    );
    // Operations staff are served by the management agent when the text has no topic.
    let ops = env.user("executive", "operations").await;
    assert_eq!(assistant.route_quick(&request(&ops, "Hi, what can you do?")).agent(), Some(Management));
}

#[tokio::test]
async fn ambiguous_requests_get_a_question_offline_and_the_classifier_decides_online() {
    use agents::Outcome;
    use llm::fake::{FakeLlm, Reply};

    let env = Env::empty().await;
    let marketer = env.user("marketing_manager", "marketing").await;
    let message = "What is the budget for this deal?";

    // Offline: the router's question, nothing run.
    let r = env.offline().run(&request(&marketer, message), None).await.unwrap();
    assert_eq!((r.outcome, r.provider.as_str(), r.agent_used), (Outcome::Clarify, "router", None));
    assert!(r.response.contains("finance (revenue, expenses, statements), or sales"), "{}", r.response);
    assert!(r.tools_used.is_empty());

    // With a model: it is asked to classify first, and its answer routes the turn.
    let fake = FakeLlm::anthropic().await;
    fake.push(Reply::text("```json\n{\"agent\": \"sales\", \"confidence\": 0.9}\n```"));
    fake.push(Reply::text("The deal's budget is in the CRM notes."));
    let assistant = env.assistant(|s| s.llm.anthropic = fake.settings("claude-sonnet-4-6"));
    let r = assistant.run(&request(&marketer, message), None).await.unwrap();
    assert_eq!(r.agent_used, Some(Sales));
    assert_eq!(r.route_reason, "classifier (confidence 0.90)");
    assert_eq!(r.response, "The deal's budget is in the CRM notes.");
    let received = fake.received().await;
    assert_eq!(received.len(), 2);
    assert!(received[0].body.get("tools").is_none_or(|t| t.as_array().is_some_and(Vec::is_empty)));
    assert!(received[0].body["messages"].to_string().contains("Sender's department: marketing"));
    // The sales agent's tools in the answering call.
    assert!(received[1].body["tools"].to_string().contains("crm_search_leads"));

    // A classifier that is not sure: the question goes back to the user, no agent runs.
    fake.push(Reply::text(
        "{\"agent\": \"clarify\", \"question\": \"Is this about the sales deal or the finance budget?\"}",
    ));
    let r = assistant.run(&request(&marketer, message), None).await.unwrap();
    assert_eq!((r.outcome, r.agent_used), (Outcome::Clarify, None));
    assert_eq!(r.response, "Is this about the sales deal or the finance budget?");
    assert_eq!(fake.received().await.len(), 3);

    // Classifier switched off: no model call for routing.
    let assistant = env.assistant(|s| {
        s.llm.anthropic = fake.settings("claude-sonnet-4-6");
        s.agents.llm_classifier = false;
    });
    let r = assistant.run(&request(&marketer, message), None).await.unwrap();
    assert_eq!(r.outcome, Outcome::Clarify);
    assert_eq!(fake.received().await.len(), 3);
}
