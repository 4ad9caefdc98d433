//! Line charts as inline SVG, laid out here and written by an askama template of `pilot-web`
//! (`services/web/templates/chart.html`, included by the pages), so every text in them is escaped like the
//! rest of the page.
//!
//! Why not plotters: its chart builder lays out every caption, tick label and legend from font
//! metrics, which it only has with a font backend (`ttf`: font-kit, fontconfig and freetype
//! from the system; or `ab_glyph` with a font file compiled in, which for Chinese labels would
//! be a CJK font of megabytes, against the 200 KB budget). Without one it cannot draw text at
//! all. Here the text is SVG `<text>` rendered by the browser with the system's fonts, as the
//! rest of the page; the geometry (scales, ticks, polylines) is a hundred lines.
//!
//! The SVG uses presentation attributes only (`stroke`, `fill`, `font-size`), never `style`:
//! the Content-Security-Policy allows no inline style. Each chart has a `<title>` and a
//! `<desc>`, and the pages put the same figures in a table beside it (the accessible form).

use crate::view;
use time::OffsetDateTime;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;

/// A point of a series: when, how much, and what its tooltip says.
#[derive(Debug, Clone)]
pub struct Point {
    pub at: OffsetDateTime,
    pub value: f64,
    pub label: String,
}

/// A horizontal reference line (a target) with its label.
#[derive(Debug, Clone)]
pub struct Reference {
    pub value: f64,
    pub label: String,
}

/// One tick of an axis: where (in SVG units) and its label.
#[derive(Debug)]
pub struct Tick {
    pub pos: String,
    pub label: String,
}

/// A mark on the line, with its tooltip.
#[derive(Debug)]
pub struct Dot {
    pub x: String,
    pub y: String,
    pub label: String,
}

/// A chart laid out, ready for `templates/chart.html`.
#[derive(Debug)]
pub struct Chart {
    /// Unique within the page (for `aria-labelledby`).
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: String,
    pub height: String,
    pub left: String,
    pub right: String,
    pub top: String,
    pub bottom: String,
    /// Where y tick labels end (left of the axis).
    pub label_x: String,
    /// Where x tick labels sit.
    pub label_y: String,
    /// The series as `x,y x,y …`.
    pub line: String,
    pub dots: Vec<Dot>,
    pub target: Option<(String, String)>,
    /// Where the target's label sits.
    pub target_label_y: String,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    /// The last value drawn, as shown (the chart "ends at").
    pub last: String,
}

fn n(value: f64) -> String {
    format!("{value:.1}")
}

/// A "nice" step (1, 2 or 5 × 10^k) giving about four intervals up to `max`.
fn nice_step(max: f64) -> f64 {
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Lays out `points` (in time order) against an optional `target`. `step`: the value holds
/// until the next point (a running balance), instead of a straight line between readings.
/// `None` when there is nothing to draw.
pub fn line_chart(
    id: &str,
    title: String,
    desc: String,
    points: &[Point],
    target: Option<Reference>,
    step: bool,
) -> Option<Chart> {
    let first = points.first()?;
    let last = points.last()?;
    let seconds = |at: OffsetDateTime| at.unix_timestamp() as f64;
    let mut x_min = seconds(first.at);
    let mut x_max = seconds(last.at);
    if x_max - x_min < 86_400.0 {
        x_min -= 43_200.0 * 30.0;
        x_max += 43_200.0 * 30.0;
    }
    let highest = points
        .iter()
        .map(|p| p.value)
        .chain(target.as_ref().map(|t| t.value))
        .fold(0.0_f64, f64::max);
    let lowest = points.iter().map(|p| p.value).fold(0.0_f64, f64::min);
    let step_y = nice_step((highest - lowest).max(1.0));
    let y_max = (highest / step_y).ceil().max(1.0) * step_y;
    let y_min = (lowest / step_y).floor() * step_y;
    let (right, bottom) = (WIDTH - RIGHT, HEIGHT - BOTTOM);
    let x = |at: OffsetDateTime| LEFT + (seconds(at) - x_min) / (x_max - x_min) * (right - LEFT);
    let y = |v: f64| bottom - (v - y_min) / (y_max - y_min) * (bottom - TOP);

    let mut line = Vec::new();
    for (index, p) in points.iter().enumerate() {
        if step && index > 0 {
            line.push(format!("{},{}", n(x(p.at)), n(y(points[index - 1].value))));
        }
        line.push(format!("{},{}", n(x(p.at)), n(y(p.value))));
    }
    let dots = points
        .iter()
        .map(|p| Dot {
            x: n(x(p.at)),
            y: n(y(p.value)),
            label: p.label.clone(),
        })
        .collect();
    let mut y_ticks = Vec::new();
    let mut value = y_min;
    while value <= y_max + step_y / 2.0 {
        y_ticks.push(Tick {
            pos: n(y(value)),
            label: view::number(value),
        });
        value += step_y;
    }
    let mut x_ticks = vec![Tick {
        pos: n(x(first.at)),
        label: view::date(first.at),
    }];
    if seconds(last.at) > seconds(first.at) {
        x_ticks.push(Tick {
            pos: n(x(last.at)),
            label: view::date(last.at),
        });
    }
    let target_y = target.as_ref().map(|t| y(t.value));
    Some(Chart {
        id: id.to_string(),
        title,
        desc,
        width: n(WIDTH),
        height: n(HEIGHT),
        left: n(LEFT),
        right: n(right),
        top: n(TOP),
        bottom: n(bottom),
        label_x: n(LEFT - 6.0),
        label_y: n(bottom + 20.0),
        line: line.join(" "),
        dots,
        target_label_y: n(target_y.map_or(0.0, |t| (t - 6.0).max(TOP + 10.0))),
        target: target.map(|t| (n(y(t.value)), t.label)),
        y_ticks,
        x_ticks,
        last: view::number(last.value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_chart_scales_to_its_target_and_ends_at_its_last_value() {
        let points = [
            Point {
                at: datetime!(2000-02-29 0:00 UTC),
                value: 200_000.0,
                label: "a".into(),
            },
            Point {
                at: datetime!(2000-12-31 0:00 UTC),
                value: 880_000.0,
                label: "b".into(),
            },
        ];
        let chart = line_chart(
            "c",
            "t".into(),
            "d".into(),
            &points,
            Some(Reference {
                value: 1_000_000.0,
                label: "target".into(),
            }),
            false,
        )
        .unwrap();
        assert_eq!(chart.last, "880,000");
        assert_eq!(chart.y_ticks.last().unwrap().label, "1,000,000");
        assert_eq!(chart.line, "84.0,166.4 616.0,38.6");
        assert_eq!(chart.target.unwrap().0, "16.0");
        assert!(line_chart("c", "t".into(), "d".into(), &[], None, false).is_none());
    }

    #[test]
    fn a_step_chart_holds_each_value_until_the_next() {
        let points = [
            Point {
                at: datetime!(2000-01-01 0:00 UTC),
                value: 1.0,
                label: "a".into(),
            },
            Point {
                at: datetime!(2001-01-01 0:00 UTC),
                value: 3.0,
                label: "b".into(),
            },
        ];
        let chart = line_chart("c", "t".into(), "d".into(), &points, None, true).unwrap();
        assert_eq!(chart.line.split(' ').count(), 3);
    }
}
