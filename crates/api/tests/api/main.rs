//! Integration tests of the api: each test spawns the real application on port 0 with its
//! own PostgreSQL database and its own Redis key prefix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod auth;
mod chat;
mod devices;
mod errors;
mod files;
mod health;
mod jobs;
mod media;
mod rate_limit;
mod realtime;
mod revocation;
mod scheduler;
mod webhooks;
