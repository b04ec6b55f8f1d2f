//! The one place the tracing subscriber is set up.
//!
//! Built with the cargo feature `otlp`, spans are also exported over OTLP/HTTP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, with the
//! service name `OTEL_SERVICE_NAME` (default `kryptos-connect`); call [`shutdown`] before exiting
//! so the last spans are sent.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};

/// A boxed layer over the registry.
type Boxed = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber: JSON lines for `json`, human-readable otherwise.
/// `RUST_LOG` overrides `filter`. Calling it twice is harmless.
pub fn init(format: &str, filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    use std::io::IsTerminal;
    let base = fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let fmt_layer: Boxed = if format == "json" {
        base.json().flatten_event(true).with_current_span(true).boxed()
    } else {
        base.compact().boxed()
    };
    let layers: Vec<Boxed> = vec![fmt_layer];
    #[cfg(feature = "otlp")]
    let layers = {
        let mut layers = layers;
        if let Some(otel) = otlp::layer() {
            layers.push(otel);
        }
        layers
    };
    let _ = tracing_subscriber::registry().with(layers.with_filter(filter)).try_init();
    #[cfg(feature = "otlp")]
    otlp::announce();
}

/// Flushes exported spans (a no-op without the `otlp` feature or endpoint).
pub fn shutdown() {
    #[cfg(feature = "otlp")]
    otlp::shutdown();
}

#[cfg(feature = "otlp")]
mod otlp {
    use super::Boxed;
    use opentelemetry::trace::TracerProvider as _;
    use std::sync::Mutex;
    use tracing_subscriber::Layer;

    static PROVIDER: Mutex<Option<opentelemetry_sdk::trace::SdkTracerProvider>> = Mutex::new(None);
    static STATUS: Mutex<Option<Result<String, String>>> = Mutex::new(None);

    fn endpoint() -> Option<String> {
        ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// The OpenTelemetry layer, when an OTLP endpoint is configured.
    pub(super) fn layer() -> Option<Boxed> {
        let endpoint = endpoint()?;
        let exporter = match opentelemetry_otlp::SpanExporter::builder().with_http().build() {
            Ok(e) => e,
            Err(e) => {
                *STATUS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some(Err(format!("OTLP exporter for {endpoint}: {e}")));
                return None;
            }
        };
        let name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "kryptos-connect".to_owned());
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(opentelemetry_sdk::Resource::builder().with_service_name(name).build())
            .build();
        let tracer = provider.tracer("kryptos-connect");
        *PROVIDER.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(provider);
        *STATUS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Ok(endpoint));
        Some(tracing_opentelemetry::layer().with_tracer(tracer).boxed())
    }

    /// Logs whether spans are exported (once the subscriber exists).
    pub(super) fn announce() {
        match STATUS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            Some(Ok(endpoint)) => tracing::info!(%endpoint, "exporting traces over OTLP"),
            Some(Err(e)) => tracing::error!(error = %e, "OTLP trace export is off"),
            None => {}
        }
    }

    pub(super) fn shutdown() {
        if let Some(p) = PROVIDER.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            let _ = p.shutdown();
        }
    }
}
