//! The alert lifecycle. Pure: the open alerts, this check's findings, the
//! silences and `now` in; the events to record and announce out.
//!
//! One alert per (subject, family): a finding opens it, the same finding again
//! says nothing, a higher rung of the stale ladder escalates it, its absence
//! resolves it (with the downtime), and while it stays open a reminder goes
//! out every `remind_hours` unless it was acknowledged or snoozed.

pub mod compose;

use crate::rules::{CheckResult, Finding, Rule, Severity};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::HashMap;

/// The longest a unit contact may pause reminders (/snooze, 暂缓); admins
/// up to [`MAX_SNOOZE_DAYS`].
pub const CONTACT_SNOOZE_DAYS: i64 = 7;
/// The longest anyone may pause reminders.
pub const MAX_SNOOZE_DAYS: i64 = 90;

/// An alert as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAlert {
    pub id: i64,
    pub subject: String,
    pub family: String,
    pub rule: Rule,
    pub severity: Severity,
    pub unit_id: Option<String>,
    pub message: String,
    pub evidence: Value,
    pub opened_at: DateTime<Utc>,
    pub last_notified_at: Option<DateTime<Utc>>,
    pub is_acked: bool,
    /// Who acknowledged it and when ("telegram:5 周磊"), when it was.
    pub acked: Option<(String, DateTime<Utc>)>,
}

impl OpenAlert {
    /// The message as of `now`: a day count ("已 40 天未更新") is counted
    /// again from the last post the alert's evidence names, so an alert
    /// opened weeks ago does not show the gap it had then.
    pub fn message_at(&self, now: DateTime<Utc>) -> String {
        message_at(&self.message, &self.evidence, now)
    }
}

/// See [`OpenAlert::message_at`].
pub fn message_at(message: &str, evidence: &Value, now: DateTime<Utc>) -> String {
    let (Some(then), Some(last)) = (
        evidence["days_since_post"].as_i64(),
        evidence["last_post_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
    ) else {
        return message.to_string();
    };
    let days = (now - last.with_timezone(&Utc)).num_days().max(then);
    message.replacen(
        &format!("已 {then} 天未更新"),
        &format!("已 {days} 天未更新"),
        1,
    )
}

/// A finding of this check, as an alert would hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub subject: String,
    pub family: String,
    pub rule: Rule,
    pub severity: Severity,
    pub unit_id: Option<String>,
    pub message: String,
    pub evidence: Value,
    /// For recoveries: the account's newest post now.
    pub last_post_at: Option<String>,
    /// The number of the alert it opened, once stored (the digests show it).
    pub alert_id: Option<i64>,
}

/// What the check changes, in the order it is announced.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Opened(Candidate),
    Escalated { alert: OpenAlert, to: Candidate },
    Resolved { alert: OpenAlert, message: String },
    Reminder(OpenAlert),
}

impl Event {
    /// The number of the alert this event is about (`None` for an opened
    /// alert not yet stored).
    pub fn alert_id(&self) -> Option<i64> {
        match self {
            Event::Opened(c) => c.alert_id,
            Event::Escalated { alert, .. }
            | Event::Resolved { alert, .. }
            | Event::Reminder(alert) => Some(alert.id),
        }
    }

    pub fn rule(&self) -> Rule {
        match self {
            Event::Opened(c) | Event::Escalated { to: c, .. } => c.rule,
            Event::Resolved { alert, .. } | Event::Reminder(alert) => alert.rule,
        }
    }

    pub fn subject(&self) -> &str {
        match self {
            Event::Opened(c) | Event::Escalated { to: c, .. } => &c.subject,
            Event::Resolved { alert, .. } | Event::Reminder(alert) => &alert.subject,
        }
    }

    pub fn unit_id(&self) -> Option<&str> {
        match self {
            Event::Opened(c) | Event::Escalated { to: c, .. } => c.unit_id.as_deref(),
            Event::Resolved { alert, .. } | Event::Reminder(alert) => alert.unit_id.as_deref(),
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Event::Opened(c) | Event::Escalated { to: c, .. } => c.severity,
            Event::Resolved { alert, .. } | Event::Reminder(alert) => alert.severity,
        }
    }
}

/// The family an alert belongs to: the stale ladder is one family.
pub fn family(rule: Rule) -> &'static str {
    if rule.is_stale() { "stale" } else { rule.id() }
}

