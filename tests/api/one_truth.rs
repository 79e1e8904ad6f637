//! One 通报, one truth: what the office signs (the .docx), what units are
//! told (整改通知), what is tracked (整改 items) and what the numbers mean
//! agree, and stay the same when the 通报 is rendered again. SQLite and
//! PostgreSQL, feeds over HTTP.

use crate::feed_server::{FeedServer, Reply, feed_fixture};
use crate::helpers::{at, test_dbs};
use chrono::NaiveDate;
use xunjian::app::App;
use xunjian::inspection::Inspector;
use xunjian::publish::{Format, Issued, issue_report, load_report, render_bytes};
use xunjian::reports::ReportKind;

const REGISTER: &str = "[[unit]]\nid = \"u1\"\nname = \"义堂镇\"\nkind = \"town\"\ncontacts = [{ name = \"周磊\", telegram_id = 5 }]\n\n\
    [[unit]]\nid = \"u2\"\nname = \"柳青街道\"\nkind = \"town\"\ncontacts = [{ name = \"王敏\", telegram_id = 6 }]\n\n\
    [[account]]\nid = \"w\"\nunit = \"u1\"\nname = \"义堂发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/9\"\n\n\
    [[account]]\nid = \"x\"\nunit = \"u2\"\nname = \"柳青发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/8\"\n";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// The text of a .docx's body, tags left out.
