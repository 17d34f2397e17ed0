#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of the assistant: routing, the offline skills engine over the demo
//! company, the agent loop over fake providers, and persisted chat turns.

mod chat;
mod common;
mod consent;
mod linkedin;
mod llm_loop;
mod offline_skills;
mod providers;
mod routing;
mod statement;
mod web;
