//! What cannot be monitored: failing sources and proxies that are down.

use super::{AccountFacts, Finding, Rule, Severity};
use crate::calendar::to_local;
use crate::config::RuleSettings;
use crate::domain::ProxyHealth;
use crate::fetch::Outcome;
use serde_json::json;

/// 无法监测: never fetched, or failing repeatedly for reasons other than "gone".
pub fn source_failing(facts: &AccountFacts<'_>, rules: &RuleSettings) -> Option<Finding> {
    let Some(fetch) = facts.fetch else {
        return Some(Finding::new(
            Rule::SourceFailing,
            Severity::Unknown,
            format!("{} 尚未抓取，暂无法监测", facts.who()),
            json!({ "never_fetched": true }),
        ));
    };
    let is_gone = fetch.outcome == Some(Outcome::Gone);
    // Never read successfully: nothing about its posts can be concluded yet.
    let is_never_read = fetch.last_success_at.is_none() && fetch.consecutive_failures > 0;
    if is_never_read || (!is_gone && fetch.consecutive_failures >= rules.failing_min_checks) {
        let outcome = fetch.outcome.map_or("unknown", Outcome::id);
        // People read what it means; the transport's words stay in the evidence.
        let meaning = fetch
            .outcome
            .map_or("原因不明，管理员将处理", Outcome::explain);
        return Some(Finding::new(
            Rule::SourceFailing,
            Severity::Unknown,
            format!(
                "{} 无法监测：连续 {} 次抓取失败（{meaning}）",
                facts.who(),
                fetch.consecutive_failures,
            ),
            json!({ "consecutive_failures": fetch.consecutive_failures, "outcome": outcome,
                    "error": fetch.message, "http_status": fetch.http_status,
                    "last_success_at": fetch.last_success_at.map(|t| to_local(t).to_rfc3339()) }),
        ));
    }
    None
}

/// 监测代理不可用: one finding per proxy that is down.
pub fn proxy_down(health: &ProxyHealth, accounts: usize) -> Finding {
    let since = health.down_since.unwrap_or(health.checked_at);
    Finding::new(
        Rule::ProxyDown,
        Severity::Operator,
        format!(
            "监测代理 {} 自 {} 起不可用，其 {accounts} 个账号暂无法监测（原因见 /healthz、xunjian check --format json 或日志）",
            health.name,
            crate::calendar::time_cn(since),
        ),
        json!({ "proxy": health.name, "down_since": to_local(since).to_rfc3339(),
                "error": health.message, "accounts": accounts }),
    )
}
