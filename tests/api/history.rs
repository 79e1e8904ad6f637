//! The register's audit trail at work: imports that would undo chat changes
//! are refused (and forced with --force), and the history read from the
//! command line and through the fake Bot API.

use crate::fake_telegram::FakeTelegram;
use crate::helpers::{TestDb, at, shipped_register, test_dbs};

use xunjian::app::{App, FileImport, ImportOptions};
use xunjian::commands::{Caller, CommandContext, MAX_REPLY_UTF16};
use xunjian::config::{Secret, Settings};
use xunjian::registry::audit::ConflictError;
use xunjian::registry::diff::plan;

const ADMIN: i64 = 111;
const CONTACT: i64 = 223456789;

fn settings(db: &TestDb, api_url: &str) -> Settings {
    let mut settings = db.settings.clone();
    settings.telegram.token = Some(Secret::new("123456:TEST"));
    settings.telegram.api_url = Some(api_url.to_string());
    settings.telegram.admins = vec![ADMIN];
    settings.telegram.is_throttled = false;
    settings
}

fn admin() -> Caller {
    Caller {
        user: xunjian::commands::UserId::Telegram(ADMIN),
        name: "管理员".into(),
        is_private_chat: true,
        bot_username: None,
        chat: None,
        is_addressed_to_bot: false,
    }
}

async fn chat(ctx: &CommandContext, text: &str, when: &str) -> String {
    ctx.handle(&admin(), text, at(when)).await.expect("a reply")
}

async fn refusal(app: &App, options: ImportOptions, when: &str) -> String {
    let err = app
        .import_checked(&options, at(when))
        .await
        .expect_err("refused");
    err.downcast::<ConflictError>()
        .expect("a conflict")
        .to_string()
}

#[tokio::test]
async fn an_import_never_silently_undoes_a_chat_change_and_force_overrides_it() {
    for db in test_dbs("chat_conflicts").await {
        let settings = settings(&db, "http://127.0.0.1:9");
        // A copy: the test edits the file it imports.
        let copy_dir = tempfile::tempdir().expect("temp dir");
        let copy = copy_dir.path().join("accounts.toml");
        std::fs::copy(shipped_register(), &copy).expect("copy the register");
        let app = App::open(settings.clone(), copy).await.expect("app");
        app.import(false, false, at("2026-11-23T09:00:00+08:00"))
            .await
            .expect("import");
        let xlsx = db.path("台账.xlsx");
        std::fs::write(&xlsx, app.export_xlsx().await.expect("xlsx")).expect("write");
        let ctx = CommandContext::new(db.store.clone(), settings.clone());
        let reply = chat(
            &ctx,
            "/deregister lsfb-douyin 2026-11-20 临兰政办字〔2026〕9号",
            "2026-11-23T21:45:00+08:00",
        )
        .await;
        assert!(reply.contains("标记为已注销"), "{reply}");

        let plain = ImportOptions::default();
        assert_eq!(
            refusal(&app, plain, "2026-11-23T22:00:00+08:00").await,
            "台账文件 accounts.toml 会撤销聊天中的 3 处变更，未导入：\n\
             \x20 账号「兰山发布」（lsfb-douyin）的注销日期：管理员（聊天，2026-11-23 21:45）已改为「2026-11-20」，文件中为「（空）」\n\
             \x20 账号「兰山发布」（lsfb-douyin）的备案文号：管理员（聊天，2026-11-23 21:45）已改为「临兰政办字〔2026〕9号」，文件中为「（空）」\n\
             \x20 账号「兰山发布」（lsfb-douyin）的状态：管理员（聊天，2026-11-23 21:45）已改为「已注销」，文件中为「正常运维」\n\
             请先把这些变更写入文件（或用 xunjian export 重新导出）再导入；确认以文件为准时加 --force。"
        );
        let stored = db.store.load_register().await.expect("load");
        assert_eq!(
            stored.account("lsfb-douyin").map(|a| a.state.id()),
            Some("deregistered"),
            "nothing imported"
        );
        let dry = ImportOptions {
            is_dry_run: true,
            ..ImportOptions::default()
        };
        let shown = app
            .import_checked(&dry, at("2026-11-23T22:00:00+08:00"))
            .await
            .expect("a dry run reports");
        assert_eq!(shown.conflicts.len(), 3);
        assert!(
            xunjian::app::describe_conflicts(&shown.conflicts, true, None)
                .starts_with("导入时会撤销聊天中的 3 处变更（需加 --force 才会导入）")
        );

        // Unchanged since it was imported: the daemon leaves it (and the
        // chat changes) alone.
        assert!(matches!(
            app.import_if_changed(at("2026-11-23T22:01:00+08:00"))
                .await
                .expect("run's import"),
            FileImport::Unchanged
        ));
        // Edited since, it is read again: the daemon's import refuses too,
        // and tells the admins.
        let mut text = std::fs::read_to_string(&app.accounts_path).expect("read");
        text.push_str("\n# 已核对\n");
        std::fs::write(&app.accounts_path, text).expect("write");
        match app
            .import_if_changed(at("2026-11-23T22:01:00+08:00"))
            .await
            .expect("run's import")
        {
            FileImport::Refused(conflict) => assert_eq!(conflict.conflicts.len(), 3),
            other => panic!("expected a refusal, got {other:?}"),
        }
        let outbox = db.store.outbox("telegram").await.expect("outbox");
        assert!(
            outbox.iter().any(|(to, body, _)| to == &ADMIN.to_string()
                && body.starts_with("【台账】台账文件 accounts.toml 会撤销聊天中的 3 处变更")),
            "{outbox:?}"
        );

        let forced = ImportOptions {
            is_forced: true,
            ..ImportOptions::default()
        };
        let done = app
            .import_checked(&forced, at("2026-11-23T22:05:00+08:00"))
            .await
            .expect("forced");
        assert_eq!((done.plan.changes.len(), done.conflicts.len()), (1, 3));
        let stored = db.store.load_register().await.expect("load");
        assert_eq!(
            stored.account("lsfb-douyin").map(|a| a.state.id()),
            Some("active")
        );

        // Chat changes after the forced import: the old workbook would undo one.
        chat(&ctx, "/closing szls-wechat", "2026-11-24T08:30:00+08:00").await;
        let reply = chat(
            &ctx,
            "/register weibo rsshub:/weibo/user/42 兰山新闻 lsq-szgl",
            "2026-11-24T08:31:00+08:00",
        )
        .await;
        assert!(reply.contains("已登记：lsq-szgl-weibo"), "{reply}");
        let from_xlsx = App::open(settings.clone(), xlsx).await.expect("app");
        assert_eq!(
            refusal(&from_xlsx, plain, "2026-11-24T09:00:00+08:00").await,
            "台账文件 台账.xlsx 会撤销聊天中的 1 处变更，未导入：\n\
             \x20 账号「市政兰山」（szls-wechat）的状态：管理员（聊天，2026-11-24 08:30）已改为「正在注销」，文件中为「正常运维」\n\
             请先把这些变更写入文件（或用 xunjian export 重新导出）再导入；确认以文件为准时加 --force。"
        );
        let prune = ImportOptions {
            is_pruning: true,
            ..ImportOptions::default()
        };
        let text = refusal(&app, prune, "2026-11-24T09:00:00+08:00").await;
        assert!(
            text.contains("账号「兰山新闻」（lsq-szgl-weibo）：管理员（聊天，2026-11-24 08:31）登记，文件中没有，--prune 会删除它"),
            "{text}"
        );

        // A file that holds the chat changes imports without a conflict.
        let exported = db.path("accounts.toml");
        std::fs::write(&exported, app.export().await.expect("export")).expect("write");
        let caught_up = App::open(settings.clone(), exported).await.expect("app");
        let again = caught_up
            .import_checked(&prune, at("2026-11-24T09:10:00+08:00"))
            .await
            .expect("no conflict");
        assert!(again.plan.changes.is_empty() && again.conflicts.is_empty());

        let history = app
            .history(&Default::default(), true)
            .await
            .expect("history");
        assert!(
            history.contains("（文件）导入台账文件 accounts.toml：1 处变更，以文件为准覆盖聊天中的变更 3 处（--force）"),
            "{history}"
        );
        db.finish().await;
    }
}

