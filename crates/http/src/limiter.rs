//! Throttling of failed client authentications — designed so that a stranger can never lock
//! the owner of a client out.
//!
//! Client ids are public (they sit in every page that embeds the widget), so nothing keyed
//! on the client id alone may ever refuse a request. The rules:
//!
//! 1. **Credentials are verified first, always.** The limiter is consulted only *after* the
//!    service has refused the credentials (`INVALID_CLIENT`, or a wrong bearer token on the
//!    Data API). A request with a correct secret is never delayed and never refused, whatever
//!    budget its IP or client id has spent.
//! 2. **Failures are counted per source IP and per (client id, source IP)**, in two GCRA
//!    budgets: `ip_per_minute` for everything failing from one address (a NAT or a proxy
//!    holds many callers), `client_ip_per_minute` for one client id from one address. Each
//!    holds a quarter of a minute's worth at once (the burst) and refills at its rate.
//! 3. **Failures are slowed, then refused.** Each failure is answered after a delay that
//!    grows as the caller's budget empties (up to `max_delay`); past the budget a failure is
//!    answered `429 RATE_LIMITED` with `Retry-After` instead of `401`. Guessing a 256-bit
//!    secret is hopeless anyway; the limiter keeps floods slow, cheap and visible.
//!
//! Budgets live behind [`FailureBudget`]: [`LocalFailureBudget`] (GCRA with `governor`, in
//! this process's memory) by default, or a shared one — the server passes a budget on its
//! database (`rate_limits` table, one atomic upsert per spend) so that every node behind a
//! balancer spends from the same budget and the admitted rate is exactly the configured one.
//!
//! Every counted failure is reported as a `tracing` event (target `kc_http::limits`,
//! `event = "auth_failure"`), and every 429 as `event = "rate_limited"`: hooks for metrics.

use async_trait::async_trait;
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A GCRA budget: `per_minute` units a minute, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FailureQuota {
    /// Units admitted per minute, in the long run.
    pub per_minute: u32,
    /// Units admitted at once from a full budget.
    pub burst: u32,
}

impl FailureQuota {
    /// `per_minute` a minute with a quarter of a minute's worth at once (at least one).
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        Self { per_minute, burst: per_minute.div_ceil(4).max(1) }
    }

    /// The time one unit takes to refill.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(60) / self.per_minute.max(1)
    }
}

/// The outcome of spending one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Spent; `remaining` more would be admitted right now.
    Allowed {
        /// Units left.
        remaining: u32,
    },
    /// Over budget; nothing was spent.
    Denied {
        /// When one unit is available again.
        retry_after: Duration,
    },
}

/// A budget store could not answer (the limiter then lets the failure through unthrottled).
#[derive(Debug, thiserror::Error)]
#[error("rate budget unavailable: {0}")]
pub struct BudgetError(pub String);

/// Where failure budgets are kept: this process ([`LocalFailureBudget`]) or a store shared by
/// every node.
#[async_trait]
pub trait FailureBudget: Send + Sync + 'static {
    /// Spends one unit of `bucket` under `quota`.
    async fn spend(&self, bucket: &str, quota: FailureQuota) -> Result<Spend, BudgetError>;
}

/// A keyed GCRA limiter that reports the remaining burst.
type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// GCRA budgets in this process's memory (`governor`): exact for one node; with N nodes that
/// do not share a budget an attacker gets N times the rate.
#[derive(Default)]
pub struct LocalFailureBudget {
    limiters: DashMap<FailureQuota, Arc<KeyedLimiter>>,
    clock: DefaultClock,
    spends: AtomicU64,
}

#[async_trait]
impl FailureBudget for LocalFailureBudget {
    async fn spend(&self, bucket: &str, quota: FailureQuota) -> Result<Spend, BudgetError> {
        let limiter = self
            .limiters
            .entry(quota)
            .or_insert_with(|| {
                let rate = NonZeroU32::new(quota.per_minute).unwrap_or(NonZeroU32::MIN);
                let burst = NonZeroU32::new(quota.burst).unwrap_or(NonZeroU32::MIN);
                Arc::new(
                    RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst))
                        .with_middleware::<StateInformationMiddleware>(),
                )
            })
            .clone();
        if self.spends.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            limiter.retain_recent();
        }
        Ok(match limiter.check_key(&bucket.to_owned()) {
            Ok(snapshot) => Spend::Allowed { remaining: snapshot.remaining_burst_capacity() },
            Err(not_until) => Spend::Denied { retry_after: not_until.wait_time_from(self.clock.now()) },
        })
    }
}

/// The limits of [`AuthLimiter`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthLimits {
    /// Failures of one client id from one source IP.
    pub(crate) client_ip: FailureQuota,
    /// Failures of any client id from one source IP.
    pub(crate) ip: FailureQuota,
    /// The longest delay before answering a failure.
    pub(crate) max_delay: Duration,
}

