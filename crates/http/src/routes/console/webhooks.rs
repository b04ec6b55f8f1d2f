//! An app's webhook endpoints: add one (its signing secret shown once), send a test event,
//! rotate the secret (confirmed, the new one shown once), disable (confirmed) and enable,
//! delete (confirmed); and the delivery log with redelivery.

use super::{field_owned, html_response, is_inline, or_return, tri, view, Ctx, Fields};
use crate::state::AppState;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use kc_api::*;
use kc_domain::WebhookEvent;
use maud::html;
use serde::Deserialize;

/// The webhook routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/apps/{id}/webhooks", get(webhooks_page).post(webhook_add))
        .route("/console/apps/{id}/webhooks/{wh}/test", post(webhook_test))
        .route("/console/apps/{id}/webhooks/{wh}/rotate-secret", post(webhook_rotate))
        .route("/console/apps/{id}/webhooks/{wh}/disable", post(webhook_disable))
        .route("/console/apps/{id}/webhooks/{wh}/enable", post(webhook_enable))
        .route("/console/apps/{id}/webhooks/{wh}/delete", post(webhook_delete))
        .route("/console/apps/{id}/deliveries/{d}/redeliver", post(redeliver))
}

/// Query of the deliveries limit.
#[derive(Deserialize)]
struct LogQuery {
    limit: Option<u64>,
}

/// What the page shows besides the lists: an error of the add form, a secret shown once.
#[derive(Default)]
struct Notes<'a> {
    err: Option<&'a str>,
    secret: Option<&'a str>,
}

async fn webhooks_page(cx: Ctx, Path(id): Path<String>, Query(q): Query<LogQuery>) -> Response {
    let me = or_return!(cx.me().await);
    webhooks_view(&cx, &me, &id, q.limit.unwrap_or(50), Notes::default(), StatusCode::OK).await
}

