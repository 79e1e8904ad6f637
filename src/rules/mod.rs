//! Supervision rules. Pure: register entry + post summary + fetch state +
//! calendar + `now` + thresholds → findings and a verdict.
//!
//! The rule ids are part of the interface (DOMAIN.md "The checks"). One file
//! per family: `stale` (the ladder and the weekly rule), `content` (reposts),
//! `filing` (register vs platform), `source` (what cannot be monitored).

mod content;
mod facts;
mod filing;
mod guidance;
mod published;
mod source;
mod stale;
mod verdict;

pub use facts::{AccountFacts, CheckWindow, KindCounts, PostFact, PostSummary, Thresholds};
pub use guidance::guidance;
pub use published::{ContentInputs, missed_tasks};
pub use verdict::{
    AccountResult, CheckInputs, CheckResult, Summary, Verdict, evaluate_account, evaluate_all,
};

pub use crate::domain::{Rule, Severity};
use serde::Serialize;
use serde_json::Value;

/// One rule that fired, with a message a clerk can paste into a 通报.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    /// What the rule is called for this account: the rule's label, or the
    /// real threshold when the account's differs from the national one
    /// ("超7天未更新").
    pub label: String,
    pub severity: Severity,
    pub message: String,
    pub evidence: Value,
}

impl Finding {
    pub fn new(rule: Rule, severity: Severity, message: String, evidence: Value) -> Finding {
        Finding {
            label: label_of(rule, &evidence),
            rule,
            severity,
            message,
            evidence,
        }
    }
}

/// The label of `rule` as fired with `evidence`: a stale rung whose
/// threshold differs from the national one names the real threshold
/// ("超7天未更新" rather than "超两周未更新").
pub fn label_of(rule: Rule, evidence: &Value) -> String {
    let national = match rule {
        Rule::Stale2w => Some(14),
        Rule::Stale1m => Some(30),
        Rule::Stale6m => Some(182),
        _ => None,
    };
    match (national, evidence["threshold_days"].as_u64()) {
        (Some(national), Some(days)) if days != national => format!("超{days}天未更新"),
        _ => rule.label().to_string(),
    }
}

#[cfg(test)]
mod tests;