#[test]
fn history_from_the_command_line_says_who_changed_what_when_and_from_where() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/xunjian.toml"),
        dir.path().join("xunjian.toml"),
    )
    .expect("settings");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_xunjian"))
            .current_dir(dir.path())
            .env_remove("XUNJIAN_CONFIG")
            .env_remove("XUNJIAN_ACCOUNTS")
            .env_remove("XUNJIAN_DATABASE_URL")
            .env("XUNJIAN_LOG", "warn")
            .env("USER", "张三")
            .args(args)
            .output()
            .expect("run xunjian");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shipped = shipped_register();
    let shipped = shipped.to_str().expect("utf-8 path");
    run(&[
        "--accounts",
        shipped,
        "--now",
        "2026-11-01T09:00:00+08:00",
        "import",
    ]);
    let edited = std::fs::read_to_string(shipped)
        .expect("read")
        .replace("name = \"义堂镇政府\"", "name = \"义堂发布微博\"");
    std::fs::write(dir.path().join("accounts.toml"), edited).expect("write");
    run(&["--now", "2026-11-02T09:30:00+08:00", "import"]);

    assert_eq!(
        run(&["history", "--account", "yitang-weibo"]),
        "2026-11-01 09:00 张三（文件）登记账号「义堂镇政府」（yitang-weibo）：微博，主办单位 义堂镇，正常运维，来源 rsshub:/weibo/user/2345678901\n\
         2026-11-02 09:30 张三（文件）变更账号「义堂发布微博」（yitang-weibo）：名称 义堂镇政府 → 义堂发布微博\n"
    );
    assert_eq!(
        run(&["history", "--unit", "lsq-yitang", "--since", "2026-11-02"]),
        "2026-11-02 09:30 张三（文件）变更账号「义堂发布微博」（yitang-weibo）：名称 义堂镇政府 → 义堂发布微博\n"
    );
    // A unit by its name, as a clerk writes it, is the same unit.
    assert_eq!(
        run(&["history", "--unit", "义堂镇", "--since", "2026-11-02"]),
        run(&["history", "--unit", "lsq-yitang", "--since", "2026-11-02"])
    );
    let by_name = run(&["accounts", "--unit", "义堂镇"]);
    assert!(
        by_name.contains("yitang-weibo") && !by_name.contains("共 0 个账号"),
        "{by_name}"
    );
    let all = run(&["history", "--since", "2026-11-02"]);
    assert!(
        all.ends_with("2026-11-02 09:30 张三（文件）导入台账文件 accounts.toml：1 处变更\n"),
        "{all}"
    );
    assert_eq!(
        run(&["history", "--account", "nosuch"]),
        "没有符合条件的变更记录。\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_in_chat_is_for_admins_and_a_long_one_comes_in_several_messages() {
    for db in test_dbs("tg_history").await {
        let telegram = FakeTelegram::start().await;
        let settings = settings(&db, &telegram.url);
        let app = App::open(settings.clone(), shipped_register())
            .await
            .expect("app");
        app.import(false, false, at("2026-11-23T09:00:00+08:00"))
            .await
            .expect("import");
        // 150 renames of one account: a history longer than one message.
        for i in 0..150 {
            let current = db.store.load_register().await.expect("load");
            let mut wanted = current.clone();
            if let Some(a) = wanted.accounts.iter_mut().find(|a| a.id == "lsfb-weibo") {
                a.name = format!("兰山发布第{i}版");
            }
            db.store
                .apply_plan(
                    &plan(&current, &wanted, false),
                    "telegram:111 管理员",
                    "chat",
                    at("2026-11-23T10:00:00+08:00"),
                )
                .await
                .expect("rename");
        }
        let (shutdown, running) = crate::helpers::spawn_bot(&db.store, &settings);
        telegram.push_message(
            ADMIN,
            "管理员",
            "/deregister lsfb-douyin 2026-11-20 临兰政办字〔2026〕9号",
        );
        telegram.push_message(CONTACT, "李强", "/history lsfb-douyin");
        telegram.wait_for_sends(2).await;
        telegram.push_message(ADMIN, "管理员", "/history lsfb-douyin");
        telegram.wait_for_sends(3).await;
        telegram.push_message(ADMIN, "管理员", "/history lsfb-weibo");
        let sends = telegram.wait_for_sends(6).await;
        shutdown.cancel();
        running
            .await
            .expect("the bot task")
            .expect("the bot stops cleanly on shutdown");

        let text = |chat: i64| -> Vec<String> {
            sends
                .iter()
                .filter(|c| c.params["chat_id"] == chat)
                .map(|c| c.params["text"].as_str().unwrap_or("").to_string())
                .collect()
        };
        let contact = text(CONTACT);
        assert!(
            contact[0].contains("抱歉，您没有执行此命令的权限"),
            "{contact:?}"
        );
        let admin = text(ADMIN);
        assert!(
            admin[1].starts_with("「lsfb-douyin」的变更记录：\n2026-11-23 09:00 "),
            "{admin:?}"
        );
        assert!(
            admin[1].contains("管理员（聊天）注销账号「兰山发布」（lsfb-douyin）：注销日期 2026-11-20，备案文号 临兰政办字〔2026〕9号"),
            "{admin:?}"
        );
        let long = &admin[2..];
        assert!(long.len() >= 3, "{} messages", long.len());
        assert!(
            long.iter()
                .all(|m| m.encode_utf16().count() <= MAX_REPLY_UTF16)
        );
        let joined = long.concat();
        assert_eq!(joined.matches("管理员（聊天）变更账号").count(), 150);
        assert!(joined.contains("名称 兰山发布第148版 → 兰山发布第149版"));
        db.finish().await;
    }
}

#[tokio::test]
async fn a_chat_change_between_the_conflict_check_and_the_import_voids_the_import() {
    for db in test_dbs("import_race").await {
        let settings = settings(&db, "http://127.0.0.1:9");
        let app = App::open(settings.clone(), shipped_register())
            .await
            .expect("app");
        app.import(false, false, at("2026-11-23T09:00:00+08:00"))
            .await
            .expect("import");
        let seen = db.store.last_register_event_id().await.expect("newest");
        let ctx = CommandContext::new(db.store.clone(), settings);
        chat(&ctx, "/closing szls-wechat", "2026-11-23T09:01:00+08:00").await;
        let import = serde_json::json!({ "file": "accounts.toml", "changes": 0 });
        let err = db
            .store
            .apply_import(
                &Default::default(),
                "张三",
                &import,
                seen,
                at("2026-11-23T09:02:00+08:00"),
            )
            .await
            .expect_err("stale");
        assert!(
            matches!(err, xunjian::storage::StorageError::Conflict(_)),
            "{err}"
        );
        assert_eq!(
            db.store.last_register_event_id().await.expect("newest"),
            seen + 1,
            "no import recorded"
        );
        db.finish().await;
    }
}
