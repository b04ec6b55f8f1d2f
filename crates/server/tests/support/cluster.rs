//! The multi-node topology of `deploy/compose.yaml` — two `kryptos-connect` nodes on one
//! PostgreSQL behind nginx — started from local programs: the Debian `nginx` package and two
//! server processes on loopback ports.
//!
//! Shared, as one file, by `cargo xtask cluster` (`xtask/src/cluster.rs`) and the cluster test
//! (`tests/it/cluster.rs`), so the test exercises exactly what an operator starts. Standard
//! library only; every call blocks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a node may take to announce its address, and nginx to answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What to start.
pub struct ClusterSpec {
    /// The `kryptos-connect` binary.
    pub binary: PathBuf,
    /// The database both nodes share.
    pub database_url: String,
    /// Where logs, nginx's files and the nodes' data directories go (created if missing).
    pub work_dir: PathBuf,
    /// The proxy's loopback port; 0 picks a free one.
    pub proxy_port: u16,
    /// `deploy/nginx/kryptos-connect.conf.template`.
    pub template: PathBuf,
    /// Extra environment of both nodes (secrets, …).
    pub env: Vec<(String, String)>,
}

/// One running node.
pub struct NodeProcess {
    /// `a` or `b`.
    pub name: &'static str,
    /// `http://127.0.0.1:PORT`, the node itself (not through the proxy).
    pub base: String,
    /// `http://127.0.0.1:PORT/metrics`, its separate metrics listener.
    pub metrics: String,
    /// Its log (stderr).
    pub log: PathBuf,
    child: Child,
}

/// The running topology; stopped (SIGTERM, then SIGKILL after 10 s) when dropped.
pub struct Cluster {
    /// The proxy: `http://127.0.0.1:PORT`.
    pub url: String,
    /// The nodes behind it.
    pub nodes: Vec<NodeProcess>,
    /// nginx's error log.
    pub proxy_log: PathBuf,
    nginx: Option<Child>,
}

