//! The invariants every report keeps: each heading count equals the length of
//! its list, each list names an account once, platforms and units add up to
//! the totals, and the chat text and Markdown print the same numbers as the
//! data (JSON is the data; the XLSX is checked in the tests).
//!
//! A report that breaks one is a bug: tests assert there are none, and a
//! scheduled report logs them before it goes out.

use super::{RectificationState, Report, render};
use std::collections::BTreeSet;

/// Every broken invariant, in words; empty when the report adds up.
pub fn discrepancies(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            out.push(what);
        }
    };
    let s = &report.summary;
    check(
        s.assessed == s.qualified + s.failed + s.closing,
        format!("参与评定 {} ≠ 合格+不合格+正在注销", s.assessed),
    );
    for (name, total, sum) in [
        (
            "参与评定",
            s.assessed,
            report.by_platform.iter().map(|p| p.summary.assessed).sum(),
        ),
        (
            "合格",
            s.qualified,
            report.by_platform.iter().map(|p| p.summary.qualified).sum(),
        ),
        (
            "不合格",
            s.failed,
            report.by_platform.iter().map(|p| p.summary.failed).sum(),
        ),
        (
            "正在注销",
            s.closing,
            report.by_platform.iter().map(|p| p.summary.closing).sum(),
        ),
        (
            "无法监测",
            s.unknown,
            report.by_platform.iter().map(|p| p.summary.unknown).sum(),
        ),
        (
            "人工检查",
            s.manual,
            report.by_platform.iter().map(|p| p.summary.manual).sum(),
        ),
        (
            "发布信息",
            report.posts,
            report.by_platform.iter().map(|p| p.posts).sum(),
        ),
        (
            "发布信息（按单位）",
            report.posts,
            report.units.iter().map(|u| u.posts).sum(),
        ),
        (
            "超期更新次数",
            report.stale_incidents,
            report.by_platform.iter().map(|p| p.stale_incidents).sum(),
        ),
        (
            "超期更新次数（按巡检）",
            report.stale_incidents,
            report.trend.iter().map(|t| t.stale_incidents).sum(),
        ),
        ("巡检次数", report.inspections, report.trend.len() as u64),
    ] {
        check(
            total == sum,
            format!("{name}：合计 {total}，分项之和 {sum}"),
        );
    }
    let failing: Vec<&str> = report
        .failing
        .iter()
        .flat_map(|g| g.accounts.iter().map(|a| a.account.as_str()))
        .collect();
    check(
        failing.len() as u64 == s.failed,
        format!("不合格 {} 个，名单 {} 个", s.failed, failing.len()),
    );
    check(
        report.unknown.len() as u64 == s.unknown,
        format!(
            "无法监测 {} 个，名单 {} 个",
            s.unknown,
            report.unknown.len()
        ),
    );
    check(
        report.manual.len() as u64 == s.manual,
        format!("人工检查 {} 个，名单 {} 个", s.manual, report.manual.len()),
    );
    for (name, list) in [
        ("不合格", failing.clone()),
        (
            "人工检查",
            report.manual.iter().map(|a| a.account.as_str()).collect(),
        ),
        (
            "无法监测",
            report.unknown.iter().map(|a| a.account.as_str()).collect(),
        ),
        (
            "以转发为主",
            report.reposts.iter().map(|a| a.account.as_str()).collect(),
        ),
        (
            "备案问题",
            report.filing.iter().map(|a| a.account.as_str()).collect(),
        ),
    ] {
        let distinct: BTreeSet<&str> = list.iter().copied().collect();
        check(
            distinct.len() == list.len(),
            format!("{name}名单中有账号重复出现"),
        );
    }
    let in_failing: BTreeSet<&str> = failing.iter().copied().collect();
    check(
        report
            .unknown
            .iter()
            .all(|a| !in_failing.contains(a.account.as_str())),
        "无法监测名单中有已计为不合格的账号".to_string(),
    );
    if let Some(last) = report.trend.last() {
        check(
            last.summary == *s,
            "最近一次巡检的评定与趋势末项不一致".to_string(),
        );
    }
    check(
        report.is_assessable == (report.inspections > 0),
        "无巡检记录却给出评定".to_string(),
    );
    let text = render::text(report);
    let markdown = render::markdown(report);
    if report.is_assessable {
        let sentence = render::verdict_sentence(s);
        check(text.contains(&sentence), format!("正文缺少「{sentence}」"));
        check(
            markdown.contains(&sentence),
            format!("Markdown 缺少「{sentence}」"),
        );
        let heading = format!("### 不合格账号（{}个）", s.failed);
        check(
            markdown.contains(&heading),
            format!("Markdown 缺少「{heading}」"),
        );
        if s.failed > 0 {
            let line = format!("不合格账号{}个：", s.failed);
            check(text.contains(&line), format!("正文缺少「{line}」"));
        }
        for group in &report.failing {
            let heading = format!("#### {}（{}个）", group.label, group.accounts.len());
            check(
                markdown.contains(&heading),
                format!("Markdown 缺少「{heading}」"),
            );
        }
        let posts = format!("共发布信息{}条", report.posts);
        check(text.contains(&posts), format!("正文缺少「{posts}」"));
    } else {
        check(
            text.contains("本期无巡检记录，无法评定")
                && markdown.contains("本期无巡检记录，无法评定"),
            "无巡检记录的通报未说明无法评定".to_string(),
        );
    }
    for (name, list) in [
        ("无法监测", &report.unknown),
        ("以转发为主、缺少原创", &report.reposts),
        ("备案问题", &report.filing),
    ] {
        if !list.is_empty() {
            let heading = format!("### {name}（{}个）", list.len());
            check(
                markdown.contains(&heading),
                format!("Markdown 缺少「{heading}」"),
            );
        }
    }
    if let Some(sentence) = render::rectification_sentence(report) {
        check(text.contains(&sentence), format!("正文缺少「{sentence}」"));
        check(
            markdown.contains(&sentence),
            format!("Markdown 缺少「{sentence}」"),
        );
        let fixed_without_evidence = report
            .rectification
            .iter()
            .any(|r| r.state == RectificationState::Fixed && !r.evidence.contains("巡检"));
        check(!fixed_without_evidence, "已整改项缺少巡检依据".to_string());
    }
    // 错敏信息: the count, the units' counts and the annex list agree, and
    // the text and Markdown print the sentence.
    let c = &report.content;
    check(
        c.total == c.items.len() as u64,
        format!("错敏信息 {} 条 ≠ 明细 {} 条", c.total, c.items.len()),
    );
    check(
        c.total == c.by_unit.iter().map(|u| u.count).sum::<u64>(),
        format!("错敏信息 {} 条 ≠ 各单位之和", c.total),
    );
    check(
        c.severe <= c.total && c.personal_data <= c.total,
        "错敏信息严重或个人信息条数超过总数".to_string(),
    );
    if let Some(sentence) = super::content::sentence(c) {
        check(text.contains(&sentence), format!("正文缺少「{sentence}」"));
        check(
            markdown.contains(&sentence),
            format!("Markdown 缺少「{sentence}」"),
        );
    }
    out
}
