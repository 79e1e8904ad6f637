//! Blocks → a .docx in 党政机关公文格式 (GB/T 9704-2012): A4, the 版心 156 ×
//! 225 mm, 22 lines of 28 characters, 3号 仿宋_GB2312 body, 2号 小标宋 title,
//! 黑体 and 楷体_GB2312 headings, "— 1 —" page numbers on the outer side.

use super::content::{AnnexPart, Block, Table};
use docx_rs::{
    AlignmentType, BreakType, DocGrid, DocGridType, Docx, Footer, LineSpacing, LineSpacingType,
    PageMargin, PageNum, Paragraph, ParagraphBorder, ParagraphBorderPosition, ParagraphBorders,
    Run, RunFonts, SpecialIndentType, Style, StyleType, TableAlignmentType, TableCell,
    TableCellMargins, TableLayoutType, TableRow, VAlignType, WidthType,
};

/// Twips (1/20 pt) per millimetre.
const TWIPS_PER_MM: f64 = 1440.0 / 25.4;

fn mm(value: f64) -> i32 {
    (value * TWIPS_PER_MM).round() as i32
}

/// A4 in twips.
pub const PAGE_WIDTH_TWIPS: u32 = 11906;
pub const PAGE_HEIGHT_TWIPS: u32 = 16838;
/// Margins (GB/T 9704-2012 5.2.1): top 37 mm, bottom 35 mm, left 28 mm, right 26 mm.
pub const MARGIN_MM: [f64; 4] = [37.0, 35.0, 28.0, 26.0];
/// 22 lines over the 225 mm 版心: 28.95 pt.
pub const LINE_PITCH_TWIPS: i32 = 579;
/// 28 characters over the 156 mm 版心 (442.25 pt) at 16 pt: each character
/// 0.25 pt tighter, in twentieths of a point. Character spacing rather than a
/// character grid: LibreOffice lays a docGrid of characters out far wider
/// than Word does, while both honour spacing.
pub const CHAR_SPACING: i32 = -5;

/// Font sizes in half-points: 2号 22 pt, 3号 16 pt, 4号 14 pt, 五号 10.5 pt.
pub const SIZE_TITLE: usize = 44;
pub const SIZE_BODY: usize = 32;
pub const SIZE_PAGE_NUMBER: usize = 28;
pub const SIZE_TABLE: usize = 21;
/// One 3号 character, for indents.
const CHAR_TWIPS: i32 = 320;

pub const FONT_TITLE: &str = "方正小标宋简体";
pub const FONT_BODY: &str = "仿宋_GB2312";
pub const FONT_HEADING1: &str = "黑体";
pub const FONT_HEADING2: &str = "楷体_GB2312";
pub const FONT_LATIN: &str = "Times New Roman";
pub const FONT_PAGE_NUMBER: &str = "宋体";
const RED: &str = "FF0000";

/// Chinese text in `east_asia`, digits and Latin letters in Times New Roman.
fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .ascii(FONT_LATIN)
        .hi_ansi(FONT_LATIN)
        .cs(FONT_LATIN)
        .east_asia(east_asia)
        .hint("eastAsia")
}

/// Single spacing, for tables, the page number and the office line.
fn single_lines() -> LineSpacing {
    LineSpacing::new()
        .line_rule(LineSpacingType::Auto)
        .line(240)
}

fn exact_lines() -> LineSpacing {
    LineSpacing::new()
        .line_rule(LineSpacingType::Exact)
        .line(LINE_PITCH_TWIPS)
}

fn styles(docx: Docx) -> Docx {
    let title = Style::new("GongwenTitle", StyleType::Paragraph)
        .name("公文标题")
        .fonts(fonts(FONT_TITLE))
        .size(SIZE_TITLE)
        .align(AlignmentType::Center)
        .line_spacing(
            LineSpacing::new()
                .line_rule(LineSpacingType::Exact)
                .line(700),
        );
    let heading1 = Style::new("GongwenHeading1", StyleType::Paragraph)
        .name("一级标题")
        .based_on("Normal")
        .fonts(fonts(FONT_HEADING1))
        .indent(
            None,
            Some(SpecialIndentType::FirstLine(2 * CHAR_TWIPS)),
            None,
            None,
        )
        .outline_lvl(0);
    let heading2 = Style::new("GongwenHeading2", StyleType::Paragraph)
        .name("二级标题")
        .based_on("Normal")
        .fonts(fonts(FONT_HEADING2))
        .indent(
            None,
            Some(SpecialIndentType::FirstLine(2 * CHAR_TWIPS)),
            None,
            None,
        )
        .outline_lvl(1);
    let body = Style::new("GongwenBody", StyleType::Paragraph)
        .name("公文正文")
        .based_on("Normal")
        .align(AlignmentType::Both)
        .indent(
            None,
            Some(SpecialIndentType::FirstLine(2 * CHAR_TWIPS)),
            None,
            None,
        );
    docx.default_fonts(fonts(FONT_BODY))
        .default_size(SIZE_BODY)
        .default_spacing(CHAR_SPACING)
        .default_line_spacing(exact_lines())
        .add_style(title)
        .add_style(heading1)
        .add_style(heading2)
        .add_style(body)
}

