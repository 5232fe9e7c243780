package volley

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Request is one HTTP request. Build it with NewRequest and options, or fill the
// fields yourself, and send it with Send or Batch. The runner sends it on this
// VU's own keep-alive connections (HTTP/1.1, or HTTP/2 over TLS when the server
// offers it), follows redirects, and records it in the run's metrics
// (`http_reqs`, `http_req_duration` and its phases, `http_req_failed`,
// `data_sent`, `data_received`), whether it succeeds or fails.
type Request struct {
	// Method is the method, such as "GET" (any token is allowed).
	Method string
	// URL is an absolute http:// or https:// URL.
	URL string
	// Headers are the request headers, in order; names are case-insensitive. The
	// runner adds host, content-length and a default user-agent where missing.
	Headers []Field
	// Body is the request body; nil sends none (an empty non-nil slice sends an
	// empty one).
	Body []byte
	// Name is the metric label of this request (its `name` tag), such as
	// "GET /seats/{id}", so that URLs that differ only by ids share one series.
	// Empty means the URL.
	Name string
	// Tags are extra tags recorded with this request's metrics.
	Tags []Field
	// Timeout limits the whole request, redirects included (rounded up to whole
	// milliseconds). 0 means the runner's default, 60 s.
	Timeout time.Duration
	// MaxRedirects is how many redirects to follow; nil means the runner's
	// default, 10; 0 returns the redirect response itself.
	MaxRedirects *int
	// DiscardBody makes the runner read the body (timed and counted) without
	// copying it to the scenario: Response.Body is empty. Saves memory and time.
	DiscardBody bool

	// err is an error found while building (a JSON body that did not marshal),
	// returned by Send instead of sending.
	err error
}

// RequestOption sets one property of a Request; pass them to Get, Post, Do,
// NewRequest and friends.
type RequestOption func(*Request)

// Name sets the request's metric label (its `name` tag), such as
// "GET /seats/{id}", so that URLs that differ only by ids share one series.
func Name(name string) RequestOption {
	return func(r *Request) { r.Name = name }
}

// Header adds the header name: value (after the ones already set).
func Header(name, value string) RequestOption {
	return func(r *Request) { r.Headers = append(r.Headers, Field{Name: name, Value: value}) }
}

// Tag adds the tag key: value to the request's metrics.
func Tag(key, value string) RequestOption {
	return func(r *Request) { r.Tags = append(r.Tags, Field{Name: key, Value: value}) }
}

// Timeout limits the whole request, redirects included.
func Timeout(d time.Duration) RequestOption {
	return func(r *Request) { r.Timeout = d }
}

// MaxRedirects sets how many redirects to follow (0: return the redirect itself).
func MaxRedirects(n int) RequestOption {
	return func(r *Request) { r.MaxRedirects = &n }
}

// DiscardBody makes the runner read the body without copying it to the scenario.
func DiscardBody() RequestOption {
	return func(r *Request) { r.DiscardBody = true }
}

// Body sets the request body.
func Body(body []byte) RequestOption {
	return func(r *Request) { r.Body = body }
}

// JSONBody sets the body to v marshalled as JSON (compact, without HTML escaping)
// and adds `content-type: application/json` unless a content-type is already set.
// A value that does not marshal makes Send return an *HTTPError of kind
// InvalidRequest without sending anything.
func JSONBody(v any) RequestOption {
	return func(r *Request) {
		var buf bytes.Buffer
		encoder := json.NewEncoder(&buf)
		encoder.SetEscapeHTML(false)
		if err := encoder.Encode(v); err != nil {
			r.err = &HTTPError{Kind: ErrorInvalidRequest, Detail: "the JSON body did not marshal: " + err.Error()}
			return
		}
		r.Body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		for _, h := range r.Headers {
			if strings.EqualFold(h.Name, "content-type") {
				return
			}
		}
		r.Headers = append(r.Headers, Field{Name: "content-type", Value: "application/json"})
	}
}

