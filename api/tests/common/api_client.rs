//! What the REST API tests share: a server configuration on a fresh data
//! directory, and a small HTTP client (JSON in, JSON out, over a real socket).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value as Json;
use volley::server::ServeConfig;

/// How long a test waits for a run to reach a state.
pub const LONG: Duration = Duration::from_secs(60);

/// A fresh, empty data directory.
pub fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "volley-api-{name}-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A server on a free loopback port with a fresh data directory, quick to
/// stream and to retry webhooks.
pub fn config(name: &str) -> ServeConfig {
    ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir(name),
        stream_interval: Duration::from_millis(250),
        webhook_backoff: Duration::from_millis(50),
        ..ServeConfig::default()
    }
}

/// An API server's address and the token to send.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Json {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The error code of an error response.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.json()))
            .to_owned()
    }
}

impl Api {
    pub fn new(base: impl Into<String>, token: Option<&str>) -> Self {
        Self {
            base: base.into(),
            token: token.map(str::to_owned),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends a request; `body` with its content type.
    pub async fn call(&self, method: Method, path: &str, body: Option<(&str, Vec<u8>)>) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let payload = match body {
            Some((content_type, bytes)) => {
                request = request.header("content-type", content_type);
                bytes
            }
            None => Vec::new(),
        };
        let response = self
            .client
            .request(request.body(Full::new(Bytes::from(payload))).unwrap())
            .await
            .expect("the API answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn post_json(&self, path: &str, json: &Json) -> Reply {
        self.call(
            Method::POST,
            path,
            Some(("application/json", json.to_string().into_bytes())),
        )
        .await
    }

    pub async fn patch_json(&self, path: &str, json: &Json) -> Reply {
        self.call(
            Method::PATCH,
            path,
            Some(("application/json", json.to_string().into_bytes())),
        )
        .await
    }

    /// Uploads a component; returns the reply.
    pub async fn upload(&self, bytes: &[u8], name: &str) -> Reply {
        self.call(
            Method::POST,
            &format!("/v1/scenarios?name={name}"),
            Some(("application/wasm", bytes.to_vec())),
        )
        .await
    }

    /// Uploads the component at `path` and returns its id.
    pub async fn upload_file(&self, path: &str, name: &str) -> String {
        let reply = self.upload(&std::fs::read(path).unwrap(), name).await;
        assert!(matches!(reply.status, 200 | 201), "{reply:?}");
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    /// Starts a run; returns its id.
    pub async fn start_run(&self, request: Json) -> String {
        let reply = self.post_json("/v1/runs", &request).await;
        assert_eq!(
            reply.status,
            201,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    /// The run `id`.
    pub async fn run(&self, id: &str) -> Json {
        let reply = self.get(&format!("/v1/runs/{id}")).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json()
    }

    /// Polls run `id` until `done` holds, or panics after `limit`.
    pub async fn wait_for(&self, id: &str, limit: Duration, done: impl Fn(&Json) -> bool) -> Json {
        let deadline = Instant::now() + limit;
        loop {
            let run = self.run(id).await;
            if done(&run) {
                return run;
            }
            assert!(Instant::now() < deadline, "gave up waiting; run is {run:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls run `id` until it has `status`.
    pub async fn wait_for_status(&self, id: &str, status: &str, limit: Duration) -> Json {
        self.wait_for(id, limit, |run| run["status"] == status)
            .await
    }

    /// Reads a Server-Sent Events stream to its end: (event, JSON data) pairs.
    pub async fn events(&self, path: &str) -> Vec<(String, Json)> {
        let mut request = Request::get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let text = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(text.to_vec()).unwrap();
        text.split("\n\n")
            .filter_map(|block| {
                let mut event = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event = Some(name.to_owned());
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                Some((event?, serde_json::from_str(&data).unwrap()))
            })
            .collect()
    }
}
