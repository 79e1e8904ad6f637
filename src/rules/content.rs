//! Own content versus reposts.

use super::{AccountFacts, CheckWindow, Finding, Rule, Severity};
use crate::config::RuleSettings;
use chrono::Datelike;
use serde_json::json;

/// 以转发为主缺少原创: enough classified posts in the window, too few originals.
pub fn repost_heavy(facts: &AccountFacts<'_>, rules: &RuleSettings) -> Option<Finding> {
    let counts = facts.posts.window;
    let classified = counts.classified();
    if classified < u64::from(rules.repost_min_posts) || classified == 0 {
        return None;
    }
    let share = counts.original as f64 / classified as f64;
    if share >= rules.repost_min_original_share {
        return None;
    }
    Some(Finding::new(
        Rule::RepostHeavy,
        Severity::Warning,
        format!(
            "{} 近 {} 天发布 {} 条，其中原创 {} 条（{:.0}%），以转发为主缺少原创",
            facts.who(),
            rules.repost_window_days,
            counts.total,
            counts.original,
            share * 100.0
        ),
        json!({ "window_days": rules.repost_window_days, "posts": counts.total,
                "original": counts.original, "repost": counts.repost, "unknown": counts.unknown,
                "original_share": (share * 1000.0).round() / 1000.0,
                "min_original_share": rules.repost_min_original_share }),
    ))
}

/// 月度无原创: the last complete month had reposts but no original.
pub fn no_original_month(facts: &AccountFacts<'_>, window: &CheckWindow) -> Option<Finding> {
    let counts = facts.posts.last_month;
    if counts.repost == 0 || counts.original > 0 {
        return None;
    }
    let month = window.month.0;
    Some(Finding::new(
        Rule::NoOriginalMonth,
        Severity::Warning,
        format!(
            "{} {}年{}月发布 {} 条，无原创内容",
            facts.who(),
            month.year(),
            month.month(),
            counts.total
        ),
        json!({ "month": month.format("%Y-%m").to_string(), "posts": counts.total,
                "repost": counts.repost, "original": 0 }),
    ))
}
