//! Wiring: settings + register + store, and the commands built on them.
//!
//! In: parsed CLI options. Out: effects on the database and text on stdout.

use crate::config::Settings;
pub use crate::registry::audit::describe_conflicts;
use crate::registry::audit::{self, Conflict, ConflictError, RegisterEvent};
use crate::registry::diff::{Change, Plan, plan};
use crate::registry::history::{self, HistoryFilter};
use crate::registry::load::{Context, load_file};
use crate::registry::{AccountState, Platform, Register, export, workbook};
use crate::storage::Store;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use unicode_width::UnicodeWidthStr;

/// The loaded settings, the open store and where the register file is.
pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub accounts_path: PathBuf,
}

impl App {
    /// Connects to the database and brings its schema up to date.
    pub async fn open(settings: Settings, accounts_path: PathBuf) -> anyhow::Result<App> {
        let store = Store::connect(&settings.database).await.map_err(|err| {
            anyhow::anyhow!(
                "无法连接数据库 {}：{}",
                crate::config::redact_url(&settings.database.url),
                err.describe_connect()
            )
        })?;
        store
            .migrate()
            .await
            .context("while migrating the database")?;
        Ok(App {
            settings,
            store,
            accounts_path,
        })
    }

    /// [`App::open`] for the daemon: while the database cannot be reached it
    /// says why and tries again with backoff (1 s doubling to 30 s), as the
    /// running daemon does, until it connects or `shutdown` (then `None`).
    /// With `is_no_wait` the first failure is returned at once.
    pub async fn open_waiting(
        settings: Settings,
        accounts_path: PathBuf,
        is_no_wait: bool,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<Option<App>> {
        let mut wait = std::time::Duration::from_secs(1);
        loop {
            match App::open(settings.clone(), accounts_path.clone()).await {
                Ok(app) => return Ok(Some(app)),
                Err(err) if is_no_wait => return Err(err),
                Err(err) => {
                    tracing::warn!(
                        retry_in_s = wait.as_secs(),
                        "{err:#}；稍后重试（--no-wait 则立即退出）"
                    );
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(std::time::Duration::from_secs(30));
        }
    }

    /// Takes back, at start, the claims, job runs and leases of daemons
    /// that are gone (every one on SQLite), so their work goes on at once.
    pub async fn release_gone_holders(&self) -> anyhow::Result<()> {
        let released = self
            .store
            .release_gone_holders(crate::process::is_gone)
            .await
            .context("while releasing the claims of stopped daemons")?;
        if released != crate::storage::Released::default() {
            tracing::info!(
                messages = released.messages,
                jobs = released.jobs,
                leases = released.leases,
                "released the claims of a daemon that is gone"
            );
        }
        Ok(())
    }

    /// Reads and validates the register file against the settings.
    pub fn read_register(&self) -> anyhow::Result<Register> {
        read_register(&self.settings, &self.accounts_path)
    }

    /// Reconciles the register file into the database; refuses (with a
    /// [`ConflictError`]) to undo changes made in chat since the last import.
    pub async fn import(
        &self,
        is_pruning: bool,
        is_dry_run: bool,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Plan> {
        let options = ImportOptions {
            is_pruning,
            is_dry_run,
            is_forced: false,
        };
        Ok(self.import_checked(&options, now).await?.plan)
    }

    /// Reconciles the register file into the database and records the
    /// import in the audit trail. Changes made in chat since the last import
    /// that the file would undo are conflicts: the import is refused unless
    /// forced (a dry run only reports them).
    pub async fn import_checked(
        &self,
        options: &ImportOptions,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Import> {
        // The newest audit entry now: a change after it voids this import.
        let seen = self.store.last_register_event_id().await?;
        // A workbook of 200,000 rows takes a while: off the async workers.
        let (settings, path) = (self.settings.clone(), self.accounts_path.clone());
        let wanted = tokio::task::spawn_blocking(move || read_register(&settings, &path))
            .await
            .context("while reading the register file")??;
        let current = self.store.load_register().await?;
        let plan = plan(&current, &wanted, options.is_pruning);
        let recent = self.store.changes_since_file_import().await?;
        let mut latest = HashMap::new();
        for change in &plan.changes {
            if let Change::RemoveAccount(_) | Change::RemoveUnit(_) = change {
                let (entity, id, _) = change.describe();
                if let Some(event) = self.store.latest_register_event(entity, id).await? {
                    latest.insert((entity.to_string(), id.to_string()), event);
                }
            }
        }
        let lookup =
            |entity: &str, id: &str| latest.get(&(entity.to_string(), id.to_string())).cloned();
        let conflicts = audit::conflicts(&plan, &recent, &lookup);
        let file = file_name(&self.accounts_path);
        if !conflicts.is_empty() && !options.is_forced && !options.is_dry_run {
            return Err(ConflictError { file, conflicts }.into());
        }
        if !options.is_dry_run {
            let import = serde_json::json!({
                "file": file,
                "changes": plan.changes.len(),
                "overridden": conflicts.len(),
            });
            self.store
                .apply_import(&plan, &actor(), &import, seen, now)
                .await
                .context("while saving the register")?;
        }
        Ok(Import { plan, conflicts })
    }

    /// Imports the register file only when it changed since the last import,
    /// so changes made in chat survive a restart; a file that would undo a
    /// chat change is not imported, and the admins are told.
    pub async fn import_if_changed(&self, now: DateTime<Utc>) -> anyhow::Result<FileImport> {
        // Daemons starting together on one database import one at a time;
        // the others then find the file already imported.
        let owner = crate::process::owner();
        let lease = chrono::Duration::minutes(2);
        let mut waited = 0;
        while !self
            .store
            .acquire_lease("register_import", &owner, Utc::now(), lease)
            .await?
        {
            waited += 1;
            if waited > 150 {
                anyhow::bail!("another daemon has been importing the register for 2.5 minutes");
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        let imported = self.import_unless_imported(now).await;
        if let Err(err) = self.store.release_lease("register_import", &owner).await {
            tracing::warn!(error = %err, "cannot release the import lease");
        }
        imported
    }

    async fn import_unless_imported(&self, now: DateTime<Utc>) -> anyhow::Result<FileImport> {
        let hash = file_hash(&self.accounts_path)?;
        if self.store.meta("register_file_sha256").await?.as_deref() == Some(hash.as_str()) {
            return Ok(FileImport::Unchanged);
        }
        let plan = match self.import(false, false, now).await {
            Ok(plan) => plan,
            Err(err) => match err.downcast::<ConflictError>() {
                Ok(conflict) => {
                    self.tell_admins(&conflict.to_string(), now).await?;
                    return Ok(FileImport::Refused(conflict));
                }
                Err(err) => return Err(err),
            },
        };
        self.store.set_meta("register_file_sha256", &hash).await?;
        Ok(FileImport::Imported(plan))
    }

    /// Queues a message to every admin on every chat that reaches them.
    async fn tell_admins(&self, text: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        for admin in self.settings.admin_chats() {
            let message =
                crate::alerts::compose::Message::plain(&admin, &format!("【台账】{text}"));
            self.store.enqueue(&message, now).await?;
        }
        Ok(())
    }

    /// The stored register as an `.xlsx` workbook.
    pub async fn export_xlsx(&self) -> anyhow::Result<Vec<u8>> {
        let register = self.store.load_register().await?;
        let bytes = tokio::task::spawn_blocking(move || workbook::write::workbook(&register))
            .await
            .context("while rendering the workbook")??;
        Ok(bytes)
    }

    /// The audit trail through a filter, as clerks read it.
    pub async fn history(
        &self,
        filter: &HistoryFilter,
        is_showing_phones: bool,
    ) -> anyhow::Result<String> {
        let register = self.store.load_register().await?;
        let events = self.store.register_events_since(filter.since).await?;
        let shown: Vec<&RegisterEvent> = events
            .iter()
            .filter(|e| filter.matches(e, &register))
            .collect();
        Ok(history::render(&shown, &register, is_showing_phones))
    }

    /// The stored register as `accounts.toml` text.
    pub async fn export(&self) -> anyhow::Result<String> {
        Ok(export::to_toml(&self.store.load_register().await?))
    }
}

/// Reads a register file, checking proxy names against the settings: a
/// workbook (`.xlsx`) or `accounts.toml` text, by the file's extension.
pub fn read_register(settings: &Settings, path: &Path) -> anyhow::Result<Register> {
    let proxies = settings.proxy_names();
    let ctx = Context { proxies: &proxies };
    match extension(path).as_str() {
        "xlsx" | "xlsm" => Ok(workbook::read::read_file(path, &ctx)?),
        "xls" | "et" | "ods" | "csv" => anyhow::bail!(
            "{}：不支持此格式，请在 Excel 或 WPS 中另存为 .xlsx 后再导入",
            path.display()
        ),
        _ => Ok(load_file(path, &ctx)?),
    }
}

/// The extension of a file name, lower case ("" when none).
pub fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// What to do on import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Remove accounts and units the file no longer holds.
    pub is_pruning: bool,
    pub is_dry_run: bool,
    /// Apply the file even over changes made in chat since the last import.
    pub is_forced: bool,
}

/// An import's plan and the chat changes it undoes (forced) or would undo (dry run).
#[derive(Debug, Clone)]
pub struct Import {
    pub plan: Plan,
    pub conflicts: Vec<Conflict>,
}

/// What `run` did with the register file.
#[derive(Debug)]
pub enum FileImport {
    /// Imported since it changed.
    Imported(Plan),
    /// Unchanged since the last import: nothing read.
    Unchanged,
    /// Not imported: it would undo changes made in chat.
    Refused(ConflictError),
}

fn file_hash(path: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).with_context(|| format!("while reading {}", path.display()))?;
    Ok(sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Remembers the imported file, so `run` does not re-import it over chat changes.
pub async fn remember_import(app: &App) -> anyhow::Result<()> {
    let hash = file_hash(&app.accounts_path)?;
    app.store.set_meta("register_file_sha256", &hash).await?;
    Ok(())
}

/// Who is running this command, for the audit trail.
pub fn actor() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// A human summary of an import plan, in Chinese: one line per change,
/// then "新增 3 个账号，更新 1 个；新增 1 个单位；10 项未变化".
pub fn describe_plan(plan: &Plan, is_dry_run: bool) -> String {
    let mut out = String::new();
    let verb = if is_dry_run { "将" } else { "" };
    let mut counts = [[0usize; 3]; 2];
    for change in &plan.changes {
        let (entity, id, action) = change.describe();
        let (entity_index, entity_label) = if entity == "unit" {
            (1, "单位")
        } else {
            (0, "账号")
        };
        let (action_index, action_label) = match action {
            "insert" => (0, "新增"),
            "update" => (1, "更新"),
            _ => (2, "删除"),
        };
        counts[entity_index][action_index] += 1;
        let detail = match change {
            Change::UpdateUnit { detail, .. } | Change::UpdateAccount { detail, .. } => detail
                .as_object()
                .map(|fields| {
                    format!(
                        "（{}）",
                        fields.keys().cloned().collect::<Vec<_>>().join("、")
                    )
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{verb}{action_label}{entity_label} {id}{detail}\n"
        ));
    }
    if !plan.missing_accounts.is_empty() {
        out.push_str(&format!(
            "数据库中有、文件中没有的账号（已保留；加 --prune 可删除）：{}\n",
            plan.missing_accounts.join("、")
        ));
    }
    if !plan.missing_units.is_empty() {
        out.push_str(&format!(
            "数据库中有、文件中没有的单位（已保留）：{}\n",
            plan.missing_units.join("、")
        ));
    }
    let mut clauses = Vec::new();
    for (noun, [inserted, updated, removed]) in ["账号", "单位"].iter().zip(counts) {
        let parts: Vec<String> = [("新增", inserted), ("更新", updated), ("删除", removed)]
            .iter()
            .filter(|(_, n)| *n > 0)
            .enumerate()
            .map(|(i, (what, n))| {
                if i == 0 {
                    format!("{verb}{what} {n} 个{noun}")
                } else {
                    format!("{what} {n} 个")
                }
            })
            .collect();
        if !parts.is_empty() {
            clauses.push(parts.join("，"));
        }
    }
    if clauses.is_empty() {
        clauses.push("没有变更".to_string());
    }
    clauses.push(format!("{} 项未变化", plan.unchanged));
    if is_dry_run {
        clauses.push("试运行，未写入数据库".to_string());
    }
    out.push_str(&clauses.join("；"));
    out.push('\n');
    out
}

/// Filters for the `accounts` table.
#[derive(Debug, Default, Clone)]
pub struct AccountFilter {
    pub unit: Option<String>,
    pub platform: Option<Platform>,
    pub state: Option<AccountState>,
}

/// The register as an aligned, readable table.
pub fn accounts_table(register: &Register, filter: &AccountFilter) -> String {
    let mut rows = vec![[
        "账号ID".to_string(),
        "单位".to_string(),
        "平台".to_string(),
        "状态".to_string(),
        "名称".to_string(),
        "来源".to_string(),
        "备注".to_string(),
    ]];
    for a in &register.accounts {
        let is_shown = filter.unit.as_ref().is_none_or(|u| *u == a.unit)
            && filter.platform.is_none_or(|p| p == a.platform)
            && filter.state.is_none_or(|s| s == a.state);
        if !is_shown {
            continue;
        }
        let unit = register
            .unit(&a.unit)
            .map_or(a.unit.as_str(), |u| u.name.as_str());
        let source = match &a.source {
            crate::registry::Source::Proxy { proxy, route } => format!("{proxy}:{route}"),
            crate::registry::Source::Feed { feed } => feed.clone(),
        };
        rows.push([
            a.id.clone(),
            unit.to_string(),
            a.platform.label().to_string(),
            a.state.label().to_string(),
            a.name.clone(),
            source,
            a.note.clone().unwrap_or_default(),
        ]);
    }
    let count = rows.len() - 1;
    let mut out = render_table(&rows);
    out.push_str(&format!("共 {count} 个账号\n"));
    out
}

/// Pads columns by display width, so CJK text lines up.
pub fn render_table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.width());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                line.push_str(&" ".repeat(widths[i] - cell.width() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The outcome of a poll cycle as a table.
pub fn poll_table(reports: &[crate::poll::PollReport]) -> String {
    let mut rows = vec![[
        "账号ID".to_string(),
        "结果".to_string(),
        "条目".to_string(),
        "新增".to_string(),
        "下次检查".to_string(),
        "说明".to_string(),
    ]];
    for r in reports {
        rows.push([
            r.account_id.clone(),
            r.outcome.label().to_string(),
            r.items.to_string(),
            r.new_posts.to_string(),
            crate::calendar::to_local(r.next_check_at)
                .format("%m-%d %H:%M")
                .to_string(),
            r.message.clone().unwrap_or_default(),
        ]);
    }
    let failed = reports.iter().filter(|r| r.outcome.is_failure()).count();
    let mut out = render_table(&rows);
    out.push_str(&format!(
        "共抓取 {} 个账号，失败 {failed} 个\n",
        reports.len()
    ));
    out
}

/// A one-line progress bar on stderr, shown only on a terminal.
pub struct ProgressBar {
    is_shown: bool,
}

impl ProgressBar {
    pub fn new_on_terminal() -> ProgressBar {
        use std::io::IsTerminal;
        ProgressBar {
            is_shown: std::io::stderr().is_terminal(),
        }
    }

    pub fn show(&self, done: usize, total: usize) {
        if !self.is_shown || total == 0 {
            return;
        }
        let width = 30;
        let filled = done * width / total;
        eprint!(
            "\r[{}{}] {done}/{total}",
            "#".repeat(filled),
            ".".repeat(width - filled)
        );
    }

    pub fn finish(&self) {
        if self.is_shown {
            eprintln!();
        }
    }
}

/// Cancels `token` on SIGINT or SIGTERM.
pub fn spawn_signal_handler(token: tokio_util::sync::CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(err) => {
                        tracing::error!(error = %err, "cannot listen for SIGTERM");
                        let _ = tokio::signal::ctrl_c().await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        token.cancel();
    });
}
