//! The chat as a clerk, a unit contact and a newcomer meet it: the real bot
//! against a fake Telegram Bot API, on SQLite and PostgreSQL.

use crate::fake_telegram::{Call, FakeTelegram};
use crate::helpers::{TestDb, at, shipped_register, test_dbs};
use serde_json::json;

use xunjian::alerts::{Candidate, Event};
use xunjian::app::App;
use xunjian::commands::COMMANDS;
use xunjian::config::{Secret, Settings};
use xunjian::notify::Notifier;
use xunjian::rules::{Rule, Severity};

const NOW: &str = "2026-11-24T10:00:00+08:00";
const ADMIN: i64 = 111;
/// 李强, a contact of 区市政管理局 (lsq-szgl) in the shipped register.
const CONTACT: i64 = 223456789;
const STRANGER: i64 = 333;
const OTHER_STRANGER: i64 = 444;
/// The contacts' group chat.
const GROUP: i64 = -200;
const REFUSAL: &str = "抱歉，您没有执行此命令的权限";

fn settings(db: &TestDb, telegram: &FakeTelegram) -> Settings {
    let mut settings = db.settings.clone();
    settings.telegram.token = Some(Secret::new("123456:TEST"));
    settings.telegram.api_url = Some(telegram.url.clone());
    settings.telegram.contacts_chat = Some(GROUP);
    settings.telegram.admins = vec![ADMIN];
    settings.telegram.is_throttled = false;
    // Conversations here send every command in a row; the chat budget is
    // tested in reliability.rs.
    settings.commands.per_user_per_minute = 1_000;
    settings
}

/// What the bot should answer to one message.
enum Expect {
    Contains(String),
    /// Answered; the test looks at the reply itself.
    Any,
    Silent,
}

/// One incoming message.
struct Said {
    chat: i64,
    user: i64,
    text: String,
    expect: Expect,
}

fn private(user: i64, text: &str, reply: &str) -> Said {
    Said {
        chat: user,
        user,
        text: text.to_string(),
        expect: Expect::Contains(reply.to_string()),
    }
}

fn in_group(user: i64, text: &str, expect: Expect) -> Said {
    Said {
        chat: GROUP,
        user,
        text: text.to_string(),
        expect,
    }
}

/// An app on the shipped register, its settings and the fake Bot API.
async fn start(db: &TestDb) -> (App, Settings, FakeTelegram) {
    let telegram = FakeTelegram::start().await;
    let settings = settings(db, &telegram);
    let app = App::open(settings.clone(), shipped_register())
        .await
        .expect("app");
    app.import(false, false, at(NOW)).await.expect("import");
    (app, settings, telegram)
}

