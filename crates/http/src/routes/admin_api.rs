//! The admin HTTP API under `/admin/api`: the `kc_api::AdminApi` trait over JSON, enveloped
//! like the Connect API. Callers send an operator token (`Authorization: Bearer kcop_…`) or
//! the console's session cookie (`kc_console`) with `X-CSRF-Token` on writes. Something
//! outside the caller's reach answers 404 exactly as something that does not exist; a role or
//! token scope that may look but not change answers 403.

use crate::envelope::{Envelope, ErrorResponse, HandlerResult};
use crate::extract::{ApiJson, ApiQuery, Meta};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use kc_api::*;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::Modify;

/// The name of the console's session cookie.
pub(crate) const SESSION_COOKIE: &str = "kc_console";
/// The header carrying the CSRF token of a console session.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// How the message of a "not found" answer starts (see `kc_service::console::not_found`).
const NOT_FOUND_PREFIX: &str = "No such ";

/// The OpenAPI description of the admin API (merged into the document in `crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        me, list_orgs, create_org, members, invitations, invite, set_role, remove_member, my_invitations,
        accept_invitation, revoke_invitation, list_clients, create_client, get_client, update_client, rotate_secret, disable_client,
        set_mode, list_webhooks, add_webhook, update_webhook, rotate_webhook_secret, remove_webhook, test_webhook,
        deliveries, redeliver, grants, revoke_grant, audit, usage
    ),
    components(schemas(
        AdminIdentity, AdminOrg, AdminOrgCreate, AdminMember, AdminInvitation, AdminInvite, AdminRoleChange,
        AdminClient, AdminClientCreate, AdminClientSecret, AdminClientUpdate, AdminModeChange, AdminWebhook,
        AdminWebhookCreate, AdminWebhookUpdate, AdminWebhookSecret, AdminDelivery, AdminGrant, AdminAuditEvent,
        AdminUsage, AdminUsageDay
    )),
    modifiers(&AdminSecurity),
    tags((name = "Admin API", description = "Administration of organisations, apps (clients), webhooks, grants and the \
audit trail — everything the `kryptos-connect` command line does. Authenticate with an operator token \
(`kryptos-connect operators tokens create --scope … --expires …`; scopes `clients:read`, `clients:write`, \
`webhooks:read`, `webhooks:write`, `grants:read`, `grants:write`, `audit:read`, `members:write`) or the console's \
session cookie plus `X-CSRF-Token` on writes. `401 INVALID_TOKEN`: no, expired or revoked credential. \
`403 INSUFFICIENT_PERMISSIONS`: a missing scope, a role that may only look (viewer), or a missing CSRF token. \
`404`: unknown or outside the caller's organisations. Every change is audited with who made it."))
)]
pub(crate) struct AdminDoc;

struct AdminSecurity;

impl Modify for AdminSecurity {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("kcop_…")
                    .description(Some("An operator API token from `kryptos-connect operators tokens create`."))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "console_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The console's session cookie; writes also need `X-CSRF-Token` (from `GET /admin/api/me`).",
            ))),
        );
    }
}

/// The caller's credential: a bearer token, else the session cookie (refused on cross-origin
/// requests, whose `Origin` is not the server's), else none.
pub(crate) fn credential(headers: &HeaderMap, meta: &RequestMeta, csrf: Option<String>) -> AdminCredential {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    if let Some(t) = bearer {
        return AdminCredential::Token(SecretString::from(t.to_owned()));
    }
    if meta.origin.is_some() {
        return AdminCredential::Missing;
    }
    match session_cookie(headers) {
        Some(token) => AdminCredential::Session { token: SecretString::from(token), csrf },
        None => AdminCredential::Missing,
    }
}

/// The `kc_console` cookie's value.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// An admin API request: the state and the caller (its credential, with `X-CSRF-Token` for a
/// console session's writes, and the request facts).
pub(super) struct Admin {
    s: AppState,
    c: AdminCaller,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Meta(meta) = Meta::from_request_parts(parts, state).await?;
        let headers = &parts.headers;
        let csrf = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self { s: state.clone(), c: AdminCaller { credential: credential(headers, &meta, csrf), meta } })
    }
}

