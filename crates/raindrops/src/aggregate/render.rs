//! Rendering: the histogram as text, byte for byte the gem's `to_s`.

use std::fmt::{self, Write as _};

use super::buckets::Layout;
use super::stats::Aggregate;

/// The gem's `@@LOG_BUCKETS`: only matters for the trailing `~` row.
const GEM_LOG2_BUCKETS: usize = 128;

/// The narrowest text rendering the gem supports.
const MIN_COLUMNS: usize = 80;

/// The default rendering width, as in the gem's `to_s`.
const DEFAULT_COLUMNS: usize = 80;

impl Aggregate {
    /// The histogram as text `columns` wide, exactly like the gem's
    /// `to_s(columns)`; `Display` uses 80. Widths under 80 are treated as 80
    /// (the gem raises `ArgumentError`). `Empty histogram` (no newline) when
    /// no sample landed in a bucket, even if there were outliers.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [3, 3, 3, 3].into_iter().collect();
    /// let text = agg.render(100).to_string();
    /// assert_eq!(text.lines().next().unwrap().len(), 100);
    /// assert_eq!(agg.render(20).to_string(), agg.to_string());
    /// ```
    pub fn render(&self, columns: usize) -> impl fmt::Display + '_ {
        Render { aggregate: self, columns: columns.max(MIN_COLUMNS) }
    }

    /// The gem's `bucket_count`, which in log2 mode is larger than what we
    /// store.
    fn gem_bucket_count(&self) -> usize {
        match self.layout() {
            Layout::Log2 { .. } => GEM_LOG2_BUCKETS,
            Layout::Linear { counts, .. } => counts.len(),
        }
    }

    fn write_histogram(&self, out: &mut fmt::Formatter<'_>, columns: usize) -> fmt::Result {
        let counts = self.counts();
        let mut nonzero = counts.iter().enumerate().filter(|(_, count)| **count != 0);
        let Some((first, _)) = nonzero.next() else {
            return out.write_str("Empty histogram");
        };
        let (last, _) = nonzero.next_back().unwrap_or((first, &0));
        let max_count = counts.iter().copied().max().unwrap_or(0);
        let total: u64 = counts.iter().sum();

        // The value column fits the last bucket's label (only: a longer
        // negative label further up overflows it, as in the gem).
        let value_width = decimal_len(self.bucket_value(last)).max("value".len());
        let count_width = decimal_len(i128::from(total)).max("count".len());
        let bar_width = columns.saturating_sub(value_width + " |".len() + "| ".len() + count_width);
        // How many samples one '@' stands for.
        let weight = (max_count as f64 / bar_width as f64).max(1.0);

        write!(out, "{:>value_width$} |", "value")?;
        repeat(out, '-', bar_width)?;
        writeln!(out, "| {:>count_width$}", "count")?;

        let mut previous = first;
        for (index, &count) in counts.iter().enumerate().skip(first) {
            if count == 0 {
                continue;
            }
            if index != first && previous + 1 != index {
                skip_row(out, value_width)?;
            }
            previous = index;
            write!(out, "{:>value_width$} |", self.bucket_value(index))?;
            // Truncation, like Ruby's Float#to_i.
            let bar = (count as f64 / weight) as usize;
            repeat(out, '@', bar)?;
            repeat(out, ' ', bar_width.saturating_sub(bar))?;
            writeln!(out, "| {count:>count_width$}")?;
        }

        if last + 1 != self.gem_bucket_count() {
            skip_row(out, value_width)?;
        }
        write!(out, "{:>value_width$} |", "Total")?;
        repeat(out, '-', bar_width)?;
        writeln!(out, "| {total:>count_width$}")
    }
}

impl fmt::Display for Aggregate {
    /// The histogram as the gem's `to_s` renders it: 80 columns, or
    /// `Empty histogram`. See [`Aggregate::render`].
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::Aggregate;
    ///
    /// let agg: Aggregate = [42].into_iter().collect();
    /// let expected = "\
    /// value |------------------------------------------------------------------| count
    ///    32 |@                                                                 |     1
    ///       ~
    /// Total |------------------------------------------------------------------|     1
    /// ";
    /// assert_eq!(agg.to_string(), expected);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_histogram(f, DEFAULT_COLUMNS)
    }
}

/// [`Aggregate::render`]'s result.
struct Render<'a> {
    aggregate: &'a Aggregate,
    columns: usize,
}

impl fmt::Display for Render<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.aggregate.write_histogram(f, self.columns)
    }
}

/// The gem's `skip_row`: an empty bucket run, denoted by `~`.
fn skip_row(out: &mut fmt::Formatter<'_>, value_width: usize) -> fmt::Result {
    writeln!(out, "{:>value_width$} ~", " ")
}

fn repeat(out: &mut fmt::Formatter<'_>, c: char, n: usize) -> fmt::Result {
    (0..n).try_for_each(|_| out.write_char(c))
}

/// Length of `n` in decimal, sign included.
fn decimal_len(n: i128) -> usize {
    let digits = n.unsigned_abs().checked_ilog10().map_or(1, |log| log as usize + 1);
    digits + usize::from(n < 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_len_counts_sign_and_digits() {
        for n in [0i128, 9, 10, -1, -10, 1 << 63, -(1 << 63), i128::MAX, i128::MIN] {
            assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
        }
    }
}
