//! `[dingtalk]`: the DingTalk (钉钉) enterprise app whose robot takes commands
//! in Stream mode. The AppSecret comes only from
//! `XUNJIAN_DINGTALK_CLIENT_SECRET`.

use super::Secret;
use serde::Deserialize;
use std::fmt;

/// DingTalk's open API, where Stream connections are opened.
pub const DEFAULT_GATEWAY_URL: &str = "https://api.dingtalk.com";

/// The DingTalk app (企业内部应用) whose robot answers commands.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DingtalkSettings {
    /// The app's Client ID (AppKey).
    pub client_id: Option<String>,
    /// staffIds (钉钉 userid) of the admins.
    pub admins: Vec<String>,
    /// Where Stream connections are opened; tests point it at a fake.
    pub gateway_url: String,
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
}

impl fmt::Debug for DingtalkSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DingtalkSettings")
            .field("client_id", &self.client_id)
            .field("admins", &self.admins)
            .field("gateway_url", &self.gateway_url)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}
