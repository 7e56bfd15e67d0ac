/*!
The one writer of OpenMetrics and Prometheus text: every family raindrops exposes (the
middleware's endpoint, the Watcher's `/metrics`, LastDataRecv, the `metrics` exporter,
`raindrops dump` and `raindrops stats`) is written through [`Exposition`], so `# TYPE`, `# HELP`
and `# UNIT` lines, label escaping, sample suffixes (`_total`, `_bucket`, `_count`, `_sum`) and
the closing `# EOF` are spelled the same everywhere.

```
use raindrops_http::exposition::families::LISTENER_QUEUED;
use raindrops_http::exposition::writer::{Dialect, Exposition, Labels};

let mut out = Exposition::new(Dialect::OpenMetrics);
out.family(&LISTENER_QUEUED);
out.sample(&Labels::new("addr", "/run/a\"b.sock"), 3);
let expected = concat!(
    "# TYPE raindrops_listener_queued gauge\n",
    "# HELP raindrops_listener_queued Connections waiting for accept().\n",
    "raindrops_listener_queued{addr=\"/run/a\\\"b.sock\"} 3\n",
    "# EOF\n",
);
assert_eq!(out.finish(), expected);
```
*/

use std::fmt::{Display, Write};

use raindrops::{Aggregate, ListenerName};

/// A family's type, as `# TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Type {
    /// A monotonic count; its sample is `NAME_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative `_bucket{le}` samples, `_count` and `_sum`.
    Histogram,
    /// `{quantile}` samples, `_count` and `_sum`.
    Summary,
    /// Anything else (`untyped` in the Prometheus text format).
    Unknown,
}

/// A family: name, type, unit and help. raindrops' own families are in
/// [`families`](super::families), so each reads the same wherever it appears.
///
/// ```
/// use raindrops_http::exposition::writer::{Family, Type};
///
/// let family = Family { name: "jobs", kind: Type::Counter, unit: None, help: Some("Jobs run.") };
/// assert_eq!(family.kind, Type::Counter);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family<'a> {
    /// The family's name: for a counter, without `_total`.
    pub name: &'a str,
    /// Its type.
    pub kind: Type,
    /// Its unit (`seconds`), which the name ends with; written as `# UNIT` in OpenMetrics.
    pub unit: Option<&'a str>,
    /// One sentence for `# HELP`.
    pub help: Option<&'a str>,
}

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenMetrics 1.0: `# TYPE`, `# HELP`, `# UNIT`, a counter's metadata under its family name,
    /// `# EOF` at the end.
    OpenMetrics,
    /// The Prometheus text format 0.0.4 (`raindrops dump` and `stats`): a counter's metadata
    /// under its sample name (`NAME_total`), `untyped` for unknown, no units, no `# EOF`.
    Prometheus,
}

/// Escapes a label value: backslash, double quote and newline, as OpenMetrics (and the
/// Prometheus text format) require. `# HELP` text is escaped the same way.
///
/// ```
/// assert_eq!(raindrops_http::exposition::escape_label("/tmp/\"x\""), "/tmp/\\\"x\\\"");
/// ```
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A listener's name as a label value: [`escape_bytes`](raindrops::escape_bytes) (the same
/// spelling as the text outputs: an ordinary name is unchanged, a name with a control character,
/// a backslash or bytes that are not UTF-8 is escaped, so the value is UTF-8, as label values
/// must be, and prints safely), then [`escape_label`].
///
/// ```
/// use raindrops::ListenerName;
/// use raindrops_http::exposition::escape_name_label;
///
/// assert_eq!(escape_name_label(&"/run/app.sock".into()), "/run/app.sock");
/// assert_eq!(escape_name_label(&"/a\n\x1b".into()), "/a\\\\n\\\\x1b");
/// assert_eq!(escape_name_label(&ListenerName::from(b"/\xff".to_vec())), "/\\\\xff");
/// ```
pub fn escape_name_label(name: &ListenerName) -> String {
    escape_label(&name.escaped())
}

