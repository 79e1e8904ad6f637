//! Hostile input and leaks: chat commands, concurrent registrations, /bind
//! floods, secrets in logs and the database, redirects.

use crate::feed_server::{FeedServer, Reply, feed_fixture};
use crate::helpers::{TestDb, at, shipped_register, test_dbs};
use std::io::Write;
use std::sync::{Arc, Mutex};
use xunjian::alerts::compose::Message;
use xunjian::app::App;
use xunjian::commands::{Caller, CommandContext};
use xunjian::config::{Secret, Settings};
use xunjian::fetch::{Fetcher, Outcome};
use xunjian::notify::Notifier;
use xunjian::poll::Poller;
use xunjian::storage::Store;

const NOW: &str = "2026-11-24T10:00:00+08:00";
const ADMIN: i64 = 111;
const SECOND_ADMIN: i64 = 112;

async fn context(db: &TestDb) -> CommandContext {
    let app = App::open(db.settings.clone(), shipped_register())
        .await
        .expect("open app");
    app.import(false, false, at(NOW)).await.expect("import");
    let mut settings = db.settings.clone();
    settings.telegram.admins = vec![ADMIN, SECOND_ADMIN];
    // The admins are reached through the bot.
    settings.telegram.token = Some(xunjian::config::Secret::new("123456:TEST"));
    // These tests send hundreds of commands at one fixed time: the chat
    // budget (tested in reliability.rs) would drop most of them.
    settings.commands.per_user_per_minute = 1_000_000;
    CommandContext::new(db.store.clone(), settings)
}

fn admin() -> Caller {
    Caller {
        user: xunjian::commands::UserId::Telegram(ADMIN),
        name: "管理员".into(),
        is_private_chat: true,
        ..Caller::default()
    }
}

async fn say(ctx: &CommandContext, caller: &Caller, text: &str) -> String {
    ctx.handle(caller, text, at(NOW))
        .await
        .unwrap_or_else(|| panic!("{text} got no reply"))
}

#[tokio::test]
async fn hostile_arguments_and_replies_from_anyone_never_panic_and_always_get_an_answer() {
    for db in test_dbs("hostile_chat").await {
        let ctx = context(&db).await;
        let hostile = [
            "",
            "#",
            "#-1",
            "-1",
            "0",
            "99999999999999999999999",
            "#9223372036854775807",
            "７",
            "义",
            "区",
            "%",
            "_",
            "'; DROP TABLE alerts; --",
            "\u{0}\u{202e}",
            "😀😀",
            "rsshub:",
            ":",
            "http://",
        ];
        let long = "义".repeat(5000);
        let callers = [
            admin(),
            Caller {
                user: xunjian::commands::UserId::Telegram(223456789),
                name: "李强".into(),
                is_private_chat: false,
                ..Caller::default()
            },
            Caller {
                user: xunjian::commands::UserId::Telegram(9),
                name: "\u{0}".into(),
                is_private_chat: true,
                ..Caller::default()
            },
        ];
        for caller in &callers {
            for command in xunjian::commands::COMMANDS.iter() {
                for arg in hostile.iter().copied().chain([long.as_str()]) {
                    // Two arguments too, so /snooze and /deregister read the second.
                    for text in [
                        format!("/{} {arg}", command.name),
                        format!("/{} {arg} {arg}", command.name),
                    ] {
                        let reply = say(&ctx, caller, &text).await;
                        assert!(!reply.is_empty(), "{text}");
                        assert!(!reply.contains("处理命令时出错"), "{text} → {reply}");
                    }
                }
            }
            // Free text, and the steps of a guided /register.
            say(&ctx, caller, "/register").await;
            for arg in hostile.iter().copied().chain([long.as_str()]) {
                if let Some(reply) = ctx.handle(caller, arg, at(NOW)).await {
                    assert!(!reply.contains("处理命令时出错"), "{arg:?} → {reply}");
                }
            }
        }
        db.finish().await;
    }
}

