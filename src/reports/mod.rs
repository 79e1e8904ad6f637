//! Supervision reports (通报). Aggregation is pure: stored inspection
//! snapshots and post counts in, a [`Report`] out; renderers turn it into chat
//! text, Markdown, JSON, XLSX and a PNG chart.
//!
//! A report counts from snapshots and posts, never from the live register's
//! state, so a report for a past period can be produced again identically.

pub mod chart;
pub mod content;
pub mod docx;
mod glyphs;
mod model;
mod period;
pub mod problems;
pub mod reconcile;
pub mod render;
mod unassessed;
pub mod xlsx;

pub use model::{
    IssueRecord, Named, PlatformRow, Problem, ProblemGroup, QuarterRow, Rectification,
    RectificationState, Report, ReportInput, Snapshot, SnapshotFinding, SnapshotRow, TrendPoint,
    UnitRow,
};
pub use period::{ReportKind, parse_period};

use crate::calendar::{assessable_weeks, local_date, start_of_day, to_local};
use crate::parse::PostKind;
use crate::registry::{AccountState, Platform, Register, UnitKind};
use crate::rules::{KindCounts, Rule, Summary, Verdict};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const STALE_FAILURES: [Rule; 4] = [Rule::Stale2w, Rule::Stale1m, Rule::Zombie3m, Rule::Stale6m];
/// Filing problems listed under 备案问题 (failures already named as 不合格 are not repeated).
const FILING_LIST: [Rule; 4] = [
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
        .any(|f| STALE_FAILURES.contains(&f.rule))
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

/// The verdicts of one inspection's assessed accounts.
fn summary_of<'r>(rows: impl IntoIterator<Item = &'r SnapshotRow>) -> Summary {
    Summary::from_verdicts(
        rows.into_iter()
            .filter(|r| r.is_assessed)
            .map(|r| r.verdict),
    )
}

/// "2026-11-23 21:45" in Asia/Shanghai.
pub fn time_for_people(at: DateTime<Utc>) -> String {
    to_local(at).format("%Y-%m-%d %H:%M").to_string()
}

/// Computes a report.
pub fn build(input: &ReportInput<'_>) -> Report {
    let as_of = input.as_of();
    // Only inspections up to "as of" count (a report on a running period).
    let inspections: Vec<&Snapshot> = input.inspections.iter().filter(|s| s.at <= as_of).collect();
    let last = inspections.last().copied();
    let names = Names {
        register: input.register,
    };
    let by_platform = platform_rows(input, &inspections, last);
    let summary = summary_of(last.into_iter().flat_map(|s| s.rows.iter()));
    let trend = inspections
        .iter()
        .map(|s| TrendPoint {
            checked_at: time_for_people(s.at),
            stale_incidents: s.rows.iter().filter(|r| is_stale(r)).count() as u64,
            summary: summary_of(&s.rows),
        })
        .collect();
    // A week counts once it has ended by "as of".
    let last_day = input.to.min(local_date(as_of) - chrono::Duration::days(1));
    let weeks = assessable_weeks(input.calendar, input.from, last_day);
    let is_in_progress = as_of < start_of_day(input.to + chrono::Duration::days(1));
    let failing = failing_groups(last, &names);
    let listed: BTreeSet<(String, Rule)> = failing
        .iter()
        .flat_map(|g| g.accounts.iter())
        .flat_map(|a| {
            last.into_iter()
                .flat_map(|s| s.rows.iter())
                .filter(move |r| r.account == a.account)
                .flat_map(|r| r.findings.iter().filter(|f| f.is_failure()))
                .map(move |f| (a.account.clone(), f.rule))
        })
        .collect();
    let reposts = named_with(&inspections, &REPOSTS, &BTreeSet::new(), &names);
    let filing = named_with(&inspections, &FILING_LIST, &listed, &names);
    let units = unit_rows(input, &weeks.iter().map(|w| w.monday).collect::<Vec<_>>());
    let problems = problems::problem_list(&failing, &reposts, &filing, &units, input.register);
    Report {
        kind: input.kind.id().to_string(),
        title: input.kind.title(
            input.from,
            input.to,
            is_in_progress.then(|| local_date(as_of)),
        ),
        from: input.from.to_string(),
        to: input.to.to_string(),
        as_of: if is_in_progress {
            local_date(as_of).to_string()
        } else {
            input.to.to_string()
        },
        is_in_progress,
        generated_at: time_for_people(input.generated_at),
        inspections: inspections.len() as u64,
        is_assessable: !inspections.is_empty(),
        last_inspection_at: last.map(|s| time_for_people(s.at)),
        assessable_weeks: weeks.len() as u64,
        summary,
        posts: by_platform.iter().map(|p| p.posts).sum(),
        stale_incidents: by_platform.iter().map(|p| p.stale_incidents).sum(),
        by_platform,
        trend,
        failing,
        unknown: unassessed::unknown_accounts(last, &names),
        manual: unassessed::manual_accounts(last, &names),
        reposts,
        filing,
        units,
        rectification: match input.issued {
            Some(items) => items.to_vec(),
            None => rectification(input.previous, &inspections, &names),
        },
        problems,
        previous_report: input.previous_report.map(str::to_string),
        issue: None,
        content: content::section(input.content, input.tasks, input.register),
        quarters: if input.kind == ReportKind::Annual {
            quarter_rows(input, &inspections)
        } else {
            Vec::new()
        },
    }
}

