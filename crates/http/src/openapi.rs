//! The OpenAPI 3.1 document of the HTTP surface, generated from the code: the DTOs of `kc-api`
//! derive their schemas, every handler carries a `#[utoipa::path]` attribute, and
//! `Conventions` adds what holds for whole families of routes (authentication, the error
//! answers every route may give). Served at `GET /openapi.json`; `GET /docs` is a reference page
//! that renders it with embedded assets (no CDN). `docs/openapi.json` is the committed copy
//! ([`committed_json`]); a test fails when it drifts.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use kc_api::ErrorCode;
use std::borrow::Cow;
use std::sync::OnceLock;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Components, ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// The marker every generated copy carries at its root.
const GENERATED: &str = "Generated from the code by `cargo xtask codegen` (crates/http/src/openapi.rs); do not edit.";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kryptos Connect",
        description = "A self-hostable Connect platform: client backends create link tokens, the \
Connect widget lets a user share their crypto portfolio and yields a one-time public token, the \
backend exchanges it for a long-lived access token and reads the Data API with it.\n\n\
Connect and widget API answers are enveloped: `{\"success\": true, \"data\": …}` or \
`{\"success\": false, \"error\": \"<message>\", \"code\": \"<CODE>\"}`. The Data API answers \
bare objects and errors as `{\"error\": \"<snake_code>\", \"message\": \"…\", \"details\": []}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        crate::routes::connect::create_link_token,
        crate::routes::connect::check_session,
        crate::routes::connect::exchange,
        crate::routes::connect::revoke,
        crate::routes::connect::list_grants,
        crate::routes::connect::resync,
        crate::routes::connect::transaction_limit,
        crate::routes::data::userinfo,
        crate::routes::data::integrations,
        crate::routes::data::holdings,
        crate::routes::data::transactions,
        crate::routes::data::cost_basis_method,
        crate::routes::data::set_cost_basis_method,
        crate::routes::widget::session,
        crate::routes::widget::auth_anonymous,
        crate::routes::widget::email_start,
        crate::routes::widget::email_verify,
        crate::routes::widget::select_workspace,
        crate::routes::widget::consent,
        crate::routes::widget::providers,
        crate::routes::widget::list_integrations,
        crate::routes::widget::create_integration,
        crate::routes::widget::delete_integration,
        crate::routes::csv_import::import_csv,
        crate::routes::widget::complete,
        crate::routes::widget::public_providers,
        crate::routes::health::health,
        crate::routes::health::ready,
    ),
    components(schemas(ErrorEnvelope, DataError, ErrorCodeName)),
    modifiers(&Conventions),
    tags(
        (name = "Connect API", description = "Called by a client backend with `X-Client-Id` and `X-Client-Secret` (SPEC §4)."),
        (name = "Developer", description = "Developer endpoints of the Connect API, with client credentials."),
        (name = "Data API", description = "Called with `Authorization: Bearer cat_…` **and** the owning client's credentials (SPEC §7)."),
        (name = "Widget API", description = "Called by the Connect widget with `X-LINK-TOKEN` (SPEC §6)."),
        (name = "Public", description = "No authentication."),
    )
)]
struct ApiDoc;

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::routes::oidc::OidcDoc::openapi());
    doc.merge(crate::routes::wallets::WalletsDoc::openapi());
    doc.merge(crate::routes::admin_api::AdminDoc::openapi());
    doc
}

