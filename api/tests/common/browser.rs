//! Headless Chromium driven over the DevTools protocol (CDP), for tests that look at
//! a page as a person would: load it, wait for it to settle, click, read the console
//! errors, take a screenshot.
//!
//! ```ignore
//! let page = Browser::launch().await;
//! page.goto(&format!("http://{addr}/")).await;
//! page.wait_for("document.body.dataset.ready === '1'", Duration::from_secs(10)).await;
//! page.eval("document.querySelector('#start').click()").await;
//! assert_eq!(page.console_errors(), Vec::<String>::new());
//! page.screenshot(Path::new("target/dashboard.png")).await;
//! ```
//!
//! One websocket to the browser, one page attached to it with `flatten: true` (its
//! commands carry its `sessionId`), and one task that reads the socket: it hands each
//! response to the command waiting for its id, and keeps what the events tell.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long one CDP command, or a page load, may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long Chromium may take to start listening.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(20);
/// Chromium's flags, besides `--user-data-dir` and the first URL.
const FLAGS: &str = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --no-default-browser-check --remote-debugging-port=0 --window-size=1280,900";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A headless Chromium showing one page. Dropping it kills Chromium and every process
/// it forked, and removes its profile.
pub struct Browser {
    sink: tokio::sync::Mutex<SplitSink<Socket, Message>>,
    next_id: AtomicU64,
    session: String,
    shared: Arc<Shared>,
    process: Process,
}

/// What the reading task shares with the commands.
#[derive(Default)]
struct Shared {
    /// Commands waiting for their response, by id.
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>,
    errors: Mutex<Vec<String>>,
    /// The loaders (one per navigation) whose document fired its load event.
    loads: watch::Sender<Vec<String>>,
}

