//! Run options in k6's JSON shape, and how they become a [`RunPlan`].
//!
//! Options come in layers, each overriding the one before: the scenario's own
//! `options()` export, a `--config` file (or an API request body), then CLI flags.
//! As in k6, the shortcuts `vus`/`duration`/`iterations` in a layer replace any
//! `scenarios` from the layers below.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::client::AllowList;
use crate::duration;
use crate::executor::ExecutorConfig;
use crate::thresholds::{self, MetricThresholds};

/// k6-style run options. Every field is optional; see [`Options::plan`] for defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Options {
    /// VUs for the shortcut load model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vus: Option<u32>,
    /// Duration for the shortcut load model (`constant-vus`).
    #[serde(
        default,
        with = "duration::serde_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<Duration>,
    /// Total iterations for the shortcut load model (`shared-iterations`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// Named scenarios, each with its own executor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenarios: Option<BTreeMap<String, Json>>,
    /// Pass/fail criteria per metric: `{"http_req_duration": ["p(95)<300"]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<BTreeMap<String, Json>>,
    /// Environment variables visible to the scenario through `vu.env`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Tags added to every sample of the run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Accept any TLS certificate.
    #[serde(
        default,
        rename = "insecureSkipTLSVerify",
        skip_serializing_if = "Option::is_none"
    )]
    pub insecure_skip_tls_verify: Option<bool>,
    /// The `User-Agent` header sent when a request sets none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Time limit of `setup` (default 60s).
    #[serde(
        default,
        with = "duration::serde_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub setup_timeout: Option<Duration>,
    /// Time limit of `teardown` (default 60s).
    #[serde(
        default,
        with = "duration::serde_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub teardown_timeout: Option<Duration>,
}

/// Options that cannot run, with a message naming the bad part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid options: {0}")]
pub struct OptionsError(pub String);

/// One load model of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioPlan {
    /// The scenario's name (`default` for the shortcut).
    pub name: String,
    /// Its executor and settings.
    pub executor: ExecutorConfig,
    /// The `exec` argument its iterations receive.
    pub exec: String,
    /// When it starts, after the run's start.
    pub start_time: Duration,
    /// How long in-flight iterations may finish after it ends.
    pub graceful_stop: Duration,
    /// Environment variables of this scenario (over the run's).
    pub env: BTreeMap<String, String>,
    /// Tags of this scenario's samples (over the run's).
    pub tags: BTreeMap<String, String>,
}

/// Everything a run needs to know, resolved and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    /// The load models, run side by side (each from its `start_time`).
    pub scenarios: Vec<ScenarioPlan>,
    /// Thresholds, per metric expression.
    pub thresholds: Vec<MetricThresholds>,
    /// The run's environment variables.
    pub env: BTreeMap<String, String>,
    /// Tags on every sample.
    pub tags: BTreeMap<String, String>,
    /// Accept any TLS certificate.
    pub insecure_skip_tls_verify: bool,
    /// Default `User-Agent`.
    pub user_agent: String,
    /// Time limit of `setup`.
    pub setup_timeout: Duration,
    /// Time limit of `teardown`.
    pub teardown_timeout: Duration,
    /// The only targets requests may go to (all when `None`). Set by the
    /// runner (a server's `--allow-target`), never by a scenario's options.
    pub allowed_targets: Option<Arc<AllowList>>,
}

impl RunPlan {
    /// VUs the run needs at most (all scenarios together).
    pub fn max_vus(&self) -> u32 {
        self.scenarios.iter().map(|s| s.executor.max_vus()).sum()
    }

    /// The VUs instantiated before the run starts (arrival-rate executors
    /// instantiate the rest of their `maxVUs` when they need them).
    pub fn initial_vus(&self) -> u32 {
        self.scenarios
            .iter()
            .map(|s| s.executor.initial_vus())
            .sum()
    }

    /// How long the run is planned to last: each scenario's start time plus its
    /// duration (or `maxDuration`), without graceful stops.
    pub fn planned_duration(&self) -> Duration {
        self.scenarios
            .iter()
            .map(|s| s.start_time + s.executor.max_duration())
            .max()
            .unwrap_or_default()
    }

