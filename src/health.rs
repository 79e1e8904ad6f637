//! The daemon's parts and how each is doing: what `/healthz` answers, what
//! the supervisor and the watchdog read, and the Prometheus metrics.
//!
//! In: successes and failures reported by the parts (with the time).
//! Out: a [`HealthReport`] per moment, long failures to announce, metrics.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A long-running part of the daemon (and the database they all need).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Database,
    Poll,
    Inspection,
    Delivery,
    Reports,
    Telegram,
    /// The DingTalk Stream bot.
    Dingtalk,
    /// The Feishu long-connection bot.
    Feishu,
    Server,
    /// Reports on the others; supervised, never a health check itself.
    Watchdog,
    /// Not a task: whether the last inspection could judge enough of the
    /// accounts (`inspection.max_unmonitored_share`).
    Monitoring,
}

impl Part {
    pub const ALL: [Part; 11] = [
        Part::Database,
        Part::Poll,
        Part::Inspection,
        Part::Delivery,
        Part::Reports,
        Part::Telegram,
        Part::Dingtalk,
        Part::Feishu,
        Part::Server,
        Part::Watchdog,
        Part::Monitoring,
    ];

    /// The id used in `/healthz`, metrics and logs.
    pub fn id(self) -> &'static str {
        match self {
            Part::Database => "database",
            Part::Poll => "poll",
            Part::Inspection => "inspection",
            Part::Delivery => "delivery",
            Part::Reports => "reports",
            Part::Telegram => "telegram",
            Part::Dingtalk => "dingtalk",
            Part::Feishu => "feishu",
            Part::Server => "server",
            Part::Watchdog => "watchdog",
            Part::Monitoring => "monitoring",
        }
    }

    /// The name the admins read.
    pub fn label(self) -> &'static str {
        match self {
            Part::Database => "数据库",
            Part::Poll => "账号抓取",
            Part::Inspection => "定时巡检",
            Part::Delivery => "消息投递",
            Part::Reports => "定时通报",
            Part::Telegram => "Telegram 机器人",
            Part::Dingtalk => "钉钉机器人",
            Part::Feishu => "飞书机器人",
            Part::Server => "健康检查服务",
            Part::Watchdog => "运行监控",
            Part::Monitoring => "账号监测覆盖",
        }
    }
}

/// How one part is doing, as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartCheck {
    /// `ok`, `starting` (no success yet, still within its interval) or `failing`.
    pub status: &'static str,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Since when the part has been failing (None when it is not).
    pub failing_since: Option<DateTime<Utc>>,
    pub restarts: u64,
}

impl PartCheck {
    pub fn is_failing(&self) -> bool {
        self.status == "failing"
    }
}

/// The answer of `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// `ok` or `failing`.
    pub status: &'static str,
    pub checks: BTreeMap<&'static str, PartCheck>,
}

impl HealthReport {
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }

    /// The ids of the failing parts.
    pub fn failing(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|(_, c)| c.is_failing())
            .map(|(id, _)| *id)
            .collect()
    }
}

#[derive(Debug, Clone)]
struct PartState {
    /// A success is expected at least this often.
    expected: Duration,
    tracked_since: DateTime<Utc>,
    last_success: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_error_at: Option<DateTime<Utc>>,
    /// The first failure after the last success.
    failing_since: Option<DateTime<Utc>>,
    restarts: u64,
    /// The admins were told this part keeps failing (and not yet that it recovered).
    is_announced: bool,
}

#[derive(Debug, Default)]
struct Inner {
    parts: BTreeMap<Part, PartState>,
    secrets: Vec<String>,
}

/// Shared by every part of one daemon: cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Health {
    inner: Arc<Mutex<Inner>>,
}

/// A change the admins must hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    /// The part has been failing since then, with this last error.
    Failing {
        part: Part,
        since: DateTime<Utc>,
        error: String,
    },
    Recovered {
        part: Part,
    },
}

impl Announcement {
    /// The message for the admins (Chinese).
    pub fn text(&self) -> String {
        match self {
            Announcement::Failing { part, since, error } => format!(
                "【xunjian 运行告警】{}（{}）自 {} 起持续失败，xunjian 正在自动重试。最近的错误：{}",
                part.label(),
                part.id(),
                crate::calendar::to_local(*since).format("%Y-%m-%d %H:%M"),
                error
            ),
            Announcement::Recovered { part } => format!(
                "【xunjian 运行恢复】{}（{}）已恢复正常。",
                part.label(),
                part.id()
            ),
        }
    }
}

