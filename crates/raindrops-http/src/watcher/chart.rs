//! Line charts of an address's history, drawn on the server as inline SVG: no script, no
//! external assets, so they work offline and in any browser. Axes say their units
//! (connections or ms; time in UTC), and hovering shows the values (an SVG `<title>` per strip of
//! at most [`STRIPS`] across the plot).

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use crate::exposition::time::iso8601;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 196.0;
/// Room for the y labels and unit on the left, the title on top and the time labels below.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 38.0;
/// Most hover strips per chart (each names its samples' times and values).
const STRIPS: usize = 240;

/// An SVG chart titled `title` (trusted text: a fixed label) of `points` in `unit` (trusted
/// text, on the y axis), oldest first, over the `span` that ends at the last point (the caller
/// fits it to the points it has, so a minute of samples fills the width). One polyline vertex
/// per point.
pub(super) fn svg(title: &str, unit: &str, points: &[(SystemTime, u64)], span: Duration) -> String {
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
    let middle = start + span / 2;
    for (t, anchor, tx) in [
        (start, "start", LEFT),
        (middle, "middle", LEFT + plot_w / 2.0),
        (end, "end", WIDTH - RIGHT),
    ] {
        let _ = write!(
            out,
            "<text x='{tx:.1}' y='{:.1}' font-size='11' font-family='sans-serif' \
             text-anchor='{anchor}'>{}</text>",
            HEIGHT - BOTTOM + 14.0,
            clock(t, span)
        );
    }
    let _ = write!(
        out,
        "<text x='{:.1}' y='{:.1}' font-size='11' font-family='sans-serif' fill='#555' \
         text-anchor='middle'>time (UTC)</text>\
         <text transform='translate(14 {:.1}) rotate(-90)' font-size='11' \
         font-family='sans-serif' fill='#555' text-anchor='middle'>{unit}</text>",
        LEFT + plot_w / 2.0,
        HEIGHT - 4.0,
        TOP + plot_h / 2.0
    );
    out.push_str(
        "<polyline fill='none' stroke='#1f77b4' stroke-width='2' \
         vector-effect='non-scaling-stroke' points='",
    );
    for (i, &(t, v)) in points.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(out, "{sep}{:.1},{:.1}", x(t), y(v));
    }
    out.push_str("'/>");
    if let Some(&(t, v)) = points.last() {
        let _ = write!(out, "<circle cx='{:.1}' cy='{:.1}' r='2.5' fill='#1f77b4'/>", x(t), y(v));
    }
    hover(&mut out, points, &x, (TOP, plot_h));
    out.push_str("</svg>");
    out
}

/// Invisible strips over the plot, each with a `<title>` naming its samples' times and the
/// most among them: what a pointer over the chart shows.
fn hover(
    out: &mut String,
    points: &[(SystemTime, u64)],
    x: &dyn Fn(SystemTime) -> f64,
    (top, height): (f64, f64),
) {
    let per_strip = points.len().div_ceil(STRIPS).max(1);
    let strips: Vec<&[(SystemTime, u64)]> = points.chunks(per_strip).collect();
    for (i, strip) in strips.iter().enumerate() {
        let (first, last) = (strip[0].0, strip[strip.len() - 1].0);
        let most = strip.iter().map(|&(_, v)| v).max().unwrap_or(0);
        let left = x(first);
        let right = strips.get(i + 1).map_or(WIDTH - RIGHT, |next| x(next[0].0)).max(left + 1.0);
        let text = if strip.len() == 1 {
            format!("{}: {most}", clock(first, Duration::MAX))
        } else {
            let (first, last) = (clock(first, Duration::MAX), clock(last, Duration::MAX));
            format!("{first} to {last}: at most {most}")
        };
        let _ = write!(
            out,
            "<rect class='hover' x='{:.1}' y='{top:.1}' width='{:.1}' height='{height:.1}' \
             fill='#1f77b4' fill-opacity='0'><title>{text}</title></rect>",
            left,
            right - left
        );
    }
}

/// `HH:MM:SS` (UTC) of `t`, with milliseconds on an axis `span`ning under 10 s (where whole
/// seconds would label every tick alike).
fn clock(t: SystemTime, span: Duration) -> String {
    let iso = iso8601(t);
    let time = iso.get(11..19).unwrap_or(&iso);
    if span < Duration::from_secs(10) {
        let millis = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().subsec_millis();
        format!("{time}.{millis:03}")
    } else {
        time.to_owned()
    }
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
        let svg = svg("queued", "connections", &points, Duration::from_secs(60));
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
        // Units, and the values on hover.
        assert!(svg.contains(">time (UTC)</text>") && svg.contains(">connections</text>"));
        assert!(svg.contains("<title>00:17:10: 2</title>"), "{svg}");
    }

    #[test]
    fn empty_and_flat_histories_draw_without_dividing_by_zero() {
        let empty = svg("active", "connections", &[], Duration::from_secs(3600));
        assert!(vertices(&empty).is_empty());
        assert!(!empty.contains("NaN"));
        let flat = svg("active", "connections", &[(at(5), 0), (at(6), 0)], Duration::ZERO);
        assert!(!flat.contains("NaN") && !flat.contains("inf"), "{flat}");
    }

    #[test]
    fn an_hour_of_seconds_hovers_in_at_most_240_strips() {
        let points: Vec<_> = (0..3600).map(|s| (at(s), s % 7)).collect();
        let svg = svg("active", "connections", &points, Duration::from_secs(3599));
        assert_eq!(vertices(&svg).len(), 3600);
        assert_eq!(svg.matches("<title>").count(), 240);
        assert!(svg.contains("<title>00:00:00 to 00:00:14: at most 6</title>"));
    }
}
