//! `[dingtalk]`: the DingTalk (钉钉) enterprise app whose robot takes commands
//! in Stream mode. The AppSecret comes only from
//! `XUNJIAN_DINGTALK_CLIENT_SECRET`.

use super::Secret;
use serde::Deserialize;
use std::fmt;

/// DingTalk's open API, where Stream connections are opened.
pub const DEFAULT_GATEWAY_URL: &str = "https://api.dingtalk.com";
/// Where the robot's files are uploaded (DingTalk's older API host).
pub const DEFAULT_OAPI_URL: &str = "https://oapi.dingtalk.com";

/// The DingTalk app (企业内部应用) whose robot answers commands.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DingtalkSettings {
    /// The app's Client ID (AppKey).
    pub client_id: Option<String>,
    /// staffIds (钉钉 userid) of the admins.
    pub admins: Vec<String>,
    /// Where Stream connections are opened and messages are sent; tests
    /// point it at a fake.
    pub gateway_url: String,
    /// DingTalk's older API, where the robot's files are uploaded first.
    pub oapi_url: String,
    /// The group (its openConversationId, `cid…`) that receives every
    /// account alert and report through the app's robot, like the Telegram
    /// contacts chat. `/whoami` in the group shows it.
    pub contacts_chat: Option<String>,
    /// The robot's code (robotCode) for sending; the Client ID when unset,
    /// which is what DingTalk gives an enterprise app's robot.
    pub robot_code: Option<String>,
    /// The app's Client Secret (AppSecret), from the environment only.
    #[serde(skip)]
    pub client_secret: Option<Secret>,
}

impl Default for DingtalkSettings {
    fn default() -> Self {
        DingtalkSettings {
            client_id: None,
            admins: Vec::new(),
            gateway_url: DEFAULT_GATEWAY_URL.to_string(),
            oapi_url: DEFAULT_OAPI_URL.to_string(),
            contacts_chat: None,
            robot_code: None,
            client_secret: None,
        }
    }
}

impl DingtalkSettings {
    /// The app id and secret, when both are set: only then does the bot run.
    pub fn credentials(&self) -> Option<(&str, &Secret)> {
        let id = self
            .client_id
            .as_deref()
            .filter(|id| !id.trim().is_empty())?;
        Some((id, self.client_secret.as_ref()?))
    }

    /// The robotCode messages are sent with.
    pub fn robot_code(&self) -> Option<&str> {
        self.robot_code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .or(self.client_id.as_deref())
    }

    /// Settings problems, as "dingtalk.KEY: why".
    pub fn check(&self) -> Result<(), String> {
        let is_id = |s: &str| {
            !s.is_empty()
                && s.len() <= 128
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        if let Some(chat) = &self.contacts_chat {
            if !is_id(chat) {
                return Err(format!(
                    "dingtalk.contacts_chat: expected a group's openConversationId (like \"cid…\", no spaces), got \"{chat}\""
                ));
            }
        }
        for admin in &self.admins {
            if !is_id(admin) {
                return Err(format!(
                    "dingtalk.admins: expected staffIds (no spaces), got \"{admin}\""
                ));
            }
        }
        crate::registry::load::check_url(&self.gateway_url).map_err(|why| {
            format!(
                "dingtalk.gateway_url: invalid URL \"{}\": {why}",
                self.gateway_url
            )
        })?;
        crate::registry::load::check_url(&self.oapi_url).map_err(|why| {
            format!(
                "dingtalk.oapi_url: invalid URL \"{}\": {why}",
                self.oapi_url
            )
        })?;
        Ok(())
    }
}

impl fmt::Debug for DingtalkSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DingtalkSettings")
            .field("client_id", &self.client_id)
            .field("admins", &self.admins)
            .field("gateway_url", &self.gateway_url)
            .field("oapi_url", &self.oapi_url)
            .field("contacts_chat", &self.contacts_chat)
            .field("robot_code", &self.robot_code)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}
