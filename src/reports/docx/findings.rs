//! 二、存在的主要问题 and 三、整改要求: the findings named, the units they
//! concern, and the configured requirements with the 整改期限. Pure.

use super::Issue;
use super::content::{date_cn, numeral_cn};
use crate::reports::{Named, Report};

/// "区市政管理局“市政兰山”（公众号）" for each account, at most `shown`.
fn names(list: &[Named], shown: usize) -> String {
    let mut text = list
        .iter()
        .take(shown)
        .map(|a| format!("{}“{}”（{}）", a.unit, a.name, a.platform))
        .collect::<Vec<_>>()
        .join("、");
    if list.len() > shown {
        text.push_str(&format!("等{}个账号", list.len()));
    }
    text
}

/// 二、存在的主要问题: "一是…。二是…。", then the units named.
pub(super) fn problems(report: &Report) -> Vec<String> {
    if !report.is_assessable {
        return vec!["本期无巡检记录，无法评定。".to_string()];
    }
    let mut items: Vec<String> = Vec::new();
    if !report.failing.is_empty() {
        let groups: Vec<String> = report
            .failing
            .iter()
            .map(|g| {
                format!(
                    "{}{}个：{}",
                    g.label,
                    g.accounts.len(),
                    names(&g.accounts, 10)
                )
            })
            .collect();
        items.push(format!(
            "部分账号更新不及时、管理不规范。最近一次检查中不合格账号{}个，其中{}",
            report.summary.failed,
            groups.join("；")
        ));
    }
    if !report.reposts.is_empty() {
        items.push(format!(
            "部分账号发布内容以转发为主，缺少原创。本期共{}个账号：{}",
            report.reposts.len(),
            names(&report.reposts, 10)
        ));
    }
    if !report.filing.is_empty() {
        items.push(format!(
            "账号备案管理不规范。本期共{}个账号存在名称变更、重复开设或注销未备案等问题：{}",
            report.filing.len(),
            names(&report.filing, 10)
        ));
    }
    if !report.unknown.is_empty() {
        items.push(format!(
            "部分账号无法正常监测。最近一次检查中{}个账号无法监测：{}，请相关单位核实账号状态",
            report.unknown.len(),
            names(&report.unknown, 10)
        ));
    }
    if !report.manual.is_empty() {
        items.push(format!(
            "{}个账号无订阅来源，未纳入自动检查：{}，请相关单位按要求自查并报送更新情况",
            report.manual.len(),
            names(&report.manual, 10)
        ));
    }
    if let Some(sentence) = crate::reports::content::sentence(&report.content) {
        items.push(format!(
            "部分账号发布信息把关不严。本期{}，详见附件4",
            sentence.trim_end_matches('。')
        ));
    }
    if let Some(sentence) = &report.content.tasks_sentence {
        items.push(format!(
            "部分单位重要转载任务落实不到位。{}",
            sentence.trim_end_matches('。')
        ));
    }
    if items.is_empty() {
        return vec!["本期检查未发现不合格账号及其他问题。".to_string()];
    }
    let mut out: Vec<String> = items
        .into_iter()
        .enumerate()
        .map(|(i, text)| format!("{}是{text}。", numeral_cn(i + 1)))
        .collect();
    let units = problem_units(report);
    if units.is_empty() {
        return out;
    }
    out.push(format!(
        "以上问题涉及{}个单位：{}。问题账号清单见附件1。",
        units.len(),
        units.join("、")
    ));
    out
}

/// Units with a problem account, in order of first mention.
/// (附件1's units: the units told to rectify.)
pub fn problem_units(report: &Report) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    for p in &report.problems {
        if !units.contains(&p.unit) {
            units.push(p.unit.clone());
        }
    }
    units
}

/// 三、整改要求: the configured paragraphs with the deadline; paragraphs
/// about the deadline are left out when nothing needs fixing.
pub(super) fn requirements(report: &Report, issue: &Issue<'_>) -> Vec<String> {
    use crate::config::DEADLINE_PLACEHOLDER;
    let has_problems = !problem_units(report).is_empty();
    let deadline = date_cn(issue.deadline);
    let mut out: Vec<String> = issue
        .office
        .requirements
        .iter()
        .filter(|p| has_problems || !p.contains(DEADLINE_PLACEHOLDER))
        .map(|p| p.trim().replace(DEADLINE_PLACEHOLDER, &deadline))
        .collect();
    let mentions_deadline = issue
        .office
        .requirements
        .iter()
        .any(|p| p.contains(DEADLINE_PLACEHOLDER));
    if has_problems && !mentions_deadline {
        out.push(format!(
            "本次通报涉及的问题，相关单位务必于{deadline}前整改完成。"
        ));
    }
    if out.is_empty() {
        out.push("本期未发现需要整改的问题，请各单位继续做好政务新媒体日常运维。".to_string());
    }
    out
}
