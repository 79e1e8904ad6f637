//! Chat commands. The handler is plain text in, reply text out, so it runs
//! the same behind Telegram and in tests; `bot` wires it to teloxide.
//!
//! Admins may change the register; unit contacts may see and acknowledge
//! their own units; everyone else is refused politely and the attempt logged.

mod alerts;
mod bind;
pub mod bot;
pub mod budget;
mod content;
mod dialogue;
pub mod dingtalk;
pub mod feishu;
mod help;
mod history;
mod login;
mod rectify;
mod register;

use crate::config::Settings;
use crate::registry::{AccountState, Platform, Register};
use crate::storage::Store;
use chrono::{DateTime, Duration, Utc};

mod identity;
mod lookup;
pub use identity::UserId;
pub(crate) use lookup::{ambiguous_unit, find_account, find_unit, person, unit_names};

/// Who sent a command, and where.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user: UserId,
    pub name: String,
    /// A one-to-one chat with the bot; phone numbers are only shown there.
    pub is_private_chat: bool,
    /// The group the message came from, as the settings name it (a
    /// Telegram chat id, a DingTalk openConversationId); `/whoami` shows it.
    pub chat: Option<String>,
    /// Our bot's username (`Me.username`); `/cmd@name` is answered only
    /// when `name` is this. `None` (unknown): only bare `/cmd` is answered.
    pub bot_username: Option<String>,
    /// The platform delivered the message only because it names the bot (a
    /// Feishu group message reaches the bot only when it @mentions it), so
    /// a group message is for us even without `@bot_username` in its text.
    pub is_addressed_to_bot: bool,
}

/// What the caller may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    /// A contact of these units.
    Contact(Vec<String>),
    Stranger,
}

pub use help::{Access, COMMANDS, Command, CommandInfo, Parsed};

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
    /// Who sent how much lately: no chat can hold up another.
    budget: budget::ChatBudget,
}

pub(crate) const REFUSAL: &str =
    "抱歉，您没有执行此命令的权限。如需成为单位联系人，请发送 /bind 单位ID 申请。";

impl CommandContext {
    pub fn new(store: Store, settings: Settings) -> CommandContext {
        CommandContext {
            store,
            settings,
            budget: budget::ChatBudget::default(),
        }
    }

    /// Whether the settings name this user an admin (on their chat).
    pub fn is_admin(&self, user: &UserId) -> bool {
        match user {
            UserId::Telegram(id) => self.settings.telegram.admins.contains(id),
            UserId::Dingtalk(staff) => self.settings.dingtalk.admins.contains(staff),
            UserId::Feishu(open_id) => self.settings.feishu.admins.contains(open_id),
        }
    }

    /// The caller's role from the settings (admins) and the register (contacts).
    pub fn role(&self, register: &Register, user: &UserId) -> Role {
        if self.is_admin(user) {
            return Role::Admin;
        }
        let units: Vec<String> = register
            .units
            .iter()
            .filter(|u| u.contacts.iter().any(|c| user.is(c)))
            .map(|u| u.id.clone())
            .collect();
        if units.is_empty() {
            Role::Stranger
        } else {
            Role::Contact(units)
        }
    }

    /// Handles one message text; returns the reply (Chinese), or `None` when
    /// it is not for us (a command addressed to another bot, a group
    /// message that does not name us). Send it with [`split_reply`].
    pub async fn handle(&self, caller: &Caller, text: &str, now: DateTime<Utc>) -> Option<String> {
        let is_command = text.trim_start().starts_with('/');
        if is_command && !is_addressed_to_us(text, caller.bot_username.as_deref()) {
            tracing::debug!(user = %caller.user, "command for another bot ignored");
            return None;
        }
        if !is_command
            && !caller.is_private_chat
            && !caller.is_addressed_to_bot
            && !is_mentioned(text, caller)
        {
            return None;
        }
        let is_admin = self.is_admin(&caller.user);
        if !is_admin {
            if let Some(notice) = self.admit(caller, now) {
                return notice;
            }
        }
        let handled = if is_command {
            self.try_handle(caller, text, now).await.map(Some)
        } else {
            self.answer_text(caller, text, now).await
        };
        match handled {
            Ok(reply) => reply,
            Err(err) => {
                tracing::error!(
                    user = %caller.user,
                    error = format!("{err:#}"),
                    "command failed"
                );
                Some("处理命令时出错，请稍后再试或联系管理员。".to_string())
            }
        }
    }

