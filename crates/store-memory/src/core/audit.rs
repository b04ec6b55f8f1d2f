//! [`AuditStore`] in memory.

use crate::MemoryStore;
use async_trait::async_trait;
use kc_ports::store::{AuditEvent, AuditStore, StoreResult};
use time::OffsetDateTime;

#[async_trait]
impl AuditStore for MemoryStore {
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.with(|s| {
            let id = s.next_id();
            s.audit.insert(id, event.clone());
            Ok(())
        })
    }

    async fn list_audit(
        &self,
        client: Option<String>,
        since: Option<OffsetDateTime>,
        limit: u64,
    ) -> StoreResult<Vec<AuditEvent>> {
        self.with(|s| {
            Ok(s.audit
                .values()
                .filter(|e| client.is_none() || e.client_id == client)
                .filter(|e| since.is_none_or(|t| e.at >= t))
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .cloned()
                .collect())
        })
    }

    async fn purge_audit(&self, before: OffsetDateTime) -> StoreResult<u64> {
        self.with(|s| {
            let n = s.audit.len();
            s.audit.retain(|_, e| e.at >= before);
            Ok((n - s.audit.len()) as u64)
        })
    }
}
