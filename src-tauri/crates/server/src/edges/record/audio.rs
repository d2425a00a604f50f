//! An audio source's recorder: its PCM, in its own format, into WAV segments.

use std::{
    fs,
    io::{BufWriter, Write},
    time::Duration,
};

use relaydeck_hub::{AudioFormat, ListenerItem};

use super::{
    bits_of, blocking, catalog::Kind, free_bytes, wav, Open, RecorderState, Task, SYNC_EVERY,
};

impl Task {
    /// Audio chunks into WAV segments.
    pub(super) async fn audio(self) {
        let mut sync = tokio::time::interval(SYNC_EVERY);
        let mut open: Option<Open<wav::WavWriter<BufWriter<fs::File>>>> = None;
        let mut format: Option<AudioFormat> = None;
        // Audio from this moment on: a source found later is read from its
        // ring back to here (the hub keeps 5 s), so nothing between the
        // start and the subscription is lost.
        let mut since_ms = crate::secrets::now_ms();
        'source: loop {
            let Some(source) = self.hub.audio_source(self.id.as_str()) else {
                self.set(RecorderState::Waiting);
                tokio::select! {
                    _ = self.stop.cancelled() => break 'source,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => continue 'source,
                }
            };
            let sub = source.listen(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = self.stop.cancelled() => break 'source,
                    batch = sub.queue().next_batch() => {
                        let Some(batch) = batch else {
                            self.close_audio(open.take());
                            since_ms = crate::secrets::now_ms();
                            continue 'source;
                        };
                        for item in batch {
                            match item {
                                ListenerItem::Format(f) => {
                                    if format != Some(f) {
                                        self.close_audio(open.take());
                                    }
                                    format = Some(f);
                                }
                                ListenerItem::Chunk(c) => {
                                    let Some(f) = format else { continue };
                                    if c.received_ms < since_ms {
                                        continue;
                                    }
                                    if open.as_ref().is_none_or(|o| self.rotate_due(o)) {
                                        self.close_audio(open.take());
                                        open = self.open_audio(f, c.received_ms);
                                    }
                                    if let Some(o) = open.as_mut() {
                                        if let Err(e) = o.writer.write(&c.pcm) {
                                            self.set(RecorderState::Failed(e.to_string()));
                                            self.close_audio(open.take());
                                            continue;
                                        }
                                        o.seg.bytes = wav::HEADER as u64 + o.writer.data_len();
                                        o.seg.end_ms = o.seg.start_ms + f.duration_of(o.writer.data_len() as usize).as_millis() as u64;
                                    }
                                }
                            }
                        }
                    }
                    _ = sync.tick() => blocking(|| self.sync_audio(&mut open)),
                }
            }
        }
        self.close_audio(open.take());
    }

    fn open_audio(
        &self,
        f: AudioFormat,
        start_ms: u64,
    ) -> Option<Open<wav::WavWriter<BufWriter<fs::File>>>> {
        let (bits, float) = bits_of(f.encoding);
        let made = self.create(Kind::Audio, start_ms).and_then(|(seg, file)| {
            let writer = wav::WavWriter::new(
                BufWriter::with_capacity(256 * 1024, file),
                f.sample_rate,
                f.channels,
                bits,
                float,
            )
            .map_err(|e| RecorderState::Failed(e.to_string()))?;
            Ok(Open {
                seg,
                writer,
                index: None,
                started: tokio::time::Instant::now(),
            })
        });
        match made {
            Ok(o) => {
                self.catalog.put(o.seg.clone());
                self.set(RecorderState::Recording);
                Some(o)
            }
            Err(state) => {
                if state == RecorderState::DiskFull {
                    tracing::warn!(source = %self.id, "recording waits: free space is under the reserve");
                }
                self.set(state);
                None
            }
        }
    }

    fn sync_audio(&self, open: &mut Option<Open<wav::WavWriter<BufWriter<fs::File>>>>) {
        let Some(o) = open.as_mut() else { return };
        let synced = o
            .writer
            .get_mut()
            .flush()
            .and_then(|()| o.writer.update_header())
            .and_then(|()| o.writer.get_mut().flush())
            .and_then(|()| o.writer.get_mut().get_ref().sync_data());
        match synced {
            Err(e) => {
                self.set(RecorderState::Failed(e.to_string()));
                self.close_audio(open.take());
            }
            Ok(()) if free_bytes(&self.dir).is_some_and(|f| f < self.limits.reserve_bytes) => {
                tracing::warn!(source = %self.id, "recording stopped: free space is under the reserve");
                self.close_audio(open.take());
                self.set(RecorderState::DiskFull);
            }
            Ok(()) => self.catalog.put(o.seg.clone()),
        }
    }

    fn close_audio(&self, open: Option<Open<wav::WavWriter<BufWriter<fs::File>>>>) {
        let Some(mut o) = open else { return };
        let _ = o.writer.get_mut().flush();
        let _ = o.writer.update_header();
        let _ = o.writer.get_mut().flush();
        let _ = o.writer.get_mut().get_ref().sync_all();
        o.seg.live = false;
        self.catalog.put(o.seg);
    }
}
