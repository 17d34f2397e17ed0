//! One conversational turn: route, then either the agent loop with a model (tools fed back
//! until the model answers or the step cap is hit) or, without a model, the skills engine.
//! The api (inline turns) and the worker (`agent` jobs) both call [`Assistant::run`].

use std::sync::Arc;

use chrono::NaiveDate;
use domain::{AgentKind, Principal};
use llm::{CallContext, ChatRequest, Content, LlmError, LlmManager, Message, Role, StreamEvent};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::DatabaseConnection;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::catalog::tools_for;
use crate::knowledge::Knowledge;
use crate::router::{self, Route, Source};
use crate::skills::params::Filled;
use crate::skills::{SkillSet, engine, params};
use crate::tools::{ArtifactRef, PendingAction, ToolContext, ToolError, ToolRegistry, TurnTrust};

/// An earlier message of the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryMessage {
    pub role: String,
    pub content: String,
}

/// The gateway's normalized request (APP.md "Standard Internal Format").
#[derive(Debug, Clone)]
pub struct AgentRequest {
    pub principal: Principal,
    pub message: String,
    /// text | image | video | audio | speech | file | url | camera
    pub input_type: String,
    pub extracted_text: Option<String>,
    pub session_id: Option<Uuid>,
    pub turn_id: Uuid,
    pub source: Source,
    pub attachments: Vec<Value>,
    pub conversation_history: Vec<HistoryMessage>,
    /// Decided by the caller (a schedule's agent, a webhook's mapping).
    pub agent: Option<AgentKind>,
    /// A webhook's event type.
    pub event: Option<String>,
}

/// Progress of a turn, for streaming clients.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnEvent {
    Status(String),
    TextDelta(String),
}

pub type TurnSink = mpsc::UnboundedSender<TurnEvent>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    Clarify,
    NeedsInput,
    RanOutOfSteps,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnResult {
    pub response: String,
    pub agent_used: Option<AgentKind>,
    pub tools_used: Vec<String>,
    pub artifacts: Vec<ArtifactRef>,
    /// `offline` or the provider that answered.
    pub provider: String,
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub outcome: Outcome,
    pub route_reason: String,
    pub skill: Option<String>,
    /// Side effects held for the user's consent (see [`crate::tools::TurnTrust`]).
    #[serde(default)]
    pub pending_actions: Vec<PendingAction>,
}

/// Everything a turn needs; one per process.
pub struct Assistant {
    pub db: DatabaseConnection,
    pub llm: Arc<LlmManager>,
    pub tools: Arc<ToolRegistry>,
    pub knowledge: Arc<Knowledge>,
    pub skills: Arc<SkillSet>,
    pub settings: Arc<settings::Settings>,
    /// Microsoft Graph and FCM clients (when configured).
    pub integrations: Arc<crate::integrations::Integrations>,
}

fn emit(sink: Option<&TurnSink>, e: TurnEvent) {
    if let Some(s) = sink {
        let _ = s.send(e);
    }
}

impl Assistant {
    /// Loads the knowledge directory and skills named by the settings.
    pub fn load(
        db: DatabaseConnection,
        llm: Arc<LlmManager>,
        tools: ToolRegistry,
        settings: Arc<settings::Settings>,
    ) -> Result<Self, crate::knowledge::KnowledgeError> {
        let root = std::path::PathBuf::from(&settings.paths.knowledge_dir);
        let knowledge = Knowledge::load(&root)?;
        let skills = SkillSet::load(&root.join("skills"))?;
        Ok(Self {
            db,
            llm,
            tools: Arc::new(tools),
            knowledge: Arc::new(knowledge),
            skills: Arc::new(skills),
            settings,
            integrations: Arc::default(),
        })
    }

    fn department_agent(p: &Principal) -> Option<AgentKind> {
        AgentKind::for_department(p.department.as_str())
    }

    /// Routing without a model (fast; the api uses it to decide inline or background).
    pub fn route_quick(&self, req: &AgentRequest) -> Route {
        if let Some(agent) = req.agent {
            return Route::Agent { agent, reason: format!("{} request", req.source.as_str()), skill: None };
        }
        if req.source == Source::Webhook
            && let Some(agent) = req.event.as_deref().and_then(router::agent_for_event)
        {
            return Route::Agent { agent, reason: "webhook event".into(), skill: None };
        }
        router::route_message(&req.message, Self::department_agent(&req.principal), &self.skills)
    }

    /// Whether the request's skill runs in the background.
    pub fn is_background(&self, route: &Route) -> bool {
        matches!(route, Route::Agent { skill: Some(s), .. } if self.skills.get(s).is_some_and(|s| s.background))
    }

