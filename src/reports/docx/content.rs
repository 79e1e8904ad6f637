//! What the 通报 says, as blocks: Report + office settings in, the document's
//! paragraphs and annex tables out (laid out by `layout`). Pure.

use super::{Issue, findings};
use crate::reports::Report;
use crate::reports::render::{incidents_sentence, rectification_sentence, verdict_sentence};
use chrono::{Datelike, NaiveDate};

/// One block of the document, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// 版头: 发文机关标志, 发文字号 (when issued with one) and the red line
    /// under them; a draft says so above.
    Office {
        name: String,
        doc_number: Option<String>,
        is_draft: bool,
    },
    /// The title in the parts a line may break between.
    Title(Vec<String>),
    /// 主送机关.
    Addressees(String),
    /// 一级标题 "一、基本情况".
    Heading1(String),
    /// 二级标题 "（一）检查情况".
    Heading2(String),
    /// A body paragraph, first line indented two characters.
    Body(String),
    /// 附件说明: "附件：1．问题账号清单" and the following names.
    AnnexNote(Vec<String>),
    /// 发文机关署名 and 成文日期.
    Signature { office: String, date: String },
    /// 版记 at the end: 抄送 (when set), 印发机关 and 印发日期 between lines.
    Colophon {
        cc: Option<String>,
        office: String,
        date: String,
    },
    /// An annex on a new page: "附件1", its title and its tables.
    Annex {
        number: usize,
        title: String,
        parts: Vec<AnnexPart>,
    },
}

/// A part of an annex: a note or a table.
#[derive(Debug, Clone, PartialEq)]
pub enum AnnexPart {
    /// A 二级标题 within the annex: "（一）镇街（园区）".
    Heading(String),
    Note(String),
    Table(Table),
}

/// An annex table: the header row, the rows (a "\n" in a cell starts a new
/// line) and each column's share of the width.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Relative column widths.
    pub widths: Vec<usize>,
}

/// "2026年11月23日" (GB/T 9704-2012 7.3.5.4: Arabic numerals, no leading zeros).
pub fn date_cn(date: NaiveDate) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

pub(super) fn month_day(date: NaiveDate) -> String {
    format!("{}月{}日", date.month(), date.day())
}

fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// "90%", "87.5%", "—".
pub fn percent_cn(rate: Option<f64>) -> String {
    crate::reports::render::percent(rate)
}

/// 一 … 十: quarters, ordinals and headings.
pub fn numeral_cn(n: usize) -> String {
    const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        1..=9 => DIGITS[n].to_string(),
        10 => "十".to_string(),
        11..=19 => format!("十{}", DIGITS[n - 10]),
        20..=99 => format!("{}十{}", DIGITS[n / 10], DIGITS[n % 10]),
        _ => n.to_string(),
    }
}

/// The period as the 通报 names it: (long with the year, short within the text).
/// "2026年10月份"/"10月份", "2026年第三季度"/"第三季度", else "2026年1月1日至5月30日".
pub fn period_cn(report: &Report) -> (String, String) {
    let (Some(from), Some(to)) = (parse_day(&report.from), parse_day(&report.to)) else {
        return (
            format!("{}至{}", report.from, report.to),
            format!("{}至{}", report.from, report.to),
        );
    };
    let is_whole_month = from.day() == 1 && to.succ_opt().is_some_and(|d| d.day() == 1);
    let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1;
    if is_whole_month && months == 1 {
        let short = format!("{}月份", from.month());
        return (format!("{}年{short}", from.year()), short);
    }
    if is_whole_month && months == 12 && from.month() == 1 {
        return (format!("{}年度", from.year()), "本年度".to_string());
    }
    if is_whole_month && months == 3 && from.month() % 3 == 1 {
        let short = format!("第{}季度", numeral_cn(from.month0() as usize / 3 + 1));
        return (format!("{}年{short}", from.year()), short);
    }
    let end = if to.year() == from.year() {
        if to.month() == from.month() {
            format!("{}日", to.day())
        } else {
            month_day(to)
        }
    } else {
        date_cn(to)
    };
    let short = format!("{}至{end}", month_day(from));
    (format!("{}年{short}", from.year()), short)
}

/// "关于2026年10月份全区政务新媒体检查情况的通报"; a period in progress says 截至.
pub fn title(report: &Report, jurisdiction: &str) -> String {
    title_parts(report, jurisdiction).concat()
}

