//! Report → PNG: per-platform stale share (bars with values) and, per
//! inspection, stale incidents (bars) with the 合格率 (line),
//! drawn with a CJK font so Chinese labels are text, not boxes.

use super::Report;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

pub use crate::config::DEFAULT_FONT;

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 600;

/// A chart problem, naming the font file when that is the cause.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error(
        "cannot read the chart font {path}: {source} (install fonts-wqy-microhei or set reports.font)"
    )]
    FontMissing {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a usable font (TTF/TTC/OTF with CJK glyphs)")]
    FontInvalid { path: String },
    #[error("cannot draw the chart: {0}")]
    Draw(String),
}

/// Loads the font once per process (plotters keeps it for the process's
/// life) and returns its bytes.
fn register(path: &Path) -> Result<&'static [u8], ChartError> {
    type Loaded = Vec<(String, &'static [u8])>;
    static REGISTERED: std::sync::OnceLock<std::sync::Mutex<Loaded>> = std::sync::OnceLock::new();
    let key = path.display().to_string();
    let done = REGISTERED.get_or_init(Default::default);
    let mut done = done
        .lock()
        .map_err(|_| ChartError::Draw("font registry poisoned".into()))?;
    if let Some((_, bytes)) = done.iter().find(|(k, _)| *k == key) {
        return Ok(bytes);
    }
    let bytes = std::fs::read(path).map_err(|source| ChartError::FontMissing {
        path: key.clone(),
        source,
    })?;
    let has_cjk = ab_glyph_check(&bytes);
    if !has_cjk {
        return Err(ChartError::FontInvalid { path: key });
    }
    // plotters needs 'static font data; a handful of fonts per process at most.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("cjk", FontStyle::Normal, bytes)
        .map_err(|_| ChartError::FontInvalid { path: key.clone() })?;
    done.push((key, bytes));
    Ok(bytes)
}

/// True when the font parses and has a glyph for 政.
fn ab_glyph_check(bytes: &[u8]) -> bool {
    use ab_glyph::Font as _;
    ab_glyph::FontRef::try_from_slice(bytes).is_ok_and(|font| font.glyph_id('政').0 != 0)
}

/// Draws the chart as PNG bytes.
pub fn png(report: &Report, font: &Path) -> Result<Vec<u8>, ChartError> {
    let bytes = register(font)?;
    let face = ab_glyph::FontRef::try_from_slice(bytes).map_err(|_| ChartError::FontInvalid {
        path: font.display().to_string(),
    })?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let bitmap = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT));
        let root = super::glyphs::CjkBitMap::new(bitmap, face).into_drawing_area();
        draw(report, &root).map_err(|e| ChartError::Draw(e.to_string()))?;
        root.present()
            .map_err(|e| ChartError::Draw(e.to_string()))?;
    }
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(encoder, &pixels, WIDTH, HEIGHT, image::ColorType::Rgb8)
        .map_err(|e| ChartError::Draw(e.to_string()))?;
    Ok(out)
}

type Area<'a> = DrawingArea<super::glyphs::CjkBitMap<'a>, plotters::coord::Shift>;

fn draw(report: &Report, root: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let title = ("cjk", 26).into_font();
    let root = root.titled(&report.title, title)?;
    let (left, right) = root.split_horizontally(WIDTH / 2);
    draw_shares(report, &left)?;
    draw_trend(report, &right)?;
    Ok(())
}

const BLUE: RGBColor = RGBColor(68, 114, 196);
const ORANGE: RGBColor = RGBColor(237, 125, 49);
const GREEN: RGBColor = RGBColor(56, 118, 29);

/// Bars: each platform's share of stale accounts, labelled "30%（3个）".
fn draw_shares(report: &Report, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let platforms: Vec<(String, f64, u64)> = report
        .by_platform
        .iter()
        .map(|p| {
            (
                p.label.clone(),
                p.stale_share.unwrap_or(0.0) * 100.0,
                p.stale_accounts,
            )
        })
        .collect();
    let n = platforms.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption("各平台超期更新账号占比（%）", ("cjk", 18))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(52)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..110.0)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|segment| match segment {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                platforms.get(*i).map(|p| p.0.clone()).unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .y_labels(6)
        .y_label_formatter(&|v| format!("{v:.0}%"))
        .label_style(("cjk", 14))
        .draw()?;
    if !report.is_assessable {
        chart.draw_series(std::iter::once(Text::new(
            "本期无巡检记录，无法评定",
            (SegmentValue::CenterOf(n / 2), 55.0),
            ("cjk", 20)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        )))?;
        return Ok(());
    }
    chart.draw_series(platforms.iter().enumerate().map(|(i, (_, value, _))| {
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), *value),
            ],
            BLUE.filled(),
        );
        bar.set_margin(0, 0, 10, 10);
        bar
    }))?;
    let value_style = ("cjk", 12)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    chart.draw_series(platforms.iter().enumerate().map(|(i, (_, value, count))| {
        Text::new(
            format!("{value:.0}%/{count}个"),
            (SegmentValue::CenterOf(i), value + 1.5),
            value_style.clone(),
        )
    }))?;
    Ok(())
}

