//! The examples the OpenAPI document shows, one Nanguo pilot throughout (the golden fixtures'
//! ids). Each is checked against its own schema (services/pilot/tests/openapi.rs), so an
//! example that no longer fits the answer fails a test rather than misleading a reader.

use serde_json::{json, Value};

const PILOT: &str = "0194a000-0000-7000-8000-0000000000a1";
const MAYOR: &str = "0194a000-0000-7000-8000-0000000000b2";
const BUREAU: &str = "0194a000-0000-7000-8000-0000000000b3";
const JURISDICTION: &str = "0194a000-0000-7000-8000-0000000000c1";
const ALERT: &str = "0194a000-0000-7000-8000-0000000000d1";
const HASH: &str = "d6806a9bea4ce75d6d455f679ff7399e9cb7bf55d9ecdb9aa33c0f21375abd32";

fn event_id(n: u32) -> String {
    format!("0194a000-0000-7000-8000-0000000000{n:02}")
}

/// `GET /api/v1/pilots/{id}`.
pub fn pilot() -> Value {
    json!({
        "pilot_id": PILOT,
        "title": "Hospitalisation insurance for urban residents",
        "jurisdiction": "Nanguo",
        "policy_area": "health insurance",
        "level": "municipal",
        "problem_frame": "Urban residents without employment have no hospital cover",
        "office": "SSDNC",
        "stage": "awaiting_approval",
        "stage_entered_at": {
            "framing": "2000-01-10T09:00:00+08:00",
            "design": "2000-02-01T09:00:00+08:00",
            "awaiting_approval": "2000-03-01T09:00:00+08:00"
        },
        "stage_history": [
            {"stage": "framing", "entered_at": "2000-01-10T09:00:00+08:00", "event_id": event_id(11)},
            {"stage": "design", "entered_at": "2000-02-01T09:00:00+08:00", "event_id": event_id(12)},
            {"stage": "awaiting_approval", "entered_at": "2000-03-01T09:00:00+08:00", "event_id": event_id(15)}
        ],
        "design": {
            "summary": "Residents pay 2% of the average wage; the city matches it",
            "parameters": {"contribution_rate": 0.02},
            "target_groups": ["unemployed urban residents"]
        },
        "pending_approvals": {},
        "gate_approvals": [],
        "stage_before_request": null,
        "decided_approvals": [],
        "targets": {},
        "metrics": {},
        "scale_ups": [],
        "adoptions": [],
        "merged_into": null,
        "merged_from": [],
        "termination_reason": null,
        "last_activity": "2000-03-01T09:00:00+08:00",
        "version": 5,
        "last_hash": HASH,
        "support_index": 0.75,
        "coalition": [MAYOR],
        "opposition": [],
        "support": {"stakeholders": {MAYOR: support_row()}},
        "progress": [],
        "target_outcomes": [],
        "points": 2
    })
}

fn support_row() -> Value {
    json!({
        "stance": 1,
        "contacts": 2,
        "last_contact": "2000-02-20T10:00:00+08:00",
        "strategies": ["framing", "brokering"]
    })
}

/// `GET /api/v1/pilots`.
pub fn pilots() -> Value {
    json!([pilot()])
}

/// `GET /api/v1/pilots/{id}/support`.
pub fn support() -> Value {
    let mut row = support_row();
    if let Value::Object(fields) = &mut row {
        for (name, value) in [
            ("stakeholder_id", json!(MAYOR)),
            ("name", json!("Mayor of Nanguo")),
            ("kind", json!("leader")),
            ("level", json!("municipal")),
            ("influence", json!(5)),
        ] {
            fields.insert(name.to_string(), value);
        }
    }
    json!({
        "pilot_id": PILOT,
        "support_index": 0.75,
        "coalition": [MAYOR],
        "opposition": [],
        "stakeholders": [row]
    })
}

