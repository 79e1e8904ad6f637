//! Where messages go: the contacts' group chats and each admin, on every
//! chat platform that is configured to send (Telegram with its token, the
//! DingTalk and Feishu apps with their secrets). Alerts, reports, 整改通知 and operator notes
//! all ask here, so a new platform is added in one place.

use super::Settings;

pub use crate::domain::ChatTarget;
use crate::domain::{Channel, Mention};

/// One place a unit's messages go, and the contacts it names there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitChat {
    pub target: ChatTarget,
    /// In a group, the unit's contacts, mentioned; privately, the one
    /// person it is for (named so that, should their chat be unreachable,
    /// the message can go to the shared group mentioning them instead).
    pub mentions: Vec<Mention>,
}

impl Settings {
    /// Whether the Telegram bot can send.
    pub fn sends_telegram(&self) -> bool {
        self.telegram.token.is_some()
    }

    /// Whether the Feishu app's bot can send.
    pub fn sends_feishu(&self) -> bool {
        self.feishu.credentials().is_some()
    }

    /// Whether the DingTalk app's robot can send.
    pub fn sends_dingtalk(&self) -> bool {
        self.dingtalk.credentials().is_some()
    }

    /// Whether messages on this channel can be sent with these settings.
    pub fn sends_on(&self, channel: &Channel) -> bool {
        match channel {
            Channel::Telegram => self.sends_telegram(),
            Channel::Dingtalk => self.sends_dingtalk(),
            Channel::Feishu => self.sends_feishu(),
            Channel::Robot(name) => self.robots.contains_key(name),
            Channel::Console => true,
            Channel::Unknown(_) => false,
        }
    }

    /// Where a unit's alerts and 整改通知 go: its own group (`chat` in the
    /// register) when that chat's platform can send; else each of its
    /// contacts privately, on a platform that can send and knows them; else
    /// the shared contacts groups, naming its contacts.
    pub fn unit_chats(&self, unit: Option<&crate::registry::Unit>) -> Vec<UnitChat> {
        let everyone: Vec<Mention> = unit.map(unit_mentions).unwrap_or_default();
        if let Some(own) = unit.and_then(crate::registry::Unit::chat_target) {
            if self.sends_on(&own.channel) {
                return vec![UnitChat {
                    target: own,
                    mentions: everyone,
                }];
            }
        }
        let private: Vec<UnitChat> = unit
            .map(|u| u.contacts.as_slice())
            .unwrap_or_default()
            .iter()
            .zip(&everyone)
            .filter_map(|(contact, mention)| {
                Some(UnitChat {
                    target: self.private_chat(contact)?,
                    mentions: vec![mention.clone()],
                })
            })
            .collect();
        if !private.is_empty() {
            return private;
        }
        self.contacts_chats()
            .into_iter()
            .map(|target| UnitChat {
                target,
                mentions: everyone.clone(),
            })
            .collect()
    }

    /// Where a contact is reached privately: the first platform, DingTalk,
    /// Feishu, then Telegram, that can send and knows them.
    pub fn private_chat(&self, contact: &crate::registry::Contact) -> Option<ChatTarget> {
        if let (true, Some(staff)) = (self.sends_dingtalk(), &contact.dingtalk_id) {
            return Some(ChatTarget::new(Channel::Dingtalk, format!("user:{staff}")));
        }
        if let (true, Some(open_id)) = (self.sends_feishu(), &contact.feishu_open_id) {
            return Some(ChatTarget::new(Channel::Feishu, format!("user:{open_id}")));
        }
        match (self.sends_telegram(), contact.telegram_id) {
            (true, Some(id)) if id > 0 => Some(ChatTarget::new(Channel::Telegram, id.to_string())),
            _ => None,
        }
    }

    /// The group chats where unit contacts read every account alert and
    /// report, and can answer (group robots are not among them).
    pub fn contacts_chats(&self) -> Vec<ChatTarget> {
        let mut out = Vec::new();
        if let (true, Some(chat)) = (self.sends_telegram(), self.telegram.contacts_chat) {
            out.push(ChatTarget::new(Channel::Telegram, chat.to_string()));
        }
        if let (true, Some(chat)) = (self.sends_dingtalk(), &self.dingtalk.contacts_chat) {
            out.push(ChatTarget::new(Channel::Dingtalk, format!("group:{chat}")));
        }
        if let (true, Some(chat)) = (self.sends_feishu(), &self.feishu.contacts_chat) {
            out.push(ChatTarget::new(Channel::Feishu, format!("chat:{chat}")));
        }
        out
    }

    /// Each admin, privately, on each platform that knows them; an admin
    /// listed twice is reached once.
    pub fn admin_chats(&self) -> Vec<ChatTarget> {
        let mut out = Vec::new();
        if self.sends_telegram() {
            out.extend(
                self.telegram
                    .admins
                    .iter()
                    .map(|id| ChatTarget::new(Channel::Telegram, id.to_string())),
            );
        }
        if self.sends_dingtalk() {
            out.extend(
                self.dingtalk
                    .admins
                    .iter()
                    .map(|staff| ChatTarget::new(Channel::Dingtalk, format!("user:{staff}"))),
            );
        }
        if self.sends_feishu() {
            out.extend(
                self.feishu
                    .admins
                    .iter()
                    .map(|open_id| ChatTarget::new(Channel::Feishu, format!("user:{open_id}"))),
            );
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|chat| seen.insert(chat.clone()));
        out
    }

    /// [`Settings::admin_chats`], or the console when there are none.
    pub fn admin_chats_or_console(&self) -> Vec<ChatTarget> {
        let chats = self.admin_chats();
        if chats.is_empty() {
            vec![ChatTarget::console()]
        } else {
            chats
        }
    }
}

/// A unit's contacts, as the people a message names.
pub fn unit_mentions(unit: &crate::registry::Unit) -> Vec<Mention> {
    unit.contacts
        .iter()
        .map(|c| Mention {
            name: c.name.clone(),
            telegram_id: c.telegram_id,
            phone: c.phone.clone(),
            feishu_open_id: c.feishu_open_id.clone(),
        })
        .collect()
}
