//! Report → the 通报 as a Word document (.docx) in 党政机关公文格式 (GB/T
//! 9704-2012), as seeds 000–002 read: issuing office, title, 主送, opening,
//! 一、基本情况, 二、存在的主要问题, 三、整改要求, signature and date, and the
//! annex tables. Pure: the report, the office settings and the date of issue
//! in, bytes out. Every number comes from the [`Report`].

mod annex;
pub mod content;
mod findings;
mod layout;
mod scoring;

pub use layout::{
    CHAR_SPACING, FONT_BODY, FONT_HEADING1, FONT_HEADING2, FONT_TITLE, LINE_PITCH_TWIPS, MARGIN_MM,
    PAGE_HEIGHT_TWIPS, PAGE_WIDTH_TWIPS, SIZE_BODY, SIZE_PAGE_NUMBER, SIZE_TITLE,
};

use super::Report;
use crate::calendar::Calendar;
use crate::config::OfficeSettings;
use chrono::NaiveDate;

/// Who issues the 通报 and when.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    pub office: &'a OfficeSettings,
    /// 成文日期: the day it was issued (a draft: the day it was generated).
    pub date: NaiveDate,
    /// 整改期限 of the problems first named in it.
    pub deadline: NaiveDate,
    /// 发文字号, when issued with one.
    pub doc_number: Option<String>,
    /// Not issued: the document says 草稿.
    pub is_draft: bool,
    /// When it was issued (a draft: generated), W3CDTF for the document
    /// properties.
    pub created: String,
}

impl<'a> Issue<'a> {
    /// The issue of `report`: its record when it was issued; a draft is
    /// dated the day it was generated, with the deadline it would get.
    pub fn new(report: &Report, office: &'a OfficeSettings, calendar: &Calendar) -> Issue<'a> {
        let day = |text: &str| {
            text.get(..10)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        };
        if let Some(record) = &report.issue {
            let date = day(&record.issued_on).unwrap_or_default();
            return Issue {
                office,
                date,
                deadline: day(&record.deadline).unwrap_or(date),
                doc_number: record.doc_number.clone(),
                is_draft: false,
                created: w3c(&record.issued_at),
            };
        }
        let date = day(&report.generated_at).unwrap_or_default();
        Issue {
            office,
            date,
            deadline: calendar.add_workdays(date, office.rectification_days),
            doc_number: None,
            is_draft: true,
            created: w3c(&report.generated_at),
        }
    }
}

/// "2026-12-05 12:17" (Asia/Shanghai) → "2026-12-05T12:17:00+08:00".
fn w3c(local: &str) -> String {
    match (local.get(..10), local.get(11..16)) {
        (Some(day), Some(time)) => format!("{day}T{time}:00+08:00"),
        _ => "1970-01-01T00:00:00Z".to_string(),
    }
}

/// The document properties: the office as author, created when issued.
fn core_props(report: &Report, issue: &Issue<'_>) -> String {
    let office = crate::escape::html(issue.office.name.trim());
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{title}</dc:title><dc:creator>{office}</dc:creator><cp:lastModifiedBy>{office}</cp:lastModifiedBy><cp:revision>1</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified></cp:coreProperties>"#,
        title = crate::escape::html(&report.title),
        created = issue.created,
    )
}

/// Writing the package failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the .docx: {0}")]
pub struct DocxError(String);

/// Renders the 通报 into .docx bytes.
pub fn document(report: &Report, issue: &Issue<'_>) -> Result<Vec<u8>, DocxError> {
    let blocks = content::blocks(report, issue);
    let mut package = layout::document(&blocks).build();
    // docx-rs writes a fixed font table; ours names the 公文 fonts with the
    // GB2312 charset and the fonts Word and LibreOffice fall back to.
    package.font_table = font_table().into_bytes();
    package.doc_props.core = core_props(report, issue).into_bytes();
    let mut out = std::io::Cursor::new(Vec::new());
    package
        .pack(&mut out)
        .map_err(|e| DocxError(e.to_string()))?;
    Ok(out.into_inner())
}

/// (font, fallback, family, pitch) of every font the document names.
const FONTS: [(&str, &str, &str, &str); 6] = [
    (layout::FONT_TITLE, "华文中宋", "roman", "variable"),
    (layout::FONT_BODY, "仿宋", "roman", "fixed"),
    (layout::FONT_HEADING1, "SimHei", "modern", "fixed"),
    (layout::FONT_HEADING2, "楷体", "roman", "fixed"),
    (layout::FONT_PAGE_NUMBER, "SimSun", "roman", "variable"),
    (layout::FONT_LATIN, "Times", "roman", "variable"),
];

fn font_table() -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:fonts xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
    );
    for (name, alt, family, pitch) in FONTS {
        let charset = if name == layout::FONT_LATIN {
            "00"
        } else {
            "86"
        };
        xml.push_str(&format!(
            r#"<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="{charset}"/><w:family w:val="{family}"/><w:pitch w:val="{pitch}"/></w:font>"#
        ));
    }
    xml.push_str("</w:fonts>");
    xml
}

/// Width in 3号 characters: a CJK character is one, an ASCII one half.
fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
        .sum()
}

#[cfg(test)]
mod tests;
