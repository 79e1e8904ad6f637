//! Supervision reports (通报). Aggregation is pure: stored inspection
//! snapshots and post counts in, a [`Report`] out; renderers turn it into chat
//! text, Markdown, JSON, XLSX and a PNG chart.
//!
//! A report counts from snapshots and posts, never from the live register's
//! state, so a report for a past period can be produced again identically.

pub mod chart;
mod period;
pub mod render;
pub mod xlsx;

pub use period::{ReportKind, parse_period};

use crate::calendar::{Calendar, assessable_weeks};
use crate::parse::PostKind;
use crate::registry::{AccountState, Platform, Register, UnitKind};
use crate::rules::{KindCounts, Rule, Summary, Verdict};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One account in one stored inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    pub account: String,
    pub unit: String,
    pub platform: Platform,
    pub state: AccountState,
    pub verdict: Verdict,
    pub is_assessed: bool,
    /// (rule, severity id, message)
    pub findings: Vec<(Rule, String, String)>,
}

/// One stored inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub rows: Vec<SnapshotRow>,
}

/// Everything a report is computed from.
pub struct ReportInput<'a> {
    pub kind: ReportKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub register: &'a Register,
    pub inspections: &'a [Snapshot],
    /// The last inspection before the period (for 整改情况).
    pub previous: Option<&'a Snapshot>,
    /// Posts published in the period, per account and kind.
    pub posts: &'a HashMap<String, KindCounts>,
    /// Mondays of the weeks in which each account posted (within the period).
    pub post_weeks: &'a HashMap<String, BTreeSet<NaiveDate>>,
    pub calendar: &'a Calendar,
    pub generated_at: DateTime<Utc>,
}

/// A platform's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlatformRow {
    pub platform: String,
    pub label: String,
    pub accounts: u64,
    pub active: u64,
    pub closing: u64,
    pub deregistered: u64,
    pub posts: u64,
    pub original_posts: u64,
    pub repost_posts: u64,
    /// 超期更新 incidents summed over the period's inspections.
    pub stale_incidents: u64,
    /// Accounts stale in at least one inspection, and their share of the assessed.
    pub stale_accounts: u64,
    pub stale_share: Option<f64>,
    pub summary: Summary,
}

/// An account named in a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Named {
    pub account: String,
    pub name: String,
    pub unit: String,
    pub platform: String,
    pub message: String,
}

/// Failing accounts with the same problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemGroup {
    pub rule: String,
    pub label: String,
    pub accounts: Vec<Named>,
}

/// A unit's line in the scoring tables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub posts: u64,
    pub weekly_misses: u64,
    pub deduction: f64,
}

/// A problem of the previous report and whether it was fixed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rectification {
    pub account: String,
    pub rule: String,
    pub label: String,
    pub message: String,
    pub is_fixed: bool,
}

/// One stale count per inspection, for the trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    pub checked_at: String,
    pub stale_incidents: u64,
    pub pass_rate: Option<f64>,
}

/// A computed report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub kind: String,
    pub title: String,
    pub from: String,
    pub to: String,
    pub generated_at: String,
    pub inspections: u64,
    pub assessable_weeks: u64,
    /// The verdicts of the period's last inspection.
    pub summary: Summary,
    pub posts: u64,
    pub stale_incidents: u64,
    pub by_platform: Vec<PlatformRow>,
    pub trend: Vec<TrendPoint>,
    pub failing: Vec<ProblemGroup>,
    pub reposts: Vec<Named>,
    pub filing: Vec<Named>,
    pub units: Vec<UnitRow>,
    pub rectification: Vec<Rectification>,
}

const STALE_FAILURES: [Rule; 4] = [Rule::Stale2w, Rule::Stale1m, Rule::Zombie3m, Rule::Stale6m];
const FILING: [Rule; 4] = [
    Rule::GoneUnfiled,
    Rule::FiledButActive,
    Rule::RenamedUnfiled,
    Rule::DuplicateAccount,
];
const REPOSTS: [Rule; 2] = [Rule::RepostHeavy, Rule::NoOriginalMonth];

/// Deduction per missed week (seed 001: 不达标一次扣 0.2 分).
pub const DEDUCTION_PER_MISS: f64 = 0.2;

fn is_stale(row: &SnapshotRow) -> bool {
    row.findings
        .iter()
        .any(|(rule, _, _)| STALE_FAILURES.contains(rule))
}

/// Short platform labels the 通报 use (公众号, 服务号 …).
pub fn short_label(platform: Platform) -> &'static str {
    match platform {
        Platform::WechatSubscription => "公众号",
        Platform::WechatService => "服务号",
        Platform::Website => "网站",
        other => other.label(),
    }
}

