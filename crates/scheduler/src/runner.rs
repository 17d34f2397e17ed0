//! Firing schedules. Each pass reads every active schedule from PostgreSQL, asks
//! [`Schedule::due`] whether an occurrence is due (missed ones collapse into one fire), and
//! for a due one commits, in one transaction, the `schedule_runs` row (unique per schedule and
//! occurrence: however many schedulers run, one wins), the job (`agent.task`, or the worker
//! health check) and the schedule's `last_run`/`next_run`. The scheduler only enqueues.
//!
//! Changes made through the API bump a counter in Redis (`scheduler:version`); the loop checks
//! it every 250 ms and re-reads the table at once, and re-reads it every `scheduler.tick_ms`
//! anyway, so an edit takes effect within seconds without a restart.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::jobs::Queue;
use serde_json::{Value, json};
use store::TransactionTrait;
use uuid::Uuid;

use crate::schedule::{Schedule, parse_timezone};

/// The Redis counter the API bumps after a schedule change (under the key prefix).
pub const VERSION_KEY: &str = "scheduler:version";

/// What to run for a schedule's occurrence.
fn job_for(row: &store::schedules::ScheduleRow) -> Result<jobs::NewJob, String> {
    if row.agent == "system" {
        return Ok(jobs::NewJob::new(Queue::Maintenance, "maintenance.selftest", json!({})));
    }
    let agent = row.agent.parse().map_err(|_| format!("unknown agent '{}'", row.agent))?;
    let deliver_to: agents::task::DeliverTo =
        serde_json::from_value(row.deliver_to.clone()).map_err(|e| format!("deliver_to: {e}"))?;
    let actor = row.user_id.ok_or("the schedule has no owner")?;
    let task = agents::task::TaskJob {
        source: agents::Source::Scheduler,
        actor,
        agent: Some(agent),
        message: row.message.clone(),
        title: row.name.clone(),
        deliver_to,
        event: None,
        context: None,
        save_as: None,
        role: None,
    };
    Ok(jobs::NewJob::new(Queue::Agent, agents::task::AGENT_TASK, json!(task)).user(actor).priority(50).max_attempts(3))
}

/// Fires `row` for the occurrence `fire_time` (or now, for a manual run). Returns the job, or
/// `None` when another scheduler (or an earlier pass) already fired this occurrence.
pub async fn fire(
    db: &store::DatabaseConnection,
    transport: &jobs::Transport,
    row: &store::schedules::ScheduleRow,
    fire_time: DateTime<Utc>,
    skipped: u32,
    next: Option<DateTime<Utc>>,
    manual: bool,
) -> anyhow::Result<Option<Uuid>> {
    let txn = db.begin().await?;
    let Some(run_id) = store::schedules::claim_fire(&txn, row.id, fire_time, manual, skipped).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    let job = job_for(row).map_err(anyhow::Error::msg)?.idempotency_key(format!(
        "schedule:{}:{}",
        row.id,
        fire_time.timestamp_micros()
    ));
    let enqueued = jobs::enqueue(&txn, job).await?;
    store::schedules::fired(&txn, run_id, row.id, enqueued.id, fire_time, next, manual).await?;
    txn.commit().await?;
    // Pushed now when the lane has room, else by the workers' sweeper.
    transport.dispatch(db, std::slice::from_ref(&enqueued)).await;
    tracing::info!(schedule = %row.id, name = %row.name, %fire_time, skipped, manual, job = %enqueued.id, "schedule fired");
    Ok(Some(enqueued.id))
}

/// One pass: fires every due schedule. Returns how many fired.
pub async fn tick(
    db: &store::DatabaseConnection,
    transport: &jobs::Transport,
    now: DateTime<Utc>,
) -> anyhow::Result<u32> {
    Ok(pass(db, transport, now).await?.0)
}

