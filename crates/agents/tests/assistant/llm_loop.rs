//! The agent loop over a fake Anthropic: several tool calls in one reply, tool results fed
//! back with the real figures, the step cap, and permission errors as tool results.

use agents::Outcome;
use domain::AgentKind;
use llm::fake::{FakeLlm, Reply};
use serde_json::{Value, json};

use crate::common::{Env, last_month, money, request};

const MODEL: &str = "claude-sonnet-4-6";

/// The `tool_use` blocks of an Anthropic assistant message: (id, name).
fn tool_uses(message: &Value) -> Vec<(String, String)> {
    message["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .map(|b| (b["id"].as_str().unwrap().to_string(), b["name"].as_str().unwrap().to_string()))
        .collect()
}

/// The `tool_result` blocks of an Anthropic user message.
fn tool_results(message: &Value) -> Vec<Value> {
    assert_eq!(message["role"], "user");
    message["content"].as_array().unwrap().iter().filter(|b| b["type"] == "tool_result").cloned().collect()
}

fn tool_names(body: &Value) -> Vec<String> {
    body["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn several_tool_calls_in_one_reply_then_an_answer() {
    let env = Env::new().await;
    let fake = FakeLlm::anthropic().await;
    let assistant = env.assistant(|s| s.llm.anthropic = fake.settings(MODEL));
    let exec = env.user("executive", "management").await;
    fake.push(Reply::ToolCalls(vec![
        ("finance_summary".into(), json!({"period": "last_month"})),
        ("kpi_dashboard".into(), json!({"period": "last_month"})),
    ]));
    fake.push(Reply::text("  Last month: revenue up, churn down.  "));

    let r = assistant.run(&request(&exec, "Show me the KPI dashboard and the P&L for last month"), None).await.unwrap();
    assert_eq!(r.agent_used, Some(AgentKind::Management));
    assert_eq!(r.outcome, Outcome::Answered);
    assert_eq!(r.response, "Last month: revenue up, churn down.");
    assert_eq!((r.provider.as_str(), r.model.as_deref()), ("anthropic", Some(MODEL)));
    assert_eq!(r.tools_used, ["finance_summary", "kpi_dashboard"]);

    let received = fake.received().await;
    assert_eq!(received.len(), 2);
    // Only the management agent's tools that exist here, plus its skills.
    let first = &received[0].body;
    let tools = tool_names(first);
    for t in [
        "kpi_dashboard",
        "finance_summary",
        "sales_pipeline",
        "support_tickets",
        "outlook_send_email",
        "pdf_generator",
        "skill_financial_reporting",
    ] {
        assert!(tools.contains(&t.to_string()), "{t} offered: {tools:?}");
    }
    for t in ["pptx_generator", "crm_create_lead", "skill_email_outreach"] {
        assert!(!tools.contains(&t.to_string()), "{t} not offered: {tools:?}");
    }
    let system = first["system"].to_string();
    assert!(system.contains(&exec.email) && system.contains(&format!("Today: {}", env.today)), "{system}");

    // The second request: the question, the model's two calls, and both results.
    let messages = received[1].body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{messages:?}");
    let calls = tool_uses(&messages[1]);
    assert_eq!(calls.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(), ["finance_summary", "kpi_dashboard"]);
    let results = tool_results(&messages[2]);
    assert_eq!(results.len(), 2);
    let (from, to) = last_month(env.today);
    let s = env.finance(from, to).await;
    let k = store::company::kpis(&env.db, from, to).await.unwrap();
    for (result, (id, _)) in results.iter().zip(&calls) {
        assert_eq!(result["tool_use_id"].as_str(), Some(id.as_str()));
        assert!(result.get("is_error").is_none(), "{result}");
    }
    let finance: Value = serde_json::from_str(results[0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(finance["revenue"], money(s.revenue_cents));
    assert_eq!(finance["revenue_cents"], s.revenue_cents);
    assert_eq!(finance["net_income"], money(s.net_income_cents));
    let kpis: Value = serde_json::from_str(results[1]["content"].as_str().unwrap()).unwrap();
    assert_eq!(kpis["revenue"], money(k.revenue_cents));
    assert_eq!(kpis["order_count"], k.order_count);
    assert_eq!(kpis["leads_created"], k.leads_created);

    // Tokens of both rounds are counted.
    let usage = |i: usize| {
        let body = &received[i].body;
        let mut b = body.clone();
        b.as_object_mut().unwrap().remove("stream");
        (b.to_string().len() / 4) as u64
    };
    assert_eq!(r.input_tokens, usage(0) + usage(1));
    assert!(r.output_tokens > 0);
}

#[tokio::test]
async fn a_model_that_never_stops_calling_tools_runs_out_of_steps() {
    let env = Env::new().await;
    let fake = FakeLlm::anthropic().await;
    fake.set_default(Reply::tool_call("finance_summary", json!({"period": "last_month"})));
    let me = env.user("finance_manager", "finance").await;

    let assistant = env.assistant(|s| {
        s.llm.anthropic = fake.settings(MODEL);
        s.agents.max_iterations = 2;
    });
    let r = assistant.run(&request(&me, "What was our revenue last month?"), None).await.unwrap();
    assert_eq!(r.outcome, Outcome::RanOutOfSteps);
    assert_eq!(r.agent_used, Some(AgentKind::Finance));
    assert_eq!(r.tools_used, ["finance_summary"]);
    assert_eq!(
        r.response,
        "I ran out of steps (2 rounds of tool use) before finishing. What I did: finance_summary. Ask me to \
         continue, or narrow the request."
    );
    assert_eq!(fake.received().await.len(), 2);
    // The second round carried the first round's result.
    let second = &fake.received().await[1].body;
    assert_eq!(second["messages"].as_array().unwrap().len(), 3);

    // A per-agent cap wins over the global one.
    let assistant = env.assistant(|s| {
        s.llm.anthropic = fake.settings(MODEL);
        s.agents.max_iterations = 2;
        s.agents.max_iterations_per_agent.insert("finance".into(), 3);
    });
    let r = assistant.run(&request(&me, "What was our revenue last month?"), None).await.unwrap();
    assert_eq!(r.outcome, Outcome::RanOutOfSteps);
    assert!(r.response.starts_with("I ran out of steps (3 rounds of tool use)"), "{}", r.response);
    assert_eq!(fake.received().await.len(), 2 + 3);
}

#[tokio::test]
async fn a_tool_the_caller_may_not_use_comes_back_as_an_error_result() {
    let env = Env::new().await;
    let fake = FakeLlm::anthropic().await;
    let assistant = env.assistant(|s| s.llm.anthropic = fake.settings(MODEL));
    let rep = env.user("sales_rep", "sales").await;
    fake.push(Reply::tool_call("finance_summary", json!({"period": "last_month"})));
    fake.push(Reply::text("I can't see the finance figures with your access."));

    let r = assistant.run(&request(&rep, "What was our revenue last month?"), None).await.unwrap();
    // Revenue questions go to the finance agent, whose model may ask for finance_summary...
    assert_eq!(r.agent_used, Some(AgentKind::Finance));
    assert_eq!(r.outcome, Outcome::Answered);
    assert_eq!(r.response, "I can't see the finance figures with your access.");
    assert_eq!(r.tools_used, ["finance_summary"]);
    // ... but the registry refuses it for a sales rep, and the model is told so.
    let received = fake.received().await;
    assert_eq!(received.len(), 2);
    let results = tool_results(&received[1].body["messages"][2]);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["is_error"], true);
    let content = results[0]["content"].as_str().unwrap();
    let error: Value = serde_json::from_str(content).unwrap();
    assert_eq!(error["error"], "permission denied: this needs finance_read", "{content}");
    let (from, to) = last_month(env.today);
    let s = env.finance(from, to).await;
    assert!(!content.contains(&money(s.revenue_cents)) && !content.contains("SGD"));
}
