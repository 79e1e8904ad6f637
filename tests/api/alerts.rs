//! Alerts and chat commands against a fake Telegram Bot API and fake group
//! robots, on SQLite and PostgreSQL.

use crate::fake_telegram::FakeTelegram;
use crate::feed_server::{FeedServer, Reply};
use crate::helpers::{TestDb, at, shipped_register, test_dbs};
use serde_json::json;
use xunjian::alerts::compose::{Mention, Message};
use xunjian::app::App;
use xunjian::commands::CommandContext;
use xunjian::config::{Secret, Settings};
use xunjian::notify::Notifier;

const NOW: &str = "2026-11-24T10:00:00+08:00";
const CONTACTS: i64 = -100;
const ADMIN: i64 = 111;
/// 李强, a contact of 区市政管理局 (lsq-szgl) in the shipped register.
const CONTACT: i64 = 223456789;
const STRANGER: i64 = 333;

fn settings(db: &TestDb, telegram: &FakeTelegram) -> Settings {
    let mut settings = db.settings.clone();
    settings.telegram.token = Some(Secret::new("123456:TEST"));
    settings.telegram.api_url = Some(telegram.url.clone());
    settings.telegram.contacts_chat = Some(CONTACTS);
    settings.telegram.admins = vec![ADMIN];
    settings.commands.allowed_feed_hosts = vec!["*.gov.cn".into()];
    // The fake Bot API has no rate limits; pacing at one message a second would only slow the test.
    settings.telegram.is_throttled = false;
    settings
}

