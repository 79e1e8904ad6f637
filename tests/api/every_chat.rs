//! One conversation, held on every chat the offices use — Telegram, DingTalk
//! and Feishu — each through its real protocol against a local fake (the Bot
//! API; DingTalk Stream + the robot send API; Feishu's protobuf long
//! connection + the message API), on SQLite and PostgreSQL:
//!
//! a newcomer binds and hears the decision on the chat they asked from; the
//! admin gets the request on theirs; an inspection's alert reaches the
//! contacts' group numbered; the new contact reads the status, acks, snoozes
//! and answers the 整改 notice; an admin registers and deregisters.

use crate::fake_dingtalk::{FakeGateway, Socket, assert_acked, exchange, robot_message_in};
use crate::fake_telegram::FakeTelegram;
use crate::feed_server::{FeedServer, Reply};
use crate::feishu::{Call, FakeFeishu};
use crate::helpers::{TestDb, test_dbs};
use chrono::{Datelike as _, Duration, Utc};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use xunjian::app::App;
use xunjian::commands::CommandContext;
use xunjian::config::{Secret, Settings};
use xunjian::health::Health;
use xunjian::inspection::Inspector;
use xunjian::notify::Notifier;
use xunjian::reports::ReportKind;

const REFUSAL: &str = "抱歉，您没有执行此命令的权限";

/// 义堂镇 has no contact yet; its account `w` stopped posting 40 days ago.
/// 柳青街道's contact 王敏 is known by phone only (no chat reaches her
/// privately); its account `x` stopped 20 days ago.
const REGISTER: &str = "[[unit]]\nid = \"u1\"\nname = \"义堂镇\"\nkind = \"town\"\n\n\
    [[unit]]\nid = \"u2\"\nname = \"柳青街道\"\nkind = \"town\"\ncontacts = [{ name = \"王敏\", phone = \"13800000000\" }]\n\n\
    [[account]]\nid = \"w\"\nunit = \"u1\"\nname = \"义堂发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/9\"\n\n\
    [[account]]\nid = \"x\"\nunit = \"u2\"\nname = \"柳青发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/8\"\n";

/// An RSSHub weibo feed whose newest post is `days` old.
fn feed_with_last_post(title: &str, days: i64) -> String {
    let posted = (Utc::now() - Duration::days(days)).to_rfc2822();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{title}的微博</title>\
         <link>https://weibo.com/9</link><description>weibo</description>\
         <item><title>秋季护林防火提示</title><description>秋季护林防火提示，请广大群众注意用火安全。</description>\
         <link>https://weibo.com/9/1</link><guid>https://weibo.com/9/1</guid><pubDate>{posted}</pubDate></item>\
         </channel></rss>"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Newcomer,
}

fn telegram_id(who: Who) -> i64 {
    match who {
        Who::Admin => TELEGRAM_ADMIN,
        Who::Newcomer => TELEGRAM_NEWCOMER,
    }
}

fn dingtalk_id(who: Who) -> &'static str {
    match who {
        Who::Admin => DINGTALK_ADMIN,
        Who::Newcomer => DINGTALK_NEWCOMER,
    }
}

fn feishu_id(who: Who) -> &'static str {
    match who {
        Who::Admin => FEISHU_ADMIN,
        Who::Newcomer => FEISHU_NEWCOMER,
    }
}

/// One chat platform, its fake, and the running client that answers there.
enum Chat {
    Telegram {
        fake: FakeTelegram,
        stop: CancellationToken,
        running: JoinHandle<()>,
    },
    Dingtalk {
        fake: Box<FakeGateway>,
        socket: Box<Socket>,
        stop: CancellationToken,
        running: JoinHandle<()>,
        frames: u32,
    },
    Feishu {
        fake: Box<FakeFeishu>,
        socket: Box<crate::feishu::Socket>,
        stop: CancellationToken,
        running: JoinHandle<()>,
        frames: u32,
        /// What the bot sent through the message API: (receive_id, text).
        sent: Vec<(String, String)>,
    },
}

