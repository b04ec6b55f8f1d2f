//! The OAuth 2.0 / OpenID Connect endpoints under `/oidc`: form-encoded requests, client
//! authentication by `client_secret_basic` or `client_secret_post`, and errors exactly as
//! RFC 6749 §5.2 (`{"error", "error_description"}`, `401` + `WWW-Authenticate` for
//! `invalid_client`), `Cache-Control: no-store` on every token answer.

use crate::extract::Meta;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use kc_api::*;
use kc_domain::OAuthErrorCode;
use std::collections::HashMap;

/// The OpenAPI description of these endpoints (merged into the document in `crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(discovery, jwks, authorize, token, userinfo, introspection, revocation, logout),
    components(schemas(TokenRequest, TokenResponse, TokenForm, IntrospectionResponse, OAuthErrorBody)),
    tags((name = "OpenID Connect", description = "A standard OAuth 2.0 / OpenID Connect provider over the same \
grants and widget: authorization code with PKCE (S256), refresh-token rotation, ID tokens, discovery, JWKS, \
userinfo, introspection (RFC 7662) and revocation (RFC 7009). Client authentication: `client_secret_basic` or \
`client_secret_post`. Errors: `{\"error\", \"error_description\"}` (RFC 6749 §5.2)."))
)]
pub(crate) struct OidcDoc;

/// An OAuth error response.
struct OAuthFailure(OAuthError);

impl IntoResponse for OAuthFailure {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = match e.code {
            OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = OAuthErrorBody { error: e.code.as_str().to_owned(), error_description: e.description.clone() };
        let mut res = (status, no_store(), Json(body)).into_response();
        let challenge = match e.code {
            OAuthErrorCode::InvalidClient => {
                Some("Basic realm=\"kryptos-connect\", error=\"invalid_client\"".to_owned())
            }
            OAuthErrorCode::InvalidToken => Some(format!(
                "Bearer realm=\"kryptos-connect\", error=\"invalid_token\", error_description=\"{}\"",
                e.description.replace('"', "'")
            )),
            _ => None,
        };
        if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        res
    }
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// Parses an `application/x-www-form-urlencoded` body; a repeated parameter is `invalid_request` (RFC 6749 §3.2).
fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !body.is_empty() && !ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("The body must be application/x-www-form-urlencoded"));
    }
    pairs(body)
}

fn pairs(raw: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.clone().into_owned(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "Parameter {} is repeated",
                k.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok(out)
}

/// The client's credentials: HTTP Basic (`client_secret_basic`, form-encoded id and secret) or
/// the body's `client_id` and `client_secret` (`client_secret_post`); both at once is refused.
fn client_auth(headers: &HeaderMap, f: &mut HashMap<String, String>) -> Result<Option<ClientCredentials>, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")));
    let post = (f.remove("client_id"), f.remove("client_secret"));
    match (basic, post) {
        (Some(_), (_, Some(_))) => Err(OAuthError::invalid_request("Use one client authentication method, not two")),
        (Some(b), (post_id, None)) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(OAuthError::invalid_client)?;
            let (id, secret) = decoded.split_once(':').ok_or_else(OAuthError::invalid_client)?;
            let decode =
                |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
            let (id, secret) = (decode(id).unwrap_or_default(), decode(secret).unwrap_or_default());
            if post_id.is_some_and(|p| p != id) {
                return Err(OAuthError::invalid_request("client_id differs from the authenticated client"));
            }
            Ok(Some(ClientCredentials::new(id, secret)))
        }
        (None, (Some(id), Some(secret))) => Ok(Some(ClientCredentials::new(id, secret))),
        (None, _) => Ok(None),
    }
}

