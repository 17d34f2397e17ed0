//! Departments, permissions and roles. Roles and their permission arrays come from
//! `config/roles.yaml`; this module holds the types and the rules that make a catalog valid.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The company's departments. A user belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    Finance,
    Sales,
    Marketing,
    Support,
    Operations,
    Management,
}

impl Department {
    pub const ALL: [Department; 6] = [
        Department::Finance,
        Department::Sales,
        Department::Marketing,
        Department::Support,
        Department::Operations,
        Department::Management,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Department::Finance => "finance",
            Department::Sales => "sales",
            Department::Marketing => "marketing",
            Department::Support => "support",
            Department::Operations => "operations",
            Department::Management => "management",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown department '{0}' (expected one of finance, sales, marketing, support, operations, management)")]
pub struct UnknownDepartment(pub String);

impl FromStr for Department {
    type Err = UnknownDepartment;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Department::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDepartment(s.chars().take(40).collect()))
    }
}

impl fmt::Display for Department {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! permissions {
    ($($variant:ident => $name:literal : $doc:literal,)*) => {
        /// Everything a role may be allowed to do. A typo in `roles.yaml` is a startup error.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Permission {
            $(#[doc = $doc] #[serde(rename = $name)] $variant,)*
        }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Permission::$variant => $doc,)* }
            }
        }

        impl FromStr for Permission {
            type Err = UnknownPermission;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Permission::$variant),)*
                    other => Err(UnknownPermission(other.chars().take(60).collect())),
                }
            }
        }
    };
}

