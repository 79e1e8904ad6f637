//! The binary, run the way a user runs it.

use crate::helpers::{fixture, shipped_register};
use std::process::Command;

fn xunjian(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xunjian"));
    cmd.current_dir(dir)
        .env_remove("XUNJIAN_CONFIG")
        .env_remove("XUNJIAN_ACCOUNTS")
        .env_remove("XUNJIAN_DATABASE_URL")
        .env("XUNJIAN_LOG", "warn");
    cmd
}

fn settings_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("xunjian.toml");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/xunjian.toml"), &path)
        .expect("copy settings");
    path
}

#[test]
fn a_bad_register_exits_non_zero_and_lists_every_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    settings_file(dir.path());
    let out = xunjian(dir.path())
        .args(["--accounts"])
        .arg(fixture("bad_accounts.toml"))
        .arg("import")
        .output()
        .expect("run xunjian");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("台账有 3 处问题"), "{stderr}");
    assert!(
        stderr.contains("bad_accounts.toml:9:12: 账号「a1」：platform 未知平台「weixin」"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad_accounts.toml:10:9: 账号「a1」：`proxy` 未配置的代理「rsshub2」（已配置：rsshub、wewe）"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad_accounts.toml:15:6: 账号「a1」：ID 重复（第 7 行已有）"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("xunjian.db").exists(),
        "a bad register must not touch the database"
    );
}

#[test]
fn import_accounts_and_export_work_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    settings_file(dir.path());
    let register = shipped_register();
    let import = xunjian(dir.path())
        .arg("--accounts")
        .arg(&register)
        .arg("import")
        .output()
        .expect("import");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let summary = String::from_utf8_lossy(&import.stdout);
    assert!(
        summary.contains("新增 13 个账号；新增 5 个单位；0 项未变化"),
        "{summary}"
    );
    assert!(
        summary.contains("新增账号「兰山发布」（lsfb-weibo）"),
        "{summary}"
    );

    let table = xunjian(dir.path())
        .args(["accounts", "--platform", "weibo"])
        .output()
        .expect("accounts");
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(
        stdout.contains("lsfb-weibo") && stdout.contains("yitang-weibo"),
        "{stdout}"
    );
    assert!(!stdout.contains("lsfb-wechat"), "{stdout}");
    assert!(stdout.contains("共 2 个账号"), "{stdout}");
    assert!(stdout.starts_with("账号ID"), "{stdout}");
    let chinese = xunjian(dir.path())
        .args(["accounts", "--platform", "微博"])
        .output()
        .expect("accounts");
    assert_eq!(String::from_utf8_lossy(&chinese.stdout), stdout);

    let out = dir.path().join("out.toml");
    let export = xunjian(dir.path())
        .arg("export")
        .arg("--out")
        .arg(&out)
        .output()
        .expect("export");
    assert!(export.status.success());
    let exported = std::fs::read_to_string(&out).expect("exported file");
    assert!(exported.contains("filing_ref = \"临兰政办字〔2026〕5号\""));
}

#[test]
fn a_bad_settings_file_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("xunjian.toml");
    std::fs::write(
        &path,
        "[database]\nurl = \"sqlite://x.db\"\npasword = \"x\"\n",
    )
    .expect("write");
    let out = xunjian(dir.path()).arg("migrate").output().expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("xunjian.toml 第 3 行第 1 列（[database]）：未知的设置项 `pasword`"),
        "{stderr}"
    );
}

#[test]
fn the_database_password_never_appears_in_debug_output() {
    let env = |key: &str| match key {
        "XUNJIAN_DATABASE_URL" => Some("postgres://xj:hunter2@db.example/xj".to_string()),
        "XUNJIAN_DATABASE_PASSWORD" => Some("s3cr3t".to_string()),
        _ => None,
    };
    let settings = xunjian::config::Settings::load(Some(&fixture("settings_minimal.toml")), &env)
        .expect("settings");
    let debug = format!("{settings:?}");
    assert!(settings.database.url.contains("hunter2"));
    assert!(
        !debug.contains("hunter2") && !debug.contains("s3cr3t"),
        "{debug}"
    );
    assert_eq!(
        settings.database.password.as_ref().map(|p| p.expose()),
        Some("s3cr3t")
    );
}

