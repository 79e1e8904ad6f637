//! `xunjian run` as a real process: it polls, and stops cleanly on SIGTERM.

use crate::fake_telegram::FakeTelegram;
use crate::feed_server::{FeedServer, Reply, feed_fixture};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_polls_and_stops_cleanly_on_sigterm() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    server.set("/weibo/user/1", Reply::ok(feed_fixture("weibo_rsshub.xml")));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("xunjian.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}/d.db\"\n[proxies.rsshub]\nurl = \"{}\"\nhealth_path = \"/healthz\"\n\
             [reports]\nweekly_cron = \"\"\nmonthly_cron = \"\"\nquarterly_time = \"\"\n",
            dir.path().display(),
            server.base()
        ),
    )
    .expect("settings");
    std::fs::write(
        dir.path().join("accounts.toml"),
        "[[unit]]\nid = \"u\"\nname = \"区政府办公室\"\nkind = \"department\"\n\n[[account]]\nid = \"w\"\nunit = \"u\"\nname = \"兰山发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/1\"\n",
    )
    .expect("accounts");
    let child = Command::new(env!("CARGO_BIN_EXE_xunjian"))
        .current_dir(dir.path())
        .env_remove("XUNJIAN_CONFIG")
        .env_remove("XUNJIAN_ACCOUNTS")
        .env_remove("XUNJIAN_DATABASE_URL")
        .env_remove("XUNJIAN_TELEGRAM_TOKEN")
        .env("XUNJIAN_LOG", "info")
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the daemon");
    // The first poll cycle starts at once; wait (bounded) for its request.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.seen("/weibo/user/1").is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the daemon never polled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("register imported"), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A daemon process in a temp dir with these settings appended; stderr is kept.
struct Daemon {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start(extra_settings: &str, envs: &[(&str, String)]) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = format!(
            "[database]\nurl = \"sqlite://{}/d.db\"\n\
             [reports]\nweekly_cron = \"\"\nmonthly_cron = \"\"\nquarterly_time = \"\"\n{extra_settings}",
            dir.path().display(),
        );
        let accounts = "[[unit]]\nid = \"u\"\nname = \"区政府办公室\"\nkind = \"department\"\n";
        Daemon::start_in(dir, &settings, accounts, envs)
    }

    /// A daemon in `dir` with exactly these settings and register.
    fn start_in(
        dir: tempfile::TempDir,
        settings: &str,
        accounts: &str,
        envs: &[(&str, String)],
    ) -> Daemon {
        std::fs::write(dir.path().join("xunjian.toml"), settings).expect("settings");
        std::fs::write(dir.path().join("accounts.toml"), accounts).expect("accounts");
        let mut command = Command::new(env!("CARGO_BIN_EXE_xunjian"));
        command
            .current_dir(dir.path())
            .env_remove("XUNJIAN_CONFIG")
            .env_remove("XUNJIAN_ACCOUNTS")
            .env_remove("XUNJIAN_DATABASE_URL")
            .env_remove("XUNJIAN_TELEGRAM_TOKEN")
            .env("XUNJIAN_LOG", "info")
            .arg("run")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("daemon.log")).expect("log file"));
        for (key, value) in envs {
            command.env(key, value);
        }
        Daemon {
            child: command.spawn().expect("start the daemon"),
            _dir: dir,
        }
    }

    /// Kills the process at once, as a crash or `kill -9` would.
    fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// What the daemon logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("daemon.log")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status of one check in a `/healthz` body.
