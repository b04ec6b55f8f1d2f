//! `POST /widget/integrations/{walletId}/csv`: CSV import into an exchange integration.

use crate::envelope::{Envelope, ErrorResponse};
use crate::extract::{LinkHeader, Meta};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kc_api::{CsvImportResponse, ErrorCode};

/// The largest accepted request body of this route: the 10 MB file limit plus a little,
/// so that a file just over 10 MB gets the parser's clear message rather than a bare 413.
pub(crate) const CSV_BODY_LIMIT: usize = kc_api::CSV_MAX_BYTES + 64 * 1024;

fn too_large() -> Response {
    ErrorResponse::new(ErrorCode::InvalidRequest, "The file is larger than 10 MB")
        .with_status(ErrorCode::InvalidRequest, StatusCode::PAYLOAD_TOO_LARGE)
        .into_response()
}

#[utoipa::path(
    post,
    path = "/widget/integrations/{walletId}/csv",
    tag = "Widget API",
    summary = "Import a CSV file into an exchange account",
    description = "The body is the file itself (`Content-Type: text/csv`, at most 10 MB): the exchange's own export \
(Binance \"Transaction History\", Coinbase \"Transaction history\"; recognised by their header) or the generic \
template (see the README). All rows are added to the integration's ledger with `importSource: CSV` in one database \
transaction, then transfer detection and cost basis run. A file with bad rows imports nothing and is answered 400 \
with `rowErrors: [{line, message, code, column, value}]` (`code`: `unreadable`, `missing`, `invalid_date`, `invalid_number`, `zero`, `negative`, `convert_notes`, `unknown_type`, `no_amount`; `column` and `value` what it is about, or `null`). Importing the same file again adds nothing.",
    params(("walletId" = String, Path, description = "An exchange integration of the session's workspace.")),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "Imported.", body = crate::openapi::Success<CsvImportResponse>),
        (status = 400, description = "`INVALID_REQUEST`: unknown layout, bad rows (`rowErrors`), or not an exchange account.", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`WORKSPACE_NOT_FOUND`: the session's workspace has no such integration.", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "`INVALID_REQUEST`: the file is larger than 10 MB.", body = crate::openapi::ErrorEnvelope),
    )
)]
pub(super) async fn import_csv(
    State(state): State<AppState>,
    Meta(meta): Meta,
    LinkHeader(link): LinkHeader,
    Path(wallet_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_large(),
        Err(_) => return ErrorResponse::new(ErrorCode::InvalidRequest, "Could not read the file").into_response(),
    };
    if body.len() > kc_api::CSV_MAX_BYTES {
        return too_large();
    }
    match state.api.import_csv(&link, &meta, &wallet_id, &body).await {
        Ok(r) => Envelope(r).into_response(),
        Err(e) if e.details.iter().any(|d| d.code == "invalid_row") => {
            let rows: Vec<serde_json::Value> = e
                .details
                .iter()
                .map(|d| {
                    let line = d.path.get(1).and_then(|l| l.parse::<u64>().ok()).unwrap_or(0);
                    // `code`, `column`, `value`: the widget shows the message in its language.
                    serde_json::json!({ "line": line, "message": d.message, "code": d.expected,
                                        "column": d.path.get(2), "value": d.received })
                })
                .collect();
            let body = serde_json::json!({
                "success": false,
                "error": e.message,
                "code": e.code.as_str(),
                "rowErrors": rows,
            });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
        Err(e) => ErrorResponse::from(e).into_response(),
    }
}
