//! Drawing the test pattern into an RGB buffer.

use font8x8::{UnicodeFonts, BASIC_FONTS};

/// Colour bars in the classic order: white, yellow, cyan, green, magenta, red, blue, black.
const BARS: [[u8; 3]; 8] = [
    [235, 235, 235],
    [235, 235, 16],
    [16, 235, 235],
    [16, 235, 16],
    [235, 16, 235],
    [235, 16, 16],
    [16, 16, 235],
    [16, 16, 16],
];

/// An RGB (3 bytes per pixel) canvas.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            rgb: vec![0; width * height * 3],
        }
    }

    pub fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, c: [u8; 3]) {
        let (x1, y1) = ((x + w).min(self.width), (y + h).min(self.height));
        for row in y.min(y1)..y1 {
            let line = &mut self.rgb[row * self.width * 3..(row + 1) * self.width * 3];
            for px in line[x.min(x1) * 3..x1 * 3].chunks_exact_mut(3) {
                px.copy_from_slice(&c);
            }
        }
    }

    /// Draws `text` with the 8×8 font scaled by `scale`, on a dark box so it
    /// stays readable over any background.
    pub fn text(&mut self, x: usize, y: usize, scale: usize, text: &str) {
        let glyph = 8 * scale;
        self.fill_rect(
            x.saturating_sub(scale * 2),
            y.saturating_sub(scale * 2),
            text.chars().count() * glyph + scale * 4,
            glyph + scale * 4,
            [0, 0, 0],
        );
        for (i, ch) in text.chars().enumerate() {
            let Some(bitmap) = BASIC_FONTS.get(ch) else {
                continue;
            };
            for (row, bits) in bitmap.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.fill_rect(
                            x + i * glyph + col * scale,
                            y + row * scale,
                            scale,
                            scale,
                            [255, 255, 255],
                        );
                    }
                }
            }
        }
    }
}

/// Draws frame number `n` of the pattern: colour bars, a bar sweeping across
/// once every two seconds at `fps`, and the frame counter and UTC time.
pub fn draw(canvas: &mut Canvas, n: u64, fps: u32, unix_ms: u64, label: &str) {
    let (w, h) = (canvas.width, canvas.height);
    let bar_w = w.div_ceil(BARS.len());
    for (i, c) in BARS.iter().enumerate() {
        canvas.fill_rect(i * bar_w, 0, bar_w, h * 2 / 3, *c);
    }
    // A grey ramp along the bottom third.
    for x in 0..w {
        let v = (x * 255 / w.max(1)) as u8;
        canvas.fill_rect(x, h * 2 / 3, 1, h - h * 2 / 3, [v, v, v]);
    }
    let period = (fps.max(1) as u64) * 2;
    let sweep_x = ((n % period) as usize * w) / period as usize;
    canvas.fill_rect(sweep_x, 0, (w / 40).max(2), h, [255, 64, 0]);

    let scale = (w / 320).max(1);
    canvas.text(scale * 8, scale * 8, scale, label);
    canvas.text(
        scale * 8,
        h / 2 - scale * 4,
        scale * 2,
        &format!("FRAME {n:08}"),
    );
    canvas.text(scale * 8, h - scale * 20, scale, &format_utc(unix_ms));
}

/// `YYYY-MM-DD HH:MM:SS.mmm UTC`, without a date library.
pub fn format_utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        unix_ms % 1000
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

/// A still JPEG that says a camera cannot deliver (`lines` centred on grey),
/// for clients that only understand pictures (MJPEG players, `<img>`).
pub fn notice_jpeg(
    width: usize,
    height: usize,
    lines: &[&str],
) -> Result<Vec<u8>, turbojpeg::Error> {
    let (width, height) = (width.clamp(160, 3840), height.clamp(120, 2160));
    let mut canvas = Canvas::new(width, height);
    canvas.fill_rect(0, 0, width, height, [48, 52, 58]);
    let scale = (width / 320).clamp(1, 4);
    let glyph = 8 * scale;
    let total = lines.len() * (glyph + 6 * scale);
    for (i, line) in lines.iter().enumerate() {
        let max_chars = (width / glyph).saturating_sub(2).max(1);
        let text: String = line.chars().take(max_chars).collect();
        let x = width.saturating_sub(text.chars().count() * glyph) / 2;
        let y = height.saturating_sub(total) / 2 + i * (glyph + 6 * scale);
        canvas.text(x, y, scale, &text);
    }
    let image = turbojpeg::Image {
        pixels: &canvas.rgb[..],
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    Ok(turbojpeg::compress(image, 80, turbojpeg::Subsamp::Sub2x2)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(format_utc(1_795_262_400_123), "2026-11-21 12:00:00.123 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00.000 UTC");
    }

    #[test]
    fn consecutive_frames_differ() {
        let mut a = Canvas::new(320, 240);
        let mut b = Canvas::new(320, 240);
        draw(&mut a, 1, 15, 0, "T");
        draw(&mut b, 2, 15, 0, "T");
        assert_ne!(a.rgb, b.rgb);
    }
}
