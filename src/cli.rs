//! The command line: parses options, sets up logging, runs one command.

use crate::app::{self, AccountFilter, App};
use crate::config::Settings;
use crate::registry::{AccountState, Platform};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// 巡检 xunjian — supervises government new-media accounts (政务新媒体).
#[derive(Debug, Parser)]
#[command(name = "xunjian", version, about, long_about = None)]
pub struct Cli {
    /// Settings file [default: ./xunjian.toml when present]
    #[arg(long, global = true, env = "XUNJIAN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The register of units and accounts [default: accounts.toml]
    #[arg(long, global = true, env = "XUNJIAN_ACCOUNTS", value_name = "FILE")]
    pub accounts: Option<PathBuf>,

    /// Use this time as "now" (RFC 3339), for reproducible checks
    #[arg(long, global = true, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 运行守护进程：迁移数据库、导入台账，然后持续巡检直到收到 SIGINT/SIGTERM (run the daemon)
    Run {
        /// 数据库连不上时立即退出，不等待重试 (exit at once when the database is unreachable)
        #[arg(long)]
        no_wait: bool,
    },
    /// 导入台账：把台账文件（accounts.toml 或 .xlsx 工作簿）同步到数据库 (import the register)
    Import {
        /// Remove accounts and units that are no longer in the file
        #[arg(long)]
        prune: bool,
        /// Show what would change without changing anything
        #[arg(long)]
        dry_run: bool,
        /// Import even where the file undoes changes made in chat since the last import
        #[arg(long)]
        force: bool,
    },
    /// 导出台账：输出为 accounts.toml，或写成 .xlsx 工作簿 (export the register)
    Export {
        /// toml or xlsx [default: from the --out extension, else toml]
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        /// Write to this file instead of stdout (required for xlsx)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// 台账变更记录：谁、何时、从哪里（文件/聊天/命令行）改了什么 (register history)
    History {
        /// Only this account
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Only this unit and its accounts (id or name)
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// Only changes on or after this day (YYYY-MM-DD, Asia/Shanghai)
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
    },
    /// 迁移数据库结构后退出 (apply database migrations)
    Migrate,
    /// 抓取一次到期的账号（或指定账号、全部账号）并列出结果 (poll feeds once)
    Poll {
        /// Poll this account now, due or not (repeatable)
        #[arg(long = "account", id = "account", value_name = "ID")]
        account_ids: Vec<String>,
        /// Poll every account now, due or not
        #[arg(long, conflicts_with = "account")]
        all: bool,
    },
    /// 立即巡检一次：抓取到期账号，评定每个账号并保存结果 (run one inspection)
    Check {
        /// Output format
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
        /// Evaluate the stored posts without polling first
        #[arg(long)]
        no_poll: bool,
    },
    /// 生成通报：月度、季度、周报或考核评分表 (produce a report)
    Report {
        /// weekly, monthly, quarterly or scoring
        #[arg(long, value_enum)]
        kind: crate::reports::ReportKind,
        /// 2026-10 (month), 2026-Q3 (quarter) or 2026-W47 (ISO week) [default: the last complete period]
        #[arg(long, conflicts_with_all = ["from", "to"])]
        period: Option<String>,
        /// First day (YYYY-MM-DD), with --to
        #[arg(long, requires = "to")]
        from: Option<chrono::NaiveDate>,
        /// Last day (YYYY-MM-DD), inclusive, with --from
        #[arg(long, requires = "from")]
        to: Option<chrono::NaiveDate>,
        /// Output format (xlsx and png need --out)
        #[arg(long, value_enum, default_value = "text")]
        format: crate::publish::Format,
        /// Write to this file instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Issue it (下发): record it with its 发文字号, date and 整改期限, queue
        /// it for the channels and send each unit in 附件1 a 整改通知
        /// (monthly and quarterly only); the output is the issued 通报
        #[arg(long)]
        issue: bool,
        /// 发文字号 of the issued 通报, e.g. "兰政办字〔2026〕12号" (with
        /// --issue; default: from [office] doc_number)
        #[arg(long, requires = "issue", value_name = "TEXT")]
        doc_number: Option<String>,
    },
    /// 整改事项：已下发通报的整改事项及其状态 (rectification items)
    Rectification {
        /// Only items of this unit (id or name)
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// Only items not yet fixed
        #[arg(long)]
        open: bool,
        /// text (one line per item) or json (every field, for scripts)
        #[arg(long, value_enum, default_value = "text")]
        format: ItemsFormat,
    },
    /// 演示：用样例数据离线运行抓取、巡检、告警和通报 (offline demo)
    Demo,
    /// 账号列表：以表格显示数据库中的台账 (list accounts)
    Accounts {
        /// Only accounts of this unit (id or name, e.g. 义堂镇)
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// Only accounts on this platform (e.g. weibo or 微博)
        #[arg(long, value_parser = parse_platform)]
        platform: Option<Platform>,
        /// Only accounts in this state (active, closing, deregistered)
        #[arg(long, value_parser = parse_state)]
        state: Option<AccountState>,
    },
}

/// `--unit`: a unit by its id, its name or a part of its name only one unit
/// has; otherwise an error naming the candidates or where to look.
fn unit_id(register: &crate::registry::Register, text: &str) -> anyhow::Result<String> {
    match register.find_unit(text) {
        Ok(unit) => Ok(unit.id.clone()),
        Err(candidates) if candidates.is_empty() => anyhow::bail!(
            "未找到单位「{text}」：--unit 可写单位ID或名称（见 xunjian accounts 的「单位」列）"
        ),
        Err(candidates) => {
            let names: Vec<String> = candidates
                .iter()
                .map(|u| format!("{}（{}）", u.name, u.id))
                .collect();
            anyhow::bail!("「{text}」可指多个单位：{}，请写单位ID", names.join("、"))
        }
    }
}

/// Formats of `rectification`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ItemsFormat {
    Text,
    Json,
}

/// Formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Toml,
    Xlsx,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("expected an RFC 3339 time like 2026-03-30T09:00:00+08:00: {e}"))
}

fn parse_platform(text: &str) -> Result<Platform, String> {
    Platform::from_name(text).ok_or_else(|| {
        let known: Vec<String> = Platform::ALL
            .iter()
            .map(|p| format!("{}（{}）", p.id(), p.label()))
            .collect();
        format!("未知平台，可用：{}", known.join("、"))
    })
}

fn parse_state(text: &str) -> Result<AccountState, String> {
    AccountState::from_name(text).ok_or_else(|| {
        "未知状态，可用：active（正常运维）、closing（正在注销）、deregistered（已注销）"
            .to_string()
    })
}

/// The register file: `--accounts` (or `XUNJIAN_ACCOUNTS`) must exist when
/// given, so a mistyped name is an error, not an empty register; the
/// default `accounts.toml` must exist for the commands that read it.
fn accounts_path(given: Option<PathBuf>, is_read: bool) -> anyhow::Result<PathBuf> {
    let (path, is_given) = match given {
        Some(path) => (path, true),
        None => (PathBuf::from("accounts.toml"), false),
    };
    if (is_given || is_read) && !path.is_file() {
        anyhow::bail!(
            "找不到台账文件 {}：请检查 --accounts（或环境变量 XUNJIAN_ACCOUNTS）给出的路径",
            path.display()
        );
    }
    Ok(path)
}

/// Fails with what to run when the database has never imported a register.
fn require_register(register: &crate::registry::Register) -> anyhow::Result<()> {
    if register.units.is_empty() && register.accounts.is_empty() {
        anyhow::bail!(
            "数据库中还没有台账：请先运行 xunjian import 导入台账文件（默认 accounts.toml，可用 --accounts 指定）"
        );
    }
    Ok(())
}