    fn tool_context(&self, req: &AgentRequest, today: NaiveDate) -> ToolContext {
        ToolContext {
            principal: req.principal.clone(),
            db: self.db.clone(),
            knowledge: self.knowledge.clone(),
            settings: self.settings.clone(),
            session_id: req.session_id,
            turn_id: req.turn_id,
            today,
            integrations: self.integrations.clone(),
            trust: Arc::new(match (&req.source, &req.extracted_text) {
                (Source::Webhook, _) => TurnTrust::untrusted("a webhook payload"),
                (_, Some(t)) if !t.trim().is_empty() => {
                    TurnTrust::untrusted(format!("the attached {}", req.input_type))
                }
                _ => TurnTrust::default(),
            }),
        }
    }

    /// Runs one turn to its answer.
    pub async fn run(&self, req: &AgentRequest, sink: Option<&TurnSink>) -> Result<TurnResult, LlmError> {
        let route = self.route_quick(req);
        self.run_routed(req, route, sink).await
    }

    /// [`Assistant::run`] with the keyword route already computed (the api routes once to
    /// decide inline or background, and passes it on).
    pub async fn run_routed(
        &self,
        req: &AgentRequest,
        route: Route,
        sink: Option<&TurnSink>,
    ) -> Result<TurnResult, LlmError> {
        let today = chrono::Utc::now().date_naive();
        let ctx = self.tool_context(req, today);
        let mut route = route;
        if matches!(route, Route::Clarify { .. }) && !self.llm.is_offline() && self.settings.agents.llm_classifier {
            emit(sink, TurnEvent::Status("Working out who should handle this…".into()));
            if let Some(r) = self.classify(req).await {
                route = r;
            }
        }
        let (agent, reason, skill) = match route {
            Route::Clarify { question, .. } => {
                return Ok(TurnResult {
                    response: question,
                    agent_used: None,
                    tools_used: Vec::new(),
                    artifacts: Vec::new(),
                    provider: "router".into(),
                    model: None,
                    input_tokens: 0,
                    output_tokens: 0,
                    outcome: Outcome::Clarify,
                    route_reason: "ambiguous".into(),
                    skill: None,
                    pending_actions: Vec::new(),
                });
            }
            Route::Agent { agent, reason, skill } => (agent, reason, skill),
        };
        let mut result = if self.llm.is_offline() {
            self.offline(req, &ctx, agent, reason, skill, None, sink).await
        } else {
            let mut deltas_sent = false;
            match self.agent_loop(req, &ctx, agent, &reason, sink, &mut deltas_sent).await {
                Ok(r) => r,
                Err(LlmError::Cancelled) => return Err(LlmError::Cancelled),
                Err(e) if !deltas_sent => {
                    tracing::warn!(error = %e, "every language model failed; answering offline");
                    self.offline(req, &ctx, agent, reason, skill, Some(e), sink).await
                }
                Err(e) => return Err(e),
            }
        };
        result.pending_actions = ctx.trust.held();
        Ok(result)
    }

    async fn classify(&self, req: &AgentRequest) -> Option<Route> {
        let call = CallContext {
            user_id: Some(req.principal.user_id),
            department: Some(req.principal.department.as_str().to_string()),
            session_id: req.session_id,
            purpose: "classify".into(),
            language: None,
        };
        let request = ChatRequest {
            system: Some(self.knowledge.router_prompt().to_string()),
            messages: vec![Message::user(format!(
                "Sender's department: {}\nMessage: {}",
                req.principal.department.as_str(),
                req.message
            ))],
            tools: Vec::new(),
            max_tokens: 200,
            temperature: Some(0.0),
        };
        match self.llm.complete(&request, &call, None).await {
            Ok(c) => router::parse_classifier(&c.response.text()),
            Err(e) => {
                tracing::warn!(error = %e, "intent classifier unavailable");
                None
            }
        }
    }

    fn system_prompt(&self, req: &AgentRequest, agent: AgentKind, today: NaiveDate) -> String {
        let p = &req.principal;
        let skills: Vec<String> =
            self.skills.for_agent(agent).map(|s| format!("- skill_{}: {}", s.name, s.description.trim())).collect();
        format!(
            "{}\n\n## This conversation\n- User: {} ({}), role {}, department {}\n- Today: {} (UTC)\n- Source: {}\n\n## Skills\nThese run a complete, tested workflow; prefer them when one fits:\n{}",
            self.knowledge.prompt(agent).trim(),
            p.name,
            p.email,
            p.role,
            p.department.as_str(),
            today,
            req.source.as_str(),
            skills.join("\n")
        )
    }

