//! Polling against a real HTTP server with feeds in the shapes RSSHub and
//! wewe-rss produce, on SQLite and PostgreSQL.

use crate::feed_server::{FeedServer, Reply, feed_fixture, gzip};
use crate::helpers::{TestDb, at, test_dbs};
use std::time::Duration;
use xunjian::config::Settings;
use xunjian::fetch::Outcome;
use xunjian::poll::{PollReport, Poller};
use xunjian::registry::diff::plan;
use xunjian::registry::load::{Context, parse};

const NOW: &str = "2026-11-23T09:00:00+08:00";

fn settings(db: &TestDb, server: &FeedServer, extra: &str) -> Settings {
    let text = format!(
        "[database]\nurl = \"{}\"\n\n[proxies.rsshub]\nurl = \"{}\"\nhealth_path = \"/healthz\"\nmax_concurrency = 3\n\n\
         [proxies.wewe]\nurl = \"{}/wewe\"\n\n[proxies.dead]\nurl = \"{}\"\nhealth_path = \"/healthz\"\n\n\
         [poll]\ntimeout_seconds = 2\nconnect_timeout_seconds = 2\nmax_body_bytes = 1048576\n{extra}",
        db.settings.database.url,
        server.base(),
        server.base(),
        closed_port_url(),
    );
    let mut settings = Settings::parse("test", &text).expect("settings");
    settings.database = db.settings.database.clone();
    settings
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

const UNITS: &str = "[[unit]]\nid = \"u1\"\nname = \"区政府办公室\"\nkind = \"department\"\n";

fn account(id: &str, platform: &str, source: &str) -> String {
    format!(
        "\n[[account]]\nid = \"{id}\"\nunit = \"u1\"\nname = \"{id}\"\nplatform = \"{platform}\"\n{source}\n"
    )
}

fn proxied(proxy: &str, route: &str) -> String {
    format!("proxy = \"{proxy}\"\nroute = \"{route}\"")
}

fn feed(url: &str) -> String {
    format!("feed = \"{url}\"")
}

async fn register(db: &TestDb, settings: &Settings, accounts: &[String]) {
    let text = format!("{UNITS}{}", accounts.concat());
    let names = settings.proxy_names();
    let wanted =
        parse("test accounts", &text, &Context { proxies: &names }).expect("test register");
    let current = db.store.load_register().await.expect("load");
    db.store
        .apply_plan(&plan(&current, &wanted, true), "test", "cli", at(NOW))
        .await
        .expect("apply");
}

async fn poll_all(settings: &Settings, db: &TestDb, now: &str) -> Vec<PollReport> {
    let poller = Poller::new(settings, db.store.clone()).expect("poller");
    let register = db.store.load_register().await.expect("load");
    let ids: Vec<String> = register.accounts.iter().map(|a| a.id.clone()).collect();
    poller
        .poll_accounts(&ids, at(now), &|_, _| {})
        .await
        .expect("poll")
}

fn report<'a>(reports: &'a [PollReport], id: &str) -> &'a PollReport {
    reports
        .iter()
        .find(|r| r.account_id == id)
        .unwrap_or_else(|| panic!("no report for {id}"))
}

fn serve_fixtures(server: &FeedServer) {
    let rss = "application/rss+xml; charset=utf-8";
    server.set("/healthz", Reply::ok("ok"));
    server.set(
        "/weibo/user/1234567890",
        Reply::ok(feed_fixture("weibo_rsshub.xml"))
            .header("Content-Type", rss)
            .header("Cache-Control", "public, max-age=300"),
    );
    server.set(
        "/wewe/feeds/MP_WXS_3091234567.atom",
        Reply::ok(feed_fixture("wechat_wewe.atom")),
    );
    server.set(
        "/douyin/user/MS4wLjABAAAAlanshanfabu",
        Reply::ok(feed_fixture("douyin_rsshub.xml")),
    );
    server.set(
        "/toutiao/user/token/MS4wLjABAAAAszls",
        Reply::ok(feed_fixture("toutiao_rsshub.xml")),
    );
    server.set(
        "/bilibili/user/dynamic/456789",
        Reply::ok(feed_fixture("bilibili_rsshub.xml")),
    );
    server.set("/site/rss.xml", Reply::ok(feed_fixture("website.rss")));
    server.set(
        "/site/atom.xml",
        Reply::ok(gzip(&feed_fixture("website.atom"))).header("Content-Encoding", "gzip"),
    );
    server.set(
        "/site/feed.json",
        Reply::ok(feed_fixture("feed.json")).header("Content-Type", "application/feed+json"),
    );
}

