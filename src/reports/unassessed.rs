//! The accounts an inspection could not judge: 无法监测 (no feed could be
//! read) and 人工检查 (no feed to read; checked by hand).

use super::{Named, Names, Snapshot, SnapshotFinding};
use crate::rules::{Rule, Verdict};

/// The 无法监测 accounts of the last inspection, with why.
pub(super) fn unknown_accounts(last: Option<&Snapshot>, names: &Names<'_>) -> Vec<Named> {
    last.map(|s| s.rows.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.is_assessed && r.verdict == Verdict::Unknown)
        .map(|row| {
            let why: Vec<&SnapshotFinding> = row
                .findings
                .iter()
                .filter(|f| f.severity == "unknown")
                .collect();
            let mut named = names.named(row, &why);
            if named.message.is_empty() {
                named.message = format!(
                    "{}「{}」({}) 监测代理不可用，暂无法监测",
                    named.unit, named.name, named.platform
                );
                named.labels = vec!["监测代理不可用".to_string()];
                named.rules = vec![Rule::ProxyDown.id().to_string()];
            }
            named
        })
        .collect()
}

/// The 人工检查 accounts of the last inspection.
pub(super) fn manual_accounts(last: Option<&Snapshot>, names: &Names<'_>) -> Vec<Named> {
    last.map(|s| s.rows.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.is_assessed && r.verdict == Verdict::Manual)
        .map(|row| {
            let mut named = names.named(row, &[]);
            named.message = format!(
                "{}「{}」({}) 无订阅来源，由人工检查",
                named.unit, named.name, named.platform
            );
            named.labels = vec!["人工检查".to_string()];
            named
        })
        .collect()
}
