//! The clerks' logging forms: one form per event type of the catalogue, generated from
//! [`pilot_events::fields`] (no HTML per type), posted through the API's own write path.
//!
//! - `GET /log?pilot=`: the types the signed-in clerk (or admin) may log; an analyst gets a
//!   403 page and no forms; nobody logs without signing in, even with anonymous reads.
//! - `GET /log/{type}?pilot=`: the form. Types of a pilot's chain ask for the pilot first
//!   (by title). Stakeholders, approvals, pilots and earlier events are picked by name from
//!   the projection; word lists are selects; numbers carry their ranges. The form carries a
//!   fresh `event_id` (UUID v7), and a fresh `pilot_id` or `stakeholder_id` for a type that
//!   starts a chain.
//! - `POST /log/{type}`: CSRF first; then the draft exactly as `POST /api/v1/events` takes it
//!   (actor from the session's token), handed to `pilot_api::writes::append`, the handler
//!   itself: office rule, decoding, validation, admission, the writer and its dedup by
//!   `event_id` are the API's. Stored (201) or already stored (200): back to the pilot page.
//!   Refused: the form again with what was entered, the API's status and its message at the
//!   field its `error.field` names.

mod draft;

use super::*;
use draft::{input_name, value, values, Pairs as FormPairs, Unreadable};
use pilot_events::fields::{Field, Kind};
use pilot_events::{EventType, SubjectKind};
use serde_json::{json, Map, Value};

/// One `<option>`.
#[derive(Debug)]
struct Opt {
    value: String,
    label: String,
    selected: bool,
}

/// One input of a form, ready to render.
#[derive(Debug)]
struct Input {
    name: String,
    id: String,
    label: String,
    /// `text`, `textarea`, `number`, `date`, `datetime-local` or `select`.
    control: &'static str,
    multiple: bool,
    value: String,
    options: Vec<Opt>,
    min: Option<String>,
    max: Option<String>,
    step: Option<String>,
    required: bool,
    help: Option<String>,
    /// The refusal at this input, and the language it is in.
    error: Option<(String, &'static str)>,
    /// `aria-describedby`: the help's and the error's ids.
    described_by: String,
}

/// A refusal shown above the form.
#[derive(Debug)]
struct Refusal {
    lead: String,
    message: String,
    lang: &'static str,
    /// `#id` of the input it belongs to, when one does.
    href: Option<String>,
}

#[derive(Template)]
#[template(path = "forms/form.html")]
struct FormPage {
    l: Layout,
    tr: Tr,
    heading: String,
    action: String,
    csrf: String,
    hidden: Vec<(String, String)>,
    pilot: Option<(String, String)>,
    inputs: Vec<Input>,
    refusal: Option<Refusal>,
}

#[derive(Template)]
#[template(path = "forms/list.html")]
struct ListPage {
    l: Layout,
    tr: Tr,
    pilot: Option<(String, String)>,
    /// (href, label) of each form.
    types: Vec<(String, String)>,
    /// (href, title) of the pilots the reader may log for, to choose from.
    pilots: Vec<(String, String)>,
    stored: bool,
}

#[derive(Template)]
#[template(path = "forms/choose.html")]
struct ChoosePage {
    l: Layout,
    tr: Tr,
    heading: String,
    action: String,
    pilots: Vec<Opt>,
}

/// The key of an event type's name: `forms-type-pilot-proposed`.
pub(crate) fn type_key(event_type: EventType) -> String {
    format!(
        "forms-type-{}",
        event_type.as_str().replace(['.', '_'], "-")
    )
}

/// The key of a data field's label: `forms-field-policy_area`.
pub(crate) fn field_key(name: &str) -> String {
    format!("forms-field-{name}")
}

/// The key of a word of a closed list: `forms-word-level-county`.
pub(crate) fn word_key(list: &str, word: &str) -> String {
    format!("forms-word-{list}-{word}")
}

/// Whether a form of this type needs an existing pilot (every type of a pilot's chain but the
/// one that starts it; a retraction is offered for a pilot's events).
fn needs_pilot(event_type: EventType) -> bool {
    event_type != EventType::PilotProposed
        && matches!(
            event_type.subject_kind(),
            SubjectKind::Pilot | SubjectKind::Either
        )
}

/// The envelope field naming the chain, by the kind of chain the type lives in.
fn subject_key(event_type: EventType) -> &'static str {
    match event_type.subject_kind() {
        SubjectKind::Stakeholder => "stakeholder_id",
        SubjectKind::Jurisdiction => "jurisdiction_id",
        SubjectKind::Pilot | SubjectKind::Either => "pilot_id",
    }
}