/// Computes a report.
pub fn build(input: &ReportInput<'_>) -> Report {
    let last = input.inspections.last();
    let names = Names {
        register: input.register,
    };
    let mut by_platform = Vec::new();
    for platform in Platform::ALL {
        let accounts: Vec<_> = input
            .register
            .accounts
            .iter()
            .filter(|a| a.platform == platform)
            .collect();
        let count_state = |s: AccountState| accounts.iter().filter(|a| a.state == s).count() as u64;
        let mut posts = KindCounts::default();
        for a in &accounts {
            if let Some(c) = input.posts.get(&a.id) {
                posts.total += c.total;
                posts.original += c.original;
                posts.repost += c.repost;
            }
        }
        let rows_of = |s: &Snapshot| {
            s.rows
                .iter()
                .filter(|r| r.platform == platform)
                .cloned()
                .collect::<Vec<_>>()
        };
        let stale_incidents: u64 = input
            .inspections
            .iter()
            .map(|s| rows_of(s).iter().filter(|r| is_stale(r)).count() as u64)
            .sum();
        let stale_accounts: BTreeSet<String> = input
            .inspections
            .iter()
            .flat_map(|s| rows_of(s).into_iter().filter(is_stale).map(|r| r.account))
            .collect();
        let last_rows = last.map(rows_of).unwrap_or_default();
        let summary = Summary::from_verdicts(
            last_rows
                .iter()
                .filter(|r| r.is_assessed)
                .map(|r| r.verdict),
        );
        if accounts.is_empty() && last_rows.is_empty() {
            continue;
        }
        let stale_share = (summary.assessed > 0)
            .then(|| round(stale_accounts.len() as f64 / summary.assessed as f64, 4));
        by_platform.push(PlatformRow {
            platform: platform.id().to_string(),
            label: short_label(platform).to_string(),
            accounts: accounts.len() as u64,
            active: count_state(AccountState::Active),
            closing: count_state(AccountState::Closing),
            deregistered: count_state(AccountState::Deregistered),
            posts: posts.total,
            original_posts: posts.original,
            repost_posts: posts.repost,
            stale_incidents,
            stale_accounts: stale_accounts.len() as u64,
            stale_share,
            summary,
        });
    }
    let summary = Summary::from_verdicts(
        last.into_iter()
            .flat_map(|s| s.rows.iter().filter(|r| r.is_assessed).map(|r| r.verdict)),
    );
    let trend = input
        .inspections
        .iter()
        .map(|s| TrendPoint {
            checked_at: crate::calendar::to_local(s.at).to_rfc3339(),
            stale_incidents: s.rows.iter().filter(|r| is_stale(r)).count() as u64,
            pass_rate: Summary::from_verdicts(
                s.rows.iter().filter(|r| r.is_assessed).map(|r| r.verdict),
            )
            .pass_rate,
        })
        .collect();
    let weeks = assessable_weeks(input.calendar, input.from, input.to);
    Report {
        kind: input.kind.id().to_string(),
        title: input.kind.title(input.from, input.to),
        from: input.from.to_string(),
        to: input.to.to_string(),
        generated_at: crate::calendar::to_local(input.generated_at).to_rfc3339(),
        inspections: input.inspections.len() as u64,
        assessable_weeks: weeks.len() as u64,
        summary,
        posts: by_platform.iter().map(|p| p.posts).sum(),
        stale_incidents: by_platform.iter().map(|p| p.stale_incidents).sum(),
        by_platform,
        trend,
        failing: failing_groups(last, &names),
        reposts: named_with(input.inspections, &REPOSTS, &names),
        filing: named_with(input.inspections, &FILING, &names),
        units: unit_rows(input, &weeks.iter().map(|w| w.monday).collect::<Vec<_>>()),
        rectification: rectification(input.previous, last, &names),
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let factor = 10_f64.powi(digits);
    (value * factor).round() / factor
}

struct Names<'a> {
    register: &'a Register,
}

impl Names<'_> {
    fn named(&self, row: &SnapshotRow, message: &str) -> Named {
        let account = self.register.account(&row.account);
        let unit = self
            .register
            .unit(&row.unit)
            .map_or(row.unit.clone(), |u| u.name.clone());
        Named {
            account: row.account.clone(),
            name: account.map_or(row.account.clone(), |a| a.name.clone()),
            unit,
            platform: short_label(row.platform).to_string(),
            message: message.to_string(),
        }
    }
}