/// The title in the parts a line may break between, keeping words whole
/// (GB/T 9704-2012 7.3.3): "关于2026年10月份", "全区政务新媒体", "检查情况的通报".
pub fn title_parts(report: &Report, jurisdiction: &str) -> Vec<String> {
    let (long, _) = period_cn(report);
    let period = match parse_day(&report.as_of) {
        Some(day) if report.is_in_progress => format!("{long}（截至{}）", month_day(day)),
        _ => long,
    };
    let what = if report.kind == "scoring" {
        "更新情况"
    } else {
        "检查情况"
    };
    vec![
        format!("关于{period}"),
        format!("{jurisdiction}政务新媒体"),
        format!("{what}的通报"),
    ]
}

/// The whole document.
pub fn blocks(report: &Report, issue: &Issue<'_>) -> Vec<Block> {
    if report.kind == "scoring" {
        return super::scoring::blocks(report, issue);
    }
    let office = &issue.office;
    let mut out = vec![
        Block::Office {
            name: office.name.trim().to_string(),
            doc_number: issue.doc_number.clone(),
            is_draft: issue.is_draft,
        },
        Block::Title(title_parts(report, &office.jurisdiction)),
        Block::Addressees(addressees(&office.addressees)),
        Block::Body(opening(report, issue)),
        Block::Heading1("一、基本情况".to_string()),
    ];
    out.extend(basics(report, issue));
    out.push(Block::Heading1("二、存在的主要问题".to_string()));
    out.extend(findings::problems(report).into_iter().map(Block::Body));
    out.push(Block::Heading1("三、整改要求".to_string()));
    out.extend(
        findings::requirements(report, issue)
            .into_iter()
            .map(Block::Body),
    );
    out.extend(closing(issue, super::annex::annexes(report, issue)));
    out
}

/// The end of every 通报: 附件说明, the signature and date, the annexes,
/// then the 版记.
pub(super) fn closing(issue: &Issue<'_>, annexes: Vec<Block>) -> Vec<Block> {
    let office = &issue.office;
    let mut out = vec![
        Block::AnnexNote(
            annexes
                .iter()
                .map(|a| match a {
                    Block::Annex { title, .. } => title.clone(),
                    _ => String::new(),
                })
                .collect(),
        ),
        Block::Signature {
            office: office.name.trim().to_string(),
            date: date_cn(issue.date),
        },
    ];
    out.extend(annexes);
    let cc = office.cc.trim();
    out.push(Block::Colophon {
        cc: (!cc.is_empty()).then(|| cc.trim_end_matches(['。', '.']).to_string()),
        office: office.name.trim().to_string(),
        date: date_cn(issue.date),
    });
    out
}

pub(super) fn addressees(text: &str) -> String {
    let text = text.trim().trim_end_matches([':', '：']);
    format!("{text}：")
}

fn opening(report: &Report, issue: &Issue<'_>) -> String {
    let j = &issue.office.jurisdiction;
    let (long, _) = period_cn(report);
    let checked = if report.is_assessable {
        format!(
            "{}对{long}{j}政务新媒体运维情况开展了{}次检查",
            issue.office.name.trim(),
            report.inspections
        )
    } else {
        format!(
            "{}对{long}{j}政务新媒体运维情况进行了统计。本期无巡检记录，无法评定",
            issue.office.name.trim()
        )
    };
    format!(
        "为进一步加强{j}政务新媒体管理，根据《国务院办公厅关于推进政务新媒体健康有序发展的意见》（国办发〔2018〕123号）有关要求，{checked}。现将有关情况通报如下："
    )
}

fn basics(report: &Report, issue: &Issue<'_>) -> Vec<Block> {
    let j = &issue.office.jurisdiction;
    let (_, short) = period_cn(report);
    let mut out = vec![Block::Heading2("（一）检查情况".to_string())];
    let sum = |f: fn(&crate::reports::PlatformRow) -> u64| -> u64 {
        report.by_platform.iter().map(f).sum()
    };
    let register = format!(
        "{j}登记政务新媒体账号{}个，其中正常运维{}个、正在注销{}个、已注销{}个",
        sum(|p| p.accounts),
        sum(|p| p.active),
        sum(|p| p.closing),
        sum(|p| p.deregistered)
    );
    if report.is_assessable {
        let last = report
            .last_inspection_at
            .as_deref()
            .and_then(parse_day)
            .map_or_else(String::new, |d| format!("，最近一次检查为{}", month_day(d)));
        out.push(Block::Body(format!(
            "{short}，{}共组织{j}政务新媒体检查{}次{last}。{register}。",
            issue.office.name.trim(),
            report.inspections
        )));
    } else {
        out.push(Block::Body(format!(
            "{short}未开展政务新媒体检查，本期无巡检记录，无法评定。{register}。"
        )));
    }
    out.push(Block::Heading2("（二）信息发布情况".to_string()));
    out.push(Block::Body(posts_sentence(report, j, &short)));
    if report.is_assessable {
        out.push(Block::Heading2("（三）更新情况".to_string()));
        out.push(Block::Body(updates_sentence(report, j)));
        out.push(Block::Heading2("（四）合格情况".to_string()));
        out.push(Block::Body(verdicts_sentence(report)));
    }
    out.push(Block::Heading2(format!(
        "（{}）上期通报整改情况",
        numeral_cn(if report.is_assessable { 5 } else { 3 })
    )));
    out.push(Block::Body(rectification_paragraph(report)));
    out
}

