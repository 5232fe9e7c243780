//go:build wasip1 && wasm

// The canonical ABI glue between this package and the WIT world
// `volley:scenario/scenario@0.1.0` (plugin-sdk/wit/scenario.wit), written by hand.
//
// Why by hand: `wit-bindgen go` generates a `main` package laid out for
// componentize-go (the user's code goes in generated `export_*` packages), needs
// `-ldflags=-checklinkname=0`, and its `cabi_realloc` allocates from the Go heap
// while the host is lowering values, which is exactly what must not start a GC
// (see "Garbage collection" below). The world is small, so the lifting and
// lowering below are written out for its types only.
//
// # How a Go scenario becomes a component
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o core.wasm .
//	wasm-tools component embed WIT_DIR --world scenario core.wasm -o embedded.wasm
//	wasm-tools component new embedded.wasm \
//	    --adapt wasi_snapshot_preview1=wasi_snapshot_preview1.reactor.wasm -o scenario.wasm
//
// `-buildmode=c-shared` makes a WASI reactor: the module exports `_initialize`
// (the Go runtime's start-up and every package's init) and `wasm-tools component
// new` calls it when the component is instantiated, before any export. Imports
// are `//go:wasmimport` functions named after the WIT interfaces; exports are
// `//go:wasmexport` functions named after the world's functions, with
// `cabi_post_*` post-return functions, `cabi_realloc`, and
// `cabi_realloc_adapter` for the WASI adapter.
//
// # Flattening (what each core signature is)
//
// All values are lowered as the canonical ABI says: strings and lists as (address,
// length) pairs in linear memory, records in field order with natural alignment,
// options and results as a discriminant byte followed by the payload at the
// payload's alignment, enums as their index. A function with more than 16 flat
// parameters (`http.send`'s request record has 19) takes a pointer to the record
// instead; a function with more than one flat result writes its result to a
// return area whose address the caller passes as the last parameter (imports)
// or returns (exports).
//
// # Memory
//
// Go owns the whole linear memory (its allocator assumes it is the only one to
// call memory.grow), so the host's allocations for us go through `cabi_realloc`,
// which allocates Go slices and keeps them in hostAllocs until they are lifted.
// Lifted strings and byte slices point straight into those allocations (no copy);
// Go's heap does not move objects, so they stay valid for as long as Go
// references them.
//
// Go's goroutine stacks do move (they are copied when they grow), and the host
// may call back into Go (`cabi_realloc`) in the middle of an import call, so
// every buffer whose address the host keeps across such a call (the return
// areas) is a package-level variable, never a local.
//
// # Garbage collection
//
// While the host is inside `cabi_realloc` or a post-return function, the
// component model forbids the guest to call any import ("cannot leave component
// instance"). A GC cycle starting there would call the WASI clock through the
// adapter and trap the VU. So the GC is off (`debug.SetGCPercent(-1)`) whenever
// the host may call `cabi_realloc`: between exports, and during the import calls
// that return strings or lists. It is on while scenario code runs, so the heap
// stays bounded as usual.
//
// # The WASI adapter
//
// The preview1 adapter allocates its state (two 64 KiB pages) on its first use,
// which is during `_initialize`, before the Go runtime can run Go code. It asks
// the main module's `cabi_realloc_adapter`, which is served from a static arena
// without touching the Go runtime.

package volley

import (
	"runtime"
	"runtime/debug"
	"unsafe"
)

// ---------------------------------------------------------------------------
// Imports
// ---------------------------------------------------------------------------

//go:wasmimport volley:scenario/http@0.1.0 send
func wasmSend(request uint32, ret uint32)

//go:wasmimport volley:scenario/http@0.1.0 send-batch
func wasmSendBatch(requests uint32, count uint32, ret uint32)

//go:wasmimport volley:scenario/checks@0.1.0 check
func wasmCheck(name, nameLen uint32, ok uint32, tags, tagsLen uint32) uint32

//go:wasmimport volley:scenario/metrics@0.1.0 counter-add
func wasmCounterAdd(name, nameLen uint32, value float64, tags, tagsLen uint32)

//go:wasmimport volley:scenario/metrics@0.1.0 gauge-set
func wasmGaugeSet(name, nameLen uint32, value float64, tags, tagsLen uint32)

//go:wasmimport volley:scenario/metrics@0.1.0 rate-add
func wasmRateAdd(name, nameLen uint32, ok uint32, tags, tagsLen uint32)

//go:wasmimport volley:scenario/metrics@0.1.0 trend-add
func wasmTrendAdd(name, nameLen uint32, value float64, isTime uint32, tags, tagsLen uint32)

