//! Standard 5-field cron (`minute hour day-of-month month day-of-week`) evaluated with the
//! `cron` crate, which wants a seconds field first and numbers the days of the week 1–7 =
//! Sunday–Saturday (standard cron: 0–7, 0 and 7 = Sunday, 1 = Monday).
//!
//! What this module adds on top of the crate:
//! - `"0 "` is prefixed (seconds = 0) and the day-of-week field is parsed here and handed to
//!   the crate as an explicit list in its numbering (`1-5` → `2,3,4,5,6`);
//! - Vixie-cron day matching: when both day-of-month and day-of-week are restricted (neither
//!   starts with `*` or `?`), a day matches if EITHER matches (`0 9 1 * 1` = the 1st and every
//!   Monday); the crate alone would require both. Done by evaluating two crate schedules and
//!   merging them;
//! - time zones with a DST policy of our own: occurrences are computed on the wall clock and
//!   then mapped to instants (see [`resolve`]), so a wall-clock time that happens twice fires
//!   once and one that does not exist fires at the end of the gap (the crate alone would fire
//!   twice and skip the day respectively).

use std::collections::BTreeSet;
use std::iter::Peekable;

use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use cron::{OwnedScheduleIterator, TimeUnitSpec};

use super::{ScheduleError, ScheduleErrorKind};

const FIELD: &str = "cron";
const DAY_NAMES: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const DAY_ABBREVIATIONS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
/// Days in the Gregorian 400-year cycle (exactly 20,871 weeks): every day pattern repeats.
const GREGORIAN_CYCLE_DAYS: u64 = 146_097;
/// Longest stretch of non-existent wall-clock time searched for its end (Samoa skipped a day).
const MAX_GAP_MINUTES: u32 = 48 * 60;

/// A validated 5-field expression, compiled to one or two `cron` crate schedules.
#[derive(Debug, Clone)]
pub(crate) struct CronSpec {
    minute: String,
    hour: String,
    day_of_month: String,
    month: String,
    /// Standard numbering, 0 = Sunday … 6 = Saturday (7 folded onto 0).
    weekdays: BTreeSet<u32>,
    dom_star: bool,
    dow_star: bool,
    /// Evaluated as a union (Vixie OR rule) when there are two.
    parts: Vec<cron::Schedule>,
}

fn invalid(message: String) -> ScheduleError {
    ScheduleError::new(FIELD, ScheduleErrorKind::Invalid, message)
}

/// Expands the standard macros to their 5-field meaning.
fn expand_macro(expr: &str) -> Result<Option<&'static str>, ScheduleError> {
    if !expr.starts_with('@') {
        return Ok(None);
    }
    let expanded = match expr.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        "@reboot" => return Err(invalid("@reboot is not supported: schedules fire at times, not at startup".into())),
        _ => {
            return Err(invalid(format!(
                "unknown macro \"{expr}\" (supported: @hourly, @daily, @weekly, @monthly, @yearly)"
            )));
        }
    };
    Ok(Some(expanded))
}