const TELEGRAM_ADMIN: i64 = 111;
const TELEGRAM_NEWCOMER: i64 = 333;
const TELEGRAM_GROUP: i64 = -200;
const DINGTALK_ADMIN: &str = "staff-admin";
const DINGTALK_NEWCOMER: &str = "staff-new";
const DINGTALK_GROUP: &str = "cid-contacts==";
const FEISHU_ADMIN: &str = "ou_admin";
const FEISHU_NEWCOMER: &str = "ou_newcomer";
const FEISHU_GROUP: &str = "oc_contacts";

/// An `im.message.receive_v1` event from `sender` in a one-to-one chat or the group.
fn feishu_event(id: u32, sender: &str, text: &str, is_in_group: bool) -> Vec<u8> {
    let (chat, kind) = if is_in_group {
        (FEISHU_GROUP.to_string(), "group")
    } else {
        (format!("oc_p2p_{sender}"), "p2p")
    };
    serde_json::json!({
        "schema": "2.0",
        "header": {
            "event_id": format!("ev-{id}"),
            "event_type": "im.message.receive_v1",
            "create_time": "1764000000000",
            "app_id": crate::feishu::APP_ID,
            "tenant_key": "tenant-1"
        },
        "event": {
            "sender": { "sender_id": { "open_id": sender }, "sender_type": "user" },
            "message": {
                "message_id": format!("om_{id}"),
                "chat_id": chat,
                "chat_type": kind,
                "message_type": "text",
                "content": serde_json::json!({ "text": text }).to_string(),
            }
        }
    })
    .to_string()
    .into_bytes()
}

