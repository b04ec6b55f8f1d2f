//! Runs the example backend.
//!
//! ```text
//! KRYPTOS_BASE_URL=http://127.0.0.1:8080 KRYPTOS_CLIENT_ID=… KRYPTOS_CLIENT_SECRET=… \
//!     cargo run -p kc-example-backend
//! ```
//!
//! `LISTEN` (default `127.0.0.1:3000`) sets the address. `STATIC_DIR` (e.g.
//! `examples/react/dist`) also serves that directory's files beside `/api/kryptos/*`.

use kc_client::api::ClientCredentials;
use kc_client::Client;
use std::process::ExitCode;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

async fn run() -> Result<(), String> {
    let base = std::env::var("KRYPTOS_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let credentials = ClientCredentials::new(env("KRYPTOS_CLIENT_ID")?, env("KRYPTOS_CLIENT_SECRET")?);
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let kryptos = Client::new(base.clone()).map_err(|e| e.to_string())?.with_credentials(credentials);
    let static_dir = std::env::var_os("STATIC_DIR").map(std::path::PathBuf::from);
    if let Some(dir) = &static_dir {
        if !dir.join("index.html").is_file() {
            return Err(format!("STATIC_DIR {} has no index.html (build the app first)", dir.display()));
        }
    }
    let app = kc_example_backend::app(kc_example_backend::Backend::new(kryptos), static_dir.as_deref());
    let listener =
        tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    tracing::info!(%listen, kryptos = %base, static_dir = ?static_dir, "example backend listening");
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kc-example-backend: {e}");
            ExitCode::FAILURE
        }
    }
}
