//! Schedules: parsing and validation of the API's schedule JSON, next fire times, and the
//! missed-occurrence policy. Pure: no database, and no clock reads (`now` is always passed in).
//!
//! # JSON shapes
//! - `{"type":"cron","cron":"0 9 * * 1","timezone":"Asia/Singapore"}`: standard 5-field cron
//!   (`minute hour day-of-month month day-of-week`, day-of-week 0–7 with 0 and 7 = Sunday,
//!   names `SUN`–`SAT` and `JAN`–`DEC`), or one of `@hourly @daily @weekly @monthly @yearly`
//!   (also `@annually`, `@midnight`). Seconds/year fields, `@reboot` and Quartz extensions
//!   (`L W #`) are rejected. When both day-of-month and day-of-week are restricted, a day
//!   matches if either matches (Vixie cron).
//! - `{"type":"interval","interval":{"minutes":30}}`: exactly one of `minutes`, `hours`,
//!   `days`, a positive integer (at most 366 days). Intervals are exact durations from an
//!   anchor: `"anchor"` (RFC 3339) if given, else midnight 2000-01-01 in `timezone`, so
//!   `{"minutes":30}` fires at :00 and :30 and `{"days":1}` at local midnight (drifting by an
//!   hour across DST in zones that have it: use cron for wall-clock times).
//! - `{"type":"once","at":"2026-12-01T09:00:00+08:00"}`: RFC 3339 with a UTC offset.
//! - a bare string `"0 9 * * 1"`: cron in the default time zone (the built-in schedules;
//!   [`Schedule::parse_builtin_in`] takes the configured `scheduler.timezone` as the default).
//!
//! `timezone` is optional everywhere (an IANA name, default [`DEFAULT_TIMEZONE`]); for `once`
//! it is only checked, as `at` carries its own offset. Unknown keys are rejected so that a
//! typo (`"timzone"`) is not silently ignored.
//!
//! # Rules for user schedules ([`Schedule::parse`])
//! No two fires closer than [`MIN_SPACING_MINUTES`]: an interval under 15 minutes is rejected,
//! and so is a cron expression whose fires can come closer than that on the wall clock
//! (`*/5 * * * *`, `0,10 * * * *`, `* 9 * * *`); the check is exact (computed from the field
//! sets, see `CronSpec::shortest_gap_minutes`), not sampled. A DST change can bring two fires
//! of an accepted expression closer once (e.g. `0,50 1,3 * * *` on a spring-forward day);
//! that is accepted. `once` must be after `now`. A cron expression that never fires
//! (`0 0 30 2 *`) is rejected. [`Schedule::parse_builtin`] applies none of the spacing and
//! time rules (the health check runs every 5 minutes); it also suits re-reading schedules
//! that were validated when stored.
//!
//! # DST
//! Cron fields are matched on the wall clock of the schedule's time zone, then mapped to an
//! instant: a wall-clock time that happens twice (clocks go back) fires once, at its first
//! occurrence; one that does not exist (clocks go forward) fires at the first instant after
//! the gap (02:30 on a New York spring-forward day fires at 03:00 EDT). So a daily job fires
//! exactly once every calendar day. Several wall-clock times inside one gap collapse into a
//! single fire, and a job every 15 minutes does not fire again in the repeated hour.
//!
//! # Missed occurrences ([`Schedule::due`])
//! After downtime, the occurrences in `(last_fire or created, now]` are collapsed: the
//! schedule fires ONCE, for the most recent of them (the run reflects the latest data, not a
//! burst of stale runs), and `skipped` reports how many older ones were dropped. `fire` is
//! the scheduled instant, never `now`, so every scheduler computing it gets the same value:
//! it is the `(schedule_id, fire_time)` key that makes a fire happen once. Counting walks
//! the missed cron occurrences (a month of a 5-minute schedule is ~9,000 steps); intervals
//! are counted arithmetically. The `cron` crate knows years up to 2100: later, cron
//! schedules have no occurrences.

mod cron_expr;

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use self::cron_expr::{CronOccurrences, CronSpec};

/// Time zone of schedules that name none.
pub const DEFAULT_TIMEZONE: Tz = chrono_tz::Asia::Singapore;
/// The closest two fires of a user schedule may be.
pub const MIN_SPACING_MINUTES: u32 = 15;
/// The longest interval accepted, in days.
pub const MAX_INTERVAL_DAYS: i64 = 366;

