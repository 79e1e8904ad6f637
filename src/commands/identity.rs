//! Who a chat user is: a Telegram user id, a DingTalk staffId or a Feishu
//! open_id. Roles, audit entries and dialogue state are keyed by it.

use crate::domain::{Channel, ChatTarget};
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

    /// Where a private message to this user goes.
    pub fn direct_chat(&self) -> ChatTarget {
        match self {
            UserId::Telegram(id) => ChatTarget::new(Channel::Telegram, id.to_string()),
            UserId::Dingtalk(staff) => ChatTarget::new(Channel::Dingtalk, format!("user:{staff}")),
            UserId::Feishu(open_id) => ChatTarget::new(Channel::Feishu, format!("user:{open_id}")),
        }
    }

    /// This user as a new contact named `name`.
    pub fn contact(&self, name: &str) -> Contact {
        let mut contact = Contact {
            name: name.to_string(),
            telegram_id: None,
            dingtalk_id: None,
            feishu_open_id: None,
            phone: None,
        };
        match self {
            UserId::Telegram(id) => contact.telegram_id = Some(*id),
            UserId::Dingtalk(staff) => contact.dingtalk_id = Some(staff.clone()),
            UserId::Feishu(open_id) => contact.feishu_open_id = Some(open_id.clone()),
        }
        contact
    }

    /// Reads what [`fmt::Display`] wrote (`telegram:123`, `dingtalk:abc`,
    /// `feishu:ou_x`).
    pub fn parse(text: &str) -> Option<UserId> {
        let (platform, id) = text.split_once(':')?;
        match platform {
            "telegram" => id.parse().ok().map(UserId::Telegram),
            "dingtalk" if !id.is_empty() => Some(UserId::Dingtalk(id.to_string())),
            "feishu" if !id.is_empty() => Some(UserId::Feishu(id.to_string())),
            _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_id_reads_back_what_it_writes_and_nothing_else() {
        for user in [
            UserId::Telegram(-42),
            UserId::Telegram(7),
            UserId::Dingtalk("manager4081".into()),
            UserId::Dingtalk("0123:x".into()),
            UserId::Feishu("ou_7d8a6e6df7621556ce0d21922b676706ccs".into()),
        ] {
            assert_eq!(UserId::parse(&user.to_string()), Some(user));
        }
        for text in [
            "",
            "telegram:",
            "telegram:x",
            "dingtalk:",
            "feishu:",
            "wechat:1",
            "7",
        ] {
            assert_eq!(UserId::parse(text), None, "{text}");
        }
    }

    #[test]
    fn a_new_contact_is_known_by_the_id_of_the_chat_they_came_from() {
        let contact = UserId::Dingtalk("staff1".into()).contact("王敏");
        assert_eq!(contact.dingtalk_id.as_deref(), Some("staff1"));
        assert_eq!(contact.telegram_id, None);
        assert!(UserId::Dingtalk("staff1".into()).is(&contact));
        assert_eq!(UserId::Telegram(5).contact("李强").telegram_id, Some(5));
    }
}
