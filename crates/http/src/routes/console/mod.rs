//! The developer console at `/console`: server-rendered pages (maud) over the same
//! `kc_api::AdminApi` calls as the admin API. Forms POST with the session's CSRF token in a
//! hidden `_csrf` field, which the service checks exactly as it checks `X-CSRF-Token`; no page
//! needs JavaScript. A viewer's writes, a wrong CSRF token and another organisation's ids are
//! refused by the service (403 / 404), and the pages answer with those statuses.

mod orgs;
mod usage;
mod view;
mod webhooks;

use crate::extract::Meta;
use crate::routes::admin_api::{session_cookie, SESSION_COOKIE};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kc_api::*;
use maud::{html, Markup};

const CONSOLE_CSS: &str = include_str!("../../../assets/console.css");

/// The page policy: nothing but this server's own stylesheet; forms post back here only.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; \
base-uri 'none'; frame-ancestors 'none'";

/// A form body as its fields in order (repeated names such as `events` allowed).
type Fields = Vec<(String, String)>;

/// The console's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(overview))
        .route("/console/console.css", get(css))
        .route("/console/sign-in", get(sign_in_page).post(sign_in_start))
        .route("/console/sign-in/verify", post(sign_in_verify))
        .route("/console/sign-out", post(sign_out))
        .route("/console/orgs", post(create_org))
        .route("/console/apps", post(create_app))
        .route("/console/apps/{id}", get(app_page))
        .route("/console/apps/{id}/settings", post(app_settings))
        .route("/console/apps/{id}/origins", post(app_origins))
        .route("/console/apps/{id}/redirect-uris", post(app_redirects))
        .route("/console/apps/{id}/rotate-secret", post(app_rotate))
        .route("/console/apps/{id}/mode", post(app_mode))
        .route("/console/apps/{id}/disable", post(app_disable))
        .route("/console/apps/{id}/grants", get(grants_page))
        .route("/console/apps/{id}/grants/{grant}/revoke", post(revoke_grant))
        .route("/console/apps/{id}/usage", get(usage_page))
        .route("/console/audit", get(audit_page))
        .merge(webhooks::routes())
        .merge(orgs::routes())
}

async fn css() -> Response {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    (h, CONSOLE_CSS).into_response()
}

