//! A small reader of the OpenMetrics text that `raindrops recycle --metrics-listen` writes:
//! sample lines `name{label="value",...} number [timestamp]`; `#` lines are skipped and
//! `# EOF` ends the text. Not a general parser (no exemplars, no validation of families): it
//! reads just what the shared writer emits. The bytes come from the network, so a malformed
//! line is an error naming its number, never a panic.

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Sample<'t> {
    /// The sample's name (a counter's with `_total`).
    pub(super) name: &'t str,
    /// Its labels in the order written, values unescaped.
    pub(super) labels: Vec<(&'t str, String)>,
    /// Its value.
    pub(super) value: f64,
}

impl Sample<'_> {
    /// The value of the label `name`, if the sample has it.
    pub(super) fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// The longest line quoted in an error.
const QUOTED: usize = 80;

/// Every sample of `text`, in order.
pub(super) fn parse(text: &str) -> Result<Vec<Sample<'_>>, String> {
    let mut samples = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line == "# EOF" {
            break;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let sample = parse_line(line).map_err(|what| {
            let quoted: String = line.chars().take(QUOTED).collect();
            format!("line {}: {what}: {quoted:?}", number + 1)
        })?;
        samples.push(sample);
    }
    Ok(samples)
}

/// `name{labels} value [timestamp]`.
fn parse_line(line: &str) -> Result<Sample<'_>, &'static str> {
    let (name, mut rest) = identifier(line, true).ok_or("no sample name")?;
    let mut labels = Vec::new();
    if let Some(inside) = rest.strip_prefix('{') {
        rest = inside;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (label, after) = identifier(rest, false).ok_or("a label without a name")?;
            let after = after.strip_prefix("=\"").ok_or("a label without =\"")?;
            let (value, after) = label_value(after)?;
            labels.push((label, value));
            rest = match after.strip_prefix(',') {
                Some(next) => next,
                None if after.starts_with('}') => after,
                None => return Err("labels not separated by a comma"),
            };
        }
    }
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let token = rest.split(' ').next().unwrap_or_default();
    let value = number(token).ok_or("a value that is not a number")?;
    Ok(Sample { name, labels, value })
}

/// A metric (`:` allowed) or label name at the start of `text`, and what follows it.
fn identifier(text: &str, metric: bool) -> Option<(&str, &str)> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':');
    let end = text.find(|c: char| !ok(c)).unwrap_or(text.len());
    let name = &text[..end];
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()))
        .then(|| (name, &text[end..]))
}

/// A quoted label value after its opening quote: unescaped, and what follows the closing quote.
fn label_value(text: &str) -> Result<(String, &str), &'static str> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                _ => return Err("a bad escape in a label value"),
            },
            c => value.push(c),
        }
    }
    Err("an unterminated label value")
}

/// A value as OpenMetrics writes numbers: decimal, `NaN`, `+Inf`, `-Inf`.
fn number(token: &str) -> Option<f64> {
    match token {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if token.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') => {
            token.parse().ok().filter(|v: &f64| v.is_finite())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use raindrops_http::exposition::writer::{Dialect, Exposition, Family, Labels, Type};

    use super::*;

    #[test]
    fn what_the_writer_writes() {
        let text = "# TYPE a gauge\n# HELP a x.\na 1\nb{pid=\"7\",s=\"q\\\"\\\\\\n\"} 2.5 123\n\
                    c_total{x=\"1\",} +Inf\n# EOF\nnot read\n";
        let samples = parse(text).unwrap();
        assert_eq!(samples.len(), 3);
        assert_eq!((samples[0].name, samples[0].value), ("a", 1.0));
        assert_eq!(samples[1].labels, [("pid", "7".to_owned()), ("s", "q\"\\\n".to_owned())]);
        assert_eq!((samples[1].label("pid"), samples[1].value), (Some("7"), 2.5));
        assert_eq!(samples[2].value, f64::INFINITY);
        assert!(parse("x NaN\n").unwrap()[0].value.is_nan());
    }

    #[test]
    fn malformed_lines_are_named() {
        for (text, says) in [
            ("ok 1\n{a=\"1\"} 2\n", "line 2: no sample name"),
            ("a{=\"1\"} 2", "a label without a name"),
            ("a{b=1} 2", "a label without =\""),
            ("a{b=\"1} 2", "an unterminated label value"),
            ("a{b=\"\\x\"} 2", "a bad escape"),
            ("a{b=\"1\" c=\"2\"} 2", "not separated by a comma"),
            ("a{b=\"1\"}2", "no space before the value"),
            ("a inf", "not a number"),
            ("a 1e999", "not a number"),
            ("a ", "not a number"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    proptest! {
        /// Whatever comes over the network: an answer, never a panic.
        #[test]
        fn any_text_is_read_or_refused(text in "[a-z_{}=\",\\\\ #0-9.+\\-\\n]{0,80}") {
            let _ = parse(&text);
        }

        #[test]
        fn any_string_is_read_or_refused(text in any::<String>()) {
            let _ = parse(&text);
        }

        /// What the shared writer writes, any label value and any finite value, reads back.
        #[test]
        fn the_writers_samples_read_back(
            values in proptest::collection::vec(any::<String>(), 1..4),
            value in any::<f64>().prop_filter("finite", |v| v.is_finite()),
            bytes in any::<u64>(),
        ) {
            let family = Family { name: "raindrops_x", kind: Type::Gauge, unit: None, help: Some("h") };
            let mut out = Exposition::new(Dialect::OpenMetrics);
            let mut labels = Labels::new("pid", "1");
            for (i, v) in values.iter().enumerate() {
                labels = labels.and(&format!("l{i}"), v);
            }
            out.family(&family).sample(&labels, value).sample(&Labels::none(), bytes);
            let text = out.finish();
            let samples = parse(&text).unwrap();
            prop_assert_eq!(samples.len(), 2);
            let read: Vec<&str> = samples[0].labels[1..].iter().map(|(_, v)| v.as_str()).collect();
            prop_assert_eq!(read, values.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert_eq!(samples[0].value, value);
            prop_assert_eq!(samples[1].value, bytes as f64);
        }
    }
}
