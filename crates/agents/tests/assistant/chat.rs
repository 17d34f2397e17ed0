//! Persisted turns: `chat::begin` + `chat::answer` with the session's history given to the
//! model, sessions scoped to their owner, and `agent.turn` jobs that are retried.

use agents::chat::{self, TurnJob};
use agents::{ChatError, Outcome, Source};
use llm::fake::{FakeLlm, Reply};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::Env;

/// (role, text) of each message of an Anthropic request.
fn conversation(body: &Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let text: String = m["content"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| b["type"] == "text")
                .map(|b| b["text"].as_str().unwrap())
                .collect();
            (m["role"].as_str().unwrap().to_string(), text)
        })
        .collect()
}

fn pair(role: &str, text: &str) -> (String, String) {
    (role.into(), text.into())
}

#[tokio::test]
async fn the_second_turn_sees_the_first_exchange_and_sessions_belong_to_their_owner() {
    let env = Env::new().await;
    let fake = FakeLlm::anthropic().await;
    let assistant = env.assistant(|s| s.llm.anthropic = fake.settings("claude-sonnet-4-6"));
    let me = env.user("finance_manager", "finance").await;
    fake.push(Reply::text("Revenue last month was fine."));
    fake.push(Reply::text("Expenses were lower."));

    let (session, first) =
        chat::begin(&env.db, &me, "What was our revenue last month?", None, json!({})).await.unwrap();
    let turn1 = Uuid::now_v7();
    let a1 = chat::answer(&assistant, &me, session, first, turn1, Source::Mobile, None).await.unwrap();
    assert_eq!((a1.session_id, a1.status.as_str()), (session, "completed"));
    assert_eq!(a1.response, "Revenue last month was fine.");
    assert_eq!((a1.provider.as_deref(), a1.agent_used.as_deref()), (Some("anthropic"), Some("finance")));
    assert_eq!(a1.outcome, Some(Outcome::Answered));

    let (same, second) = chat::begin(&env.db, &me, "  And the expenses?  ", Some(session), json!({})).await.unwrap();
    assert_eq!(same, session);
    let a2 = chat::answer(&assistant, &me, session, second, Uuid::now_v7(), Source::Mobile, None).await.unwrap();
    assert_eq!(a2.response, "Expenses were lower.");

    let received = fake.received().await;
    assert_eq!(received.len(), 2);
    assert_eq!(conversation(&received[0].body), [pair("user", "What was our revenue last month?")]);
    assert_eq!(
        conversation(&received[1].body),
        [
            pair("user", "What was our revenue last month?"),
            pair("assistant", "Revenue last month was fine."),
            pair("user", "And the expenses?"),
        ]
    );

    // Stored in order, the answers with their metadata.
    let stored = store::chat::last_messages(&env.db, session, 50).await.unwrap();
    let roles: Vec<(&str, &str)> = stored.iter().map(|m| (m.role.as_str(), m.content.as_str())).collect();
    assert_eq!(
        roles,
        [
            ("user", "What was our revenue last month?"),
            ("assistant", "Revenue last month was fine."),
            ("user", "And the expenses?"),
            ("assistant", "Expenses were lower."),
        ]
    );
    assert_eq!(Some(stored[1].id), a1.message_id);
    let meta = stored[1].metadata.as_ref().unwrap();
    assert_eq!(meta["turn_id"], turn1.to_string());
    assert_eq!((meta["provider"].as_str(), meta["agent"].as_str()), (Some("anthropic"), Some("finance")));

    // Someone else cannot write into (or read the history of) this session.
    let other = env.user("finance_manager", "finance").await;
    let err = chat::begin(&env.db, &other, "Show me your history", Some(session), json!({})).await.unwrap_err();
    assert!(matches!(err, ChatError::SessionNotFound), "{err:?}");
    // A session that does not exist at all looks the same.
    let err = chat::begin(&env.db, &me, "hello", Some(Uuid::now_v7()), json!({})).await.unwrap_err();
    assert!(matches!(err, ChatError::SessionNotFound), "{err:?}");
    assert_eq!(store::chat::last_messages(&env.db, session, 50).await.unwrap().len(), 4, "nothing was added");
    // Blank messages are refused before anything is stored.
    assert!(matches!(chat::begin(&env.db, &me, "  \n ", Some(session), json!({})).await, Err(ChatError::Invalid(_))));
    assert_eq!(fake.received().await.len(), 2, "no model call for refused messages");
}

#[tokio::test]
async fn a_retried_turn_job_answers_once() {
    let env = Env::new().await;
    let fake = FakeLlm::anthropic().await;
    let assistant = env.assistant(|s| s.llm.anthropic = fake.settings("claude-sonnet-4-6"));
    let me = env.user("finance_manager", "finance").await;
    fake.push(Reply::text("first answer"));
    fake.push(Reply::text("second answer"));

    let (session, message) =
        chat::begin(&env.db, &me, "What was our revenue last month?", None, json!({})).await.unwrap();
    let job = TurnJob { turn_id: Uuid::now_v7(), user_id: me.user_id, session_id: session, message_id: message };
    // The job payload is ids only and round-trips.
    let job: TurnJob = serde_json::from_value(serde_json::to_value(&job).unwrap()).unwrap();

    let first = chat::run_job(&assistant, &env.roles, job.clone()).await.unwrap();
    let again = chat::run_job(&assistant, &env.roles, job.clone()).await.unwrap();
    assert_eq!(first.response, "first answer");
    assert_eq!(again, first, "the retry returns the stored answer");
    assert_eq!(fake.received().await.len(), 1, "the model is not asked twice");
    let stored = store::chat::last_messages(&env.db, session, 50).await.unwrap();
    let assistant_messages: Vec<_> = stored.iter().filter(|m| m.role == "assistant").collect();
    assert_eq!(assistant_messages.len(), 1, "{stored:?}");
    assert_eq!(Some(assistant_messages[0].id), first.message_id);

    // A deactivated user's queued turn does not run.
    let (_, queued) = chat::begin(&env.db, &me, "And the expenses?", Some(session), json!({})).await.unwrap();
    store::users::update(
        &env.db,
        me.user_id,
        store::users::UserChanges { is_active: Some(false), ..Default::default() },
    )
    .await
    .unwrap();
    let job = TurnJob { turn_id: Uuid::now_v7(), message_id: queued, ..job };
    let err = chat::run_job(&assistant, &env.roles, job).await.unwrap_err();
    assert!(matches!(err, ChatError::Invalid(_)), "{err:?}");
    assert_eq!(fake.received().await.len(), 1);
}
