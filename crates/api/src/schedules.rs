//! `/scheduler/jobs`: users' recurring agent tasks. Validation (schedule shape, the
//! 15-minute minimum, time zones, agents, deliveries, 10 per user) happens here; the
//! `mezzofy-scheduler` process fires them. Every change wakes the schedulers over Redis.

use chrono::Utc;
use domain::{Permission, Principal};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use scheduler::schedule::Schedule;

/// Most schedules one user may own.
pub const MAX_PER_USER: i64 = 10;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    /// finance | sales | marketing | support | management
    pub agent: String,
    pub message: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub deliver_to: agents::task::DeliverTo,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSchedule {
    pub name: String,
    pub description: Option<String>,
    /// `{"type": "cron", "cron": "0 9 * * 1", "timezone": "Asia/Singapore"}`,
    /// `{"type": "interval", "interval": {"hours": 24}}` or
    /// `{"type": "once", "at": "2026-12-01T09:00:00+08:00"}`.
    #[schema(value_type = Object)]
    pub schedule: Value,
    pub task: TaskBody,
    /// Ignored: the owner is the caller.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Ignored: the caller's department.
    #[serde(default)]
    pub department: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSchedule {
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub schedule: Option<Value>,
    pub task: Option<TaskBody>,
    /// false pauses, true resumes (missed occurrences while paused do not fire).
    pub is_active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Object)]
    pub schedule: Value,
    /// e.g. "every Monday at 09:00 (Asia/Singapore)".
    pub schedule_text: String,
    #[schema(value_type = Object)]
    pub task: Value,
    pub owner_id: Option<Uuid>,
    pub department: Option<String>,
    /// Set for the built-in schedules from the configuration (read-only here).
    pub builtin: Option<String>,
    pub is_active: bool,
    pub last_run: Option<chrono::DateTime<Utc>>,
    pub next_run: Option<chrono::DateTime<Utc>>,
    pub created_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleList {
    pub jobs: Vec<ScheduleView>,
}

fn view(r: store::schedules::ScheduleRow) -> ScheduleView {
    let spec = r.spec.clone().unwrap_or(Value::Null);
    let text = Schedule::parse_builtin(&spec).map(|s| s.describe()).unwrap_or_default();
    ScheduleView {
        id: r.id,
        name: r.name,
        description: r.description,
        schedule: spec,
        schedule_text: text,
        task: serde_json::json!({"agent": r.agent, "message": r.message, "deliver_to": r.deliver_to}),
        owner_id: r.user_id,
        department: r.department,
        builtin: r.builtin_key,
        is_active: r.is_active,
        last_run: r.last_run,
        next_run: r.next_run,
        created_at: r.created_at,
    }
}

fn invalid(code: &'static str, m: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, m)
}

fn check_text(field: &str, v: &str, max: usize) -> ApiResult<String> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(invalid("invalid_field", format!("{field} must be 1 to {max} characters")));
    }
    Ok(t.to_string())
}

fn check_task(t: &TaskBody) -> ApiResult<()> {
    if !domain::AGENTS.contains(&t.agent.as_str()) {
        return Err(invalid("invalid_agent", format!("task.agent must be one of {}", domain::AGENTS.join(", "))));
    }
    check_text("task.message", &t.message, 4000)?;
    t.deliver_to.validate().map_err(|m| invalid("invalid_delivery", m))
}

fn parse_schedule(v: &Value) -> ApiResult<Schedule> {
    Schedule::parse(v, Utc::now()).map_err(|e| invalid("invalid_schedule", format!("schedule.{e}")))
}

/// Who may change a schedule: its owner, or `scheduler_admin`. Built-ins only by admins.
fn may_edit(caller: &Principal, r: &store::schedules::ScheduleRow) -> bool {
    caller.has(Permission::SchedulerAdmin) || (r.builtin_key.is_none() && r.user_id == Some(caller.user_id))
}

fn may_see(caller: &Principal, r: &store::schedules::ScheduleRow) -> bool {
    caller.has(Permission::SchedulerAdmin)
        || r.user_id == Some(caller.user_id)
        || r.department.as_deref() == Some(caller.department.as_str())
}

pub async fn list(ctx: &AppContext, caller: &Principal) -> ApiResult<ScheduleList> {
    let rows = store::schedules::visible(
        &ctx.db,
        caller.user_id,
        caller.department.as_str(),
        caller.has(Permission::SchedulerAdmin),
    )
    .await?;
    Ok(ScheduleList { jobs: rows.into_iter().map(view).collect() })
}

