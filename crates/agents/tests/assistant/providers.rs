//! Provider choice and failover through `agents::chat::build` (so usage lands in the real
//! `llm_usage` table): Chinese to Kimi first, English to Anthropic, Anthropic overloaded →
//! Kimi, and every provider failing → the offline skills engine.

use agents::Outcome;
use domain::AgentKind;
use llm::fake::{FakeLlm, Reply};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use crate::common::{Env, last_month, money, request};

#[derive(Debug, PartialEq)]
struct UsageRow {
    provider: String,
    model: String,
    outcome: String,
    purpose: Option<String>,
    department: Option<String>,
    user_id: Option<Uuid>,
}

async fn usage_rows(env: &Env) -> Vec<UsageRow> {
    let rows = env
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT provider, model, outcome, purpose, department, user_id FROM llm_usage ORDER BY id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| UsageRow {
            provider: r.try_get("", "provider").unwrap(),
            model: r.try_get("", "model").unwrap(),
            outcome: r.try_get("", "outcome").unwrap(),
            purpose: r.try_get("", "purpose").unwrap(),
            department: r.try_get("", "department").unwrap(),
            user_id: r.try_get("", "user_id").unwrap(),
        })
        .collect()
}

fn row(provider: &str, model: &str, outcome: &str, user: Uuid, department: &str) -> UsageRow {
    UsageRow {
        provider: provider.into(),
        model: model.into(),
        outcome: outcome.into(),
        purpose: Some("chat".into()),
        department: Some(department.into()),
        user_id: Some(user),
    }
}

struct Two {
    anthropic: FakeLlm,
    kimi: FakeLlm,
}

impl Two {
    async fn new() -> Self {
        Self { anthropic: FakeLlm::anthropic().await, kimi: FakeLlm::kimi().await }
    }

    fn assistant(&self, env: &Env) -> agents::Assistant {
        env.assistant(|s| {
            s.llm.anthropic = self.anthropic.settings("claude-sonnet-4-6");
            s.llm.kimi = self.kimi.settings("moonshot-v1-128k");
        })
    }

    async fn counts(&self) -> (usize, usize) {
        (self.anthropic.received().await.len(), self.kimi.received().await.len())
    }
}

#[tokio::test]
async fn chinese_goes_to_kimi_first_and_english_to_anthropic() {
    let env = Env::new().await;
    let fakes = Two::new().await;
    let assistant = fakes.assistant(&env);
    let me = env.user("finance_manager", "finance").await;

    let r = assistant.run(&request(&me, "上个月的收入是多少？"), None).await.unwrap();
    assert_eq!((r.provider.as_str(), r.model.as_deref()), ("kimi", Some("moonshot-v1-128k")));
    assert_eq!(r.response, "fake kimi reply");
    assert_eq!(r.agent_used, Some(AgentKind::Finance));
    assert_eq!(fakes.counts().await, (0, 1));

    let r = assistant.run(&request(&me, "What was our revenue last month?"), None).await.unwrap();
    assert_eq!((r.provider.as_str(), r.model.as_deref()), ("anthropic", Some("claude-sonnet-4-6")));
    assert_eq!(r.response, "fake anthropic reply");
    assert_eq!(fakes.counts().await, (1, 1));

    // Kimi got the Chinese question as the user's message, in the OpenAI format.
    let kimi = fakes.kimi.received().await;
    let last = kimi[0].body["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "user");
    assert!(last.to_string().contains("上个月的收入是多少"), "{last}");

    let d = "finance";
    assert_eq!(
        usage_rows(&env).await,
        [
            row("kimi", "moonshot-v1-128k", "ok", me.user_id, d),
            row("anthropic", "claude-sonnet-4-6", "ok", me.user_id, d)
        ]
    );
}

#[tokio::test]
async fn overloaded_anthropic_fails_over_to_kimi_and_both_attempts_are_recorded() {
    let env = Env::new().await;
    let fakes = Two::new().await;
    fakes.anthropic.push(Reply::overloaded());
    fakes.kimi.push(Reply::text("Revenue last month is in the books."));
    let assistant = fakes.assistant(&env);
    let me = env.user("finance_manager", "finance").await;

    let r = assistant.run(&request(&me, "What was our revenue last month?"), None).await.unwrap();
    assert_eq!((r.provider.as_str(), r.model.as_deref()), ("kimi", Some("moonshot-v1-128k")));
    assert_eq!(r.response, "Revenue last month is in the books.");
    assert_eq!(r.outcome, Outcome::Answered);
    assert_eq!(fakes.counts().await, (1, 1));
    assert_eq!(
        usage_rows(&env).await,
        [
            row("anthropic", "claude-sonnet-4-6", "overloaded", me.user_id, "finance"),
            row("kimi", "moonshot-v1-128k", "ok", me.user_id, "finance"),
        ]
    );
}

#[tokio::test]
async fn when_every_provider_fails_the_offline_engine_answers() {
    let env = Env::new().await;
    let fakes = Two::new().await;
    fakes.anthropic.set_default(Reply::error(500, "api_error", "Internal server error"));
    fakes.kimi.set_default(Reply::Malformed);
    let assistant = fakes.assistant(&env);
    let me = env.user("finance_manager", "finance").await;

    let r = assistant.run(&request(&me, "Generate the latest financial statement"), None).await.unwrap();
    assert_eq!(r.provider, "offline");
    assert_eq!(r.model, None);
    assert_eq!(r.skill.as_deref(), Some("financial_reporting"));
    assert_eq!(r.outcome, Outcome::Answered);
    assert_eq!(r.tools_used, ["finance_summary", "pdf_generator"]);
    let (preface, rest) = r.response.split_once("\n\n").unwrap();
    assert!(preface.starts_with("(The language models are unavailable right now — "), "{preface}");
    assert!(preface.ends_with(" — so the offline skills engine answered.)"), "{preface}");
    // The last error is named (kimi was tried last for English).
    assert!(preface.contains("kimi: malformed response"), "{preface}");
    let (from, to) = last_month(env.today);
    let s = env.finance(from, to).await;
    assert!(rest.starts_with("**Financial statement – "), "{rest}");
    assert!(rest.contains(&format!("- Revenue: {}", money(s.revenue_cents))), "{rest}");
    assert!(!rest.contains("Not done"), "{rest}");
    assert_eq!(fakes.counts().await, (1, 1));
    assert_eq!(
        usage_rows(&env).await,
        [
            row("anthropic", "claude-sonnet-4-6", "error", me.user_id, "finance"),
            row("kimi", "moonshot-v1-128k", "error", me.user_id, "finance"),
        ]
    );
}