/// The nginx binary, if installed.
pub fn nginx_binary() -> Option<PathBuf> {
    let candidates = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx", "/usr/local/nginx/sbin/nginx"];
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// The nginx site for `listen` in front of `node_a` and `node_b` (`host:port`), from the
/// compose template.
pub fn render_site(template: &str, listen: &str, node_a: &str, node_b: &str) -> String {
    template.replace("${KC_PROXY_LISTEN}", listen).replace("${KC_NODE_A}", node_a).replace("${KC_NODE_B}", node_b)
}

/// A free loopback port (bound and released; another process could take it meanwhile).
pub fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A plain HTTP/1.0 `GET` over loopback: (status, body).
pub fn http_get(url: &str) -> Result<(u16, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("not an http:// URL: {url}"))?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let addr: SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| format!("{url}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| format!("{url}: {e}"))?;
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{url}: no status line in {raw:?}"))?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// Sends SIGTERM to `child` (so it drains), waits up to `grace`, then kills it.
fn terminate(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl NodeProcess {
    /// Starts `kryptos-connect serve` on a free loopback port and waits for its announcement.
    fn start(spec: &ClusterSpec, name: &'static str) -> Result<Self, String> {
        let data_dir = spec.work_dir.join(format!("node-{name}"));
        std::fs::create_dir_all(&data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
        let log = spec.work_dir.join(format!("node-{name}.log"));
        let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = Command::new(&spec.binary);
        cmd.args(["--database-url", &spec.database_url, "serve", "--listen", "127.0.0.1:0"])
            .env("KRYPTOS__DATA_DIR", &data_dir)
            .env("KRYPTOS__SERVER__METRICS_LISTEN", "127.0.0.1:0")
            .env("KRYPTOS__SERVER__TRUSTED_PROXIES", "127.0.0.1/32")
            .env("KRYPTOS__DEMO__ENABLED", "false")
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", spec.binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut base, mut metrics) = (None, None);
        let until = Instant::now() + START_TIMEOUT;
        while base.is_none() || metrics.is_none() {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some((_, b)) = line.split_once("Kryptos Connect is listening on ") {
                        base = Some(b.trim().to_owned());
                    }
                    if let Some((_, m)) = line.split_once("Prometheus metrics on ") {
                        metrics = Some(m.trim().to_owned());
                    }
                }
                Err(_) => {
                    terminate(&mut child, Duration::from_secs(1));
                    let tail = std::fs::read_to_string(&log).unwrap_or_default();
                    return Err(format!("node {name} did not start; its log ({}):\n{tail}", log.display()));
                }
            }
        }
        let (Some(base), Some(metrics)) = (base, metrics) else { return Err("unreachable".into()) };
        Ok(Self { name, base, metrics, log, child })
    }

    /// `host:port` of the node.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Cluster {
    /// Starts both nodes, then nginx in front of them, and waits until `/readyz` answers 200
    /// through the proxy.
    pub fn start(spec: &ClusterSpec) -> Result<Self, String> {
        let nginx = nginx_binary().ok_or(
            "nginx is not installed: `apt-get install nginx-light` (cargo xtask ci and cargo xtask cluster install it)",
        )?;
        std::fs::create_dir_all(&spec.work_dir).map_err(|e| format!("{}: {e}", spec.work_dir.display()))?;
        let template = std::fs::read_to_string(&spec.template)
            .map_err(|e| format!("nginx template {}: {e}", spec.template.display()))?;
        let a = NodeProcess::start(spec, "a")?;
        let b = NodeProcess::start(spec, "b")?;
        let mut cluster = Self { url: String::new(), nodes: vec![a, b], proxy_log: PathBuf::new(), nginx: None };

        let port = if spec.proxy_port == 0 { free_port()? } else { spec.proxy_port };
        let listen = format!("127.0.0.1:{port}");
        let dir = spec.work_dir.join("nginx");
        for sub in ["", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            // nginx workers may run as `nobody` when we are root: let them write their temp files.
            #[cfg(unix)]
            if sub.starts_with("tmp") {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777));
            }
        }
        let site = render_site(&template, &listen, cluster.nodes[0].addr(), cluster.nodes[1].addr());
        std::fs::write(dir.join("site.conf"), site).map_err(|e| e.to_string())?;
        let d = dir.display();
        let main_conf = format!(
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\ndaemon off;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/tmp/body;\n  \
             proxy_temp_path {d}/tmp/proxy;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  \
             scgi_temp_path {d}/tmp/scgi;\n  include {d}/site.conf;\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), main_conf).map_err(|e| e.to_string())?;
        cluster.proxy_log = dir.join("error.log");
        let child = Command::new(&nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", nginx.display()))?;
        cluster.nginx = Some(child);
        cluster.url = format!("http://{listen}");

        let until = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(n) = cluster.nginx.as_mut() {
                if let Ok(Some(status)) = n.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = n.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    let log = std::fs::read_to_string(&cluster.proxy_log).unwrap_or_default();
                    return Err(format!("nginx exited ({status}): {err}\n{log}"));
                }
            }
            match http_get(&format!("{}/readyz", cluster.url)) {
                Ok((200, _)) => return Ok(cluster),
                _ if Instant::now() > until => {
                    return Err(format!("{}/readyz did not answer 200 within {START_TIMEOUT:?}", cluster.url))
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Whether nginx and both nodes are still running; the name of the first that is not.
    pub fn check(&mut self) -> Result<(), String> {
        if let Some(n) = self.nginx.as_mut() {
            if !matches!(n.try_wait(), Ok(None)) {
                return Err(format!("nginx stopped (log: {})", self.proxy_log.display()));
            }
        }
        for node in &mut self.nodes {
            if !node.running() {
                return Err(format!("node {} stopped (log: {})", node.name, node.log.display()));
            }
        }
        Ok(())
    }

    /// Stops nginx, then the nodes (each drains its requests), waiting for all of them.
    pub fn stop(&mut self) {
        if let Some(mut n) = self.nginx.take() {
            terminate(&mut n, Duration::from_secs(5));
        }
        for node in &mut self.nodes {
            terminate(&mut node.child, Duration::from_secs(10));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The repository root, from a crate directory two levels below it (`crates/server`) or one
/// (`xtask`): the first ancestor holding `deploy/`.
pub fn repository_root(from: &Path) -> Option<PathBuf> {
    from.ancestors().find(|p| p.join("deploy").is_dir()).map(Path::to_path_buf)
}