/// An HTML answer with the console's headers.
fn html_response(status: StatusCode, m: Markup) -> Response {
    let mut res = (status, m.into_string()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    res
}

fn see_other(to: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The first value of `name` in a form.
fn field<'a>(f: &'a Fields, name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn field_owned(f: &Fields, name: &str) -> String {
    field(f, name).unwrap_or_default().trim().to_owned()
}

/// The caller of a page view (no CSRF token) or a form post (its `_csrf` field).
fn caller(headers: &HeaderMap, meta: RequestMeta, csrf: Option<String>) -> AdminCaller {
    AdminCaller { credential: crate::routes::admin_api::credential(headers, &meta, csrf), meta }
}

fn form_caller(headers: &HeaderMap, meta: RequestMeta, f: &Fields) -> AdminCaller {
    caller(headers, meta, Some(field(f, "_csrf").unwrap_or_default().to_owned()))
}

/// Whether an error is "this does not exist or is not yours".
fn is_not_found(e: &ApiError) -> bool {
    e.code == ErrorCode::InvalidRequest && e.message.starts_with("No such ")
}

/// A refusal as a page: no session → the sign-in page; 403, 404, 429 and server errors as
/// short pages with those statuses.
async fn refusal(s: &AppState, meta: &RequestMeta, me: Option<&AdminIdentity>, e: ApiError) -> Response {
    let (status, title) = match e.code {
        ErrorCode::InvalidToken => {
            if s.limiter.failed(meta.ip, None).await.is_some() {
                (StatusCode::TOO_MANY_REQUESTS, "Too many attempts")
            } else {
                return see_other("/console/sign-in");
            }
        }
        ErrorCode::InsufficientPermissions => (StatusCode::FORBIDDEN, "Not allowed"),
        ErrorCode::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "Too many attempts"),
        ErrorCode::InternalError => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong"),
        ErrorCode::ServiceUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable"),
        _ if is_not_found(&e) => (StatusCode::NOT_FOUND, "Not found"),
        _ => (StatusCode::BAD_REQUEST, "That did not work"),
    };
    let body = html! {
        p { (e.message) }
        p { a href="/console" { "Back to your apps" } }
    };
    html_response(status, view::page(title, me, body))
}

/// The signed-in caller of a page view, or the answer to send instead.
async fn identity(s: &AppState, h: &HeaderMap, m: &RequestMeta) -> Result<AdminIdentity, Response> {
    if session_cookie(h).is_none() {
        return Err(see_other("/console/sign-in"));
    }
    let c = caller(h, m.clone(), None);
    match s.api.admin_me(&c).await {
        Ok(me) => Ok(me),
        Err(e) => Err(refusal(s, m, None, e).await),
    }
}

/// Unwraps a call or returns its refusal page.
macro_rules! tri {
    ($s:expr, $m:expr, $me:expr, $r:expr) => {
        match $r {
            Ok(v) => v,
            Err(e) => return $crate::routes::console::refusal(&$s, &$m, Some(&$me), e).await,
        }
    };
}

/// Unwraps a `Result<T, Response>`, returning the response.
macro_rules! or_return {
    ($r:expr) => {
        match $r {
            Ok(v) => v,
            Err(res) => return res,
        }
    };
}
use or_return;
use tri;

/// What every console handler reads: the state, the request facts and the headers.
struct Ctx {
    s: AppState,
    m: RequestMeta,
    h: HeaderMap,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Meta(m) = Meta::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        Ok(Self { s: state.clone(), m, h: parts.headers.clone() })
    }
}

impl Ctx {
    /// The signed-in caller, or the answer to send instead (the sign-in page, 429, …).
    async fn me(&self) -> Result<AdminIdentity, Response> {
        identity(&self.s, &self.h, &self.m).await
    }

    /// The caller of a page view.
    fn viewer(&self) -> AdminCaller {
        caller(&self.h, self.m.clone(), None)
    }

    /// The caller of a form post (its `_csrf` field).
    fn writer(&self, f: &Fields) -> AdminCaller {
        form_caller(&self.h, self.m.clone(), f)
    }

    /// A refusal as a page.
    async fn refuse(&self, me: Option<&AdminIdentity>, e: ApiError) -> Response {
        refusal(&self.s, &self.m, me, e).await
    }

    /// After a write: `to` on success, else the refusal page.
    async fn done<T>(&self, r: ApiResult<T>, to: &str) -> Response {
        match r {
            Ok(_) => see_other(to),
            Err(e) => self.refuse(None, e).await,
        }
    }
}

/// Whether the form carries the confirmation of a destructive action (`confirm=yes`).
fn confirmed(f: &Fields) -> bool {
    field(f, "confirm") == Some("yes")
}

/// Whether an error is one the form it came from shows inline (a bad value, not a refusal).
fn is_inline(e: &ApiError) -> bool {
    e.code == ErrorCode::InvalidRequest && !is_not_found(e) || e.code == ErrorCode::InvalidScope
}

// ------------------------------------------------------------------------------ sign-in

async fn sign_in_page(State(s): State<AppState>, Meta(m): Meta, h: HeaderMap) -> Response {
    if session_cookie(&h).is_some() && s.api.admin_me(&caller(&h, m, None)).await.is_ok() {
        return see_other("/console");
    }
    html_response(StatusCode::OK, sign_in_form(None, None))
}