fn failing_groups(last: Option<&Snapshot>, names: &Names<'_>) -> Vec<ProblemGroup> {
    let mut groups: BTreeMap<Rule, Vec<Named>> = BTreeMap::new();
    for row in last.map(|s| s.rows.as_slice()).unwrap_or_default() {
        for (rule, severity, message) in &row.findings {
            if severity == "failure" {
                groups
                    .entry(*rule)
                    .or_default()
                    .push(names.named(row, message));
            }
        }
    }
    // The gravest first: 超6个月 before 超两周.
    let mut out: Vec<ProblemGroup> = groups
        .into_iter()
        .map(|(rule, accounts)| ProblemGroup {
            rule: rule.id().to_string(),
            label: rule.label().to_string(),
            accounts,
        })
        .collect();
    out.sort_by_key(|g| std::cmp::Reverse(Rule::from_id(&g.rule).map_or(0, gravity)));
    out
}

fn gravity(rule: Rule) -> u8 {
    match rule {
        Rule::Stale6m => 9,
        Rule::Zombie3m => 8,
        Rule::Stale1m => 7,
        Rule::GoneUnfiled => 6,
        Rule::FiledButActive => 5,
        Rule::Stale2w => 4,
        Rule::NoInteraction => 3,
        _ => 1,
    }
}

/// Accounts with any of `rules` in any inspection of the period (latest message kept).
fn named_with(inspections: &[Snapshot], rules: &[Rule], names: &Names<'_>) -> Vec<Named> {
    let mut found: BTreeMap<(String, Rule), Named> = BTreeMap::new();
    for snapshot in inspections {
        for row in &snapshot.rows {
            for (rule, _, message) in &row.findings {
                if rules.contains(rule) {
                    found.insert((row.account.clone(), *rule), names.named(row, message));
                }
            }
        }
    }
    found.into_values().collect()
}

fn unit_rows(input: &ReportInput<'_>, mondays: &[NaiveDate]) -> Vec<UnitRow> {
    let mut rows = Vec::new();
    for unit in &input.register.units {
        let accounts: Vec<_> = input
            .register
            .accounts
            .iter()
            .filter(|a| a.unit == unit.id && a.state != AccountState::Deregistered)
            .collect();
        if accounts.is_empty() {
            continue;
        }
        let posts: u64 = accounts
            .iter()
            .filter_map(|a| input.posts.get(&a.id))
            .map(|c| c.total)
            .sum();
        let weeks_posted: BTreeSet<NaiveDate> = accounts
            .iter()
            .filter_map(|a| input.post_weeks.get(&a.id))
            .flatten()
            .copied()
            .collect();
        let misses = mondays.iter().filter(|m| !weeks_posted.contains(m)).count() as u64;
        rows.push(UnitRow {
            id: unit.id.clone(),
            name: unit.name.clone(),
            kind: unit.kind.id().to_string(),
            posts,
            weekly_misses: misses,
            deduction: round(misses as f64 * DEDUCTION_PER_MISS, 2),
        });
    }
    // Seed 001 sorts by the number of posts, most first.
    rows.sort_by(|a, b| {
        b.posts
            .cmp(&a.posts)
            .then(a.weekly_misses.cmp(&b.weekly_misses))
            .then(a.id.cmp(&b.id))
    });
    rows
}

fn rectification(
    previous: Option<&Snapshot>,
    last: Option<&Snapshot>,
    names: &Names<'_>,
) -> Vec<Rectification> {
    let Some(previous) = previous else {
        return Vec::new();
    };
    let family = |rule: Rule| crate::alerts::family(rule);
    let mut out = Vec::new();
    for row in &previous.rows {
        for (rule, severity, message) in &row.findings {
            if severity != "failure" {
                continue;
            }
            let still = last
                .and_then(|s| s.rows.iter().find(|r| r.account == row.account))
                .is_some_and(|r| {
                    r.findings
                        .iter()
                        .any(|(now, sev, _)| sev == "failure" && family(*now) == family(*rule))
                });
            out.push(Rectification {
                account: row.account.clone(),
                rule: rule.id().to_string(),
                label: rule.label().to_string(),
                message: names.named(row, message).message,
                is_fixed: !still,
            });
        }
    }
    out
}

/// Units split as the scoring sheet does.
pub fn units_of_kind(report: &Report, kind: UnitKind) -> Vec<&UnitRow> {
    report
        .units
        .iter()
        .filter(|u| u.kind == kind.id())
        .collect()
}

/// Post kinds counted per platform come from storage as strings.
pub fn add_post(counts: &mut KindCounts, kind: PostKind, n: u64) {
    counts.total += n;
    match kind {
        PostKind::Original => counts.original += n,
        PostKind::Repost => counts.repost += n,
        PostKind::Unknown => counts.unknown += n,
    }
}

#[cfg(test)]
mod tests;