/// "— 1 —" in 4号 宋体, one character in from the outer edge.
fn page_number(align: AlignmentType) -> Footer {
    let run = |text: &str| {
        Run::new()
            .add_text(text)
            .size(SIZE_PAGE_NUMBER)
            .fonts(fonts(FONT_PAGE_NUMBER))
    };
    let indent = SIZE_PAGE_NUMBER as i32 * 10;
    let (left, right) = match align {
        AlignmentType::Left => (Some(indent), None),
        _ => (None, Some(indent)),
    };
    Footer::new().add_paragraph(
        Paragraph::new()
            .align(align)
            .indent(left, None, right, None)
            .line_spacing(
                LineSpacing::new()
                    .line_rule(LineSpacingType::Auto)
                    .line(240),
            )
            .snap_to_grid(false)
            .size(SIZE_PAGE_NUMBER)
            .fonts(fonts(FONT_PAGE_NUMBER))
            .add_run(run("— "))
            .add_page_num(PageNum::new())
            .add_run(run(" —")),
    )
}

fn page(docx: Docx) -> Docx {
    let [top, bottom, left, right] = MARGIN_MM;
    docx.page_size(PAGE_WIDTH_TWIPS, PAGE_HEIGHT_TWIPS)
        .page_margin(PageMargin {
            top: mm(top),
            bottom: mm(bottom),
            left: mm(left),
            right: mm(right),
            header: mm(15.0),
            // The number's top sits 7 mm under the 版心 (GB/T 9704-2012 7.5).
            footer: mm(bottom - 7.0 - 5.0),
            gutter: 0,
        })
        .footer(page_number(AlignmentType::Right))
        .even_footer(page_number(AlignmentType::Left))
}

fn styled(style: &str, text: &str) -> Paragraph {
    Paragraph::new()
        .style(style)
        .add_run(Run::new().add_text(text))
}

fn blank() -> Paragraph {
    Paragraph::new()
}

/// The document's paragraphs and tables.
pub fn document(blocks: &[Block]) -> Docx {
    let mut docx = page(styles(Docx::new()));
    // The line grid: 22 lines a page (the paragraphs' exact spacing says the same).
    docx.document = docx.document.doc_grid(
        DocGrid::new()
            .grid_type(DocGridType::Lines)
            .line_pitch(LINE_PITCH_TWIPS as usize),
    );
    for (i, block) in blocks.iter().enumerate() {
        docx = match (block, blocks.get(i + 1)) {
            // The last words stay with the annex note and the signature, so
            // no page holds only the signature (GB/T 9704-2012 7.3.5).
            (Block::Body(text), Some(Block::AnnexNote(_) | Block::Signature { .. })) => {
                docx.add_paragraph(styled("GongwenBody", text).keep_next(true))
            }
            _ => add_block(docx, block),
        };
    }
    docx
}

/// The title, its parts filled greedily into lines of 20 2号 characters
/// and broken only between parts, so that each line keeps its words whole.
fn title(parts: &[String]) -> Paragraph {
    // 20 Chinese characters fit a line at 2号; Latin digits in the title
    // font are wider than half a character, so a line is filled to 18.
    const TITLE_CHARS_PER_LINE: f64 = 18.0;
    let mut lines: Vec<String> = Vec::new();
    for part in parts {
        match lines.last_mut() {
            Some(line)
                if super::text_width(line) + super::text_width(part) <= TITLE_CHARS_PER_LINE =>
            {
                line.push_str(part)
            }
            _ => lines.push(part.clone()),
        }
    }
    let mut run = Run::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            run = run.add_break(BreakType::TextWrapping);
        }
        run = run.add_text(line);
    }
    Paragraph::new().style("GongwenTitle").add_run(run)
}

