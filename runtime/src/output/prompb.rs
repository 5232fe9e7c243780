//! The messages of Prometheus remote write 1.0 (`prompb/types.proto` and
//! `remote.proto`), written out with prost's derive so no `protoc` is needed.
//! Only what Volley sends is here: no exemplars, metadata or negative buckets.

use prost::Message;

/// One push: every series, each with its samples or histograms.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// A series: its labels (sorted by name, `__name__` among them) and values.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// The labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histogram samples.
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

/// A label.
#[derive(Clone, PartialEq, Message)]
pub struct Label {
    /// Its name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// A float sample.
#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// A native (sparse, exponential-bucket) histogram sample.
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    /// Observations.
    #[prost(oneof = "Count", tags = "1, 2")]
    pub count: Option<Count>,
    /// Their sum.
    #[prost(double, tag = "3")]
    pub sum: f64,
    /// Bucket resolution: boundaries are 2^(2^-schema) apart.
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    /// Observations at most this far from 0 count in the zero bucket.
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    #[prost(oneof = "ZeroCount", tags = "6, 7")]
    pub zero_count: Option<ZeroCount>,
    /// Runs of consecutive positive buckets.
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    /// Positive bucket counts, each as the difference from the one before.
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

/// A histogram's observation count.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Count {
    /// An integer count.
    #[prost(uint64, tag = "1")]
    Int(u64),
}

/// A histogram's zero-bucket count.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ZeroCount {
    /// An integer count.
    #[prost(uint64, tag = "6")]
    Int(u64),
}

/// A run of consecutive buckets: `offset` buckets after the previous run
/// (the first run's offset is its first bucket's index), `length` long.
#[derive(Clone, PartialEq, Message)]
pub struct BucketSpan {
    /// Gap to the previous span, or the first index.
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    /// Buckets in the span.
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// The body of a push: the request encoded, then compressed with snappy's
/// block format (not its framed format), as remote write requires.
pub fn encode(request: &WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .expect("snappy compresses any buffer below 4 GiB")
}

/// Reads a push body back: the inverse of [`encode`].
pub fn decode(body: &[u8]) -> Result<WriteRequest, String> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("not snappy: {e}"))?;
    WriteRequest::decode(raw.as_slice()).map_err(|e| format!("not a WriteRequest: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_survives_encoding() {
        let request = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![Label {
                    name: "__name__".into(),
                    value: "k6_vus".into(),
                }],
                samples: vec![Sample {
                    value: 5.0,
                    timestamp: 1_700_000_000_000,
                }],
                histograms: vec![],
            }],
        };
        assert_eq!(decode(&encode(&request)).unwrap(), request);
    }
}
