//! Each of the seven skills run by the offline engine (no provider configured) for a user
//! with the right role, over the demo company: real figures, the tools that ran, and an
//! honest note for the steps whose tools this server does not have yet.

use agents::{Outcome, TurnResult};
use chrono::{Datelike, Months, NaiveDate};
use domain::AgentKind;
use serde_json::json;

use crate::common::{Env, assert_not_done, last_month, money, month_label, request};

async fn run(env: &Env, role: &str, department: &str, message: &str) -> TurnResult {
    let principal = env.user(role, department).await;
    env.offline().run(&request(&principal, message), None).await.unwrap()
}

#[track_caller]
fn assert_offline(r: &TurnResult, agent: AgentKind, skill: &str, tools: &[&str]) {
    assert_eq!(r.provider, "offline", "{r:?}");
    assert_eq!((r.model.as_deref(), r.input_tokens, r.output_tokens), (None, 0, 0));
    assert_eq!(r.agent_used, Some(agent), "{r:?}");
    assert_eq!(r.skill.as_deref(), Some(skill), "{r:?}");
    assert_eq!(r.outcome, Outcome::Answered, "{}", r.response);
    assert_eq!(r.tools_used, tools, "{}", r.response);
    // Only the tools that make files leave artifacts.
    let makes_files = tools.iter().any(|t| matches!(*t, "csv_export" | "pdf_generator"));
    assert_eq!(r.artifacts.is_empty(), !makes_files, "{:?}", r.artifacts);
    assert!(!r.response.contains("{{"), "no template left unrendered:\n{}", r.response);
}

