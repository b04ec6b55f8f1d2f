//! `SeaStore`: The audit log.

use super::*;

#[async_trait]
impl crate::AuditStore for SeaStore {
    async fn record_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        self.insert_row(audit_event::Entity::insert(audit_row(e)).into_query()).await
    }

    async fn list_audit(
        &self,
        client_id: Option<String>,
        since: Option<OffsetDateTime>,
        limit: u64,
    ) -> StoreResult<Vec<AuditEvent>> {
        let mut q = audit_event::Entity::find();
        if let Some(c) = client_id {
            q = q.filter(audit_event::Column::ClientId.eq(c));
        }
        if let Some(s) = since {
            q = q.filter(audit_event::Column::At.gte(ms(s)));
        }
        q.order_by_asc(audit_event::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(crate::db_err)?
            .into_iter()
            .map(audit_from)
            .collect()
    }

    async fn purge_audit(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let res = audit_event::Entity::delete_many()
            .filter(audit_event::Column::At.lt(ms(before)))
            .exec(&self.db)
            .await
            .map_err(crate::db_err)?;
        Ok(res.rows_affected)
    }
}

/// The `audit_events` row of an event.
pub(super) fn audit_row(e: &AuditEvent) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        at: Set(ms(e.at)),
        kind: Set(e.kind.clone()),
        outcome: Set(e.outcome.clone()),
        client_id: Set(e.client_id.clone()),
        grant_id: Set(e.grant_id.clone()),
        user_id: Set(e.user_id.clone()),
        ip: Set(e.ip.clone()),
        request_id: Set(e.request_id.clone()),
        detail: Set(e.detail.clone()),
        ..Default::default()
    }
}
