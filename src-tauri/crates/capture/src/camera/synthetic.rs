//! A camera without hardware, behind the same traits as a webcam: frames in
//! a chosen raw format (MJPEG with or without Huffman tables, YUYV, NV12)
//! showing a moving gradient, paced at the requested rate. Tests can unplug
//! it, plug it back and see whether it is open.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use super::source::{
    choose, CameraBackend, CameraError, CameraInfo, CameraMode, CameraRequest, FrameSource,
    RawFormat, RawFrame,
};

/// Shared switches and counters of a synthetic camera.
#[derive(Debug, Default)]
pub struct SyntheticControl {
    pub unplugged: AtomicBool,
    pub opens: AtomicU32,
    pub open_now: AtomicU32,
}

pub struct SyntheticBackend {
    pub format: RawFormat,
    /// For MJPEG: send frames without Huffman tables, like many webcams.
    pub strip_huffman: bool,
    pub control: Arc<SyntheticControl>,
}

impl SyntheticBackend {
    pub fn new(format: RawFormat) -> Self {
        Self {
            format,
            strip_huffman: false,
            control: Arc::default(),
        }
    }
}

impl CameraBackend for SyntheticBackend {
    fn list(&self) -> Result<Vec<CameraInfo>, CameraError> {
        if self.control.unplugged.load(Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        let modes = [(640, 480), (1280, 720)]
            .map(|(width, height)| CameraMode {
                width,
                height,
                fps: 30,
                format: self.format,
            })
            .to_vec();
        Ok(vec![CameraInfo {
            index: 0,
            name: "Synthetic camera".into(),
            modes,
        }])
    }

    fn open(&self, request: &CameraRequest) -> Result<Box<dyn FrameSource>, CameraError> {
        choose(&self.list()?, request)?;
        self.control.opens.fetch_add(1, Ordering::SeqCst);
        self.control.open_now.fetch_add(1, Ordering::SeqCst);
        let mode = CameraMode {
            width: request.width & !1,
            height: request.height & !1,
            fps: request.fps.clamp(1, 120),
            format: self.format,
        };
        Ok(Box::new(SyntheticSource {
            mode,
            strip: self.strip_huffman,
            control: self.control.clone(),
            n: 0,
            started: Instant::now(),
            buf: Vec::new(),
        }))
    }
}

struct SyntheticSource {
    mode: CameraMode,
    strip: bool,
    control: Arc<SyntheticControl>,
    n: u64,
    started: Instant,
    buf: Vec<u8>,
}

impl Drop for SyntheticSource {
    fn drop(&mut self) {
        self.control.open_now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FrameSource for SyntheticSource {
    fn mode(&self) -> CameraMode {
        self.mode
    }

    fn next_frame(&mut self, sink: &mut dyn FnMut(RawFrame<'_>)) -> Result<(), CameraError> {
        if self.control.unplugged.load(Ordering::SeqCst) {
            return Err(CameraError::Lost("device unplugged".into()));
        }
        let due = self.started + Duration::from_secs_f64(self.n as f64 / self.mode.fps as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        self.n += 1;
        let (w, h) = (self.mode.width as usize, self.mode.height as usize);
        let stride = match self.mode.format {
            RawFormat::Yuyv => {
                self.buf = yuyv_frame(w, h, self.n);
                w * 2
            }
            RawFormat::Nv12 => {
                self.buf = nv12_frame(w, h, self.n);
                w
            }
            RawFormat::Mjpeg => {
                let jpeg =
                    mjpeg_frame(w, h, self.n).map_err(|e| CameraError::Lost(e.to_string()))?;
                self.buf = if self.strip {
                    strip_huffman_tables(&jpeg)
                } else {
                    jpeg
                };
                w
            }
        };
        sink(RawFrame {
            format: self.mode.format,
            width: w,
            height: h,
            stride,
            data: &self.buf,
        });
        Ok(())
    }
}

/// A smooth test image in YUV: luma ramps moving with `n`, chroma ramps.
pub fn yuv_pixel(x: usize, y: usize, n: u64) -> (u8, u8, u8) {
    let luma = ((x + y + n as usize * 4) % 220 + 16) as u8;
    (
        luma,
        (64 + (x * 128 / 640) % 128) as u8,
        (64 + (y * 128 / 480) % 128) as u8,
    )
}

pub fn yuyv_frame(w: usize, h: usize, n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(w * h * 2);
    for y in 0..h {
        for x in (0..w).step_by(2) {
            let (y0, u, v) = yuv_pixel(x, y, n);
            let (y1, _, _) = yuv_pixel(x + 1, y, n);
            out.extend_from_slice(&[y0, u, y1, v]);
        }
    }
    out
}

pub fn nv12_frame(w: usize, h: usize, n: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(w * h * 3 / 2);
    for y in 0..h {
        for x in 0..w {
            out.push(yuv_pixel(x, y, n).0);
        }
    }
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let (_, u, v) = yuv_pixel(x, y, n);
            out.extend_from_slice(&[u, v]);
        }
    }
    out
}

fn mjpeg_frame(w: usize, h: usize, n: u64) -> Result<Vec<u8>, turbojpeg::Error> {
    let mut rgb = vec![0u8; w * h * 3];
    for (i, px) in rgb.chunks_exact_mut(3).enumerate() {
        let (x, y) = (i % w, i / w);
        px.copy_from_slice(&[((x + n as usize * 4) % 256) as u8, (y % 256) as u8, 128]);
    }
    let image = turbojpeg::Image {
        pixels: &rgb[..],
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    Ok(turbojpeg::compress(image, 80, turbojpeg::Subsamp::Sub2x1)?.to_vec())
}

/// Removes every DHT segment (the "AVI1" MJPEG form many webcams send).
pub fn strip_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&jpeg[..2]);
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if marker == 0xDA {
            break;
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        if marker != 0xC4 {
            out.extend_from_slice(&jpeg[i..i + 2 + len]);
        }
        i += 2 + len;
    }
    out.extend_from_slice(&jpeg[i..]);
    out
}
