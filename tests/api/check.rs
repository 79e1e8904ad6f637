//! `xunjian check` end to end: the binary, a local feed server, a SQLite file.

use crate::feed_server::{FeedServer, Reply, feed_fixture};
use crate::helpers::at;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const NOW: &str = "2026-11-24T09:00:00+08:00";

fn xunjian(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xunjian"))
        .current_dir(dir)
        .env_remove("XUNJIAN_CONFIG")
        .env_remove("XUNJIAN_ACCOUNTS")
        .env_remove("XUNJIAN_DATABASE_URL")
        .env("XUNJIAN_LOG", "warn")
        .args(["--now", NOW])
        .args(args)
        .output()
        .expect("run xunjian")
}

fn write_setup(dir: &Path, server: &FeedServer) {
    std::fs::write(
        dir.join("xunjian.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}/xunjian.db\"\n\n[proxies.rsshub]\nurl = \"{}\"\nhealth_path = \"/healthz\"\n",
            dir.display(),
            server.base()
        ),
    )
    .expect("settings");
    let accounts = format!(
        r#"
[[unit]]
id = "gov"
name = "区政府办公室"
kind = "department"
contacts = [{{ name = "王敏", telegram_id = 123 }}]

[[unit]]
id = "szgl"
name = "区市政管理局"
kind = "department"
contacts = [{{ name = "李强", telegram_id = 456 }}]

[[account]]
id = "lsfb-weibo"
unit = "gov"
name = "兰山发布"
platform = "weibo"
proxy = "rsshub"
route = "/weibo/user/1234567890"

[[account]]
id = "lsfb-douyin"
unit = "gov"
name = "兰山发布"
platform = "douyin"
proxy = "rsshub"
route = "/douyin/user/lanshan"
interactive = false

[[account]]
id = "szls-toutiao"
unit = "szgl"
name = "市政兰山"
platform = "toutiao"
proxy = "rsshub"
route = "/toutiao/user/token/szls"
state = "closing"

[[account]]
id = "old-weibo"
unit = "szgl"
name = "兰山城管"
platform = "weibo"
proxy = "rsshub"
route = "/weibo/user/404"

[[account]]
id = "szls-site"
unit = "szgl"
name = "区市政管理局网站"
platform = "website"
feed = "{site}"

[[account]]
id = "szls-kuaishou"
unit = "szgl"
name = "市政兰山"
platform = "kuaishou"
proxy = "rsshub"
route = "/kuaishou/profile/szls"
state = "deregistered"
deregistered_on = "2026-03-01"
filing_ref = "临兰政办字〔2026〕5号"
"#,
        site = server.url("/site/feed.json")
    );
    std::fs::write(dir.join("accounts.toml"), accounts).expect("accounts");
}

fn serve(server: &FeedServer) {
    server.set("/healthz", Reply::ok("ok"));
    server.set(
        "/weibo/user/1234567890",
        Reply::ok(feed_fixture("weibo_rsshub.xml")),
    );
    server.set(
        "/douyin/user/lanshan",
        Reply::ok(feed_fixture("douyin_rsshub.xml")),
    );
    server.set(
        "/toutiao/user/token/szls",
        Reply::ok(feed_fixture("toutiao_rsshub.xml")),
    );
    server.set(
        "/weibo/user/404",
        Reply::status(503, feed_fixture("rsshub_weibo_gone.json")),
    );
    server.set("/site/feed.json", Reply::ok(feed_fixture("feed.json")));
    // The deregistered Kuaishou account still posts (shape of an RSSHub feed).
    server.set(
        "/kuaishou/profile/szls",
        Reply::ok(feed_fixture("douyin_rsshub.xml")),
    );
}

fn account<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["accounts"]
        .as_array()
        .and_then(|list| list.iter().find(|a| a["id"] == id))
        .unwrap_or_else(|| panic!("{id} missing in {json}"))
}