fn add_block(docx: Docx, block: &Block) -> Docx {
    match block {
        Block::Office {
            name,
            doc_number,
            is_draft,
        } => {
            let docx = if *is_draft {
                docx.add_paragraph(
                    Paragraph::new().add_run(Run::new().add_text("草稿（未下发）").bold()),
                )
            } else {
                docx
            };
            // The title sits two lines below the red line (GB/T 9704-2012 7.3.1).
            match doc_number {
                Some(number) => docx
                    .add_paragraph(office_line(name, false))
                    .add_paragraph(red_line(doc_number_line(number)))
                    .add_paragraph(blank())
                    .add_paragraph(blank()),
                None => docx
                    .add_paragraph(red_line(office_line(name, true)))
                    .add_paragraph(blank())
                    .add_paragraph(blank()),
            }
        }
        Block::Title(text) => docx.add_paragraph(title(text)).add_paragraph(blank()),
        Block::Addressees(text) => {
            docx.add_paragraph(Paragraph::new().add_run(Run::new().add_text(text)))
        }
        Block::Heading1(text) => {
            docx.add_paragraph(styled("GongwenHeading1", text).keep_next(true))
        }
        Block::Heading2(text) => {
            docx.add_paragraph(styled("GongwenHeading2", text).keep_next(true))
        }
        Block::Body(text) => docx.add_paragraph(styled("GongwenBody", text)),
        Block::AnnexNote(titles) => annex_note(docx.add_paragraph(blank().keep_next(true)), titles),
        Block::Signature { office, date } => signature(docx, office, date),
        Block::Colophon { cc, office, date } => colophon(docx, cc.as_deref(), office, date),
        Block::Annex {
            number,
            title,
            parts,
        } => annex(docx, *number, title, parts),
    }
}

/// 发文机关标志 top: 35 mm below the top of the 版心 (GB/T 9704-2012 7.2.1).
const OFFICE_TOP_TWIPS: u32 = 1984;

/// 发文机关标志: red 小标宋, centered; `is_top` when nothing else is in the
/// 版头 (no 发文字号): then it begins 35 mm below the top of the 版心 as
/// GB/T 9704-2012 places it, else the 发文字号 below it takes that room.
fn office_line(name: &str, is_top: bool) -> Paragraph {
    let size = if name.chars().count() <= 14 {
        60
    } else {
        SIZE_TITLE
    };
    let before = if is_top {
        OFFICE_TOP_TWIPS
    } else {
        OFFICE_TOP_TWIPS / 2
    };
    Paragraph::new()
        .align(AlignmentType::Center)
        .line_spacing(
            LineSpacing::new()
                .line_rule(LineSpacingType::Auto)
                .line(240)
                .before(before)
                .after(240),
        )
        .snap_to_grid(false)
        .add_run(
            Run::new()
                .add_text(name)
                .size(size)
                .color(RED)
                .fonts(fonts(FONT_TITLE)),
        )
}

/// 发文字号: centered under the 发文机关标志, two lines below it.
fn doc_number_line(number: &str) -> Paragraph {
    Paragraph::new()
        .align(AlignmentType::Center)
        .line_spacing(LineSpacing::new().before(2 * 240))
        .add_run(Run::new().add_text(number))
}

/// `p` with the red 版头 line 4 mm under it.
fn red_line(mut p: Paragraph) -> Paragraph {
    p.property = p.property.set_borders(
        ParagraphBorders::with_empty().set(
            ParagraphBorder::new(ParagraphBorderPosition::Bottom)
                .size(12)
                .space(11)
                .color(RED),
        ),
    );
    p
}

/// "附件：1．问题账号清单" with the following names aligned under the first.
fn annex_note(mut docx: Docx, titles: &[String]) -> Docx {
    for (i, title) in titles.iter().enumerate() {
        let text = format!("{}．{title}", i + 1);
        let p = if i == 0 {
            Paragraph::new()
                .indent(Some(2 * CHAR_TWIPS), None, None, None)
                .add_run(Run::new().add_text(format!("附件：{text}")))
        } else {
            Paragraph::new()
                .indent(Some(5 * CHAR_TWIPS), None, None, None)
                .add_run(Run::new().add_text(text))
        };
        docx = docx.add_paragraph(p.keep_next(true));
    }
    docx
}

/// 发文机关署名 centered over 成文日期, the date 4 characters from the right.
fn signature(docx: Docx, office: &str, date: &str) -> Docx {
    let date_width = super::text_width(date);
    let office_width = super::text_width(office);
    let office_indent = (4.0 + (date_width - office_width) / 2.0).max(0.0);
    let right = |chars: f64, text: &str| {
        Paragraph::new()
            .align(AlignmentType::Right)
            .indent(
                None,
                None,
                Some((chars * f64::from(CHAR_TWIPS)) as i32),
                None,
            )
            .add_run(Run::new().add_text(text))
    };
    // Room for the 印章 over the signature and the date (about four lines).
    docx.add_paragraph(blank().keep_next(true))
        .add_paragraph(blank().keep_next(true))
        .add_paragraph(blank().keep_next(true))
        .add_paragraph(right(office_indent, office).keep_next(true))
        .add_paragraph(right(4.0, date))
}

