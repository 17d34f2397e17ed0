//! "Generate the latest financial statement and send to CEO", offline, in three languages,
//! with the CEO's account active and deactivated.

use agents::{Outcome, TurnResult};
use domain::AgentKind;
use serde_json::json;

use crate::common::{Env, last_month, money, month_label, request};

/// The statement of last month, figure by figure.
#[track_caller]
fn assert_statement(r: &TurnResult, s: &store::company::FinanceSummary, label: &str) {
    assert_eq!(r.provider, "offline");
    assert_eq!(r.agent_used, Some(AgentKind::Finance));
    assert_eq!(r.skill.as_deref(), Some("financial_reporting"));
    assert_eq!(r.outcome, Outcome::Answered, "{}", r.response);
    // The PDF is always made; the e-mail step runs when someone was named (and resolved).
    assert!(
        r.tools_used == ["finance_summary", "pdf_generator"]
            || r.tools_used == ["finance_summary", "pdf_generator", "outlook_send_email"],
        "{:?}",
        r.tools_used
    );
    assert_eq!(r.artifacts.len(), 1, "{:?}", r.artifacts);
    let text = &r.response;
    assert!(text.starts_with(&format!("**Financial statement – {label}**")), "{text}");
    for line in [
        format!("- Revenue: {}", money(s.revenue_cents)),
        format!("- Expenses: {}", money(s.expenses_cents)),
        format!("- Refunds: {}", money(s.refunds_cents)),
        format!("- Net income: {}", money(s.net_income_cents)),
        format!("- Orders: {}", s.order_count),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
}

#[tokio::test]
async fn latest_statement_for_the_ceo_states_the_figures_and_that_the_email_was_not_sent() {
    let env = Env::new().await;
    let ceo = env.user_with_email("ceo@mezzofy.com", "executive", "management").await;
    let me = env.user("finance_manager", "finance").await;
    let assistant = env.offline();
    let (from, to) = last_month(env.today);
    let s = env.finance(from, to).await;

    let r =
        assistant.run(&request(&me, "Generate the latest financial statement and send to CEO"), None).await.unwrap();
    assert_statement(&r, &s, &month_label(from));
    // The CEO resolved: the e-mail, with the figures in its body and the PDF attached, is
    // queued for delivery.
    assert_eq!(r.tools_used, ["finance_summary", "pdf_generator", "outlook_send_email"]);
    assert!(!r.response.contains("Not done"), "{}", r.response);
    assert!(r.response.contains("E-mail queued for: ceo@mezzofy.com"), "{}", r.response);
    assert!(!r.response.contains("Note:"), "no note about the recipient:\n{}", r.response);
    let jobs = store::jobs::list(
        &env.db,
        &store::jobs::JobFilter { kind: Some("delivery.email".into()), ..Default::default() },
        0,
        10,
    )
    .await
    .unwrap()
    .0;
    assert_eq!(jobs.len(), 1);
    let payload = &jobs[0].payload;
    assert_eq!(payload["to"], json!(["ceo@mezzofy.com"]));
    assert_eq!(payload["attachments"], json!([r.artifacts[0].id]));
    let html = payload["html"].as_str().unwrap();
    assert!(html.contains(&money(s.revenue_cents)) && html.contains(&money(s.net_income_cents)), "{html}");
    assert!(payload["subject"].as_str().unwrap().contains(&month_label(from)), "{payload}");

    // The CEO leaves: the answer says so instead of "sending" to them.
    store::users::update(
        &env.db,
        ceo.user_id,
        store::users::UserChanges { is_active: Some(false), ..Default::default() },
    )
    .await
    .unwrap()
    .unwrap();
    let r =
        assistant.run(&request(&me, "Generate the latest financial statement and send to CEO"), None).await.unwrap();
    assert_statement(&r, &s, &month_label(from));
    assert!(
        r.response.contains("Note: CEO (ceo@mezzofy.com) has a deactivated account, so I did not send to them."),
        "{}",
        r.response
    );
    // Nobody to send to: the e-mail step did not run, so it is not listed as missing.
    assert!(!r.response.contains("Not done"), "{}", r.response);
}

#[tokio::test]
async fn the_statement_request_works_in_chinese_and_malay() {
    let env = Env::new().await;
    let me = env.user("finance_manager", "finance").await;
    let assistant = env.offline();
    let (from, to) = last_month(env.today);
    let s = env.finance(from, to).await;
    for message in ["生成上个月的财务报表", "Sediakan penyata kewangan bulan lepas"] {
        let r = assistant.run(&request(&me, message), None).await.unwrap();
        assert_statement(&r, &s, &month_label(from));
        assert!(!r.response.contains("Not done"), "{}", r.response);
    }
    // Sent to the CEO, in Chinese and Malay, with the CEO unknown to the users table: the
    // directory's address is used and the e-mail is queued.
    for message in ["生成上个月的财务报表并发给总裁", "Sediakan penyata kewangan bulan lepas dan hantar kepada CEO"]
    {
        let r = assistant.run(&request(&me, message), None).await.unwrap();
        assert_statement(&r, &s, &month_label(from));
        assert_eq!(r.tools_used, ["finance_summary", "pdf_generator", "outlook_send_email"]);
        assert!(!r.response.contains("Not done"), "{}", r.response);
        assert!(r.response.contains("E-mail queued for: ceo@mezzofy.com"), "{}", r.response);
    }
}

#[tokio::test]
async fn a_sales_rep_gets_the_permission_message_and_no_figures() {
    let env = Env::new().await;
    let rep = env.user("sales_rep", "sales").await;
    let (from, to) = last_month(env.today);
    let s = env.finance(from, to).await;
    let r = env.offline().run(&request(&rep, "Generate the latest financial statement"), None).await.unwrap();
    assert_eq!(r.agent_used, Some(AgentKind::Finance));
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.tools_used.is_empty(), "{:?}", r.tools_used);
    assert_eq!(
        r.response,
        "I couldn't finish this: permission denied: this needs finance_read. Ask an administrator if you need it."
    );
    assert!(!r.response.contains(&money(s.revenue_cents)) && !r.response.contains("SGD"));
}
