//! Load with **wrk** (the Debian package, installed with apt-get when missing): one wrk per
//! target process, each with its share of the connections, and a generated Lua script that
//! sets the request, checks every answer's status and body, feeds fresh public tokens from a
//! file when the scenario consumes them, and prints one machine-readable summary line.

use super::scenarios::Scenario;
use super::server::{random_hex, Memory};
use super::Options;
use crate::{run_cmd, succeeds};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Marks wrk's summary line (printed by the script's `done`).
const MARK: &str = "KCBENCH";

/// Installs wrk with apt-get unless it is on the `PATH`.
pub(super) fn ensure_installed() -> Result<()> {
    if succeeds(Command::new("wrk").arg("--version")) || Command::new("wrk").arg("-v").output().is_ok() {
        return Ok(());
    }
    println!("wrk is not installed; installing the Debian package");
    let root = std::env::var("USER").is_ok_and(|u| u == "root")
        || Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut cmd = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run_cmd(&mut apt(&["update", "-q"]))?;
    run_cmd(&mut apt(&["install", "-y", "-q", "wrk"]))?;
    if Command::new("wrk").arg("-v").output().is_err() {
        bail!("wrk is still not on the PATH after apt-get install wrk");
    }
    Ok(())
}

/// A process under load.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
    /// Its pid, for memory readings.
    pub(crate) pid: u32,
}

/// Files of public tokens, one per wrk process; removed when dropped.
pub(super) struct TokenFiles(Vec<PathBuf>);

