//! The `X-*` headers of an [`Aggregate`] response, as Ruby raindrops sends them: the one builder
//! the [`Watcher`](crate::watcher::Watcher) and [`LastDataRecv`](crate::last_data_recv) share.
//!
//! Ruby raindrops writes the same statistics two ways, and both are kept byte for byte
//! ([`Style`]): `Raindrops::Watcher#agg_to_hash` sends all seven headers whatever the count, with
//! `X-Mean` and `X-Std-Dev` as `Float#to_s` (`1.5`, `NaN`); `Raindrops::LastDataRecv#call` sends
//! `X-Count` alone until there are two samples, then the rest with the mean and standard
//! deviation rounded (`Float#round`: half away from zero).

use raindrops::{Aggregate, RubyFloat};

/// Which of Ruby raindrops' two ways of writing the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// `Raindrops::Watcher`: `X-Count`, `X-Min`, `X-Max` (empty without samples, like
    /// `nil.to_s`), `X-Mean` and `X-Std-Dev` as [`RubyFloat`], `X-Outliers-Low`,
    /// `X-Outliers-High`, always.
    Watcher,
    /// `Raindrops::LastDataRecv`: `X-Count`; with more than one sample also the other six, the
    /// mean and standard deviation rounded to integers.
    LastDataRecv,
}

/// The headers of `aggregate` written in `style`, in Ruby raindrops' order.
///
/// ```
/// use raindrops::Aggregate;
/// use raindrops_http::x_headers::{Style, x_headers};
///
/// let agg: Aggregate = [1, 2].into_iter().collect();
/// let watcher = x_headers(&agg, Style::Watcher);
/// assert_eq!(watcher[3], ("X-Mean", "1.5".to_owned()));
/// let last_data_recv = x_headers(&agg, Style::LastDataRecv);
/// assert_eq!(last_data_recv[3], ("X-Mean", "2".to_owned())); // 1.5.round
///
/// let one: Aggregate = [5].into_iter().collect();
/// assert_eq!(x_headers(&one, Style::LastDataRecv), [("X-Count", "1".to_owned())]);
/// assert_eq!(x_headers(&Aggregate::new(), Style::Watcher)[1], ("X-Min", String::new()));
/// ```
#[must_use]
pub fn x_headers(aggregate: &Aggregate, style: Style) -> Vec<(&'static str, String)> {
    let count = ("X-Count", aggregate.count().to_string());
    if style == Style::LastDataRecv && aggregate.count() <= 1 {
        return vec![count];
    }
    let float = |value: f64| match style {
        Style::Watcher => RubyFloat(value).to_string(),
        Style::LastDataRecv => (value.round() as i64).to_string(),
    };
    let optional = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    vec![
        count,
        ("X-Min", optional(aggregate.min())),
        ("X-Max", optional(aggregate.max())),
        ("X-Mean", float(aggregate.mean())),
        ("X-Std-Dev", float(aggregate.std_dev())),
        ("X-Outliers-Low", aggregate.outliers_low().to_string()),
        ("X-Outliers-High", aggregate.outliers_high().to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The core's former `Aggregate::headers` example, unchanged for the Watcher.
    #[test]
    fn watcher_headers_of_four_threes() {
        let agg: Aggregate = [3, 3, 3, 3].into_iter().collect();
        let want = [
            ("X-Count", "4"),
            ("X-Min", "3"),
            ("X-Max", "3"),
            ("X-Mean", "3.0"),
            ("X-Std-Dev", "0.0"),
            ("X-Outliers-Low", "0"),
            ("X-Outliers-High", "0"),
        ];
        assert_eq!(x_headers(&agg, Style::Watcher), want.map(|(k, v)| (k, v.to_owned())));
        assert_eq!(x_headers(&Aggregate::new(), Style::Watcher)[1], ("X-Min", String::new()));
    }
}
