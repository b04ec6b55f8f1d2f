//! [`IntegrationStore`] in memory: integrations, their sync queue (claimed with a lease) and balances.

use super::conflict;
use crate::state::{BalanceRow, IntegrationRow, JobStatus, State, SyncJobRow};
use crate::MemoryStore;
use async_trait::async_trait;
use kc_domain::{SyncStatus, WebhookEvent, WorkspaceId};
use kc_ports::store::{IntegrationRecord, IntegrationStore, SnapshotRow, StoreResult, SyncJob, WorkspaceBalance};
use time::OffsetDateTime;

impl State {
    /// Inserts integration `i` with its first sync job (`from_start`) and the
    /// `integration.created` deliveries. `Conflict` (nothing written) if its id is taken, or its
    /// workspace already has that provider's address or credentials.
    pub(crate) fn insert_integration(&mut self, i: &IntegrationRecord) -> StoreResult<()> {
        if self.integrations.contains_key(&i.id) {
            return Err(conflict("integration", &i.id));
        }
        let same_account = |other: &IntegrationRecord| {
            other.workspace_id == i.workspace_id
                && other.provider == i.provider
                && ((i.address.is_some() && other.address == i.address)
                    || (i.credential_fingerprint.is_some() && other.credential_fingerprint == i.credential_fingerprint))
        };
        if self.integrations.values().any(|o| same_account(&o.record)) {
            return Err(conflict("integration of workspace", i.workspace_id.as_str()));
        }
        self.integrations.insert(i.id.clone(), IntegrationRow { record: i.clone(), updated_at: i.created_at });
        let job = self.next_id();
        self.sync_jobs.insert(
            job,
            SyncJobRow {
                integration_id: i.id.clone(),
                mode: "from_start".to_owned(),
                status: JobStatus::Queued,
                attempts: 0,
                run_after: i.created_at,
                locked_by: None,
                locked_until: None,
                last_error: None,
                created_at: i.created_at,
                updated_at: i.created_at,
            },
        );
        self.enqueue_integration_event(WebhookEvent::IntegrationCreated, &i.id, i.created_at);
        Ok(())
    }

    /// Job `job` if `worker` still holds it (running and locked by it).
    fn held_job(&mut self, job: i64, worker: &str) -> Option<&mut SyncJobRow> {
        self.sync_jobs
            .get_mut(&job)
            .filter(|j| j.status == JobStatus::Running && j.locked_by.as_deref() == Some(worker))
    }
}

#[async_trait]
impl IntegrationStore for MemoryStore {
    async fn insert_integration(&self, integration: &IntegrationRecord) -> StoreResult<()> {
        self.with(|s| s.insert_integration(integration))
    }

    async fn list_integrations(&self, workspace: &WorkspaceId) -> StoreResult<Vec<IntegrationRecord>> {
        self.with(|s| {
            let mut rows: Vec<IntegrationRecord> = s
                .integrations
                .values()
                .filter(|i| &i.record.workspace_id == workspace)
                .map(|i| i.record.clone())
                .collect();
            // The map iterates by id: a stable sort by creation time breaks ties by id.
            rows.sort_by_key(|i| i.created_at);
            Ok(rows)
        })
    }