#[tokio::test]
async fn financial_reporting_states_last_months_books() {
    let env = Env::new().await;
    let r = run(&env, "finance_manager", "finance", "Generate the financial statement for last month").await;
    assert_offline(&r, AgentKind::Finance, "financial_reporting", &["finance_summary", "pdf_generator"]);

    let (from, to) = last_month(env.today);
    let s = env.finance(from, to).await;
    assert!(s.revenue_cents > 0 && s.expenses_cents > 0, "the demo has books for last month");
    let text = &r.response;
    assert!(text.starts_with(&format!("**Financial statement – {}**", month_label(from))), "{text}");
    for line in [
        format!("- Revenue: {}", money(s.revenue_cents)),
        format!("- Expenses: {}", money(s.expenses_cents)),
        format!("- Refunds: {}", money(s.refunds_cents)),
        format!("- Net income: {}", money(s.net_income_cents)),
        format!("- Orders: {}", s.order_count),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    // Every product and expense category with its amount.
    for a in s.revenue_by_product.iter().chain(&s.expenses_by_category) {
        let line = format!("- {}: {}", a.key, money(a.cents));
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    // The PDF is the user's file, named in the answer; no recipients, so no e-mail step.
    let name = format!("Financial_Statement_{}.pdf", month_label(from).replace(' ', "_"));
    assert!(text.lines().any(|l| l == format!("PDF: {name}")), "{text}");
    assert!(!text.contains("Not done"), "{text}");
    assert_eq!(r.artifacts.len(), 1);
    assert_eq!((r.artifacts[0].kind.as_str(), r.artifacts[0].name.as_str()), ("pdf", name.as_str()));
    let row = store::artifacts::get(&env.db, r.artifacts[0].id).await.unwrap().unwrap();
    let path = std::path::Path::new(&env.settings.paths.data_dir).join("artifacts").join(&row.path);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    // Read back with a real extractor: the figures are in the document.
    let out = std::process::Command::new("pdftotext").args(["-layout"]).arg(&path).arg("-").output().unwrap();
    let pdf_text = String::from_utf8_lossy(&out.stdout);
    assert!(pdf_text.contains(&format!("Financial Statement {}", month_label(from))), "{pdf_text}");
    let figure = money(s.net_income_cents).trim_start_matches("SGD ").to_string();
    assert!(pdf_text.contains(&figure), "{figure} not in:\n{pdf_text}");
}

#[tokio::test]
async fn data_analysis_tabulates_revenue_by_product_for_last_quarter() {
    let env = Env::new().await;
    let r = run(&env, "finance_analyst", "finance", "Analyse revenue by product for last quarter").await;
    assert_offline(&r, AgentKind::Finance, "data_analysis", &["data_query", "csv_export"]);

    let q = (env.today.month0() / 3) as i32; // this quarter, 0-based
    let (year, last_q) = if q == 0 { (env.today.year() - 1, 4) } else { (env.today.year(), q) };
    let from = NaiveDate::from_ymd_opt(year, (last_q as u32 - 1) * 3 + 1, 1).unwrap();
    let to = from.checked_add_months(Months::new(3)).unwrap();
    let s = env.finance(from, to).await;
    assert!(s.revenue_by_product.len() >= 3);
    let text = &r.response;
    assert!(text.starts_with(&format!("**revenue_by_product – Q{last_q} {year}**")), "{text}");
    assert!(text.contains("Columns: product, amount, count"), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("- ")).collect();
    let expected: Vec<String> = s
        .revenue_by_product
        .iter()
        .map(|a| format!("- {}, {}, {}", a.key, json!(a.cents as f64 / 100.0), a.count))
        .collect();
    assert_eq!(rows, expected, "{text}");
    // The table is also a CSV file the analyst owns, with the same rows.
    let name = format!("revenue_by_product_Q{last_q}_{year}.csv");
    assert!(text.contains(&format!("CSV: {name}")), "{text}");
    assert!(!text.contains("Not done"), "{text}");
    assert_eq!(r.artifacts.len(), 1, "{:?}", r.artifacts);
    assert_eq!((r.artifacts[0].kind.as_str(), r.artifacts[0].name.as_str()), ("csv", name.as_str()));
    let row = store::artifacts::get(&env.db, r.artifacts[0].id).await.unwrap().unwrap();
    assert_eq!((row.source.as_str(), row.content_type.as_str()), ("generated", "text/csv"));
    let path = std::path::Path::new(&env.settings.paths.data_dir).join("artifacts").join(&row.path);
    let csv = std::fs::read_to_string(path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("product,amount,count"));
    let expected: Vec<String> = s
        .revenue_by_product
        .iter()
        .map(|a| format!("{},{},{}", a.key, json!(a.cents as f64 / 100.0), a.count))
        .collect();
    assert_eq!(lines.map(String::from).collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn email_outreach_finds_the_matching_leads_and_reports_the_email_as_not_done() {
    let env = Env::new().await;
    let r = run(&env, "sales_rep", "sales", "Send intro email to new F&B leads in Singapore").await;
    assert_offline(&r, AgentKind::Sales, "email_outreach", &["crm_search_leads", "outlook_send_email"]);
    let leads = store::company::search_leads(
        &env.db,
        &store::company::LeadFilter {
            industry: Some("F&B".into()),
            location: Some("Singapore".into()),
            status: Some("new".into()),
            limit: 25,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let text = &r.response;
    assert!(text.contains(&format!(": {} (status new, F&B Singapore)", leads.len())), "{text}");
    assert!(text.contains("`intro` template"), "{text}");
    // One e-mail per lead with an address, queued for delivery.
    let emails = leads.iter().filter(|l| l.contact_email.is_some()).count();
    assert!(emails > 0);
    assert!(text.contains(&format!("- E-mails queued: {emails}")), "{text}");
    assert!(!text.contains("Not done"), "{text}");
    // Nothing is booked without a follow-up date.
    assert!(!text.contains("calendar_create_event"), "{text}");
}

/// The e-mail tool does not exist on this server, yet the answer opens with "Outreach sent"
/// and counts "Leads emailed"; the "Not done" note at the bottom contradicts both.
#[tokio::test]
async fn email_outreach_does_not_claim_emails_it_did_not_send() {
    let env = Env::new().await;
    let r = run(&env, "sales_rep", "sales", "Send intro email to new F&B leads in Singapore").await;
    assert!(!r.response.contains("Outreach sent"), "{}", r.response);
    assert!(!r.response.contains("Leads emailed"), "{}", r.response);
}

#[tokio::test]
async fn linkedin_prospecting_reports_both_missing_tools() {
    let env = Env::new().await;
    let r = run(&env, "sales_rep", "sales", "Find prospects in the F&B industry in Kuala Lumpur").await;
    assert_offline(&r, AgentKind::Sales, "linkedin_prospecting", &[]);
    let text = &r.response;
    assert!(text.starts_with("**LinkedIn prospects – F&B, Kuala Lumpur**"), "{text}");
    // Neither a count nor a file is claimed.
    assert!(!text.contains("Found "), "{text}");
    assert_not_done(text, &["linkedin_search"]);
    assert!(text.contains("Also skipped, because they needed those results: csv_export."), "{text}");
    assert!(r.artifacts.is_empty());
}

/// "...and save them to the CRM": the CRM step takes its companies from the LinkedIn step,
/// which did not run; the plan should skip it (nothing to save) and report the LinkedIn
/// search as not done, not fail on a missing `company_name`.
#[tokio::test]

async fn linkedin_prospecting_with_save_to_crm_does_not_fail_on_the_missing_search() {
    let env = Env::new().await;
    let r =
        run(&env, "sales_rep", "sales", "Find prospects in the F&B industry in Kuala Lumpur and save them to the CRM")
            .await;
    assert_eq!(r.outcome, Outcome::Answered, "{}", r.response);
    assert!(!r.response.contains("missing field"), "{}", r.response);
    assert_not_done(&r.response, &["linkedin_search"]);
    assert!(
        r.response.contains("Also skipped, because they needed those results: crm_create_lead, csv_export."),
        "{}",
        r.response
    );
}

#[tokio::test]
async fn pitch_deck_gathers_the_material_and_builds_the_deck() {
    let env = Env::new().await;
    let r = run(&env, "sales_rep", "sales", "Make a pitch deck for ABC Restaurant Group").await;
    assert_eq!(r.agent_used, Some(AgentKind::Sales));
    assert_eq!(r.skill.as_deref(), Some("pitch_deck_generation"));
    assert_eq!((r.provider.as_str(), r.outcome), ("offline", Outcome::Answered), "{}", r.response);
    // The catalog, the prospect's record, reference customers in its industry, messaging.
    let mut tools = r.tools_used.clone();
    tools.dedup();
    assert_eq!(
        tools,
        ["products_catalog", "customers_query", "knowledge_search", "pptx_generator"],
        "{:?}",
        r.tools_used
    );
    let text = &r.response;
    assert!(text.lines().any(|l| l == "- Tailored to: ABC Restaurant Group F&B"), "{text}");
    assert!(!text.contains("Not done"), "{text}");
    // The deck is the rep's file: a real PPTX whose title slide names the prospect.
    assert_eq!(r.artifacts.len(), 1, "{:?}", r.artifacts);
    let deck = &r.artifacts[0];
    assert_eq!(deck.kind, "pptx");
    assert!(text.contains(&format!("Pitch deck ready: **{}** (", deck.name)), "{text}");
    let row = store::artifacts::get(&env.db, deck.id).await.unwrap().unwrap();
    let path = std::path::Path::new(&env.settings.paths.data_dir).join("artifacts").join(&row.path);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(files::sniff_bytes(&bytes).unwrap().kind, "pptx");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut slide = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("ppt/slides/slide1.xml").unwrap(), &mut slide).unwrap();
    assert!(slide.contains("ABC Restaurant Group"), "{slide}");
}

#[tokio::test]

async fn offline_tools_used_names_each_tool_once() {
    let env = Env::new().await;
    let r = run(&env, "sales_rep", "sales", "Make a pitch deck for ABC Restaurant Group").await;
    assert_eq!(r.tools_used, ["products_catalog", "customers_query", "knowledge_search", "pptx_generator"]);
}

#[tokio::test]
async fn content_generation_grounds_the_topic_and_reports_the_draft_as_not_done() {
    let env = Env::new().await;
    let assistant = env.offline();
    let principal = env.user("marketing_executive", "marketing").await;
    let message = "Write a LinkedIn post about the Campaign Analytics add-on for cafes";
    let r = assistant.run(&request(&principal, message), None).await.unwrap();
    assert_offline(&r, AgentKind::Marketing, "content_generation", &["knowledge_search"]);
    let text = &r.response;
    assert!(text.starts_with("**Draft social_post** – the Campaign Analytics add-on for cafes"), "{text}");
    // The knowledge search ran with the topic and the industry (cafés → F&B).
    let passages = assistant.knowledge.search("the Campaign Analytics add-on for cafes F&B", 6).len();
    assert!(passages > 0);
    assert!(text.contains(&format!("_Grounded in {passages} knowledge base passages.")), "{text}");
    assert_not_done(text, &["content_draft"]);
}

#[tokio::test]
async fn web_research_answers_from_the_knowledge_base_and_reports_the_web_as_not_done() {
    let env = Env::new().await;
    let assistant = env.offline();
    let principal = env.user("marketing_manager", "marketing").await;
    let r = assistant
        .run(&request(&principal, "Research bubble tea chains expanding in Kuala Lumpur"), None)
        .await
        .unwrap();
    assert_offline(&r, AgentKind::Marketing, "web_research", &["knowledge_search"]);
    let text = &r.response;
    assert!(text.starts_with("**Research: bubble tea chains expanding in Kuala Lumpur**"), "{text}");
    let hits = assistant.knowledge.search("bubble tea chains expanding in Kuala Lumpur", 5);
    assert!(!hits.is_empty());
    assert!(text.contains(&format!("What Mezzofy's knowledge base says ({} passages):", hits.len())), "{text}");
    assert!(text.contains(&hits[0].title), "the best passage is quoted:\n{text}");
    // No web sources are invented.
    assert!(!text.contains("Sources:"), "{text}");
    assert_not_done(text, &["web_research"]);
}

/// The "about / on …" topic pattern in skills/params.rs matches "on" at the start of any
/// word, so "online" gives the topic "line …".
#[tokio::test]
async fn topics_are_not_cut_out_of_words_starting_with_on() {
    let env = Env::new().await;
    let r = run(&env, "marketing_manager", "marketing", "Search online for loyalty apps used by Hong Kong gyms").await;
    assert_eq!(r.skill.as_deref(), Some("web_research"));
    assert!(!r.response.contains("Research: line"), "{}", r.response);
    let r = run(&env, "marketing_executive", "marketing", "Write a blog post for online stores about loyalty").await;
    assert_eq!(r.skill.as_deref(), Some("content_generation"));
    assert!(r.response.starts_with("**Draft blog_post** – loyalty"), "{}", r.response);
}
