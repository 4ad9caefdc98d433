//! The pilot page's stage timeline as one inline SVG, laid out here and written by an askama
//! template of `pilot-web` (`services/web/templates/timeline.html`), as the line charts are
//! (`chart.rs`): presentation attributes only (the Content-Security-Policy allows no inline
//! style), text drawn by the
//! browser with the system's fonts, a `<title>` and `<desc>`, and the page keeps the same facts
//! as text (the list of stages and the list of marks under it).
//!
//! Rows, top to bottom: the stages as bands, each from its entry to the next entry (or to the
//! as-of day; a terminal stage, merged or terminated, is a short band of fixed width at its
//! entry); the time axis with year ticks; the approvals, each a mark at its request with a bar
//! over its wait to its decision (or to the as-of day while pending, coloured by its traffic
//! light), in as many lanes as needed so that no two overlap; merges and scale-ups as marks at
//! their dates.

use crate::view::{self, Light};
use time::{Date, Month, OffsetDateTime};

pub const WIDTH: f64 = 640.0;
const LEFT: f64 = 12.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 8.0;
const BAND_HEIGHT: f64 = 32.0;
/// The width of a terminal stage's band (merged, terminated): it has no end.
const TERMINAL: f64 = 64.0;
/// The narrowest band drawn, so that a stage of a day is still seen.
const MIN_BAND: f64 = 2.0;
const LANE: f64 = 18.0;
/// Font size of the labels (the SVG's `font-size`).
const FONT: f64 = 12.0;

/// A stage the pilot entered: its catalogue name, its label, when it was entered and until
/// when it held (`None`: terminal, it has no end).
#[derive(Debug, Clone)]
pub struct StageIn {
    pub stage: &'static str,
    pub label: String,
    pub from: OffsetDateTime,
    pub until: Option<OffsetDateTime>,
}

/// An approval: requested, and decided or (while pending) waiting until the as-of day.
#[derive(Debug, Clone)]
pub struct ApprovalIn {
    pub approval: String,
    pub requested: OffsetDateTime,
    pub until: OffsetDateTime,
    /// `Some` while pending: its traffic light.
    pub light: Option<Light>,
    /// The tooltip.
    pub title: String,
}

/// A merge or a scale-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointKind {
    Merge,
    ScaleUp,
}

#[derive(Debug, Clone)]
pub struct PointIn {
    pub at: OffsetDateTime,
    pub kind: PointKind,
    pub title: String,
}

/// A stage's band, laid out.
#[derive(Debug)]
pub struct Band {
    pub stage: &'static str,
    pub from: String,
    /// Empty for a terminal stage.
    pub until: String,
    pub x: f64,
    pub width: f64,
    pub fill: &'static str,
    /// Shown in the band when it fits, else left out (the band's `<title>` and the list under
    /// the SVG hold it).
    pub label: Option<String>,
    pub label_x: f64,
    pub title: String,
}

/// A year tick.
#[derive(Debug)]
pub struct YearTick {
    pub x: f64,
    pub label: String,
    /// `text-anchor`: a label near an end of the axis is anchored inside the SVG.
    pub anchor: &'static str,
    /// Every other tick: its label hides on a narrow screen, where the labels are drawn larger
    /// (`app.css`), so that the rest keep apart.
    pub alternate: bool,
}

/// An approval's mark: a dot at its request and a bar over its wait.
#[derive(Debug)]
pub struct ApprovalMark {
    pub approval: String,
    pub requested: String,
    pub until: String,
    pub days: i64,
    /// `decided`, or the light's name (`ok`, `warning`, `stalled`) while pending.
    pub state: &'static str,
    pub colour: &'static str,
    pub x: f64,
    pub width: f64,
    /// Where the bar ends (the decision, or the as-of day).
    pub end: f64,
    pub y: f64,
    /// The bar's top.
    pub bar_y: f64,
    pub title: String,
}

/// A merge or scale-up's mark: a shape at its date.
#[derive(Debug)]
pub struct PointMark {
    pub kind: &'static str,
    pub date: String,
    pub x: f64,
    /// The shape's points (`polygon`).
    pub shape: String,
    pub colour: &'static str,
    pub title: String,
}

