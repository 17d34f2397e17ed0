//! User accounts.

use chrono::{DateTime, SubsecRound, Utc};
use domain::{Department, EmailAddress};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Set, Statement, Value,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entities::users as entity;

/// A user account as the rest of the system sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub name: String,
    pub department: Department,
    pub role: String,
    pub is_active: bool,
    pub tokens_valid_after: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<entity::Model> for User {
    type Error = StoreError;
    fn try_from(m: entity::Model) -> Result<Self, StoreError> {
        let department = m
            .department
            .parse()
            .map_err(|_| StoreError::Db(sea_orm::DbErr::Custom(format!("user {} has an unknown department", m.id))))?;
        Ok(User {
            id: m.id,
            email: m.email,
            password_hash: m.password_hash,
            name: m.name,
            department,
            role: m.role,
            is_active: m.is_active,
            tokens_valid_after: m.tokens_valid_after,
            last_login_at: m.last_login_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

pub struct NewUser<'a> {
    pub email: &'a EmailAddress,
    pub password_hash: String,
    pub name: &'a str,
    pub department: Department,
    pub role: &'a str,
}

pub async fn create(db: &impl ConnectionTrait, new: NewUser<'_>) -> Result<User, StoreError> {
    let now = Utc::now();
    let model = entity::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(new.email.as_str().to_string()),
        password_hash: Set(new.password_hash),
        name: Set(new.name.to_string()),
        department: Set(new.department.as_str().to_string()),
        role: Set(new.role.to_string()),
        is_active: Set(true),
        tokens_valid_after: Set(DateTime::<Utc>::UNIX_EPOCH),
        password_changed_at: Set(now),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let m = model.insert(db).await.map_err(|e| StoreError::unique(e, "a user with this e-mail"))?;
    m.try_into()
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<User>, StoreError> {
    entity::Entity::find_by_id(id).one(db).await?.map(User::try_from).transpose()
}

pub async fn by_email(db: &impl ConnectionTrait, email: &EmailAddress) -> Result<Option<User>, StoreError> {
    entity::Entity::find()
        .filter(entity::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .map(User::try_from)
        .transpose()
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub department: Option<Department>,
    pub role: Option<String>,
    pub active: Option<bool>,
    /// Case-insensitive substring of e-mail or name.
    pub query: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct UserRow {
    id: Uuid,
    email: String,
    password_hash: String,
    name: String,
    department: String,
    role: String,
    is_active: bool,
    tokens_valid_after: DateTime<Utc>,
    password_changed_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    total: i64,
}

/// One page of users ordered by e-mail, and the total matching the filter.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &UserFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<User>, u64), StoreError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(d) = filter.department {
        values.push(d.as_str().into());
        conditions.push(format!("department = ${}", values.len()));
    }
    if let Some(r) = &filter.role {
        values.push(r.clone().into());
        conditions.push(format!("role = ${}", values.len()));
    }
    if let Some(a) = filter.active {
        values.push(a.into());
        conditions.push(format!("is_active = ${}", values.len()));
    }
    if let Some(q) = filter.query.as_deref().filter(|q| !q.is_empty()) {
        values.push(format!("%{}%", escape_like(q)).into());
        conditions.push(format!("(email ILIKE ${n} OR name ILIKE ${n})", n = values.len()));
    }
    let where_clause =
        if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    values.push((limit as i64).into());
    values.push((offset as i64).into());
    let sql = format!(
        "SELECT *, count(*) OVER () AS total FROM users {where_clause} ORDER BY email LIMIT ${} OFFSET ${}",
        values.len() - 1,
        values.len()
    );
    let rows = UserRow::find_by_statement(Statement::from_sql_and_values(db.get_database_backend(), sql, values))
        .all(db)
        .await?;
    let total = rows.first().map(|r| r.total as u64);
    let users = rows
        .into_iter()
        .map(|r| {
            User::try_from(entity::Model {
                id: r.id,
                email: r.email,
                password_hash: r.password_hash,
                name: r.name,
                department: r.department,
                role: r.role,
                is_active: r.is_active,
                tokens_valid_after: r.tokens_valid_after,
                password_changed_at: r.password_changed_at,
                last_login_at: r.last_login_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let total = match total {
        Some(t) => t,
        // The page is past the end: count separately so the caller still learns the total.
        None if offset > 0 => count(db, filter).await?,
        None => 0,
    };
    Ok((users, total))
}

async fn count(db: &impl ConnectionTrait, filter: &UserFilter) -> Result<u64, StoreError> {
    let (_, total) = Box::pin(list(db, filter, 0, 1)).await?;
    Ok(total)
}

pub(crate) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Changes an administrator may make. `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub department: Option<Department>,
    pub role: Option<String>,
    pub is_active: Option<bool>,
    pub password_hash: Option<String>,
}

/// Applies `changes`. A new password or a deactivation also moves `tokens_valid_after` to
/// now, so every token issued before is refused. Returns `None` when the user is unknown.
pub async fn update(db: &impl ConnectionTrait, id: Uuid, changes: UserChanges) -> Result<Option<User>, StoreError> {
    let Some(current) = entity::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let was_active = current.is_active;
    let mut m: entity::ActiveModel = current.into();
    if let Some(name) = changes.name {
        m.name = Set(name);
    }
    if let Some(d) = changes.department {
        m.department = Set(d.as_str().to_string());
    }
    if let Some(r) = changes.role {
        m.role = Set(r);
    }
    let mut invalidate = false;
    if let Some(active) = changes.is_active {
        m.is_active = Set(active);
        invalidate |= was_active && !active;
    }
    if let Some(hash) = changes.password_hash {
        m.password_hash = Set(hash);
        m.password_changed_at = Set(now);
        invalidate = true;
    }
    if invalidate {
        m.tokens_valid_after = Set(now.trunc_subsecs(0));
    }
    m.updated_at = Set(now);
    let updated = m.update(db).await?;
    Ok(Some(updated.try_into()?))
}

/// Records a successful login, storing a rehashed password when parameters changed.
pub async fn record_login(db: &impl ConnectionTrait, id: Uuid, rehashed: Option<String>) -> Result<(), StoreError> {
    let now = Utc::now();
    let (sql, values): (&str, Vec<Value>) = match rehashed {
        Some(hash) => (
            "UPDATE users SET last_login_at = $1, password_hash = $2 WHERE id = $3",
            vec![now.into(), hash.into(), id.into()],
        ),
        None => ("UPDATE users SET last_login_at = $1 WHERE id = $2", vec![now.into(), id.into()]),
    };
    db.execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, values)).await?;
    Ok(())
}

/// Active users holding `role`.
pub async fn count_active_with_role(db: &impl ConnectionTrait, role: &str) -> Result<u64, StoreError> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM users WHERE role = $1 AND is_active",
            [role.into()],
        ))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0) as u64)
}

/// The address of the assistant's own account: the actor of webhook handlers and built-in
/// schedules (`.invalid` is reserved: it can never be a real mailbox).
pub const SYSTEM_EMAIL: &str = "assistant@mezzofy.invalid";

/// The assistant's own account, created on first use: deactivated (it cannot sign in),
/// role `admin`, department `management`.
pub async fn ensure_system(db: &impl ConnectionTrait, password_hash: &str) -> Result<Uuid, StoreError> {
    #[derive(sea_orm::FromQueryResult)]
    struct Id {
        id: Uuid,
    }
    let row = Id::find_by_statement(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        "WITH i AS (INSERT INTO users (id, email, password_hash, name, department, role, is_active) \
                    VALUES ($1, $2, $3, 'Mezzofy Assistant', 'management', 'admin', false) \
                    ON CONFLICT (email) DO NOTHING RETURNING id) \
         SELECT id FROM i UNION ALL SELECT id FROM users WHERE email = $2 AND NOT EXISTS (SELECT 1 FROM i)",
        [Uuid::now_v7().into(), SYSTEM_EMAIL.into(), password_hash.into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| StoreError::Invalid("the system user vanished".into()))?;
    Ok(row.id)
}