/// When a schedule fires. Build it with [`Schedule::parse`] (user input) or
/// [`Schedule::parse_builtin`]; a hand-built `Cron` with an invalid expression never fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Standard 5-field cron, evaluated on the wall clock of `tz`.
    Cron { expr: String, tz: Tz },
    /// `anchor + k * every` for k = 0, 1, 2, …
    Interval { every: TimeDelta, anchor: DateTime<Utc> },
    /// A single fire.
    Once { at: DateTime<FixedOffset> },
}

/// What [`Schedule::due`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The occurrence to fire now (the latest missed one), if any: the scheduled instant.
    pub fire: Option<DateTime<Utc>>,
    /// Older missed occurrences collapsed into `fire` (saturating).
    pub skipped: u32,
    /// The next occurrence after `now`.
    pub next: Option<DateTime<Utc>>,
}

/// Why a schedule was refused; `field` names the JSON field (`cron`, `timezone`,
/// `interval.minutes`, `at`, …) for a 422 response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ScheduleError {
    pub field: String,
    pub kind: ScheduleErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleErrorKind {
    /// A required field is missing or empty.
    Required,
    /// Malformed value (wrong type, bad syntax, unknown key).
    Invalid,
    UnknownTimezone,
    /// Fires more often than every [`MIN_SPACING_MINUTES`].
    TooFrequent,
    /// A `once` time not after `now`.
    InPast,
    /// A cron expression that matches no day (`0 0 30 2 *`).
    NeverFires,
}

impl ScheduleError {
    fn new(field: &str, kind: ScheduleErrorKind, message: String) -> Self {
        Self { field: field.to_string(), kind, message }
    }

    fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(field, ScheduleErrorKind::Invalid, message.into())
    }

    fn required(field: &str) -> Self {
        Self::new(field, ScheduleErrorKind::Required, format!("{field} is required"))
    }
}

#[derive(Clone, Copy)]
enum Rules {
    User { now: DateTime<Utc> },
    Builtin,
}

impl Schedule {
    /// Parses and fully validates a user's schedule (see the module docs for the rules).
    pub fn parse(value: &Value, now: DateTime<Utc>) -> Result<Self, ScheduleError> {
        parse_with(value, Rules::User { now }, DEFAULT_TIMEZONE)
    }

    /// Parses a built-in (or already stored) schedule: shape, syntax and time zone are checked,
    /// the minimum spacing and "once in the future" are not.
    pub fn parse_builtin(value: &Value) -> Result<Self, ScheduleError> {
        parse_with(value, Rules::Builtin, DEFAULT_TIMEZONE)
    }

    /// [`Schedule::parse_builtin`] with another default time zone, for the built-in schedules
    /// and `scheduler.timezone` from the configuration (see [`parse_timezone`]).
    pub fn parse_builtin_in(value: &Value, default_tz: Tz) -> Result<Self, ScheduleError> {
        parse_with(value, Rules::Builtin, default_tz)
    }

    /// The time zone cron fields are read in (`None` for intervals and `once`).
    pub fn timezone(&self) -> Option<Tz> {
        match self {
            Schedule::Cron { tz, .. } => Some(*tz),
            _ => None,
        }
    }