//go:wasmimport volley:scenario/vu@0.1.0 id
func wasmVUID() uint32

//go:wasmimport volley:scenario/vu@0.1.0 iteration
func wasmVUIteration() uint64

//go:wasmimport volley:scenario/vu@0.1.0 scenario
func wasmVUScenario(ret uint32)

//go:wasmimport volley:scenario/vu@0.1.0 env
func wasmVUEnv(name, nameLen uint32, ret uint32)

//go:wasmimport volley:scenario/vu@0.1.0 env-vars
func wasmVUEnvVars(ret uint32)

//go:wasmimport volley:scenario/vu@0.1.0 setup-data
func wasmVUSetupData(ret uint32)

//go:wasmimport volley:scenario/vu@0.1.0 sleep
func wasmVUSleep(millis uint64)

//go:wasmimport volley:scenario/group@0.1.0 enter
func wasmGroupEnter(name, nameLen uint32)

//go:wasmimport volley:scenario/group@0.1.0 leave
func wasmGroupLeave()

//go:wasmimport volley:scenario/log@0.1.0 log
func wasmLog(level uint32, message, messageLen uint32)

// Return areas for imports, at fixed addresses (see "Memory" above).
var (
	// result<response, error>: 104 bytes, 8-aligned.
	retResult [13]uint64
	// A string or a list: (address, length).
	retList [2]uint32
	// option<string>: discriminant, address, length.
	retOption [3]uint32
)

// ---------------------------------------------------------------------------
// Allocation
// ---------------------------------------------------------------------------

// hostAllocs keeps the allocations the host made through cabi_realloc alive until
// they are lifted (the host only holds their addresses, which the GC cannot see).
var hostAllocs []unsafe.Pointer

//go:wasmexport cabi_realloc
func cabiRealloc(old, oldSize, align, newSize uint32) uint32 {
	if newSize == 0 {
		return align // a non-null, aligned address for an empty allocation
	}
	p := allocate(newSize, align)
	if old != 0 && oldSize != 0 {
		copy(unsafe.Slice((*byte)(p), min(oldSize, newSize)), unsafe.Slice((*byte)(ptrAt(old)), min(oldSize, newSize)))
	}
	hostAllocs = append(hostAllocs, p)
	return addrOf(p)
}

// allocate returns size bytes of pointer-free Go memory aligned to align. The
// canonical ABI never needs more than 8; larger alignments are honoured by
// allocating more and rounding up (an interior pointer keeps the whole
// allocation alive).
func allocate(size, align uint32) unsafe.Pointer {
	switch {
	case align <= 1:
		return unsafe.Pointer(unsafe.SliceData(make([]byte, size)))
	case align <= 8:
		return unsafe.Pointer(unsafe.SliceData(make([]uint64, (size+7)/8)))
	default:
		buf := make([]uint64, (size+align+7)/8)
		base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
		return unsafe.Add(unsafe.Pointer(unsafe.SliceData(buf)), (base+uintptr(align)-1)&^(uintptr(align)-1)-base)
	}
}

// releaseHostAllocs forgets the host's allocations once they are lifted: what the
// lifted values still reference stays alive through them.
func releaseHostAllocs() {
	clear(hostAllocs)
	hostAllocs = hostAllocs[:0]
}

// adapterArena serves the WASI adapter's allocations (its state and its stack, one
// 64 KiB page each, made once per instance during `_initialize`). The extra
// bytes absorb the alignment.
var adapterArena [2*65536 + 4096]byte
var adapterUsed uintptr

// cabiReallocAdapter runs before the Go runtime is initialized, so it must not
// allocate, grow its stack or call anything: a bump allocator over a static array.
// It returns 0 (which makes the adapter trap) when the arena is exhausted.
//
//go:wasmexport cabi_realloc_adapter
//go:nosplit
func cabiReallocAdapter(old, oldSize, align, newSize uint32) uint32 {
	base := uintptr(unsafe.Pointer(&adapterArena[0]))
	if align == 0 {
		align = 1
	}
	p := (base + adapterUsed + uintptr(align) - 1) &^ (uintptr(align) - 1)
	if old != 0 || p+uintptr(newSize) > base+uintptr(len(adapterArena)) {
		return 0
	}
	adapterUsed = p + uintptr(newSize) - base
	return uint32(p)
}

// ---------------------------------------------------------------------------
// GC control (see "Garbage collection" above)
// ---------------------------------------------------------------------------

// gcPercent is the GC's target while scenario code runs (GOGC; the run's
// environment is not the process environment, so GOGC cannot be set).
var gcPercent = 100

