//! Settings: `xunjian.toml` (optional) overlaid with `XUNJIAN_*` environment
//! variables. Secrets come only from the environment and never print.
//!
//! In: a file path and an environment lookup. Out: [`Settings`].

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
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
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
    pub robots: BTreeMap<String, RobotSettings>,
    pub commands: CommandSettings,
    pub reports: ReportSettings,
}

/// Reports (通报): the chart font and the schedules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// A TTF/TTC/OTF font with Chinese glyphs for the chart.
    pub font: PathBuf,
    /// 5-field cron (Asia/Shanghai) of the weekly report; empty disables it.
    pub weekly_cron: String,
    /// 5-field cron of the monthly report; empty disables it.
    pub monthly_cron: String,
    /// Local time of the quarterly report on the first workday of a quarter; empty disables it.
    pub quarterly_time: String,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            font: PathBuf::from(crate::reports::chart::DEFAULT_FONT),
            weekly_cron: "3 9 * * 1".to_string(),
            monthly_cron: "7 9 1 * *".to_string(),
            quarterly_time: "09:10".to_string(),
        }
    }
}

/// The alert lifecycle.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// Hours between reminders about an alert that stays open.
    pub remind_hours: u32,
    /// Hold messages outside working hours.
    pub is_quiet_enabled: bool,
    /// Sending window, local time "HH:MM".
    pub send_from: String,
    pub send_until: String,
    /// Only send on statutory workdays.
    pub send_on_workdays_only: bool,
    /// Rules that are sent at once, quiet hours or not.
    pub urgent_rules: Vec<String>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            remind_hours: 24,
            is_quiet_enabled: true,
            send_from: "08:30".to_string(),
            send_until: "18:00".to_string(),
            send_on_workdays_only: true,
            urgent_rules: vec![
                "gone_unfiled".to_string(),
                "filed_but_active".to_string(),
                "proxy_down".to_string(),
            ],
        }
    }
}

/// The Telegram bot. The token is a secret: `XUNJIAN_TELEGRAM_TOKEN` only.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramSettings {
    /// The contacts chat that receives every account alert.
    pub contacts_chat: Option<i64>,
    /// Telegram user ids of the admins (supervisors).
    pub admins: Vec<i64>,
    /// Outbound HTTP(S) proxy for reaching Telegram, e.g. "http://10.0.0.1:3128".
    pub proxy: Option<String>,
    /// Bot API base URL; `XUNJIAN_TELEGRAM_API_URL` overrides it.
    pub api_url: Option<String>,
    /// Pace command replies to Telegram's rate limits (about one message a
    /// second per chat). Off only for a Bot API server without limits.
    pub is_throttled: bool,
    #[serde(skip)]
    pub token: Option<Secret>,
}

impl Default for TelegramSettings {
    fn default() -> Self {
        TelegramSettings {
            contacts_chat: None,
            admins: Vec::new(),
            proxy: None,
            api_url: None,
            is_throttled: true,
            token: None,
        }
    }
}

impl fmt::Debug for TelegramSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramSettings")
            .field("contacts_chat", &self.contacts_chat)
            .field("admins", &self.admins)
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .field("api_url", &self.api_url)
            .field("is_throttled", &self.is_throttled)
            .field("token", &self.token)
            .finish()
    }
}

/// A WeCom, DingTalk or Feishu group robot. Webhook URL and signing secret
/// come from `XUNJIAN_ROBOT_<NAME>_WEBHOOK` / `XUNJIAN_ROBOT_<NAME>_SECRET`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotSettings {
    /// wecom | dingtalk | feishu
    pub kind: String,
    /// Only these rule ids (empty: all account alerts).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Only alerts of these units (empty: all units).
    #[serde(default)]
    pub units: Vec<String>,
    #[serde(skip)]
    pub webhook: Option<Secret>,
    #[serde(skip)]
    pub secret: Option<Secret>,
}