fn fixture_accounts(server: &FeedServer) -> Vec<String> {
    vec![
        account(
            "weibo",
            "weibo",
            &proxied("rsshub", "/weibo/user/1234567890"),
        ),
        account(
            "wechat",
            "wechat_subscription",
            &proxied("wewe", "/feeds/MP_WXS_3091234567.atom"),
        ),
        account(
            "douyin",
            "douyin",
            &proxied("rsshub", "/douyin/user/MS4wLjABAAAAlanshanfabu"),
        ),
        account(
            "toutiao",
            "toutiao",
            &proxied("rsshub", "/toutiao/user/token/MS4wLjABAAAAszls"),
        ),
        account(
            "bilibili",
            "bilibili",
            &proxied("rsshub", "/bilibili/user/dynamic/456789"),
        ),
        account("site-rss", "website", &feed(&server.url("/site/rss.xml"))),
        account("site-atom", "website", &feed(&server.url("/site/atom.xml"))),
        account(
            "site-json",
            "website",
            &feed(&server.url("/site/feed.json")),
        ),
    ]
}

#[tokio::test]
async fn every_feed_shape_is_polled_and_its_posts_kept_once() {
    let server = FeedServer::start().await;
    serve_fixtures(&server);
    for db in test_dbs("poll_shapes").await {
        let settings = settings(&db, &server, "");
        register(&db, &settings, &fixture_accounts(&server)).await;

        let first = poll_all(&settings, &db, NOW).await;
        for r in &first {
            assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        }
        let expected = [
            ("weibo", 5),
            ("wechat", 3),
            ("douyin", 2),
            ("toutiao", 1),
            ("bilibili", 2),
            ("site-rss", 4),
            ("site-atom", 1),
            ("site-json", 1),
        ];
        for (id, count) in expected {
            assert_eq!(report(&first, id).new_posts, count, "{id}");
            assert_eq!(
                db.store.post_count(id).await.expect("count"),
                count as i64,
                "{id}"
            );
        }
        let weibo = server.seen("/weibo/user/1234567890");
        assert_eq!(
            weibo.last().and_then(|s| s.query.clone()).as_deref(),
            Some("showRetweeted=1")
        );
        assert!(
            weibo
                .last()
                .and_then(|s| s.headers.get("user-agent").cloned())
                .unwrap_or_default()
                .starts_with("xunjian/")
        );

        let second = poll_all(&settings, &db, "2026-11-23T12:00:00+08:00").await;
        assert!(second.iter().all(|r| r.new_posts == 0), "{second:?}");
        assert_eq!(db.store.post_count("weibo").await.expect("count"), 5);

        let states = db.store.fetch_states().await.expect("states");
        assert_eq!(
            states["weibo"].feed_title.as_deref(),
            Some("兰山发布的微博")
        );
        assert_eq!(states["wechat"].feed_title.as_deref(), Some("市政兰山"));
        db.finish().await;
    }
}

