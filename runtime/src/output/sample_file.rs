//! Files of every sample, in k6's formats: `--out json=FILE` writes one JSON
//! object per line (a `Metric` line before a metric's first `Point`), and
//! `--out csv=FILE` one row per sample under k6's columns. A thread of its own
//! takes the samples from the run five times a second and writes them, so
//! the VUs never wait on the disk.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{OutputError, OutputReport};
use crate::metrics::{MetricId, MetricInfo, MetricKind, Metrics, TagSet, TimedSample, ValueType};
use crate::thresholds::MetricThresholds;

/// How often the samples are written.
const WRITE_INTERVAL: Duration = Duration::from_millis(200);

/// The tags that have a column of their own in the CSV file (k6's system
/// tags, sorted); other tags go to `extra_tags`.
const CSV_TAG_COLUMNS: [&str; 14] = [
    "check",
    "error",
    "error_code",
    "expected_response",
    "group",
    "method",
    "name",
    "proto",
    "scenario",
    "service",
    "status",
    "subproto",
    "tls_version",
    "url",
];

/// How the CSV file writes a sample's time (k6's `timeFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvTimeFormat {
    /// Whole seconds since the epoch (the default, as in k6).
    Unix,
    /// Milliseconds since the epoch.
    UnixMilli,
    /// Microseconds since the epoch.
    UnixMicro,
    /// Nanoseconds since the epoch.
    UnixNano,
    /// RFC 3339 to the second.
    Rfc3339,
    /// RFC 3339 to the nanosecond.
    Rfc3339Nano,
}

impl CsvTimeFormat {
    /// Parses k6's names: `unix`, `unix_milli`, `unix_micro`, `unix_nano`,
    /// `rfc3339`, `rfc3339_nano`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "unix" => Self::Unix,
            "unix_milli" => Self::UnixMilli,
            "unix_micro" => Self::UnixMicro,
            "unix_nano" => Self::UnixNano,
            "rfc3339" => Self::Rfc3339,
            "rfc3339_nano" => Self::Rfc3339Nano,
            other => {
                return Err(format!(
                    "unknown timeFormat {other:?}: use unix, unix_milli, unix_micro, unix_nano, rfc3339 or rfc3339_nano"
                ));
            }
        })
    }

    fn format(self, at: SystemTime) -> String {
        let since_epoch = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        match self {
            Self::Unix => since_epoch.as_secs().to_string(),
            Self::UnixMilli => since_epoch.as_millis().to_string(),
            Self::UnixMicro => since_epoch.as_micros().to_string(),
            Self::UnixNano => since_epoch.as_nanos().to_string(),
            Self::Rfc3339 => rfc3339(at - Duration::from_nanos(since_epoch.subsec_nanos() as u64)),
            Self::Rfc3339Nano => rfc3339(at),
        }
    }
}

fn rfc3339(at: SystemTime) -> String {
    OffsetDateTime::from(at)
        .format(&Rfc3339)
        .expect("times after 1970 format")
}

/// Which of k6's file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// JSON lines.
    Json,
    /// CSV with a header row.
    Csv(CsvTimeFormat),
}

/// One file being written.
pub(super) struct SampleFile {
    path: PathBuf,
    format: SampleFormat,
    out: BufWriter<File>,
    /// JSON: the metrics whose `Metric` line is written.
    described: HashSet<MetricId>,
    samples: u64,
    error: Option<io::Error>,
}

