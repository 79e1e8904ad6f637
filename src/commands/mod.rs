//! Chat commands. The handler is plain text in, reply text out, so it runs
//! the same behind Telegram and in tests; `bot` wires it to teloxide.
//!
//! Admins may change the register; unit contacts may see and acknowledge
//! their own units; everyone else is refused politely and the attempt logged.

pub mod bot;
mod history;
mod rectify;
mod register;

use crate::config::Settings;
use crate::registry::{AccountState, Platform, Register};
use crate::storage::Store;
use chrono::{DateTime, Duration, Utc};
use std::fmt::Write as _;

/// Who sent a command, and where.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user_id: i64,
    pub name: String,
    /// A one-to-one chat with the bot; phone numbers are only shown there.
    pub is_private_chat: bool,
    /// Our bot's username (`Me.username`); `/cmd@name` is answered only
    /// when `name` is this. `None` (unknown): only bare `/cmd` is answered.
    pub bot_username: Option<String>,
}

/// What the caller may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    /// A contact of these units.
    Contact(Vec<String>),
    Stranger,
}

/// The command list, as `set_my_commands` registers it.
pub const COMMANDS: [(&str, &str); 19] = [
    ("help", "帮助"),
    ("start", "开始使用"),
    ("whoami", "我的身份"),
    ("list", "账号列表 [单位|平台|状态]"),
    ("status", "账号状态 账号ID"),
    ("register", "登记账号 平台 代理:路由|URL 名称 单位ID"),
    ("closing", "标记拟关停 账号ID"),
    ("deregister", "注销备案 账号ID 日期 文号"),
    ("reactivate", "恢复正常运维 账号ID"),
    ("ack", "确认告警 告警号|账号ID"),
    ("snooze", "暂停提醒 账号ID 时长(如7d或7天)"),
    ("contacts", "单位联系人 单位ID"),
    ("bind", "申请成为单位联系人 单位ID"),
    ("approve", "批准联系人申请 申请号"),
    ("history", "台账变更记录 账号ID|单位ID [起始日期]"),
    ("rectify", "整改反馈 账号ID 整改说明（也可用 /整改）"),
    ("rectification", "整改事项 [单位ID]"),
    ("issue", "下发通报并通知整改 monthly|quarterly [期间]"),
    (
        "report",
        "生成通报 类型(weekly|monthly|quarterly|scoring) [期间]",
    ),
];

/// One command being handled: who asked, its arguments, the register as it was.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub ctx: &'a CommandContext,
    pub caller: &'a Caller,
    pub args: &'a [&'a str],
    pub register: &'a Register,
    pub now: DateTime<Utc>,
}

/// Everything a command may need.
pub struct CommandContext {
    pub store: Store,
    pub settings: Settings,
}

pub(crate) const REFUSAL: &str =
    "抱歉，您没有执行此命令的权限。如需成为单位联系人，请发送 /bind 单位ID 申请。";

impl CommandContext {
    /// The caller's role from the settings (admins) and the register (contacts).
    pub fn role(&self, register: &Register, user_id: i64) -> Role {
        if self.settings.telegram.admins.contains(&user_id) {
            return Role::Admin;
        }
        let units: Vec<String> = register
            .units
            .iter()
            .filter(|u| u.contacts.iter().any(|c| c.telegram_id == Some(user_id)))
            .map(|u| u.id.clone())
            .collect();
        if units.is_empty() {
            Role::Stranger
        } else {
            Role::Contact(units)
        }
    }

    /// Handles one message text; returns the reply (Chinese), or `None` for a
    /// command addressed to another bot. Send it with [`split_reply`].
    pub async fn handle(&self, caller: &Caller, text: &str, now: DateTime<Utc>) -> Option<String> {
        if !is_addressed_to_us(text, caller.bot_username.as_deref()) {
            tracing::debug!(user = caller.user_id, "command for another bot ignored");
            return None;
        }
        Some(match self.try_handle(caller, text, now).await {
            Ok(reply) => reply,
            Err(err) => {
                tracing::error!(
                    user = caller.user_id,
                    error = format!("{err:#}"),
                    "command failed"
                );
                "处理命令时出错，请稍后再试或联系管理员。".to_string()
            }
        })
    }

