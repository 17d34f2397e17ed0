//! HTTP handlers: parse, call the library code, map the result. One file per group.

pub mod admin;
pub mod auth;
pub mod chat;
pub mod devices;
pub mod files;
pub mod jobs;
pub mod scheduler;
pub mod system;
pub mod webhooks;