impl Chat {
    fn name(&self) -> &'static str {
        match self {
            Chat::Telegram { .. } => "telegram",
            Chat::Dingtalk { .. } => "dingtalk",
            Chat::Feishu { .. } => "feishu",
        }
    }

    /// Starts the fake and the client of `platform` with settings that make
    /// it the only chat: its admins, its contacts' group.
    async fn start(platform: &str, db: &TestDb, base: &Settings) -> (Chat, Settings) {
        let mut settings = base.clone();
        match platform {
            "telegram" => {
                let fake = FakeTelegram::start().await;
                settings.telegram.token = Some(Secret::new("123456:TEST"));
                settings.telegram.api_url = Some(fake.url.clone());
                settings.telegram.contacts_chat = Some(TELEGRAM_GROUP);
                settings.telegram.admins = vec![TELEGRAM_ADMIN];
                settings.telegram.is_throttled = false;
                let context = Arc::new(CommandContext::new(db.store.clone(), settings.clone()));
                let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
                let bot = notifier.telegram().expect("telegram").bot.clone();
                let stop = CancellationToken::new();
                let run =
                    xunjian::commands::bot::run_bot(bot, context, Health::default(), stop.clone());
                let running = tokio::spawn(async move {
                    run.await.expect("the client stops without an error");
                });
                (
                    Chat::Telegram {
                        fake,
                        stop,
                        running,
                    },
                    settings,
                )
            }
            "feishu" => {
                // Pings an hour apart: the conversation answers the first.
                let mut fake = FakeFeishu::start(3600).await;
                settings.feishu.app_id = Some(crate::feishu::APP_ID.into());
                settings.feishu.app_secret = Some(Secret::new(crate::feishu::SECRET));
                settings.feishu.base_url = fake.url.clone();
                settings.feishu.admins = vec![FEISHU_ADMIN.into()];
                settings.feishu.contacts_chat = Some(FEISHU_GROUP.into());
                let context = Arc::new(CommandContext::new(db.store.clone(), settings.clone()));
                let client =
                    xunjian::commands::feishu::LongConnection::new(context, Health::default())
                        .expect("client")
                        .expect("credentials");
                let stop = CancellationToken::new();
                let run = client.run(stop.clone());
                let running = tokio::spawn(async move {
                    run.await.expect("the client stops without an error");
                });
                let (_, _, _, mut socket) = fake.next_connection().await;
                crate::feishu::expect_ping(&mut socket).await;
                crate::feishu::send_frame(&mut socket, &crate::feishu::pong()).await;
                (
                    Chat::Feishu {
                        fake: Box::new(fake),
                        socket: Box::new(socket),
                        stop,
                        running,
                        frames: 0,
                        sent: Vec::new(),
                    },
                    settings,
                )
            }
            _ => {
                let mut fake = FakeGateway::start().await;
                settings.dingtalk.client_id = Some("ding-app-key".into());
                settings.dingtalk.client_secret = Some(Secret::new("ding-secret"));
                settings.dingtalk.gateway_url = fake.url.clone();
                settings.dingtalk.oapi_url = fake.url.clone();
                settings.dingtalk.admins = vec![DINGTALK_ADMIN.into()];
                settings.dingtalk.contacts_chat = Some(DINGTALK_GROUP.into());
                let context = Arc::new(CommandContext::new(db.store.clone(), settings.clone()));
                let client =
                    xunjian::commands::dingtalk::StreamClient::new(context, Health::default())
                        .expect("client")
                        .expect("credentials");
                let stop = CancellationToken::new();
                let run = client.run(stop.clone());
                let running = tokio::spawn(async move {
                    run.await.expect("the client stops without an error");
                });
                let (_, _, socket) = fake.next_connection().await;
                (
                    Chat::Dingtalk {
                        fake: Box::new(fake),
                        socket: Box::new(socket),
                        stop,
                        running,
                        frames: 0,
                    },
                    settings,
                )
            }
        }
    }

    /// `who` writes `text` to the bot privately (or in the contacts' group);
    /// returns the bot's answer.
    async fn say(&mut self, who: Who, text: &str, is_in_group: bool) -> String {
        match self {
            Chat::Telegram { fake, .. } => {
                let user = telegram_id(who);
                let chat = if is_in_group { TELEGRAM_GROUP } else { user };
                let before = fake.sends().len();
                if is_in_group {
                    fake.push_group_message(chat, user, "用户", text);
                } else {
                    fake.push_message(user, "张新", text);
                }
                let sends = fake.wait_for_sends(before + 1).await;
                sends[before..]
                    .iter()
                    .find(|c| c.params["chat_id"] == chat)
                    .and_then(|c| c.params["text"].as_str())
                    .unwrap_or_default()
                    .to_string()
            }
            Chat::Dingtalk {
                fake,
                socket,
                frames,
                ..
            } => {
                let staff = dingtalk_id(who);
                *frames += 1;
                let id = format!("m-{frames}");
                let session = format!("s-{frames}");
                let group = is_in_group.then_some(DINGTALK_GROUP);
                let frame = robot_message_in(&id, staff, text, &fake.webhook(&session), group);
                assert_acked(&exchange(socket, frame).await, &id);
                let (to, reply) = fake.next_reply().await;
                assert_eq!(
                    to, session,
                    "the reply goes to the message's session webhook"
                );
                reply
            }
            Chat::Feishu {
                fake,
                socket,
                frames,
                sent,
                ..
            } => {
                drain(fake, sent);
                let user = feishu_id(who);
                *frames += 1;
                let id = format!("f-{frames}");
                let event = feishu_event(*frames, user, text, is_in_group);
                crate::feishu::send_frame(socket, &crate::feishu::data_frame(&id, 1, 0, &event))
                    .await;
                crate::feishu::assert_acked(&crate::feishu::next_frame(socket).await, &id);
                let (message_id, bearer, reply) = fake.next_reply().await;
                assert_eq!(message_id, format!("om_{frames}"), "a reply to the message");
                assert!(bearer.starts_with("t-"), "with the tenant token: {bearer}");
                reply
            }
        }
    }

    /// What the daemon sent `who` privately, in order.
    fn told(&mut self, who: Who) -> Vec<String> {
        match self {
            Chat::Telegram { fake, .. } => {
                let user = telegram_id(who);
                texts_to(fake, user)
            }
            Chat::Dingtalk { fake, .. } => fake.sent_to(&format!("user:{}", dingtalk_id(who))),
            Chat::Feishu { fake, sent, .. } => {
                drain(fake, sent);
                let open_id = feishu_id(who);
                texts_of(sent, open_id)
            }
        }
    }

    /// The names of the files the daemon sent `who` privately.
    fn files(&mut self, who: Who) -> Vec<String> {
        match self {
            Chat::Telegram { fake, .. } => {
                let chat = telegram_id(who);
                fake.calls()
                    .into_iter()
                    .filter(|c| matches!(c.method.as_str(), "senddocument" | "sendphoto"))
                    .map(|c| String::from_utf8_lossy(&c.body).into_owned())
                    .filter(|body| body.contains(&format!("\r\n\r\n{chat}\r\n")))
                    .filter_map(|body| {
                        let name = body.split("filename=\"").nth(1)?.split('"').next()?;
                        Some(name.to_string())
                    })
                    .collect()
            }
            Chat::Dingtalk { fake, .. } => {
                let staff = dingtalk_id(who);
                fake.files_to(&format!("user:{staff}"))
                    .into_iter()
                    .map(|(name, kind, head)| {
                        if name.ends_with(".png") {
                            assert!(kind == "image" && head.contains("PNG"), "{name}: {head}");
                        } else {
                            assert!(kind == "file" && head.starts_with("PK"), "{name}: {head}");
                        }
                        name
                    })
                    .collect()
            }
            Chat::Feishu { fake, sent, .. } => {
                drain(fake, sent);
                let open_id = feishu_id(who);
                texts_of(sent, open_id)
                    .into_iter()
                    .filter_map(|t| {
                        t.strip_prefix("[file] ")
                            .or(t.strip_prefix("[image] "))
                            .map(str::to_string)
                    })
                    .collect()
            }
        }
    }

    /// What the daemon sent the contacts' group, in order.
    fn group(&mut self) -> Vec<String> {
        match self {
            Chat::Telegram { fake, .. } => texts_to(fake, TELEGRAM_GROUP),
            Chat::Dingtalk { fake, .. } => fake.sent_to(&format!("group:{DINGTALK_GROUP}")),
            Chat::Feishu { fake, sent, .. } => {
                drain(fake, sent);
                texts_of(sent, FEISHU_GROUP)
            }
        }
    }

    /// How the chat names the newcomer to the admins.
    fn newcomer_label(&self) -> String {
        match self {
            Chat::Telegram { .. } => format!("Telegram ID：{TELEGRAM_NEWCOMER}"),
            Chat::Dingtalk { .. } => format!("钉钉 staffId：{DINGTALK_NEWCOMER}"),
            Chat::Feishu { .. } => format!("飞书 open_id：{FEISHU_NEWCOMER}"),
        }
    }

    /// A group message to the bot: Telegram needs `@bot`; DingTalk delivers
    /// only messages that @-mention the robot, without the mention.
    fn to_bot(&self, text: &str) -> String {
        match self {
            Chat::Telegram { .. } => format!("@xunjian_bot {text}"),
            Chat::Dingtalk { .. } => format!(" {text}"),
            // Feishu puts a placeholder where the mention was.
            Chat::Feishu { .. } => format!("@_user_1 {text}"),
        }
    }

    fn group_id(&self) -> String {
        match self {
            Chat::Telegram { .. } => TELEGRAM_GROUP.to_string(),
            Chat::Dingtalk { .. } => DINGTALK_GROUP.to_string(),
            Chat::Feishu { .. } => FEISHU_GROUP.to_string(),
        }
    }

    async fn stop(self) {
        let (stop, running) = match self {
            Chat::Telegram { stop, running, .. }
            | Chat::Dingtalk { stop, running, .. }
            | Chat::Feishu { stop, running, .. } => (stop, running),
        };
        stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(10), running)
            .await
            .expect("the client stops")
            .expect("no panic");
    }
}

