//! An organisation's page: its members and their roles, its open invitations, inviting by
//! email; and accepting an invitation addressed to the signed-in user. What the page offers
//! follows the caller's role (admins and owners manage members; only owners make, unmake or
//! remove owners); the service enforces the same rules and answers 403 to anything else.

use super::{field_owned, html_response, is_inline, or_return, see_other, tri, view, Ctx, Fields};
use crate::state::AppState;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use kc_api::*;
use maud::{html, Markup};

/// The organisation routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/orgs/{org}", get(org_page))
        .route("/console/orgs/{org}/invitations", post(invite))
        .route("/console/orgs/{org}/invitations/{inv}/revoke", post(revoke_invitation))
        .route("/console/orgs/{org}/members/{user}/role", post(set_role))
        .route("/console/orgs/{org}/members/{user}/remove", post(remove_member))
        .route("/console/invitations/{inv}/accept", post(accept))
}

/// Roles, weakest first (as the service orders them).
const ROLES: [&str; 4] = ["viewer", "developer", "admin", "owner"];

/// What the caller may do in an organisation, from its role there.
struct Powers {
    /// Invite, change roles, remove members (admin, owner, operator).
    manage: bool,
    /// Make, unmake and remove owners (owner, operator).
    owners: bool,
}

impl Powers {
    fn of(role: &str) -> Self {
        Self { manage: matches!(role, "admin" | "owner" | "operator"), owners: matches!(role, "owner" | "operator") }
    }

    /// The roles the caller may hand out.
    fn grantable(&self) -> impl Iterator<Item = &'static str> + '_ {
        ROLES.into_iter().filter(|r| *r != "owner" || self.owners)
    }

    /// Whether the caller may change or remove a member with `role`.
    fn may_touch(&self, role: &str) -> bool {
        self.manage && (role != "owner" || self.owners)
    }
}

/// Errors shown next to the form they belong to.
#[derive(Default)]
struct Notes<'a> {
    invite: Option<&'a str>,
    members: Option<&'a str>,
    /// The invite form's values, kept after an error.
    email: Option<&'a str>,
}

fn org_url(org: &str) -> String {
    format!("/console/orgs/{org}")
}

async fn org_page(cx: Ctx, Path(org): Path<String>) -> Response {
    let me = or_return!(cx.me().await);
    org_view(&cx, &me, &org, Notes::default(), StatusCode::OK).await
}

fn role_select(id: &str, label: Markup, p: &Powers, selected: &str) -> Markup {
    html! {
        label for=(id) { (label) }
        select id=(id) name="role" {
            @for r in p.grantable() {
                option value=(r) selected[r == selected] { (r) }
            }
        }
    }
}

async fn org_view(cx: &Ctx, me: &AdminIdentity, org: &str, n: Notes<'_>, status: StatusCode) -> Response {
    let (s, m) = (&cx.s, &cx.m);
    let c = cx.viewer();
    let members = tri!(s, m, me, s.api.admin_members(&c, org).await);
    let invitations = tri!(s, m, me, s.api.admin_invitations(&c, org).await);
    let Some(o) = me.orgs.iter().find(|o| o.id == org) else {
        return cx.refuse(Some(me), ApiError::invalid_request("No such organisation")).await;
    };
    let p = Powers::of(&o.role);
    let base = org_url(org);
    let body = html! {
        p class="muted" { "Your role: " (view::badge(&o.role)) }
        section class="card" aria-labelledby="members" {
            h2 id="members" { "Members" }
            (view::error("members-error", n.members))
            (view::table(view::Named::By("members"), &["Email", "Role", ""], html! {
                        @for mb in &members {
                            tr {
                                td data-label="Email" { span { (mb.email) @if mb.user_id == me.actor { " " span class="muted" { "(you)" } } } }
                                td data-label="Role" {
                                    @if p.may_touch(&mb.role) {
                                        form method="post" action=(format!("{base}/members/{}/role", mb.user_id)) class="row tight" {
                                            (view::csrf(me))
                                            (role_select(&format!("role-{}", mb.user_id), html! { span class="sr-only" { "Role of " (mb.email) } }, &p, &mb.role))
                                            button type="submit" aria-label=(format!("Change the role of {}", mb.email)) { "Change" }
                                        }
                                    } @else {
                                        (view::badge(&mb.role))
                                    }
                                }
                                td {
                                    @if p.may_touch(&mb.role) {
                                        (view::action_button(me, &format!("{base}/members/{}/remove", mb.user_id), "Remove", &format!("Remove {}", mb.email), "link danger"))
                                    }
                                }
                            }
                        }
            }))
        }
        section class="card" aria-labelledby="invitations" {
            h2 id="invitations" { "Open invitations" }
            @if invitations.is_empty() { (view::empty("No open invitations.")) } @else {
                (view::table(view::Named::By("invitations"), &["Email", "Role", "Expires", ""], html! {
                            @for i in &invitations {
                                tr {
                                    td data-label="Email" { (i.email) }
                                    td data-label="Role" { (i.role) }
                                    td data-label="Expires" { time datetime=(i.expires_at) { (i.expires_at) } }
                                    td {
                                        @if p.may_touch(&i.role) {
                                            (view::action_button(me, &format!("{base}/invitations/{}/revoke", i.id), "Revoke", &format!("Revoke the invitation of {}", i.email), "link danger"))
                                        }
                                    }
                                }
                            }
                }))
            }
            @if p.manage {
                h3 id="invite" { "Invite someone" }
                form method="post" action=(format!("{base}/invitations")) class="row" aria-labelledby="invite" {
                    (view::csrf(me))
                    label for="invite-email" { "Email" }
                    input id="invite-email" name="email" type="email" autocomplete="off" required
                        value=(n.email.unwrap_or_default())
                        aria-invalid=[n.invite.map(|_| "true")] aria-describedby=[n.invite.map(|_| "invite-error")];
                    (role_select("invite-role", html! { "Role" }, &p, "developer"))
                    button type="submit" class="primary" { "Send invitation" }
                    (view::error("invite-error", n.invite))
                }
                p class="muted" { "They get an email and accept by signing in to the console with that address; an invitation expires after 7 days." }
            }
        }
    };
    html_response(status, view::page(&format!("{} · members", o.name), Some(me), body))
}