impl Admin {
    /// The answer of a call: its value enveloped, or its refusal.
    async fn answer<T>(&self, r: ApiResult<T>) -> HandlerResult<T> {
        match r {
            Ok(v) => Ok(Envelope(v)),
            Err(e) => Err(refusal(&self.s, &self.c.meta, e).await),
        }
    }

    /// `{"done": true}`, or the refusal.
    async fn done(&self, r: ApiResult<()>) -> HandlerResult<Done> {
        self.answer(r.map(|()| Done { done: true })).await
    }
}

/// An admin error as an HTTP answer: "No such …" is 404; a refused credential counts against
/// the caller's failed-authentication budget (429 past it).
pub(crate) async fn refusal(state: &AppState, meta: &RequestMeta, e: ApiError) -> ErrorResponse {
    if e.code == ErrorCode::InvalidToken {
        if let Some(wait) = state.limiter.failed(meta.ip, None).await {
            return ErrorResponse::rate_limited(wait);
        }
    }
    let not_found = e.code == ErrorCode::InvalidRequest && e.message.starts_with(NOT_FOUND_PREFIX);
    let r: ErrorResponse = e.into();
    if not_found {
        r.with_status(ErrorCode::InvalidRequest, StatusCode::NOT_FOUND)
    } else {
        r
    }
}

/// `{"done": true}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Done {
    done: bool,
}

/// Query of `GET /admin/api/clients`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ClientsQuery {
    /// Only this organisation's apps.
    org_id: Option<String>,
}

/// Query of `GET …/deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct DeliveriesQuery {
    /// At most this many (1–500, default 50).
    limit: Option<u64>,
}

#[utoipa::path(get, path = "/admin/api/me", tag = "Admin API", summary = "Who am I",
    security(("operator_token" = []), ("console_session" = [])),
    responses((status = 200, description = "The caller, its organisations and (console) its CSRF token.", body = crate::openapi::Success<AdminIdentity>)))]
pub(super) async fn me(a: Admin) -> HandlerResult<AdminIdentity> {
    a.answer(a.s.api.admin_me(&a.c).await).await
}

#[utoipa::path(get, path = "/admin/api/orgs", tag = "Admin API", summary = "List organisations",
    security(("operator_token" = []), ("console_session" = [])),
    responses((status = 200, description = "The organisations the caller sees.", body = crate::openapi::Success<Vec<AdminOrg>>)))]
pub(super) async fn list_orgs(a: Admin) -> HandlerResult<Vec<AdminOrg>> {
    a.answer(a.s.api.admin_orgs(&a.c).await).await
}

#[utoipa::path(post, path = "/admin/api/orgs", tag = "Admin API", summary = "Create an organisation",
    security(("console_session" = [])), request_body = AdminOrgCreate,
    responses((status = 200, description = "The organisation; the caller is its owner.", body = crate::openapi::Success<AdminOrg>)))]
pub(super) async fn create_org(a: Admin, ApiJson(b): ApiJson<AdminOrgCreate>) -> HandlerResult<AdminOrg> {
    a.answer(a.s.api.admin_create_org(&a.c, b).await).await
}

#[utoipa::path(get, path = "/admin/api/orgs/{org}/members", tag = "Admin API", summary = "List members",
    security(("operator_token" = []), ("console_session" = [])), params(("org" = String, Path, description = "`org_…`")),
    responses((status = 200, description = "Members with their roles.", body = crate::openapi::Success<Vec<AdminMember>>)))]
pub(super) async fn members(a: Admin, Path(org): Path<String>) -> HandlerResult<Vec<AdminMember>> {
    a.answer(a.s.api.admin_members(&a.c, &org).await).await
}

#[utoipa::path(get, path = "/admin/api/orgs/{org}/invitations", tag = "Admin API", summary = "List open invitations",
    security(("operator_token" = []), ("console_session" = [])), params(("org" = String, Path, description = "`org_…`")),
    responses((status = 200, description = "Open invitations.", body = crate::openapi::Success<Vec<AdminInvitation>>)))]
pub(super) async fn invitations(a: Admin, Path(org): Path<String>) -> HandlerResult<Vec<AdminInvitation>> {
    a.answer(a.s.api.admin_invitations(&a.c, &org).await).await
}