impl CronSpec {
    /// Parses a standard 5-field expression (or one of the standard `@` macros).
    pub(crate) fn parse(expr: &str) -> Result<Self, ScheduleError> {
        let expr = expr.trim();
        if expr.is_empty() {
            return Err(ScheduleError::new(FIELD, ScheduleErrorKind::Required, "cron must not be empty".into()));
        }
        let source = expand_macro(expr)?.unwrap_or(expr);
        let fields: Vec<&str> = source.split_whitespace().collect();
        let [minute, hour, day_of_month, month, day_of_week] = fields[..] else {
            let extra = if fields.len() > 5 { " (seconds and year fields are not supported)" } else { "" };
            return Err(invalid(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), got {}{extra}",
                fields.len()
            )));
        };
        let weekdays = parse_day_of_week(day_of_week)?;

        let dom_star = day_of_month.starts_with(['*', '?']);
        let dow_star = day_of_week.starts_with(['*', '?']);
        let crate_dow = if weekdays.len() == 7 {
            "*".to_string()
        } else {
            weekdays.iter().map(|d| (d + 1).to_string()).collect::<Vec<_>>().join(",")
        };
        let sources = if dom_star || dow_star {
            vec![format!("0 {minute} {hour} {day_of_month} {month} {crate_dow}")]
        } else {
            vec![
                format!("0 {minute} {hour} {day_of_month} {month} *"),
                format!("0 {minute} {hour} * {month} {crate_dow}"),
            ]
        };
        let parts = match sources.iter().map(|s| s.parse::<cron::Schedule>()).collect::<Result<Vec<_>, _>>() {
            Ok(parts) => parts,
            Err(_) => {
                // Find the field to blame (each field's validity does not depend on the others).
                check_field("minute", "0-59", &format!("0 {minute} * * * *"), minute)?;
                check_field("hour", "0-23", &format!("0 * {hour} * * *"), hour)?;
                check_field("day-of-month", "1-31", &format!("0 * * {day_of_month} * *"), day_of_month)?;
                check_field("month", "1-12 or JAN-DEC", &format!("0 * * * {month} *"), month)?;
                return Err(invalid(format!("\"{expr}\" is not a valid cron expression")));
            }
        };
        Ok(Self {
            minute: minute.to_string(),
            hour: hour.to_string(),
            day_of_month: day_of_month.to_string(),
            month: month.to_string(),
            weekdays,
            dom_star,
            dow_star,
            parts,
        })
    }

    /// Whether the expression fires on calendar day `date` (at some time of day).
    fn matches_day(&self, date: NaiveDate) -> bool {
        self.parts.iter().any(|p| {
            p.months().includes(date.month())
                && p.days_of_month().includes(date.day())
                && p.days_of_week().includes(date.weekday().number_from_sunday())
        })
    }

    fn scan_days(&self, mut stop: impl FnMut(NaiveDate, bool) -> bool) {
        let Some(mut date) = NaiveDate::from_ymd_opt(2000, 1, 1) else { return };
        for _ in 0..=GREGORIAN_CYCLE_DAYS {
            if stop(date, self.matches_day(date)) {
                return;
            }
            let Some(next) = date.checked_add_days(Days::new(1)) else { return };
            date = next;
        }
    }

    /// Whether any calendar day matches (`0 0 30 2 *` never does).
    pub(crate) fn fires_at_all(&self) -> bool {
        let mut found = false;
        self.scan_days(|_, matches| {
            found = matches;
            found
        });
        found
    }

    fn has_consecutive_days(&self) -> bool {
        let mut previous = false;
        let mut found = false;
        self.scan_days(|_, matches| {
            found = previous && matches;
            previous = matches;
            found
        });
        found
    }

    /// The shortest wall-clock gap between two consecutive fires, in minutes, exact when under
    /// 60; 60 means "an hour or more". Computed from the field sets rather than sampled:
    /// within an hour the gaps are those between the listed minutes; from one hour to the next
    /// it is `60 - last minute + first minute`, which happens only when two adjacent hours are
    /// listed (23 → 0 counts when two consecutive calendar days match, checked over a whole
    /// 400-year Gregorian cycle).
    pub(crate) fn shortest_gap_minutes(&self) -> u32 {
        let Some(first) = self.parts.first() else { return 60 };
        let minutes: Vec<u32> = first.minutes().iter().collect();
        let (Some(&lowest), Some(&highest)) = (minutes.first(), minutes.last()) else { return 60 };
        if minutes.len() < 2 {
            return 60;
        }
        let within = minutes.windows(2).map(|w| w[1] - w[0]).min().unwrap_or(60);
        let wrap = 60 - highest + lowest;
        if wrap >= within {
            return within;
        }
        let hours: BTreeSet<u32> = first.hours().iter().collect();
        let adjacent = hours.iter().any(|h| hours.contains(&(h + 1)))
            || (hours.contains(&0) && hours.contains(&23) && self.has_consecutive_days());
        if adjacent { wrap } else { within }
    }

    /// Occurrences strictly after `after`, as instants, evaluated on the wall clock of `tz`.
    pub(crate) fn occurrences_after(&self, tz: Tz, after: DateTime<Utc>) -> CronOccurrences {
        let wall = after.with_timezone(&tz).naive_local();
        let wall = wall.with_nanosecond(0).unwrap_or(wall);
        // The crate yields times strictly after its start (second granularity); start one
        // second early so that a fire at exactly `wall` is considered too.
        let start = wall.checked_sub_signed(TimeDelta::seconds(1)).unwrap_or(wall).and_utc();
        let streams = self.parts.iter().map(|p| p.after_owned(start).peekable()).collect();
        CronOccurrences { tz, streams, last: after }
    }

    /// A human sentence, without the time zone, or `None` when there is no simple one.
    pub(crate) fn describe(&self) -> Option<String> {
        let (Some(first), true) = (self.parts.first(), self.month == "*") else { return None };
        let minutes: Vec<u32> = first.minutes().iter().collect();
        let hours: Vec<u32> = first.hours().iter().collect();
        let every_day = self.dom_star && self.dow_star && first.days_of_month().is_all() && self.weekdays.len() == 7;

        // "every N minutes" / "every hour at :MM"
        if self.hour == "*" && every_day {
            if let [m] = minutes[..] {
                return Some(format!("every hour at minute {m:02}"));
            }
            let step = self.minute.strip_prefix("*/").and_then(|s| s.parse::<u32>().ok())?;
            return (60 % step == 0).then(|| format!("every {step} minutes"));
        }
        let [minute] = minutes[..] else { return None };
        if hours.is_empty() || hours.len() > 6 || self.hour.contains('*') {
            return None;
        }
        let times = join_and(&hours.iter().map(|h| format!("{h:02}:{minute:02}")).collect::<Vec<_>>());
        let days = if every_day {
            "every day".to_string()
        } else if self.dom_star && first.days_of_month().is_all() {
            let weekdays: Vec<u32> = self.weekdays.iter().copied().collect();
            match weekdays[..] {
                [1, 2, 3, 4, 5] => "every weekday (Monday to Friday)".to_string(),
                _ => {
                    let names: Vec<String> =
                        weekdays.iter().filter_map(|d| DAY_NAMES.get(*d as usize)).map(|n| n.to_string()).collect();
                    format!("every {}", join_and(&names))
                }
            }
        } else if self.dow_star && self.weekdays.len() == 7 {
            let day: u32 = self.day_of_month.parse().ok()?;
            format!("on the {} of every month", ordinal(day))
        } else {
            return None;
        };
        Some(format!("{days} at {times}"))
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Validates one non-weekday field through the crate, naming the field in the error (the
/// crate's own message only echoes the 6-field expression it was given).
fn check_field(name: &str, allowed: &str, probe: &str, value: &str) -> Result<(), ScheduleError> {
    probe.parse::<cron::Schedule>().map(|_| ()).map_err(|_| {
        invalid(format!(
            "{name} field \"{value}\" is invalid (allowed: {allowed}, with lists \",\", ranges \"-\" and steps \"/\")"
        ))
    })
}

fn weekday_value(token: &str, field: &str) -> Result<u32, ScheduleError> {
    if let Ok(n) = token.parse::<u32>() {
        return if n <= 7 {
            Ok(n)
        } else {
            Err(invalid(format!("day-of-week field \"{field}\": {n} is out of range (0-7, 0 and 7 = Sunday)")))
        };
    }
    let lower = token.to_ascii_lowercase();
    DAY_ABBREVIATIONS
        .iter()
        .position(|d| *d == lower)
        .map(|i| i as u32)
        .ok_or_else(|| invalid(format!("day-of-week field \"{field}\": \"{token}\" is not a day (0-7 or SUN-SAT)")))
}

/// Parses a standard day-of-week field into days 0 (Sunday) … 6 (Saturday).
///
/// Accepts lists, `*`, `?`, numbers 0–7 (0 and 7 = Sunday), three-letter names, ranges (`1-5`,
/// `mon-fri`, and `fri-sun` / `5-0` read as Friday to Sunday), and steps (`*/2` = 0,2,4,6;
/// `1-5/2`; `1/2` = 1,3,5,7 as in cronie).
fn parse_day_of_week(field: &str) -> Result<BTreeSet<u32>, ScheduleError> {
    let mut days = BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step =
                    step.parse::<u32>().ok().filter(|s| (1..=7).contains(s)).ok_or_else(|| {
                        invalid(format!("day-of-week field \"{field}\": step \"{step}\" must be 1-7"))
                    })?;
                (range, Some(step))
            }
            None => (item, None),
        };
        let (low, high) = if range == "*" || range == "?" {
            (0, 7)
        } else if let Some((a, b)) = range.split_once('-') {
            let low = weekday_value(a, field)?;
            let mut high = weekday_value(b, field)?;
            if high == 0 && low > 0 {
                high = 7;
            }
            if low > high {
                return Err(invalid(format!("day-of-week field \"{field}\": range \"{range}\" runs backwards")));
            }
            (low, high)
        } else if range.is_empty() {
            return Err(invalid(format!("day-of-week field \"{field}\" has an empty item")));
        } else {
            let value = weekday_value(range, field)?;
            (value, if step.is_some() { 7 } else { value })
        };
        for day in (low..=high).step_by(step.unwrap_or(1) as usize) {
            days.insert(day % 7);
        }
    }
    Ok(days)
}