async fn webhooks_view(
    cx: &Ctx,
    me: &AdminIdentity,
    id: &str,
    limit: u64,
    n: Notes<'_>,
    status: StatusCode,
) -> Response {
    let (s, m) = (&cx.s, &cx.m);
    let c = cx.viewer();
    let client = tri!(s, m, me, s.api.admin_client(&c, id).await);
    let hooks = tri!(s, m, me, s.api.admin_webhooks(&c, id).await);
    let log = tri!(s, m, me, s.api.admin_deliveries(&c, id, limit.clamp(1, 500)).await);
    let base = format!("/console/apps/{id}");
    let err = n.err;
    let change = super::may_change(me, &client);
    let body = html! {
        (view::app_nav(&client, "Webhooks"))
        @if let Some(sec) = n.secret { (view::secret_once("Signing secret", sec)) }
        section class="card" aria-labelledby="endpoints" {
            h2 id="endpoints" { "Endpoints" }
            @if hooks.is_empty() { (view::empty("No endpoints yet.")) }
            @for w in &hooks {
                @let wh = format!("{base}/webhooks/{}", w.id);
                article class="endpoint" aria-labelledby=(format!("wh-{}", w.id)) {
                    h3 id=(format!("wh-{}", w.id)) { code { (w.url) } }
                    @if let Some(d) = &w.description { p { (d) } }
                    p class="muted" {
                        "Events: " (if w.events.is_empty() { "every event".to_owned() } else { w.events.join(", ") })
                        @if w.disabled { " · " (view::badge("disabled")) }
                    }
                    @if change { div class="actions" {
                        (view::action_button(me, &format!("{wh}/test"), "Send test event", &format!("Send test event to {}", w.url), ""))
                        (view::action_button(me, &format!("{wh}/rotate-secret"), "Rotate secret", &format!("Rotate secret of {}", w.url), ""))
                        @if w.disabled {
                            (view::action_button(me, &format!("{wh}/enable"), "Enable", &format!("Enable {}", w.url), ""))
                        } @else {
                            (view::action_button(me, &format!("{wh}/disable"), "Disable", &format!("Disable {}", w.url), "danger"))
                        }
                        (view::action_button(me, &format!("{wh}/delete"), "Delete", &format!("Delete {}", w.url), "danger"))
                    } }
                }
            }
        }
        @if change { section class="card" aria-labelledby="add-webhook" {
            h2 id="add-webhook" { "Add an endpoint" }
            form method="post" action=(format!("{base}/webhooks")) class="stack" {
                (view::csrf(me))
                label for="wh-url" { "URL" }
                input id="wh-url" name="url" type="url" required placeholder="https://example.com/webhooks"
                    aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| "wh-error")];
                label for="wh-desc" { "Description" }
                input id="wh-desc" name="description" maxlength="200";
                fieldset {
                    legend { "Events (none ticked: every event)" }
                    div class="events" {
                        @for e in WebhookEvent::ALL {
                            div class="check" {
                                input id=(format!("ev-{}", e.as_str())) type="checkbox" name="events" value=(e.as_str());
                                label for=(format!("ev-{}", e.as_str())) { (e.as_str()) }
                            }
                        }
                    }
                }
                (view::error("wh-error", err))
                button type="submit" class="primary" { "Add endpoint" }
            }
        } }
        section class="card" aria-labelledby="log" {
            h2 id="log" { "Delivery log" }
            @if log.is_empty() { (view::empty("No deliveries yet.")) } @else {
                (view::table(view::Named::By("log"), &["Event", "Status", "Response", "Time", "Attempts", "When", ""], html! {
                            @for d in &log {
                                tr {
                                    td data-label="Event" { code { (d.event) } }
                                    td data-label="Status" { (view::badge(&d.status)) }
                                    td data-label="Response" { (d.response_status.map(|c| c.to_string()).unwrap_or_else(|| "—".into()))
                                        @if let Some(e) = &d.error { br; span class="muted" { (e) } } }
                                    td data-label="Time" { (d.duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "—".into())) }
                                    td data-label="Attempts" { (d.attempts) }
                                    td data-label="When" { time datetime=(d.occurred_at) { (d.occurred_at) } }
                                    td {
                                        @if change {
                                            (view::action_button(me, &format!("{base}/deliveries/{}/redeliver", d.id), "Redeliver", &format!("Redeliver {}", d.id), "link"))
                                        }
                                    }
                                }
                            }
                }))
            }
        }
    };
    html_response(status, view::app_page(&format!("{} · webhooks", client.name), me, Some(&client), body))
}

async fn webhook_add(cx: Ctx, Path(id): Path<String>, Form(f): Form<Fields>) -> Response {
    let me = or_return!(cx.me().await);
    let events = f.iter().filter(|(k, _)| k == "events").map(|(_, v)| v.clone()).collect();
    let description = Some(field_owned(&f, "description")).filter(|d| !d.is_empty());
    let req = AdminWebhookCreate { url: field_owned(&f, "url"), events, description };
    match cx.s.api.admin_add_webhook(&cx.writer(&f), &id, req).await {
        Ok(created) => {
            let n = Notes { secret: Some(&created.secret), ..Default::default() };
            webhooks_view(&cx, &me, &id, 50, n, StatusCode::OK).await
        }
        Err(e) if is_inline(&e) => {
            let n = Notes { err: Some(&e.message), ..Default::default() };
            webhooks_view(&cx, &me, &id, 50, n, StatusCode::BAD_REQUEST).await
        }
        Err(e) => cx.refuse(Some(&me), e).await,
    }
}

/// The delivery log's address.
fn log_of(id: &str) -> String {
    format!("/console/apps/{id}/webhooks#log")
}

/// The endpoints' address.
fn endpoints_of(id: &str) -> String {
    format!("/console/apps/{id}/webhooks#endpoints")
}

