//! Custom metrics, aggregated with the built-in ones and reported in the summary.
//!
//! Each metric type is a cheap handle holding the metric's name; create it where you
//! use it, or once in a `static` (the constructors are `const`):
//!
//! ```no_run
//! use std::time::Instant;
//! use volley_sdk::metrics::{Counter, Trend};
//!
//! static ORDERS: Counter = Counter::new("orders_placed");
//! static ORDER_TIME: Trend = Trend::new_time("order_duration");
//!
//! let started = Instant::now();
//! // ... place the order ...
//! ORDER_TIME.add_duration(started.elapsed());
//! ORDERS.add_with_tags(1.0, &[("kind", "express")]);
//! ```
//!
//! Names must match `[a-zA-Z_][a-zA-Z0-9_]*` (at most 128 characters), must not be a
//! built-in metric's name (such as `http_reqs` or `checks`) and must not be used for
//! two kinds of metric: the runner traps the VU on a bad name.

use std::borrow::Cow;
use std::time::Duration;

use crate::owned_pairs;
use crate::wit::metrics as raw;

/// A metric that adds up values: reported as a total and a rate per second.
///
/// ```no_run
/// use volley_sdk::metrics::Counter;
/// let bytes = Counter::new("bytes_uploaded");
/// bytes.add(4096.0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Counter {
    name: Cow<'static, str>,
}

impl Counter {
    /// A handle to the counter `name`.
    ///
    /// ```
    /// use volley_sdk::metrics::Counter;
    /// static RETRIES: Counter = Counter::new("retries");
    /// assert_eq!(RETRIES.name(), "retries");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
        }
    }

    /// A handle to a counter whose name is only known at run time.
    ///
    /// ```
    /// use volley_sdk::metrics::Counter;
    /// let step = 3;
    /// let counter = Counter::from_string(format!("step_{step}_done"));
    /// assert_eq!(counter.name(), "step_3_done");
    /// ```
    pub fn from_string(name: String) -> Self {
        Self {
            name: Cow::Owned(name),
        }
    }

    /// The counter's name.
    ///
    /// ```
    /// # use volley_sdk::metrics::Counter;
    /// assert_eq!(Counter::new("logins").name(), "logins");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds `value` to the counter.
    ///
    /// ```no_run
    /// # use volley_sdk::metrics::Counter;
    /// Counter::new("items_bought").add(3.0);
    /// ```
    pub fn add(&self, value: f64) {
        raw::counter_add(&self.name, value, &[]);
    }

    /// Adds `value` to the counter, recording `tags` with the sample.
    ///
    /// ```no_run
    /// # use volley_sdk::metrics::Counter;
    /// Counter::new("items_bought").add_with_tags(1.0, &[("category", "books")]);
    /// ```
    pub fn add_with_tags(&self, value: f64, tags: &[(&str, &str)]) {
        raw::counter_add(&self.name, value, &owned_pairs(tags));
    }

    /// Adds 1 to the counter.
    ///
    /// ```no_run
    /// # use volley_sdk::metrics::Counter;
    /// Counter::new("logins").inc();
    /// ```
    pub fn inc(&self) {
        self.add(1.0);
    }
}

/// A metric that holds the last value set: reported as last, min and max.
///
/// ```no_run
/// use volley_sdk::metrics::Gauge;
/// Gauge::new("queue_position").set(42.0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gauge {
    name: Cow<'static, str>,
}

impl Gauge {
    /// A handle to the gauge `name`.
    ///
    /// ```
    /// use volley_sdk::metrics::Gauge;
    /// static CART_SIZE: Gauge = Gauge::new("cart_size");
    /// assert_eq!(CART_SIZE.name(), "cart_size");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
        }
    }

    /// A handle to a gauge whose name is only known at run time.
    ///
    /// ```
    /// use volley_sdk::metrics::Gauge;
    /// let gauge = Gauge::from_string(format!("pool_{}_size", "db"));
    /// assert_eq!(gauge.name(), "pool_db_size");
    /// ```
    pub fn from_string(name: String) -> Self {
        Self {
            name: Cow::Owned(name),
        }
    }

    /// The gauge's name.
    ///
    /// ```
    /// # use volley_sdk::metrics::Gauge;
    /// assert_eq!(Gauge::new("depth").name(), "depth");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets the gauge to `value`.
    ///
    /// ```no_run
    /// # use volley_sdk::metrics::Gauge;
    /// Gauge::new("free_seats").set(118.0);
    /// ```
    pub fn set(&self, value: f64) {
        raw::gauge_set(&self.name, value, &[]);
    }

    /// Sets the gauge to `value`, recording `tags` with the sample.
    ///
    /// ```no_run
    /// # use volley_sdk::metrics::Gauge;
    /// Gauge::new("free_seats").set_with_tags(118.0, &[("date", "2027-01-15")]);
    /// ```
    pub fn set_with_tags(&self, value: f64, tags: &[(&str, &str)]) {
        raw::gauge_set(&self.name, value, &owned_pairs(tags));
    }
}

/// A metric of yes/no samples: reported as the share of `true` samples.
///
/// ```no_run
/// use volley_sdk::metrics::Rate;
/// Rate::new("cache_hit").add(true);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rate {
    name: Cow<'static, str>,
}

