//! Rendering pages that need JavaScript, in headless Chromium, with the client's SSRF guarantees.
//!
//! [`Browser::render`] runs the Chromium command line once per page
//! (`--headless --dump-dom --screenshot=…`; one run gives both the DOM after scripts ran
//! and a PNG of the window). Chromium would resolve names and connect by itself, so it is
//! fenced in:
//!
//! * the URL is checked first like [`SafeClient::fetch`](crate::SafeClient::fetch) does
//!   (only `http`/`https`, no user name, IP literals in any notation, the host name must
//!   resolve to a permitted address), so `file:`, `data:`, `chrome:` … never reach Chromium;
//! * every request Chromium makes goes to a [`GuardProxy`] started for this render
//!   (`--proxy-server`, with `--proxy-bypass-list=<-loopback>` so loopback is proxied
//!   too), which resolves and checks each target and connects only to permitted addresses;
//! * Chromium's own resolver answers "not found" for every name
//!   (`--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1`), so nothing it could
//!   do outside the proxy can reach a named host;
//! * WebRTC may not send UDP outside the proxy (the profile's `webrtc.ip_handling_policy`
//!   preference is `disable_non_proxied_udp`; the command-line switch alone is ignored in
//!   headless mode) and QUIC is off;
//! * a fresh profile directory (removed afterwards), `HOME` and XDG dirs inside it, and a
//!   cleared environment;
//! * the whole render is bounded by [`RenderOptions::timeout`]; on timeout, error or
//!   cancellation Chromium's whole process group is killed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::Semaphore;
use url::{Host, Url};

use crate::client::{Overrides, check_url, normalize_overrides, resolve_permitted};
use crate::guard_proxy::{GuardProxy, ProxyLimits, Refusal};
use crate::{WebError, WebPolicy};

/// Where [`Browser::detect`] looks, in order, when given no path. Debian's
/// `/usr/lib/chromium/chromium` comes first: `/usr/bin/chromium` is a shell wrapper that
/// adds flags of its own (it loads extensions).
const CANDIDATES: &[&str] = &[
    "/usr/lib/chromium/chromium",
    "chromium",
    "chromium-browser",
    "chrome-headless-shell",
    "headless_shell",
    "google-chrome-stable",
    "google-chrome",
];

/// Most bytes of Chromium's standard error kept (for the failure reason).
const MAX_STDERR: u64 = 64 * 1024;

/// How one page is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Bound on the whole render: starting Chromium, loading, scripts, screenshot. Default 30 s.
    pub timeout: Duration,
    /// Virtual time scripts get to run after load (`--virtual-time-budget`). Default 5 s.
    pub virtual_time_budget: Duration,
    /// Window (and screenshot) size in CSS pixels, width × height. Default 1280 × 1600.
    pub window: (u32, u32),
    /// Whether to take a PNG screenshot. Default true.
    pub screenshot: bool,
    /// Network bytes (both directions, all requests) a render may use; past it the proxy
    /// cuts connections and Chromium renders what it got ([`Rendered::hit_byte_limit`]). Default 25 MiB.
    pub max_network_bytes: u64,
    /// Largest rendered HTML accepted, else [`WebError::TooLarge`]. Default 10 MiB.
    pub max_html_bytes: u64,
    /// Largest screenshot accepted, else [`WebError::TooLarge`]. Default 20 MiB.
    pub max_screenshot_bytes: u64,
    /// `User-Agent` for Chromium; `None` keeps Chromium's own (sites serve real pages to it).
    pub user_agent: Option<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            virtual_time_budget: Duration::from_secs(5),
            window: (1280, 1600),
            screenshot: true,
            max_network_bytes: 25 * 1024 * 1024,
            max_html_bytes: 10 * 1024 * 1024,
            max_screenshot_bytes: 20 * 1024 * 1024,
            user_agent: None,
        }
    }
}

/// A rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The URL asked for. Chromium's command line does not tell where redirects ended, so
    /// this is not necessarily the final URL; use it as the base for [`crate::extract`].
    pub url: Url,
    /// The DOM after scripts ran, serialized (`document.documentElement.outerHTML`).
    pub html: String,
    /// PNG of the window ([`RenderOptions::window`]), when asked for.
    pub screenshot_png: Option<Vec<u8>>,
    /// How long the render took.
    pub elapsed: Duration,
    /// Requests of the page the proxy refused (private addresses and the like).
    pub refused: Vec<Refusal>,
    /// Network bytes used.
    pub network_bytes: u64,
    /// Whether [`RenderOptions::max_network_bytes`] was reached (the page may be incomplete).
    pub hit_byte_limit: bool,
}