// NewRequest returns a request with method to url, body (nil for none) and opts
// applied in order.
func NewRequest(method, url string, body []byte, opts ...RequestOption) *Request {
	r := &Request{Method: method, URL: url, Body: body}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// Send sends r and waits for its whole response. A response of any status is a
// *Response (a 500 is not an error); the error, an *HTTPError, means no response
// arrived.
func (r *Request) Send() (*Response, error) {
	if r.err != nil {
		return nil, r.err
	}
	return rawSend(r)
}

// Do sends a request with method to url with body (nil for none).
func Do(method, url string, body []byte, opts ...RequestOption) (*Response, error) {
	return NewRequest(method, url, body, opts...).Send()
}

// Get sends a GET request to url.
//
//	response, err := volley.Get(base+"/dates/"+id, volley.Name("GET /dates/{id}"))
func Get(url string, opts ...RequestOption) (*Response, error) {
	return Do("GET", url, nil, opts...)
}

// Head sends a HEAD request to url.
func Head(url string, opts ...RequestOption) (*Response, error) {
	return Do("HEAD", url, nil, opts...)
}

// Delete sends a DELETE request to url.
func Delete(url string, opts ...RequestOption) (*Response, error) {
	return Do("DELETE", url, nil, opts...)
}

// Post sends a POST request with body (nil for none) to url. No content-type is
// set: add one with Header, or use PostJSON.
func Post(url string, body []byte, opts ...RequestOption) (*Response, error) {
	return Do("POST", url, body, opts...)
}

// Put sends a PUT request with body to url.
func Put(url string, body []byte, opts ...RequestOption) (*Response, error) {
	return Do("PUT", url, body, opts...)
}

// Patch sends a PATCH request with body to url.
func Patch(url string, body []byte, opts ...RequestOption) (*Response, error) {
	return Do("PATCH", url, body, opts...)
}

// PostJSON sends a POST request to url with v as its JSON body (see JSONBody).
//
//	response, err := volley.PostJSON(base+"/payments", Payment{ID: id}, volley.Name("POST /payments"))
func PostJSON(url string, v any, opts ...RequestOption) (*Response, error) {
	return Do("POST", url, nil, append([]RequestOption{JSONBody(v)}, opts...)...)
}

// Result is the outcome of one request of a Batch: a response or an error.
type Result struct {
	Response *Response
	Err      error
}

// Batch sends several requests at once (at most 6 in flight per host, like k6's
// batchPerHost) and returns their results in the same order.
//
//	results := volley.Batch(
//		volley.NewRequest("GET", base+"/a.css", nil, volley.DiscardBody()),
//		volley.NewRequest("GET", base+"/b.js", nil, volley.DiscardBody()),
//	)
func Batch(requests ...*Request) []Result {
	results := make([]Result, len(requests))
	var toSend []*Request
	var index []int
	for i, r := range requests {
		if r.err != nil {
			results[i].Err = r.err
			continue
		}
		toSend = append(toSend, r)
		index = append(index, i)
	}
	if len(toSend) == 0 {
		return results
	}
	sent := rawSendBatch(toSend)
	for j, i := range index {
		if j < len(sent) {
			results[i] = sent[j]
		} else {
			results[i].Err = &HTTPError{Kind: ErrorProtocol, Detail: "the runner returned fewer results than requests were sent"}
		}
	}
	return results
}

// Response is an HTTP response (of any status).
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Headers are the response headers, names in lower case, in order.
	Headers []Field
	// Body is the body; empty when the request asked for DiscardBody.
	Body []byte
	// URL is the URL that produced this response, after redirects.
	URL string
	// Protocol is "HTTP/1.1" or "HTTP/2.0".
	Protocol string
	// Timings are where the time of the request went.
	Timings Timings
}

// Text returns the body as a string, with invalid UTF-8 replaced by U+FFFD.
func (r *Response) Text() string {
	return lossyString(r.Body)
}

// JSON unmarshals the body (encoding/json) into v.
//
//	var dates []Date
//	if err := response.JSON(&dates); err != nil { ... }
func (r *Response) JSON(v any) error {
	return json.Unmarshal(r.Body, v)
}

// Header returns the value of the first header called name (compared
// case-insensitively), or "".
func (r *Response) Header(name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// HeaderValues returns the values of every header called name (compared
// case-insensitively), in order.
func (r *Response) HeaderValues(name string) []string {
	var values []string
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			values = append(values, h.Value)
		}
	}
	return values
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool {
	return r.Status >= 200 && r.Status < 300
}