/// One stored event as the API shows it, with `version` and `position`.
fn stored() -> Value {
    json!({
        "event_id": event_id(15),
        "type": "approval.requested",
        "schema": 2,
        "pilot_id": PILOT,
        "occurred_at": "2000-03-01T09:00:00+08:00",
        "recorded_at": "2000-03-02T09:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "archivist"},
        "prev_hash": "0000000000000000000000000000000000000000000000000000000000000000",
        "hash": HASH,
        "data": {
            "approval_id": "hihc-2000-mayor",
            "approver_id": MAYOR,
            "level": "municipal",
            "note": "Program design attached"
        },
        "version": 5,
        "position": 17
    })
}

/// `GET /api/v1/pilots/{id}/events`.
pub fn chain() -> Value {
    json!([stored()])
}

/// `POST /api/v1/events`: a draft.
pub fn draft() -> Value {
    json!({
        "type": "approval.granted",
        "pilot_id": PILOT,
        "occurred_at": "2000-04-03T10:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "zhang.wei"},
        "data": {"approval_id": "hihc-2000-mayor", "conditions": "Report quarterly"}
    })
}

/// The answer to an append.
pub fn appended() -> Value {
    json!({"events": [stored()], "position": 17})
}

/// `GET /api/v1/events` and `POST /api/v1/import`: JSON Lines, one stored event per line.
pub fn export() -> Value {
    let mut line = stored();
    if let Value::Object(fields) = &mut line {
        fields.remove("version");
        fields.remove("position");
    }
    Value::String(format!("{line}\n"))
}

fn stakeholder_fields() -> Value {
    json!({
        "stakeholder_id": MAYOR,
        "name": "Mayor of Nanguo",
        "kind": "leader",
        "level": "municipal",
        "influence": 5,
        "registered_at": "2000-01-05T09:00:00+08:00",
        "event_id": event_id(2),
        "points": 2
    })
}

/// `GET /api/v1/stakeholders`.
pub fn stakeholders() -> Value {
    json!([stakeholder_fields()])
}

/// `GET /api/v1/stakeholders/{id}`.
pub fn stakeholder() -> Value {
    let mut detail = stakeholder_fields();
    if let Value::Object(fields) = &mut detail {
        let mut stance = support_row();
        if let Value::Object(stance) = &mut stance {
            stance.insert("pilot_id".into(), json!(PILOT));
            stance.insert(
                "title".into(),
                json!("Hospitalisation insurance for urban residents"),
            );
            stance.insert("stage".into(), json!("awaiting_approval"));
        }
        fields.insert("coalition".into(), json!([PILOT]));
        fields.insert("opposition".into(), json!([]));
        fields.insert("pilots".into(), json!([stance]));
        fields.insert("ledger".into(), json!([line()]));
        fields.insert("tenures".into(), json!([]));
        fields.insert("holders".into(), json!([]));
    }
    detail
}

fn line() -> Value {
    json!({
        "event_id": event_id(40),
        "highlight_id": "2001-provincial-model",
        "pilot_id": PILOT,
        "kind": "model_designation",
        "level": "municipal",
        "title": "Model project of the city",
        "conferred_by": "Nanguo municipal government",
        "credited_to": [MAYOR],
        "points": 2,
        "occurred_at": "2001-06-01T09:00:00+08:00",
        "balance": 2
    })
}

/// `GET /api/v1/highlights`.
pub fn highlights() -> Value {
    json!([line()])
}

fn jurisdiction_fields() -> Value {
    json!({
        "jurisdiction_id": JURISDICTION,
        "name": "Nanguo",
        "level": "municipal",
        "utc_offset": "+08:00",
        "calendar": "nanguo",
        "registered_at": "2000-01-01T00:00:00+08:00",
        "event_id": event_id(1)
    })
}

/// `GET /api/v1/jurisdictions`.
pub fn jurisdictions() -> Value {
    let mut row = jurisdiction_fields();
    if let Value::Object(fields) = &mut row {
        fields.insert("context_count".into(), json!(0));
        fields.insert("pilot_count".into(), json!(1));
    }
    json!([row])
}