    fn user_content(req: &AgentRequest) -> String {
        match &req.extracted_text {
            Some(t) if !t.trim().is_empty() => {
                format!("{}\n\n[Content of the attached {}]\n{}", req.message, req.input_type, t)
            }
            _ => req.message.clone(),
        }
    }

    async fn agent_loop(
        &self,
        req: &AgentRequest,
        ctx: &ToolContext,
        agent: AgentKind,
        reason: &str,
        sink: Option<&TurnSink>,
        deltas_sent: &mut bool,
    ) -> Result<TurnResult, LlmError> {
        let cap = self.settings.agents.iterations_for(agent.as_str());
        let mut tools = self.tools.specs(tools_for(agent));
        for s in self.skills.for_agent(agent) {
            tools.push(llm::ToolSpec {
                name: format!("skill_{}", s.name),
                description: s.description.clone(),
                input_schema: s.input_schema(),
            });
        }
        let mut messages: Vec<Message> = req
            .conversation_history
            .iter()
            .map(|h| if h.role == "assistant" { Message::assistant(&h.content) } else { Message::user(&h.content) })
            .collect();
        messages.push(Message::user(Self::user_content(req)));
        let call = CallContext {
            user_id: Some(req.principal.user_id),
            department: Some(req.principal.department.as_str().to_string()),
            session_id: req.session_id,
            purpose: "chat".into(),
            language: None,
        };
        let mut result = TurnResult {
            response: String::new(),
            agent_used: Some(agent),
            tools_used: Vec::new(),
            artifacts: Vec::new(),
            provider: String::new(),
            model: None,
            input_tokens: 0,
            output_tokens: 0,
            outcome: Outcome::Answered,
            route_reason: reason.to_string(),
            skill: None,
            pending_actions: Vec::new(),
        };
        let system = self.system_prompt(req, agent, ctx.today);
        for _round in 0..cap {
            let request = ChatRequest {
                system: Some(system.clone()),
                messages: messages.clone(),
                tools: tools.clone(),
                max_tokens: self.settings.llm.max_tokens,
                temperature: None,
            };
            let completion = match sink {
                Some(s) => {
                    let (tx, mut rx) = mpsc::unbounded_channel::<StreamEvent>();
                    let forward = async {
                        let mut sent = false;
                        while let Some(ev) = rx.recv().await {
                            match ev {
                                StreamEvent::TextDelta(t) => {
                                    sent = true;
                                    let _ = s.send(TurnEvent::TextDelta(t));
                                }
                                StreamEvent::ToolCallStarted { name, .. } => {
                                    let status = self.tools.get(&name).map(|t| t.status().to_string());
                                    let _ =
                                        s.send(TurnEvent::Status(status.unwrap_or_else(|| format!("Running {name}…"))));
                                }
                            }
                        }
                        sent
                    };
                    let call_fut = async {
                        let r = self.llm.complete(&request, &call, Some(&tx)).await;
                        drop(tx);
                        r
                    };
                    let (r, sent) = tokio::join!(call_fut, forward);
                    *deltas_sent |= sent;
                    r?
                }
                None => self.llm.complete(&request, &call, None).await?,
            };
            let response = completion.response;
            result.provider = response.provider.clone();
            result.model = Some(response.model.clone());
            result.input_tokens += u64::from(response.usage.input_tokens);
            result.output_tokens += u64::from(response.usage.output_tokens);
            let calls: Vec<(String, String, Value)> = response
                .tool_calls()
                .map(|(id, name, input)| (id.to_string(), name.to_string(), input.clone()))
                .collect();
            if calls.is_empty() {
                result.response = response.text().trim().to_string();
                return Ok(result);
            }
            messages.push(Message { role: Role::Assistant, content: response.content.clone() });
            let mut results = Vec::new();
            for (id, name, input) in calls {
                let (content, is_error) = match self.call_tool(ctx, agent, &name, input, sink).await {
                    Ok((value, artifacts)) => {
                        result.artifacts.extend(artifacts);
                        (value.to_string(), false)
                    }
                    Err(e) => (json!({"error": e.to_string()}).to_string(), true),
                };
                if !result.tools_used.contains(&name) {
                    result.tools_used.push(name.clone());
                }
                results.push(Content::ToolResult { tool_use_id: id, content, is_error });
            }
            messages.push(Message { role: Role::User, content: results });
        }
        result.outcome = Outcome::RanOutOfSteps;
        result.response = format!(
            "I ran out of steps ({cap} rounds of tool use) before finishing. What I did: {}. Ask me to continue, or narrow the request.",
            if result.tools_used.is_empty() { "nothing yet".to_string() } else { result.tools_used.join(", ") }
        );
        Ok(result)
    }

