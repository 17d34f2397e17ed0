//! The manager over fake providers: routing by language, retries, failover, the circuit
//! breaker, usage records and streaming failures.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::*;
use llm::{
    BreakerConfig, CallContext, Language, LlmError, LlmManager, ManualClock, NoUsage, breaker::BreakerState,
    fake::Reply,
};
use settings::LlmSettings;
use uuid::Uuid;

const NO_BREAKER: BreakerConfig = BreakerConfig { failures: 0, cooldown: Duration::from_secs(30) };

fn ctx() -> CallContext {
    CallContext::new("chat")
}

#[tokio::test]
async fn english_goes_to_anthropic_and_chinese_to_kimi() {
    let s = Setup::new().await;
    let m = s.manager(NO_BREAKER, |_| {});
    let c = m.complete(&ask("Send the Q4 report to the CEO"), &ctx(), None).await.unwrap();
    assert_eq!((c.response.provider.as_str(), c.language), ("anthropic", Language::English));
    let c = m.complete(&ask("把Q4 report发给CEO"), &ctx(), None).await.unwrap();
    assert_eq!((c.response.provider.as_str(), c.language), ("kimi", Language::Chinese));
    assert_eq!(s.counts().await, (1, 1, 0));
    // The caller's language wins over detection.
    let forced = CallContext { language: Some(Language::Chinese), ..ctx() };
    let c = m.complete(&ask("hello"), &forced, None).await.unwrap();
    assert_eq!(c.response.provider, "kimi");
    assert_eq!(m.provider_order(Language::Malay, false), ["anthropic", "kimi", "openai"]);
}

#[tokio::test]
async fn overloaded_fails_over_and_every_attempt_is_recorded() {
    let s = Setup::new().await;
    s.anthropic.push(Reply::overloaded());
    let m = s.manager(NO_BREAKER, |_| {});
    let ctx = CallContext {
        user_id: Some(Uuid::now_v7()),
        department: Some("sales".into()),
        session_id: Some(Uuid::now_v7()),
        ..ctx()
    };
    let c = m.complete(&ask("Weekly summary please"), &ctx, None).await.unwrap();
    assert_eq!(c.response.text(), "fake kimi reply");
    let outcomes: Vec<_> = c.attempts.iter().map(|a| (a.provider.as_str(), a.outcome.as_str())).collect();
    assert_eq!(outcomes, [("anthropic", "overloaded"), ("kimi", "ok")]);
    assert!(c.attempts[0].error.as_deref().unwrap().contains("overloaded"));

    let records = s.usage.records();
    assert_eq!(records.len(), 2);
    let (failed, ok) = (&records[0], &records[1]);
    assert_eq!(
        (failed.provider.as_str(), failed.model.as_str(), failed.outcome.as_str()),
        ("anthropic", CLAUDE, "overloaded")
    );
    assert_eq!((failed.input_tokens, failed.output_tokens, failed.cost_usd), (0, 0, Some(0.0)));
    assert_eq!((ok.provider.as_str(), ok.model.as_str(), ok.outcome.as_str()), ("kimi", KIMI, "ok"));
    assert_eq!(ok.output_tokens, 3);
    assert!(ok.input_tokens > 0);
    let want = f64::from(ok.input_tokens + ok.output_tokens) * 8.4 / 1e6;
    assert!((ok.cost_usd.unwrap() - want).abs() < 1e-12);
    for r in &records {
        assert_eq!((r.purpose.as_str(), r.department.as_deref()), ("chat", Some("sales")));
        assert_eq!((r.user_id, r.session_id), (ctx.user_id, ctx.session_id));
    }
}

#[tokio::test]
async fn unpriced_model_has_no_cost() {
    let s = Setup::new().await;
    let p = openai("openai", "llama3", &s.openai, |_| {});
    let m = LlmManager::new(vec![p], NO_BREAKER, LlmSettings::default().prices, s.usage.clone());
    m.complete(&ask("hi"), &ctx(), None).await.unwrap();
    assert_eq!(s.usage.records()[0].cost_usd, None);
}