/// A failed client authentication is counted by the limiter, like every other (429 past the budget).
async fn settle<T: serde::Serialize>(
    state: &AppState,
    meta: &RequestMeta,
    client_id: Option<String>,
    r: Result<T, OAuthError>,
) -> Response {
    match r {
        Ok(v) => (StatusCode::OK, no_store(), Json(v)).into_response(),
        Err(e) if e.code == OAuthErrorCode::InvalidClient => {
            if let Some(wait) = state.limiter.failed(meta.ip, client_id.as_deref()).await {
                let secs = wait.as_secs().max(1);
                let mut res = OAuthFailure(OAuthError::new(
                    OAuthErrorCode::InvalidClient,
                    format!("Too many failed client authentications; retry after {secs} s"),
                ))
                .into_response();
                *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return res;
            }
            OAuthFailure(e).into_response()
        }
        Err(e) => OAuthFailure(e).into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/oidc/.well-known/openid-configuration",
    tag = "OpenID Connect",
    summary = "Discovery document",
    description = "OpenID Connect Discovery 1.0. Also served at `/oidc/.well-known/openid_configuration`.",
    responses(
        (status = 200, description = "The provider's metadata.", body = serde_json::Value),
        (status = 503, description = "`temporarily_unavailable`.", body = OAuthErrorBody),
    )
)]
pub(super) async fn discovery(State(state): State<AppState>) -> Response {
    match state.api.oidc_discovery().await {
        Ok(v) => Json(v).into_response(),
        Err(e) => OAuthFailure(e).into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/oidc/jwks",
    tag = "OpenID Connect",
    summary = "Signing keys (JWK Set)",
    description = "The RS256 key that signs ID tokens and the EdDSA key that signs access tokens, each with its \
`kid`; after a rotation the previous keys stay here for the overlap.",
    responses(
        (status = 200, description = "`{\"keys\": [...]}`.", body = serde_json::Value),
        (status = 503, description = "`temporarily_unavailable`.", body = OAuthErrorBody),
    )
)]
pub(super) async fn jwks(State(state): State<AppState>) -> Response {
    match state.api.oidc_jwks().await {
        Ok(v) => Json(v).into_response(),
        Err(e) => OAuthFailure(e).into_response(),
    }
}

/// A page telling the user why the authorization cannot go on (never a redirect: RFC 6749 §4.1.2.1).
fn refusal_page(e: &OAuthError) -> Response {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
content=\"width=device-width,initial-scale=1\"><title>Authorization error</title></head><body \
style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1a1a2e\">\
<h1 style=\"font-size:1.4rem\">This sign-in link cannot be used</h1><p>{}</p><p style=\"color:#555\"><code>{}</code></p>\
<p>Go back to the app and start again.</p></body></html>",
        esc(&e.description),
        esc(e.code.as_str())
    );
    let status = match e.code {
        OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, no_store(), [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], html)
        .into_response()
}

/// The `Set-Cookie` value of the provider's browser session: `HttpOnly` (no script reads it),
/// `SameSite=Lax` (no cross-site subrequest or POST carries it), `Path={base}/oidc` (`base`: the
/// router's base path, so the cookie follows a prefix mount), `Secure` on https.
fn session_cookie(c: &SessionCookie, base: &str) -> Option<HeaderValue> {
    let mut v = format!(
        "{OIDC_SESSION_COOKIE}={}; Path={base}/oidc; Max-Age={}; HttpOnly; SameSite=Lax",
        c.value,
        c.max_age_secs.max(0)
    );
    if c.secure {
        v.push_str("; Secure");
    }
    HeaderValue::from_str(&v).ok()
}

/// The value of the browser-session cookie the request carries, if any.
fn session_of(headers: &HeaderMap) -> Option<String> {
    cookie_of(headers, OIDC_SESSION_COOKIE)
}

/// The value of cookie `name` in the request, if any.
fn cookie_of(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
}

fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(v) => (StatusCode::FOUND, no_store(), [(header::LOCATION, v)]).into_response(),
        Err(_) => refusal_page(&OAuthError::invalid_request("The redirect target is not a valid URL")),
    }
}

