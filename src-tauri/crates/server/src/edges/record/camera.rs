//! A camera's recorder: its JPEG frames as they came into Matroska segments
//! (with a linked audio source's PCM as a second track), continuously or
//! only around motion ([`super::motion`]).

use std::{
    fs,
    io::{self, BufWriter, Write},
    time::Duration,
};

use futures_util::FutureExt;
use relaydeck_contract::settings::MotionSettings;
use relaydeck_hub::{AudioFormat, HubEvent, ListenerItem, VideoFrame, ViewerQueue};

use super::{
    bits_of, blocking,
    catalog::{Kind, MotionRecord},
    free_bytes, mkv,
    motion::{Detector, MotionGate, Step, ANALYSE_EVERY},
    Open, RecorderState, Task, SYNC_EVERY,
};
use crate::host::GrayPicture;

/// A camera segment being written, and the linked audio source's subscription.
pub(super) struct CameraSegment {
    open: Open<mkv::MkvWriter<BufWriter<fs::File>>>,
    /// The first frame's capture time (µs, whole ms): time 0 of the file.
    base_us: u64,
    size: (u32, u32),
    /// The last block's time: blocks never go back in time.
    last_ms: u64,
    audio: Option<relaydeck_hub::AudioSubscription>,
    audio_format: Option<AudioFormat>,
}

/// A camera recorded on motion: what it saw, and the event going on.
struct Watch {
    settings: MotionSettings,
    detector: Detector,
    gate: MotionGate<VideoFrame>,
    /// The capture time (µs) of the last picture compared.
    analysed_us: Option<u64>,
    event: Option<MotionRecord>,
    /// Why the last picture could not be compared.
    error: Option<String>,
    /// The frame being decoded for comparison, off the async workers.
    decoding: Option<(
        VideoFrame,
        tokio::task::JoinHandle<Result<GrayPicture, String>>,
    )>,
}

impl Watch {
    fn new(settings: MotionSettings) -> Self {
        Self {
            detector: Detector::new(&settings),
            gate: MotionGate::new(&settings),
            analysed_us: None,
            event: None,
            error: None,
            decoding: None,
            settings,
        }
    }

    /// The stream went: what it saw before compares with nothing new.
    fn reset(&mut self) {
        *self = Watch::new(self.settings.clone());
    }
}

/// Thumbnails of motion events are at most this wide.
const THUMBNAIL_WIDTH: usize = 320;

impl Task {
    /// Camera frames into Matroska segments; with an audio source of the same
    /// ID (a phone publishing both), its PCM as a second track of the same file.
    pub(super) async fn camera(self) {
        let queue = ViewerQueue::new();
        let mut events = self.hub.events();
        let mut watch = self.motion.clone().map(Watch::new);
        let mut sub = self.subscribe(&queue, watch.as_mut());
        let mut seg: Option<CameraSegment> = None;
        let mut sync = tokio::time::interval(SYNC_EVERY);
        if watch.is_some() {
            self.set(RecorderState::Watching);
        }
        // A subscription hands over the camera's latest frame, which may be
        // older than the recording (a camera that opens on demand): skipped
        // (on motion the pre-roll keeps only its last seconds anyway).
        let since_us = crate::secrets::now_ms() * 1000;
        loop {
            if let Some(frame) = sub.as_ref().and_then(|s| s.slot().take()) {
                let seq = frame.seq;
                match watch.as_mut() {
                    Some(w) => self.watch_frame(&mut seg, w, frame),
                    None if frame.captured_us >= since_us => self.write_frame(&mut seg, &frame),
                    None => {}
                }
                if let Some(s) = sub.as_ref() {
                    s.slot().finish(Some(seq));
                }
                continue;
            }
            let audio = seg
                .as_ref()
                .and_then(|c| c.audio.as_ref().map(|a| a.queue().clone()));
            tokio::select! {
                _ = self.stop.cancelled() => break,
                _ = queue.ready() => {}
                batch = async { audio.as_ref().expect("linked").next_batch().await }, if audio.is_some() => {
                    self.write_audio(&mut seg, batch);
                }
                // fsync blocks: the worker hands its other tasks on first, so the live path does not wait.
                _ = sync.tick() => blocking(|| {
                    self.sync_camera(&mut seg);
                    if let Some(w) = watch.as_mut() {
                        self.watch_tick(&mut seg, w);
                    }
                }),
                ev = events.recv() => match ev {
                    Ok(HubEvent::Joined { id }) if id == self.id => {
                        sub = self.subscribe(&queue, watch.as_mut());
                    }
                    Ok(HubEvent::Left { id }) if id == self.id => {
                        sub = None;
                        self.close_camera(seg.take().map(|c| c.open));
                        if let Some(w) = watch.as_mut() {
                            self.end_event(w);
                            w.reset();
                        }
                        self.set(RecorderState::Waiting);
                    }
                    _ => {}
                },
            }
        }
        if let Some(w) = watch.as_mut() {
            self.end_event(w);
        }
        self.close_camera(seg.take().map(|c| c.open));
    }

