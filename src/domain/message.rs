//! Messages and where they go: the outbox channel, a recipient on it, the
//! people a message names.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The way a message leaves: a chat platform's bot, a group robot, or the
/// console. Stored in the outbox as its [`Channel::key`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// The Telegram bot; the recipient is a chat id.
    Telegram,
    /// The DingTalk app's robot; `group:cid…` or `user:staffId`.
    Dingtalk,
    /// The Feishu app's bot; `chat:oc_…` or `user:ou_…`.
    Feishu,
    /// A group robot from `[robots.NAME]`; the recipient is `-`.
    Robot(String),
    /// Standard output: where messages go when no chat is configured.
    Console,
    /// A key this version does not know (a row written by a newer one).
    Unknown(String),
}

impl Channel {
    /// Reads a stored key: `telegram`, `dingtalk`, `feishu`, `robot:NAME`,
    /// `console`; anything else is kept as [`Channel::Unknown`].
    pub fn from_key(key: &str) -> Channel {
        match key {
            "telegram" => Channel::Telegram,
            "dingtalk" => Channel::Dingtalk,
            "feishu" => Channel::Feishu,
            "console" => Channel::Console,
            _ => match key.strip_prefix("robot:") {
                Some(name) if !name.is_empty() => Channel::Robot(name.to_string()),
                _ => Channel::Unknown(key.to_string()),
            },
        }
    }

    /// The stored form, the inverse of [`Channel::from_key`].
    pub fn key(&self) -> String {
        self.to_string()
    }

    /// The DingTalk and Feishu apps' bots: people can answer them.
    pub fn is_app_bot(&self) -> bool {
        matches!(self, Channel::Dingtalk | Channel::Feishu)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Telegram => f.write_str("telegram"),
            Channel::Dingtalk => f.write_str("dingtalk"),
            Channel::Feishu => f.write_str("feishu"),
            Channel::Robot(name) => write!(f, "robot:{name}"),
            Channel::Console => f.write_str("console"),
            Channel::Unknown(key) => f.write_str(key),
        }
    }
}

/// One place a message can go: an outbox channel and a recipient on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChatTarget {
    pub channel: Channel,
    /// A Telegram chat id; `group:cid…` or `user:staffId` on DingTalk;
    /// `chat:oc_…` or `user:ou_…` on Feishu; `-`.
    pub recipient: String,
}

impl ChatTarget {
    pub fn new(channel: Channel, recipient: impl Into<String>) -> ChatTarget {
        ChatTarget {
            channel,
            recipient: recipient.into(),
        }
    }

    /// The console: where messages go when no chat is configured.
    pub fn console() -> ChatTarget {
        ChatTarget::new(Channel::Console, "-")
    }

    /// A group robot from `[robots.NAME]`.
    pub fn robot(name: &str) -> ChatTarget {
        ChatTarget::new(Channel::Robot(name.to_string()), "-")
    }

    /// `channel:recipient`, the key a channel's broken state is kept under.
    pub fn key(&self) -> String {
        format!("{}:{}", self.channel, self.recipient)
    }

    /// One person's private chat with a bot (a Telegram user id, a DingTalk
    /// staffId, a Feishu open_id), not a group.
    pub fn is_private(&self) -> bool {
        match self.channel {
            Channel::Telegram => self.recipient.parse::<i64>().is_ok_and(|id| id > 0),
            Channel::Dingtalk | Channel::Feishu => self.recipient.starts_with("user:"),
            _ => false,
        }
    }

    /// A group of the DingTalk or Feishu app: its bot hears only when
    /// @-mentioned there.
    pub fn is_app_group(&self) -> bool {
        match self.channel {
            Channel::Dingtalk => self.recipient.starts_with("group:"),
            Channel::Feishu => self.recipient.starts_with("chat:"),
            _ => false,
        }
    }
}

/// A person to mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    pub name: String,
    pub telegram_id: Option<i64>,
    pub phone: Option<String>,
    /// Feishu messages @-mention the contact by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feishu_open_id: Option<String>,
}

/// One message to send: plain text plus the people it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: Channel,
    /// See [`ChatTarget::recipient`].
    pub recipient: String,
    pub body: String,
    pub mentions: Vec<Mention>,
    /// Contains an urgent rule: not held back by quiet hours.
    pub is_urgent: bool,
}

impl Message {
    /// A message outside the alert lifecycle (replies, reports, operator notes):
    /// no mentions, sent at once.
    pub fn plain(to: &ChatTarget, body: &str) -> Message {
        Message {
            channel: to.channel.clone(),
            recipient: to.recipient.clone(),
            body: body.into(),
            mentions: Vec::new(),
            is_urgent: true,
        }
    }

    /// Where it goes.
    pub fn target(&self) -> ChatTarget {
        ChatTarget::new(self.channel.clone(), self.recipient.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_reads_back_from_its_key() {
        for channel in [
            Channel::Telegram,
            Channel::Dingtalk,
            Channel::Feishu,
            Channel::Robot("office".into()),
            Channel::Console,
            Channel::Unknown("wechat".into()),
        ] {
            assert_eq!(Channel::from_key(&channel.key()), channel);
        }
        assert_eq!(
            Channel::from_key("robot:"),
            Channel::Unknown("robot:".into())
        );
    }

    #[test]
    fn only_app_groups_need_the_bot_mentioned() {
        assert!(ChatTarget::new(Channel::Dingtalk, "group:cid1").is_app_group());
        assert!(ChatTarget::new(Channel::Feishu, "chat:oc_1").is_app_group());
        assert!(!ChatTarget::new(Channel::Feishu, "user:ou_1").is_app_group());
        assert!(!ChatTarget::new(Channel::Telegram, "-100").is_app_group());
        assert!(!ChatTarget::robot("office").is_app_group());
    }
}
