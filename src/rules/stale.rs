//! The stale ladder (only the highest rung fires) and the weekly rule.

use super::{AccountFacts, CheckWindow, Finding, Rule, Severity, Thresholds};
use crate::calendar::to_local;
use crate::config::RuleSettings;
use chrono::Duration;
use serde_json::json;

/// The highest stale rung the account is on, if any.
pub fn stale(
    facts: &AccountFacts<'_>,
    window: &CheckWindow,
    t: &Thresholds,
    rules: &RuleSettings,
) -> Option<Finding> {
    let who = facts.who();
    let Some(last) = facts.posts.last_post_at else {
        let grace = Duration::days(i64::from(rules.zombie_grace_days));
        if window.now - facts.registered_at <= grace {
            return None;
        }
        let since = crate::calendar::date_cn(to_local(facts.registered_at).date_naive());
        return Some(Finding::new(
            Rule::Zombie3m,
            Severity::Failure,
            format!("{who} 自 {since} 登记以来从未更新"),
            json!({ "last_post_at": null, "registered_at": to_local(facts.registered_at).to_rfc3339(),
                    "grace_days": rules.zombie_grace_days }),
        ));
    };
    let age = (window.now - last).max(Duration::zero());
    let days = age.num_days();
    let over = |limit: u32| age > Duration::days(i64::from(limit));
    let (rule, severity, threshold) = if over(t.stale_6m_days) {
        (Rule::Stale6m, Severity::Failure, t.stale_6m_days)
    } else if over(t.zombie_days) {
        (Rule::Zombie3m, Severity::Failure, t.zombie_days)
    } else if over(t.stale_1m_days) {
        (Rule::Stale1m, Severity::Failure, t.stale_1m_days)
    } else if over(t.stale_days) {
        (Rule::Stale2w, Severity::Failure, t.stale_days)
    } else if age >= Duration::days(i64::from(t.warning_days)) {
        (Rule::StaleWarning, Severity::Advisory, t.warning_days)
    } else {
        return None;
    };
    let date = crate::calendar::date_cn(to_local(last).date_naive());
    let mut message = format!("{who} 已 {days} 天未更新，最后更新 {date}");
    if rule == Rule::StaleWarning {
        message.push_str(&format!("，{} 天未更新即不合格，请及时更新", t.stale_days));
    }
    Some(Finding::new(
        rule,
        severity,
        message,
        json!({ "last_post_at": to_local(last).to_rfc3339(), "days_since_post": days,
                "threshold_days": threshold, "stale_days": t.stale_days }),
    ))
}

/// 每周更新未达标: the most recent assessable week had no post.
pub fn weekly_miss(facts: &AccountFacts<'_>, window: &CheckWindow) -> Option<Finding> {
    let week = window.week?;
    let (start, _) = window.week_range()?;
    if facts.posts.last_week > 0 || facts.registered_at >= start {
        return None;
    }
    Some(Finding::new(
        Rule::WeeklyMiss,
        Severity::Warning,
        format!(
            "{} {}至{}当周未更新（每周更新未达标，扣 0.2 分）",
            facts.who(),
            crate::calendar::date_cn(week.monday),
            crate::calendar::date_cn(week.sunday())
        ),
        json!({ "week_start": week.monday.to_string(), "week_end": week.sunday().to_string(),
                "workdays": week.workdays, "deduction": 0.2 }),
    ))
}