/// The document as pretty JSON with a final newline: exactly the content of the committed
/// `docs/openapi.json` and of `GET /openapi.json`.
pub fn committed_json() -> String {
    let mut s = document().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// `{"success": true, "data": T}`: every successful Connect and widget answer.
#[allow(dead_code)] // A schema only: never built.
#[derive(ToSchema)]
#[schema(bound = "T: ToSchema")]
pub(crate) struct Success<T> {
    #[schema(inline)]
    success: Flag<true>,
    /// The answer.
    data: T,
}

/// `{"success": false, "error": "<message>", "code": "<CODE>"}` (SPEC §5).
#[allow(dead_code)] // A schema only: never built.
#[derive(ToSchema)]
pub(crate) struct ErrorEnvelope {
    #[schema(inline)]
    success: Flag<false>,
    /// A human-readable message, safe to show; never internals.
    error: String,
    /// The machine-readable code.
    code: ErrorCodeName,
}

/// `{"success": true, "message": "Grant revoked successfully"}`.
#[allow(dead_code)] // A schema only: never built.
#[derive(ToSchema)]
pub(crate) struct RevokeAck {
    #[schema(inline)]
    success: Flag<true>,
    /// `Grant revoked successfully`.
    #[schema(example = "Grant revoked successfully")]
    message: String,
}

/// The Data API's error shape (SPEC §5, §7).
#[allow(dead_code)] // A schema only: never built.
#[derive(ToSchema)]
pub(crate) struct DataError {
    /// `unauthorized` (401), `forbidden` (403), `invalid_parameters` (400), `not_found` (404),
    /// `rate_limit_exceeded` (429), `service_unavailable` (503) or `internal_error` (500).
    #[schema(example = "unauthorized")]
    error: String,
    /// A human-readable message.
    message: String,
    /// For `invalid_parameters`: one entry per bad parameter, naming it in `path`; else empty.
    details: Vec<kc_api::ParamIssue>,
}

/// Body of `POST /token/exchange`: the public token, and the client credentials unless they are
/// sent as headers (the Web SDK's full example sends them in the body).
#[allow(dead_code)] // A schema only: never built.
#[derive(ToSchema)]
pub(crate) struct ExchangeBody {
    /// The one-time `public_…` token from the widget.
    public_token: String,
    /// The client id, when not sent as `X-Client-Id`.
    client_id: Option<String>,
    /// The client secret, when not sent as `X-Client-Secret`.
    client_secret: Option<String>,
}

/// A JSON boolean that is always `B`.
pub(crate) struct Flag<const B: bool>;

impl<const B: bool> PartialSchema for Flag<B> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([B]))
            .description(Some(if B { "Always `true`." } else { "Always `false`." }))
            .into()
    }
}

impl<const B: bool> ToSchema for Flag<B> {}

/// A SPEC §5 error code.
pub(crate) struct ErrorCodeName;

impl PartialSchema for ErrorCodeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A SPEC §5 error code."))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

impl ToSchema for ErrorCodeName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// Route families and what each implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Client credentials, enveloped.
    Connect,
    /// `X-LINK-TOKEN`, enveloped.
    Widget,
    /// Bearer + client credentials, Data API error shape.
    Data,
    /// No authentication, enveloped errors.
    Public,
}

impl Family {
    fn of(path: &str) -> Self {
        if path.starts_with("/widget/") {
            Self::Widget
        } else if path.starts_with("/api/v1/") {
            Self::Data
        } else if path.starts_with("/link-token") || path.starts_with("/token/") || path.starts_with("/developer/") {
            Self::Connect
        } else {
            Self::Public
        }
    }

    fn security(self) -> Option<Vec<SecurityRequirement>> {
        let req = |names: &[&str]| {
            names.iter().fold(SecurityRequirement::default(), |r, n| r.add::<&str, [&str; 0], &str>(n, []))
        };
        match self {
            Self::Connect => Some(vec![req(&["client_id", "client_secret"])]),
            Self::Widget => Some(vec![req(&["link_token"])]),
            Self::Data => Some(vec![req(&["access_token", "client_id", "client_secret"])]),
            Self::Public => None,
        }
    }