/// Counts failed authentications and decides how they are answered (see the module docs).
pub(crate) struct AuthLimiter {
    budget: Arc<dyn FailureBudget>,
    limits: AuthLimits,
}

/// Only plausible client ids get their own bucket, so garbage cannot grow the budget store.
fn plausible_client_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl AuthLimiter {
    pub(crate) fn new(budget: Arc<dyn FailureBudget>, limits: AuthLimits) -> Self {
        Self { budget, limits }
    }

    async fn spend(&self, bucket: &str, quota: FailureQuota) -> Spend {
        match self.budget.spend(bucket, quota).await {
            Ok(spend) => spend,
            Err(e) => {
                // Failing open is safe here: the request has already failed authentication.
                tracing::warn!(error = %e, "failed-authentication budget unavailable; not throttling");
                Spend::Allowed { remaining: quota.burst }
            }
        }
    }

    /// Counts one failed authentication from `ip` (for `client_id`, when one was named), waits
    /// the progressive delay, and returns `Some(retry_after)` if the caller is over budget and
    /// must get 429 instead of the failure itself. Call it only for a request that failed.
    pub(crate) async fn failed(&self, ip: Option<IpAddr>, client_id: Option<&str>) -> Option<Duration> {
        let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let mut buckets = vec![(format!("auth:ip:{ip}"), self.limits.ip)];
        if let Some(id) = client_id.filter(|c| plausible_client_id(c)) {
            buckets.push((format!("auth:client-ip:{id}:{ip}"), self.limits.client_ip));
        }
        let mut fullness = 0.0_f64;
        let mut refused = None;
        for (bucket, quota) in buckets {
            match self.spend(&bucket, quota).await {
                Spend::Allowed { remaining } => {
                    let used = 1.0 - f64::from(remaining.min(quota.burst)) / f64::from(quota.burst.max(1));
                    fullness = fullness.max(used);
                }
                Spend::Denied { retry_after } => {
                    refused = Some(retry_after.max(Duration::from_secs(1)));
                    break;
                }
            }
        }
        let delay = if refused.is_some() { self.limits.max_delay } else { self.limits.max_delay.mul_f64(fullness) };
        tracing::info!(
            target: "kc_http::limits",
            event = "auth_failure",
            limited = refused.is_some(),
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "failed client authentication"
        );
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(client_ip: u32, ip: u32) -> AuthLimiter {
        AuthLimiter::new(
            Arc::new(LocalFailureBudget::default()),
            AuthLimits {
                client_ip: FailureQuota { per_minute: client_ip, burst: client_ip },
                ip: FailureQuota { per_minute: ip, burst: ip },
                max_delay: Duration::ZERO,
            },
        )
    }

    #[tokio::test]
    async fn a_client_id_from_one_ip_is_limited_after_its_budget() {
        let l = limiter(3, 100);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert_eq!(l.failed(Some(ip), Some("kc_x")).await, None);
        }
        assert!(l.failed(Some(ip), Some("kc_x")).await.is_some());
        assert_eq!(l.failed(Some([10, 0, 0, 2].into()), Some("kc_x")).await, None, "another IP has its own budget");
        assert_eq!(l.failed(Some(ip), Some("kc_y")).await, None, "another client id from the IP has its own budget");
    }

    #[tokio::test]
    async fn an_ip_is_limited_across_client_ids() {
        let l = limiter(100, 3);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for id in ["kc_a", "kc_b", "kc_c"] {
            assert_eq!(l.failed(Some(ip), Some(id)).await, None);
        }
        let wait = l.failed(Some(ip), Some("kc_d")).await.expect("limited");
        assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(20), "{wait:?}");
    }

    #[tokio::test]
    async fn the_delay_grows_as_the_budget_empties() {
        let l = AuthLimiter::new(
            Arc::new(LocalFailureBudget::default()),
            AuthLimits {
                client_ip: FailureQuota { per_minute: 4, burst: 4 },
                ip: FailureQuota { per_minute: 100, burst: 100 },
                max_delay: Duration::from_millis(200),
            },
        );
        let mut took = Vec::new();
        for _ in 0..5 {
            let start = std::time::Instant::now();
            l.failed(Some([10, 0, 0, 1].into()), Some("kc_x")).await;
            took.push(start.elapsed());
        }
        assert!(took[0] < Duration::from_millis(100), "{took:?}");
        assert!(took[3] >= Duration::from_millis(190), "{took:?}");
        assert!(took[4] >= Duration::from_millis(190), "{took:?}");
    }

    #[test]
    fn quotas_burst_a_quarter_of_a_minute() {
        assert_eq!(FailureQuota::per_minute(20), FailureQuota { per_minute: 20, burst: 5 });
        assert_eq!(FailureQuota::per_minute(1).burst, 1);
        assert_eq!(FailureQuota::per_minute(120).interval(), Duration::from_millis(500));
    }
}