impl Browser {
    /// Starts `chromium` (or `$VOLLEY_CHROMIUM`) on a fresh profile, with a blank page.
    pub async fn launch() -> Browser {
        static LAUNCHES: AtomicU64 = AtomicU64::new(0);
        let binary = std::env::var("VOLLEY_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let n = LAUNCHES.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("volley-chromium-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile).expect("creating the Chromium profile");
        let log = std::fs::File::create(dir.join("chromium.log")).expect("creating its log");
        let mut command = Command::new(&binary);
        let profile_flag = format!("--user-data-dir={}", profile.display());
        command.args(FLAGS.split_whitespace());
        command.args([profile_flag.as_str(), "about:blank"]);
        command.stdin(Stdio::null()).stdout(Stdio::null());
        // Its own process group, so that Drop kills the renderers and helpers too.
        command.stderr(log).process_group(0);
        let child = command.spawn().unwrap_or_else(|e| {
            let _ = std::fs::remove_dir_all(&dir);
            panic!(
                "cannot start `{binary}` ({e}): the browser tests need Chromium; run \
                 `bash .ci/test`, which installs it (apt-get install chromium), or set VOLLEY_CHROMIUM"
            )
        });
        let mut process = Process { child, dir };

        // Once it listens, Chromium writes "PORT\n/devtools/browser/ID" there.
        let started = Instant::now();
        let url = loop {
            let active = std::fs::read_to_string(profile.join("DevToolsActivePort"));
            if let [port, path] = active.unwrap_or_default().lines().collect::<Vec<_>>()[..] {
                break format!("ws://127.0.0.1:{port}{path}");
            }
            let exited = process.child.try_wait().ok().flatten();
            if exited.is_some() || started.elapsed() > LAUNCH_TIMEOUT {
                let why = match exited {
                    Some(status) => format!("exited ({status}) before listening"),
                    None => format!("did not listen in {LAUNCH_TIMEOUT:?}"),
                };
                let log = std::fs::read_to_string(process.dir.join("chromium.log"));
                panic!("`{binary}` {why}:\n{}", log.unwrap_or_default());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("connecting to Chromium at {url}: {e}"));
        let (sink, stream) = socket.split();
        let shared = Arc::<Shared>::default();
        tokio::spawn(read(stream, shared.clone()));
        let mut browser = Browser {
            sink: tokio::sync::Mutex::new(sink),
            next_id: AtomicU64::new(1),
            session: String::new(),
            shared,
            process,
        };

        let target = browser.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let attach = json!({ "targetId": target.await.unwrap()["targetId"], "flatten": true });
        let attached = browser.call(None, "Target.attachToTarget", attach).await;
        browser.session = attached.unwrap()["sessionId"].as_str().unwrap().to_owned();
        // New headless takes toolbars off --window-size: the viewport is set instead.
        let size = json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false});
        for (method, params) in [
            ("Page.enable", json!({})),
            ("Runtime.enable", json!({})),
            ("Page.setLifecycleEventsEnabled", json!({ "enabled": true })),
            ("Emulation.setDeviceMetricsOverride", size),
        ] {
            browser.command(method, params).await;
        }
        browser
    }

    /// The `--user-data-dir`, which every Chromium process has on its command line.
    pub fn profile_dir(&self) -> PathBuf {
        self.process.dir.join("profile")
    }

    /// Sends a command to the page and waits (at most 30 s) for its result.
    pub async fn send(&self, method: &str, params: Value) -> Result<Value, String> {
        self.call(Some(&self.session), method, params).await
    }

    /// [`Browser::send`], panicking on an error.
    async fn command(&self, method: &str, params: Value) -> Value {
        let result = self.send(method, params).await;
        result.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends a command to the page (`session`) or to the browser, and waits for its result.
    async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(id, tx);
        let message = Message::Text(message.to_string().into());
        let result = match self.sink.lock().await.send(message).await {
            Err(e) => Err(format!("sending: {e}")),
            Ok(()) => match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err("Chromium closed the connection".to_owned()),
                Err(_) => Err(format!("no answer in {COMMAND_TIMEOUT:?}")),
            },
        };
        self.shared.pending.lock().unwrap().remove(&id);
        result.map_err(|e| format!("{method}: {e}"))
    }

    /// Navigates to `url` and waits for its load event; panics if that fails or takes 30 s.
    pub async fn goto(&self, url: &str) {
        let mut loads = self.shared.loads.subscribe();
        let navigated = self.command("Page.navigate", json!({ "url": url })).await;
        if let Some(error) = navigated["errorText"].as_str() {
            panic!("navigating to {url}: {error}");
        }
        // The load event of this navigation, not of an earlier one; a move within the
        // document (`#part`) has no loader and no load event.
        let Some(loader) = navigated["loaderId"].as_str() else {
            return;
        };
        let loaded = loads.wait_for(|loaders| loaders.iter().any(|id| id == loader));
        let loaded = tokio::time::timeout(COMMAND_TIMEOUT, loaded).await.is_ok();
        assert!(loaded, "{url} fired no load event in {COMMAND_TIMEOUT:?}");
    }

    /// Evaluates `js`, awaiting it if it is a promise, and returns its value (`undefined`
    /// is `null`); an exception is an error with its message.
    pub async fn try_eval(&self, js: &str) -> Result<Value, String> {
        let params = json!({
            "expression": js, "returnByValue": true, "awaitPromise": true, "userGesture": true,
        });
        let result = self.send("Runtime.evaluate", params).await?;
        match result.get("exceptionDetails") {
            Some(details) => Err(exception_text(details)),
            None => Ok(result["result"]["value"].clone()),
        }
    }

    /// [`Browser::try_eval`], panicking on an exception with its message.
    pub async fn eval(&self, js: &str) -> Value {
        let value = self.try_eval(js).await;
        value.unwrap_or_else(|e| panic!("evaluating `{js}`: {e}"))
    }

    /// Evaluates `condition` every 100 ms until it is truthy, and returns that value; an
    /// exception counts as not yet. Panics after `timeout` with the last value or error.
    pub async fn wait_for(&self, condition: &str, timeout: Duration) -> Value {
        let started = Instant::now();
        loop {
            let last = self.try_eval(condition).await;
            match &last {
                Ok(Value::Null | Value::Bool(false)) => {}
                Ok(Value::String(s)) if s.is_empty() => {}
                Ok(Value::Number(n)) if n.as_f64() == Some(0.0) => {}
                Ok(value) => return value.clone(),
                Err(_) => {}
            }
            if started.elapsed() >= timeout {
                panic!("`{condition}` still not true after {timeout:?}; last: {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the page's 1280×900 viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = json!({ "format": "png" });
        let shot = self.command("Page.captureScreenshot", png).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("a screenshot is base64");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// The page's `console.error` calls and uncaught exceptions so far, oldest first.
    pub fn console_errors(&self) -> Vec<String> {
        self.shared.errors.lock().unwrap().clone()
    }
}

/// Reads the socket until it closes: responses go to their command, events are kept.
async fn read(mut stream: SplitStream<Socket>, shared: Arc<Shared>) {
    while let Some(Ok(message)) = stream.next().await {
        // Chromium sends only text frames, each one JSON message.
        let Ok(message) = serde_json::from_slice::<Value>(&message.into_data()) else {
            continue;
        };
        let params = &message["params"];
        if let Some(id) = message["id"].as_u64() {
            let result = match message.get("error") {
                Some(error) => Err(error.to_string()),
                None => Ok(message["result"].clone()),
            };
            if let Some(tx) = shared.pending.lock().unwrap().remove(&id) {
                let _ = tx.send(result);
            }
        } else if message["method"] == "Page.lifecycleEvent" && params["name"] == "load" {
            let loader = params["loaderId"].as_str().unwrap_or_default().to_owned();
            shared.loads.send_modify(|loaders| loaders.push(loader));
        } else if message["method"] == "Runtime.consoleAPICalled" && params["type"] == "error" {
            let args = params["args"].as_array().into_iter().flatten();
            let text: Vec<String> = args.map(describe).collect();
            shared.errors.lock().unwrap().push(text.join(" "));
        } else if message["method"] == "Runtime.exceptionThrown" {
            let text = exception_text(&params["exceptionDetails"]);
            shared.errors.lock().unwrap().push(text);
        }
    }
    // Wakes the commands still waiting: their senders are dropped.
    shared.pending.lock().unwrap().clear();
}

/// A console argument (a RemoteObject) as text: its value, or else its description.
fn describe(object: &Value) -> String {
    match (&object["value"], object["description"].as_str()) {
        (Value::String(s), _) => s.clone(),
        (Value::Null, Some(description)) => description.to_owned(),
        (Value::Null, None) if object["subtype"] == "null" => "null".to_owned(),
        (Value::Null, None) => object["type"].as_str().unwrap_or("?").to_owned(),
        (value, _) => value.to_string(),
    }
}

/// An exception as text: "Uncaught" and the error's message and stack.
fn exception_text(details: &Value) -> String {
    let text = details["text"].as_str().unwrap_or("exception");
    match details["exception"]["description"].as_str() {
        Some(description) => format!("{text} {description}"),
        None => text.to_owned(),
    }
}

/// Chromium's process group and directory, which dropping kills and removes.
struct Process {
    child: Child,
    dir: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The helpers die a moment later, and may still write to the profile meanwhile.
        for _ in 0..50 {
            if std::fs::remove_dir_all(&self.dir).is_ok() || !self.dir.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
