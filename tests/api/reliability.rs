//! No chat can silence the bot, and every message goes out once: a flood
//! from one stranger through the fake Bot API, three notifiers draining a
//! slow channel, hostile names through every report format, a reply
//! Telegram would refuse as too long.

use crate::fake_telegram::FakeTelegram;
use crate::helpers::{TestDb, at, shipped_register, test_dbs};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use xunjian::alerts::compose::Message;
use xunjian::app::App;
use xunjian::config::{Secret, Settings};
use xunjian::notify::Notifier;

const NOW: &str = "2026-11-24T10:00:00+08:00";
const ADMIN: i64 = 111;
const FLOODER: i64 = 666;
const STRANGER: i64 = 333;

fn settings(db: &TestDb, telegram: &FakeTelegram) -> Settings {
    let mut settings = db.settings.clone();
    settings.telegram.token = Some(Secret::new("123456:TEST"));
    settings.telegram.api_url = Some(telegram.url.clone());
    settings.telegram.admins = vec![ADMIN];
    settings.telegram.is_throttled = false;
    settings
}

async fn start_bot(
    db: &TestDb,
    settings: &Settings,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let app = App::open(settings.clone(), shipped_register())
        .await
        .expect("app");
    app.import(false, false, at(NOW)).await.expect("import");
    crate::helpers::spawn_bot(&db.store, settings)
}

