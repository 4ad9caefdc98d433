//! Signing in with an API token, and out.

use super::*;

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    l: Layout,
    tr: Tr,
    csrf: String,
    refused: Option<String>,
}

/// Renders the sign-in form, starting a session for its CSRF token if the browser has none.
fn signin_page(
    ctx: &mut Ctx,
    state: &WebState,
    status: StatusCode,
    refused: Option<String>,
) -> Response {
    let mut new_cookie = None;
    if ctx.session.is_none() {
        match state.sessions.start(None) {
            Some((id, session)) => {
                new_cookie = Some(ctx.cookie(session::COOKIE, &id, None));
                ctx.session = Some((id, session));
            }
            None => {
                return error_page(
                    ctx,
                    state,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ctx.tr.t("error-internal"),
                    None,
                )
            }
        }
    }
    let title = ctx.tr.t("signin-title");
    let template = SigninPage {
        l: Layout::new(ctx, state, title, "/signin", &Vec::new(), "signin"),
        tr: ctx.tr,
        csrf: ctx.csrf().unwrap_or_default(),
        refused,
    };
    let mut response = page(ctx, status, &template);
    if let Some(value) = new_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /signin`.
pub(crate) async fn signin_form(
    State(state): State<WebState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let (_, mut ctx) = page_request(&state, &headers, query);
    signin_page(&mut ctx, &state, StatusCode::OK, None)
}

/// `POST /signin` (`csrf`, `token`): a new session for a token the API's store knows.
pub(crate) async fn signin(
    State(state): State<WebState>,
    headers: HeaderMap,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let (form, mut ctx) = match form_request(&state, &headers, form) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let token = form.get("token").map(|t| t.trim()).unwrap_or("");
    let refusal = match state.app.access.tokens.lookup(token) {
        Lookup::Known(caller) => {
            if let Some((old, _)) = &ctx.session {
                state.sessions.end(old);
            }
            let Some((id, _)) = state.sessions.start(Some(token.to_string())) else {
                return error_page(
                    &ctx,
                    &state,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ctx.tr.t("error-internal"),
                    None,
                );
            };
            tracing::info!(message = "Signed in.", caller = %pilot_api_name(&caller));
            let mut response = Redirect::to("/").into_response();
            if let Ok(value) = HeaderValue::from_str(&ctx.cookie(session::COOKIE, &id, None)) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            return response;
        }
        Lookup::Expired { .. } => ctx.tr.t("signin-expired"),
        Lookup::Unknown => ctx.tr.t("signin-refused"),
    };
    signin_page(&mut ctx, &state, StatusCode::UNAUTHORIZED, Some(refusal))
}

/// A token's name for a log line: configured by an administrator, but still escaped.
fn pilot_api_name(caller: &Caller) -> String {
    caller.name.escape_debug().to_string()
}

/// `POST /signout` (`csrf`): forgets the session.
pub(crate) async fn signout(
    State(state): State<WebState>,
    headers: HeaderMap,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let (_, ctx) = match form_request(&state, &headers, form) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    if let Some((id, _)) = &ctx.session {
        state.sessions.end(id);
    }
    let mut response = Redirect::to("/signin").into_response();
    if let Ok(value) = HeaderValue::from_str(&ctx.cookie(session::COOKIE, "", Some(0))) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