/// [`tick`], also returning the earliest next occurrence of any active schedule.
async fn pass(
    db: &store::DatabaseConnection,
    transport: &jobs::Transport,
    now: DateTime<Utc>,
) -> anyhow::Result<(u32, Option<DateTime<Utc>>)> {
    let mut fired = 0;
    let mut earliest: Option<DateTime<Utc>> = None;
    for row in store::schedules::active(db).await? {
        let Some(spec) = &row.spec else { continue };
        let schedule = match Schedule::parse_builtin(spec) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(schedule = %row.id, error = %e, "a stored schedule does not parse; skipped");
                continue;
            }
        };
        // Occurrences before the last change (creation, edit, resume) never fire.
        let since = row.last_run.map_or(row.updated_at, |l| l.max(row.updated_at));
        let due = schedule.due(Some(since), row.created_at, now);
        if let Some(n) = due.next {
            earliest = Some(earliest.map_or(n, |e| e.min(n)));
        }
        if let Some(at) = due.fire {
            match fire(db, transport, &row, at, due.skipped, due.next, false).await {
                Ok(Some(_)) => fired += 1,
                Ok(None) => {}
                Err(e) => tracing::error!(schedule = %row.id, error = %e, "could not fire a schedule"),
            }
        } else if row.next_run != due.next
            && let Err(e) = store::schedules::set_next_run(db, row.id, due.next).await
        {
            tracing::warn!(schedule = %row.id, error = %e, "could not record the next run");
        }
    }
    Ok((fired, earliest))
}

/// Creates or updates the built-in schedules from the configuration.
pub async fn sync_builtins(db: &store::DatabaseConnection, settings: &settings::Settings) -> anyhow::Result<()> {
    let tz = parse_timezone(&settings.scheduler.timezone).map_err(|e| anyhow::anyhow!("scheduler.timezone: {e}"))?;
    let system = agents::task::system_actor(db).await?;
    for b in &settings.scheduler.builtin {
        let schedule = Schedule::parse_builtin_in(&Value::String(b.cron.clone()), tz)
            .map_err(|e| anyhow::anyhow!("scheduler.builtin {}: {e}", b.key))?;
        let deliver_to = json!({"teams_channel": b.deliver_to.teams_channel, "email": b.deliver_to.email});
        let deliver_to = strip_nulls(deliver_to);
        let row = store::schedules::upsert_builtin(
            db,
            &b.key,
            system,
            &b.name,
            &b.agent,
            &b.message,
            schedule.to_json(),
            deliver_to,
        )
        .await?;
        if row.is_active != b.enabled {
            let u = store::schedules::ScheduleUpdate { is_active: Some(b.enabled), ..Default::default() };
            store::schedules::update(db, row.id, u).await?;
        }
    }
    Ok(())
}

fn strip_nulls(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null() && x.as_array().is_none_or(|a| !a.is_empty()));
    }
    v
}

async fn version(redis: &kv::Redis) -> Option<i64> {
    let r: Result<Option<i64>, _> = redis::cmd("GET").arg(redis.key(VERSION_KEY)).query_async(&mut redis.conn()).await;
    r.ok().flatten()
}

/// Tells every scheduler that schedules changed (best effort: they re-read periodically too).
pub async fn notify(redis: &kv::Redis) {
    let r: Result<i64, _> = redis::cmd("INCR").arg(redis.key(VERSION_KEY)).query_async(&mut redis.conn()).await;
    if let Err(e) = r {
        tracing::debug!(error = %e, "could not notify the schedulers");
    }
}

/// Runs passes until `stop` turns true.
pub async fn run_loop(
    db: store::DatabaseConnection,
    redis: kv::Redis,
    tick_every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let transport = jobs::Transport::new(redis.clone());
    let mut seen = version(&redis).await;
    loop {
        let mut wait = tick_every;
        match pass(&db, &transport, Utc::now()).await {
            // Wake for the next occurrence if it comes before the next regular pass.
            Ok((_, Some(next))) => {
                let until = (next - Utc::now()).to_std().unwrap_or_default();
                wait = wait.min(until + Duration::from_millis(20));
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "scheduler pass failed"),
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
            if *stop.borrow() {
                return;
            }
            let now_version = version(&redis).await;
            if now_version != seen {
                seen = now_version;
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
        }
    }
}