#[utoipa::path(post, path = "/admin/api/orgs/{org}/invitations", tag = "Admin API", summary = "Invite by email",
    security(("operator_token" = ["members:write"]), ("console_session" = [])), params(("org" = String, Path, description = "`org_…`")),
    request_body = AdminInvite,
    responses((status = 200, description = "The invitation (mailed; accepted by signing in with that address).", body = crate::openapi::Success<AdminInvitation>)))]
pub(super) async fn invite(
    a: Admin,
    Path(org): Path<String>,
    ApiJson(b): ApiJson<AdminInvite>,
) -> HandlerResult<AdminInvitation> {
    a.answer(a.s.api.admin_invite(&a.c, &org, b).await).await
}

#[utoipa::path(patch, path = "/admin/api/orgs/{org}/members/{user}", tag = "Admin API", summary = "Change a member's role",
    security(("operator_token" = ["members:write"]), ("console_session" = [])),
    params(("org" = String, Path, description = "`org_…`"), ("user" = String, Path, description = "`cu_…`")),
    request_body = AdminRoleChange,
    responses((status = 200, description = "Changed.", body = crate::openapi::Success<Done>)))]
pub(super) async fn set_role(
    a: Admin,
    Path((org, user)): Path<(String, String)>,
    ApiJson(b): ApiJson<AdminRoleChange>,
) -> HandlerResult<Done> {
    a.done(a.s.api.admin_set_role(&a.c, &org, &user, b).await).await
}

#[utoipa::path(delete, path = "/admin/api/orgs/{org}/members/{user}", tag = "Admin API", summary = "Remove a member",
    security(("operator_token" = ["members:write"]), ("console_session" = [])),
    params(("org" = String, Path, description = "`org_…`"), ("user" = String, Path, description = "`cu_…`")),
    responses((status = 200, description = "Removed.", body = crate::openapi::Success<Done>)))]
pub(super) async fn remove_member(a: Admin, Path((org, user)): Path<(String, String)>) -> HandlerResult<Done> {
    a.done(a.s.api.admin_remove_member(&a.c, &org, &user).await).await
}

#[utoipa::path(get, path = "/admin/api/invitations", tag = "Admin API", summary = "My open invitations",
    security(("console_session" = [])),
    responses((status = 200, description = "Invitations for the signed-in address.", body = crate::openapi::Success<Vec<AdminInvitation>>)))]
pub(super) async fn my_invitations(a: Admin) -> HandlerResult<Vec<AdminInvitation>> {
    a.answer(a.s.api.admin_my_invitations(&a.c).await).await
}

#[utoipa::path(post, path = "/admin/api/invitations/{id}/accept", tag = "Admin API", summary = "Accept an invitation",
    security(("console_session" = [])), params(("id" = String, Path, description = "`inv_…`")),
    responses((status = 200, description = "The organisation joined.", body = crate::openapi::Success<AdminOrg>)))]
pub(super) async fn accept_invitation(a: Admin, Path(id): Path<String>) -> HandlerResult<AdminOrg> {
    a.answer(a.s.api.admin_accept_invitation(&a.c, &id).await).await
}

#[utoipa::path(delete, path = "/admin/api/orgs/{org}/invitations/{id}", tag = "Admin API", summary = "Withdraw an invitation",
    description = "Admins and owners withdraw an open invitation; an invitation to become an owner only an owner. It can no longer be accepted.",
    security(("operator_token" = ["members:write"]), ("console_session" = [])),
    params(("org" = String, Path, description = "`org_…`"), ("id" = String, Path, description = "`inv_…`")),
    responses((status = 200, description = "Withdrawn.", body = crate::openapi::Success<Done>)))]
pub(super) async fn revoke_invitation(a: Admin, Path((org, id)): Path<(String, String)>) -> HandlerResult<Done> {
    a.done(a.s.api.admin_revoke_invitation(&a.c, &org, &id).await).await
}

#[utoipa::path(get, path = "/admin/api/clients", tag = "Admin API", summary = "List apps",
    security(("operator_token" = ["clients:read"]), ("console_session" = [])), params(ClientsQuery),
    responses((status = 200, description = "The apps the caller sees.", body = crate::openapi::Success<Vec<AdminClient>>)))]