/// Entry point of the binary.
pub async fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "错误：{err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `xunjian export | head` closes the pipe early: that ends the program as
/// a closed pipe ends any command-line tool (status 141), not with a panic.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to std") && text.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("XUNJIAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if matches!(cli.command, Command::Demo) {
        crate::demo::run(cli.now.unwrap_or_else(Utc::now)).await?;
        return Ok(());
    }
    let env = |key: &str| std::env::var(key).ok();
    let settings = Settings::load(cli.config.as_deref(), &env)?;
    let now = cli.now.unwrap_or_else(Utc::now);
    let is_read = matches!(cli.command, Command::Import { .. } | Command::Run { .. });
    let register_file = accounts_path(cli.accounts, is_read)?;
    match cli.command {
        Command::Migrate => {
            let app = App::open(settings, register_file).await?;
            println!("数据库已是最新（{}）", app.store.backend());
        }
        Command::Import {
            prune,
            dry_run,
            force,
        } => {
            // Validate before touching the database, so a bad file changes nothing.
            app::read_register(&settings, &register_file)?;
            let app = App::open(settings, register_file).await?;
            let options = app::ImportOptions {
                is_pruning: prune,
                is_dry_run: dry_run,
                is_forced: force,
            };
            let import = app.import_checked(&options, now).await?;
            if !dry_run {
                app::remember_import(&app).await?;
            }
            print!("{}", app::describe_plan(&import.plan, dry_run));
            print!("{}", app::describe_conflicts(&import.conflicts, dry_run));
        }
        Command::Export { format, out } => {
            let format = format.unwrap_or(match out.as_deref().map(app::extension).as_deref() {
                Some("xlsx") => ExportFormat::Xlsx,
                _ => ExportFormat::Toml,
            });
            let app = App::open(settings, register_file).await?;
            let bytes = match format {
                ExportFormat::Toml => app.export().await?.into_bytes(),
                ExportFormat::Xlsx => app.export_xlsx().await?,
            };
            match out {
                Some(path) => std::fs::write(&path, bytes)
                    .with_context(|| format!("while writing {}", path.display()))?,
                None if format == ExportFormat::Xlsx => {
                    anyhow::bail!("export --format xlsx：工作簿须写入文件，请加 --out 台账.xlsx")
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
        }
        Command::History {
            account,
            unit,
            since,
        } => {
            let app = App::open(settings, register_file).await?;
            let unit = match unit {
                Some(text) => Some(unit_id(&app.store.load_register().await?, &text)?),
                None => None,
            };
            let filter = crate::registry::history::HistoryFilter {
                account,
                unit,
                since: since.map(crate::calendar::start_of_day),
            };
            print!("{}", app.history(&filter, true).await?);
        }
        Command::Rectification { unit, open, format } => {
            let app = App::open(settings, register_file).await?;
            let register = app.store.load_register().await?;
            let unit = match unit {
                Some(text) => Some(unit_id(&register, &text)?),
                None => None,
            };
            let items = app.store.rectification_items(unit.as_deref(), open).await?;
            match format {
                ItemsFormat::Text => {
                    println!("{}", crate::rectification::render_items(&items, &register));
                }
                ItemsFormat::Json => {
                    let json = crate::rectification::items_json(&items, &register);
                    println!("{}", serde_json::to_string_pretty(&json)?);
                }
            }
        }
        Command::Accounts {
            unit,
            platform,
            state,
        } => {
            let app = App::open(settings, register_file).await?;
            let register = app.store.load_register().await?;
            require_register(&register)?;
            let unit = match unit {
                Some(text) => Some(unit_id(&register, &text)?),
                None => None,
            };
            let filter = AccountFilter {
                unit,
                platform,
                state,
            };
            print!("{}", app::accounts_table(&register, &filter));
        }
        Command::Poll {
            account_ids: accounts,
            all,
        } => {
            let app = App::open(settings, register_file).await?;
            let register = app.store.load_register().await?;
            for id in &accounts {
                if register.account(id).is_none() {
                    anyhow::bail!(
                        "poll --account {id}：数据库中没有这个账号（见 xunjian accounts；台账改过请先运行 xunjian import）"
                    );
                }
            }
            let ids = if all {
                register.accounts.iter().map(|a| a.id.clone()).collect()
            } else if accounts.is_empty() {
                app.store
                    .claim_due_accounts(now, crate::poll::CLAIM_LEASE)
                    .await?
            } else {
                accounts
            };
            let poller = crate::poll::Poller::new(&app.settings, app.store.clone())?;
            let bar = crate::app::ProgressBar::new_on_terminal();
            let reports = poller
                .poll_accounts(&ids, now, &|done, total| bar.show(done, total))
                .await?;
            bar.finish();
            print!("{}", app::poll_table(&reports));
        }
        Command::Check { format, no_poll } => {
            let app = App::open(settings, register_file).await?;
            require_register(&app.store.load_register().await?)?;
            let inspector =
                crate::inspection::Inspector::new(app.store.clone(), app.settings.clone())?;
            let result = inspector.run_once(now, !no_poll).await?;
            match format {
                CheckFormat::Text => print!("{}", crate::inspection::render_text(&result)),
                CheckFormat::Json => println!("{}", serde_json::to_string_pretty(&result)?),
            }
        }
        Command::Report {
            kind,
            period,
            from,
            to,
            format,
            out,
            issue,
            doc_number,
        } => {
            use crate::publish::Format;
            if matches!(format, Format::Xlsx | Format::Png | Format::Docx) && out.is_none() {
                anyhow::bail!(
                    "report --format {}：此格式须写入文件，请加 --out 文件名",
                    format!("{format:?}").to_lowercase()
                );
            }
            let today = crate::calendar::local_date(now);
            let (from, to) = crate::reports::parse_period(kind, period.as_deref(), from, to, today)
                .map_err(anyhow::Error::msg)?;
            let app = App::open(settings, register_file).await?;
            let calendar = crate::inspection::load_calendar(&app.settings)?;
            let report =
                crate::publish::load_report(&app.store, &calendar, kind, from, to, now).await?;
            // Issued first, so what is written is the 通报 as issued.
            let (report, said) = if issue {
                let user = std::env::var("USER").unwrap_or_else(|_| "cli".to_string());
                let issued = crate::publish::issue_report(
                    &app.store,
                    &app.settings,
                    &calendar,
                    &report,
                    &format!("命令行 {user}"),
                    doc_number.as_deref(),
                    now,
                )
                .await?;
                let said = match &issued {
                    crate::publish::Issued::Now {
                        report,
                        units_notified,
                        new_items,
                    } => {
                        crate::publish::queue_report(
                            &app.store,
                            &app.settings,
                            &calendar,
                            report,
                            now,
                        )
                        .await?;
                        format!(
                            "已下发《{}》{}：新增整改事项{new_items}项，整改通知{units_notified}个单位；通报与整改通知已排队发送（由运行中的守护进程投递）",
                            report.title,
                            report
                                .issue
                                .as_ref()
                                .and_then(|i| i.doc_number.as_deref())
                                .map(|n| format!("（{n}）"))
                                .unwrap_or_default()
                        )
                    }
                    crate::publish::Issued::Before(report) => format!(
                        "《{}》此前已下发，未重复下发；以下为下发时的通报",
                        report.title
                    ),
                };
                (issued.report().clone(), Some(said))
            } else {
                (report, None)
            };
            let bytes = crate::publish::render_bytes(&report, format, &app.settings, &calendar)?;
            let is_report_on_stdout = out.is_none();
            match out {
                Some(path) => {
                    std::fs::write(&path, bytes)
                        .with_context(|| format!("while writing {}", path.display()))?;
                    eprintln!("已写入 {}", path.display());
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                    if !matches!(format, Format::Json) {
                        println!();
                    }
                }
            }
            if let Some(said) = said {
                // On stdout, unless stdout carries a file's bytes or JSON.
                if is_report_on_stdout && !matches!(format, Format::Text | Format::Md) {
                    eprintln!("{said}");
                } else {
                    println!("{said}");
                }
            }
        }
        // Handled above: the demo brings its own settings.
        Command::Demo => {}
        Command::Run { no_wait } => {
            // Only the daemon sends: the robots' secrets are needed here.
            settings.check_robot_webhooks()?;
            app::read_register(&settings, &register_file)?;
            let shutdown = tokio_util::sync::CancellationToken::new();
            app::spawn_signal_handler(shutdown.clone());
            let Some(app) = App::open_waiting(settings, register_file, no_wait, &shutdown).await?
            else {
                return Ok(());
            };
            app.release_gone_holders().await?;
            match app.import_if_changed(now).await? {
                app::FileImport::Imported(plan) => {
                    tracing::info!(changes = plan.changes.len(), "register imported")
                }
                app::FileImport::Unchanged => tracing::info!(
                    "register file unchanged since the last import; chat changes kept"
                ),
                // The daemon runs on the stored register; the admins were told.
                app::FileImport::Refused(conflict) => tracing::warn!(
                    conflicts = conflict.conflicts.len(),
                    "register file not imported: {conflict}"
                ),
            }
            crate::daemon::run(app, shutdown).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_subcommand_has_a_chinese_one_line_description() {
        let command = Cli::command();
        let mut names = Vec::new();
        for sub in command.get_subcommands() {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            let is_chinese = about
                .chars()
                .next()
                .is_some_and(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            assert!(
                is_chinese && !about.contains('\n'),
                "{}: {about:?}",
                sub.get_name()
            );
            names.push(sub.get_name().to_string());
        }
        assert!(names.len() >= 11, "{names:?}");
    }

    #[test]
    fn accounts_and_states_are_read_in_chinese_as_well() {
        assert_eq!(parse_platform("微博"), Ok(Platform::Weibo));
        assert_eq!(parse_platform("公众号"), Ok(Platform::WechatSubscription));
        assert_eq!(parse_state("正在注销"), Ok(AccountState::Closing));
        assert!(parse_platform("weixin").is_err_and(|e| e.starts_with("未知平台")));
    }

    #[test]
    fn the_command_line_definition_has_no_clashes() {
        Cli::command().debug_assert();
    }

    #[test]
    fn poll_parses_in_every_documented_form() {
        for args in [
            vec!["xunjian", "poll"],
            vec!["xunjian", "poll", "--all"],
            vec!["xunjian", "poll", "--account", "a1", "--account", "a2"],
            vec!["xunjian", "--accounts", "x.toml", "poll", "--account", "a1"],
        ] {
            let cli = Cli::try_parse_from(&args).expect("documented form parses");
            assert!(matches!(cli.command, Command::Poll { .. }), "{args:?}");
        }
        let cli = Cli::try_parse_from(["xunjian", "poll", "--account", "a1", "--account", "a2"])
            .expect("parses");
        match cli.command {
            Command::Poll { account_ids, all } => {
                assert_eq!(account_ids, vec!["a1", "a2"]);
                assert!(!all);
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["xunjian", "poll", "--all", "--account", "a1"]).is_err());
    }
}
