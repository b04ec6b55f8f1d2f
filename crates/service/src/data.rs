//! The Data API (userinfo, integrations, holdings) and the developer endpoints.

use crate::service::{store_error, Service};
use async_trait::async_trait;
use kc_api::*;
use kc_domain::{GrantId, GrantRecord, GrantStatus, UserId};
use kc_ports::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// Largest `pageSize` of `GET /api/v1/integrations`.
const MAX_PAGE_SIZE: u32 = 200;
/// Default `pageSize`.
const DEFAULT_PAGE_SIZE: u32 = 25;

fn forbidden() -> ApiError {
    ApiError::new(ErrorCode::InsufficientPermissions, "Insufficient scopes. Required scopes not met")
}

fn exact(d: Decimal) -> Exact {
    Exact(d.normalize().to_string())
}

pub(crate) fn epoch_ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Adds the ledger stages of the last sync (`Transactions`, `TransferDetection`, `CostBasis`,
/// with their counts) to `lastSyncLog`/`lastSyncLogDetails`, after `Balances`.
fn merge_stages(v: &mut IntegrationView, stages: Option<&String>) {
    let Some(serde_json::Value::Object(stages)) = stages.and_then(|s| serde_json::from_str(s).ok()) else {
        return;
    };
    let (Some(summary), Some(details)) = (v.last_sync_log.as_mut(), v.last_sync_log_details.as_mut()) else {
        return;
    };
    // A failed balance stage shows its technical cause (exchange connectors record it).
    if summary.get("Balances").and_then(|s| s.as_str()) == Some("FAILED") {
        let cause = stages.get("Balances").and_then(|b| b.get("cause")).cloned();
        if let (Some(cause), Some(serde_json::Value::Object(d))) = (cause, details.get_mut("Balances")) {
            d.insert("cause".to_owned(), cause);
        }
        return;
    }
    // The ledger stages belong to the last completed sync; a failed or ongoing one shows alone.
    if summary.get("Balances").and_then(|s| s.as_str()) != Some("COMPLETED") {
        return;
    }
    for (stage, detail) in stages {
        if stage == "Balances" {
            // The live status of the balance stage wins; only its count is added.
            if let (Some(count), Some(serde_json::Value::Object(d))) =
                (detail.get("count"), details.get_mut("Balances"))
            {
                d.insert("count".to_owned(), count.clone());
            }
            continue;
        }
        if let Some(status) = detail.get("status") {
            summary.insert(stage.clone(), status.clone());
        }
        // The import cap stopped this stage: the wallet is partially synced, and says why.
        if detail.get("limitExceeded") == Some(&serde_json::Value::Bool(true)) {
            v.status = "PARTIALLY SYNCED".to_owned();
            v.message = detail.get("message").and_then(|m| m.as_str()).map(str::to_owned);
            v.limit_exceeded = Some(true);
        }
        details.insert(stage, detail);
    }
}

impl Service {
    /// The logo of a chain's native asset (the chain's own, as the catalog serves it), for a
    /// balance whose source gave none; tokens (with a contract) have none of ours.
    fn native_logo(&self, symbol: &str, contract: Option<&str>) -> Option<String> {
        if contract.is_some() {
            return None;
        }
        let chain = match symbol {
            "ETH" => "ethereum",
            "SOL" => "solana",
            "BTC" => "bitcoin",
            "BNB" => "bsc",
            "AVAX" => "avalanche",
            "POL" | "MATIC" => "polygon",
            _ => return None,
        };
        self.ports.catalog.get(chain).map(|p| p.provider.logo.clone()).filter(|l| !l.is_empty())
    }

    /// The live grant behind a Data API call, checked against `scope`.
    pub(crate) async fn authorize_data(
        &self,
        creds: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        scope: &str,
    ) -> ApiResult<GrantRecord> {
        Ok(self.authorize_data_with(creds, token, meta, scope, kc_ports::AccessDetail::Grant).await?.grant)
    }

    /// [`Service::authorize_data`], reading what `detail` asks for in the same round trip.
    pub(crate) async fn authorize_data_with(
        &self,
        creds: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        scope: &str,
        detail: kc_ports::AccessDetail,
    ) -> ApiResult<kc_ports::TokenAccess> {
        let (client, state) = self.authenticate_with_token(creds, meta, token.expose(), detail).await?;
        // In memory only: the counts are written in batches off this path.
        self.count_data_call(&client.id);
        let Ok(access) = state else {
            return Err(ApiError::new(ErrorCode::InvalidToken, "Invalid or missing authentication token"));
        };
        if access.grant.scopes.contains_str(scope) {
            Ok(access)
        } else {
            Err(forbidden())
        }
    }
}

#[async_trait]
impl DataApi for Service {
    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn userinfo(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
    ) -> ApiResult<UserInfoResponse> {
        let access = self.authorize_data_with(client, token, meta, "users:read", kc_ports::AccessDetail::User).await?;
        let (grant, limits) = (access.grant, access.limits);
        let user = access.user.ok_or_else(|| ApiError::new(ErrorCode::WorkspaceNotFound, "User not found"))?;
        let profile = grant.scopes.contains_str("profile");
        let email = grant.scopes.contains_str("email");
        let display =
            user.name.clone().or_else(|| user.email.as_deref().and_then(|e| e.split('@').next()).map(str::to_owned));
        Ok(UserInfoResponse {
            message: "User information retrieved successfully".to_owned(),
            user_info: UserInfo {
                sub: user.id.to_string(),
                name: if profile {
                    display.clone().or_else(|| user.is_anonymous.then(|| "Guest".to_owned()))
                } else {
                    None
                },
                email: if email { user.email.clone() } else { None },
                email_verified: if email { Some(user.email.is_some()) } else { None },
                preferred_username: if profile { display } else { None },
                language: user.language,
                transaction_limit: limits.and_then(|l| l.transaction_limit),
            },
            scopes: grant.scopes.iter().map(str::to_owned).collect(),
        })
    }

    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn integrations(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: IntegrationsQuery,
    ) -> ApiResult<IntegrationsPage> {
        let grant = self.authorize_data(client, token, meta, "integrations:read").await?;
        let page = query.page.unwrap_or(1);
        let page_size = query.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        let mut issues = Vec::new();
        if page == 0 {
            issues.push(ParamIssue::new("too_small", "page", "page must be 1 or more"));
        }
        if page_size == 0 {
            issues.push(ParamIssue::new(
                "too_small",
                "pageSize",
                format!("pageSize must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        } else if page_size > MAX_PAGE_SIZE {
            issues.push(ParamIssue::new(
                "too_big",
                "pageSize",
                format!("pageSize must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        if !issues.is_empty() {
            return Err(ApiError::invalid_params(issues));
        }
        let needle = query.searched_key.as_deref().map(|k| k.trim().to_lowercase()).filter(|k| !k.is_empty());
        let all = self.ports.store.list_integrations(&grant.workspace_id).await.map_err(store_error)?;
        let stages: BTreeMap<String, String> = match &self.ports.ledger {
            Some(ledger) => ledger.ledger_stages(&grant.workspace_id).await.map_err(store_error)?.into_iter().collect(),
            None => BTreeMap::new(),
        };
        let matching: Vec<IntegrationView> = all
            .iter()
            .map(|i| {
                let mut v = self.integration_view(i);
                merge_stages(&mut v, stages.get(&i.id));
                (i, v)
            })
            .filter(|(i, v)| match &needle {
                None => true,
                Some(n) => [
                    v.alias.as_deref(),
                    i.address.as_deref(),
                    i.account_name.as_deref(),
                    Some(v.wallet_id.as_str()),
                    Some(v.provider_public_name.as_str()),
                    Some(v.provider.as_str()),
                ]
                .into_iter()
                .flatten()
                .any(|field| field.to_lowercase().contains(n.as_str())),
            })
            .map(|(_, v)| v)
            .collect();
        let total = matching.len() as u64;
        let start = (u64::from(page) - 1) * u64::from(page_size);
        let data: Vec<IntegrationView> = matching.into_iter().skip(start as usize).take(page_size as usize).collect();
        Ok(IntegrationsPage {
            pagination: Pagination {
                page,
                page_size,
                total_count: total,
                has_next_page: start + (data.len() as u64) < total,
                has_previous_page: page > 1,
            },
            data,
            user_id: grant.user_id.to_string(),
            timestamp: epoch_ms(self.now()),
        })
    }

    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn holdings(
        &self,
        client: &ClientCredentials,
        token: &BearerToken,
        meta: &RequestMeta,
        query: HoldingsQuery,
    ) -> ApiResult<HoldingsResponse> {
        let access =
            self.authorize_data_with(client, token, meta, "portfolios:read", kc_ports::AccessDetail::Holdings).await?;
        let (grant, read) = (access.grant, access.holdings);
        let calculated = query.calculated_balances.as_deref() == Some("true");
        let ws = &grant.workspace_id;
        // Read with the grant when the store could (one round trip), else now.
        let (positions, read_balances) = match (read, &self.ports.ledger) {
            (Some(rows), ledger) => (if ledger.is_some() { rows.positions } else { Vec::new() }, Some(rows.balances)),
            (None, Some(ledger)) => (ledger.ledger_positions(ws).await.map_err(store_error)?, None),
            (None, None) => (Vec::new(), None),
        };
        // Cost basis per asset: the cost of the lots the ledger holds (see `crate::ledger`);
        // unknown (as without lots) when some lot of the asset, in any wallet, has no known cost.
        let mut cost_of: BTreeMap<String, Option<Decimal>> = BTreeMap::new();
        for p in &positions {
            let cost = p.cost.as_deref().map(|c| {
                Decimal::from_str(c).unwrap_or_else(|_| {
                    tracing::error!(integration = %p.integration_id, token = %p.asset.token_id, "unparsable stored cost");
                    Decimal::ZERO
                })
            });
            let entry = cost_of.entry(p.asset.token_id.clone()).or_insert(Some(Decimal::ZERO));
            *entry = entry.zip(cost).map(|(a, b)| a + b);
        }
        let cost_of: BTreeMap<String, Decimal> = cost_of.into_iter().filter_map(|(t, c)| Some((t, c?))).collect();
        let balances = if calculated {
            // Balances computed from the ledger: Σ incoming − Σ outgoing − Σ fees per wallet.
            let providers: BTreeMap<String, String> = self
                .ports
                .store
                .list_integrations(ws)
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|i| (i.id, i.provider))
                .collect();
            positions
                .iter()
                .map(|p| kc_ports::WorkspaceBalance {
                    integration_id: p.integration_id.clone(),
                    provider: providers.get(&p.integration_id).cloned().unwrap_or_default(),
                    row: kc_ports::SnapshotRow {
                        token_id: p.asset.token_id.clone(),
                        symbol: p.asset.symbol.clone(),
                        public_name: p.asset.public_name.clone(),
                        chain_id: p.asset.chain_id.clone(),
                        contract_address: p.asset.contract_address.clone(),
                        logo_url: String::new(),
                        category: "crypto".to_owned(),
                        asset_type: p.asset.asset_type.clone(),
                        decimals: p.asset.decimals,
                        quantity: p.quantity.clone(),
                    },
                })
                .collect()
        } else if let Some(balances) = read_balances {
            balances
        } else {
            self.ports.store.workspace_balances(ws).await.map_err(store_error)?
        };
        let mut by_asset: BTreeMap<String, Vec<(kc_ports::WorkspaceBalance, Decimal)>> = BTreeMap::new();
        for b in balances {
            let Ok(q) = Decimal::from_str(&b.row.quantity) else {
                tracing::error!(integration = %b.integration_id, token = %b.row.token_id, "unparsable stored quantity");
                continue;
            };
            if q.is_zero() {
                continue;
            }
            by_asset.entry(b.row.token_id.clone()).or_default().push((b, q));
        }
        let ids: Vec<String> = by_asset.keys().cloned().collect();
        let prices = if ids.is_empty() {
            Default::default()
        } else {
            self.ports.prices.prices(&ids).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "price source failed; holdings are valued at 0");
                Default::default()
            })
        };
        let hundred = Decimal::ONE_HUNDRED;
        let roi = |pnl: Decimal, cost: Decimal| {
            if cost.is_zero() {
                Decimal::ZERO
            } else {
                (pnl * hundred / cost).round_dp(4)
            }
        };
        let mut holdings = Vec::new();
        let (mut total_value, mut weighted_change) = (Decimal::ZERO, Decimal::ZERO);
        let (mut total_cost, mut total_pnl) = (Decimal::ZERO, Decimal::ZERO);
        // The cost of the assets whose PnL is known: the summary's ROI is over those.
        let mut valued_cost = Decimal::ZERO;
        for (token_id, parts) in by_asset {
            let total_qty: Decimal = parts.iter().map(|(_, q)| *q).sum();
            let price = prices.get(&token_id);
            let market_price = price.map_or(Decimal::ZERO, |p| p.usd);
            let change = price.and_then(|p| p.change_24h_pct).unwrap_or(Decimal::ZERO);
            let value = (total_qty * market_price).round_dp(8);
            total_value += value;
            // Without ledger lots for the asset its cost is unknown, and without a current
            // price (none known, or the source down past its last known price) its value is:
            // either way PnL and ROI stay 0 rather than a gain or a loss nobody made.
            let known_cost = cost_of.get(&token_id).copied();
            let pnl = match (known_cost, price) {
                (Some(c), Some(_)) => value - c,
                _ => Decimal::ZERO,
            };
            let cost = known_cost.unwrap_or(Decimal::ZERO);
            if let Some(c) = known_cost {
                total_cost += c;
                if price.is_some() {
                    total_pnl += pnl;
                    valued_cost += c;
                }
            }
            weighted_change += value * change;
            let first = &parts[0].0.row;
            let asset = HoldingAsset {
                token_id: token_id.clone(),
                symbol: first.symbol.clone(),
                public_name: first.public_name.clone(),
                chain_id: first.chain_id.clone(),
                contract_address: first.contract_address.clone(),
                logo_url: if first.logo_url.is_empty() {
                    self.native_logo(&first.symbol, first.contract_address.as_deref()).unwrap_or_default()
                } else {
                    first.logo_url.clone()
                },
                kind: first.asset_type.clone(),
                category: first.category.clone(),
            };
            let asset_distribution = parts
                .iter()
                .map(|(b, q)| Distribution {
                    quantity: exact(*q),
                    account: HoldingAccount { provider: b.provider.clone(), wallet_id: b.integration_id.clone() },
                    allocation_percentage: exact((*q * hundred / total_qty).round_dp(4)),
                    is_calculated_balance: calculated,
                })
                .collect();
            holdings.push((
                value,
                Holding {
                    asset,
                    total_quantity: exact(total_qty),
                    costbasis: exact(cost),
                    market_price: exact(market_price),
                    market_value: exact(value),
                    unrealized_pnl: exact(pnl),
                    roi: exact(roi(pnl, cost)),
                    base_currency: "USD".to_owned(),
                    change_24h: exact(change),
                    market_links: serde_json::Map::new(),
                    has_calculated_balance: calculated,
                    asset_distribution,
                },
            ));
        }
        holdings.sort_by_key(|h| std::cmp::Reverse(h.0));
        let total_change =
            if total_value.is_zero() { Decimal::ZERO } else { (weighted_change / total_value).round_dp(4) };
        Ok(HoldingsResponse {
            holdings: holdings.into_iter().map(|(_, h)| h).collect(),
            summary: HoldingsSummary {
                total_value: exact(total_value),
                total_cost_basis: exact(total_cost),
                total_unrealized_pnl: exact(total_pnl),
                roi_percentage: exact(roi(total_pnl, valued_cost)),
                total24hr_change: exact(total_change),
            },
            user_id: grant.user_id.to_string(),
            timestamp: epoch_ms(self.now()),
        })
    }
}

#[async_trait]
impl DeveloperApi for Service {
    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn resync(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        wallet_id: &str,
        req: ResyncRequest,
    ) -> ApiResult<ResyncResponse> {
        let client = self.authenticate(client, meta).await?;
        if req.mode != "latest" && req.mode != "from_start" {
            return Err(ApiError::invalid_request("mode must be `latest` or `from_start`"));
        }
        let user_id = req.user_id.parse::<UserId>().map_err(|_| ApiError::invalid_request("user_id is not valid"))?;
        let not_found = || ApiError::new(ErrorCode::WorkspaceNotFound, "No such integration for this client's users");
        let integration =
            self.ports.store.find_integration(wallet_id).await.map_err(store_error)?.ok_or_else(not_found)?;
        let shared = self
            .ports
            .store
            .client_grant_for(&client.id, &user_id, &integration.workspace_id, self.now())
            .await
            .map_err(store_error)?;
        if !shared {
            return Err(not_found());
        }
        self.ports.store.enqueue_sync(&integration.id, &req.mode, self.now()).await.map_err(store_error)?;
        Ok(ResyncResponse {
            mode: req.mode,
            integration_type: integration.category,
            wallet_id: integration.id,
            status: "queued".to_owned(),
        })
    }

    #[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
    async fn set_transaction_limit(
        &self,
        client: &ClientCredentials,
        meta: &RequestMeta,
        grant_id: &str,
        req: TransactionLimitRequest,
    ) -> ApiResult<TransactionLimitResponse> {
        let client = self.authenticate(client, meta).await?;
        let invalid = || ApiError::new(ErrorCode::InvalidGrant, "Unknown grant_id for this client");
        let id = grant_id.parse::<GrantId>().map_err(|_| invalid())?;
        let grant = self
            .ports
            .store
            .find_grant(&id)
            .await
            .map_err(store_error)?
            .filter(|g| g.client_id == client.id && g.status_at(self.now()) == GrantStatus::Active)
            .ok_or_else(invalid)?;
        if req.transaction_limit.is_none() && req.enable_limiter.is_none() {
            return Err(ApiError::invalid_request("Give transactionLimit, enableLimiter or both"));
        }
        if req.transaction_limit.is_some_and(|l| l < 0) {
            return Err(ApiError::invalid_request("transactionLimit must be 0 or more"));
        }
        let user = self.ports.store.find_user(&grant.user_id).await.map_err(store_error)?.ok_or_else(invalid)?;
        if !user.is_anonymous {
            return Err(ApiError::new(ErrorCode::NotAnonUser, "Transaction limits apply to guest users only"));
        }
        let limit = req.transaction_limit.map(Some);
        self.ports.store.set_grant_limits(&id, limit, req.enable_limiter).await.map_err(store_error)?;
        let now = self.ports.store.grant_limits(&id).await.map_err(store_error)?.ok_or_else(invalid)?;
        Ok(TransactionLimitResponse {
            grant_id: id.to_string(),
            user_id: grant.user_id.to_string(),
            transaction_limit: now.transaction_limit,
            enable_limiter: now.enable_limiter,
        })
    }
}
