//! What a report is made of: the stored inspections it reads (snapshots),
//! what it is built from (`ReportInput`) and the report itself, with its
//! rows, named accounts, units and 整改 items.

use super::ReportKind;
use crate::calendar::{Calendar, start_of_day};
use crate::registry::{AccountState, Platform, Register};
use crate::rules::{KindCounts, Rule, Summary, Verdict};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// One account in one stored inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    pub account: String,
    pub unit: String,
    pub platform: Platform,
    pub state: AccountState,
    pub verdict: Verdict,
    pub is_assessed: bool,
    pub findings: Vec<SnapshotFinding>,
}

/// One finding as an inspection stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotFinding {
    pub rule: Rule,
    /// `failure`, `warning`, `advisory`, `unknown` or `operator`.
    pub severity: String,
    /// The rule's label as fired (the account's own threshold, see [`crate::rules::label_of`]).
    pub label: String,
    pub message: String,
}

impl SnapshotFinding {
    pub(super) fn is_failure(&self) -> bool {
        self.severity == "failure"
    }
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
    /// The 整改 items of the previous issued report of this kind, when one
    /// was issued (see the `rectification` module); otherwise 上期通报整改情况 is
    /// judged from the inspections.
    pub issued: Option<&'a [Rectification]>,
    /// The title of that previous issued report (None: none was issued).
    pub previous_report: Option<&'a str>,
    /// 错敏信息 in posts published in the period (every state).
    pub content: &'a [crate::content::ContentFinding],
    /// 转载任务 due in the period, with their progress.
    pub tasks: &'a [crate::content::TaskProgress],
}

impl ReportInput<'_> {
    /// The time the report speaks for: the end of its period, or when it is
    /// generated if the period is still in progress.
    pub fn as_of(&self) -> DateTime<Utc> {
        let end = start_of_day(self.to + chrono::Duration::days(1));
        self.generated_at.min(end)
    }
}

/// A platform's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// An account named in a report, once per list, with every message of the list's kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    pub account: String,
    pub name: String,
    pub unit: String,
    pub platform: String,
    /// The labels of its problems in this list, gravest first.
    pub labels: Vec<String>,
    /// Their rule ids, in the same order.
    pub rules: Vec<String>,
    /// Its messages joined with "；".
    pub message: String,
}

/// Failing accounts grouped by their gravest problem: each failing account is
/// in exactly one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemGroup {
    pub rule: String,
    pub label: String,
    pub accounts: Vec<Named>,
}

/// A unit's line in the scoring tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub posts: u64,
    pub weekly_misses: u64,
    pub deduction: f64,
    /// The unit's contacts as the annexes name them ("王芳 0539-8196766、李强");
    /// empty when the register has none (itself a finding).
    #[serde(default)]
    pub contact: String,
}

/// Whether a problem of the previous report was fixed, on evidence only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RectificationState {
    /// A later inspection judged the account and found the problem gone.
    Fixed,
    /// The unit answered; the next inspection will check.
    Responded,
    /// Still present (the latest inspection found it).
    Open,
    /// Still present after its deadline.
    Overdue,
    /// No later inspection could judge the account.
    Unverifiable,
}

impl RectificationState {
    pub const ALL: [RectificationState; 5] = [
        RectificationState::Fixed,
        RectificationState::Responded,
        RectificationState::Open,
        RectificationState::Overdue,
        RectificationState::Unverifiable,
    ];

    pub fn label(self) -> &'static str {
        match self {
            RectificationState::Fixed => "已整改",
            RectificationState::Responded => "已反馈待核实",
            RectificationState::Open => "未整改",
            RectificationState::Overdue => "逾期未整改",
            RectificationState::Unverifiable => "无法核实",
        }
    }
}

/// A problem of the previous report and what later inspections showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rectification {
    pub account: String,
    pub name: String,
    pub unit: String,
    /// The platform's label ("微博"): two accounts of one name are told apart.
    #[serde(default)]
    pub platform: String,
    pub rule: String,
    pub label: String,
    pub message: String,
    pub state: RectificationState,
    /// The evidence: "2026-11-05 巡检确认已恢复更新", "2026-11-23 巡检仍存在".
    pub evidence: String,
}

