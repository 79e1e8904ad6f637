//! Storage faults: the daemon's writes fail while the disk is full, are
//! counted as failures, and work again by themselves once there is room.

use crate::feed_server::{FeedServer, Reply};
use crate::helpers::at;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use std::str::FromStr;
use xunjian::config::Settings;
use xunjian::poll::Poller;
use xunjian::registry::diff::plan;
use xunjian::registry::load::{Context, parse};
use xunjian::storage::Store;

const NOW: &str = "2026-11-23T09:00:00+08:00";

fn big_feed(name: &str) -> String {
    let items: String = (0..200)
        .map(|i| {
            format!(
                "<item><title>{name} 第{i}条 关于做好冬季安全生产工作的通知</title>\
                 <link>https://example.gov.cn/{name}/{i}</link><guid>{name}-{i}</guid>\
                 <pubDate>Mon, 16 Nov 2026 08:00:00 +0800</pubDate>\
                 <description>{}</description></item>",
                "正文".repeat(50)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{name}</title>{items}</channel></rss>"
    )
}

#[tokio::test]
async fn after_disk_full_the_store_recovers_by_itself_and_the_failures_are_counted() {
    let server = FeedServer::start().await;
    // Enough items that storing them needs new pages.
    server.set("/a.xml", Reply::ok(big_feed("a")));
    server.set("/b.xml", Reply::ok(big_feed("b")));
    let dir = tempfile::tempdir().expect("temp dir");
    // A small disk of its own: a tmpfs of 4 MB (needs root, as in CI).
    let Some(disk) = SmallDisk::mount(dir.path()) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but a tmpfs cannot be mounted: the disk-full test must run"
        );
        eprintln!("cannot mount a tmpfs (not root?): the disk-full test is skipped");
        return;
    };
    let url = format!("sqlite://{}", disk.path.join("full.db").display());
    let options = SqliteConnectOptions::from_str(&url)
        .expect("url")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    // One connection, so a poisoned connection would be the one reused.
    let store = Store::connect_sqlite(options, 1).await.expect("connect");
    store.migrate().await.expect("migrate");
    let settings =
        Settings::parse("test", &format!("[database]\nurl = \"{url}\"\n")).expect("settings");
    let text = format!(
        "[[unit]]\nid = \"u1\"\nname = \"区政府办公室\"\nkind = \"department\"\n\n\
         [[account]]\nid = \"a\"\nunit = \"u1\"\nname = \"甲\"\nplatform = \"weibo\"\nfeed = \"{}\"\n\n\
         [[account]]\nid = \"b\"\nunit = \"u1\"\nname = \"乙\"\nplatform = \"weibo\"\nfeed = \"{}\"\n",
        server.url("/a.xml"),
        server.url("/b.xml")
    );
    let wanted = parse("test", &text, &Context { proxies: &[] }).expect("register");
    let current = store.load_register().await.expect("load");
    store
        .apply_plan(&plan(&current, &wanted, true), "test", "cli", at(NOW))
        .await
        .expect("apply");
    // The disk fills up: "database or disk is full" on the next writes.
    let filler = disk.path.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }

    let poller = Poller::new(&settings, store.clone()).expect("poller");
    let ids = vec!["a".to_string(), "b".to_string()];
    let full = poller
        .poll_accounts(&ids, at(NOW), &|_, _| {})
        .await
        .expect("the cycle itself runs");
    assert!(full.iter().all(|r| r.is_unsaved), "{full:#?}");
    assert!(
        full.iter()
            .all(|r| r.message.as_deref().is_some_and(|m| m.contains("full"))),
        "{full:#?}"
    );

    // Room again: the very next writes succeed, without a restart.
    std::fs::remove_file(&filler).expect("make room");
    let later = poller
        .poll_accounts(&ids, at(NOW), &|_, _| {})
        .await
        .expect("poll");
    assert!(later.iter().all(|r| !r.is_unsaved), "{later:#?}");
    assert!(later.iter().all(|r| r.new_posts > 0), "{later:#?}");
    assert!(store.post_count("a").await.expect("count") > 0);
    store.close().await;
    drop(disk);
}

/// One account whose rows the database refuses fails its batch; each
/// account is then saved alone, so the others keep their posts and only that
/// one is left unsaved (tried again next cycle), on both backends.
#[tokio::test]
async fn a_refused_account_costs_its_batch_nothing_but_itself() {
    let server = FeedServer::start().await;
    for name in ["a", "b", "bad", "c"] {
        server.set(&format!("/{name}.xml"), Reply::ok(big_feed(name)));
    }
    for db in crate::helpers::test_dbs("refused_account").await {
        let mut text =
            "[[unit]]\nid = \"u1\"\nname = \"区政府办公室\"\nkind = \"department\"\n".to_string();
        for name in ["a", "b", "bad", "c"] {
            text.push_str(&format!(
                "\n[[account]]\nid = \"{name}\"\nunit = \"u1\"\nname = \"{name}\"\nplatform = \"weibo\"\nfeed = \"{}\"\n",
                server.url(&format!("/{name}.xml"))
            ));
        }
        crate::helpers::register_text(&db.store, &text, at(NOW)).await;
        let statements: &[&str] = match &db.store {
            Store::Sqlite(..) => &["CREATE TRIGGER refuse_bad BEFORE INSERT ON posts \
                 WHEN NEW.account_id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
            Store::Postgres(_) => &[
                "CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.account_id = 'bad' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
                 RETURN NEW; END $$",
                "CREATE TRIGGER refuse_bad BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION refuse_bad()",
            ],
        };
        for sql in statements {
            match &db.store {
                Store::Sqlite(pool, _) => sqlx::raw_sql(*sql).execute(pool).await.map(drop),
                Store::Postgres(pool) => sqlx::raw_sql(*sql).execute(pool).await.map(drop),
            }
            .expect("the trigger is made");
        }
        let poller = Poller::new(&db.settings, db.store.clone()).expect("poller");
        let ids: Vec<String> = ["a", "b", "bad", "c"].map(String::from).to_vec();
        let reports = poller
            .poll_accounts(&ids, at(NOW), &|_, _| {})
            .await
            .expect("the cycle runs");
        assert_eq!(reports.len(), 4, "{reports:#?}");
        for report in &reports {
            if report.account_id == "bad" {
                assert!(report.is_unsaved, "{report:#?}");
                assert!(
                    report.message.as_deref().is_some_and(
                        |m| m.contains("抓取结果未能保存") && m.contains("refused by the test")
                    ),
                    "{report:#?}"
                );
                assert_eq!(db.store.post_count("bad").await.expect("count"), 0);
            } else {
                assert!(!report.is_unsaved, "{report:#?}");
                assert_eq!(report.new_posts, 200, "{report:#?}");
                assert_eq!(
                    db.store
                        .post_count(&report.account_id)
                        .await
                        .expect("count"),
                    200
                );
            }
        }
        db.finish().await;
    }
}

/// A tmpfs mounted on a directory, unmounted on drop.
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(dir: &std::path::Path) -> Option<SmallDisk> {
        let path = dir.join("disk");
        std::fs::create_dir_all(&path).ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(SmallDisk { path })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}