fn step(s: AuthorizeStep, base: &str) -> Response {
    match s {
        AuthorizeStep::Redirect(to) => redirect(&to),
        AuthorizeStep::RedirectWithSession(to, cookie) => {
            let mut res = redirect(&to);
            if res.status() == StatusCode::FOUND {
                if let Some(v) = session_cookie(&cookie, base) {
                    res.headers_mut().insert(header::SET_COOKIE, v);
                }
            }
            res
        }
        AuthorizeStep::RedirectBindingRequest { to, handle, secure } => {
            let mut res = redirect(&to);
            let cookie = format!(
                "{OIDC_REQUEST_COOKIE}={handle}; Path={base}/oidc/callback; Max-Age={}; HttpOnly; SameSite=Lax{}",
                kc_domain::oidc_lifetimes::AUTHORIZATION_REQUEST.whole_seconds(),
                if secure { "; Secure" } else { "" }
            );
            if let (StatusCode::FOUND, Ok(v)) = (res.status(), HeaderValue::from_str(&cookie)) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        AuthorizeStep::Refuse(e) => refusal_page(&e),
    }
}

#[utoipa::path(
    get,
    path = "/oidc/auth",
    tag = "OpenID Connect",
    summary = "Authorization endpoint",
    description = "Authorization code flow with PKCE. `code_challenge` with `code_challenge_method=S256` is required \
(`plain` is refused); `redirect_uri` must be one of the client's registered redirect URIs exactly. Runs the Connect \
widget (sign-in, consent, integrations) as a full page, then redirects to `redirect_uri` with `code`, `state` and \
`iss`, or with `error` and `error_description` (RFC 6749 §4.1.2.1). An unknown client or unregistered redirect URI \
is shown to the user, never redirected. `prompt=none` is answered without any page from the browser's session \
with the provider (cookie `kc_oidc_session`, set when the user signed in here; 1 hour idle, 12 hours at most): a \
code when a live grant of the client covers the scopes, else `login_required` or `consent_required`.",
    params(AuthorizeParams),
    responses(
        (status = 302, description = "To the widget, or back to `redirect_uri` with `code` or `error`."),
        (status = 400, description = "An HTML page: unknown `client_id` or unregistered `redirect_uri`."),
    )
)]
pub(super) async fn authorize(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = match pairs(q.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => return refusal_page(&e),
    };
    let get = |k: &str| params.get(k).cloned();
    let params = AuthorizeParams {
        response_type: get("response_type"),
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        scope: get("scope"),
        state: get("state"),
        nonce: get("nonce"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
        prompt: get("prompt"),
        ui_locales: get("ui_locales"),
    };
    let session = session_of(&headers);
    step(state.api.oidc_authorize(params, session.as_deref(), &meta).await, state.base_path())
}

/// The widget's return to the provider (not part of the public API).
pub(super) async fn callback(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    Path(handle): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let params = match pairs(q.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => return refusal_page(&e),
    };
    let params = CallbackParams {
        public_token: params.get("public_token").cloned(),
        error: params.get("error").cloned(),
        status: params.get("status").cloned(),
    };
    let binding = cookie_of(&headers, OIDC_REQUEST_COOKIE);
    step(state.api.oidc_callback(&handle, params, binding.as_deref(), &meta).await, state.base_path())
}

#[utoipa::path(
    post,
    path = "/oidc/token",
    tag = "OpenID Connect",
    summary = "Token endpoint",
    description = "`authorization_code` (single-use, 10 minutes, bound to the client, `redirect_uri` and the PKCE \
`code_verifier`; a replayed code revokes what it issued) or `refresh_token` (rotated on each use; reusing one revokes \
its grant). The grant is an ordinary grant: it appears in `GET /token/grants` and `POST /token/revoke` ends it. \
`client_credentials` (RFC 6749 §4.4): a 1-hour access token for the client itself (`sub` = client id), data scopes \
only (default: all the client is allowed), no refresh or ID token; it belongs to no user or grant, so the Data API \
and userinfo refuse it and only introspection describes it. \
Client authentication: HTTP Basic or `client_id` + `client_secret` in the body.",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (`Cache-Control: no-store`).", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type` or `invalid_scope`.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`, with `WWW-Authenticate`.", body = OAuthErrorBody),
        (status = 429, description = "Too many failed client authentications; see `Retry-After`.", body = OAuthErrorBody),
        (status = 500, description = "`server_error`.", body = OAuthErrorBody),
        (status = 503, description = "`temporarily_unavailable`.", body = OAuthErrorBody),
    )
)]
pub(super) async fn token(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut f = match form(&headers, &body) {
        Ok(f) => f,
        Err(e) => return OAuthFailure(e).into_response(),
    };
    let creds = match client_auth(&headers, &mut f) {
        Ok(c) => c,
        Err(e) => return settle::<TokenResponse>(&state, &meta, None, Err(e)).await,
    };
    let client_id = creds.as_ref().map(|c| c.client_id.clone());
    let req = TokenRequest {
        grant_type: f.remove("grant_type"),
        code: f.remove("code"),
        redirect_uri: f.remove("redirect_uri"),
        code_verifier: f.remove("code_verifier"),
        refresh_token: f.remove("refresh_token"),
        scope: f.remove("scope"),
    };
    let r = state.api.oidc_token(creds, req, &meta).await;
    settle(&state, &meta, client_id, r).await
}