#[tokio::test]
async fn an_unchanged_feed_answers_304_to_the_stored_etag() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    server.set(
        "/weibo/user/42",
        Reply::ok(feed_fixture("weibo_rsshub.xml")).with_etag("W/\"abc\""),
    );
    for db in test_dbs("poll_304").await {
        let settings = settings(&db, &server, "");
        register(
            &db,
            &settings,
            &[account("w", "weibo", &proxied("rsshub", "/weibo/user/42"))],
        )
        .await;
        assert_eq!(poll_all(&settings, &db, NOW).await[0].outcome, Outcome::Ok);
        let second = poll_all(&settings, &db, "2026-11-23T10:00:00+08:00").await;
        assert_eq!(second[0].outcome, Outcome::NotModified);
        let seen = server.seen("/weibo/user/42");
        assert_eq!(
            seen.last()
                .and_then(|s| s.headers.get("if-none-match").cloned())
                .as_deref(),
            Some("W/\"abc\"")
        );
        let state = &db.store.fetch_states().await.expect("states")["w"];
        assert_eq!(state.consecutive_failures, 0);
        assert_eq!(state.etag.as_deref(), Some("W/\"abc\""));
        db.finish().await;
    }
}

#[tokio::test]
async fn each_failure_ends_in_its_class_with_a_useful_message() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    let gone_weibo = feed_fixture("rsshub_weibo_gone.json");
    server.set(
        "/weibo/user/404",
        Reply::status(503, gone_weibo).header("Content-Type", "application/json"),
    );
    server.set(
        "/toutiao/user/token/none",
        Reply::status(404, "{\"error\":{\"message\":\"暂未发表作品\"}}"),
    );
    server.set(
        "/wewe/feeds/MP_WXS_1.atom",
        Reply::status(500, "{\"statusCode\":500,\"message\":\"不存在该feed\"}"),
    );
    server.set("/site/removed.xml", Reply::status(410, "Gone"));
    server.set(
        "/douyin/user/waf",
        Reply::status(503, feed_fixture("rsshub_error.html")).header("Content-Type", "text/html"),
    );
    server.set("/weibo/user/busy", Reply::status(503, "{\"error\":{\"message\":\"RequestInProgressError: This path is currently fetching, please come back later!\"}}"));
    server.set(
        "/bilibili/user/dynamic/500",
        Reply::status(
            503,
            "{\"error\":{\"message\":\"Error: connect ECONNRESET api.bilibili.com\"}}",
        ),
    );
    server.set(
        "/site/slow.xml",
        Reply::ok(feed_fixture("website.rss")).delayed(Duration::from_secs(5)),
    );
    server.set("/site/huge.xml", Reply::ok(vec![b' '; 2 * 1024 * 1024]));
    server.set(
        "/site/bomb.xml",
        Reply::ok(gzip(&vec![b'<'; 64 * 1024 * 1024])).header("Content-Encoding", "gzip"),
    );
    let elsewhere = format!("http://localhost:{}/site/rss.xml", server.addr.port());
    server.set(
        "/site/moved.xml",
        Reply::status(302, "").header("Location", &elsewhere),
    );
    server.set("/site/rss.xml", Reply::ok(feed_fixture("website.rss")));
    server.set(
        "/site/malformed.xml",
        Reply::ok(feed_fixture("malformed.xml")),
    );
    server.set(
        "/site/html.xml",
        Reply::ok(feed_fixture("error_page.html")).header("Content-Type", "text/html"),
    );
    server.set("/site/captcha.xml", Reply::ok("<!DOCTYPE html><html><head><title>安全验证</title></head><body>请输入验证码</body></html>"));
    server.set(
        "/site/laughs.xml",
        Reply::ok(feed_fixture("billion_laughs.xml")),
    );
    server.set("/site/xxe.xml", Reply::ok(feed_fixture("xxe.xml")));
    server.set(
        "/site/limited.xml",
        Reply::status(429, "slow down").header("Retry-After", "120"),
    );
    let refused = format!("{}/rss.xml", closed_port_url());
    let cases: Vec<(&str, String, Outcome, &str)> = vec![
        (
            "weibo-gone",
            account("weibo-gone", "weibo", &proxied("rsshub", "/weibo/user/404")),
            Outcome::Gone,
            "reading 'userInfo'",
        ),
        (
            "toutiao-gone",
            account(
                "toutiao-gone",
                "toutiao",
                &proxied("rsshub", "/toutiao/user/token/none"),
            ),
            Outcome::Gone,
            "暂未发表作品",
        ),
        (
            "wewe-gone",
            account(
                "wewe-gone",
                "wechat_subscription",
                &proxied("wewe", "/feeds/MP_WXS_1.atom"),
            ),
            Outcome::Gone,
            "不存在该feed",
        ),
        (
            "site-gone",
            account(
                "site-gone",
                "website",
                &feed(&server.url("/site/removed.xml")),
            ),
            Outcome::Gone,
            "HTTP 410",
        ),
        (
            "douyin-waf",
            account(
                "douyin-waf",
                "douyin",
                &proxied("rsshub", "/douyin/user/waf"),
            ),
            Outcome::Blocked,
            "filtered by WAF",
        ),
        (
            "weibo-busy",
            account(
                "weibo-busy",
                "weibo",
                &proxied("rsshub", "/weibo/user/busy"),
            ),
            Outcome::RetrySoon,
            "RequestInProgressError",
        ),
        (
            "bili-proxy",
            account(
                "bili-proxy",
                "bilibili",
                &proxied("rsshub", "/bilibili/user/dynamic/500"),
            ),
            Outcome::ProxyError,
            "ECONNRESET",
        ),
        (
            "refused",
            account("refused", "website", &feed(&refused)),
            Outcome::Network,
            "无法连接：对方拒绝连接",
        ),
        (
            "slow",
            account("slow", "website", &feed(&server.url("/site/slow.xml"))),
            Outcome::Network,
            "超时：2 秒内未完成",
        ),
        (
            "huge",
            account("huge", "website", &feed(&server.url("/site/huge.xml"))),
            Outcome::Invalid,
            "响应超过 1048576 字节",
        ),
        (
            "bomb",
            account("bomb", "website", &feed(&server.url("/site/bomb.xml"))),
            Outcome::Invalid,
            "响应超过 1048576 字节",
        ),
        (
            "moved",
            account("moved", "website", &feed(&server.url("/site/moved.xml"))),
            Outcome::Invalid,
            "拒绝重定向到其他主机",
        ),
        (
            "malformed",
            account(
                "malformed",
                "website",
                &feed(&server.url("/site/malformed.xml")),
            ),
            Outcome::Invalid,
            "不是可识别的订阅源",
        ),
        (
            "html",
            account("html", "website", &feed(&server.url("/site/html.xml"))),
            Outcome::Invalid,
            "不是订阅源：服务器返回的是网页（标题「502 Bad Gateway」）",
        ),
        (
            "captcha",
            account(
                "captcha",
                "website",
                &feed(&server.url("/site/captcha.xml")),
            ),
            Outcome::Blocked,
            "服务器返回的是网页",
        ),
        (
            "limited",
            account(
                "limited",
                "website",
                &feed(&server.url("/site/limited.xml")),
            ),
            Outcome::RetrySoon,
            "HTTP 429",
        ),
        (
            "fine",
            account("fine", "website", &feed(&server.url("/site/rss.xml"))),
            Outcome::Ok,
            "",
        ),
    ];
    for db in test_dbs("poll_classes").await {
        let settings = settings(&db, &server, "");
        let mut accounts: Vec<String> = cases.iter().map(|c| c.1.clone()).collect();
        for hostile in ["laughs", "xxe"] {
            let url = server.url(&format!("/site/{hostile}.xml"));
            accounts.push(account(hostile, "website", &feed(&url)));
        }
        register(&db, &settings, &accounts).await;
        let reports = poll_all(&settings, &db, NOW).await;
        for (id, _, outcome, needle) in &cases {
            let r = report(&reports, id);
            assert_eq!(r.outcome, *outcome, "{id}: {r:?}");
            assert!(
                r.message.clone().unwrap_or_default().contains(needle),
                "{id}: {:?} lacks {needle:?}",
                r.message
            );
        }
        let limited = report(&reports, "limited");
        assert_eq!(
            limited.next_check_at,
            at(NOW) + chrono::Duration::seconds(120)
        );
        for id in ["laughs", "xxe"] {
            let r = report(&reports, id);
            assert!(
                matches!(r.outcome, Outcome::Invalid | Outcome::Ok),
                "{id}: {r:?}"
            );
        }
        poll_all(&settings, &db, "2026-11-23T10:00:00+08:00").await;
        let states = db.store.fetch_states().await.expect("states");
        assert_eq!(states["weibo-gone"].consecutive_failures, 2);
        assert_eq!(states["weibo-gone"].gone_streak, 2);
        assert_eq!(states["fine"].consecutive_failures, 0);
        db.finish().await;
    }
}

