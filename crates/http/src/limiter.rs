//! Rate limiting of failed client authentications, per IP and per client id.
//!
//! Counting happens in each process's memory: with N nodes behind a balancer an attacker
//! gets at most N times the configured budget, which still caps guessing far below any
//! useful rate against 256-bit secrets.

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Blocks callers who fail client authentication too often.
pub(crate) struct AuthFailureLimiter {
    per_key: DefaultKeyedRateLimiter<String>,
    blocked_until: DashMap<String, Instant>,
    clock: DefaultClock,
    failures: AtomicU64,
}

fn keys(ip: Option<IpAddr>, client_id: Option<&str>) -> impl Iterator<Item = String> {
    let ip = ip.map(|ip| format!("ip:{ip}"));
    // Only well-formed-looking ids are keyed, so random garbage cannot grow the map unboundedly.
    let client = client_id.filter(|c| c.len() <= 64 && !c.is_empty()).map(|c| format!("client:{c}"));
    ip.into_iter().chain(client)
}

impl AuthFailureLimiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            per_key: RateLimiter::keyed(Quota::per_minute(n)),
            blocked_until: DashMap::new(),
            clock: DefaultClock::default(),
            failures: AtomicU64::new(0),
        }
    }

    /// How long the caller must wait, if it is blocked.
    pub(crate) fn blocked_for(&self, ip: Option<IpAddr>, client_id: Option<&str>) -> Option<Duration> {
        let now = Instant::now();
        keys(ip, client_id)
            .filter_map(|k| {
                let until = *self.blocked_until.get(&k)?;
                if until > now {
                    Some(until - now)
                } else {
                    self.blocked_until.remove(&k);
                    None
                }
            })
            .max()
    }

    /// Counts one failure; past the budget the key is blocked until the budget refills.
    pub(crate) fn record_failure(&self, ip: Option<IpAddr>, client_id: Option<&str>) {
        for k in keys(ip, client_id) {
            if let Err(not_until) = self.per_key.check_key(&k) {
                let wait = not_until.wait_time_from(self.clock.now());
                self.blocked_until.insert(k, Instant::now() + wait.max(Duration::from_secs(1)));
            }
        }
        if self.failures.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.per_key.retain_recent();
            let now = Instant::now();
            self.blocked_until.retain(|_, until| *until > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_is_blocked_after_its_budget_of_failures() {
        let l = AuthFailureLimiter::new(3);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(l.blocked_for(Some(ip), None).is_none());
            l.record_failure(Some(ip), None);
        }
        l.record_failure(Some(ip), None);
        assert!(l.blocked_for(Some(ip), None).is_some());
        assert!(l.blocked_for(Some([10, 0, 0, 2].into()), None).is_none(), "other IPs are unaffected");
    }

    #[test]
    fn a_client_id_is_blocked_whatever_the_ip() {
        let l = AuthFailureLimiter::new(1);
        l.record_failure(Some([10, 0, 0, 1].into()), Some("kc_x"));
        l.record_failure(Some([10, 0, 0, 2].into()), Some("kc_x"));
        assert!(l.blocked_for(Some([10, 0, 0, 3].into()), Some("kc_x")).is_some());
    }
}
