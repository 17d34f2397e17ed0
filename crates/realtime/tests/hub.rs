//! The hub and the publisher against the real Redis: two hubs stand for two api processes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{REDIS_URL, eventually, prefix, redis};
use realtime::{Delivery, Event, Hub, HubOptions, Publisher, Registration, Revocation, Subscription};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

async fn hub(prefix: &str, options: HubOptions) -> Hub {
    let hub = Hub::start(REDIS_URL, prefix, options).unwrap();
    assert!(hub.wait_connected(WAIT).await, "hub did not subscribe");
    hub
}

async fn next(sub: &mut Subscription) -> Delivery {
    tokio::time::timeout(WAIT, sub.recv()).await.expect("no delivery in time").expect("subscription ended")
}

async fn next_event(sub: &mut Subscription) -> Event {
    match next(sub).await {
        Delivery::Event(e) => e,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn an_event_reaches_the_user_on_every_process_and_nobody_else() {
    let p = prefix();
    let (a, b) = (hub(&p, HubOptions::default()).await, hub(&p, HubOptions::default()).await);
    let publisher = Publisher::new(&redis(&p).await);
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let mut alice_a = a.register(alice);
    let mut alice_b = b.register(alice);
    let mut alice_b2 = b.register(alice);
    let mut bob_a = a.register(bob);
    assert_eq!((a.local_connections(), b.local_connections()), (2, 2));

    let event = Event::status("thinking");
    assert_eq!(publisher.publish_to_user(alice, &event).await.unwrap(), 2, "both hubs listen");
    assert_eq!(next_event(&mut alice_a).await, event);
    assert_eq!(next_event(&mut alice_b).await, event);
    assert_eq!(next_event(&mut alice_b2).await, event);

    // Bob got nothing: the next thing he gets is his own event.
    let mine = Event::text_delta("for bob");
    publisher.publish_to_user(bob, &mine).await.unwrap();
    assert_eq!(next_event(&mut bob_a).await, mine);
    assert!(bob_a.try_recv().is_none());
    assert!(alice_a.try_recv().is_none());

    // Another deployment's prefix never reaches these hubs.
    let other = Publisher::new(&redis(&prefix()).await);
    other.publish_to_user(alice, &Event::status("elsewhere")).await.unwrap();
    let last = Event::complete("done");
    publisher.publish_to_user(alice, &last).await.unwrap();
    assert_eq!(next_event(&mut alice_a).await, last);

    // Dropping a subscription unregisters it.
    drop(alice_b2);
    drop(bob_a);
    assert_eq!((a.local_connections(), b.local_connections()), (1, 1));
    assert_eq!(publisher.publish_to_user(bob, &mine).await.unwrap(), 2);
}

#[tokio::test]
async fn a_slow_connection_loses_its_own_events_only() {
    let p = prefix();
    let hub = hub(&p, HubOptions { per_connection_queue: 4, ..HubOptions::default() }).await;
    let other_hub_user = Uuid::new_v4();
    let publisher = Publisher::new(&redis(&p).await);
    let user = Uuid::new_v4();
    let slow = hub.register(user);
    let slow_other_user = hub.register(other_hub_user);
    let mut fast = hub.register_with(user, Registration { queue: Some(2048), ..Registration::default() });

    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < 1000 {
            match next(&mut fast).await {
                Delivery::Event(e) => got.push(e.get("n").and_then(|n| n.as_u64()).unwrap()),
                other => panic!("{other:?}"),
            }
        }
        (got, fast)
    });
    for n in 0..1000u64 {
        publisher.publish_to_user(user, &Event::new("tick").with("n", n)).await.unwrap();
    }
    let (got, fast) = tokio::time::timeout(Duration::from_secs(30), reader).await.unwrap().unwrap();
    assert_eq!(got, (0..1000).collect::<Vec<_>>(), "every event, in order");
    assert_eq!(fast.dropped(), 0);
    // The slow one kept the first 4 and lost the rest.
    assert!(eventually(WAIT, || async { slow.dropped() == 996 }).await, "dropped {}", slow.dropped());
    assert_eq!(hub.dropped_total(), 996);
    assert_eq!(slow_other_user.dropped(), 0);

    // The hub still delivers.
    let mut fresh = hub.register(user);
    publisher.publish_to_user(user, &Event::status("still here")).await.unwrap();
    assert_eq!(next_event(&mut fresh).await, Event::status("still here"));
    assert!(eventually(WAIT, || async { slow.dropped() == 997 }).await);
}

#[tokio::test]
async fn a_revocation_closes_the_sockets_at_once() {
    let p = prefix();
    let (a, b) = (
        hub(&p, HubOptions { per_connection_queue: 2, ..HubOptions::default() }).await,
        hub(&p, HubOptions::default()).await,
    );
    let publisher = Publisher::new(&redis(&p).await);
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let mut alice_a = a.register(alice);
    let mut alice_b = b.register(alice);
    let mut bob_a = a.register(bob);

    // Alice's queue on hub a is full: the revocation still comes first.
    for n in 0..5 {
        publisher.publish_to_user(alice, &Event::new("tick").with("n", n)).await.unwrap();
    }
    assert_eq!(next_event(&mut alice_b).await.get("n"), Some(&serde_json::json!(0)));
    assert!(eventually(WAIT, || async { alice_a.dropped() == 3 }).await);

    assert_eq!(publisher.publish_revocation(&Revocation::user(alice, "password changed")).await.unwrap(), 2);
    assert_eq!(next(&mut alice_a).await, Delivery::Revoked("password changed".into()));
    assert!(alice_a.is_revoked());
    assert_eq!(alice_a.recv().await, None, "nothing after the revocation");
    // On hub b the queued events come after the revocation too.
    assert_eq!(next(&mut alice_b).await, Delivery::Revoked("password changed".into()));
    assert_eq!(alice_b.recv().await, None);
    assert_eq!((a.local_connections(), b.local_connections()), (1, 0));

    // Bob is untouched.
    publisher.publish_to_user(bob, &Event::status("hi bob")).await.unwrap();
    assert_eq!(next_event(&mut bob_a).await, Event::status("hi bob"));
    assert!(!bob_a.is_revoked());
}

