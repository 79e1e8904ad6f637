//! Settings: `xunjian.toml` (optional) overlaid with `XUNJIAN_*` environment
//! variables. Secrets come only from the environment and never print.
//!
//! In: a file path and an environment lookup. Out: [`Settings`].

mod chats;
mod content;
mod dingtalk;
mod feishu;
mod redact;
mod sections;

pub use chats::{ChatTarget, UnitChat, unit_mentions};
pub use content::{ContentSettings, Person};
pub use dingtalk::{DEFAULT_GATEWAY_URL as DEFAULT_DINGTALK_GATEWAY_URL, DingtalkSettings};
pub use feishu::{DEFAULT_BASE_URL as DEFAULT_FEISHU_BASE_URL, FeishuSettings, is_open_id};
/// Where Debian's `fonts-wqy-microhei` puts its font (the Docker image ships it).
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

pub use redact::{REDACTED, Redactor, loggable_url};

pub use sections::{
    AlertSettings, CalendarSettings, CommandSettings, DEADLINE_PLACEHOLDER, DatabaseSettings,
    InspectionSettings, OfficeSettings, PollSettings, ProxySettings, ReportSettings, RobotSettings,
    RuleSettings, ServerSettings, TelegramSettings,
};

use crate::registry::Platform;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value; `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A settings file or environment problem, naming where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("无法读取设置文件 {path}：{source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `message` names the file itself when the text did not parse.
    #[error("{message}")]
    Invalid { path: String, message: String },
}

/// Everything the program can be configured with.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub proxies: BTreeMap<String, ProxySettings>,
    pub poll: PollSettings,
    pub rules: RuleSettings,
    pub calendar: CalendarSettings,
    pub inspection: InspectionSettings,
    pub alerts: AlertSettings,
    pub telegram: TelegramSettings,
    pub dingtalk: DingtalkSettings,
    pub feishu: FeishuSettings,
    pub robots: BTreeMap<String, RobotSettings>,
    pub commands: CommandSettings,
    pub reports: ReportSettings,
    pub office: OfficeSettings,
    pub server: ServerSettings,
    pub content: ContentSettings,
}

/// The URL with any password replaced, for logs.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("redacted"));
            url.to_string()
        }
        Ok(_) => text.to_string(),
        Err(_) => "<unparsable url>".to_string(),
    }
}

impl Settings {
    /// Loads `path` (or `./xunjian.toml` when present), then applies the environment.
    pub fn load(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let default_path = Path::new("xunjian.toml");
        let path = path.or_else(|| default_path.exists().then_some(default_path));
        let (mut settings, origin) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let origin = path.display().to_string();
                (Self::parse(&origin, &text)?, origin)
            }
            None => (Settings::default(), "defaults".to_string()),
        };
        settings.apply_env(env);
        settings.validate(&origin)?;
        Ok(settings)
    }

    /// Parses settings text; `origin` names the file in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Settings, ConfigError> {
        toml::from_str(text).map_err(|err: toml::de::Error| ConfigError::Invalid {
            path: origin.to_string(),
            message: one_line(&crate::domain::toml_error::explain(origin, text, &err)),
        })
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        if let Some(url) = env("XUNJIAN_DATABASE_URL") {
            self.database.url = url;
        }
        if let Some(listen) = env("XUNJIAN_SERVER_LISTEN") {
            self.server.listen = listen;
        }
        if let Some(url) = env("XUNJIAN_PUBLIC_URL") {
            self.server.public_url = url;
        }
        self.database.password = env("XUNJIAN_DATABASE_PASSWORD").map(Secret::new);
        self.telegram.token = env("XUNJIAN_TELEGRAM_TOKEN").map(Secret::new);
        if let Some(url) = env("XUNJIAN_TELEGRAM_API_URL") {
            self.telegram.api_url = Some(url);
        }
        self.dingtalk.client_secret = env("XUNJIAN_DINGTALK_CLIENT_SECRET").map(Secret::new);
        if let Some(url) = env("XUNJIAN_DINGTALK_GATEWAY_URL") {
            self.dingtalk.gateway_url = url;
        }
        if let Some(url) = env("XUNJIAN_DINGTALK_OAPI_URL") {
            self.dingtalk.oapi_url = url;
        }
        self.feishu.app_secret = env("XUNJIAN_FEISHU_APP_SECRET").map(Secret::new);
        if let Some(url) = env("XUNJIAN_FEISHU_BASE_URL") {
            self.feishu.base_url = url;
        }
        for (name, robot) in self.robots.iter_mut() {
            let prefix = format!(
                "XUNJIAN_ROBOT_{}",
                name.to_ascii_uppercase().replace('-', "_")
            );
            robot.webhook = env(&format!("{prefix}_WEBHOOK")).map(Secret::new);
            robot.secret = env(&format!("{prefix}_SECRET")).map(Secret::new);
        }
        for (name, proxy) in self.proxies.iter_mut() {
            let key = format!(
                "XUNJIAN_PROXY_{}_URL",
                name.to_ascii_uppercase().replace('-', "_")
            );
            if let Some(url) = env(&key) {
                proxy.url = url;
            }
        }
    }

    /// Every configured group robot has its webhook URL from the
    /// environment. Only what sends needs it (the daemon); `export`,
    /// `accounts` or a report to a file do not.
    pub fn check_robot_webhooks(&self) -> Result<(), ConfigError> {
        for (name, robot) in &self.robots {
            if robot.webhook.is_none() {
                let var = format!(
                    "XUNJIAN_ROBOT_{}_WEBHOOK",
                    name.to_ascii_uppercase().replace('-', "_")
                );
                return Err(ConfigError::Invalid {
                    path: format!("robots.{name}"),
                    message: format!(
                        "robots.{name}：群机器人 {name} 缺少 webhook 地址：请在环境变量 {var} 中设置"
                    ),
                });
            }
        }
        Ok(())
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.to_string(),
            message: format!("{origin}：{message}"),
        };
        let db = &self.database.url;
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(invalid(format!(
                "database.url: expected sqlite://PATH or postgres://…, got \"{}\"",
                redact_url(db)
            )));
        }
        self.server.check_public_url().map_err(invalid)?;
        for (name, proxy) in &self.proxies {
            crate::registry::load::check_url(&proxy.url).map_err(|why| {
                invalid(format!(
                    "proxies.{name}.url: invalid URL \"{}\": {why}",
                    proxy.url
                ))
            })?;
            if let Some(path) = &proxy.health_path {
                if !path.starts_with('/') {
                    return Err(invalid(format!(
                        "proxies.{name}.health_path: must start with \"/\" (got \"{path}\")"
                    )));
                }
            }
            if proxy.max_concurrency == 0 {
                return Err(invalid(format!(
                    "proxies.{name}.max_concurrency: must be at least 1"
                )));
            }
        }
        for key in self
            .poll
            .platform_interval_minutes
            .keys()
            .chain(self.poll.repost_patterns.keys())
        {
            if Platform::from_id(key).is_none() {
                return Err(invalid(format!("poll: unknown platform \"{key}\"")));
            }
        }
        for pattern in self
            .poll
            .gone_patterns
            .iter()
            .chain(&self.poll.blocked_patterns)
            .chain(self.poll.repost_patterns.values().flatten())
        {
            regex::Regex::new(pattern).map_err(|e| {
                invalid(format!(
                    "poll: invalid pattern \"{pattern}\": {}",
                    one_line(&e.to_string())
                ))
            })?;
        }
        for key in self.rules.platforms.keys() {
            if Platform::from_id(key).is_none() {
                return Err(invalid(format!(
                    "rules.platforms: unknown platform \"{key}\""
                )));
            }
        }
        for (key, limit) in [
            (
                "commands.per_user_per_minute",
                self.commands.per_user_per_minute,
            ),
            (
                "commands.per_group_per_minute",
                self.commands.per_group_per_minute,
            ),
        ] {
            if limit == 0 {
                return Err(invalid(format!(
                    "{key}：至少为 1（为 0 时除管理员外无人能得到回复）"
                )));
            }
        }
        if !(0.0..=1.0).contains(&self.rules.repost_min_original_share) {
            return Err(invalid(
                "rules.repost_min_original_share: must be between 0 and 1".to_string(),
            ));
        }
        crate::schedule::CronSchedule::parse(&self.inspection.cron)
            .map_err(|e| invalid(format!("inspection.cron: {e}")))?;
        if !(0.0..=1.0).contains(&self.inspection.max_unmonitored_share) {
            return Err(invalid(
                "inspection.max_unmonitored_share：应在 0 与 1 之间（如 0.2 表示 20%）".to_string(),
            ));
        }
        for (key, cron) in [
            ("reports.weekly_cron", &self.reports.weekly_cron),
            ("reports.monthly_cron", &self.reports.monthly_cron),
        ] {
            if !cron.trim().is_empty() {
                crate::schedule::CronSchedule::parse(cron)
                    .map_err(|e| invalid(format!("{key}: {e}")))?;
            }
        }
        let quarterly = &self.reports.quarterly_time;
        if !quarterly.is_empty() && chrono::NaiveTime::parse_from_str(quarterly, "%H:%M").is_err() {
            return Err(invalid(format!(
                "reports.quarterly_time: expected HH:MM, got \"{quarterly}\""
            )));
        }
        self.office.check().map_err(invalid)?;
        self.content.check().map_err(invalid)?;
        self.dingtalk.check().map_err(invalid)?;
        self.feishu.check().map_err(invalid)?;
        if self.poll.max_concurrency == 0 {
            return Err(invalid(
                "poll.max_concurrency: must be at least 1".to_string(),
            ));
        }
        Ok(())
    }

    pub fn proxy_names(&self) -> Vec<String> {
        self.proxies.keys().cloned().collect()
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
