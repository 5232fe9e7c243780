//! The host HTTP client against real servers: redirects, TLS, HTTP/2.

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::response::Redirect;
use axum::routing::get;
use bytes::Bytes;
use common::{run, serve, stat};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use volley_example_artifacts::HELLO;

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_followed_and_each_hop_is_a_request() {
    let router = axum::Router::new()
        .route("/start", get(|| async { Redirect::to("/hello") }))
        .route("/hello", get(|| async { "hello" }));
    let (url, served) = serve(router).await;
    let report = run(
        HELLO,
        json!({"iterations": 3, "env": {"TARGET_URL": format!("{url}/start")}}),
    )
    .await
    .unwrap();
    assert_eq!(served.load(Ordering::SeqCst), 6);
    assert_eq!(stat(&report, "http_reqs", "count"), 6.0);
    assert_eq!(stat(&report, "checks", "passes"), 3.0);
    assert_eq!(
        report.snapshot.tag_values("http_reqs", "status"),
        ["200", "303"]
    );
}

/// An HTTPS server with a self-signed certificate offering `alpn`; counts requests.
async fn tls_server(alpn: &[&[u8]]) -> (String, Arc<AtomicU64>) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |_request| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from("hello"))))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread")]
async fn https_negotiates_http2_and_times_the_handshake() {
    let (url, served) = tls_server(&[b"h2", b"http/1.1"]).await;
    let report = run(
        HELLO,
        json!({"scenarios": {"tls": {"executor": "per-vu-iterations", "vus": 2, "iterations": 10}},
               "insecureSkipTLSVerify": true, "env": {"TARGET_URL": url}}),
    )
    .await
    .unwrap();
    assert_eq!(served.load(Ordering::SeqCst), 20);
    assert_eq!(stat(&report, "http_reqs", "count"), 20.0);
    assert_eq!(stat(&report, "checks", "passes"), 20.0);
    assert_eq!(
        report.snapshot.tag_values("http_reqs", "proto"),
        ["HTTP/2.0"]
    );
    // Each VU shook hands once and reused its connection afterwards.
    assert!(stat(&report, "http_req_tls_handshaking", "max") > 0.0);
    assert_eq!(stat(&report, "http_req_tls_handshaking", "med"), 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn https_falls_back_to_http1_when_the_server_offers_only_that() {
    let (url, served) = tls_server(&[b"http/1.1"]).await;
    let report = run(
        HELLO,
        json!({"iterations": 5, "insecureSkipTLSVerify": true, "env": {"TARGET_URL": url}}),
    )
    .await
    .unwrap();
    assert_eq!(served.load(Ordering::SeqCst), 5);
    assert_eq!(
        report.snapshot.tag_values("http_reqs", "proto"),
        ["HTTP/1.1"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_a_tls_failure() {
    let (url, served) = tls_server(&[b"h2"]).await;
    let report = run(HELLO, json!({"iterations": 2, "env": {"TARGET_URL": url}}))
        .await
        .unwrap();
    assert_eq!(served.load(Ordering::SeqCst), 0);
    assert_eq!(report.summary.request_failures.get("tls"), Some(&2));
}