    /// The first occurrence strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.occurrences_after(after).next()
    }

    /// All occurrences strictly after `after`, increasing (e.g. to preview the next few fires).
    pub fn occurrences_after(&self, after: DateTime<Utc>) -> Occurrences {
        let inner = match self {
            Schedule::Cron { expr, tz } => match CronSpec::parse(expr) {
                Ok(spec) => Inner::Cron(spec.occurrences_after(*tz, after)),
                Err(_) => Inner::Done,
            },
            Schedule::Interval { every, anchor } => {
                Inner::Interval { next: first_interval_after(*every, *anchor, after), every: *every }
            }
            Schedule::Once { at } => Inner::Once((at.to_utc() > after).then(|| at.to_utc())),
        };
        Occurrences(inner)
    }

    /// The missed-occurrence policy (module docs): occurrences in `(since, now]`, where `since`
    /// is `last_fire` or, before the first fire, `created`, collapse into one fire for the
    /// latest of them; `next` is the first occurrence after `now` (or after `since`, should
    /// `now` be earlier).
    pub fn due(&self, last_fire: Option<DateTime<Utc>>, created: DateTime<Utc>, now: DateTime<Utc>) -> Due {
        let since = last_fire.unwrap_or(created);
        let next = self.next_after(now.max(since));
        if now <= since {
            return Due { fire: None, skipped: 0, next };
        }
        let (fire, count) = match self {
            Schedule::Interval { every, anchor } => interval_due(*every, *anchor, since, now),
            _ => {
                let mut fire = None;
                let mut count: u64 = 0;
                for t in self.occurrences_after(since).take_while(|t| *t <= now) {
                    fire = Some(t);
                    count += 1;
                }
                (fire, count)
            }
        };
        let skipped = u32::try_from(count.saturating_sub(1)).unwrap_or(u32::MAX);
        Due { fire, skipped, next }
    }

    /// The canonical JSON (accepted back by [`Schedule::parse_builtin`], giving an equal value).
    pub fn to_json(&self) -> Value {
        match self {
            Schedule::Cron { expr, tz } => json!({"type": "cron", "cron": expr, "timezone": tz.name()}),
            Schedule::Interval { every, anchor } => {
                let (unit, n) = interval_unit(*every);
                json!({
                    "type": "interval",
                    "interval": {unit: n},
                    "anchor": anchor.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                })
            }
            Schedule::Once { at } => {
                json!({"type": "once", "at": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)})
            }
        }
    }

    /// A sentence for API responses, e.g. "every Monday at 09:00 (Asia/Singapore)".
    pub fn describe(&self) -> String {
        match self {
            Schedule::Cron { expr, tz } => {
                let sentence = CronSpec::parse(expr).ok().and_then(|s| s.describe());
                match sentence {
                    Some(s) => format!("{s} ({})", tz.name()),
                    None => format!("cron \"{expr}\" ({})", tz.name()),
                }
            }
            Schedule::Interval { every, .. } => match interval_unit(*every) {
                ("days", 1) => "every day".to_string(),
                ("hours", 1) => "every hour".to_string(),
                ("minutes", 1) => "every minute".to_string(),
                (unit, n) => format!("every {n} {unit}"),
            },
            Schedule::Once { at } => format!("once at {} ({})", at.format("%Y-%m-%d %H:%M"), at.offset()),
        }
    }
}

/// Fire instants of a [`Schedule`], increasing.
#[derive(Debug)]
pub struct Occurrences(Inner);

#[derive(Debug)]
enum Inner {
    Cron(CronOccurrences),
    Interval { next: Option<DateTime<Utc>>, every: TimeDelta },
    Once(Option<DateTime<Utc>>),
    Done,
}

impl Iterator for Occurrences {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        match &mut self.0 {
            Inner::Cron(it) => it.next(),
            Inner::Interval { next, every } => {
                let current = (*next)?;
                *next = current.checked_add_signed(*every);
                Some(current)
            }
            Inner::Once(at) => at.take(),
            Inner::Done => None,
        }
    }
}

/// The index of the first interval occurrence strictly after `t` (0 when `t` is before the anchor).
fn interval_index_after(every: TimeDelta, anchor: DateTime<Utc>, t: DateTime<Utc>) -> Option<i64> {
    if t < anchor {
        return Some(0);
    }
    let step = every.num_milliseconds();
    if step <= 0 {
        return None;
    }
    let elapsed = (t - anchor).num_milliseconds();
    // floor(elapsed / step) + 1 is the first index past `t` (elapsed is rounded toward zero,
    // i.e. down, to whole milliseconds, which cannot cross a multiple of `step`).
    Some(elapsed / step + 1)
}

fn interval_at(every: TimeDelta, anchor: DateTime<Utc>, index: i64) -> Option<DateTime<Utc>> {
    let offset = every.checked_mul(i32::try_from(index).ok()?)?;
    anchor.checked_add_signed(offset)
}

fn first_interval_after(every: TimeDelta, anchor: DateTime<Utc>, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut index = interval_index_after(every, anchor, after)?;
    // Guard the arithmetic: step forward until strictly after.
    loop {
        let t = interval_at(every, anchor, index)?;
        if t > after {
            return Some(t);
        }
        index += 1;
    }
}

