//! Uncompressed webcam frames to JPEG with turbojpeg, straight from YUV:
//! no RGB step. YUYV (packed 4:2:2) is split into Y, U and V planes;
//! NV12 (4:2:0, interleaved chroma) keeps its Y plane and has its chroma
//! split. Both are cheap byte shuffles; the DCT work is libjpeg-turbo's.

use turbojpeg::{Compressor, OutputBuf, Subsamp, YuvPlanesImage};

#[derive(Debug, thiserror::Error)]
pub enum YuvError {
    #[error("{format} frame of {got} bytes is too short for {width}×{height} (needs {need})")]
    Short {
        format: &'static str,
        width: usize,
        height: usize,
        need: usize,
        got: usize,
    },
    #[error("{format} needs an even width and height, got {width}×{height}")]
    OddSize {
        format: &'static str,
        width: usize,
        height: usize,
    },
    #[error("turbojpeg: {0}")]
    Jpeg(#[from] turbojpeg::Error),
}

/// A YUV → JPEG encoder with reusable plane and output buffers.
pub struct YuvEncoder {
    compressor: Compressor,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    out: Vec<u8>,
}

impl YuvEncoder {
    pub fn new(quality: i32) -> Result<Self, YuvError> {
        let mut compressor = Compressor::new()?;
        compressor.set_quality(quality.clamp(1, 100))?;
        Ok(Self {
            compressor,
            y: Vec::new(),
            u: Vec::new(),
            v: Vec::new(),
            out: Vec::new(),
        })
    }

    pub fn set_quality(&mut self, quality: i32) -> Result<(), YuvError> {
        Ok(self.compressor.set_quality(quality.clamp(1, 100))?)
    }

    /// YUYV (Y0 U Y1 V per two pixels) with `stride` bytes per row.
    pub fn yuyv(
        &mut self,
        data: &[u8],
        width: usize,
        height: usize,
        stride: usize,
    ) -> Result<&[u8], YuvError> {
        check(
            "YUYV",
            data,
            width,
            height,
            stride * height.saturating_sub(1) + width * 2,
            width.is_multiple_of(2),
        )?;
        let cw = width / 2;
        self.y.resize(width * height, 0);
        self.u.resize(cw * height, 0);
        self.v.resize(cw * height, 0);
        for row in 0..height {
            let src = &data[row * stride..row * stride + width * 2];
            let (y, u, v) = (
                &mut self.y[row * width..][..width],
                &mut self.u[row * cw..][..cw],
                &mut self.v[row * cw..][..cw],
            );
            for (i, px) in src.chunks_exact(4).enumerate() {
                y[2 * i] = px[0];
                u[i] = px[1];
                y[2 * i + 1] = px[2];
                v[i] = px[3];
            }
        }
        self.encode(width, height, width, cw, Subsamp::Sub2x1)
    }

    /// NV12: a Y plane (`stride` bytes per row), then interleaved U/V at half
    /// resolution with the same stride.
    pub fn nv12(
        &mut self,
        data: &[u8],
        width: usize,
        height: usize,
        stride: usize,
    ) -> Result<&[u8], YuvError> {
        let even = width.is_multiple_of(2) && height.is_multiple_of(2);
        check(
            "NV12",
            data,
            width,
            height,
            stride * height + stride * (height / 2).saturating_sub(1) + width,
            even,
        )?;
        let (cw, ch) = (width / 2, height / 2);
        self.u.resize(cw * ch, 0);
        self.v.resize(cw * ch, 0);
        let uv = &data[stride * height..];
        for row in 0..ch {
            let src = &uv[row * stride..row * stride + width];
            let (u, v) = (&mut self.u[row * cw..][..cw], &mut self.v[row * cw..][..cw]);
            for (i, pair) in src.chunks_exact(2).enumerate() {
                u[i] = pair[0];
                v[i] = pair[1];
            }
        }
        // The Y plane is used in place (stride and all).
        let image = YuvPlanesImage {
            y_plane: &data[..stride * height],
            u_plane: &self.u[..],
            v_plane: &self.v[..],
            width,
            height,
            y_stride: stride,
            u_stride: cw,
            v_stride: cw,
            subsamp: Subsamp::Sub2x2,
        };
        let n = compress(&mut self.compressor, &mut self.out, &image)?;
        Ok(&self.out[..n])
    }

    fn encode(
        &mut self,
        width: usize,
        height: usize,
        y_stride: usize,
        c_stride: usize,
        subsamp: Subsamp,
    ) -> Result<&[u8], YuvError> {
        let image = YuvPlanesImage {
            y_plane: &self.y[..],
            u_plane: &self.u[..],
            v_plane: &self.v[..],
            width,
            height,
            y_stride,
            u_stride: c_stride,
            v_stride: c_stride,
            subsamp,
        };
        let n = compress(&mut self.compressor, &mut self.out, &image)?;
        Ok(&self.out[..n])
    }
}

/// Compresses `image` into `out` (grown to the worst case); the JPEG's length.
fn compress(
    compressor: &mut Compressor,
    out: &mut Vec<u8>,
    image: &YuvPlanesImage<&[u8]>,
) -> Result<usize, YuvError> {
    compressor.set_subsamp(image.subsamp)?;
    out.resize(compressor.buf_len(image.width, image.height)?, 0);
    let mut buf = OutputBuf::borrowed(out);
    compressor.compress_yuv_planes(image, &mut buf)?;
    Ok(buf.len())
}

fn check(
    format: &'static str,
    data: &[u8],
    width: usize,
    height: usize,
    need: usize,
    even: bool,
) -> Result<(), YuvError> {
    if width == 0 || height == 0 || !even {
        return Err(YuvError::OddSize {
            format,
            width,
            height,
        });
    }
    if data.len() < need {
        return Err(YuvError::Short {
            format,
            width,
            height,
            need,
            got: data.len(),
        });
    }
    Ok(())
}
