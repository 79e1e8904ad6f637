//! Report → chat text (short) and Markdown (full).

use super::{Report, units_of_kind};
use crate::registry::UnitKind;
use std::fmt::Write as _;

fn percent(rate: Option<f64>) -> String {
    rate.map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0))
}

fn share(rate: Option<f64>) -> String {
    rate.map_or("—".to_string(), |r| format!("{:.0}%", r * 100.0))
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

/// A short summary that fits one chat message.
pub fn text(report: &Report) -> String {
    let mut out = format!("{}\n", report.title);
    let posts: Vec<String> = report
        .by_platform
        .iter()
        .filter(|p| p.posts > 0)
        .map(|p| format!("{}{}条", p.label, p.posts))
        .collect();
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
    let s = &report.summary;
    let _ = writeln!(
        out,
        "最近一次巡检：合格{}个，不合格{}个，正在注销{}个，无法监测{}个，合格率{}。",
        s.qualified,
        s.failed,
        s.closing,
        s.unknown,
        percent(s.pass_rate)
    );
    for group in &report.failing {
        let names: Vec<String> = group
            .accounts
            .iter()
            .map(|a| format!("{}「{}」({})", a.unit, a.name, a.platform))
            .collect();
        let shown: Vec<String> = names.iter().take(8).cloned().collect();
        let more = if names.len() > 8 {
            format!("等{}个", names.len())
        } else {
            String::new()
        };
        let _ = writeln!(out, "【{}】{}{}", group.label, shown.join("、"), more);
    }
    if !report.reposts.is_empty() {
        let _ = writeln!(
            out,
            "以转发为主或缺少原创：{}个账号。",
            report.reposts.len()
        );
    }
    if !report.filing.is_empty() {
        let _ = writeln!(out, "备案问题：{}项。", report.filing.len());
    }
    if !report.rectification.is_empty() {
        let fixed = report.rectification.iter().filter(|r| r.is_fixed).count();
        let _ = writeln!(
            out,
            "上期问题整改：{}项已整改，{}项未整改。",
            fixed,
            report.rectification.len() - fixed
        );
    }
    crate::parse::truncate(out.trim_end(), 3800)
}

/// An RFC 3339 time as people read it ("2026-11-23 21:45"), as given when
/// it does not parse.
fn time_for_people(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// The whole report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = format!("# {}\n\n", report.title);
    let _ = writeln!(
        out,
        "生成时间：{}  \n巡检次数：{}  \n可考核周数：{}\n",
        time_for_people(&report.generated_at),
        report.inspections,
        report.assessable_weeks
    );
    let s = &report.summary;
    let _ = writeln!(out, "## 一、总体情况\n");
    let _ = writeln!(out, "{}。\n", incidents_sentence(report));
    let _ = writeln!(
        out,
        "最近一次巡检：合格 {} 个，不合格 {} 个，正在注销 {} 个，无法监测 {} 个，合格率 {}。\n",
        s.qualified,
        s.failed,
        s.closing,
        s.unknown,
        percent(s.pass_rate)
    );
    let _ = writeln!(
        out,
        "| 平台 | 账号 | 正常 | 拟关停 | 已注销 | 发布 | 原创 | 转发 | 超期次数 | 超期账号占比 | 合格 | 不合格 | 正在注销 | 无法监测 | 合格率 |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for p in &report.by_platform {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.label,
            p.accounts,
            p.active,
            p.closing,
            p.deregistered,
            p.posts,
            p.original_posts,
            p.repost_posts,
            p.stale_incidents,
            share(p.stale_share),
            p.summary.qualified,
            p.summary.failed,
            p.summary.closing,
            p.summary.unknown,
            percent(p.summary.pass_rate)
        );
    }
    let _ = writeln!(out, "\n## 二、存在的问题\n");
    if report.failing.is_empty() {
        let _ = writeln!(out, "最近一次巡检无不合格账号。\n");
    }
    for group in &report.failing {
        let _ = writeln!(out, "### {}（{}个）\n", group.label, group.accounts.len());
        for a in &group.accounts {
            let _ = writeln!(out, "- {}", a.message);
        }
        out.push('\n');
    }
    for (title, list) in [
        ("以转发为主、缺少原创", &report.reposts),
        ("备案问题", &report.filing),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "### {title}\n");
            for a in list {
                let _ = writeln!(out, "- {}", a.message);
            }
            out.push('\n');
        }
    }
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
                u.name,
                u.posts,
                u.weekly_misses,
                u.deduction
            );
        }
        out.push('\n');
    }
    if !report.rectification.is_empty() {
        let _ = writeln!(out, "## 上期通报整改情况\n");
        for r in &report.rectification {
            let _ = writeln!(
                out,
                "- [{}] {}：{}",
                r.label,
                r.message,
                if r.is_fixed { "已整改" } else { "未整改" }
            );
        }
    }
    out
}