#[tokio::test]
async fn a_gone_streak_resets_when_the_account_answers_again() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    for db in test_dbs("poll_gone_reset").await {
        server.set(
            "/weibo/user/7",
            Reply::status(503, feed_fixture("rsshub_weibo_gone.json")),
        );
        let settings = settings(&db, &server, "");
        register(
            &db,
            &settings,
            &[account("w7", "weibo", &proxied("rsshub", "/weibo/user/7"))],
        )
        .await;
        poll_all(&settings, &db, "2026-11-20T09:00:00+08:00").await;
        poll_all(&settings, &db, "2026-11-21T09:00:00+08:00").await;
        let state = &db.store.fetch_states().await.expect("states")["w7"];
        assert_eq!(state.gone_streak, 2);
        assert_eq!(state.gone_since, Some(at("2026-11-20T09:00:00+08:00")));
        server.set("/weibo/user/7", Reply::ok(feed_fixture("weibo_rsshub.xml")));
        poll_all(&settings, &db, "2026-11-22T09:00:00+08:00").await;
        let state = &db.store.fetch_states().await.expect("states")["w7"];
        assert_eq!(
            (
                state.gone_streak,
                state.gone_since,
                state.consecutive_failures
            ),
            (0, None, 0)
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn a_dead_proxy_is_marked_down_and_a_failing_route_on_a_healthy_proxy_is_not() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    server.set(
        "/weibo/user/1",
        Reply::status(503, "{\"error\":{\"message\":\"Error: internal\"}}"),
    );
    for db in test_dbs("poll_proxy_health").await {
        let settings = settings(&db, &server, "");
        register(
            &db,
            &settings,
            &[
                account("d1", "weibo", &proxied("dead", "/weibo/user/1")),
                account("d2", "douyin", &proxied("dead", "/douyin/user/2")),
                account("r1", "weibo", &proxied("rsshub", "/weibo/user/1")),
            ],
        )
        .await;
        let reports = poll_all(&settings, &db, NOW).await;
        assert_eq!(report(&reports, "d1").outcome, Outcome::Network);
        assert_eq!(report(&reports, "r1").outcome, Outcome::ProxyError);
        let health = db.store.proxy_health().await.expect("health");
        let dead = health
            .iter()
            .find(|h| h.name == "dead")
            .expect("dead proxy judged");
        assert!(!dead.is_up);
        assert_eq!(dead.down_since, Some(at(NOW)));
        assert!(
            dead.message
                .clone()
                .unwrap_or_default()
                .contains("health check"),
            "{dead:?}"
        );
        let rsshub = health
            .iter()
            .find(|h| h.name == "rsshub")
            .expect("rsshub judged");
        assert!(rsshub.is_up, "{rsshub:?}");
        db.finish().await;
    }
}

/// Without a health path a proxy is down only when at least 3 of its accounts
/// (or all, if it has fewer) fail with network or proxy trouble in one cycle
/// and none gets an answer: one mistyped route is that account's problem.
#[tokio::test]
async fn one_failing_route_does_not_take_a_proxy_without_health_path_down() {
    let server = FeedServer::start().await;
    server.set(
        "/wewe/feeds/ok1.rss",
        Reply::ok(feed_fixture("wechat_wewe.atom")),
    );
    for db in test_dbs("poll_proxy_threshold").await {
        let settings = settings(&db, &server, "");
        let accounts: Vec<String> = ["typo", "ok1", "b2", "b3", "b4"]
            .iter()
            .map(|id| {
                account(
                    id,
                    "wechat_subscription",
                    &proxied("wewe", &format!("/feeds/{id}.rss")),
                )
            })
            .collect();
        register(&db, &settings, &accounts).await;
        let poller = Poller::new(&settings, db.store.clone()).expect("poller");
        let wewe = || async {
            db.store
                .proxy_health()
                .await
                .expect("health")
                .into_iter()
                .find(|h| h.name == "wewe")
                .expect("wewe judged")
        };
        // A cycle that polls only the mistyped route (404 from the proxy).
        let reports = poller
            .poll_accounts(&["typo".to_string()], at(NOW), &|_, _| {})
            .await
            .expect("poll");
        assert!(reports[0].outcome.is_failure(), "{:?}", reports[0]);
        assert!(wewe().await.is_up, "one route is not the proxy");
        // Three failing and one answering: still up.
        let some: Vec<String> = ["ok1", "b2", "b3", "b4"].map(String::from).to_vec();
        poller
            .poll_accounts(&some, at(NOW), &|_, _| {})
            .await
            .expect("poll");
        assert!(wewe().await.is_up, "an answer shows the proxy works");
        // Three failing, none answering: down.
        let failing: Vec<String> = ["b2", "b3", "b4"].map(String::from).to_vec();
        server.set("/wewe/feeds/b2.rss", Reply::status(502, "Bad Gateway"));
        poller
            .poll_accounts(&failing, at(NOW), &|_, _| {})
            .await
            .expect("poll");
        let judged = wewe().await;
        assert!(!judged.is_up, "{judged:?}");
        db.finish().await;
    }
}

#[tokio::test]
async fn accounts_become_due_again_after_their_interval() {
    let server = FeedServer::start().await;
    serve_fixtures(&server);
    for db in test_dbs("poll_due").await {
        let settings = settings(&db, &server, "interval_minutes = 120\n");
        register(&db, &settings, &fixture_accounts(&server)).await;
        assert_eq!(
            db.store.due_account_ids(at(NOW)).await.expect("due").len(),
            8
        );
        let poller = Poller::new(&settings, db.store.clone()).expect("poller");
        assert_eq!(poller.poll_due(at(NOW)).await.expect("poll").len(), 8);
        assert!(
            db.store
                .due_account_ids(at(NOW))
                .await
                .expect("due")
                .is_empty()
        );
        assert!(
            db.store
                .due_account_ids(at("2026-11-23T10:30:00+08:00"))
                .await
                .expect("due")
                .is_empty()
        );
        assert_eq!(
            db.store
                .due_account_ids(at("2026-11-23T11:15:00+08:00"))
                .await
                .expect("due")
                .len(),
            8
        );
        db.finish().await;
    }
}

async fn execute(db: &TestDb, sql: &'static str) {
    match &db.store {
        xunjian::storage::Store::Sqlite(pool, _) => sqlx::query(sql).execute(pool).await.map(drop),
        xunjian::storage::Store::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
    }
    .expect("statement runs");
}

/// A tick with nothing due must not reload the register or every fetch
/// state, and a tick with some due reads only those: rows it must not read
/// are made unreadable, so a reload fails the tick.
#[tokio::test]
async fn a_poll_tick_reads_only_the_due_accounts_and_nothing_when_none_is_due() {
    let server = FeedServer::start().await;
    serve_fixtures(&server);
    for db in test_dbs("poll_tick_reads").await {
        let settings = settings(&db, &server, "interval_minutes = 120\n");
        register(&db, &settings, &fixture_accounts(&server)).await;
        let poller = Poller::new(&settings, db.store.clone()).expect("poller");
        assert_eq!(poller.poll_due(at(NOW)).await.expect("poll").len(), 8);
        for sql in [
            "UPDATE units SET kind = 'not-a-kind'",
            "UPDATE accounts SET platform = 'not-a-platform' WHERE id = 'weibo'",
            "UPDATE fetch_state SET outcome = 'not-an-outcome' WHERE account_id = 'weibo'",
        ] {
            execute(&db, sql).await;
        }
        assert!(
            db.store.load_register().await.is_err(),
            "the register is unreadable"
        );
        let idle = poller.poll_due(at("2026-11-23T09:30:00+08:00")).await;
        assert!(idle.expect("an idle tick reads nothing").is_empty());
        execute(
            &db,
            "UPDATE fetch_state SET next_check_at = 0 WHERE account_id = 'site-rss'",
        )
        .await;
        let reports = poller
            .poll_due(at("2026-11-23T09:31:00+08:00"))
            .await
            .expect("a tick reads only the due account");
        let polled: Vec<&str> = reports.iter().map(|r| r.account_id.as_str()).collect();
        assert_eq!(polled, ["site-rss"]);
        assert_eq!(reports[0].outcome, Outcome::Ok);
        db.finish().await;
    }
}

/// An RSS feed in Chinese after `declaration`, with `<ttl>` `ttl`.
fn chinese_rss(declaration: &str, ttl: &str) -> String {
    format!(
        "{declaration}<rss version=\"2.0\"><channel><title>兰山发布</title><ttl>{ttl}</ttl>\
         <item><title>义堂镇通知</title><link>https://www.lanshan.gov.cn/a/1.html</link></item>\
         </channel></rss>"
    )
}

fn utf16_with_bom(text: &str, is_big_endian: bool) -> Vec<u8> {
    let mut bytes = if is_big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&if is_big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

#[tokio::test]
async fn hostile_feeds_and_headers_neither_stop_the_cycle_nor_postpone_accounts_past_a_day() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    let plain = chinese_rss("", "30");
    let cases: Vec<(&str, Reply, Outcome)> = vec![
        (
            "utf16be",
            Reply::ok(utf16_with_bom(
                &chinese_rss(r#"<?xml version="1.0" encoding="UTF-16"?>"#, "30"),
                true,
            )),
            Outcome::Ok,
        ),
        (
            "utf16le-gbk",
            Reply::ok(utf16_with_bom(
                &chinese_rss(r#"<?xml version="1.0" encoding="GBK"?>"#, "30"),
                false,
            )),
            Outcome::Ok,
        ),
        (
            "gbk",
            Reply::ok(encoding_rs::GBK.encode(&plain).0.into_owned())
                .header("Content-Type", "application/rss+xml; charset=GBK"),
            Outcome::Ok,
        ),
        (
            "max-age-u64",
            Reply::ok(plain.clone()).header("Cache-Control", "max-age=18446744073709551615"),
            Outcome::Ok,
        ),
        (
            "max-age-1e13",
            Reply::ok(plain.clone()).header("Cache-Control", "max-age=10000000000000"),
            Outcome::Ok,
        ),
        (
            "ttl-u32",
            Reply::ok(chinese_rss("", "4294967295")),
            Outcome::Ok,
        ),
        (
            "retry-after-u64",
            Reply::status(429, "slow down").header("Retry-After", "18446744073709551615"),
            Outcome::RetrySoon,
        ),
    ];
    let latest = at(NOW) + chrono::Duration::hours(24) + chrono::Duration::minutes(144);
    for db in test_dbs("poll_hostile").await {
        let settings = settings(&db, &server, "");
        let mut accounts = Vec::new();
        for (id, reply, _) in &cases {
            server.set(&format!("/{id}.xml"), reply.clone());
            let url = format!("{}/{id}.xml", server.base());
            accounts.push(account(id, "website", &feed(&url)));
        }
        register(&db, &settings, &accounts).await;
        let reports = poll_all(&settings, &db, NOW).await;
        assert_eq!(reports.len(), cases.len(), "{reports:?}");
        let states = db.store.fetch_states().await.expect("states");
        for (id, _, outcome) in &cases {
            let r = report(&reports, id);
            assert_eq!(r.outcome, *outcome, "{r:?}");
            assert!(r.next_check_at <= latest, "{r:?}");
            if *outcome == Outcome::Ok {
                assert_eq!(r.new_posts, 1, "{r:?}");
                assert_eq!(states[*id].feed_title.as_deref(), Some("兰山发布"), "{id}");
            }
        }
        db.finish().await;
    }
}