#[utoipa::path(
    get,
    path = "/oidc/userinfo",
    tag = "OpenID Connect",
    summary = "UserInfo",
    description = "With `Authorization: Bearer <access_token>` (GET or POST; POST may carry `access_token` in a form \
body). Claims by scope: `sub`; `name`, `preferred_username`, `locale` (`profile`); `email`, `email_verified` \
(`email`); and `<resource>_access` for each data resource.",
    responses(
        (status = 200, description = "The claims.", body = serde_json::Value),
        (status = 401, description = "`invalid_token`, with `WWW-Authenticate: Bearer`.", body = OAuthErrorBody),
    )
)]
pub(super) async fn userinfo(
    State(state): State<AppState>,
    Meta(meta): Meta,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let from_body = if method == Method::POST {
        form(&headers, &body).ok().and_then(|mut f| f.remove("access_token"))
    } else {
        None
    };
    let Some(raw) = from_header.or(from_body) else {
        return OAuthFailure(OAuthError::invalid_token()).into_response();
    };
    match state.api.oidc_userinfo(&BearerToken::new(raw), &meta).await {
        Ok(v) => (StatusCode::OK, no_store(), Json(v)).into_response(),
        Err(e) => OAuthFailure(e).into_response(),
    }
}

#[utoipa::path(
    post,
    path = "/oidc/token/introspection",
    tag = "OpenID Connect",
    summary = "Token introspection (RFC 7662)",
    description = "Whether an access or refresh token of the calling client is live now (its grant is read on \
every call). A foreign, unknown, expired or revoked token answers `{\"active\": false}`.",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state.", body = IntrospectionResponse),
        (status = 400, description = "`invalid_request`.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`.", body = OAuthErrorBody),
    )
)]
pub(super) async fn introspection(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut f = match form(&headers, &body) {
        Ok(f) => f,
        Err(e) => return OAuthFailure(e).into_response(),
    };
    let creds = match client_auth(&headers, &mut f) {
        Ok(c) => c,
        Err(e) => return OAuthFailure(e).into_response(),
    };
    let client_id = creds.as_ref().map(|c| c.client_id.clone());
    let form = TokenForm { token: f.remove("token"), token_type_hint: f.remove("token_type_hint") };
    let r = state.api.oidc_introspect(creds, form, &meta).await;
    settle(&state, &meta, client_id, r).await
}

