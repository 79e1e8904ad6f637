//! Report → XLSX: the annex tables with headers, column widths and real dates.

use super::{Report, units_of_kind};
use crate::registry::UnitKind;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

/// Renders the workbook into bytes.
pub fn workbook(report: &Report) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color("D9E1F2")
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let percent = Format::new().set_num_format("0.0%");

    let sheet = book.add_worksheet();
    sheet.set_name("汇总")?;
    sheet.write_string(0, 0, &report.title)?;
    let rows: [(&str, f64); 9] = [
        ("巡检次数", report.inspections as f64),
        ("可考核周数", report.assessable_weeks as f64),
        ("发布信息", report.posts as f64),
        ("超期更新次数", report.stale_incidents as f64),
        ("合格", report.summary.qualified as f64),
        ("不合格", report.summary.failed as f64),
        ("正在注销", report.summary.closing as f64),
        ("无法监测", report.summary.unknown as f64),
        ("参与评定", report.summary.assessed as f64),
    ];
    sheet.write_string_with_format(1, 0, "项目", &header)?;
    sheet.write_string_with_format(1, 1, "数值", &header)?;
    for (i, (label, value)) in rows.iter().enumerate() {
        let row = 2 + i as u32;
        sheet.write_string(row, 0, *label)?;
        sheet.write_number(row, 1, *value)?;
    }
    sheet.write_string(11, 0, "合格率")?;
    match report.summary.pass_rate {
        Some(rate) => sheet.write_number_with_format(11, 1, rate, &percent)?,
        None => sheet.write_string(11, 1, "无法评定")?,
    };
    sheet.write_string(12, 0, "统计起始")?;
    sheet.write_string(13, 0, "统计截止")?;
    sheet.write_string(14, 0, "数据截至")?;
    for (row, text) in [(12, &report.from), (13, &report.to), (14, &report.as_of)] {
        if let Some(day) = parse_date(text) {
            sheet.write_datetime_with_format(row, 1, day, &date)?;
        }
    }
    sheet.write_string(15, 0, "生成时间")?;
    match parse_datetime(&report.generated_at) {
        Some(at) => sheet.write_datetime_with_format(15, 1, at, &datetime)?,
        None => sheet.write_string(15, 1, &report.generated_at)?,
    };
    // Accounts without a feed, checked by hand: beside, never among, the verdicts.
    sheet.write_string(17, 0, "人工检查（未纳入评定）")?;
    sheet.write_number(17, 1, report.summary.manual as f64)?;
    if !report.is_assessable {
        sheet.write_string(16, 0, "本期无巡检记录，无法评定")?;
    }
    // 错敏信息 of the period: the 错敏信息 sheet has one row for each.
    sheet.write_string(18, 0, "错敏信息（条）")?;
    sheet.write_number(18, 1, report.content.total as f64)?;
    sheet.write_string(19, 0, "其中严重")?;
    sheet.write_number(19, 1, report.content.severe as f64)?;
    sheet.write_string(20, 0, "其中个人信息")?;
    sheet.write_number(20, 1, report.content.personal_data as f64)?;
    widths(sheet, &[16.0, 18.0])?;

    let sheet = book.add_worksheet();
    sheet.set_name("分平台")?;
    let head = [
        "平台",
        "账号数",
        "正常运维",
        "正在注销",
        "已注销",
        "发布",
        "原创",
        "转发",
        "其他",
        "超期更新次数",
        "超期账号占比",
        "合格",
        "不合格",
        "评定为正在注销",
        "无法监测",
        "合格率",
    ];
    write_header(sheet, &head, &header)?;
    let platform_numbers = |p: &super::PlatformRow| {
        [
            p.accounts,
            p.active,
            p.closing,
            p.deregistered,
            p.posts,
            p.original_posts,
            p.repost_posts,
            super::render::other_posts(p),
            p.stale_incidents,
        ]
    };
    let mut totals = [0u64; 9];
    for (i, p) in report.by_platform.iter().enumerate() {
        let row = 1 + i as u32;
        sheet.write_string(row, 0, &p.label)?;
        for (c, n) in platform_numbers(p).iter().enumerate() {
            sheet.write_number(row, 1 + c as u16, *n as f64)?;
            totals[c] += n;
        }
        if let Some(share) = p.stale_share {
            sheet.write_number_with_format(row, 10, share, &percent)?;
        }
        let verdicts = [
            p.summary.qualified,
            p.summary.failed,
            p.summary.closing,
            p.summary.unknown,
        ];
        for (c, n) in verdicts.iter().enumerate() {
            sheet.write_number(row, 11 + c as u16, *n as f64)?;
        }
        match p.summary.pass_rate {
            Some(rate) => sheet.write_number_with_format(row, 15, rate, &percent)?,
            None => sheet.write_string(row, 15, "无法评定")?,
        };
    }
    // 合计: the sums of the rows, and the report's own verdicts and rate.
    let row = 1 + report.by_platform.len() as u32;
    sheet.write_string_with_format(row, 0, "合计", &header)?;
    for (c, n) in totals.iter().enumerate() {
        sheet.write_number(row, 1 + c as u16, *n as f64)?;
    }
    let s = &report.summary;
    for (c, n) in [s.qualified, s.failed, s.closing, s.unknown]
        .iter()
        .enumerate()
    {
        sheet.write_number(row, 11 + c as u16, *n as f64)?;
    }
    match s.pass_rate {
        Some(rate) => sheet.write_number_with_format(row, 15, rate, &percent)?,
        None => sheet.write_string(row, 15, "无法评定")?,
    };
    widths(
        sheet,
        &[
            12.0, 8.0, 10.0, 10.0, 8.0, 8.0, 8.0, 8.0, 8.0, 14.0, 14.0, 8.0, 8.0, 16.0, 10.0, 10.0,
        ],
    )?;

    let sheet = book.add_worksheet();
    sheet.set_name("问题账号")?;
    write_header(sheet, &["问题", "单位", "账号", "平台", "情况"], &header)?;
    let mut row = 1;
    for group in &report.failing {
        for a in &group.accounts {
            sheet.write_string(row, 0, &group.label)?;
            sheet.write_string(row, 1, &a.unit)?;
            sheet.write_string(row, 2, &a.name)?;
            sheet.write_string(row, 3, &a.platform)?;
            sheet.write_string(row, 4, &a.message)?;
            row += 1;
        }
    }
    for (label, list) in [
        ("无法监测", &report.unknown),
        ("人工检查", &report.manual),
        ("以转发为主缺少原创", &report.reposts),
        ("备案问题", &report.filing),
    ] {
        for a in list {
            sheet.write_string(row, 0, label)?;
            sheet.write_string(row, 1, &a.unit)?;
            sheet.write_string(row, 2, &a.name)?;
            sheet.write_string(row, 3, &a.platform)?;
            sheet.write_string(row, 4, &a.message)?;
            row += 1;
        }
    }
    widths(sheet, &[18.0, 18.0, 18.0, 10.0, 70.0])?;

    // 附件1 as the .docx has it: each problem account once, its contacts and 整改期限.
    let sheet = book.add_worksheet();
    sheet.set_name("整改清单")?;
    write_header(
        sheet,
        &[
            "序号",
            "单位",
            "账号",
            "平台",
            "问题",
            "联系人",
            "整改期限",
            "整改指引",
        ],
        &header,
    )?;
    for (i, p) in report.problems.iter().enumerate() {
        let row = 1 + i as u32;
        sheet.write_number(row, 0, (i + 1) as f64)?;
        sheet.write_string(row, 1, &p.unit)?;
        sheet.write_string(row, 2, &p.name)?;
        sheet.write_string(row, 3, &p.platform)?;
        sheet.write_string(row, 4, p.labels.join("、"))?;
        sheet.write_string(row, 5, &p.contact)?;
        if let Some(day) = p.deadline.as_deref().and_then(parse_date) {
            sheet.write_datetime_with_format(row, 6, day, &date)?;
        } else {
            sheet.write_string(row, 6, "（下发时确定）")?;
        }
        sheet.write_string(row, 7, p.to_do().join("；"))?;
    }
    widths(sheet, &[6.0, 18.0, 18.0, 10.0, 30.0, 24.0, 14.0, 50.0])?;

    // 错敏信息明细 as the .docx annex has it.
    let sheet = book.add_worksheet();
    sheet.set_name("错敏信息")?;
    write_header(
        sheet,
        &[
            "序号",
            "单位",
            "账号",
            "平台",
            "发布时间",
            "标题",
            "问题内容",
            "建议",
            "类别",
            "级别",
            "状态",
            "链接",
        ],
        &header,
    )?;
    for (i, c) in report.content.items.iter().enumerate() {
        let row = 1 + i as u32;
        sheet.write_number(row, 0, (i + 1) as f64)?;
        sheet.write_string(row, 1, &c.unit)?;
        sheet.write_string(row, 2, &c.name)?;
        sheet.write_string(row, 3, &c.platform)?;
        match chrono::NaiveDateTime::parse_from_str(&c.published_at, "%Y-%m-%d %H:%M") {
            Ok(at) => sheet.write_datetime_with_format(row, 4, at, &datetime)?,
            Err(_) => sheet.write_string(row, 4, &c.published_at)?,
        };
        sheet.write_string(row, 5, &c.title)?;
        sheet.write_string(row, 6, &c.context)?;
        sheet.write_string(row, 7, &c.suggestion)?;
        sheet.write_string(row, 8, &c.category)?;
        sheet.write_string(row, 9, &c.level)?;
        sheet.write_string(row, 10, &c.state)?;
        sheet.write_string(row, 11, c.link.as_deref().unwrap_or_default())?;
    }
    widths(
        sheet,
        &[
            6.0, 16.0, 16.0, 10.0, 16.0, 30.0, 40.0, 30.0, 14.0, 6.0, 8.0, 30.0,
        ],
    )?;

    for (kind, name, label) in [
        (UnitKind::Town, "镇街", "镇街 (园区)"),
        (UnitKind::Department, "部门", "部门 (单位)"),
    ] {
        let sheet = book.add_worksheet();
        sheet.set_name(name)?;
        write_header(
            sheet,
            &["序号", label, "发布", "每周更新未达标次数", "扣分"],
            &header,
        )?;
        for (i, u) in units_of_kind(report, kind).iter().enumerate() {
            let row = 1 + i as u32;
            sheet.write_number(row, 0, (i + 1) as f64)?;
            sheet.write_string(row, 1, &u.name)?;
            sheet.write_number(row, 2, u.posts as f64)?;
            sheet.write_number(row, 3, u.weekly_misses as f64)?;
            sheet.write_number(row, 4, u.deduction)?;
        }
        widths(sheet, &[6.0, 22.0, 8.0, 20.0, 8.0])?;
    }

    let sheet = book.add_worksheet();
    sheet.set_name("巡检趋势")?;
    write_header(
        sheet,
        &["巡检时间", "超期更新次数", "合格", "不合格", "合格率"],
        &header,
    )?;
    for (i, point) in report.trend.iter().enumerate() {
        let row = 1 + i as u32;
        if let Ok(at) = chrono::NaiveDateTime::parse_from_str(&point.checked_at, "%Y-%m-%d %H:%M") {
            sheet.write_datetime_with_format(row, 0, at, &datetime)?;
        }
        sheet.write_number(row, 1, point.stale_incidents as f64)?;
        sheet.write_number(row, 2, point.summary.qualified as f64)?;
        sheet.write_number(row, 3, point.summary.failed as f64)?;
        match point.summary.pass_rate {
            Some(rate) => sheet.write_number_with_format(row, 4, rate, &percent)?,
            None => sheet.write_string(row, 4, "无法评定")?,
        };
    }
    widths(sheet, &[18.0, 14.0, 8.0, 8.0, 10.0])?;

    let sheet = book.add_worksheet();
    sheet.set_name("整改情况")?;
    write_header(
        sheet,
        &["单位", "账号", "问题", "情况", "整改", "依据"],
        &header,
    )?;
    for (i, r) in report.rectification.iter().enumerate() {
        let row = 1 + i as u32;
        sheet.write_string(row, 0, &r.unit)?;
        sheet.write_string(row, 1, &r.name)?;
        sheet.write_string(row, 2, &r.label)?;
        sheet.write_string(row, 3, &r.message)?;
        sheet.write_string(row, 4, r.state.label())?;
        sheet.write_string(row, 5, &r.evidence)?;
    }
    widths(sheet, &[18.0, 18.0, 16.0, 60.0, 10.0, 28.0])?;
    book.save_to_buffer()
}

/// "2026-11-23 21:45" (as reports print times).
fn parse_datetime(text: &str) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").ok()
}

fn parse_date(text: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn write_header(sheet: &mut Worksheet, titles: &[&str], format: &Format) -> Result<(), XlsxError> {
    for (i, title) in titles.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *title, format)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn widths(sheet: &mut Worksheet, widths: &[f64]) -> Result<(), XlsxError> {
    for (i, width) in widths.iter().enumerate() {
        sheet.set_column_width(i as u16, *width)?;
    }
    Ok(())
}
