//! Report → PNG: per-platform stale share (bars) and the stale trend (line),
//! drawn with a CJK font so Chinese labels are text, not boxes.

use super::Report;
use plotters::prelude::*;
use std::path::Path;

/// Where Debian's `fonts-wqy-microhei` puts its font (the Docker image ships it).
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

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

/// Registers the font once per process; plotters keeps it for the process's life.
fn register(path: &Path) -> Result<(), ChartError> {
    static REGISTERED: std::sync::OnceLock<std::sync::Mutex<Vec<String>>> =
        std::sync::OnceLock::new();
    let key = path.display().to_string();
    let done = REGISTERED.get_or_init(Default::default);
    let mut done = done
        .lock()
        .map_err(|_| ChartError::Draw("font registry poisoned".into()))?;
    if done.contains(&key) {
        return Ok(());
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
    done.push(key);
    Ok(())
}

/// True when the font parses and has a glyph for 政.
fn ab_glyph_check(bytes: &[u8]) -> bool {
    use ab_glyph::Font as _;
    ab_glyph::FontRef::try_from_slice(bytes).is_ok_and(|font| font.glyph_id('政').0 != 0)
}

/// Draws the chart as PNG bytes.
pub fn png(report: &Report, font: &Path) -> Result<Vec<u8>, ChartError> {
    register(font)?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
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

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw(report: &Report, root: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let title = ("cjk", 26).into_font();
    let root = root.titled(&report.title, title)?;
    let (left, right) = root.split_horizontally(WIDTH / 2);
    let label = ("cjk", 16).into_font();

    let platforms: Vec<(String, f64)> = report
        .by_platform
        .iter()
        .map(|p| (p.label.clone(), p.stale_share.unwrap_or(0.0) * 100.0))
        .collect();
    let n = platforms.len().max(1);
    let mut bars = ChartBuilder::on(&left)
        .caption("各平台超期更新账号占比（%）", label.clone())
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(44)
        .build_cartesian_2d((0..n).into_segmented(), 0.0..100.0)?;
    bars.configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|segment| match segment {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                platforms.get(*i).map(|p| p.0.clone()).unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .label_style(("cjk", 14))
        .draw()?;
    bars.draw_series(platforms.iter().enumerate().map(|(i, (_, value))| {
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), *value),
            ],
            RGBColor(68, 114, 196).filled(),
        );
        bar.set_margin(0, 0, 10, 10);
        bar
    }))?;

    let points: Vec<(usize, f64)> = report
        .trend
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.stale_incidents as f64))
        .collect();
    let max = points.iter().map(|p| p.1).fold(1.0, f64::max) * 1.2;
    let mut trend = ChartBuilder::on(&right)
        .caption("每次巡检超期更新次数", label)
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(44)
        .build_cartesian_2d(0..points.len().saturating_sub(1).max(1), 0.0..max)?;
    let dates: Vec<String> = report
        .trend
        .iter()
        .map(|p| p.checked_at.get(5..10).unwrap_or("").to_string())
        .collect();
    trend
        .configure_mesh()
        .x_labels(points.len().clamp(1, 10))
        .x_label_formatter(&|i| dates.get(*i).cloned().unwrap_or_default())
        .label_style(("cjk", 14))
        .draw()?;
    trend.draw_series(LineSeries::new(
        points.iter().copied(),
        RGBColor(237, 125, 49).stroke_width(3),
    ))?;
    trend.draw_series(
        points
            .iter()
            .map(|p| Circle::new(*p, 4, RGBColor(237, 125, 49).filled())),
    )?;
    Ok(())
}