fn check_status(body: &str, part: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["checks"][part]["status"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// GETs `url` until `accept` likes the answer (status, body), for at most `limit`.
async fn wait_for(url: &str, limit: Duration, accept: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = (0, String::new());
    while tokio::time::Instant::now() < deadline {
        if let Ok(response) = client.get(url).send().await {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            if accept(status, &body) {
                return (status, body);
            }
            last = (status, body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{url} never gave the expected answer; last: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_serves_healthz_and_prometheus_metrics_over_http() {
    let port = free_port();
    let _daemon = Daemon::start(&format!("[server]\nlisten = \"127.0.0.1:{port}\"\n"), &[]);
    let base = format!("http://127.0.0.1:{port}");
    let (status, body) = wait_for(
        &format!("{base}/healthz"),
        Duration::from_secs(30),
        |s, b| s == 200 && check_status(b, "poll") == "ok",
    )
    .await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(health["status"], "ok");
    for part in ["database", "poll", "inspection", "delivery", "reports"] {
        assert!(health["checks"][part].is_object(), "{part} missing: {body}");
    }
    assert!(
        health["checks"]["telegram"].is_null(),
        "no token, no telegram check"
    );
    let (status, metrics) = wait_for(
        &format!("{base}/metrics"),
        Duration::from_secs(10),
        |s, _| s == 200,
    )
    .await;
    assert_eq!(status, 200);
    for name in [
        "xunjian_build_info",
        "xunjian_outbox_pending",
        "xunjian_outbox_oldest_pending_age_seconds",
        "xunjian_alerts_open{rule=\"stale_2w\"}",
        "xunjian_channels_broken",
        "xunjian_part_up{part=\"poll\"}",
        "xunjian_part_last_success_timestamp_seconds{part=\"poll\"}",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_refuses_to_start_when_its_health_address_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("xunjian.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}/d.db\"\n[server]\nlisten = \"127.0.0.1:{port}\"\n",
            dir.path().display()
        ),
    )
    .expect("settings");
    std::fs::write(dir.path().join("accounts.toml"), "").expect("accounts");
    let out = Command::new(env!("CARGO_BIN_EXE_xunjian"))
        .current_dir(dir.path())
        .env_remove("XUNJIAN_CONFIG")
        .env_remove("XUNJIAN_ACCOUNTS")
        .env_remove("XUNJIAN_DATABASE_URL")
        .env_remove("XUNJIAN_TELEGRAM_TOKEN")
        .arg("run")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_started_while_the_bot_api_is_unreachable_answers_commands_once_it_is_back() {
    let api_port = free_port();
    let health_port = free_port();
    let token = "123456:SECRET-bot-token";
    let daemon = Daemon::start(
        &format!(
            "[server]\nlisten = \"127.0.0.1:{health_port}\"\n[telegram]\nadmins = [42]\nis_throttled = false\n"
        ),
        &[
            ("XUNJIAN_TELEGRAM_TOKEN", token.to_string()),
            (
                "XUNJIAN_TELEGRAM_API_URL",
                format!("http://127.0.0.1:{api_port}"),
            ),
        ],
    );
    let healthz = format!("http://127.0.0.1:{health_port}/healthz");
    // Nothing listens on the Bot API port: telegram is failing, the rest works.
    let (status, body) = wait_for(&healthz, Duration::from_secs(30), |s, b| {
        s == 503 && check_status(b, "telegram") == "failing"
    })
    .await;
    assert_eq!(status, 503);
    assert!(!body.contains("SECRET-bot-token"), "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        health["checks"]["telegram"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("getMe"))
    );
    // Then the Bot API answers, but with a proxy's HTML page: still failing, still alive.
    let telegram = FakeTelegram::start_on(api_port).await;
    telegram.set_garbled(true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while !telegram.calls().iter().any(|c| c.method == "getme") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never retried getMe"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Then it is back: a command is answered within a minute.
    telegram.set_garbled(false);
    telegram.push_message(42, "管理员", "/whoami");
    let started = tokio::time::Instant::now();
    let sends = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let sends = telegram.sends();
            if !sends.is_empty() {
                return sends;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "a command is answered within a minute of the Bot API coming back; calls: {:?}\n{}",
            telegram
                .calls()
                .iter()
                .map(|c| c.method.clone())
                .collect::<Vec<_>>(),
            daemon.log()
        )
    });
    assert!(
        !daemon.log().contains("SECRET-bot-token"),
        "{}",
        daemon.log()
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(sends[0].params["chat_id"], 42);
    wait_for(&healthz, Duration::from_secs(10), |s, _| s == 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_on_one_postgres_database_do_each_thing_once_and_survive_a_kill() {
    let dbs = crate::helpers::test_dbs("three_daemons").await;
    let Some(db) = dbs.into_iter().find(|db| db.store.backend() == "postgres") else {
        return; // test_dbs already failed the run if CI needs PostgreSQL
    };
    let server = FeedServer::start().await;
    let telegram = FakeTelegram::start().await;
    // Twelve accounts whose last post is a year old: each is an alert.
    let mut accounts =
        String::from("[[unit]]\nid = \"u\"\nname = \"区政府办公室\"\nkind = \"department\"\n");
    for i in 0..12 {
        let path = format!("/feed/{i}.xml");
        server.set(
            &path,
            Reply::ok(format!(
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>账号{i}</title>\
                 <item><title>旧闻</title><link>https://x.gov.cn/{i}</link>\
                 <pubDate>Mon, 01 Dec 2025 08:00:00 +0800</pubDate></item></channel></rss>"
            )),
        );
        accounts.push_str(&format!(
            "\n[[account]]\nid = \"a{i}\"\nunit = \"u\"\nname = \"账号{i}\"\nplatform = \"weibo\"\nfeed = \"{}\"\n",
            server.url(&path)
        ));
    }
    let settings = format!(
        "[database]\nurl = \"{}\"\n[reports]\nweekly_cron = \"\"\nmonthly_cron = \"\"\nquarterly_time = \"\"\n\
         [inspection]\ncron = \"* * * * *\"\nworkdays_only = false\n\
         [alerts]\nis_quiet_enabled = false\n\
         [telegram]\ncontacts_chat = -100\nadmins = [42]\nis_throttled = false\n\
         [server]\nlisten = \"\"\n",
        db.settings.database.url
    );
    let envs = [
        ("XUNJIAN_TELEGRAM_TOKEN", "123456:TEST".to_string()),
        ("XUNJIAN_TELEGRAM_API_URL", telegram.url.clone()),
    ];
    let mut daemons: Vec<Daemon> = (0..3)
        .map(|_| {
            Daemon::start_in(
                tempfile::tempdir().expect("dir"),
                &settings,
                &accounts,
                &envs,
            )
        })
        .collect();
    let logs = |daemons: &[Daemon]| {
        daemons
            .iter()
            .map(Daemon::log)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    // Every account is fetched, inspected and alerted on.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while telegram
        .sends()
        .iter()
        .filter(|c| c.params["chat_id"] == -100)
        .count()
        == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no alert arrived:\n{}",
            logs(&daemons)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Kill the daemon holding the bot lease, hard, in the middle; the others go on.
    let xunjian::storage::Store::Postgres(pool) = &db.store else {
        unreachable!("a PostgreSQL store")
    };
    // The bot's lease is taken as its task starts, which on a loaded machine
    // may come after the first alert went out: wait for it (bounded).
    let holder = loop {
        let held: Option<(String,)> =
            sqlx::query_as("SELECT holder FROM leases WHERE name = 'telegram_bot'")
                .fetch_optional(pool)
                .await
                .expect("the leases table");
        if let Some((holder,)) = held {
            break holder;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no daemon took the bot lease:\n{}",
            logs(&daemons)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let pid: u32 = holder
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("holder is host:pid");
    let holder_index = daemons
        .iter()
        .position(|d| d.child.id() == pid)
        .expect("the holder is one of ours");
    daemons[holder_index].kill_hard();
    // Minute-by-minute inspections keep deciding; commands still get answers
    // (the bot lease moves within a minute if the killed daemon held it).
    telegram.push_message(42, "管理员", "/whoami");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while !telegram.sends().iter().any(|c| c.params["chat_id"] == 42) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the command was never answered:\n{}",
            logs(&daemons)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..12 {
        assert_eq!(
            server.seen(&format!("/feed/{i}.xml")).len(),
            1,
            "feed {i} is fetched once in its interval:\n{}",
            logs(&daemons)
        );
    }
    let mut arrivals: std::collections::BTreeMap<String, usize> = Default::default();
    for call in telegram.sends() {
        let key = format!("{}:{}", call.params["chat_id"], call.params["text"]);
        *arrivals.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = arrivals.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:#?}");
    let answers = telegram
        .sends()
        .iter()
        .filter(|c| c.params["chat_id"] == 42)
        .count();
    assert_eq!(answers, 1, "one daemon answered the command");
    drop(daemons);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_the_database_down_says_why_in_chinese_and_retries_or_exits_with_no_wait() {
    // Nothing listens on port 1: the connection is refused.
    let settings = "[database]\nurl = \"postgres://postgres@127.0.0.1:1/postgres\"\n\
                    [reports]\nweekly_cron = \"\"\nmonthly_cron = \"\"\nquarterly_time = \"\"\n\
                    [server]\nlisten = \"\"\n";
    let accounts = "[[unit]]\nid = \"u\"\nname = \"区政府办公室\"\nkind = \"department\"\n";
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("xunjian.toml"), settings).expect("settings");
    std::fs::write(dir.path().join("accounts.toml"), accounts).expect("accounts");
    let started = std::time::Instant::now();
    let out = crate::helpers::xunjian_in(dir.path())
        .args(["run", "--no-wait"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "--no-wait exits at once"
    );
    assert!(
        stderr.contains("无法连接数据库 postgres://postgres@127.0.0.1:1/postgres：连接被拒绝"),
        "{stderr}"
    );
    assert!(!stderr.contains("pool timed out"), "{stderr}");

    // Without --no-wait it says why, retries, and stops on SIGTERM.
    let mut daemon = Daemon::start_in(dir, settings, accounts, &[]);
    let log = daemon._dir.path().join("daemon.log");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while daemon.log().matches("无法连接数据库").count() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no retries logged: {}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(daemon.log().contains("连接被拒绝"), "{}", daemon.log());
    let stopped = std::time::Instant::now();
    terminate(&daemon);
    let status = daemon.child.wait().expect("wait");
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(stopped.elapsed() < Duration::from_secs(5));
}

fn terminate(daemon: &Daemon) {
    let status = Command::new("kill")
        .args(["-TERM", &daemon.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Distinct message texts the fake Bot API received for chat -100.
fn delivered(telegram: &FakeTelegram) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for call in telegram.sends() {
        if call.params["chat_id"] == -100 {
            let text = call.params["text"].as_str().unwrap_or_default().to_string();
            *seen.entry(text).or_insert(0) += 1;
        }
    }
    seen
}

async fn wait_delivered(
    telegram: &FakeTelegram,
    count: usize,
    limit: Duration,
    log: &dyn Fn() -> String,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while delivered(telegram).len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} messages arrived within {limit:?}:\n{}",
            delivered(telegram).len(),
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_daemon_killed_while_sending_is_restarted_and_sends_its_claims_at_once_and_sigterm_hands_them_back()
 {
    let telegram = FakeTelegram::start().await;
    // A slow channel: each send takes 300 ms.
    telegram.hold_sends(Some(Duration::from_millis(300)));
    let data = tempfile::tempdir().expect("data dir");
    let url = format!("sqlite://{}/d.db", data.path().display());
    let store = xunjian::storage::Store::connect(&xunjian::config::DatabaseSettings {
        url: url.clone(),
        ..crate::helpers::test_settings(&url).database
    })
    .await
    .expect("store");
    store.migrate().await.expect("migrate");
    let count = 40;
    for i in 0..count {
        let message = xunjian::alerts::compose::Message::plain(
            &xunjian::domain::ChatTarget::new(xunjian::domain::Channel::Telegram, "-100"),
            &format!("急件 {i:02}"),
        );
        store
            .enqueue(&message, chrono::Utc::now() - chrono::Duration::minutes(1))
            .await
            .expect("enqueue");
    }
    store.close().await;
    let settings = format!(
        "[database]\nurl = \"{url}\"\n\
         [reports]\nweekly_cron = \"\"\nmonthly_cron = \"\"\nquarterly_time = \"\"\n\
         [telegram]\nis_throttled = false\n[server]\nlisten = \"\"\n"
    );
    let accounts = "[[unit]]\nid = \"u\"\nname = \"区政府办公室\"\nkind = \"department\"\n";
    let envs = [
        ("XUNJIAN_TELEGRAM_TOKEN", "123456:TEST".to_string()),
        ("XUNJIAN_TELEGRAM_API_URL", telegram.url.clone()),
    ];
    let start = || {
        Daemon::start_in(
            tempfile::tempdir().expect("dir"),
            &settings,
            accounts,
            &envs,
        )
    };
    let mut first = start();
    wait_delivered(&telegram, 3, Duration::from_secs(30), &|| first.log()).await;
    first.kill_hard();
    let after_kill = delivered(&telegram).len();
    assert!(after_kill < count, "the kill came while sending");

    // The restarted daemon takes its predecessor's claims back at once:
    // without that they would wait out the 5-minute lease.
    let second = start();
    wait_delivered(&telegram, after_kill + 10, Duration::from_secs(30), &|| {
        second.log()
    })
    .await;
    let stopping = std::time::Instant::now();
    terminate(&second);
    let (status, second) = tokio::task::spawn_blocking(move || {
        let mut second = second;
        let status = second.child.wait().expect("wait");
        (status, second)
    })
    .await
    .expect("join");
    assert!(status.success(), "{}", second.log());
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "SIGTERM took {:?}:\n{}",
        stopping.elapsed(),
        second.log()
    );
    // Nothing is left claimed: a third daemon (or the same one) sends the rest at once.
    let store = xunjian::storage::Store::connect(&xunjian::config::DatabaseSettings {
        url: url.clone(),
        ..crate::helpers::test_settings(&url).database
    })
    .await
    .expect("store");
    let xunjian::storage::Store::Sqlite(pool, _) = &store else {
        unreachable!("a SQLite store")
    };
    let (claimed,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE claimed_by IS NOT NULL AND sent_at IS NULL",
    )
    .fetch_one(pool)
    .await
    .expect("count");
    assert_eq!(claimed, 0, "every claim was handed back:\n{}", second.log());
    store.close().await;
    let third = start();
    wait_delivered(&telegram, count, Duration::from_secs(40), &|| third.log()).await;
    // A kill may resend the one message in flight; nothing else twice.
    let twice: Vec<_> = delivered(&telegram)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(twice.len() <= 1, "sent twice: {twice:?}");
    drop(third);
}
