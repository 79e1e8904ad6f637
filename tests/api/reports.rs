//! Reports end to end: scheduled runs with a fixed clock (due, missed while
//! down, never twice with two daemons on one database), the report command,
//! and the demo.

use crate::helpers::{TestDb, at, shipped_register, test_dbs};
use std::process::Command;
use xunjian::app::App;
use xunjian::calendar::Calendar;
use xunjian::publish::{latest_due, run_due_reports};
use xunjian::reports::ReportKind;
use xunjian::storage::Store;

/// The shipped register with one inspection in each report period of 2026-11-23.
async fn prepared(db: &TestDb) -> App {
    let app = App::open(db.settings.clone(), shipped_register())
        .await
        .expect("app");
    app.import(false, false, at("2026-07-01T09:00:00+08:00"))
        .await
        .expect("import");
    let inspector = xunjian::inspection::Inspector::new(db.store.clone(), db.settings.clone())
        .expect("inspector");
    for when in [
        "2026-08-14T09:00:00+08:00",
        "2026-10-15T09:00:00+08:00",
        "2026-11-18T09:00:00+08:00",
    ] {
        let result = inspector.evaluate(at(when)).await.expect("evaluate");
        db.store
            .save_inspection(&result, at(when))
            .await
            .expect("save");
    }
    app
}