fn message(chat: i64, body: &str) -> Message {
    Message {
        channel: xunjian::domain::Channel::Telegram,
        recipient: chat.to_string(),
        body: body.into(),
        mentions: vec![Mention {
            name: "李强".into(),
            telegram_id: Some(CONTACT),
            phone: None,
            feishu_open_id: None,
        }],
        is_urgent: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_go_out_once_as_escaped_html_naming_the_contacts() {
    for db in test_dbs("tg_html").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        db.store
            .enqueue(
                &message(CONTACTS, "<b>区市政管理局</b> & 「市政兰山」"),
                at(NOW),
            )
            .await
            .expect("enqueue");
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        let report = notifier.deliver_pending(at(NOW)).await.expect("deliver");
        assert_eq!(report.sent, 1);
        let sends = telegram.sends();
        assert_eq!(sends.len(), 1);
        assert_eq!(sends[0].params["parse_mode"], "HTML");
        assert_eq!(sends[0].params["chat_id"], CONTACTS);
        let text = sends[0].params["text"].as_str().unwrap_or("");
        assert!(
            text.starts_with("&lt;b&gt;区市政管理局&lt;/b&gt; &amp; 「市政兰山」"),
            "{text}"
        );
        assert!(
            text.contains(&format!("<a href=\"tg://user?id={CONTACT}\">李强</a>")),
            "{text}"
        );
        assert_eq!(
            notifier.deliver_pending(at(NOW)).await.expect("again").sent,
            0
        );
        assert_eq!(telegram.sends().len(), 1, "sent exactly once");
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    for db in test_dbs("tg_429").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        telegram.script_error(
            CONTACTS,
            429,
            "Too Many Requests: retry after 7",
            json!({ "retry_after": 7 }),
        );
        db.store
            .enqueue(&message(CONTACTS, "告警"), at(NOW))
            .await
            .expect("enqueue");
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        assert_eq!(
            notifier
                .deliver_pending(at(NOW))
                .await
                .expect("deliver")
                .retried,
            1
        );
        let later = at(NOW) + chrono::Duration::seconds(5);
        assert_eq!(
            notifier.deliver_pending(later).await.expect("deliver").sent,
            0
        );
        assert_eq!(telegram.sends().len(), 1, "not retried before retry_after");
        let after = at(NOW) + chrono::Duration::seconds(8);
        assert_eq!(
            notifier.deliver_pending(after).await.expect("deliver").sent,
            1
        );
        assert_eq!(telegram.sends().len(), 2);
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_bot_breaks_the_channel_and_the_admins_are_told_elsewhere() {
    for db in test_dbs("tg_403").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        telegram.script_error(
            CONTACTS,
            403,
            "Forbidden: bot was blocked by the user",
            json!(null),
        );
        db.store
            .enqueue(&message(CONTACTS, "第一条"), at(NOW))
            .await
            .expect("enqueue");
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        let report = notifier.deliver_pending(at(NOW)).await.expect("deliver");
        assert_eq!(report.broken, vec![format!("telegram:{CONTACTS}")]);
        db.store
            .enqueue(&message(CONTACTS, "第二条"), at(NOW))
            .await
            .expect("enqueue");
        notifier.deliver_pending(at(NOW)).await.expect("deliver");
        let sends = telegram.sends();
        assert_eq!(sends.len(), 2, "{sends:#?}");
        assert_eq!(sends[1].params["chat_id"], ADMIN);
        assert!(
            sends[1].params["text"]
                .as_str()
                .unwrap_or("")
                .contains("无法送达")
        );
        let pending = db.store.outbox("telegram").await.expect("outbox");
        assert_eq!(
            pending.iter().filter(|(_, _, sent)| !sent).count(),
            2,
            "kept for when the channel is fixed"
        );
        db.finish().await;
    }
}

/// A unit's message to its contact privately, when the bot may not write to
/// them (they never opened a chat with it): it goes to the contacts group
/// naming them, once, and so do the next ones, without trying again; the
/// admins are told once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_out_of_private_reach_reads_their_units_alerts_in_the_group() {
    for db in test_dbs("tg_private_reroute").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        telegram.script_error(
            CONTACT,
            403,
            "Forbidden: bot can't initiate conversation with a user",
            json!(null),
        );
        db.store
            .enqueue(&message(CONTACT, "【政务新媒体巡检】第一条"), at(NOW))
            .await
            .expect("enqueue");
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        let report = notifier.deliver_pending(at(NOW)).await.expect("deliver");
        assert_eq!(report.rerouted, 1, "{report:?}");
        notifier.deliver_pending(at(NOW)).await.expect("deliver");
        db.store
            .enqueue(&message(CONTACT, "【政务新媒体巡检】第二条"), at(NOW))
            .await
            .expect("enqueue");
        notifier.deliver_pending(at(NOW)).await.expect("deliver");
        notifier.deliver_pending(at(NOW)).await.expect("deliver");
        let sends = telegram.sends();
        let to = |chat: i64| -> Vec<String> {
            sends
                .iter()
                .filter(|c| c.params["chat_id"] == chat)
                .map(|c| c.params["text"].as_str().unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(to(CONTACT).len(), 1, "tried privately once: {sends:#?}");
        let group = to(CONTACTS);
        assert_eq!(group.len(), 2, "{group:#?}");
        for (text, which) in group.iter().zip(["第一条", "第二条"]) {
            assert!(
                text.starts_with("（无法私信送达李强，改发本群）") && text.contains(which),
                "{text}"
            );
            assert!(
                text.contains(&format!("tg://user?id={CONTACT}")),
                "the contact is mentioned in the group: {text}"
            );
        }
        let told: Vec<String> = to(ADMIN);
        assert_eq!(told.len(), 1, "the admins are told once: {told:#?}");
        assert!(told[0].contains("联系人李强无法私信"), "{}", told[0]);
        let pending = db.store.outbox("telegram").await.expect("outbox");
        assert!(
            pending
                .iter()
                .filter(|(to, _, _)| to == &CONTACTS.to_string())
                .all(|(_, _, sent)| *sent),
            "the group's copies went out: {pending:#?}"
        );
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migrated_group_is_followed() {
    for db in test_dbs("tg_migrate").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        telegram.script_error(
            CONTACTS,
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            json!({ "migrate_to_chat_id": -1009 }),
        );
        db.store
            .enqueue(&message(CONTACTS, "告警"), at(NOW))
            .await
            .expect("enqueue");
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        notifier.deliver_pending(at(NOW)).await.expect("deliver");
        notifier.deliver_pending(at(NOW)).await.expect("deliver");
        db.store
            .enqueue(&message(CONTACTS, "下一条"), at(NOW))
            .await
            .expect("enqueue");
        notifier.deliver_pending(at(NOW)).await.expect("deliver");
        let chats: Vec<i64> = telegram
            .sends()
            .iter()
            .filter_map(|c| c.params["chat_id"].as_i64())
            .collect();
        assert_eq!(chats, vec![CONTACTS, -1009, -1009]);
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_sending_loses_nothing_and_duplicates_at_most_that_message() {
    for db in test_dbs("tg_crash").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        for body in ["一", "二", "三"] {
            db.store
                .enqueue(&message(CONTACTS, body), at(NOW))
                .await
                .expect("enqueue");
        }
        telegram.hold_sends(Some(std::time::Duration::from_secs(30)));
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        let in_flight = tokio::spawn(async move { notifier.deliver_pending(at(NOW)).await });
        telegram.wait_for_sends(1).await;
        in_flight.abort(); // the process dies with the first send in flight
        let _ = in_flight.await;
        telegram.hold_sends(None);
        let restarted = Notifier::new(&settings, db.store.clone())
            .expect("notifier")
            .with_owner("restarted");
        // The dead daemon's claim runs out after its lease; then nothing is lost.
        let after_lease = at(NOW) + xunjian::notify::CLAIM_LEASE + chrono::Duration::seconds(1);
        assert_eq!(
            restarted
                .deliver_pending(after_lease)
                .await
                .expect("deliver")
                .sent,
            3
        );
        let texts: Vec<String> = telegram
            .sends()
            .iter()
            .map(|c| c.params["text"].as_str().unwrap_or("").to_string())
            .collect();
        let count = |needle: &str| texts.iter().filter(|t| t.starts_with(needle)).count();
        assert_eq!(
            (count("一"), count("二"), count("三")),
            (2, 1, 1),
            "{texts:#?}"
        );
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_commands_answer_admins_contacts_and_strangers_through_the_bot_api() {
    for db in test_dbs("tg_commands").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram);
        let app = App::open(settings.clone(), shipped_register())
            .await
            .expect("app");
        app.import(false, false, at(NOW)).await.expect("import");
        // Updates from different chats are handled concurrently, so commands
        // that depend on each other go in a second round.
        let first: Vec<(i64, &str, &str)> = vec![
            (ADMIN, "/whoami", "身份：管理员"),
            (CONTACT, "/whoami", "身份：联系人（区市政管理局）"),
            (STRANGER, "/whoami", "身份：未登记"),
            (CONTACT, "/list", "共 3 个账号"),
            (STRANGER, "/list", "抱歉，您没有执行此命令的权限"),
            (
                STRANGER,
                "/closing szls-wechat",
                "抱歉，您没有执行此命令的权限",
            ),
            (
                CONTACT,
                "/closing szls-wechat",
                "抱歉，您没有执行此命令的权限",
            ),
            (
                CONTACT,
                "/status lsfb-weibo",
                "账号「兰山发布」属于区政府办公室，不属于您的单位区市政管理局",
            ),
            (
                CONTACT,
                "/status szls-wechat",
                "区市政管理局「市政兰山」(微信订阅号)",
            ),
            (CONTACT, "/contacts lsq-szgl", "李强"),
            (CONTACT, "/ack szls-wechat", "没有待确认的告警"),
            (ADMIN, "/closing szls-wechat", "标记为正在注销"),
            (
                ADMIN,
                "/deregister lsfb-douyin 2026-13-01 x",
                "日期「2026-13-01」无效",
            ),
            (
                ADMIN,
                "/deregister lsfb-douyin 2026-11-01 临兰政办字〔2026〕9号",
                "标记为已注销",
            ),
            (ADMIN, "/reactivate lsjy-kuaishou", "标记为正常运维"),
            (
                ADMIN,
                "/register wechat rsshub:/weibo/user/1 x lsq-szgl",
                "未知平台「wechat」",
            ),
            (
                ADMIN,
                "/register douyin rsshub:/weibo/user/1 x lsq-szgl",
                "不适用于抖音",
            ),
            (
                ADMIN,
                "/register website http://169.254.169.254/latest x lsq-szgl",
                "不在允许范围内",
            ),
            (
                ADMIN,
                "/register weibo nohub:/weibo/user/1 x lsq-szgl",
                "未配置的代理「nohub」",
            ),
            (
                ADMIN,
                "/register weibo rsshub:/weibo/user/1 x nosuchunit",
                "未找到单位「nosuchunit」",
            ),
            (
                ADMIN,
                "/snooze szls-wechat 7d",
                "已暂停「市政兰山」的提醒至 ",
            ),
            (ADMIN, "/snooze szls-wechat 1y", "无法识别时长「1y」"),
            (STRANGER, "/bind lsq-yitang", "已提交申请 #1"),
            (ADMIN, "/frobnicate", "未知命令 /frobnicate"),
        ];
        let second: Vec<(i64, &str, &str)> = vec![
            (
                ADMIN,
                "/register weibo rsshub:/weibo/user/42 兰山 新闻 lsq-szgl",
                "已登记：lsq-szgl-weibo「兰山 新闻」",
            ),
            (ADMIN, "/approve 1", "已批准"),
            (
                ADMIN,
                "/report monthly 2026-10",
                "已生成《政务新媒体月度通报（2026年10月）》",
            ),
            (CONTACT, "/report monthly", "抱歉，您没有执行此命令的权限"),
        ];
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        let (shutdown, running) = crate::helpers::spawn_bot(&db.store, &settings);
        for (user, text, _) in &first {
            telegram.push_message(*user, "用户", text);
        }
        telegram.wait_for_sends(first.len()).await;
        for (user, text, _) in &second {
            telegram.push_message(*user, "用户", text);
        }
        let sends = telegram.wait_for_sends(first.len() + second.len()).await;
        shutdown.cancel();
        running
            .await
            .expect("the bot task")
            .expect("the bot stops cleanly on shutdown");

        assert!(telegram.calls().iter().any(|c| c.method == "setmycommands"));
        for user in [ADMIN, CONTACT, STRANGER] {
            let expected: Vec<(&str, &str)> = first
                .iter()
                .chain(&second)
                .filter(|(u, _, _)| *u == user)
                .map(|(_, text, reply)| (*text, *reply))
                .collect();
            let replies: Vec<&str> = sends
                .iter()
                .filter(|c| c.params["chat_id"] == user)
                .map(|c| c.params["text"].as_str().unwrap_or(""))
                .collect();
            assert_eq!(replies.len(), expected.len(), "{user}: {replies:#?}");
            for ((text, wanted), reply) in expected.iter().zip(&replies) {
                assert!(reply.contains(wanted), "{text} → {reply}");
            }
        }
        let register = db.store.load_register().await.expect("register");
        assert_eq!(
            register.account("szls-wechat").map(|a| a.state.id()),
            Some("closing")
        );
        assert_eq!(
            register.account("lsjy-kuaishou").map(|a| a.state.id()),
            Some("active")
        );
        assert!(register.account("lsq-szgl-weibo").is_some());
        let yitang = register.unit("lsq-yitang").expect("unit");
        assert!(
            yitang
                .contacts
                .iter()
                .any(|c| c.telegram_id == Some(STRANGER)),
            "bound by /approve"
        );
        let events = db
            .store
            .register_events(Some("szls-wechat"))
            .await
            .expect("events");
        let last = events.last().expect("chat change");
        assert_eq!(
            (last.source.as_str(), last.action.as_str()),
            ("chat", "update")
        );
        assert!(last.actor.starts_with(&format!("telegram:{ADMIN}")));
        let queued = db.store.outbox("telegram").await.expect("outbox");
        assert!(
            queued.iter().any(|(to, body, _)| to == &ADMIN.to_string()
                && body.starts_with("政务新媒体月度通报（2026年10月）")),
            "the report is queued for the admin with its files: {queued:?}"
        );
        // The bot queued it at the real clock, which may be past the test's NOW.
        let delivered = notifier
            .deliver_pending(chrono::Utc::now().max(at(NOW)))
            .await
            .expect("deliver");
        assert_eq!(delivered.retried, 0, "{delivered:?}");
        let methods: Vec<String> = telegram.calls().into_iter().map(|c| c.method).collect();
        assert!(methods.contains(&"senddocument".to_string()), "{methods:?}");
        // The 通报 as a Word document goes beside the spreadsheet.
        let documents: Vec<String> = telegram
            .calls()
            .into_iter()
            .filter(|c| c.method == "senddocument")
            .map(|c| String::from_utf8_lossy(&c.body).into_owned())
            .collect();
        for ext in [".docx\"", ".xlsx\""] {
            assert!(
                documents.iter().any(|d| d.contains(ext)),
                "no {ext} document sent"
            );
        }
        assert!(
            methods.contains(&"sendphoto".to_string())
                || !std::path::Path::new(xunjian::reports::chart::DEFAULT_FONT).exists()
        );
        let exported = app.export().await.expect("export");
        assert!(exported.contains("id = \"lsq-szgl-weibo\""));
        assert!(exported.contains("filing_ref = \"临兰政办字〔2026〕9号\""));
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_robots_are_signed_and_json_errors_are_failures() {
    let server = FeedServer::start().await;
    server.set(
        "/cgi-bin/webhook/send",
        Reply::ok("{\"errcode\":0,\"errmsg\":\"ok\"}"),
    );
    server.set(
        "/cgi-bin/webhook/upload_media",
        Reply::ok("{\"errcode\":0,\"errmsg\":\"ok\",\"type\":\"file\",\"media_id\":\"m-1\"}"),
    );
    server.set("/dingtalk", Reply::ok("{\"errcode\":0,\"errmsg\":\"ok\"}"));
    server.set("/feishu", Reply::ok("{\"code\":0,\"msg\":\"success\"}"));
    server.set(
        "/bad",
        Reply::ok("{\"errcode\":310000,\"errmsg\":\"sign not match\"}"),
    );
    for db in test_dbs("robots").await {
        let text = "[robots.office]\nkind = \"wecom\"\n[robots.ding]\nkind = \"dingtalk\"\n[robots.fs]\nkind = \"feishu\"\n[robots.bad]\nkind = \"dingtalk\"\n";
        let env = |key: &str| match key {
            "XUNJIAN_ROBOT_OFFICE_WEBHOOK" => Some(server.url("/cgi-bin/webhook/send?key=k")),
            "XUNJIAN_ROBOT_DING_WEBHOOK" => Some(server.url("/dingtalk?access_token=t")),
            "XUNJIAN_ROBOT_DING_SECRET" => Some("SECding".to_string()),
            "XUNJIAN_ROBOT_FS_WEBHOOK" => Some(server.url("/feishu")),
            "XUNJIAN_ROBOT_FS_SECRET" => Some("fs-secret".to_string()),
            "XUNJIAN_ROBOT_BAD_WEBHOOK" => Some(server.url("/bad?access_token=t")),
            _ => None,
        };
        let path = db.path("robots.toml");
        std::fs::write(&path, text).expect("write");
        let mut settings = Settings::load(Some(&path), &env).expect("settings");
        settings.database = db.settings.database.clone();
        for name in ["office", "ding", "fs", "bad"] {
            let m = Message {
                channel: xunjian::domain::Channel::Robot(name.into()),
                recipient: "-".into(),
                body: "【政务新媒体巡检】区市政管理局「市政兰山」已 15 天未更新".into(),
                mentions: vec![Mention {
                    name: "李强".into(),
                    telegram_id: None,
                    phone: Some("13800000000".into()),
                    feishu_open_id: None,
                }],
                is_urgent: false,
            };
            db.store.enqueue(&m, at(NOW)).await.expect("enqueue");
        }
        let report = Message {
            channel: xunjian::domain::Channel::Robot("office".into()),
            recipient: "-".into(),
            body: "政务新媒体月度通报".into(),
            mentions: Vec::new(),
            is_urgent: true,
        };
        let sheet = xunjian::storage::Attachment {
            name: "report.xlsx".into(),
            kind: xunjian::domain::FileKind::Document,
            data: b"PK-sheet".to_vec(),
        };
        db.store
            .enqueue_with_files(&report, &[sheet], at(NOW))
            .await
            .expect("enqueue");
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        let report = notifier.deliver_pending(at(NOW)).await.expect("deliver");
        assert_eq!(report.sent, 4, "{report:?}");
        assert_eq!(report.broken, vec!["robot:bad:-".to_string()]);
        let upload = server
            .seen("/cgi-bin/webhook/upload_media")
            .pop()
            .expect("the file was uploaded");
        assert!(upload.query.as_deref().unwrap_or("").contains("type=file"));
        assert!(String::from_utf8_lossy(&upload.body).contains("filename=\"report.xlsx\""));
        let sends = server.seen("/cgi-bin/webhook/send");
        let file_message: serde_json::Value =
            serde_json::from_slice(&sends.last().expect("file message").body).expect("json");
        assert_eq!(file_message["file"]["media_id"], "m-1");
        let note = notifier.deliver_pending(at(NOW)).await.expect("deliver");
        assert_eq!(
            note.sent, 1,
            "the admins hear of the broken robot (on the console here)"
        );

        let wecom = server
            .seen("/cgi-bin/webhook/send")
            .into_iter()
            .next()
            .expect("wecom call");
        let body: serde_json::Value = serde_json::from_slice(&wecom.body).expect("json");
        assert_eq!(body["msgtype"], "text");
        assert_eq!(body["text"]["mentioned_mobile_list"][0], "13800000000");

        let ding = server.seen("/dingtalk").pop().expect("dingtalk call");
        let query: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(ding.query.as_deref().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let ts: i64 = query["timestamp"].parse().expect("timestamp");
        assert_eq!(query["sign"], xunjian::notify::dingtalk_sign("SECding", ts));

        let fs = server.seen("/feishu").pop().expect("feishu call");
        let body: serde_json::Value = serde_json::from_slice(&fs.body).expect("json");
        let ts: i64 = body["timestamp"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("timestamp");
        assert_eq!(body["sign"], xunjian::notify::feishu_sign("fs-secret", ts));
        assert_eq!(
            body["content"]["text"],
            "【政务新媒体巡检】区市政管理局「市政兰山」已 15 天未更新"
        );
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspections_open_an_alert_once_remind_daily_and_recover() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    // A 2025 post only: the account is stale from the first inspection on.
    server.set(
        "/weibo/user/9",
        Reply::ok(crate::feed_server::feed_fixture("weibo_rsshub.xml")),
    );
    for db in test_dbs("alert_lifecycle").await {
        let mut settings = db.settings.clone();
        settings.alerts.is_quiet_enabled = false;
        let text = "[[unit]]\nid = \"u\"\nname = \"义堂镇\"\nkind = \"town\"\ncontacts = [{ name = \"周磊\", telegram_id = 5 }]\n\n\
                    [[account]]\nid = \"w\"\nunit = \"u\"\nname = \"义堂发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/9\"\n";
        let path = db.path("accounts.toml");
        std::fs::write(&path, text).expect("write");
        settings.proxies.get_mut("rsshub").expect("rsshub").url = server.base();
        let app = App::open(settings.clone(), path).await.expect("app");
        app.import(false, false, at("2026-10-01T09:00:00+08:00"))
            .await
            .expect("import");
        let inspector = xunjian::inspection::Inspector::new(db.store.clone(), settings.clone())
            .expect("inspector");
        let first = at("2026-12-15T09:00:00+08:00");
        inspector
            .run_once(first, true)
            .await
            .expect("first inspection");
        inspector
            .run_once(first + chrono::Duration::hours(1), true)
            .await
            .expect("an hour later");
        let console = db.store.outbox("console").await.expect("outbox");
        // One message per unit (the operator's finding has none), not repeated.
        assert_eq!(
            console.len(),
            2,
            "one grouped message per unit, not repeated: {console:#?}"
        );
        let open = db.store.open_alerts().await.expect("open alerts");
        let number = open
            .iter()
            .find(|a| a.rule == xunjian::rules::Rule::Stale2w)
            .expect("the stale alert")
            .id;
        // The unit's message: its own alerts only, its own numbers in the hint.
        let console: Vec<(String, String, bool)> = console
            .into_iter()
            .filter(|(_, body, _)| body.contains("义堂镇"))
            .collect();
        let lowest = open
            .iter()
            .filter(|a| a.unit_id.is_some())
            .map(|a| a.id)
            .min()
            .expect("an alert");
        assert!(
            console[0].1.contains(&format!(
                "• #{number} [超两周未更新] 义堂镇「义堂发布」(微博) 已 22 天未更新"
            )),
            "the digest numbers the alert by its id: {}",
            console[0].1
        );
        assert!(console[0].1.contains("请相关单位联系人及时处理：周磊"));
        assert!(
            console[0].1.contains(&format!(
                "回复 /ack {lowest} 确认（按告警号），/snooze {lowest} 3天 暂缓提醒。"
            )),
            "{}",
            console[0].1
        );
        // /status shows the same number, and /ack takes it.
        let commands = CommandContext::new(db.store.clone(), settings.clone());
        let zhou = xunjian::commands::Caller {
            user: xunjian::commands::UserId::Telegram(5),
            name: "周磊".into(),
            is_private_chat: true,
            bot_username: None,
            chat: None,
            is_addressed_to_bot: false,
        };
        let status = commands
            .handle(&zhou, "/status w", first)
            .await
            .expect("reply");
        assert!(
            status.contains(&format!("#{number} [超两周未更新]")),
            "{status}"
        );

        inspector
            .run_once(first + chrono::Duration::hours(25), true)
            .await
            .expect("next day");
        // The unit's own messages (the operator's finding goes in its own).
        let unit_messages = || async {
            db.store
                .outbox("console")
                .await
                .expect("outbox")
                .into_iter()
                .filter(|(_, body, _)| body.contains("义堂镇"))
                .collect::<Vec<(String, String, bool)>>()
        };
        let console = unit_messages().await;
        assert_eq!(console.len(), 2, "{console:#?}");
        assert!(console[1].1.contains("仍未整改（提醒"), "{}", console[1].1);
        assert!(
            console[1].1.contains("已 23 天未更新"),
            "reminders carry the current finding: {}",
            console[1].1
        );
        assert!(
            console[1]
                .1
                .contains(&format!("• #{number} [超两周未更新]")),
            "{}",
            console[1].1
        );
        let acked = commands
            .handle(&zhou, &format!("/ack {number}"), first)
            .await
            .expect("reply");
        assert!(acked.contains(&format!("已确认告警 #{number}")), "{acked}");
        inspector
            .run_once(first + chrono::Duration::hours(50), false)
            .await
            .expect("two days later");
        let console = unit_messages().await;
        assert!(
            console[2..]
                .iter()
                .all(|(_, body, _)| !body.contains(&format!("#{number} [超两周未更新]"))),
            "an acknowledged alert is not reminded: {console:#?}"
        );

        // The account posts again (a feed with today's post): the alert resolves.
        let fresh = String::from_utf8(crate::feed_server::feed_fixture("weibo_rsshub.xml"))
            .expect("utf-8")
            .replace(
                "Sun, 22 Nov 2026 02:30:00 GMT",
                "Wed, 16 Dec 2026 02:30:00 GMT",
            )
            .replace("Pb8x1A2b3", "PbNEW0001");
        server.set("/weibo/user/9", Reply::ok(fresh));
        let later = first + chrono::Duration::hours(51);
        let polled = xunjian::poll::Poller::new(&settings, db.store.clone())
            .expect("poller")
            .poll_accounts(&["w".to_string()], later, &|_, _| {})
            .await
            .expect("poll");
        assert_eq!(polled[0].new_posts, 1, "{polled:?}");
        inspector
            .run_once(later, false)
            .await
            .expect("after the post");
        let console = db.store.outbox("console").await.expect("outbox");
        assert!(
            console
                .last()
                .is_some_and(|(_, body, _)| body.contains("已恢复更新，中断 24 天")),
            "{console:#?}"
        );
        server.set(
            "/weibo/user/9",
            Reply::ok(crate::feed_server::feed_fixture("weibo_rsshub.xml")),
        );
        db.finish().await;
    }
}