/// The timeline laid out, ready for `templates/timeline.html`.
#[derive(Debug)]
pub struct Timeline {
    pub title: String,
    pub desc: String,
    pub width: f64,
    pub height: f64,
    /// The axis' first and last day.
    pub start: String,
    pub end: String,
    pub axis_left: f64,
    pub axis_right: f64,
    pub axis_y: f64,
    pub tick_label_y: f64,
    pub band_top: f64,
    pub band_height: f64,
    /// Where the bands' labels sit and where the year ticks end.
    pub label_y: f64,
    pub tick_end: f64,
    pub bands: Vec<Band>,
    pub ticks: Vec<YearTick>,
    pub approvals: Vec<ApprovalMark>,
    pub points: Vec<PointMark>,
    /// Where the merges and scale-ups' row is.
    pub point_y: f64,
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// About how wide `text` is drawn at the timeline's font size: CJK characters are square,
/// Latin ones about 0.6 em. The browser draws it; this only decides whether a label fits.
pub fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| if c >= '\u{2e80}' { FONT } else { FONT * 0.6 })
        .sum()
}

/// How many days an approval waited from `from` to `to`: the days between the two dates as
/// the page shows them (each in its own offset; requested 2008-07-03 10:30, granted 2008-07-11
/// 10:00: 8 days, as the demo's README counts), never negative.
pub fn wait_days(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to.date() - from.date()).whole_days().max(0)
}

fn light_colour(light: Light) -> &'static str {
    match light {
        Light::Ok => "#1b6e2a",
        Light::Warning => "#8a5a00",
        Light::Stalled => "#a4161a",
    }
}