/// The x label of each inspection: its date, or date and time when several
/// inspections share a day.
pub fn trend_labels(report: &Report) -> Vec<String> {
    let day = |t: &str| t.get(5..10).unwrap_or(t).to_string();
    report
        .trend
        .iter()
        .map(|p| {
            let shared = report
                .trend
                .iter()
                .filter(|q| q.checked_at.get(..10) == p.checked_at.get(..10))
                .count()
                > 1;
            if shared {
                p.checked_at.get(5..16).unwrap_or(&p.checked_at).to_string()
            } else {
                day(&p.checked_at)
            }
        })
        .collect()
}

/// Per inspection: stale incidents (bars, whole numbers) and 合格率 (line, right axis).
fn draw_trend(report: &Report, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let labels = trend_labels(report);
    let counts: Vec<u64> = report.trend.iter().map(|p| p.stale_incidents).collect();
    let rates: Vec<Option<f64>> = report
        .trend
        .iter()
        .map(|p| p.summary.pass_rate.map(|r| r * 100.0))
        .collect();
    let n = labels.len().max(1);
    // Whole-number axis with headroom for the value labels.
    let top = counts.iter().copied().max().unwrap_or(0).max(4) + 1;
    let top = top + top / 5;
    let mut chart = ChartBuilder::on(area)
        .caption("每次巡检超期更新次数与合格率", ("cjk", 18))
        .margin(16)
        // Room for the right axis' title beyond its labels ("100%").
        .margin_right(32)
        .x_label_area_size(40)
        .y_label_area_size(44)
        .right_y_label_area_size(72)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0u64..top)?
        .set_secondary_coord((0..n - 1).into_segmented(), 0.0..110.0);
    let step = labels.len().div_ceil(10).max(1);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|segment| match segment {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if i % step == 0 => {
                labels.get(*i).cloned().unwrap_or_default()
            }
            _ => String::new(),
        })
        .y_labels((top as usize + 1).min(11))
        .y_label_formatter(&|v| format!("{v}"))
        .y_desc("超期更新次数")
        .label_style(("cjk", 14))
        .axis_desc_style(("cjk", 14))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_labels(6)
        .y_label_formatter(&|v| format!("{v:.0}%"))
        .y_desc("合格率")
        .label_style(("cjk", 14))
        .axis_desc_style(("cjk", 14))
        .draw()?;
    if report.trend.is_empty() {
        let (width, height) = area.dim_in_pixel();
        area.draw(&Text::new(
            "本期无巡检记录",
            (width as i32 / 2, height as i32 / 2),
            ("cjk", 20)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        return Ok(());
    }
    chart.draw_series(counts.iter().enumerate().map(|(i, count)| {
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0),
                (SegmentValue::Exact(i + 1), *count),
            ],
            ORANGE.mix(0.75).filled(),
        );
        bar.set_margin(0, 0, 12, 12);
        bar
    }))?;
    let value_style = ("cjk", 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    chart.draw_series(counts.iter().enumerate().map(|(i, count)| {
        Text::new(
            format!("{count}次"),
            (SegmentValue::CenterOf(i), *count),
            value_style.clone(),
        )
    }))?;
    let points: Vec<(SegmentValue<usize>, f64)> = rates
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.map(|r| (SegmentValue::CenterOf(i), r)))
        .collect();
    chart.draw_secondary_series(LineSeries::new(points.clone(), GREEN.stroke_width(3)))?;
    chart.draw_secondary_series(
        points
            .iter()
            .map(|p| Circle::new(p.clone(), 4, GREEN.filled())),
    )?;
    let rate_style = ("cjk", 14)
        .into_font()
        .color(&GREEN)
        .pos(Pos::new(HPos::Left, VPos::Bottom));
    chart.draw_secondary_series(points.iter().map(|(x, r)| {
        Text::new(
            format!(
                " 合格率{}",
                crate::reports::render::percent(Some(r / 100.0))
            ),
            (x.clone(), r + 1.5),
            rate_style.clone(),
        )
    }))?;
    Ok(())
}