    /// The error answers every route of the family may give, whatever the endpoint.
    fn common_errors(self, has_body: bool) -> Vec<(&'static str, &'static str)> {
        let mut v = Vec::new();
        match self {
            Self::Connect => {
                v.push(("400", "`INVALID_REQUEST`: malformed JSON, wrong content type, missing or ill-typed field or query parameter."));
                v.push(("401", "`INVALID_CLIENT`: missing or wrong client credentials, or a disabled client."));
                v.push(("429", "`RATE_LIMITED`: too many failed authentications; see `Retry-After`."));
            }
            Self::Widget => {
                v.push(("400", "`INVALID_REQUEST` (malformed body, wrong step), `TOKEN_EXPIRED` or `TOKEN_ALREADY_USED` (the link token)."));
                v.push(("401", "`INVALID_TOKEN`: missing, unknown or malformed `X-LINK-TOKEN`."));
            }
            Self::Data => {
                v.push(("400", "`invalid_parameters`: a query parameter is malformed or out of range."));
                v.push((
                    "401",
                    "`unauthorized`: missing, wrong or foreign credentials or access token, or a revoked grant.",
                ));
                v.push(("403", "`forbidden`: the grant lacks the scope this endpoint needs."));
                v.push(("429", "`rate_limit_exceeded`: too many failed authentications."));
            }
            Self::Public => {}
        }
        if has_body {
            v.push(("413", "`INVALID_REQUEST`: the request body is too large."));
        }
        v.push(("500", "`INTERNAL_ERROR`: an unexpected failure (no detail is returned)."));
        v.push((
            "503",
            "`SERVICE_UNAVAILABLE`: the database is unreachable or the request took too long; retry shortly.",
        ));
        v
    }
}

/// Applies the conventions of [`Family`] to every operation, and declares the security schemes.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.extensions = Some(ExtensionsBuilder::new().add("x-generated", GENERATED).build());
        let components = doc.components.get_or_insert_with(Default::default);
        let header =
            |name: &str, what: &str| SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, what)));
        components.add_security_scheme("client_id", header("X-Client-Id", "The client id of a registered app."));
        components.add_security_scheme("client_secret", header("X-Client-Secret", "The app's client secret."));
        components.add_security_scheme(
            "link_token",
            header("X-LINK-TOKEN", "The `link_…` token the client backend created (widget calls)."),
        );
        components.add_security_scheme(
            "access_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cat_…")
                    .description(Some("The `cat_…` access token from `POST /token/exchange`."))
                    .build(),
            ),
        );
        refer_to_envelope_data(components);
        for (path, item) in doc.paths.paths.iter_mut() {
            let family = Family::of(path);
            let ops = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for op in ops.into_iter().flatten() {
                apply(family, op);
            }
        }
    }
}

/// utoipa inlines the schema of a generic argument: make `Success_X.data` a reference to `X`
/// (or an array of references for `Success_Vec_X`) so each DTO is described once.
fn refer_to_envelope_data(components: &mut Components) {
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for name in &names {
        let Some(inner) = name.strip_prefix("Success_") else { continue };
        let data: RefOr<Schema> = if names.iter().any(|n| n == inner) {
            Ref::from_schema_name(inner).into()
        } else if let Some(item) = inner.strip_prefix("Vec_").filter(|i| names.iter().any(|n| n == i)) {
            ArrayBuilder::new().items(Ref::from_schema_name(item)).into()
        } else {
            continue;
        };
        if let Some(RefOr::T(Schema::Object(envelope))) = components.schemas.get_mut(name) {
            envelope.properties.insert("data".to_owned(), data);
        }
    }
}

fn apply(family: Family, op: &mut Operation) {
    if op.security.is_none() {
        op.security = family.security();
    }
    let has_body = op.request_body.is_some();
    let schema = if family == Family::Data { "DataError" } else { "ErrorEnvelope" };
    for (status, description) in family.common_errors(has_body) {
        if op.responses.responses.contains_key(status) {
            continue;
        }
        let mut response = ResponseBuilder::new()
            .description(description)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build());
        if status == "429" {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::Integer))
                    .description(Some("Seconds to wait before retrying."))
                    .build(),
            );
        }
        op.responses.responses.insert(status.to_owned(), RefOr::T(response.build()));
    }
}

// ---------------------------------------------------------------------------------------
// Serving.

/// `GET /openapi.json`.
pub(crate) async fn openapi_json() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(committed_json).clone();
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    (headers, body).into_response()
}

