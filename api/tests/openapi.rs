//! `openapi/openapi.json` is the document the code generates: a test fails
//! when they drift (`VOLLEY_UPDATE_OPENAPI=1` rewrites the file), and the
//! document must validate as OpenAPI 3.x.

use std::path::PathBuf;
use std::process::Command;

use volley::server::{ServeConfig, Server, openapi_document};

fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

fn generated() -> String {
    serde_json::to_string_pretty(&openapi_document()).unwrap() + "\n"
}

#[test]
fn the_checked_in_document_matches_the_code() {
    let path = checked_in();
    if std::env::var("VOLLEY_UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&path, generated()).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated(),
        "openapi/openapi.json differs from the API the code serves; regenerate it with \
         VOLLEY_UPDATE_OPENAPI=1 cargo test --release -p volley --test openapi"
    );
}

#[test]
fn the_document_validates_as_openapi_3() {
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(checked_in())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "openapi-spec-validator (installed by .ci/test) rejected the document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_operation_documents_its_errors() {
    let doc = serde_json::to_value(openapi_document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 9, "{:?}", paths.keys());
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                operation["summary"].is_string(),
                "{method} {path} has no summary"
            );
            if path.starts_with("/v1") {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} does not document 401"
                );
                assert!(!operation["security"].is_null(), "{method} {path}");
                for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_the_same_document() {
    let dir = std::env::temp_dir().join(format!("volley-openapi-{}", std::process::id()));
    let server = Server::start(ServeConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.clone(),
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    let url = format!("{}/openapi.json", server.url());
    let body = tokio::task::spawn_blocking(move || {
        let output = Command::new("curl").args(["-sf", &url]).output().unwrap();
        assert!(output.status.success());
        output.stdout
    })
    .await
    .unwrap();
    let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, serde_json::to_value(openapi_document()).unwrap());
    server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
