//! `cargo xtask cluster [--port N]`: the topology of `deploy/compose.yaml` without containers —
//! nginx (the Debian package, installed if missing) on `127.0.0.1:N` (default 8080) in front of
//! two release `kryptos-connect` nodes on loopback ports, sharing the local PostgreSQL database
//! `kc_cluster`. Prints the URL and a client's credentials; Ctrl-C stops everything cleanly.
//!
//! The start-up itself is `crates/server/tests/support/cluster.rs`, which the cluster test runs too.

use crate::{cargo, output, run_cmd, succeeds, use_locked, Flags};
use anyhow::{anyhow, bail, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "../../crates/server/tests/support/cluster.rs"]
#[allow(dead_code)]
mod topology;

/// The database both nodes share (kept between runs).
const DATABASE: &str = "kc_cluster";

/// Runs the cluster until Ctrl-C.
pub(crate) fn run(flags: &Flags) -> Result<()> {
    let port: u16 = flags.value("--port")?.unwrap_or(8080);
    ensure_nginx()?;
    crate::ci::ensure_postgres()?;

    let mut build = cargo();
    build.args(["build", "--release", "-p", "kryptos-connect"]);
    if use_locked() {
        build.arg("--locked");
    }
    run_cmd(&mut build)?;
    let binary = crate::bench::target_dir()?.join("release").join("kryptos-connect");
    let work_dir = crate::bench::target_dir()?.join("cluster");
    std::fs::create_dir_all(&work_dir).with_context(|| format!("cannot create {}", work_dir.display()))?;

    ensure_database()?;
    let database_url = format!("postgres://postgres@127.0.0.1:5432/{DATABASE}");
    let secrets = work_dir.join("secrets");
    let pepper = secret_file(&secrets.join("pepper"), || Ok(hex(&random_bytes(32)?)))?;
    let key = secret_file(&secrets.join("credentials_key"), || Ok(base64(&random_bytes(32)?)))?;
    let url = format!("http://127.0.0.1:{port}");
    let env: Vec<(String, String)> = vec![
        ("KRYPTOS__SECURITY__PEPPER_FILE".into(), pepper.display().to_string()),
        ("KRYPTOS__SECURITY__CREDENTIALS_KEYS__K1_FILE".into(), key.display().to_string()),
        ("KRYPTOS__SECURITY__CREDENTIALS_ACTIVE_KEY".into(), "k1".into()),
        ("KRYPTOS__SERVER__PUBLIC_URL".into(), url.clone()),
    ];

    // A client for trying it out, created once (the CLI also applies the migrations).
    let client_file = work_dir.join("client.json");
    if !client_file.exists() {
        let mut cmd = Command::new(&binary);
        cmd.args(["--database-url", &database_url, "clients", "create", "--name", "Cluster app", "--origin", &url])
            .arg("--json")
            .env("KRYPTOS__DATA_DIR", work_dir.join("admin"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let json = output(&mut cmd)?;
        std::fs::write(&client_file, json).with_context(|| format!("cannot write {}", client_file.display()))?;
    }

    let spec = topology::ClusterSpec {
        binary,
        database_url: database_url.clone(),
        work_dir: work_dir.clone(),
        proxy_port: port,
        template: PathBuf::from("deploy/nginx/kryptos-connect.conf.template"),
        env,
    };
    let mut cluster = topology::Cluster::start(&spec).map_err(|e| anyhow!(e))?;
    println!("\nKryptos Connect cluster: {}", cluster.url);
    for n in &cluster.nodes {
        println!("  node {}: {}   metrics {}   log {}", n.name, n.base, n.metrics, n.log.display());
    }
    println!("  nginx log: {}", cluster.proxy_log.display());
    println!("  database:  {database_url}");
    println!("  client:    {} (client_id, client_secret)", client_file.display());
    println!("\nTry: curl {}/readyz   — Ctrl-C stops the cluster.", cluster.url);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcome = rt.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(()),
                _ = tick.tick() => {
                    if let Err(e) = cluster.check() {
                        return Err(anyhow!(e));
                    }
                }
            }
        }
    });
    println!("\nstopping the cluster…");
    cluster.stop();
    println!("stopped");
    outcome
}

/// Installs the Debian `nginx-light` package (or `nginx`) when no nginx is installed.
pub(crate) fn ensure_nginx() -> Result<()> {
    if let Some(path) = topology::nginx_binary() {
        println!("nginx present ({})", path.display());
        return Ok(());
    }
    let apt = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run_cmd(&mut cmd)
    };
    apt(&["update"])?;
    if apt(&["install", "-y", "--no-install-recommends", "nginx-light"]).is_err() {
        apt(&["install", "-y", "--no-install-recommends", "nginx"]).context("cannot install nginx")?;
    }
    // The package may start a system nginx on port 80; the cluster runs its own.
    if topology::nginx_binary().is_none() {
        bail!("nginx was installed but no nginx binary was found");
    }
    Ok(())
}

/// Creates the cluster database on the local PostgreSQL unless it exists.
fn ensure_database() -> Result<()> {
    let exists = output(Command::new("psql").args([
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-Atc",
        &format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"),
    ]))?;
    if exists.trim() != "1" && !succeeds(Command::new("createdb").args(["-h", "127.0.0.1", "-U", "postgres", DATABASE]))
    {
        bail!("cannot create the database {DATABASE} on 127.0.0.1:5432");
    }
    Ok(())
}

/// `path`, created (mode 0600) with `make()` if missing.
fn secret_file(path: &Path, make: impl FnOnce() -> Result<String>) -> Result<PathBuf> {
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, format!("{}\n", make()?)).with_context(|| format!("cannot write {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(path.to_path_buf())
}

fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf).context("cannot read /dev/urandom")?;
    Ok(buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(&[0xff; 32]).len(), 44);
    }

    #[test]
    fn the_compose_template_renders_for_loopback() {
        let t = std::fs::read_to_string(crate::project_root().join("deploy/nginx/kryptos-connect.conf.template"))
            .expect("template");
        let site = super::topology::render_site(&t, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3");
        assert!(site.contains("listen 127.0.0.1:1;") && site.contains("server 127.0.0.1:3 "), "{site}");
        assert!(!site.contains("${KC_NODE") && !site.contains("${KC_PROXY"), "{site}");
        assert!(site.contains("$proxy_add_x_forwarded_for"), "nginx variables stay");
    }
}