/// Maps a wall-clock time in `tz` to the instant it fires:
/// - exists once → that instant;
/// - exists twice (DST ends, clocks go back) → the first of the two;
/// - does not exist (DST starts, clocks go forward) → the first instant after the gap, e.g.
///   02:30 on a New York spring-forward day → 03:00 EDT.
///
/// The mapping never goes backwards as the wall-clock time advances, so iterating wall-clock
/// occurrences in order and dropping instants already yielded gives each instant once.
pub(crate) fn resolve(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.to_utc()),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).to_utc()),
        LocalResult::None => gap_end(tz, wall),
    }
}

fn exists(tz: Tz, wall: NaiveDateTime) -> bool {
    tz.from_local_datetime(&wall).earliest().is_some()
}

/// The first instant after the wall-clock gap containing `wall`: walk forward by minutes to
/// the first wall-clock time that exists, then back by seconds to the exact end of the gap.
fn gap_end(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    let minute = TimeDelta::minutes(1);
    let second = TimeDelta::seconds(1);
    let mut probe = wall.with_second(0)?.with_nanosecond(0)?;
    for _ in 0..MAX_GAP_MINUTES {
        probe = probe.checked_add_signed(minute)?;
        if exists(tz, probe) {
            for _ in 0..60 {
                let earlier = probe.checked_sub_signed(second)?;
                if earlier <= wall || !exists(tz, earlier) {
                    break;
                }
                probe = earlier;
            }
            return tz.from_local_datetime(&probe).earliest().map(|t| t.to_utc());
        }
    }
    None
}

