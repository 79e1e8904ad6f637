//! Several daemons on one database: each queued message goes out once, a
//! retry resends only the parts that did not go out, a message past its
//! attempts is dead, one daemon at a time holds the bot; SQLite and PostgreSQL.

use crate::fake_telegram::FakeTelegram;
use crate::helpers::{TestDb, at, test_dbs};
use chrono::Duration;
use serde_json::json;
use std::collections::BTreeMap;
use xunjian::alerts::compose::Message;
use xunjian::config::{Secret, Settings};
use xunjian::notify::{MAX_ATTEMPTS, Notifier};

const NOW: &str = "2026-11-24T10:00:00+08:00";
const CHAT: i64 = -100;
const ADMIN: i64 = 111;

fn settings(db: &TestDb, telegram: &FakeTelegram) -> Settings {
    let mut settings = db.settings.clone();
    settings.telegram.token = Some(Secret::new("123456:TEST"));
    settings.telegram.api_url = Some(telegram.url.clone());
    settings.telegram.contacts_chat = Some(CHAT);
    settings.telegram.admins = vec![ADMIN];
    settings.telegram.is_throttled = false;
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_delivering_at_once_send_each_message_exactly_once() {
    for db in test_dbs("outbox_once").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        for i in 0..200 {
            db.store
                .enqueue(
                    &Message::plain(
                        &xunjian::domain::ChatTarget::new(
                            xunjian::domain::Channel::Telegram,
                            CHAT.to_string(),
                        ),
                        &format!("消息 {i}"),
                    ),
                    at(NOW),
                )
                .await
                .expect("enqueue");
        }
        let daemons: Vec<Notifier> = ["d1", "d2", "d3"]
            .iter()
            .map(|owner| {
                Notifier::new(&settings, db.store.clone())
                    .expect("notifier")
                    .with_owner(owner)
            })
            .collect();
        let passes = daemons.iter().map(|n| async move {
            let mut sent = 0;
            for _ in 0..5 {
                sent += n.deliver_pending(at(NOW)).await.expect("deliver").sent;
            }
            sent
        });
        let sent: usize = futures_util::future::join_all(passes)
            .await
            .into_iter()
            .sum();
        assert_eq!(sent, 200);
        let mut arrivals: BTreeMap<String, usize> = BTreeMap::new();
        for call in telegram.sends() {
            *arrivals
                .entry(call.params["text"].as_str().unwrap_or("").to_string())
                .or_default() += 1;
        }
        assert_eq!(arrivals.len(), 200, "every message arrived");
        assert!(
            arrivals.values().all(|n| *n == 1),
            "duplicates: {:?}",
            arrivals.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
        );
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_resends_only_the_parts_that_did_not_go_out() {
    for db in test_dbs("outbox_steps").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        // Three parts over Telegram's 4,096-character limit.
        let body: String = (0..3)
            .map(|part| format!("第{part}段\n{}\n", "政务新媒体检查".repeat(500)))
            .collect();
        db.store
            .enqueue(
                &Message::plain(
                    &xunjian::domain::ChatTarget::new(
                        xunjian::domain::Channel::Telegram,
                        CHAT.to_string(),
                    ),
                    &body,
                ),
                at(NOW),
            )
            .await
            .expect("enqueue");
        telegram.script_success(CHAT);
        telegram.script_error(CHAT, 400, "Bad Request: temporarily unavailable", json!({}));
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        let first = notifier.deliver_pending(at(NOW)).await.expect("deliver");
        assert_eq!((first.sent, first.retried), (0, 1), "{first:?}");
        let later = at(NOW) + Duration::hours(1);
        let second = notifier.deliver_pending(later).await.expect("deliver");
        assert_eq!(second.sent, 1, "{second:?}");
        let texts: Vec<String> = telegram
            .sends()
            .iter()
            .map(|c| c.params["text"].as_str().unwrap_or("").to_string())
            .collect();
        // Part 1 once, part 2 twice (failed, then sent), part 3 once.
        assert_eq!(texts.len(), 4, "{}", texts.len());
        assert_eq!(texts.iter().filter(|t| t.starts_with("第0段")).count(), 1);
        assert_eq!(texts[1], texts[2], "the failed part is the one resent");
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_past_its_attempts_is_dead_counted_and_reported_to_the_admins() {
    for db in test_dbs("outbox_dead").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        db.store
            .enqueue(
                &Message::plain(
                    &xunjian::domain::ChatTarget::new(
                        xunjian::domain::Channel::Telegram,
                        CHAT.to_string(),
                    ),
                    "告警",
                ),
                at(NOW),
            )
            .await
            .expect("enqueue");
        for _ in 0..MAX_ATTEMPTS {
            telegram.script_error(CHAT, 400, "Bad Request: temporarily unavailable", json!({}));
        }
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        let mut now = at(NOW);
        let mut dead = 0;
        for _ in 0..MAX_ATTEMPTS + 2 {
            dead += notifier.deliver_pending(now).await.expect("deliver").dead;
            now += Duration::hours(7);
        }
        assert_eq!(dead, 1);
        let counts = db.store.ops_counts(now).await.expect("counts");
        assert_eq!(
            (counts.outbox_dead, counts.outbox_pending),
            (1, 0),
            "{counts:?}"
        );
        let to_admin: Vec<String> = telegram
            .sends()
            .iter()
            .filter(|c| c.params["chat_id"] == ADMIN)
            .map(|c| c.params["text"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(to_admin.len(), 1, "{to_admin:?}");
        assert!(to_admin[0].contains("已放弃"), "{}", to_admin[0]);
        db.finish().await;
    }
}

#[tokio::test]
async fn one_daemon_at_a_time_holds_the_bot_lease_and_another_takes_over_when_it_dies() {
    for db in test_dbs("bot_lease").await {
        let store = &db.store;
        let ttl = Duration::seconds(40);
        let now = at(NOW);
        assert!(
            store
                .acquire_lease("telegram_bot", "d1", now, ttl)
                .await
                .expect("lease")
        );
        assert!(
            !store
                .acquire_lease("telegram_bot", "d2", now, ttl)
                .await
                .expect("lease")
        );
        // The holder renews; the other still waits.
        let renewed = now + Duration::seconds(15);
        assert!(
            store
                .acquire_lease("telegram_bot", "d1", renewed, ttl)
                .await
                .expect("lease")
        );
        assert!(
            !store
                .acquire_lease("telegram_bot", "d2", renewed + Duration::seconds(30), ttl)
                .await
                .expect("lease")
        );
        // d1 dies: after the lease, d2 takes over.
        let after = renewed + Duration::seconds(41);
        assert!(
            store
                .acquire_lease("telegram_bot", "d2", after, ttl)
                .await
                .expect("lease")
        );
        assert!(
            !store
                .acquire_lease("telegram_bot", "d1", after, ttl)
                .await
                .expect("lease")
        );
        // A clean stop gives it up at once.
        store
            .release_lease("telegram_bot", "d2")
            .await
            .expect("release");
        assert!(
            store
                .acquire_lease("telegram_bot", "d3", after, ttl)
                .await
                .expect("lease")
        );
        db.finish().await;
    }
}

async fn register_feeds(db: &TestDb, server: &crate::feed_server::FeedServer, count: usize) {
    let mut text =
        String::from("[[unit]]\nid = \"u1\"\nname = \"区政府办公室\"\nkind = \"department\"\n");
    for i in 0..count {
        let path = format!("/feed/{i}.xml");
        server.set(
            &path,
            crate::feed_server::Reply::ok(crate::feed_server::feed_fixture("weibo_rsshub.xml")),
        );
        text.push_str(&format!(
            "\n[[account]]\nid = \"a{i}\"\nunit = \"u1\"\nname = \"账号{i}\"\nplatform = \"weibo\"\nfeed = \"{}\"\n",
            server.url(&path)
        ));
    }
    crate::helpers::register_text(&db.store, &text, at(NOW)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_polling_one_database_fetch_each_due_account_once() {
    for db in test_dbs("poll_claims").await {
        let server = crate::feed_server::FeedServer::start().await;
        register_feeds(&db, &server, 30).await;
        let pollers: Vec<xunjian::poll::Poller> = (0..3)
            .map(|_| xunjian::poll::Poller::new(&db.settings, db.store.clone()).expect("poller"))
            .collect();
        let cycles = pollers.iter().map(|p| p.poll_due(at(NOW)));
        let polled: usize = futures_util::future::join_all(cycles)
            .await
            .into_iter()
            .map(|r| r.expect("cycle").len())
            .sum();
        assert_eq!(polled, 30, "the daemons split the due accounts");
        for i in 0..30 {
            assert_eq!(server.seen(&format!("/feed/{i}.xml")).len(), 1, "feed {i}");
        }
        // Nothing is due again until each account's interval has passed.
        let again = pollers[0]
            .poll_due(at(NOW) + Duration::minutes(30))
            .await
            .expect("cycle");
        assert!(again.is_empty(), "{again:?}");
        db.finish().await;
    }
}

#[tokio::test]
async fn a_daemon_that_dies_mid_cycle_gives_its_due_accounts_back_after_the_lease() {
    for db in test_dbs("poll_claim_lease").await {
        let server = crate::feed_server::FeedServer::start().await;
        register_feeds(&db, &server, 3).await;
        let lease = xunjian::poll::CLAIM_LEASE;
        let claimed = db
            .store
            .claim_due_accounts(at(NOW), lease)
            .await
            .expect("claim");
        assert_eq!(claimed, vec!["a0", "a1", "a2"]);
        // Its daemon dies without saving anything: the others wait out the lease…
        let soon = at(NOW) + Duration::minutes(1);
        assert!(
            db.store
                .claim_due_accounts(soon, lease)
                .await
                .expect("claim")
                .is_empty()
        );
        // … then take the accounts over.
        let later = at(NOW) + lease + Duration::seconds(1);
        assert_eq!(
            db.store
                .claim_due_accounts(later, lease)
                .await
                .expect("claim")
                .len(),
            3
        );
        // Placeholder rows of never-fetched accounts are not fetch states.
        assert!(db.store.fetch_states().await.expect("states").is_empty());
        db.finish().await;
    }
}

#[tokio::test]
async fn concurrent_writers_never_lose_failure_and_gone_counts() {
    use xunjian::fetch::{FetchState, Outcome};
    for db in test_dbs("fetch_counters").await {
        let server = crate::feed_server::FeedServer::start().await;
        register_feeds(&db, &server, 1).await;
        // Two daemons both read the account before either saved: same snapshot.
        let snapshot = FetchState {
            account_id: "a0".into(),
            ..FetchState::default()
        };
        for minutes in [0, 1] {
            let now = at(NOW) + Duration::minutes(minutes);
            let next = snapshot.after(Outcome::Gone, now);
            db.store.record_fetch(&next, &[], now).await.expect("save");
        }
        let states = db.store.fetch_states().await.expect("states");
        let state = &states["a0"];
        assert_eq!(state.consecutive_failures, 2, "{state:?}");
        assert_eq!(state.gone_streak, 2, "{state:?}");
        assert_eq!(
            state.gone_since,
            Some(at(NOW)),
            "the first gone answer is kept"
        );
        // A success resets both.
        let ok = state.after(Outcome::Ok, at(NOW) + Duration::hours(1));
        db.store
            .record_fetch(&ok, &[], at(NOW) + Duration::hours(1))
            .await
            .expect("save");
        let state = &db.store.fetch_states().await.expect("states")["a0"];
        assert_eq!(
            (
                state.consecutive_failures,
                state.gone_streak,
                state.gone_since
            ),
            (0, 0, None)
        );
        assert_eq!(state.last_success_at, Some(at(NOW) + Duration::hours(1)));
        db.finish().await;
    }
}

#[tokio::test]
async fn an_account_named_twice_is_polled_once() {
    for db in test_dbs("poll_twice").await {
        let server = crate::feed_server::FeedServer::start().await;
        register_feeds(&db, &server, 1).await;
        let poller = xunjian::poll::Poller::new(&db.settings, db.store.clone()).expect("poller");
        let ids = vec!["a0".to_string(), "a0".to_string()];
        let reports = poller
            .poll_accounts(&ids, at(NOW), &|_, _| {})
            .await
            .expect("poll");
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(server.seen("/feed/0.xml").len(), 1);
        db.finish().await;
    }
}

/// A cycle reads its accounts a chunk at a time (2,000): one that spans
/// chunks polls every account once, skips ids no longer registered, and its
/// progress ends at its total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_larger_than_a_chunk_polls_every_account_once() {
    for db in test_dbs("poll_chunks").await {
        let server = crate::feed_server::FeedServer::start().await;
        register_feeds(&db, &server, 2_050).await;
        let poller = xunjian::poll::Poller::new(&db.settings, db.store.clone()).expect("poller");
        // Unknown ids on both sides of the chunk boundary.
        let mut ids: Vec<String> = (0..2_050).map(|i| format!("a{i}")).collect();
        ids.insert(1_999, "gone-1".to_string());
        ids.push("gone-2".to_string());
        let last = std::sync::Mutex::new((0, 0));
        let reports = poller
            .poll_accounts(&ids, at(NOW), &|done, total| {
                if let Ok(mut last) = last.lock() {
                    assert!(done >= last.0, "progress goes forward");
                    *last = (done, total);
                }
            })
            .await
            .expect("poll");
        assert_eq!(reports.len(), 2_050);
        assert!(
            reports.iter().all(|r| r.new_posts > 0),
            "every account saved"
        );
        let mut polled: Vec<&str> = reports.iter().map(|r| r.account_id.as_str()).collect();
        polled.dedup();
        assert_eq!(polled.len(), 2_050, "each account once");
        assert!(!polled.contains(&"gone-1") && !polled.contains(&"gone-2"));
        assert_eq!(
            *last.lock().expect("progress"),
            (2_052, 2_052),
            "the unknown ids count as done"
        );
        assert_eq!(server.seen("/feed/2049.xml").len(), 1);
        db.finish().await;
    }
}
