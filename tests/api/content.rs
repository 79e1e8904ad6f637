//! Content inspection end to end: feeds over real HTTP, the real poller,
//! inspections, alerts, chat and reports, on SQLite and PostgreSQL.

use crate::feed_server::{FeedServer, Reply};
use crate::helpers::{TestDb, at, test_dbs};
use xunjian::app::App;
use xunjian::commands::{Caller, CommandContext, UserId};
use xunjian::config::Settings;
use xunjian::inspection::Inspector;
use xunjian::rules::{CheckResult, Rule, Severity, Verdict};

/// An RSS feed of (title, text, RFC 2822 date, link) items.
pub(crate) fn feed(items: &[(&str, &str, &str, &str)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title>",
    );
    for (n, (title, text, date, link)) in items.iter().enumerate() {
        out.push_str(&format!(
            "<item><title>{title}</title><link>{link}</link><guid>g{n}</guid><pubDate>{date}</pubDate>\
             <description><![CDATA[<p>{text}</p>]]></description></item>"
        ));
    }
    out.push_str("</channel></rss>");
    out
}

/// Units u1…u3 (义堂镇, 柳青街道, 区城管局), one website account each
/// (a1…a3, fed from /a1…/a3), in `state`.
fn register(server: &FeedServer, state: &str) -> String {
    let mut text = String::new();
    for (n, (unit, name)) in [
        ("义堂镇", "义堂发布"),
        ("柳青街道", "柳青发布"),
        ("区城管局", "兰山城管"),
    ]
    .iter()
    .enumerate()
    {
        let n = n + 1;
        text.push_str(&format!(
            "[[unit]]\nid = \"u{n}\"\nname = \"{unit}\"\nkind = \"town\"\ncontacts = [{{ name = \"联系人{n}\", telegram_id = {n} }}]\n\n\
             [[account]]\nid = \"a{n}\"\nunit = \"u{n}\"\nname = \"{name}\"\nplatform = \"website\"\nfeed = \"{}\"\nstate = \"{state}\"\n\n",
            server.url(&format!("/a{n}"))
        ));
    }
    text
}

pub(crate) async fn setup(
    db: &TestDb,
    server: &FeedServer,
    state: &str,
    imported: &str,
) -> (Settings, Inspector) {
    let mut settings = db.settings.clone();
    settings.telegram.admins = vec![900];
    let path = db.path("accounts.toml");
    std::fs::write(&path, register(server, state)).expect("write");
    let app = App::open(settings.clone(), path).await.expect("app");
    app.import(false, false, at(imported))
        .await
        .expect("import");
    let inspector = Inspector::new(db.store.clone(), settings.clone()).expect("inspector");
    (settings, inspector)
}

fn account<'a>(result: &'a CheckResult, id: &str) -> &'a xunjian::rules::AccountResult {
    result
        .accounts
        .iter()
        .find(|a| a.id == id)
        .expect("the account is in the check")
}

fn rules_of(result: &CheckResult, id: &str) -> Vec<(Rule, Severity)> {
    // The content rules only: the update rules speak of these feeds too.
    account(result, id)
        .findings
        .iter()
        .filter(|f| f.rule.is_content())
        .map(|f| (f.rule, f.severity))
        .collect()
}

const ID: &str = "11010519491231002X";

/// The December 2026 monthly 通报 as of `now` (a draft).
async fn december_report(
    db: &TestDb,
    settings: &Settings,
    now: chrono::DateTime<chrono::Utc>,
) -> xunjian::reports::Report {
    let calendar = xunjian::inspection::load_calendar(settings).expect("calendar");
    xunjian::publish::load_report(
        &db.store,
        &calendar,
        xunjian::reports::ReportKind::Monthly,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
        now,
    )
    .await
    .expect("report")
}