pub(super) async fn list_clients(a: Admin, ApiQuery(q): ApiQuery<ClientsQuery>) -> HandlerResult<Vec<AdminClient>> {
    a.answer(a.s.api.admin_clients(&a.c, q.org_id).await).await
}

#[utoipa::path(post, path = "/admin/api/clients", tag = "Admin API", summary = "Register an app",
    description = "New apps are sandbox apps; an operator approves production (`POST …/mode`). The secret is in this answer only.",
    security(("operator_token" = ["clients:write"]), ("console_session" = [])), request_body = AdminClientCreate,
    responses((status = 200, description = "The app and its secret (shown once).", body = crate::openapi::Success<AdminClientSecret>)))]
pub(super) async fn create_client(
    a: Admin,
    ApiJson(b): ApiJson<AdminClientCreate>,
) -> HandlerResult<AdminClientSecret> {
    a.answer(a.s.api.admin_create_client(&a.c, b).await).await
}

#[utoipa::path(get, path = "/admin/api/clients/{id}", tag = "Admin API", summary = "Show an app",
    security(("operator_token" = ["clients:read"]), ("console_session" = [])), params(("id" = String, Path, description = "`kc_…`")),
    responses((status = 200, description = "The app.", body = crate::openapi::Success<AdminClient>)))]
pub(super) async fn get_client(a: Admin, Path(id): Path<String>) -> HandlerResult<AdminClient> {
    a.answer(a.s.api.admin_client(&a.c, &id).await).await
}

#[utoipa::path(patch, path = "/admin/api/clients/{id}", tag = "Admin API", summary = "Change an app",
    description = "Validated exactly as `kryptos-connect clients update`; any bad value changes nothing.",
    security(("operator_token" = ["clients:write"]), ("console_session" = [])), params(("id" = String, Path, description = "`kc_…`")),
    request_body = AdminClientUpdate,
    responses((status = 200, description = "The app as it now is.", body = crate::openapi::Success<AdminClient>)))]
pub(super) async fn update_client(
    a: Admin,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AdminClientUpdate>,
) -> HandlerResult<AdminClient> {
    a.answer(a.s.api.admin_update_client(&a.c, &id, b).await).await
}

#[utoipa::path(post, path = "/admin/api/clients/{id}/rotate-secret", tag = "Admin API", summary = "Rotate an app's secret",
    security(("operator_token" = ["clients:write"]), ("console_session" = [])), params(("id" = String, Path, description = "`kc_…`")),
    responses((status = 200, description = "The new secret (shown once); the old one stops working at once.", body = crate::openapi::Success<AdminClientSecret>)))]
pub(super) async fn rotate_secret(a: Admin, Path(id): Path<String>) -> HandlerResult<AdminClientSecret> {
    a.answer(a.s.api.admin_rotate_client_secret(&a.c, &id).await).await
}

#[utoipa::path(post, path = "/admin/api/clients/{id}/disable", tag = "Admin API", summary = "Disable an app",
    security(("operator_token" = ["clients:write"]), ("console_session" = [])), params(("id" = String, Path, description = "`kc_…`")),
    responses((status = 200, description = "The app, disabled: its credentials and link tokens stop working.", body = crate::openapi::Success<AdminClient>)))]
pub(super) async fn disable_client(a: Admin, Path(id): Path<String>) -> HandlerResult<AdminClient> {
    a.answer(a.s.api.admin_disable_client(&a.c, &id).await).await
}

#[utoipa::path(post, path = "/admin/api/clients/{id}/mode", tag = "Admin API", summary = "Switch sandbox / production",
    description = "A platform operator switches the mode; anyone else asking for `production` records a request for an operator to approve.",
    security(("operator_token" = ["clients:write"]), ("console_session" = [])), params(("id" = String, Path, description = "`kc_…`")),
    request_body = AdminModeChange,
    responses((status = 200, description = "The app.", body = crate::openapi::Success<AdminClient>)))]
pub(super) async fn set_mode(
    a: Admin,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AdminModeChange>,
) -> HandlerResult<AdminClient> {
    a.answer(a.s.api.admin_set_mode(&a.c, &id, b).await).await
}