fn sign_in_form(email: Option<&str>, err: Option<&str>) -> Markup {
    let body = html! {
        section class="card narrow" {
            p { "Sign in with your email address: we send you a one-time code." }
            form method="post" action="/console/sign-in" {
                label for="email" { "Email" }
                input id="email" name="email" type="email" autocomplete="email" required
                    value=(email.unwrap_or_default())
                    aria-describedby=[err.map(|_| "email-error")] aria-invalid=[err.map(|_| "true")];
                (view::error("email-error", err))
                button type="submit" class="primary" { "Send code" }
            }
        }
    };
    view::page("Sign in", None, body)
}

fn code_form(email: &str, err: Option<&str>) -> Markup {
    let body = html! {
        section class="card narrow" {
            p { "We sent a code to " strong { (email) } " if it may use the console." }
            form method="post" action="/console/sign-in/verify" {
                input type="hidden" name="email" value=(email);
                label for="code" { "Code" }
                input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required
                    aria-describedby=[err.map(|_| "code-error")] aria-invalid=[err.map(|_| "true")];
                (view::error("code-error", err))
                button type="submit" class="primary" { "Sign in" }
            }
            p { a href="/console/sign-in" { "Use another address" } }
        }
    };
    view::page("Enter your code", None, body)
}

async fn sign_in_start(State(s): State<AppState>, Meta(m): Meta, Form(f): Form<Fields>) -> Response {
    if m.origin.is_some() {
        return html_response(StatusCode::FORBIDDEN, sign_in_form(None, Some("Cross-site sign-in refused.")));
    }
    let email = field_owned(&f, "email");
    match s.api.console_sign_in_start(&m, ConsoleSignInStart { email: email.clone() }).await {
        Ok(()) => html_response(StatusCode::OK, code_form(&email, None)),
        Err(e) if e.code == ErrorCode::RateLimited => {
            html_response(StatusCode::TOO_MANY_REQUESTS, sign_in_form(Some(&email), Some(&e.message)))
        }
        Err(e) => html_response(StatusCode::BAD_REQUEST, sign_in_form(Some(&email), Some(&e.message))),
    }
}