/// Fire instants of a cron schedule in increasing order (each at most once).
pub struct CronOccurrences {
    tz: Tz,
    streams: Vec<Peekable<OwnedScheduleIterator<Utc>>>,
    /// Everything up to and including this instant has been yielded or was excluded.
    last: DateTime<Utc>,
}

impl std::fmt::Debug for CronOccurrences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CronOccurrences").field("tz", &self.tz).field("last", &self.last).finish_non_exhaustive()
    }
}

impl Iterator for CronOccurrences {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            // Merge the streams (both are wall-clock times, increasing).
            let index = self
                .streams
                .iter_mut()
                .enumerate()
                .filter_map(|(i, s)| s.peek().map(|w| (*w, i)))
                .min()
                .map(|(_, i)| i)?;
            let wall = self.streams.get_mut(index)?.next()?.naive_utc();
            let Some(instant) = resolve(self.tz, wall) else { continue };
            if instant > self.last {
                self.last = instant;
                return Some(instant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_of_week_parsing() {
        let cases: &[(&str, &[u32])] = &[
            ("0", &[0]),
            ("7", &[0]),
            ("1", &[1]),
            ("1-5", &[1, 2, 3, 4, 5]),
            ("mon-fri", &[1, 2, 3, 4, 5]),
            ("MON,wed,Fri", &[1, 3, 5]),
            ("5-7", &[0, 5, 6]),
            ("fri-sun", &[0, 5, 6]),
            ("*/2", &[0, 2, 4, 6]),
            ("1-5/2", &[1, 3, 5]),
            ("1/2", &[0, 1, 3, 5]),
            ("*", &[0, 1, 2, 3, 4, 5, 6]),
            ("0-7", &[0, 1, 2, 3, 4, 5, 6]),
        ];
        for (field, expected) in cases {
            let days = parse_day_of_week(field).unwrap();
            assert_eq!(days.into_iter().collect::<Vec<_>>(), expected.to_vec(), "{field}");
        }
        for bad in ["8", "1-", "", "5-3", "*/0", "*/8", "monday", "1,,2", "L", "1#2"] {
            assert!(parse_day_of_week(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31].into_iter().map(ordinal).collect();
        assert_eq!(got, ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]);
    }

    #[test]
    fn shortest_gap() {
        let gap = |e: &str| CronSpec::parse(e).unwrap().shortest_gap_minutes();
        assert_eq!(gap("*/5 * * * *"), 5);
        assert_eq!(gap("*/15 * * * *"), 15);
        assert_eq!(gap("0,50 * * * *"), 10);
        assert_eq!(gap("0,50 9 * * *"), 50);
        assert_eq!(gap("0,50 9,11 * * *"), 50);
        assert_eq!(gap("0,50 9,10 * * *"), 10);
        assert_eq!(gap("0,50 0,23 * * *"), 10);
        // 23:50 on the 31st of December, 00:00 on the 1st of January: once a year.
        assert_eq!(gap("0,50 0,23 1,31 1,12 *"), 10);
        // never two consecutive days: 23:50 → 00:00 never happens back to back.
        assert_eq!(gap("0,50 0,23 1 * *"), 50);
        assert_eq!(gap("0 9 * * 1"), 60);
    }
}
