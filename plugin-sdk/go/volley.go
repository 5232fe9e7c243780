// Package volley writes Volley load-test scenarios in Go.
//
// A Volley scenario is a WebAssembly component. The runner instantiates it once
// per virtual user (VU) and calls its iteration over and over; everything the
// scenario does to the outside world (HTTP requests, checks, custom metrics,
// think time, logs) goes through this package, so the runner can time, count and
// limit it. The contract is the WIT world `volley:scenario/scenario@0.1.0`.
//
// A scenario is a main package that registers itself in an init function:
//
//	package main
//
//	import (
//		"time"
//
//		"volley.dev/volley"
//	)
//
//	func init() {
//		volley.Register(volley.Scenario{
//			Options: `{"vus": 10, "duration": "30s"}`,
//			Iteration: func(exec string) error {
//				response, err := volley.Get(volley.Env("TARGET_URL"), volley.Name("GET /"))
//				if err != nil {
//					return err
//				}
//				volley.Check("status is 200", response.Status == 200)
//				volley.Sleep(500 * time.Millisecond)
//				return nil
//			},
//		})
//	}
//
//	func main() {} // required by the Go tool chain; never called
//
// It is built for GOOS=wasip1 GOARCH=wasm with -buildmode=c-shared and turned
// into a component with wasm-tools (see the README).
//
// The package mirrors the WIT world:
//
//	WIT interface   Go API
//	http            Get, Post, Put, Patch, Delete, Head, Do, PostJSON, NewRequest, Batch
//	checks          Check
//	metrics         NewCounter, NewGauge, NewRate, NewTrend, NewTimeTrend
//	vu              VU.ID, VU.Iteration, VU.Scenario, Env, LookupEnv, EnvVars, SetupData, Sleep
//	group           Group, GroupErr
//	log             Log.Debug, Log.Info, Log.Warn, Log.Error (and the ...f forms)
//	exports         Register(Scenario{Options, Setup, Iteration, Teardown})
//
// Outside Wasm (go test, go vet on the host) the package compiles, but every call
// into the runner panics: scenarios only run inside Volley.
//
// Calls into the runner are not safe from several goroutines at once; make them
// from the goroutine the runner calls (goroutines do not run in parallel in Wasm
// anyway, and Sleep pauses the whole VU).
package volley

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Scenario is what a component runs: its default options and its entry points.
// Only Iteration is required.
type Scenario struct {
	// Options are the scenario's default load options as k6-style JSON, such as
	// `{"vus": 10, "duration": "30s"}`, used where the user gives none. Empty
	// means "{}" (no defaults).
	Options string

	// Setup runs once per run, before any iteration, on a VU of its own. The bytes
	// it returns reach every VU through SetupData. An error aborts the run.
	Setup func() ([]byte, error)

	// Iteration is one iteration of the scenario; the runner calls it over and
	// over on every VU. exec names the entry point the run options chose
	// ("default" unless set). An error fails this iteration and is counted; a
	// panic is recovered and counted the same way, with its message and a short
	// stack.
	Iteration func(exec string) error

	// Teardown runs once at the end of the run, after every iteration, on a VU of
	// its own.
	Teardown func() error

	// GCPercent is the garbage collector's target (GOGC) while scenario code runs:
	// 0 means 100, Go's default. Lower values trade CPU for memory per VU.
	GCPercent int
}

var registered *Scenario

// Register makes s the component's scenario. Call it exactly once, from an init
// function of the main package: the runner may call the scenario as soon as
// package initialization is over. Register panics if s has no Iteration or when
// called twice.
func Register(s Scenario) {
	if registered != nil {
		panic("volley.Register called twice: a component holds one scenario")
	}
	if s.Iteration == nil {
		panic("volley.Register: Scenario.Iteration is nil")
	}
	if s.GCPercent > 0 {
		gcPercent = s.GCPercent
	}
	registered = &s
}

var errNotRegistered = errors.New("no scenario registered: call volley.Register(volley.Scenario{...}) in an init function of the main package")