#[test]
fn an_accounts_file_that_does_not_exist_is_an_error_not_an_empty_register() {
    let dir = tempfile::tempdir().expect("temp dir");
    settings_file(dir.path());
    for command in ["accounts", "import", "export", "check"] {
        let out = xunjian(dir.path())
            .args(["--accounts", "台账.toml", command])
            .output()
            .expect("run");
        assert!(!out.status.success(), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("错误：找不到台账文件 台账.toml"),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn accounts_and_check_on_a_database_never_imported_name_the_command_to_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    settings_file(dir.path());
    for args in [vec!["accounts"], vec!["check", "--no-poll"]] {
        let out = xunjian(dir.path()).args(&args).output().expect("run");
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("数据库中还没有台账：请先运行 xunjian import"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn commands_that_send_nothing_do_not_demand_robot_webhooks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = settings_file(dir.path());
    let mut text = std::fs::read_to_string(&settings).expect("settings");
    text.push_str("\n[robots.office]\nkind = \"wecom\"\n");
    std::fs::write(&settings, text).expect("write settings");
    let register = shipped_register();
    let import = xunjian(dir.path())
        .arg("--accounts")
        .arg(&register)
        .arg("import")
        .output()
        .expect("import");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    for args in [
        vec!["accounts"],
        vec!["export"],
        vec![
            "report", "--kind", "monthly", "--period", "2026-10", "--out", "r.txt",
        ],
    ] {
        let out = xunjian(dir.path()).args(&args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let run = xunjian(dir.path())
        .arg("--accounts")
        .arg(&register)
        .arg("run")
        .output()
        .expect("run");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("XUNJIAN_ROBOT_OFFICE_WEBHOOK"), "{stderr}");
}

#[test]
fn poll_outcomes_are_printed_in_chinese() {
    let dir = tempfile::tempdir().expect("temp dir");
    settings_file(dir.path());
    let register = shipped_register();
    let import = xunjian(dir.path())
        .arg("--accounts")
        .arg(&register)
        .arg("import")
        .output()
        .expect("import");
    assert!(import.status.success());
    // The settings' proxies are on 127.0.0.1 ports nothing listens on.
    let out = xunjian(dir.path())
        .args(["poll", "--account", "lsfb-weibo"])
        .output()
        .expect("poll");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("账号ID"), "{stdout}");
    assert!(
        ["网络错误", "代理故障"].iter().any(|w| stdout.contains(w)),
        "{stdout}"
    );
    assert!(stdout.contains("共抓取 1 个账号，失败 1 个"), "{stdout}");
    let missing = xunjian(dir.path())
        .args(["poll", "--account", "nosuch"])
        .output()
        .expect("poll");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("数据库中没有这个账号"));
}

/// A new year's holidays typed from the notice are kept in the database and
/// end the missing-data warning for `--now`'s year; a backup is a SQLite
/// file that opens, and is never written over an existing file.
#[test]
fn holidays_are_imported_and_listed_and_the_database_is_backed_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    settings_file(dir.path());
    let run = |args: &[&str]| {
        let out = xunjian(dir.path()).args(args).output().expect("run");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let now = "2026-12-05T10:00:00+08:00";
    let (ok, before, err) = run(&["--now", now, "holidays", "list"]);
    assert!(ok, "{err}");
    assert!(
        before.contains("2026  内置") && before.contains("2027 年尚无法定节假日安排数据"),
        "{before}"
    );
    std::fs::write(
        dir.path().join("2027.toml"),
        "year = 2027\n[[holiday]]\nname = \"元旦\"\noff = [\"2027-01-01\"]\n\n[[holiday]]\nname = \"春节\"\noff = [\"2027-02-06\", \"2027-02-07\"]\nwork = [\"2027-01-31\"]\n",
    )
    .expect("write");
    let (ok, said, err) = run(&["--by", "张三", "holidays", "import", "2027.toml"]);
    assert!(ok, "{err}");
    assert!(
        said.contains("已导入 2027 年法定节假日安排：放假 3 天，调休上班 1 天（元旦、春节）"),
        "{said}"
    );
    let (ok, after, err) = run(&["--now", now, "holidays", "list"]);
    assert!(ok, "{err}");
    let line = after
        .lines()
        .find(|l| l.starts_with("2027"))
        .unwrap_or_default();
    let cells: Vec<&str> = line
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells,
        vec!["2027", "导入（2027.toml）", "3 天", "1 天"],
        "{after}"
    );
    assert!(!after.contains("尚无"), "{after}");
    std::fs::write(
        dir.path().join("bad.toml"),
        "year = 2027\n[[holiday]]\nname = \"春节\"\nwork = [\"2027-02-03\"]\n",
    )
    .expect("write");
    let (ok, _, err) = run(&["holidays", "import", "bad.toml"]);
    assert!(
        !ok && err.contains("调休上班日 2027-02-03 不是周末"),
        "{err}"
    );

    let (ok, said, err) = run(&["backup", "copy.db"]);
    assert!(ok, "{err}");
    assert!(
        said.contains("已备份数据库 sqlite:") && said.contains("到 copy.db"),
        "{said}"
    );
    let head = std::fs::read(dir.path().join("copy.db")).expect("backup file");
    assert!(head.starts_with(b"SQLite format 3\0"), "a SQLite file");
    let (ok, _, err) = run(&["backup", "copy.db"]);
    assert!(!ok && err.contains("已存在"), "{err}");
}