/// Each quarter of the period's year that has begun: its last inspection's
/// verdicts, overall and per platform.
fn quarter_rows(input: &ReportInput<'_>, inspections: &[&Snapshot]) -> Vec<QuarterRow> {
    use chrono::Datelike as _;
    (1..=4)
        .filter_map(|quarter| {
            let in_quarter: Vec<&Snapshot> = inspections
                .iter()
                .copied()
                .filter(|s| {
                    let day = local_date(s.at);
                    day.year() == input.from.year() && (day.month() - 1) / 3 + 1 == quarter
                })
                .collect();
            let last = in_quarter.last()?;
            let by_platform = Platform::ALL
                .into_iter()
                .filter_map(|platform| {
                    let rows: Vec<&SnapshotRow> = last
                        .rows
                        .iter()
                        .filter(|r| r.platform == platform)
                        .collect();
                    let summary = summary_of(rows.iter().copied());
                    (summary.assessed + summary.unknown > 0)
                        .then(|| (short_label(platform).to_string(), summary))
                })
                .collect();
            Some(QuarterRow {
                quarter,
                inspections: in_quarter.len() as u64,
                summary: summary_of(&last.rows),
                by_platform,
            })
        })
        .collect()
}

fn platform_rows(
    input: &ReportInput<'_>,
    inspections: &[&Snapshot],
    last: Option<&Snapshot>,
) -> Vec<PlatformRow> {
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
        for c in accounts.iter().filter_map(|a| input.posts.get(&a.id)) {
            posts.total += c.total;
            posts.original += c.original;
            posts.repost += c.repost;
        }
        let stale_rows = || {
            inspections
                .iter()
                .flat_map(|s| s.rows.iter())
                .filter(|r| r.platform == platform && is_stale(r))
        };
        let stale_incidents = stale_rows().count() as u64;
        let stale_accounts: BTreeSet<&str> = stale_rows().map(|r| r.account.as_str()).collect();
        let last_rows: Vec<&SnapshotRow> = last
            .map(|s| s.rows.iter().filter(|r| r.platform == platform).collect())
            .unwrap_or_default();
        let summary = summary_of(last_rows.iter().copied());
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
    by_platform
}

fn round(value: f64, digits: i32) -> f64 {
    let factor = 10_f64.powi(digits);
    (value * factor).round() / factor
}

struct Names<'a> {
    register: &'a Register,
}