async fn sign_in_verify(State(s): State<AppState>, Meta(m): Meta, Form(f): Form<Fields>) -> Response {
    if m.origin.is_some() {
        return html_response(StatusCode::FORBIDDEN, sign_in_form(None, Some("Cross-site sign-in refused.")));
    }
    let email = field_owned(&f, "email");
    let code = field_owned(&f, "code");
    match s.api.console_sign_in_verify(&m, &email, &code).await {
        Ok(opened) => {
            let mut res = see_other("/console");
            let secure = if s.options.public_url.starts_with("https://") { "; Secure" } else { "" };
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                secrecy::ExposeSecret::expose_secret(&opened.token),
                opened.max_age_secs
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => {
            let status =
                if e.code == ErrorCode::RateLimited { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::BAD_REQUEST };
            html_response(status, code_form(&email, Some(&e.message)))
        }
    }
}

async fn sign_out(State(s): State<AppState>, Meta(m): Meta, h: HeaderMap, Form(f): Form<Fields>) -> Response {
    let c = form_caller(&h, m.clone(), &f);
    if let Err(e) = s.api.console_sign_out(&c).await {
        return refusal(&s, &m, None, e).await;
    }
    let mut res = see_other("/console/sign-in");
    let secure = if s.options.public_url.starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

// ----------------------------------------------------------------------------- overview

async fn overview(cx: Ctx) -> Response {
    let me = or_return!(cx.me().await);
    let o = tri!(cx.s, cx.m, me, overview_data(&cx, &me).await);
    html_response(StatusCode::OK, overview_page(&me, &o, None, None))
}

/// What the overview shows: the caller's organisations with their apps, and the invitations
/// addressed to the caller.
struct Overview {
    orgs: Vec<(AdminOrg, Vec<AdminClient>)>,
    invites: Vec<AdminInvitation>,
}

async fn overview_data(cx: &Ctx, me: &AdminIdentity) -> ApiResult<Overview> {
    let c = cx.viewer();
    let mut orgs = Vec::new();
    for o in &me.orgs {
        orgs.push((o.clone(), cx.s.api.admin_clients(&c, Some(o.id.clone())).await?));
    }
    let invites = cx.s.api.admin_my_invitations(&c).await?;
    Ok(Overview { orgs, invites })
}

fn overview_page(me: &AdminIdentity, o: &Overview, org_err: Option<&str>, app_err: Option<(&str, &str)>) -> Markup {
    let orgs = &o.orgs;
    let body = html! {
        (orgs::my_invitations(me, &o.invites))
        @if orgs.is_empty() {
            p { "You are not a member of any organisation yet. Create one to register apps." }
        }
        @for (org, apps) in orgs {
            section class="card" aria-labelledby=(format!("org-{}", org.id)) {
                h2 id=(format!("org-{}", org.id)) { (org.name) " " span class="muted" { "(" (org.role) ")" } }
                p { a href=(format!("/console/orgs/{}", org.id)) { "Members and invitations" span class="sr-only" { " of " (org.name) } } }
                @if apps.is_empty() {
                    (view::empty("No apps yet."))
                } @else {
                    table {
                        caption class="sr-only" { "Apps of " (org.name) }
                        thead { tr { th scope="col" { "App" } th scope="col" { "Client id" } th scope="col" { "Mode" } } }
                        tbody {
                            @for a in apps {
                                tr {
                                    td data-label="App" { a href=(format!("/console/apps/{}", a.client_id)) { (a.name) } }
                                    td data-label="Client id" { code { (a.client_id) } }
                                    td data-label="Mode" { (view::badge(if a.disabled { "disabled" } else { &a.mode })) }
                                }
                            }
                        }
                    }
                }
                @if org.role != "viewer" {
                    @let id = format!("app-name-{}", org.id);
                    @let err = app_err.filter(|(o, _)| *o == org.id).map(|(_, e)| e);
                    form method="post" action="/console/apps" class="row" {
                        (view::csrf(me))
                        input type="hidden" name="org_id" value=(org.id);
                        label for=(id) { "New app name" }
                        input id=(id) name="name" required maxlength="100"
                            aria-invalid=[err.map(|_| "true")];
                        button type="submit" class="primary" { "Create app" }
                        (view::error(&format!("{id}-error"), err))
                    }
                }
            }
        }
        section class="card" aria-labelledby="new-org" {
            h2 id="new-org" { "New organisation" }
            form method="post" action="/console/orgs" class="row" {
                (view::csrf(me))
                label for="org-name" { "Name" }
                input id="org-name" name="name" required maxlength="100" aria-invalid=[org_err.map(|_| "true")];
                button type="submit" { "Create organisation" }
                (view::error("org-name-error", org_err))
            }
        }
    };
    view::page("Your apps", Some(me), body)
}

async fn create_org(cx: Ctx, Form(f): Form<Fields>) -> Response {
    let me = or_return!(cx.me().await);
    match cx.s.api.admin_create_org(&cx.writer(&f), AdminOrgCreate { name: field_owned(&f, "name") }).await {
        Ok(_) => see_other("/console"),
        Err(e) if is_inline(&e) => {
            let o = tri!(cx.s, cx.m, me, overview_data(&cx, &me).await);
            html_response(StatusCode::BAD_REQUEST, overview_page(&me, &o, Some(&e.message), None))
        }
        Err(e) => cx.refuse(Some(&me), e).await,
    }
}

async fn create_app(cx: Ctx, Form(f): Form<Fields>) -> Response {
    let me = or_return!(cx.me().await);
    let org = field_owned(&f, "org_id");
    let req = AdminClientCreate { name: field_owned(&f, "name"), org_id: Some(org.clone()), ..Default::default() };
    match cx.s.api.admin_create_client(&cx.writer(&f), req).await {
        Ok(created) => {
            let body = html! {
                (view::secret_once("Client secret", &created.client_secret))
                dl class="facts" {
                    dt { "Client id" } dd { code { (created.client.client_id) } }
                    dt { "Mode" } dd { (created.client.mode) }
                    dt { "Scopes" } dd { (created.client.scopes) }
                }
                p { a class="button primary" href=(format!("/console/apps/{}", created.client.client_id)) { "Continue to the app" } }
            };
            html_response(StatusCode::OK, view::page(&format!("{} created", created.client.name), Some(&me), body))
        }
        Err(e) if is_inline(&e) => {
            let o = tri!(cx.s, cx.m, me, overview_data(&cx, &me).await);
            html_response(StatusCode::BAD_REQUEST, overview_page(&me, &o, None, Some((&org, &e.message))))
        }
        Err(e) => cx.refuse(Some(&me), e).await,
    }
}

// ---------------------------------------------------------------------------------- app

/// Which form of the app page an error or a fresh secret belongs to.
#[derive(Default)]
struct AppNotes<'a> {
    settings: Option<&'a str>,
    origins: Option<&'a str>,
    redirects: Option<&'a str>,
    rotate: Option<&'a str>,
    mode: Option<&'a str>,
    secret: Option<&'a str>,
}

async fn app_page(cx: Ctx, Path(id): Path<String>) -> Response {
    let me = or_return!(cx.me().await);
    let client = tri!(cx.s, cx.m, me, cx.s.api.admin_client(&cx.viewer(), &id).await);
    html_response(StatusCode::OK, app_view(&me, &client, &AppNotes::default()))
}

/// Whether `me` may disable app `c`: a platform operator, or an admin or owner of its organisation.
fn may_disable(me: &AdminIdentity, c: &AdminClient) -> bool {
    me.operator || role_of(me, c).is_some_and(|r| matches!(r, "admin" | "owner" | "operator"))
}

/// `me`'s role in the organisation of app `c` (`operator` for platform operators).
fn role_of<'a>(me: &'a AdminIdentity, c: &AdminClient) -> Option<&'a str> {
    let org = c.org_id.as_deref()?;
    me.orgs.iter().find(|o| o.id == org).map(|o| o.role.as_str())
}