func init() {
	// Between exports the host may call cabi_realloc at any time.
	debug.SetGCPercent(-1)
	// Heap profiling samples allocations, for no one to read.
	runtime.MemProfileRate = 0
}

// gcOff stops the GC, waiting for a cycle in progress to finish. Call it only
// where imports are allowed.
func gcOff() { debug.SetGCPercent(-1) }

// gcOn lets the GC run again.
func gcOn() { debug.SetGCPercent(gcPercent) }

// ---------------------------------------------------------------------------
// Addresses and loads
// ---------------------------------------------------------------------------

// Linear memory is 32-bit: every Go pointer into it fits in a uint32.
func addrOf(p unsafe.Pointer) uint32 { return uint32(uintptr(p)) }

// ptrAt turns a linear-memory address back into a pointer. Every address the host
// hands us is in an object Go keeps alive (hostAllocs, a return area or a value
// the caller holds), and Go's heap does not move objects.
func ptrAt(addr uint32) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), uintptr(addr)) }

func load8(addr uint32) uint8     { return *(*uint8)(ptrAt(addr)) }
func load16(addr uint32) uint16   { return *(*uint16)(ptrAt(addr)) }
func load32(addr uint32) uint32   { return *(*uint32)(ptrAt(addr)) }
func loadF64(addr uint32) float64 { return *(*float64)(ptrAt(addr)) }

func stringArg(s string) (uint32, uint32) {
	if len(s) == 0 {
		return 0, 0
	}
	return addrOf(unsafe.Pointer(unsafe.StringData(s))), uint32(len(s))
}

func bytesArg(b []byte) (uint32, uint32) {
	if len(b) == 0 {
		return 0, 0
	}
	return addrOf(unsafe.Pointer(unsafe.SliceData(b))), uint32(len(b))
}

func boolArg(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// liftString returns the string at (addr, n), without copying. The host
// guarantees UTF-8.
func liftString(addr, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String((*byte)(ptrAt(addr)), n)
}

// liftBytes returns the bytes at (addr, n), without copying.
func liftBytes(addr, n uint32) []byte {
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(ptrAt(addr)), n)
}

// ---------------------------------------------------------------------------
// list<tuple<string, string>>: 16 bytes per element, 4-aligned
// ---------------------------------------------------------------------------

// lowerFields lays out pairs as the canonical ABI list; the returned slice must
// stay alive (runtime.KeepAlive) until the import call returns.
func lowerFields(pairs []Field) (buf []uint32, addr, n uint32) {
	if len(pairs) == 0 {
		return nil, 0, 0
	}
	buf = make([]uint32, 4*len(pairs))
	for i, pair := range pairs {
		buf[4*i], buf[4*i+1] = stringArg(pair.Name)
		buf[4*i+2], buf[4*i+3] = stringArg(pair.Value)
	}
	return buf, addrOf(unsafe.Pointer(unsafe.SliceData(buf))), uint32(len(pairs))
}

func liftFields(addr, n uint32) []Field {
	fields := make([]Field, n)
	for i := range fields {
		e := addr + 16*uint32(i)
		fields[i] = Field{Name: liftString(load32(e), load32(e+4)), Value: liftString(load32(e+8), load32(e+12))}
	}
	return fields
}

// ---------------------------------------------------------------------------
// http
// ---------------------------------------------------------------------------

// requestWords is the size of the `request` record in 32-bit words (76 bytes,
// 4-aligned):
//
//	 0 method (addr, len)      24 body: option<list<u8>> (disc, addr, len)
//	 8 url (addr, len)         36 name: option<string> (disc, addr, len)
//	16 headers (addr, len)     48 tags (addr, len)
//	56 timeout-ms: option<u32> (disc, value)
//	64 max-redirects: option<u32> (disc, value)
//	72 discard-body: bool
const requestWords = 19

// lowerRequest writes r into w (requestWords long) and returns what must stay
// alive until the call returns.
func lowerRequest(r *Request, w []uint32) (keep [2][]uint32) {
	w[0], w[1] = stringArg(r.Method)
	w[2], w[3] = stringArg(r.URL)
	keep[0], w[4], w[5] = lowerFields(r.Headers)
	if r.Body != nil {
		w[6] = 1
		w[7], w[8] = bytesArg(r.Body)
	}
	if r.Name != "" {
		w[9] = 1
		w[10], w[11] = stringArg(r.Name)
	}
	keep[1], w[12], w[13] = lowerFields(r.Tags)
	if r.Timeout > 0 {
		w[14], w[15] = 1, timeoutMillis(r.Timeout)
	}
	if r.MaxRedirects != nil {
		w[16], w[17] = 1, uint32(max(*r.MaxRedirects, 0))
	}
	w[18] = boolArg(r.DiscardBody)
	return keep
}