async fn webhook_test(cx: Ctx, Path((id, wh)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    cx.done(cx.s.api.admin_test_webhook(&cx.writer(&f), &id, &wh).await, &log_of(&id)).await
}

async fn redeliver(cx: Ctx, Path((id, d)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    cx.done(cx.s.api.admin_redeliver(&cx.writer(&f), &id, &d).await, &log_of(&id)).await
}

async fn webhook_enable(cx: Ctx, Path((id, wh)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    let req = AdminWebhookUpdate { disabled: Some(false), ..Default::default() };
    cx.done(cx.s.api.admin_update_webhook(&cx.writer(&f), &id, &wh, req).await, &endpoints_of(&id)).await
}

/// The confirmation page of `what` (a destructive action) on endpoint `wh` of app `id`.
async fn confirm_page(cx: &Ctx, me: &AdminIdentity, id: &str, wh: &str, what: Destructive) -> Response {
    let (s, m) = (&cx.s, &cx.m);
    let hooks = tri!(s, m, me, s.api.admin_webhooks(&cx.viewer(), id).await);
    let Some(w) = hooks.iter().find(|w| w.id == wh) else {
        return cx.refuse(Some(me), ApiError::invalid_request("No such webhook endpoint")).await;
    };
    let (title, question, button, path) = match what {
        Destructive::Rotate => (
            "Rotate the signing secret?",
            "Deliveries are signed with a new secret at once; the current one stops verifying. The new secret is shown once.",
            "Rotate secret",
            "rotate-secret",
        ),
        Destructive::Disable => (
            "Disable this endpoint?",
            "No deliveries are written for it while it is disabled, and its undelivered ones are cancelled.",
            "Disable endpoint",
            "disable",
        ),
        Destructive::Delete => (
            "Delete this endpoint?",
            "It gets no more deliveries and its undelivered ones are cancelled. This cannot be undone.",
            "Delete endpoint",
            "delete",
        ),
    };
    let action = format!("/console/apps/{id}/webhooks/{wh}/{path}");
    let back = endpoints_of(id);
    let c = view::Confirm {
        title,
        question: html! { code { (w.url) } ": " (question) },
        action: &action,
        hidden: &[],
        button,
        back: &back,
    };
    html_response(StatusCode::OK, view::confirm(me, &c))
}

/// The endpoint actions that ask first.
#[derive(Clone, Copy)]
enum Destructive {
    Rotate,
    Disable,
    Delete,
}

async fn webhook_rotate(cx: Ctx, Path((id, wh)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    let me = or_return!(cx.me().await);
    if !super::confirmed(&f) {
        return confirm_page(&cx, &me, &id, &wh, Destructive::Rotate).await;
    }
    match cx.s.api.admin_rotate_webhook_secret(&cx.writer(&f), &id, &wh).await {
        Ok(rotated) => {
            let n = Notes { secret: Some(&rotated.secret), ..Default::default() };
            webhooks_view(&cx, &me, &id, 50, n, StatusCode::OK).await
        }
        Err(e) => cx.refuse(Some(&me), e).await,
    }
}

async fn webhook_disable(cx: Ctx, Path((id, wh)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    if !super::confirmed(&f) {
        let me = or_return!(cx.me().await);
        return confirm_page(&cx, &me, &id, &wh, Destructive::Disable).await;
    }
    let req = AdminWebhookUpdate { disabled: Some(true), ..Default::default() };
    cx.done(cx.s.api.admin_update_webhook(&cx.writer(&f), &id, &wh, req).await, &endpoints_of(&id)).await
}

async fn webhook_delete(cx: Ctx, Path((id, wh)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    if !super::confirmed(&f) {
        let me = or_return!(cx.me().await);
        return confirm_page(&cx, &me, &id, &wh, Destructive::Delete).await;
    }
    cx.done(cx.s.api.admin_remove_webhook(&cx.writer(&f), &id, &wh).await, &endpoints_of(&id)).await
}
