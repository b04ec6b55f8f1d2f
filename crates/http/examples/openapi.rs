//! Prints the OpenAPI document exactly as committed in `docs/openapi.json`:
//! `cargo run --quiet -p kc-http --example openapi > docs/openapi.json`
//! (what `cargo xtask codegen` runs).

fn main() {
    print!("{}", kc_http::openapi::committed_json());
}