    async fn try_handle(
        &self,
        caller: &Caller,
        text: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let text = text.trim();
        let (head, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let command = head
            .trim_start_matches('/')
            .split('@')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let args: Vec<&str> = args.split_whitespace().collect();
        let register = self.store.load_register().await?;
        let role = self.role(&register, caller.user_id);
        let is_admin = role == Role::Admin;
        let request = Request {
            ctx: self,
            caller,
            args: &args,
            register: &register,
            now,
        };
        let refuse = |why: &str| {
            tracing::warn!(user = caller.user_id, name = %caller.name, command = %command, why, "command refused");
            Ok(REFUSAL.to_string())
        };
        match command.as_str() {
            "start" | "help" => Ok(help(&role)),
            "rectify" | "整改" => match &role {
                Role::Stranger => refuse("not a contact"),
                _ => rectify::rectify(&request, &role).await,
            },
            "rectification" => match &role {
                Role::Stranger => refuse("not a contact"),
                _ => rectify::list(&request, &role).await,
            },
            "whoami" => Ok(whoami(caller, &role, &register)),
            "bind" => register::bind(&request).await,
            "list" => match &role {
                Role::Stranger => refuse("not a contact"),
                _ => Ok(list(&register, &role, args.first().copied())),
            },
            "status" | "ack" | "contacts" => {
                let Some(target) = args.first() else {
                    return Ok(format!(
                        "用法：/{command} {}",
                        if command == "contacts" {
                            "单位ID"
                        } else {
                            "账号ID"
                        }
                    ));
                };
                let unit = if command == "contacts" {
                    register.unit(target).map(|u| u.id.clone())
                } else {
                    register.account(target).map(|a| a.unit.clone())
                };
                let Some(unit) = unit
                    .or_else(|| (command == "ack" && target.starts_with('#')).then(String::new))
                else {
                    return Ok(format!("未找到「{target}」。发送 /list 查看账号与单位。"));
                };
                let is_allowed =
                    is_admin || matches!(&role, Role::Contact(units) if units.contains(&unit));
                if !is_allowed || (unit.is_empty() && !is_admin) {
                    return refuse("not a contact of this unit");
                }
                match command.as_str() {
                    "status" => register::status(&request, target).await,
                    "ack" => {
                        let n = self.store.ack_alerts(target, &actor(caller), now).await?;
                        Ok(if n == 0 {
                            format!("「{target}」没有待确认的告警。")
                        } else {
                            format!("已确认 {n} 条告警，将不再重复提醒；问题解决后会发送恢复通知。")
                        })
                    }
                    // Phone numbers never go into a group chat.
                    _ if !caller.is_private_chat => Ok(
                        "联系人信息含电话号码，只在私聊中提供：请私聊本机器人发送 /contacts 单位ID。"
                            .to_string(),
                    ),
                    _ => Ok(contacts(&register, target)),
                }
            }
            "register" | "closing" | "deregister" | "reactivate" | "snooze" | "approve"
            | "report" | "history" | "issue" => {
                if !is_admin {
                    return refuse("admin command");
                }
                match command.as_str() {
                    "register" => register::register(&request).await,
                    "closing" => register::set_state(&request, AccountState::Closing).await,
                    "deregister" => register::set_state(&request, AccountState::Deregistered).await,
                    "reactivate" => register::set_state(&request, AccountState::Active).await,
                    "snooze" => snooze(&request).await,
                    "approve" => register::approve(&request).await,
                    "history" => history::history(&request).await,
                    "issue" => rectify::issue(&request).await,
                    _ => report(&request).await,
                }
            }
            _ => Ok(format!("未知命令 /{command}。发送 /help 查看可用命令。")),
        }
    }
}

/// How a chat user is named in the audit trail.
pub fn actor(caller: &Caller) -> String {
    format!("telegram:{} {}", caller.user_id, caller.name)
}

fn help(role: &Role) -> String {
    let mut out = String::from("xunjian 政务新媒体巡检机器人\n\n");
    let visible: &[&str] = match role {
        Role::Admin => &[
            "help",
            "whoami",
            "list",
            "status",
            "register",
            "closing",
            "deregister",
            "reactivate",
            "ack",
            "snooze",
            "contacts",
            "bind",
            "approve",
            "history",
            "report",
            "issue",
            "rectification",
            "rectify",
        ],
        Role::Contact(_) => &[
            "help",
            "whoami",
            "list",
            "status",
            "ack",
            "contacts",
            "bind",
            "rectify",
            "rectification",
        ],
        Role::Stranger => &["help", "whoami", "bind"],
    };
    for (name, description) in COMMANDS.iter().filter(|(n, _)| visible.contains(n)) {
        let _ = writeln!(out, "/{name} — {description}");
    }
    out.trim_end().to_string()
}

fn whoami(caller: &Caller, role: &Role, register: &Register) -> String {
    let what = match role {
        Role::Admin => "管理员".to_string(),
        Role::Contact(units) => {
            let names: Vec<&str> = units
                .iter()
                .filter_map(|u| register.unit(u).map(|u| u.name.as_str()))
                .collect();
            format!("联系人（{}）", names.join("、"))
        }
        Role::Stranger => "未登记（可发送 /bind 单位ID 申请成为联系人）".to_string(),
    };
    format!("您的 Telegram ID：{}\n身份：{what}", caller.user_id)
}

fn list(register: &Register, role: &Role, filter: Option<&str>) -> String {
    let mut lines = Vec::new();
    for a in &register.accounts {
        if let Role::Contact(units) = role {
            if !units.contains(&a.unit) {
                continue;
            }
        }
        let is_shown = match filter {
            None => true,
            Some(f) => a.unit == f || a.platform.id() == f || a.state.id() == f,
        };
        if is_shown {
            lines.push(format!(
                "{} {}（{}，{}）",
                a.id,
                a.name,
                a.platform.label(),
                a.state.label()
            ));
        }
    }
    if lines.is_empty() {
        return match filter {
            Some(f)
                if register.unit(f).is_none()
                    && Platform::from_id(f).is_none()
                    && AccountState::from_id(f).is_none() =>
            {
                format!(
                    "「{f}」既不是单位ID，也不是平台（如 weibo）或状态（active、closing、deregistered）。"
                )
            }
            _ => "没有符合条件的账号。".to_string(),
        };
    }
    format!("共 {} 个账号：\n{}", lines.len(), lines.join("\n"))
}

fn contacts(register: &Register, unit: &str) -> String {
    let Some(unit) = register.unit(unit) else {
        return format!("未找到单位「{unit}」。");
    };
    if unit.contacts.is_empty() {
        return format!("{} 尚未登记联系人。", unit.name);
    }
    let lines: Vec<String> = unit
        .contacts
        .iter()
        .map(|c| {
            let mut line = c.name.clone();
            if let Some(phone) = &c.phone {
                line.push_str(&format!(" {phone}"));
            }
            if let Some(id) = c.telegram_id {
                line.push_str(&format!("（Telegram {id}）"));
            }
            line
        })
        .collect();
    format!("{} 联系人：\n{}", unit.name, lines.join("\n"))
}

async fn snooze(req: &Request<'_>) -> anyhow::Result<String> {
    let Request {
        ctx,
        caller,
        args,
        register,
        now,
    } = *req;
    let [account, duration] = args[..] else {
        return Ok(
            "用法：/snooze 账号ID 时长（如 7d、12h、2w 或 7天、12小时、2周，最长 90 天）"
                .to_string(),
        );
    };
    if register.account(account).is_none() {
        return Ok(format!("未找到账号「{account}」。"));
    }
    let Some(length) = parse_duration(duration) else {
        return Ok(format!(
            "无法识别时长「{duration}」：请写作 7d、12h、2w 或 7天、12小时、2周（最长 90 天）。"
        ));
    };
    let until = now + length;
    ctx.store
        .snooze(account, until, &actor(caller), now)
        .await?;
    Ok(format!(
        "已暂停「{account}」的提醒至 {}。",
        crate::calendar::to_local(until).format("%Y-%m-%d %H:%M")
    ))
}

/// "7d", "12h", "2w" or "7天", "12小时", "2周", "3日" → a duration of at
/// most 90 days. Any other text (including huge numbers) is `None`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.trim_start_matches(|c: char| c.is_ascii_digit());
    let number = text.strip_suffix(unit)?;
    let n: i64 = number.parse().ok().filter(|n| *n > 0)?;
    let hours_per_unit = match unit.to_ascii_lowercase().as_str() {
        "h" | "小时" => 1,
        "d" | "天" | "日" => 24,
        "w" | "周" => 24 * 7,
        _ => return None,
    };
    let hours = n.checked_mul(hours_per_unit)?;
    (hours <= 90 * 24).then(|| Duration::hours(hours))
}

