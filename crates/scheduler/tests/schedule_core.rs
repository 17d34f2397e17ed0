//! The schedule-computation core: parsing, the 15-minute rule, cron day-of-week numbering,
//! the built-in schedules, DST, intervals, `once`, and the missed-occurrence policy.
//! Pure: fixed instants only, no clock reads, no sleeps.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeDelta, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use scheduler::schedule::{Due, Schedule, ScheduleErrorKind};
use serde_json::{Value, json};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// The `now` user schedules are validated against.
fn now() -> DateTime<Utc> {
    utc("2026-03-01T00:00:00Z")
}

fn tz(name: &str) -> Tz {
    name.parse().unwrap()
}

fn cron_in(expr: &str, zone: &str) -> Schedule {
    Schedule::parse(&json!({"type": "cron", "cron": expr, "timezone": zone}), now()).unwrap()
}

fn builtin(expr: &str) -> Schedule {
    Schedule::parse_builtin(&json!(expr)).unwrap()
}

fn fires(s: &Schedule, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    s.occurrences_after(after).take(n).collect()
}

/// Local rendering, e.g. "Mon 2026-03-09 09:00 +08".
fn local(t: DateTime<Utc>, zone: &str) -> String {
    t.with_timezone(&tz(zone)).format("%a %Y-%m-%d %H:%M %Z").to_string()
}