#[tokio::test]
async fn a_severe_term_fails_and_alerts_at_once_a_general_one_is_listed_and_an_id_number_is_shown_masked()
 {
    let server = FeedServer::start().await;
    let date = "Thu, 03 Dec 2026 10:00:00 +0800";
    server.set(
        "/a1",
        Reply::ok(feed(&[("关于台湾总统的报道", "正文", date, "https://a/1")])),
    );
    server.set(
        "/a2",
        Reply::ok(feed(&[(
            "街道动态",
            "截止目前，已完成改造。",
            date,
            "https://a/2",
        )])),
    );
    let roll = format!("张三 {ID}；李四 110105194912310021（校验位错）；王五 110105********002X");
    server.set(
        "/a3",
        Reply::ok(feed(&[("公示名单", roll.as_str(), date, "https://a/3")])),
    );
    for db in test_dbs("content_terms").await {
        let (_, inspector) = setup(&db, &server, "active", "2026-11-01T09:00:00+08:00").await;
        // 22:00, outside the sending hours: only urgent messages are due now.
        let now = at("2026-12-04T22:00:00+08:00");
        let result = inspector.run_once(now, true).await.expect("inspection");
        assert_eq!(account(&result, "a1").verdict, Verdict::Failed);
        assert_eq!(
            rules_of(&result, "a1"),
            [(Rule::Wording, Severity::Failure)]
        );
        assert_eq!(
            account(&result, "a2").verdict,
            Verdict::Qualified,
            "一般 does not fail"
        );
        assert_eq!(
            rules_of(&result, "a2"),
            [(Rule::Wording, Severity::Warning)]
        );
        assert_eq!(account(&result, "a3").verdict, Verdict::Failed);
        let personal = account(&result, "a3")
            .findings
            .iter()
            .find(|f| f.rule == Rule::PersonalData)
            .expect("personal data");
        assert_eq!(personal.rule, Rule::PersonalData);
        let items = personal.evidence["findings"].as_array().expect("items");
        assert_eq!(
            items.len(),
            1,
            "the invalid check digit and the masked number are no findings: {items:?}"
        );
        assert_eq!(items[0]["matched"], "110105********002X");
        assert_eq!(items[0]["title"], "公示名单");
        assert_eq!(items[0]["link"], "https://a/3");

        let due: Vec<String> = db
            .store
            .pending_messages(now, 100)
            .await
            .expect("due messages")
            .into_iter()
            .map(|m| m.body)
            .collect();
        assert!(
            due.iter()
                .any(|b| b.contains("台湾总统") && b.contains("台湾地区领导人")),
            "{due:#?}"
        );
        assert!(
            due.iter().any(|b| b.contains("110105********002X")),
            "{due:#?}"
        );
        assert!(
            !due.iter().any(|b| b.contains("截止目前")),
            "一般 waits for the digest: {due:#?}"
        );
        let all = db.store.outbox("console").await.expect("outbox");
        assert!(
            all.iter().any(|(_, b, _)| b.contains("截止目前")),
            "listed in the digest: {all:#?}"
        );
        let shown = format!(
            "{}{}{:?}",
            serde_json::to_string(&result).expect("json"),
            xunjian::inspection::render_text(&result),
            all
        );
        assert!(
            !shown.contains(ID),
            "the full number never leaves the database"
        );
        let report = december_report(&db, &db.settings, now).await;
        let c = &report.content;
        assert_eq!((c.total, c.severe, c.personal_data), (3, 2, 1), "{c:?}");
        assert_eq!(
            xunjian::reports::reconcile::discrepancies(&report),
            Vec::<String>::new()
        );
        assert!(!format!("{:?}", c.items).contains(ID));
        db.finish().await;
    }
}

