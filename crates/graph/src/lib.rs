//! A thin Microsoft Graph client (app-only, client-credentials) for Outlook mail, calendars and
//! Teams, plus (feature `fake`) a fake Graph server for tests.
//!
//! - Tokens: `POST {login}/{tenant}/oauth2/v2.0/token`, cached until `expires_in` minus 60 s,
//!   refreshed by one caller at a time; a 401 from Graph drops the token and retries once.
//! - Throttling: 429/503/504 are retried up to `max_retries` times, waiting `Retry-After`
//!   (or a capped backoff); a `Retry-After` over `max_retry_wait` fails at once with
//!   [`GraphError::Throttled`].
//! - Paging: `@odata.nextLink` is followed (only on Graph's own origin).
//! - Ids and addresses in paths are percent-encoded. Secrets and tokens are never logged.
//!
//! ```ignore
//! let graph = GraphClient::new(GraphConfig::new(tenant, client_id, secret))?;
//! graph.send_mail("sender@contoso.com", &OutgoingMail { subject, html, to, ..Default::default() }).await?;
//! ```

mod calendar;
mod client;
mod config;
mod error;
mod mail;
mod slots;
mod teams;

#[cfg(feature = "fake")]
pub mod fake;

pub use calendar::{CreatedEvent, FreeBusyStatus, NewEvent, Schedule, ScheduleItem};
pub use client::GraphClient;
pub use config::{DEFAULT_GRAPH_BASE_URL, DEFAULT_LOGIN_BASE_URL, GraphConfig};
pub use error::GraphError;
pub use mail::{
    Attachment, INLINE_ATTACHMENTS_LIMIT, MAX_REQUEST_BYTES, MailSummary, OutgoingMail, UPLOAD_CHUNK_BYTES,
    UPLOAD_SESSION_THRESHOLD,
};
pub use slots::free_slots;
pub use teams::{OnlineMeeting, append_links, html_escape, looks_like_channel_id};
