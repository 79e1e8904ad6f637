//! Report → chat text (short) and Markdown (full).

use super::{Report, units_of_kind};
use crate::escape::markdown as esc;
use crate::registry::UnitKind;
use std::fmt::Write as _;

/// Posts neither original nor reposts (the classifier could not tell):
/// 原创 + 转发 + 其他 = 发布 in every table.
pub fn other_posts(p: &super::PlatformRow) -> u64 {
    p.posts
        .saturating_sub(p.original_posts)
        .saturating_sub(p.repost_posts)
}

/// A share as every format writes it: one decimal, none when it is whole
/// ("90%", "66.7%"); "—" when there is nothing to divide by.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => {
            let text = format!("{:.1}", r * 100.0);
            format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
        }
        None => "—".to_string(),
    }
}

/// The 合格率 as every format writes it: [`percent`], or "无法评定" when no
/// account could be assessed (never 100% or 0%).
pub fn pass_rate(rate: Option<f64>) -> String {
    match rate {
        Some(_) => percent(rate),
        None => "无法评定".to_string(),
    }
}

fn share(rate: Option<f64>) -> String {
    percent(rate)
}

/// The incidents sentence of seed 000: "共出现7次超期更新情况，其中公众号1次、…".
pub fn incidents_sentence(report: &Report) -> String {
    let parts: Vec<String> = report
        .by_platform
        .iter()
        .filter(|p| p.stale_incidents > 0)
        .map(|p| format!("{}{}次", p.label, p.stale_incidents))
        .collect();
    if parts.is_empty() {
        return "未出现超期更新情况".to_string();
    }
    format!(
        "共出现{}次超期更新情况，其中{}",
        report.stale_incidents,
        parts.join("、")
    )
}

/// The verdict line: "合格70个，不合格8个，正在注销2个，合格率90.0%".
pub fn verdict_sentence(s: &crate::rules::Summary) -> String {
    let mut out = format!(
        "共{}个账号参与评定，合格{}个，不合格{}个，正在注销{}个，合格率{}",
        s.assessed,
        s.qualified,
        s.failed,
        s.closing,
        pass_rate(s.pass_rate)
    );
    if s.unknown > 0 {
        // 无法监测 accounts are not assessed (DOMAIN.md); say so beside the rate.
        out.push_str(&format!("；另有{}个账号无法监测，未纳入评定", s.unknown));
    }
    if s.manual > 0 {
        out.push_str(&format!(
            "；{}个账号无订阅来源，由人工检查，未纳入评定",
            s.manual
        ));
    }
    out
}

/// "【超两周未更新3个】区市政管理局「市政兰山」(公众号)、…", at most `shown` names.
fn named_line(title: &str, list: &[super::Named], shown: usize) -> String {
    let names: Vec<String> = list
        .iter()
        .take(shown)
        .map(|a| format!("{}「{}」({})", a.unit, a.name, a.platform))
        .collect();
    let more = if list.len() > shown { "等" } else { "" };
    format!("【{title}】{}{more}", names.join("、"))
}

/// "上期通报问题5项：3项已整改，1项未整改，1项无法核实；截至11月23日，仍有2个单位未整改"
/// (states with none left out).
pub fn rectification_sentence(report: &Report) -> Option<String> {
    use super::RectificationState as S;
    // 上期通报 only when one was issued; otherwise the inspection before the period.
    let previous = match &report.previous_report {
        Some(title) => format!("上期通报《{title}》"),
        None => "上期巡检".to_string(),
    };
    if report.rectification.is_empty() {
        return Some(match &report.previous_report {
            Some(_) => format!("{previous}无需整改的问题"),
            None => "无上期通报".to_string(),
        });
    }
    let count = |state: S| {
        report
            .rectification
            .iter()
            .filter(|r| r.state == state)
            .count()
    };
    let parts: Vec<String> = S::ALL
        .into_iter()
        .filter(|state| count(*state) > 0)
        .map(|state| format!("{}项{}", count(state), state.label()))
        .collect();
    let mut sentence = format!(
        "{previous}问题{}项：{}",
        report.rectification.len(),
        parts.join("，")
    );
    let open_units: std::collections::BTreeSet<&str> = report
        .rectification
        .iter()
        .filter(|r| matches!(r.state, S::Open | S::Overdue | S::Responded))
        .map(|r| r.unit.as_str())
        .collect();
    if !open_units.is_empty() {
        let day = chrono::NaiveDate::parse_from_str(&report.as_of, "%Y-%m-%d")
            .map(|d| {
                format!(
                    "{}月{}日",
                    chrono::Datelike::month(&d),
                    chrono::Datelike::day(&d)
                )
            })
            .unwrap_or_else(|_| report.as_of.clone());
        sentence.push_str(&format!(
            "；截至{day}，仍有{}个单位未整改",
            open_units.len()
        ));
    }
    Some(sentence)
}