impl Health {
    /// A health registry whose errors never show any of `secrets`.
    pub fn new(secrets: Vec<String>) -> Health {
        let secrets = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        Health {
            inner: Arc::new(Mutex::new(Inner {
                parts: BTreeMap::new(),
                secrets,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain data behind: keep going.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts checking `part`: it must succeed at least every `expected`.
    pub fn track(&self, part: Part, expected: Duration, now: DateTime<Utc>) {
        self.lock().parts.entry(part).or_insert(PartState {
            expected,
            tracked_since: now,
            last_success: None,
            last_error: None,
            last_error_at: None,
            failing_since: None,
            restarts: 0,
            is_announced: false,
        });
        metrics::gauge!("xunjian_part_up", "part" => part.id()).set(1.0);
    }

    /// `part` did its work at `now`.
    pub fn succeeded(&self, part: Part, now: DateTime<Utc>) {
        let mut inner = self.lock();
        if let Some(state) = inner.parts.get_mut(&part) {
            state.last_success = Some(now);
            state.failing_since = None;
        }
        metrics::gauge!("xunjian_part_last_success_timestamp_seconds", "part" => part.id())
            .set(now.timestamp() as f64);
        metrics::gauge!("xunjian_part_up", "part" => part.id()).set(1.0);
    }

    /// `part` failed at `now` with `error` (redacted before it is kept).
    pub fn failed(&self, part: Part, error: &str, now: DateTime<Utc>) {
        let mut inner = self.lock();
        let error = redact(error, &inner.secrets);
        if let Some(state) = inner.parts.get_mut(&part) {
            state.last_error = Some(error);
            state.last_error_at = Some(now);
            state.failing_since.get_or_insert(now);
        }
        metrics::counter!("xunjian_part_failures_total", "part" => part.id()).increment(1);
        metrics::gauge!("xunjian_part_up", "part" => part.id()).set(0.0);
    }

    /// The supervisor restarted `part`.
    pub fn restarted(&self, part: Part) {
        if let Some(state) = self.lock().parts.get_mut(&part) {
            state.restarts = state.restarts.saturating_add(1);
        }
        metrics::counter!("xunjian_part_restarts_total", "part" => part.id()).increment(1);
    }

    /// The last success of `part`, if any.
    pub fn last_success(&self, part: Part) -> Option<DateTime<Utc>> {
        self.lock().parts.get(&part).and_then(|s| s.last_success)
    }

    /// Removes configured secrets from a text.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.lock().secrets)
    }

    /// Every tracked part as of `now`.
    pub fn report(&self, now: DateTime<Utc>) -> HealthReport {
        let inner = self.lock();
        let checks: BTreeMap<&'static str, PartCheck> = inner
            .parts
            .iter()
            .map(|(part, state)| (part.id(), check(state, now)))
            .collect();
        let is_ok = checks.values().all(|c| !c.is_failing());
        HealthReport {
            status: if is_ok { "ok" } else { "failing" },
            checks,
        }
    }

    /// What the admins must hear now: parts failing for at least
    /// `after_failing` not yet announced, and announced parts that recovered.
    /// Each is returned once.
    pub fn announcements(
        &self,
        now: DateTime<Utc>,
        after_failing: chrono::Duration,
    ) -> Vec<Announcement> {
        let mut inner = self.lock();
        let mut out = Vec::new();
        for (part, state) in inner.parts.iter_mut() {
            let checked = check(state, now);
            match (checked.failing_since, state.is_announced) {
                (Some(since), false) if now - since >= after_failing => {
                    state.is_announced = true;
                    out.push(Announcement::Failing {
                        part: *part,
                        since,
                        error: checked
                            .last_error
                            .unwrap_or_else(|| "长时间没有完成工作".to_string()),
                    });
                }
                (None, true) => {
                    state.is_announced = false;
                    out.push(Announcement::Recovered { part: *part });
                }
                _ => {}
            }
        }
        out
    }
}

fn check(state: &PartState, now: DateTime<Utc>) -> PartCheck {
    let expected = chrono::Duration::from_std(state.expected).unwrap_or(chrono::Duration::MAX);
    let reference = state.last_success.unwrap_or(state.tracked_since);
    let overdue_since = reference.checked_add_signed(expected).filter(|t| *t < now);
    let failing_since = match (state.failing_since, overdue_since) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let status = if failing_since.is_some() {
        "failing"
    } else if state.last_success.is_none() {
        "starting"
    } else {
        "ok"
    };
    PartCheck {
        status,
        last_success: state.last_success,
        last_error: state.last_error.clone(),
        last_error_at: state.last_error_at,
        failing_since,
        restarts: state.restarts,
    }
}

/// `text` with every secret replaced by `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

/// The secrets of the settings, for redaction.
pub fn secrets_of(settings: &crate::config::Settings) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Some(token) = &settings.telegram.token {
        secrets.push(token.expose().to_string());
    }
    if let Some(password) = &settings.database.password {
        secrets.push(password.expose().to_string());
    }
    if let Some(secret) = &settings.dingtalk.client_secret {
        secrets.push(secret.expose().to_string());
    }
    if let Some(secret) = &settings.feishu.app_secret {
        secrets.push(secret.expose().to_string());
    }
    if let Ok(url) = url::Url::parse(&settings.database.url) {
        if let Some(password) = url.password() {
            secrets.push(password.to_string());
        }
    }
    for robot in settings.robots.values() {
        for secret in [&robot.webhook, &robot.secret].into_iter().flatten() {
            secrets.push(secret.expose().to_string());
            // The webhook's key/access_token as it appears on its own.
            if let Ok(url) = url::Url::parse(secret.expose()) {
                secrets.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
                if let Some(last) = url.path_segments().and_then(|mut s| s.next_back()) {
                    secrets.push(last.to_string());
                }
            }
        }
    }
    for proxy in settings.proxies.values() {
        secrets.extend(proxy.query.values().cloned());
    }
    secrets.retain(|s| s.len() >= 4);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// The process's Prometheus recorder, installed on first use.
pub fn metrics_handle() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(
                    "xunjian_poll_cycle_duration_seconds".to_string(),
                ),
                &[0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0],
            )
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| {
                metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder()
            });
        let handle = recorder.handle();
        // Another recorder may exist (a test harness): then this one only renders.
        let _ = metrics::set_global_recorder(recorder);
        metrics::gauge!("xunjian_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).expect("valid")
    }

    #[test]
    fn a_part_is_starting_until_it_first_succeeds_then_ok() {
        let health = Health::new(vec![]);
        health.track(Part::Poll, Duration::from_secs(600), at(0));
        assert_eq!(health.report(at(1)).checks["poll"].status, "starting");
        assert!(health.report(at(1)).is_ok());
        health.succeeded(Part::Poll, at(2));
        assert_eq!(health.report(at(3)).checks["poll"].status, "ok");
    }

    #[test]
    fn a_part_without_success_within_its_interval_is_failing() {
        let health = Health::new(vec![]);
        health.track(Part::Poll, Duration::from_secs(600), at(0));
        health.succeeded(Part::Poll, at(1));
        let report = health.report(at(12));
        assert_eq!(report.status, "failing");
        assert_eq!(report.failing(), vec!["poll"]);
        assert_eq!(report.checks["poll"].failing_since, Some(at(11)));
    }

    #[test]
    fn a_failure_after_the_last_success_fails_the_part_until_it_succeeds_again() {
        let health = Health::new(vec![]);
        health.track(Part::Delivery, Duration::from_secs(600), at(0));
        health.succeeded(Part::Delivery, at(1));
        health.failed(Part::Delivery, "database is locked", at(2));
        let report = health.report(at(3));
        assert!(!report.is_ok());
        let check = &report.checks["delivery"];
        assert_eq!(check.last_error.as_deref(), Some("database is locked"));
        assert_eq!(check.failing_since, Some(at(2)));
        health.succeeded(Part::Delivery, at(4));
        assert!(health.report(at(5)).is_ok());
    }

    #[test]
    fn errors_are_kept_without_the_configured_secrets() {
        let health = Health::new(vec!["s3cr3t-key".to_string()]);
        health.track(Part::Delivery, Duration::from_secs(600), at(0));
        health.failed(
            Part::Delivery,
            "POST https://qyapi.weixin.qq.com/send?key=s3cr3t-key failed",
            at(1),
        );
        let error = health.report(at(1)).checks["delivery"]
            .last_error
            .clone()
            .expect("kept");
        assert!(!error.contains("s3cr3t-key"), "{error}");
        assert!(error.contains("key=***"), "{error}");
    }

    #[test]
    fn a_long_failure_is_announced_once_and_its_recovery_once() {
        let health = Health::new(vec![]);
        let ten = chrono::Duration::minutes(10);
        health.track(Part::Poll, Duration::from_secs(3600), at(0));
        health.failed(Part::Poll, "boom", at(1));
        assert!(health.announcements(at(5), ten).is_empty());
        let first = health.announcements(at(11), ten);
        assert!(
            matches!(&first[..], [Announcement::Failing { part: Part::Poll, since, .. }] if *since == at(1)),
            "{first:?}"
        );
        assert!(first[0].text().contains("账号抓取"));
        health.failed(Part::Poll, "boom again", at(12));
        assert!(health.announcements(at(20), ten).is_empty());
        health.succeeded(Part::Poll, at(21));
        assert_eq!(
            health.announcements(at(22), ten),
            vec![Announcement::Recovered { part: Part::Poll }]
        );
        assert!(health.announcements(at(23), ten).is_empty());
    }
}