/// A sample's labels, escaped: the inside of `{...}`.
///
/// ```
/// use raindrops_http::exposition::writer::Labels;
///
/// let labels = Labels::new("addr", "a\"b").and("le", "+Inf");
/// assert_eq!(labels.as_str(), "addr=\"a\\\"b\",le=\"+Inf\"");
/// assert_eq!(Labels::none().as_str(), "");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(String);

impl Labels {
    /// No labels.
    ///
    /// ```
    /// assert!(raindrops_http::exposition::writer::Labels::none().as_str().is_empty());
    /// ```
    pub fn none() -> Self {
        Labels(String::new())
    }

    /// One label; `value` is escaped here.
    ///
    /// ```
    /// let labels = raindrops_http::exposition::writer::Labels::new("reason", "memory");
    /// assert_eq!(labels.as_str(), "reason=\"memory\"");
    /// ```
    pub fn new(name: &str, value: &str) -> Self {
        Labels::none().and(name, value)
    }

    /// `addr="NAME"`: a listener's name, spelled by [`escape_name_label`].
    ///
    /// ```
    /// let labels = raindrops_http::exposition::writer::Labels::addr(&"/a\nb".into());
    /// assert_eq!(labels.as_str(), "addr=\"/a\\\\nb\"");
    /// ```
    pub fn addr(name: &ListenerName) -> Self {
        Labels(format!("addr=\"{}\"", escape_name_label(name)))
    }

    /// Labels already escaped and joined (`a="1",b="2"`), as the `metrics` exporter stores them.
    ///
    /// ```
    /// let labels = raindrops_http::exposition::writer::Labels::escaped("a=\"1\"");
    /// assert_eq!(labels.as_str(), "a=\"1\"");
    /// ```
    pub fn escaped(labels: impl Into<String>) -> Self {
        Labels(labels.into())
    }

    /// These labels and one more; `value` is escaped here.
    ///
    /// ```
    /// let labels = raindrops_http::exposition::writer::Labels::none().and("worker", "0");
    /// assert_eq!(labels.as_str(), "worker=\"0\"");
    /// ```
    pub fn and(mut self, name: &str, value: &str) -> Self {
        if !self.0.is_empty() {
            self.0.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(self.0, "{name}=\"{}\"", escape_label(value));
        self
    }

    /// The escaped labels, without braces.
    ///
    /// ```
    /// assert_eq!(raindrops_http::exposition::writer::Labels::new("a", "1").as_str(), "a=\"1\"");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{labels}`, or nothing when there are none.
    fn braced(&self) -> String {
        if self.0.is_empty() { String::new() } else { format!("{{{}}}", self.0) }
    }
}

/// A number as OpenMetrics writes it: `NaN`, `+Inf`, `-Inf`, or Rust's shortest form.
///
/// ```
/// use raindrops_http::exposition::writer::number;
/// assert_eq!(number(f64::INFINITY), "+Inf");
/// assert_eq!(number(-1.5), "-1.5");
/// assert_eq!(number(3.0), "3");
/// ```
pub fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        value.to_string()
    }
}

/// Upper bounds of the histogram buckets of a log2 [`Aggregate`]: `2^k - 1` for k in 0..=20,
/// so each holds whole log2 buckets of the `aggregate` gem (0, 1, 2..3, 4..7, ...), fixed so
/// every scrape has the same series.
const LE_BOUNDS: usize = 21;

/// OpenMetrics or Prometheus text, written a family at a time; see the [module docs](self).
#[derive(Debug)]
pub struct Exposition {
    out: String,
    dialect: Dialect,
    /// The current family's name and type.
    name: String,
    kind: Type,
}