pub async fn get(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<ScheduleView> {
    Ok(view(visible(ctx, caller, id).await?))
}

async fn visible(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<store::schedules::ScheduleRow> {
    match store::schedules::get(&ctx.db, id).await? {
        Some(r) if may_see(caller, &r) => Ok(r),
        _ => Err(ApiError::not_found("no such scheduled job")),
    }
}

pub async fn create(ctx: &AppContext, caller: &Principal, b: CreateSchedule) -> ApiResult<ScheduleView> {
    caller.require(Permission::SchedulerManage)?;
    let name = check_text("name", &b.name, 200)?;
    let schedule = parse_schedule(&b.schedule)?;
    check_task(&b.task)?;
    if store::schedules::count_owned(&ctx.db, caller.user_id).await? >= MAX_PER_USER {
        return Err(ApiError::unprocessable(
            "too_many_schedules",
            format!("at most {MAX_PER_USER} scheduled jobs per user; delete one first"),
        ));
    }
    let row = store::schedules::create(
        &ctx.db,
        store::schedules::NewSchedule {
            user_id: caller.user_id,
            name,
            description: b.description.map(|d| d.trim().chars().take(2000).collect()),
            agent: b.task.agent,
            message: b.task.message.trim().to_string(),
            spec: schedule.to_json(),
            deliver_to: serde_json::to_value(&b.task.deliver_to).map_err(ApiError::internal)?,
            department: caller.department.as_str().to_string(),
            next_run: schedule.next_after(Utc::now()),
        },
    )
    .await?;
    audit(ctx, caller, "scheduler.create", row.id).await;
    scheduler::runner::notify(&ctx.redis).await;
    Ok(view(row))
}

pub async fn update(ctx: &AppContext, caller: &Principal, id: Uuid, b: UpdateSchedule) -> ApiResult<ScheduleView> {
    let row = visible(ctx, caller, id).await?;
    if !may_edit(caller, &row) {
        return Err(ApiError::forbidden("only the schedule's owner or a scheduler admin may change it"));
    }
    let mut u = store::schedules::ScheduleUpdate::default();
    if let Some(n) = &b.name {
        u.name = Some(check_text("name", n, 200)?);
    }
    u.description = b.description.map(|d| d.trim().chars().take(2000).collect());
    let mut schedule = match &row.spec {
        Some(s) => Schedule::parse_builtin(s).ok(),
        None => None,
    };
    if let Some(s) = &b.schedule {
        if row.builtin_key.is_some() {
            return Err(invalid("builtin_schedule", "a built-in schedule's timing comes from the configuration"));
        }
        let parsed = parse_schedule(s)?;
        u.spec = Some(parsed.to_json());
        schedule = Some(parsed);
    }
    if let Some(t) = &b.task {
        check_task(t)?;
        u.agent = Some(t.agent.clone());
        u.message = Some(t.message.trim().to_string());
        u.deliver_to = Some(serde_json::to_value(&t.deliver_to).map_err(ApiError::internal)?);
    }
    u.is_active = b.is_active;
    if b.schedule.is_some() || b.is_active.is_some() {
        u.next_run = Some(schedule.and_then(|s| s.next_after(Utc::now())));
    }
    let row =
        store::schedules::update(&ctx.db, id, u).await?.ok_or_else(|| ApiError::not_found("no such scheduled job"))?;
    audit(ctx, caller, "scheduler.update", id).await;
    scheduler::runner::notify(&ctx.redis).await;
    Ok(view(row))
}

pub async fn delete(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<()> {
    let row = visible(ctx, caller, id).await?;
    if row.builtin_key.is_some() {
        return Err(invalid("builtin_schedule", "built-in schedules are switched off in the configuration"));
    }
    if !may_edit(caller, &row) {
        return Err(ApiError::forbidden("only the schedule's owner or an admin may delete it"));
    }
    store::schedules::delete(&ctx.db, id).await?;
    audit(ctx, caller, "scheduler.delete", id).await;
    scheduler::runner::notify(&ctx.redis).await;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunNow {
    /// The job: `GET /jobs/{task_id}`.
    pub task_id: Uuid,
}

pub async fn run_now(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<RunNow> {
    let row = visible(ctx, caller, id).await?;
    if !may_edit(caller, &row) {
        return Err(ApiError::forbidden("only the schedule's owner or a scheduler admin may run it"));
    }
    crate::auth::limit(ctx, &format!("schedule-run:{}", row.id), 5).await?;
    let transport = ctx.transport.clone();
    let job = scheduler::runner::fire(&ctx.db, &transport, &row, Utc::now(), 0, row.next_run, true)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::conflict("already_running", "this schedule was just run; try again in a moment"))?;
    audit(ctx, caller, "scheduler.run", id).await;
    Ok(RunNow { task_id: job })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    #[schema(value_type = Vec<Object>)]
    pub runs: Vec<store::schedules::RunRow>,
}

pub async fn history(ctx: &AppContext, caller: &Principal, id: Uuid) -> ApiResult<History> {
    visible(ctx, caller, id).await?;
    Ok(History { runs: store::schedules::history(&ctx.db, id, 50).await? })
}

async fn audit(ctx: &AppContext, caller: &Principal, action: &str, id: Uuid) {
    let r = store::audit::record(
        &ctx.db,
        store::audit::NewEntry {
            user_id: Some(caller.user_id),
            department: Some(caller.department.as_str()),
            action,
            source: store::audit::Source::Mobile,
            details: serde_json::json!({"schedule_id": id}),
            ip_address: None,
            request_id: None,
        },
    )
    .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not audit a schedule change");
    }
}
