//! The provider-neutral conversation model. Providers translate it to and from their wire
//! formats; agents only ever see these types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    Text {
        text: String,
    },
    /// A base64-encoded image (`media_type` like `image/jpeg`).
    Image {
        media_type: String,
        data: String,
    },
    /// The model asks for a tool to run.
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// What a tool returned, sent back on a user turn.
    ToolResult {
        tool_use_id: String,
        content: String,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Content>,
}

impl Message {
    pub fn user(text: impl Into<String>) -> Self {
        Self { role: Role::User, content: vec![Content::Text { text: text.into() }] }
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: vec![Content::Text { text: text.into() }] }
    }

    /// All text blocks joined.
    pub fn text(&self) -> String {
        text_of(&self.content)
    }
}

/// All text blocks of `content`, joined.
pub fn text_of(content: &[Content]) -> String {
    let mut out = String::new();
    for c in content {
        if let Content::Text { text } = c {
            out.push_str(text);
        }
    }
    out
}

/// A tool the model may call: its JSON-schema input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
}

impl ChatRequest {
    /// Whether any message carries an image (the manager then prefers vision providers).
    pub fn has_images(&self) -> bool {
        self.messages.iter().flat_map(|m| &m.content).any(|c| matches!(c, Content::Image { .. }))
    }

    /// Every text the request carries (system, messages, tool results): what language
    /// detection looks at.
    pub fn all_user_text(&self) -> String {
        let mut out = String::new();
        for m in self.messages.iter().filter(|m| m.role == Role::User) {
            for c in &m.content {
                match c {
                    Content::Text { text } => out.push_str(text),
                    Content::ToolResult { .. } | Content::Image { .. } | Content::ToolUse { .. } => {}
                }
                out.push('\n');
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// A finished completion.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// Text and tool-use blocks in the order the model produced them.
    pub content: Vec<Content>,
    pub stop_reason: StopReason,
    pub usage: Usage,
    /// The model that answered, as the provider reported it.
    pub model: String,
    /// The provider's name (`anthropic`, `kimi`, `openai`).
    pub provider: String,
}

impl ChatResponse {
    pub fn text(&self) -> String {
        text_of(&self.content)
    }

    pub fn tool_calls(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.content.iter().filter_map(|c| match c {
            Content::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }
}

/// What a streaming completion reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A piece of answer text, as it arrives.
    TextDelta(String),
    /// The model started a tool call (its input is still arriving).
    ToolCallStarted { id: String, name: String },
}

/// Where streamed events go; `None` asks for a non-streaming call.
pub type EventSink = tokio::sync::mpsc::UnboundedSender<StreamEvent>;
