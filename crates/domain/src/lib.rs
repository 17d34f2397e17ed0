//! Pure types and rules of the Mezzofy assistant. No IO happens here: no database, no
//! network, no files. Everything in this crate can be unit-tested in isolation.

pub mod agent;
pub mod auth;
pub mod email;
pub mod jobs;
pub mod org;
pub mod password;
pub mod principal;

pub use agent::{AGENTS, AgentKind};
pub use email::EmailAddress;
pub use org::{Department, Permission, RoleCatalog, RoleDef};
pub use principal::Principal;