impl fmt::Debug for RobotSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RobotSettings")
            .field("kind", &self.kind)
            .field("rules", &self.rules)
            .field("units", &self.units)
            .field("webhook", &self.webhook)
            .field("secret", &self.secret)
            .finish()
    }
}

/// Chat commands.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CommandSettings {
    /// Hosts a `/register` feed URL may point at; `*.gov.cn` matches subdomains.
    pub allowed_feed_hosts: Vec<String>,
}

/// Rule thresholds (DOMAIN.md "The checks"); days unless said otherwise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleSettings {
    pub warning_days: u32,
    pub stale_days: u32,
    pub stale_1m_days: u32,
    pub zombie_days: u32,
    pub stale_6m_days: u32,
    /// A never-updated account becomes a zombie this long after registration.
    pub zombie_grace_days: u32,
    pub repost_window_days: u32,
    pub repost_min_posts: u32,
    /// Below this share of originals (0..1) an account is repost-heavy.
    pub repost_min_original_share: f64,
    pub gone_min_checks: u32,
    pub gone_min_hours: u32,
    pub failing_min_checks: u32,
    /// Per-platform day thresholds, e.g. `[rules.platforms.wechat_service] stale_days = 30`.
    pub platforms: BTreeMap<String, crate::registry::ThresholdOverrides>,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            warning_days: 10,
            stale_days: 14,
            stale_1m_days: 30,
            zombie_days: 90,
            stale_6m_days: 182,
            zombie_grace_days: 14,
            repost_window_days: 30,
            repost_min_posts: 5,
            repost_min_original_share: 0.3,
            gone_min_checks: 3,
            gone_min_hours: 24,
            failing_min_checks: 3,
            platforms: BTreeMap::new(),
        }
    }
}

/// Holiday data beyond the built-in years.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarSettings {
    /// A directory of holiday-cn `YEAR.json` files read at start.
    pub dir: Option<PathBuf>,
}

/// When the daemon inspects (巡检).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InspectionSettings {
    /// A 5-field cron expression in Asia/Shanghai.
    pub cron: String,
    /// Skip days that are not statutory workdays.
    pub workdays_only: bool,
}