    /// The longest the run can last, graceful stops included.
    pub fn max_duration(&self) -> Duration {
        self.scenarios
            .iter()
            .map(|s| s.start_time + s.executor.max_duration() + s.graceful_stop)
            .max()
            .unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommonScenarioOptions {
    #[serde(default = "default_exec")]
    exec: String,
    #[serde(default, with = "duration::serde_opt")]
    start_time: Option<Duration>,
    #[serde(default, with = "duration::serde_opt")]
    graceful_stop: Option<Duration>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

fn default_exec() -> String {
    "default".into()
}

const COMMON_KEYS: [&str; 5] = ["exec", "startTime", "gracefulStop", "env", "tags"];
const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Options {
    /// Parses options from JSON text, naming the bad field on error.
    pub fn from_json(text: &str) -> Result<Self, OptionsError> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                OptionsError(e.into_inner().to_string())
            } else {
                OptionsError(format!("{path}: {}", e.into_inner()))
            }
        })
    }

    /// Options from a JSON value (an API request's `options`), naming the bad
    /// field on error.
    pub fn from_value(value: Json) -> Result<Self, OptionsError> {
        if !value.is_object() {
            return Err(OptionsError(format!(
                "options must be a JSON object, not {value}"
            )));
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            OptionsError(format!("{path}: {}", e.into_inner()))
        })
    }

    /// These options with `higher` laid over them.
    pub fn merge(mut self, higher: Options) -> Options {
        let shortcut =
            higher.vus.is_some() || higher.duration.is_some() || higher.iterations.is_some();
        if shortcut && higher.scenarios.is_none() {
            self.scenarios = None;
        }
        if higher.scenarios.is_some() {
            self.vus = None;
            self.duration = None;
            self.iterations = None;
        }
        self.env.extend(higher.env);
        self.tags.extend(higher.tags);
        Options {
            vus: higher.vus.or(self.vus),
            duration: higher.duration.or(self.duration),
            iterations: higher.iterations.or(self.iterations),
            scenarios: higher.scenarios.or(self.scenarios),
            thresholds: higher.thresholds.or(self.thresholds),
            env: self.env,
            tags: self.tags,
            insecure_skip_tls_verify: higher
                .insecure_skip_tls_verify
                .or(self.insecure_skip_tls_verify),
            user_agent: higher.user_agent.or(self.user_agent),
            setup_timeout: higher.setup_timeout.or(self.setup_timeout),
            teardown_timeout: higher.teardown_timeout.or(self.teardown_timeout),
        }
    }

    /// Resolves the options into a plan, with k6's defaults.
    pub fn plan(&self) -> Result<RunPlan, OptionsError> {
        let scenarios = match &self.scenarios {
            Some(scenarios) => {
                if scenarios.is_empty() {
                    return Err(OptionsError("`scenarios` is empty".into()));
                }
                scenarios
                    .iter()
                    .map(|(name, json)| scenario_plan(name, json))
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => vec![self.shortcut_plan()?],
        };
        let thresholds = thresholds::parse_all(self.thresholds.as_ref())
            .map_err(|e| OptionsError(e.to_string()))?;
        Ok(RunPlan {
            scenarios,
            thresholds,
            env: self.env.clone(),
            tags: self.tags.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify.unwrap_or(false),
            user_agent: self
                .user_agent
                .clone()
                .unwrap_or_else(|| concat!("volley/", env!("CARGO_PKG_VERSION")).into()),
            setup_timeout: self.setup_timeout.unwrap_or(DEFAULT_TIMEOUT),
            teardown_timeout: self.teardown_timeout.unwrap_or(DEFAULT_TIMEOUT),
            allowed_targets: None,
        })
    }

    fn shortcut_plan(&self) -> Result<ScenarioPlan, OptionsError> {
        let vus = self.vus.unwrap_or(1);
        let executor = match (self.duration, self.iterations) {
            (Some(duration), None) => ExecutorConfig::ConstantVus { vus, duration },
            (duration, Some(iterations)) => ExecutorConfig::SharedIterations {
                vus,
                iterations,
                max_duration: duration.unwrap_or(crate::executor::DEFAULT_MAX_DURATION),
            },
            (None, None) => ExecutorConfig::PerVuIterations {
                vus,
                iterations: 1,
                max_duration: crate::executor::DEFAULT_MAX_DURATION,
            },
        };
        executor.validate().map_err(OptionsError)?;
        Ok(ScenarioPlan {
            name: "default".into(),
            executor,
            exec: default_exec(),
            start_time: Duration::ZERO,
            graceful_stop: DEFAULT_GRACEFUL_STOP,
            env: BTreeMap::new(),
            tags: BTreeMap::new(),
        })
    }
}

