//! The sections of `xunjian.toml`, with their defaults.

use super::{Secret, redact_url};
use crate::registry::Platform;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

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
            font: PathBuf::from(super::DEFAULT_FONT),
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
    /// Sending window, local time, written "HH:MM".
    #[serde(deserialize_with = "hh_mm")]
    pub send_from: chrono::NaiveTime,
    #[serde(deserialize_with = "hh_mm")]
    pub send_until: chrono::NaiveTime,
    /// Only send on statutory workdays.
    pub send_on_workdays_only: bool,
    /// Rules that are sent at once, quiet hours or not.
    pub urgent_rules: Vec<crate::domain::Rule>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            remind_hours: 24,
            is_quiet_enabled: true,
            send_from: chrono::NaiveTime::from_hms_opt(8, 30, 0).expect("a valid time"),
            send_until: chrono::NaiveTime::from_hms_opt(18, 0, 0).expect("a valid time"),
            send_on_workdays_only: true,
            urgent_rules: vec![
                crate::domain::Rule::GoneUnfiled,
                crate::domain::Rule::FiledButActive,
                crate::domain::Rule::ProxyDown,
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
    pub kind: crate::domain::RobotKind,
    /// Only these rules, written by id (empty: all account alerts).
    #[serde(default)]
    pub rules: Vec<crate::domain::Rule>,
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

/// A local time written "HH:MM" (24-hour), as the sending window is.
fn hh_mm<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<chrono::NaiveTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    chrono::NaiveTime::parse_from_str(&text, "%H:%M").map_err(|_| {
        serde::de::Error::custom(format!("时间应写作 HH:MM（如 08:30），实际为「{text}」"))
    })
}

/// Chat commands.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommandSettings {
    /// Hosts a `/register` feed URL may point at; `*.gov.cn` matches subdomains.
    pub allowed_feed_hosts: Vec<String>,
    /// Messages one user (not an admin) may send a minute; beyond it they
    /// are dropped with one notice.
    pub per_user_per_minute: u32,
    /// Messages one group chat may send a minute, all its users together.
    pub per_group_per_minute: u32,
}

impl Default for CommandSettings {
    fn default() -> CommandSettings {
        CommandSettings {
            allowed_feed_hosts: Vec::new(),
            per_user_per_minute: 20,
            per_group_per_minute: 60,
        }
    }
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

/// The health and metrics endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// `HOST:PORT` to serve `/healthz`, `/metrics` and the web console on; empty disables.
    pub listen: String,
    /// The console's address as sign-in links name it (`https://xunjian.example.gov.cn`
    /// behind nginx); empty: `http://` + `listen`. `https://` makes cookies `Secure`.
    pub public_url: String,
    /// Where workbooks uploaded in the console are kept once imported (the
    /// register file `run` then reads); relative to the working directory.
    pub upload_dir: PathBuf,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: "127.0.0.1:9464".to_string(),
            public_url: String::new(),
            upload_dir: PathBuf::from("uploads"),
        }
    }
}

impl ServerSettings {
    /// The socket address to bind, None when disabled.
    pub fn address(&self) -> Result<Option<std::net::SocketAddr>, String> {
        let text = self.listen.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| {
            format!("server.listen = \"{text}\" 不是有效的地址（应为 IP:端口，如 127.0.0.1:9464）")
        })
    }

    /// `public_url` is empty or an http(s) address without query or fragment.
    pub fn check_public_url(&self) -> Result<(), String> {
        let text = self.public_url.trim();
        if text.is_empty() {
            return Ok(());
        }
        let bad = || {
            format!(
                "server.public_url = \"{text}\" 不是有效的网址（应为 https://主机名[:端口][/路径]，如 https://xunjian.example.gov.cn）"
            )
        };
        let url = url::Url::parse(text).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad());
        }
        Ok(())
    }
}

/// When the daemon inspects (巡检).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InspectionSettings {
    /// A 5-field cron expression in Asia/Shanghai.
    pub cron: String,
    /// Skip days that are not statutory workdays.
    pub workdays_only: bool,
    /// `/healthz` fails its `monitoring` check when more than this share
    /// (0–1) of the accounts in scope could not be judged (无法监测).
    pub max_unmonitored_share: f64,
}

