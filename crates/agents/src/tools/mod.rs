//! Tools: what agents (and the offline skills engine) can do. Each tool declares its input
//! as a Rust type (the JSON schema the model sees is derived from it), the permissions it
//! needs and whether it has side effects. [`ToolRegistry::call`] checks the caller's
//! permissions before the tool runs, for every caller: the LLM loop, the skills engine,
//! webhooks and schedules.

mod company;
mod crm;
mod delivery;
mod documents;
mod exports;
mod knowledge_tools;
mod m365;
mod money;
mod web_tools;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use domain::{Permission, Principal};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use store::DatabaseConnection;
use uuid::Uuid;

pub use money::format_cents;

use crate::knowledge::Knowledge;

/// Everything a tool call may use.
#[derive(Clone)]
pub struct ToolContext {
    pub principal: Principal,
    pub db: DatabaseConnection,
    pub knowledge: Arc<Knowledge>,
    pub settings: Arc<settings::Settings>,
    pub session_id: Option<Uuid>,
    /// Identifies the turn; tools with side effects derive their idempotency keys from it,
    /// so a turn that is retried (inline, then as a job) does nothing twice.
    pub turn_id: Uuid,
    /// "Today" for relative periods (the clock is read once per turn).
    pub today: NaiveDate,
    /// What the turn has read (the consent rule) and the calls held for consent.
    pub trust: Arc<TurnTrust>,
    /// Microsoft Graph and FCM (when configured).
    pub integrations: Arc<crate::integrations::Integrations>,
}

/// How long a held side effect waits for `POST /chat/confirm/{id}`.
pub const CONSENT_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// A side-effecting call held until the user confirms it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PendingAction {
    pub confirmation_id: Uuid,
    pub tool: String,
    pub input: Value,
    /// Why consent is needed.
    pub reason: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// `POST` here to run exactly this call.
    pub confirm_url: String,
}

/// The consent rule's state for one turn: once the agent has read untrusted content (a web
/// page, an uploaded document, a webhook payload), side-effecting tools are held for the
/// user's confirmation instead of running.
#[derive(Debug, Default)]
pub struct TurnTrust {
    untrusted: std::sync::Mutex<Option<String>>,
    held: std::sync::Mutex<Vec<PendingAction>>,
    confirmed: bool,
}

impl TurnTrust {
    /// A turn that starts with untrusted content in it.
    pub fn untrusted(reason: impl Into<String>) -> Self {
        Self { untrusted: std::sync::Mutex::new(Some(reason.into())), ..Self::default() }
    }

    /// The user confirmed this very call: it runs even though the turn read untrusted content.
    pub fn confirmed() -> Self {
        Self { confirmed: true, ..Self::default() }
    }

    /// Marks the turn as having read untrusted content (the first reason is kept).
    pub fn taint(&self, reason: impl Into<String>) {
        if let Ok(mut u) = self.untrusted.lock()
            && u.is_none()
        {
            *u = Some(reason.into());
        }
    }

    /// Why side effects need consent now, if they do.
    pub fn consent_reason(&self) -> Option<String> {
        if self.confirmed {
            return None;
        }
        self.untrusted.lock().ok().and_then(|u| u.clone())
    }

    /// The calls held for consent in this turn, in order.
    pub fn held(&self) -> Vec<PendingAction> {
        self.held.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn hold(&self, p: PendingAction) {
        if let Ok(mut h) = self.held.lock()
            && !h.iter().any(|x| x.confirmation_id == p.confirmation_id)
        {
            h.push(p);
        }
    }
}

impl ToolContext {
    pub fn require(&self, permission: Permission) -> Result<(), ToolError> {
        self.principal.require(permission).map_err(|_| ToolError::Forbidden(vec![permission]))
    }
}

/// Who may call a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any signed-in user.
    Anyone,
    /// Holders of at least one of these permissions.
    AnyOf(&'static [Permission]),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    #[error("permission denied: this needs {}", .0.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" or "))]
    Forbidden(Vec<Permission>),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the tool '{0}' is not available on this server")]
    Unavailable(String),
    /// The tool exists but the service it needs is not set up here; the message says what
    /// is missing.
    #[error("{0}")]
    NotConfigured(String),
    #[error("{0}")]
    Failed(String),
}

impl From<store::StoreError> for ToolError {
    fn from(e: store::StoreError) -> Self {
        tracing::warn!(error = %e, "tool database error");
        ToolError::Failed("the company database could not answer; try again shortly".into())
    }
}

/// A reference to a generated file, for the chat response's `artifacts`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ArtifactRef {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub download_url: String,
}

