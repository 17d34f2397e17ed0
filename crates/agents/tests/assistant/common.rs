//! Shared set-up: a private database with the demo company, users with real roles, and
//! assistants built the way the processes build them (`agents::chat::build`).

use std::sync::Arc;

use agents::{AgentRequest, Assistant, Source};
use chrono::{Datelike, Months, NaiveDate};
use domain::{Principal, RoleCatalog};
use settings::Settings;
use store::DatabaseConnection;
use testkit::TestDb;
use uuid::Uuid;

pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// `[first of last month, first of this month)`, computed independently of `agents::period`.
pub fn last_month(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let this = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
    (this.checked_sub_months(Months::new(1)).unwrap(), this)
}

/// "October 2026" for the month starting at `from`.
pub fn month_label(from: NaiveDate) -> String {
    from.format("%B %Y").to_string()
}

pub fn money(cents: i64) -> String {
    agents::tools::format_cents("SGD", cents)
}

pub fn roles() -> Arc<RoleCatalog> {
    let path = testkit::repo_root().join("config/roles.yaml");
    Arc::new(settings::load_roles(&path).expect("config/roles.yaml"))
}

/// A database of its own with the demo company seeded for the real today.
pub struct Env {
    /// Dropped with the environment: drops the database.
    _testdb: TestDb,
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub roles: Arc<RoleCatalog>,
    pub today: NaiveDate,
}

impl Env {
    pub async fn new() -> Self {
        let env = Self::empty().await;
        let counts = store::demo::seed_company_demo(&env.db, env.today, 7).await.expect("seed the demo company");
        assert!(counts.orders > 0 && counts.leads > 0, "the demo has data: {counts:?}");
        env
    }

    /// Without the demo data.
    pub async fn empty() -> Self {
        let testdb = TestDb::new().await;
        let db = testdb.connect().await;
        let settings = testkit::test_settings(&testdb.url);
        assert!(!settings.llm.any_enabled(), "test settings start offline");
        Self { _testdb: testdb, db, settings, roles: roles(), today: today() }
    }

    /// A user with a random address.
    pub async fn user(&self, role: &str, department: &str) -> Principal {
        let email = format!("{}-{}@example.com", role.replace('_', "-"), &Uuid::new_v4().simple().to_string()[..8]);
        self.user_with_email(&email, role, department).await
    }

    pub async fn user_with_email(&self, email: &str, role: &str, department: &str) -> Principal {
        self.roles.check_assignment(role, department.parse().unwrap()).expect("a valid role assignment");
        let user = store::users::create(
            &self.db,
            store::users::NewUser {
                email: &domain::EmailAddress::parse(email).unwrap(),
                password_hash: "not-a-real-hash".into(),
                name: &format!("Test {role}"),
                department: department.parse().unwrap(),
                role,
            },
        )
        .await
        .unwrap();
        Principal {
            user_id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            department: user.department,
            role: user.role.clone(),
            permissions: self.roles.permissions_of(role),
        }
    }

    /// The assistant as the processes build it, with `adjust` applied to the settings.
    pub fn assistant(&self, adjust: impl FnOnce(&mut Settings)) -> Assistant {
        let mut settings = self.settings.clone();
        adjust(&mut settings);
        agents::chat::build(Arc::new(settings), self.db.clone()).expect("build the assistant")
    }

    /// No provider configured.
    pub fn offline(&self) -> Assistant {
        let a = self.assistant(|_| {});
        assert!(a.llm.is_offline());
        a
    }

    pub async fn finance(&self, from: NaiveDate, to: NaiveDate) -> store::company::FinanceSummary {
        store::company::finance_summary(&self.db, from, to).await.unwrap()
    }
}

pub fn request(principal: &Principal, message: &str) -> AgentRequest {
    AgentRequest {
        principal: principal.clone(),
        message: message.into(),
        input_type: "text".into(),
        extracted_text: None,
        session_id: None,
        turn_id: Uuid::now_v7(),
        source: Source::Mobile,
        attachments: Vec::new(),
        conversation_history: Vec::new(),
        agent: None,
        event: None,
    }
}

/// The "Not done: …" note of the skills engine, for the given tools.
#[track_caller]
pub fn assert_not_done(response: &str, tools: &[&str]) {
    let note = response
        .lines()
        .find(|l| l.starts_with("Not done:"))
        .unwrap_or_else(|| panic!("no 'Not done' note in:\n{response}"));
    assert!(note.ends_with("not available on this server, so those steps were skipped."), "{note}");
    for t in tools {
        assert!(note.contains(&format!("(`{t}`)")), "{t} missing from {note}");
    }
    let listed = note.matches("(`").count();
    assert_eq!(listed, tools.len(), "exactly {tools:?} are reported as not done: {note}");
}
