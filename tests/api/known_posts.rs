//! A feed that changed by one post: the posts the last successful fetch
//! listed are stored already, so they are neither checked nor saved again;
//! the new one is. A fetch state that lists nothing (written by an earlier
//! release) leaves the database to tell new posts from stored ones.

use crate::content::{feed, setup};
use crate::feed_server::{FeedServer, Reply};
use crate::helpers::{TestDb, at, test_dbs};
use xunjian::poll::Poller;
use xunjian::storage::Store;

async fn poll(db: &TestDb, now: &str) -> xunjian::poll::PollReport {
    let reports = Poller::new(&db.settings, db.store.clone())
        .expect("poller")
        .poll_accounts(&["a1".to_string()], at(now), &|_, _| {})
        .await
        .expect("poll");
    let report = reports.into_iter().next().expect("a1 is polled");
    assert!(!report.is_unsaved, "{report:?}");
    report
}

/// The wrong wordings found in a1's posts, sorted.
async fn found(db: &TestDb) -> Vec<String> {
    let mut words: Vec<String> = db
        .store
        .content_findings(false, None)
        .await
        .expect("findings")
        .into_iter()
        .filter(|f| f.account_id == "a1")
        .map(|f| f.matched)
        .collect();
    words.sort();
    words
}

async fn listed(db: &TestDb) -> Option<String> {
    let states = db.store.fetch_states_of(&["a1"]).await.expect("states");
    states.get("a1").and_then(|s| s.feed_keys.clone())
}

#[tokio::test]
async fn a_feed_that_changed_by_one_post_checks_and_stores_the_new_post_only() {
    let server = FeedServer::start().await;
    let (d1, d2, d3, d4) = (
        "Tue, 01 Dec 2026 10:00:00 +0800",
        "Wed, 02 Dec 2026 10:00:00 +0800",
        "Thu, 03 Dec 2026 10:00:00 +0800",
        "Fri, 04 Dec 2026 10:00:00 +0800",
    );
    for db in test_dbs("known_posts").await {
        for path in ["/a2", "/a3"] {
            server.set(path, Reply::ok(feed(&[])));
        }
        let mut items = vec![
            ("台湾总统讲话", "正文", d1, "https://a/1"),
            ("动态", "今日无事", d2, "https://a/2"),
        ];
        server.set("/a1", Reply::ok(feed(&items)));
        setup(&db, &server, "active", "2026-11-01T09:00:00+08:00").await;
        let first = poll(&db, "2026-12-04T10:00:00+08:00").await;
        assert_eq!((first.items, first.new_posts), (2, 2));
        assert_eq!(found(&db).await, ["台湾总统"]);
        // Both posts are listed: 16 hex digits of each key.
        assert_eq!(listed(&db).await.map(|l| l.len()), Some(32));

        // The platform edited the second post (now with a wrong wording)
        // and a third one came: only the third is new and checked.
        items[1].1 = "中华民国今日无事";
        items.push(("交流", "两岸三地交流", d3, "https://a/3"));
        server.set("/a1", Reply::ok(feed(&items)));
        let second = poll(&db, "2026-12-05T10:00:00+08:00").await;
        assert_eq!((second.items, second.new_posts), (3, 1));
        assert_eq!(found(&db).await, ["两岸三地", "台湾总统"]);
        assert_eq!(db.store.post_count("a1").await.expect("count"), 3);
        assert_eq!(listed(&db).await.map(|l| l.len()), Some(48));

        // A failed fetch keeps the list of the last successful one.
        server.set("/a1", Reply::status(500, ""));
        let failed = poll(&db, "2026-12-05T12:00:00+08:00").await;
        assert_eq!(failed.new_posts, 0);
        assert_eq!(listed(&db).await.map(|l| l.len()), Some(48));

        // A state that lists nothing: the database tells the stored posts
        // from the new one, which is checked and stored once.
        forget_lists(&db.store).await;
        items.push(("提醒", "截止目前已有三人", d4, "https://a/4"));
        server.set("/a1", Reply::ok(feed(&items)));
        let third = poll(&db, "2026-12-06T10:00:00+08:00").await;
        assert_eq!((third.items, third.new_posts), (4, 1));
        assert_eq!(found(&db).await, ["两岸三地", "台湾总统", "截止目前"]);
        assert_eq!(db.store.post_count("a1").await.expect("count"), 4);
        assert_eq!(listed(&db).await.map(|l| l.len()), Some(64));
        // Each finding names its own post, by row id too.
        let findings = db
            .store
            .content_findings(false, None)
            .await
            .expect("findings");
        for f in findings.iter().filter(|f| f.account_id == "a1") {
            let title = f.post_title.as_deref().unwrap_or_default();
            let expected = match f.matched.as_str() {
                "台湾总统" => "台湾总统讲话",
                "两岸三地" => "交流",
                _ => "提醒",
            };
            assert_eq!(title, expected, "{f:?}");
            assert_eq!(post_id(&db.store, &f.dedup_key).await, f.post_id, "{f:?}");
        }
        db.finish().await;
    }
}

async fn forget_lists(store: &Store) {
    const SQL: &str = "UPDATE fetch_state SET feed_keys = NULL";
    match store {
        Store::Sqlite(pool, _) => sqlx::query(SQL).execute(pool).await.map(drop),
        Store::Postgres(pool) => sqlx::query(SQL).execute(pool).await.map(drop),
    }
    .expect("statement runs");
}

async fn post_id(store: &Store, dedup_key: &str) -> i64 {
    const SQL: &str = "SELECT id FROM posts WHERE account_id = 'a1' AND dedup_key = $1";
    let (id,): (i64,) = match store {
        Store::Sqlite(pool, _) => sqlx::query_as(SQL).bind(dedup_key).fetch_one(pool).await,
        Store::Postgres(pool) => sqlx::query_as(SQL).bind(dedup_key).fetch_one(pool).await,
    }
    .expect("the post is stored");
    id
}
