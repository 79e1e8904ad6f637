//! The .docx read back: page, fonts, sizes, headings, page numbers, and the
//! report's numbers, for the seed 000 month, the seed 002 quarter and an
//! empty period; then through LibreOffice to PDF when it is installed.

use super::*;
use crate::config::OfficeSettings;
use crate::parse::PostKind;
use crate::registry::{AccountState, Contact, Platform, Register, UnitKind};
use crate::reports::tests::{account, at, d, row, unit};
use crate::reports::{ReportInput, ReportKind, Snapshot, add_post, build, reconcile, render};
use crate::rules::{KindCounts, Rule, Verdict};
use std::collections::{BTreeSet, HashMap};
use std::io::Read as _;

mod pdf;
mod scenarios;

use scenarios::{empty_report, month_report, quarter_report, seed_000};

/// The parts of a written .docx.
struct Unpacked {
    document: String,
    styles: String,
    fonts: String,
    footers: Vec<String>,
}

fn unpack(bytes: &[u8]) -> Unpacked {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut part = |name: &str| {
        let mut text = String::new();
        zip.by_name(name)
            .unwrap_or_else(|_| panic!("{name} in the package"))
            .read_to_string(&mut text)
            .expect("utf-8");
        text
    };
    let document = part("word/document.xml");
    let styles = part("word/styles.xml");
    let fonts = part("word/fontTable.xml");
    let footers = (1..=2)
        .map(|i| part(&format!("word/footer{i}.xml")))
        .collect();
    Unpacked {
        document,
        styles,
        fonts,
        footers,
    }
}

fn write(report: &Report) -> (Vec<u8>, Unpacked) {
    let office = OfficeSettings::default();
    let issue = Issue::new(report, &office, &Calendar::builtin());
    let bytes = document(report, &issue).expect("writes");
    let unpacked = unpack(&bytes);
    (bytes, unpacked)
}