#[tokio::test]
async fn snooze_with_a_chinese_duration_is_understood_instead_of_panicking() {
    for db in test_dbs("snooze_chinese").await {
        let ctx = context(&db).await;
        let reply = say(&ctx, &admin(), "/snooze szls-wechat 7天").await;
        assert!(
            reply.contains("已暂停「市政兰山」的提醒至 2026年12月1日"),
            "{reply}"
        );
        let reply = say(&ctx, &admin(), "/snooze szls-wechat 义堂镇").await;
        assert!(reply.contains("无法识别时长「义堂镇」"), "{reply}");
        db.finish().await;
    }
}

#[tokio::test]
async fn commands_addressed_to_another_bot_are_ignored() {
    for db in test_dbs("other_bot").await {
        let ctx = context(&db).await;
        let ours = Caller {
            bot_username: Some("xunjian_bot".into()),
            ..admin()
        };
        assert_eq!(ctx.handle(&ours, "/list@other_bot", at(NOW)).await, None);
        assert_eq!(
            ctx.handle(&ours, "/closing@other_bot szls-wechat", at(NOW))
                .await,
            None
        );
        let register = db.store.load_register().await.expect("register");
        assert_eq!(
            register.account("szls-wechat").map(|a| a.state.id()),
            Some("active")
        );
        let reply = say(&ctx, &ours, "/list@xunjian_bot weibo").await;
        assert!(reply.starts_with("共 "), "{reply}");
        db.finish().await;
    }
}