impl Default for InspectionSettings {
    fn default() -> Self {
        InspectionSettings {
            cron: "0 9 * * 1-5".to_string(),
            workdays_only: true,
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…`.
    pub url: String,
    pub max_connections: u32,
    /// From `XUNJIAN_DATABASE_PASSWORD` only.
    #[serde(skip)]
    pub password: Option<Secret>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "sqlite://xunjian.db".to_string(),
            max_connections: 5,
            password: None,
        }
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("password", &self.password)
            .finish()
    }
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

/// A feed proxy such as RSSHub or wewe-rss.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySettings {
    /// Base URL; account routes are appended to it.
    pub url: String,
    /// A path that answers 2xx while the proxy itself is healthy (RSSHub: `/healthz`).
    #[serde(default)]
    pub health_path: Option<String>,
    /// How many requests may be in flight to this proxy at once.
    #[serde(default = "default_proxy_concurrency")]
    pub max_concurrency: usize,
    /// No account on this proxy is polled more often than this.
    #[serde(default = "default_min_interval")]
    pub min_interval_minutes: u32,
    /// Query parameters added to every route (e.g. `{ key = "…" }`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
}

fn default_proxy_concurrency() -> usize {
    4
}

fn default_min_interval() -> u32 {
    5
}

/// How feeds are fetched and scheduled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollSettings {
    /// Requests in flight at once, over all proxies and feeds.
    pub max_concurrency: usize,
    /// Default minutes between checks of one account.
    pub interval_minutes: u32,
    /// Per-platform minutes between checks, overriding `interval_minutes`.
    pub platform_interval_minutes: BTreeMap<String, u32>,
    pub connect_timeout_seconds: u64,
    pub timeout_seconds: u64,
    /// Cap on a response body after decompression.
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    /// Extra message patterns (regex) meaning "the account is gone".
    pub gone_patterns: Vec<String>,
    /// Extra message patterns (regex) meaning "blocked by a WAF / captcha / cookie".
    pub blocked_patterns: Vec<String>,
    /// Extra repost markers (regex) per platform id, matched on title and text.
    pub repost_patterns: BTreeMap<String, Vec<String>>,
}

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings {
            max_concurrency: 32,
            interval_minutes: 120,
            platform_interval_minutes: BTreeMap::new(),
            connect_timeout_seconds: 10,
            timeout_seconds: 30,
            max_body_bytes: 8 * 1024 * 1024,
            max_redirects: 3,
            gone_patterns: Vec::new(),
            blocked_patterns: Vec::new(),
            repost_patterns: BTreeMap::new(),
        }
    }
}

impl PollSettings {
    pub fn interval_minutes_for(&self, platform: Platform) -> u32 {
        self.platform_interval_minutes
            .get(platform.id())
            .copied()
            .unwrap_or(self.interval_minutes)
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
        toml::from_str(text).map_err(|err| ConfigError::Invalid {
            path: origin.to_string(),
            message: one_line(&err.to_string()),
        })
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        if let Some(url) = env("XUNJIAN_DATABASE_URL") {
            self.database.url = url;
        }
        self.database.password = env("XUNJIAN_DATABASE_PASSWORD").map(Secret::new);
        self.telegram.token = env("XUNJIAN_TELEGRAM_TOKEN").map(Secret::new);
        if let Some(url) = env("XUNJIAN_TELEGRAM_API_URL") {
            self.telegram.api_url = Some(url);
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

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: origin.to_string(),
            message,
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
        if !(0.0..=1.0).contains(&self.rules.repost_min_original_share) {
            return Err(invalid(
                "rules.repost_min_original_share: must be between 0 and 1".to_string(),
            ));
        }
        crate::scheduler::CronSchedule::parse(&self.inspection.cron)
            .map_err(|e| invalid(format!("inspection.cron: {e}")))?;
        for (key, cron) in [
            ("reports.weekly_cron", &self.reports.weekly_cron),
            ("reports.monthly_cron", &self.reports.monthly_cron),
        ] {
            if !cron.trim().is_empty() {
                crate::scheduler::CronSchedule::parse(cron)
                    .map_err(|e| invalid(format!("{key}: {e}")))?;
            }
        }
        let quarterly = &self.reports.quarterly_time;
        if !quarterly.is_empty() && chrono::NaiveTime::parse_from_str(quarterly, "%H:%M").is_err() {
            return Err(invalid(format!(
                "reports.quarterly_time: expected HH:MM, got \"{quarterly}\""
            )));
        }
        for (name, robot) in &self.robots {
            if !matches!(robot.kind.as_str(), "wecom" | "dingtalk" | "feishu") {
                return Err(invalid(format!(
                    "robots.{name}.kind: expected wecom, dingtalk or feishu, got \"{}\"",
                    robot.kind
                )));
            }
            if robot.webhook.is_none() {
                let var = format!(
                    "XUNJIAN_ROBOT_{}_WEBHOOK",
                    name.to_ascii_uppercase().replace('-', "_")
                );
                return Err(invalid(format!(
                    "robots.{name}: set its webhook URL in {var}"
                )));
            }
            for rule in &robot.rules {
                if crate::rules::Rule::from_id(rule).is_none() {
                    return Err(invalid(format!(
                        "robots.{name}.rules: unknown rule \"{rule}\""
                    )));
                }
            }
        }
        for rule in &self.alerts.urgent_rules {
            if crate::rules::Rule::from_id(rule).is_none() {
                return Err(invalid(format!(
                    "alerts.urgent_rules: unknown rule \"{rule}\""
                )));
            }
        }
        for (key, value) in [
            ("alerts.send_from", &self.alerts.send_from),
            ("alerts.send_until", &self.alerts.send_until),
        ] {
            if chrono::NaiveTime::parse_from_str(value, "%H:%M").is_err() {
                return Err(invalid(format!("{key}: expected HH:MM, got \"{value}\"")));
            }
        }
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
