//! The command line: parses options, sets up logging, runs one command.

use crate::app::{self, AccountFilter, App};
use crate::config::Settings;
use crate::registry::{AccountState, Platform};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod content;
mod run;
pub use content::{ContentAction, TaskAction};
pub use run::run;

/// 巡检 xunjian：政务新媒体巡检守护进程与聊天机器人 (supervises government new-media accounts).
#[derive(Debug, Parser)]
#[command(
    name = "xunjian",
    version,
    about = "巡检 xunjian：政务新媒体巡检——抓取各账号发文，按规则检查、告警、出通报 (supervises government new-media accounts)",
    long_about = None
)]
pub struct Cli {
    /// 设置文件（默认：当前目录的 xunjian.toml）(settings file)
    #[arg(long, global = true, env = "XUNJIAN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// 台账文件：accounts.toml 或 .xlsx 工作簿（默认 accounts.toml；run 默认读取上次导入的文件）(the register)
    #[arg(long, global = true, env = "XUNJIAN_ACCOUNTS", value_name = "FILE")]
    pub accounts: Option<PathBuf>,

    /// 操作人：审计记录中署此姓名（默认 office.operator，再默认系统用户）(who runs this, for the audit trail)
    #[arg(long, global = true, env = "XUNJIAN_BY", value_name = "NAME")]
    pub by: Option<String>,

