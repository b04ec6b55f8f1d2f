//! Prometheus metrics: the recorder, `GET /metrics`, and the gauges refreshed from the store.
//!
//! Requests are counted by `kc_http::observe`, authentication events and webhook attempts by
//! `kc-service`; this module installs the one process-wide recorder they report to and, every
//! [`REFRESH`], reads queue depths and pool usage from the database.

use kc_service::Service;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::Mutex;
use std::time::Duration;

/// How often the store-derived gauges are refreshed.
pub const REFRESH: Duration = Duration::from_secs(5);

/// Latency buckets in seconds (1 ms … 15 s, the default request timeout).
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0];

static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Installs the Prometheus recorder for this process (once; later calls return the same
/// handle, so several in-process servers share it).
pub fn install() -> Result<PrometheusHandle, String> {
    let mut slot = HANDLE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(h) = slot.as_ref() {
        return Ok(h.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
        .map_err(|e| format!("metrics: {e}"))?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| format!("metrics: a recorder is already installed: {e}"))?;
    describe();
    *slot = Some(handle.clone());
    Ok(handle)
}

fn describe() {
    use kc_http::observe::{AUTH_FAILURES, IN_FLIGHT, RATE_LIMITED, REQUESTS, REQUEST_DURATION};
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(REQUESTS, "HTTP requests answered, by method, route template and status.");
    describe_histogram!(REQUEST_DURATION, Unit::Seconds, "HTTP request latency, by method, route template and status.");
    describe_gauge!(IN_FLIGHT, "HTTP requests being served.");
    describe_counter!(AUTH_FAILURES, "Requests answered 401, by route template.");
    describe_counter!(RATE_LIMITED, "Requests answered 429, by route template.");
    describe_counter!(
        "kc_auth_events_total",
        "Audited authentication events, by kind and outcome (success, failure, security)."
    );
    describe_counter!(
        "kc_webhook_attempts_total",
        "Webhook delivery attempts, by outcome (delivered, retry, failed, cancelled)."
    );
    describe_gauge!("kc_sync_queue_depth", "Sync jobs queued or running.");
    describe_gauge!("kc_sync_queue_oldest_age_seconds", "Age of the oldest queued or running sync job (0 when none).");
    describe_gauge!("kc_webhook_outbox_depth", "Webhook deliveries pending or being sent.");
    describe_gauge!(
        "kc_webhook_outbox_oldest_age_seconds",
        "Age of the oldest undelivered webhook delivery (0 when none)."
    );
    describe_gauge!("kc_db_pool_connections", "Database pool connections, by state (idle, in_use).");
    describe_gauge!("kc_db_pool_max_connections", "Configured maximum of database pool connections.");
    describe_histogram!(
        "kc_db_pool_acquire_seconds",
        Unit::Seconds,
        "Time a periodic probe waited for a database connection."
    );
    describe_gauge!("kc_db_up", "1 when the last probe reached the database, else 0.");
    describe_gauge!("kc_build_info", "Always 1; the version is a label.");
    metrics::gauge!("kc_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// `GET /metrics` in the Prometheus text format.
pub fn routes(handle: PrometheusHandle) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                handle.run_upkeep();
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render())
            }
        }),
    )
}

/// Serves `/metrics` alone on `listener` until `stop` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, routes(handle))
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
}

/// Refreshes the store-derived gauges every [`REFRESH`] until `stop` turns true.
pub async fn refresh(service: Service, handle: PrometheusHandle, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        refresh_once(&service).await;
        handle.run_upkeep();
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Reads queue depths and pool usage once.
pub async fn refresh_once(service: &Service) {
    let secs = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64());
    match tokio::time::timeout(REFRESH, service.store().pool_stats()).await {
        Ok(Ok(p)) => {
            metrics::gauge!("kc_db_up").set(1.0);
            metrics::gauge!("kc_db_pool_connections", "state" => "idle").set(f64::from(p.idle));
            metrics::gauge!("kc_db_pool_connections", "state" => "in_use")
                .set(f64::from(p.size.saturating_sub(p.idle)));
            metrics::gauge!("kc_db_pool_max_connections").set(f64::from(p.max));
            metrics::histogram!("kc_db_pool_acquire_seconds").record(p.acquire.as_secs_f64());
        }
        Ok(Err(e)) => {
            metrics::gauge!("kc_db_up").set(0.0);
            tracing::debug!(error = %e, "metrics: database pool probe failed");
        }
        Err(_) => metrics::gauge!("kc_db_up").set(0.0),
    }
    match tokio::time::timeout(REFRESH, service.queue_stats()).await {
        Ok(Ok(q)) => {
            metrics::gauge!("kc_sync_queue_depth").set(q.sync_jobs as f64);
            metrics::gauge!("kc_sync_queue_oldest_age_seconds").set(secs(q.sync_oldest));
            metrics::gauge!("kc_webhook_outbox_depth").set(q.outbox as f64);
            metrics::gauge!("kc_webhook_outbox_oldest_age_seconds").set(secs(q.outbox_oldest));
        }
        Ok(Err(e)) => tracing::debug!(error = %e, "metrics: queue figures unavailable"),
        Err(_) => tracing::debug!("metrics: queue figures timed out"),
    }
}

/// Metrics as configured by `server.metrics_listen`: the recorder, and the separate listener
/// when one is configured.
pub struct Metrics {
    handle: PrometheusHandle,
    listener: Option<tokio::net::TcpListener>,
    port: Option<u16>,
}

impl Metrics {
    /// `None` when `listen` is empty (metrics off); otherwise installs the recorder and, for an
    /// address, binds the metrics listener.
    pub async fn from_settings(listen: &str) -> Result<Option<Self>, String> {
        if listen.is_empty() {
            return Ok(None);
        }
        let handle = install()?;
        if listen == "main" {
            return Ok(Some(Self { handle, listener: None, port: None }));
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen for metrics on {listen}: {e}"))?;
        let port = listener.local_addr().map_err(|e| format!("metrics listener: {e}"))?.port();
        Ok(Some(Self { handle, listener: Some(listener), port: Some(port) }))
    }

    /// The port of the separate metrics listener, if there is one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// `/metrics` for the main router, when metrics are served there.
    pub fn main_routes(&self) -> Option<axum::Router> {
        self.listener.is_none().then(|| routes(self.handle.clone()))
    }

    /// Starts the gauge refresher and the separate listener, until `stop` turns true.
    pub fn spawn(
        self,
        service: Service,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = vec![tokio::spawn(refresh(service, self.handle.clone(), stop.clone()))];
        if let Some(listener) = self.listener {
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = serve(listener, self.handle, stop).await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            }));
        }
        tasks
    }
}