fn replies_to(telegram: &FakeTelegram, chat: i64) -> Vec<String> {
    telegram
        .sends()
        .iter()
        .filter(|c| c.params["chat_id"] == chat)
        .map(|c| c.params["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Waits (up to `limit`) until `chat` got a reply; returns how long it took.
async fn first_reply(telegram: &FakeTelegram, chat: i64, limit: Duration) -> Duration {
    let started = tokio::time::Instant::now();
    while replies_to(telegram, chat).is_empty() {
        assert!(
            started.elapsed() < limit,
            "chat {chat} got no reply within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn a_flooding_stranger_holds_up_neither_the_admin_nor_another_stranger() {
    for db in test_dbs("flood").await {
        let telegram = FakeTelegram::start().await;
        let mut settings = settings(&db, &telegram);
        // Telegram's real pacing: one message a second to a private chat.
        settings.telegram.is_throttled = true;
        settings.commands.per_user_per_minute = 10;
        let (shutdown, running) = start_bot(&db, &settings).await;
        for _ in 0..300 {
            telegram.push_message(FLOODER, "刷屏者", "/list");
        }
        telegram.push_message(ADMIN, "管理员", "/whoami");
        telegram.push_message(STRANGER, "访客", "/start");
        // Both answered within seconds, although the flooder came first.
        first_reply(&telegram, ADMIN, Duration::from_secs(10)).await;
        first_reply(&telegram, STRANGER, Duration::from_secs(10)).await;
        assert!(replies_to(&telegram, ADMIN)[0].contains("身份：管理员"));
        assert!(replies_to(&telegram, STRANGER)[0].contains("/bind"));
        // The flooder's budget: 10 answers and one notice, the rest dropped.
        // (Their replies drain at Telegram's pace; the getUpdates queue is empty.)
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        while replies_to(&telegram, FLOODER).len() < 11 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the flooder's budget did not drain"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let flooder = replies_to(&telegram, FLOODER);
        assert_eq!(flooder.len(), 11, "{flooder:#?}");
        assert_eq!(
            flooder
                .iter()
                .filter(|r| r.contains("消息发送过于频繁"))
                .count(),
            1,
            "one notice: {flooder:#?}"
        );
        // Long polling went on through the flood: a later command is answered.
        telegram.push_message(ADMIN, "管理员", "/help");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while replies_to(&telegram, ADMIN).len() < 2 {
            assert!(tokio::time::Instant::now() < deadline, "getUpdates stopped");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shutdown.cancel();
        running
            .await
            .expect("the bot task")
            .expect("the bot stops cleanly on shutdown");
        db.finish().await;
    }
}

#[tokio::test]
async fn a_command_of_2040_emoji_gets_an_answer_telegram_accepts() {
    for db in test_dbs("emoji_reply").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        let (shutdown, running) = start_bot(&db, &settings).await;
        let emoji = "😀".repeat(2_040);
        telegram.push_message(STRANGER, "访客", &format!("/bind {emoji}"));
        telegram.push_message(ADMIN, "管理员", &format!("/status {emoji}"));
        first_reply(&telegram, STRANGER, Duration::from_secs(10)).await;
        first_reply(&telegram, ADMIN, Duration::from_secs(10)).await;
        shutdown.cancel();
        running
            .await
            .expect("the bot task")
            .expect("the bot stops cleanly on shutdown");
        for chat in [STRANGER, ADMIN] {
            let replies = replies_to(&telegram, chat);
            assert_eq!(replies.len(), 1, "{replies:#?}");
            let units = replies[0].encode_utf16().count();
            assert!(units <= 4096, "{units} UTF-16 units");
            assert!(replies[0].contains("未找到"), "{}", replies[0]);
            assert!(replies[0].contains('…'), "the echo is shortened");
        }
        db.finish().await;
    }
}

#[tokio::test]
async fn three_daemons_drain_a_slow_channel_with_nothing_sent_twice_or_lost() {
    for db in test_dbs("slow_channel").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        // Each send takes a quarter of the claim lease: a daemon holding
        // ten claims at once outlives them unless it renews.
        telegram.hold_sends(Some(Duration::from_millis(250)));
        let count = 90;
        for i in 0..count {
            let message = Message::plain(
                &xunjian::domain::ChatTarget::new(xunjian::domain::Channel::Telegram, "-100"),
                &format!("消息 {i:03}"),
            );
            db.store.enqueue(&message, at(NOW)).await.expect("enqueue");
        }
        let notifiers: Vec<Arc<Notifier>> = (0..3)
            .map(|i| {
                Arc::new(
                    Notifier::new(&settings, db.store.clone())
                        .expect("notifier")
                        .with_owner(&format!("daemon-{i}"))
                        .with_claim_lease(chrono::Duration::seconds(1)),
                )
            })
            .collect();
        let passes: Vec<_> = notifiers
            .iter()
            .map(|notifier| {
                let notifier = notifier.clone();
                tokio::spawn(async move {
                    let mut sent = 0;
                    let mut lost = 0;
                    for _ in 0..20 {
                        let now = chrono::Utc::now().max(at(NOW));
                        let report = notifier.deliver_pending(now).await.expect("deliver");
                        sent += report.sent;
                        lost += report.lost;
                        if report.sent == 0 && report.lost == 0 {
                            break;
                        }
                    }
                    (sent, lost)
                })
            })
            .collect();
        let mut sent_by = Vec::new();
        for pass in passes {
            sent_by.push(pass.await.expect("a delivery pass"));
        }
        let mut arrivals: BTreeMap<String, usize> = BTreeMap::new();
        for call in telegram.sends() {
            let text = call.params["text"].as_str().unwrap_or_default().to_string();
            *arrivals.entry(text).or_default() += 1;
        }
        let twice: Vec<_> = arrivals.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "sent twice: {twice:?} ({sent_by:?})");
        assert_eq!(arrivals.len(), count, "every message arrived ({sent_by:?})");
        assert_eq!(
            sent_by.iter().map(|(sent, _)| sent).sum::<usize>(),
            count,
            "each marked sent once: {sent_by:?}"
        );
        assert!(
            sent_by.iter().filter(|(sent, _)| *sent > 0).count() >= 2,
            "the work was shared: {sent_by:?}"
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn a_daemon_that_lost_its_claim_neither_sends_nor_marks_the_message() {
    for db in test_dbs("lost_claim").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        let message = Message::plain(
            &xunjian::domain::ChatTarget::new(xunjian::domain::Channel::Telegram, "-100"),
            "只发一次",
        );
        db.store.enqueue(&message, at(NOW)).await.expect("enqueue");
        let lease = chrono::Duration::seconds(60);
        let claimed = db
            .store
            .claim_messages("a", at(NOW), lease, 10)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        let id = claimed[0].id;
        // A's lease ran out; B's daemon takes the message over and sends it.
        let later = at(NOW) + chrono::Duration::seconds(61);
        let b = Notifier::new(&settings, db.store.clone())
            .expect("notifier")
            .with_owner("b");
        let report = b.deliver_pending(later).await.expect("deliver");
        assert_eq!(report.sent, 1);
        // A, running late, can neither renew, record a step nor mark it sent.
        assert!(
            !db.store
                .renew_claim(id, "a", later, lease)
                .await
                .expect("renew")
        );
        assert!(!db.store.mark_steps_done(id, "a", 1).await.expect("steps"));
        assert!(!db.store.mark_sent(id, "a", later).await.expect("sent"));
        let a = Notifier::new(&settings, db.store.clone())
            .expect("notifier")
            .with_owner("a");
        let report = a.deliver_pending(later).await.expect("deliver");
        assert_eq!(report.sent, 0);
        // While B holds a claim, A cannot take it.
        let message = Message::plain(
            &xunjian::domain::ChatTarget::new(xunjian::domain::Channel::Telegram, "-100"),
            "第二条",
        );
        db.store.enqueue(&message, later).await.expect("enqueue");
        let held = db
            .store
            .claim_messages("b", later, lease, 10)
            .await
            .expect("claim");
        assert_eq!(held.len(), 1);
        assert!(
            !db.store
                .renew_claim(held[0].id, "a", later, lease)
                .await
                .expect("renew")
        );
        assert!(
            !db.store
                .mark_sent(held[0].id, "a", later)
                .await
                .expect("sent")
        );
        assert!(
            db.store
                .mark_sent(held[0].id, "b", later)
                .await
                .expect("sent")
        );
        assert_eq!(telegram.sends().len(), 1);
        db.finish().await;
    }
}

#[tokio::test]
async fn claims_of_a_daemon_that_is_gone_are_released_at_start() {
    for db in test_dbs("gone_claims").await {
        let message = Message::plain(
            &xunjian::domain::ChatTarget::new(xunjian::domain::Channel::Console, "-"),
            "急件",
        );
        db.store.enqueue(&message, at(NOW)).await.expect("enqueue");
        let lease = chrono::Duration::minutes(5);
        let gone = "old-host:4242";
        let alive = "other-host:1";
        db.store
            .claim_messages(gone, at(NOW), lease, 10)
            .await
            .expect("claim");
        assert!(
            db.store
                .claim_job(
                    "inspection",
                    at(NOW),
                    gone,
                    at(NOW),
                    chrono::Duration::hours(1)
                )
                .await
                .expect("claim job")
        );
        assert!(
            db.store
                .acquire_lease(
                    "telegram_bot",
                    alive,
                    at(NOW),
                    chrono::Duration::seconds(40)
                )
                .await
                .expect("lease")
        );
        let released = db
            .store
            .release_gone_holders(|holder| holder == gone)
            .await
            .expect("release");
        assert_eq!(released.messages, 1);
        assert_eq!(released.jobs, 1);
        // SQLite has one daemon: every lease was its predecessor's. On
        // PostgreSQL a live daemon's lease stays.
        let expected_leases = u64::from(db.store.backend() == "sqlite");
        assert_eq!(released.leases, expected_leases);
        let again = db
            .store
            .claim_messages("new", at(NOW), lease, 10)
            .await
            .expect("claim");
        assert_eq!(
            again.len(),
            1,
            "the message is free at once, not after the lease"
        );
        assert!(
            db.store
                .claim_job(
                    "inspection",
                    at(NOW),
                    "new",
                    at(NOW),
                    chrono::Duration::hours(1)
                )
                .await
                .expect("claim job"),
            "the job run is free at once"
        );
        db.finish().await;
    }
}

/// A register whose unit and account names are markup in every format.
const HOSTILE_REGISTER: &str = r##"
[[unit]]
id = "evil"
name = "<script>alert(1)</script>局"
kind = "department"
contacts = [{ name = "张|三", telegram_id = 1 }]

[[unit]]
id = "evil2"
name = "**粗体**镇 | --- |"
kind = "town"

[[account]]
id = "e1"
unit = "evil"
name = "[链接](http://evil.example/) <img src=x onerror=alert(1)>"
platform = "weibo"
feed = "http://127.0.0.1:9/a.xml"

[[account]]
id = "e2"
unit = "evil2"
name = "# 标题 & `代码` _斜体_"
platform = "wechat_subscription"
feed = "http://127.0.0.1:9/b.xml"
"##;

/// The unescaped `|` of a Markdown line (a `\|` is text, not a cell border).
fn cell_borders(line: &str) -> usize {
    let mut count = 0;
    let mut is_escaped = false;
    for c in line.chars() {
        if c == '|' && !is_escaped {
            count += 1;
        }
        is_escaped = c == '\\' && !is_escaped;
    }
    count
}

fn zip_part(path: &std::path::Path, name: &str) -> String {
    use std::io::Read as _;
    let bytes = std::fs::read(path).expect("file");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut xml = String::new();
    zip.by_name(name)
        .expect("part")
        .read_to_string(&mut xml)
        .expect("utf-8");
    xml
}

#[test]
fn hostile_names_come_out_escaped_in_every_report_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("xunjian.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}/h.db\"\n",
            dir.path().display()
        ),
    )
    .expect("settings");
    std::fs::write(dir.path().join("accounts.toml"), HOSTILE_REGISTER).expect("register");
    let run = |args: &[&str]| {
        let out = crate::helpers::xunjian_in(dir.path())
            .args(args)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    run(&["import"]);
    run(&["check", "--no-poll", "--now", "2026-11-20T10:00:00+08:00"]);
    let report = ["report", "--kind", "monthly", "--period", "2026-11"];
    let with = |extra: &[&'static str]| {
        let mut args: Vec<&str> = report.to_vec();
        args.extend_from_slice(extra);
        args
    };

    let md = run(&with(&["--format", "md"]));
    assert!(md.contains("\\<script\\>alert(1)\\</script\\>局"), "{md}");
    assert!(!md.replace("\\<", "").contains('<'), "no tag: {md}");
    assert!(!md.replace("\\]", "").contains("]("), "no link: {md}");
    for line in md.lines().filter(|l| l.starts_with('|')) {
        let borders = cell_borders(line);
        assert!(borders == 17 || borders == 6, "a name adds no cell: {line}");
    }
    for line in md.lines().filter(|l| l.starts_with("- ")) {
        assert!(
            !line[2..].starts_with('#'),
            "no heading in a list item: {line}"
        );
    }

    let json: serde_json::Value =
        serde_json::from_str(&run(&with(&["--format", "json"]))).expect("valid JSON");
    assert!(json.to_string().contains("<script>alert(1)</script>局"));

    let docx = dir.path().join("r.docx");
    let xlsx = dir.path().join("r.xlsx");
    let docx_arg = docx.to_str().expect("path").to_string();
    let xlsx_arg = xlsx.to_str().expect("path").to_string();
    for (format, path) in [("docx", &docx_arg), ("xlsx", &xlsx_arg)] {
        let mut args: Vec<&str> = report.to_vec();
        args.extend_from_slice(&["--format", format, "--out", path]);
        run(&args);
    }
    let document = zip_part(&docx, "word/document.xml");
    let strings = zip_part(&xlsx, "xl/sharedStrings.xml");
    for xml in [&document, &strings] {
        assert!(!xml.contains("<script") && !xml.contains("<img"));
        assert!(
            xml.contains("&lt;script&gt;alert(1)&lt;/script&gt;局"),
            "escaped as XML text"
        );
    }
}