/// What a tool returns: a JSON value (fed back to the model, and to skill templates) and
/// the artifacts it produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolOutput {
    pub value: Value,
    pub artifacts: Vec<ArtifactRef>,
}

impl ToolOutput {
    pub fn json(value: impl Serialize) -> Result<Self, ToolError> {
        let value = serde_json::to_value(value).map_err(|e| ToolError::Failed(format!("cannot encode result: {e}")))?;
        Ok(Self { value, artifacts: Vec::new() })
    }
}

/// The object-safe tool interface the registry holds.
#[async_trait::async_trait]
pub trait Tool: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn input_schema(&self) -> Value;
    fn access(&self) -> Access;
    /// Writes or sends something (CRM rows, e-mail, posts).
    fn side_effects(&self) -> bool;
    /// A short progress line ("Querying revenue…").
    fn status(&self) -> &'static str;
    /// Returns content from outside the company (web pages): after it, side effects need
    /// the user's consent.
    fn untrusted_output(&self) -> bool {
        false
    }
    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError>;
}

/// A tool whose input is a Rust type; implement this and register with [`ToolRegistry::add`].
#[async_trait::async_trait]
pub trait TypedTool: Send + Sync + 'static {
    type Input: DeserializeOwned + schemars::JsonSchema + Send;
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
    const ACCESS: Access;
    const SIDE_EFFECTS: bool;
    const STATUS: &'static str;
    /// See [`Tool::untrusted_output`].
    const UNTRUSTED_OUTPUT: bool = false;
    async fn run(&self, ctx: &ToolContext, input: Self::Input) -> Result<ToolOutput, ToolError>;
}

/// A typed tool and its schema (derived once).
struct Typed<T>(T, std::sync::OnceLock<Value>);

#[async_trait::async_trait]
impl<T: TypedTool> Tool for Typed<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn description(&self) -> &'static str {
        T::DESCRIPTION
    }
    fn input_schema(&self) -> Value {
        self.1.get_or_init(schema_for::<T::Input>).clone()
    }
    fn access(&self) -> Access {
        T::ACCESS
    }
    fn side_effects(&self) -> bool {
        T::SIDE_EFFECTS
    }
    fn status(&self) -> &'static str {
        T::STATUS
    }
    fn untrusted_output(&self) -> bool {
        T::UNTRUSTED_OUTPUT
    }
    async fn call(&self, ctx: &ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
        let input = if input.is_null() { Value::Object(Default::default()) } else { input };
        let parsed: T::Input = serde_json::from_value(input).map_err(|e| ToolError::InvalidInput(e.to_string()))?;
        self.0.run(ctx, parsed).await
    }
}

async fn hold_for_consent(
    ctx: &ToolContext,
    tool: &str,
    input: Value,
    reason: String,
) -> Result<ToolOutput, ToolError> {
    let input = if input.is_null() { Value::Object(Default::default()) } else { input };
    let row = store::pending::hold(
        &ctx.db,
        store::pending::NewPending {
            user_id: ctx.principal.user_id,
            session_id: ctx.session_id,
            turn_id: ctx.turn_id,
            tool: tool.to_string(),
            input: input.clone(),
            reason: reason.clone(),
            ttl: CONSENT_TTL,
        },
    )
    .await?;
    let pending = PendingAction {
        confirmation_id: row.id,
        tool: tool.to_string(),
        input,
        reason: reason.clone(),
        expires_at: row.expires_at,
        confirm_url: format!("/chat/confirm/{}", row.id),
    };
    ctx.trust.hold(pending.clone());
    tracing::info!(tool, confirmation_id = %row.id, "side effect held for the user's consent");
    Ok(ToolOutput {
        value: serde_json::json!({
            "status": "needs_confirmation",
            "confirmation_id": row.id,
            "message": format!(
                "Not done yet: {tool} was requested after {reason}, so the user must confirm it first. \
                 Tell the user what would be done and that they can confirm it (confirmation {}).",
                row.id
            ),
        }),
        artifacts: Vec::new(),
    })
}