#[utoipa::path(get, path = "/admin/api/clients/{id}/webhooks", tag = "Admin API", summary = "List webhook endpoints",
    security(("operator_token" = ["webhooks:read"]), ("console_session" = [])), params(("id" = String, Path, description = "`kc_…`")),
    responses((status = 200, description = "Endpoints (secrets are never shown again).", body = crate::openapi::Success<Vec<AdminWebhook>>)))]
pub(super) async fn list_webhooks(a: Admin, Path(id): Path<String>) -> HandlerResult<Vec<AdminWebhook>> {
    a.answer(a.s.api.admin_webhooks(&a.c, &id).await).await
}

#[utoipa::path(post, path = "/admin/api/clients/{id}/webhooks", tag = "Admin API", summary = "Add a webhook endpoint",
    security(("operator_token" = ["webhooks:write"]), ("console_session" = [])), params(("id" = String, Path, description = "`kc_…`")),
    request_body = AdminWebhookCreate,
    responses((status = 200, description = "The endpoint and its signing secret (shown once).", body = crate::openapi::Success<AdminWebhookSecret>)))]
pub(super) async fn add_webhook(
    a: Admin,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AdminWebhookCreate>,
) -> HandlerResult<AdminWebhookSecret> {
    a.answer(a.s.api.admin_add_webhook(&a.c, &id, b).await).await
}

#[utoipa::path(patch, path = "/admin/api/clients/{id}/webhooks/{wh}", tag = "Admin API", summary = "Change, disable or enable a webhook endpoint",
    security(("operator_token" = ["webhooks:write"]), ("console_session" = [])),
    params(("id" = String, Path, description = "`kc_…`"), ("wh" = String, Path, description = "`wh_…`")),
    request_body = AdminWebhookUpdate,
    responses((status = 200, description = "The endpoint.", body = crate::openapi::Success<AdminWebhook>)))]
pub(super) async fn update_webhook(
    a: Admin,
    Path((id, wh)): Path<(String, String)>,
    ApiJson(b): ApiJson<AdminWebhookUpdate>,
) -> HandlerResult<AdminWebhook> {
    a.answer(a.s.api.admin_update_webhook(&a.c, &id, &wh, b).await).await
}

#[utoipa::path(post, path = "/admin/api/clients/{id}/webhooks/{wh}/rotate-secret", tag = "Admin API", summary = "Rotate a webhook signing secret",
    security(("operator_token" = ["webhooks:write"]), ("console_session" = [])),
    params(("id" = String, Path, description = "`kc_…`"), ("wh" = String, Path, description = "`wh_…`")),
    responses((status = 200, description = "The new secret (shown once).", body = crate::openapi::Success<AdminWebhookSecret>)))]
pub(super) async fn rotate_webhook_secret(
    a: Admin,
    Path((id, wh)): Path<(String, String)>,
) -> HandlerResult<AdminWebhookSecret> {
    a.answer(a.s.api.admin_rotate_webhook_secret(&a.c, &id, &wh).await).await
}

#[utoipa::path(delete, path = "/admin/api/clients/{id}/webhooks/{wh}", tag = "Admin API", summary = "Remove a webhook endpoint",
    security(("operator_token" = ["webhooks:write"]), ("console_session" = [])),
    params(("id" = String, Path, description = "`kc_…`"), ("wh" = String, Path, description = "`wh_…`")),
    responses((status = 200, description = "Removed; undelivered deliveries are cancelled.", body = crate::openapi::Success<Done>)))]
pub(super) async fn remove_webhook(a: Admin, Path((id, wh)): Path<(String, String)>) -> HandlerResult<Done> {
    a.done(a.s.api.admin_remove_webhook(&a.c, &id, &wh).await).await
}

#[utoipa::path(post, path = "/admin/api/clients/{id}/webhooks/{wh}/test", tag = "Admin API", summary = "Send a test event",
    description = "Queues a signed `webhook.test` delivery to this endpoint only; it shows in the delivery log.",
    security(("operator_token" = ["webhooks:write"]), ("console_session" = [])),
    params(("id" = String, Path, description = "`kc_…`"), ("wh" = String, Path, description = "`wh_…`")),
    responses((status = 200, description = "The queued delivery.", body = crate::openapi::Success<AdminDelivery>)))]
pub(super) async fn test_webhook(a: Admin, Path((id, wh)): Path<(String, String)>) -> HandlerResult<AdminDelivery> {
    a.answer(a.s.api.admin_test_webhook(&a.c, &id, &wh).await).await
}