// Timings are where the time of one request went, as k6 defines them.
type Timings struct {
	// Blocked is the wait for a connection: DNS lookup, or a free connection slot.
	Blocked time.Duration
	// Connecting is establishing the TCP connection (0 when one was reused).
	Connecting time.Duration
	// TLSHandshaking is the TLS handshake (0 for plain HTTP or a reused connection).
	TLSHandshaking time.Duration
	// Sending is writing the request.
	Sending time.Duration
	// Waiting is from the last request byte written to the first response byte.
	Waiting time.Duration
	// Receiving is reading the response from its first byte to its last.
	Receiving time.Duration
	// Duration is Sending + Waiting + Receiving: the value of http_req_duration.
	Duration time.Duration
}

// ErrorKind says why a request got no response (the WIT variant `http.error`).
type ErrorKind uint8

// The kinds of HTTPError, in the order of the WIT variant.
const (
	// ErrorInvalidRequest: the request itself is malformed (bad URL, method or header).
	ErrorInvalidRequest ErrorKind = iota
	// ErrorDenied: the target is not allowed by the runner's configuration.
	ErrorDenied
	// ErrorDNS: the host name could not be resolved.
	ErrorDNS
	// ErrorConnect: the TCP connection could not be made (refused, unreachable).
	ErrorConnect
	// ErrorTLS: the TLS handshake failed.
	ErrorTLS
	// ErrorTimeout: the request did not finish within its timeout.
	ErrorTimeout
	// ErrorProtocol: the connection broke or the peer spoke invalid HTTP.
	ErrorProtocol
	// ErrorTooManyRedirects: more redirects than MaxRedirects.
	ErrorTooManyRedirects
)

var errorCodes = [...]string{"invalid-request", "denied", "dns", "connect", "tls", "timeout", "protocol", "too-many-redirects"}

// String returns the kind's code, as in the `error_code` tag: "connect", "timeout", ...
func (k ErrorKind) String() string {
	if int(k) < len(errorCodes) {
		return errorCodes[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", uint8(k))
}

// HTTPError is why a request got no response. Each is counted in
// `http_req_failed` and in `http_reqs` with the tag `error_code`.
//
//	var httpErr *volley.HTTPError
//	if errors.As(err, &httpErr) && httpErr.Kind == volley.ErrorTimeout { ... }
type HTTPError struct {
	Kind ErrorKind
	// Detail is the runner's explanation (empty for Timeout and TooManyRedirects).
	Detail string
}

// Error describes the error, as the Rust SDK does: "connection failed: ...".
func (e *HTTPError) Error() string {
	switch e.Kind {
	case ErrorInvalidRequest:
		return "invalid request: " + e.Detail
	case ErrorDenied:
		return "request denied by the runner: " + e.Detail
	case ErrorDNS:
		return "DNS lookup failed: " + e.Detail
	case ErrorConnect:
		return "connection failed: " + e.Detail
	case ErrorTLS:
		return "TLS handshake failed: " + e.Detail
	case ErrorTimeout:
		return "request timed out"
	case ErrorProtocol:
		return "protocol error: " + e.Detail
	case ErrorTooManyRedirects:
		return "too many redirects"
	}
	return fmt.Sprintf("HTTP error %d: %s", uint8(e.Kind), e.Detail)
}

// Code returns the error's code, as in the `error_code` tag.
func (e *HTTPError) Code() string { return e.Kind.String() }

// timeoutMillis rounds d up to whole milliseconds, saturating at the largest u32.
func timeoutMillis(d time.Duration) uint32 {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxUint32 || ms < 0 {
		return math.MaxUint32
	}
	return uint32(ms)
}

// millisToDuration converts the runner's milliseconds; NaN and negatives are 0.
func millisToDuration(ms float64) time.Duration {
	if math.IsNaN(ms) || ms <= 0 {
		return 0
	}
	ns := ms * 1e6
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// lossyString converts b to a string, replacing each maximal invalid UTF-8
// subsequence with U+FFFD, as Rust's String::from_utf8_lossy does.
func lossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	out.Grow(len(b) + 8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r != utf8.RuneError || size > 1 {
			out.Write(b[:size])
			b = b[size:]
			continue
		}
		out.WriteRune(utf8.RuneError)
		b = b[invalidPrefix(b):]
	}
	return out.String()
}

// invalidPrefix is the length of the maximal subpart of an ill-formed sequence at
// the start of b (at least 1): a lead byte followed by the continuation bytes that
// could still have completed it.
func invalidPrefix(b []byte) int {
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	i := 1
	for ; i <= need && i < len(b); i++ {
		if b[i] < lo || b[i] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return i
}