// liftResult reads a result<response, error> (104 bytes, 8-aligned):
//
//	0 discriminant (0 ok, 1 err)
//	8 ok: status u16 | 12 headers | 20 body | 28 url | 36 protocol | 48 timings: 7 f64
//	8 err: variant discriminant | 12 its string payload (addr, len)
func liftResult(a uint32) (*Response, error) {
	if load8(a) != 0 {
		kind := ErrorKind(load8(a + 8))
		var detail string
		if kind != ErrorTimeout && kind != ErrorTooManyRedirects {
			detail = liftString(load32(a+12), load32(a+16))
		}
		return nil, &HTTPError{Kind: kind, Detail: detail}
	}
	t := a + 48
	return &Response{
		Status:   int(load16(a + 8)),
		Headers:  liftFields(load32(a+12), load32(a+16)),
		Body:     liftBytes(load32(a+20), load32(a+24)),
		URL:      liftString(load32(a+28), load32(a+32)),
		Protocol: liftString(load32(a+36), load32(a+40)),
		Timings: Timings{
			Blocked:        millisToDuration(loadF64(t)),
			Connecting:     millisToDuration(loadF64(t + 8)),
			TLSHandshaking: millisToDuration(loadF64(t + 16)),
			Sending:        millisToDuration(loadF64(t + 24)),
			Waiting:        millisToDuration(loadF64(t + 32)),
			Receiving:      millisToDuration(loadF64(t + 40)),
			Duration:       millisToDuration(loadF64(t + 48)),
		},
	}, nil
}

func rawSend(r *Request) (*Response, error) {
	gcOff()
	defer gcOn()
	w := make([]uint32, requestWords)
	keep := lowerRequest(r, w)
	ret := addrOf(unsafe.Pointer(&retResult))
	wasmSend(addrOf(unsafe.Pointer(unsafe.SliceData(w))), ret)
	runtime.KeepAlive(r)
	runtime.KeepAlive(w)
	runtime.KeepAlive(keep)
	response, err := liftResult(ret)
	releaseHostAllocs()
	return response, err
}

func rawSendBatch(requests []*Request) []Result {
	gcOff()
	defer gcOn()
	w := make([]uint32, requestWords*len(requests))
	keep := make([][2][]uint32, len(requests))
	for i, r := range requests {
		keep[i] = lowerRequest(r, w[requestWords*i:requestWords*(i+1)])
	}
	ret := addrOf(unsafe.Pointer(&retList))
	wasmSendBatch(addrOf(unsafe.Pointer(unsafe.SliceData(w))), uint32(len(requests)), ret)
	runtime.KeepAlive(requests)
	runtime.KeepAlive(w)
	runtime.KeepAlive(keep)
	addr, n := load32(ret), load32(ret+4)
	results := make([]Result, n)
	for i := range results {
		results[i].Response, results[i].Err = liftResult(addr + 104*uint32(i))
	}
	releaseHostAllocs()
	return results
}

// ---------------------------------------------------------------------------
// checks, metrics, group, log: no results to lift, so no realloc and no GC pause
// ---------------------------------------------------------------------------

func rawCheck(name string, ok bool, tags []Field) bool {
	np, nl := stringArg(name)
	buf, tp, tl := lowerFields(tags)
	passed := wasmCheck(np, nl, boolArg(ok), tp, tl) != 0
	runtime.KeepAlive(name)
	runtime.KeepAlive(buf)
	return passed
}

func rawCounterAdd(name string, value float64, tags []Field) {
	np, nl := stringArg(name)
	buf, tp, tl := lowerFields(tags)
	wasmCounterAdd(np, nl, value, tp, tl)
	runtime.KeepAlive(name)
	runtime.KeepAlive(buf)
}

func rawGaugeSet(name string, value float64, tags []Field) {
	np, nl := stringArg(name)
	buf, tp, tl := lowerFields(tags)
	wasmGaugeSet(np, nl, value, tp, tl)
	runtime.KeepAlive(name)
	runtime.KeepAlive(buf)
}

func rawRateAdd(name string, ok bool, tags []Field) {
	np, nl := stringArg(name)
	buf, tp, tl := lowerFields(tags)
	wasmRateAdd(np, nl, boolArg(ok), tp, tl)
	runtime.KeepAlive(name)
	runtime.KeepAlive(buf)
}

func rawTrendAdd(name string, value float64, isTime bool, tags []Field) {
	np, nl := stringArg(name)
	buf, tp, tl := lowerFields(tags)
	wasmTrendAdd(np, nl, value, boolArg(isTime), tp, tl)
	runtime.KeepAlive(name)
	runtime.KeepAlive(buf)
}

