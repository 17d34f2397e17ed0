//! sea-orm entities. They stay inside this crate: callers get the plain types of each
//! repository module, so database models never leak into API responses or job payloads.

pub mod audit_log;
pub mod users;
