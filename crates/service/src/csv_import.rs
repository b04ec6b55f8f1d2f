//! CSV import through the widget (issue 16): the exchange's own export or the generic
//! template ([`crate::csv_formats`]) into the ledger of one of the session
//! workspace's exchange integrations, all or nothing, then transfer detection and cost basis.

use crate::csv_formats::{parse_csv, CsvImportError};
use crate::ledger::{LedgerPorts, LedgerSettings};
use crate::service::{store_error, Service};
use async_trait::async_trait;
use kc_api::{ApiError, ApiResult, CsvImportApi, CsvImportResponse, LinkTokenCredential, ParamIssue, RequestMeta};
use kc_domain::ErrorCode;
use kc_ports::{Decimal, HistoricalPriceSource, PriceError};
use std::sync::Arc;
use time::OffsetDateTime;

/// No historical prices: imported legs are flagged `isMissingPrice`.
pub(crate) struct NoPrices;

#[async_trait]
impl HistoricalPriceSource for NoPrices {
    async fn price_at(&self, _token_id: &str, _at: OffsetDateTime) -> Result<Option<Decimal>, PriceError> {
        Ok(None)
    }
}

/// The error a refused file is answered with.
fn refusal(e: CsvImportError) -> ApiError {
    match e {
        CsvImportError::Rows(rows) => {
            let mut err = ApiError::invalid_request(format!(
                "{} row(s) of the file could not be read; nothing was imported",
                rows.len()
            ));
            err.details = rows
                .into_iter()
                .map(|r| {
                    // `path`: line, number, then the column when there is one; `expected`: the
                    // problem's code; `received`: the offending value (the widget translates).
                    let mut path = vec!["line".to_owned(), r.line.to_string()];
                    path.extend(r.problem.column.clone());
                    ParamIssue {
                        path,
                        expected: Some(r.problem.code.to_owned()),
                        received: r.problem.value.clone(),
                        ..ParamIssue::new("invalid_row", "line", r.message)
                    }
                })
                .collect();
            err
        }
        other => ApiError::invalid_request(format!("The file was not imported: {other}")),
    }
}

#[async_trait]
impl CsvImportApi for Service {
    #[tracing::instrument(skip_all, fields(wallet_id))]
    async fn import_csv(
        &self,
        link: &LinkTokenCredential,
        meta: &RequestMeta,
        wallet_id: &str,
        body: &[u8],
    ) -> ApiResult<CsvImportResponse> {
        let r = self.resolve_link(link, meta).await?;
        let Some(workspace_id) = r.session.workspace_id.clone() else {
            return Err(ApiError::invalid_request("Sign in and choose a workspace before importing a file"));
        };
        let not_found = || ApiError::new(ErrorCode::WorkspaceNotFound, "No such integration in this workspace");
        let integration = self
            .ports
            .store
            .find_integration(wallet_id)
            .await
            .map_err(store_error)?
            .filter(|i| i.workspace_id == workspace_id)
            .ok_or_else(not_found)?;
        let csv_ok = self.ports.catalog.get(&integration.provider).is_some_and(|p| p.provider.is_csv);
        if integration.category != "exchange" || !csv_ok {
            return Err(ApiError::invalid_request("This account does not accept CSV files"));
        }
        let Some(store) = self.ports.ledger.clone() else {
            return Err(ApiError::unavailable());
        };
        let parsed = parse_csv(&integration.provider, body).map_err(refusal)?;
        let ports = LedgerPorts {
            store,
            prices: self.ports.ledger_prices.clone().unwrap_or_else(|| Arc::new(NoPrices)),
            settings: LedgerSettings::default(),
        };
        let total = parsed.transactions.len() as u64;
        let clock = self.ports.clock.as_ref();
        let imported = crate::ledger::import(
            &ports,
            &workspace_id,
            &integration.id,
            &integration.provider,
            parsed.transactions,
            clock,
        )
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "CSV import failed");
            ApiError::internal()
        })?;
        if let Err(e) = crate::ledger::process(&ports, &workspace_id, clock).await {
            // The transactions are stored; the next sync processes them again.
            tracing::warn!(error = %e, "ledger processing after a CSV import failed");
        }
        tracing::info!(format = parsed.format.as_str(), total, imported, "CSV imported");
        Ok(CsvImportResponse { format: parsed.format.as_str().to_owned(), transactions: total, imported })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_api_and_the_parser_agree_on_the_limit() {
        assert_eq!(kc_api::CSV_MAX_BYTES, crate::csv_formats::MAX_CSV_BYTES);
    }
}
