//! Rebuilds this crate when the committed SDK builds change: `routes::sdk_packages` embeds
//! `sdk/*/dist` with `include_dir!`, which does not tell cargo about the files it reads.

fn main() {
    for dir in ["../../sdk/web/dist", "../../sdk/mobile/dist", "assets"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
