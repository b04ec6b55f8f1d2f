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

/// What a confirmation page asks about.
pub(super) struct Confirm<'a> {
    /// The page title (`<h1>`).
    pub title: &'a str,
    /// The question, in full.
    pub question: Markup,
    /// Where the confirmed form posts (with `confirm=yes` and `hidden`).
    pub action: &'a str,
    /// More fields the action needs.
    pub hidden: &'a [(&'a str, &'a str)],
    /// The confirming button's label.
    pub button: &'a str,
    /// Where "Cancel" leads.
    pub back: &'a str,
}

/// A page asking to confirm a destructive action: the question, the confirming button (which
/// gets the focus order's first place after the question) and a way back. No script needed.
pub(super) fn confirm(me: &AdminIdentity, c: &Confirm<'_>) -> Markup {
    let body = html! {
        section class="card narrow" aria-labelledby="confirm-q" {
            p id="confirm-q" { (c.question) }
            form method="post" action=(c.action) class="row" {
                (csrf(me))
                input type="hidden" name="confirm" value="yes";
                @for (k, v) in c.hidden { input type="hidden" name=(k) value=(v); }
                button type="submit" class="danger" aria-describedby="confirm-q" { (c.button) }
                a class="button" href=(c.back) { "Cancel" }
            }
        }
    };
    page(c.title, Some(me), body)
}

/// A small form posting to `action` with one button (the page asks to confirm when needed).
pub(super) fn action_button(me: &AdminIdentity, action: &str, label: &str, aria: &str, class: &str) -> Markup {
    html! {
        form method="post" action=(action) class="inline" {
            (csrf(me))
            button type="submit" class=(class) aria-label=(aria) { (label) }
        }
    }
}

/// What names a table's region for screen readers.
pub(super) enum Named<'a> {
    /// The id of the heading above it.
    By(&'a str),
    /// A label of its own.
    Label(&'a str),
}

/// A data table in a region that scrolls sideways (focusable, so keyboards can scroll it):
/// column headers `cols`, an empty one being the actions column (named for screen readers).
pub(super) fn table(name: Named<'_>, cols: &[&str], rows: Markup) -> Markup {
    let (by, label) = match name {
        Named::By(id) => (Some(id), None),
        Named::Label(l) => (None, Some(l)),
    };
    html! {
        div class="scroll" tabindex="0" role="region" aria-labelledby=[by] aria-label=[label] {
            table {
                thead { tr {
                    @for c in cols {
                        th scope="col" { @if c.is_empty() { span class="sr-only" { "Actions" } } @else { (c) } }
                    }
                } }
                tbody { (rows) }
            }
        }
    }
}
