//! One pilot of SSDNC, "Waiting on the mayor", whose approval by the Mayor of Nanguo was
//! requested 31 days ago (over the municipal 30): what the inbox tests append, through the
//! router (`web/tests`) or over HTTP (`pilot/tests/browser.rs`, which includes this file).

/// The two drafts, as `POST /api/v1/events` takes them, for the pilot `pilot_id`.
pub fn waiting_on_the_mayor(pilot_id: &str) -> serde_json::Value {
    let requested = (time::OffsetDateTime::now_utc() - time::Duration::days(31))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::json!([
        {"type": "pilot.proposed", "pilot_id": pilot_id, "occurred_at": "2000-12-01T10:00:00+08:00",
         "actor": {"office": "SSDNC", "user": "clerk"},
         "data": {"title": "Waiting on the mayor", "jurisdiction": "Nanguo",
                  "policy_area": "health insurance", "level": "municipal",
                  "problem_frame": "Whether the inbox shows a stalled approval."}},
        {"type": "approval.requested", "pilot_id": pilot_id, "occurred_at": requested,
         "actor": {"office": "SSDNC", "user": "clerk"},
         "data": {"approval_id": "mayor-sign-off", "approver_id": "0194a000-0002-7000-8000-000000000006",
                  "level": "municipal", "note": "Stalled for a month."}}
    ])
}
