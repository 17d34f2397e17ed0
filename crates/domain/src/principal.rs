use std::collections::BTreeSet;

use serde::Serialize;
use uuid::Uuid;

use crate::org::{Department, Permission};

/// The authenticated caller, built from the user's current database row and the role
/// catalog (never from claims alone, so a role change takes effect without a new login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub department: Department,
    pub role: String,
    pub permissions: BTreeSet<Permission>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("this action needs the '{0}' permission")]
pub struct Forbidden(pub Permission);

impl Principal {
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// The check every operation that does privileged work calls first.
    pub fn require(&self, permission: Permission) -> Result<(), Forbidden> {
        if self.has(permission) { Ok(()) } else { Err(Forbidden(permission)) }
    }
}