/// `GET /api/v1/jurisdictions/{id}`.
pub fn jurisdiction() -> Value {
    let mut detail = jurisdiction_fields();
    if let Value::Object(fields) = &mut detail {
        fields.insert("context".into(), json!([]));
        fields.insert("pilot_ids".into(), json!([PILOT]));
    }
    detail
}

/// `GET /api/v1/analytics`.
pub fn analytics() -> Value {
    let days = json!({"count": 1, "median": 34.0, "mean": 34.0, "min": 34.0, "max": 34.0});
    let none = json!({"count": 0, "median": null, "mean": null, "min": null, "max": null});
    json!({
        "as_of": "2001-12-31T23:59:59Z",
        "pilots": [{
            "pilot_id": PILOT,
            "title": "Hospitalisation insurance for urban residents",
            "office": "SSDNC",
            "proposed_at": "2000-01-10T09:00:00+08:00",
            "days_to_approval": 84.0,
            "days_to_scale_up": null,
            "support_trajectory": []
        }],
        "proposal_to_approval": {"overall": days, "by_level": [], "by_approver": []},
        "request_to_decision": {
            "overall": {"count": 1, "median": 34.0, "mean": 34.0, "min": 34.0, "max": 34.0,
                "granted": 1, "denied": 0, "withdrawn": 0},
            "by_level": [], "by_approver": []
        },
        "stall_rates": {
            "overall": {"requested": 1, "stalled": 1, "stalled_pending": 0, "rate": 1.0},
            "by_level": [], "by_approver": []
        },
        "time_to_scale_up": none,
        "points": {
            "by_stakeholder": [{"stakeholder_id": MAYOR, "name": "Mayor of Nanguo", "total": 2,
                "years": [{"year": 2001, "points": 2, "lines": 1}]}],
            "by_office": []
        }
    })
}

/// `GET /api/v1/alerts/{id}`.
pub fn alert() -> Value {
    json!({
        "alert_id": ALERT,
        "pilot_id": PILOT,
        "pilot_title": "Hospitalisation insurance for urban residents",
        "approval_id": "hihc-2000-mayor",
        "request_event_id": ALERT,
        "approver_id": BUREAU,
        "approver_name": "Bureau of Finance",
        "level": "municipal",
        "requested_at": "2000-03-01T09:00:00+08:00",
        "waited_seconds": 2_419_200,
        "waited_days": 20,
        "threshold": {"days": 20, "extra_days": 0, "unit": "working_days", "calendar": "nanguo",
            "counted_in": "working days of calendar nanguo (jurisdiction Nanguo)"},
        "last_activity": "2000-03-01T09:00:00+08:00",
        "transition": {"at": "2000-03-29T09:00:00+08:00", "kind": "fired",
            "due_at": "2000-03-29T09:00:00+08:00", "notify": true},
        "state": "firing",
        "since": "2000-03-29T09:00:00+08:00",
        "escalation_level": 1,
        "due_at": "2000-03-29T09:00:00+08:00",
        "acknowledged": null,
        "silences": [],
        "positions": [3],
        "silenced_until": null
    })
}

/// `GET /api/v1/alerts/events`: JSON Lines, one stored alert event per line.
pub fn alert_events() -> Value {
    let mut event = alert();
    if let Value::Object(fields) = &mut event {
        for recorded_only in [
            "state",
            "since",
            "escalation_level",
            "due_at",
            "acknowledged",
            "silences",
            "positions",
            "silenced_until",
        ] {
            fields.remove(recorded_only);
        }
        fields.insert("schema".into(), json!(1));
        fields.insert("recorded_at".into(), json!("2000-03-29T09:00:02+08:00"));
        fields.insert("recorded_by".into(), json!("alerter"));
    }
    Value::String(format!("{event}\n"))
}

/// `GET /api/v1/alerts`.
pub fn alerts() -> Value {
    json!({
        "alerts": [alert()],
        "counts": {"pending": 0, "warning": 0, "firing": 1, "resolved": 0},
        "position": 3
    })
}
