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
    }
}

/// Decides the events of one check.
pub fn decide(
    open: &[OpenAlert],
    found: &[Candidate],
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
    let mut seen = std::collections::HashSet::new();
    for c in found {
        seen.insert((c.subject.as_str(), c.family.as_str()));
        match by_key.get(&(c.subject.as_str(), c.family.as_str())) {
            None => events.push(Event::Opened(c.clone())),
            Some(alert) if rung(c.rule) > rung(alert.rule) => {
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
    let last_posts: HashMap<&str, Option<&str>> = found
        .iter()
        .map(|c| (c.subject.as_str(), c.last_post_at.as_deref()))
        .collect();
    for alert in open {
        if !seen.contains(&(alert.subject.as_str(), alert.family.as_str())) {
            let last = last_posts.get(alert.subject.as_str()).copied().flatten();
            events.push(Event::Resolved {
                alert: alert.clone(),
                message: recovery(alert, last, now),
            });
        }
    }
    events
}

/// "已恢复更新，中断 23 天" for the stale family; "已恢复（持续 N 天）" otherwise.
fn recovery(alert: &OpenAlert, new_last_post: Option<&str>, now: DateTime<Utc>) -> String {
    let label = alert.rule.label();
    if alert.family == "stale" {
        let old = alert.evidence["last_post_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        let new = new_last_post.and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        if let (Some(old), Some(new)) = (old, new) {
            let days = (new - old).num_days().max(0);
            return format!("已恢复更新，中断 {days} 天（原：{label}）");
        }
        return format!("已恢复更新（原：{label}）");
    }
    let days = (now - alert.opened_at).num_days().max(0);
    format!("已恢复（原：{label}，持续 {days} 天）")
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
    let from = chrono::NaiveTime::parse_from_str(&settings.send_from, "%H:%M").unwrap_or_default();
    let until =
        chrono::NaiveTime::parse_from_str(&settings.send_until, "%H:%M").unwrap_or_default();
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