/// The alert number in a message's "/ack N" hint.
fn number_in(text: &str) -> String {
    text.split(" /ack ")
        .nth(1)
        .map(|r| r.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_default()
}

fn texts_to(fake: &FakeTelegram, chat: i64) -> Vec<String> {
    fake.sends()
        .iter()
        .filter(|c| c.params["chat_id"] == chat)
        .map(|c| c.params["text"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Moves what the Feishu bot sent through the message API (delivered
/// alerts and notes) out of the fake's call log, checking how it was sent.
fn drain(fake: &mut FakeFeishu, sent: &mut Vec<(String, String)>) {
    while let Ok(call) = fake.calls.try_recv() {
        match call {
            Call::Send {
                receive_id_type,
                bearer,
                body,
            } => {
                let id = body["receive_id"].as_str().unwrap_or_default().to_string();
                let expected = if id.starts_with("oc_") {
                    "chat_id"
                } else {
                    "open_id"
                };
                assert_eq!(receive_id_type, expected, "{body}");
                assert!(bearer.starts_with("t-"), "{bearer}");
                assert!(
                    body["uuid"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("xunjian-")),
                    "an outbox step carries its idempotency uuid: {body}"
                );
                let content: serde_json::Value =
                    serde_json::from_str(body["content"].as_str().unwrap_or("{}"))
                        .expect("content is JSON");
                // Files are recorded as "[file] NAME" / "[image] NAME".
                let text = match body["msg_type"].as_str() {
                    Some("file") => format!(
                        "[file] {}",
                        content["file_key"]
                            .as_str()
                            .unwrap_or("")
                            .trim_start_matches("file_")
                    ),
                    Some("image") => format!(
                        "[image] {}",
                        content["image_key"]
                            .as_str()
                            .unwrap_or("")
                            .trim_start_matches("img_")
                    ),
                    _ => content["text"].as_str().unwrap_or("").to_string(),
                };
                sent.push((id, text));
            }
            Call::Upload {
                path,
                bearer,
                parts,
            } => {
                assert!(path.starts_with("/open-apis/im/v1/"), "{path}");
                assert!(bearer.starts_with("t-"), "{bearer}");
                assert!(
                    parts
                        .iter()
                        .any(|p| p.file_name.is_some() && !p.data.is_empty()),
                    "an upload carries its file: {parts:?}"
                );
            }
            Call::Token(_) => {}
            other => panic!("unexpected call outside a conversation turn: {other:?}"),
        }
    }
}

fn texts_of(sent: &[(String, String)], to: &str) -> Vec<String> {
    sent.iter()
        .filter(|(id, _)| id == to)
        .map(|(_, text)| text.clone())
        .collect()
}

fn assert_has(texts: &[String], wanted: &str, what: &str) {
    assert!(
        texts.iter().any(|t| t.contains(wanted)),
        "{what}: no message contains {wanted:?}: {texts:#?}"
    );
}

/// The conversation on one chat platform and one database.
async fn converse(platform: &str, db: &TestDb, feeds: &FeedServer) {
    let mut base = db.settings.clone();
    base.alerts.is_quiet_enabled = false;
    base.proxies.get_mut("rsshub").expect("rsshub").url = feeds.base();
    let (mut chat, settings) = Chat::start(platform, db, &base).await;
    let name = chat.name();
    let path = db.path(&format!("accounts-{name}.toml"));
    std::fs::write(&path, REGISTER).expect("write register");
    let app = App::open(settings.clone(), path).await.expect("app");
    app.import(false, false, Utc::now()).await.expect("import");
    let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
    let deliver = || async {
        notifier
            .deliver_pending(Utc::now() + Duration::minutes(10))
            .await
            .expect("deliver")
    };

    // A newcomer binds; the admin hears of it on their chat and approves;
    // the newcomer hears the decision on theirs.
    let reply = chat.say(Who::Newcomer, "/start", false).await;
    assert!(reply.contains("/bind"), "{name}: {reply}");
    let reply = chat.say(Who::Newcomer, "/bind 义堂镇 张新", false).await;
    assert!(reply.contains("已提交申请 #"), "{name}: {reply}");
    let request = reply
        .split("申请 #")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .expect("a request number")
        .to_string();
    deliver().await;
    let told = chat.told(Who::Admin);
    assert_has(&told, "申请成为义堂镇的联系人", name);
    assert_has(&told, &chat.newcomer_label(), name);
    let reply = chat
        .say(Who::Admin, &format!("/approve {request}"), false)
        .await;
    assert!(reply.contains("已通知申请人"), "{name}: {reply}");
    deliver().await;
    assert_has(
        &chat.told(Who::Newcomer),
        "已获批准：您已成为义堂镇的联系人",
        name,
    );
    let reply = chat.say(Who::Newcomer, "/whoami", false).await;
    assert!(reply.contains("联系人（义堂镇）"), "{name}: {reply}");

    // An inspection finds both units' accounts silent. Each unit hears only
    // of its own: 义堂镇's new contact privately, 柳青街道 (no private chat)
    // in the shared group naming 王敏; the admin reads one summary.
    let inspector = Inspector::new(db.store.clone(), settings.clone()).expect("inspector");
    inspector
        .run_once(Utc::now(), true)
        .await
        .expect("inspection");
    deliver().await;
    let mine = chat.told(Who::Newcomer);
    let alert = mine
        .iter()
        .find(|t| t.contains("义堂发布") && t.contains(" /ack "))
        .unwrap_or_else(|| panic!("{name}: no numbered alert for 义堂镇's contact: {mine:#?}"))
        .clone();
    let number = number_in(&alert);
    assert!(!number.is_empty(), "{name}: {alert}");
    assert!(
        !mine.iter().any(|t| t.contains("柳青发布")),
        "{name}: 义堂镇's contact reads no other unit's alert: {mine:#?}"
    );
    assert!(
        alert.contains(&format!("#{number} ")) && alert.contains("整改："),
        "{name}: numbered, with what to do and by when: {alert}"
    );
    assert!(
        alert.contains("\n回复 /ack ") && !alert.contains("联系人及时处理"),
        "{name}: a private message, for the contact alone: {alert}"
    );
    let group = chat.group();
    let theirs = group
        .iter()
        .find(|t| t.contains("柳青发布") && t.contains(" /ack "))
        .unwrap_or_else(|| {
            panic!("{name}: no numbered alert for 柳青街道 in the group: {group:#?}")
        })
        .clone();
    let other_number = number_in(&theirs);
    assert_ne!(number, other_number);
    assert!(
        !group.iter().any(|t| t.contains("义堂发布")),
        "{name}: the group reads no alert sent privately: {group:#?}"
    );
    assert!(theirs.contains("联系人及时处理：王敏"), "{name}: {theirs}");
    let how = if name == "telegram" {
        "\n回复 /ack "
    } else {
        "\n@机器人 并发送 /ack "
    };
    assert!(
        theirs.contains(how),
        "{name}: the hint fits the chat: {theirs}"
    );
    let summaries: Vec<String> = chat
        .told(Who::Admin)
        .into_iter()
        .filter(|t| t.contains("【各单位情况】"))
        .collect();
    assert_eq!(summaries.len(), 1, "{name}: one summary: {summaries:#?}");
    assert!(
        summaries[0].contains("义堂镇：新增1项") && summaries[0].contains("柳青街道：新增1项"),
        "{name}: {}",
        summaries[0]
    );

    // The contact answers in Chinese: /确认 their number; another unit's
    // number is refused, saying whose it is.
    let reply = chat
        .say(Who::Newcomer, &format!("/确认 {other_number}"), false)
        .await;
    assert!(
        reply.contains(&format!(
            "告警 #{other_number} 属于柳青街道，不属于您的单位义堂镇"
        )),
        "{name}: {reply}"
    );
    let reply = chat
        .say(Who::Newcomer, &format!("/确认 {number}"), false)
        .await;
    assert!(reply.contains("已确认"), "{name}: {reply}");
    let reply = chat
        .say(Who::Newcomer, &format!("/确认 {number}"), false)
        .await;
    assert!(
        reply.contains(&format!("告警 #{number} 已由张新于")) && reply.contains("无需再次确认"),
        "{name}: acknowledged twice: {reply}"
    );

    // The new contact reads, acks and snoozes it by its number.
    let reply = chat
        .say(Who::Newcomer, &format!("/status {number}"), false)
        .await;
    assert!(reply.contains("义堂发布"), "{name}: {reply}");
    let reply = chat
        .say(Who::Newcomer, &format!("/snooze {number} 30天"), false)
        .await;
    assert!(reply.contains("最多可暂停提醒 7 天"), "{name}: {reply}");
    let reply = chat
        .say(Who::Newcomer, &format!("/snooze {number} 3天"), false)
        .await;
    assert!(reply.contains("已暂停"), "{name}: {reply}");
    let reply = chat
        .say(Who::Newcomer, &format!("/snooze {number} 1天"), false)
        .await;
    assert!(
        reply.contains("无需再次暂停"),
        "a contact never shortens a pause: {name}: {reply}"
    );
    let reply = chat.say(Who::Newcomer, "/status x", false).await;
    assert!(
        reply.contains("账号「柳青发布」属于柳青街道，不属于您的单位义堂镇"),
        "another unit's account, and why: {name}: {reply}"
    );

    // A 通报 is issued: the 整改通知 reaches the group, the contact answers.
    let today = xunjian::calendar::local_date(Utc::now());
    let first = today.with_day(1).expect("first of the month");
    let report = xunjian::publish::load_report(
        &db.store,
        &inspector.calendar,
        ReportKind::Monthly,
        first,
        today,
        Utc::now(),
    )
    .await
    .expect("report");
    let issued = xunjian::publish::issue_report(
        &db.store,
        &settings,
        &inspector.calendar,
        &report,
        "admin",
        None,
        Utc::now(),
    )
    .await
    .expect("issue");
    assert!(
        matches!(issued, xunjian::publish::Issued::Now { .. }),
        "{name}: the report is issued"
    );
    deliver().await;
    assert_has(&chat.told(Who::Newcomer), "【整改通知】义堂镇", name);
    assert_has(&chat.group(), "【整改通知】柳青街道", name);
    let reply = chat
        .say(Who::Newcomer, "/整改 义堂发布 已恢复更新", false)
        .await;
    assert!(
        reply.contains("已记录「义堂发布」的整改反馈"),
        "{name}: by the account's name: {reply}"
    );

    // The quarterly 通报 reaches the admin's chat as files: the .docx, the
    // XLSX and the chart.
    let reply = chat.say(Who::Admin, "/通报 quarterly", false).await;
    assert!(reply.contains("已生成《"), "{name}: {reply}");
    deliver().await;
    let files = chat.files(Who::Admin);
    for ext in [".docx", ".xlsx", ".png"] {
        assert!(
            files.iter().any(|f| f.ends_with(ext)),
            "{name}: the quarterly {ext} arrives as a file: {files:?}"
        );
    }
    let reply = chat
        .say(Who::Newcomer, "/整改 柳青发布 不是我的单位", false)
        .await;
    assert!(reply.contains("不属于您的单位义堂镇"), "{name}: {reply}");

    // The admin registers and deregisters; the contact may not.
    let reply = chat
        .say(
            Who::Newcomer,
            "/register 微博 rsshub:/weibo/user/77 义堂新号 义堂镇",
            false,
        )
        .await;
    assert!(reply.contains(REFUSAL), "{name}: {reply}");
    let reply = chat
        .say(
            Who::Admin,
            "/register 微博 rsshub:/weibo/user/77 义堂新号 义堂镇",
            false,
        )
        .await;
    assert!(reply.contains("已登记"), "{name}: {reply}");
    let yesterday = (today - chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    let reply = chat
        .say(
            Who::Admin,
            &format!("/deregister w {yesterday} 临兰政办字〔2026〕9号"),
            false,
        )
        .await;
    assert!(
        reply.contains(&yesterday) && reply.contains("临兰政办字〔2026〕9号"),
        "{name}: {reply}"
    );
    let register = db.store.load_register().await.expect("register");
    assert!(
        register.accounts.iter().any(|a| a.name == "义堂新号"),
        "{name}: registered"
    );

    // In the group, free text to the bot gets a hint, and /whoami names the
    // group id the settings need.
    let hello = chat.to_bot("在吗");
    let reply = chat.say(Who::Newcomer, &hello, true).await;
    // A contact who writes in their own words is shown their unit's alerts and items.
    assert!(
        reply.contains("您是义堂镇的联系人") && reply.contains("/整改 账号名称"),
        "{name}: {reply}"
    );
    let reply = chat.say(Who::Admin, "/whoami", true).await;
    assert!(
        reply.contains(&format!("本群ID：{}", chat.group_id())),
        "{name}: {reply}"
    );
    chat.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_binds_reads_acks_snoozes_and_rectifies_and_an_admin_registers_on_every_chat() {
    let feeds = FeedServer::start().await;
    feeds.set("/healthz", Reply::ok("ok"));
    feeds.set(
        "/weibo/user/9",
        Reply::ok(feed_with_last_post("义堂发布", 40)),
    );
    feeds.set(
        "/weibo/user/8",
        Reply::ok(feed_with_last_post("柳青发布", 20)),
    );
    feeds.set(
        "/weibo/user/77",
        Reply::ok(feed_with_last_post("义堂新号", 1)),
    );
    for platform in ["telegram", "dingtalk", "feishu"] {
        for db in test_dbs(&format!("every_chat_{platform}")).await {
            converse(platform, &db, &feeds).await;
            db.finish().await;
        }
    }
}
