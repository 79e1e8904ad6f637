//! The 评分表 (`--kind scoring`) as seed 001 reads: a short 通报 on how
//! regularly each unit posted, and two annex tables, 镇街（园区） and
//! 部门（单位）, with 发布, 每周更新未达标次数 and 扣分. Pure.

use super::Issue;
use super::content::{AnnexPart, Block, Table, addressees, closing, period_cn, title_parts};
use crate::registry::UnitKind;
use crate::reports::{DEDUCTION_PER_MISS, Report, UnitRow, units_of_kind};

/// How many units with misses the body names, the most misses first.
const NAMED_IN_BODY: usize = 10;

pub(super) fn blocks(report: &Report, issue: &Issue<'_>) -> Vec<Block> {
    let office = &issue.office;
    let j = office.jurisdiction.trim();
    let (long, _) = period_cn(report);
    let towns = units_of_kind(report, UnitKind::Town);
    let departments = units_of_kind(report, UnitKind::Department);
    let posts = |units: &[&UnitRow]| units.iter().map(|u| u.posts).sum::<u64>();
    let mut out = vec![
        Block::Office {
            name: office.name.trim().to_string(),
            doc_number: issue.doc_number.clone(),
            is_draft: issue.is_draft,
        },
        Block::Title(title_parts(report, j)),
        Block::Addressees(addressees(&office.addressees)),
        Block::Body(format!(
            "为进一步加强{j}政务新媒体管理，{}对{long}{}个单位（{}个镇街（园区）、{}个部门（单位））的政务新媒体更新情况进行了统计。现将有关情况通报如下：",
            office.name.trim(),
            towns.len() + departments.len(),
            towns.len(),
            departments.len()
        )),
        Block::Heading1("一、基本情况".to_string()),
        Block::Body(format!(
            "{long}，{j}政务新媒体共发布信息{}条，其中镇街（园区）{}条、部门（单位）{}条。本期可考核周数{}周，每周至少更新一次（不含节假日），不达标一次扣{}分，各单位得分情况见附件。",
            report.posts,
            posts(&towns),
            posts(&departments),
            report.assessable_weeks,
            DEDUCTION_PER_MISS
        )),
        Block::Heading1("二、存在的问题".to_string()),
    ];
    let mut missed: Vec<&UnitRow> = report
        .units
        .iter()
        .filter(|u| u.weekly_misses > 0)
        .collect();
    missed.sort_by(|a, b| {
        b.weekly_misses
            .cmp(&a.weekly_misses)
            .then(a.name.cmp(&b.name))
    });
    if missed.is_empty() {
        out.push(Block::Body("本期各单位均达到每周更新要求。".to_string()));
    } else {
        let named: Vec<String> = missed
            .iter()
            .take(NAMED_IN_BODY)
            .map(|u| format!("{}（{}次）", u.name, u.weekly_misses))
            .collect();
        let more = if missed.len() > NAMED_IN_BODY {
            "等"
        } else {
            ""
        };
        out.push(Block::Body(format!(
            "更新不及时。{}个单位存在每周更新未达标的情况，未达标次数较多的有：{}{more}。",
            missed.len(),
            named.join("、")
        )));
    }
    out.push(Block::Heading1("三、整改工作要求".to_string()));
    out.push(Block::Body(
        "各单位要对照附件，逐周落实政务新媒体更新要求，明确专人负责，确保每周至少更新一次；每周更新未达标次数将计入年底考核成绩。"
            .to_string(),
    ));
    let annexes = [
        (1, UnitKind::Town, "镇街（园区）"),
        (2, UnitKind::Department, "部门（单位）"),
    ]
    .map(|(number, kind, label)| Block::Annex {
        number,
        title: format!("{label}政务新媒体更新情况评分表"),
        parts: table(report, kind, label),
    });
    out.extend(closing(issue, annexes.into()));
    out
}

/// One annex: the units of `kind`, as the report sorts them (by posts), and
/// seed 001's notes under it.
fn table(report: &Report, kind: UnitKind, label: &str) -> Vec<AnnexPart> {
    let units = units_of_kind(report, kind);
    if units.is_empty() {
        return vec![AnnexPart::Note("无。".to_string())];
    }
    let rows = units
        .iter()
        .enumerate()
        .map(|(i, u)| super::annex::unit_row(i, u))
        .collect();
    vec![
        AnnexPart::Table(Table {
            header: vec![
                "序号".to_string(),
                label.to_string(),
                "发布".to_string(),
                "每周更新未达标次数".to_string(),
                "扣分".to_string(),
            ],
            rows,
            widths: vec![6, 30, 10, 18, 10],
        }),
        AnnexPart::Note(format!(
            "注：1．统计期间为{}；2．按发布条数排序；3．每周至少更新一次即当周达标（不含节假日），不达标一次扣{}分；4．本期可考核周数{}周。",
            period_cn(report).0,
            DEDUCTION_PER_MISS,
            report.assessable_weeks
        )),
    ]
}