impl SampleFile {
    /// Creates (or truncates) `path`.
    pub(super) fn create(path: &Path, format: SampleFormat) -> Result<Self, OutputError> {
        let file = File::create(path).map_err(|e| OutputError::Create {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut error = None;
        if format != SampleFormat::Json {
            let header = ["metric_name", "timestamp", "metric_value"]
                .into_iter()
                .chain(CSV_TAG_COLUMNS)
                .chain(["extra_tags", "metadata"])
                .collect::<Vec<_>>()
                .join(",");
            error = writeln!(out, "{header}").err();
        }
        Ok(Self {
            path: path.to_owned(),
            format,
            out,
            described: HashSet::new(),
            samples: 0,
            error,
        })
    }

    fn write(&mut self, samples: &[TimedSample], context: &mut Context) {
        if self.error.is_some() {
            return;
        }
        let result = samples.iter().try_for_each(|sample| {
            let at = context.started_at + sample.at;
            let info = context.info(sample.metric);
            match self.format {
                SampleFormat::Json => self.write_json(sample, at, &info, context),
                SampleFormat::Csv(time_format) => {
                    self.write_csv(sample, &time_format.format(at), &info.name)
                }
            }
        });
        self.samples += samples.len() as u64;
        self.error = result.err();
    }

    fn write_json(
        &mut self,
        sample: &TimedSample,
        at: SystemTime,
        info: &MetricInfo,
        context: &Context,
    ) -> io::Result<()> {
        if self.described.insert(sample.metric) {
            let (thresholds, submetrics) = context.thresholds_of(&info.name);
            let line = MetricLine {
                kind: "Metric",
                data: MetricData {
                    name: &info.name,
                    kind: info.kind,
                    contains: info.value_type,
                    thresholds,
                    submetrics,
                },
                metric: &info.name,
            };
            serde_json::to_writer(&mut self.out, &line)?;
            self.out.write_all(b"\n")?;
        }
        let line = PointLine {
            metric: &info.name,
            kind: "Point",
            data: PointData {
                time: rfc3339(at),
                value: sample.value,
                tags: Tags(&sample.tags),
            },
        };
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")
    }

    fn write_csv(&mut self, sample: &TimedSample, time: &str, name: &str) -> io::Result<()> {
        let out = &mut self.out;
        write_csv_field(out, name)?;
        write!(out, ",{time},{:.6}", sample.value)?;
        for column in CSV_TAG_COLUMNS {
            out.write_all(b",")?;
            write_csv_field(out, sample.tags.get(column).unwrap_or_default())?;
        }
        out.write_all(b",")?;
        let mut extra = sample
            .tags
            .iter()
            .filter(|(key, _)| !CSV_TAG_COLUMNS.contains(key))
            .peekable();
        if extra.peek().is_some() {
            let extra: Vec<String> = extra.map(|(key, value)| format!("{key}={value}")).collect();
            write_csv_field(out, &extra.join("&"))?;
        }
        // No metadata column values: `vu` and `iter` are not kept.
        out.write_all(b",\n")
    }

    fn finish(mut self) -> OutputReport {
        if self.error.is_none() {
            self.error = self.out.flush().err();
        }
        let output = match self.format {
            SampleFormat::Json => "json",
            SampleFormat::Csv(_) => "csv",
        };
        OutputReport {
            output: output.into(),
            summary: format!("{} samples to {}", self.samples, self.path.display()),
            error: self
                .error
                .map(|e| format!("writing {} failed: {e}", self.path.display())),
        }
    }
}

/// Writes `field`, quoted for CSV (RFC 4180) when it needs to be.
fn write_csv_field(out: &mut impl Write, field: &str) -> io::Result<()> {
    if field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') {
        write!(out, "\"{}\"", field.replace('"', "\"\""))
    } else {
        out.write_all(field.as_bytes())
    }
}

/// What the writer needs to describe samples.
struct Context {
    metrics: Arc<Metrics>,
    started_at: SystemTime,
    /// Per metric: its threshold sources and its submetrics (name, suffix, tags).
    thresholds: BTreeMap<String, (Vec<String>, Vec<Submetric>)>,
    /// The definitions of the metrics seen so far.
    infos: HashMap<MetricId, MetricInfo>,
}

impl Context {
    fn info(&mut self, id: MetricId) -> MetricInfo {
        let registry = self.metrics.registry();
        self.infos
            .entry(id)
            .or_insert_with(|| registry.info(id))
            .clone()
    }