#[tokio::test]
async fn rate_limited_is_retried_after_retry_after() {
    let s = Setup::new().await;
    s.anthropic.push(Reply::rate_limited(1));
    let m = s.manager(NO_BREAKER, |p| p.max_retries = 1);
    let started = Instant::now();
    let c = m.complete(&ask("hi there"), &ctx(), None).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "waited for retry-after");
    assert_eq!(c.response.provider, "anthropic");
    let outcomes: Vec<_> = c.attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["rate_limited", "ok"]);
    assert_eq!(s.counts().await, (2, 0, 0));
    assert_eq!(s.usage.records().len(), 2);
}

#[tokio::test]
async fn retries_stop_at_max_retries_then_fail_over() {
    let s = Setup::new().await;
    s.anthropic.set_default(Reply::error(500, "api_error", "boom"));
    let m = s.manager(NO_BREAKER, |p| p.max_retries = 2);
    let c = m.complete(&ask("hi there"), &ctx(), None).await.unwrap();
    assert_eq!(c.response.provider, "kimi");
    assert_eq!(s.counts().await, (3, 1, 0));
}

#[tokio::test]
async fn timeout_fails_over_without_retrying_past_the_budget() {
    let s = Setup::new().await;
    s.anthropic.push(Reply::slow(Duration::from_secs(3), Reply::text("too late")));
    let m = s.manager(NO_BREAKER, |p| {
        p.timeout_secs = 1;
        p.max_retries = 3;
    });
    let c = m.complete(&ask("hi there"), &ctx(), None).await.unwrap();
    assert_eq!(c.response.provider, "kimi");
    assert_eq!(c.attempts[0].outcome, "timeout");
    assert_eq!(s.counts().await.0, 1, "the timeout spent the budget: no retry");
}

#[tokio::test]
async fn all_failing_returns_the_last_error() {
    let s = Setup::new().await;
    s.anthropic.set_default(Reply::overloaded());
    s.kimi.set_default(Reply::error(401, "invalid_authentication_error", "bad key"));
    s.openai.set_default(Reply::error(500, "server_error", "down"));
    let m = s.manager(NO_BREAKER, |_| {});
    let err = m.complete(&ask("hi there"), &ctx(), None).await.unwrap_err();
    assert!(matches!(&err, LlmError::Server { provider, .. } if provider == "openai"), "{err:?}");
    let outcomes: Vec<_> = s.usage.records().iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(outcomes, ["overloaded", "error", "error"]);
}

#[tokio::test]
async fn no_provider_is_not_configured() {
    let m = LlmManager::new(vec![], BreakerConfig::default(), Default::default(), Arc::new(NoUsage));
    assert!(m.is_offline() && !m.has_vision() && m.providers().is_empty());
    assert_eq!(m.complete(&ask("hi"), &ctx(), None).await.unwrap_err(), LlmError::NotConfigured);
}

#[tokio::test]
async fn from_settings_builds_enabled_providers() {
    let s = Setup::new().await;
    let mut settings = LlmSettings { anthropic: s.anthropic.settings(CLAUDE), ..LlmSettings::default() };
    settings.kimi.base_url = s.kimi.base_url();
    let m = LlmManager::from_settings(&settings, Arc::new(NoUsage)).unwrap();
    let names: Vec<_> = m.providers().into_iter().map(|p| (p.name, p.model, p.vision)).collect();
    assert_eq!(names, [("anthropic".to_string(), CLAUDE.to_string(), true)]);
    assert!(m.has_vision() && !m.is_offline());
    let c = m.complete(&ask("你好，今天的销售怎么样"), &ctx(), None).await.unwrap();
    assert_eq!(c.response.provider, "anthropic", "kimi has no key: not enabled");
    assert_eq!(s.anthropic.received().await[0].body["max_tokens"], 2048);
}

