//! Findings → a verdict per account, and the check's summary.

use super::{
    AccountFacts, CheckWindow, ContentInputs, Finding, PostSummary, Rule, Severity, Thresholds,
    content, filing, published, source, stale,
};
use crate::calendar::{Calendar, local_date, to_local};
use crate::config::RuleSettings;
use crate::domain::ProxyHealth;
use crate::fetch::FetchState;
use crate::registry::{Account, AccountState, Register, Source};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// 合格 / 不合格 / 正在注销 / 无法监测 / 人工检查.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Qualified,
    Failed,
    Closing,
    Unknown,
    /// No feed to read (视频号, 人民号 …): the office checks it by hand; not
    /// assessed here, never 合格 or 无法监测.
    Manual,
}

impl Verdict {
    pub fn id(self) -> &'static str {
        match self {
            Verdict::Qualified => "qualified",
            Verdict::Failed => "failed",
            Verdict::Closing => "closing",
            Verdict::Unknown => "unknown",
            Verdict::Manual => "manual",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Qualified => "合格",
            Verdict::Failed => "不合格",
            Verdict::Closing => "正在注销",
            Verdict::Unknown => "无法监测",
            Verdict::Manual => "人工检查",
        }
    }

    pub fn from_id(id: &str) -> Option<Verdict> {
        [
            Verdict::Qualified,
            Verdict::Failed,
            Verdict::Closing,
            Verdict::Unknown,
            Verdict::Manual,
        ]
        .into_iter()
        .find(|v| v.id() == id)
    }
}

/// One account at one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountResult {
    pub id: String,
    pub unit: String,
    pub platform: String,
    pub name: String,
    pub state: String,
    pub verdict: Verdict,
    /// False for deregistered accounts: out of scope, listed only when a rule fired.
    pub is_assessed: bool,
    pub last_post_at: Option<String>,
    pub days_since_post: Option<i64>,
    pub findings: Vec<Finding>,
    /// Why the verdict is unknown when no finding says it (the proxy is down).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Counts as DOMAIN.md defines them: assessed = 合格 + 不合格 + 正在注销 (无法监测
/// accounts are not assessed and never pass); 合格率 = (assessed − failed) /
/// assessed, none when nothing could be assessed (无法评定).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Summary {
    pub assessed: u64,
    pub qualified: u64,
    pub failed: u64,
    pub closing: u64,
    pub unknown: u64,
    /// 人工检查: accounts without a feed, checked by hand; not assessed.
    #[serde(default)]
    pub manual: u64,
    pub pass_rate: Option<f64>,
}

impl Summary {
    pub fn from_verdicts(verdicts: impl IntoIterator<Item = Verdict>) -> Summary {
        let mut s = Summary::default();
        for v in verdicts {
            match v {
                Verdict::Qualified => s.qualified += 1,
                Verdict::Failed => s.failed += 1,
                Verdict::Closing => s.closing += 1,
                Verdict::Unknown => s.unknown += 1,
                Verdict::Manual => s.manual += 1,
            }
        }
        s.assessed = s.qualified + s.failed + s.closing;
        s.pass_rate = (s.assessed > 0).then(|| {
            ((s.assessed - s.failed) as f64 / s.assessed as f64 * 10_000.0).round() / 10_000.0
        });
        s
    }
}

/// A whole check: every account plus the findings about no single account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub checked_at: String,
    pub summary: Summary,
    pub accounts: Vec<AccountResult>,
    pub findings: Vec<Finding>,
}

/// Evaluates one account.
pub fn evaluate_account(
    facts: &AccountFacts<'_>,
    window: &CheckWindow,
    rules: &RuleSettings,
) -> AccountResult {
    let account = facts.account;
    let thresholds = Thresholds::resolve(rules, account.platform, &account.thresholds);
    let mut findings = Vec::new();
    let mut note = None;
    let verdict = match account.state {
        AccountState::Deregistered => {
            findings.extend(filing::filed_but_active(facts));
            findings.extend(published::closing_notice(facts, window));
            Verdict::Failed
        }
        AccountState::Closing => {
            findings.extend(filing::gone_unfiled(facts, rules));
            findings.extend(filing::renamed_unfiled(facts));
            findings.extend(published::closing_notice(facts, window));
            findings.extend(published::wording(facts));
            findings.extend(published::personal_data(facts));
            Verdict::Closing
        }
        AccountState::Active => {
            findings.extend(filing::no_interaction(facts));
            findings.extend(filing::duplicate_account(facts));
            findings.extend(filing::renamed_unfiled(facts));
            let gone = filing::gone_unfiled(facts, rules);
            let is_gone = gone.is_some();
            findings.extend(gone);
            let is_manual = matches!(account.source, Source::Manual {});
            if is_manual {
                note = Some("无订阅来源，由人工检查".to_string());
            } else if facts.is_proxy_down {
                note = proxy_name(account).map(|p| format!("监测代理 {p} 不可用，暂无法监测"));
            } else if is_gone {
                // Gone from the platform: 注销后未备案 says it all; its failed
                // fetches are not also 无法监测.
            } else if let Some(failing) = source::source_failing(facts, rules) {
                findings.push(failing);
            } else {
                findings.extend(stale::stale(facts, window, &thresholds, rules));
                findings.extend(stale::weekly_miss(facts, window));
                findings.extend(content::repost_heavy(facts, rules));
                findings.extend(content::no_original_month(facts, window));
            }
            // What was published counts whatever the feed does now.
            findings.extend(published::wording(facts));
            findings.extend(published::personal_data(facts));
            findings.extend(published::repost_task(facts, window));
            if findings.iter().any(|f| f.severity == Severity::Failure) {
                Verdict::Failed
            } else if is_manual {
                Verdict::Manual
            } else if facts.is_proxy_down
                || findings.iter().any(|f| f.severity == Severity::Unknown)
            {
                Verdict::Unknown
            } else {
                Verdict::Qualified
            }
        }
    };
    let last = facts.posts.last_post_at;
    AccountResult {
        id: account.id.clone(),
        unit: account.unit.clone(),
        platform: account.platform.id().to_string(),
        name: account.name.clone(),
        state: account.state.id().to_string(),
        verdict,
        is_assessed: account.state != AccountState::Deregistered,
        last_post_at: last.map(|t| to_local(t).to_rfc3339()),
        days_since_post: last.map(|t| (window.now - t).num_days().max(0)),
        findings,
        note,
    }
}