    /// 以此时间为“现在”（RFC 3339，如 2026-12-01T09:00:00+08:00），用于复现检查 (pretend it is this time)
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
        /// 删除文件中已没有的账号和单位 (remove what the file no longer holds)
        #[arg(long)]
        prune: bool,
        /// 试运行：只列出将发生的变更，不写入 (dry run)
        #[arg(long)]
        dry_run: bool,
        /// 即使会撤销聊天或上次导入的文件所做的变更也导入 (import over conflicts)
        #[arg(long)]
        force: bool,
    },
    /// 导出台账：输出为 accounts.toml，或写成 .xlsx 工作簿 (export the register)
    Export {
        /// toml 或 xlsx（默认按 --out 的扩展名，否则 toml）(format)
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
        /// 写入此文件而非标准输出（xlsx 必须指定）(output file)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// 台账变更记录：谁、何时、从哪里（文件/聊天/命令行）改了什么 (register history)
    History {
        /// 只看此账号 (only this account)
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// 只看此单位及其账号（单位ID或名称）(only this unit)
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// 只看此日（含）之后的变更（YYYY-MM-DD）(since this day)
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
    },
    /// 迁移数据库结构后退出 (apply database migrations)
    Migrate,
    /// 抓取一次到期的账号（或指定账号、全部账号）并列出结果 (poll feeds once)
    Poll {
        /// 立即抓取此账号，不论是否到期（可重复）(poll this account)
        #[arg(long = "account", id = "account", value_name = "ID")]
        account_ids: Vec<String>,
        /// 立即抓取全部账号 (poll every account)
        #[arg(long, conflicts_with = "account")]
        all: bool,
    },
    /// 立即巡检一次：抓取到期账号，评定每个账号并保存结果 (run one inspection)
    Check {
        /// 输出格式：text 或 json (output format)
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
        /// 不抓取，只按已保存的发文评定 (evaluate without polling)
        #[arg(long)]
        no_poll: bool,
    },
    /// 生成通报：月度、季度、周报或考核评分表 (produce a report)
    Report {
        /// weekly 周报、monthly 月度、quarterly 季度、scoring 评分表或 annual 年度 (report kind)
        #[arg(long, value_enum)]
        kind: crate::reports::ReportKind,
        /// 期间：2026-10（月）、2026-Q3（季度）、2026-W47（周）或 2026（年）；默认为上一个完整期间 (period)
        #[arg(long, conflicts_with_all = ["from", "to"])]
        period: Option<String>,
        /// 起始日（YYYY-MM-DD），与 --to 一起用 (first day)
        #[arg(long, requires = "to")]
        from: Option<chrono::NaiveDate>,
        /// 截止日（含，YYYY-MM-DD），与 --from 一起用 (last day)
        #[arg(long, requires = "from")]
        to: Option<chrono::NaiveDate>,
        /// 输出格式：text、md、json、xlsx、png、docx（xlsx、png、docx 须指定 --out）(format)
        #[arg(long, value_enum, default_value = "text")]
        format: crate::publish::Format,
        /// 写入此文件而非标准输出 (output file)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// 下发：记录发文字号、日期和整改期限，推送通报并向附件1中的每个单位发送整改通知
        /// （仅月度、季度通报）；输出的是下发后的通报 (issue it)
        #[arg(long)]
        issue: bool,
        /// 下发通报的发文字号，如「兰政办字〔2026〕12号」（与 --issue 一起用；默认按
        /// office.doc_number 生成）(document number)
        #[arg(long, requires = "issue", value_name = "TEXT")]
        doc_number: Option<String>,
    },
    /// 整改事项：已下发通报的整改事项及其状态 (rectification items)
    Rectification {
        /// 只看此单位的事项（单位ID或名称）(only this unit)
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// 只看未整改完成的事项 (only open items)
        #[arg(long)]
        open: bool,
        /// text（每项一行）或 json（全部字段，供脚本使用）(format)
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
    /// 内容检查：错敏信息与个人信息的查看、重新扫描、误报、已整改和允许的表述 (content inspection)
    Content {
        #[command(subcommand)]
        action: ContentAction,
    },
    /// 转载任务：新增、查看进度、关闭 (repost tasks)
    Task {
        #[command(subcommand)]
        action: TaskAction,
    },
    /// 登录链接：打印一个一次性的工作台登录链接（默认管理员；--unit 则只能查看该单位）(a one-time sign-in link for the web console)
    LoginLink {
        /// 只能查看和处理此单位（单位ID或名称）(limited to this unit)
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// 链接有效分钟数（默认 10，最长 10080 即 7 天）(minutes the link works)
        #[arg(long, value_name = "N", default_value_t = crate::web::links::LINK_MINUTES)]
        minutes: i64,
    },
    /// 账号列表：以表格显示数据库中的台账 (list accounts)
    Accounts {
        /// 只看此单位的账号（单位ID或名称，如 义堂镇）(only this unit)
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// 只看此平台的账号（如 微博 或 weibo）(only this platform)
        #[arg(long, value_parser = parse_platform)]
        platform: Option<Platform>,
        /// 只看此状态的账号（正常运维、正在注销、已注销，或 active、closing、deregistered）(only this state)
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
        Err(candidates) if candidates.is_empty() => {
            // One character names no unit by itself; say which it could be.
            let near: Vec<String> = register
                .units
                .iter()
                .filter(|u| !text.trim().is_empty() && u.name.contains(text.trim()))
                .map(|u| format!("{}（{}）", u.name, u.id))
                .collect();
            if near.is_empty() {
                anyhow::bail!(
                    "未找到单位「{text}」：--unit 可写单位ID或名称（见 xunjian accounts 的「单位」列）"
                )
            }
            anyhow::bail!(
                "「{text}」太短，无法确定单位：含「{text}」的有 {}，请写单位全名或ID",
                near.join("、")
            )
        }
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

/// An I/O error as a clerk reads it.
fn io_cn(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "文件或目录不存在".to_string(),
        std::io::ErrorKind::PermissionDenied => "没有权限".to_string(),
        std::io::ErrorKind::AlreadyExists => "已存在".to_string(),
        std::io::ErrorKind::InvalidData => "不是 UTF-8 文本".to_string(),
        _ => err.to_string(),
    }
}

/// The command line, as given; `--help` and mistakes end the program here.
pub fn parse() -> Cli {
    quiet_on_closed_pipe();
    Cli::parse()
}

impl Cli {
    /// Worker threads for the async runtime this command runs on; None for
    /// tokio's default (one per core).
    ///
    /// A poll parses and checks on threads of its own, one per core, and
    /// writes on another: its runtime only moves bytes and hands them over.
    /// With a worker per core as well, the workers' wake-ups and stealing
    /// cost 6 % of a cold cycle's CPU on two cores (user time 3.68–3.77 s
    /// against 3.46–3.55 s with one), so a poll takes half the cores. The
    /// daemon keeps the default: its console and bots share the runtime.
    pub fn runtime_workers(&self) -> Option<usize> {
        match self.command {
            Command::Poll { .. } => {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                Some((cores / 2).max(1))
            }
            _ => None,
        }
    }
}

/// Entry point of the binary, on the runtime [`Cli::runtime_workers`] asks for.
pub async fn main(cli: Cli) -> ExitCode {
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