fn scenario_plan(name: &str, json: &Json) -> Result<ScenarioPlan, OptionsError> {
    let bad = |message: String| OptionsError(format!("scenarios.{name}: {message}"));
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        || name.is_empty()
    {
        return Err(bad(
            "scenario names may use letters, digits, '_' and '-'".into()
        ));
    }
    let Json::Object(fields) = json else {
        return Err(bad("expected an object".into()));
    };
    let common: CommonScenarioOptions =
        serde_json::from_value(json.clone()).map_err(|e| bad(e.to_string()))?;
    let executor_fields: serde_json::Map<String, Json> = fields
        .iter()
        .filter(|(k, _)| !COMMON_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let executor: ExecutorConfig =
        serde_json::from_value(Json::Object(executor_fields)).map_err(|e| bad(e.to_string()))?;
    executor.validate().map_err(bad)?;
    Ok(ScenarioPlan {
        name: name.into(),
        executor,
        exec: common.exec,
        start_time: common.start_time.unwrap_or_default(),
        graceful_stop: common.graceful_stop.unwrap_or(DEFAULT_GRACEFUL_STOP),
        env: common.env,
        tags: common.tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> Result<RunPlan, OptionsError> {
        Options::from_json(json)?.plan()
    }

    #[test]
    fn shortcuts_follow_k6() {
        let p = plan(r#"{"vus": 5, "duration": "10s"}"#).unwrap();
        assert_eq!(
            p.scenarios[0].executor,
            ExecutorConfig::ConstantVus {
                vus: 5,
                duration: Duration::from_secs(10)
            }
        );
        let p = plan(r#"{"vus": 2, "iterations": 10}"#).unwrap();
        assert!(matches!(
            p.scenarios[0].executor,
            ExecutorConfig::SharedIterations {
                vus: 2,
                iterations: 10,
                ..
            }
        ));
        let p = plan("{}").unwrap();
        assert!(matches!(
            p.scenarios[0].executor,
            ExecutorConfig::PerVuIterations {
                vus: 1,
                iterations: 1,
                ..
            }
        ));
        assert_eq!(p.setup_timeout, Duration::from_secs(60));
    }

    #[test]
    fn named_scenarios_parse_with_common_options() {
        let p = plan(
            r#"{"scenarios": {"browse": {"executor": "per-vu-iterations", "vus": 3,
                "iterations": 4, "maxDuration": "1m", "gracefulStop": "5s", "exec": "browse",
                "tags": {"kind": "read"}}}}"#,
        )
        .unwrap();
        let s = &p.scenarios[0];
        assert_eq!(s.name, "browse");
        assert_eq!(s.exec, "browse");
        assert_eq!(s.graceful_stop, Duration::from_secs(5));
        assert_eq!(
            s.executor,
            ExecutorConfig::PerVuIterations {
                vus: 3,
                iterations: 4,
                max_duration: Duration::from_secs(60)
            }
        );
        assert_eq!(p.max_vus(), 3);
    }

    #[test]
    fn bad_options_name_the_bad_part() {
        for (json, needle) in [
            (r#"{"vus": -1}"#, "vus"),
            (r#"{"duration": "10x"}"#, "unknown unit"),
            (r#"{"stages": []}"#, "unknown field `stages`"),
            (r#"{"vus": 0, "duration": "1s"}"#, "vus"),
            (r#"{"duration": "0s"}"#, "duration"),
            (
                r#"{"scenarios": {"a": {"executor": "warp-drive"}}}"#,
                "scenarios.a",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-vus", "vus": 1}}}"#,
                "duration",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-vus", "vus": 1, "duration": "1s", "rate": 3}}}"#,
                "rate",
            ),
            (r#"{"scenarios": {}}"#, "empty"),
            (
                r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 1, "duration": "1s"}}}"#,
                "missing field `preAllocatedVUs`",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 0, "duration": "1s", "preAllocatedVUs": 1}}}"#,
                "rate must be at least 1",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 1, "timeUnit": "0s", "duration": "1s", "preAllocatedVUs": 1}}}"#,
                "timeUnit must be more than 0",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 2000000, "duration": "1s", "preAllocatedVUs": 1}}}"#,
                "at most 1000000 iterations per second",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 1, "duration": "1s", "preAllocatedVUs": 5, "maxVUs": 2}}}"#,
                "preAllocatedVUs (5) must not be more than maxVUs (2)",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "constant-arrival-rate", "rate": 1, "duration": "1s", "preAllocatedVUs": 0}}}"#,
                "maxVUs (default: preAllocatedVUs) must be between 1",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 1, "stages": [{"duration": "1s", "target": 0}]}}}"#,
                "no iteration would start",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 1, "stages": []}}}"#,
                "at least one stage",
            ),
            (
                r#"{"scenarios": {"a": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 1, "startVUs": 1, "stages": [{"duration": "1s", "target": 1}]}}}"#,
                "unknown field `startVUs`",
            ),
            (
                r#"{"thresholds": {"http_req_duration": ["p(95) < banana"]}}"#,
                "banana",
            ),
        ] {
            let error = plan(json).unwrap_err().to_string();
            assert!(error.contains(needle), "{json}: {error}");
        }
    }

    #[test]
    fn higher_layers_win_and_shortcuts_replace_scenarios() {
        let script = Options::from_json(
            r#"{"scenarios": {"a": {"executor": "constant-vus", "vus": 1, "duration": "1s"}},
                "env": {"A": "1", "B": "1"}}"#,
        )
        .unwrap();
        let cli = Options {
            vus: Some(7),
            duration: Some(Duration::from_secs(3)),
            ..Default::default()
        };
        let merged = script.clone().merge(cli);
        assert!(merged.scenarios.is_none());
        assert_eq!(merged.vus, Some(7));
        assert_eq!(merged.env.get("A").map(String::as_str), Some("1"));
        let env_only = Options {
            env: [("B".to_owned(), "2".to_owned())].into(),
            ..Default::default()
        };
        let merged = script.merge(env_only);
        assert!(merged.scenarios.is_some());
        assert_eq!(merged.env.get("B").map(String::as_str), Some("2"));
    }
}
