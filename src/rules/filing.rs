//! The register against the platform: filings, names, duplicates, interaction.

use super::{AccountFacts, Finding, Rule, Severity};
use crate::calendar::to_local;
use crate::config::RuleSettings;
use crate::fetch::Outcome;
use crate::registry::{AccountState, Platform};
use chrono::Duration;
use serde_json::json;

/// 注销后未备案: gone on the platform, repeatedly, while the proxy is healthy.
pub fn gone_unfiled(facts: &AccountFacts<'_>, rules: &RuleSettings) -> Option<Finding> {
    let fetch = facts.fetch?;
    if facts.is_proxy_down || fetch.outcome != Some(Outcome::Gone) {
        return None;
    }
    let since = fetch.gone_since?;
    let last = fetch.last_checked_at?;
    if fetch.gone_streak < rules.gone_min_checks
        || last - since < Duration::hours(i64::from(rules.gone_min_hours))
    {
        return None;
    }
    Some(Finding::new(
        Rule::GoneUnfiled,
        Severity::Failure,
        format!(
            "{} 在平台上已不存在（自 {} 起连续 {} 次检查），但未办理注销备案",
            facts.who(),
            crate::calendar::date_cn(to_local(since).date_naive()),
            fetch.gone_streak
        ),
        json!({ "gone_since": to_local(since).to_rfc3339(), "checks": fetch.gone_streak,
                "last_checked_at": to_local(last).to_rfc3339(), "http_status": fetch.http_status,
                "error": fetch.message }),
    ))
}

/// 已注销仍在更新: posts dated after the filed deregistration date.
pub fn filed_but_active(facts: &AccountFacts<'_>) -> Option<Finding> {
    let account = facts.account;
    let date = account.deregistered_on?;
    if account.state != AccountState::Deregistered || facts.posts.after_deregistration == 0 {
        return None;
    }
    let first = facts
        .posts
        .first_after_deregistration
        .map(|t| crate::calendar::date_cn(to_local(t).date_naive()));
    Some(Finding::new(
        Rule::FiledButActive,
        Severity::Failure,
        format!(
            "{} 已于 {date} 注销备案（{}），但此后仍发布 {} 条（最早 {}）",
            facts.who(),
            account.filing_ref.as_deref().unwrap_or("无文号"),
            facts.posts.after_deregistration,
            first.as_deref().unwrap_or("日期不详")
        ),
        json!({ "deregistered_on": date.to_string(), "filing_ref": account.filing_ref,
                "posts_after": facts.posts.after_deregistration, "first_post_after": first }),
    ))
}

/// 名称变更未报备: the feed shows another name than the register.
pub fn renamed_unfiled(facts: &AccountFacts<'_>) -> Option<Finding> {
    if facts.account.platform == Platform::Website {
        return None;
    }
    let shown = facts.fetch?.feed_title.as_deref()?;
    let feed_name = account_name_of(shown);
    let registered = compact(&facts.account.name);
    if feed_name.is_empty() || feed_name.contains(&registered) || registered.contains(&feed_name) {
        return None;
    }
    Some(Finding::new(
        Rule::RenamedUnfiled,
        Severity::Warning,
        format!(
            "{} 平台显示名称为「{}」，与登记名称不符，名称变更未报备",
            facts.who(),
            feed_name
        ),
        json!({ "registered_name": facts.account.name, "feed_title": shown, "feed_name": feed_name }),
    ))
}

/// The account name inside a proxy's feed title ("兰山发布的微博" → "兰山发布").
pub fn account_name_of(title: &str) -> String {
    let mut name = compact(title);
    for suffix in [
        "的bilibili动态",
        "的微博",
        "的抖音",
        "的快手",
        "-今日头条",
        "的今日头条",
        "的头条号",
        "的B站动态",
    ] {
        if let Some(stripped) = name.strip_suffix(suffix) {
            name = stripped.to_string();
        }
    }
    name
}

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// 同平台重复开设: more than one active account of a unit on a platform.
pub fn duplicate_account(facts: &AccountFacts<'_>) -> Option<Finding> {
    if facts.account.state != AccountState::Active || facts.siblings.is_empty() {
        return None;
    }
    // One finding per (unit, platform): the account with the smallest id
    // carries it, naming every account of the group in id order.
    if facts
        .siblings
        .iter()
        .any(|a| a.id.as_str() < facts.account.id.as_str())
    {
        return None;
    }
    let mut group: Vec<&crate::registry::Account> = vec![facts.account];
    group.extend(facts.siblings.iter().copied());
    group.sort_by(|a, b| a.id.cmp(&b.id));
    let names: Vec<String> = group.iter().map(|a| format!("「{}」", a.name)).collect();
    let unit = facts
        .unit
        .map_or(facts.account.unit.as_str(), |u| u.name.as_str());
    Some(Finding::new(
        Rule::DuplicateAccount,
        Severity::Warning,
        format!(
            "{unit} 在{}开设了 {} 个账号：{}（一个单位同一平台原则上只开设一个账号）",
            facts.account.platform.label(),
            names.len(),
            names.join("、")
        ),
        json!({ "accounts": group.iter().map(|a| &a.id).collect::<Vec<_>>() }),
    ))
}

/// 未提供有效互动功能: the register says the account offers no interaction.
pub fn no_interaction(facts: &AccountFacts<'_>) -> Option<Finding> {
    if facts.account.is_interactive || facts.account.state != AccountState::Active {
        return None;
    }
    Some(Finding::new(
        Rule::NoInteraction,
        Severity::Failure,
        format!("{} 未提供有效互动功能", facts.who()),
        json!({ "interactive": false }),
    ))
}
