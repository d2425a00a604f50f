//! The process metrics every Prometheus client library exports (same names,
//! same units), read from `/proc/self` on Linux; elsewhere none are shown.

use super::text::{Exposition, Type};

/// What `/proc/self` says of the relay's process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub start_time_seconds: f64,
    pub threads: u64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
}

impl ProcessStats {
    /// Now, or `None` where `/proc` is not there to read.
    #[cfg(target_os = "linux")]
    pub fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        // SAFETY: sysconf only reads a system constant.
        let (tick, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        let mut s = parse_stat(&stat, tick as f64, page as u64, boot_time(&boot)?)?;
        s.open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
        s.max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| max_open_files(&l));
        Some(s)
    }

    #[cfg(not(target_os = "linux"))]
    pub fn read() -> Option<Self> {
        None
    }

    pub fn write(&self, e: &mut Exposition) {
        e.family(
            "process_cpu_seconds_total",
            Type::Counter,
            "Total user and system CPU time spent in seconds.",
        )
        .sample("process_cpu_seconds_total", &[], self.cpu_seconds);
        e.family(
            "process_resident_memory_bytes",
            Type::Gauge,
            "Resident memory size in bytes.",
        )
        .sample(
            "process_resident_memory_bytes",
            &[],
            self.resident_bytes as f64,
        );
        e.family(
            "process_virtual_memory_bytes",
            Type::Gauge,
            "Virtual memory size in bytes.",
        )
        .sample(
            "process_virtual_memory_bytes",
            &[],
            self.virtual_bytes as f64,
        );
        e.family(
            "process_start_time_seconds",
            Type::Gauge,
            "Start time of the process since unix epoch in seconds.",
        )
        .sample("process_start_time_seconds", &[], self.start_time_seconds);
        e.family(
            "process_threads",
            Type::Gauge,
            "Number of OS threads in the process.",
        )
        .sample("process_threads", &[], self.threads as f64);
        e.family(
            "process_open_fds",
            Type::Gauge,
            "Number of open file descriptors.",
        )
        .sample("process_open_fds", &[], self.open_fds as f64);
        if let Some(max) = self.max_fds {
            e.family(
                "process_max_fds",
                Type::Gauge,
                "Maximum number of open file descriptors.",
            )
            .sample("process_max_fds", &[], max as f64);
        }
    }
}

/// `/proc/self/stat`: the command name is in parentheses and may hold
/// spaces, so fields are counted from the last `)`.
fn parse_stat(stat: &str, tick: f64, page: u64, boot_secs: u64) -> Option<ProcessStats> {
    let after = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name; utime is field 14.
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| -> Option<u64> { f.get(n - 3)?.parse().ok() };
    let (utime, stime) = (field(14)?, field(15)?);
    Some(ProcessStats {
        cpu_seconds: (utime + stime) as f64 / tick,
        threads: field(20)?,
        start_time_seconds: boot_secs as f64 + field(22)? as f64 / tick,
        virtual_bytes: field(23)?,
        resident_bytes: field(24)? * page,
        ..Default::default()
    })
}

fn boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
}

fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_past_a_name_with_spaces_and_parens() {
        let stat = "4242 (relay (deck) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 7 0 1000 123456789 3000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(stat, 100.0, 4096, 1_700_000_000).unwrap();
        assert_eq!(s.cpu_seconds, 3.0);
        assert_eq!(s.threads, 7);
        assert_eq!(s.start_time_seconds, 1_700_000_010.0);
        assert_eq!(s.virtual_bytes, 123_456_789);
        assert_eq!(s.resident_bytes, 3000 * 4096);
    }

    #[test]
    fn limits_and_boot_time_are_found() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reads_as_alive() {
        let s = ProcessStats::read().unwrap();
        assert!(
            s.resident_bytes > 1 << 20 && s.threads >= 1 && s.open_fds >= 3,
            "{s:?}"
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(s.start_time_seconds <= now + 1.0 && s.start_time_seconds > now - 86_400.0 * 365.0);
    }
}
