//! Hiding the configured secrets (robot webhooks and signing secrets, the
//! Telegram token, the DingTalk and Feishu app secrets, proxy query values, passwords) in any text that is
//! logged, stored or shown in the chat.

use super::Settings;
use std::fmt;

/// What a hidden secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Shorter values are not secrets worth hiding (and would mangle ordinary text).
const MIN_SECRET_CHARS: usize = 4;

/// A path segment of a webhook this long is taken as a token (Feishu's hook id).
const MIN_TOKEN_SEGMENT_CHARS: usize = 16;

/// Replaces every configured secret in a text with [`REDACTED`].
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is hidden whole.
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Every secret the settings hold.
    pub fn from_settings(settings: &Settings) -> Redactor {
        let mut redactor = Redactor::default();
        if let Some(token) = &settings.telegram.token {
            redactor.add(token.expose());
        }
        if let Some(password) = &settings.database.password {
            redactor.add(password.expose());
        }
        if let Some(secret) = &settings.dingtalk.client_secret {
            redactor.add(secret.expose());
        }
        if let Some(secret) = &settings.feishu.app_secret {
            redactor.add(secret.expose());
        }
        redactor.add_url(&settings.database.url, false);
        if let Some(proxy) = &settings.telegram.proxy {
            redactor.add_url(proxy, false);
        }
        for robot in settings.robots.values() {
            if let Some(webhook) = &robot.webhook {
                redactor.add(webhook.expose());
                redactor.add_url(webhook.expose(), true);
            }
            if let Some(secret) = &robot.secret {
                redactor.add(secret.expose());
            }
        }
        for proxy in settings.proxies.values() {
            redactor.add_url(&proxy.url, false);
            for value in proxy.query.values() {
                redactor.add(value);
            }
        }
        redactor
            .secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        redactor.secrets.dedup();
        redactor
    }

    /// A secret as written and as it appears percent-encoded in a URL.
    fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        if encoded != secret {
            self.secrets.push(encoded.replace('+', "%20"));
            self.secrets.push(encoded);
        }
        self.secrets.push(secret.to_string());
    }

    /// The secret parts of a URL: password, query values and, for a
    /// webhook, token-like path segments.
    fn add_url(&mut self, text: &str, has_path_tokens: bool) {
        let Ok(url) = url::Url::parse(text) else {
            return;
        };
        if let Some(password) = url.password() {
            self.add(password);
        }
        let values: Vec<String> = url.query_pairs().map(|(_, v)| v.into_owned()).collect();
        for value in values {
            self.add(&value);
        }
        let tokens: Vec<String> = url
            .path_segments()
            .into_iter()
            .flatten()
            .filter(|_| has_path_tokens)
            .filter(|s| s.chars().count() >= MIN_TOKEN_SEGMENT_CHARS)
            .map(str::to_owned)
            .collect();
        for token in tokens {
            self.add(&token);
        }
    }

    /// The text with every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }
}

/// A URL as it may be logged: scheme, host, port and path; no user,
/// password, query or fragment.
pub fn loggable_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn settings() -> Settings {
        let mut settings = Settings::parse(
            "test",
            "[proxies.rsshub]\nurl = \"http://127.0.0.1:1200\"\nquery = { key = \"proxy-key-123\" }\n\
             [robots.office]\nkind = \"feishu\"\n[robots.dept]\nkind = \"dingtalk\"\n",
        )
        .expect("settings parse");
        settings.telegram.token = Some(Secret::new("123456:telegram-token-value"));
        if let Some(robot) = settings.robots.get_mut("office") {
            robot.webhook = Some(Secret::new(
                "https://open.feishu.cn/open-apis/bot/v2/hook/2f6c1a4e-hook-id-0000",
            ));
            robot.secret = Some(Secret::new("feishu+sign/secret="));
        }
        if let Some(robot) = settings.robots.get_mut("dept") {
            robot.webhook = Some(Secret::new(
                "https://oapi.dingtalk.com/robot/send?access_token=ding-access-token-abc",
            ));
        }
        settings
    }

    #[test]
    fn every_configured_secret_is_hidden_however_it_is_written() {
        let redactor = Redactor::from_settings(&settings());
        let text = "error sending request for url (https://open.feishu.cn/open-apis/bot/v2/hook/2f6c1a4e-hook-id-0000): \
                    2f6c1a4e-hook-id-0000 access_token=ding-access-token-abc key=proxy-key-123 \
                    bot123456:telegram-token-value/sendMessage feishu%2Bsign%2Fsecret%3D feishu+sign/secret=";
        let redacted = redactor.redact(text);
        for secret in [
            "2f6c1a4e-hook-id-0000",
            "ding-access-token-abc",
            "proxy-key-123",
            "telegram-token-value",
            "feishu%2Bsign",
            "feishu+sign",
        ] {
            assert!(!redacted.contains(secret), "{secret} in {redacted}");
        }
        assert!(
            redacted.starts_with(
                "error sending request for url ([redacted]): [redacted] access_token=[redacted]"
            ),
            "{redacted}"
        );
        assert_eq!(
            redactor.redact("兰山发布 已 187 天未更新"),
            "兰山发布 已 187 天未更新"
        );
        assert!(!format!("{redactor:?}").contains("proxy-key"));
    }

    #[test]
    fn settings_debug_output_holds_no_proxy_key() {
        let shown = format!("{:?}", settings());
        assert!(!shown.contains("proxy-key-123"), "{shown}");
        assert!(shown.contains("query_keys: [\"key\"]"), "{shown}");
    }

    #[test]
    fn a_loggable_url_has_no_credentials_or_query() {
        let url = url::Url::parse("https://u:p@rss.example.gov.cn:8443/weibo/user/1?key=k#f")
            .expect("url");
        assert_eq!(
            loggable_url(&url),
            "https://rss.example.gov.cn:8443/weibo/user/1"
        );
    }
}