    async fn delete_integration(&self, workspace: &WorkspaceId, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            if s.integrations.get(id).is_none_or(|i| &i.record.workspace_id != workspace) {
                return Ok(false);
            }
            // The deliveries carry the integration as it was, so they are written before it goes.
            s.enqueue_integration_event(WebhookEvent::IntegrationDeleted, id, now);
            s.sync_jobs.retain(|_, j| j.integration_id != id);
            s.balances.retain(|_, b| b.integration_id != id);
            s.integrations.remove(id);
            Ok(true)
        })
    }

    async fn find_integration(&self, id: &str) -> StoreResult<Option<IntegrationRecord>> {
        self.with(|s| Ok(s.integrations.get(id).map(|i| i.record.clone())))
    }

    async fn enqueue_sync(&self, integration_id: &str, mode: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.with(|s| {
            if !s.integrations.contains_key(integration_id) {
                return Ok(false);
            }
            let pending = s.sync_jobs.values().any(|j| {
                j.integration_id == integration_id && matches!(j.status, JobStatus::Queued | JobStatus::Running)
            });
            if pending {
                return Ok(false);
            }
            if let Some(i) = s.integrations.get_mut(integration_id) {
                i.record.sync_status = SyncStatus::Queued;
                i.updated_at = now;
            }
            let id = s.next_id();
            s.sync_jobs.insert(
                id,
                SyncJobRow {
                    integration_id: integration_id.to_owned(),
                    mode: mode.to_owned(),
                    status: JobStatus::Queued,
                    attempts: 0,
                    run_after: now,
                    locked_by: None,
                    locked_until: None,
                    last_error: None,
                    created_at: now,
                    updated_at: now,
                },
            );
            Ok(true)
        })
    }

    async fn claim_sync_job(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<Option<SyncJob>> {
        self.with(|s| {
            // Due: queued and its time has come, or running under a lease that lapsed.
            let due = s
                .sync_jobs
                .iter()
                .filter(|(_, j)| match j.status {
                    JobStatus::Queued => j.run_after <= now,
                    JobStatus::Running => j.locked_until.is_some_and(|u| u < now),
                    JobStatus::Done | JobStatus::Failed => false,
                })
                .min_by_key(|(id, j)| (j.run_after, **id))
                .map(|(id, _)| *id);
            let Some(id) = due else { return Ok(None) };
            let Some(j) = s.sync_jobs.get_mut(&id) else { return Ok(None) };
            j.status = JobStatus::Running;
            j.locked_by = Some(worker.to_owned());
            j.locked_until = Some(now + lease);
            j.attempts += 1;
            j.updated_at = now;
            let job =
                SyncJob { id, integration_id: j.integration_id.clone(), mode: j.mode.clone(), attempts: j.attempts };
            if let Some(i) = s.integrations.get_mut(&job.integration_id) {
                i.record.sync_status = SyncStatus::Syncing;
                i.updated_at = now;
            }
            Ok(Some(job))
        })
    }

    async fn finish_sync_job(
        &self,
        job: &SyncJob,
        worker: &str,
        rows: &[SnapshotRow],
        again_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let Some(j) = s.held_job(job.id, worker) else { return Ok(false) };
            match again_at {
                None => j.status = JobStatus::Done,
                Some(at) => {
                    j.status = JobStatus::Queued;
                    j.mode = "latest".to_owned();
                    j.run_after = at;
                }
            }
            j.locked_by = None;
            j.last_error = None;
            j.updated_at = now;
            s.balances.retain(|_, b| b.integration_id != job.integration_id);
            for r in rows {
                let id = s.next_id();
                s.balances.insert(id, BalanceRow { integration_id: job.integration_id.clone(), row: r.clone() });
            }
            if let Some(i) = s.integrations.get_mut(&job.integration_id) {
                i.record.sync_status = SyncStatus::Synced;
                i.record.last_error = None;
                i.record.last_synced_at = Some(now);
                i.updated_at = now;
            }
            s.enqueue_integration_event(WebhookEvent::IntegrationUpdated, &job.integration_id, now);
            Ok(true)
        })
    }

    async fn fail_sync_job(
        &self,
        job: &SyncJob,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.with(|s| {
            let Some(j) = s.held_job(job.id, worker) else { return Ok(false) };
            let (status, run_after, integration_status) = match retry_at {
                Some(t) => (JobStatus::Queued, t, SyncStatus::Queued),
                None => (JobStatus::Failed, now, SyncStatus::Failed),
            };
            j.status = status;
            j.run_after = run_after;
            j.last_error = Some(error.to_owned());
            j.locked_by = None;
            j.updated_at = now;
            if let Some(i) = s.integrations.get_mut(&job.integration_id) {
                i.record.sync_status = integration_status;
                i.record.last_error = Some(error.to_owned());
                i.updated_at = now;
            }
            if retry_at.is_none() {
                s.enqueue_integration_event(WebhookEvent::IntegrationFailed, &job.integration_id, now);
            }
            Ok(true)
        })
    }

    async fn workspace_balances(&self, workspace: &WorkspaceId) -> StoreResult<Vec<WorkspaceBalance>> {
        self.with(|s| {
            Ok(s.balances
                .values()
                .filter_map(|b| {
                    let i = s.integrations.get(&b.integration_id).filter(|i| &i.record.workspace_id == workspace)?;
                    Some(WorkspaceBalance {
                        integration_id: b.integration_id.clone(),
                        provider: i.record.provider.clone(),
                        row: b.row.clone(),
                    })
                })
                .collect())
        })
    }
}
