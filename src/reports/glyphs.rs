//! A bitmap backend that lays Chinese text out itself. plotters' ab_glyph
//! text drops each glyph's left side bearing, which splits "今日头条" into
//! "今日 头条" and prints "（%）" as "( %)"; this backend keeps plotters for
//! shapes and places every glyph at its pen position plus its bearing.

use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont as _, point};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// [`BitMapBackend`] with its own text layout.
pub struct CjkBitMap<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> CjkBitMap<'a> {
    pub fn new(inner: BitMapBackend<'a>, font: FontRef<'static>) -> CjkBitMap<'a> {
        CjkBitMap { inner, font }
    }

    /// Each glyph with its pen position, and the line's width and height.
    fn layout(&self, text: &str, size: f64) -> (Vec<(ab_glyph::GlyphId, f32)>, f32, f32) {
        let scaled = self.font.as_scaled(PxScale::from(size as f32));
        let mut pen = 0f32;
        let mut prev = None;
        let mut glyphs = Vec::with_capacity(text.len());
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(prev) = prev {
                pen += scaled.kern(prev, id);
            }
            glyphs.push((id, pen));
            pen += scaled.h_advance(id);
            prev = Some(id);
        }
        (glyphs, pen, scaled.ascent() - scaled.descent())
    }
}

type Failure = DrawingErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;

impl DrawingBackend for CjkBitMap<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Failure> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Failure> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Failure> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), Failure> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Failure> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Failure> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Failure> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), Failure> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), Failure> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), Failure> {
        let (_, width, height) = self.layout(text, style.size());
        Ok((width.ceil() as u32, height.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), Failure> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let (glyphs, width, height) = self.layout(text, style.size());
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Right => -width,
            HPos::Center => -width / 2.0,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let scale = PxScale::from(style.size() as f32);
        let scaled = self.font.as_scaled(scale);
        let baseline = scaled.ascent();
        let transform = style.transform();
        let (w, h) = self.get_size();
        let mut pixels = Vec::new();
        for (id, pen) in glyphs {
            let glyph = id.with_scale_and_position(scale, point(pen + dx, baseline + dy));
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    let x = bounds.min.x as i32 + x as i32;
                    let y = bounds.min.y as i32 + y as i32;
                    pixels.push((transform.transform(x, y), coverage));
                }
            });
        }
        for ((x, y), coverage) in pixels {
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && y >= 0 && x < w as i32 && y < h as i32 {
                let shade = BackendColor {
                    alpha: color.alpha * f64::from(coverage.min(1.0)),
                    rgb: color.rgb,
                };
                self.inner.draw_pixel((x, y), shade)?;
            }
        }
        Ok(())
    }
}
