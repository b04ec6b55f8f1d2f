//! [`LedgerStore`] in memory: transactions and legs per workspace (one row per integration and
//! platform id), positions, history cursors and sync stages, as `kc_store::SeaStore` keeps them.

use crate::core::ms;
use crate::state::State;
use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::{WebhookEvent, WorkspaceId};
use kc_ports::store::{
    LedgerLegRecord, LedgerPosition, LedgerQuery, LedgerStore, LedgerTxRecord, LedgerTxUpdate, NewLedgerTx, StoreError,
    StoreResult, UnpricedLeg,
};
use std::collections::{BTreeSet, HashSet};
use time::OffsetDateTime;

/// A ledger transaction (`ledger_transactions` with its `ledger_legs`), by id.
#[derive(Debug, Clone)]
pub(crate) struct LedgerTxRow {
    /// The owning workspace.
    pub(crate) workspace_id: String,
    /// The transaction, legs by index, `raw` included.
    pub(crate) record: LedgerTxRecord,
}

/// The sync state of one integration's ledger (`ledger_states`), by integration id.
#[derive(Debug, Clone)]
pub(crate) struct LedgerStateRow {
    /// The owning workspace.
    pub(crate) workspace_id: String,
    /// Where to resume the history.
    pub(crate) cursor: Option<String>,
    /// The stages of the last sync (JSON object text).
    pub(crate) stages: String,
    /// When it last changed.
    pub(crate) updated_at: OffsetDateTime,
}

/// A position (`ledger_positions`), in insertion order.
#[derive(Debug, Clone)]
pub(crate) struct PositionRow {
    /// The owning workspace.
    pub(crate) workspace_id: String,
    /// The position.
    pub(crate) position: LedgerPosition,
}

impl State {
    /// Ids of the workspace's current integrations.
    fn current_integrations(&self, ws: &WorkspaceId) -> HashSet<String> {
        self.integrations.values().filter(|i| i.record.workspace_id == *ws).map(|i| i.record.id.clone()).collect()
    }

    /// Upserts `integration_id`'s ledger state: the cursor when given, the stages when given.
    fn upsert_ledger_state(
        &mut self,
        ws: &WorkspaceId,
        integration_id: &str,
        cursor: Option<Option<&str>>,
        stages: Option<&str>,
        now: OffsetDateTime,
    ) {
        let row = self.ledger_states.entry(integration_id.to_owned()).or_insert_with(|| LedgerStateRow {
            workspace_id: ws.as_str().to_owned(),
            cursor: None,
            stages: "{}".to_owned(),
            updated_at: now,
        });
        if let Some(c) = cursor {
            row.cursor = c.map(str::to_owned);
        }
        if let Some(s) = stages {
            row.stages = s.to_owned();
        }
        row.updated_at = now;
    }
}

fn record_of(ws: &WorkspaceId, integration_id: &str, t: &NewLedgerTx) -> LedgerTxRow {
    let mut legs: Vec<LedgerLegRecord> =
        t.legs.iter().map(|l| LedgerLegRecord { cost_basis: None, gain: None, ..l.clone() }).collect();
    legs.sort_by_key(|l| l.index);
    LedgerTxRow {
        workspace_id: ws.as_str().to_owned(),
        record: LedgerTxRecord {
            id: t.id.clone(),
            integration_id: integration_id.to_owned(),
            platform_tx_id: t.platform_tx_id.clone(),
            chain_id: t.chain_id.clone(),
            timestamp_ms: ms(t.timestamp),
            position: t.position,
            failed: t.failed,
            source_label: t.source_label.clone(),
            label: "Unknown".to_owned(),
            transaction_type: "other".to_owned(),
            description: String::new(),
            is_nft: t.is_nft,
            is_manual: false,
            is_edited: false,
            is_missing_price: false,
            is_missing_purchase: false,
            total_costbasis: "0".to_owned(),
            total_gains: "0".to_owned(),
            raw: t.raw.clone(),
            import_source: t.import_source.clone(),
            legs,
        },
    }
}

fn matches(t: &LedgerTxRecord, q: &LedgerQuery) -> bool {
    let flag = |want: Option<bool>, have: bool| want.is_none_or(|w| w == have);
    (q.currency_ids.is_empty() || t.legs.iter().any(|l| q.currency_ids.contains(&l.asset.token_id)))
        && q.trx_id.as_ref().is_none_or(|id| t.id == *id || t.platform_tx_id == *id)
        && flag(q.is_nft, t.is_nft)
        && flag(q.is_missing_price, t.is_missing_price)
        && flag(q.is_missing_purchase, t.is_missing_purchase)
        && flag(q.is_edited, t.is_edited)
        && flag(q.is_manual, t.is_manual)
        && (q.transaction_types.is_empty() || q.transaction_types.contains(&t.transaction_type))
        && (q.labels.is_empty() || q.labels.contains(&t.label))
        && q.time_start.is_none_or(|s| t.timestamp_ms >= s)
        && q.time_end.is_none_or(|e| t.timestamp_ms <= e)
}

