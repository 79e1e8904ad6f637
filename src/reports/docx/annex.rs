//! The annexes (附件) of the 通报: 问题账号清单, 各单位更新情况 (镇街/部门 as
//! seed 001) and 上期通报整改情况. Pure.

use super::Issue;
use super::content::{AnnexPart, Block, Table, date_cn};
use crate::registry::UnitKind;
use crate::reports::{DEDUCTION_PER_MISS, Report, UnitRow, units_of_kind};

/// The annexes, numbered from 1: three, and 错敏信息明细 when there is any.
pub fn annexes(report: &Report, issue: &Issue<'_>) -> Vec<Block> {
    let mut out = vec![
        Block::Annex {
            number: 1,
            title: "问题账号清单".to_string(),
            parts: problem_list(report, issue),
        },
        Block::Annex {
            number: 2,
            title: "各单位更新情况".to_string(),
            parts: unit_tables(report),
        },
        Block::Annex {
            number: 3,
            title: "上期通报整改情况".to_string(),
            parts: rectification_table(report),
        },
    ];
    if !report.content.items.is_empty() {
        out.push(Block::Annex {
            number: 4,
            title: "错敏信息明细".to_string(),
            parts: content_table(report),
        });
    }
    out
}

/// 附件4: 单位, 账号, 平台, 发布时间, 标题, 问题内容, 建议, 类别.
fn content_table(report: &Report) -> Vec<AnnexPart> {
    let rows = report
        .content
        .items
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                (i + 1).to_string(),
                c.unit.clone(),
                c.name.clone(),
                c.platform.clone(),
                c.published_at.clone(),
                c.title.clone(),
                c.context.clone(),
                c.suggestion.clone(),
                format!("{}（{}）", c.category, c.level),
            ]
        })
        .collect();
    vec![AnnexPart::Table(Table {
        header: [
            "序号",
            "单位",
            "账号",
            "平台",
            "发布时间",
            "标题",
            "问题内容",
            "建议",
            "类别",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        widths: vec![480, 900, 900, 640, 980, 1200, 1640, 1240, 860],
    })]
}

/// The unit's contacts from the scoring rows, a name or phone a line;
/// "未登记联系人" when none.
fn contact_of(report: &Report, unit: &str) -> String {
    report
        .units
        .iter()
        .find(|u| u.name == unit || u.id == unit)
        .map(|u| u.contact.replace(['、', ' '], "\n"))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "未登记联系人".to_string())
}