/// A headless Chromium found on this machine. Cheap to clone; clones share the
/// concurrency limit.
#[derive(Debug, Clone)]
pub struct Browser {
    path: PathBuf,
    slots: Arc<Semaphore>,
}

impl Browser {
    /// Finds Chromium: `path_override` if given (and nothing else), else the first
    /// executable of [`/usr/lib/chromium/chromium`, `chromium`, `chromium-browser`,
    /// `chrome-headless-shell`, `headless_shell`, `google-chrome-stable`, `google-chrome`]
    /// (names looked up in `PATH`). `None` when there is none. Only checks that the file
    /// is executable; it does not start it. At most 2 renders run at once
    /// ([`Browser::with_max_concurrent`]).
    pub fn detect(path_override: Option<PathBuf>) -> Option<Browser> {
        let path = match path_override {
            Some(path) => is_executable(&path).then_some(path)?,
            None => CANDIDATES.iter().find_map(|c| find_executable(c))?,
        };
        Some(Browser { path, slots: Arc::new(Semaphore::new(2)) })
    }

    /// Allows `n` (at least 1) renders at once; more wait their turn (the wait counts
    /// against no timeout). Each render is a Chromium of a few hundred MB.
    pub fn with_max_concurrent(self, n: usize) -> Browser {
        Browser { slots: Arc::new(Semaphore::new(n.max(1))), ..self }
    }

    /// The Chromium executable used.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renders `url` under `policy` (its allow-list and connect timeout apply to every
    /// request of the page; its `timeout`, `max_bytes` and `max_redirects` do not, see
    /// `options`). Run [`crate::extract`] on [`Rendered::html`] for the text.
    ///
    /// Errors: the client's URL errors ([`WebError::SchemeNotAllowed`], [`WebError::Blocked`] …)
    /// before Chromium starts; [`WebError::Blocked`] also when the page itself could not load
    /// because the proxy refused it (a redirect to a private address); [`WebError::Timeout`];
    /// [`WebError::TooLarge`]; [`WebError::Transport`] when Chromium fails or the page does
    /// not load (HTTP error statuses included).
    pub async fn render(&self, url: &str, policy: &WebPolicy, options: &RenderOptions) -> Result<Rendered, WebError> {
        self.render_inner(url, policy, options, None).await
    }

    /// Test hook: like [`Browser::render`], but names found in `overrides` resolve to the
    /// given addresses (for the entry check and in the proxy). The addresses are still checked.
    #[doc(hidden)]
    pub async fn render_with_resolver_override(
        &self,
        url: &str,
        policy: &WebPolicy,
        options: &RenderOptions,
        overrides: HashMap<String, Vec<IpAddr>>,
    ) -> Result<Rendered, WebError> {
        self.render_inner(url, policy, options, Some(Arc::new(normalize_overrides(overrides)))).await
    }

    async fn render_inner(
        &self,
        url: &str,
        policy: &WebPolicy,
        options: &RenderOptions,
        overrides: Overrides,
    ) -> Result<Rendered, WebError> {
        let url = Url::parse(url.trim()).map_err(|e| WebError::InvalidUrl(e.to_string()))?;
        check_url(&url, &policy.allow)?;
        if let Some(Host::Domain(name)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(80);
            resolve_permitted(name, port, &policy.allow, &overrides).await?;
        }
        let _slot = self.slots.acquire().await.map_err(|_| WebError::Transport("the browser is shut down".into()))?;
        let started = Instant::now();
        let limits = ProxyLimits {
            max_total_bytes: options.max_network_bytes,
            lifetime: options.timeout.saturating_add(Duration::from_secs(1)),
            ..ProxyLimits::default()
        };
        let proxy = GuardProxy::start_inner(policy, limits, overrides).await?;
        let profile = ProfileDir::create()?;
        let run = self.run_chromium(&url, &proxy, &profile, options);
        let result = match tokio::time::timeout(options.timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(WebError::Timeout),
        };
        // Whatever happened, no Chromium process outlives the render.
        profile.kill_group();
        let refused = proxy.refusals();
        let network_bytes = proxy.bytes_relayed();
        let hit_byte_limit = proxy.hit_byte_limit();
        drop(proxy);
        profile.remove().await;
        let (html, screenshot_png) = result.map_err(|e| match (e, refused.first()) {
            // The page did not load and the proxy refused something: most likely the page
            // itself (a redirect to a private address).
            (WebError::Transport(_), Some(first)) => first.error.clone(),
            (other, _) => other,
        })?;
        Ok(Rendered { url, html, screenshot_png, elapsed: started.elapsed(), refused, network_bytes, hit_byte_limit })
    }