    /// The camera's subscription; on motion, its ring's older frames start the pre-roll.
    fn subscribe(
        &self,
        queue: &ViewerQueue,
        watch: Option<&mut Watch>,
    ) -> Option<relaydeck_hub::stream::Subscription> {
        let stream = self.hub.stream(self.id.as_str())?;
        if let Some(w) = watch {
            let ring = stream.ring_frames();
            let latest = ring.last().map_or(0, |f| f.seq);
            for f in ring.into_iter().filter(|f| f.seq < latest) {
                let (at, len) = (f.captured_us / 1000, f.len());
                w.gate.frame(at, len, f, None);
            }
        }
        Some(stream.subscribe(queue))
    }

    /// A frame of a camera recorded on motion: compared (at most every
    /// [`ANALYSE_EVERY`]), then held, written, or the end of a recording.
    fn watch_frame(&self, seg: &mut Option<CameraSegment>, w: &mut Watch, frame: VideoFrame) {
        let at_ms = frame.captured_us / 1000;
        let moved = self.analyse(w, &frame);
        let step = w.gate.frame(
            at_ms,
            frame.len(),
            frame.clone(),
            moved.as_ref().map(|(of, _)| of.captured_us / 1000),
        );
        let moved = moved.map(|(of, share)| (of.captured_us / 1000, of, share));
        match step {
            Step::Hold => {}
            Step::Start(frames) => {
                let (of_ms, of, share) = moved.clone().expect("motion starts a recording");
                self.begin_event(w, &of, of_ms, share);
                for f in &frames {
                    self.write_frame(seg, f);
                }
            }
            Step::Write(f) => self.write_frame(seg, &f),
            Step::Stop => {
                self.end_event(w);
                self.close_camera(seg.take().map(|c| c.open));
            }
        }
        if let (Some(ev), Some((of_ms, _, share))) = (w.event.as_mut(), moved) {
            ev.end_ms = ev.end_ms.max(of_ms);
            ev.peak = ev.peak.max(share);
        }
        if !w.gate.recording() {
            self.set(match &w.error {
                Some(why) => RecorderState::Failed(why.clone()),
                None => RecorderState::Watching,
            });
        }
    }

    /// A decode that finished since the last frame: the frame it was of,
    /// and the share of the picture that changed, when that is motion.
    /// A new decode starts when none runs and [`ANALYSE_EVERY`] has passed;
    /// it runs on the blocking pool, so the workers carrying the live
    /// fan-out never wait for it (its answer applies to the next frame;
    /// the pre-roll holds the frame it was of).
    fn analyse(&self, w: &mut Watch, frame: &VideoFrame) -> Option<(VideoFrame, f64)> {
        let mut moved = None;
        if w.decoding.as_ref().is_some_and(|(_, h)| h.is_finished()) {
            let (of, handle) = w.decoding.take().expect("checked");
            let decoded = handle
                .now_or_never()
                .expect("finished")
                .unwrap_or_else(|e| Err(e.to_string()));
            match decoded {
                Ok(picture) => {
                    w.error = None;
                    if let Some((share, true)) = w.detector.compare(picture) {
                        moved = Some((of, share));
                    }
                }
                Err(why) => {
                    if w.error.is_none() {
                        tracing::warn!(source = %self.id, error = %why, "motion detection cannot read a frame");
                    }
                    w.error = Some(format!("motion detection: {why}"));
                }
            }
        }
        let step_us = ANALYSE_EVERY.as_micros() as u64;
        let due = w
            .analysed_us
            .is_none_or(|t| frame.captured_us >= t + step_us);
        if w.decoding.is_none() && due {
            w.analysed_us = Some(frame.captured_us);
            let (scaler, jpeg) = (self.scaler.clone(), frame.jpeg());
            let handle = tokio::task::spawn_blocking(move || scaler.gray_eighth(&jpeg));
            w.decoding = Some((frame.clone(), handle));
        }
        moved
    }

    fn begin_event(&self, w: &mut Watch, frame: &VideoFrame, at_ms: u64, share: f64) {
        let ev = MotionRecord {
            source: self.id.clone(),
            start_ms: at_ms,
            end_ms: at_ms,
            peak: share,
            live: true,
        };
        tracing::info!(source = %self.id, share = format!("{:.1} %", share * 100.0), "motion");
        if let Err(e) = self.catalog.put_motion(&ev) {
            tracing::warn!(source = %self.id, error = %e, "a motion event was not saved");
        }
        match self.scaler.thumbnail(frame.jpeg_bytes(), THUMBNAIL_WIDTH) {
            Ok(jpeg) => {
                if let Err(e) = self.catalog.put_thumbnail(&ev, &jpeg) {
                    tracing::warn!(source = %self.id, error = %e, "a motion thumbnail was not saved");
                }
            }
            Err(why) => tracing::warn!(source = %self.id, error = %why, "no motion thumbnail"),
        }
        w.event = Some(ev);
    }

