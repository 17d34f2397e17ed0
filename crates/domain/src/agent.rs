//! The department agents.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The five department agents a request can be routed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    Finance,
    Sales,
    Marketing,
    Support,
    Management,
}

/// Agent names, as they appear in configuration, skills and responses.
pub const AGENTS: &[&str] = &["finance", "sales", "marketing", "support", "management"];

impl AgentKind {
    pub const ALL: [AgentKind; 5] =
        [AgentKind::Finance, AgentKind::Sales, AgentKind::Marketing, AgentKind::Support, AgentKind::Management];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Finance => "finance",
            AgentKind::Sales => "sales",
            AgentKind::Marketing => "marketing",
            AgentKind::Support => "support",
            AgentKind::Management => "management",
        }
    }

    /// The agent serving a department (operations is served by management).
    pub fn for_department(department: &str) -> Option<AgentKind> {
        match department {
            "operations" => Some(AgentKind::Management),
            other => other.parse().ok(),
        }
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an agent (finance, sales, marketing, support, management)")]
pub struct UnknownAgent(pub String);

impl FromStr for AgentKind {
    type Err = UnknownAgent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AgentKind::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| UnknownAgent(s.chars().take(40).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_list() {
        for (a, name) in AgentKind::ALL.iter().zip(AGENTS) {
            assert_eq!(a.as_str(), *name);
            assert_eq!(name.parse::<AgentKind>().ok(), Some(*a));
        }
        assert!("operations".parse::<AgentKind>().is_err());
        assert_eq!(AgentKind::for_department("operations"), Some(AgentKind::Management));
        assert_eq!(AgentKind::for_department("it"), None);
    }
}