/// (style, text) of each body paragraph, in order; table cells included.
fn paragraphs(xml: &str) -> Vec<(String, String)> {
    let style = regex::Regex::new(r#"<w:pStyle w:val="([^"]+)""#).expect("regex");
    let text = regex::Regex::new(r"<w:t(?: [^>]*)?>([^<]*)</w:t>").expect("regex");
    xml.split("</w:p>")
        .map(|p| {
            let s = style
                .captures(p)
                .map_or("", |c| c.get(1).map_or("", |m| m.as_str()));
            let t: String = text
                .captures_iter(p)
                .filter_map(|c| c.get(1).map(|m| m.as_str()))
                .collect();
            (s.to_string(), t.replace("&amp;", "&").replace("&lt;", "<"))
        })
        .filter(|(_, t)| !t.is_empty())
        .collect()
}

fn text_of(xml: &str) -> String {
    paragraphs(xml)
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of `attr` on the first `<w:element …>`.
fn attr(xml: &str, element: &str, attr: &str) -> Option<String> {
    let start = xml.find(&format!("<w:{element} "))?;
    let tag = &xml[start..start + xml[start..].find('>')?];
    let key = format!("w:{attr}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

/// The number of table rows in each table, in order.
fn table_rows(xml: &str) -> Vec<usize> {
    xml.split("<w:tbl>")
        .skip(1)
        .map(|t| {
            t.split("</w:tbl>")
                .next()
                .unwrap_or("")
                .matches("</w:tr>")
                .count()
        })
        .collect()
}

#[test]
fn the_page_is_a4_with_the_gongwen_margins_grid_and_page_numbers() {
    let (_, doc) = write(&month_report());
    let x = &doc.document;
    assert_eq!(attr(x, "pgSz", "w").as_deref(), Some("11906"));
    assert_eq!(attr(x, "pgSz", "h").as_deref(), Some("16838"));
    // 37 / 35 / 28 / 26 mm in twips.
    let margins: Vec<Option<String>> = ["top", "bottom", "left", "right"]
        .iter()
        .map(|side| attr(x, "pgMar", side))
        .collect();
    let expected = ["2098", "1984", "1587", "1474"].map(|v| Some(v.to_string()));
    assert_eq!(margins, expected.to_vec());
    // 22 lines of 28 characters: 28.95 pt lines (the characters: see the styles test).
    assert_eq!(attr(x, "docGrid", "type").as_deref(), Some("lines"));
    assert_eq!(attr(x, "docGrid", "linePitch").as_deref(), Some("579"));
    // "— 1 —" with a PAGE field, 4号, on the outer side of odd and even pages.
    for footer in &doc.footers {
        assert!(footer.contains("PAGE"), "{footer}");
        assert!(
            footer.contains(">— <") && footer.contains("> —<"),
            "{footer}"
        );
        assert!(footer.contains(r#"<w:sz w:val="28" />"#), "{footer}");
    }
    assert!(
        doc.footers
            .iter()
            .any(|f| f.contains(r#"<w:jc w:val="right" />"#))
    );
    assert!(
        doc.footers
            .iter()
            .any(|f| f.contains(r#"<w:jc w:val="left" />"#))
    );
    assert!(x.contains("w:type=\"even\""), "an even-page footer");
}

#[test]
fn the_fonts_and_sizes_follow_gb_t_9704() {
    let (_, doc) = write(&month_report());
    let s = &doc.styles;
    // Body: 3号 仿宋_GB2312, exactly 28.95 pt lines; title 2号 小标宋.
    assert!(s.contains(r#"w:eastAsia="仿宋_GB2312""#), "{s}");
    assert!(s.contains(r#"<w:sz w:val="32" />"#), "{s}");
    assert!(s.contains(r#"w:line="579" w:lineRule="exact""#), "{s}");
    // 28 characters a line: 16 pt characters 0.25 pt tighter fill 442.25 pt.
    assert!(s.contains(r#"<w:spacing w:val="-5" />"#), "{s}");
    for (style, font) in [
        ("GongwenTitle", "方正小标宋简体"),
        ("GongwenHeading1", "黑体"),
        ("GongwenHeading2", "楷体_GB2312"),
    ] {
        let at = s.find(&format!(r#"w:styleId="{style}""#)).expect(style);
        let def = &s[at..at + s[at..].find("</w:style>").expect("end")];
        assert!(def.contains(&format!(r#"w:eastAsia="{font}""#)), "{def}");
        if style == "GongwenTitle" {
            assert!(def.contains(r#"<w:sz w:val="44" />"#), "{def}");
        }
    }
    // The body's first line is indented two characters.
    let body = &s[s.find(r#"w:styleId="GongwenBody""#).expect("body")..];
    // (docx-rs writes no firstLineChars: two 3号 characters in twips.)
    assert!(body.contains(r#"w:firstLine="640""#), "{body}");
    // The font table names each 公文 font as GB2312 with a fallback.
    for (font, alt) in [("方正小标宋简体", "华文中宋"), ("仿宋_GB2312", "仿宋")] {
        assert!(
            doc.fonts.contains(&format!(
                r#"<w:font w:name="{font}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>"#
            )),
            "{}",
            doc.fonts
        );
    }
}

#[test]
fn the_seed_000_month_reads_like_the_seed_with_the_reports_numbers() {
    let r = month_report();
    let (_, doc) = write(&r);
    let all = paragraphs(&doc.document);
    // Not issued: a draft, and it says so above the 版头.
    assert_eq!(all[0].1, "草稿（未下发）");
    let p = &all[1..];
    let text = text_of(&doc.document);
    assert_eq!(p[0].1, "区人民政府办公室");
    assert_eq!(
        p[1],
        (
            "GongwenTitle".to_string(),
            "关于2026年10月份全区政务新媒体检查情况的通报".to_string()
        )
    );
    assert_eq!(p[2].1, "各镇人民政府、街道办事处，区政府有关部门：");
    let headings: Vec<&str> = p
        .iter()
        .filter(|(s, _)| s == "GongwenHeading1")
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(
        headings,
        ["一、基本情况", "二、存在的主要问题", "三、整改要求"]
    );
    let sub: Vec<&str> = p
        .iter()
        .filter(|(s, _)| s == "GongwenHeading2")
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(
        sub,
        [
            "（一）检查情况",
            "（二）信息发布情况",
            "（三）更新情况",
            "（四）合格情况",
            "（五）上期通报整改情况",
            "（一）镇街（园区）",
            "（二）部门（单位）"
        ]
    );
    // Every number from the Report.
    for expected in [
        format!("共组织全区政务新媒体检查{}次", r.inspections),
        format!("共发布信息{}条", r.posts),
        incidents_line(&r),
        "30%的政务微博超期更新（10个账号中3个）".to_string(),
        render::verdict_sentence(&r.summary),
        render::rectification_sentence(&r).expect("previous problems"),
        "以转发为主缺少原创".to_string(),
        "名称变更未报备".to_string(),
        "务必于2026年12月2日前整改完成".to_string(),
    ] {
        assert!(text.contains(&expected), "missing {expected}\n{text}");
    }
    assert_eq!(r.stale_incidents, 7);
    assert!(text.contains("共出现7次超期更新情况，其中公众号1次、服务号2次、微博3次、今日头条1次"));
    // Signature and date (GB/T 9704-2012: Arabic numerals).
    let date = p
        .iter()
        .position(|(_, t)| t == "2026年11月23日")
        .expect("date");
    assert_eq!(p[date - 1].1, "区人民政府办公室");
    annexes_match(&r, &doc.document, &text);
}

fn incidents_line(r: &Report) -> String {
    format!("全区政务新媒体{}", render::incidents_sentence(r))
}

/// 附件1–3 hold one row per problem account, per unit (镇街/部门) and per
/// previous problem, under their headers.
fn annexes_match(r: &Report, xml: &str, text: &str) {
    for title in [
        "附件1",
        "问题账号清单",
        "附件2",
        "各单位更新情况",
        "附件3",
        "上期通报整改情况",
    ] {
        assert!(text.contains(title), "{title}");
    }
    let problem_accounts: BTreeSet<&str> = r
        .failing
        .iter()
        .flat_map(|g| g.accounts.iter())
        .chain(&r.reposts)
        .chain(&r.filing)
        .map(|a| a.account.as_str())
        .collect();
    let towns = crate::reports::units_of_kind(r, UnitKind::Town).len();
    let departments = crate::reports::units_of_kind(r, UnitKind::Department).len();
    let mut expected = Vec::new();
    if !problem_accounts.is_empty() {
        expected.push(problem_accounts.len() + 1);
    }
    expected.extend([towns + 1, departments + 1]);
    if !r.rectification.is_empty() {
        expected.push(r.rectification.len() + 1);
    }
    assert_eq!(table_rows(xml), expected);
    // One deadline for every row is said once above the table, else per row.
    assert!(
        text.contains("序号\n单位\n账号\n平台\n问题\n联系人\n整改期限")
            || (text.contains("整改期限：")
                && text.contains("序号\n单位\n账号\n平台\n问题\n联系人")),
        "{text}"
    );
    assert!(
        text.contains("序号\n单位\n发布\n每周更新未达标次数\n扣分"),
        "{text}"
    );
    for u in &r.units {
        assert!(text.contains(&format!(
            "{}\n{}\n{}\n{:.1}",
            u.name, u.posts, u.weekly_misses, u.deduction
        )));
    }
}

#[test]
fn the_problem_list_names_contacts_and_the_deadline() {
    let r = month_report();
    let (_, doc) = write(&r);
    let text = text_of(&doc.document);
    // wb2 (西街街道, no contact) and tt0 (区政府办公室) fail; the contacts come from the register.
    assert!(
        text.contains("整改期限：2026年12月2日。")
            && text.contains("西街街道\n账号wb2\n微博\n超两周未更新\n未登记联系人\n"),
        "{text}"
    );
    assert!(
        text.contains("区政府办公室\n账号tt0\n今日头条\n超两周未更新\n王芳\n0539-8196766"),
        "{text}"
    );
    assert!(
        text.contains("义堂镇\n账号tt1\n今日头条\n名称变更未报备\n李强\n13800000000"),
        "{text}"
    );
}

#[test]
fn the_seed_002_quarter_names_the_failing_by_problem_with_the_pass_rate() {
    let r = quarter_report();
    let (_, doc) = write(&r);
    let text = text_of(&doc.document);
    assert!(
        text.contains("关于2026年第三季度全区政务新媒体检查情况的通报"),
        "{text}"
    );
    assert!(
        text.contains("共80个账号参与评定，合格70个，不合格8个，正在注销2个，合格率90%"),
        "{text}"
    );
    for expected in [
        "超6个月未更新1个：区市政管理局“账号szgl-gzh”（公众号）",
        "超1个月未更新2个",
        "注销后未备案1个：东街街道“账号dj-jtx”（公众号）",
        "无上期通报。",
        "三闸镇\n账号sz-douyin\n抖音\n超1个月未更新\n赵敏\n0936-8211234",
        "整改期限：2026年10月19日。",
        "2026年10月9日",
    ] {
        assert!(text.contains(expected), "missing {expected}\n{text}");
    }
    annexes_match(&r, &doc.document, &text);
}

#[test]
fn a_period_without_inspections_says_so_and_judges_nothing() {
    let r = empty_report();
    assert!(!r.is_assessable);
    let (_, doc) = write(&r);
    let text = text_of(&doc.document);
    assert!(text.contains("本期无巡检记录，无法评定"), "{text}");
    for invented in ["合格率", "不合格账号", "超期更新情况", "已整改（"] {
        assert!(!text.contains(invented), "{invented} in\n{text}");
    }
    assert!(text.contains("上期巡检问题2项：2项无法核实"), "{text}");
    // No problem account, so no deadline to meet.
    assert!(!text.contains("前整改完成"), "{text}");
}

#[test]
fn titles_name_the_period_and_a_running_one_says_as_of() {
    let scenario = seed_000();
    let cases = [
        (
            ReportKind::Monthly,
            "2026-10-01",
            "2026-10-31",
            "2026-11-23T10:00:00+08:00",
            "关于2026年10月份全区政务新媒体检查情况的通报",
        ),
        (
            ReportKind::Quarterly,
            "2026-10-01",
            "2026-12-31",
            "2026-11-23T10:00:00+08:00",
            "关于2026年第四季度（截至11月23日）全区政务新媒体检查情况的通报",
        ),
        (
            ReportKind::Weekly,
            "2026-10-19",
            "2026-10-25",
            "2026-11-23T10:00:00+08:00",
            "关于2026年10月19日至25日全区政务新媒体检查情况的通报",
        ),
        (
            ReportKind::Scoring,
            "2026-01-01",
            "2026-05-30",
            "2026-11-23T10:00:00+08:00",
            "关于2026年1月1日至5月30日全区政务新媒体更新情况的通报",
        ),
    ];
    for (kind, from, to, now, expected) in cases {
        let r = scenario.report(kind, from, to, now);
        assert_eq!(content::title(&r, "全区"), expected);
    }
}

#[test]
fn numbers_and_dates_read_as_the_standard_writes_them() {
    assert_eq!(content::date_cn(d("2026-11-03")), "2026年11月3日");
    assert_eq!(content::percent_cn(Some(0.9)), "90%");
    assert_eq!(content::percent_cn(Some(0.875)), "87.5%");
    assert_eq!(content::percent_cn(None), "—");
    let numerals: Vec<String> = [1, 3, 10, 12, 21].map(content::numeral_cn).to_vec();
    assert_eq!(numerals, ["一", "三", "十", "十二", "二十一"]);
}

/// An issued 通报 carries its 发文字号 in the 版头, its issue date in the
/// signature and the 版记, its 抄送 and 印发, and the office as the author
/// with the issue time in the document properties; a draft has none of it.
#[test]
fn an_issued_report_has_its_number_colophon_and_properties() {
    let mut r = quarter_report();
    r.issue = Some(crate::reports::IssueRecord {
        doc_number: Some("兰政办字〔2026〕7号".to_string()),
        issued_on: "2026-10-09".to_string(),
        deadline: "2026-10-20".to_string(),
        issued_at: "2026-10-09 10:30".to_string(),
        issued_by: "admin".to_string(),
    });
    let office = OfficeSettings {
        cc: "市政府办公室，区委办公室".to_string(),
        ..OfficeSettings::default()
    };
    let bytes = document(&r, &Issue::new(&r, &office, &Calendar::builtin())).expect("writes");
    let doc = unpack(&bytes);
    let all = paragraphs(&doc.document);
    assert_eq!(all[0].1, "区人民政府办公室", "no 草稿 mark");
    assert_eq!(all[1].1, "兰政办字〔2026〕7号");
    let text = text_of(&doc.document);
    for expected in [
        "抄送：市政府办公室，区委办公室。",
        "区人民政府办公室2026年10月9日印发",
        "整改期限：2026年10月20日。",
    ] {
        assert!(
            text.replace('\n', "").contains(expected),
            "{expected} in\n{text}"
        );
    }
    let mut core = String::new();
    zip::ZipArchive::new(std::io::Cursor::new(&bytes))
        .expect("zip")
        .by_name("docProps/core.xml")
        .expect("core.xml")
        .read_to_string(&mut core)
        .expect("utf-8");
    assert!(
        core.contains("<dc:creator>区人民政府办公室</dc:creator>"),
        "{core}"
    );
    assert!(core.contains("2026-10-09T10:30:00+08:00"), "{core}");
    assert!(
        !core.contains("1970") && !core.contains("unknown"),
        "{core}"
    );

    let (_, draft) = write(&quarter_report());
    let text = text_of(&draft.document);
    assert!(text.starts_with("草稿（未下发）"), "{text}");
    assert!(!text.contains("〔2026〕"), "{text}");
}

/// The scoring kind is seed 001's 评分表, not the quarterly 通报 renamed:
/// a 镇街 and a 部门 table of 发布, 每周更新未达标次数 and 扣分, whose rows are
/// the report's units, and no verdicts.
#[test]
fn the_scoring_docx_is_the_seed_001_score_sheet() {
    let r = seed_000().report(
        ReportKind::Scoring,
        "2026-10-01",
        "2026-10-31",
        "2026-11-02T09:00:00+08:00",
    );
    let (_, doc) = write(&r);
    let text = text_of(&doc.document);
    for expected in [
        "政务新媒体更新情况的通报",
        "一、基本情况",
        "二、存在的问题",
        "三、整改工作要求",
        "镇街（园区）政务新媒体更新情况评分表",
        "部门（单位）政务新媒体更新情况评分表",
        "序号\n镇街（园区）\n发布\n每周更新未达标次数\n扣分",
        "序号\n部门（单位）\n发布\n每周更新未达标次数\n扣分",
        "按发布条数排序",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
    for absent in ["合格率", "不合格", "问题账号清单"] {
        assert!(!text.contains(absent), "{absent} in\n{text}");
    }
    for u in &r.units {
        assert!(
            text.contains(&format!(
                "{}\n{}\n{}\n{:.1}",
                u.name, u.posts, u.weekly_misses, u.deduction
            )),
            "{} in\n{text}",
            u.name
        );
    }
    assert!(text.contains(&format!("共发布信息{}条", r.posts)), "{text}");
}

/// `--kind annual`: the year's posts per platform as the 年度报告 words them,
/// the accounts, and each quarter's 合格率 from its last inspection.
#[test]
fn the_annual_kind_gives_the_years_figures_for_the_annual_report() {
    let r = seed_000().report(
        ReportKind::Annual,
        "2026-01-01",
        "2026-12-31",
        "2027-01-05T09:00:00+08:00",
    );
    assert_eq!(r.title, "政务新媒体年度统计（2026年）");
    let text = render::text(&r);
    let weibo = r
        .by_platform
        .iter()
        .find(|p| p.platform == "weibo")
        .expect("weibo");
    assert!(
        text.contains(&format!("通过政务微博公开信息{}条", weibo.posts)),
        "{text}"
    );
    assert!(text.contains(&format!("合计{}条", r.posts)), "{text}");
    assert_eq!(
        r.quarters.len(),
        1,
        "only the fourth quarter was inspected: {:?}",
        r.quarters
    );
    assert_eq!(r.quarters[0].quarter, 4);
    assert!(text.contains("第四季度（巡检2次）：合格率"), "{text}");
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["quarters"][0]["quarter"], 4);
    assert!(render::markdown(&r).contains("## 各季度合格率"));
    let refused = crate::reports::parse_period(
        ReportKind::Annual,
        Some("2026-10"),
        None,
        None,
        d("2027-01-05"),
    );
    assert!(refused.is_err_and(|e| e.contains("年度统计请用 --period YYYY")));
    assert_eq!(
        crate::reports::parse_period(
            ReportKind::Annual,
            Some("2026"),
            None,
            None,
            d("2027-01-05")
        ),
        Ok((d("2026-01-01"), d("2026-12-31")))
    );
}