/// The latest interval occurrence in `(since, now]` and how many there are.
fn interval_due(
    every: TimeDelta,
    anchor: DateTime<Utc>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, u64) {
    let (Some(first), Some(past_now)) =
        (interval_index_after(every, anchor, since), interval_index_after(every, anchor, now))
    else {
        return (None, 0);
    };
    let last = past_now - 1;
    if last < first {
        return (None, 0);
    }
    (interval_at(every, anchor, last), u64::try_from(last - first + 1).unwrap_or(0))
}

/// The largest whole unit of an interval: days, else hours, else minutes.
fn interval_unit(every: TimeDelta) -> (&'static str, i64) {
    let minutes = every.num_minutes();
    if minutes % (24 * 60) == 0 {
        ("days", minutes / (24 * 60))
    } else if minutes % 60 == 0 {
        ("hours", minutes / 60)
    } else {
        ("minutes", minutes)
    }
}

fn parse_with(value: &Value, rules: Rules, default_tz: Tz) -> Result<Schedule, ScheduleError> {
    match value {
        Value::String(expr) => cron_schedule("cron", expr, default_tz, rules),
        Value::Object(map) => parse_object(map, rules, default_tz),
        Value::Null => Err(ScheduleError::required("schedule")),
        _ => Err(ScheduleError::invalid("schedule", "schedule must be an object (or a cron expression string)")),
    }
}

fn parse_object(map: &Map<String, Value>, rules: Rules, default_tz: Tz) -> Result<Schedule, ScheduleError> {
    let kind = match map.get("type") {
        None | Some(Value::Null) => return Err(ScheduleError::required("type")),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(ScheduleError::invalid("type", "type must be \"cron\", \"interval\" or \"once\"")),
    };
    let allowed: &[&str] = match kind {
        "cron" => &["type", "cron", "timezone"],
        "interval" => &["type", "interval", "timezone", "anchor"],
        "once" => &["type", "at", "timezone"],
        other => {
            return Err(ScheduleError::invalid(
                "type",
                format!("unknown type \"{other}\" (expected \"cron\", \"interval\" or \"once\")"),
            ));
        }
    };
    if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ScheduleError::invalid(
            key,
            format!("unknown field \"{key}\" for a {kind} schedule (allowed: {})", allowed.join(", ")),
        ));
    }
    let tz = match map.get("timezone") {
        None | Some(Value::Null) => default_tz,
        Some(Value::String(name)) => parse_timezone(name)?,
        Some(_) => {
            return Err(ScheduleError::invalid("timezone", "timezone must be a string such as \"Asia/Singapore\""));
        }
    };
    match kind {
        "cron" => {
            let expr = match map.get("cron") {
                None | Some(Value::Null) => return Err(ScheduleError::required("cron")),
                Some(Value::String(s)) => s,
                Some(_) => return Err(ScheduleError::invalid("cron", "cron must be a string such as \"0 9 * * 1\"")),
            };
            cron_schedule("cron", expr, tz, rules)
        }
        "interval" => interval_schedule(map, tz, rules),
        _ => once_schedule(map.get("at"), rules),
    }
}

/// An IANA time zone name (`"Asia/Singapore"`); the error names the field `timezone`.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    Tz::from_str(name.trim()).map_err(|_| {
        ScheduleError::new(
            "timezone",
            ScheduleErrorKind::UnknownTimezone,
            format!("unknown time zone \"{name}\" (expected an IANA name such as \"Asia/Singapore\")"),
        )
    })
}

fn cron_schedule(field: &str, expr: &str, tz: Tz, rules: Rules) -> Result<Schedule, ScheduleError> {
    let spec = CronSpec::parse(expr).map_err(|e| ScheduleError { field: field.to_string(), ..e })?;
    let expr = expr.split_whitespace().collect::<Vec<_>>().join(" ");
    if !spec.fires_at_all() {
        return Err(ScheduleError::new(
            field,
            ScheduleErrorKind::NeverFires,
            format!("\"{expr}\" never fires: no date matches it"),
        ));
    }
    if let Rules::User { .. } = rules {
        let gap = spec.shortest_gap_minutes();
        if gap < MIN_SPACING_MINUTES {
            return Err(ScheduleError::new(
                field,
                ScheduleErrorKind::TooFrequent,
                format!(
                    "\"{expr}\" fires as often as every {gap} minute{}; schedules may fire at most every {MIN_SPACING_MINUTES} minutes",
                    if gap == 1 { "" } else { "s" }
                ),
            ));
        }
    }
    Ok(Schedule::Cron { expr, tz })
}