/// Types whose chain the clerk chooses in the form itself (a jurisdiction for its context, a
/// person for a tenure), rather than a new chain or the pilot the form is for.
fn chain_chosen_in_form(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::ContextRecorded | EventType::TenureRecorded
    )
}

/// Signed in as someone who may write, the service ready; else the response to give.
fn writer_gate(ctx: &Ctx, state: &WebState) -> Result<Caller, Box<Response>> {
    if state.app.refused().is_some() || !state.app.is_ready() {
        return Err(Box::new(error_page(
            ctx,
            state,
            StatusCode::SERVICE_UNAVAILABLE,
            ctx.tr.t("error-not-ready"),
            None,
        )));
    }
    let Some(caller) = ctx.caller.clone() else {
        return Err(Box::new(Redirect::to("/signin").into_response()));
    };
    if caller.role == Role::Analyst {
        return Err(Box::new(error_page(
            ctx,
            state,
            StatusCode::FORBIDDEN,
            ctx.tr.t("forms-analyst"),
            None,
        )));
    }
    Ok(caller)
}

/// Who may write, and the event type the path names; else the page to answer (sign in,
/// forbidden, not ready, or no such type).
fn form_of(
    ctx: &Ctx,
    state: &WebState,
    kind: Result<Path<String>, PathRejection>,
) -> Result<(Caller, EventType), Box<Response>> {
    let caller = writer_gate(ctx, state)?;
    let Some(event_type) = kind.ok().and_then(|Path(raw)| EventType::parse(raw.trim())) else {
        return Err(Box::new(error_page(
            ctx,
            state,
            StatusCode::NOT_FOUND,
            ctx.tr.t("forms-no-type"),
            None,
        )));
    };
    Ok((caller, event_type))
}

/// The pilot named by `?pilot=`, if it names one: (id, title, office).
fn pilot_of(state: &WebState, raw: &str) -> Option<(Uuid, String, String)> {
    let id = Uuid::parse_str(raw.trim()).ok()?;
    let world = state.app.projection.read();
    let record = world.pilot(&id)?;
    Some((id, record.state.title.clone(), record.state.office.clone()))
}

/// The pilots `caller` may log for, by title: (id, title).
fn writable_pilots(state: &WebState, caller: &Caller) -> Vec<(Uuid, String)> {
    let world = state.app.projection.read();
    let mut pilots: Vec<(Uuid, String)> = world
        .pilots()
        .filter(|r| caller.may_write_for(&r.state.office))
        .map(|r| (r.state.pilot_id, r.state.title.clone()))
        .collect();
    pilots.sort_by(|a, b| a.1.cmp(&b.1));
    pilots
}