fn reject(value: Value) -> (String, ScheduleErrorKind, String) {
    match Schedule::parse(&value, now()) {
        Ok(s) => panic!("{value} was accepted as {s:?}"),
        Err(e) => {
            assert_eq!(e.to_string(), format!("{}: {}", e.field, e.message));
            (e.field, e.kind, e.message)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing

#[test]
fn parses_the_api_shapes() {
    let sgt = chrono_tz::Asia::Singapore;
    let cases: Vec<(Value, Schedule)> = vec![
        (
            json!({"type": "cron", "cron": "0 9 * * 1", "timezone": "Asia/Singapore"}),
            Schedule::Cron { expr: "0 9 * * 1".into(), tz: sgt },
        ),
        // default time zone, whitespace normalised
        (json!({"type": "cron", "cron": "  0  9 * *   1 "}), Schedule::Cron { expr: "0 9 * * 1".into(), tz: sgt }),
        (
            json!({"type": "cron", "cron": "0 9 * * 1", "timezone": null}),
            Schedule::Cron { expr: "0 9 * * 1".into(), tz: sgt },
        ),
        (
            json!({"type": "cron", "cron": "30 2 * * *", "timezone": "America/New_York"}),
            Schedule::Cron { expr: "30 2 * * *".into(), tz: chrono_tz::America::New_York },
        ),
        (json!({"type": "cron", "cron": "@daily"}), Schedule::Cron { expr: "@daily".into(), tz: sgt }),
        (
            json!({"type": "cron", "cron": "0 10 * * MON-FRI"}),
            Schedule::Cron { expr: "0 10 * * MON-FRI".into(), tz: sgt },
        ),
        (
            json!({"type": "cron", "cron": "0 9 1 JAN,jul *"}),
            Schedule::Cron { expr: "0 9 1 JAN,jul *".into(), tz: sgt },
        ),
        // the seed's bare string form
        (json!("0 9 * * 1"), Schedule::Cron { expr: "0 9 * * 1".into(), tz: sgt }),
        (
            json!({"type": "interval", "interval": {"minutes": 30}}),
            Schedule::Interval { every: TimeDelta::minutes(30), anchor: utc("1999-12-31T16:00:00Z") },
        ),
        (
            json!({"type": "interval", "interval": {"hours": 24}, "timezone": "Europe/London"}),
            Schedule::Interval { every: TimeDelta::days(1), anchor: utc("2000-01-01T00:00:00Z") },
        ),
        (
            json!({"type": "interval", "interval": {"days": 2, "hours": null}, "anchor": "2026-03-02T09:00:00+08:00"}),
            Schedule::Interval { every: TimeDelta::days(2), anchor: utc("2026-03-02T01:00:00Z") },
        ),
        (
            json!({"type": "once", "at": "2026-12-01T09:00:00+08:00"}),
            Schedule::Once { at: DateTime::parse_from_rfc3339("2026-12-01T09:00:00+08:00").unwrap() },
        ),
        (
            json!({"type": "once", "at": "2026-12-01T01:00:00Z", "timezone": "Asia/Singapore"}),
            Schedule::Once { at: DateTime::parse_from_rfc3339("2026-12-01T01:00:00Z").unwrap() },
        ),
    ];
    for (value, expected) in cases {
        let parsed = Schedule::parse(&value, now()).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(parsed, expected, "{value}");
        // the canonical JSON parses back to the same schedule
        let again = Schedule::parse_builtin(&parsed.to_json()).unwrap();
        assert_eq!(again, parsed, "{}", parsed.to_json());
    }
}

#[test]
fn rejects_bad_input_naming_the_field() {
    use ScheduleErrorKind::*;
    let cases: Vec<(Value, &str, ScheduleErrorKind, &str)> = vec![
        (json!(42), "schedule", Invalid, "object"),
        (json!(null), "schedule", Required, "required"),
        (json!({}), "type", Required, "type is required"),
        (json!({"type": "weekly"}), "type", Invalid, "unknown type"),
        (json!({"type": 1}), "type", Invalid, "type must be"),
        (json!({"type": "cron"}), "cron", Required, "cron is required"),
        (json!({"type": "cron", "cron": ""}), "cron", Required, "empty"),
        (json!({"type": "cron", "cron": 5}), "cron", Invalid, "string"),
        (json!({"type": "cron", "cron": "0 9 * *"}), "cron", Invalid, "expected 5 fields"),
        (json!({"type": "cron", "cron": "0 0 9 * * 1"}), "cron", Invalid, "seconds and year fields are not supported"),
        (json!({"type": "cron", "cron": "0 0 9 * * 1 2026"}), "cron", Invalid, "got 7"),
        (json!({"type": "cron", "cron": "@reboot"}), "cron", Invalid, "@reboot is not supported"),
        (json!({"type": "cron", "cron": "@every 5m"}), "cron", Invalid, "unknown macro"),
        (json!({"type": "cron", "cron": "60 9 * * *"}), "cron", Invalid, "minute field \"60\""),
        (json!({"type": "cron", "cron": "0 24 * * *"}), "cron", Invalid, "hour field \"24\""),
        (json!({"type": "cron", "cron": "0 9 0 * *"}), "cron", Invalid, "day-of-month field \"0\""),
        (json!({"type": "cron", "cron": "0 9 L * *"}), "cron", Invalid, "day-of-month field \"L\""),
        (json!({"type": "cron", "cron": "0 9 * 13 *"}), "cron", Invalid, "month field \"13\""),
        (json!({"type": "cron", "cron": "0 9 * * 8"}), "cron", Invalid, "day-of-week field \"8\""),
        (json!({"type": "cron", "cron": "0 9 * * 1#2"}), "cron", Invalid, "day-of-week field"),
        (json!({"type": "cron", "cron": "0 9 * * 5-1"}), "cron", Invalid, "runs backwards"),
        (json!({"type": "cron", "cron": "0 0 30 2 *"}), "cron", NeverFires, "never fires"),
        (
            json!({"type": "cron", "cron": "0 9 * * 1", "timezone": "Mars/Olympus"}),
            "timezone",
            UnknownTimezone,
            "Mars/Olympus",
        ),
        (json!({"type": "cron", "cron": "0 9 * * 1", "timezone": "SGT"}), "timezone", UnknownTimezone, "IANA"),
        (json!({"type": "cron", "cron": "0 9 * * 1", "timezone": 8}), "timezone", Invalid, "string"),
        (
            json!({"type": "cron", "cron": "0 9 * * 1", "timzone": "UTC"}),
            "timzone",
            Invalid,
            "unknown field \"timzone\"",
        ),
        (
            json!({"type": "cron", "cron": "0 9 * * 1", "at": "2026-12-01T09:00:00+08:00"}),
            "at",
            Invalid,
            "unknown field",
        ),
        (json!({"type": "interval"}), "interval", Required, "interval is required"),
        (json!({"type": "interval", "interval": 30}), "interval", Invalid, "object"),
        (json!({"type": "interval", "interval": {}}), "interval", Invalid, "exactly one of"),
        (json!({"type": "interval", "interval": {"minutes": 30, "hours": 1}}), "interval", Invalid, "exactly one of"),
        (json!({"type": "interval", "interval": {"weeks": 1}}), "interval", Invalid, "unknown unit \"weeks\""),
        (json!({"type": "interval", "interval": {"minutes": 0}}), "interval.minutes", Invalid, "positive integer"),
        (json!({"type": "interval", "interval": {"minutes": -30}}), "interval.minutes", Invalid, "positive integer"),
        (json!({"type": "interval", "interval": {"minutes": 30.5}}), "interval.minutes", Invalid, "positive integer"),
        (json!({"type": "interval", "interval": {"minutes": "30"}}), "interval.minutes", Invalid, "positive integer"),
        (json!({"type": "interval", "interval": {"hours": 0}}), "interval.hours", Invalid, "positive integer"),
        (json!({"type": "interval", "interval": {"days": 367}}), "interval.days", Invalid, "at most 366"),
        (
            json!({"type": "interval", "interval": {"minutes": 14}}),
            "interval.minutes",
            TooFrequent,
            "at least 15 minutes",
        ),
        (json!({"type": "interval", "interval": {"hours": 1}, "anchor": "tomorrow"}), "anchor", Invalid, "RFC 3339"),
        (
            json!({"type": "interval", "interval": {"hours": 1}, "timezone": "Nowhere"}),
            "timezone",
            UnknownTimezone,
            "Nowhere",
        ),
        (json!({"type": "once"}), "at", Required, "at is required"),
        (json!({"type": "once", "at": ""}), "at", Required, "at is required"),
        (json!({"type": "once", "at": 1767225600}), "at", Invalid, "string"),
        (json!({"type": "once", "at": "2026-12-01T09:00:00"}), "at", Invalid, "has no UTC offset"),
        (json!({"type": "once", "at": "2026-12-01 09:00:00"}), "at", Invalid, "has no UTC offset"),
        (json!({"type": "once", "at": "1 December 2026"}), "at", Invalid, "not an RFC 3339"),
        (json!({"type": "once", "at": "2026-02-28T09:00:00+08:00"}), "at", InPast, "not in the future"),
        (json!({"type": "once", "at": "2026-03-01T00:00:00Z"}), "at", InPast, "not in the future"),
        (
            json!({"type": "once", "at": "2026-12-01T09:00:00+08:00", "timezone": "Atlantis"}),
            "timezone",
            UnknownTimezone,
            "Atlantis",
        ),
        (
            json!({"type": "once", "at": "2026-12-01T09:00:00+08:00", "cron": "0 9 * * 1"}),
            "cron",
            Invalid,
            "unknown field",
        ),
    ];
    for (value, field, kind, needle) in cases {
        let (got_field, got_kind, message) = reject(value.clone());
        assert_eq!((got_field.as_str(), got_kind), (field, kind), "{value}: {message}");
        assert!(message.contains(needle), "{value}: {message:?} lacks {needle:?}");
    }
}

#[test]
fn once_a_second_after_now_is_accepted() {
    let s = Schedule::parse(&json!({"type": "once", "at": "2026-03-01T00:00:01Z"}), now()).unwrap();
    assert_eq!(s.next_after(now()), Some(utc("2026-03-01T00:00:01Z")));
    // parse_builtin does not compare with any clock
    assert!(Schedule::parse_builtin(&json!({"type": "once", "at": "2020-01-01T00:00:00Z"})).is_ok());
}

// ---------------------------------------------------------------------------------------
// The 15-minute rule

#[test]
fn intervals_under_15_minutes_are_refused() {
    let interval =
        |minutes: u64| Schedule::parse(&json!({"type": "interval", "interval": {"minutes": minutes}}), now());
    let err = interval(14).unwrap_err();
    assert_eq!((err.field.as_str(), err.kind), ("interval.minutes", ScheduleErrorKind::TooFrequent));
    let s = interval(15).unwrap();
    assert_eq!(s, Schedule::Interval { every: TimeDelta::minutes(15), anchor: utc("1999-12-31T16:00:00Z") });
    assert!(Schedule::parse(&json!({"type": "interval", "interval": {"hours": 1}}), now()).is_ok());
    assert!(Schedule::parse(&json!({"type": "interval", "interval": {"days": 366}}), now()).is_ok());
    // built-ins may be more frequent
    assert!(Schedule::parse_builtin(&json!({"type": "interval", "interval": {"minutes": 5}})).is_ok());
}

#[test]
fn crons_firing_more_often_than_every_15_minutes_are_refused() {
    let too_frequent = [
        ("*/5 * * * *", 5),
        ("* * * * *", 1),
        ("* 9 * * *", 1),
        ("0,10 * * * *", 10),
        ("*/14 * * * *", 4), // 00:56 → 01:00,
        ("0-5 9 * * 1", 1),
        ("0,50 9,10 * * *", 10),      // 09:50 → 10:00
        ("0,50 0,23 * * *", 10),      // 23:50 → 00:00 the next day
        ("0,55 0,23 1,31 1,12 *", 5), // 31 December 23:55 → 1 January 00:00, once a year
        ("*/10 9 * * 1-5", 10),
    ];
    for (expr, gap) in too_frequent {
        let (field, kind, message) = reject(json!({"type": "cron", "cron": expr}));
        assert_eq!((field.as_str(), kind), ("cron", ScheduleErrorKind::TooFrequent), "{expr}: {message}");
        assert!(message.contains(&format!("every {gap} minute")), "{expr}: {message}");
        // ... yet fine as a built-in
        assert!(Schedule::parse_builtin(&json!(expr)).is_ok(), "{expr}");
    }
    let fine = [
        "0 9 * * 1",
        "*/15 * * * *",
        "0,15,30,45 * * * *",
        "0,30 9-17 * * 1-5",
        "0,50 9,11 * * *", // 09:50 and 11:00 are not adjacent
        "0,50 0,23 1 * *", // never two consecutive days, so 23:50 → 00:00 never happens
        "0 * * * *",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "@midnight",
    ];
    for expr in fine {
        Schedule::parse(&json!({"type": "cron", "cron": expr}), now()).unwrap_or_else(|e| panic!("{expr}: {e}"));
    }
}

/// The exact spacing check agrees with brute force: a year of wall-clock fires in UTC.
#[test]
fn spacing_check_agrees_with_simulation() {
    let exprs = [
        "*/15 * * * *",
        "*/20 * * * *",
        "0,10 * * * *",
        "0,50 9,10 * * *",
        "0,50 9,11 * * *",
        "0,50 0,23 * * *",
        "0,50 0,23 1 * *",
        "0,50 0,23 1,31 1,12 *",
        "0,50 0,23 28,1 2,3 *",
        "5,55 0,23 * * 0,1",
        "5,55 0,23 * * 6",
        "5,55 0,23 1 * 0",
        "0 9 * * 1",
        "0,45 8 * * 1-5",
        "40 */2 * * *",
    ];
    let start = utc("2026-01-01T00:00:00Z");
    let end = utc("2029-01-01T00:00:00Z");
    for expr in exprs {
        let s = Schedule::parse_builtin(&json!({"type": "cron", "cron": expr, "timezone": "UTC"})).unwrap();
        let mut shortest = TimeDelta::MAX;
        let mut previous: Option<DateTime<Utc>> = None;
        for t in s.occurrences_after(start).take_while(|t| *t < end) {
            if let Some(p) = previous {
                shortest = shortest.min(t - p);
            }
            previous = Some(t);
        }
        let accepted = Schedule::parse(&json!({"type": "cron", "cron": expr, "timezone": "UTC"}), now()).is_ok();
        assert_eq!(accepted, shortest >= TimeDelta::minutes(15), "{expr}: shortest gap {shortest}");
    }
}

// ---------------------------------------------------------------------------------------
// Day of week: standard cron 0-7 (0 and 7 = Sunday), not the cron crate's 1-7 = Sunday-Saturday

fn weekdays_fired(expr: &str, days: usize) -> Vec<Weekday> {
    let s = cron_in(expr, "Asia/Singapore");
    let sgt = tz("Asia/Singapore");
    let start = utc("2026-03-01T00:00:00+08:00");
    let end = start + Duration::days(days as i64);
    s.occurrences_after(start).take_while(|t| *t < end).map(|t| t.with_timezone(&sgt).weekday()).collect()
}

#[test]
fn day_of_week_uses_standard_cron_numbering() {
    use Weekday::*;
    assert_eq!(weekdays_fired("0 9 * * 1", 14), [Mon, Mon]);
    assert_eq!(weekdays_fired("0 9 * * MON", 14), [Mon, Mon]);
    assert_eq!(weekdays_fired("0 9 * * 0", 14), [Sun, Sun]);
    assert_eq!(weekdays_fired("0 9 * * 7", 14), [Sun, Sun]);
    assert_eq!(weekdays_fired("0 9 * * sun", 14), [Sun, Sun]);
    assert_eq!(weekdays_fired("0 9 * * 6", 14), [Sat, Sat]);
    assert_eq!(weekdays_fired("0 9 * * 5", 7), [Fri]);
    // 2026-03-01 is a Sunday
    assert_eq!(weekdays_fired("0 10 * * 1-5", 14), [Mon, Tue, Wed, Thu, Fri, Mon, Tue, Wed, Thu, Fri]);
    assert_eq!(weekdays_fired("0 10 * * mon-fri", 7), [Mon, Tue, Wed, Thu, Fri]);
    assert_eq!(weekdays_fired("0 10 * * 5-7", 7), [Sun, Fri, Sat]);
    assert_eq!(weekdays_fired("0 10 * * fri-sun", 7), [Sun, Fri, Sat]);
    assert_eq!(weekdays_fired("0 10 * * 0,6", 7), [Sun, Sat]);
    assert_eq!(weekdays_fired("0 10 * * */2", 7), [Sun, Tue, Thu, Sat]);
    assert_eq!(weekdays_fired("0 10 * * 1-5/2", 7), [Mon, Wed, Fri]);
    assert_eq!(weekdays_fired("0 10 * * *", 7), [Sun, Mon, Tue, Wed, Thu, Fri, Sat]);
    assert_eq!(weekdays_fired("0 10 * * 0-7", 7), [Sun, Mon, Tue, Wed, Thu, Fri, Sat]);
    assert_eq!(weekdays_fired("@weekly", 15), [Sun, Sun]);
}

#[test]
fn day_of_month_and_day_of_week_together_match_either() {
    // Vixie cron: "the 1st and 15th, and every Monday" (2026-03: Mondays 2, 9, 16, 23, 30)
    let s = cron_in("0 9 1,15 * 1", "Asia/Singapore");
    let days: Vec<u32> = fires(&s, utc("2026-02-28T00:00:00Z"), 7)
        .into_iter()
        .map(|t| t.with_timezone(&tz("Asia/Singapore")).day())
        .collect();
    assert_eq!(days, [1, 2, 9, 15, 16, 23, 30]);
    // a leading * in either field means "both must match" (here: Mondays among odd days)
    let s = cron_in("0 9 */2 * 1", "Asia/Singapore");
    let days: Vec<u32> = fires(&s, utc("2026-02-28T00:00:00Z"), 3)
        .into_iter()
        .map(|t| t.with_timezone(&tz("Asia/Singapore")).day())
        .collect();
    assert_eq!(days, [9, 23, 13]);
}

// ---------------------------------------------------------------------------------------
// The five built-in schedules

#[test]
fn builtin_schedules_in_singapore() {
    // Wednesday 2026-03-04 10:02 in Singapore
    let from = utc("2026-03-04T10:02:00+08:00");
    let cases = [
        ("*/5 * * * *", ["Wed 2026-03-04 10:05 +08", "Wed 2026-03-04 10:10 +08", "Wed 2026-03-04 10:15 +08"]),
        ("0 9 * * 1", ["Mon 2026-03-09 09:00 +08", "Mon 2026-03-16 09:00 +08", "Mon 2026-03-23 09:00 +08"]),
        ("0 8 1 * *", ["Wed 2026-04-01 08:00 +08", "Fri 2026-05-01 08:00 +08", "Mon 2026-06-01 08:00 +08"]),
        ("0 10 * * 1-5", ["Thu 2026-03-05 10:00 +08", "Fri 2026-03-06 10:00 +08", "Mon 2026-03-09 10:00 +08"]),
        ("0 17 * * 5", ["Fri 2026-03-06 17:00 +08", "Fri 2026-03-13 17:00 +08", "Fri 2026-03-20 17:00 +08"]),
    ];
    for (expr, expected) in cases {
        let s = builtin(expr);
        assert_eq!(s.timezone(), Some(chrono_tz::Asia::Singapore));
        let got: Vec<String> = fires(&s, from, 3).into_iter().map(|t| local(t, "Asia/Singapore")).collect();
        assert_eq!(got, expected, "{expr}");
    }
    // the configured time zone of the built-ins
    let london = scheduler::schedule::parse_timezone("Europe/London").unwrap();
    let s = Schedule::parse_builtin_in(&json!("0 9 * * 1"), london).unwrap();
    assert_eq!(s, Schedule::Cron { expr: "0 9 * * 1".into(), tz: london });
    assert_eq!(s.next_after(from), Some(utc("2026-03-09T09:00:00Z")));
    let s =
        Schedule::parse_builtin_in(&json!({"type": "cron", "cron": "0 9 * * 1", "timezone": "UTC"}), london).unwrap();
    assert_eq!(s.timezone(), Some(chrono_tz::UTC));
    assert_eq!(
        scheduler::schedule::parse_timezone("Asia/Singapur").unwrap_err().kind,
        ScheduleErrorKind::UnknownTimezone
    );
    // the health check is a built-in exception to the 15-minute rule
    let (field, kind, _) = reject(json!("*/5 * * * *"));
    assert_eq!((field.as_str(), kind), ("cron", ScheduleErrorKind::TooFrequent));
}

#[test]
fn monthly_on_the_first_at_eight() {
    let s = cron_in("0 8 1 * *", "Asia/Singapore");
    let got: Vec<String> =
        fires(&s, utc("2026-01-15T00:00:00Z"), 13).into_iter().map(|t| local(t, "Asia/Singapore")).collect();
    let expected: Vec<String> = (0..13)
        .map(|i| {
            let (year, month) = (2026 + (1 + i) / 12, (1 + i) % 12 + 1);
            let date = NaiveDate::from_ymd_opt(year, month as u32, 1).unwrap();
            format!("{} 08:00 +08", date.format("%a %Y-%m-%d"))
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(got.first().map(String::as_str), Some("Sun 2026-02-01 08:00 +08"));
    assert_eq!(got.last().map(String::as_str), Some("Mon 2027-02-01 08:00 +08"));
}

#[test]
fn next_after_is_strictly_after() {
    let s = builtin("0 9 * * 1");
    let monday = utc("2026-03-09T09:00:00+08:00");
    assert_eq!(s.next_after(monday - TimeDelta::nanoseconds(1)), Some(monday));
    assert_eq!(s.next_after(monday), Some(utc("2026-03-16T09:00:00+08:00")));
    assert_eq!(s.next_after(monday + TimeDelta::milliseconds(500)), Some(utc("2026-03-16T09:00:00+08:00")));
}

#[test]
fn leap_day_and_macros() {
    let s = cron_in("0 0 29 2 *", "Asia/Singapore");
    assert_eq!(s.next_after(now()), Some(utc("2028-02-29T00:00:00+08:00")));
    let daily = cron_in("@daily", "Europe/London");
    assert_eq!(daily.next_after(utc("2026-07-01T12:00:00Z")), Some(utc("2026-07-02T00:00:00+01:00")));
    let yearly = cron_in("@yearly", "Asia/Singapore");
    assert_eq!(yearly.next_after(now()), Some(utc("2027-01-01T00:00:00+08:00")));
    let monthly = cron_in("@monthly", "Asia/Singapore");
    assert_eq!(monthly.next_after(now()), Some(utc("2026-04-01T00:00:00+08:00")));
}

// ---------------------------------------------------------------------------------------
// DST

#[test]
fn spring_forward_daily_job_fires_once_at_the_end_of_the_gap() {
    // New York, Sunday 2026-03-08: 02:00 EST → 03:00 EDT, so 02:30 does not exist.
    let s = cron_in("30 2 * * *", "America/New_York");
    let got: Vec<String> =
        fires(&s, utc("2026-03-06T12:00:00Z"), 4).into_iter().map(|t| local(t, "America/New_York")).collect();
    assert_eq!(
        got,
        [
            "Sat 2026-03-07 02:30 EST",
            "Sun 2026-03-08 03:00 EDT",
            "Mon 2026-03-09 02:30 EDT",
            "Tue 2026-03-10 02:30 EDT"
        ]
    );
    assert_eq!(s.next_after(utc("2026-03-07T12:00:00Z")), Some(utc("2026-03-08T07:00:00Z")));
    // London, Sunday 2026-03-29: 01:00 GMT → 02:00 BST.
    let s = cron_in("30 1 * * *", "Europe/London");
    let got: Vec<String> =
        fires(&s, utc("2026-03-28T00:00:00Z"), 3).into_iter().map(|t| local(t, "Europe/London")).collect();
    assert_eq!(got, ["Sat 2026-03-28 01:30 GMT", "Sun 2026-03-29 02:00 BST", "Mon 2026-03-30 01:30 BST"]);
    // 2027: New York springs forward on 2027-03-14.
    let s = cron_in("0 2 * * *", "America/New_York");
    let got: Vec<String> =
        fires(&s, utc("2027-03-13T00:00:00Z"), 3).into_iter().map(|t| local(t, "America/New_York")).collect();
    assert_eq!(got, ["Sat 2027-03-13 02:00 EST", "Sun 2027-03-14 03:00 EDT", "Mon 2027-03-15 02:00 EDT"]);
}

#[test]
fn fall_back_daily_job_fires_once_at_the_first_occurrence() {
    // New York, Sunday 2026-11-01: 02:00 EDT → 01:00 EST, so 01:30 happens twice.
    let s = cron_in("30 1 * * *", "America/New_York");
    let got: Vec<String> =
        fires(&s, utc("2026-10-30T12:00:00Z"), 4).into_iter().map(|t| local(t, "America/New_York")).collect();
    assert_eq!(
        got,
        [
            "Sat 2026-10-31 01:30 EDT",
            "Sun 2026-11-01 01:30 EDT",
            "Mon 2026-11-02 01:30 EST",
            "Tue 2026-11-03 01:30 EST"
        ]
    );
    // asked from between the two 01:30s, the second one is not a fire
    assert_eq!(s.next_after(utc("2026-11-01T05:45:00Z")), Some(utc("2026-11-02T06:30:00Z")));
    assert_eq!(s.next_after(utc("2026-11-01T06:00:00Z")), Some(utc("2026-11-02T06:30:00Z")));
    // London, Sunday 2026-10-25: 02:00 BST → 01:00 GMT.
    let s = cron_in("30 1 * * *", "Europe/London");
    let got: Vec<String> =
        fires(&s, utc("2026-10-24T00:00:00Z"), 3).into_iter().map(|t| local(t, "Europe/London")).collect();
    assert_eq!(got, ["Sat 2026-10-24 01:30 BST", "Sun 2026-10-25 01:30 BST", "Mon 2026-10-26 01:30 GMT"]);
    // 2027: New York falls back on 2027-11-07.
    let s = cron_in("0 1 * * *", "America/New_York");
    let got: Vec<String> =
        fires(&s, utc("2027-11-06T00:00:00Z"), 3).into_iter().map(|t| local(t, "America/New_York")).collect();
    assert_eq!(got, ["Sat 2027-11-06 01:00 EDT", "Sun 2027-11-07 01:00 EDT", "Mon 2027-11-08 01:00 EST"]);
}

/// Over two whole years, in zones with and without DST (north and south), a daily job fires
/// exactly once every calendar day, at its time except on a spring-forward day.
#[test]
fn daily_jobs_fire_exactly_once_every_calendar_day() {
    let zones = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Singapore", "UTC"];
    let times = [(0, 0), (0, 30), (1, 0), (1, 30), (2, 0), (2, 30), (2, 59), (3, 0), (12, 0), (23, 30)];
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let days = 365 + 365;
    for zone in zones {
        let z = tz(zone);
        for (hour, minute) in times {
            let s = cron_in(&format!("{minute} {hour} * * *"), zone);
            let start = first.and_hms_opt(0, 0, 0).unwrap().and_local_timezone(z).earliest().unwrap().to_utc();
            let got: Vec<_> = fires(&s, start - TimeDelta::seconds(1), days);
            let mut moved = 0;
            for (i, t) in got.iter().enumerate() {
                let l = t.with_timezone(&z);
                assert_eq!(l.date_naive(), first + Duration::days(i as i64), "{zone} {hour}:{minute}: {l}");
                if (l.hour(), l.minute()) != (hour, minute) {
                    // only ever moved forward by a spring-forward gap, and only to the gap's end
                    assert!((l.hour(), l.minute()) > (hour, minute), "{zone} {hour}:{minute}: {l}");
                    assert!(!exists(z, l.date_naive().and_hms_opt(hour, minute, 0).unwrap()), "{l}");
                    moved += 1;
                }
            }
            assert_eq!(got.len(), days);
            assert!(moved <= 2, "{zone} {hour}:{minute}: moved {moved} times");
        }
    }
}

fn exists(zone: Tz, wall: chrono::NaiveDateTime) -> bool {
    use chrono::TimeZone;
    zone.from_local_datetime(&wall).earliest().is_some()
}

#[test]
fn frequent_jobs_across_dst_changes() {
    let s = cron_in("*/15 * * * *", "America/New_York");
    // spring forward: 01:45 EST, then the gap collapses into one fire at 03:00 EDT
    let got: Vec<String> =
        fires(&s, utc("2026-03-08T06:30:00Z"), 4).into_iter().map(|t| local(t, "America/New_York")).collect();
    assert_eq!(
        got,
        [
            "Sun 2026-03-08 01:45 EST",
            "Sun 2026-03-08 03:00 EDT",
            "Sun 2026-03-08 03:15 EDT",
            "Sun 2026-03-08 03:30 EDT"
        ]
    );
    // fall back: each wall-clock time once, so the repeated hour does not fire again
    let got: Vec<String> =
        fires(&s, utc("2026-11-01T05:30:00Z"), 4).into_iter().map(|t| local(t, "America/New_York")).collect();
    assert_eq!(
        got,
        [
            "Sun 2026-11-01 01:45 EDT",
            "Sun 2026-11-01 02:00 EST",
            "Sun 2026-11-01 02:15 EST",
            "Sun 2026-11-01 02:30 EST"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Intervals and once

#[test]
fn intervals_count_from_the_anchor() {
    let s = Schedule::parse(&json!({"type": "interval", "interval": {"minutes": 30}}), now()).unwrap();
    // aligned to the clock in Singapore
    assert_eq!(
        fires(&s, utc("2026-03-04T10:02:00+08:00"), 3),
        [utc("2026-03-04T10:30:00+08:00"), utc("2026-03-04T11:00:00+08:00"), utc("2026-03-04T11:30:00+08:00")]
    );
    assert_eq!(s.next_after(utc("2026-03-04T10:30:00+08:00")), Some(utc("2026-03-04T11:00:00+08:00")));
    let daily = Schedule::parse(&json!({"type": "interval", "interval": {"days": 1}}), now()).unwrap();
    assert_eq!(daily.next_after(utc("2026-03-04T10:02:00+08:00")), Some(utc("2026-03-05T00:00:00+08:00")));
    // a future anchor is the first fire
    let s = Schedule::parse(
        &json!({"type": "interval", "interval": {"hours": 6}, "anchor": "2026-04-01T09:00:00+08:00"}),
        now(),
    )
    .unwrap();
    assert_eq!(fires(&s, now(), 2), [utc("2026-04-01T09:00:00+08:00"), utc("2026-04-01T15:00:00+08:00")]);
}

#[test]
fn once_fires_once() {
    let at = utc("2026-12-01T09:00:00+08:00");
    let s = Schedule::parse(&json!({"type": "once", "at": "2026-12-01T09:00:00+08:00"}), now()).unwrap();
    assert_eq!(fires(&s, now(), 5), [at]);
    assert_eq!(s.next_after(at), None);
    let created = now();
    assert_eq!(s.due(None, created, at - TimeDelta::seconds(1)), Due { fire: None, skipped: 0, next: Some(at) });
    let first = s.due(None, created, at + TimeDelta::hours(3));
    assert_eq!(first, Due { fire: Some(at), skipped: 0, next: None });
    assert_eq!(s.due(Some(at), created, at + TimeDelta::hours(4)), Due { fire: None, skipped: 0, next: None });
}

// ---------------------------------------------------------------------------------------
// Missed occurrences

#[test]
fn missed_occurrences_collapse_into_one_fire_for_the_latest() {
    // daily 09:00; last fired Monday; the scheduler was down until Thursday 10:00
    let s = cron_in("0 9 * * *", "Asia/Singapore");
    let created = utc("2026-03-01T12:00:00+08:00");
    let monday = utc("2026-03-09T09:00:00+08:00");
    let due = s.due(Some(monday), created, utc("2026-03-12T10:00:00+08:00"));
    assert_eq!(
        due,
        Due { fire: Some(utc("2026-03-12T09:00:00+08:00")), skipped: 2, next: Some(utc("2026-03-13T09:00:00+08:00")) }
    );
    // nothing missed
    let due = s.due(Some(monday), created, utc("2026-03-09T18:00:00+08:00"));
    assert_eq!(due, Due { fire: None, skipped: 0, next: Some(utc("2026-03-10T09:00:00+08:00")) });
    // exactly one due: fire, nothing skipped
    let due = s.due(Some(monday), created, utc("2026-03-10T09:00:00+08:00"));
    assert_eq!(
        due,
        Due { fire: Some(utc("2026-03-10T09:00:00+08:00")), skipped: 0, next: Some(utc("2026-03-11T09:00:00+08:00")) }
    );
    // never fired: counted from `created` (not including it)
    let due = s.due(None, utc("2026-03-09T09:00:00+08:00"), utc("2026-03-09T09:30:00+08:00"));
    assert_eq!(due.fire, None);
    let due = s.due(None, created, utc("2026-03-03T09:00:00+08:00"));
    assert_eq!((due.fire, due.skipped), (Some(utc("2026-03-03T09:00:00+08:00")), 1));
    // a clock behind the last fire: nothing due, next is after the last fire
    let due = s.due(Some(monday), created, monday - TimeDelta::minutes(1));
    assert_eq!(due, Due { fire: None, skipped: 0, next: Some(utc("2026-03-10T09:00:00+08:00")) });
}

#[test]
fn missed_interval_occurrences() {
    let s = Schedule::parse(&json!({"type": "interval", "interval": {"hours": 1}}), now()).unwrap();
    let last = utc("2026-03-04T09:00:00+08:00");
    let due = s.due(Some(last), now(), utc("2026-03-04T12:30:00+08:00"));
    assert_eq!(
        due,
        Due { fire: Some(utc("2026-03-04T12:00:00+08:00")), skipped: 2, next: Some(utc("2026-03-04T13:00:00+08:00")) }
    );
    let due = s.due(Some(last), now(), utc("2026-03-04T09:59:59+08:00"));
    assert_eq!(due, Due { fire: None, skipped: 0, next: Some(utc("2026-03-04T10:00:00+08:00")) });
    // agrees with counting one by one
    let every_45 = Schedule::parse(&json!({"type": "interval", "interval": {"minutes": 45}}), now()).unwrap();
    let since = utc("2026-03-04T09:07:13Z");
    let until = utc("2026-03-06T17:40:00Z");
    let listed: Vec<_> = every_45.occurrences_after(since).take_while(|t| *t <= until).collect();
    let due = every_45.due(Some(since), now(), until);
    assert_eq!(due.fire, listed.last().copied());
    assert_eq!(due.skipped as usize, listed.len() - 1);
}

#[test]
fn a_long_outage_of_the_health_check_is_one_fire() {
    let s = builtin("*/5 * * * *");
    let last = utc("2026-01-01T00:00:00+08:00");
    let due = s.due(Some(last), last, utc("2026-02-01T00:02:00+08:00"));
    assert_eq!(due.fire, Some(utc("2026-02-01T00:00:00+08:00")));
    assert_eq!(due.skipped, 31 * 24 * 12 - 1);
    assert_eq!(due.next, Some(utc("2026-02-01T00:05:00+08:00")));
}

#[test]
fn the_fire_time_is_the_scheduled_instant_whenever_it_is_computed() {
    let value = json!({"type": "cron", "cron": "0 9 * * 1", "timezone": "Asia/Singapore"});
    let a = Schedule::parse(&value, now()).unwrap();
    let b = Schedule::parse_builtin(&a.to_json()).unwrap();
    let last = utc("2026-03-02T09:00:00+08:00");
    let expected = utc("2026-03-09T09:00:00+08:00");
    // different schedulers, different moments during the window: the same key
    for late in [0, 1, 59, 3600, 86_399] {
        let now = expected + TimeDelta::seconds(late);
        for s in [&a, &b] {
            let due = s.due(Some(last), last, now);
            assert_eq!(due.fire, Some(expected), "{late}s late");
            assert_eq!(due.skipped, 0);
        }
    }
    // once fired, the same occurrence is not due again
    assert_eq!(a.due(Some(expected), last, expected + TimeDelta::seconds(30)).fire, None);
}

// ---------------------------------------------------------------------------------------
// Canonical JSON and descriptions

#[test]
fn canonical_json() {
    let s = Schedule::parse(&json!({"type": "cron", "cron": "0  9 * * 1"}), now()).unwrap();
    assert_eq!(s.to_json(), json!({"type": "cron", "cron": "0 9 * * 1", "timezone": "Asia/Singapore"}));
    let s = Schedule::parse(&json!({"type": "interval", "interval": {"hours": 48}}), now()).unwrap();
    assert_eq!(s.to_json(), json!({"type": "interval", "interval": {"days": 2}, "anchor": "1999-12-31T16:00:00Z"}));
    let s = Schedule::parse(&json!({"type": "interval", "interval": {"minutes": 90}}), now()).unwrap();
    assert_eq!(s.to_json()["interval"], json!({"minutes": 90}));
    let s = Schedule::parse(&json!({"type": "once", "at": "2026-12-01T09:00:00+08:00"}), now()).unwrap();
    assert_eq!(s.to_json(), json!({"type": "once", "at": "2026-12-01T09:00:00+08:00"}));
}

#[test]
fn descriptions() {
    let cron = |expr: &str| builtin(expr).describe();
    assert_eq!(cron("0 9 * * 1"), "every Monday at 09:00 (Asia/Singapore)");
    assert_eq!(cron("0 17 * * 5"), "every Friday at 17:00 (Asia/Singapore)");
    assert_eq!(cron("0 10 * * 1-5"), "every weekday (Monday to Friday) at 10:00 (Asia/Singapore)");
    assert_eq!(cron("0 10 * * 0,6"), "every Sunday and Saturday at 10:00 (Asia/Singapore)");
    assert_eq!(cron("0 8 1 * *"), "on the 1st of every month at 08:00 (Asia/Singapore)");
    assert_eq!(cron("*/5 * * * *"), "every 5 minutes (Asia/Singapore)");
    assert_eq!(cron("30 * * * *"), "every hour at minute 30 (Asia/Singapore)");
    assert_eq!(cron("0 9,13,17 * * *"), "every day at 09:00, 13:00 and 17:00 (Asia/Singapore)");
    assert_eq!(cron("@daily"), "every day at 00:00 (Asia/Singapore)");
    assert_eq!(cron("0 9 1 1 *"), "cron \"0 9 1 1 *\" (Asia/Singapore)");
    assert_eq!(cron_in("30 2 * * *", "America/New_York").describe(), "every day at 02:30 (America/New_York)");
    let interval = |v: Value| Schedule::parse_builtin(&json!({"type": "interval", "interval": v})).unwrap().describe();
    assert_eq!(interval(json!({"minutes": 30})), "every 30 minutes");
    assert_eq!(interval(json!({"hours": 1})), "every hour");
    assert_eq!(interval(json!({"hours": 24})), "every day");
    assert_eq!(interval(json!({"days": 3})), "every 3 days");
    let once = Schedule::parse(&json!({"type": "once", "at": "2026-12-01T09:00:00+08:00"}), now()).unwrap();
    assert_eq!(once.describe(), "once at 2026-12-01 09:00 (+08:00)");
}

#[test]
fn a_hand_built_invalid_cron_never_fires() {
    let s = Schedule::Cron { expr: "not cron".into(), tz: chrono_tz::UTC };
    assert_eq!(s.next_after(now()), None);
    assert_eq!(s.due(None, now(), now() + TimeDelta::days(1)), Due { fire: None, skipped: 0, next: None });
}

/// `next_after` from any instant (stepping through DST-change days, including the repeated
/// hour) is the first fire of one continuous listing after it, and `due` agrees with the
/// listing too.
#[test]
fn next_after_and_due_agree_with_one_listing_across_dst_changes() {
    let cases = [
        ("America/New_York", "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z"),
        ("America/New_York", "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z"),
        ("Europe/London", "2027-03-27T00:00:00Z", "2027-03-30T00:00:00Z"),
        ("Europe/London", "2027-10-30T00:00:00Z", "2027-11-02T00:00:00Z"),
        ("Australia/Sydney", "2026-04-04T00:00:00Z", "2026-04-07T00:00:00Z"),
    ];
    let exprs = ["30 1 * * *", "0,30 1,2 * * *", "*/15 * * * *", "45 * * * *", "0 2 * * 0", "30 2 1,5 * 0"];
    for (zone, from, to) in cases {
        let (from, to) = (utc(from), utc(to));
        for expr in exprs {
            let s = Schedule::parse_builtin(&json!({"type": "cron", "cron": expr, "timezone": zone})).unwrap();
            let listing: Vec<_> =
                s.occurrences_after(from - TimeDelta::days(1)).take_while(|t| *t < to + TimeDelta::days(15)).collect();
            assert!(listing.windows(2).all(|w| w[0] < w[1]), "{zone} {expr}: {listing:?}");
            let mut x = from;
            while x < to {
                let expected = listing.iter().copied().find(|t| *t > x);
                assert_eq!(s.next_after(x), expected, "{zone} {expr} after {x}");
                let since = x - TimeDelta::hours(5);
                let missed: Vec<_> = listing.iter().copied().filter(|t| *t > since && *t <= x).collect();
                let due = s.due(Some(since), since, x);
                assert_eq!(due.fire, missed.last().copied(), "{zone} {expr} at {x}");
                assert_eq!(due.skipped as usize, missed.len().saturating_sub(1), "{zone} {expr} at {x}");
                assert_eq!(due.next, expected, "{zone} {expr} at {x}");
                x += TimeDelta::minutes(13) + TimeDelta::seconds(30);
            }
        }
    }
}
