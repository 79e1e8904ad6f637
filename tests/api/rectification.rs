//! The 整改 loop end to end: a 通报 is issued, each unit gets its 整改通知 in
//! the contacts chat (through the fake Bot API), a contact answers /rectify,
//! later inspections verify, a deadline passes, and the next 通报 counts the
//! real items. SQLite and PostgreSQL.

use crate::fake_telegram::FakeTelegram;
use crate::feed_server::{FeedServer, Reply, feed_fixture};
use crate::helpers::{at, test_dbs};
use xunjian::app::App;
use xunjian::config::Secret;
use xunjian::inspection::Inspector;
use xunjian::notify::Notifier;
use xunjian::reports::{RectificationState, ReportKind};

const CONTACTS: i64 = -100;
const ADMIN: i64 = 111;
/// 周磊, contact of 义堂镇 (u1).
const ZHOU: i64 = 5;

const REGISTER: &str = "[[unit]]\nid = \"u1\"\nname = \"义堂镇\"\nkind = \"town\"\ncontacts = [{ name = \"周磊\", telegram_id = 5 }]\n\n\
    [[unit]]\nid = \"u2\"\nname = \"柳青街道\"\nkind = \"town\"\ncontacts = [{ name = \"王敏\", telegram_id = 6 }]\n\n\
    [[account]]\nid = \"w\"\nunit = \"u1\"\nname = \"义堂发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/9\"\n\n\
    [[account]]\nid = \"x\"\nunit = \"u2\"\nname = \"柳青发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/8\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_rectified_through_notice_answer_verification_and_deadline() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    for db in test_dbs("rectification_loop").await {
        // The last post of both accounts is 2026-11-22: stale by mid-December.
        server.set("/weibo/user/9", Reply::ok(feed_fixture("weibo_rsshub.xml")));
        server.set("/weibo/user/8", Reply::ok(feed_fixture("weibo_rsshub.xml")));
        let telegram = FakeTelegram::start().await;
        let mut settings = db.settings.clone();
        settings.alerts.is_quiet_enabled = false;
        settings.telegram.token = Some(Secret::new("123456:TEST"));
        settings.telegram.api_url = Some(telegram.url.clone());
        settings.telegram.contacts_chat = Some(CONTACTS);
        settings.telegram.admins = vec![ADMIN];
        settings.telegram.is_throttled = false;
        settings.proxies.get_mut("rsshub").expect("rsshub").url = server.base();
        let path = db.path("accounts.toml");
        std::fs::write(&path, REGISTER).expect("write");
        let app = App::open(settings.clone(), path).await.expect("app");
        app.import(false, false, at("2026-10-01T09:00:00+08:00"))
            .await
            .expect("import");
        let inspector = Inspector::new(db.store.clone(), settings.clone()).expect("inspector");
        let first = at("2026-12-15T09:00:00+08:00");
        inspector.run_once(first, true).await.expect("inspection");

        // Issue the December 通报 (in progress) at 10:00: one notice per unit.
        let issued_at = at("2026-12-15T10:00:00+08:00");
        let report = xunjian::publish::load_report(
            &db.store,
            &inspector.calendar,
            ReportKind::Monthly,
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
            issued_at,
        )
        .await
        .expect("report");
        let issue = |report| {
            xunjian::publish::issue_report(
                &db.store,
                &settings,
                &inspector.calendar,
                report,
                "admin",
                None,
                issued_at,
            )
        };
        assert!(matches!(
            issue(&report).await.expect("issue"),
            xunjian::publish::Issued::Now { .. }
        ));
        assert!(
            matches!(
                issue(&report).await.expect("issue again"),
                xunjian::publish::Issued::Before(_)
            ),
            "issuing twice sends nothing twice"
        );
        let notices: Vec<String> = db
            .store
            .outbox("telegram")
            .await
            .expect("outbox")
            .into_iter()
            .filter(|(_, body, _)| body.contains("【整改通知】"))
            .map(|(to, body, _)| {
                // Each unit's notice reaches its own contact privately.
                let (unit, contact) = if body.contains("【整改通知】义堂镇") {
                    ("义堂镇", ZHOU)
                } else {
                    ("柳青街道", 6)
                };
                assert_eq!(
                    to,
                    contact.to_string(),
                    "{unit}'s notice goes to its contact"
                );
                body
            })
            .collect();
        assert_eq!(notices.len(), 2, "{notices:#?}");
        // 7 workdays after Tuesday 12-15.
        assert!(
            notices[0].contains("整改期限2026年12月24日"),
            "{}",
            notices[0]
        );
        assert!(notices.iter().any(|n| n.contains("【整改通知】义堂镇")
            && n.contains("「义堂发布」")
            && n.contains("联系人：周磊")));
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        notifier.deliver_pending(issued_at).await.expect("deliver");
        assert!(
            telegram.sends().iter().any(|c| c.params["text"]
                .as_str()
                .is_some_and(|t| t.contains("【整改通知】柳青街道"))),
            "the notices reach the contacts"
        );

        // The contact answers through the Bot API; a stranger to u2 may not.
        let (shutdown, running) = crate::helpers::spawn_bot(&db.store, &settings);
        let before = telegram.sends().len();
        telegram.push_message(ZHOU, "周磊", "/rectify w 已安排专人每周更新");
        let sends = telegram.wait_for_sends(before + 1).await;
        telegram.push_message(ZHOU, "周磊", "/整改 x 不是我的单位");
        let sends_2 = telegram.wait_for_sends(before + 2).await;
        telegram.push_message(ZHOU, "周磊", "/rectification");
        let sends_3 = telegram.wait_for_sends(before + 3).await;
        shutdown.cancel();
        running
            .await
            .expect("the bot task")
            .expect("the bot stops cleanly on shutdown");
        let reply = |all: &[crate::fake_telegram::Call]| {
            all.last()
                .and_then(|c| c.params["text"].as_str().map(String::from))
                .unwrap_or_default()
        };
        assert!(reply(&sends).contains("已反馈待核实"), "{}", reply(&sends));
        assert!(
            reply(&sends_2).contains("账号「柳青发布」属于柳青街道，不属于您的单位义堂镇"),
            "{}",
            reply(&sends_2)
        );
        assert!(
            reply(&sends_3).contains("已反馈待核实") && !reply(&sends_3).contains("柳青"),
            "{}",
            reply(&sends_3)
        );

        // w posts again; the next inspection verifies it.
        let fresh = String::from_utf8(feed_fixture("weibo_rsshub.xml"))
            .expect("utf-8")
            .replace(
                "Sun, 22 Nov 2026 02:30:00 GMT",
                "Wed, 16 Dec 2026 02:30:00 GMT",
            )
            .replace("Pb8x1A2b3", "PbNEW0001")
            // The unit fixed the display name too: 附件1 listed it with the gap.
            .replace("兰山发布", "义堂发布");
        server.set("/weibo/user/9", Reply::ok(fresh));
        let next = at("2026-12-16T11:00:00+08:00");
        xunjian::poll::Poller::new(&settings, db.store.clone())
            .expect("poller")
            .poll_accounts(&["w".to_string()], next, &|_, _| {})
            .await
            .expect("poll");
        inspector.run_once(next, false).await.expect("inspection");
        let items = db
            .store
            .rectification_items(None, false)
            .await
            .expect("items");
        let w = items.iter().find(|i| i.account_id == "w").expect("w");
        assert_eq!(w.state.id(), "fixed", "{w:#?}");
        assert_eq!(
            w.evidence.as_deref(),
            Some("2026年12月16日 巡检确认已恢复更新（最新发布 2026年12月16日 10:30）")
        );
        assert_eq!(
            w.responded_by.as_deref().map(|b| b.contains("周磊")),
            Some(true)
        );

        // x is still stale after its deadline: one reminder to the unit, one line to the admins.
        let overdue = at("2026-12-25T09:00:00+08:00");
        inspector
            .run_once(overdue, false)
            .await
            .expect("inspection");
        inspector
            .run_once(overdue + chrono::Duration::days(1), false)
            .await
            .expect("inspection");
        let queued = db.store.outbox("telegram").await.expect("outbox");
        let reminders = queued
            .iter()
            .filter(|(to, body, _)| {
                // 王敏, 柳青街道's contact, privately.
                to == "6" && body.contains("【逾期未整改提醒】柳青街道")
            })
            .count();
        let to_admins = queued
            .iter()
            .filter(|(to, body, _)| to == &ADMIN.to_string() && body.contains("【逾期未整改】"))
            .count();
        assert_eq!((reminders, to_admins), (1, 1), "{queued:#?}");

        // The January 通报 counts the real items.
        inspector
            .run_once(at("2027-01-04T09:00:00+08:00"), false)
            .await
            .expect("inspection");
        let january = xunjian::publish::load_report(
            &db.store,
            &inspector.calendar,
            ReportKind::Monthly,
            chrono::NaiveDate::from_ymd_opt(2027, 1, 1).expect("date"),
            chrono::NaiveDate::from_ymd_opt(2027, 1, 31).expect("date"),
            at("2027-01-05T09:00:00+08:00"),
        )
        .await
        .expect("report");
        let states: Vec<(&str, RectificationState)> = january
            .rectification
            .iter()
            .map(|r| (r.account.as_str(), r.state))
            .collect();
        assert_eq!(
            states,
            vec![
                ("w", RectificationState::Fixed),
                ("x", RectificationState::Overdue)
            ]
        );
        let text = xunjian::reports::render::text(&january);
        assert!(
            text.contains(
                "上期通报《政务新媒体月度通报（2026年12月）（截至12月15日）》问题2项：1项已整改，1项逾期未整改；截至1月5日，仍有1个单位未整改"
            ),
            "{text}"
        );
        assert_eq!(
            xunjian::reports::reconcile::discrepancies(&january),
            Vec::<String>::new()
        );
        let listed = xunjian::rectification::render_items(
            &db.store
                .rectification_items(Some("u2"), true)
                .await
                .expect("items"),
            &db.store.load_register().await.expect("register"),
        );
        assert!(
            listed.contains("柳青街道 「柳青发布」") && listed.contains("逾期未整改"),
            "{listed}"
        );
        db.finish().await;
    }
}
