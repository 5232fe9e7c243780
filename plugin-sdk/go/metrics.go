package volley

import "time"

// Custom metrics, aggregated with the built-in ones and reported in the summary.
//
// Names must match [a-zA-Z_][a-zA-Z0-9_]* (at most 128 characters), must not be a
// built-in metric's name and must not be used for two kinds of metric: the runner
// traps the VU on a bad name. Creating a metric value does not call the runner, so
// they are usually package-level variables:
//
//	var bookings = volley.NewCounter("bookings_completed")
//	...
//	bookings.Add(1)

// Counter is a metric reported as a total and a rate per second.
type Counter struct{ name string }

// NewCounter returns the counter name.
func NewCounter(name string) Counter { return Counter{name} }

// Name returns the counter's name.
func (c Counter) Name() string { return c.name }

// Add adds value to the counter, with tags if any.
func (c Counter) Add(value float64, tags ...Tags) { rawCounterAdd(c.name, value, mergeTags(tags)) }

// Inc adds 1 to the counter.
func (c Counter) Inc() { rawCounterAdd(c.name, 1, nil) }

// Gauge is a metric reported as its last, min and max values.
type Gauge struct{ name string }

// NewGauge returns the gauge name.
func NewGauge(name string) Gauge { return Gauge{name} }

// Name returns the gauge's name.
func (g Gauge) Name() string { return g.name }

// Set sets the gauge to value, with tags if any.
func (g Gauge) Set(value float64, tags ...Tags) { rawGaugeSet(g.name, value, mergeTags(tags)) }

// Rate is a metric reported as the share of true samples.
type Rate struct{ name string }

// NewRate returns the rate name.
func NewRate(name string) Rate { return Rate{name} }

// Name returns the rate's name.
func (r Rate) Name() string { return r.name }

// Add adds one sample to the rate, with tags if any.
func (r Rate) Add(ok bool, tags ...Tags) { rawRateAdd(r.name, ok, mergeTags(tags)) }

// Trend is a metric reported as avg, min, med, max and percentiles.
type Trend struct {
	name   string
	isTime bool
}

// NewTrend returns the trend name, of plain numbers.
func NewTrend(name string) Trend { return Trend{name: name} }

// NewTimeTrend returns the trend name, of times in milliseconds (shown as
// durations).
func NewTimeTrend(name string) Trend { return Trend{name: name, isTime: true} }

// Name returns the trend's name.
func (t Trend) Name() string { return t.name }

// IsTime reports whether the trend holds times.
func (t Trend) IsTime() bool { return t.isTime }

// Add adds value (milliseconds for a time trend) to the trend, with tags if any.
func (t Trend) Add(value float64, tags ...Tags) {
	rawTrendAdd(t.name, value, t.isTime, mergeTags(tags))
}

// AddDuration adds d, in milliseconds, to the trend, with tags if any.
func (t Trend) AddDuration(d time.Duration, tags ...Tags) {
	t.Add(float64(d)/float64(time.Millisecond), tags...)
}
