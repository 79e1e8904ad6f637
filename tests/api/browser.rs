//! The web console in a real headless Chromium, through WebDriver, against
//! `xunjian run` as a real process (SQLite), its feeds over HTTP.
//!
//! With `XUNJIAN_SCREENSHOTS=DIR` every page is also saved there at phone
//! and desktop width, to be looked at.

use crate::feed_server::{FeedServer, Reply};
use crate::helpers::xunjian_in;
use crate::webdriver::{Browser, Driver, chromedriver};
use chrono::{Duration, Utc};
use std::path::Path;
use std::process::{Child, Stdio};

/// The RSS feed of the account `name` whose items are `ages` days old.
fn rss(name: &str, ages: &[i64]) -> String {
    let items: String = ages
        .iter()
        .enumerate()
        .map(|(i, age)| {
            let at = (Utc::now() - Duration::days(*age)).to_rfc2822();
            format!(
                "<item><title>工作动态第{i}期</title><link>https://example.gov.cn/{i}</link><guid>g{age}-{i}</guid><pubDate>{at}</pubDate><description>本单位召开工作会议。</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{name}</title><link>https://example.gov.cn</link><description>d</description>{items}</channel></rss>"
    )
}

const UNITS: &str = "[[unit]]\nid = \"gov\"\nname = \"区政府办公室\"\nkind = \"department\"\n\
contacts = [{ name = \"王敏\", telegram_id = 1001 }]\n\n\
[[unit]]\nid = \"yt\"\nname = \"义堂镇\"\nkind = \"town\"\n\
contacts = [{ name = \"周磊\", telegram_id = 1002 }]\n\n\
[[account]]\nid = \"gov-weibo\"\nunit = \"gov\"\nname = \"兰山发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/1\"\n\n\
[[account]]\nid = \"yt-weibo\"\nunit = \"yt\"\nname = \"义堂发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/2\"\n";

fn settings(dir: &Path, feeds: &str, port: u16) -> String {
    format!(
        "[database]\nurl = \"sqlite://{0}/d.db\"\n[proxies.rsshub]\nurl = \"{feeds}\"\nhealth_path = \"/healthz\"\n\
         [server]\nlisten = \"127.0.0.1:{port}\"\nupload_dir = \"{0}/uploads\"\n\
         [reports]\nweekly_cron = \"\"\nmonthly_cron = \"\"\nquarterly_time = \"\"\n",
        dir.display()
    )
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = xunjian_in(dir).args(args).output().expect("run xunjian");
    assert!(
        out.status.success(),
        "xunjian {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Saves the page at phone and desktop width when asked to.
async fn shoot(browser: &Browser, name: &str) {
    let Ok(dir) = std::env::var("XUNJIAN_SCREENSHOTS") else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    for (label, width, height) in [("phone", 390, 1400), ("desktop", 1280, 1000)] {
        browser.resize(width, height).await;
        let png = browser.screenshot().await;
        std::fs::write(format!("{dir}/{name}-{label}.png"), png).expect("save screenshot");
    }
    browser.resize(1280, 1000).await;
}

/// Uses a sign-in link as a person would: open it, press the button.
async fn sign_in(browser: &Browser, link: &str) {
    browser.forget_cookies().await;
    browser.go(link).await;
    browser.click("#enter").await;
    browser.wait_text("h1", "总览").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_and_a_contact_use_the_console_in_a_real_browser() {
    let Some(chromedriver) = chromedriver() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but chromedriver is missing: .ci/run installs chromium and chromium-driver"
        );
        eprintln!("chromedriver not installed: the browser test is skipped");
        return;
    };
    let feeds = FeedServer::start().await;
    feeds.set("/healthz", Reply::ok("ok"));
    feeds.set("/weibo/1", Reply::ok(rss("兰山发布", &[1, 3, 5])));
    feeds.set("/weibo/2", Reply::ok(rss("义堂发布", &[30, 40])));
    feeds.set("/weibo/3", Reply::ok(rss("兰山新闻", &[2])));
    let dir = tempfile::tempdir().expect("temp dir");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let base = format!("http://127.0.0.1:{port}");
    std::fs::write(
        dir.path().join("xunjian.toml"),
        settings(dir.path(), &feeds.base(), port),
    )
    .expect("settings");
    std::fs::write(dir.path().join("accounts.toml"), UNITS).expect("accounts");
    run(dir.path(), &["import"]);
    let check: serde_json::Value =
        serde_json::from_str(&run(dir.path(), &["check", "--format", "json"])).expect("JSON");
    let rate = check["summary"]["pass_rate"].as_f64().expect("a pass rate");
    assert_eq!(check["summary"]["failed"], 1, "{check}");
    let month = crate::helpers::local_today().format("%Y-%m").to_string();
    run(
        dir.path(),
        &["report", "--kind", "monthly", "--period", &month, "--issue"],
    );

    // A workbook that adds an account, made the way a clerk would: exported, edited.
    let other = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        other.path().join("xunjian.toml"),
        settings(other.path(), &feeds.base(), port),
    )
    .expect("settings");
    std::fs::write(
        other.path().join("accounts.toml"),
        format!("{UNITS}\n[[account]]\nid = \"gov-news\"\nunit = \"gov\"\nname = \"兰山新闻\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/3\"\n"),
    )
    .expect("accounts");
    run(other.path(), &["import"]);
    let workbook = other.path().join("台账.xlsx");
    run(
        other.path(),
        &["export", "--out", workbook.to_str().expect("a path")],
    );

    let daemon = Daemon(
        xunjian_in(dir.path())
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the daemon"),
    );
    let http = reqwest::Client::new();
    let mut is_up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            is_up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(is_up, "the daemon's server never answered");

    let driver = Driver::start(chromedriver).await;
    let browser = driver.session(1280, 1000).await;

    // Nothing without a session.
    browser.go(&format!("{base}/accounts")).await;
    assert!(
        browser.text("h1").await.contains("请先登录"),
        "{}",
        browser.text("body").await
    );

    // A contact of 义堂镇: their unit only; another unit's account is 404.
    let contact_link = run(dir.path(), &["login-link", "--unit", "义堂镇"]);
    sign_in(&browser, &contact_link).await;
    assert!(browser.text("#who").await.contains("单位联系人"));
    browser.go(&format!("{base}/accounts")).await;
    assert_eq!(browser.text("#count").await, "共 1 个账号");
    assert!(browser.text("#accounts").await.contains("义堂发布"));
    assert!(!browser.text("#accounts").await.contains("兰山发布"));
    shoot(&browser, "accounts-contact").await;
    browser.go(&format!("{base}/accounts/gov-weibo")).await;
    assert!(browser.text("h1").await.contains("未找到"));
    // The browser's own session, outside it (the pages run no script).
    let session = format!(
        "xunjian_session={}",
        browser.cookie("xunjian_session").await
    );
    let status = http
        .get(format!("{base}/accounts/gov-weibo"))
        .header("Cookie", &session)
        .send()
        .await
        .expect("GET")
        .status();
    assert_eq!(status, 404);
    // The contact answers the 整改 item in the browser.
    browser.go(&format!("{base}/rectification")).await;
    browser
        .type_in("input[name=note]", "已恢复每周更新，补发了三篇工作动态")
        .await;
    browser.click("form[action$='/respond'] button").await;
    assert!(
        browser
            .wait_text(".state", "已反馈待核实")
            .await
            .contains("已反馈待核实")
    );
    shoot(&browser, "rectification-contact").await;

    // The admin: 总览's 合格率 is check's.
    let admin_link = run(dir.path(), &["--by", "王科", "login-link"]);
    sign_in(&browser, &admin_link).await;
    let shown = browser.text("#pass-rate").await;
    assert_eq!(
        shown,
        xunjian::reports::render::pass_rate(Some(rate)),
        "check said {rate}"
    );
    assert_eq!(browser.text("#failed").await, "1");
    shoot(&browser, "overview").await;

    // The 台账, filtered by unit and by problem, and searched by name.
    browser.go(&format!("{base}/accounts")).await;
    assert_eq!(browser.text("#count").await, "共 2 个账号");
    browser
        .click("select[name=problem] option[value=failed]")
        .await;
    browser.click("form.filters button").await;
    assert_eq!(browser.wait_text("#count", "共 1 个").await, "共 1 个账号");
    assert!(browser.text("#accounts").await.contains("义堂发布"));
    browser
        .go(&format!("{base}/accounts?unit=gov&q=%E5%85%B0%E5%B1%B1"))
        .await;
    assert_eq!(browser.text("#count").await, "共 1 个账号");
    shoot(&browser, "accounts").await;
    browser.go(&format!("{base}/accounts/yt-weibo")).await;
    assert!(browser.text("#posts").await.contains("工作动态"));
    assert!(browser.text("#fetch").await.contains("最近抓取"));
    shoot(&browser, "account").await;

    // Acknowledge the alert.
    browser.go(&format!("{base}/alerts")).await;
    assert!(browser.count("button.ack").await >= 1);
    shoot(&browser, "alerts").await;
    browser.click("button.ack").await;
    assert!(
        browser
            .wait_text(".acked", "已确认")
            .await
            .contains("已确认")
    );
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}/d.db", dir.path().display()))
        .await
        .expect("the daemon's database");
    let (acked,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM alerts WHERE acked_by = '王科（网页）'")
            .fetch_one(&db)
            .await
            .expect("count");
    assert_eq!(acked, 1, "the ack is audited with the person's name");

    // Send the 整改 answer back, with a reason.
    browser
        .go(&format!("{base}/rectification?state=responded"))
        .await;
    shoot(&browser, "rectification").await;
    browser
        .type_in("input[name=reason]", "未见新发文，请补充链接")
        .await;
    browser.click("button.return").await;
    browser.wait_text("h1", "整改事项").await;
    browser.go(&format!("{base}/rectification?state=all")).await;
    assert!(browser.text(".state").await.contains("待整改"));
    assert!(
        browser
            .text("#history, body")
            .await
            .contains("整改反馈被退回：未见新发文，请补充链接")
    );

    // Upload the edited workbook: the dry run first, then the import.
    browser.go(&format!("{base}/register")).await;
    shoot(&browser, "register").await;
    browser
        .type_in("input[type=file]", workbook.to_str().expect("a path"))
        .await;
    browser.click("#upload button").await;
    assert!(
        browser
            .wait_text("#plan", "兰山新闻")
            .await
            .contains("兰山新闻"),
        "{}",
        browser.text("body").await
    );
    shoot(&browser, "register-dry-run").await;
    // The register moves before the clerk confirms: the new preview is shown, nothing imported.
    std::fs::write(
        dir.path().join("accounts.toml"),
        UNITS.replace("name = \"义堂发布\"", "name = \"义堂镇发布\""),
    )
    .expect("accounts");
    run(dir.path(), &["import"]);
    browser.click("#apply").await;
    assert!(
        browser
            .wait_text("#changed", "已有变化")
            .await
            .contains("已有变化")
    );
    assert!(
        browser.text("#plan").await.contains("义堂镇发布"),
        "{}",
        browser.text("#plan").await
    );
    browser.go(&format!("{base}/accounts")).await;
    assert_eq!(
        browser.text("#count").await,
        "共 2 个账号",
        "nothing imported yet"
    );
    browser.go(&format!("{base}/register/uploads/1")).await;
    browser.click("#apply").await;
    assert!(
        browser
            .wait_text("#applied", "已导入")
            .await
            .contains("已导入")
    );
    browser.go(&format!("{base}/accounts")).await;
    assert_eq!(browser.text("#count").await, "共 3 个账号");
    browser.go(&format!("{base}/history")).await;
    assert!(browser.text("#history").await.contains("兰山新闻"));
    shoot(&browser, "history").await;

    // The quarterly .docx downloads.
    browser.go(&format!("{base}/reports")).await;
    shoot(&browser, "reports").await;
    let quarter = {
        let today = crate::helpers::local_today();
        use chrono::Datelike as _;
        format!("{}-Q{}", today.year(), (today.month() - 1) / 3 + 1)
    };
    let session = format!(
        "xunjian_session={}",
        browser.cookie("xunjian_session").await
    );
    let docx = http
        .get(format!(
            "{base}/reports/file?kind=quarterly&period={quarter}&format=docx"
        ))
        .header("Cookie", &session)
        .send()
        .await
        .expect("GET the .docx");
    assert_eq!(docx.status(), 200);
    let disposition = docx.headers()["content-disposition"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        disposition.contains("xunjian-quarterly-") && disposition.ends_with(".docx\""),
        "{disposition}"
    );
    let bytes = docx.bytes().await.expect("the .docx");
    assert!(
        bytes.len() > 5000 && bytes.starts_with(b"PK"),
        "a zip of {} bytes",
        bytes.len()
    );
    let path = dir.path().join("季度通报.docx");
    std::fs::write(&path, &bytes).expect("keep the .docx");
    if let Ok(shots) = std::env::var("XUNJIAN_SCREENSHOTS") {
        std::fs::copy(&path, format!("{shots}/quarterly.docx")).expect("copy the .docx");
    }
    browser
        .go(&format!("{base}/reports/view?kind=monthly&period={month}"))
        .await;
    assert!(browser.text("#report").await.contains("合格率"));
    shoot(&browser, "report").await;

    // A POST without its CSRF token is refused, and changes nothing.
    for body in ["", "csrf=wrong"] {
        let refused = http
            .post(format!("{base}/alerts/1/snooze"))
            .header("Cookie", &session)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("{body}&days=3&reason=x"))
            .send()
            .await
            .expect("POST");
        assert_eq!(refused.status(), 403, "{body}");
        assert!(refused.text().await.expect("text").contains("校验码"));
    }
    let (silenced,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM silences")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(silenced, 0, "a refused form changes nothing");

    // A used link and an expired one say so when opened: no button.
    browser.forget_cookies().await;
    browser.go(&admin_link).await;
    let said = browser.wait_text("#message", "已使用过").await;
    assert!(said.contains("已使用过"), "{said}");
    assert_eq!(browser.count("#enter").await, 0);
    let earlier = (Utc::now() - Duration::minutes(30)).to_rfc3339();
    let expired = run(dir.path(), &["--now", &earlier, "login-link"]);
    browser.go(&expired).await;
    let said = browser.wait_text("#message", "已过期").await;
    assert!(said.contains("已过期"), "{said}");
    browser.go(&format!("{base}/")).await;
    assert!(browser.text("h1").await.contains("请先登录"));
    browser.close().await;
    drop(daemon);
}
