//! Outputs: where a run's metrics go besides the end-of-test summary, chosen
//! as in k6 with `--out`: Prometheus remote write (k6's names, trends as
//! native histograms), and JSON or CSV files of every sample.

mod native_histogram;
pub mod prometheus;
pub mod prompb;
pub mod remote_write;
mod sample_file;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use remote_write::RemoteWriteConfig;
pub use sample_file::{CsvTimeFormat, SampleFormat};

use crate::metrics::Metrics;
use crate::thresholds::MetricThresholds;

/// Why an output could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// No output has this name.
    #[error("unknown output {0:?}: use json=FILE, csv=FILE or experimental-prometheus-rw[=URL]")]
    Unknown(String),
    /// A setting of the output is wrong.
    #[error("{output}: {message}")]
    Setting {
        /// The output.
        output: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The output's file could not be created.
    #[error("cannot create {path}: {message}")]
    Create {
        /// The file.
        path: String,
        /// The cause.
        message: String,
    },
}

/// One output, as `--out` names it.
#[derive(Debug, Clone)]
pub enum OutputSpec {
    /// Prometheus remote write.
    RemoteWrite(RemoteWriteConfig),
    /// A file of every sample.
    File {
        /// Where.
        path: PathBuf,
        /// In which format.
        format: SampleFormat,
    },
}

impl OutputSpec {
    /// Parses k6's `--out` syntax: `json=FILE`, `csv=FILE` (or
    /// `csv=fileName=FILE,timeFormat=unix_milli`), and
    /// `experimental-prometheus-rw` (or `prometheus-rw`), optionally `=URL` or
    /// `=key=value,...`. Settings left out come from k6's environment
    /// variables, read through `env`; `env_names` lists the variables there are.
    pub fn parse(
        arg: &str,
        env: &dyn Fn(&str) -> Option<String>,
        env_names: &[String],
    ) -> Result<Self, OutputError> {
        let (name, rest) = match arg.split_once('=') {
            Some((name, rest)) => (name, Some(rest)),
            None => (arg, None),
        };
        match name {
            remote_write::NAME | remote_write::ALIAS => Ok(OutputSpec::RemoteWrite(
                RemoteWriteConfig::from_env_and_arg(env, env_names, rest)?,
            )),
            "json" => {
                let path = rest.filter(|p| !p.is_empty()).ok_or(OutputError::Setting {
                    output: "json",
                    message: "name the file: --out json=results.json".into(),
                })?;
                Ok(OutputSpec::File {
                    path: path.into(),
                    format: SampleFormat::Json,
                })
            }
            "csv" => Self::parse_csv(rest.unwrap_or_default(), env),
            _ => Err(OutputError::Unknown(name.to_owned())),
        }
    }

    /// Parses the same, reading this process's environment.
    pub fn parse_with_process_env(arg: &str) -> Result<Self, OutputError> {
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .collect();
        Self::parse(arg, &|name| std::env::var(name).ok(), &names)
    }

    fn parse_csv(rest: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, OutputError> {
        let bad = |message: String| OutputError::Setting {
            output: "csv",
            message,
        };
        let mut path = env("K6_CSV_FILENAME").map(PathBuf::from);
        let mut time_format = match env("K6_CSV_TIME_FORMAT") {
            Some(text) => CsvTimeFormat::parse(&text).map_err(bad)?,
            None => CsvTimeFormat::Unix,
        };
        let keyed = ["fileName=", "timeFormat=", "saveInterval="];
        if keyed.iter().any(|key| rest.starts_with(key)) {
            for pair in rest.split(',') {
                match pair.split_once('=') {
                    Some(("fileName", value)) => path = Some(value.into()),
                    Some(("timeFormat", value)) => {
                        time_format = CsvTimeFormat::parse(value).map_err(bad)?
                    }
                    // Volley writes five times a second whatever the interval.
                    Some(("saveInterval", _)) => {}
                    _ => {
                        return Err(bad(format!(
                            "unknown setting {pair:?}: use fileName, timeFormat or saveInterval"
                        )));
                    }
                }
            }
        } else if !rest.is_empty() {
            path = Some(rest.into());
        }
        let path = path.ok_or_else(|| bad("name the file: --out csv=results.csv".into()))?;
        Ok(OutputSpec::File {
            path,
            format: SampleFormat::Csv(time_format),
        })
    }

    /// One line for the run's header, such as `json (results.json)`.
    pub fn describe(&self) -> String {
        match self {
            OutputSpec::RemoteWrite(config) => config.describe(),
            OutputSpec::File { path, format } => {
                let name = match format {
                    SampleFormat::Json => "json",
                    SampleFormat::Csv(_) => "csv",
                };
                format!("{name} ({})", path.display())
            }
        }
    }
}

/// What an output did during a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutputReport {
    /// The output's name.
    pub output: String,
    /// What it wrote, such as `12 pushes of 40 series to http://...`.
    pub summary: String,
    /// What went wrong, if anything did.
    pub error: Option<String>,
}

