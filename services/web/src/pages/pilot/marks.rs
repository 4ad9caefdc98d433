//! The pilot page's stage timeline input: the stages it entered and its dated marks
//! (approvals with their wait, merges, scale-ups), for the SVG and the list under it.

use super::super::*;
use crate::timeline::{ApprovalIn, PointIn, PointKind, StageIn};

/// A dated mark on the timeline: an approval with its wait, a merge, a scale-up.
#[derive(Debug)]
pub(super) struct Mark {
    pub(super) date: String,
    pub(super) text: String,
    /// A pilot it links to (a merge), with its title.
    pub(super) link: Option<(String, String)>,
}

/// An approval's outcome as its catalogue key ends.
pub(super) fn outcome_name(outcome: pilot_projections::pilot::ApprovalOutcome) -> &'static str {
    use pilot_projections::pilot::ApprovalOutcome;
    match outcome {
        ApprovalOutcome::Granted => "granted",
        ApprovalOutcome::Denied => "denied",
        ApprovalOutcome::Withdrawn => "withdrawn",
        ApprovalOutcome::PilotEnded => "pilot-ended",
    }
}

/// Each stage the pilot entered, from its entry to the next (or to `now` for the last,
/// unless it is terminal: then it has no end).
pub(super) fn stages(
    tr: &Tr,
    p: &pilot_projections::pilot::PilotState,
    now: OffsetDateTime,
) -> Vec<StageIn> {
    let entries = &p.stage_history;
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| StageIn {
            stage: entry.stage.as_str(),
            label: stage_label(tr, entry.stage),
            from: entry.entered_at,
            until: match entries.get(index + 1) {
                Some(next) => Some(next.entered_at),
                None if entry.stage.is_terminal() => None,
                None => Some(now.max(entry.entered_at)),
            },
        })
        .collect()
}

/// The timeline's marks in date order: each approval at its request with how long it waited
/// (until its decision, or until `now` while pending, with its light), merges into another
/// pilot, pilots merged into this one, and scale-ups. The same as the SVG's marks: the
/// approvals' waits and the merges and scale-ups.
#[allow(clippy::too_many_arguments)]
pub(super) fn marks<'e>(
    tr: &Tr,
    p: &pilot_projections::pilot::PilotState,
    now: OffsetDateTime,
    approver: &dyn Fn(&Uuid) -> String,
    lights: &BTreeMap<String, Light>,
    (titles, merged_at): (&BTreeMap<Uuid, String>, &BTreeMap<Uuid, OffsetDateTime>),
    merges: impl Iterator<Item = &'e serde_json::Value>,
) -> (Vec<Mark>, Vec<ApprovalIn>, Vec<PointIn>) {
    let days = crate::timeline::wait_days;
    let mut marks: Vec<(OffsetDateTime, Mark)> = Vec::new();
    let mut waits = Vec::new();
    let mut points = Vec::new();
    let mut approval = |a: &pilot_projections::stall::PendingApproval,
                        until: OffsetDateTime,
                        light: Option<Light>,
                        outcome: String| {
        let text = format!(
            "{} {} ({}): {}, {}",
            tr.t("mark-approval"),
            a.approval_id,
            approver(&a.approver_id),
            tr.t1(
                if light.is_some() {
                    "mark-waiting"
                } else {
                    "mark-waited"
                },
                "days",
                &days(a.requested_at, until).to_string()
            ),
            outcome,
        );
        waits.push(ApprovalIn {
            approval: a.approval_id.clone(),
            requested: a.requested_at,
            until,
            light,
            title: format!("{}: {text}", view::date(a.requested_at)),
        });
        marks.push((
            a.requested_at,
            Mark {
                date: view::date(a.requested_at),
                text,
                link: None,
            },
        ));
    };
    for d in &p.decided_approvals {
        approval(
            &d.approval,
            d.decided_at,
            None,
            tr.t(&format!("outcome-{}", outcome_name(d.outcome))),
        );
    }
    for a in p.pending_approvals.values() {
        let light = lights.get(&a.approval_id).copied().unwrap_or(Light::Ok);
        approval(
            a,
            now.max(a.requested_at),
            Some(light),
            format!("{} ({})", tr.t("outcome-pending"), light_label(tr, light)),
        );
    }
    let title_of = |id: &Uuid| titles.get(id).cloned().unwrap_or_else(|| id.to_string());
    for event in merges {
        let at = event
            .get("occurred_at")
            .and_then(|v| v.as_str())
            .and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            });
        let into = event
            .get("data")
            .and_then(|d| d.get("into_pilot_id"))
            .and_then(|v| v.as_str())
            .and_then(|v| Uuid::parse_str(v).ok());
        if let (Some(at), Some(into)) = (at, into) {
            points.push(PointIn {
                at,
                kind: PointKind::Merge,
                title: format!(
                    "{}: {} {}",
                    view::date(at),
                    tr.t("mark-merged-into"),
                    title_of(&into)
                ),
            });
            marks.push((
                at,
                Mark {
                    date: view::date(at),
                    text: tr.t("mark-merged-into"),
                    link: Some((into.to_string(), title_of(&into))),
                },
            ));
        }
    }
    for up in &p.scale_ups {
        let text = format!(
            "{}: {} ({}, {})",
            tr.t("mark-scaled-up"),
            up.successor_title,
            tr.t(&format!("level-{}", up.to_level.as_str())),
            up.scope
        );
        points.push(PointIn {
            at: up.at,
            kind: PointKind::ScaleUp,
            title: format!("{}: {text}", view::date(up.at)),
        });
        marks.push((
            up.at,
            Mark {
                date: view::date(up.at),
                text,
                link: None,
            },
        ));
    }
    // Pilots merged into this one: dated by their merge when it is known by `now`.
    let mut undated = Vec::new();
    for from in &p.merged_from {
        let link = Some((from.to_string(), title_of(from)));
        match merged_at.get(from).filter(|at| **at <= now) {
            Some(at) => {
                points.push(PointIn {
                    at: *at,
                    kind: PointKind::Merge,
                    title: format!(
                        "{}: {} {}",
                        view::date(*at),
                        tr.t("mark-merged-from"),
                        title_of(from)
                    ),
                });
                marks.push((
                    *at,
                    Mark {
                        date: view::date(*at),
                        text: tr.t("mark-merged-from"),
                        link,
                    },
                ));
            }
            None => undated.push(Mark {
                date: String::new(),
                text: tr.t("mark-merged-from"),
                link,
            }),
        }
    }
    marks.sort_by_key(|(at, _)| *at);
    let mut marks: Vec<Mark> = marks.into_iter().map(|(_, mark)| mark).collect();
    marks.extend(undated);
    (marks, waits, points)
}