    fn end_event(&self, w: &mut Watch) {
        if let Some(mut ev) = w.event.take() {
            ev.live = false;
            let _ = self.catalog.put_motion(&ev);
        }
    }

    /// Every second on motion: the event's file follows it, and a camera
    /// that stopped sending ends its recording when the post-roll runs out.
    fn watch_tick(&self, seg: &mut Option<CameraSegment>, w: &mut Watch) {
        if let Some(ev) = &w.event {
            let _ = self.catalog.put_motion(ev);
        }
        if w.gate.tick(crate::secrets::now_ms()) {
            self.end_event(w);
            self.close_camera(seg.take().map(|c| c.open));
            self.set(RecorderState::Watching);
        }
    }

    /// A frame into the open segment, opening one first when none is, when
    /// rotation is due or when the picture size changed.
    fn write_frame(&self, seg: &mut Option<CameraSegment>, frame: &VideoFrame) {
        let size = (u32::from(frame.info.width), u32::from(frame.info.height));
        if seg
            .as_ref()
            .is_none_or(|c| self.rotate_due(&c.open) || c.size != size)
        {
            self.close_camera(seg.take().map(|c| c.open));
            match self.open_camera(frame, size) {
                Ok(c) => {
                    self.catalog.put(c.open.seg.clone());
                    *seg = Some(c);
                    self.set(RecorderState::Recording);
                }
                Err(state) => self.set(state),
            }
        }
        let Some(c) = seg.as_mut() else { return };
        let ms = (frame.captured_us.saturating_sub(c.base_us) / 1000).max(c.last_ms);
        let o = &mut c.open;
        match o.writer.block(1, ms, frame.jpeg_bytes()) {
            Ok(()) => {
                // The index points at the JPEG itself, the block's last bytes.
                let at = o.writer.len() - frame.len() as u64;
                if let Some(idx) = o.index.as_mut() {
                    let _ = writeln!(idx, "{ms} {at} {}", frame.len());
                }
                o.seg.bytes = o.writer.len();
                o.seg.frames += 1;
                o.seg.end_ms = o.seg.start_ms + ms;
                c.last_ms = ms;
            }
            Err(e) => {
                self.set(RecorderState::Failed(e.to_string()));
                self.close_camera(seg.take().map(|c| c.open));
            }
        }
    }

    fn open_camera(
        &self,
        frame: &VideoFrame,
        size: (u32, u32),
    ) -> Result<CameraSegment, RecorderState> {
        let failed = |e: io::Error| RecorderState::Failed(e.to_string());
        let (seg, file) = self.create(Kind::Camera, frame.captured_us / 1000)?;
        let mut tracks = vec![mkv::Track::Video {
            width: size.0,
            height: size.1,
        }];
        // A linked audio source: the same ID, already streaming.
        let linked = self
            .hub
            .audio_source(self.id.as_str())
            .and_then(|s| s.format().map(|f| (s, f)));
        if let Some((_, f)) = &linked {
            let (bits, float) = bits_of(f.encoding);
            tracks.push(mkv::Track::Audio {
                rate: f.sample_rate,
                channels: f.channels,
                bits,
                float,
            });
        }
        let writer = mkv::MkvWriter::new(BufWriter::with_capacity(1 << 20, file), &tracks)
            .map_err(failed)?;
        let index = crate::store::private_file(&seg.index_path())
            .map(BufWriter::new)
            .map_err(failed)?;
        // From the ring back to the first frame: audio the hub got while the segment opened is not lost.
        // On motion the first frame is the pre-roll's, seconds old: back to it, as far as the ring goes.
        let age = Duration::from_micros(
            (crate::secrets::now_ms() * 1000).saturating_sub(frame.captured_us),
        );
        let audio = linked
            .as_ref()
            .map(|(s, _)| s.listen((age + Duration::from_secs(1)).min(Duration::from_secs(5))));
        Ok(CameraSegment {
            open: Open {
                seg,
                writer,
                index: Some(index),
                started: tokio::time::Instant::now(),
            },
            base_us: frame.captured_us - frame.captured_us % 1000,
            size,
            last_ms: 0,
            audio,
            audio_format: linked.map(|(_, f)| f),
        })
    }

