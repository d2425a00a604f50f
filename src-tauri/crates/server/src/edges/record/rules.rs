//! Recording without being asked each time: the `recordRules` setting
//! (always, or on a weekly schedule in the relay's local time) followed
//! live, and retention (`recordKeepDays`, `recordMaxDiskPercent`) applied
//! every minute. Both decide with pure functions of the clock
//! ([`wanted`], [`to_delete`]) so tests give them any time they like.

use std::{sync::Arc, time::Duration};

use relaydeck_contract::settings::{RecordMode, RecordRule, Settings};
use relaydeck_hub::{Hub, StreamId};
use tokio_util::sync::CancellationToken;

use super::{
    catalog::{Kind, Segment},
    Recorders, Wanted,
};
use crate::store::settings::SettingsHandle;

/// The recorders the rules want at `(day, minute)` (ISO day 1–7, minute of
/// the day), each on motion (and how) or not.
pub fn wanted(rules: &[RecordRule], day: u8, minute: u16) -> Wanted {
    rules
        .iter()
        .filter(|r| r.active(day, minute))
        .filter_map(|r| {
            let motion =
                (r.mode == RecordMode::Motion).then(|| r.motion.clone().unwrap_or_default());
            Some((
                (StreamId::new(&r.source).ok()?, Kind::parse(&r.kind)?),
                motion,
            ))
        })
        .collect()
}

/// The segments retention deletes at `now_ms`: finished ones older than
/// `keep_days` (0: no age limit), then the oldest until the rest fit in `max_bytes`.
pub fn to_delete(
    segments: &[Segment],
    now_ms: u64,
    keep_days: u32,
    max_bytes: u64,
) -> Vec<Segment> {
    let mut done: Vec<&Segment> = segments.iter().filter(|s| !s.live).collect();
    done.sort_by_key(|s| (s.end_ms, s.start_ms));
    let cutoff = now_ms.saturating_sub(u64::from(keep_days) * 86_400_000);
    let mut total: u64 = segments.iter().map(|s| s.bytes).sum();
    let mut out = Vec::new();
    for s in done {
        let too_old = keep_days > 0 && s.end_ms < cutoff;
        if too_old || total > max_bytes {
            total -= s.bytes;
            out.push(s.clone());
        }
    }
    out
}

/// ISO weekday (1 = Monday) and minute of the day, local time.
pub fn local_now() -> (u8, u16) {
    let now: libc::time_t = unsafe { libc::time(std::ptr::null_mut()) };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers; localtime_r is the thread-safe form.
    unsafe { libc::localtime_r(&now, &mut tm) };
    let day = if tm.tm_wday == 0 { 7 } else { tm.tm_wday as u8 };
    (day, (tm.tm_hour * 60 + tm.tm_min) as u16)
}

/// Total bytes of the file system holding `dir`.
fn disk_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_blocks as u64 * st.f_frsize as u64)
}

/// Follows the rules and applies retention until `stop`.
pub async fn run(
    recorders: Arc<Recorders>,
    hub: Hub,
    settings: SettingsHandle,
    stop: CancellationToken,
) {
    let mut changes = settings.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(20));
    loop {
        let current: Settings = changes.borrow_and_update().clone();
        let (day, minute) = local_now();
        recorders
            .follow_rules(&hub, wanted(&current.record_rules, day, minute))
            .await;
        retain(&recorders, &current);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
            changed = changes.changed() => if changed.is_err() { return },
        }
    }
}

fn retain(recorders: &Recorders, s: &Settings) {
    let max = disk_bytes(&recorders.dir)
        .map_or(u64::MAX, |d| d / 100 * u64::from(s.record_max_disk_percent));
    let now = crate::secrets::now_ms();
    for seg in to_delete(&recorders.catalog.all(), now, s.record_keep_days, max) {
        tracing::info!(recording = %seg.id(), "retention: deleted");
        let _ = std::fs::remove_file(&seg.path);
        let _ = std::fs::remove_file(seg.index_path());
        recorders.catalog.remove(&seg);
    }
    // Motion events go with the recordings they were in.
    let segments = recorders.catalog.all();
    for ev in recorders.catalog.motion(None, 0, u64::MAX) {
        let recorded = segments
            .iter()
            .any(|g| g.source == ev.source && g.start_ms <= ev.end_ms && g.end_ms >= ev.start_ms);
        if !ev.live && !recorded {
            recorders.catalog.remove_motion(&ev);
        }
    }
}