    /// A tool call from the model: an agent tool, or a skill run as one.
    async fn call_tool(
        &self,
        ctx: &ToolContext,
        agent: AgentKind,
        name: &str,
        input: Value,
        sink: Option<&TurnSink>,
    ) -> Result<(Value, Vec<ArtifactRef>), ToolError> {
        if let Some(skill_name) = name.strip_prefix("skill_") {
            let skill = self
                .skills
                .get(skill_name)
                .filter(|s| s.agents.contains(&agent))
                .ok_or_else(|| ToolError::Unavailable(name.to_string()))?;
            let mut filled = Filled::default();
            if let Value::Object(args) = input {
                for (k, v) in args {
                    if !v.is_null() {
                        filled.given.push(k.clone());
                        filled.values.insert(k, v);
                    }
                }
            }
            for p in &skill.parameters {
                if !filled.values.contains_key(&p.name)
                    && let Some(d) = &p.default
                {
                    filled.values.insert(p.name.clone(), json!(d));
                }
            }
            let status = |s: &str| emit(sink, TurnEvent::Status(s.to_string()));
            let run = engine::run(skill, &filled, &self.tools, ctx, &status).await;
            return Ok((json!({"result": run.text, "tools_used": run.tools_used}), run.artifacts));
        }
        if !tools_for(agent).contains(&name) {
            return Err(ToolError::Unavailable(name.chars().take(60).collect()));
        }
        if let Some(t) = self.tools.get(name) {
            emit(sink, TurnEvent::Status(t.status().to_string()));
        }
        let out = self.tools.call(ctx, name, input).await?;
        Ok((out.value, out.artifacts))
    }

    /// Without a model: run the matching skill, or say honestly what can be done.
    #[allow(clippy::too_many_arguments)]
    async fn offline(
        &self,
        req: &AgentRequest,
        ctx: &ToolContext,
        agent: AgentKind,
        reason: String,
        skill: Option<String>,
        llm_error: Option<LlmError>,
        sink: Option<&TurnSink>,
    ) -> TurnResult {
        let skill = skill.and_then(|s| self.skills.get(&s)).or_else(|| {
            self.skills
                .match_message(&req.message, Some(agent))
                .filter(|m| m.agent == agent)
                .and_then(|m| self.skills.get(&m.name))
        });
        let mut result = TurnResult {
            response: String::new(),
            agent_used: Some(agent),
            tools_used: Vec::new(),
            artifacts: Vec::new(),
            provider: "offline".into(),
            model: None,
            input_tokens: 0,
            output_tokens: 0,
            outcome: Outcome::Answered,
            route_reason: reason,
            skill: skill.map(|s| s.name.clone()),
            pending_actions: Vec::new(),
        };
        let preface = match &llm_error {
            Some(e) => format!(
                "(The language models are unavailable right now — {e} — so the offline skills engine answered.)\n\n"
            ),
            None => String::new(),
        };
        if let Some(skill) = skill {
            let filled = params::fill(skill, &req.message, ctx).await;
            let status = |s: &str| emit(sink, TurnEvent::Status(s.to_string()));
            let run = engine::run(skill, &filled, &self.tools, ctx, &status).await;
            result.tools_used = run.tools_used;
            result.artifacts = run.artifacts;
            result.outcome = if run.needs_input {
                Outcome::NeedsInput
            } else if run.stopped {
                Outcome::Failed
            } else {
                Outcome::Answered
            };
            result.response = format!("{preface}{}", run.text);
            return result;
        }
        let hits = self.knowledge.search(&req.message, 3);
        let mut text = format!(
            "{preface}No language model is configured on this server, so I can't answer free-form questions. I can run these {} skills without one: {}.",
            agent,
            self.skills
                .for_agent(agent)
                .map(|s| format!(
                    "{} (e.g. \"{}\")",
                    s.name.replace('_', " "),
                    s.triggers.en.first().map(String::as_str).unwrap_or_default()
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        if !hits.is_empty() {
            result.tools_used.push("knowledge_search".into());
            text.push_str("\n\nFrom the knowledge base:");
            for h in hits {
                text.push_str(&format!("\n\n**{}**\n{}", h.title, crate::knowledge::excerpt(&h.excerpt, 400)));
            }
        }
        result.response = text;
        result
    }
}