/// Lays out the timeline. `now`: the as-of day (where a current stage and a pending wait end).
/// `None` when the pilot has no stage.
pub fn timeline(
    title: String,
    desc: String,
    stages: &[StageIn],
    approvals: &[ApprovalIn],
    points: &[PointIn],
    now: OffsetDateTime,
) -> Option<Timeline> {
    let first = stages.first()?;
    let terminal = stages.last().filter(|s| s.until.is_none());
    // The axis spans every stage, wait and mark.
    let mut start = first.from;
    let mut end = first.from;
    for s in stages {
        start = start.min(s.from);
        end = end.max(s.until.unwrap_or(s.from));
    }
    for a in approvals {
        start = start.min(a.requested);
        end = end.max(a.until).max(a.requested);
    }
    for p in points {
        start = start.min(p.at);
        end = end.max(p.at);
    }
    if terminal.is_none() {
        end = end.max(now);
    }
    let seconds = |at: OffsetDateTime| at.unix_timestamp() as f64;
    let (mut t0, mut t1) = (seconds(start), seconds(end));
    if t1 - t0 < 30.0 * 86_400.0 {
        t0 -= 15.0 * 86_400.0;
        t1 += 15.0 * 86_400.0;
    }
    let axis_left = LEFT;
    let axis_right = WIDTH - RIGHT - if terminal.is_some() { TERMINAL } else { 0.0 };
    let x = |at: OffsetDateTime| {
        let share = ((seconds(at) - t0) / (t1 - t0)).clamp(0.0, 1.0);
        round(axis_left + share * (axis_right - axis_left))
    };

    let fills = ["#dce8f4", "#b9d2ea"];
    let bands = stages
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let from = x(s.from);
            let (width, fill) = match s.until {
                Some(until) => ((x(until) - from).max(MIN_BAND), fills[index % 2]),
                None => (TERMINAL, "#d9d9d9"),
            };
            let width = round(width);
            let until = s.until.map_or_else(String::new, view::date);
            let title = if until.is_empty() {
                format!("{}: {}", s.label, view::date(s.from))
            } else {
                format!("{}: {} – {until}", s.label, view::date(s.from))
            };
            Band {
                stage: s.stage,
                from: view::date(s.from),
                until,
                x: from,
                width,
                fill,
                label: (text_width(&s.label) + 8.0 <= width).then(|| s.label.clone()),
                label_x: round(from + 4.0),
                title,
            }
        })
        .collect();

    let band_top = TOP;
    let axis_y = band_top + BAND_HEIGHT + 4.0;
    let tick_label_y = axis_y + 16.0;
    let mut ticks = year_ticks(
        start.year(),
        end.year(),
        &x,
        axis_right - axis_left,
        t1 - t0,
    );
    let count = ticks.len();
    for (index, tick) in ticks.iter_mut().enumerate() {
        // Counted from the last, so that the latest year keeps its label.
        tick.alternate = (count - 1 - index) % 2 == 1;
        if tick.x > WIDTH - RIGHT - 16.0 {
            tick.anchor = "end";
        } else if tick.x < axis_left + 16.0 {
            tick.anchor = "start";
        }
    }

    // Approvals in lanes: each in the first lane whose last bar ends before it starts.
    let lanes_top = tick_label_y + 10.0;
    let mut lane_ends: Vec<f64> = Vec::new();
    let mut ordered: Vec<&ApprovalIn> = approvals.iter().collect();
    ordered.sort_by_key(|a| a.requested);
    let approvals: Vec<ApprovalMark> = ordered
        .into_iter()
        .map(|a| {
            let from = x(a.requested);
            let to = x(a.until.max(a.requested));
            let width = round((to - from).max(MIN_BAND));
            let lane = match lane_ends.iter().position(|&e| e + 8.0 <= from) {
                Some(lane) => lane,
                None => {
                    lane_ends.push(f64::MIN);
                    lane_ends.len() - 1
                }
            };
            lane_ends[lane] = from + width;
            let (state, colour) = match a.light {
                Some(light) => (light.name(), light_colour(light)),
                None => ("decided", "#0b4f8a"),
            };
            ApprovalMark {
                approval: a.approval.clone(),
                requested: view::date(a.requested),
                until: view::date(a.until),
                days: wait_days(a.requested, a.until),
                state,
                colour,
                x: from,
                width,
                end: round(from + width),
                y: round(lanes_top + lane as f64 * LANE),
                bar_y: round(lanes_top + lane as f64 * LANE - 3.0),
                title: a.title.clone(),
            }
        })
        .collect();
    let point_y = round(lanes_top + lane_ends.len() as f64 * LANE + 6.0);
    let mut ordered: Vec<&PointIn> = points.iter().collect();
    ordered.sort_by_key(|p| p.at);
    let points: Vec<PointMark> = ordered
        .into_iter()
        .map(|p| {
            let at = x(p.at);
            let (kind, shape, colour) = match p.kind {
                // A diamond for a merge, a triangle pointing up for a scale-up.
                PointKind::Merge => (
                    "merge",
                    format!(
                        "{},{} {},{} {},{} {},{}",
                        at,
                        point_y - 7.0,
                        round(at + 7.0),
                        point_y,
                        at,
                        point_y + 7.0,
                        round(at - 7.0),
                        point_y
                    ),
                    "#4a2a7a",
                ),
                PointKind::ScaleUp => (
                    "scale-up",
                    format!(
                        "{},{} {},{} {},{}",
                        at,
                        point_y - 7.0,
                        round(at + 7.0),
                        point_y + 6.0,
                        round(at - 7.0),
                        point_y + 6.0
                    ),
                    "#1b6e2a",
                ),
            };
            PointMark {
                kind,
                date: view::date(p.at),
                x: at,
                shape,
                colour,
                title: p.title.clone(),
            }
        })
        .collect();
    let height = if points.is_empty() {
        point_y - 6.0
    } else {
        point_y + 12.0
    };
    Some(Timeline {
        title,
        desc,
        width: WIDTH,
        height: round(height.max(axis_y + 24.0)),
        start: view::date(start),
        end: view::date(end),
        axis_left,
        axis_right,
        axis_y,
        tick_label_y,
        band_top,
        band_height: BAND_HEIGHT,
        label_y: band_top + BAND_HEIGHT / 2.0,
        tick_end: axis_y + 5.0,
        bands,
        ticks,
        approvals,
        points,
        point_y,
    })
}

