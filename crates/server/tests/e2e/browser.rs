//! Headless Chromium driven over WebDriver: a `chromedriver` child process per test, a
//! fantoccini session, step screenshots under `target/e2e/<test>/`, and waits on
//! `data-testid` hooks.

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long any wait for the page may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

/// The Chromium binary (Debian's `chromium` package; `cargo xtask ci` installs it).
const CHROMIUM: &str = "/usr/bin/chromium";
/// The driver binary (Debian's `chromium-driver` package).
const CHROMEDRIVER: &str = "chromedriver";

/// The browser window: desktop, or a phone (emulated device metrics, touch, DPR 2).
#[derive(Debug, Clone, Copy)]
pub enum Viewport {
    Desktop,
    Phone { width: u32, height: u32 },
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// The workspace's cargo target directory: the test binary lives in `<target>/<profile>/deps`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() { dir } else { workspace_root().join(dir) };
    }
    let exe = std::env::current_exe().expect("current test binary");
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "deps"))
        .and_then(|deps| deps.parent()?.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("workspace root").to_path_buf()
}

/// A `chromedriver` child process in its own process group; the group (driver and any
/// browser it started) is killed on drop.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start() -> Self {
        use std::os::unix::process::CommandExt;
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: install Debian's `chromium` (cargo xtask ci does); browser tests never skip"
        );
        let port = free_port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{CHROMEDRIVER}` ({e}): install Debian's `chromium-driver` \
                     (cargo xtask ci does); browser tests never skip"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("chromedriver exited before listening: {status}");
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port} within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = std::env::temp_dir().join(format!("kc-e2e-chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).expect("create the browser profile dir");
        Self { child, port, profile }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Our own process group: chromedriver and the Chromium it launched.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `POST /session/{id}/se/log`: ChromeDriver's browser console log (entries since the
/// previous call).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": "browser" }).to_string()))
    }
}

/// A browser session for one test.
pub struct Browser {
    pub client: Client,
    shots: PathBuf,
    shot_no: AtomicUsize,
    console: std::sync::Mutex<Vec<String>>,
    // Dropped last: kills the driver and the browser even when the test panics.
    _driver: Driver,
}

impl Browser {
    /// Starts Chromium for test `name`; screenshots go to `target/e2e/<name>/` (emptied first).
    pub async fn start(name: &str, viewport: Viewport) -> Self {
        let driver = Driver::start();
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--force-color-profile=srgb".to_owned(),
            "--lang=en-US".to_owned(),
            format!("--user-data-dir={}", driver.profile.display()),
        ];
        let mut chrome = json!({ "binary": CHROMIUM });
        match viewport {
            Viewport::Desktop => args.push("--window-size=1280,900".to_owned()),
            Viewport::Phone { width, height } => {
                args.push(format!("--window-size={width},{height}"));
                chrome["mobileEmulation"] =
                    json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true } });
            }
        }
        chrome["args"] = json!(args);
        let caps: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": chrome,
            "goog:loggingPrefs": { "browser": "ALL" },
        }))
        .expect("capabilities object");
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("a Chromium session through chromedriver ({CHROMIUM}): {e}"));
        let shots = target_dir().join("e2e").join(name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("create {}: {e}", shots.display()));
        Self { client, shots, shot_no: AtomicUsize::new(0), console: Default::default(), _driver: driver }
    }

    /// Navigates the top-level page.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Saves a PNG of the viewport as `<nn>-<step>.png`; returns its path. Waits (briefly)
    /// for finite CSS animations and transitions of the current document to end, so the
    /// picture shows the settled screen rather than a fade.
    pub async fn shot(&self, step: &str) -> PathBuf {
        self.capture(step).await.unwrap_or_else(|e| panic!("screenshot {step}: {e}"))
    }

    /// Like [`Browser::shot`], for a screen that may vanish any moment (the widget's "done"
    /// screen before the SDK removes the iframe): a failure is only reported.
    pub async fn try_shot(&self, step: &str) -> Option<PathBuf> {
        self.capture(step).await.map_err(|e| eprintln!("screenshot {step} skipped: {e}")).ok()
    }

    async fn capture(&self, step: &str) -> Result<PathBuf, String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            let busy = self
                .client
                .execute(
                    "return document.getAnimations().filter(function (a) { \
                       return a.playState === 'running' && a.effect && \
                         isFinite(a.effect.getComputedTiming().endTime); }).length;",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            if busy == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let png = self.client.screenshot().await.map_err(|e| e.to_string())?;
        let n = self.shot_no.fetch_add(1, Ordering::SeqCst) + 1;
        let path = self.shots.join(format!("{n:02}-{step}.png"));
        std::fs::write(&path, png).map_err(|e| format!("write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// Runs `script` (a function body; `arguments` as usual) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap_or_else(|e| panic!("script failed ({e}): {script}"))
    }

    /// Polls `check` until it yields `Some`, failing with `what` after [`WAIT`].
    pub async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if Instant::now() > deadline {
                let body = self.js("return document.body ? document.body.innerText : ''", vec![]).await;
                panic!("timed out after {WAIT:?} waiting for {what}; page text:\n{}", body.as_str().unwrap_or(""));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The element with `data-testid`, once it exists and is displayed.
    pub async fn visible(&self, testid: &str) -> Element {
        let css = format!("[data-testid=\"{testid}\"]");
        self.until(&format!("{testid} to be visible"), || async {
            let el = self.client.find(Locator::Css(&css)).await.ok()?;
            el.is_displayed().await.ok()?.then_some(el)
        })
        .await
    }

    /// Whether an element with `data-testid` is currently displayed.
    pub async fn is_visible(&self, testid: &str) -> bool {
        let css = format!("[data-testid=\"{testid}\"]");
        match self.client.find(Locator::Css(&css)).await {
            Ok(el) => el.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Waits for `testid` to be visible and enabled, then clicks it.
    pub async fn click(&self, testid: &str) {
        let el = self.visible(testid).await;
        self.until(&format!("{testid} to be enabled"), || async { el.is_enabled().await.ok()?.then_some(()) }).await;
        el.click().await.unwrap_or_else(|e| panic!("click {testid}: {e}"));
    }

    /// Types `text` into the input `testid`.
    pub async fn type_into(&self, testid: &str, text: &str) {
        let el = self.visible(testid).await;
        el.clear().await.unwrap_or_else(|e| panic!("clear {testid}: {e}"));
        el.send_keys(text).await.unwrap_or_else(|e| panic!("type into {testid}: {e}"));
    }

    /// The visible text of `testid` (waits for it to be visible).
    pub async fn text(&self, testid: &str) -> String {
        self.visible(testid).await.text().await.unwrap_or_else(|e| panic!("text of {testid}: {e}"))
    }

    /// Waits until the text of `testid` satisfies `ok`; returns it.
    pub async fn text_until(&self, testid: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let css = format!("[data-testid=\"{testid}\"]");
        self.until(&format!("{testid} to show {what}"), || async {
            let el = self.client.find(Locator::Css(&css)).await.ok()?;
            let text = el.text().await.ok()?;
            ok(&text).then_some(text)
        })
        .await
    }

    /// Switches into the widget iframe the SDK mounted (waits for it).
    pub async fn enter_widget(&self) {
        let frame = self
            .until("the Kryptos Connect iframe overlay", || async {
                self.client.find(Locator::Css("[data-kryptos-connect=overlay] iframe")).await.ok()
            })
            .await;
        frame.enter_frame().await.expect("switch into the widget iframe");
    }

    /// Back to the top-level page (also works when the iframe was just removed).
    pub async fn leave_widget(&self) {
        let window = self.client.window().await.expect("current window handle");
        self.client.switch_to_window(window).await.expect("switch to the top-level page");
    }

    /// How many SDK overlays and iframes the top-level page holds.
    pub async fn overlay_count(&self) -> (u64, u64) {
        let v = self
            .js(
                "return [document.querySelectorAll('[data-kryptos-connect]').length, \
                 document.querySelectorAll('iframe').length];",
                vec![],
            )
            .await;
        (v[0].as_u64().unwrap_or(u64::MAX), v[1].as_u64().unwrap_or(u64::MAX))
    }

    /// New console entries since the last call, as `LEVEL message` lines.
    pub async fn console(&self) -> Vec<String> {
        let v = self.client.issue_cmd(BrowserLog).await.expect("read the browser console log");
        let lines: Vec<String> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| format!("{} {}", e["level"].as_str().unwrap_or("?"), e["message"].as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default();
        self.console.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(lines.clone());
        lines
    }

    /// Fails on a Content-Security-Policy violation or an uncaught script error in the console.
    pub async fn assert_clean_console(&self) {
        self.console().await;
        let all = self.console.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let bad: Vec<&String> = all
            .iter()
            .filter(|l| l.contains("Content Security Policy") || l.contains("Uncaught") || l.contains("TypeError"))
            .collect();
        assert!(bad.is_empty(), "the browser console shows script or CSP errors:\n{bad:#?}\nfull log:\n{all:#?}");
    }

    /// Ends the WebDriver session (Chromium exits); the driver goes on drop.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