/// One inspection of the period, for the trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// "2026-11-23 09:00", Asia/Shanghai.
    pub checked_at: String,
    pub stale_incidents: u64,
    pub summary: Summary,
}

/// A computed report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub kind: String,
    pub title: String,
    pub from: String,
    pub to: String,
    /// The day the report speaks for: `to`, or the day it was generated while
    /// the period is in progress.
    pub as_of: String,
    pub is_in_progress: bool,
    /// "2026-11-23 21:45", Asia/Shanghai.
    pub generated_at: String,
    pub inspections: u64,
    /// False when no inspection ran in the period: nothing can be judged.
    pub is_assessable: bool,
    /// The time of the inspection the verdicts come from.
    pub last_inspection_at: Option<String>,
    /// Weeks of the period that have ended by `as_of` and hold a workday.
    pub assessable_weeks: u64,
    /// The verdicts of the period's last inspection.
    pub summary: Summary,
    pub posts: u64,
    pub stale_incidents: u64,
    pub by_platform: Vec<PlatformRow>,
    pub trend: Vec<TrendPoint>,
    /// Every 不合格 account of the last inspection once, by its gravest problem.
    pub failing: Vec<ProblemGroup>,
    /// Every 无法监测 account of the last inspection.
    pub unknown: Vec<Named>,
    /// 人工检查: accounts without a feed (视频号, 人民号 …) in the last
    /// inspection, checked by hand; not assessed.
    #[serde(default)]
    pub manual: Vec<Named>,
    /// Accounts with repost findings in the period, each once.
    pub reposts: Vec<Named>,
    /// Accounts with filing findings in the period not already listed as 不合格, each once.
    pub filing: Vec<Named>,
    pub units: Vec<UnitRow>,
    pub rectification: Vec<Rectification>,
    /// Every account with a problem once (附件1): the failing, the repost and
    /// the filing findings merged. Each is one 整改 item when issued.
    #[serde(default)]
    pub problems: Vec<Problem>,
    /// The title of the previous issued 通报 of this kind; None when none was
    /// issued (then 上期 is the inspection before the period, or nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_report: Option<String>,
    /// The 通报 as issued; None for a draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<IssueRecord>,
    /// 错敏信息 and 转载任务 of the period.
    #[serde(default)]
    pub content: super::content::ContentSection,
    /// The annual kind: each quarter's verdicts from its last inspection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarters: Vec<QuarterRow>,
}

impl Report {
    /// Its 发文字号 in brackets ("（兰政办字〔2026〕12号）"), or "" when it has none.
    pub fn number_in_brackets(&self) -> String {
        self.issue
            .as_ref()
            .and_then(|i| i.doc_number.as_deref())
            .map(|n| format!("（{n}）"))
            .unwrap_or_default()
    }
}

/// One quarter of a year: the verdicts of its last inspection, overall and
/// per platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarterRow {
    /// 1–4.
    pub quarter: u32,
    pub inspections: u64,
    pub summary: Summary,
    /// (platform label, its verdicts), platforms with accounts in scope.
    pub by_platform: Vec<(String, Summary)>,
}

/// One account's problems in 附件1 and in the 整改 item that tracks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub account: String,
    pub name: String,
    pub unit_id: String,
    pub unit: String,
    pub platform: String,
    pub labels: Vec<String>,
    pub rules: Vec<String>,
    pub message: String,
    /// The unit's contacts ("王芳 0539-8196766、李强"); empty when none.
    pub contact: String,
    /// 整改期限 (YYYY-MM-DD): the issue's, or the earlier 通报's when the
    /// problem was already being rectified; None in a draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// Carried on from an earlier 通报 (its item is tracked there).
    #[serde(default)]
    pub is_carried: bool,
}

/// What makes a report an issued 通报: its number, dates and deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRecord {
    /// 发文字号 ("兰政办字〔2026〕3号"); None when the office sets no template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_number: Option<String>,
    /// 成文日期, YYYY-MM-DD.
    pub issued_on: String,
    /// 整改期限 of the problems first named in it, YYYY-MM-DD.
    pub deadline: String,
    /// "2026-10-09 10:30", Asia/Shanghai.
    pub issued_at: String,
    pub issued_by: String,
}