fn rules(account: &Value) -> Vec<String> {
    account["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f["rule"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

// Multi-threaded: the feed server must answer while the test waits on the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_polls_evaluates_and_prints_the_json_interface() {
    let server = FeedServer::start().await;
    serve(&server);
    let dir = tempfile::tempdir().expect("temp dir");
    write_setup(dir.path(), &server);
    let import = xunjian(dir.path(), &["import"]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    let out = xunjian(dir.path(), &["check", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("check prints JSON");

    assert_eq!(json["checked_at"], "2026-11-24T09:00:00+08:00");
    let s = &json["summary"];
    assert_eq!(
        (
            s["assessed"].as_u64(),
            s["qualified"].as_u64(),
            s["failed"].as_u64(),
            s["closing"].as_u64(),
            s["unknown"].as_u64()
        ),
        (Some(4), Some(2), Some(1), Some(1), Some(1)),
        "{json:#}"
    );
    // The 无法监测 account is not assessed: (4 − 1) / 4.
    assert_eq!(s["pass_rate"], 0.75);

    let weibo = account(&json, "lsfb-weibo");
    assert_eq!(weibo["verdict"], "qualified", "{weibo:#}");
    assert_eq!(weibo["platform"], "weibo");
    assert_eq!(weibo["last_post_at"], "2026-11-22T10:30:00+08:00");
    assert_eq!(weibo["days_since_post"], 1);

    let douyin = account(&json, "lsfb-douyin");
    assert_eq!(
        (douyin["verdict"].as_str(), rules(douyin)),
        (Some("failed"), vec!["no_interaction".to_string()])
    );
    assert_eq!(account(&json, "szls-toutiao")["verdict"], "closing");
    let gone = account(&json, "old-weibo");
    assert_eq!(gone["verdict"], "unknown");
    assert_eq!(rules(gone), vec!["source_failing".to_string()]);
    // People read what it means; the proxy's own words stay in the evidence.
    let message = gone["findings"][0]["message"].as_str().unwrap_or("");
    assert!(!message.contains("userInfo"), "{message}");
    assert!(message.contains("无法监测"), "{message}");
    assert!(
        gone["findings"][0]["evidence"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("userInfo"),
        "{gone:#}"
    );

    let kuaishou = account(&json, "szls-kuaishou");
    assert_eq!(kuaishou["state"], "deregistered");
    assert_eq!(rules(kuaishou), vec!["filed_but_active".to_string()]);
    assert_eq!(kuaishou["findings"][0]["severity"], "failure");
    assert_eq!(
        kuaishou["findings"][0]["evidence"]["filing_ref"],
        "临兰政办字〔2026〕5号"
    );

    // A second check without polling touches no feed and stores a second snapshot.
    let before = server.seen("/weibo/user/1234567890").len();
    let text = xunjian(dir.path(), &["check", "--no-poll"]);
    assert!(text.status.success());
    assert_eq!(server.seen("/weibo/user/1234567890").len(), before);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains(
            "共 4 个账号参与评定：合格 2，不合格 1，正在注销 1，合格率 75%\n另有 1 个账号无法监测，未纳入评定"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("[未提供有效互动功能] 区政府办公室「兰山发布」(抖音) 未提供有效互动功能"),
        "{stdout}"
    );
    // Each section's count is the verdict count: one line per account.
    assert!(stdout.contains("\n不合格（1）：\n"), "{stdout}");
    assert!(stdout.contains("\n无法监测（1）：\n"), "{stdout}");

    let settings =
        xunjian::config::Settings::load(Some(&dir.path().join("xunjian.toml")), &|_| None)
            .expect("settings");
    let store = xunjian::storage::Store::connect(&settings.database)
        .await
        .expect("store");
    let runs = store
        .inspections_between(
            at("2026-11-24T00:00:00+08:00"),
            at("2026-11-25T00:00:00+08:00"),
        )
        .await
        .expect("inspections");
    assert_eq!(runs.len(), 2);
    let results = store.inspection_results(runs[0].0).await.expect("results");
    assert!(
        results
            .iter()
            .any(|(id, verdict, rules)| id == "lsfb-douyin"
                && verdict == "failed"
                && rules == &vec!["no_interaction".to_string()])
    );
    store.close().await;
}

/// A 视频号 account has no feed: it is registered for the record, never
/// fetched, and listed as 人工检查 — not 合格, not 无法监测, not assessed —
/// in `check`, its JSON and the 通报, which still add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_a_feed_is_checked_by_hand_and_counted_apart() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    server.set("/weibo/user/1", Reply::ok(feed_fixture("weibo_rsshub.xml")));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path();
    std::fs::write(
        path.join("xunjian.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}/xunjian.db\"\n\n[proxies.rsshub]\nurl = \"{}\"\nhealth_path = \"/healthz\"\n",
            path.display(),
            server.base()
        ),
    )
    .expect("settings");
    std::fs::write(
        path.join("accounts.toml"),
        "[[unit]]\nid = \"gov\"\nname = \"区政府办公室\"\nkind = \"department\"\n\n\
         [[account]]\nid = \"w\"\nunit = \"gov\"\nname = \"兰山发布\"\nplatform = \"微博\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/1\"\n\n\
         [[account]]\nid = \"v\"\nunit = \"gov\"\nname = \"兰山发布\"\nplatform = \"视频号\"\nnote = \"每月底报送截图\"\n",
    )
    .expect("accounts");
    let out = xunjian(path, &["import"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = xunjian(path, &["accounts"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("（人工检查）") && table.contains("每月底报送截图"),
        "{table}"
    );
    let out = xunjian(path, &["check", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let summary = &json["summary"];
    assert_eq!(
        (
            summary["assessed"].as_u64(),
            summary["unknown"].as_u64(),
            summary["manual"].as_u64()
        ),
        (Some(1), Some(0), Some(1)),
        "{summary}"
    );
    let manual = json["accounts"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["id"] == "v"))
        .expect("the 视频号 account");
    assert_eq!(manual["verdict"], "manual");
    assert!(
        server.seen("/weibo/user/1").len() == 1,
        "only the weibo account is fetched"
    );
    let out = xunjian(path, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("另有 1 个账号无订阅来源，由人工检查") && text.contains("人工检查（1）"),
        "{text}"
    );
    let out = xunjian(
        path,
        &[
            "report", "--kind", "monthly", "--period", "2026-11", "--format", "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("report json");
    assert_eq!(
        report["manual"].as_array().map(Vec::len),
        Some(1),
        "{}",
        report["manual"]
    );
    let out = xunjian(
        path,
        &["report", "--kind", "monthly", "--period", "2026-11"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("人工检查1个"), "{text}");
}