#[tokio::test]
async fn a_fresh_install_does_not_send_empty_reports_for_periods_before_it() {
    let calendar = Calendar::builtin();
    for db in test_dbs("reports_fresh").await {
        let app = App::open(db.settings.clone(), shipped_register())
            .await
            .expect("app");
        app.import(false, false, at("2026-11-23T09:00:00+08:00"))
            .await
            .expect("import");
        let now = at("2026-11-23T09:03:30+08:00");
        let ran = run_due_reports(&app.store, &db.settings, &calendar, now, "a")
            .await
            .expect("run");
        assert!(ran.is_empty(), "{ran:?}");
        assert!(
            app.store
                .outbox("console")
                .await
                .expect("outbox")
                .is_empty()
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn scheduled_reports_run_when_due_catch_up_after_downtime_and_never_twice() {
    let calendar = Calendar::builtin();
    for db in test_dbs("reports_schedule").await {
        let app = prepared(&db).await;
        let settings = &db.settings;
        // Monday 2026-11-23 09:03 (+08:00): the weekly report is due; October's monthly
        // (11-01 09:07) and Q4's quarterly (first workday 10-08, after National Day) were
        // missed while the daemon was down and are caught up once.
        let now = at("2026-11-23T09:03:30+08:00");
        let due = latest_due(settings, &calendar, now);
        let kinds: Vec<(ReportKind, String)> = due
            .iter()
            .map(|(k, t)| (*k, xunjian::calendar::to_local(*t).to_rfc3339()))
            .collect();
        assert!(
            kinds.contains(&(ReportKind::Weekly, "2026-11-23T09:03:00+08:00".into())),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(ReportKind::Monthly, "2026-11-01T09:07:00+08:00".into())),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(ReportKind::Quarterly, "2026-10-08T09:10:00+08:00".into())),
            "{kinds:?}"
        );

        let ran = run_due_reports(&app.store, settings, &calendar, now, "a")
            .await
            .expect("run");
        assert_eq!(ran.len(), 3);
        let again = run_due_reports(
            &app.store,
            settings,
            &calendar,
            now + chrono::Duration::minutes(1),
            "a",
        )
        .await
        .expect("run");
        assert!(again.is_empty(), "never twice: {again:?}");
        let console = app.store.outbox("console").await.expect("outbox");
        let (reports, notices) = reports_and_notices(&console);
        assert_eq!(reports, 3, "{console:#?}");
        assert!(
            notices > 0,
            "the monthly and quarterly reports are issued: {console:#?}"
        );
        assert!(
            console
                .iter()
                .any(|(_, body, _)| body.starts_with("政务新媒体周报（2026-11-16 至 2026-11-22）")),
            "{console:?}"
        );
        assert!(
            console
                .iter()
                .any(|(_, body, _)| body.starts_with("政务新媒体月度通报（2026年10月）"))
        );
        assert!(
            console
                .iter()
                .any(|(_, body, _)| body.starts_with("政务新媒体季度检查通报（2026年第三季度）"))
        );
        db.finish().await;
    }
}

/// (reports, 整改通知) among queued messages; each unit gets one notice per
/// issued report, never two.
fn reports_and_notices(queued: &[(String, String, bool)]) -> (usize, usize) {
    let reports = queued
        .iter()
        .filter(|(_, body, _)| body.starts_with("政务新媒体"))
        .count();
    let notices: Vec<&str> = queued
        .iter()
        .filter(|(_, body, _)| body.starts_with("【整改通知】"))
        .map(|(_, body, _)| body.as_str())
        .collect();
    let distinct: std::collections::BTreeSet<&str> = notices.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        notices.len(),
        "a notice sent twice: {notices:#?}"
    );
    (reports, notices.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_on_one_postgres_database_send_each_report_once() {
    let Some(db) = test_dbs("reports_two_daemons")
        .await
        .into_iter()
        .find(|db| db.store.backend() == "postgres")
    else {
        return; // PostgreSQL not configured (CI always has it: test_dbs insists there).
    };
    let app = prepared(&db).await;
    let second = Store::connect(&db.settings.database)
        .await
        .expect("second daemon");
    let calendar = Calendar::builtin();
    let now = at("2026-11-23T09:04:00+08:00");
    let (one, two) = tokio::join!(
        run_due_reports(&app.store, &db.settings, &calendar, now, "daemon-1"),
        run_due_reports(&second, &db.settings, &calendar, now, "daemon-2"),
    );
    let total = one.expect("first").len() + two.expect("second").len();
    assert_eq!(total, 3, "each due report exactly once across both daemons");
    let console = app.store.outbox("console").await.expect("outbox");
    let (reports, notices) = reports_and_notices(&console);
    assert_eq!(reports, 3, "{console:#?}");
    assert!(notices > 0);
    let items = app
        .store
        .rectification_items(None, false)
        .await
        .expect("items");
    // Issued the same morning, the quarterly report carries the monthly's
    // items on: one item per problem, never two.
    let accounts: Vec<&str> = items.iter().map(|i| i.account_id.as_str()).collect();
    let distinct: std::collections::BTreeSet<&str> = accounts.iter().copied().collect();
    assert_eq!(accounts.len(), distinct.len(), "{items:#?}");
    for key in [
        "monthly:2026-10-01:2026-10-31",
        "quarterly:2026-07-01:2026-09-30",
    ] {
        assert!(
            app.store
                .issued_report(key)
                .await
                .expect("record")
                .is_some(),
            "{key} is recorded once issued"
        );
    }
    second.close().await;
    db.finish().await;
}

#[test]
fn the_report_command_writes_every_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/xunjian.toml"),
        dir.path().join("xunjian.toml"),
    )
    .expect("settings");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xunjian"))
            .current_dir(dir.path())
            .env_remove("XUNJIAN_DATABASE_URL")
            .env_remove("XUNJIAN_CONFIG")
            .env("XUNJIAN_LOG", "warn")
            .arg("--accounts")
            .arg(shipped_register())
            .args(args)
            .output()
            .expect("run")
    };
    assert!(run(&["import"]).status.success());
    assert!(
        run(&["check", "--no-poll", "--now", "2026-10-20T09:00:00+08:00"])
            .status
            .success()
    );
    let json = run(&[
        "report", "--kind", "monthly", "--period", "2026-10", "--format", "json",
    ]);
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(value["inspections"], 1);
    let summary = &value["summary"];
    assert_eq!(
        summary["assessed"]
            .as_u64()
            .zip(summary["unknown"].as_u64())
            .map(|(a, u)| a + u),
        Some(12),
        "every account in scope is assessed or 无法监测: {summary}"
    );
    assert!(value["units"].as_array().is_some_and(|u| {
        u.iter()
            .all(|u| u["deduction"].is_number() && u["weekly_misses"].is_number())
    }));
    let xlsx = dir.path().join("r.xlsx");
    let out = run(&[
        "report",
        "--kind",
        "scoring",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--format",
        "xlsx",
        "--out",
        xlsx.to_str().unwrap_or(""),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&xlsx).expect("xlsx").starts_with(b"PK"));
    for format in ["png", "docx"] {
        let refused = run(&["report", "--kind", "monthly", "--format", format]);
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr)
                .contains("此格式须写入文件，请加 --out 文件名")
        );
    }
    let bad = run(&["report", "--kind", "monthly", "--period", "2026-13"]);
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("--period \"2026-13\"：应为 YYYY、YYYY-MM、YYYY-Qn 或 YYYY-Wnn")
    );
    let mismatched = run(&["report", "--kind", "weekly", "--period", "2026-11"]);
    assert!(!mismatched.status.success());
    assert!(
        String::from_utf8_lossy(&mismatched.stderr)
            .contains("--kind weekly 与 --period \"2026-11\" 不匹配"),
        "{}",
        String::from_utf8_lossy(&mismatched.stderr)
    );
    let future = run(&["report", "--kind", "monthly", "--period", "2099-01"]);
    assert!(!future.status.success());
    assert!(String::from_utf8_lossy(&future.stderr).contains("尚未开始"));
    formats_agree(&run, &["--kind", "monthly", "--period", "2026-10"]);
    formats_agree(&run, &["--kind", "quarterly", "--period", "2026-Q4"]);
}

