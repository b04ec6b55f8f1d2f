//! The console's page layout and shared pieces (maud templates).

use kc_api::{AdminClient, AdminIdentity};
use maud::{html, Markup, DOCTYPE};

/// A whole page: `title` is the `<title>` and the `<h1>`.
pub(super) fn page(title: &str, me: Option<&AdminIdentity>, body: Markup) -> Markup {
    page_with(title, me, None, body)
}

/// A page of one app: its breadcrumbs above the `<h1>`.
pub(super) fn app_page(title: &str, me: &AdminIdentity, c: Option<&AdminClient>, body: Markup) -> Markup {
    page_with(title, Some(me), c.map(crumbs), body)
}

fn crumbs(c: &AdminClient) -> Markup {
    html! {
        nav class="crumbs" aria-label="Breadcrumb" { a href="/console" { "Apps" } " / " (c.name) }
    }
}

fn page_with(title: &str, me: Option<&AdminIdentity>, lead: Option<Markup>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Kryptos Connect console" }
                link rel="stylesheet" href="/console/console.css";
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/console" { "Kryptos Connect " span { "console" } }
                    @if let Some(me) = me {
                        nav aria-label="Account" {
                            a href="/console/audit" { "Audit" }
                            span class="who" { (me.label) }
                            form method="post" action="/console/sign-out" class="inline" {
                                (csrf(me))
                                button type="submit" class="link" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" {
                    @if let Some(l) = lead { (l) }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field of a form.
pub(super) fn csrf(me: &AdminIdentity) -> Markup {
    html! { input type="hidden" name="_csrf" value=(me.csrf_token.as_deref().unwrap_or_default()); }
}

/// An inline error (announced by screen readers).
pub(super) fn error(id: &str, msg: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = msg {
            p class="error" id=(id) role="alert" { (m) }
        }
    }
}

/// The per-app navigation.
pub(super) fn app_nav(c: &AdminClient, current: &str) -> Markup {
    let base = format!("/console/apps/{}", c.client_id);
    let items = [
        ("App", base.clone()),
        ("Webhooks", format!("{base}/webhooks")),
        ("Grants", format!("{base}/grants")),
        ("Usage", format!("{base}/usage")),
        ("Audit", format!("/console/audit?client_id={}", c.client_id)),
    ];
    html! {
        nav class="tabs" aria-label="App sections" {
            @for (label, href) in items {
                @if label == current {
                    a href=(href) aria-current="page" { (label) }
                } @else {
                    a href=(href) { (label) }
                }
            }
        }
    }
}

/// A secret shown this once.
pub(super) fn secret_once(label: &str, value: &str) -> Markup {
    html! {
        div class="notice" role="status" {
            p { strong { (label) } " — copy it now, it is never shown again:" }
            p { code class="secret" data-secret { (value) } }
        }
    }
}

/// A status badge.
pub(super) fn badge(text: &str) -> Markup {
    let class = match text {
        "delivered" | "production" => "badge ok",
        "failed" | "cancelled" | "disabled" => "badge bad",
        _ => "badge",
    };
    html! { span class=(class) { (text) } }
}

/// Nothing to show yet.
pub(super) fn empty(text: &str) -> Markup {
    html! { p class="empty" { (text) } }
}