fn rung(rule: Rule) -> u8 {
    match rule {
        Rule::StaleWarning => 1,
        Rule::Stale2w => 2,
        Rule::Stale1m => 3,
        Rule::Zombie3m => 4,
        Rule::Stale6m => 5,
        _ => 0,
    }
}

/// A content finding that now fails the account where it was only listed
/// (a 严重 item joined the 一般 ones): announced like an escalation.
fn is_graver(found: &Candidate, alert: &OpenAlert) -> bool {
    found.rule.is_content()
        && found.severity == Severity::Failure
        && alert.severity == Severity::Warning
}

/// Every finding of a check as a candidate alert.
pub fn candidates(check: &CheckResult) -> Vec<Candidate> {
    let mut out = Vec::new();
    for account in &check.accounts {
        for f in &account.findings {
            out.push(candidate(
                account.id.clone(),
                Some(account.unit.clone()),
                f,
                account.last_post_at.clone(),
            ));
        }
    }
    for f in &check.findings {
        let subject = match f.rule {
            Rule::ProxyDown => format!("proxy:{}", f.evidence["proxy"].as_str().unwrap_or("?")),
            Rule::NoContact => format!("unit:{}", f.evidence["unit"].as_str().unwrap_or("?")),
            _ => f.rule.id().to_string(),
        };
        let unit = (f.rule == Rule::NoContact)
            .then(|| f.evidence["unit"].as_str().unwrap_or("").to_string());
        out.push(candidate(subject, unit, f, None));
    }
    out
}

fn candidate(
    subject: String,
    unit_id: Option<String>,
    f: &Finding,
    last_post_at: Option<String>,
) -> Candidate {
    Candidate {
        subject,
        family: family(f.rule).to_string(),
        rule: f.rule,
        severity: f.severity,
        unit_id,
        message: f.message.clone(),
        evidence: f.evidence.clone(),
        last_post_at,
        alert_id: None,
    }
}

/// What a check saw of one account, beyond its findings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// Its newest post (RFC 3339), if any.
    pub last_post_at: Option<String>,
    /// The check could not judge it (source failing, proxy down).
    pub is_unknown: bool,
}

/// Every account the check judged, by id.
pub fn seen(check: &CheckResult) -> HashMap<String, Seen> {
    check
        .accounts
        .iter()
        .map(|a| {
            (
                a.id.clone(),
                Seen {
                    last_post_at: a.last_post_at.clone(),
                    is_unknown: a.verdict == crate::rules::Verdict::Unknown,
                },
            )
        })
        .collect()
}

/// Decides the events of one check. `seen` holds every account the check
/// judged: an open alert whose finding is absent resolves only on evidence
/// (a newer post for the stale family; a judged account otherwise), never
/// because the account could not be checked this time.
pub fn decide(
    open: &[OpenAlert],
    found: &[Candidate],
    seen: &HashMap<String, Seen>,
    silenced: &HashMap<String, DateTime<Utc>>,
    remind_every: Duration,
    now: DateTime<Utc>,
) -> Vec<Event> {
    let mut events = Vec::new();
    let by_key: HashMap<(&str, &str), &OpenAlert> = open
        .iter()
        .map(|a| ((a.subject.as_str(), a.family.as_str()), a))
        .collect();
    let is_silenced = |subject: &str| silenced.get(subject).is_some_and(|until| *until > now);
    let mut found_keys = std::collections::HashSet::new();
    for c in found {
        found_keys.insert((c.subject.as_str(), c.family.as_str()));
        match by_key.get(&(c.subject.as_str(), c.family.as_str())) {
            None => events.push(Event::Opened(c.clone())),
            Some(alert) if rung(c.rule) > rung(alert.rule) || is_graver(c, alert) => {
                events.push(Event::Escalated {
                    alert: (*alert).clone(),
                    to: c.clone(),
                });
            }
            Some(alert) if rung(c.rule) < rung(alert.rule) => {
                // Down the ladder only after a post: the old alert recovered.
                events.push(Event::Resolved {
                    alert: (*alert).clone(),
                    message: recovery(alert, c.last_post_at.as_deref(), now),
                });
                events.push(Event::Opened(c.clone()));
            }
            Some(alert) => {
                let is_due = alert
                    .last_notified_at
                    .is_none_or(|t| now - t >= remind_every);
                if is_due && !alert.is_acked && !is_silenced(&alert.subject) {
                    // Remind with today's wording ("已 23 天未更新"), not the opening one.
                    let mut current = (*alert).clone();
                    current.message = c.message.clone();
                    current.evidence = c.evidence.clone();
                    events.push(Event::Reminder(current));
                }
            }
        }
    }
    for alert in open {
        if found_keys.contains(&(alert.subject.as_str(), alert.family.as_str())) {
            continue;
        }
        // Check-wide findings (calendar_missing) have neither a unit nor a ':'.
        let is_account = !alert.subject.contains(':') && alert.unit_id.is_some();
        let message = match seen.get(&alert.subject) {
            // Not judged this time (source failing, proxy down): nothing is
            // known, so the alert stays open and keeps its start.
            Some(account) if account.is_unknown => continue,
            Some(account) if alert.family == "stale" => {
                if !has_newer_post(alert, account.last_post_at.as_deref()) {
                    continue;
                }
                recovery(alert, account.last_post_at.as_deref(), now)
            }
            Some(_) => recovery(alert, None, now),
            // An account no longer in the check (deregistered or removed).
            None if is_account => format!(
                "已不在巡检范围（原：{}）",
                crate::rules::label_of(alert.rule, &alert.evidence)
            ),
            None => recovery(alert, None, now),
        };
        events.push(Event::Resolved {
            alert: alert.clone(),
            message,
        });
    }
    events
}

