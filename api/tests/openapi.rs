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

/// The property names a schema of the document lists.
fn documented(name: &str) -> std::collections::BTreeSet<String> {
    let doc = serde_json::to_value(openapi_document()).unwrap();
    doc["components"]["schemas"][name]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {name}"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_documented_options_are_the_runtime_options() {
    use std::time::Duration;
    use volley_runtime::executor::{ExecutorConfig, Stage};
    use volley_runtime::options::Options;

    // Every field set (a new field breaks this literal until it is listed).
    let options = Options {
        vus: Some(1),
        duration: Some(Duration::from_secs(1)),
        iterations: Some(1),
        scenarios: Some([("a".to_owned(), serde_json::json!({}))].into()),
        thresholds: Some([("checks".to_owned(), serde_json::json!([]))].into()),
        env: [("A".to_owned(), "1".to_owned())].into(),
        tags: [("t".to_owned(), "1".to_owned())].into(),
        insecure_skip_tls_verify: Some(true),
        user_agent: Some("x".into()),
        setup_timeout: Some(Duration::from_secs(1)),
        teardown_timeout: Some(Duration::from_secs(1)),
    };
    let keys = serde_json::to_value(&options).unwrap();
    let keys: std::collections::BTreeSet<String> =
        keys.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, documented("RunOptions"));

    let second = Duration::from_secs(1);
    let executors = [
        ExecutorConfig::ConstantVus {
            vus: 1,
            duration: second,
        },
        ExecutorConfig::PerVuIterations {
            vus: 1,
            iterations: 1,
            max_duration: second,
        },
        ExecutorConfig::SharedIterations {
            vus: 1,
            iterations: 1,
            max_duration: second,
        },
        ExecutorConfig::ExternallyControlled {
            vus: 1,
            max_vus: Some(2),
            duration: second,
        },
        ExecutorConfig::RampingVus {
            start_vus: 0,
            stages: vec![Stage {
                duration: second,
                target: 1,
            }],
            graceful_ramp_down: second,
        },
        ExecutorConfig::ConstantArrivalRate {
            rate: 1,
            time_unit: second,
            duration: second,
            pre_allocated_vus: 1,
            max_vus: Some(2),
        },
        ExecutorConfig::RampingArrivalRate {
            start_rate: 0,
            time_unit: second,
            stages: vec![Stage {
                duration: second,
                target: 1,
            }],
            pre_allocated_vus: 1,
            max_vus: Some(2),
        },
    ];
    // A new executor breaks this match until it is listed above.
    let covered: std::collections::BTreeSet<u8> = executors
        .iter()
        .map(|e| match e {
            ExecutorConfig::ConstantVus { .. } => 0,
            ExecutorConfig::PerVuIterations { .. } => 1,
            ExecutorConfig::SharedIterations { .. } => 2,
            ExecutorConfig::ExternallyControlled { .. } => 3,
            ExecutorConfig::RampingVus { .. } => 4,
            ExecutorConfig::ConstantArrivalRate { .. } => 5,
            ExecutorConfig::RampingArrivalRate { .. } => 6,
        })
        .collect();
    assert_eq!(covered.len(), 7);
    let scenario_fields = documented("ScenarioOptions");
    let doc = serde_json::to_value(openapi_document()).unwrap();
    let names = &doc["components"]["schemas"]["ExecutorName"]["enum"];
    for executor in &executors {
        let json = serde_json::to_value(executor).unwrap();
        assert!(
            names.as_array().unwrap().contains(&json["executor"]),
            "{} is not in ExecutorName",
            json["executor"]
        );
        for key in json.as_object().unwrap().keys() {
            assert!(
                scenario_fields.contains(key),
                "{key} of {} is undocumented",
                json["executor"]
            );
        }
    }
    for common in ["exec", "startTime", "gracefulStop", "env", "tags"] {
        assert!(scenario_fields.contains(common), "{common}");
    }
}