/// Ticks at the first of January of the years in the axis, every 1, 2, 5, 10… years so that
/// labels stay at least 40 units apart; the first year when the axis holds no new year.
fn year_ticks(
    first: i32,
    last: i32,
    x: &dyn Fn(OffsetDateTime) -> f64,
    pixels: f64,
    seconds: f64,
) -> Vec<YearTick> {
    let per_year = pixels / (seconds / (365.25 * 86_400.0));
    let step = [1, 2, 5, 10, 20, 50, 100]
        .into_iter()
        .find(|step| f64::from(*step) * per_year >= 40.0)
        .unwrap_or(100);
    let january = |year: i32| {
        Date::from_calendar_date(year, Month::January, 1)
            .ok()
            .map(|d| d.midnight().assume_utc())
    };
    let ticks: Vec<YearTick> = (first + 1..=last)
        .filter(|year| year % step == 0)
        .filter_map(|year| {
            january(year).map(|at| YearTick {
                x: x(at),
                label: year.to_string(),
                anchor: "middle",
                alternate: false,
            })
        })
        .collect();
    if ticks.is_empty() {
        return vec![YearTick {
            x: x(january(first).unwrap_or(OffsetDateTime::UNIX_EPOCH)),
            label: first.to_string(),
            anchor: "middle",
            alternate: false,
        }];
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn stage(stage: &'static str, from: OffsetDateTime, until: Option<OffsetDateTime>) -> StageIn {
        StageIn {
            stage,
            label: stage.to_string(),
            from,
            until,
        }
    }

    fn hihc() -> Timeline {
        let stages = [
            stage(
                "framing",
                datetime!(1999-01-18 0:00 UTC),
                Some(datetime!(1999-06-21 0:00 UTC)),
            ),
            stage(
                "design",
                datetime!(1999-06-21 0:00 UTC),
                Some(datetime!(1999-12-06 0:00 UTC)),
            ),
            stage(
                "approved",
                datetime!(1999-12-06 0:00 UTC),
                Some(datetime!(2000-01-03 0:00 UTC)),
            ),
            stage(
                "implementing",
                datetime!(2000-01-03 0:00 UTC),
                Some(datetime!(2008-07-15 0:00 UTC)),
            ),
            stage("merged", datetime!(2008-07-15 0:00 UTC), None),
        ];
        let approvals = [
            ApprovalIn {
                approval: "a".into(),
                requested: datetime!(1999-11-15 0:00 UTC),
                until: datetime!(1999-12-06 0:00 UTC),
                light: None,
                title: "a".into(),
            },
            ApprovalIn {
                approval: "b".into(),
                requested: datetime!(1999-11-20 0:00 UTC),
                until: datetime!(2000-02-01 0:00 UTC),
                light: Some(Light::Stalled),
                title: "b".into(),
            },
        ];
        let points = [PointIn {
            at: datetime!(2008-07-15 0:00 UTC),
            kind: PointKind::Merge,
            title: "merged".into(),
        }];
        timeline(
            "t".into(),
            "d".into(),
            &stages,
            &approvals,
            &points,
            datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap()
    }

    #[test]
    fn bands_follow_each_other_without_overlap_inside_the_svg() {
        let t = hihc();
        assert_eq!(t.bands.len(), 5);
        assert_eq!(t.start, "1999-01-18");
        // A terminal last stage ends the axis at its entry, not at the as-of day.
        assert_eq!(t.end, "2008-07-15");
        assert_eq!(t.bands[0].x, t.axis_left);
        for pair in t.bands.windows(2) {
            assert!(pair[0].x + pair[0].width <= pair[1].x + 0.05, "{pair:?}");
            assert!(pair[0].width >= MIN_BAND);
        }
        let last = t.bands.last().unwrap();
        assert_eq!(last.x, t.axis_right);
        assert!(last.x + last.width <= t.width);
        assert!(last.until.is_empty());
        // The long band is labelled, the month-long one is too narrow for its label.
        assert_eq!(t.bands[3].label.as_deref(), Some("implementing"));
        assert_eq!(t.bands[2].label, None);
        assert_eq!(t.bands[3].from, "2000-01-03");
    }

    #[test]
    fn marks_sit_inside_the_axis_and_waits_span_their_days() {
        let t = hihc();
        let scale = (t.axis_right - t.axis_left)
            / (datetime!(2008-07-15 0:00 UTC) - datetime!(1999-01-18 0:00 UTC)).as_seconds_f64()
            * 86_400.0;
        for a in &t.approvals {
            assert!(a.x >= t.axis_left && a.x + a.width <= t.axis_right, "{a:?}");
            assert!((a.width - a.days as f64 * scale).abs() < 0.2, "{a:?}");
            assert!(a.y > t.axis_y && a.y < t.height);
        }
        assert_eq!(t.approvals[0].days, 21);
        assert_eq!(t.approvals[0].state, "decided");
        // Overlapping waits go into separate lanes; the pending one has its light.
        assert_ne!(t.approvals[0].y, t.approvals[1].y);
        assert_eq!(t.approvals[1].state, "stalled");
        assert_eq!(t.approvals[1].colour, "#a4161a");
        let merge = &t.points[0];
        assert_eq!(merge.kind, "merge");
        assert!(merge.x >= t.axis_left && merge.x <= t.axis_right);
        assert!(t.point_y > t.approvals[1].y && t.point_y < t.height);
        for tick in &t.ticks {
            assert!(tick.x >= t.axis_left && tick.x <= t.axis_right, "{tick:?}");
        }
        assert_eq!(t.ticks.first().unwrap().label, "2000");
        assert!(t.ticks.iter().all(|tick| tick.anchor == "middle"));
        // 2000 … 2008: every other label hides on a narrow screen, 2008 stays.
        assert!(!t.ticks.last().unwrap().alternate);
        assert!(t.ticks.windows(2).all(|w| w[0].alternate != w[1].alternate));
        for a in &t.approvals {
            assert!((a.end - (a.x + a.width)).abs() < 0.05);
        }
    }

    #[test]
    fn a_current_stage_runs_to_the_as_of_day_and_ticks_thin_out() {
        let stages = [stage("implementing", datetime!(1990-01-01 0:00 UTC), None)];
        let ongoing = [StageIn {
            until: Some(datetime!(2020-06-01 0:00 UTC)),
            ..stages[0].clone()
        }];
        let t = timeline(
            "t".into(),
            "d".into(),
            &ongoing,
            &[],
            &[],
            datetime!(2020-06-01 0:00 UTC),
        )
        .unwrap();
        assert_eq!(t.end, "2020-06-01");
        assert_eq!(t.bands[0].x + t.bands[0].width, t.axis_right);
        assert_eq!(t.axis_right, WIDTH - RIGHT);
        // Thirty years on 616 units: a tick every 2 years at least 40 apart.
        assert!(t.ticks.len() <= 16, "{:?}", t.ticks);
        for pair in t.ticks.windows(2) {
            assert!(pair[1].x - pair[0].x >= 40.0, "{pair:?}");
        }
        assert!(timeline(
            "t".into(),
            "d".into(),
            &[],
            &[],
            &[],
            datetime!(2020-06-01 0:00 UTC)
        )
        .is_none());
    }

    #[test]
    fn waits_count_calendar_days_in_the_requests_offset() {
        assert_eq!(
            wait_days(
                datetime!(2008-07-03 10:30 +8),
                datetime!(2008-07-11 10:00 +8)
            ),
            8
        );
        // Pending until the end of an as-of day (UTC): that day counts as shown.
        assert_eq!(
            wait_days(
                datetime!(2003-10-13 9:00 +8),
                datetime!(2003-11-20 23:59:59 UTC)
            ),
            38
        );
        assert_eq!(
            wait_days(datetime!(2003-10-13 9:00 +8), datetime!(2003-10-12 0:00 +8)),
            0
        );
    }

    #[test]
    fn chinese_labels_are_measured_as_square() {
        assert_eq!(text_width("实施中"), 36.0);
        assert!((text_width("Implementing") - 86.4).abs() < 0.01);
    }
}