/// 版记 (GB/T 9704-2012 7.4): on a page of its own at the end, 4号 仿宋,
/// indented one character each side: 抄送 between the thick first line and
/// a thin one, then 印发机关 and 印发日期 ("2026年12月5日印发") above the thick
/// last line.
fn colophon(docx: Docx, cc: Option<&str>, office: &str, date: &str) -> Docx {
    let size = 28; // 4号
    let border = |position, size_eighths: usize| {
        ParagraphBorder::new(position)
            .size(size_eighths)
            .space(2)
            .color("000000")
    };
    let line = |text: Paragraph| text.indent(Some(CHAR_TWIPS), None, Some(CHAR_TWIPS), None);
    let docx = docx.add_paragraph(Paragraph::new().add_run(Run::new().add_break(BreakType::Page)));
    let mut issued = line(
        Paragraph::new()
            .add_tab(
                docx_rs::Tab::new()
                    .val(docx_rs::TabValueType::Right)
                    .pos(text_width_twips().saturating_sub(2 * CHAR_TWIPS as usize)),
            )
            .add_run(Run::new().add_text(office).size(size))
            .add_run(
                Run::new()
                    .add_tab()
                    .add_text(format!("{date}印发"))
                    .size(size),
            ),
    );
    let thick = 8; // 0.35 mm, in eighths of a point (1 pt)
    let thin = 4;
    match cc {
        Some(cc) => {
            let mut first = line(
                Paragraph::new().add_run(Run::new().add_text(format!("抄送：{cc}。")).size(size)),
            );
            first.property = first.property.set_borders(
                ParagraphBorders::with_empty()
                    .set(border(ParagraphBorderPosition::Top, thick))
                    .set(border(ParagraphBorderPosition::Bottom, thin)),
            );
            issued.property = issued.property.set_borders(
                ParagraphBorders::with_empty().set(border(ParagraphBorderPosition::Bottom, thick)),
            );
            docx.add_paragraph(first).add_paragraph(issued)
        }
        None => {
            issued.property = issued.property.set_borders(
                ParagraphBorders::with_empty()
                    .set(border(ParagraphBorderPosition::Top, thick))
                    .set(border(ParagraphBorderPosition::Bottom, thick)),
            );
            docx.add_paragraph(issued)
        }
    }
}

fn annex(mut docx: Docx, number: usize, title: &str, parts: &[AnnexPart]) -> Docx {
    docx = docx
        .add_paragraph(
            Paragraph::new().add_run(
                Run::new()
                    .add_break(BreakType::Page)
                    .add_text(format!("附件{number}"))
                    .fonts(fonts(FONT_HEADING1)),
            ),
        )
        .add_paragraph(blank())
        .add_paragraph(styled("GongwenTitle", title))
        .add_paragraph(blank());
    for part in parts {
        docx = match part {
            AnnexPart::Heading(text) => {
                docx.add_paragraph(styled("GongwenHeading2", text).keep_next(true))
            }
            AnnexPart::Note(text) => docx.add_paragraph(styled("GongwenBody", text)),
            AnnexPart::Table(table) => docx.add_table(annex_table(table)),
        };
    }
    docx
}

/// The 版心 width in twips.
fn text_width_twips() -> usize {
    let [_, _, left, right] = MARGIN_MM;
    PAGE_WIDTH_TWIPS as usize - mm(left) as usize - mm(right) as usize
}

/// A centred cell, a paragraph per line of `text`.
fn cell(text: &str, width: usize, is_header: bool) -> TableCell {
    let mut cell = TableCell::new()
        .width(width, WidthType::Dxa)
        .vertical_align(VAlignType::Center);
    for line in text.split('\n') {
        let mut run = Run::new().add_text(line).size(SIZE_TABLE);
        if is_header {
            run = run.fonts(fonts(FONT_HEADING1));
        }
        cell = cell.add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .snap_to_grid(false)
                .line_spacing(single_lines())
                .add_run(run),
        );
    }
    cell
}

fn annex_table(table: &Table) -> docx_rs::Table {
    let total: usize = table.widths.iter().sum::<usize>().max(1);
    let widths: Vec<usize> = table
        .widths
        .iter()
        .map(|w| text_width_twips() * w / total)
        .collect();
    let row = |cells: &[String], is_header: bool| {
        TableRow::new(
            cells
                .iter()
                .zip(&widths)
                .map(|(text, w)| cell(text, *w, is_header))
                .collect(),
        )
    };
    let mut rows = vec![row(&table.header, true)];
    rows.extend(table.rows.iter().map(|r| row(r, false)));
    docx_rs::Table::new(rows)
        .set_grid(widths.clone())
        .width(widths.iter().sum(), WidthType::Dxa)
        .layout(TableLayoutType::Fixed)
        // Narrow cell margins leave room for "序号" and a whole date.
        .margins(TableCellMargins::new().margin(40, 60, 40, 60))
        .align(TableAlignmentType::Center)
}