impl Exposition {
    /// An empty exposition.
    ///
    /// ```
    /// use raindrops_http::exposition::writer::{Dialect, Exposition};
    /// assert_eq!(Exposition::new(Dialect::OpenMetrics).finish(), "# EOF\n");
    /// assert_eq!(Exposition::new(Dialect::Prometheus).finish(), "");
    /// ```
    pub fn new(dialect: Dialect) -> Self {
        Exposition { out: String::new(), dialect, name: String::new(), kind: Type::Unknown }
    }

    /// Starts `family`: its `# TYPE`, `# HELP` (escaped) and, in OpenMetrics, `# UNIT` lines.
    /// The samples that follow belong to it.
    ///
    /// ```
    /// use raindrops_http::exposition::writer::{Dialect, Exposition, Family, Labels, Type};
    ///
    /// let jobs = Family { name: "jobs", kind: Type::Counter, unit: None, help: Some("Jobs.") };
    /// let mut om = Exposition::new(Dialect::OpenMetrics);
    /// om.family(&jobs).sample(&Labels::none(), 2);
    /// assert_eq!(om.finish(), "# TYPE jobs counter\n# HELP jobs Jobs.\njobs_total 2\n# EOF\n");
    /// let mut prom = Exposition::new(Dialect::Prometheus);
    /// prom.family(&jobs).sample(&Labels::none(), 2);
    /// assert_eq!(prom.finish(), "# TYPE jobs_total counter\n# HELP jobs_total Jobs.\njobs_total 2\n");
    /// ```
    pub fn family(&mut self, family: &Family<'_>) -> &mut Self {
        self.name = family.name.to_owned();
        self.kind = family.kind;
        let prometheus = self.dialect == Dialect::Prometheus;
        let type_name = match family.kind {
            Type::Counter => "counter",
            Type::Gauge => "gauge",
            Type::Histogram => "histogram",
            Type::Summary => "summary",
            Type::Unknown if prometheus => "untyped",
            Type::Unknown => "unknown",
        };
        let meta_name = match family.kind {
            Type::Counter if prometheus => format!("{}_total", family.name),
            _ => family.name.to_owned(),
        };
        // Writing to a String cannot fail.
        let _ = writeln!(self.out, "# TYPE {meta_name} {type_name}");
        if let Some(help) = family.help {
            let _ = writeln!(self.out, "# HELP {meta_name} {}", escape_label(help));
        }
        if let (Some(unit), false) = (family.unit, prometheus) {
            let _ = writeln!(self.out, "# UNIT {meta_name} {unit}");
        }
        self
    }

    /// One sample of the current family: `NAME{labels} value` (`NAME_total` for a counter).
    ///
    /// ```
    /// use raindrops_http::exposition::families::CALLING;
    /// use raindrops_http::exposition::writer::{Dialect, Exposition, Labels};
    ///
    /// let mut out = Exposition::new(Dialect::Prometheus);
    /// out.family(&CALLING).sample(&Labels::new("worker", "0"), 1);
    /// assert!(out.finish().ends_with("raindrops_calling{worker=\"0\"} 1\n"));
    /// ```
    pub fn sample(&mut self, labels: &Labels, value: impl Display) -> &mut Self {
        let suffix = if self.kind == Type::Counter { "_total" } else { "" };
        let _ = writeln!(self.out, "{}{suffix}{} {value}", self.name, labels.braced());
        self
    }

