//! One source of truth for the register: the database remembers the file it
//! imported last; `run` imports that file, not the default accounts.toml; an
//! older file that would undo what the last one set is refused (listing the
//! changes) unless forced; the audit trail names who imported (`--by`).

use crate::feed_server::{FeedServer, Reply};
use crate::helpers::xunjian_in;
use std::process::Stdio;
use std::time::Duration;

const REGISTER: &str = "[[unit]]\nid = \"u\"\nname = \"区政府办公室\"\nkind = \"department\"\n\n\
    [[account]]\nid = \"w\"\nunit = \"u\"\nname = \"兰山发布\"\nplatform = \"微博\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/1\"\n";

fn run(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = xunjian_in(dir).args(args).output().expect("xunjian");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbook_import_is_kept_by_run_and_an_older_file_cannot_undo_it() {
    let feeds = FeedServer::start().await;
    feeds.set("/healthz", Reply::ok("ok"));
    feeds.set(
        "/weibo/user/1",
        Reply::ok(crate::feed_server::feed_fixture("weibo_rsshub.xml")),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path();
    std::fs::write(
        path.join("xunjian.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}/d.db\"\n[proxies.rsshub]\nurl = \"{}\"\nhealth_path = \"/healthz\"\n\
             [office]\noperator = \"李科员\"\n\
             [reports]\nweekly_cron = \"\"\nmonthly_cron = \"\"\nquarterly_time = \"\"\n",
            path.display(),
            feeds.base()
        ),
    )
    .expect("settings");
    std::fs::write(path.join("accounts.toml"), REGISTER).expect("accounts");
    // The TOML file was written long ago: the workbook made later is newer.
    let touched = std::process::Command::new("touch")
        .args(["-d", "2026-01-01 09:00"])
        .arg(path.join("accounts.toml"))
        .status()
        .expect("touch");
    assert!(touched.success());
    let (ok, out, err) = run(path, &["import"]);
    assert!(ok, "{err}");
    assert!(out.contains("新增账号「兰山发布」（w）"), "{out}");

    // The clerk exports the 台账, renames the account in Excel, imports it.
    let (ok, _, err) = run(path, &["export", "--out", "台账.xlsx"]);
    assert!(ok, "{err}");
    let proxies = vec!["rsshub".to_string()];
    let ctx = xunjian::registry::load::Context { proxies: &proxies };
    let bytes = std::fs::read(path.join("台账.xlsx")).expect("read");
    let mut register = xunjian::registry::workbook::read::read_bytes("台账.xlsx", &bytes, &ctx)
        .expect("export reads");
    register.accounts[0].name = "兰山区发布".into();
    register.accounts[0].note = Some("主账号".into());
    let edited = xunjian::registry::workbook::write::workbook(&register).expect("write");
    std::fs::write(path.join("台账.xlsx"), edited).expect("write");
    let (ok, out, err) = run(path, &["--accounts", "台账.xlsx", "--by", "张三", "import"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("更新账号「兰山区发布」（w）：名称「兰山发布」→「兰山区发布」"),
        "{out}"
    );

    // `run` with no --accounts imports the workbook it remembers, not the
    // older accounts.toml beside it.
    let child = xunjian_in(path)
        .env("XUNJIAN_LOG", "info")
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while feeds.seen("/weibo/user/1").is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the daemon never polled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("台账.xlsx"),
        "run reads the remembered workbook: {log}"
    );
    assert!(
        !log.contains("\u{1b}["),
        "no colour codes when stderr is not a terminal: {log}"
    );
    let (ok, table, err) = run(path, &["accounts"]);
    assert!(ok, "{err}");
    assert!(
        table.contains("兰山区发布"),
        "the workbook's change is kept: {table}"
    );

    // Importing the older accounts.toml would undo it: refused, listed.
    let (ok, _, err) = run(path, &["import"]);
    assert!(!ok, "refused");
    assert!(
        err.contains("不是上次导入的文件")
            && err.contains("账号「兰山发布」（w）的名称：张三（文件，")
            && err.contains("已改为「兰山区发布」，文件中为「兰山发布」")
            && err.contains("的备注：张三（文件，")
            && err.contains("已改为「主账号」，文件中为「（空）」")
            && err.contains("--force"),
        "{err}"
    );
    let (ok, out, err) = run(path, &["import", "--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("导入时会撤销上次导入的文件"), "{out}");
    let (ok, out, err) = run(path, &["import", "--force"]);
    assert!(ok, "{err}");
    assert!(out.contains("已以文件为准"), "{out}");
    let (ok, history, err) = run(path, &["history", "--account", "w"]);
    assert!(ok, "{err}");
    assert!(
        history.contains("张三（文件）") && history.contains("李科员（文件）"),
        "the audit trail names who imported: {history}"
    );
}