#[cfg(test)]
mod tests {
    use relaydeck_contract::settings::{MotionSettings, WeeklySpan};

    use super::*;

    fn seg(source: &str, start_ms: u64, end_ms: u64, bytes: u64, live: bool) -> Segment {
        Segment {
            source: StreamId::new(source).unwrap(),
            kind: Kind::Audio,
            start_ms,
            end_ms,
            bytes,
            frames: 0,
            live,
            path: Default::default(),
        }
    }

    const DAY: u64 = 86_400_000;

    #[test]
    fn retention_deletes_what_is_too_old_then_the_oldest_until_it_fits() {
        let now = 100 * DAY;
        let segs = [
            seg("a", 90 * DAY, 90 * DAY + 600_000, 10, false), // 10 days old
            seg("b", 95 * DAY, 95 * DAY + 600_000, 10, false),
            seg("a", 99 * DAY, 99 * DAY + 600_000, 10, false),
            seg("a", now - 600_000, now, 10, true), // being written: never
        ];
        let ids = |v: Vec<Segment>| v.into_iter().map(|s| s.end_ms / DAY).collect::<Vec<_>>();
        assert_eq!(
            ids(to_delete(&segs, now, 7, u64::MAX)),
            [90],
            "older than 7 days"
        );
        assert_eq!(
            ids(to_delete(&segs, now, 0, u64::MAX)),
            Vec::<u64>::new(),
            "no age limit"
        );
        assert_eq!(
            ids(to_delete(&segs, now, 0, 25)),
            [90, 95],
            "the oldest go until 40 fits in 25"
        );
        assert_eq!(
            ids(to_delete(&segs, now, 7, 5)),
            [90, 95, 99],
            "the live one stays even over the limit"
        );
        // The next day, the segment of day 95 is too old as well (fake clock).
        assert_eq!(ids(to_delete(&segs, now + 3 * DAY, 7, u64::MAX)), [90, 95]);
    }

    #[test]
    fn rules_want_their_recorders_when_their_schedule_says() {
        let rules = vec![
            RecordRule {
                source: "door".into(),
                kind: "camera".into(),
                mode: RecordMode::Always,
                schedule: vec![],
                motion: None,
            },
            RecordRule {
                source: "shop".into(),
                kind: "audio".into(),
                mode: RecordMode::Schedule,
                schedule: vec![WeeklySpan {
                    days: vec![6, 7],
                    start: "10:00".into(),
                    end: "16:00".into(),
                }],
                motion: None,
            },
            RecordRule {
                source: "yard".into(),
                kind: "camera".into(),
                mode: RecordMode::Motion,
                schedule: vec![],
                motion: None,
            },
        ];
        let at = |day, minute| {
            wanted(&rules, day, minute)
                .into_iter()
                .map(|((id, k), m)| {
                    format!(
                        "{}:{}{}",
                        id,
                        k.name(),
                        if m.is_some() { ":motion" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            at(6, 12 * 60),
            ["door:camera", "shop:audio", "yard:camera:motion"]
        );
        assert_eq!(at(6, 16 * 60), ["door:camera", "yard:camera:motion"]);
        assert_eq!(at(3, 12 * 60), ["door:camera", "yard:camera:motion"]);
        assert_eq!(
            wanted(&rules, 3, 0)[&(StreamId::new("yard").unwrap(), Kind::Camera)],
            Some(MotionSettings::default()),
            "a motion rule without settings takes the defaults"
        );
        let (day, minute) = local_now();
        assert!((1..=7).contains(&day) && minute < 1440);
    }
}