#[tokio::test]
async fn a_session_revocation_closes_only_that_session() {
    let p = prefix();
    let (a, b) = (hub(&p, HubOptions::default()).await, hub(&p, HubOptions::default()).await);
    let publisher = Publisher::new(&redis(&p).await);
    let user = Uuid::new_v4();
    let session = |s: &str| Registration { session: Some(s.into()), ..Registration::default() };
    let mut phone = a.register_with(user, session("fam-phone"));
    let mut laptop = b.register_with(user, session("fam-laptop"));
    let mut phone_b = b.register_with(user, session("fam-phone"));

    publisher.publish_revocation(&Revocation::session("fam-phone", "logged out")).await.unwrap();
    assert_eq!(next(&mut phone).await, Delivery::Revoked("logged out".into()));
    assert_eq!(next(&mut phone_b).await, Delivery::Revoked("logged out".into()));
    publisher.publish_to_user(user, &Event::status("still on laptop")).await.unwrap();
    assert_eq!(next_event(&mut laptop).await, Event::status("still on laptop"));
    assert!(!laptop.is_revoked());
    assert_eq!(phone.recv().await, None);

    // A session of another user with the same key is not this user's.
    let stranger = Uuid::new_v4();
    let mut other = a.register_with(stranger, session("fam-laptop"));
    let scoped = Revocation { user_id: Some(user), session: Some("fam-laptop".into()), reason: "scoped".into() };
    publisher.publish_revocation(&scoped).await.unwrap();
    assert_eq!(next(&mut laptop).await, Delivery::Revoked("scoped".into()));
    publisher.publish_to_user(stranger, &Event::status("ok")).await.unwrap();
    assert_eq!(next_event(&mut other).await, Event::status("ok"));
}

#[tokio::test]
async fn local_delivery_without_redis() {
    let p = prefix();
    let hub = hub(&p, HubOptions::default()).await;
    let user = Uuid::new_v4();
    let mut s1 = hub.register(user);
    let mut s2 = hub.register(user);
    assert_ne!(s1.id(), s2.id());
    assert_eq!(s1.user_id(), user);
    assert_eq!(hub.local_send(user, &Event::status("local")), 2);
    assert_eq!(hub.local_send(Uuid::new_v4(), &Event::status("nobody")), 0);
    assert_eq!(next_event(&mut s1).await, Event::status("local"));
    assert_eq!(next_event(&mut s2).await, Event::status("local"));
    assert_eq!(hub.local_revoke(&Revocation::user(user, "bye")), 2);
    assert_eq!(next(&mut s1).await, Delivery::Revoked("bye".into()));
    assert_eq!(hub.local_connections(), 0);
    // Dropping the hub ends the remaining subscriptions.
    let mut s3 = hub.register(user);
    drop(hub);
    assert_eq!(tokio::time::timeout(WAIT, s3.recv()).await.unwrap(), None);
    assert!(!s3.is_revoked());
}

#[tokio::test]
async fn malformed_messages_are_ignored() {
    let p = prefix();
    let hub = hub(&p, HubOptions::default()).await;
    let r = redis(&p).await;
    let user = Uuid::new_v4();
    let mut sub = hub.register(user);
    let channel = realtime::user_channel(&p, user);
    for junk in ["not json", r#"{"no_type": 1}"#, "[1,2]"] {
        let _: i64 = redis::cmd("PUBLISH").arg(&channel).arg(junk).query_async(&mut r.conn()).await.unwrap();
    }
    let _: i64 = redis::cmd("PUBLISH")
        .arg(realtime::revoke_channel(&p))
        .arg("{broken")
        .query_async(&mut r.conn())
        .await
        .unwrap();
    let _: i64 = redis::cmd("PUBLISH")
        .arg(format!("{p}rt:user:not-a-uuid"))
        .arg(Event::status("x").to_json())
        .query_async(&mut r.conn())
        .await
        .unwrap();
    Publisher::new(&r).publish_to_user(user, &Event::status("valid")).await.unwrap();
    assert_eq!(next_event(&mut sub).await, Event::status("valid"));
    assert!(hub.is_connected());
}

#[tokio::test]
async fn the_keepalive_ping_does_not_disturb_delivery() {
    let p = prefix();
    let hub = hub(&p, HubOptions { ping_interval: Duration::from_millis(50), ..HubOptions::default() }).await;
    let publisher = Publisher::new(&redis(&p).await);
    let user = Uuid::new_v4();
    let mut sub = hub.register(user);
    for n in 0..20 {
        publisher.publish_to_user(user, &Event::new("tick").with("n", n)).await.unwrap();
        assert_eq!(next_event(&mut sub).await.get("n"), Some(&serde_json::json!(n)));
        tokio::time::sleep(Duration::from_millis(15)).await; // let pings interleave
    }
    assert!(hub.is_connected());
}