    /// Counts a message against its user's and group's budgets: `None`
    /// to handle it, else what to answer instead (the one notice, or nothing).
    fn admit(&self, caller: &Caller, now: DateTime<Utc>) -> Option<Option<String>> {
        let group = if caller.is_private_chat {
            None
        } else {
            caller.chat.as_deref()
        };
        let limits = &self.settings.commands;
        let admission = self.budget.admit(
            &caller.user,
            group,
            limits.per_user_per_minute,
            limits.per_group_per_minute,
            now,
        );
        match admission {
            budget::Admission::Handle => None,
            budget::Admission::Notice => {
                metrics::counter!("xunjian_commands_over_budget_total").increment(1);
                tracing::warn!(user = %caller.user, group = ?group, "over the chat budget: messages dropped for a minute");
                Some(Some(budget::OVER_BUDGET_NOTICE.to_string()))
            }
            budget::Admission::Drop => {
                metrics::counter!("xunjian_commands_over_budget_total").increment(1);
                Some(None)
            }
        }
    }

    /// Text that is not a command: the next step of a guided /register in a
    /// private chat, else a short hint.
    async fn answer_text(
        &self,
        caller: &Caller,
        text: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>> {
        if caller.is_private_chat {
            let register = self.store.load_register().await?;
            if self.role(&register, &caller.user) == Role::Admin {
                let request = Request {
                    ctx: self,
                    caller,
                    args: &[],
                    register: &register,
                    now,
                };
                if let Some(reply) = dialogue::continue_register(&request, text).await? {
                    return Ok(Some(reply));
                }
            }
        }
        // The hint answers noise: once every few minutes per user.
        if self.is_admin(&caller.user) || self.budget.is_hint_due(&caller.user, now) {
            let register = self.store.load_register().await?;
            match self.role(&register, &caller.user) {
                Role::Contact(units) => Ok(Some(
                    self.contact_overview(caller, &units, &register, now)
                        .await?,
                )),
                Role::Stranger => Ok(Some(help::STRANGER_HINT.to_string())),
                Role::Admin => Ok(Some(help::FREE_TEXT_HINT.to_string())),
            }
        } else {
            tracing::debug!(user = %caller.user, "free text; hint given lately");
            Ok(None)
        }
    }

    async fn try_handle(
        &self,
        caller: &Caller,
        text: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let parsed = match help::parse(text) {
            Ok(parsed) => parsed,
            Err(name) => {
                return Ok(format!(
                    "未知命令 /{}。发送 /help 查看可用命令。",
                    quoted(&name)
                ));
            }
        };
        let (info, args) = (parsed.info, parsed.args);
        let register = self.store.load_register().await?;
        let role = self.role(&register, &caller.user);
        // A contact is named as the register names them (an ack, a 整改
        // answer and the audit trail say 张新, not a chat nickname).
        let known;
        let caller = match register
            .units
            .iter()
            .flat_map(|u| &u.contacts)
            .find(|c| caller.user.is(c))
        {
            Some(contact) if contact.name != caller.name => {
                known = Caller {
                    name: contact.name.clone(),
                    ..caller.clone()
                };
                &known
            }
            _ => caller,
        };
        let request = Request {
            ctx: self,
            caller,
            args: &args,
            register: &register,
            now,
        };
        if !info.access.allows(&role) {
            tracing::warn!(user = %caller.user, name = %caller.name, command = %info.name, "command refused");
            return Ok(REFUSAL.to_string());
        }
        use help::Command as C;
        match info.command {
            C::Help => Ok(help::help(&role)),
            C::Start => Ok(help::start(caller, &role, &register)),
            C::Whoami => Ok(whoami(caller, &role, &register)),
            C::Units => Ok(help::units(&register)),
            C::Bind => bind::bind(&request).await,
            C::List => Ok(list(&register, &role, args.first().copied())),
            C::Status => alerts::status(&request, &role).await,
            C::Ack => alerts::ack(&request, &role).await,
            C::Contacts => contacts(&request, &role),
            C::Rectify => rectify::rectify(&request, &role).await,
            C::Rectification => rectify::list(&request, &role).await,
            C::Register if args.len() < 4 => dialogue::start_register(&request).await,
            C::Register => register::register(&request).await,
            C::Closing => register::set_state(&request, AccountState::Closing).await,
            C::Deregister => register::set_state(&request, AccountState::Deregistered).await,
            C::Reactivate => register::set_state(&request, AccountState::Active).await,
            C::Snooze => alerts::snooze(&request, &role).await,
            C::Approve => bind::approve(&request).await,
            C::Refuse => bind::refuse(&request).await,
            C::History => history::history(&request).await,
            C::Issue => rectify::issue(&request).await,
            C::Cancel => dialogue::cancel(&request).await,
            C::Report => report(&request).await,
            C::Dismiss => content::dismiss(&request).await,
            C::Tasks => content::tasks(&request).await,
            C::Login => login::login(&request, &role).await,
        }
    }
}

/// Whether a group message names this bot (`@xunjian_bot`).
fn is_mentioned(text: &str, caller: &Caller) -> bool {
    caller.bot_username.as_deref().is_some_and(|me| {
        let me = format!("@{}", me.trim_start_matches('@')).to_lowercase();
        text.to_lowercase().contains(&me)
    })
}

/// How a chat user is named in the audit trail.
pub fn actor(caller: &Caller) -> String {
    format!("{} {}", caller.user, caller.name)
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
        Role::Stranger => {
            "未登记（发送 /units 查看单位ID，再发送 /bind 单位ID 申请成为联系人）".to_string()
        }
    };
    let mut out = format!("您的 {}\n身份：{what}", caller.user.label());
    if let (false, Some(chat)) = (caller.is_private_chat, &caller.chat) {
        let platform = match caller.user {
            UserId::Telegram(_) => "telegram",
            UserId::Dingtalk(_) => "dingtalk",
            UserId::Feishu(_) => "feishu",
        };
        out.push_str(&format!(
            "\n本群ID：{chat}（设为 {platform}.contacts_chat 即可在本群接收告警和通报；只接收某一单位的告警和整改通知，可在台账中把该单位的 chat 设为 \"{platform}:{chat}\"）"
        ));
    }
    out
}