/// 附件1: the report's problem list, each account once with its problems,
/// its unit's contacts and its 整改期限 (an earlier 通报's when it was
/// already being rectified, marked 逾期 once past).
fn problem_list(report: &Report, issue: &Issue<'_>) -> Vec<AnnexPart> {
    if !report.is_assessable {
        return vec![AnnexPart::Note("本期无巡检记录，无法评定。".to_string())];
    }
    if report.problems.is_empty() {
        return vec![AnnexPart::Note("本期未发现问题账号。".to_string())];
    }
    let today = issue.date.to_string();
    let due_of = |p: &crate::reports::Problem| {
        let deadline = p
            .deadline
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .unwrap_or(issue.deadline);
        let mut due = date_cn(deadline);
        if crate::reports::problems::is_overdue(p, &today) {
            due.push_str("（已逾期）");
        } else if p.is_carried {
            due.push_str("（前次通报）");
        }
        due
    };
    // One deadline for every row is said once, above the table.
    let dues: Vec<String> = report.problems.iter().map(due_of).collect();
    let one_due = dues
        .first()
        .filter(|first| dues.iter().all(|d| d == *first))
        .cloned();
    let rows = report
        .problems
        .iter()
        .zip(&dues)
        .enumerate()
        .map(|(i, (p, due))| {
            let contact = if p.contact.is_empty() {
                contact_of(report, &p.unit)
            } else {
                p.contact.replace(['、', ' '], "\n")
            };
            let mut row = vec![
                (i + 1).to_string(),
                p.unit.clone(),
                p.name.clone(),
                p.platform.clone(),
                p.labels.join("、"),
                contact,
            ];
            if one_due.is_none() {
                row.push(due.clone());
            }
            row
        })
        .collect();
    let mut header: Vec<String> = ["序号", "单位", "账号", "平台", "问题", "联系人"]
        .map(String::from)
        .to_vec();
    let mut parts = Vec::new();
    let widths = match &one_due {
        Some(due) => {
            parts.push(AnnexPart::Note(format!("整改期限：{due}。")));
            vec![520, 1500, 1400, 800, 2250, 2100]
        }
        None => {
            header.push("整改期限".to_string());
            vec![520, 1300, 1200, 750, 1800, 1800, 1450]
        }
    };
    parts.push(AnnexPart::Table(Table {
        header,
        rows,
        widths,
    }));
    // 整改指引 once per kind of problem in the table, in the words alerts use.
    let mut seen: Vec<&str> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for p in &report.problems {
        for (rule, label) in p.rules.iter().zip(&p.labels) {
            if seen.contains(&rule.as_str()) {
                continue;
            }
            seen.push(rule);
            if let Some(rule) = crate::rules::Rule::from_id(rule) {
                let to_do = crate::rules::guidance(rule, &serde_json::Value::Null);
                lines.push(format!("{label}：{to_do}"));
            }
        }
    }
    if !lines.is_empty() {
        parts.push(AnnexPart::Note(format!("整改指引：{}。", lines.join("；"))));
    }
    parts
}

/// Seed 001: one table of 镇街 and one of 部门, sorted as the report sorts them.
fn unit_tables(report: &Report) -> Vec<AnnexPart> {
    let mut parts = vec![AnnexPart::Note(format!(
        "本期可考核周数{}周（每周至少更新一次，不含节假日），每周更新未达标一次扣{}分。",
        report.assessable_weeks, DEDUCTION_PER_MISS
    ))];
    for (kind, title) in [
        (UnitKind::Town, "（一）镇街（园区）"),
        (UnitKind::Department, "（二）部门（单位）"),
    ] {
        let units = units_of_kind(report, kind);
        parts.push(AnnexPart::Heading(title.to_string()));
        if units.is_empty() {
            parts.push(AnnexPart::Note("无。".to_string()));
            continue;
        }
        parts.push(AnnexPart::Table(Table {
            header: ["序号", "单位", "发布", "每周更新未达标次数", "扣分"]
                .map(String::from)
                .to_vec(),
            rows: units
                .iter()
                .enumerate()
                .map(|(i, u)| unit_row(i, u))
                .collect(),
            widths: vec![6, 30, 10, 18, 10],
        }));
    }
    parts
}

/// One unit's row of the score tables: 序号, 单位, 发布, 每周更新未达标次数, 扣分.
pub(super) fn unit_row(i: usize, u: &UnitRow) -> Vec<String> {
    vec![
        (i + 1).to_string(),
        u.name.clone(),
        u.posts.to_string(),
        u.weekly_misses.to_string(),
        format!("{:.1}", u.deduction),
    ]
}

fn rectification_table(report: &Report) -> Vec<AnnexPart> {
    if report.rectification.is_empty() {
        let sentence = crate::reports::render::rectification_sentence(report).unwrap_or_default();
        return vec![AnnexPart::Note(format!("{sentence}。"))];
    }
    let rows = report
        .rectification
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                r.unit.clone(),
                r.name.clone(),
                r.platform.clone(),
                r.label.clone(),
                r.state.label().to_string(),
                r.evidence.clone(),
            ]
        })
        .collect();
    vec![AnnexPart::Table(Table {
        header: [
            "序号",
            "单位",
            "账号",
            "平台",
            "问题",
            "整改情况",
            "核实依据",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        widths: vec![620, 1300, 1300, 900, 1300, 1150, 2270],
    })]
}