/// The outputs of a run, ready for it: settings checked, files created.
#[derive(Default)]
pub struct Outputs {
    remote_writes: Vec<RemoteWriteConfig>,
    files: Vec<sample_file::SampleFile>,
    labels: BTreeMap<String, String>,
}

impl Outputs {
    /// No outputs.
    pub fn none() -> Self {
        Self::default()
    }

    /// Prepares `specs`: creates their files now, so a bad path fails
    /// before the run starts.
    pub fn open(specs: &[OutputSpec]) -> Result<Self, OutputError> {
        let mut outputs = Self::default();
        for spec in specs {
            match spec {
                OutputSpec::RemoteWrite(config) => outputs.remote_writes.push(config.clone()),
                OutputSpec::File { path, format } => outputs
                    .files
                    .push(sample_file::SampleFile::create(path, *format)?),
            }
        }
        Ok(outputs)
    }

    /// Adds labels to every series pushed by remote write (the run's tags are
    /// there already), such as a `testid`.
    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels.extend(labels);
        self
    }

    /// Starts feeding the run's `metrics` (whose samples carry the run's
    /// tags; thresholds `thresholds`) to every output.
    pub(crate) fn attach(self, metrics: &Arc<Metrics>, thresholds: &[MetricThresholds]) -> Running {
        let done = CancellationToken::new();
        let labels = self.labels;
        let pushers = self
            .remote_writes
            .into_iter()
            .map(|config| {
                tokio::spawn(remote_write::run(
                    config,
                    metrics.clone(),
                    labels.clone(),
                    done.clone(),
                ))
            })
            .collect();
        let files = (!self.files.is_empty())
            .then(|| sample_file::Writer::start(self.files, metrics.clone(), thresholds));
        Running {
            done,
            pushers,
            files,
        }
    }
}

/// Outputs fed by a run.
pub(crate) struct Running {
    done: CancellationToken,
    pushers: Vec<JoinHandle<OutputReport>>,
    files: Option<sample_file::Writer>,
}

impl Running {
    /// Sends what is left (the final push, the last samples) and says what
    /// each output did. Call it once the run has recorded its last sample.
    pub(crate) async fn finish(self) -> Vec<OutputReport> {
        self.done.cancel();
        let mut reports = Vec::new();
        if let Some(files) = self.files {
            reports.extend(files.finish().await);
        }
        for pusher in self.pushers {
            reports.push(pusher.await.unwrap_or_else(|e| OutputReport {
                output: remote_write::NAME.into(),
                summary: String::new(),
                error: Some(format!("the output failed: {e}")),
            }));
        }
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arg: &str, env: &[(&str, &str)]) -> Result<OutputSpec, OutputError> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let names: Vec<String> = env.keys().cloned().collect();
        OutputSpec::parse(arg, &|name| env.get(name).cloned(), &names)
    }

    #[test]
    fn out_arguments_follow_k6() {
        assert!(matches!(
            parse("json=out.json", &[]),
            Ok(OutputSpec::File { format: SampleFormat::Json, path }) if path == std::path::Path::new("out.json")
        ));
        assert!(matches!(
            parse("csv=out.csv", &[]),
            Ok(OutputSpec::File {
                format: SampleFormat::Csv(CsvTimeFormat::Unix),
                ..
            })
        ));
        assert!(matches!(
            parse("csv=fileName=x.csv,timeFormat=unix_milli,saveInterval=5s", &[]),
            Ok(OutputSpec::File { format: SampleFormat::Csv(CsvTimeFormat::UnixMilli), path }) if path == std::path::Path::new("x.csv")
        ));
        assert!(matches!(
            parse("csv", &[("K6_CSV_FILENAME", "env.csv"), ("K6_CSV_TIME_FORMAT", "rfc3339_nano")]),
            Ok(OutputSpec::File { format: SampleFormat::Csv(CsvTimeFormat::Rfc3339Nano), path }) if path == std::path::Path::new("env.csv")
        ));
        assert!(matches!(
            parse("experimental-prometheus-rw", &[("K6_PROMETHEUS_RW_SERVER_URL", "http://h:1/w")]),
            Ok(OutputSpec::RemoteWrite(c)) if c.url.as_str() == "http://h:1/w"
        ));
        assert!(matches!(
            parse("prometheus-rw=http://h:2/w", &[]),
            Ok(OutputSpec::RemoteWrite(c)) if c.url.as_str() == "http://h:2/w"
        ));
        assert_eq!(
            parse("influxdb=http://x", &[]).unwrap_err(),
            OutputError::Unknown("influxdb".into())
        );
        for bad in [
            "json",
            "json=",
            "csv",
            "csv=timeFormat=never",
            "csv=fileName=a,b=c",
        ] {
            assert!(parse(bad, &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_file_that_cannot_be_created_fails_before_the_run() {
        let spec = parse("json=/nonexistent-volley-dir/out.json", &[]).unwrap();
        let error = Outputs::open(&[spec]).err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("cannot create /nonexistent-volley-dir/out.json")
        );
    }
}