fn posts_sentence(report: &Report, j: &str, short: &str) -> String {
    let by: Vec<String> = report
        .by_platform
        .iter()
        .filter(|p| p.posts > 0)
        .map(|p| format!("{}{}条", p.label, p.posts))
        .collect();
    let original: u64 = report.by_platform.iter().map(|p| p.original_posts).sum();
    let repost: u64 = report.by_platform.iter().map(|p| p.repost_posts).sum();
    let mut text = format!("{short}，{j}政务新媒体共发布信息{}条", report.posts);
    if !by.is_empty() {
        text.push_str(&format!("，其中{}", by.join("、")));
        text.push_str(&format!("；原创{original}条，转发{repost}条"));
    }
    text.push('。');
    text
}

fn updates_sentence(report: &Report, j: &str) -> String {
    let mut text = format!("{j}政务新媒体{}", incidents_sentence(report));
    let shares: Vec<String> = report
        .by_platform
        .iter()
        .filter(|p| p.stale_accounts > 0)
        .map(|p| {
            format!(
                "{}的政务{}超期更新（{}个账号中{}个）",
                percent_cn(p.stale_share),
                p.label,
                p.summary.assessed,
                p.stale_accounts
            )
        })
        .collect();
    if !shares.is_empty() {
        text.push_str(&format!("。按平台统计，{}", shares.join("，")));
    }
    text.push_str(&format!(
        "。本期可考核周数{}周，各单位每周更新情况见附件2。",
        report.assessable_weeks
    ));
    text
}

fn verdicts_sentence(report: &Report) -> String {
    let at = report
        .last_inspection_at
        .as_deref()
        .and_then(parse_day)
        .map_or_else(String::new, |d| format!("（{}）", month_day(d)));
    let mut text = format!("最近一次检查{at}，{}", verdict_sentence(&report.summary));
    let lines: Vec<String> = report
        .by_platform
        .iter()
        .filter(|p| p.summary.assessed + p.summary.unknown > 0)
        .map(|p| {
            let s = &p.summary;
            let mut line = format!("{}合格{}个、不合格{}个", p.label, s.qualified, s.failed);
            if s.closing > 0 {
                line.push_str(&format!("、正在注销{}个", s.closing));
            }
            if s.unknown > 0 {
                line.push_str(&format!("、无法监测{}个", s.unknown));
            }
            if s.manual > 0 {
                line.push_str(&format!("、人工检查{}个", s.manual));
            }
            format!(
                "{line}，合格率{}",
                crate::reports::render::pass_rate(s.pass_rate)
            )
        })
        .collect();
    if !lines.is_empty() {
        text.push_str(&format!("。分平台看，{}", lines.join("；")));
    }
    text.push('。');
    text
}

fn rectification_paragraph(report: &Report) -> String {
    use crate::reports::RectificationState as S;
    let sentence = rectification_sentence(report).unwrap_or_default();
    if report.rectification.is_empty() {
        return format!("{sentence}。");
    }
    let mut text = format!("截至{}，{sentence}", as_of_cn(report));
    let open: Vec<String> = report
        .rectification
        .iter()
        .filter(|r| r.state == S::Open)
        .map(|r| format!("{}“{}”（{}）", r.unit, r.name, r.label))
        .collect();
    if !open.is_empty() {
        text.push_str(&format!("。仍未整改的有：{}", open.join("、")));
    }
    text.push_str("。详细情况见附件3。");
    text
}

fn as_of_cn(report: &Report) -> String {
    parse_day(&report.as_of).map_or_else(|| report.as_of.clone(), month_day)
}
