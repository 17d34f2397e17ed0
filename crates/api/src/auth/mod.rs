//! Authentication: login, refresh rotation with reuse detection, logout, password change,
//! and the per-request check of access tokens. HTTP handlers in `routes::auth` only parse
//! and call these.

mod extract;
mod revocation;
mod service;

pub use extract::Authenticated;
pub(crate) use extract::bearer;
pub use revocation::revoke_families;
pub use service::*;