/// /list [FILTER]: a platform ("微博", "weibo"), a state ("正在注销") or a
/// unit (id or name) narrows the list; contacts see only their units.
fn list(register: &Register, role: &Role, filter: Option<&str>) -> String {
    enum Filter<'a> {
        All,
        Platform(Platform),
        State(AccountState),
        Unit(&'a str),
    }
    let filter = match filter {
        None => Filter::All,
        Some(f) => {
            if let Some(p) = Platform::from_name(f) {
                Filter::Platform(p)
            } else if let Some(s) = AccountState::from_name(f) {
                Filter::State(s)
            } else {
                match register.find_unit(f) {
                    Ok(unit) => Filter::Unit(&unit.id),
                    Err(candidates) if candidates.is_empty() => {
                        return format!(
                            "「{}」既不是单位（ID 或名称，见 /units），也不是平台（如 微博、公众号）或状态（正常运维、正在注销、已注销）。",
                            quoted(f)
                        );
                    }
                    Err(candidates) => return ambiguous_unit(f, &candidates),
                }
            }
        }
    };
    let mut lines = Vec::new();
    for a in &register.accounts {
        if let Role::Contact(units) = role {
            if !units.contains(&a.unit) {
                continue;
            }
        }
        let is_shown = match filter {
            Filter::All => true,
            Filter::Platform(p) => a.platform == p,
            Filter::State(s) => a.state == s,
            Filter::Unit(u) => a.unit == u,
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
        return "没有符合条件的账号。".to_string();
    }
    format!("共 {} 个账号：\n{}", lines.len(), lines.join("\n"))
}

/// /contacts UNIT: names and (in a private chat only) phone numbers.
fn contacts(req: &Request<'_>, role: &Role) -> anyhow::Result<String> {
    let Some(target) = req.args.first() else {
        return Ok("用法：/contacts 单位ID或名称，例：/contacts 义堂镇".to_string());
    };
    let unit = match find_unit(req.register, target) {
        Ok(unit) => unit,
        Err(why) => return Ok(why),
    };
    let is_allowed = match role {
        Role::Admin => true,
        Role::Contact(units) => units.contains(&unit.id),
        Role::Stranger => false,
    };
    if !is_allowed {
        tracing::warn!(user = %req.caller.user, unit = %unit.id, "contacts refused: not a contact of this unit");
        return Ok(REFUSAL.to_string());
    }
    // Phone numbers never go into a group chat.
    if !req.caller.is_private_chat {
        return Ok(
            "联系人信息含电话号码，只在私聊中提供：请私聊本机器人发送 /contacts 单位ID。"
                .to_string(),
        );
    }
    if unit.contacts.is_empty() {
        return Ok(format!("{} 尚未登记联系人。", unit.name));
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
    Ok(format!("{} 联系人：\n{}", unit.name, lines.join("\n")))
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

pub use crate::notify::{MAX_REPLY_UTF16, split_reply};

/// Text a user wrote, as a reply quotes it: at most [`MAX_QUOTED_CHARS`]
/// characters, cut with "…", control characters dropped, so an echo is
/// never what makes a reply too long.
pub(crate) fn quoted(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    crate::parse::truncate(&clean, MAX_QUOTED_CHARS)
}

/// How much of a user's text a reply quotes.
pub(crate) const MAX_QUOTED_CHARS: usize = 40;

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
    let calendar = crate::inspection::stored_calendar(&ctx.settings, &ctx.store, now).await?;
    let report = crate::publish::load_report(&ctx.store, &calendar, kind, from, to, now).await?;
    let chat = caller.user.direct_chat();
    let message =
        crate::alerts::compose::Message::plain(&chat, &crate::reports::render::text(&report));
    let files = crate::publish::render_attachments(&report, &ctx.settings, &calendar).await?;
    ctx.store.enqueue_with_files(&message, &files, now).await?;
    Ok(format!(
        "已生成《{}》，正文、通报文档（.docx）、表格（.xlsx）与图表随后私信发送。",
        report.title
    ))
}

#[cfg(test)]
mod tests;