fn docx_text(bytes: &[u8]) -> String {
    use std::io::Read as _;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("document.xml")
        .read_to_string(&mut xml)
        .expect("utf-8");
    let mut out = String::new();
    let mut in_tag = false;
    for c in xml.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push('\u{1}');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split('\u{1}').collect::<String>()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_and_quarterly_issued_on_one_morning_track_each_problem_once_and_regenerate_the_same()
 {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    server.set("/weibo/user/9", Reply::ok(feed_fixture("weibo_rsshub.xml")));
    server.set("/weibo/user/8", Reply::ok(feed_fixture("weibo_rsshub.xml")));
    for db in test_dbs("one_truth").await {
        let mut settings = db.settings.clone();
        settings.alerts.is_quiet_enabled = false;
        settings.office.doc_number = "兰政办字〔{year}〕{seq}号".to_string();
        settings.proxies.get_mut("rsshub").expect("rsshub").url = server.base();
        let path = db.path("accounts.toml");
        std::fs::write(&path, REGISTER).expect("write");
        let app = App::open(settings.clone(), path).await.expect("app");
        app.import(false, false, at("2026-10-01T09:00:00+08:00"))
            .await
            .expect("import");
        let inspector = Inspector::new(db.store.clone(), settings.clone()).expect("inspector");
        // Both accounts last posted 2026-11-22.
        inspector
            .run_once(at("2026-12-15T09:00:00+08:00"), true)
            .await
            .expect("inspection");
        inspector
            .run_once(at("2026-12-30T09:00:00+08:00"), false)
            .await
            .expect("inspection");
        let calendar = &inspector.calendar;
        let morning = at("2027-01-04T10:00:00+08:00");

        // Nothing was issued before: the draft says so, and is a draft.
        let monthly = load_report(
            &db.store,
            calendar,
            ReportKind::Monthly,
            day(2026, 12, 1),
            day(2026, 12, 31),
            morning,
        )
        .await
        .expect("monthly");
        let text = xunjian::reports::render::text(&monthly);
        assert!(text.contains("无上期通报"), "{text}");
        assert!(!text.contains("上期通报问题"), "{text}");
        let draft = render_bytes(&monthly, Format::Docx, &settings, calendar).expect("docx");
        assert!(docx_text(&draft).contains("草稿（未下发）"));

        // A weekly report cannot be issued.
        let weekly = load_report(
            &db.store,
            calendar,
            ReportKind::Weekly,
            day(2026, 12, 28),
            day(2027, 1, 3),
            morning,
        )
        .await
        .expect("weekly");
        let refused = issue_report(
            &db.store, &settings, calendar, &weekly, "admin", None, morning,
        )
        .await
        .expect_err("weekly");
        assert!(
            refused.to_string().contains("只有月度和季度通报可以下发"),
            "{refused}"
        );

        // The monthly report: every unit of 附件1 is told, every row is an item.
        let Issued::Now {
            report: monthly,
            units_notified,
            new_items,
        } = issue_report(
            &db.store, &settings, calendar, &monthly, "admin", None, morning,
        )
        .await
        .expect("issue monthly")
        else {
            panic!("the monthly report is issued");
        };
        let record = monthly.issue.clone().expect("a record");
        assert_eq!(record.doc_number.as_deref(), Some("兰政办字〔2027〕1号"));
        assert_eq!(record.issued_on, "2027-01-04");
        assert_eq!(monthly.problems.len(), 2);
        assert_eq!((units_notified, new_items), (2, 2));
        let items = db
            .store
            .rectification_items(None, true)
            .await
            .expect("items");
        let mut tracked: Vec<&str> = items.iter().map(|i| i.account_id.as_str()).collect();
        tracked.sort_unstable();
        let mut listed: Vec<&str> = monthly
            .problems
            .iter()
            .map(|p| p.account.as_str())
            .collect();
        listed.sort_unstable();
        assert_eq!(
            tracked, listed,
            "附件1 and the 整改 items name the same accounts"
        );
        assert!(
            items
                .iter()
                .all(|i| i.deadline.to_string() == record.deadline)
        );

        // The quarterly report the same morning carries them on.
        let quarterly = load_report(
            &db.store,
            calendar,
            ReportKind::Quarterly,
            day(2026, 10, 1),
            day(2026, 12, 31),
            morning,
        )
        .await
        .expect("quarterly");
        let Issued::Now {
            report: quarterly,
            new_items,
            ..
        } = issue_report(
            &db.store, &settings, calendar, &quarterly, "admin", None, morning,
        )
        .await
        .expect("issue quarterly")
        else {
            panic!("the quarterly report is issued");
        };
        assert_eq!(new_items, 0, "no problem is tracked twice");
        assert!(
            quarterly
                .problems
                .iter()
                .all(|p| p.is_carried && p.deadline.as_deref() == Some(record.deadline.as_str()))
        );
        let quarter_record = quarterly.issue.clone().expect("a record");
        assert_eq!(
            quarter_record.doc_number.as_deref(),
            Some("兰政办字〔2027〕2号")
        );
        let items = db
            .store
            .rectification_items(None, true)
            .await
            .expect("items");
        assert_eq!(items.len(), 2, "{items:#?}");
        let notices: Vec<String> = db
            .store
            .outbox("console")
            .await
            .expect("outbox")
            .into_iter()
            .filter(|(_, body, _)| body.starts_with("【整改通知】"))
            .map(|(_, body, _)| body)
            .collect();
        assert_eq!(
            notices.len(),
            2,
            "one notice per unit that morning: {notices:#?}"
        );
        assert!(
            notices
                .iter()
                .any(|n| n.contains("义堂镇") && n.contains("兰政办字〔2027〕1号"))
        );
        // Each problem says what to do (整改指引), in the words alerts use.
        assert!(
            notices
                .iter()
                .all(|n| n.contains("整改：请尽快发布信息恢复更新")),
            "{notices:#?}"
        );

        // Three days later the quarterly .docx is the same document.
        let first = render_bytes(&quarterly, Format::Docx, &settings, calendar).expect("docx");
        let later = at("2027-01-07T15:00:00+08:00");
        let again = load_report(
            &db.store,
            calendar,
            ReportKind::Quarterly,
            day(2026, 10, 1),
            day(2026, 12, 31),
            later,
        )
        .await
        .expect("again");
        assert_eq!(again, *quarterly, "the record, not a new computation");
        let second = render_bytes(&again, Format::Docx, &settings, calendar).expect("docx");
        let (first, second) = (docx_text(&first), docx_text(&second));
        assert_eq!(first, second);
        for expected in ["兰政办字〔2027〕2号", "2027年1月4日"] {
            assert!(second.contains(expected), "{expected} in\n{second}");
        }
        assert!(!second.contains("草稿"), "{second}");
        let deadline = NaiveDate::parse_from_str(&record.deadline, "%Y-%m-%d").expect("deadline");
        let deadline_cn = xunjian::reports::docx::content::date_cn(deadline);
        assert!(second.contains(&deadline_cn), "{deadline_cn} in\n{second}");
        // Issuing it again changes nothing.
        assert!(matches!(
            issue_report(&db.store, &settings, calendar, &again, "admin", None, later)
                .await
                .expect("again"),
            Issued::Before(_)
        ));

        // The next quarter's draft names the issued 通报 as 上期.
        let next = load_report(
            &db.store,
            calendar,
            ReportKind::Quarterly,
            day(2027, 1, 1),
            day(2027, 3, 31),
            later,
        )
        .await
        .expect("next quarter");
        let text = xunjian::reports::render::text(&next);
        assert!(text.contains("上期通报《"), "{text}");
    }
}
