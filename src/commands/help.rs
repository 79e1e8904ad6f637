//! The command table (who may use what, with an example), and the texts
//! that guide a newcomer: /help per role, /start, /units and the hint for a
//! message that is not a command.

use super::{Caller, Role};
use crate::registry::Register;
use std::fmt::Write as _;

/// Who may use a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// Unit contacts (for their own units) and admins.
    Contact,
    Admin,
}

impl Access {
    /// Whether `role` may use a command with this access.
    pub fn allows(self, role: &Role) -> bool {
        matches!(
            (self, role),
            (Access::Anyone, _) | (_, Role::Admin) | (Access::Contact, Role::Contact(_))
        )
    }
}

/// What a chat command does: the one parsed form every chat front-end
/// (Telegram, DingTalk, Feishu) hands to the same handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Help,
    Start,
    Whoami,
    Units,
    Bind,
    List,
    Status,
    Ack,
    Contacts,
    Rectify,
    Rectification,
    Register,
    Closing,
    Deregister,
    Reactivate,
    Snooze,
    Approve,
    Refuse,
    History,
    Report,
    Issue,
    Cancel,
    Dismiss,
    Tasks,
    Login,
}

/// One chat command: its name, what it does, an example, who may use it.
#[derive(Debug, Clone, Copy)]
pub struct CommandInfo {
    pub command: Command,
    pub name: &'static str,
    /// Other names it answers to (`/整改` for `/rectify`).
    pub aliases: &'static [&'static str],
    pub about: &'static str,
    pub example: &'static str,
    pub access: Access,
}

const fn command(
    command: Command,
    name: &'static str,
    aliases: &'static [&'static str],
    about: &'static str,
    example: &'static str,
    access: Access,
) -> CommandInfo {
    CommandInfo {
        command,
        name,
        aliases,
        about,
        example,
        access,
    }
}

/// Every command, in the order /help lists them and `set_my_commands`
/// registers them. Dispatch refuses a command whose access the caller lacks,
/// so /help lists exactly what the caller may use.
pub const COMMANDS: [CommandInfo; 25] = [
    command(
        Command::Help,
        "help",
        &["帮助"],
        "帮助",
        "/help",
        Access::Anyone,
    ),
    command(
        Command::Start,
        "start",
        &["开始"],
        "开始使用",
        "/start",
        Access::Anyone,
    ),
    command(
        Command::Whoami,
        "whoami",
        &["我是谁"],
        "我的身份",
        "/whoami",
        Access::Anyone,
    ),
    command(
        Command::Units,
        "units",
        &["单位"],
        "单位列表（含单位ID）",
        "/units",
        Access::Anyone,
    ),
    command(
        Command::Bind,
        "bind",
        &["绑定"],
        "申请成为单位联系人 单位ID或名称 [姓名]",
        "/bind 义堂镇 张新",
        Access::Anyone,
    ),
    command(
        Command::List,
        "list",
        &["列表"],
        "账号列表 [单位|平台|状态]",
        "/list 微博",
        Access::Contact,
    ),
    command(
        Command::Status,
        "status",
        &["状态"],
        "账号状态 账号ID|告警号",
        "/status yitang-weibo",
        Access::Contact,
    ),
    command(
        Command::Ack,
        "ack",
        &["确认"],
        "确认告警 告警号|账号ID",
        "/ack 7",
        Access::Contact,
    ),
    command(
        Command::Contacts,
        "contacts",
        &["联系人"],
        "单位联系人 单位ID或名称",
        "/contacts 义堂镇",
        Access::Contact,
    ),
    command(
        Command::Rectify,
        "rectify",
        &["整改"],
        "整改反馈 账号 整改说明",
        "/rectify yitang-weibo 已恢复每周更新",
        Access::Contact,
    ),
    command(
        Command::Rectification,
        "rectification",
        &["整改事项"],
        "整改事项 [单位ID]",
        "/rectification",
        Access::Contact,
    ),
    command(
        Command::Register,
        "register",
        &["登记"],
        "登记账号 平台 代理:路由|URL 名称 单位（缺参数时按步骤引导）",
        "/register 微博 rsshub:/weibo/user/1234567 义堂发布 义堂镇",
        Access::Admin,
    ),
    command(
        Command::Closing,
        "closing",
        &["拟关停"],
        "标记拟关停 账号ID",
        "/closing yitang-weibo",
        Access::Admin,
    ),
    command(
        Command::Deregister,
        "deregister",
        &["注销"],
        "注销备案 账号ID 日期 文号",
        "/deregister yitang-weibo 2026-11-01 临兰政办字〔2026〕9号",
        Access::Admin,
    ),
    command(
        Command::Reactivate,
        "reactivate",
        &["恢复"],
        "恢复正常运维 账号ID",
        "/reactivate yitang-weibo",
        Access::Admin,
    ),
    command(
        Command::Dismiss,
        "dismiss",
        &["误报"],
        "标记误报 错敏信息编号 [理由]",
        "/dismiss 12 引用的是历史文献",
        Access::Admin,
    ),
    command(
        Command::Tasks,
        "tasks",
        &["转载任务"],
        "转载任务 [新增 截止日期 标题|关闭 编号]",
        "/tasks 新增 2026-12-10 关于做好冬季防火工作的通知",
        Access::Admin,
    ),
    command(
        Command::Login,
        "login",
        &["登录"],
        "网页工作台的一次性登录链接（私信发送）",
        "/login",
        Access::Contact,
    ),
    command(
        Command::Snooze,
        "snooze",
        &["暂缓"],
        "暂停提醒 告警号|账号ID 时长(如3天；联系人最长7天)",
        "/snooze 7 3天",
        Access::Contact,
    ),
    command(
        Command::Approve,
        "approve",
        &["批准"],
        "批准联系人申请 申请号",
        "/approve 1",
        Access::Admin,
    ),
    command(
        Command::Refuse,
        "refuse",
        &["拒绝"],
        "拒绝联系人申请 申请号 [理由]",
        "/refuse 1 非本单位人员",
        Access::Admin,
    ),
    command(
        Command::History,
        "history",
        &["历史"],
        "台账变更记录 账号ID|单位ID [起始日期]",
        "/history yitang-weibo 2026-10-01",
        Access::Admin,
    ),
    command(
        Command::Report,
        "report",
        &["通报"],
        "生成通报 类型(weekly|monthly|quarterly|scoring) [期间]",
        "/report monthly 2026-10",
        Access::Admin,
    ),
    command(
        Command::Issue,
        "issue",
        &["下发"],
        "下发通报并通知整改 monthly|quarterly [期间]",
        "/issue monthly 2026-10",
        Access::Admin,
    ),
    command(
        Command::Cancel,
        "cancel",
        &["取消"],
        "取消正在进行的登记步骤",
        "/cancel",
        Access::Admin,
    ),
];

