//! Who a chat user is: a Telegram user id, a DingTalk staffId or a Feishu
//! open_id. Roles, audit entries and dialogue state are keyed by it.

use crate::registry::Contact;
use std::fmt;

/// A chat user, by the platform that knows them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserId {
    Telegram(i64),
    /// A DingTalk staffId (钉钉 userid).
    Dingtalk(String),
    /// A Feishu open_id (`ou_…`), as the bot's app sees the user.
    Feishu(String),
}

impl Default for UserId {
    fn default() -> Self {
        UserId::Telegram(0)
    }
}

impl UserId {
    /// Whether this contact is this user.
    pub fn is(&self, contact: &Contact) -> bool {
        match self {
            UserId::Telegram(id) => contact.telegram_id == Some(*id),
            UserId::Dingtalk(staff) => contact.dingtalk_id.as_deref() == Some(staff.as_str()),
            UserId::Feishu(open_id) => contact.feishu_open_id.as_deref() == Some(open_id.as_str()),
        }
    }

    /// The Telegram user id, for what only Telegram users can do (/bind).
    pub fn telegram(&self) -> Option<i64> {
        match self {
            UserId::Telegram(id) => Some(*id),
            UserId::Dingtalk(_) | UserId::Feishu(_) => None,
        }
    }

    /// "Telegram ID：123" / "钉钉 staffId：abc" / "飞书 open_id：ou_x", as users read it.
    pub fn label(&self) -> String {
        match self {
            UserId::Telegram(id) => format!("Telegram ID：{id}"),
            UserId::Dingtalk(staff) => format!("钉钉 staffId：{staff}"),
            UserId::Feishu(open_id) => format!("飞书 open_id：{open_id}"),
        }
    }

    /// The platform as users name it: "Telegram", "钉钉", "飞书".
    pub fn platform_label(&self) -> &'static str {
        match self {
            UserId::Telegram(_) => "Telegram",
            UserId::Dingtalk(_) => "钉钉",
            UserId::Feishu(_) => "飞书",
        }
    }

    /// The contact field of `accounts.toml` that holds this kind of id.
    pub fn register_field(&self) -> &'static str {
        match self {
            UserId::Telegram(_) => "telegram_id",
            UserId::Dingtalk(_) => "dingtalk_id",
            UserId::Feishu(_) => "feishu_open_id",
        }
    }
}

/// `telegram:123` / `dingtalk:abc` / `feishu:ou_x`, as logs and the audit
/// trail name them.
impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserId::Telegram(id) => write!(f, "telegram:{id}"),
            UserId::Dingtalk(staff) => write!(f, "dingtalk:{staff}"),
            UserId::Feishu(open_id) => write!(f, "feishu:{open_id}"),
        }
    }
}
