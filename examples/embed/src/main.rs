//! `cargo run -p kc-example-embed`: the host app on http://127.0.0.1:3000 (or `PORT`), with
//! Kryptos Connect under /kryptos on the in-memory store. Prints a sandbox app's credentials.

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let (router, embedded) = kc_example_embed::host(&origin)?;
    let (id, secret) = kc_example_embed::sandbox_app(embedded.service(), "Embedded demo").await?;
    println!("host: {origin}/  kryptos: {origin}{}/api/health", kc_example_embed::PREFIX);
    println!("sandbox app: X-Client-Id: {id}  X-Client-Secret: {secret}");
    let running = embedded.start();
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    running.stop().await;
    Ok(())
}