impl Drop for TokenFiles {
    fn drop(&mut self) {
        for f in &self.0 {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Writes each list of tokens to its own file.
pub(super) fn token_files(lists: &[Vec<String>]) -> Result<TokenFiles> {
    let mut files = TokenFiles(Vec::new());
    for list in lists {
        let path = std::env::temp_dir().join(format!("kc-bench-tokens-{}.txt", random_hex()));
        std::fs::write(&path, list.join("\n") + "\n").with_context(|| format!("cannot write {}", path.display()))?;
        files.0.push(path);
    }
    Ok(files)
}

/// What one scenario measured (over every target).
#[derive(Debug, Clone, Default)]
pub(crate) struct Measured {
    /// Completed requests.
    pub(crate) requests: u64,
    /// Answers that were not what the scenario expects, plus socket errors and timeouts.
    pub(crate) errors: u64,
    /// Seconds the load ran (until the token pool ran out, for the exchange).
    pub(crate) seconds: f64,
    /// Latency percentiles in ms (the worst target's, with several).
    pub(crate) p50_ms: f64,
    /// 99th percentile.
    pub(crate) p99_ms: f64,
    /// Maximum.
    pub(crate) max_ms: f64,
    /// Whether a token pool ran out before the time was up.
    pub(crate) exhausted: bool,
    /// The first unexpected answer, for the report.
    pub(crate) first_error: Option<String>,
    /// Peak RSS of the target processes during the run (the largest).
    pub(crate) memory: Memory,
}

impl Measured {
    /// Requests per second.
    pub(crate) fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// One line for the progress output.
    pub(crate) fn summary(&self) -> String {
        let mut s = format!(
            "{:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  {} errors",
            self.rate(),
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.errors
        );
        if self.memory.hwm_kib > 0 {
            s.push_str(&format!("  peak RSS {}", self.memory.peak()));
        }
        if self.exhausted {
            s.push_str(&format!(" (token pool ran out after {:.1} s)", self.seconds));
        }
        if let Some(e) = &self.first_error {
            s.push_str(&format!("; first error: {e}"));
        }
        s
    }
}

/// Runs `scenario` against every target at once for `duration`.
pub(super) fn run(targets: &[Target], scenario: &Scenario, opts: &Options, duration: Duration) -> Result<Measured> {
    run_inner(targets, scenario, opts, duration, None)
}

/// Runs a scenario that consumes public tokens: target `i` takes its tokens from file `i`.
pub(super) fn run_with_tokens(
    targets: &[Target],
    scenario: &Scenario,
    opts: &Options,
    duration: Duration,
    tokens: &TokenFiles,
) -> Result<Measured> {
    if tokens.0.len() != targets.len() {
        bail!("one token file per target is needed");
    }
    run_inner(targets, scenario, opts, duration, Some(tokens))
}

fn run_inner(
    targets: &[Target],
    scenario: &Scenario,
    opts: &Options,
    duration: Duration,
    tokens: Option<&TokenFiles>,
) -> Result<Measured> {
    let connections = (opts.concurrency / targets.len()).max(opts.threads);
    let mut scripts = Vec::new();
    let mut children = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let token_file = tokens.map(|t| t.0[i].clone());
        let script = std::env::temp_dir().join(format!("kc-bench-{}.lua", random_hex()));
        std::fs::write(&script, lua(scenario, opts.threads, token_file.as_ref()))
            .with_context(|| format!("cannot write {}", script.display()))?;
        let child = Command::new("wrk")
            .arg(format!("-t{}", opts.threads))
            .arg(format!("-c{connections}"))
            .arg(format!("-d{}s", duration.as_secs().max(1)))
            .arg("--timeout")
            .arg("10s")
            .arg("-s")
            .arg(&script)
            .arg(format!("http://127.0.0.1:{}{}", target.port, scenario.path))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start wrk")?;
        scripts.push(script);
        children.push(child);
    }
    let mut parts = Vec::new();
    for child in children {
        let out = child.wait_with_output().context("wrk did not finish")?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!("wrk failed ({}): {}{}", out.status, stdout, String::from_utf8_lossy(&out.stderr));
        }
        parts.push(parse(&stdout).with_context(|| format!("cannot read wrk's output:\n{stdout}"))?);
    }
    for s in scripts {
        let _ = std::fs::remove_file(s);
    }
    let mut total = Measured::default();
    for p in &parts {
        total.requests += p.requests;
        total.errors += p.errors;
        total.seconds = total.seconds.max(p.seconds);
        total.p50_ms = total.p50_ms.max(p.p50_ms);
        total.p99_ms = total.p99_ms.max(p.p99_ms);
        total.max_ms = total.max_ms.max(p.max_ms);
        total.exhausted |= p.exhausted;
        if total.first_error.is_none() {
            total.first_error.clone_from(&p.first_error);
        }
    }
    // Several wrk processes ran side by side: the rate is the sum of theirs.
    if parts.len() > 1 {
        let rate: f64 = parts.iter().map(Measured::rate).sum();
        total.seconds = total.requests as f64 / rate.max(f64::MIN_POSITIVE);
    }
    for t in targets {
        let m = Memory::of(t.pid);
        if m.hwm_kib > total.memory.hwm_kib {
            total.memory = m;
        }
    }
    Ok(total)
}

/// Parses the summary line the script prints.
fn parse(stdout: &str) -> Result<Measured> {
    let line = stdout.lines().find(|l| l.starts_with(MARK)).context("no summary line")?;
    let mut m = Measured::default();
    let (fields, first_error) = match line.split_once(" first_error=") {
        Some((f, e)) => (f, Some(e.to_owned()).filter(|e| !e.is_empty())),
        None => (line, None),
    };
    let get = |key: &str| -> Result<f64> {
        fields
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .with_context(|| format!("no {key}"))?
            .parse::<f64>()
            .with_context(|| format!("{key} is not a number"))
    };
    let requests = get("requests")?;
    let counted = get("counted")?;
    let exhausted = get("exhausted")? > 0.0;
    m.errors = (get("bad")? + get("errors")?) as u64;
    m.p50_ms = get("p50_us")? / 1000.0;
    m.p99_ms = get("p99_us")? / 1000.0;
    m.max_ms = get("max_us")? / 1000.0;
    m.exhausted = exhausted;
    if exhausted {
        // The pool ran out: count the answers to token requests over the time they took.
        m.requests = counted as u64;
        m.seconds = get("span_s")?;
    } else {
        m.requests = requests as u64;
        m.seconds = get("duration_us")? / 1e6;
    }
    m.first_error = first_error;
    Ok(m)
}

/// A Lua long-bracket string literal of `s`.
fn lua_str(s: &str) -> String {
    let mut level = 1;
    while s.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let eq = "=".repeat(level);
    format!("[{eq}[{s}]{eq}]")
}

/// The wrk script of `scenario`.
fn lua(scenario: &Scenario, threads: usize, tokens: Option<&PathBuf>) -> String {
    let mut s = String::from(
        r#"local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } kc_timespec;
int clock_gettime(int clk, kc_timespec *ts);
]]
local ts = ffi.new("kc_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end
local threads = {}
local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end
"#,
    );
    s.push_str(&format!("wrk.method = {}\n", lua_str(scenario.method)));
    for (name, value) in &scenario.headers {
        s.push_str(&format!("wrk.headers[ {} ] = {}\n", lua_str(name), lua_str(value)));
    }
    s.push_str(&format!("local threads_total = {threads}\n"));
    match (&scenario.body, tokens) {
        (Some(body), Some(file)) => {
            let (before, after) = body.split_once("{public_token}").unwrap_or((body.as_str(), ""));
            s.push_str(&format!(
                "local body_before, body_after = {}, {}\nlocal token_file = {}\n",
                lua_str(before),
                lua_str(after),
                lua_str(&file.display().to_string())
            ));
        }
        (Some(body), None) => s.push_str(&format!("wrk.body = {}\n", lua_str(body))),
        (None, _) => {}
    }
    s.push_str(
        r#"function init(args)
  bad = 0
  counted = 0
  first_error = ""
  exhausted = 0
  started = now()
  finished = started
  if token_file then
    tokens = {}
    local n = 0
    for line in io.lines(token_file) do
      if line ~= "" then
        if n % threads_total == tid then tokens[#tokens + 1] = line end
        n = n + 1
      end
    end
    next_token = 1
  else
    fixed = wrk.format()
  end
end
function request()
  if tokens then
    local t = tokens[next_token]
    if t == nil then
      if exhausted == 0 then
        exhausted = 1
        finished = now()
        wrk.thread:stop()
      end
      return wrk.format("GET", "/api/health", {}, nil)
    end
    next_token = next_token + 1
    return wrk.format(nil, nil, nil, body_before .. t .. body_after)
  end
  return fixed
end
"#,
    );
    if let Some(expect) = scenario.expect {
        s.push_str(&format!("local expect = {}\n", lua_str(expect)));
        s.push_str(
            r#"function response(status, headers, body)
  if exhausted == 1 then return end
  counted = counted + 1
  finished = now()
  if status ~= 200 or not string.find(body or "", expect, 1, true) then
    bad = bad + 1
    if first_error == "" then first_error = status .. " " .. string.sub(body or "", 1, 300) end
  end
end
"#,
        );
    }
    s.push_str(&format!(
        r#"function done(summary, latency, requests)
  local b, c, ex, span, first = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    b = b + (t:get("bad") or 0)
    c = c + (t:get("counted") or 0)
    ex = ex + (t:get("exhausted") or 0)
    local d = (t:get("finished") or 0) - (t:get("started") or 0)
    if d > span then span = d end
    local e = t:get("first_error") or ""
    if first == "" then first = e end
  end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  if not expect then errors = errors + e.status end
  io.write(string.format("{MARK} requests=%d duration_us=%d bad=%d errors=%d counted=%d exhausted=%d span_s=%.6f p50_us=%d p90_us=%d p99_us=%d max_us=%d first_error=%s\n",
    summary.requests, summary.duration, b, errors, c, ex, span,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    (string.gsub(first, "[\r\n]", " "))))
end
"#
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_is_parsed() {
        let out = "Running 1s test\nKCBENCH requests=1000 duration_us=2000000 bad=2 errors=1 counted=1000 exhausted=0 \
                   span_s=1.9 p50_us=1500 p90_us=2000 p99_us=3500 max_us=9000 first_error=401 {\"x\":1}\n";
        let m = parse(out).expect("parsed");
        assert_eq!(m.requests, 1000);
        assert_eq!(m.errors, 3);
        assert_eq!(m.rate(), 500.0);
        assert_eq!(m.p99_ms, 3.5);
        assert_eq!(m.first_error.as_deref(), Some("401 {\"x\":1}"));
        assert!(!m.exhausted);
    }

    #[test]
    fn an_exhausted_token_pool_counts_only_the_time_it_lasted() {
        let out = "KCBENCH requests=1200 duration_us=8000000 bad=0 errors=0 counted=1000 exhausted=1 span_s=0.5 \
                   p50_us=1 p90_us=1 p99_us=1 max_us=1 first_error=\n";
        let m = parse(out).expect("parsed");
        assert!(m.exhausted);
        assert_eq!(m.rate(), 2000.0);
        assert_eq!(m.first_error, None);
    }

    #[test]
    fn lua_strings_survive_closing_brackets() {
        assert_eq!(lua_str("a]=]b"), "[==[a]=]b]==]");
        assert_eq!(lua_str("{}"), "[=[{}]=]");
    }
}