fn interval_schedule(map: &Map<String, Value>, tz: Tz, rules: Rules) -> Result<Schedule, ScheduleError> {
    let fields = match map.get("interval") {
        None | Some(Value::Null) => return Err(ScheduleError::required("interval")),
        Some(Value::Object(fields)) => fields,
        Some(_) => {
            return Err(ScheduleError::invalid("interval", "interval must be an object such as {\"minutes\": 30}"));
        }
    };
    const UNITS: [(&str, &str, i64); 3] =
        [("minutes", "interval.minutes", 1), ("hours", "interval.hours", 60), ("days", "interval.days", 24 * 60)];
    if let Some(key) = fields.keys().find(|k| !UNITS.iter().any(|(unit, ..)| unit == k)) {
        return Err(ScheduleError::invalid(
            "interval",
            format!("unknown unit \"{key}\" (expected exactly one of minutes, hours, days)"),
        ));
    }
    let [(unit, field, minutes_per_unit)] =
        UNITS.iter().copied().filter(|(unit, ..)| fields.get(*unit).is_some_and(|v| !v.is_null())).collect::<Vec<_>>()
            [..]
    else {
        return Err(ScheduleError::invalid("interval", "interval needs exactly one of minutes, hours, days"));
    };
    let value = fields.get(unit).and_then(Value::as_u64).filter(|n| *n > 0);
    let Some(count) = value.and_then(|n| i64::try_from(n).ok()) else {
        return Err(ScheduleError::invalid(field, format!("{field} must be a positive integer")));
    };
    let max = MAX_INTERVAL_DAYS * 24 * 60 / minutes_per_unit;
    if count > max {
        return Err(ScheduleError::invalid(field, format!("{field} must be at most {max} ({MAX_INTERVAL_DAYS} days)")));
    }
    let minutes = count * minutes_per_unit;
    if matches!(rules, Rules::User { .. }) && minutes < i64::from(MIN_SPACING_MINUTES) {
        return Err(ScheduleError::new(
            field,
            ScheduleErrorKind::TooFrequent,
            format!("the interval must be at least {MIN_SPACING_MINUTES} minutes"),
        ));
    }
    let anchor = match map.get("anchor") {
        None | Some(Value::Null) => default_anchor(tz),
        Some(v) => rfc3339("anchor", v)?.to_utc(),
    };
    Ok(Schedule::Interval { every: TimeDelta::minutes(minutes), anchor })
}

/// Midnight at the start of 2000-01-01 in `tz`.
fn default_anchor(tz: Tz) -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|n| tz.from_local_datetime(&n).earliest())
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t.to_utc())
}

fn rfc3339(field: &str, value: &Value) -> Result<DateTime<FixedOffset>, ScheduleError> {
    let Value::String(text) = value else {
        return Err(ScheduleError::invalid(
            field,
            format!("{field} must be a string such as \"2026-12-01T09:00:00+08:00\""),
        ));
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(ScheduleError::required(field));
    }
    DateTime::parse_from_rfc3339(text).map_err(|_| {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
            || NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").is_ok();
        let why = if naive { "has no UTC offset" } else { "is not an RFC 3339 date-time" };
        ScheduleError::invalid(
            field,
            format!(
                "{field} \"{text}\" {why}: write it like \"2026-12-01T09:00:00+08:00\" or \"2026-12-01T01:00:00Z\""
            ),
        )
    })
}

fn once_schedule(value: Option<&Value>, rules: Rules) -> Result<Schedule, ScheduleError> {
    let at = match value {
        None | Some(Value::Null) => return Err(ScheduleError::required("at")),
        Some(v) => rfc3339("at", v)?,
    };
    if let Rules::User { now } = rules
        && at.to_utc() <= now
    {
        return Err(ScheduleError::new(
            "at",
            ScheduleErrorKind::InPast,
            format!("at {} is not in the future", at.to_rfc3339()),
        ));
    }
    Ok(Schedule::Once { at })
}