/// `GET /log?pilot=`: the forms the reader may fill in.
pub(crate) async fn list(
    State(state): State<WebState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (query, ctx) = page_request(&state, &headers, query);
    let caller = match writer_gate(&ctx, &state) {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    let tr = ctx.tr;
    let pilot = pilot_of(&state, param(&query, "pilot"));
    let suffix = pilot
        .as_ref()
        .map_or_else(String::new, |(id, _, _)| format!("?pilot={id}"));
    let types = EventType::ALL
        .iter()
        .map(|t| {
            let href = if needs_pilot(*t) {
                format!("/log/{}{suffix}", t.as_str())
            } else {
                format!("/log/{}", t.as_str())
            };
            (href, tr.t(&type_key(*t)))
        })
        .collect();
    let pilots = if pilot.is_none() {
        writable_pilots(&state, &caller)
            .into_iter()
            .map(|(id, title)| (format!("/log?pilot={id}"), title))
            .collect()
    } else {
        Vec::new()
    };
    let template = ListPage {
        l: Layout::new(&ctx, &state, tr.t("forms-title"), "/log", &query, "log"),
        tr,
        pilot: pilot.map(|(id, title, _)| (format!("/pilots/{id}"), title)),
        types,
        pilots,
        stored: !param(&query, "stored").is_empty(),
    };
    page(&ctx, StatusCode::OK, &template)
}

/// `GET /log/{type}?pilot=`: the form (or, for a pilot's type without a pilot, the choice of
/// pilot).
pub(crate) async fn form(
    State(state): State<WebState>,
    headers: HeaderMap,
    kind: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (query, ctx) = page_request(&state, &headers, query);
    let (caller, event_type) = match form_of(&ctx, &state, kind) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let pilot = pilot_of(&state, param(&query, "pilot"));
    if needs_pilot(event_type) && pilot.is_none() {
        return choose_pilot(&ctx, &state, &caller, event_type, &query);
    }
    let mut hidden = vec![("event_id".to_string(), Uuid::now_v7().to_string())];
    match (event_type.subject_kind(), &pilot) {
        _ if chain_chosen_in_form(event_type) => {}
        (SubjectKind::Stakeholder | SubjectKind::Jurisdiction, _) | (_, None) => {
            hidden.push((subject_key(event_type).into(), Uuid::now_v7().to_string()));
        }
        (_, Some((id, _, _))) => hidden.push(("pilot_id".into(), id.to_string())),
    }
    // Back to the pilot whose list the clerk came from after registering a stakeholder.
    if let (SubjectKind::Stakeholder, Some((id, _, _))) = (event_type.subject_kind(), &pilot) {
        hidden.push(("pilot".into(), id.to_string()));
    }
    let mut entered: FormPairs = Vec::new();
    let now = state.app.clock.now().to_offset(draft::default_offset());
    entered.push((
        "occurred_at".into(),
        now.format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]"
        ))
        .unwrap_or_default(),
    ));
    entered.push(("offset".into(), draft::DEFAULT_OFFSET.into()));
    if let Some((_, _, office)) = &pilot {
        entered.push(("office".into(), office.clone()));
    }
    render_form(
        &ctx,
        &state,
        &caller,
        event_type,
        pilot.as_ref(),
        &hidden,
        &entered,
        None,
        StatusCode::OK,
        &query,
    )
}

fn choose_pilot(
    ctx: &Ctx,
    state: &WebState,
    caller: &Caller,
    event_type: EventType,
    query: &Pairs,
) -> Response {
    let tr = ctx.tr;
    let heading = tr.t(&type_key(event_type));
    let path = format!("/log/{}", event_type.as_str());
    let pilots = writable_pilots(state, caller)
        .into_iter()
        .map(|(id, title)| Opt {
            value: id.to_string(),
            label: title,
            selected: false,
        })
        .collect();
    let template = ChoosePage {
        l: Layout::new(ctx, state, heading.clone(), &path, query, "log"),
        tr,
        heading,
        action: path,
        pilots,
    };
    page(ctx, StatusCode::OK, &template)
}