    async fn run_chromium(
        &self,
        url: &Url,
        proxy: &GuardProxy,
        profile: &ProfileDir,
        options: &RenderOptions,
    ) -> Result<(String, Option<Vec<u8>>), WebError> {
        let shot_path = profile.path.join("screenshot.png");
        profile.write_preferences().await?;
        let mut command = Command::new(&self.path);
        command.args(chromium_args(proxy, &profile.path.join("profile"), options));
        if options.screenshot {
            command.arg(format!("--screenshot={}", shot_path.display()));
        }
        command.arg("--").arg(url.as_str());
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))
            .env("HOME", &profile.path)
            .env("XDG_CONFIG_HOME", profile.path.join("config"))
            .env("XDG_CACHE_HOME", profile.path.join("cache"))
            .env("LANG", "C.UTF-8")
            .current_dir(&profile.path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child =
            command.spawn().map_err(|e| WebError::Transport(format!("could not start the browser: {e}")))?;
        profile.set_group(child.id());
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let read_out = async {
            match stdout {
                Some(out) => read_capped(out, options.max_html_bytes).await,
                None => Ok(Vec::new()),
            }
        };
        let read_err = async {
            match stderr {
                Some(err) => read_stderr(err).await,
                None => String::new(),
            }
        };
        let wait = async { child.wait().await.map_err(|e| WebError::Transport(format!("the browser failed: {e}"))) };
        let (out, err, status) = tokio::join!(read_out, read_err, wait);
        let status = status?;
        let out = out?;
        if let Some(reason) = load_failure(&err) {
            return Err(match reason.as_str() {
                "net::ERR_TIMED_OUT" => WebError::Timeout,
                _ => WebError::Transport(format!("the browser could not load the page ({reason})")),
            });
        }
        if !status.success() {
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
            return Err(WebError::Transport(format!("the browser failed ({status}): {last}")));
        }
        let html = String::from_utf8_lossy(&out).into_owned();
        let screenshot = if options.screenshot { Some(read_png(&shot_path, options).await?) } else { None };
        Ok((html, screenshot))
    }
}

/// The Chromium flags of one render (without the screenshot flag and the URL).
fn chromium_args(proxy: &GuardProxy, user_data_dir: &Path, options: &RenderOptions) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-breakpad",
        "--disable-client-side-phishing-detection",
        "--disable-domain-reliability",
        "--disable-features=MediaRouter,DialMediaRouteProvider,OptimizationHints,Translate,NetworkTimeServiceQuerying,AutofillServerCommunication",
        "--no-first-run",
        "--no-default-browser-check",
        "--no-pings",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--mute-audio",
        "--disable-quic",
        "--dns-prefetch-disable",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--dump-dom",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(format!("--proxy-server={}", proxy.url()));
    args.push(format!("--user-data-dir={}", user_data_dir.display()));
    args.push(format!("--virtual-time-budget={}", options.virtual_time_budget.as_millis()));
    args.push(format!("--window-size={},{}", options.window.0.max(1), options.window.1.max(1)));
    if let Some(agent) = &options.user_agent {
        args.push(format!("--user-agent={agent}"));
    }
    args
}

/// The `net::ERR_…` code of `Page load failed: net::ERR_…` in Chromium's log.
fn load_failure(stderr: &str) -> Option<String> {
    let line = stderr.lines().find(|l| l.contains("Page load failed"))?;
    let code = line.split_whitespace().find(|w| w.starts_with("net::ERR_")).unwrap_or("unknown error");
    Some(code.to_owned())
}

async fn read_capped(mut reader: impl AsyncRead + Unpin, limit: u64) -> Result<Vec<u8>, WebError> {
    let mut out = Vec::new();
    (&mut reader)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .await
        .map_err(|e| WebError::Transport(format!("reading the browser's output failed: {e}")))?;
    if out.len() as u64 > limit {
        return Err(WebError::TooLarge { limit });
    }
    Ok(out)
}

