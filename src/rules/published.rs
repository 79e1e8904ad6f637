//! What accounts publish: 错敏信息 and personal data (kept findings, open
//! ones count), 转载任务 not done by their due date, and 拟关停 accounts
//! without a 停更公告.

use super::{AccountFacts, CheckWindow, Finding, Rule, Severity};
use crate::calendar::{date_cn, local_date, to_local};
use crate::content::{ClosingState, ContentFinding, Level, RepostTask, is_targeted};
use crate::registry::AccountState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

/// What the content checks know at an inspection.
#[derive(Debug, Clone, Default)]
pub struct ContentInputs {
    /// Open findings by account.
    pub findings: HashMap<String, Vec<ContentFinding>>,
    /// Open 转载任务.
    pub tasks: Vec<RepostTask>,
    /// (task, account) → when the account's post carrying it was published.
    pub done: HashMap<(i64, String), DateTime<Utc>>,
    /// Accounts not active: since when, and their newest 停更公告.
    pub closing: HashMap<String, ClosingState>,
    pub closing_notice_days: u32,
}

/// Items shown in a finding's message; the rest are counted.
const SHOWN: usize = 3;

fn item(f: &ContentFinding) -> Value {
    json!({
        "id": f.id,
        "published_at": to_local(f.published_at).to_rfc3339(),
        "title": f.post_title,
        "link": f.post_link,
        "matched": f.matched,
        "context": f.context,
        "suggestion": f.suggestion,
        "category": f.category,
        "level": f.level.label(),
        "is_in_title": f.is_in_title,
    })
}

fn lines(items: &[&ContentFinding]) -> String {
    let mut shown: Vec<String> = items.iter().take(SHOWN).map(|f| f.line()).collect();
    if items.len() > SHOWN {
        shown.push(format!("等{}处", items.len()));
    }
    shown.join("；")
}

/// 错敏信息: open wording findings; 严重 ones fail the account.
pub fn wording(facts: &AccountFacts<'_>) -> Option<Finding> {
    let mut items: Vec<&ContentFinding> = open(facts, Rule::Wording);
    if items.is_empty() {
        return None;
    }
    items.sort_by_key(|f| {
        (
            std::cmp::Reverse(f.level),
            std::cmp::Reverse(f.published_at),
        )
    });
    let severe = items.iter().filter(|f| f.level == Level::Severe).count();
    let severity = if severe > 0 {
        Severity::Failure
    } else {
        Severity::Warning
    };
    let counts = if severe > 0 {
        format!("{}处（严重{severe}处）", items.len())
    } else {
        format!("{}处", items.len())
    };
    Some(Finding::new(
        Rule::Wording,
        severity,
        format!(
            "{} 发布的信息有错敏信息{counts}：{}",
            facts.who(),
            lines(&items)
        ),
        json!({ "severe": severe, "general": items.len() - severe,
                "findings": items.iter().map(|f| item(f)).collect::<Vec<_>>() }),
    ))
}

/// Personal data published without 去标识化: fails the account.
pub fn personal_data(facts: &AccountFacts<'_>) -> Option<Finding> {
    let mut items = open(facts, Rule::PersonalData);
    if items.is_empty() {
        return None;
    }
    items.sort_by_key(|f| std::cmp::Reverse(f.published_at));
    Some(Finding::new(
        Rule::PersonalData,
        Severity::Failure,
        format!(
            "{} 发布的信息含未去标识化的个人信息{}处：{}",
            facts.who(),
            items.len(),
            lines(&items)
        ),
        json!({ "findings": items.iter().map(|f| item(f)).collect::<Vec<_>>() }),
    ))
}

fn open<'a>(facts: &AccountFacts<'a>, rule: Rule) -> Vec<&'a ContentFinding> {
    facts
        .content
        .findings
        .get(&facts.account.id)
        .map(|list| list.iter().filter(|f| f.rule == rule).collect())
        .unwrap_or_default()
}

/// The open tasks this account has not done by their due date.
pub fn missed_tasks<'a>(facts: &AccountFacts<'a>, today: NaiveDate) -> Vec<&'a RepostTask> {
    facts
        .content
        .tasks
        .iter()
        .filter(|t| t.due_on < today && is_targeted(t, facts.account))
        .filter(|t| {
            !facts
                .content
                .done
                .contains_key(&(t.id, facts.account.id.clone()))
        })
        .collect()
}

/// 转载任务 not done by the due date (listed; does not fail the account).
pub fn repost_task(facts: &AccountFacts<'_>, window: &CheckWindow) -> Option<Finding> {
    let missed = missed_tasks(facts, local_date(window.now));
    if missed.is_empty() {
        return None;
    }
    let named: Vec<String> = missed
        .iter()
        .map(|t| format!("「{}」（#{}，{}截止）", t.title, t.id, date_cn(t.due_on)))
        .collect();
    Some(Finding::new(
        Rule::RepostTask,
        Severity::Warning,
        format!("{} 未按时完成转载任务：{}", facts.who(), named.join("、")),
        json!({ "tasks": missed.iter().map(|t| json!({ "id": t.id, "title": t.title,
                "due_on": t.due_on.to_string() })).collect::<Vec<_>>() }),
    ))
}

/// 拟关停 for longer than `closing_notice_days` without a 停更公告 (one
/// published up to 30 days before counts); or deregistered in the last 90
/// days, after being monitored, without one ever.
pub fn closing_notice(facts: &AccountFacts<'_>, window: &CheckWindow) -> Option<Finding> {
    let ClosingState {
        since,
        notice_at: notice,
    } = facts.content.closing.get(&facts.account.id).copied()?;
    match facts.account.state {
        AccountState::Closing => {
            let since = since?;
            let days = i64::from(facts.content.closing_notice_days.max(1));
            let is_due = window.now >= since + Duration::days(days);
            let has_notice = notice.is_some_and(|n| n >= since - Duration::days(30));
            (is_due && !has_notice).then(|| {
                Finding::new(
                    Rule::ClosingNotice,
                    Severity::Warning,
                    format!(
                        "{} 自{}标记拟关停，已超过{days}天仍未发布停更公告",
                        facts.who(),
                        date_cn(local_date(since))
                    ),
                    json!({ "closing_since": to_local(since).to_rfc3339(), "days": days }),
                )
            })
        }
        AccountState::Deregistered => {
            let on = facts.account.deregistered_on?;
            let is_recent = on >= local_date(window.now) - Duration::days(90);
            (is_recent && notice.is_none() && facts.posts.total > 0).then(|| {
                Finding::new(
                    Rule::ClosingNotice,
                    Severity::Warning,
                    format!(
                        "{} 于{}注销，注销前未发布停更公告",
                        facts.who(),
                        date_cn(on)
                    ),
                    json!({ "deregistered_on": on.to_string() }),
                )
            })
        }
        AccountState::Active => None,
    }
}