#[tokio::test]
async fn a_repost_task_flags_the_unit_that_did_not_repost_after_the_due_date_and_not_before() {
    let server = FeedServer::start().await;
    let date = "Wed, 02 Dec 2026 08:00:00 +0800";
    server.set(
        "/a1",
        Reply::ok(feed(&[(
            "转载：《关于做好冬季防火工作的通知》",
            "全文",
            date,
            "https://a/1",
        )])),
    );
    server.set(
        "/a2",
        Reply::ok(feed(&[(
            "冬季安全",
            "见原文",
            date,
            "https://gov.example/fire",
        )])),
    );
    server.set(
        "/a3",
        Reply::ok(feed(&[("街道动态", "今日无事", date, "https://a/3")])),
    );
    for db in test_dbs("content_tasks").await {
        let (settings, inspector) =
            setup(&db, &server, "active", "2026-11-01T09:00:00+08:00").await;
        let request = xunjian::screening::TaskRequest {
            title: "关于做好冬季防火工作的通知".into(),
            matches: vec![],
            url: Some("https://gov.example/fire".into()),
            due_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 4).expect("date"),
            starts_on: None,
            units: vec![],
            platforms: vec![],
        };
        let (id, progress) = xunjian::screening::add_task(
            &db.store,
            request,
            "管理员",
            "cli",
            at("2026-12-01T09:00:00+08:00"),
        )
        .await
        .expect("task added");
        assert_eq!(progress.targeted, 3);

        // Wednesday: the posts are fetched; nobody is late yet, no reminder.
        let result = inspector
            .run_once(at("2026-12-02T10:00:00+08:00"), true)
            .await
            .expect("inspection");
        for a in ["a1", "a2", "a3"] {
            assert!(
                !rules_of(&result, a)
                    .iter()
                    .any(|(r, _)| *r == Rule::RepostTask),
                "{a} before the due date"
            );
        }
        let reminders = |all: Vec<(String, String, bool)>| -> Vec<String> {
            all.into_iter()
                .map(|(_, b, _)| b)
                .filter(|b| b.contains("转载任务提醒"))
                .collect()
        };
        assert!(reminders(db.store.outbox("console").await.expect("outbox")).is_empty());

        // Thursday, the workday before the due date: the third unit is reminded, once.
        inspector
            .run_once(at("2026-12-03T10:00:00+08:00"), true)
            .await
            .expect("inspection");
        inspector
            .run_once(at("2026-12-03T15:00:00+08:00"), true)
            .await
            .expect("inspection");
        let sent = reminders(db.store.outbox("console").await.expect("outbox"));
        assert_eq!(sent.len(), 1, "{sent:#?}");
        assert!(
            sent[0].contains("兰山城管")
                && !sent[0].contains("义堂发布")
                && !sent[0].contains("柳青发布"),
            "{}",
            sent[0]
        );

        // Saturday, after the due date: the third account has the finding.
        let result = inspector
            .run_once(at("2026-12-05T10:00:00+08:00"), true)
            .await
            .expect("inspection");
        assert!(rules_of(&result, "a3").contains(&(Rule::RepostTask, Severity::Warning)));
        for a in ["a1", "a2"] {
            assert!(
                !rules_of(&result, a)
                    .iter()
                    .any(|(r, _)| *r == Rule::RepostTask),
                "{a} reposted"
            );
        }
        let report = december_report(&db, &settings, at("2026-12-05T11:00:00+08:00")).await;
        assert_eq!(
            report.content.tasks_sentence.as_deref(),
            Some("转载任务1项，应转载3个账号次，按时完成2个，未完成：区城管局。")
        );
        assert!(xunjian::reports::render::text(&report).contains("转载任务1项"));
        assert!(
            db.store
                .close_task(id, "管理员", "cli", at("2026-12-05T12:00:00+08:00"))
                .await
                .expect("close")
        );
        let result = inspector
            .run_once(at("2026-12-05T13:00:00+08:00"), false)
            .await
            .expect("inspection");
        assert!(
            !rules_of(&result, "a3")
                .iter()
                .any(|(r, _)| *r == Rule::RepostTask),
            "a closed task counts no more"
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn a_closing_account_without_a_notice_is_flagged_and_one_with_it_is_not() {
    let server = FeedServer::start().await;
    let date = "Sat, 21 Nov 2026 10:00:00 +0800";
    server.set(
        "/a1",
        Reply::ok(feed(&[(
            "关于本账号停止更新的公告",
            "即日起停更",
            date,
            "https://a/1",
        )])),
    );
    server.set(
        "/a2",
        Reply::ok(feed(&[("街道动态", "今日无事", date, "https://a/2")])),
    );
    server.set(
        "/a3",
        Reply::ok(feed(&[("停更三天？", "天气预报", date, "https://a/3")])),
    );
    for db in test_dbs("content_closing").await {
        let (_, inspector) = setup(&db, &server, "closing", "2026-11-20T09:00:00+08:00").await;
        let early = inspector
            .run_once(at("2026-11-22T10:00:00+08:00"), true)
            .await
            .expect("inspection");
        for a in ["a1", "a2", "a3"] {
            assert!(
                !rules_of(&early, a)
                    .iter()
                    .any(|(r, _)| *r == Rule::ClosingNotice),
                "{a}: within 7 days"
            );
        }
        let late = inspector
            .run_once(at("2026-11-30T10:00:00+08:00"), true)
            .await
            .expect("inspection");
        assert!(
            !rules_of(&late, "a1")
                .iter()
                .any(|(r, _)| *r == Rule::ClosingNotice),
            "a1 published its notice"
        );
        for a in ["a2", "a3"] {
            assert!(
                rules_of(&late, a).contains(&(Rule::ClosingNotice, Severity::Warning)),
                "{a}: {:?}",
                rules_of(&late, a)
            );
            assert_eq!(account(&late, a).verdict, Verdict::Closing);
        }
        db.finish().await;
    }
}

#[tokio::test]
async fn a_false_positive_marked_in_chat_leaves_the_next_report_and_is_not_found_again() {
    let server = FeedServer::start().await;
    let date = "Thu, 03 Dec 2026 10:00:00 +0800";
    server.set(
        "/a1",
        Reply::ok(feed(&[(
            "史料：中华民国三十年的县志",
            "引用史料",
            date,
            "https://a/1",
        )])),
    );
    server.set(
        "/a2",
        Reply::ok(feed(&[("动态", "今日无事", date, "https://a/2")])),
    );
    server.set(
        "/a3",
        Reply::ok(feed(&[("动态", "今日无事", date, "https://a/3")])),
    );
    for db in test_dbs("content_dismiss").await {
        let (settings, inspector) =
            setup(&db, &server, "active", "2026-11-01T09:00:00+08:00").await;
        let first = inspector
            .run_once(at("2026-12-04T10:00:00+08:00"), true)
            .await
            .expect("inspection");
        assert_eq!(account(&first, "a1").verdict, Verdict::Failed);
        let wording = account(&first, "a1")
            .findings
            .iter()
            .find(|f| f.rule == Rule::Wording)
            .expect("the wording finding");
        let number = wording.evidence["findings"][0]["id"]
            .as_i64()
            .expect("the finding's number");
        let admin = Caller {
            user: UserId::Telegram(900),
            name: "周磊".into(),
            is_private_chat: true,
            bot_username: None,
            chat: None,
            is_addressed_to_bot: false,
        };
        let commands = CommandContext::new(db.store.clone(), settings.clone());
        let contact = Caller {
            user: UserId::Telegram(1),
            name: "联系人1".into(),
            ..admin.clone()
        };
        let refused = commands
            .handle(
                &contact,
                &format!("/误报 {number}"),
                at("2026-12-04T10:30:00+08:00"),
            )
            .await
            .expect("reply");
        assert!(!refused.contains("已将"), "only admins: {refused}");
        let reply = commands
            .handle(
                &admin,
                &format!("/误报 {number} 引用史料，非错误表述"),
                at("2026-12-04T11:00:00+08:00"),
            )
            .await
            .expect("reply");
        assert!(reply.contains(&format!("已将 #{number}")), "{reply}");
        let again = commands
            .handle(
                &admin,
                &format!("/误报 {number}"),
                at("2026-12-04T11:01:00+08:00"),
            )
            .await
            .expect("reply");
        assert!(again.contains("已是「误报」"), "{again}");

        let next = inspector
            .run_once(at("2026-12-04T12:00:00+08:00"), false)
            .await
            .expect("inspection");
        assert_eq!(account(&next, "a1").verdict, Verdict::Qualified);
        let checker = xunjian::content::Checker::from_settings(&settings.content).expect("lists");
        let rescan = xunjian::screening::rescan(
            &db.store,
            &checker,
            chrono::DateTime::<chrono::Utc>::MIN_UTC,
            at("2026-12-04T12:30:00+08:00"),
            &|_| {},
        )
        .await
        .expect("rescan");
        assert_eq!(
            (rescan.posts, rescan.new_findings),
            (3, 0),
            "the allow list learnt it"
        );
        let report = december_report(&db, &settings, at("2026-12-04T13:00:00+08:00")).await;
        assert_eq!(report.content.total, 0, "{:?}", report.content);
        assert!(!xunjian::reports::render::text(&report).contains("错误信息"));
        let history = db.store.register_events(Some("a1")).await.expect("history");
        let register = db.store.load_register().await.expect("register");
        let lines: Vec<String> = history
            .iter()
            .map(|e| xunjian::registry::history::line(e, &register, false))
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("标记误报") && l.contains("引用史料")),
            "{lines:#?}"
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn a_post_corrected_on_the_platform_is_fixed_by_the_next_fetch_and_a_deleted_one_too() {
    let server = FeedServer::start().await;
    let (d1, d2) = (
        "Thu, 03 Dec 2026 10:00:00 +0800",
        "Thu, 03 Dec 2026 11:00:00 +0800",
    );
    for db in test_dbs("content_fixed").await {
        // Each backend starts from the original feeds.
        server.set(
            "/a1",
            Reply::ok(feed(&[("台湾总统讲话", "正文", d1, "https://a/1")])),
        );
        server.set(
            "/a2",
            Reply::ok(feed(&[
                ("动态", "今日无事", d1, "https://a/2"),
                ("名单", ID, d2, "https://a/2b"),
            ])),
        );
        // Unchanged on the platform: its post is listed as stored, and the
        // open finding in its text must be looked at again, not taken as fixed.
        server.set("/a3", Reply::ok(feed(&[("名单", ID, d1, "https://a/3")])));
        let (_, inspector) = setup(&db, &server, "active", "2026-11-01T09:00:00+08:00").await;
        let first = inspector
            .run_once(at("2026-12-04T10:00:00+08:00"), true)
            .await
            .expect("inspection");
        assert_eq!(account(&first, "a1").verdict, Verdict::Failed);
        assert_eq!(account(&first, "a2").verdict, Verdict::Failed);
        assert_eq!(account(&first, "a3").verdict, Verdict::Failed);
        // The same items (same guid): one corrected, one deleted while an older one stays.
        server.set(
            "/a1",
            Reply::ok(feed(&[("台湾地区领导人讲话", "正文", d1, "https://a/1")])),
        );
        server.set(
            "/a2",
            Reply::ok(feed(&[("动态", "今日无事", d1, "https://a/2")])),
        );
        let later = at("2026-12-05T10:00:00+08:00");
        xunjian::poll::Poller::new(&db.settings, db.store.clone())
            .expect("poller")
            .poll_accounts(
                &["a1".to_string(), "a2".to_string(), "a3".to_string()],
                later,
                &|_, _| {},
            )
            .await
            .expect("poll");
        let next = inspector.run_once(later, false).await.expect("inspection");
        assert_eq!(
            account(&next, "a1").verdict,
            Verdict::Qualified,
            "{:?}",
            rules_of(&next, "a1")
        );
        assert_eq!(
            account(&next, "a2").verdict,
            Verdict::Qualified,
            "{:?}",
            rules_of(&next, "a2")
        );
        assert_eq!(
            account(&next, "a3").verdict,
            Verdict::Failed,
            "{:?}",
            rules_of(&next, "a3")
        );
        let all = db
            .store
            .content_findings(false, None)
            .await
            .expect("findings");
        let reasons: Vec<(&str, Option<&str>)> = all
            .iter()
            .map(|f| (f.account_id.as_str(), f.reason.as_deref()))
            .collect();
        assert!(
            reasons.contains(&("a1", Some("复查时原文已更正"))),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&("a2", Some("复查时原文已删除"))),
            "{reasons:?}"
        );
        assert!(reasons.contains(&("a3", None)), "{reasons:?}");
        db.finish().await;
    }
}