func rawGroupEnter(name string) {
	np, nl := stringArg(name)
	wasmGroupEnter(np, nl)
	runtime.KeepAlive(name)
}

func rawGroupLeave() { wasmGroupLeave() }

func rawLog(level LogLevel, message string) {
	mp, ml := stringArg(message)
	wasmLog(uint32(level), mp, ml)
	runtime.KeepAlive(message)
}

// ---------------------------------------------------------------------------
// vu
// ---------------------------------------------------------------------------

func rawVUID() uint32 { return wasmVUID() }

func rawVUIteration() uint64 { return wasmVUIteration() }

func rawVUSleep(millis uint64) { wasmVUSleep(millis) }

func rawVUScenario() string {
	gcOff()
	defer gcOn()
	ret := addrOf(unsafe.Pointer(&retList))
	wasmVUScenario(ret)
	s := liftString(load32(ret), load32(ret+4))
	releaseHostAllocs()
	return s
}

func rawVUEnv(name string) (string, bool) {
	gcOff()
	defer gcOn()
	np, nl := stringArg(name)
	ret := addrOf(unsafe.Pointer(&retOption))
	wasmVUEnv(np, nl, ret)
	runtime.KeepAlive(name)
	var value string
	found := load8(ret) != 0
	if found {
		value = liftString(load32(ret+4), load32(ret+8))
	}
	releaseHostAllocs()
	return value, found
}

func rawVUEnvVars() []Field {
	gcOff()
	defer gcOn()
	ret := addrOf(unsafe.Pointer(&retList))
	wasmVUEnvVars(ret)
	vars := liftFields(load32(ret), load32(ret+4))
	releaseHostAllocs()
	return vars
}

func rawVUSetupData() []byte {
	gcOff()
	defer gcOn()
	ret := addrOf(unsafe.Pointer(&retList))
	wasmVUSetupData(ret)
	data := liftBytes(load32(ret), load32(ret+4))
	releaseHostAllocs()
	return data
}

// ---------------------------------------------------------------------------
// Exports
// ---------------------------------------------------------------------------

// Return areas for exports, and the values they point into, which must outlive
// the export until its post-return function runs.
var (
	// string: (address, length).
	exportRetString [2]uint32
	// result<list<u8>, string> and result<_, string>: discriminant, address, length.
	exportRetResult [3]uint32
	// The Go string or slice the return area points into.
	exportRetKeep any
)

// returnString fills exportRetString with s and returns its address.
func returnString(s string) uint32 {
	exportRetKeep = s
	exportRetString[0], exportRetString[1] = stringArg(s)
	return addrOf(unsafe.Pointer(&exportRetString))
}

// returnResult fills exportRetResult with ok(data) or err(err.Error()) and returns
// its address.
func returnResult(data []byte, err error) uint32 {
	if err != nil {
		message := err.Error()
		exportRetKeep = message
		exportRetResult[0] = 1
		exportRetResult[1], exportRetResult[2] = stringArg(message)
	} else {
		exportRetKeep = data
		exportRetResult[0] = 0
		exportRetResult[1], exportRetResult[2] = bytesArg(data)
	}
	return addrOf(unsafe.Pointer(&exportRetResult))
}

// postReturn runs after the host has read an export's result. Like cabi_realloc
// it may not call imports, so it only drops the reference.
func postReturn() { exportRetKeep = nil }

//go:wasmexport options
func exportOptions() uint32 {
	gcOn()
	options := runOptions()
	gcOff()
	return returnString(options)
}

//go:wasmexport cabi_post_options
func exportPostOptions(uint32) { postReturn() }

//go:wasmexport setup
func exportSetup() uint32 {
	gcOn()
	data, err := runSetup()
	gcOff()
	return returnResult(data, err)
}

//go:wasmexport cabi_post_setup
func exportPostSetup(uint32) { postReturn() }

//go:wasmexport iteration
func exportIteration(exec, execLen uint32) uint32 {
	// The host allocated `exec` with cabi_realloc; the string now references it.
	name := liftString(exec, execLen)
	releaseHostAllocs()
	gcOn()
	err := runIteration(name)
	gcOff()
	return returnResult(nil, err)
}

//go:wasmexport cabi_post_iteration
func exportPostIteration(uint32) { postReturn() }

//go:wasmexport teardown
func exportTeardown() uint32 {
	gcOn()
	err := runTeardown()
	gcOff()
	return returnResult(nil, err)
}

//go:wasmexport cabi_post_teardown
func exportPostTeardown(uint32) { postReturn() }