impl Default for InspectionSettings {
    fn default() -> Self {
        InspectionSettings {
            cron: "0 9 * * 1-5".to_string(),
            workdays_only: true,
            max_unmonitored_share: 0.2,
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

/// A feed proxy such as RSSHub or wewe-rss.
#[derive(Clone, Deserialize)]
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

impl fmt::Debug for ProxySettings {
    /// The query's values are keys to the proxy: only their names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query: Vec<&str> = self.query.keys().map(String::as_str).collect();
        f.debug_struct("ProxySettings")
            .field("url", &redact_url(&self.url))
            .field("health_path", &self.health_path)
            .field("max_concurrency", &self.max_concurrency)
            .field("min_interval_minutes", &self.min_interval_minutes)
            .field("query_keys", &query)
            .finish()
    }
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

/// The issuing office of the 通报 (.docx): 发文机关, 主送, 整改要求.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfficeSettings {
    /// 发文机关: the issuing office line and the signature.
    pub name: String,
    /// 主送机关: the addressees line, ending with "："。
    pub addressees: String,
    /// The jurisdiction the 通报 speaks of, as in "全区政务新媒体".
    pub jurisdiction: String,
    /// 整改期限: this many statutory workdays after the date of the 通报.
    pub rectification_days: u32,
    /// The 整改要求 paragraphs; `{deadline}` becomes the 整改期限 date.
    pub requirements: Vec<String>,
    /// 发文字号 template: `{year}` is the year of issue, `{seq}` the
    /// number of the 通报 in that year (counted in the database), e.g.
    /// `兰政办字〔{year}〕{seq}号`. Empty: the 通报 carries no number.
    pub doc_number: String,
    /// 抄送机关 of the 版记, one line ("市政府办公室，区委办公室"); empty: no 抄送 line.
    pub cc: String,
    /// Who runs the command line here, as the audit trail names them
    /// ("张三"); `--by` overrides it; empty: the system user.
    pub operator: String,
}

impl OfficeSettings {
    /// The 发文字号 of the `seq`-th 通报 of `year`, if the office numbers them.
    pub fn doc_number(&self, year: i32, seq: i64) -> Option<String> {
        let template = self.doc_number.trim();
        (!template.is_empty()).then(|| {
            template
                .replace("{year}", &year.to_string())
                .replace("{seq}", &seq.to_string())
        })
    }
}

/// The placeholder in `office.requirements` for the 整改期限 date.
pub const DEADLINE_PLACEHOLDER: &str = "{deadline}";

impl Default for OfficeSettings {
    fn default() -> Self {
        OfficeSettings {
            name: "区人民政府办公室".to_string(),
            addressees: "各镇人民政府、街道办事处，区政府有关部门：".to_string(),
            jurisdiction: "全区".to_string(),
            rectification_days: 7,
            requirements: vec![
                "各单位要按照“谁开设、谁主管，谁主办、谁负责”的原则，落实政务新媒体日常管理责任，明确专人负责信息发布和运维，确保每周至少更新一次，及时发布与公众密切相关的政策信息、服务信息，提高原创内容比例。".to_string(),
                "对本次通报的问题账号，相关单位要逐项对照附件1认真整改，务必于{deadline}前整改完成，并将整改情况报送区政府办公室。对无力维护、长期不更新的账号，要及时按程序关停整合并办理注销备案。".to_string(),
                "区政府办公室将持续开展政务新媒体检查，对问题集中、情况反复和限期整改不到位的单位予以通报批评，并在年终考核中予以扣分。".to_string(),
            ],
            doc_number: String::new(),
            cc: String::new(),
            operator: String::new(),
        }
    }
}

impl OfficeSettings {
    /// Problems with the settings, each naming its key.
    pub fn check(&self) -> Result<(), String> {
        for (key, value) in [
            ("office.name", &self.name),
            ("office.addressees", &self.addressees),
            ("office.jurisdiction", &self.jurisdiction),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{key}: 不能为空 (must not be empty)"));
            }
            if value.contains('\n') {
                return Err(format!("{key}: 须为一行 (must be one line)"));
            }
        }
        for (key, value) in [
            ("office.cc", &self.cc),
            ("office.doc_number", &self.doc_number),
        ] {
            if value.contains('\n') {
                return Err(format!("{key}: 须为一行 (must be one line)"));
            }
        }
        if !self.doc_number.is_empty() && !self.doc_number.contains("{seq}") {
            return Err(format!(
                "office.doc_number：发文字号模板须含 {{seq}}（本年第几号），如 \"兰政办字〔{{year}}〕{{seq}}号\"，现为 \"{}\"",
                self.doc_number
            ));
        }
        if !(1..=60).contains(&self.rectification_days) {
            return Err(format!(
                "office.rectification_days: 应为 1 至 60 个工作日 (expected 1..=60 workdays), got {}",
                self.rectification_days
            ));
        }
        if self.requirements.is_empty() {
            return Err(
                "office.requirements: 至少需要一段整改要求 (needs at least one paragraph)"
                    .to_string(),
            );
        }
        for (i, text) in self.requirements.iter().enumerate() {
            if text.trim().is_empty() {
                return Err(format!(
                    "office.requirements[{i}]: 不能为空 (must not be empty)"
                ));
            }
            let rest = text.replace(DEADLINE_PLACEHOLDER, "");
            if rest.contains('{') || rest.contains('}') {
                return Err(format!(
                    "office.requirements[{i}]: 只支持占位符 {DEADLINE_PLACEHOLDER} (only {DEADLINE_PLACEHOLDER} may appear in braces)"
                ));
            }
        }
        Ok(())
    }
}
