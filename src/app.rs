//! Wiring: settings + register + store, and the commands built on them.
//!
//! In: parsed CLI options. Out: effects on the database and text on stdout.

use crate::config::Settings;
use crate::registry::audit::RegisterEvent;
pub use crate::registry::audit::describe_conflicts;
use crate::registry::diff::{Change, Plan};
use crate::registry::history::{self, HistoryFilter};
use crate::registry::load::{Context, load_file};
use crate::registry::{AccountState, Platform, Register, export, workbook};
use crate::storage::Store;
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use unicode_width::UnicodeWidthStr;

mod import;
pub use import::{FileImport, Import, ImportOptions, remember_import};

/// The loaded settings, the open store and where the register file is.
pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub accounts_path: PathBuf,
    /// Who the audit trail names for changes made here (see [`actor_of`]).
    pub actor: String,
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
        let actor = actor_of(None, &settings);
        Ok(App {
            settings,
            store,
            accounts_path,
            actor,
        })
    }

    /// The same app naming `by` (`--by`) in the audit trail.
    pub fn by(mut self, by: Option<&str>) -> App {
        self.actor = actor_of(by, &self.settings);
        self
    }

    /// The same app reading another register file.
    pub fn reading(mut self, accounts_path: PathBuf) -> App {
        self.accounts_path = accounts_path;
        self
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

/// Who is running this command, for the audit trail: `--by`, else
/// `office.operator`, else the system user, else "命令行".
pub fn actor_of(by: Option<&str>, settings: &Settings) -> String {
    let given = by
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .or_else(|| Some(settings.office.operator.trim()).filter(|o| !o.is_empty()));
    match given {
        Some(name) => name.chars().filter(|c| !c.is_control()).take(40).collect(),
        None => std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "命令行".to_string()),
    }
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
        let name = match change {
            Change::InsertUnit(u) | Change::RemoveUnit(u) | Change::UpdateUnit { unit: u, .. } => {
                u.name.as_str()
            }
            Change::InsertAccount(a)
            | Change::RemoveAccount(a)
            | Change::UpdateAccount { account: a, .. } => a.name.as_str(),
        };
        // "：名称「兰山发布」→「兰山区发布」" for each changed field.
        let detail = match change {
            Change::UpdateUnit { detail, .. } | Change::UpdateAccount { detail, .. } => detail
                .as_object()
                .map(|fields| {
                    let parts: Vec<String> = fields
                        .iter()
                        .map(|(key, values)| {
                            use crate::registry::audit::{field_label, value_text};
                            format!(
                                "{}「{}」→「{}」",
                                field_label(key),
                                value_text(key, &values[0], false),
                                value_text(key, &values[1], false)
                            )
                        })
                        .collect();
                    format!("：{}", parts.join("；"))
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{verb}{action_label}{entity_label}「{name}」（{id}）{detail}\n"
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
            crate::registry::Source::Manual {} => "（人工检查）".to_string(),
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
    let mut out = Vec::new();
    // Writing into memory cannot fail, and every cell is UTF-8.
    let _ = write_poll_table(&mut out, reports);
    String::from_utf8_lossy(&out).into_owned()
}

/// [`poll_table`] written line by line: a cycle of 100,000 accounts is
/// printed without holding its table in memory.
pub fn write_poll_table(
    out: &mut impl std::io::Write,
    reports: &[crate::poll::PollReport],
) -> std::io::Result<()> {
    use std::borrow::Cow;
    const HEADING: [&str; 6] = ["账号ID", "结果", "条目", "新增", "下次检查", "说明"];
    fn cells(r: &crate::poll::PollReport) -> [Cow<'_, str>; 6] {
        [
            Cow::Borrowed(r.account_id.as_str()),
            Cow::Borrowed(r.outcome.label()),
            Cow::Owned(r.items.to_string()),
            Cow::Owned(r.new_posts.to_string()),
            Cow::Owned(
                crate::calendar::to_local(r.next_check_at)
                    .format("%m-%d %H:%M")
                    .to_string(),
            ),
            Cow::Borrowed(r.message.as_deref().unwrap_or_default()),
        ]
    }
    let mut widths = HEADING.map(UnicodeWidthStr::width);
    for r in reports {
        for (width, cell) in widths.iter_mut().zip(cells(r)) {
            *width = (*width).max(cell.width());
        }
    }
    let mut line = String::new();
    let mut write_row = |row: [&str; 6]| {
        line.clear();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = width.saturating_sub(cell.width()).saturating_add(2);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())
    };
    write_row(HEADING)?;
    for r in reports {
        let row = cells(r);
        write_row(row.each_ref().map(|c| &**c))?;
    }
    let failed = reports.iter().filter(|r| r.outcome.is_failure()).count();
    writeln!(out, "共抓取 {} 个账号，失败 {failed} 个", reports.len())
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
