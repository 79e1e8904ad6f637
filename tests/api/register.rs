//! The register in storage: import, export, audit trail, pruning.

use crate::helpers::{at, shipped_register, test_dbs};
use xunjian::app::App;
use xunjian::registry::AccountState;

async fn app_for(db: &crate::helpers::TestDb, accounts: std::path::PathBuf) -> App {
    App::open(db.settings.clone(), accounts)
        .await
        .expect("open app")
}

#[tokio::test]
async fn import_then_export_then_import_is_lossless() {
    for db in test_dbs("roundtrip").await {
        let app = app_for(&db, shipped_register()).await;
        let first = app
            .import(false, false, at("2026-11-23T09:00:00+08:00"))
            .await
            .expect("import");
        assert_eq!(first.changes.len(), 18, "{}", db.store.backend());

        let exported = app.export().await.expect("export");
        let path = db.path("exported.toml");
        std::fs::write(&path, &exported).expect("write export");

        let original = app.read_register().expect("shipped register");
        let again = app_for(&db, path).await;
        assert_eq!(again.read_register().expect("export loads"), original);
        let second = again
            .import(false, false, at("2026-11-23T10:00:00+08:00"))
            .await
            .expect("re-import");
        assert!(second.changes.is_empty(), "{:?}", second.changes);
        assert_eq!(second.unchanged, 18);
        assert_eq!(db.store.load_register().await.expect("load"), original);
        db.finish().await;
    }
}

#[tokio::test]
async fn every_change_is_recorded_with_who_when_what_and_source() {
    for db in test_dbs("audit").await {
        let app = app_for(&db, shipped_register()).await;
        app.import(false, false, at("2026-11-01T09:00:00+08:00"))
            .await
            .expect("import");

        let text = std::fs::read_to_string(shipped_register())
            .expect("read")
            .replace("name = \"义堂镇政府\"", "name = \"义堂发布微博\"");
        let edited = db.path("edited.toml");
        std::fs::write(&edited, text).expect("write");
        let app = app_for(&db, edited).await;
        let plan = app
            .import(false, false, at("2026-11-02T09:00:00+08:00"))
            .await
            .expect("import");
        assert_eq!(plan.changes.len(), 1);

        let events = db
            .store
            .register_events(Some("yitang-weibo"))
            .await
            .expect("events");
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].action, "insert");
        assert_eq!(events[1].action, "update");
        assert_eq!(events[1].source, "file");
        assert_eq!(events[1].at, at("2026-11-02T09:00:00+08:00"));
        assert!(!events[1].actor.is_empty());
        assert_eq!(
            events[1].detail,
            serde_json::json!({ "name": ["义堂镇政府", "义堂发布微博"] })
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn an_account_gone_from_the_file_is_reported_and_only_pruned_on_request() {
    for db in test_dbs("prune").await {
        let app = app_for(&db, shipped_register()).await;
        app.import(false, false, at("2026-11-01T09:00:00+08:00"))
            .await
            .expect("import");

        let text = std::fs::read_to_string(shipped_register()).expect("read");
        let cut = text
            .find("[[account]]\nid = \"liuqing-douyin\"")
            .expect("last account");
        let smaller = db.path("smaller.toml");
        std::fs::write(&smaller, &text[..cut]).expect("write");
        let app = app_for(&db, smaller).await;

        let kept = app
            .import(false, false, at("2026-11-02T09:00:00+08:00"))
            .await
            .expect("import");
        assert!(kept.changes.is_empty());
        assert_eq!(kept.missing_accounts, vec!["liuqing-douyin".to_string()]);
        assert!(
            db.store
                .load_register()
                .await
                .expect("load")
                .account("liuqing-douyin")
                .is_some()
        );

        let pruned = app
            .import(true, false, at("2026-11-03T09:00:00+08:00"))
            .await
            .expect("prune");
        assert_eq!(pruned.changes.len(), 1, "{:?}", pruned.changes);
        let register = db.store.load_register().await.expect("load");
        assert!(register.account("liuqing-douyin").is_none());
        assert!(
            register.unit("lsq-liuqing").is_some(),
            "the unit is still in the file"
        );
        let events = db
            .store
            .register_events(Some("liuqing-douyin"))
            .await
            .expect("events");
        assert_eq!(events.last().map(|e| e.action.as_str()), Some("remove"));
        db.finish().await;
    }
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    for db in test_dbs("dry_run").await {
        let app = app_for(&db, shipped_register()).await;
        let plan = app
            .import(false, true, at("2026-11-01T09:00:00+08:00"))
            .await
            .expect("dry run");
        assert_eq!(plan.changes.len(), 18);
        assert!(
            db.store
                .load_register()
                .await
                .expect("load")
                .accounts
                .is_empty()
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn migrations_run_twice_without_harm_and_sqlite_uses_wal() {
    for db in test_dbs("migrate_twice").await {
        db.store.migrate().await.expect("second migrate");
        if let xunjian::storage::Store::Sqlite(pool, _) = &db.store {
            let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .expect("pragma");
            assert_eq!(mode, "wal");
        }
        db.finish().await;
    }
}

#[tokio::test]
async fn state_changes_keep_the_filing_data() {
    for db in test_dbs("filing").await {
        let app = app_for(&db, shipped_register()).await;
        app.import(false, false, at("2026-11-01T09:00:00+08:00"))
            .await
            .expect("import");
        let register = db.store.load_register().await.expect("load");
        let kuaishou = register
            .account("lsjy-kuaishou")
            .expect("deregistered account");
        assert_eq!(kuaishou.state, AccountState::Deregistered);
        assert_eq!(
            kuaishou.filing_ref.as_deref(),
            Some("临兰政办字〔2026〕5号")
        );
        assert_eq!(
            kuaishou.deregistered_on.map(|d| d.to_string()).as_deref(),
            Some("2026-03-01")
        );
        let szls = register
            .account("szls-wechat")
            .expect("account with override");
        assert_eq!(szls.thresholds.stale_days, Some(7));
        assert!(
            !register
                .account("lsfb-douyin")
                .expect("douyin")
                .is_interactive
        );
        db.finish().await;
    }
}

/// A unit's own group is stored (both databases), changed by a re-import,
/// and exported again.
#[tokio::test]
async fn a_units_own_group_is_stored_and_changed_by_import() {
    for db in test_dbs("unit_chat").await {
        let path = db.path("accounts.toml");
        let text = "[[unit]]\nid = \"u1\"\nname = \"义堂镇\"\nkind = \"town\"\nchat = \"telegram:-1001234567890\"\n";
        std::fs::write(&path, text).expect("write");
        let app = app_for(&db, path.clone()).await;
        app.import(false, false, at("2026-11-23T09:00:00+08:00"))
            .await
            .expect("import");
        let stored = db.store.load_register().await.expect("load");
        assert_eq!(
            stored.units[0].chat.as_deref(),
            Some("telegram:-1001234567890")
        );
        std::fs::write(
            &path,
            text.replace("telegram:-1001234567890", "feishu:oc_yitang"),
        )
        .expect("write");
        let plan = app
            .import(false, false, at("2026-11-23T10:00:00+08:00"))
            .await
            .expect("re-import");
        assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
        let stored = db.store.load_register().await.expect("load");
        assert_eq!(stored.units[0].chat.as_deref(), Some("feishu:oc_yitang"));
        assert!(
            app.export()
                .await
                .expect("export")
                .contains("chat = \"feishu:oc_yitang\"")
        );
        db.finish().await;
    }
}