fn proxy_name(account: &Account) -> Option<&str> {
    match &account.source {
        Source::Proxy { proxy, .. } => Some(proxy),
        Source::Feed { .. } | Source::Manual {} => None,
    }
}

/// Everything a check needs besides the register.
pub struct CheckInputs<'a> {
    pub summaries: &'a HashMap<String, PostSummary>,
    pub fetch: &'a HashMap<String, FetchState>,
    pub proxies: &'a [ProxyHealth],
    pub registered_at: &'a HashMap<String, DateTime<Utc>>,
    pub calendar: &'a Calendar,
    pub rules: &'a RuleSettings,
    pub content: &'a ContentInputs,
}

/// Evaluates the whole register at `now`.
pub fn evaluate_all(
    register: &Register,
    inputs: &CheckInputs<'_>,
    now: DateTime<Utc>,
) -> CheckResult {
    let window = CheckWindow::new(now, inputs.calendar, inputs.rules);
    let down: Vec<&ProxyHealth> = inputs.proxies.iter().filter(|p| !p.is_up).collect();
    let units: HashMap<&str, &crate::registry::Unit> =
        register.units.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut by_unit_platform: HashMap<(&str, crate::registry::Platform), Vec<&Account>> =
        HashMap::new();
    for a in register
        .accounts
        .iter()
        .filter(|a| a.state == AccountState::Active)
    {
        by_unit_platform
            .entry((a.unit.as_str(), a.platform))
            .or_default()
            .push(a);
    }
    let empty = PostSummary::default();
    let mut accounts = Vec::with_capacity(register.accounts.len());
    for account in &register.accounts {
        let siblings = match account.state {
            AccountState::Active => by_unit_platform
                .get(&(account.unit.as_str(), account.platform))
                .map(|list| {
                    list.iter()
                        .copied()
                        .filter(|a| a.id != account.id)
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let facts = AccountFacts {
            account,
            unit: units.get(account.unit.as_str()).copied(),
            posts: inputs.summaries.get(&account.id).unwrap_or(&empty),
            fetch: inputs.fetch.get(&account.id),
            is_proxy_down: proxy_name(account).is_some_and(|p| down.iter().any(|d| d.name == p)),
            registered_at: inputs
                .registered_at
                .get(&account.id)
                .copied()
                .unwrap_or(now),
            siblings,
            content: inputs.content,
        };
        let result = evaluate_account(&facts, &window, inputs.rules);
        if result.is_assessed || !result.findings.is_empty() {
            accounts.push(result);
        }
    }
    let summary =
        Summary::from_verdicts(accounts.iter().filter(|a| a.is_assessed).map(|a| a.verdict));
    let mut findings = Vec::new();
    // The accounts it left unjudged: 无法监测 in this check (closing and
    // deregistered ones are judged without their feed).
    let proxy_of: HashMap<&str, &str> = register
        .accounts
        .iter()
        .filter_map(|a| Some((a.id.as_str(), proxy_name(a)?)))
        .collect();
    for proxy in down {
        let count = accounts
            .iter()
            .filter(|r| {
                r.verdict == Verdict::Unknown
                    && proxy_of.get(r.id.as_str()) == Some(&proxy.name.as_str())
            })
            .count();
        findings.push(source::proxy_down(proxy, count));
    }
    let used_units: std::collections::HashSet<&str> = register
        .accounts
        .iter()
        .filter(|a| a.state != AccountState::Deregistered)
        .map(|a| a.unit.as_str())
        .collect();
    for unit in &register.units {
        if used_units.contains(unit.id.as_str()) && unit.contacts.is_empty() {
            findings.push(Finding::new(
                Rule::NoContact,
                Severity::Warning,
                format!("{} 未登记联系人，告警无人接收", unit.name),
                serde_json::json!({ "unit": unit.id }),
            ));
        }
    }
    if let Some(message) = inputs.calendar.missing_data_warning(local_date(now)) {
        findings.push(Finding::new(
            Rule::CalendarMissing,
            Severity::Operator,
            message,
            serde_json::json!({}),
        ));
    }
    CheckResult {
        checked_at: to_local(now).to_rfc3339(),
        summary,
        accounts,
        findings,
    }
}
