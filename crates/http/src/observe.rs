//! Request metrics: counts and latency per route template (never the raw path, so ids in
//! paths do not explode the series), method and status; in-flight requests; 401s and 429s.
//!
//! Recorded through the `metrics` facade: nothing is kept unless the binary installed a
//! recorder (the Prometheus exporter when `server.metrics_listen` is set).

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use std::time::Instant;

/// Latency histogram of every request, in seconds.
pub const REQUEST_DURATION: &str = "kc_http_request_duration_seconds";
/// Requests answered.
pub const REQUESTS: &str = "kc_http_requests_total";
/// Requests being served.
pub const IN_FLIGHT: &str = "kc_http_requests_in_flight";
/// Requests answered 401 (failed client, token or link-token authentication).
pub const AUTH_FAILURES: &str = "kc_http_auth_failures_total";
/// Requests answered 429 (rate limited).
pub const RATE_LIMITED: &str = "kc_http_rate_limited_total";

/// `router` with request metrics around every route (and the fallback, as route `unmatched`).
pub fn track_requests<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(axum::middleware::from_fn(track))
}

fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "HEAD" => "HEAD",
        _ => "other",
    }
}

async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let started = Instant::now();
    let in_flight = InFlight::enter();
    let res = next.run(req).await;
    drop(in_flight);
    let status = res.status().as_u16();
    let labels = [("method", method.to_owned()), ("route", route.clone()), ("status", status.to_string())];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    match status {
        401 => metrics::counter!(AUTH_FAILURES, "route" => route).increment(1),
        429 => metrics::counter!(RATE_LIMITED, "route" => route).increment(1),
        _ => {}
    }
    res
}

/// One request counted in [`IN_FLIGHT`] until dropped (also when the client goes away).
struct InFlight(metrics::Gauge);

impl InFlight {
    fn enter() -> Self {
        let g = metrics::gauge!(IN_FLIGHT);
        g.increment(1.0);
        Self(g)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
