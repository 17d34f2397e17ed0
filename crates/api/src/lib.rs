//! The HTTP api: REST endpoints, authentication, rate limits, admin, health, docs and
//! metrics. The only crate that knows actix-web. Handlers are thin; the work happens in
//! the `auth` and `admin` modules, which check permissions themselves.

pub mod admin;
pub mod artifacts;
pub mod auth;
pub mod chat;
mod client;
pub mod context;
pub mod error;
pub mod jobs;
pub mod live;
pub mod media;
mod metrics;
mod openapi;
mod routes;
pub mod schedules;
mod speech;
mod sse;
mod startup;
pub mod webhooks;
mod ws;

pub use context::AppContext;
pub use startup::{Application, build_context};
