//! The Prometheus text exposition format (version 0.0.4), written by hand:
//! a `# HELP` and a `# TYPE` line per family, then its samples.

use std::fmt::Write;

/// The `Content-Type` of a scrape's answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Counter,
    Gauge,
}

/// The text of one scrape.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts family `name` (counters end in `_total`, units are base
    /// units in the name: `_bytes`, `_seconds`).
    pub fn family(&mut self, name: &str, kind: Type, help: &str) -> &mut Self {
        let kind = match kind {
            Type::Counter => "counter",
            Type::Gauge => "gauge",
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// One sample of the family started last.
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Into<f64>,
    ) -> &mut Self {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let value: f64 = value.into();
        let _ = writeln!(self.out, " {}", number(value));
        self
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A label value: backslash, double quote and line feed escaped.
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Integers without a fraction (counters read as they are), the rest as Go's
/// `strconv.FormatFloat(v, 'g')` would accept back.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_samples_read_as_the_format_says() {
        let mut e = Exposition::default();
        e.family(
            "relaydeck_frames_received_total",
            Type::Counter,
            "Frames.\nAll of them.",
        )
        .sample(
            "relaydeck_frames_received_total",
            &[("camera", "a\"b\\c\nd")],
            3u32,
        )
        .sample("relaydeck_frames_received_total", &[], 0.25);
        assert_eq!(
            e.finish(),
            "# HELP relaydeck_frames_received_total Frames.\\nAll of them.\n\
             # TYPE relaydeck_frames_received_total counter\n\
             relaydeck_frames_received_total{camera=\"a\\\"b\\\\c\\nd\"} 3\n\
             relaydeck_frames_received_total 0.25\n"
        );
    }

    #[test]
    fn numbers_are_go_parseable() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(1e20), "100000000000000000000");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(-0.5), "-0.5");
    }
}
