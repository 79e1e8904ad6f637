//! Who a chat user is: a Telegram user id or a DingTalk staffId. Roles,
//! audit entries and dialogue state are keyed by it.

use crate::registry::Contact;
use std::fmt;

/// A chat user, by the platform that knows them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserId {
    Telegram(i64),
    /// A DingTalk staffId (钉钉 userid).
    Dingtalk(String),
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
        }
    }

    /// The Telegram user id, for what only Telegram users can do (/bind).
    pub fn telegram(&self) -> Option<i64> {
        match self {
            UserId::Telegram(id) => Some(*id),
            UserId::Dingtalk(_) => None,
        }
    }

    /// "Telegram ID：123" / "钉钉 staffId：abc", as users read it.
    pub fn label(&self) -> String {
        match self {
            UserId::Telegram(id) => format!("Telegram ID：{id}"),
            UserId::Dingtalk(staff) => format!("钉钉 staffId：{staff}"),
        }
    }
}

/// `telegram:123` / `dingtalk:abc`, as logs and the audit trail name them.
impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserId::Telegram(id) => write!(f, "telegram:{id}"),
            UserId::Dingtalk(staff) => write!(f, "dingtalk:{staff}"),
        }
    }
}