impl Rate {
    /// A handle to the rate `name`.
    ///
    /// ```
    /// use volley_sdk::metrics::Rate;
    /// static SOLD_OUT: Rate = Rate::new("sold_out");
    /// assert_eq!(SOLD_OUT.name(), "sold_out");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
        }
    }

    /// A handle to a rate whose name is only known at run time.
    ///
    /// ```
    /// use volley_sdk::metrics::Rate;
    /// let rate = Rate::from_string(format!("{}_ok", "login"));
    /// assert_eq!(rate.name(), "login_ok");
    /// ```
    pub fn from_string(name: String) -> Self {
        Self {
            name: Cow::Owned(name),
        }
    }

    /// The rate's name.
    ///
    /// ```
    /// # use volley_sdk::metrics::Rate;
    /// assert_eq!(Rate::new("hits").name(), "hits");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds one sample, `ok`.
    ///
    /// ```no_run
    /// # use volley_sdk::metrics::Rate;
    /// let seat_was_free = false;
    /// Rate::new("first_choice_seat").add(seat_was_free);
    /// ```
    pub fn add(&self, ok: bool) {
        raw::rate_add(&self.name, ok, &[]);
    }

    /// Adds one sample, `ok`, recording `tags` with it.
    ///
    /// ```no_run
    /// # use volley_sdk::metrics::Rate;
    /// Rate::new("first_choice_seat").add_with_tags(true, &[("zone", "A")]);
    /// ```
    pub fn add_with_tags(&self, ok: bool, tags: &[(&str, &str)]) {
        raw::rate_add(&self.name, ok, &owned_pairs(tags));
    }
}

/// A metric of values whose distribution matters: reported as avg, min, med, max and
/// percentiles.
///
/// A *time* trend ([`Trend::new_time`]) holds milliseconds and is shown as durations.
///
/// ```no_run
/// use volley_sdk::metrics::Trend;
/// Trend::new("items_per_page").add(25.0);
/// Trend::new_time("render_time").add(12.5); // 12.5 ms
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Trend {
    name: Cow<'static, str>,
    is_time: bool,
}

impl Trend {
    /// A handle to the trend `name`, of plain numbers.
    ///
    /// ```
    /// use volley_sdk::metrics::Trend;
    /// static PAGE_SIZE: Trend = Trend::new("page_size");
    /// assert!(!PAGE_SIZE.is_time());
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            is_time: false,
        }
    }

    /// A handle to the trend `name`, of times in milliseconds.
    ///
    /// ```
    /// use volley_sdk::metrics::Trend;
    /// static LOGIN_TIME: Trend = Trend::new_time("login_duration");
    /// assert!(LOGIN_TIME.is_time());
    /// ```
    pub const fn new_time(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            is_time: true,
        }
    }

    /// A handle to a trend whose name is only known at run time; `is_time` as in
    /// [`Trend::new_time`].
    ///
    /// ```
    /// use volley_sdk::metrics::Trend;
    /// let trend = Trend::from_string(format!("{}_duration", "search"), true);
    /// assert_eq!(trend.name(), "search_duration");
    /// ```
    pub fn from_string(name: String, is_time: bool) -> Self {
        Self {
            name: Cow::Owned(name),
            is_time,
        }
    }

    /// The trend's name.
    ///
    /// ```
    /// # use volley_sdk::metrics::Trend;
    /// assert_eq!(Trend::new("size").name(), "size");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the trend holds times (in milliseconds).
    ///
    /// ```
    /// # use volley_sdk::metrics::Trend;
    /// assert!(Trend::new_time("t").is_time());
    /// ```
    pub fn is_time(&self) -> bool {
        self.is_time
    }

    /// Adds the sample `value` (milliseconds for a time trend).
    ///
    /// ```no_run
    /// # use volley_sdk::metrics::Trend;
    /// Trend::new("basket_value").add(99.90);
    /// ```
    pub fn add(&self, value: f64) {
        raw::trend_add(&self.name, value, self.is_time, &[]);
    }

    /// Adds the sample `value`, recording `tags` with it.
    ///
    /// ```no_run
    /// # use volley_sdk::metrics::Trend;
    /// Trend::new("basket_value").add_with_tags(99.90, &[("currency", "EUR")]);
    /// ```
    pub fn add_with_tags(&self, value: f64, tags: &[(&str, &str)]) {
        raw::trend_add(&self.name, value, self.is_time, &owned_pairs(tags));
    }

    /// Adds `duration` as a sample in milliseconds (meant for time trends).
    ///
    /// ```no_run
    /// use std::time::Instant;
    /// # use volley_sdk::metrics::Trend;
    /// let started = Instant::now();
    /// // ... the work being timed ...
    /// Trend::new_time("flow_duration").add_duration(started.elapsed());
    /// ```
    pub fn add_duration(&self, duration: Duration) {
        self.add(duration.as_secs_f64() * 1000.0);
    }

    /// Adds `duration` as a sample in milliseconds, recording `tags` with it.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # use volley_sdk::metrics::Trend;
    /// Trend::new_time("flow_duration")
    ///     .add_duration_with_tags(Duration::from_millis(250), &[("flow", "checkout")]);
    /// ```
    pub fn add_duration_with_tags(&self, duration: Duration, tags: &[(&str, &str)]) {
        self.add_with_tags(duration.as_secs_f64() * 1000.0, tags);
    }
}