/// Whether a command message is meant for this bot: `/cmd` is, and
/// `/cmd@name` is when `name` is our username (any case). When our username
/// is unknown, an addressed command is not ours: in a group it may be
/// another bot's.
pub fn is_addressed_to_us(text: &str, bot_username: Option<&str>) -> bool {
    let head = text.split_whitespace().next().unwrap_or("");
    match head.split_once('@') {
        None => true,
        Some((_, target)) => {
            bot_username.is_some_and(|me| target.eq_ignore_ascii_case(me.trim_start_matches('@')))
        }
    }
}

/// Telegram refuses messages longer than this many characters.
pub const MAX_REPLY_CHARS: usize = 4096;

/// Splits a reply into messages of at most [`MAX_REPLY_CHARS`] characters,
/// at line ends where it can and at character boundaries where a line is
/// longer than that. Nothing is lost; an empty reply gives no message.
pub fn split_reply(text: &str) -> Vec<String> {
    split_chars(text, MAX_REPLY_CHARS)
}

fn split_chars(text: &str, max_chars: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    for line in text.split_inclusive('\n') {
        let line_chars = line.chars().count();
        if count + line_chars > max_chars && count > 0 {
            parts.push(std::mem::take(&mut current));
            count = 0;
        }
        for ch in line.chars() {
            if count == max_chars {
                parts.push(std::mem::take(&mut current));
                count = 0;
            }
            current.push(ch);
            count += 1;
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// /report KIND [PERIOD]: the report goes to the caller's chat as text, .docx, XLSX and chart.
async fn report(req: &Request<'_>) -> anyhow::Result<String> {
    let Request {
        ctx,
        caller,
        args,
        now,
        ..
    } = *req;
    use crate::reports::{ReportKind, parse_period};
    let Some(kind) = args.first().and_then(|k| ReportKind::from_id(k)) else {
        return Ok(
            "用法：/report weekly|monthly|quarterly|scoring [2026-10 | 2026-Q3 | 2026-W47]"
                .to_string(),
        );
    };
    let today = crate::calendar::local_date(now);
    let (from, to) = match parse_period(kind, args.get(1).copied(), None, None, today) {
        Ok(period) => period,
        Err(why) => return Ok(format!("期间无效：{why}")),
    };
    let calendar = crate::inspection::load_calendar(&ctx.settings)?;
    let report = crate::publish::load_report(&ctx.store, &calendar, kind, from, to, now).await?;
    let files = crate::publish::attachments(&report, &ctx.settings, &calendar)?;
    let message = crate::alerts::compose::Message::plain(
        "telegram",
        &caller.user_id.to_string(),
        &crate::reports::render::text(&report),
    );
    ctx.store.enqueue_with_files(&message, &files, now).await?;
    Ok(format!(
        "已生成《{}》，正文、通报文档（.docx）、表格与图表随后发送。",
        report.title
    ))
}

#[cfg(test)]
mod tests;