/// A short summary that fits one chat message.
/// For the 政府信息公开工作年度报告 (seed 003): "通过政务微博公开信息1045条，
/// 通过政务微信公开信息4576条…", the WeChat kinds counted together.
pub fn annual_sentence(report: &Report) -> String {
    let mut counts: Vec<(String, u64)> = Vec::new();
    for p in &report.by_platform {
        let label = match p.platform.as_str() {
            "wechat_subscription" | "wechat_service" => "微信".to_string(),
            _ => p.label.clone(),
        };
        match counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += p.posts,
            None => counts.push((label, p.posts)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(label, n)| format!("通过政务{label}公开信息{n}条"))
        .collect();
    if parts.is_empty() {
        "本年度政务新媒体未发布信息".to_string()
    } else {
        format!("{}，合计{}条", parts.join("，"), report.posts)
    }
}

/// "第一季度：合格率90%（微博 100%、抖音 无法评定）".
fn quarter_lines(report: &Report) -> Vec<String> {
    report
        .quarters
        .iter()
        .map(|q| {
            let platforms: Vec<String> = q
                .by_platform
                .iter()
                .map(|(label, s)| format!("{label}{}", pass_rate(s.pass_rate)))
                .collect();
            format!(
                "第{}季度（巡检{}次）：合格率{}（{}）",
                ["一", "二", "三", "四"]
                    .get((q.quarter as usize).saturating_sub(1))
                    .copied()
                    .unwrap_or(""),
                q.inspections,
                pass_rate(q.summary.pass_rate),
                platforms.join("、")
            )
        })
        .collect()
}

pub fn text(report: &Report) -> String {
    let mut out = format!("{}\n", report.title);
    if report.kind == "annual" {
        let accounts: u64 = report.by_platform.iter().map(|p| p.accounts).sum();
        let _ = writeln!(out, "{}。", annual_sentence(report));
        let _ = writeln!(
            out,
            "登记政务新媒体账号{accounts}个（{}）。",
            report
                .by_platform
                .iter()
                .filter(|p| p.accounts > 0)
                .map(|p| format!("{}{}个", p.label, p.accounts))
                .collect::<Vec<_>>()
                .join("、")
        );
        for line in quarter_lines(report) {
            let _ = writeln!(out, "{line}");
        }
        if report.quarters.is_empty() {
            let _ = writeln!(out, "本年度无巡检记录，无法评定。");
        }
        // Then what every report says, as of the year's last inspection.
    }
    let posts: Vec<String> = report
        .by_platform
        .iter()
        .filter(|p| p.posts > 0)
        .map(|p| format!("{}{}条", p.label, p.posts))
        .collect();
    if !report.is_assessable {
        let _ = writeln!(
            out,
            "本期无巡检记录，无法评定（共发布信息{}条）。",
            report.posts
        );
        if let Some(sentence) = rectification_sentence(report) {
            let _ = writeln!(out, "{sentence}。");
        }
        return crate::parse::truncate(out.trim_end(), 3800);
    }
    let _ = writeln!(
        out,
        "本期开展巡检{}次，共发布信息{}条{}。",
        report.inspections,
        report.posts,
        if posts.is_empty() {
            String::new()
        } else {
            format!("（{}）", posts.join("、"))
        }
    );
    let _ = write!(out, "{}", incidents_sentence(report));
    let shares: Vec<String> = report
        .by_platform
        .iter()
        .filter(|p| p.stale_accounts > 0)
        .map(|p| format!("{}的政务{}超期更新", share(p.stale_share), p.label))
        .collect();
    if !shares.is_empty() {
        let _ = write!(out, "；{}", shares.join("，"));
    }
    out.push_str("。\n");
    let _ = writeln!(
        out,
        "最近一次巡检（{}）：{}。",
        report.last_inspection_at.as_deref().unwrap_or("—"),
        verdict_sentence(&report.summary)
    );
    if report.summary.failed > 0 {
        let _ = writeln!(out, "不合格账号{}个：", report.summary.failed);
        for group in &report.failing {
            let title = format!("{}{}个", group.label, group.accounts.len());
            let _ = writeln!(out, "{}", named_line(&title, &group.accounts, 8));
        }
    }
    if !report.unknown.is_empty() {
        let title = format!("无法监测{}个", report.unknown.len());
        let _ = writeln!(out, "{}", named_line(&title, &report.unknown, 8));
    }
    if !report.manual.is_empty() {
        let title = format!("人工检查{}个", report.manual.len());
        let _ = writeln!(out, "{}", named_line(&title, &report.manual, 8));
    }
    if !report.reposts.is_empty() {
        let _ = writeln!(
            out,
            "以转发为主或缺少原创：{}个账号。",
            report.reposts.len()
        );
    }
    if !report.filing.is_empty() {
        let _ = writeln!(out, "备案问题：{}个账号。", report.filing.len());
    }
    if let Some(sentence) = super::content::sentence(&report.content) {
        let _ = writeln!(out, "{sentence}");
    }
    if let Some(sentence) = &report.content.tasks_sentence {
        let _ = writeln!(out, "{sentence}");
    }
    if let Some(sentence) = rectification_sentence(report) {
        let _ = writeln!(out, "{sentence}。");
    }
    crate::parse::truncate(out.trim_end(), 3800)
}

/// The whole report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = format!("# {}\n\n", esc(&report.title));
    if report.kind == "annual" {
        let _ = writeln!(out, "{}。\n", annual_sentence(report));
        let _ = writeln!(out, "## 各季度合格率\n");
        for line in quarter_lines(report) {
            let _ = writeln!(out, "- {}", esc(&line));
        }
        if report.quarters.is_empty() {
            let _ = writeln!(out, "本年度无巡检记录，无法评定。");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "统计期：{} 至 {}{}  \n生成时间：{}  \n巡检次数：{}  \n可考核周数：{}\n",
        report.from,
        report.to,
        if report.is_in_progress {
            format!("（截至 {}，统计期尚未结束）", report.as_of)
        } else {
            String::new()
        },
        report.generated_at,
        report.inspections,
        report.assessable_weeks
    );
    if !report.is_assessable {
        let _ = writeln!(out, "本期无巡检记录，无法评定。\n");
    }
    let s = &report.summary;
    let _ = writeln!(out, "## 一、总体情况\n");
    if report.is_assessable {
        let _ = writeln!(out, "{}。\n", incidents_sentence(report));
        let _ = writeln!(
            out,
            "最近一次巡检（{}）：{}。\n",
            report.last_inspection_at.as_deref().unwrap_or("—"),
            verdict_sentence(s)
        );
    }
    let _ = writeln!(
        out,
        "| 平台 | 账号 | 正常运维 | 正在注销 | 已注销 | 发布 | 原创 | 转发 | 其他 | 超期次数 | 超期账号占比 | 合格 | 不合格 | 评定为正在注销 | 无法监测 | 合格率 |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for p in &report.by_platform {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            esc(&p.label),
            p.accounts,
            p.active,
            p.closing,
            p.deregistered,
            p.posts,
            p.original_posts,
            p.repost_posts,
            other_posts(p),
            p.stale_incidents,
            share(p.stale_share),
            p.summary.qualified,
            p.summary.failed,
            p.summary.closing,
            p.summary.unknown,
            pass_rate(p.summary.pass_rate)
        );
    }
    let sum = |f: fn(&super::PlatformRow) -> u64| report.by_platform.iter().map(f).sum::<u64>();
    let _ = writeln!(
        out,
        "| 合计 | {} | {} | {} | {} | {} | {} | {} | {} | {} | — | {} | {} | {} | {} | {} |",
        sum(|p| p.accounts),
        sum(|p| p.active),
        sum(|p| p.closing),
        sum(|p| p.deregistered),
        report.posts,
        sum(|p| p.original_posts),
        sum(|p| p.repost_posts),
        sum(other_posts),
        report.stale_incidents,
        s.qualified,
        s.failed,
        s.closing,
        s.unknown,
        pass_rate(s.pass_rate)
    );
    let _ = writeln!(out, "\n## 二、存在的问题\n");
    if report.is_assessable {
        let _ = writeln!(out, "### 不合格账号（{}个）\n", s.failed);
        if report.failing.is_empty() {
            let _ = writeln!(out, "最近一次巡检无不合格账号。\n");
        }
        for group in &report.failing {
            let _ = writeln!(
                out,
                "#### {}（{}个）\n",
                esc(&group.label),
                group.accounts.len()
            );
            for a in &group.accounts {
                let _ = writeln!(out, "- {}", esc(&a.message));
            }
            out.push('\n');
        }
    }
    for (title, list) in [
        ("无法监测", &report.unknown),
        ("人工检查（无订阅来源）", &report.manual),
        ("以转发为主、缺少原创", &report.reposts),
        ("备案问题", &report.filing),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "### {title}（{}个）\n", list.len());
            for a in list {
                let _ = writeln!(out, "- {}", esc(&a.message));
            }
            out.push('\n');
        }
    }
    out.push_str(&content_markdown(report, &esc));
    for (kind, title) in [
        (UnitKind::Town, "镇街（园区）"),
        (UnitKind::Department, "部门（单位）"),
    ] {
        let units = units_of_kind(report, kind);
        if units.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "## {title}更新情况\n\n| 序号 | 单位 | 发布 | 每周更新未达标次数 | 扣分 |\n|---|---|---|---|---|"
        );
        for (i, u) in units.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.1} |",
                i + 1,
                esc(&u.name),
                u.posts,
                u.weekly_misses,
                u.deduction
            );
        }
        out.push('\n');
    }
    if let Some(sentence) = rectification_sentence(report) {
        let _ = writeln!(out, "## 上期通报整改情况\n\n{sentence}。\n");
        for r in &report.rectification {
            let _ = writeln!(
                out,
                "- \\[{}\\] {}：{}（{}）",
                esc(&r.label),
                esc(&r.message),
                r.state.label(),
                esc(&r.evidence)
            );
        }
    }
    out
}

/// "## 错敏信息" with the counts, the annex table and the 转载任务 sentence.
fn content_markdown(report: &Report, esc: &dyn Fn(&str) -> String) -> String {
    let c = &report.content;
    let mut out = String::new();
    if let Some(sentence) = super::content::sentence(c) {
        let _ = writeln!(
            out,
            "## 错敏信息\n\n{sentence}\n\n| 单位 | 账号 | 平台 | 发布时间 | 标题 | 问题内容 | 建议 | 类别 |\n|---|---|---|---|---|---|---|---|"
        );
        for i in &c.items {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {}（{}） |",
                esc(&i.unit),
                esc(&i.name),
                esc(&i.platform),
                i.published_at,
                esc(&i.title),
                esc(&i.context),
                esc(&i.suggestion),
                esc(&i.category),
                i.level
            );
        }
        out.push('\n');
    }
    if let Some(sentence) = &c.tasks_sentence {
        let _ = writeln!(out, "## 转载任务\n\n{}\n", esc(sentence));
    }
    out
}
