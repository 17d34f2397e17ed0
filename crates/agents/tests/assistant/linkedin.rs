//! LinkedIn prospecting with a session cookie configured, against the fake Voyager server:
//! the offline skill finds the prospects and exports them; saving them to the CRM after
//! reading LinkedIn is held for the user's consent.

use agents::Outcome;
use web::linkedin_fake::{FAKE_TOKEN, FakeLinkedin};

use crate::common::{Env, request};

async fn linkedin() -> FakeLinkedin {
    let fake = FakeLinkedin::start().await;
    fake.add_person("Aisyah Rahman", "Marketing Manager at Kopi Kita F&B", "Kuala Lumpur, Malaysia", "aisyah-rahman");
    fake.add_person(
        "Daniel Lee",
        "Operations Director at Nasi Lemak House F&B",
        "Kuala Lumpur, Malaysia",
        "daniel-lee-kl",
    );
    fake.add_person("Grace Tan", "Head of Growth at Bubble Lab F&B", "Singapore", "grace-tan");
    fake
}

#[tokio::test]
async fn prospects_are_found_exported_and_crm_writes_wait_for_consent() {
    let env = Env::new().await;
    let fake = linkedin().await;
    let uri = fake.uri();
    let assistant = env.assistant(|s| {
        s.web.linkedin_cookie = settings::Secret::new(FAKE_TOKEN);
        s.web.linkedin_base_url = uri;
    });
    let rep = env.user("sales_rep", "sales").await;

    let r = assistant.run(&request(&rep, "Find prospects in the F&B industry in Kuala Lumpur"), None).await.unwrap();
    assert_eq!((r.provider.as_str(), r.outcome), ("offline", Outcome::Answered), "{}", r.response);
    assert_eq!(r.tools_used, ["linkedin_search", "csv_export"], "{}", r.response);
    assert!(r.response.contains("Found 2 prospects"), "{}", r.response);
    assert!(!r.response.contains("Not done"), "{}", r.response);
    assert_eq!(r.artifacts.len(), 1);
    let row = store::artifacts::get(&env.db, r.artifacts[0].id).await.unwrap().unwrap();
    let csv =
        std::fs::read_to_string(std::path::Path::new(&env.settings.paths.data_dir).join("artifacts").join(&row.path))
            .unwrap();
    assert!(
        csv.contains("Aisyah Rahman")
            && csv.contains("Kopi Kita F&B")
            && csv.contains("https://www.linkedin.com/in/daniel-lee-kl"),
        "{csv}"
    );
    assert!(!csv.contains("Grace Tan"), "{csv}");
    // The session cookie went to LinkedIn and nowhere else.
    let seen = fake.requests();
    assert!(!seen.is_empty());
    assert!(seen[0].header("cookie").unwrap().contains(FAKE_TOKEN));

    // "…and save them to the CRM": read from LinkedIn (untrusted), so the CRM write waits.
    let r = assistant
        .run(&request(&rep, "Find prospects in the F&B industry in Kuala Lumpur and save them to the CRM"), None)
        .await
        .unwrap();
    // One lead per prospect's company, each with its own contact, each waiting.
    assert_eq!(r.pending_actions.len(), 2, "{r:?}");
    let held: Vec<(String, String)> = r
        .pending_actions
        .iter()
        .map(|p| {
            assert_eq!(p.tool, "crm_create_lead");
            (p.input["company_name"].as_str().unwrap().into(), p.input["contact_name"].as_str().unwrap().into())
        })
        .collect();
    assert!(held.contains(&("Kopi Kita F&B".into(), "Aisyah Rahman".into())), "{held:?}");
    assert!(held.contains(&("Nasi Lemak House F&B".into(), "Daniel Lee".into())), "{held:?}");
    // Confirmed by the rep: the lead is created with its contact.
    let c = r.pending_actions.iter().find(|p| p.input["company_name"] == "Kopi Kita F&B").unwrap();
    let done = assistant.confirm(&rep, c.confirmation_id).await.unwrap();
    assert_eq!(done.status, "done", "{done:?}");
    let f = store::company::LeadFilter { query: Some("Kopi Kita".into()), limit: 5, ..Default::default() };
    let leads = store::company::search_leads(&env.db, &f).await.unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].contact_name.as_deref(), Some("Aisyah Rahman"));
    let f = store::company::LeadFilter { query: Some("Nasi Lemak House".into()), limit: 5, ..Default::default() };
    assert!(store::company::search_leads(&env.db, &f).await.unwrap().is_empty(), "not confirmed, not written");
}

#[tokio::test]
async fn an_expired_session_is_reported_as_not_configured() {
    let env = Env::new().await;
    let fake = linkedin().await;
    fake.expire_session();
    let uri = fake.uri();
    let assistant = env.assistant(|s| {
        s.web.linkedin_cookie = settings::Secret::new(FAKE_TOKEN);
        s.web.linkedin_base_url = uri;
    });
    let rep = env.user("sales_rep", "sales").await;
    let r = assistant.run(&request(&rep, "Find prospects in the F&B industry in Kuala Lumpur"), None).await.unwrap();
    assert!(r.response.contains("LINKEDIN_COOKIE"), "{}", r.response);
    assert!(!r.response.contains(FAKE_TOKEN));
    assert!(r.artifacts.is_empty());
}