#[tokio::test]
async fn images_prefer_vision_providers() {
    let s = Setup::new().await;
    let providers = vec![
        anthropic(&s.anthropic, |p| p.vision = false),
        openai("kimi", KIMI, &s.kimi, |p| p.vision = false),
        openai("openai", OPENAI, &s.openai, |_| {}),
    ];
    let m = LlmManager::new(providers, NO_BREAKER, Default::default(), Arc::new(NoUsage));
    assert_eq!(m.provider_order(Language::English, true), ["openai", "anthropic", "kimi"]);
    assert_eq!(m.provider_order(Language::Chinese, false), ["kimi", "anthropic", "openai"]);
}

#[tokio::test]
async fn breaker_opens_skips_and_half_opens_after_cooldown() {
    let s = Setup::new().await;
    s.anthropic.set_default(Reply::overloaded());
    let clock = Arc::new(ManualClock::new());
    let breaker = BreakerConfig { failures: 2, cooldown: Duration::from_secs(30) };
    let m = s.manager(breaker, |_| {}).with_clock(clock.clone());
    for _ in 0..2 {
        assert_eq!(m.complete(&ask("hi there"), &ctx(), None).await.unwrap().response.provider, "kimi");
    }
    assert_eq!(m.breaker_state("anthropic"), Some(BreakerState::Open));

    let c = m.complete(&ask("hi there"), &ctx(), None).await.unwrap();
    assert_eq!(c.attempts[0].outcome, "circuit_open");
    assert_eq!(s.counts().await, (2, 3, 0), "anthropic not called while open");

    clock.advance(Duration::from_secs(29));
    m.complete(&ask("hi there"), &ctx(), None).await.unwrap();
    assert_eq!(s.counts().await.0, 2);

    // After the cooldown one trial goes through; it fails, so the circuit opens again.
    clock.advance(Duration::from_secs(1));
    m.complete(&ask("hi there"), &ctx(), None).await.unwrap();
    assert_eq!(s.counts().await.0, 3);
    assert_eq!(m.breaker_state("anthropic"), Some(BreakerState::Open));

    // Next trial succeeds: closed again, anthropic answers.
    s.anthropic.set_default(Reply::text("back"));
    clock.advance(Duration::from_secs(30));
    let c = m.complete(&ask("hi there"), &ctx(), None).await.unwrap();
    assert_eq!(c.response.text(), "back");
    assert_eq!(m.breaker_state("anthropic"), Some(BreakerState::Closed));
    assert_eq!(s.usage.records().len(), 2 * 2 + 1 + 1 + 2 + 1, "skips are not usage");
}

#[tokio::test]
async fn mid_stream_failure_after_text_does_not_fail_over() {
    let s = Setup::new().await;
    s.anthropic.push(Reply::FailMidStream {
        text: "The report for".into(),
        body_type: "overloaded_error".into(),
        message: "Overloaded".into(),
    });
    let m = s.manager(NO_BREAKER, |p| p.max_retries = 2);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let err = m.complete(&ask("hi there"), &ctx(), Some(&tx)).await.unwrap_err();
    drop(tx);
    assert!(matches!(err, LlmError::Overloaded { .. }), "{err:?}");
    assert_eq!(streamed_text(&drain(rx)), "The report for");
    assert_eq!(s.counts().await, (1, 0, 0), "neither retried nor failed over");
}

#[tokio::test]
async fn stream_failing_before_text_fails_over() {
    let s = Setup::new().await;
    s.anthropic.push(Reply::overloaded());
    let m = s.manager(NO_BREAKER, |_| {});
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let c = m.complete(&ask("hi there"), &ctx(), Some(&tx)).await.unwrap();
    drop(tx);
    assert_eq!(c.response.text(), "fake kimi reply");
    assert_eq!(streamed_text(&drain(rx)), "fake kimi reply");
    assert!(s.kimi.received().await[0].is_stream());
}