/// Whether `me` may change app `c` (webhooks, grants): anyone but a viewer. The pages leave
/// out the forms a viewer could only have refused (the service refuses them anyway).
fn may_change(me: &AdminIdentity, c: &AdminClient) -> bool {
    me.operator || role_of(me, c).is_some_and(|r| r != "viewer")
}

fn app_view(me: &AdminIdentity, c: &AdminClient, n: &AppNotes<'_>) -> Markup {
    let base = format!("/console/apps/{}", c.client_id);
    let list = |kind: &str, items: &[String], err: Option<&str>, action: String, label: &str, placeholder: &str| {
        let input_id = format!("add-{kind}");
        html! {
            @if items.is_empty() {
                (view::empty("None registered."))
            } @else {
                ul class="items" {
                    @for it in items {
                        li {
                            code { (it) }
                            form method="post" action=(action) class="inline" {
                                (view::csrf(me))
                                input type="hidden" name="remove" value=(it);
                                button type="submit" class="link danger" aria-label=(format!("Remove {it}")) { "Remove" }
                            }
                        }
                    }
                }
            }
            form method="post" action=(action) class="row" {
                (view::csrf(me))
                label for=(input_id) { (label) }
                input id=(input_id) name="add" type="text" placeholder=(placeholder) required
                    aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| format!("{kind}-error"))];
                button type="submit" { "Add" }
                (view::error(&format!("{kind}-error"), err))
            }
        }
    };
    let body = html! {
        (view::app_nav(c, "App"))
        @if let Some(secret) = n.secret { (view::secret_once("New client secret", secret)) }
        section class="card" aria-labelledby="creds" {
            h2 id="creds" { "Credentials" }
            dl class="facts" {
                dt { "Client id" } dd { code { (c.client_id) } }
                dt { "Client secret" } dd { "Hidden — shown once when created or rotated." }
                dt { "Status" } dd { (view::badge(if c.disabled { "disabled" } else { "active" })) }
            }
            form method="post" action=(format!("{base}/rotate-secret")) class="stack" {
                (view::csrf(me))
                div class="check" {
                    input id="rotate-confirm" type="checkbox" name="confirm" value="yes" required;
                    label for="rotate-confirm" { "I understand the current secret stops working at once." }
                }
                button type="submit" class="danger" { "Rotate secret" }
                (view::error("rotate-error", n.rotate))
            }
        }
        section class="card" aria-labelledby="origins" {
            h2 id="origins" { "Origins" }
            p class="muted" { "Sites that may embed the widget, as scheme://host[:port]." }
            (list("origin", &c.origins, n.origins, format!("{base}/origins"), "Add origin", "https://app.example.com"))
        }
        section class="card" aria-labelledby="redirects" {
            h2 id="redirects" { "Redirect URIs" }
            p class="muted" { "Where the full-page widget returns to." }
            (list("redirect", &c.redirect_uris, n.redirects, format!("{base}/redirect-uris"), "Add redirect URI", "https://app.example.com/done"))
        }
        section class="card" aria-labelledby="settings" {
            h2 id="settings" { "Settings" }
            form method="post" action=(format!("{base}/settings")) class="stack" {
                (view::csrf(me))
                label for="name" { "Name" }
                input id="name" name="name" value=(c.name) required maxlength="100";
                label for="scopes" { "Scopes (space-separated)" }
                input id="scopes" name="scopes" value=(c.scopes);
                label for="logo" { "Logo URL" }
                input id="logo" name="logo_url" type="url" value=(c.logo_url.as_deref().unwrap_or_default())
                    placeholder="https://…" aria-describedby="logo-hint";
                p id="logo-hint" class="muted" { "Leave empty to remove the logo." }
                (view::error("settings-error", n.settings))
                button type="submit" class="primary" { "Save" }
            }
        }
        section class="card" aria-labelledby="mode" {
            h2 id="mode" { "Mode" }
            p { "This app is in " (view::badge(&c.mode)) " mode." }
            @if c.production_requested { p { "Production was requested and awaits an operator." } }
            @if c.mode == "sandbox" && !c.production_requested {
                form method="post" action=(format!("{base}/mode")) {
                    (view::csrf(me))
                    input type="hidden" name="mode" value="production";
                    button type="submit" { (if me.operator { "Switch to production" } else { "Request production" }) }
                }
            }
            (view::error("mode-error", n.mode))
        }
        @if !c.disabled && may_disable(me, c) {
            section class="card" aria-labelledby="disable" {
                h2 id="disable" { "Disable the app" }
                p class="muted" { "Its secret, link tokens and access tokens stop working at once. This cannot be undone here." }
                (view::action_button(me, &format!("{base}/disable"), "Disable app", &format!("Disable app {}", c.name), "danger"))
            }
        }
    };
    view::app_page(&c.name, me, Some(c), body)
}

