//! The assistant: the gateway's normalized request, the router, the department agents'
//! loop over a language model and tools, the skills engine that works without a model,
//! the tool registry and the knowledge base.

pub mod assistant;
pub mod catalog;
pub mod knowledge;
pub mod period;
pub mod router;
pub mod skills;
pub mod tools;

pub use assistant::{AgentRequest, Assistant, HistoryMessage, Outcome, TurnEvent, TurnResult, TurnSink};
pub use router::{Route, Source};
pub use tools::{
    ArtifactRef, CONSENT_TTL, PendingAction, Tool, ToolContext, ToolError, ToolOutput, ToolRegistry, TurnTrust,
    TypedTool,
};
pub mod chat;
pub mod consent;
pub mod delivery;
pub mod intake;
pub mod integrations;
pub mod task;
pub mod usage;

pub use chat::{AGENT_TURN, ChatError, ChatResponse, TurnJob};
