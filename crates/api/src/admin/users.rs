use chrono::{DateTime, Utc};
use domain::{Department, EmailAddress, Permission, Principal};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::TransactionTrait;
use store::users::{User, UserChanges, UserFilter};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Paging;
use crate::auth::{Actor, audit, hash_new_password, revoke_families};
use crate::client::ClientInfo;
use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

/// A user as administrators see it (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub department: String,
    pub role: String,
    pub is_active: bool,
    pub permissions: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<AdminUser>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UserQuery {
    pub department: Option<String>,
    pub role: Option<String>,
    pub active: Option<bool>,
    /// Case-insensitive part of the e-mail or name.
    pub q: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    pub name: String,
    pub password: String,
    pub department: String,
    pub role: String,
}

/// Fields to change; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub name: Option<String>,
    pub department: Option<String>,
    pub role: Option<String>,
    pub is_active: Option<bool>,
    /// Sets a new password and signs the user out everywhere.
    pub password: Option<String>,
}

pub fn to_admin_user(ctx: &AppContext, u: &User) -> AdminUser {
    AdminUser {
        id: u.id,
        email: u.email.clone(),
        name: u.name.clone(),
        department: u.department.as_str().to_string(),
        role: u.role.clone(),
        is_active: u.is_active,
        permissions: ctx.roles.permissions_of(&u.role).iter().map(|p| p.as_str().to_string()).collect(),
        created_at: u.created_at,
        updated_at: u.updated_at,
        last_login_at: u.last_login_at,
    }
}

fn parse_department(raw: &str) -> ApiResult<Department> {
    raw.parse::<Department>().map_err(|e| ApiError::unprocessable("invalid_department", e.to_string()))
}

fn clean_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable("invalid_name", "name must be 1 to 200 printable characters"));
    }
    Ok(name.to_string())
}

pub async fn list(ctx: &AppContext, caller: &Principal, q: UserQuery) -> ApiResult<UserPage> {
    caller.require(Permission::UsersRead)?;
    let (page, per_page, offset) = Paging { page: q.page, per_page: q.per_page }.resolve()?;
    let department = match q.department.as_deref() {
        Some(d) => Some(d.parse::<Department>().map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?),
        None => None,
    };
    let filter =
        UserFilter { department, role: q.role, active: q.active, query: q.q.map(|s| s.chars().take(100).collect()) };
    let (users, total) = store::users::list(&ctx.db, &filter, offset, per_page).await?;
    Ok(UserPage { users: users.iter().map(|u| to_admin_user(ctx, u)).collect(), page, per_page, total })
}

pub async fn get(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<AdminUser> {
    caller.require(Permission::UsersRead)?;
    let user = store::users::by_id(&ctx.db, id).await?.ok_or_else(|| ApiError::not_found("no such user"))?;
    Ok(to_admin_user(ctx, &user))
}

pub async fn create(
    ctx: &AppContext,
    caller: &Principal,
    req: CreateUserRequest,
    client: &ClientInfo,
) -> ApiResult<AdminUser> {
    caller.require(Permission::UsersManage)?;
    let email = EmailAddress::parse(&req.email).map_err(|e| ApiError::unprocessable("invalid_email", e.to_string()))?;
    let name = clean_name(&req.name)?;
    let department = parse_department(&req.department)?;
    ctx.roles
        .check_assignment(&req.role, department)
        .map_err(|e| ApiError::unprocessable("invalid_role", e.to_string()))?;
    let hash = hash_new_password(ctx, &req.password).await?;
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    let user = store::users::create(
        &txn,
        store::users::NewUser { email: &email, password_hash: hash, name: &name, department, role: &req.role },
    )
    .await
    .map_err(|e| match e {
        store::StoreError::Conflict(_) => ApiError::conflict("email_taken", "a user with this e-mail already exists"),
        other => other.into(),
    })?;
    audit(
        &txn,
        Some(Actor::from(caller)),
        "admin.user.create",
        json!({"target_user_id": user.id, "email": user.email, "department": department, "role": user.role}),
        client,
    )
    .await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    Ok(to_admin_user(ctx, &user))
}

pub async fn update(
    ctx: &AppContext,
    caller: &Principal,
    id: Uuid,
    req: UpdateUserRequest,
    client: &ClientInfo,
) -> ApiResult<AdminUser> {
    caller.require(Permission::UsersManage)?;
    if req.name.is_none()
        && req.department.is_none()
        && req.role.is_none()
        && req.is_active.is_none()
        && req.password.is_none()
    {
        return Err(ApiError::unprocessable(
            "nothing_to_change",
            "give at least one of name, department, role, is_active, password",
        ));
    }
    let current = store::users::by_id(&ctx.db, id).await?.ok_or_else(|| ApiError::not_found("no such user"))?;
    let name = req.name.as_deref().map(clean_name).transpose()?;
    let department = req.department.as_deref().map(parse_department).transpose()?;
    let new_role = req.role.clone().unwrap_or_else(|| current.role.clone());
    let new_department = department.unwrap_or(current.department);
    if req.role.is_some() || department.is_some() {
        ctx.roles
            .check_assignment(&new_role, new_department)
            .map_err(|e| ApiError::unprocessable("invalid_role", e.to_string()))?;
    }
    let deactivating = current.is_active && req.is_active == Some(false);
    let losing_admin = current.role == "admin" && (new_role != "admin" || deactivating);
    if id == caller.user_id && (deactivating || losing_admin) {
        return Err(ApiError::conflict("cannot_change_self", "you cannot deactivate or demote your own account"));
    }
    let password_hash = match req.password.as_deref() {
        Some(p) => Some(hash_new_password(ctx, p).await?),
        None => None,
    };
    let txn = ctx.db.begin().await.map_err(store::StoreError::from)?;
    if losing_admin && current.is_active && store::users::count_active_with_role(&txn, "admin").await? <= 1 {
        return Err(ApiError::conflict("last_admin", "this is the last active admin; appoint another first"));
    }
    let changes = UserChanges {
        name: name.clone(),
        department,
        role: req.role.clone(),
        is_active: req.is_active,
        password_hash: password_hash.clone(),
    };
    let updated = store::users::update(&txn, id, changes).await?.ok_or_else(|| ApiError::not_found("no such user"))?;
    let revoked = if deactivating || password_hash.is_some() {
        let reason = if deactivating { "deactivated" } else { "password_reset" };
        store::tokens::revoke_user_families(&txn, id, reason).await?
    } else {
        Vec::new()
    };
    audit(
        &txn,
        Some(Actor::from(caller)),
        "admin.user.update",
        json!({
            "target_user_id": id,
            "email": updated.email,
            "changes": {
                "name": name,
                "department": department,
                "role": req.role,
                "is_active": req.is_active,
                "password_reset": password_hash.is_some(),
            },
            "sessions_revoked": revoked.len(),
        }),
        client,
    )
    .await?;
    txn.commit().await.map_err(store::StoreError::from)?;
    ctx.users.evict(id);
    revoke_families(ctx, &revoked).await;
    Ok(to_admin_user(ctx, &updated))
}