/// The JSON schema of `T` as the providers want it: an object schema without `$schema`.
pub fn schema_for<T: schemars::JsonSchema>() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.remove("$schema");
        map.remove("title");
        map.entry("type").or_insert_with(|| Value::String("object".into()));
        map.entry("properties").or_insert_with(|| Value::Object(Default::default()));
    }
    v
}

/// All tools of this process, by name.
#[derive(Default, Clone)]
pub struct ToolRegistry {
    tools: BTreeMap<&'static str, Arc<dyn Tool>>,
}

impl ToolRegistry {
    /// The tools of this crate (company data, CRM, knowledge base, CSV export).
    pub fn with_builtin() -> Self {
        let mut r = Self::default();
        company::register(&mut r);
        crm::register(&mut r);
        exports::register(&mut r);
        delivery::register(&mut r);
        documents::register(&mut r);
        knowledge_tools::register(&mut r);
        m365::register(&mut r);
        web_tools::register(&mut r);
        r
    }

    pub fn add<T: TypedTool>(&mut self, tool: T) {
        self.tools.insert(T::NAME, Arc::new(Typed(tool, std::sync::OnceLock::new())));
    }

    /// Registers an already type-erased tool (other crates' tools plug in here).
    pub fn add_dyn(&mut self, tool: Arc<dyn Tool>) {
        self.tools.insert(tool.name(), tool);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.tools.keys().copied()
    }

    /// Whether `principal` may call `tool`.
    pub fn allowed(tool: &dyn Tool, principal: &Principal) -> Result<(), ToolError> {
        match tool.access() {
            Access::Anyone => Ok(()),
            Access::AnyOf(perms) if perms.iter().any(|p| principal.has(*p)) => Ok(()),
            Access::AnyOf(perms) => Err(ToolError::Forbidden(perms.to_vec())),
        }
    }

    /// Runs a tool after checking the caller may use it. A side-effecting tool asked for
    /// after the turn read untrusted content is not run: the call is held for the user's
    /// confirmation and the result says so.
    pub async fn call(&self, ctx: &ToolContext, name: &str, input: Value) -> Result<ToolOutput, ToolError> {
        let tool = self.tools.get(name).ok_or_else(|| ToolError::Unavailable(name.chars().take(60).collect()))?;
        Self::allowed(tool.as_ref(), &ctx.principal)?;
        if tool.side_effects()
            && let Some(reason) = ctx.trust.consent_reason()
        {
            return hold_for_consent(ctx, tool.name(), input, reason).await;
        }
        let started = std::time::Instant::now();
        let out = tool.call(ctx, input).await;
        tracing::debug!(tool = name, ok = out.is_ok(), ms = started.elapsed().as_millis() as u64, "tool call");
        if tool.untrusted_output() && out.is_ok() {
            ctx.trust.taint(format!("the agent read outside content ({name})"));
        }
        out
    }

    /// Tool definitions for the model: the named tools that exist here (unknown names are
    /// skipped: they belong to features this build does not have).
    pub fn specs(&self, names: &[&str]) -> Vec<llm::ToolSpec> {
        names
            .iter()
            .filter_map(|n| self.tools.get(n))
            .map(|t| llm::ToolSpec {
                name: t.name().to_string(),
                description: t.description().to_string(),
                input_schema: t.input_schema(),
            })
            .collect()
    }
}