#[async_trait]
impl LedgerStore for MemoryStore {
    async fn ledger_cursor(&self, integration_id: &str) -> StoreResult<Option<String>> {
        self.with(|s| Ok(s.ledger_states.get(integration_id).and_then(|r| r.cursor.clone())))
    }

    async fn reset_ledger(&self, integration_id: &str) -> StoreResult<()> {
        self.with(|s| {
            s.ledger_txs.retain(|_, t| t.record.integration_id != integration_id);
            s.ledger_positions.retain(|p| p.position.integration_id != integration_id);
            if let Some(row) = s.ledger_states.get_mut(integration_id) {
                row.cursor = None;
            }
            Ok(())
        })
    }

    async fn add_ledger_page<'a>(
        &self,
        ws: &WorkspaceId,
        integration_id: &str,
        txs: &[NewLedgerTx],
        cursor: Option<&'a str>,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        self.with(|s| {
            let mut known: HashSet<&str> = s
                .ledger_txs
                .values()
                .filter(|t| t.record.integration_id == integration_id)
                .map(|t| t.record.platform_tx_id.as_str())
                .collect();
            // A page may repeat a transaction: keep its first copy.
            let fresh: Vec<&NewLedgerTx> = txs.iter().filter(|t| known.insert(t.platform_tx_id.as_str())).collect();
            // Transaction ids are unique: check them all before writing anything.
            let mut ids = BTreeSet::new();
            for t in &fresh {
                if s.ledger_txs.contains_key(&t.id) || !ids.insert(t.id.as_str()) {
                    return Err(StoreError::Conflict(format!("ledger transaction {} exists", t.id)));
                }
            }
            let rows: Vec<LedgerTxRow> = fresh.iter().map(|t| record_of(ws, integration_id, t)).collect();
            s.upsert_ledger_state(ws, integration_id, Some(cursor), None, now);
            let n = rows.len() as u64;
            for row in rows {
                s.ledger_txs.insert(row.record.id.clone(), row);
            }
            Ok(n)
        })
    }

    async fn workspace_ledger(&self, ws: &WorkspaceId) -> StoreResult<Vec<LedgerTxRecord>> {
        self.with(|s| {
            let current = s.current_integrations(ws);
            let mut rows: Vec<LedgerTxRecord> = s
                .ledger_txs
                .values()
                .filter(|t| t.workspace_id == ws.as_str() && current.contains(&t.record.integration_id))
                .map(|t| LedgerTxRecord { raw: String::new(), ..t.record.clone() })
                .collect();
            rows.sort_by_key(LedgerTxRecord::key);
            Ok(rows)
        })
    }

    async fn save_ledger_outcome(
        &self,
        ws: &WorkspaceId,
        updates: &[LedgerTxUpdate],
        positions: &[LedgerPosition],
    ) -> StoreResult<()> {
        self.with(|s| {
            for u in updates {
                let Some(t) = s.ledger_txs.get_mut(&u.id) else { continue };
                let r = &mut t.record;
                r.label.clone_from(&u.label);
                r.transaction_type.clone_from(&u.transaction_type);
                r.description.clone_from(&u.description);
                r.is_missing_price = u.is_missing_price;
                r.is_missing_purchase = u.is_missing_purchase;
                r.total_costbasis.clone_from(&u.total_costbasis);
                r.total_gains.clone_from(&u.total_gains);
                for (index, cost, gain) in &u.legs {
                    for l in r.legs.iter_mut().filter(|l| l.index == *index) {
                        l.cost_basis.clone_from(cost);
                        l.gain.clone_from(gain);
                    }
                }
            }
            s.ledger_positions.retain(|p| p.workspace_id != ws.as_str());
            s.ledger_positions.extend(
                positions.iter().map(|p| PositionRow { workspace_id: ws.as_str().to_owned(), position: p.clone() }),
            );
            Ok(())
        })
    }

    async fn ledger_positions(&self, ws: &WorkspaceId) -> StoreResult<Vec<LedgerPosition>> {
        self.with(|s| {
            let current = s.current_integrations(ws);
            Ok(s.ledger_positions
                .iter()
                .filter(|p| p.workspace_id == ws.as_str() && current.contains(&p.position.integration_id))
                .map(|p| p.position.clone())
                .collect())
        })
    }

    async fn query_ledger(&self, ws: &WorkspaceId, q: &LedgerQuery) -> StoreResult<(Vec<LedgerTxRecord>, u64)> {
        self.with(|s| {
            let mut current = s.current_integrations(ws);
            if !q.wallet_ids.is_empty() {
                current.retain(|i| q.wallet_ids.contains(i));
            }
            let mut rows: Vec<&LedgerTxRecord> = s
                .ledger_txs
                .values()
                .filter(|t| t.workspace_id == ws.as_str() && current.contains(&t.record.integration_id))
                .map(|t| &t.record)
                .filter(|t| matches(t, q))
                .collect();
            let total = rows.len() as u64;
            if let Some(k) = &q.after {
                rows.retain(|t| if q.descending { t.key() < *k } else { t.key() > *k });
            }
            rows.sort_by_key(|t| t.key());
            if q.descending {
                rows.reverse();
            }
            let offset = usize::try_from(q.offset).unwrap_or(usize::MAX);
            let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
            Ok((rows.into_iter().skip(offset).take(limit).cloned().collect(), total))
        })
    }

    async fn set_ledger_stages(
        &self,
        ws: &WorkspaceId,
        integration_id: &str,
        stages: &str,
        total_transactions: Option<i64>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.with(|s| {
            s.upsert_ledger_state(ws, integration_id, None, Some(stages), now);
            if let Some(total) = total_transactions {
                if let Some(i) = s.integrations.get_mut(integration_id) {
                    i.record.total_transactions = total;
                }
            }
            Ok(())
        })
    }

    async fn ledger_stages(&self, ws: &WorkspaceId) -> StoreResult<Vec<(String, String)>> {
        self.with(|s| {
            Ok(s.ledger_states
                .iter()
                .filter(|(_, r)| r.workspace_id == ws.as_str())
                .map(|(id, r)| (id.clone(), r.stages.clone()))
                .collect())
        })
    }

    async fn unpriced_legs(&self, integration_id: &str, limit: u64) -> StoreResult<Vec<UnpricedLeg>> {
        self.with(|s| {
            let mut legs: Vec<UnpricedLeg> = s
                .ledger_txs
                .values()
                .filter(|t| t.record.integration_id == integration_id)
                .flat_map(|t| {
                    t.record.legs.iter().filter(|l| l.price.is_none()).map(|l| UnpricedLeg {
                        transaction_id: t.record.id.clone(),
                        leg_index: l.index,
                        token_id: l.asset.token_id.clone(),
                        timestamp_ms: t.record.timestamp_ms,
                    })
                })
                .collect();
            legs.sort_by(|a, b| {
                (a.timestamp_ms, &a.transaction_id, a.leg_index).cmp(&(b.timestamp_ms, &b.transaction_id, b.leg_index))
            });
            legs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            Ok(legs)
        })
    }

    async fn set_leg_prices(&self, prices: &[(String, i32, String)]) -> StoreResult<u64> {
        self.with(|s| {
            let mut updated = 0;
            for (transaction_id, index, price) in prices {
                let Some(t) = s.ledger_txs.get_mut(transaction_id) else { continue };
                for l in t.record.legs.iter_mut().filter(|l| l.index == *index && l.price.is_none()) {
                    l.price = Some(price.clone());
                    updated += 1;
                }
            }
            Ok(updated)
        })
    }

    async fn cost_basis_method(&self, ws: &WorkspaceId) -> StoreResult<Option<String>> {
        self.with(|s| Ok(s.cost_basis_methods.get(ws.as_str()).map(|(m, _)| m.clone())))
    }

    async fn set_cost_basis_method(&self, ws: &WorkspaceId, method: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.with(|s| {
            s.cost_basis_methods.insert(ws.as_str().to_owned(), (method.to_owned(), now));
            Ok(())
        })
    }

    async fn enqueue_processing_event<'a>(
        &self,
        ws: &WorkspaceId,
        event: WebhookEvent,
        reason: Option<&'a str>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let (action, status) =
            event.processing().ok_or_else(|| StoreError::Other(format!("{event} is not a processing event")))?;
        self.with(|s| {
            let mut grants: Vec<_> = s
                .grants
                .values()
                .filter(|g| g.record.workspace_id == *ws && g.record.revoked_at.is_none() && g.record.expires_at > now)
                .map(|g| (g.seq, g.record.clone()))
                .collect();
            grants.sort_by_key(|(seq, _)| *seq);
            let mut seen = HashSet::new();
            for (_, g) in grants {
                if !seen.insert(g.client_id.clone()) {
                    continue;
                }
                let enabled = s.clients.get(g.client_id.as_str()).is_some_and(|c| c.disabled_at.is_none());
                if enabled {
                    let data = serde_json::json!({
                        "uid": g.user_id.as_str(),
                        "action": action,
                        "status": status,
                        "reason": reason,
                        "timestamp": ms(now),
                    });
                    s.enqueue(g.client_id.as_str(), event, g.id.as_str(), &data, now);
                }
            }
            Ok(())
        })
    }
}