/// Runs the bot; sends each round once the previous one is answered (a
/// chat's messages are handled in order, different chats concurrently);
/// checks every reply and returns each chat's replies.
async fn converse(
    db: &TestDb,
    settings: &Settings,
    telegram: &FakeTelegram,
    rounds: &[Vec<Said>],
) -> Vec<(i64, Vec<String>)> {
    let (shutdown, running) = crate::helpers::spawn_bot(&db.store, settings);
    let mut answered = 0;
    for round in rounds {
        for said in round {
            if said.chat == said.user {
                telegram.push_message(said.user, "用户", &said.text);
            } else {
                telegram.push_group_message(said.chat, said.user, "用户", &said.text);
            }
        }
        answered += round
            .iter()
            .filter(|s| !matches!(s.expect, Expect::Silent))
            .count();
        telegram.wait_for_sends(answered).await;
    }
    shutdown.cancel();
    running
        .await
        .expect("the bot task")
        .expect("the bot stops cleanly on shutdown");
    let sends: Vec<Call> = telegram.sends();
    assert_eq!(sends.len(), answered, "{sends:#?}");
    let mut chats: Vec<i64> = rounds.iter().flatten().map(|s| s.chat).collect();
    chats.sort_unstable();
    chats.dedup();
    let mut out = Vec::new();
    for chat in chats {
        let expected: Vec<&Said> = rounds
            .iter()
            .flatten()
            .filter(|s| s.chat == chat && !matches!(s.expect, Expect::Silent))
            .collect();
        let replies: Vec<String> = sends
            .iter()
            .filter(|c| c.params["chat_id"] == chat)
            .map(|c| c.params["text"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(replies.len(), expected.len(), "{chat}: {replies:#?}");
        for (said, reply) in expected.iter().zip(&replies) {
            if let Expect::Contains(wanted) = &said.expect {
                assert!(reply.contains(wanted.as_str()), "{} → {reply}", said.text);
            }
        }
        out.push((chat, replies));
    }
    out
}

fn replies_of(all: &[(i64, Vec<String>)], chat: i64) -> &[String] {
    all.iter()
        .find(|(c, _)| *c == chat)
        .map_or(&[], |(_, r)| r.as_slice())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_exactly_the_commands_each_role_may_use_with_an_example() {
    for db in test_dbs("chat_help").await {
        let (_app, settings, telegram) = start(&db).await;
        let mut round = Vec::new();
        for user in [ADMIN, CONTACT, STRANGER] {
            round.push(Said {
                chat: user,
                user,
                text: "/help".into(),
                expect: Expect::Any,
            });
            for command in COMMANDS.iter() {
                round.push(Said {
                    chat: user,
                    user,
                    text: format!("/{}", command.name),
                    expect: Expect::Any,
                });
            }
        }
        let replies = converse(&db, &settings, &telegram, &[round]).await;
        for user in [ADMIN, CONTACT, STRANGER] {
            let replies = replies_of(&replies, user);
            let help = &replies[0];
            let listed: Vec<&str> = help
                .lines()
                .filter(|l| l.starts_with('/'))
                // "/通报（/report）— …": the Chinese name, then the command's own.
                .filter_map(|l| l.split("（/").nth(1))
                .filter_map(|l| l.split('）').next())
                .collect();
            assert_eq!(
                help.matches("例：/").count(),
                listed.len(),
                "one example each: {help}"
            );
            for (command, reply) in COMMANDS.iter().zip(&replies[1..]) {
                let is_refused = reply.starts_with(REFUSAL);
                assert_eq!(
                    listed.contains(&command.name),
                    !is_refused,
                    "{user} /{}: help lists it iff it is allowed; reply {reply}; help {help}",
                    command.name
                );
            }
        }
        let admin_help = &replies_of(&replies, ADMIN)[0];
        assert!(
            admin_help.contains("/通报（/report）— ")
                && admin_help.contains("例：/report monthly 2026-10"),
            "{admin_help}"
        );
        let stranger_help = &replies_of(&replies, STRANGER)[0];
        assert!(
            stranger_help.contains("（/units）") && !stranger_help.contains("（/list）"),
            "{stranger_help}"
        );
        let registered = telegram
            .calls()
            .into_iter()
            .find(|c| c.method == "setmycommands")
            .expect("setMyCommands");
        let names: Vec<&str> = registered.params["commands"]
            .as_array()
            .expect("commands")
            .iter()
            .filter_map(|c| c["command"].as_str())
            .collect();
        let wanted: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        assert_eq!(names, wanted);
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_is_greeted_finds_a_unit_id_binds_and_hears_the_decision() {
    for db in test_dbs("chat_newcomer").await {
        let (_app, settings, telegram) = start(&db).await;
        let rounds = vec![
            vec![
                private(STRANGER, "/start", "发送 /bind 单位ID（或单位名称）"),
                private(STRANGER, "你好", "发送 /绑定 单位名称"),
                private(STRANGER, "/units", "lsq-yitang 义堂镇（镇街）"),
                private(STRANGER, "/bind 义堂镇", "已提交申请 #1"),
                in_group(CONTACT, "大家好，今天的通报看了吗", Expect::Silent),
                in_group(
                    CONTACT,
                    "@xunjian_bot 在吗",
                    Expect::Contains("您是区市政管理局的联系人".into()),
                ),
                private(CONTACT, "/start", "您是区市政管理局的联系人"),
            ],
            vec![private(OTHER_STRANGER, "/bind 柳青", "已提交申请 #2")],
            vec![
                private(ADMIN, "/approve 1", "已通知申请人"),
                private(ADMIN, "/refuse 2 非本单位人员", "已拒绝"),
                private(ADMIN, "/refuse 2", "没有待处理的申请 #2"),
            ],
            vec![private(STRANGER, "/whoami", "联系人（义堂镇）")],
        ];
        converse(&db, &settings, &telegram, &rounds).await;
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        notifier
            .deliver_pending(chrono::Utc::now().max(at(NOW)))
            .await
            .expect("deliver");
        let told = |user: i64| -> Vec<String> {
            telegram
                .sends()
                .iter()
                .filter(|c| c.params["chat_id"] == user)
                .map(|c| c.params["text"].as_str().unwrap_or("").to_string())
                .collect()
        };
        assert!(
            told(STRANGER)
                .iter()
                .any(|t| t.contains("您的申请 #1 已获批准：您已成为义堂镇的联系人")),
            "{:#?}",
            told(STRANGER)
        );
        assert!(
            told(OTHER_STRANGER)
                .iter()
                .any(|t| t.contains("申请 #2 未获批准。理由：非本单位人员。")),
            "{:#?}",
            told(OTHER_STRANGER)
        );
        db.finish().await;
    }
}

/// Opens a stale alert on szls-wechat (区市政管理局) and a proxy alert; returns their numbers.
async fn open_alerts(db: &TestDb) -> (i64, i64) {
    let stale = Candidate {
        subject: "szls-wechat".into(),
        family: "stale".into(),
        rule: Rule::Stale2w,
        severity: Severity::Failure,
        unit_id: Some("lsq-szgl".into()),
        message: "区市政管理局「市政兰山」(微信订阅号) 已 15 天未更新".into(),
        evidence: json!({ "last_post_at": "2026-11-09T09:00:00+08:00" }),
        last_post_at: None,
        alert_id: None,
    };
    let proxy = Candidate {
        subject: "proxy:wewe".into(),
        family: "proxy_down".into(),
        rule: Rule::ProxyDown,
        severity: Severity::Operator,
        unit_id: None,
        message: "监测代理 wewe 不可用".into(),
        evidence: json!({ "proxy": "wewe" }),
        last_post_at: None,
        alert_id: None,
    };
    let numbered = db
        .store
        .commit_alerts(
            &[Event::Opened(stale), Event::Opened(proxy)],
            &|_| Vec::new(),
            at(NOW),
        )
        .await
        .expect("alerts");
    let ids: Vec<i64> = numbered.iter().filter_map(Event::alert_id).collect();
    (ids[0], ids[1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinese_names_and_alert_numbers_are_arguments_and_the_register_is_guarded() {
    for db in test_dbs("chat_arguments").await {
        let (app, settings, telegram) = start(&db).await;
        let (stale, proxy) = open_alerts(&db).await;
        let rounds = vec![vec![
            private(ADMIN, "/list 义堂镇", "共 2 个账号"),
            private(ADMIN, "/list 微博", "yitang-weibo 义堂镇政府（微博"),
            private(ADMIN, "/list 公众号", "szls-wechat 市政兰山（微信订阅号"),
            private(ADMIN, "/list 不存在的单位", "既不是单位"),
            private(ADMIN, "/contacts 义堂", "周磊"),
            private(
                CONTACT,
                &format!("/ack {stale}"),
                &format!("已确认告警 #{stale}"),
            ),
            private(
                CONTACT,
                &format!("/status {stale}"),
                &format!(
                    "#{stale} [超两周未更新] 区市政管理局「市政兰山」(微信订阅号) 已 15 天未更新（已确认）"
                ),
            ),
            private(
                CONTACT,
                &format!("/ack #{proxy}"),
                &format!("告警 #{proxy}是系统运行告警，由管理员处理"),
            ),
            // A second /ack says who did it, and when.
            private(CONTACT, &format!("/确认 {stale}"), "无需再次确认"),
            private(CONTACT, "/ack 999", "告警 #999 不存在或已恢复"),
            private(CONTACT, "/list 头条", "szls-toutiao"),
            private(STRANGER, &format!("/ack {stale}"), REFUSAL),
            private(
                ADMIN,
                &format!("/snooze {proxy} 3天"),
                &format!("已暂停告警 #{proxy} 所属的「proxy:wewe」的提醒至"),
            ),
            private(
                ADMIN,
                "/snooze szls-wechat 2周",
                "已暂停「市政兰山」的提醒至",
            ),
            private(
                ADMIN,
                "/register 抖音 rsshub:/douyin/user/MS4wLjABAAAA 义堂抖音 义堂镇",
                "已登记：lsq-yitang-douyin「义堂抖音」（抖音）",
            ),
            private(
                ADMIN,
                "/register 微博 rsshub:/weibo/user/1234567890 又一个 义堂镇",
                "该来源已登记为账号 lsfb-weibo「兰山发布」",
            ),
            private(
                ADMIN,
                "/deregister lsfb-douyin 2099-01-01 临兰政办字〔2099〕1号",
                "注销日期 2099-01-01 晚于今天",
            ),
            private(
                ADMIN,
                "/deregister lsfb-douyin 2026-11-01 临兰政办字〔2026〕9号",
                "标记为已注销（注销日期 2026-11-01，备案文号 临兰政办字〔2026〕9号）",
            ),
            private(
                ADMIN,
                "/deregister lsfb-douyin 2026-11-02 另一个文号",
                "已于 2026-11-01 注销备案（临兰政办字〔2026〕9号），不能重复注销",
            ),
        ]];
        converse(&db, &settings, &telegram, &rounds).await;
        let silences = db.store.silences().await.expect("silences");
        assert!(silences.contains_key("proxy:wewe") && silences.contains_key("szls-wechat"));
        let exported = app.export().await.expect("export");
        assert!(exported.contains("id = \"lsq-yitang-douyin\""));
        assert!(!exported.contains("又一个"));
        assert!(exported.contains("filing_ref = \"临兰政办字〔2026〕9号\""));
        assert!(!exported.contains("另一个文号"));
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_without_arguments_is_guided_step_by_step() {
    for db in test_dbs("chat_guided").await {
        let (app, settings, telegram) = start(&db).await;
        let rounds = vec![vec![
            private(ADMIN, "/register", "第 1 步（共 3 步）：选择平台"),
            private(ADMIN, "3", "第 2 步（共 3 步）：选择单位"),
            private(ADMIN, "义堂镇", "第 3 步（共 3 步）：义堂镇的微博账号"),
            private(
                ADMIN,
                "rsshub:/weibo/user/77 义堂新闻",
                "已登记：lsq-yitang-weibo「义堂新闻」（微博）",
            ),
            private(ADMIN, "2", "我只接受命令"),
            private(ADMIN, "/register 抖音", "第 2 步"),
            private(ADMIN, "99", "未找到单位「99」"),
            private(
                ADMIN,
                "5",
                "第 3 步（共 3 步）：柳青街道的抖音账号。请回复 来源 名称，如：\nrsshub:/douyin/user/",
            ),
            private(ADMIN, "rsshub:/weibo/user/78 错平台", "不适用于抖音"),
            private(
                ADMIN,
                "rsshub:/weibo/user/78 错平台",
                "请重新发送来源和名称",
            ),
            private(ADMIN, "取消", "已取消登记"),
            private(ADMIN, "1", "我只接受命令"),
            private(ADMIN, "/register 公众号 区市政管理局", "第 3 步"),
            private(ADMIN, "/cancel", "已取消登记"),
            private(CONTACT, "/register", REFUSAL),
            private(CONTACT, "1", "本单位目前没有未处理的告警和整改事项"),
            in_group(ADMIN, "/register", Expect::Contains("私聊本机器人".into())),
        ]];
        converse(&db, &settings, &telegram, &rounds).await;
        let exported = app.export().await.expect("export");
        assert!(
            exported.contains("route = \"/weibo/user/77\""),
            "{exported}"
        );
        assert!(!exported.contains("/weibo/user/78"));
        db.finish().await;
    }
}

/// `/登录` through the Bot API: privately the link itself; in the group only
/// word that it was sent privately (queued for the delivery pass), never the
/// link; a stranger is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_links_are_given_privately_and_never_in_the_group() {
    for db in test_dbs("chat_login").await {
        let (_app, settings, telegram) = start(&db).await;
        let round = vec![
            Said {
                chat: CONTACT,
                user: CONTACT,
                text: "/登录".into(),
                expect: Expect::Contains("10 分钟内有效".into()),
            },
            in_group(CONTACT, "/login", Expect::Contains("已私信发送".into())),
            Said {
                chat: STRANGER,
                user: STRANGER,
                text: "/登录".into(),
                expect: Expect::Contains(REFUSAL.into()),
            },
        ];
        let replies = converse(&db, &settings, &telegram, &[round]).await;
        let private = &replies_of(&replies, CONTACT)[0];
        assert!(
            private.contains("http://127.0.0.1:9464/login/"),
            "{private}"
        );
        let group = &replies_of(&replies, GROUP)[0];
        assert!(!group.contains("/login/"), "{group}");
        let queued = db.store.outbox("telegram").await.expect("outbox");
        let links: Vec<_> = queued
            .iter()
            .filter(|(_, body, _)| body.contains("/login/"))
            .collect();
        assert_eq!(links.len(), 1, "{queued:?}");
        assert_eq!(links[0].0, CONTACT.to_string(), "to 李强 privately");
        db.finish().await;
    }
}