/// Renders the form of `event_type` with what was `entered` and an optional refusal.
#[allow(clippy::too_many_arguments)]
fn render_form(
    ctx: &Ctx,
    state: &WebState,
    caller: &Caller,
    event_type: EventType,
    pilot: Option<&(Uuid, String, String)>,
    hidden: &[(String, String)],
    entered: &FormPairs,
    refused: Option<(String, String, &'static str)>,
    status: StatusCode,
    query: &Pairs,
) -> Response {
    let tr = ctx.tr;
    let path = format!("/log/{}", event_type.as_str());
    // (input, message, lang) of the refusal.
    let (error_input, error_message, error_lang) = refused
        .clone()
        .map_or((String::new(), String::new(), "en"), |r| r);
    let mut inputs = Vec::new();
    let time_help = tr.t("forms-time-note");
    inputs.push(Input {
        name: "occurred_at".into(),
        id: "f-occurred_at".into(),
        label: tr.t("forms-field-occurred_at"),
        control: "datetime-local",
        multiple: false,
        value: value(entered, "occurred_at").to_string(),
        options: Vec::new(),
        min: None,
        max: None,
        step: None,
        required: true,
        help: Some(time_help),
        error: None,
        described_by: String::new(),
    });
    let chosen_offset = value(entered, "offset");
    inputs.push(Input {
        name: "offset".into(),
        id: "f-offset".into(),
        label: tr.t("forms-field-offset"),
        control: "select",
        multiple: false,
        value: String::new(),
        options: draft::OFFSETS
            .iter()
            .map(|o| Opt {
                value: (*o).to_string(),
                label: format!("UTC{o}"),
                selected: *o == chosen_offset,
            })
            .collect(),
        min: None,
        max: None,
        step: None,
        required: true,
        help: None,
        error: None,
        described_by: String::new(),
    });
    let chosen_precision = value(entered, "precision");
    let mut precisions = vec![Opt {
        value: String::new(),
        label: tr.t("forms-precision-exact"),
        selected: chosen_precision.is_empty(),
    }];
    precisions.extend(pilot_events::Precision::WORDS.iter().map(|word| Opt {
        value: (*word).to_string(),
        label: tr.t(&word_key("precision", word)),
        selected: *word == chosen_precision,
    }));
    inputs.push(Input {
        name: "precision".into(),
        id: "f-precision".into(),
        label: tr.t("forms-field-precision"),
        control: "select",
        multiple: false,
        value: String::new(),
        options: precisions,
        min: None,
        max: None,
        step: None,
        required: false,
        help: Some(tr.t("forms-precision-help")),
        error: None,
        described_by: String::new(),
    });
    for (name, label) in [
        ("source.citation", "forms-field-source-citation"),
        ("source.page", "forms-field-source-page"),
    ] {
        inputs.push(Input {
            name: name.into(),
            id: format!("f-{}", name.replace('.', "-")),
            label: tr.t(label),
            control: "text",
            multiple: false,
            value: value(entered, name).to_string(),
            options: Vec::new(),
            min: None,
            max: None,
            step: None,
            required: false,
            help: None,
            error: None,
            described_by: String::new(),
        });
    }
    if caller.role == Role::Admin {
        inputs.push(Input {
            name: "office".into(),
            id: "f-office".into(),
            label: tr.t("forms-field-office"),
            control: "text",
            multiple: false,
            value: value(entered, "office").to_string(),
            options: Vec::new(),
            min: None,
            max: None,
            step: None,
            required: true,
            help: Some(tr.t("forms-office-help")),
            error: None,
            described_by: String::new(),
        });
    }
    {
        let world = state.app.projection.read();
        if chain_chosen_in_form(event_type) {
            inputs.push(chain_input(&world, &tr, event_type, entered));
        }
        for field in event_type.fields() {
            if field.kind == Kind::Written {
                continue;
            }
            inputs.push(input(&world, &tr, field, pilot.map(|p| p.0), entered));
        }
    }
    let mut placed = false;
    for input in &mut inputs {
        let mut ids = Vec::new();
        if input.help.is_some() {
            ids.push(format!("{}-help", input.id));
        }
        if refused.is_some() && input.name == error_input {
            input.error = Some((error_message.clone(), error_lang));
            ids.push(format!("{}-error", input.id));
            placed = true;
        }
        input.described_by = ids.join(" ");
    }
    let refusal = refused.map(|(input, message, lang)| Refusal {
        lead: tr.t("forms-refused"),
        message,
        lang,
        href: placed.then(|| format!("#f-{}", input.replace('.', "-"))),
    });
    let heading = tr.t(&type_key(event_type));
    // The language switch keeps the form's pilot, also when a refused POST is shown again.
    let mut kept = query.clone();
    if let (Some((id, _, _)), "") = (pilot, param(query, "pilot")) {
        kept.push(("pilot".to_string(), id.to_string()));
    }
    let template = FormPage {
        l: Layout::new(ctx, state, heading.clone(), &path, &kept, "log"),
        tr,
        heading,
        action: path,
        csrf: ctx.csrf().unwrap_or_default(),
        hidden: hidden.to_vec(),
        pilot: pilot.map(|(id, title, _)| (format!("/pilots/{id}"), title.clone())),
        inputs,
        refusal,
    };
    page(ctx, status, &template)
}

/// The choice of chain for [`chain_chosen_in_form`] types: the jurisdiction a context belongs
/// to, or the person who held a post.
fn chain_input(
    world: &pilot_projections::World,
    tr: &Tr,
    event_type: EventType,
    entered: &FormPairs,
) -> Input {
    let name = subject_key(event_type);
    let current = value(entered, name).to_string();
    let choices: Vec<(String, String)> = if event_type == EventType::ContextRecorded {
        world
            .jurisdictions()
            .all()
            .into_iter()
            .map(|j| (j.jurisdiction_id.to_string(), j.name.clone()))
            .collect()
    } else {
        world
            .registry()
            .all()
            .into_iter()
            .map(|s| (s.stakeholder_id.to_string(), s.name.clone()))
            .collect()
    };
    let mut options = vec![Opt {
        value: String::new(),
        label: tr.t("forms-choose"),
        selected: current.is_empty(),
    }];
    options.extend(choices.into_iter().map(|(value, label)| Opt {
        selected: value == current,
        value,
        label,
    }));
    Input {
        name: name.to_string(),
        id: format!("f-{name}"),
        label: tr.t(if event_type == EventType::ContextRecorded {
            "forms-chain-jurisdiction"
        } else {
            "forms-chain-person"
        }),
        control: "select",
        multiple: false,
        value: current,
        options,
        min: None,
        max: None,
        step: None,
        required: true,
        help: None,
        error: None,
        described_by: String::new(),
    }
}

/// The input of one data field, with its choices read from the projection.
fn input(
    world: &pilot_projections::World,
    tr: &Tr,
    field: &Field,
    pilot: Option<Uuid>,
    entered: &FormPairs,
) -> Input {
    let name = input_name(field);
    let id = format!("f-{}", name.replace('.', "-"));
    let current = value(entered, &name).to_string();
    let chosen: Vec<&str> = values(entered, &name);
    let choose = |label: String| Opt {
        value: String::new(),
        label,
        selected: current.is_empty(),
    };
    let option = |value: String, label: String| Opt {
        selected: chosen.contains(&value.as_str()),
        value,
        label,
    };
    let mut input = Input {
        name: name.clone(),
        id,
        label: tr.t(&field_key(field.name)),
        control: "text",
        multiple: false,
        value: current.clone(),
        options: Vec::new(),
        min: None,
        max: None,
        step: None,
        required: field.required,
        help: None,
        error: None,
        described_by: String::new(),
    };
    match field.kind {
        Kind::Text | Kind::Written => {}
        Kind::LongText => input.control = "textarea",
        Kind::TextList => {
            input.control = "textarea";
            input.required = false;
            input.help = Some(tr.t("forms-help-list"));
        }
        Kind::Parameters => {
            input.control = "textarea";
            input.required = false;
            input.help = Some(tr.t("forms-help-parameters"));
        }
        Kind::Integer { min, max } => {
            input.control = "number";
            input.min = Some(min.to_string());
            input.max = Some(max.to_string());
            input.step = Some("1".into());
            input.help = Some(tr.t1("forms-help-range", "range", &format!("{min} … {max}")));
        }
        Kind::Number => {
            input.control = "number";
            input.step = Some("any".into());
        }
        Kind::Date => {
            input.control = "date";
            input.help = Some(tr.t("forms-help-date"));
        }
        Kind::Flag => {
            input.control = "select";
            input
                .options
                .push(option("false".into(), tr.t("forms-flag-no")));
            input
                .options
                .push(option("true".into(), tr.t("forms-flag-yes")));
        }
        Kind::Word { list, words } => {
            input.control = "select";
            input.options.push(choose(tr.t("forms-choose")));
            input.options.extend(
                words
                    .iter()
                    .map(|w| option((*w).to_string(), tr.t(&word_key(list, w)))),
            );
        }
        Kind::Stakeholder | Kind::Stakeholders => {
            input.control = "select";
            if field.kind == Kind::Stakeholders {
                input.multiple = true;
                input.help = Some(tr.t("forms-help-multiple"));
            } else {
                input.options.push(choose(tr.t("forms-choose")));
            }
            input
                .options
                .extend(world.registry().all().into_iter().map(|s| {
                    option(
                        s.stakeholder_id.to_string(),
                        format!(
                            "{} ({})",
                            s.name,
                            tr.t(&word_key("stakeholder_kind", s.kind.as_str()))
                        ),
                    )
                }));
        }
        Kind::Pilot => {
            input.control = "select";
            input.options.push(choose(tr.t("forms-choose")));
            let mut pilots: Vec<(String, String)> = world
                .pilots()
                .filter(|r| Some(r.state.pilot_id) != pilot)
                .map(|r| (r.state.pilot_id.to_string(), r.state.title.clone()))
                .collect();
            pilots.sort_by(|a, b| a.1.cmp(&b.1));
            input
                .options
                .extend(pilots.into_iter().map(|(v, l)| option(v, l)));
        }
        Kind::Approval => {
            input.control = "select";
            input.options.push(choose(tr.t("forms-choose")));
            if let Some(record) = pilot.and_then(|id| world.pilot(&id)) {
                input
                    .options
                    .extend(record.state.pending_approvals.values().map(|a| {
                        let approver = world
                            .registry()
                            .get(&a.approver_id)
                            .map_or_else(|| a.approver_id.to_string(), |s| s.name.clone());
                        option(
                            a.approval_id.clone(),
                            format!(
                                "{} ({approver}, {})",
                                a.approval_id,
                                view::date(a.requested_at)
                            ),
                        )
                    }));
            }
        }
        Kind::ChainEvent => {
            input.control = "select";
            input.options.push(choose(tr.t("forms-choose")));
            if let Some(record) = pilot.and_then(|id| world.pilot(&id)) {
                let events: Vec<Opt> = record
                    .history
                    .iter()
                    .filter(|(_, e)| e.event.event_type() != EventType::EventRetracted)
                    .map(|(_, e)| {
                        option(
                            e.event_id.to_string(),
                            format!(
                                "{} · {}",
                                view::date(e.occurred_at),
                                tr.t(&type_key(e.event.event_type()))
                            ),
                        )
                    })
                    .collect();
                input.options.extend(events.into_iter().rev());
            }
        }
    }
    input
}

/// `POST /log/{type}`: the draft through the API's write path.
pub(crate) async fn submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    kind: Result<Path<String>, PathRejection>,
    query: Result<Query<Pairs>, QueryRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let query = pairs(query);
    let ctx = Ctx::read(&state, &headers, None);
    let entered: FormPairs = form.map(|Form(f)| f).unwrap_or_default();
    let first: BTreeMap<String, String> = entered
        .iter()
        .rev()
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    if let Err(response) = check_csrf(&ctx, &state, &first) {
        return *response;
    }
    let (caller, event_type) = match form_of(&ctx, &state, kind) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let subject_key = subject_key(event_type);
    let subject = value(&entered, subject_key).trim().to_string();
    let mut hidden = vec![(
        "event_id".to_string(),
        value(&entered, "event_id").trim().to_string(),
    )];
    if !chain_chosen_in_form(event_type) {
        hidden.push((subject_key.to_string(), subject.clone()));
    }
    let back_to = value(&entered, "pilot").trim().to_string();
    if !back_to.is_empty() {
        hidden.push(("pilot".into(), back_to.clone()));
    }
    let pilot = if needs_pilot(event_type) {
        pilot_of(&state, value(&entered, "pilot_id"))
    } else {
        None
    };
    let refuse = |refused: (String, String, &'static str), status: StatusCode| {
        render_form(
            &ctx,
            &state,
            &caller,
            event_type,
            pilot.as_ref(),
            &hidden,
            &entered,
            Some(refused),
            status,
            &query,
        )
    };
    let data = match draft::data(event_type.fields(), &entered) {
        Ok(data) => data,
        Err(Unreadable { input, key }) => {
            let lang = ctx.tr.lang.tag();
            return refuse(
                (input, ctx.tr.t(key), lang),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let office = match caller.role {
        Role::Admin => value(&entered, "office").trim().to_string(),
        _ => caller.office.clone().unwrap_or_default(),
    };
    let mut draft = Map::new();
    for (key, value) in &hidden {
        if key != "pilot" && !value.is_empty() {
            draft.insert(key.clone(), json!(value));
        }
    }
    if chain_chosen_in_form(event_type) && !subject.is_empty() {
        draft.insert(subject_key.into(), json!(subject));
    }
    draft.insert("type".into(), json!(event_type.as_str()));
    let precision = value(&entered, "precision").trim();
    if let Some(at) = draft::occurred_at_with(
        value(&entered, "occurred_at"),
        value(&entered, "offset"),
        precision,
    ) {
        draft.insert("occurred_at".into(), json!(at));
    }
    if !precision.is_empty() {
        draft.insert("precision".into(), json!(precision));
    }
    let citation = value(&entered, "source.citation").trim();
    if !citation.is_empty() {
        let mut source = Map::new();
        source.insert("citation".into(), json!(citation));
        let page = value(&entered, "source.page").trim();
        if !page.is_empty() {
            source.insert("page".into(), json!(page));
        }
        draft.insert("source".into(), Value::Object(source));
    }
    draft.insert(
        "actor".into(),
        json!({"office": office, "user": caller.name}),
    );
    draft.insert("data".into(), Value::Object(data));
    let body = Value::Object(draft).to_string();
    let answer = pilot_api::writes::append(
        State(state.app.clone()),
        Extension(caller.clone()),
        Ok(Query(Vec::new())),
        Ok(Bytes::from(body)),
    )
    .await;
    match answer {
        Ok(_) => {
            let to = match (
                event_type.subject_kind(),
                value(&entered, "pilot_id").trim(),
            ) {
                (SubjectKind::Stakeholder, _) if !back_to.is_empty() => {
                    format!("/log?pilot={}&stored=1", view::encode(&back_to))
                }
                (SubjectKind::Stakeholder | SubjectKind::Jurisdiction, _) => {
                    "/log?stored=1".to_string()
                }
                (_, id) => format!("/pilots/{}", view::encode(id)),
            };
            Redirect::to(&to).into_response()
        }
        Err(error) if error.status.is_client_error() => {
            let input = error
                .field
                .as_deref()
                .map(draft::input_for)
                .unwrap_or_default();
            refuse((input, error.message, "en"), error.status)
        }
        Err(error) => api_error_page(&ctx, &state, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    /// Every key the forms build: each type's name, each field's label, each word.
    pub(crate) fn built_keys() -> Vec<String> {
        let mut keys = Vec::new();
        for event_type in EventType::ALL {
            keys.push(type_key(*event_type));
            for field in event_type.fields() {
                if field.kind == Kind::Written {
                    continue;
                }
                keys.push(field_key(field.name));
                if let Kind::Word { list, words } = field.kind {
                    keys.extend(words.iter().map(|w| word_key(list, w)));
                }
            }
        }
        keys.extend(
            pilot_events::StakeholderKind::WORDS
                .iter()
                .map(|w| word_key("stakeholder_kind", w)),
        );
        keys
    }

    #[test]
    fn every_type_field_and_word_has_a_label_in_both_languages() {
        let keys = built_keys();
        assert!(keys.len() > 60, "{}", keys.len());
        for lang in Lang::ALL {
            let tr = Tr::new(lang);
            let missing: Vec<_> = keys.iter().filter(|k| !tr.has(k)).collect();
            assert!(missing.is_empty(), "{}: missing {missing:?}", lang.tag());
        }
    }
}