impl Names<'_> {
    fn named(&self, row: &SnapshotRow, findings: &[&SnapshotFinding]) -> Named {
        let account = self.register.account(&row.account);
        let unit = self
            .register
            .unit(&row.unit)
            .map_or(row.unit.clone(), |u| u.name.clone());
        let mut labels: Vec<String> = Vec::new();
        let mut rules: Vec<String> = Vec::new();
        let mut messages: Vec<&str> = Vec::new();
        for f in findings {
            if !rules.iter().any(|r| r == f.rule.id()) {
                labels.push(f.label.clone());
                rules.push(f.rule.id().to_string());
            }
            if !messages.contains(&f.message.as_str()) {
                messages.push(&f.message);
            }
        }
        Named {
            account: row.account.clone(),
            name: account.map_or(row.account.clone(), |a| a.name.clone()),
            unit,
            platform: short_label(row.platform).to_string(),
            labels,
            rules,
            message: messages.join("；"),
        }
    }
}

/// Every failed, assessed account of the last inspection once, in the group
/// of its gravest failure.
fn failing_groups(last: Option<&Snapshot>, names: &Names<'_>) -> Vec<ProblemGroup> {
    let mut groups: BTreeMap<(std::cmp::Reverse<u8>, String), (Rule, Vec<Named>)> = BTreeMap::new();
    for row in last.map(|s| s.rows.as_slice()).unwrap_or_default() {
        if !row.is_assessed || row.verdict != Verdict::Failed {
            continue;
        }
        let mut failures: Vec<&SnapshotFinding> =
            row.findings.iter().filter(|f| f.is_failure()).collect();
        failures.sort_by_key(|f| std::cmp::Reverse(gravity(f.rule)));
        let Some(gravest) = failures.first() else {
            continue;
        };
        groups
            .entry((
                std::cmp::Reverse(gravity(gravest.rule)),
                gravest.label.clone(),
            ))
            .or_insert_with(|| (gravest.rule, Vec::new()))
            .1
            .push(names.named(row, &failures));
    }
    // The gravest first: 超6个月 before 超两周.
    groups
        .into_iter()
        .map(|((_, label), (rule, accounts))| ProblemGroup {
            rule: rule.id().to_string(),
            label,
            accounts,
        })
        .collect()
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

/// Accounts with any of `rules` in any inspection of the period, each once
/// with its latest message per rule, leaving out (account, rule) pairs in `skip`.
fn named_with(
    inspections: &[&Snapshot],
    rules: &[Rule],
    skip: &BTreeSet<(String, Rule)>,
    names: &Names<'_>,
) -> Vec<Named> {
    let mut found: BTreeMap<String, (&SnapshotRow, BTreeMap<Rule, &SnapshotFinding>)> =
        BTreeMap::new();
    for snapshot in inspections {
        for row in &snapshot.rows {
            for f in &row.findings {
                if rules.contains(&f.rule) && !skip.contains(&(row.account.clone(), f.rule)) {
                    let entry = found
                        .entry(row.account.clone())
                        .or_insert_with(|| (row, BTreeMap::new()));
                    entry.0 = row;
                    entry.1.insert(f.rule, f);
                }
            }
        }
    }
    found
        .into_values()
        .map(|(row, findings)| {
            let list: Vec<&SnapshotFinding> = findings.into_values().collect();
            names.named(row, &list)
        })
        .collect()
}

fn unit_rows(input: &ReportInput<'_>, mondays: &[NaiveDate]) -> Vec<UnitRow> {
    let mut rows = Vec::new();
    for unit in &input.register.units {
        let accounts: Vec<_> = input
            .register
            .accounts
            .iter()
            .filter(|a| a.unit == unit.id)
            .collect();
        if accounts.is_empty() {
            continue;
        }
        // Every post counts (so units add up to the platforms); weeks are
        // assessed on the accounts still in scope.
        let posts: u64 = accounts
            .iter()
            .filter_map(|a| input.posts.get(&a.id))
            .map(|c| c.total)
            .sum();
        let in_scope: Vec<_> = accounts
            .iter()
            .filter(|a| a.state != AccountState::Deregistered)
            .collect();
        let weeks_posted: BTreeSet<NaiveDate> = in_scope
            .iter()
            .filter_map(|a| input.post_weeks.get(&a.id))
            .flatten()
            .copied()
            .collect();
        let misses = if in_scope.is_empty() {
            0
        } else {
            mondays.iter().filter(|m| !weeks_posted.contains(m)).count() as u64
        };
        rows.push(UnitRow {
            id: unit.id.clone(),
            name: unit.name.clone(),
            kind: unit.kind.id().to_string(),
            posts,
            weekly_misses: misses,
            deduction: round(misses as f64 * DEDUCTION_PER_MISS, 2),
            contact: contact_line(&unit.contacts),
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

/// "王芳 0539-8196766、李强": each contact's name and phone.
fn contact_line(contacts: &[crate::registry::Contact]) -> String {
    contacts
        .iter()
        .map(
            |c| match c.phone.as_deref().filter(|p| !p.trim().is_empty()) {
                Some(phone) => format!("{} {phone}", c.name),
                None => c.name.clone(),
            },
        )
        .collect::<Vec<_>>()
        .join("、")
}

/// The previous report's failures, each judged on the period's inspections:
/// 已整改 only when a later inspection judged the account and the problem was
/// gone (and stayed gone in the latest one).
fn rectification(
    previous: Option<&Snapshot>,
    inspections: &[&Snapshot],
    names: &Names<'_>,
) -> Vec<Rectification> {
    let Some(previous) = previous else {
        return Vec::new();
    };
    let family = |rule: Rule| crate::alerts::family(rule);
    // Each inspection's rows by account, so judging is linear in the rows.
    let by_account: Vec<HashMap<&str, &SnapshotRow>> = inspections
        .iter()
        .map(|s| s.rows.iter().map(|r| (r.account.as_str(), r)).collect())
        .collect();
    let mut out = Vec::new();
    for row in previous
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Failed)
    {
        let mut families = BTreeSet::new();
        for f in row.findings.iter().filter(|f| f.is_failure()) {
            if !families.insert(family(f.rule)) {
                continue;
            }
            // The period's judgements of this account on this problem:
            // Some(true) present, Some(false) gone, None not judged.
            let judged: Vec<(DateTime<Utc>, Option<bool>)> = inspections
                .iter()
                .zip(&by_account)
                .map(|(s, rows)| {
                    let seen = rows.get(row.account.as_str()).copied();
                    let state = seen.and_then(|r| {
                        let present = r
                            .findings
                            .iter()
                            .any(|g| g.is_failure() && family(g.rule) == family(f.rule));
                        if present {
                            Some(true)
                        } else if r.verdict == Verdict::Unknown {
                            None
                        } else {
                            Some(false)
                        }
                    });
                    (s.at, state)
                })
                .collect();
            let day = |at: DateTime<Utc>| local_date(at).format("%Y-%m-%d").to_string();
            let latest = judged.iter().rev().find(|(_, state)| state.is_some());
            let (state, evidence) = match latest {
                Some((at, Some(true))) => {
                    (RectificationState::Open, format!("{} 巡检仍存在", day(*at)))
                }
                Some((_, _)) => {
                    // The first inspection of the final run without the problem.
                    let since = judged
                        .iter()
                        .rev()
                        .take_while(|(_, state)| *state != Some(true))
                        .filter(|(_, state)| *state == Some(false))
                        .last()
                        .map_or_else(String::new, |(at, _)| day(*at));
                    let what = if family(f.rule) == "stale" {
                        "已恢复更新"
                    } else {
                        "问题已消除"
                    };
                    (RectificationState::Fixed, format!("{since} 巡检确认{what}"))
                }
                None => (
                    RectificationState::Unverifiable,
                    if inspections.is_empty() {
                        "本期无巡检记录".to_string()
                    } else {
                        "本期巡检未能监测该账号".to_string()
                    },
                ),
            };
            let named = names.named(row, &[f]);
            out.push(Rectification {
                account: row.account.clone(),
                name: named.name,
                unit: named.unit,
                platform: named.platform,
                rule: f.rule.id().to_string(),
                label: f.label.clone(),
                message: f.message.clone(),
                state,
                evidence,
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