    /// The linked source's chunks as blocks of track 2, at the time the hub
    /// received them (the clock the frames are on too).
    fn write_audio(&self, seg: &mut Option<CameraSegment>, batch: Option<Vec<ListenerItem>>) {
        let Some(c) = seg.as_mut() else { return };
        let Some(batch) = batch else {
            c.audio = None; // the source went; the picture goes on
            return;
        };
        for item in batch {
            match item {
                ListenerItem::Format(f) if Some(f) != c.audio_format => {
                    // Another format does not fit this track: the rest of the segment is picture only.
                    c.audio = None;
                    return;
                }
                ListenerItem::Format(_) => {}
                ListenerItem::Chunk(chunk) => {
                    let received_us = chunk.received_ms * 1000;
                    if received_us < c.base_us {
                        continue; // before the segment's first frame
                    }
                    let ms = (received_us.saturating_sub(c.base_us) / 1000).max(c.last_ms);
                    if c.open.writer.block(2, ms, &chunk.pcm).is_ok() {
                        c.open.seg.bytes = c.open.writer.len();
                        c.last_ms = ms;
                    }
                }
            }
        }
    }

    fn sync_camera(&self, seg: &mut Option<CameraSegment>) {
        let Some(c) = seg.as_mut() else { return };
        let o = &mut c.open;
        let synced = o
            .writer
            .set_duration(o.seg.end_ms - o.seg.start_ms)
            .and_then(|()| o.writer.get_mut().flush())
            .and_then(|()| o.writer.get_mut().get_ref().sync_data())
            .and_then(|()| o.index.as_mut().map_or(Ok(()), |i| i.flush()));
        if let Err(e) = synced {
            self.set(RecorderState::Failed(e.to_string()));
            self.close_camera(seg.take().map(|c| c.open));
            return;
        }
        self.catalog.put(o.seg.clone());
        if free_bytes(&self.dir).is_some_and(|f| f < self.limits.reserve_bytes) {
            self.close_camera(seg.take().map(|c| c.open));
            self.set(RecorderState::DiskFull);
            tracing::warn!(source = %self.id, "recording stopped: free space is under the reserve");
        }
    }

    fn close_camera(&self, open: Option<Open<mkv::MkvWriter<BufWriter<fs::File>>>>) {
        let Some(mut o) = open else { return };
        let _ = o.writer.set_duration(o.seg.end_ms - o.seg.start_ms);
        let _ = o.writer.get_mut().flush();
        let _ = o.writer.get_mut().get_ref().sync_all();
        if let Some(mut idx) = o.index.take() {
            let _ = idx.flush();
            let _ = idx.get_ref().sync_all();
        }
        o.seg.live = false;
        self.catalog.put(o.seg);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use relaydeck_hub::{Hub, HubConfig, SourceKind, StreamId};

    use crate::edges::record::{catalog::Kind, RecordLimits, Recorders};

    fn jpeg(tag: u8) -> Vec<u8> {
        relaydeck_hub::jpeg::markers_only(tag)
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("relaydeck-rotate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// One frame a minute for 25 minutes of the runtime's (paused) clock:
    /// segments of 10 minutes hold 10, 10 and 5 frames.
    #[tokio::test(start_paused = true)]
    async fn segments_rotate_at_their_length_on_a_fake_clock_and_at_their_size() {
        for (name, limits, want) in [
            (
                "time",
                RecordLimits {
                    segment: Duration::from_secs(600),
                    segment_bytes: u64::MAX,
                    reserve_bytes: 0,
                },
                vec![10, 10, 5],
            ),
            (
                "bytes",
                // A segment rotates before the first frame that finds it at 300 bytes or
                // more: its 153 bytes of headers, then 29 per frame (a cluster of one
                // 23-byte frame, a minute apart), reach 300 at the sixth frame (327).
                RecordLimits {
                    segment: Duration::from_secs(24 * 3600),
                    segment_bytes: 300,
                    reserve_bytes: 0,
                },
                vec![6, 6, 6, 6, 1],
            ),
        ] {
            let dir = scratch(name);
            let hub = Hub::new(HubConfig::default());
            let recorders = Recorders::open(&dir, limits).unwrap();
            let lease = hub.publish_as("cam", None, SourceKind::Remote).unwrap();
            assert!(recorders.start(&hub, StreamId::new("cam").unwrap(), Kind::Camera, None));
            tokio::time::sleep(Duration::from_millis(10)).await;
            for i in 0..25u8 {
                // Wall time moves on too (segment files are named by capture time).
                std::thread::sleep(Duration::from_millis(3));
                lease.publish(&jpeg(i)).unwrap();
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            recorders.stop("cam").await;
            let segments = recorders.catalog.all();
            let frames: Vec<u64> = segments.iter().map(|s| s.frames).collect();
            assert_eq!(frames, want, "{name}");
        }
    }
}