async fn invite(cx: Ctx, Path(org): Path<String>, Form(f): Form<Fields>) -> Response {
    let me = or_return!(cx.me().await);
    let email = field_owned(&f, "email");
    let req = AdminInvite { email: email.clone(), role: field_owned(&f, "role") };
    match cx.s.api.admin_invite(&cx.writer(&f), &org, req).await {
        Ok(_) => see_other(&format!("{}#invitations", org_url(&org))),
        Err(e) if is_inline(&e) => {
            let n = Notes { invite: Some(&e.message), email: Some(&email), ..Default::default() };
            org_view(&cx, &me, &org, n, StatusCode::BAD_REQUEST).await
        }
        Err(e) => cx.refuse(Some(&me), e).await,
    }
}

async fn set_role(cx: Ctx, Path((org, user)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    let me = or_return!(cx.me().await);
    let req = AdminRoleChange { role: field_owned(&f, "role") };
    let r = cx.s.api.admin_set_role(&cx.writer(&f), &org, &user, req).await;
    member_written(&cx, &me, &org, &user, r).await
}

/// After a change to member `user`: the members again (the overview when it was the caller,
/// who may no longer see the page), or the error next to the members.
async fn member_written(cx: &Ctx, me: &AdminIdentity, org: &str, user: &str, r: ApiResult<()>) -> Response {
    match r {
        Ok(()) if user == me.actor => see_other("/console"),
        Ok(()) => see_other(&format!("{}#members", org_url(org))),
        Err(e) if is_inline(&e) => {
            let n = Notes { members: Some(&e.message), ..Default::default() };
            org_view(cx, me, org, n, StatusCode::BAD_REQUEST).await
        }
        Err(e) => cx.refuse(Some(me), e).await,
    }
}

async fn remove_member(cx: Ctx, Path((org, user)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    let me = or_return!(cx.me().await);
    if !super::confirmed(&f) {
        let (s, m) = (&cx.s, &cx.m);
        let members = tri!(s, m, me, s.api.admin_members(&cx.viewer(), &org).await);
        let Some(target) = members.iter().find(|mb| mb.user_id == user) else {
            return cx.refuse(Some(&me), ApiError::invalid_request("No such member")).await;
        };
        let org_name = me.orgs.iter().find(|o| o.id == org).map_or(org.as_str(), |o| o.name.as_str());
        let action = format!("{}/members/{user}/remove", org_url(&org));
        let back = format!("{}#members", org_url(&org));
        let c = view::Confirm {
            title: "Remove this member?",
            question: html! {
                "Remove " strong { (target.email) } " (" (target.role) ") from " (org_name)
                "? They lose access to its apps at once."
            },
            action: &action,
            hidden: &[],
            button: "Remove member",
            back: &back,
        };
        return html_response(StatusCode::OK, view::confirm(&me, &c));
    }
    let r = cx.s.api.admin_remove_member(&cx.writer(&f), &org, &user).await;
    member_written(&cx, &me, &org, &user, r).await
}

async fn revoke_invitation(cx: Ctx, Path((org, inv)): Path<(String, String)>, Form(f): Form<Fields>) -> Response {
    let r = cx.s.api.admin_revoke_invitation(&cx.writer(&f), &org, &inv).await;
    cx.done(r, &format!("{}#invitations", org_url(&org))).await
}

async fn accept(cx: Ctx, Path(inv): Path<String>, Form(f): Form<Fields>) -> Response {
    match cx.s.api.admin_accept_invitation(&cx.writer(&f), &inv).await {
        Ok(org) => see_other(&org_url(&org.id)),
        Err(e) => cx.refuse(None, e).await,
    }
}

/// The invitations addressed to the signed-in user, with an "Accept" button each.
pub(super) fn my_invitations(me: &AdminIdentity, invites: &[AdminInvitation]) -> Markup {
    html! {
        @if !invites.is_empty() {
            section class="card" aria-labelledby="my-invitations" {
                h2 id="my-invitations" { "Invitations for you" }
                ul class="items" {
                    @for i in invites {
                        li {
                            span { "Join " strong { (i.org_name) } " " span class="muted" { "(" code { (i.org_id) } ")" } " as " strong { (i.role) }
                                " " span class="muted" { "(until " time datetime=(i.expires_at) { (i.expires_at) } ")" } }
                            (view::action_button(me, &format!("/console/invitations/{}/accept", i.id), "Accept",
                                &format!("Accept the invitation to {} as {}", i.org_name, i.role), "primary"))
                        }
                    }
                }
            }
        }
    }
}