fn parse_time(text: Option<&str>) -> Option<DateTime<chrono::FixedOffset>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
}

/// True when `last_post` is newer than the post the stale alert was about
/// (any post, for an account that had never posted).
fn has_newer_post(alert: &OpenAlert, last_post: Option<&str>) -> bool {
    let Some(new) = parse_time(last_post) else {
        return false;
    };
    match parse_time(alert.evidence["last_post_at"].as_str()) {
        Some(old) => new > old,
        None => true,
    }
}

/// "已恢复更新，中断 23 天" for the stale family; "监测代理 wewe 已恢复" for a
/// proxy; "「节假日数据缺失」已解除" for another operator finding;
/// "已恢复（原：…，持续 N 天）" otherwise.
fn recovery(alert: &OpenAlert, new_last_post: Option<&str>, now: DateTime<Utc>) -> String {
    let label = crate::rules::label_of(alert.rule, &alert.evidence);
    if alert.family == "stale" {
        let old = parse_time(alert.evidence["last_post_at"].as_str());
        let new = parse_time(new_last_post);
        if let (Some(old), Some(new)) = (old, new) {
            let days = (new - old).num_days().max(0);
            return format!("已恢复更新，中断 {days} 天（原：{label}）");
        }
        return format!("已恢复更新（原：{label}）");
    }
    let lasted = now - alert.opened_at;
    let lasted = if lasted >= Duration::days(1) {
        format!(" {} 天", lasted.num_days())
    } else if lasted >= Duration::hours(1) {
        format!(" {} 小时", lasted.num_hours())
    } else {
        "不到 1 小时".to_string()
    };
    if alert.rule == Rule::ProxyDown {
        let proxy = alert.evidence["proxy"].as_str().unwrap_or("?");
        return format!("监测代理 {proxy} 已恢复（中断{lasted}）");
    }
    if alert.severity == Severity::Operator {
        return format!("「{label}」已解除（持续{lasted}）");
    }
    format!("已恢复（原：{label}，持续{lasted}）")
}

/// True when alerts may be sent at `now`; otherwise the next time they may.
pub fn next_send_time(
    now: DateTime<Utc>,
    settings: &crate::config::AlertSettings,
    calendar: &crate::calendar::Calendar,
) -> DateTime<Utc> {
    if !settings.is_quiet_enabled {
        return now;
    }
    let (from, until) = (settings.send_from, settings.send_until);
    let local = crate::calendar::to_local(now);
    let mut date = local.date_naive();
    for _ in 0..60 {
        let is_day_ok = !settings.send_on_workdays_only || calendar.is_workday(date);
        if is_day_ok {
            let start = crate::calendar::start_of_day(date) + (from - chrono::NaiveTime::MIN);
            let end = crate::calendar::start_of_day(date) + (until - chrono::NaiveTime::MIN);
            if now < end {
                return now.max(start);
            }
        }
        date = date.succ_opt().unwrap_or(date);
    }
    now
}

#[cfg(test)]
mod tests;