func runOptions() (options string) {
	if registered == nil || strings.TrimSpace(registered.Options) == "" {
		return "{}"
	}
	return registered.Options
}

func runSetup() (data []byte, err error) {
	if registered == nil {
		return nil, errNotRegistered
	}
	if registered.Setup == nil {
		return nil, nil
	}
	err = protect(func() error {
		var err error
		data, err = registered.Setup()
		return err
	})
	return data, err
}

func runIteration(exec string) error {
	if registered == nil {
		return errNotRegistered
	}
	return protect(func() error { return registered.Iteration(exec) })
}

func runTeardown() error {
	if registered == nil {
		return errNotRegistered
	}
	if registered.Teardown == nil {
		return nil
	}
	return protect(registered.Teardown)
}

// protect runs fn and turns a panic into an error holding the panic's value and a
// short stack, so that a panicking iteration fails like one that returned an error
// instead of trapping the VU.
func protect(fn func() error) (err error) {
	defer func() {
		if value := recover(); value != nil {
			err = &PanicError{Value: value, Stack: shortStack()}
		}
	}()
	return fn()
}

// PanicError is the error an entry point returns when the scenario's code
// panicked: the runner counts it as a failed iteration (or a failed setup or
// teardown) with this message.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack lists the innermost frames of the scenario's code, one per line, as
	// "function (file.go:line)".
	Stack string
}

func (e *PanicError) Error() string {
	if e.Stack == "" {
		return fmt.Sprintf("panic: %v", e.Value)
	}
	return fmt.Sprintf("panic: %v\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// maxStackFrames bounds the stack in a PanicError.
const maxStackFrames = 8

// shortStack describes the panicking goroutine's frames from the panic up to (not
// including) protect, skipping the runtime's own frames.
func shortStack() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var lines []string
	for {
		frame, more := frames.Next()
		if strings.HasPrefix(frame.Function, "volley.dev/volley.run") || strings.HasSuffix(frame.Function, "volley.protect") {
			break // the SDK's own frames, below the scenario's
		}
		if !strings.HasPrefix(frame.Function, "runtime.") && frame.Function != "" {
			if len(lines) == maxStackFrames {
				lines = append(lines, "    ...")
				break
			}
			lines = append(lines, fmt.Sprintf("    %s (%s:%d)", frame.Function, filepath.Base(frame.File), frame.Line))
		}
		if !more {
			break
		}
	}
	return strings.Join(lines, "\n")
}

// Check records whether the check called name passed (in the `checks` rate
// metric, like k6's check) and returns ok. tags are added to the sample. A failed
// check fails neither the request nor the iteration.
//
//	volley.Check("status is 200", response.Status == 200)
func Check(name string, ok bool, tags ...Tags) bool {
	return rawCheck(name, ok, mergeTags(tags))
}

// Group runs fn inside the group name, like k6's group: what fn records
// (requests, checks, custom metrics) is tagged `group` with the path of the open
// groups, such as "::book::pay", and the group's time is recorded in the
// `group_duration` trend. Groups nest. A name that contains "::", or more than 16
// open groups, traps the VU.
//
//	volley.Group("browse", func() {
//		volley.Get(base+"/dates", volley.Name("GET /dates"))
//	})
func Group(name string, fn func()) {
	rawGroupEnter(name)
	defer rawGroupLeave()
	fn()
}

// GroupErr is Group for a function that returns an error, which it returns.
//
//	err := volley.GroupErr("book", func() error { return reserve() })
func GroupErr(name string, fn func() error) error {
	rawGroupEnter(name)
	defer rawGroupLeave()
	return fn()
}

// Sleep pauses this VU for d, rounded up to whole milliseconds (think time).
// Other VUs run on. Use it rather than time.Sleep, which would block the runner's
// thread.
func Sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	rawVUSleep(uint64((d + time.Millisecond - 1) / time.Millisecond))
}

