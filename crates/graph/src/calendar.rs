//! Calendar: events (optionally Teams meetings) and common free time from `getSchedule`.

use chrono::{NaiveDateTime, TimeDelta};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{GraphClient, GraphError, client::Call, mail::recipients, slots::free_slots};

/// Graph's `dateTimeTimeZone` format (local time, no offset).
const DATE_TIME: &str = "%Y-%m-%dT%H:%M:%S";
/// The `availabilityViewInterval` asked of `getSchedule`, in minutes.
const AVAILABILITY_INTERVAL_MINUTES: u32 = 15;

/// An event to create. `start` and `end` are wall-clock times in `time_zone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub subject: String,
    /// The HTML body.
    pub html: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// A Windows (`Pacific Standard Time`) or IANA (`Asia/Singapore`) name, or `UTC`.
    pub time_zone: String,
    /// Required attendees' SMTP addresses.
    pub attendees: Vec<String>,
    /// The location's display name.
    pub location: Option<String>,
    /// Make it a Teams meeting (`isOnlineMeeting`, `onlineMeetingProvider: teamsForBusiness`).
    pub online_meeting: bool,
    /// `Some(n)`: remind `n` minutes before the start; `None`: no reminder.
    pub reminder_minutes: Option<u32>,
}

/// What Graph answered for a created event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedEvent {
    pub id: String,
    /// The event in Outlook on the web.
    pub web_link: Option<String>,
    /// The Teams join URL, for online meetings.
    pub join_url: Option<String>,
}

/// A calendar entry's free/busy status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeBusyStatus {
    Free,
    Tentative,
    Busy,
    Oof,
    WorkingElsewhere,
    /// Anything else Graph may send (`unknown`); counted as busy.
    Unknown,
}

impl FreeBusyStatus {
    fn parse(s: &str) -> Self {
        match s {
            "free" => Self::Free,
            "tentative" => Self::Tentative,
            "busy" => Self::Busy,
            "oof" => Self::Oof,
            "workingElsewhere" => Self::WorkingElsewhere,
            _ => Self::Unknown,
        }
    }

    /// Everything but `free` blocks a slot.
    pub fn is_busy(self) -> bool {
        self != Self::Free
    }
}

/// One entry of a schedule, in the time zone that was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleItem {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub status: FreeBusyStatus,
}

