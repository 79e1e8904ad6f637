//! 附件1, the one list of problem accounts: what the .docx, the XLSX, the
//! 整改 items and the 整改通知 all name. Pure.

use super::{IssueRecord, Named, Problem, ProblemGroup, UnitRow};
use crate::registry::Register;

/// Every account with a problem once: the failing (by gravest problem), then
/// the repost and filing findings; an account in several lists has its
/// problems joined.
pub(super) fn problem_list(
    failing: &[ProblemGroup],
    reposts: &[Named],
    filing: &[Named],
    units: &[UnitRow],
    register: &Register,
) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let all = failing
        .iter()
        .flat_map(|g| g.accounts.iter())
        .chain(reposts)
        .chain(filing);
    for named in all {
        if let Some(problem) = out.iter_mut().find(|p| p.account == named.account) {
            for (label, rule) in named.labels.iter().zip(&named.rules) {
                if !problem.rules.contains(rule) {
                    problem.labels.push(label.clone());
                    problem.rules.push(rule.clone());
                }
            }
            if !named.message.is_empty() && !problem.message.contains(&named.message) {
                problem.message = format!("{}；{}", problem.message, named.message);
            }
            continue;
        }
        let unit_id = register
            .account(&named.account)
            .map_or_else(String::new, |a| a.unit.clone());
        let contact = units
            .iter()
            .find(|u| u.id == unit_id)
            .map_or_else(String::new, |u| u.contact.clone());
        out.push(Problem {
            account: named.account.clone(),
            name: named.name.clone(),
            unit_id,
            unit: named.unit.clone(),
            platform: named.platform.clone(),
            labels: named.labels.clone(),
            rules: named.rules.clone(),
            message: named.message.clone(),
            contact,
            deadline: None,
            is_carried: false,
        });
    }
    out
}

impl Problem {
    /// What to do about each of its problems (整改指引), in rule order.
    pub fn to_do(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter_map(|r| crate::rules::Rule::from_id(r))
            .map(|r| crate::rules::guidance(r, &serde_json::Value::Null))
            .collect()
    }
}

/// The units 附件1 names, each once, in its order (by id).
pub fn units_named(problems: &[Problem]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for p in problems {
        if !out.contains(&p.unit_id.as_str()) {
            out.push(&p.unit_id);
        }
    }
    out
}

/// Whether a problem's deadline has passed on `day` (YYYY-MM-DD both).
pub fn is_overdue(problem: &Problem, day: &str) -> bool {
    problem.deadline.as_deref().is_some_and(|d| d < day)
}

/// The issue date a reader sees: the record's, else the day the draft was generated.
pub fn issue_day(issue: Option<&IssueRecord>, generated_at: &str) -> String {
    issue.map_or_else(
        || generated_at.get(..10).unwrap_or_default().to_string(),
        |i| i.issued_on.clone(),
    )
}
