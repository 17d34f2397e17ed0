//! Calendar events and free time against the fake.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use graph::{GraphClient, NewEvent, fake::FakeGraph};

const ORGANIZER: &str = "pm@contoso.com";

fn at(h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap().and_hms_opt(h, m, 0).unwrap()
}

async fn setup() -> (FakeGraph, GraphClient) {
    let fake = FakeGraph::start().await;
    let client = GraphClient::new(fake.config()).unwrap();
    (fake, client)
}

#[tokio::test]
async fn an_online_meeting_event_gets_a_join_url_and_reminder() {
    let (fake, client) = setup().await;
    let event = NewEvent {
        subject: "Quarterly review".into(),
        html: "<p>Agenda</p>".into(),
        start: at(10, 0),
        end: at(11, 0),
        time_zone: "Asia/Singapore".into(),
        attendees: vec!["a@contoso.com".into(), "b@contoso.com".into()],
        location: Some("Room 4".into()),
        online_meeting: true,
        reminder_minutes: Some(10),
    };
    let created = client.create_event(ORGANIZER, &event).await.unwrap();
    let recorded = &fake.events()[0];
    assert_eq!(created.id, recorded.id);
    assert!(created.join_url.as_deref().is_some_and(|u| u.starts_with("https://teams.microsoft.com/l/meetup-join/")));
    assert_eq!(created.join_url, recorded.join_url);
    assert!(created.web_link.is_some());
    assert!(recorded.is_online_meeting);
    assert_eq!(recorded.online_meeting_provider.as_deref(), Some("teamsForBusiness"));
    assert!(recorded.is_reminder_on);
    assert_eq!(recorded.reminder_minutes, Some(10));
    assert_eq!((recorded.start, recorded.end, recorded.time_zone.as_str()), (at(10, 0), at(11, 0), "Asia/Singapore"));
    assert_eq!(recorded.attendees, event.attendees);
    assert_eq!(recorded.location.as_deref(), Some("Room 4"));
    assert_eq!((recorded.body_content_type.as_str(), recorded.body.as_str()), ("HTML", "<p>Agenda</p>"));

    let plain = NewEvent { online_meeting: false, reminder_minutes: None, location: None, ..event };
    let created = client.create_event(ORGANIZER, &plain).await.unwrap();
    assert_eq!(created.join_url, None);
    let recorded = &fake.events()[1];
    assert!(!recorded.is_online_meeting && !recorded.is_reminder_on);
    assert_eq!(recorded.online_meeting_provider, None);
}

#[tokio::test]
async fn free_time_is_common_to_everyone() {
    let (fake, client) = setup().await;
    let alice = "alice@contoso.com";
    let bob = "bob@contoso.com";
    fake.add_busy(ORGANIZER, at(9, 0), at(10, 0));
    fake.add_busy(alice, at(11, 0), at(12, 0));
    fake.add_busy(bob, at(11, 30), at(12, 30)); // overlaps Alice
    fake.add_schedule_item(bob, at(14, 0), at(14, 30), "tentative"); // tentative blocks
    fake.add_schedule_item(alice, at(15, 0), at(16, 0), "free"); // free does not
    fake.add_schedule_item(alice, at(16, 30), at(18, 0), "oof"); // crosses the window's end
    fake.add_busy("carol@contoso.com", at(10, 0), at(17, 0)); // not invited

    let slots = client
        .find_free_time(ORGANIZER, &[alice.into(), bob.into()], at(8, 30), at(17, 0), TimeDelta::minutes(45), "UTC")
        .await
        .unwrap();
    assert_eq!(
        slots,
        vec![(at(10, 0), at(11, 0)), (at(12, 30), at(14, 0)), (at(14, 30), at(16, 30))],
        "08:30-09:00 is too short"
    );
    assert_eq!(fake.graph_calls("POST", "/calendar/getSchedule").len(), 1);
}