#[tokio::test]
async fn contacts_with_phone_numbers_are_only_given_in_a_private_chat() {
    for db in test_dbs("contacts_private").await {
        let ctx = context(&db).await;
        let in_group = Caller {
            is_private_chat: false,
            ..admin()
        };
        let reply = say(&ctx, &in_group, "/contacts lsq-szgl").await;
        assert!(reply.contains("只在私聊中提供"), "{reply}");
        assert!(!reply.chars().any(|c| c.is_ascii_digit()), "{reply}");
        let reply = say(&ctx, &admin(), "/contacts lsq-szgl").await;
        assert!(reply.contains("联系人"), "{reply}");
        assert!(
            reply.contains("0539-8190001"),
            "the phone is given in private: {reply}"
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn register_refuses_hostile_names_routes_and_feed_urls() {
    for db in test_dbs("register_hostile").await {
        let mut ctx = context(&db).await;
        ctx.settings.commands.allowed_feed_hosts = vec!["*.gov.cn".into()];
        let long = "义".repeat(100_000);
        for (text, wanted) in [
            (
                format!("/register weibo rsshub:/weibo/user/1 {long} lsq-szgl"),
                "名称过长：共 100000 个字符，最多 64 个字符".to_string(),
            ),
            (
                "/register weibo rsshub:/weibo/user/1 兰山\u{1b}[2J发布 lsq-szgl".to_string(),
                "名称第 3 个字符是控制字符（U+001B）".to_string(),
            ),
            (
                "/register weibo rsshub:/weibo/%2e%2e/%2e%2e/admin 兰山发布 lsq-szgl".to_string(),
                "路由不能含 . 或 .. 路径段".to_string(),
            ),
            (
                "/register weibo rsshub:/weibo/.%2e/admin 兰山发布 lsq-szgl".to_string(),
                "路由不能含 . 或 .. 路径段".to_string(),
            ),
            (
                "/register weibo rsshub:/weibo/user/1?key=mine 兰山发布 lsq-szgl".to_string(),
                "路由不能含 ? 或 #".to_string(),
            ),
            (
                "/register website https://clerk:hunter2@www.lanshan.gov.cn/rss 兰山发布 lsq-szgl"
                    .to_string(),
                "不能含用户名或密码".to_string(),
            ),
        ] {
            let reply = say(&ctx, &admin(), &text).await;
            assert!(reply.contains(&wanted), "{reply}");
            assert!(
                reply.chars().count() < 4096,
                "a refusal never echoes 100 KB"
            );
        }
        let before = db.store.load_register().await.expect("register");
        assert!(
            !before
                .accounts
                .iter()
                .any(|a| a.id.starts_with("lsq-szgl-weibo"))
        );
        assert!(
            !before
                .accounts
                .iter()
                .any(|a| a.id.starts_with("lsq-szgl-website"))
        );
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_all_land_with_distinct_ids() {
    const REGISTRATIONS: usize = 40;
    for db in test_dbs("concurrent_register").await {
        let ctx = Arc::new(context(&db).await);
        let before = db
            .store
            .load_register()
            .await
            .expect("register")
            .accounts
            .len();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..REGISTRATIONS {
            let ctx = ctx.clone();
            tasks.spawn(async move {
                let text = format!("/register douyin rsshub:/douyin/user/{n} 兰山抖音{n} lsq-szgl");
                say(&ctx, &admin(), &text).await
            });
        }
        let mut ids = std::collections::BTreeSet::new();
        while let Some(reply) = tasks.join_next().await {
            let reply = reply.expect("task");
            assert!(reply.starts_with("已登记："), "{reply}");
            let id = reply
                .trim_start_matches("已登记：")
                .split('「')
                .next()
                .expect("an id")
                .to_string();
            assert!(ids.insert(id.clone()), "{id} was given twice");
        }
        let register = db.store.load_register().await.expect("register");
        assert_eq!(
            register.accounts.len(),
            before + REGISTRATIONS,
            "{}",
            db.store.backend()
        );
        for n in 0..REGISTRATIONS {
            let route = format!("/douyin/user/{n}");
            let found: Vec<_> = register
                .accounts
                .iter()
                .filter(|a| {
                    matches!(&a.source, xunjian::registry::Source::Proxy { route: r, .. } if *r == route)
                })
                .collect();
            assert_eq!(found.len(), 1, "{route}");
            assert_eq!(found[0].name, format!("兰山抖音{n}"));
            assert!(ids.contains(&found[0].id));
        }
        db.finish().await;
    }
}

#[tokio::test]
async fn bind_requests_are_limited_and_reach_each_admin_as_one_digest() {
    for db in test_dbs("bind_flood").await {
        let ctx = context(&db).await;
        let stranger = |id: i64| Caller {
            user: xunjian::commands::UserId::Telegram(id),
            name: format!("访客\u{202E}{id}\n"),
            is_private_chat: true,
            ..Caller::default()
        };
        // One user: three requests a day, one per unit.
        for unit in ["lsq-szgl", "lsq-yitang", "lsq-jyj"] {
            let reply = say(&ctx, &stranger(1000), &format!("/bind {unit}")).await;
            assert!(reply.contains("已提交申请"), "{unit}: {reply}");
        }
        let reply = say(&ctx, &stranger(1000), "/bind lsq-szgl").await;
        assert!(reply.contains("正在等待管理员批准"), "{reply}");
        let reply = say(&ctx, &stranger(1000), "/bind lsq-liuqing").await;
        assert!(reply.contains("今天提交的申请已达上限"), "{reply}");
        // Everyone: at most 20 waiting.
        let mut accepted = 3;
        for user in 2000..2030 {
            let reply = say(&ctx, &stranger(user), "/bind lsq-szgl").await;
            if reply.contains("已提交申请") {
                accepted += 1;
            } else {
                assert!(reply.contains("待处理的申请过多"), "{reply}");
            }
        }
        assert_eq!(accepted, 20);
        // Nothing goes out at once; then one digest per admin lists them all.
        let later = at(NOW) + chrono::Duration::minutes(10);
        assert!(
            db.store
                .pending_messages(at(NOW), 100)
                .await
                .expect("outbox")
                .is_empty()
        );
        let queued = db.store.pending_messages(later, 100).await.expect("outbox");
        let recipients: Vec<&str> = queued.iter().map(|m| m.recipient.as_str()).collect();
        assert_eq!(recipients, vec!["111", "112"], "{queued:#?}");
        for digest in &queued {
            assert_eq!(digest.channel, xunjian::domain::Channel::Telegram);
            assert!(digest.body.contains("待批准 20 件"), "{}", digest.body);
            assert!(digest.body.contains("#1 "), "{}", digest.body);
            assert!(digest.body.contains("#20 "), "{}", digest.body);
            assert!(!digest.body.contains('\u{202E}'), "{}", digest.body);
            assert!(digest.body.chars().count() <= 4096);
        }
        db.finish().await;
    }
}

/// Every log line at every level, as the daemon would print it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "current_thread")]
async fn unreachable_webhooks_and_proxies_leave_no_secret_in_logs_or_the_database() {
    const SECRETS: [&str; 6] = [
        "wecom-key-5f3c9a7e",
        "ding-token-8d1b2c4f",
        "SECding-signing-77aa",
        "0b8f6c2e-feishu-hook-id-4411",
        "proxy-query-key-93e1",
        "987654:telegram-token-secret",
    ];
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    for db in test_dbs("secrets").await {
        let dead = format!("http://127.0.0.1:{}", closed_port());
        let text = format!(
            "[proxies.rsshub]\nurl = \"{dead}/rsshub\"\nhealth_path = \"/healthz\"\nquery = {{ key = \"{}\" }}\n\
             [proxies.wewe]\nurl = \"{dead}\"\n\
             [robots.office]\nkind = \"wecom\"\n[robots.ding]\nkind = \"dingtalk\"\n[robots.fs]\nkind = \"feishu\"\n\
             [telegram]\napi_url = \"{dead}\"\nadmins = [{ADMIN}]\n",
            SECRETS[4]
        );
        let env = |key: &str| match key {
            "XUNJIAN_ROBOT_OFFICE_WEBHOOK" => {
                Some(format!("{dead}/cgi-bin/webhook/send?key={}", SECRETS[0]))
            }
            "XUNJIAN_ROBOT_DING_WEBHOOK" => {
                Some(format!("{dead}/robot/send?access_token={}", SECRETS[1]))
            }
            "XUNJIAN_ROBOT_DING_SECRET" => Some(SECRETS[2].to_string()),
            "XUNJIAN_ROBOT_FS_WEBHOOK" => {
                Some(format!("{dead}/open-apis/bot/v2/hook/{}", SECRETS[3]))
            }
            "XUNJIAN_TELEGRAM_TOKEN" => Some(SECRETS[5].to_string()),
            _ => None,
        };
        let path = db.path("xunjian.toml");
        std::fs::write(&path, text).expect("write settings");
        let mut settings = Settings::load(Some(&path), &env).expect("settings");
        settings.database = db.settings.database.clone();
        assert!(settings.telegram.token == Some(Secret::new(SECRETS[5])));
        let app = App::open(settings.clone(), shipped_register())
            .await
            .expect("open app");
        app.import(false, false, at(NOW)).await.expect("import");

        let poller = Poller::new(&settings, db.store.clone()).expect("poller");
        let ids: Vec<String> = db
            .store
            .load_register()
            .await
            .expect("register")
            .accounts
            .into_iter()
            .filter(|a| matches!(a.source, xunjian::registry::Source::Proxy { .. }))
            .map(|a| a.id)
            .collect();
        let reports = poller
            .poll_accounts(&ids, at(NOW), &|_, _| {})
            .await
            .expect("poll");
        assert!(reports.iter().all(|r| r.outcome != Outcome::Ok));
        for channel in ["robot:office", "robot:ding", "robot:fs", "telegram"] {
            let recipient = if channel == "telegram" { "111" } else { "-" };
            let to = xunjian::domain::ChatTarget::new(
                xunjian::domain::Channel::from_key(channel),
                recipient,
            );
            let message = Message::plain(&to, "【政务新媒体巡检】测试");
            db.store.enqueue(&message, at(NOW)).await.expect("enqueue");
        }
        let notifier = Notifier::new(&settings, db.store.clone()).expect("notifier");
        let delivered = notifier.deliver_pending(at(NOW)).await.expect("deliver");
        assert_eq!(delivered.sent, 0, "{delivered:?}");
        assert_eq!(delivered.retried, 4, "{delivered:?}");
        let status = CommandContext::new(db.store.clone(), settings.clone())
            .handle(&admin(), "/status lsfb-weibo", at(NOW))
            .await
            .expect("a reply");
        assert!(status.contains("最近抓取"), "{status}");
        assert!(
            ["（网络错误）", "（代理故障）"]
                .iter()
                .any(|outcome| status.contains(outcome)),
            "the outcome in Chinese: {status}"
        );

        let logs = String::from_utf8_lossy(&log.0.lock().expect("log").clone()).into_owned();
        assert!(logs.contains("send failed; will retry"), "{logs}");
        assert!(
            logs.contains("fetched"),
            "the debug lines were captured: {logs}"
        );
        let mut stored = stored_texts(&db.store).await.into_bytes();
        db.store.close().await;
        for entry in std::fs::read_dir(db.dir.path()).expect("db dir") {
            let path = entry.expect("entry").path();
            // The database and its WAL and shared-memory files, not the settings.
            let is_database = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("xunjian.db"));
            if is_database {
                stored.extend(std::fs::read(&path).expect("read db file"));
            }
        }
        let stored = String::from_utf8_lossy(&stored).into_owned();
        assert!(stored.contains("无法连接"), "the failures were stored");
        for secret in SECRETS {
            // The signing secret never travels; its name part may not either.
            let probe = secret.split(':').next_back().unwrap_or(secret);
            assert!(!logs.contains(probe), "{secret} in the log:\n{logs}");
            assert!(!status.contains(probe), "{secret} in /status: {status}");
            assert!(!stored.contains(probe), "{secret} in the database file");
        }
        db.finish().await;
    }
}

/// Every stored error text, from either backend.
async fn stored_texts(store: &Store) -> String {
    const QUERY: &str = "SELECT COALESCE(last_error, '') FROM outbox \
         UNION ALL SELECT COALESCE(message, '') FROM fetch_state \
         UNION ALL SELECT COALESCE(message, '') FROM proxy_state \
         UNION ALL SELECT COALESCE(reason, '') FROM channel_state";
    let rows: Vec<(String,)> = match store {
        Store::Sqlite(pool, _) => sqlx::query_as(QUERY).fetch_all(pool).await,
        Store::Postgres(pool) => sqlx::query_as(QUERY).fetch_all(pool).await,
    }
    .expect("stored errors");
    rows.into_iter().map(|(text,)| text + "\n").collect()
}

#[tokio::test]
async fn a_redirect_to_the_same_host_on_another_port_is_not_followed() {
    let first = FeedServer::start().await;
    let second = FeedServer::start().await;
    second.set("/feed", Reply::ok(feed_fixture("weibo_rsshub.xml")));
    first.set(
        "/moved",
        Reply::status(302, "").header("Location", &second.url("/feed")),
    );
    first.set(
        "/here",
        Reply::status(302, "").header("Location", &first.url("/feed")),
    );
    first.set("/feed", Reply::ok(feed_fixture("weibo_rsshub.xml")));
    let settings = crate::helpers::test_settings("sqlite::memory:");
    let fetcher = Fetcher::new(&settings.poll).expect("fetcher");
    let url = url::Url::parse(&first.url("/moved")).expect("url");
    let Err(failure) = fetcher.get(&url, None, None, false).await else {
        panic!("the redirect to the other port was followed");
    };
    assert_eq!(failure.outcome, Outcome::Invalid);
    assert!(
        failure.message.contains("拒绝重定向到其他主机"),
        "{}",
        failure.message
    );
    assert!(second.seen("/feed").is_empty(), "the other port was asked");
    let url = url::Url::parse(&first.url("/here")).expect("url");
    let fetched = fetcher
        .get(&url, None, None, false)
        .await
        .expect("same origin");
    assert_eq!(fetched.outcome, Outcome::Ok);
}