    fn thresholds_of(&self, metric: &str) -> (Vec<String>, Option<Vec<Submetric>>) {
        match self.thresholds.get(metric) {
            Some((sources, submetrics)) => (
                sources.clone(),
                (!submetrics.is_empty()).then(|| submetrics.clone()),
            ),
            None => (Vec::new(), None),
        }
    }
}

#[derive(Serialize)]
struct MetricLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: MetricData<'a>,
    metric: &'a str,
}

#[derive(Serialize)]
struct MetricData<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: MetricKind,
    contains: ValueType,
    thresholds: Vec<String>,
    submetrics: Option<Vec<Submetric>>,
}

/// A metric restricted to some tags, such as `http_req_duration{name:list}`.
#[derive(Debug, Clone, Serialize)]
struct Submetric {
    name: String,
    suffix: String,
    tags: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct PointLine<'a> {
    metric: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    data: PointData<'a>,
}

#[derive(Serialize)]
struct PointData<'a> {
    time: String,
    value: f64,
    tags: Tags<'a>,
}

/// A tag set written as a JSON object.
struct Tags<'a>(&'a TagSet);

impl Serialize for Tags<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter())
    }
}

/// The writer thread of a run's sample files.
pub(super) struct Writer {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Vec<OutputReport>>,
}

impl Writer {
    /// Starts writing every sample of `metrics` to `files`.
    pub(super) fn start(
        mut files: Vec<SampleFile>,
        metrics: Arc<Metrics>,
        thresholds: &[MetricThresholds],
    ) -> Self {
        metrics.keep_samples();
        let mut by_metric: BTreeMap<String, (Vec<String>, Vec<Submetric>)> = BTreeMap::new();
        for expression in thresholds {
            let entry = by_metric.entry(expression.metric.clone()).or_default();
            entry
                .0
                .extend(expression.thresholds.iter().map(|t| t.source.clone()));
            if !expression.filter.is_empty() {
                let suffix: Vec<String> = expression
                    .filter
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect();
                entry.1.push(Submetric {
                    name: expression.key.clone(),
                    suffix: suffix.join(","),
                    tags: expression
                        .filter
                        .iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                });
            }
        }
        let mut context = Context {
            started_at: metrics.started_at(),
            metrics,
            thresholds: by_metric,
            infos: HashMap::new(),
        };
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("volley-sample-files".into())
            .spawn(move || {
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(WRITE_INTERVAL),
                        Err(RecvTimeoutError::Timeout)
                    );
                    let samples = context.metrics.drain_samples();
                    for file in &mut files {
                        file.write(&samples, &mut context);
                    }
                    if last {
                        return files.into_iter().map(SampleFile::finish).collect();
                    }
                }
            })
            .expect("spawning the sample writer thread");
        Self { stop, thread }
    }

    /// Writes the last samples, closes the files and says what was written.
    pub(super) async fn finish(self) -> Vec<OutputReport> {
        let _ = self.stop.send(());
        tokio::task::spawn_blocking(move || self.thread.join())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| {
                vec![OutputReport {
                    output: "json/csv".into(),
                    summary: String::new(),
                    error: Some("the sample file writer failed".into()),
                }]
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let quoted = |field: &str| {
            let mut out = Vec::new();
            write_csv_field(&mut out, field).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(quoted("plain"), "plain");
        assert_eq!(quoted("a,b"), "\"a,b\"");
        assert_eq!(quoted("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted(" lead"), "\" lead\"");
    }

    #[test]
    fn csv_times_follow_k6_formats() {
        let at = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(CsvTimeFormat::Unix.format(at), "1700000000");
        assert_eq!(CsvTimeFormat::UnixMilli.format(at), "1700000000123");
        assert_eq!(CsvTimeFormat::UnixNano.format(at), "1700000000123456789");
        assert_eq!(CsvTimeFormat::Rfc3339.format(at), "2023-11-14T22:13:20Z");
        assert_eq!(
            CsvTimeFormat::Rfc3339Nano.format(at),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert!(CsvTimeFormat::parse("iso").is_err());
    }
}