// Env returns the run's environment variable name (from `--env` or the run's
// options), or "" when it is not set. The runner's own process environment is
// never visible, and os.Getenv sees nothing.
func Env(name string) string {
	value, _ := rawVUEnv(name)
	return value
}

// LookupEnv returns the run's environment variable name and whether it is set.
func LookupEnv(name string) (string, bool) {
	return rawVUEnv(name)
}

// EnvVars returns all of the run's environment variables.
func EnvVars() map[string]string {
	vars := rawVUEnvVars()
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return m
}

var setupData = sync.OnceValue(rawVUSetupData)

// SetupData returns the bytes Setup returned (empty when it returned none). It is
// fetched from the runner once per VU; do not modify the slice.
func SetupData() []byte {
	return setupData()
}

// VUInfo describes the running virtual user; use the variable VU.
type VUInfo struct{}

// VU is the running virtual user: volley.VU.ID(), volley.VU.Iteration(),
// volley.VU.Scenario().
var VU VUInfo

// ID is this VU's id: 1, 2, ... unique within the run.
func (VUInfo) ID() uint32 { return rawVUID() }

// Iteration is how many iterations this VU has started before the current one (0
// in the first).
func (VUInfo) Iteration() uint64 { return rawVUIteration() }

// Scenario is the name of the scenario this VU runs.
func (VUInfo) Scenario() string { return rawVUScenario() }

// LogLevel is how important a log message is.
type LogLevel uint8

// The log levels, in the order of the WIT enum.
const (
	LevelDebug LogLevel = iota
	LevelInfo
	LevelWarn
	LevelError
)

// Logger writes messages to the run's log; use the variable Log. The runner keeps
// them with the run and rate-limits them per VU. (Standard output and standard
// error are kept only to explain a trap.)
type Logger struct{}

// Log is the run's log: volley.Log.Info("..."), volley.Log.Warnf("...", args...).
var Log Logger

// Print records message at level.
func (Logger) Print(level LogLevel, message string) { rawLog(level, message) }

// Debug records message at the debug level.
func (Logger) Debug(message string) { rawLog(LevelDebug, message) }

// Info records message at the info level.
func (Logger) Info(message string) { rawLog(LevelInfo, message) }

// Warn records message at the warn level.
func (Logger) Warn(message string) { rawLog(LevelWarn, message) }

// Error records message at the error level.
func (Logger) Error(message string) { rawLog(LevelError, message) }

// Debugf formats with fmt.Sprintf and records the message at the debug level.
func (Logger) Debugf(format string, args ...any) { rawLog(LevelDebug, fmt.Sprintf(format, args...)) }

// Infof formats with fmt.Sprintf and records the message at the info level.
func (Logger) Infof(format string, args ...any) { rawLog(LevelInfo, fmt.Sprintf(format, args...)) }

// Warnf formats with fmt.Sprintf and records the message at the warn level.
func (Logger) Warnf(format string, args ...any) { rawLog(LevelWarn, fmt.Sprintf(format, args...)) }

// Errorf formats with fmt.Sprintf and records the message at the error level.
func (Logger) Errorf(format string, args ...any) { rawLog(LevelError, fmt.Sprintf(format, args...)) }

// Field is one name/value pair of a header list or a tag list, in order.
type Field struct {
	Name  string
	Value string
}

// Tags are tag pairs recorded with a check or a metric sample.
type Tags map[string]string

// mergeTags flattens tag maps into pairs, sorted by name so that the same tags
// always make the same series.
func mergeTags(tags []Tags) []Field {
	if len(tags) == 0 {
		return nil
	}
	var fields []Field
	for _, t := range tags {
		for k, v := range t {
			fields = append(fields, Field{Name: k, Value: v})
		}
	}
	sortFields(fields)
	return fields
}

func sortFields(fields []Field) {
	// Insertion sort: tag lists are short.
	for i := 1; i < len(fields); i++ {
		for j := i; j > 0 && fields[j].Name < fields[j-1].Name; j-- {
			fields[j], fields[j-1] = fields[j-1], fields[j]
		}
	}
}