permissions! {
    UsersRead => "users_read": "List and view user accounts",
    UsersManage => "users_manage": "Create users, change roles and departments, deactivate accounts",
    AuditRead => "audit_read": "Read the audit log",
    SystemHealth => "system_health": "See detailed system health (database, Redis, queues, providers)",
    QueuesAdmin => "queues_admin": "Inspect queues, replay dead jobs, cancel jobs",
    WebhooksAdmin => "webhooks_admin": "Inspect incoming webhook events",
    OutboxRead => "outbox_read": "Read the delivery outbox",
    UsageRead => "usage_read": "Read LLM usage and cost",
    FinanceRead => "finance_read": "Query financial data (revenue, expenses, statements)",
    FinanceWrite => "finance_write": "Record financial data",
    SalesRead => "sales_read": "Read CRM leads and sales data",
    CrmWrite => "crm_write": "Create and update CRM leads",
    LinkedinUse => "linkedin_use": "Use LinkedIn prospecting",
    MarketingRead => "marketing_read": "Read marketing data and content",
    MarketingWrite => "marketing_write": "Create marketing content and campaigns",
    SupportRead => "support_read": "Read support tickets",
    SupportWrite => "support_write": "Update support tickets and draft replies",
    ManagementRead => "management_read": "Cross-department KPIs and dashboards",
    EmailSend => "email_send": "Send e-mail through Outlook",
    TeamsPost => "teams_post": "Post to Microsoft Teams",
    CalendarManage => "calendar_manage": "Create calendar events and reminders",
    PushSend => "push_send": "Send push notifications to other users",
    DocumentsGenerate => "documents_generate": "Generate PDF, PPTX, DOCX and CSV documents",
    WebResearch => "web_research": "Fetch and read public web pages",
    FilesReadAll => "files_read_all": "Read files owned by other users",
    SchedulerManage => "scheduler_manage": "Create and edit own scheduled jobs",
    SchedulerAdmin => "scheduler_admin": "Manage every user's scheduled jobs",
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown permission '{0}'")]
pub struct UnknownPermission(pub String);

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One role as declared in `roles.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    pub description: String,
    /// Departments a user with this role may belong to.
    pub departments: Vec<Department>,
    pub permissions: BTreeSet<Permission>,
}

/// The whole `roles.yaml` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleCatalog {
    pub departments: Vec<Department>,
    pub roles: BTreeMap<String, RoleDef>,
}

/// The ten roles every deployment must define.
pub const REQUIRED_ROLES: [&str; 10] = [
    "admin",
    "executive",
    "finance_manager",
    "finance_analyst",
    "sales_manager",
    "sales_rep",
    "marketing_manager",
    "marketing_executive",
    "support_manager",
    "support_agent",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("roles: required role '{0}' is missing")]
    MissingRole(String),
    #[error("roles.{0}: role names must be lower_snake_case")]
    BadRoleName(String),
    #[error("roles.{0}.departments: must name at least one department")]
    NoDepartments(String),
    #[error("roles.{role}.departments: '{department}' is not listed under departments")]
    UndeclaredDepartment { role: String, department: Department },
    #[error("departments: every department must be declared (missing '{0}')")]
    MissingDepartment(Department),
    #[error("roles.admin.permissions: admin must hold every permission (missing '{0}')")]
    AdminIncomplete(Permission),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssignmentError {
    #[error("unknown role '{0}'")]
    UnknownRole(String),
    #[error("role '{role}' cannot belong to department '{department}'")]
    DepartmentNotAllowed { role: String, department: Department },
}

impl RoleCatalog {
    /// Checks the rules a catalog must follow; called once at startup.
    pub fn validate(&self) -> Result<(), CatalogError> {
        for d in Department::ALL {
            if !self.departments.contains(&d) {
                return Err(CatalogError::MissingDepartment(d));
            }
        }
        for required in REQUIRED_ROLES {
            if !self.roles.contains_key(required) {
                return Err(CatalogError::MissingRole(required.to_string()));
            }
        }
        for (name, def) in &self.roles {
            let valid_name = !name.is_empty()
                && name.len() <= 40
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid_name {
                return Err(CatalogError::BadRoleName(name.clone()));
            }
            if def.departments.is_empty() {
                return Err(CatalogError::NoDepartments(name.clone()));
            }
            for d in &def.departments {
                if !self.departments.contains(d) {
                    return Err(CatalogError::UndeclaredDepartment { role: name.clone(), department: *d });
                }
            }
        }
        if let Some(admin) = self.roles.get("admin") {
            for p in Permission::ALL {
                if !admin.permissions.contains(p) {
                    return Err(CatalogError::AdminIncomplete(*p));
                }
            }
        }
        Ok(())
    }

    pub fn role(&self, name: &str) -> Option<&RoleDef> {
        self.roles.get(name)
    }

    /// Permissions of a role; an unknown role (for example one removed from the file while
    /// users still hold it) has none.
    pub fn permissions_of(&self, role: &str) -> BTreeSet<Permission> {
        self.roles.get(role).map(|r| r.permissions.clone()).unwrap_or_default()
    }

    /// Whether a user may be given `role` in `department`.
    pub fn check_assignment(&self, role: &str, department: Department) -> Result<(), AssignmentError> {
        let def = self.roles.get(role).ok_or_else(|| AssignmentError::UnknownRole(role.chars().take(40).collect()))?;
        if def.departments.contains(&department) {
            Ok(())
        } else {
            Err(AssignmentError::DepartmentNotAllowed { role: role.to_string(), department })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> RoleCatalog {
        let mut roles = BTreeMap::new();
        for name in REQUIRED_ROLES {
            roles.insert(
                name.to_string(),
                RoleDef {
                    description: name.to_string(),
                    departments: vec![Department::Management],
                    permissions: if name == "admin" {
                        Permission::ALL.iter().copied().collect()
                    } else {
                        BTreeSet::new()
                    },
                },
            );
        }
        RoleCatalog { departments: Department::ALL.to_vec(), roles }
    }

    #[test]
    fn valid_catalog_passes() {
        assert_eq!(catalog().validate(), Ok(()));
    }

    #[test]
    fn missing_role_is_named() {
        let mut c = catalog();
        c.roles.remove("sales_rep");
        assert_eq!(c.validate(), Err(CatalogError::MissingRole("sales_rep".into())));
    }

    #[test]
    fn admin_must_hold_everything() {
        let mut c = catalog();
        c.roles.get_mut("admin").unwrap().permissions.remove(&Permission::AuditRead);
        assert_eq!(c.validate(), Err(CatalogError::AdminIncomplete(Permission::AuditRead)));
    }

    #[test]
    fn assignment_rules() {
        let c = catalog();
        assert!(c.check_assignment("admin", Department::Management).is_ok());
        assert!(matches!(
            c.check_assignment("admin", Department::Sales),
            Err(AssignmentError::DepartmentNotAllowed { .. })
        ));
        assert!(matches!(c.check_assignment("nope", Department::Sales), Err(AssignmentError::UnknownRole(_))));
    }

    #[test]
    fn permission_names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(*p));
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert!("users_manage ".parse::<Permission>().is_err());
    }

    #[test]
    fn departments_parse() {
        for d in Department::ALL {
            assert_eq!(d.as_str().parse::<Department>(), Ok(d));
        }
        assert!("Finance".parse::<Department>().is_err());
    }
}
