//! The command line: parses options, sets up logging, runs one command.

use crate::app::{self, AccountFilter, App};
use crate::config::Settings;
use crate::registry::{AccountState, Platform};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod run;
pub use run::run;

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

    /// 操作人：审计记录中署此姓名（默认 office.operator，再默认系统用户）(who runs this, for the audit trail)
    #[arg(long, global = true, env = "XUNJIAN_BY", value_name = "NAME")]
    pub by: Option<String>,

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
    /// 节假日：导入某年的法定节假日安排，或查看已有的年份 (holiday calendar)
    Holidays {
        #[command(subcommand)]
        action: HolidaysAction,
    },
    /// 备份：把数据库在线备份为一个 SQLite 文件（PostgreSQL 请用 pg_dump）(back up the database)
    Backup {
        /// 备份文件（不可已存在）(the backup file; must not exist)
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
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

/// `xunjian holidays …`
#[derive(Debug, Subcommand)]
pub enum HolidaysAction {
    /// 导入：国务院办公厅通知的放假安排（holiday-cn 的 JSON，或按 README 写成的 TOML）存入数据库 (import a year)
    Import {
        /// YEAR.json (holiday-cn) 或 .toml
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// 查看：每年的放假、调休天数及来源 (list the years)
    List,
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
    // Colour codes only on a terminal: a log file or journald gets plain text.
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
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