#[utoipa::path(
    post,
    path = "/oidc/token/revocation",
    tag = "OpenID Connect",
    summary = "Token revocation (RFC 7009)",
    description = "Revokes the grant of an access or refresh token of the calling client: every access and refresh \
token of that grant stops working at once, on every node. Unknown tokens answer 200 too.",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked (or nothing to revoke)."),
        (status = 400, description = "`invalid_request`.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`.", body = OAuthErrorBody),
    )
)]
pub(super) async fn revocation(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut f = match form(&headers, &body) {
        Ok(f) => f,
        Err(e) => return OAuthFailure(e).into_response(),
    };
    let creds = match client_auth(&headers, &mut f) {
        Ok(c) => c,
        Err(e) => return OAuthFailure(e).into_response(),
    };
    let client_id = creds.as_ref().map(|c| c.client_id.clone());
    let form = TokenForm { token: f.remove("token"), token_type_hint: f.remove("token_type_hint") };
    let r = state.api.oidc_revoke(creds, form, &meta).await.map(|()| serde_json::json!({}));
    settle(&state, &meta, client_id, r).await
}

#[utoipa::path(
    post,
    path = "/oidc/logout",
    tag = "OpenID Connect",
    summary = "Sign out of the provider",
    description = "Ends this browser's session with the provider (the `kc_oidc_session` cookie set when the user \
signed in through `/oidc/auth`), so a later `prompt=none` authorization answers `login_required`. POST only: the \
cookie is `SameSite=Lax`, so no other site can sign the user out. Grants and their tokens are unaffected (revoke \
them at `/oidc/token/revocation`).",
    responses(
        (status = 200, description = "Signed out (also when there was no session); the cookie is cleared."),
    )
)]
pub(super) async fn logout(State(state): State<AppState>, Meta(meta): Meta, headers: HeaderMap) -> Response {
    let session = session_of(&headers);
    match state.api.oidc_logout(session.as_deref(), &meta).await {
        Ok(clear) => {
            let html =
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out</title></head>\
<body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem\"><h1 \
style=\"font-size:1.4rem\">You are signed out</h1><p>You can close this page.</p></body></html>";
            let mut res = (
                StatusCode::OK,
                no_store(),
                [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))],
                html,
            )
                .into_response();
            if let Some(v) = session_cookie(&clear, state.base_path()) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => OAuthFailure(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded_and_two_methods_are_refused() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("kc_a%3Ab:s%2Bx");
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {encoded}")).expect("header"));
        let c = client_auth(&headers, &mut HashMap::new()).expect("ok").expect("creds");
        assert_eq!((c.client_id.as_str(), c.secret()), ("kc_a:b", "s+x"));
        let mut both = HashMap::from([("client_secret".to_owned(), "s".to_owned())]);
        assert_eq!(client_auth(&headers, &mut both).err().map(|e| e.code), Some(OAuthErrorCode::InvalidRequest));
    }

    #[test]
    fn the_session_cookie_is_read_among_others_and_set_httponly_lax() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; kc_oidc_session=kcbs_x ; b=2"));
        assert_eq!(session_of(&headers).as_deref(), Some("kcbs_x"));
        assert_eq!(session_of(&HeaderMap::new()), None);
        let set = session_cookie(&SessionCookie { value: "kcbs_y".into(), max_age_secs: 60, secure: true }, "")
            .expect("header");
        assert_eq!(
            set.to_str().expect("ascii"),
            "kc_oidc_session=kcbs_y; Path=/oidc; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        let plain = session_cookie(&SessionCookie { value: String::new(), max_age_secs: 0, secure: false }, "")
            .expect("header");
        assert!(!plain.to_str().expect("ascii").contains("Secure"), "{plain:?}");
        let nested =
            session_cookie(&SessionCookie { value: "kcbs_z".into(), max_age_secs: 60, secure: false }, "/kryptos")
                .expect("header");
        assert!(nested.to_str().expect("ascii").contains("; Path=/kryptos/oidc;"), "under a prefix: {nested:?}");
    }

    #[test]
    fn a_repeated_parameter_is_invalid_request() {
        assert!(pairs(b"code=a&code=b").is_err());
        assert_eq!(pairs(b"code=a+b").expect("ok")["code"], "a b");
    }
}