#[utoipa::path(get, path = "/admin/api/clients/{id}/deliveries", tag = "Admin API", summary = "Delivery log",
    security(("operator_token" = ["webhooks:read"]), ("console_session" = [])),
    params(("id" = String, Path, description = "`kc_…`"), DeliveriesQuery),
    responses((status = 200, description = "Recent deliveries, newest first.", body = crate::openapi::Success<Vec<AdminDelivery>>)))]
pub(super) async fn deliveries(
    a: Admin,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> HandlerResult<Vec<AdminDelivery>> {
    a.answer(a.s.api.admin_deliveries(&a.c, &id, q.limit.unwrap_or(50)).await).await
}

#[utoipa::path(post, path = "/admin/api/clients/{id}/deliveries/{delivery}/redeliver", tag = "Admin API", summary = "Redeliver",
    description = "Sends a delivered, failed or cancelled delivery again (same `X-Webhook-Id`, attempts reset).",
    security(("operator_token" = ["webhooks:write"]), ("console_session" = [])),
    params(("id" = String, Path, description = "`kc_…`"), ("delivery" = String, Path, description = "`whd_…`")),
    responses((status = 200, description = "Queued again.", body = crate::openapi::Success<Done>)))]
pub(super) async fn redeliver(a: Admin, Path((id, delivery)): Path<(String, String)>) -> HandlerResult<Done> {
    a.done(a.s.api.admin_redeliver(&a.c, &id, &delivery).await).await
}

#[utoipa::path(get, path = "/admin/api/clients/{id}/grants", tag = "Admin API", summary = "List an app's active grants",
    security(("operator_token" = ["grants:read"]), ("console_session" = [])),
    params(("id" = String, Path, description = "`kc_…`"), AdminGrantQuery),
    responses((status = 200, description = "Active grants, oldest first.", body = crate::openapi::Success<Vec<AdminGrant>>)))]
pub(super) async fn grants(
    a: Admin,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<AdminGrantQuery>,
) -> HandlerResult<Vec<AdminGrant>> {
    a.answer(a.s.api.admin_grants(&a.c, &id, q).await).await
}

#[utoipa::path(post, path = "/admin/api/clients/{id}/grants/{grant}/revoke", tag = "Admin API", summary = "Revoke a grant",
    description = "Immediate on every node, with a `grant.revoked` webhook, audited with who did it.",
    security(("operator_token" = ["grants:write"]), ("console_session" = [])),
    params(("id" = String, Path, description = "`kc_…`"), ("grant" = String, Path, description = "`cgrant_…`")),
    responses((status = 200, description = "Revoked.", body = crate::openapi::Success<Done>)))]
pub(super) async fn revoke_grant(a: Admin, Path((id, grant)): Path<(String, String)>) -> HandlerResult<Done> {
    a.done(a.s.api.admin_revoke_grant(&a.c, &id, &grant).await).await
}

#[utoipa::path(get, path = "/admin/api/audit", tag = "Admin API", summary = "Query the audit trail",
    description = "Operators see every event; others the events of their organisations' apps.",
    security(("operator_token" = ["audit:read"]), ("console_session" = [])), params(AdminAuditQuery),
    responses((status = 200, description = "Events, oldest first.", body = crate::openapi::Success<Vec<AdminAuditEvent>>)))]
pub(super) async fn audit(a: Admin, ApiQuery(q): ApiQuery<AdminAuditQuery>) -> HandlerResult<Vec<AdminAuditEvent>> {
    a.answer(a.s.api.admin_audit(&a.c, q).await).await
}

#[utoipa::path(get, path = "/admin/api/clients/{id}/usage", tag = "Admin API", summary = "Usage of the last 30 days",
    security(("operator_token" = ["clients:read"]), ("console_session" = [])), params(("id" = String, Path, description = "`kc_…`")),
    responses((status = 200, description = "Per day, and the funnel from link token to exchange.", body = crate::openapi::Success<AdminUsage>)))]
pub(super) async fn usage(a: Admin, Path(id): Path<String>) -> HandlerResult<AdminUsage> {
    a.answer(a.s.api.admin_usage(&a.c, &id).await).await
}