/// Runs an app-page write: success → back to the app page; a validation error → the page
/// again with the message next to the form.
async fn app_write<T>(cx: &Ctx, id: &str, r: ApiResult<T>, place: fn(&str) -> AppNotes<'_>) -> Response {
    let me = or_return!(cx.me().await);
    match r {
        Ok(_) => see_other(&format!("/console/apps/{id}")),
        Err(e) if is_inline(&e) => {
            let client = tri!(cx.s, cx.m, me, cx.s.api.admin_client(&cx.viewer(), id).await);
            html_response(StatusCode::BAD_REQUEST, app_view(&me, &client, &place(&e.message)))
        }
        Err(e) => cx.refuse(Some(&me), e).await,
    }
}

async fn app_settings(cx: Ctx, Path(id): Path<String>, Form(f): Form<Fields>) -> Response {
    let req = AdminClientUpdate {
        name: Some(field_owned(&f, "name")),
        scopes: Some(field_owned(&f, "scopes")),
        logo_url: Some(field_owned(&f, "logo_url")),
        ..Default::default()
    };
    let r = cx.s.api.admin_update_client(&cx.writer(&f), &id, req).await;
    app_write(&cx, &id, r, |e| AppNotes { settings: Some(e), ..Default::default() }).await
}

/// The add/remove pair of a list form.
fn add_remove(f: &Fields) -> (Vec<String>, Vec<String>) {
    let add = field(f, "add").map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).into_iter().collect();
    let remove = field(f, "remove").map(str::to_owned).into_iter().collect();
    (add, remove)
}

