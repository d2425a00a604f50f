//! Small pictures of JPEG frames: the grey 1/8-scale decode motion detection
//! compares, and the thumbnails of motion events. turbojpeg decodes at 1/8
//! scale from each 8×8 block's DC coefficient alone (no inverse DCT), which
//! is what makes watching every camera for motion affordable.

use std::cell::RefCell;

use turbojpeg::{Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

thread_local! {
    /// One decompressor per thread, made once (an init per frame would cost more than the decode).
    static DECODER: RefCell<Option<Decompressor>> = const { RefCell::new(None) };
}

fn with_decoder<R>(
    f: impl FnOnce(&mut Decompressor) -> Result<R, turbojpeg::Error>,
) -> Result<R, turbojpeg::Error> {
    DECODER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = Some(Decompressor::new()?);
        }
        f(cell.as_mut().expect("made above"))
    })
}

/// `jpeg` in grey at 1/8 of its width and height: `(width, height, pixels)`.
pub fn gray_eighth(jpeg: &[u8]) -> Result<(usize, usize, Vec<u8>), turbojpeg::Error> {
    decode(jpeg, ScalingFactor::ONE_EIGHTH, PixelFormat::GRAY)
}

fn decode(
    jpeg: &[u8],
    factor: ScalingFactor,
    format: PixelFormat,
) -> Result<(usize, usize, Vec<u8>), turbojpeg::Error> {
    with_decoder(|d| {
        d.set_scaling_factor(factor)?;
        let header = d.read_header(jpeg)?.scaled(factor);
        let pitch = header.width * format.size();
        let mut pixels = vec![0u8; pitch * header.height];
        d.decompress(
            jpeg,
            Image {
                pixels: &mut pixels[..],
                width: header.width,
                pitch,
                height: header.height,
                format,
            },
        )?;
        Ok((header.width, header.height, pixels))
    })
}

/// `jpeg` made at most `max_width` wide by the largest of turbojpeg's
/// scales (1/2, 1/4, 1/8) that fits, encoded again at quality 75.
pub fn thumbnail(jpeg: &[u8], max_width: usize) -> Result<Vec<u8>, turbojpeg::Error> {
    let width = turbojpeg::read_header(jpeg)?.width;
    let factor = [
        ScalingFactor::ONE,
        ScalingFactor::ONE_HALF,
        ScalingFactor::ONE_QUARTER,
        ScalingFactor::ONE_EIGHTH,
    ]
    .into_iter()
    .find(|f| f.scale(width) <= max_width)
    .unwrap_or(ScalingFactor::ONE_EIGHTH);
    let (w, h, rgb) = decode(jpeg, factor, PixelFormat::RGB)?;
    let image = Image {
        pixels: &rgb[..],
        width: w,
        pitch: w * 3,
        height: h,
        format: PixelFormat::RGB,
    };
    Ok(turbojpeg::compress(image, 75, Subsamp::Sub2x2)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: usize, height: usize, grey: impl Fn(usize, usize) -> u8) -> Vec<u8> {
        let mut px = vec![0u8; width * height * 3];
        for (i, p) in px.chunks_exact_mut(3).enumerate() {
            let g = grey(i % width, i / width);
            p.copy_from_slice(&[g, g, g]);
        }
        let image = Image {
            pixels: &px[..],
            width,
            pitch: width * 3,
            height,
            format: PixelFormat::RGB,
        };
        turbojpeg::compress(image, 90, Subsamp::Sub2x2)
            .unwrap()
            .to_vec()
    }

    #[test]
    fn an_eighth_is_an_eighth_of_the_picture_and_keeps_its_shades() {
        // Left half black, right half white.
        let frame = jpeg(640, 480, |x, _| if x < 320 { 0 } else { 255 });
        let (w, h, px) = gray_eighth(&frame).unwrap();
        assert_eq!((w, h, px.len()), (80, 60, 80 * 60));
        assert!(px[10] < 16, "left is dark: {}", px[10]);
        assert!(px[70] > 240, "right is bright: {}", px[70]);
        assert!(gray_eighth(b"not a jpeg").is_err());
    }

    #[test]
    fn a_thumbnail_fits_its_width() {
        let frame = jpeg(1280, 720, |x, y| ((x + y) % 256) as u8);
        let thumb = thumbnail(&frame, 200).unwrap();
        let head = turbojpeg::read_header(&thumb).unwrap();
        assert_eq!((head.width, head.height), (160, 90));
        let small = jpeg(120, 80, |_, _| 128);
        assert_eq!(
            turbojpeg::read_header(&thumbnail(&small, 200).unwrap())
                .unwrap()
                .width,
            120
        );
    }
}
