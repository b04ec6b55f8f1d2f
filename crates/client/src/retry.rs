//! When a failed call may be repeated, and how long to wait before it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How a call may be repeated.
///
/// Every call may be repeated when the connection could not be opened: the request never left.
/// Only calls that are safe to repeat ([`Idempotency::Safe`]: reads and check-session) are
/// repeated after the request was sent — on a timeout, a dropped connection, or a 502/503/504
/// answer. Link-token creation, token exchange, revocation and widget steps never are, so a
/// public token is never exchanged twice by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Repeating the call cannot change anything on the server.
    Safe,
    /// The call changes state: repeat only if it provably never reached the server.
    Unsafe,
}

/// Bounded exponential backoff with full jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (1 = never retry).
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles after each attempt.
    pub base_delay: Duration,
    /// The largest wait between two attempts (also caps a server's `Retry-After`).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, waiting up to 200 ms then 400 ms (capped at 2 s).
    fn default() -> Self {
        Self { max_attempts: 3, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(2) }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// The wait after failed attempt `attempt` (1-based): uniformly random in
    /// `[0, min(max_delay, base_delay · 2^(attempt-1))]`, or the server's `Retry-After` when it
    /// asked for one (capped at `max_delay`).
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random_u64() % (nanos + 1))
    }
}

/// A random number from the process's hash-seed randomness (enough for jitter).
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_but_stay_under_the_ceiling() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for _ in 0..200 {
            assert!(p.delay(1, None) <= Duration::from_millis(100));
            assert!(p.delay(2, None) <= Duration::from_millis(200));
            assert!(p.delay(3, None) <= Duration::from_millis(300));
            assert!(p.delay(30, None) <= Duration::from_millis(300));
        }
    }

    #[test]
    fn delays_are_jittered() {
        let p = RetryPolicy::default();
        let samples: std::collections::HashSet<Duration> = (0..50).map(|_| p.delay(2, None)).collect();
        assert!(samples.len() > 10, "jitter spreads the waits: {samples:?}");
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_ceiling() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, Some(Duration::from_secs(1))), Duration::from_secs(1));
        assert_eq!(p.delay(1, Some(Duration::from_secs(60))), p.max_delay);
    }
}