async fn app_origins(cx: Ctx, Path(id): Path<String>, Form(f): Form<Fields>) -> Response {
    let (add_origins, remove_origins) = add_remove(&f);
    let req = AdminClientUpdate { add_origins, remove_origins, ..Default::default() };
    let r = cx.s.api.admin_update_client(&cx.writer(&f), &id, req).await;
    app_write(&cx, &id, r, |e| AppNotes { origins: Some(e), ..Default::default() }).await
}

async fn app_redirects(cx: Ctx, Path(id): Path<String>, Form(f): Form<Fields>) -> Response {
    let (add_redirect_uris, remove_redirect_uris) = add_remove(&f);
    let req = AdminClientUpdate { add_redirect_uris, remove_redirect_uris, ..Default::default() };
    let r = cx.s.api.admin_update_client(&cx.writer(&f), &id, req).await;
    app_write(&cx, &id, r, |e| AppNotes { redirects: Some(e), ..Default::default() }).await
}

async fn app_mode(cx: Ctx, Path(id): Path<String>, Form(f): Form<Fields>) -> Response {
    let r = cx.s.api.admin_set_mode(&cx.writer(&f), &id, AdminModeChange { mode: field_owned(&f, "mode") }).await;
    app_write(&cx, &id, r, |e| AppNotes { mode: Some(e), ..Default::default() }).await
}

async fn app_rotate(cx: Ctx, Path(id): Path<String>, Form(f): Form<Fields>) -> Response {
    let me = or_return!(cx.me().await);
    if !confirmed(&f) {
        let client = tri!(cx.s, cx.m, me, cx.s.api.admin_client(&cx.viewer(), &id).await);
        let n = AppNotes { rotate: Some("Tick the box to confirm the rotation."), ..Default::default() };
        return html_response(StatusCode::BAD_REQUEST, app_view(&me, &client, &n));
    }
    let rotated = tri!(cx.s, cx.m, me, cx.s.api.admin_rotate_client_secret(&cx.writer(&f), &id).await);
    let n = AppNotes { secret: Some(&rotated.client_secret), ..Default::default() };
    html_response(StatusCode::OK, app_view(&me, &rotated.client, &n))
}

/// Disables the app after a confirmation page.
async fn app_disable(cx: Ctx, Path(id): Path<String>, Form(f): Form<Fields>) -> Response {
    let me = or_return!(cx.me().await);
    if !confirmed(&f) {
        let client = tri!(cx.s, cx.m, me, cx.s.api.admin_client(&cx.viewer(), &id).await);
        let action = format!("/console/apps/{id}/disable");
        let back = format!("/console/apps/{id}");
        let c = view::Confirm {
            title: "Disable this app?",
            question: html! {
                "Disable " strong { (client.name) } " (" code { (client.client_id) } ")? Its secret, link tokens and \
                access tokens stop working at once. This cannot be undone here."
            },
            action: &action,
            hidden: &[],
            button: "Disable app",
            back: &back,
        };
        return html_response(StatusCode::OK, view::confirm(&me, &c));
    }
    let r = cx.s.api.admin_disable_client(&cx.writer(&f), &id).await;
    app_write(&cx, &id, r, |e| AppNotes { mode: Some(e), ..Default::default() }).await
}

// ------------------------------------------------------------------------------- grants