/// The first [`MAX_STDERR`] bytes; the rest is drained so Chromium never blocks on the pipe.
async fn read_stderr(mut reader: impl AsyncRead + Unpin) -> String {
    let mut kept = Vec::new();
    let _ = (&mut reader).take(MAX_STDERR).read_to_end(&mut kept).await;
    let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
    String::from_utf8_lossy(&kept).into_owned()
}

async fn read_png(path: &Path, options: &RenderOptions) -> Result<Vec<u8>, WebError> {
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| WebError::Transport(format!("the browser wrote no screenshot: {e}")))?
        .len();
    if size > options.max_screenshot_bytes {
        return Err(WebError::TooLarge { limit: options.max_screenshot_bytes });
    }
    let png =
        tokio::fs::read(path).await.map_err(|e| WebError::Transport(format!("could not read the screenshot: {e}")))?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(WebError::Transport("the browser's screenshot is not a PNG".to_owned()));
    }
    Ok(png)
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_executable(name: &str) -> Option<PathBuf> {
    let candidate = Path::new(name);
    if candidate.is_absolute() {
        return is_executable(candidate).then(|| candidate.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

/// A private temporary directory for one render (profile, HOME, screenshot), and the
/// Chromium process group living in it. Dropping it kills the group and removes the directory.
#[derive(Debug)]
struct ProfileDir {
    path: PathBuf,
    group: std::sync::Mutex<Option<i32>>,
    removed: std::sync::atomic::AtomicBool,
}

impl ProfileDir {
    fn create() -> Result<ProfileDir, WebError> {
        let base = std::env::temp_dir();
        for _ in 0..8 {
            let path = base.join(format!("mezzofy-browser-{:016x}", rand::random::<u64>()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    return Ok(ProfileDir {
                        path,
                        group: std::sync::Mutex::new(None),
                        removed: std::sync::atomic::AtomicBool::new(false),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(WebError::Transport(format!("could not create a browser profile: {e}"))),
            }
        }
        Err(WebError::Transport("could not create a browser profile".to_owned()))
    }

    fn set_group(&self, pid: Option<u32>) {
        if let (Ok(mut group), Some(pid)) = (self.group.lock(), pid.and_then(|p| i32::try_from(p).ok())) {
            *group = Some(pid);
        }
    }

    /// Kills Chromium's whole process group (the browser started it with itself as leader).
    fn kill_group(&self) {
        let pgid = self.group.lock().ok().and_then(|mut g| g.take());
        if let Some(pgid) = pgid.filter(|p| *p > 1) {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
        }
    }

    /// Profile preferences Chromium honours where its command-line switch is ignored
    /// (headless mode ignores `--force-webrtc-ip-handling-policy`): WebRTC may not use UDP
    /// outside the proxy, so STUN/TURN packets cannot reach private addresses.
    async fn write_preferences(&self) -> Result<(), WebError> {
        let dir = self.path.join("profile").join("Default");
        let prefs = serde_json::json!({
            "webrtc": {
                "ip_handling_policy": "disable_non_proxied_udp",
                "multiple_routes_enabled": false,
                "nonproxied_udp_enabled": false,
            },
        });
        let write = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::write(dir.join("Preferences"), prefs.to_string()).await
        };
        write.await.map_err(|e| WebError::Transport(format!("could not create a browser profile: {e}")))
    }

    async fn remove(&self) {
        if !self.removed.swap(true, std::sync::atomic::Ordering::Relaxed) {
            // Children killed a moment ago may still hold files; a second try covers it.
            if tokio::fs::remove_dir_all(&self.path).await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = tokio::fs::remove_dir_all(&self.path).await;
            }
        }
    }
}

impl Drop for ProfileDir {
    fn drop(&mut self) {
        self.kill_group();
        if !self.removed.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_failure_codes() {
        let log = "[1:1:ERROR:headless_command_handler.cc:403] Page load failed: net::ERR_TUNNEL_CONNECTION_FAILED\n";
        assert_eq!(load_failure(log).as_deref(), Some("net::ERR_TUNNEL_CONNECTION_FAILED"));
        assert_eq!(load_failure("[1:1:ERROR:dbus/bus.cc:405] Failed to connect to the bus"), None);
    }

    #[test]
    fn detect_respects_the_override() {
        assert!(Browser::detect(Some(PathBuf::from("/nonexistent/chromium"))).is_none());
        assert!(Browser::detect(Some(PathBuf::from("/"))).is_none());
    }
}