const DOCS_HTML: &str = include_str!("../assets/docs.html");
const DOCS_JS: &str = include_str!("../assets/docs.js");
const DOCS_CSS: &str = include_str!("../assets/docs.css");

/// The policy of the reference page: only its own script, style and the document.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    (headers, body).into_response()
}

/// `GET /docs`: the API reference, rendered in the browser from `/openapi.json`.
pub(crate) async fn docs_page(axum::extract::State(state): axum::extract::State<crate::state::AppState>) -> Response {
    let base = state.base_path();
    let mut res = if base.is_empty() {
        asset("text/html; charset=utf-8", DOCS_HTML)
    } else {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
        (headers, crate::base_path::prefix_html(DOCS_HTML, base)).into_response()
    };
    res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
    res
}

/// `GET /docs/docs.js`.
pub(crate) async fn docs_js() -> Response {
    asset("text/javascript; charset=utf-8", DOCS_JS)
}

/// `GET /docs/docs.css`.
pub(crate) async fn docs_css() -> Response {
    asset("text/css; charset=utf-8", DOCS_CSS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::from_str(&committed_json()).expect("the document is JSON")
    }

    /// `docs/openapi.json` is what the code generates. `UPDATE_EXPECT=1` rewrites it (as does
    /// `cargo xtask codegen`).
    #[test]
    fn committed_document_is_fresh() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let fresh = committed_json();
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&path, &fresh).expect("write docs/openapi.json");
            return;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == fresh,
            "docs/openapi.json is stale: run `cargo xtask codegen` (or UPDATE_EXPECT=1 cargo test -p kc-http openapi)"
        );
    }

    #[test]
    fn document_is_openapi_3_1_with_every_route_documented() {
        let d = doc();
        assert_eq!(d["openapi"], "3.1.0");
        let paths = d["paths"].as_object().expect("paths");
        let expected = [
            ("/link-token", "post"),
            ("/link-token/check-session", "post"),
            ("/token/exchange", "post"),
            ("/token/revoke", "post"),
            ("/token/grants", "get"),
            ("/developer/integrations/{walletId}/resync", "post"),
            ("/developer/grants/{grantId}/transaction-limit", "patch"),
            ("/api/v1/userinfo", "get"),
            ("/api/v1/integrations", "get"),
            ("/api/v1/holdings", "get"),
            ("/api/v1/transactions", "get"),
            ("/api/v1/settings/cost-basis", "get"),
            ("/api/v1/settings/cost-basis", "put"),
            ("/widget/session", "get"),
            ("/widget/auth/anonymous", "post"),
            ("/widget/auth/email/start", "post"),
            ("/widget/auth/email/verify", "post"),
            ("/widget/workspace", "post"),
            ("/widget/consent", "post"),
            ("/widget/providers", "get"),
            ("/widget/integrations", "get"),
            ("/widget/integrations", "post"),
            ("/widget/complete", "post"),
            ("/integrations/public/list", "get"),
            ("/api/health", "get"),
            ("/readyz", "get"),
        ];
        for (path, method) in expected {
            let op = &paths.get(path).unwrap_or_else(|| panic!("{path} documented"))[method];
            assert!(op.is_object(), "{method} {path} documented");
            assert!(op["responses"]["500"].is_object(), "{method} {path} documents 500");
            for (status, _) in op["responses"].as_object().expect("responses") {
                assert!(
                    status.parse::<u16>().is_ok_and(|s| (200..600).contains(&s)),
                    "{method} {path}: status {status}"
                );
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        let d = doc();
        let text = d.to_string();
        let schemas = d["components"]["schemas"].as_object().expect("schemas");
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(schemas.contains_key(name), "schema {name} is defined");
        }
    }

    #[test]
    fn error_envelope_lists_every_code() {
        let d = doc();
        let codes = d["components"]["schemas"]["ErrorCode"]["enum"].as_array().expect("enum").len();
        assert_eq!(codes, ErrorCode::ALL.len());
        assert_eq!(d["x-generated"], GENERATED);
    }
}