async fn grants_page(cx: Ctx, Path(id): Path<String>, Query(q): Query<AdminGrantQuery>) -> Response {
    let me = or_return!(cx.me().await);
    let (s, m, c) = (&cx.s, &cx.m, cx.viewer());
    let client = tri!(s, m, me, s.api.admin_client(&c, &id).await);
    let search = q.q.clone().unwrap_or_default();
    let grants = tri!(s, m, me, s.api.admin_grants(&c, &id, q).await);
    let base = format!("/console/apps/{id}");
    let body = html! {
        (view::app_nav(&client, "Grants"))
        form method="get" action=(format!("{base}/grants")) class="row" role="search" {
            label for="q" { "Search grants" }
            input id="q" name="q" type="search" value=(search) placeholder="grant, user or workspace id";
            button type="submit" { "Search" }
        }
        @if grants.is_empty() { (view::empty("No grants.")) } @else {
            (view::table(view::Named::Label("Grants"), &["Grant", "User", "Scopes", "Expires", ""], html! {
                        @for g in &grants {
                            tr {
                                td data-label="Grant" { code { (g.grant_id) } }
                                td data-label="User" { code { (g.user_id) } }
                                td data-label="Scopes" { (g.scopes) }
                                td data-label="Expires" { time datetime=(g.expires_at) { (g.expires_at) } }
                                td {
                                    @if may_change(&me, &client) {
                                        (view::action_button(&me, &format!("{base}/grants/{}/revoke", g.grant_id), "Revoke", &format!("Revoke {}", g.grant_id), "danger"))
                                    }
                                }
                            }
                        }
            }))
        }
    };
    html_response(StatusCode::OK, view::app_page(&format!("{} · grants", client.name), &me, Some(&client), body))
}

async fn revoke_grant(cx: Ctx, Path((id, grant)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    let r = cx.s.api.admin_revoke_grant(&cx.writer(&f), &id, &grant).await;
    cx.done(r, &format!("/console/apps/{id}/grants")).await
}

// -------------------------------------------------------------------------------- audit

async fn audit_page(cx: Ctx, Query(q): Query<AdminAuditQuery>) -> Response {
    let me = or_return!(cx.me().await);
    let (s, m, c) = (&cx.s, &cx.m, cx.viewer());
    let client = match q.client_id.as_deref() {
        Some(id) => Some(tri!(s, m, me, s.api.admin_client(&c, id).await)),
        None => None,
    };
    let events = tri!(s, m, me, s.api.admin_audit(&c, q).await);
    let body = html! {
        @if let Some(cl) = &client { (view::app_nav(cl, "Audit")) }
        @if events.is_empty() { (view::empty("No events.")) } @else {
            (view::table(view::Named::Label("Audit events"), &["When", "What", "Outcome", "Who", "App", "Detail"], html! {
                        @for e in &events {
                            tr {
                                td data-label="When" { time datetime=(e.at) { (e.at) } }
                                td data-label="What" { code { (e.kind) } }
                                td data-label="Outcome" { (e.outcome) }
                                td data-label="Who" { (e.user_id.as_deref().unwrap_or("—")) }
                                td data-label="App" { (e.client_id.as_deref().unwrap_or("—")) }
                                td data-label="Detail" { (e.detail.as_deref().unwrap_or_default())
                                    @if let Some(g) = &e.grant_id { " " code { (g) } } }
                            }
                        }
            }))
        }
    };
    html_response(StatusCode::OK, view::app_page("Audit trail", &me, client.as_ref(), body))
}

// -------------------------------------------------------------------------------- usage

async fn usage_page(cx: Ctx, Path(id): Path<String>) -> Response {
    let me = or_return!(cx.me().await);
    let (s, m, c) = (&cx.s, &cx.m, cx.viewer());
    let client = tri!(s, m, me, s.api.admin_client(&c, &id).await);
    let u = tri!(s, m, me, s.api.admin_usage(&c, &id).await);
    let body = html! {
        (view::app_nav(&client, "Usage"))
        (usage::view(&u))
    };
    html_response(StatusCode::OK, view::app_page(&format!("{} · usage", client.name), &me, Some(&client), body))
}