/// One person's (or room's) schedule from `getSchedule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The address that was asked about.
    pub schedule_id: String,
    pub items: Vec<ScheduleItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEvent {
    id: String,
    web_link: Option<String>,
    online_meeting: Option<WireOnlineMeetingInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOnlineMeetingInfo {
    join_url: Option<String>,
}

#[derive(Deserialize)]
struct WireSchedules {
    value: Vec<WireSchedule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSchedule {
    schedule_id: String,
    #[serde(default)]
    schedule_items: Vec<WireScheduleItem>,
    error: Option<WireScheduleError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireScheduleError {
    message: Option<String>,
    response_code: Option<String>,
}

#[derive(Deserialize)]
struct WireScheduleItem {
    status: String,
    start: WireDateTime,
    end: WireDateTime,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDateTime {
    date_time: String,
    time_zone: Option<String>,
}

fn date_time_time_zone(t: NaiveDateTime, tz: &str) -> Value {
    json!({"dateTime": t.format(DATE_TIME).to_string(), "timeZone": tz})
}

/// Graph's `2026-03-02T10:00:00.0000000` (seven fractional digits) or without a fraction.
fn parse_date_time(s: &str) -> Result<NaiveDateTime, GraphError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|e| GraphError::Decode(format!("bad dateTime {s:?}: {e}")))
}

pub(crate) fn event_json(ev: &NewEvent) -> Value {
    let mut v = json!({
        "subject": ev.subject,
        "body": {"contentType": "HTML", "content": ev.html},
        "start": date_time_time_zone(ev.start, &ev.time_zone),
        "end": date_time_time_zone(ev.end, &ev.time_zone),
        "attendees": ev.attendees.iter().map(|a| {
            let mut r = recipients(std::slice::from_ref(a))[0].clone();
            r["type"] = json!("required");
            r
        }).collect::<Vec<_>>(),
        "isOnlineMeeting": ev.online_meeting,
        "isReminderOn": ev.reminder_minutes.is_some(),
    });
    if let Some(location) = &ev.location {
        v["location"] = json!({"displayName": location});
    }
    if ev.online_meeting {
        v["onlineMeetingProvider"] = json!("teamsForBusiness");
    }
    if let Some(minutes) = ev.reminder_minutes {
        v["reminderMinutesBeforeStart"] = json!(minutes);
    }
    v
}

impl GraphClient {
    /// Creates an event in `user`'s default calendar (invitations go to the attendees);
    /// `POST /users/{user}/events`.
    pub async fn create_event(&self, user: &str, event: &NewEvent) -> Result<CreatedEvent, GraphError> {
        if event.end <= event.start {
            return Err(GraphError::Decode("the event must end after it starts".into()));
        }
        let call = Call::post_json(self.url(&["users", user, "events"]), &event_json(event))?;
        let created: WireEvent = self.send_json(&call).await?;
        Ok(CreatedEvent {
            id: created.id,
            web_link: created.web_link,
            join_url: created.online_meeting.and_then(|m| m.join_url),
        })
    }

    /// Free/busy of `schedules` (addresses) between `start` and `end` in `time_zone`, as seen
    /// by `user`; `POST /users/{user}/calendar/getSchedule` (with `Prefer: outlook.timezone`).
    /// A schedule Graph could not read (unknown address, no permission) is an error:
    /// `Api { status: 400, code: <its responseCode>, .. }`.
    pub async fn get_schedule(
        &self,
        user: &str,
        schedules: &[String],
        start: NaiveDateTime,
        end: NaiveDateTime,
        time_zone: &str,
    ) -> Result<Vec<Schedule>, GraphError> {
        let body = json!({
            "schedules": schedules,
            "startTime": date_time_time_zone(start, time_zone),
            "endTime": date_time_time_zone(end, time_zone),
            "availabilityViewInterval": AVAILABILITY_INTERVAL_MINUTES,
        });
        let call = Call::post_json(self.url(&["users", user, "calendar", "getSchedule"]), &body)?
            .header("prefer", format!("outlook.timezone=\"{time_zone}\""));
        let wire: WireSchedules = self.send_json(&call).await?;
        wire.value
            .into_iter()
            .map(|s| {
                if let Some(err) = s.error {
                    return Err(GraphError::Api {
                        status: 400,
                        code: err.response_code.unwrap_or_else(|| "scheduleError".into()),
                        message: format!("{}: {}", s.schedule_id, err.message.unwrap_or_default()),
                        request_id: None,
                    });
                }
                let items = s
                    .schedule_items
                    .into_iter()
                    .map(|i| {
                        for tz in [&i.start.time_zone, &i.end.time_zone].into_iter().flatten() {
                            if !tz.eq_ignore_ascii_case(time_zone) {
                                tracing::warn!(asked = time_zone, got = %tz, "getSchedule answered in another time zone");
                            }
                        }
                        Ok(ScheduleItem {
                            start: parse_date_time(&i.start.date_time)?,
                            end: parse_date_time(&i.end.date_time)?,
                            status: FreeBusyStatus::parse(&i.status),
                        })
                    })
                    .collect::<Result<_, GraphError>>()?;
                Ok(Schedule { schedule_id: s.schedule_id, items })
            })
            .collect()
    }

    /// The slots of at least `duration` between `window_start` and `window_end` (wall-clock
    /// times in `time_zone`) when `user` and every attendee are free, as maximal intervals in
    /// order. Everything but `free` (busy, tentative, oof, workingElsewhere) blocks time.
    pub async fn find_free_time(
        &self,
        user: &str,
        attendees: &[String],
        window_start: NaiveDateTime,
        window_end: NaiveDateTime,
        duration: TimeDelta,
        time_zone: &str,
    ) -> Result<Vec<(NaiveDateTime, NaiveDateTime)>, GraphError> {
        if window_end <= window_start {
            return Ok(Vec::new());
        }
        let mut people = vec![user.to_string()];
        for a in attendees {
            if !people.iter().any(|p| p.eq_ignore_ascii_case(a)) {
                people.push(a.clone());
            }
        }
        let schedules = self.get_schedule(user, &people, window_start, window_end, time_zone).await?;
        let busy: Vec<(NaiveDateTime, NaiveDateTime)> =
            schedules.iter().flat_map(|s| &s.items).filter(|i| i.status.is_busy()).map(|i| (i.start, i.end)).collect();
        Ok(free_slots(window_start, window_end, &busy, duration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_json_shape() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        let ev = NewEvent {
            subject: "Review".into(),
            html: "<p>hi</p>".into(),
            start: t("2026-03-02 10:00"),
            end: t("2026-03-02 10:30"),
            time_zone: "Asia/Singapore".into(),
            attendees: vec!["a@x.com".into()],
            location: None,
            online_meeting: false,
            reminder_minutes: None,
        };
        let v = event_json(&ev);
        assert_eq!(v["start"], json!({"dateTime": "2026-03-02T10:00:00", "timeZone": "Asia/Singapore"}));
        assert_eq!(v["attendees"][0], json!({"emailAddress": {"address": "a@x.com"}, "type": "required"}));
        assert_eq!(v["isReminderOn"], json!(false));
        assert!(v.get("onlineMeetingProvider").is_none() && v.get("location").is_none());
    }

    #[test]
    fn graph_date_times_parse() {
        let a = parse_date_time("2026-03-02T10:00:00.0000000").unwrap();
        let b = parse_date_time("2026-03-02T10:00:00").unwrap();
        assert_eq!(a, b);
        assert!(parse_date_time("10:00").is_err());
    }
}