    /// The `_bucket`, `_count` and `_sum` samples of a histogram of a log2 `aggregate` whose
    /// samples are never negative (the gem's low outliers are then the zeros), with the fixed
    /// bounds `le="0"`, `"1"`, `"3"`, ... `"1048575"`, `"+Inf"`.
    ///
    /// ```
    /// use raindrops_http::exposition::writer::{Dialect, Exposition, Family, Labels, Type};
    ///
    /// let aggregate: raindrops::Aggregate = [0, 1, 2, 3, 4, 9].into_iter().collect();
    /// let q = Family { name: "q", kind: Type::Histogram, unit: None, help: None };
    /// let mut out = Exposition::new(Dialect::OpenMetrics);
    /// out.family(&q).histogram(&Labels::new("a", "b"), &aggregate);
    /// let out = out.finish();
    /// assert!(out.contains("q_bucket{a=\"b\",le=\"0\"} 1\nq_bucket{a=\"b\",le=\"1\"} 2\n"));
    /// assert!(out.contains("q_bucket{a=\"b\",le=\"7\"} 5\n"));
    /// assert!(out.ends_with("q_count{a=\"b\"} 6\nq_sum{a=\"b\"} 19\n# EOF\n"));
    /// ```
    pub fn histogram(&mut self, labels: &Labels, aggregate: &Aggregate) -> &mut Self {
        let sum = aggregate.sum().to_string();
        self.buckets(labels, aggregate, |le| le.to_string(), &sum)
    }

    /// [`histogram`](Self::histogram) of an `aggregate` of milliseconds, written in seconds as
    /// Prometheus conventions want (a family whose unit is `seconds`): bounds `le="0"`,
    /// `"0.001"`, `"0.003"`, `"0.007"`, ... `"1048.575"`, `"+Inf"` (the same log2 buckets, each
    /// divided by 1000) and `_sum` in seconds.
    ///
    /// ```
    /// use raindrops_http::exposition::families::LISTENER_QUEUE_WAIT_SECONDS;
    /// use raindrops_http::exposition::writer::{Dialect, Exposition, Labels};
    ///
    /// let ms: raindrops::Aggregate = [0, 500, 1500].into_iter().collect();
    /// let mut out = Exposition::new(Dialect::Prometheus);
    /// out.family(&LISTENER_QUEUE_WAIT_SECONDS).histogram_ms_as_seconds(&Labels::none(), &ms);
    /// let out = out.finish();
    /// let name = "raindrops_listener_queue_wait_seconds";
    /// assert!(out.contains(&format!("{name}_bucket{{le=\"0.511\"}} 2\n")));
    /// assert!(out.contains(&format!("{name}_bucket{{le=\"2.047\"}} 3\n")));
    /// assert!(out.ends_with(&format!("{name}_count 3\n{name}_sum 2\n")));
    /// ```
    pub fn histogram_ms_as_seconds(&mut self, labels: &Labels, aggregate: &Aggregate) -> &mut Self {
        let sum = number(aggregate.sum() as f64 / 1000.0);
        self.buckets(labels, aggregate, |le| number(le as f64 / 1000.0), &sum)
    }

    /// The histogram's samples, each bound `le` (in the aggregate's unit) spelled by `le_label`.
    fn buckets(
        &mut self,
        labels: &Labels,
        aggregate: &Aggregate,
        le_label: impl Fn(i128) -> String,
        sum: &str,
    ) -> &mut Self {
        let name = &self.name;
        for k in 0..LE_BOUNDS {
            let le = (1i128 << k) - 1;
            let count = aggregate.outliers_low()
                + aggregate
                    .nonzero_buckets()
                    .filter(|b| b.value <= le)
                    .map(|b| b.count)
                    .sum::<u64>();
            let labels = labels.clone().and("le", &le_label(le));
            let _ = writeln!(self.out, "{name}_bucket{} {count}", labels.braced());
        }
        let count = aggregate.count();
        let inf = labels.clone().and("le", "+Inf");
        let l = labels.braced();
        let _ = write!(
            self.out,
            "{name}_bucket{} {count}\n{name}_count{l} {count}\n{name}_sum{l} {sum}\n",
            inf.braced(),
        );
        self
    }

