//! Line charts of an address's history, drawn on the server as inline SVG: no script, no
//! external assets, so they work offline and in any browser.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use crate::exposition::time::iso8601;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
/// Room for the y labels on the left, the title on top and the time labels below.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 24.0;

/// An SVG chart titled `title` (trusted text: a fixed label) of `points`, oldest first, over
/// the `span` that ends at the last point. One polyline vertex per point.
pub(super) fn svg(title: &str, points: &[(SystemTime, u64)], span: Duration) -> String {
    let max = points.iter().map(|&(_, v)| v).max().unwrap_or(0).max(1);
    let end = points.last().map_or(SystemTime::UNIX_EPOCH, |&(t, _)| t);
    let start = end.checked_sub(span).unwrap_or(SystemTime::UNIX_EPOCH);
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x = |t: SystemTime| {
        let offset = t.duration_since(start).unwrap_or_default().as_secs_f64();
        LEFT + plot_w * (offset / span.as_secs_f64().max(f64::MIN_POSITIVE)).min(1.0)
    };
    let y = |v: u64| TOP + plot_h * (1.0 - v as f64 / max as f64);

    let mut out = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' \
         viewBox='0 0 {WIDTH} {HEIGHT}' role='img' aria-label='{title}' class='chart'>\
         <text x='{LEFT}' y='14' font-size='13' font-family='sans-serif'>{title}</text>"
    );
    // Gridlines and labels at 0, max/2 and max.
    for value in [0, max / 2, max] {
        let gy = y(value);
        let _ = write!(
            out,
            "<line x1='{LEFT}' y1='{gy:.1}' x2='{:.1}' y2='{gy:.1}' stroke='#ddd'/>\
             <text x='{:.1}' y='{:.1}' font-size='11' font-family='sans-serif' \
             text-anchor='end'>{value}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            gy + 4.0
        );
    }
    for (t, anchor, tx) in [(start, "start", LEFT), (end, "end", WIDTH - RIGHT)] {
        let _ = write!(
            out,
            "<text x='{tx:.1}' y='{:.1}' font-size='11' font-family='sans-serif' \
             text-anchor='{anchor}'>{}</text>",
            HEIGHT - 6.0,
            clock(t)
        );
    }
    out.push_str("<polyline fill='none' stroke='#1f77b4' stroke-width='1.5' points='");
    for (i, &(t, v)) in points.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(out, "{sep}{:.1},{:.1}", x(t), y(v));
    }
    out.push_str("'/>");
    if let Some(&(t, v)) = points.last() {
        let _ = write!(out, "<circle cx='{:.1}' cy='{:.1}' r='2.5' fill='#1f77b4'/>", x(t), y(v));
    }
    out.push_str("</svg>");
    out
}

/// `HH:MM:SS` (UTC) of `t`.
fn clock(t: SystemTime) -> String {
    let iso = iso8601(t);
    iso.get(11..19).unwrap_or(&iso).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn vertices(svg: &str) -> Vec<(f64, f64)> {
        let points = svg.split("points='").nth(1).unwrap().split('\'').next().unwrap();
        points
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn one_vertex_per_point_scaled_to_the_span_and_the_max() {
        let points = [(at(1000), 0), (at(1030), 2), (at(1060), 4)];
        let svg = svg("queued", &points, Duration::from_secs(60));
        let v = vertices(&svg);
        assert_eq!(v.len(), 3);
        // x: the span ends at the last point; y: 4 is the top, 0 the bottom.
        assert_eq!(v[0], (LEFT, HEIGHT - BOTTOM));
        assert_eq!(
            v[1],
            (LEFT + (WIDTH - LEFT - RIGHT) / 2.0, TOP + (HEIGHT - TOP - BOTTOM) / 2.0)
        );
        assert_eq!(v[2], (WIDTH - RIGHT, TOP));
        assert!(svg.contains(">00:17:40</text>") && svg.contains(">00:16:40</text>"), "{svg}");
    }

    #[test]
    fn empty_and_flat_histories_draw_without_dividing_by_zero() {
        let empty = svg("active", &[], Duration::from_secs(3600));
        assert!(vertices(&empty).is_empty());
        assert!(!empty.contains("NaN"));
        let flat = svg("active", &[(at(5), 0), (at(6), 0)], Duration::ZERO);
        assert!(!flat.contains("NaN") && !flat.contains("inf"), "{flat}");
    }
}
