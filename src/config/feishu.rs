//! `[feishu]`: the Feishu (飞书) 企业自建应用 whose bot takes commands over
//! the long connection (长连接). The App Secret comes only from
//! `XUNJIAN_FEISHU_APP_SECRET`.

use super::Secret;
use serde::Deserialize;
use std::fmt;

/// Feishu's open platform, where the long connection is opened and messages sent.
pub const DEFAULT_BASE_URL: &str = "https://open.feishu.cn";

/// The Feishu app whose bot answers commands.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeishuSettings {
    /// The app's App ID (`cli_…`).
    pub app_id: Option<String>,
    /// open_ids (`ou_…`) of the admins.
    pub admins: Vec<String>,
    /// The open platform; tests point it at a fake.
    pub base_url: String,
    /// The group (its chat_id, `oc_…`; `/whoami` in the group shows it)
    /// that receives every account alert and report text through the bot,
    /// like the Telegram contacts chat.
    pub contacts_chat: Option<String>,
    /// The app's App Secret, from the environment only.
    #[serde(skip)]
    pub app_secret: Option<Secret>,
    /// Whether the file tried to set `app_secret` (refused by validation,
    /// which names the environment variable instead). The value is dropped.
    #[serde(rename = "app_secret", deserialize_with = "present")]
    pub(super) has_secret_in_file: bool,
}

impl Default for FeishuSettings {
    fn default() -> Self {
        FeishuSettings {
            app_id: None,
            admins: Vec::new(),
            base_url: DEFAULT_BASE_URL.to_string(),
            contacts_chat: None,
            app_secret: None,
            has_secret_in_file: false,
        }
    }
}

impl FeishuSettings {
    /// The app id and secret, when both are set: only then does the bot run.
    pub fn credentials(&self) -> Option<(&str, &Secret)> {
        let id = self.app_id.as_deref().filter(|id| !id.trim().is_empty())?;
        Some((id, self.app_secret.as_ref()?))
    }

    /// The section's mistakes, each naming its key.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.has_secret_in_file {
            return Err(
                "feishu.app_secret: 飞书 App Secret 不能写在配置文件中，请改用环境变量 XUNJIAN_FEISHU_APP_SECRET (the secret is read from the environment only)"
                    .to_string(),
            );
        }
        if let Some(chat) = &self.contacts_chat {
            let is_chat_id = chat.starts_with("oc_")
                && chat.len() > 3
                && chat.chars().count() <= 64
                && !chat.chars().any(|c| c.is_whitespace() || c.is_control());
            if !is_chat_id {
                return Err(format!(
                    "feishu.contacts_chat: expected a Feishu group chat_id (oc_…, no spaces), got {chat:?}"
                ));
            }
        }
        for (i, admin) in self.admins.iter().enumerate() {
            if !is_open_id(admin) {
                return Err(format!(
                    "feishu.admins[{i}]: expected a Feishu open_id (ou_ then letters, digits, _ or -; up to 64 characters), got {admin:?}"
                ));
            }
        }
        match url::Url::parse(&self.base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
            _ => Err(format!(
                "feishu.base_url: expected an http(s) URL, got {:?}",
                self.base_url
            )),
        }
    }
}

pub use crate::domain::is_open_id;

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

impl fmt::Debug for FeishuSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeishuSettings")
            .field("app_id", &self.app_id)
            .field("admins", &self.admins)
            .field("base_url", &self.base_url)
            .field("contacts_chat", &self.contacts_chat)
            .field("app_secret", &self.app_secret)
            .finish()
    }
}