    /// The `{quantile}`, `_count` and `_sum` samples of a summary; `quantiles` are
    /// `(q, value)` with `q` in 0..=1.
    ///
    /// ```
    /// use raindrops_http::exposition::writer::{Dialect, Exposition, Family, Labels, Type};
    ///
    /// let s = Family { name: "s", kind: Type::Summary, unit: None, help: None };
    /// let mut out = Exposition::new(Dialect::OpenMetrics);
    /// out.family(&s).summary(&Labels::none(), &[(0.5, 3.0)], 2, 7.5);
    /// assert_eq!(out.finish(), "# TYPE s summary\ns{quantile=\"0.5\"} 3\ns_count 2\ns_sum 7.5\n# EOF\n");
    /// ```
    pub fn summary(
        &mut self,
        labels: &Labels,
        quantiles: &[(f64, f64)],
        count: u64,
        sum: f64,
    ) -> &mut Self {
        let name = &self.name;
        for (q, value) in quantiles {
            let labels = labels.clone().and("quantile", &q.to_string());
            let _ = writeln!(self.out, "{name}{} {value}", labels.braced());
        }
        let l = labels.braced();
        let _ = write!(self.out, "{name}_count{l} {count}\n{name}_sum{l} {sum}\n");
        self
    }

    /// The text written so far, leaving the writer empty but in the same family: to stream a
    /// long exposition a part at a time.
    ///
    /// ```
    /// use raindrops_http::exposition::families::CALLING;
    /// use raindrops_http::exposition::writer::{Dialect, Exposition, Labels};
    ///
    /// let mut out = Exposition::new(Dialect::OpenMetrics);
    /// out.family(&CALLING);
    /// let head = out.drain();
    /// out.sample(&Labels::none(), 0);
    /// assert_eq!(head + &out.finish(), Exposition::new(Dialect::OpenMetrics)
    ///     .family(&CALLING).sample(&Labels::none(), 0).drain() + "# EOF\n");
    /// ```
    pub fn drain(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    /// The text, ending in `# EOF` in OpenMetrics.
    ///
    /// ```
    /// use raindrops_http::exposition::writer::{Dialect, Exposition};
    /// assert!(Exposition::new(Dialect::OpenMetrics).finish().ends_with("# EOF\n"));
    /// ```
    pub fn finish(mut self) -> String {
        if self.dialect == Dialect::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use raindrops::Aggregate;

    use super::*;

    #[test]
    fn buckets_are_cumulative_over_log2_buckets() {
        let mut agg = Aggregate::new();
        agg.extend([0, 1, 2, 3, 4, 9, 1 << 30]);
        let f = Family { name: "f", kind: Type::Histogram, unit: None, help: None };
        let mut out = Exposition::new(Dialect::OpenMetrics);
        out.family(&f).histogram(&Labels::new("addr", "a"), &agg);
        let out = out.finish();
        let line = |le: &str| {
            let prefix = format!("f_bucket{{addr=\"a\",le=\"{le}\"}} ");
            out.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap().to_owned()
        };
        let got: Vec<_> = ["0", "1", "3", "7", "15", "1048575", "+Inf"].map(line).into();
        assert_eq!(got, ["1", "2", "4", "5", "6", "6", "7"]);
        assert!(out.ends_with(&format!(
            "f_count{{addr=\"a\"}} 7\nf_sum{{addr=\"a\"}} {}\n# EOF\n",
            19 + (1u64 << 30)
        )));
    }

    #[test]
    fn metadata_in_both_dialects() {
        let f = Family {
            name: "x_seconds",
            kind: Type::Unknown,
            unit: Some("seconds"),
            help: Some("a\nb"),
        };
        let mut om = Exposition::new(Dialect::OpenMetrics);
        om.family(&f).sample(&Labels::none(), 1);
        assert_eq!(
            om.finish(),
            "# TYPE x_seconds unknown\n# HELP x_seconds a\\nb\n# UNIT x_seconds seconds\nx_seconds 1\n# EOF\n"
        );
        let mut prom = Exposition::new(Dialect::Prometheus);
        prom.family(&f).sample(&Labels::none(), 1);
        assert_eq!(
            prom.finish(),
            "# TYPE x_seconds untyped\n# HELP x_seconds a\\nb\nx_seconds 1\n"
        );
    }
}