/// Text, Markdown, JSON and XLSX of one report carry the same numbers, and the
/// report keeps its invariants.
fn formats_agree(run: &dyn Fn(&[&str]) -> std::process::Output, args: &[&str]) {
    use calamine::{Data, Reader, Xlsx};
    let output = |format: &str| {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", format]);
        let out = run(&all);
        assert!(
            out.status.success(),
            "{args:?} {format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let json: serde_json::Value = serde_json::from_str(&output("json")).expect("json");
    let report: xunjian::reports::Report =
        serde_json::from_value(json.clone()).expect("the JSON is a whole report");
    assert_eq!(
        xunjian::reports::reconcile::discrepancies(&report),
        Vec::<String>::new(),
        "{args:?}"
    );
    // Each format is a run of its own: the minute it was generated in may
    // differ from the JSON's (a run across a minute's end failed here).
    let untimed = |report: &str| -> String {
        report
            .trim_end()
            .lines()
            .filter(|line| !line.starts_with("生成时间："))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let text = output("text");
    let markdown = output("md");
    assert_eq!(
        untimed(&text),
        untimed(&xunjian::reports::render::text(&report))
    );
    assert_eq!(
        untimed(&markdown),
        untimed(&xunjian::reports::render::markdown(&report))
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("r.xlsx");
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    let path_text = path.to_str().unwrap_or("");
    all.extend_from_slice(&["--format", "xlsx", "--out", path_text]);
    assert!(run(&all).status.success());
    docx_agrees(run, args, &report);
    let mut book: Xlsx<_> = calamine::open_workbook(&path).expect("xlsx");
    let summary = book.worksheet_range("汇总").expect("summary");
    let cell = |row: u32| match summary.get_value((row, 1)) {
        Some(Data::Float(n)) => *n as u64,
        other => panic!("汇总 row {row}: {other:?}"),
    };
    let s = &json["summary"];
    let expected = [
        &json["inspections"],
        &json["assessable_weeks"],
        &json["posts"],
        &json["stale_incidents"],
        &s["qualified"],
        &s["failed"],
        &s["closing"],
        &s["unknown"],
        &s["assessed"],
    ];
    for (i, value) in expected.iter().enumerate() {
        assert_eq!(
            Some(cell(2 + i as u32)),
            value.as_u64(),
            "{args:?}: 汇总 row {}",
            2 + i
        );
    }
}

/// Every rule the demo is there to show.
const DEMO_RULES: [&str; 16] = [
    "超6个月未更新",
    "疑似僵尸账号",
    "超1个月未更新",
    "超两周未更新",
    "更新预警",
    "每周更新未达标",
    "以转发为主缺少原创",
    "月度无原创",
    "注销后未备案",
    "已注销仍在更新",
    "名称变更未报备",
    "同平台重复开设",
    "未提供有效互动功能",
    "无法监测",
    "监测代理不可用",
    "未登记联系人",
];

/// The demo on whatever day it is run: the first of a month (when "the last
/// complete month" just changed), the Spring Festival and National Day
/// holidays, a leap day.
#[test]
fn the_demo_shows_every_rule_on_any_day() {
    for day in [
        "2026-12-01T00:30:00+08:00",
        "2026-12-09T10:00:00+08:00",
        "2027-02-17T10:00:00+08:00",
        "2026-10-05T10:00:00+08:00",
        "2028-02-29T10:00:00+08:00",
        "2027-01-01T09:00:00+08:00",
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new(env!("CARGO_BIN_EXE_xunjian"))
            .current_dir(dir.path())
            .env("XUNJIAN_LOG", "error")
            .env("TMPDIR", dir.path())
            .args(["--now", day, "demo"])
            .output()
            .expect("run the demo");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{day}: {stdout}");
        for rule in DEMO_RULES {
            assert!(
                stdout.contains(&format!("[{rule}]")),
                "{day}: the demo does not show {rule}:\n{stdout}"
            );
        }
    }
}

#[test]
fn the_demo_runs_the_whole_pipeline_offline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_xunjian"))
        .current_dir(dir.path())
        .env("XUNJIAN_LOG", "error")
        .env("TMPDIR", dir.path())
        .arg("demo")
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for rule in DEMO_RULES {
        assert!(
            stdout.contains(&format!("[{rule}]")),
            "the demo does not show {rule}:\n{stdout}"
        );
    }
    assert!(stdout.contains("【政务新媒体巡检】"), "alerts printed");
    assert!(stdout.contains("政务新媒体月度通报"), "report printed");
    let written: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split("已写入 ").nth(1))
        .collect();
    assert_eq!(written.len(), 4, "{stdout}");
    for path in &written {
        assert!(std::path::Path::new(path).exists(), "{path}");
    }
    // The demo's 通报 is the last complete calendar month, and its numbers add up in every format.
    let demo_dir = std::path::Path::new(written[0])
        .parent()
        .expect("the demo's directory")
        .to_path_buf();
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .date_naive();
    let month = (chrono::Datelike::with_day(&today, 1).expect("day 1") - chrono::Duration::days(1))
        .format("%Y-%m")
        .to_string();
    assert!(
        stdout.contains(&format!(
            "政务新媒体月度通报（{}年{}月）",
            &month[..4],
            month[5..].trim_start_matches('0')
        )),
        "{stdout}"
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xunjian"))
            .current_dir(&demo_dir)
            .env("XUNJIAN_LOG", "error")
            .env_remove("XUNJIAN_DATABASE_URL")
            .env_remove("XUNJIAN_CONFIG")
            .arg("--accounts")
            .arg(demo_dir.join("accounts.toml"))
            .args(args)
            .output()
            .expect("run")
    };
    formats_agree(&run, &["--kind", "monthly", "--period", &month]);
}

/// `--format docx` writes the 通报 with the report's title and numbers.
fn docx_agrees(
    run: &dyn Fn(&[&str]) -> std::process::Output,
    args: &[&str],
    report: &xunjian::reports::Report,
) {
    use std::io::Read as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("r.docx");
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "docx", "--out", path.to_str().unwrap_or("")]);
    let out = run(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&path).expect("docx");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("document.xml")
        .read_to_string(&mut xml)
        .expect("utf-8");
    let text = regex::Regex::new("<[^>]+>")
        .expect("regex")
        .replace_all(&xml, "");
    let mut expected = vec![
        xunjian::reports::docx::content::title(report, "全区"),
        format!("共发布信息{}条", report.posts),
    ];
    if report.is_assessable {
        expected.push(xunjian::reports::render::verdict_sentence(&report.summary));
        expected.push(xunjian::reports::render::incidents_sentence(report));
    } else {
        expected.push("本期无巡检记录，无法评定".to_string());
    }
    for e in expected {
        assert!(text.contains(&e), "{args:?}: {e} not in the .docx:\n{text}");
    }
}