/// The command of this name or alias (`整改` is `rectify`).
pub fn find(name: &str) -> Option<&'static CommandInfo> {
    COMMANDS
        .iter()
        .find(|c| c.name == name || c.aliases.contains(&name))
}

/// A command message as the handler takes it: which command, its arguments.
#[derive(Debug, Clone)]
pub struct Parsed<'t> {
    pub info: &'static CommandInfo,
    pub args: Vec<&'t str>,
}

/// Reads `/name[@bot] arg …`; `Err` carries the name that is no command.
pub fn parse(text: &str) -> Result<Parsed<'_>, String> {
    let text = text.trim();
    let (head, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let name = head
        .trim_start_matches('/')
        .split('@')
        .next()
        .unwrap_or("")
        .to_lowercase();
    let info = find(&name).ok_or(name)?;
    Ok(Parsed {
        info,
        args: args.split_whitespace().collect(),
    })
}

/// /help: the commands this role may use, one example each.
pub fn help(role: &Role) -> String {
    let mut out = String::from("xunjian 政务新媒体巡检机器人，您可使用的命令：\n");
    for c in COMMANDS.iter().filter(|c| c.access.allows(role)) {
        let _ = write!(
            out,
            "\n/{}（/{}）— {}\n  例：{}",
            c.aliases.first().copied().unwrap_or(c.name),
            c.name,
            c.about,
            c.example
        );
    }
    if *role == Role::Stranger {
        out.push_str("\n\n成为单位联系人后可查看和确认本单位的告警：先发送 /units 查到单位ID，再发送 /bind 单位ID。");
    }
    out
}

/// /start: a greeting that says what the bot does and how to be bound.
pub fn start(caller: &Caller, role: &Role, register: &Register) -> String {
    let mut out = String::from(
        "您好！我是政务新媒体巡检机器人：定期检查各单位的政务账号是否按时更新，\
         发现问题时在联系人群里提醒，并由联系人确认和反馈整改。\n\n",
    );
    match role {
        Role::Admin => out.push_str("您是管理员，可以登记、注销账号，批准联系人申请，生成通报。"),
        Role::Contact(units) => {
            let names: Vec<&str> = units
                .iter()
                .filter_map(|u| register.unit(u).map(|u| u.name.as_str()))
                .collect();
            let _ = write!(
                out,
                "您是{}的联系人：可发送 /list 查看本单位账号，/ack 告警号 确认告警，/rectify 反馈整改。",
                names.join("、")
            );
        }
        Role::Stranger => {
            let _ = write!(
                out,
                "您尚未绑定单位。绑定方法：\n1. 发送 /units 查看单位及其ID；\n2. 发送 /bind 单位ID（或单位名称），如 /bind 义堂镇；\n3. 管理员批准后，您会收到通知，之后可查看和确认本单位的告警。\n（您的 {}）",
                caller.user.label()
            );
        }
    }
    out.push_str("\n\n发送 /help 查看您可用的全部命令和示例。");
    out
}

/// /units: every unit with its id and kind, so a newcomer can /bind.
pub fn units(register: &Register) -> String {
    if register.units.is_empty() {
        return "台账中还没有单位，请联系管理员。".to_string();
    }
    let mut out = format!("共 {} 个单位（单位ID 单位名称）：\n", register.units.len());
    for unit in &register.units {
        let _ = writeln!(out, "{} {}（{}）", unit.id, unit.name, unit.kind.label());
    }
    out.push_str("申请成为联系人：/bind 单位ID");
    out
}

/// The answer to a stranger's text: what the bot is and how to be bound.
pub const STRANGER_HINT: &str = "您好！我是政务新媒体巡检机器人，只接受命令。如您是单位的政务新媒体联系人：先发送 /单位 查看单位，再发送 /绑定 单位名称 您的姓名 申请，管理员批准后即可在这里查看和确认本单位的告警。其他问题请联系本地政务公开办（管理员）。";

/// The answer to text that is not a command.
pub const FREE_TEXT_HINT: &str =
    "我只接受命令，例如 /help 查看可用命令，/start 了解如何绑定单位，/units 查看单位ID。";
