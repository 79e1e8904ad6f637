//! `xunjian run` as a real process: it polls, and stops cleanly on SIGTERM.

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
