//! Where messages go: the contacts' group chats and each admin, on every
//! chat platform that is configured to send (Telegram with its token, the
//! DingTalk and Feishu apps with their secrets). Alerts, reports, 整改通知 and operator notes
//! all ask here, so a new platform is added in one place.

use super::Settings;

use crate::domain::Channel;
pub use crate::domain::ChatTarget;

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
    /// register) when that chat's platform can send, else the shared
    /// contacts groups.
    pub fn unit_chats(&self, unit: Option<&crate::registry::Unit>) -> Vec<ChatTarget> {
        match unit.and_then(crate::registry::Unit::chat_target) {
            Some(own) if self.sends_on(&own.channel) => vec![own],
            _ => self.contacts_chats(),
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
