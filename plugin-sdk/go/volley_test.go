package volley

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLossyStringReplacesMaximalSubparts(t *testing.T) {
	cases := map[string]string{
		"hi \xff":           "hi \uFFFD",
		"\xff\xfe":          "\uFFFD\uFFFD",
		"a\xf0\x9f\x98b":    "a\uFFFDb", // a truncated 4-byte sequence is one subpart
		"\xed\xa0\x80":      "\uFFFD\uFFFD\uFFFD",
		"ok é":              "ok é",
		"\xe2\x82":          "\uFFFD",
		"\xc3\x28 and \xa9": "\uFFFD( and \uFFFD",
	}
	for in, want := range cases {
		if got := lossyString([]byte(in)); got != want {
			t.Errorf("lossyString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHTTPErrorMessagesMatchTheRustSDK(t *testing.T) {
	cases := []struct {
		err  *HTTPError
		want string
	}{
		{&HTTPError{Kind: ErrorDNS, Detail: "no such host"}, "DNS lookup failed: no such host"},
		{&HTTPError{Kind: ErrorConnect, Detail: "refused"}, "connection failed: refused"},
		{&HTTPError{Kind: ErrorTimeout}, "request timed out"},
		{&HTTPError{Kind: ErrorTooManyRedirects}, "too many redirects"},
		{&HTTPError{Kind: ErrorInvalidRequest, Detail: "bad url"}, "invalid request: bad url"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%v: got %q, want %q", c.err.Kind, got, c.want)
		}
	}
	if got := (&HTTPError{Kind: ErrorTooManyRedirects}).Code(); got != "too-many-redirects" {
		t.Errorf("code %q", got)
	}
}

func TestRequestOptions(t *testing.T) {
	r := NewRequest("POST", "http://127.0.0.1/seats/1", nil,
		Name("POST /seats/{id}"),
		Header("authorization", "Bearer t"),
		JSONBody(map[string]any{"seat_id": "A<1>"}),
		Tag("zone", "A"),
		Timeout(1500*time.Microsecond),
		MaxRedirects(0),
		DiscardBody())
	if string(r.Body) != `{"seat_id":"A<1>"}` {
		t.Errorf("body %s", r.Body)
	}
	if len(r.Headers) != 2 || r.Headers[1] != (Field{"content-type", "application/json"}) {
		t.Errorf("headers %v", r.Headers)
	}
	if r.Name != "POST /seats/{id}" || r.Tags[0] != (Field{"zone", "A"}) || *r.MaxRedirects != 0 || !r.DiscardBody {
		t.Errorf("request %+v", r)
	}
	if ms := timeoutMillis(r.Timeout); ms != 2 {
		t.Errorf("timeout %d ms", ms)
	}
	if ms := timeoutMillis(time.Duration(1 << 62)); ms != 1<<32-1 {
		t.Errorf("long timeout %d ms", ms)
	}
	// An explicit content-type is kept.
	r = NewRequest("POST", "http://127.0.0.1/", nil, Header("Content-Type", "application/vnd.api+json"), JSONBody("x"))
	if len(r.Headers) != 1 {
		t.Errorf("headers %v", r.Headers)
	}
	// A body that does not marshal is an invalid-request error, returned by Send.
	r = NewRequest("POST", "http://127.0.0.1/", nil, JSONBody(func() {}))
	var httpErr *HTTPError
	if _, err := r.Send(); !errors.As(err, &httpErr) || httpErr.Kind != ErrorInvalidRequest {
		t.Errorf("send: %v", err)
	}
}

func TestResponseHelpers(t *testing.T) {
	r := &Response{Status: 201, Headers: []Field{{"content-type", "application/json"}, {"set-cookie", "a=1"}, {"set-cookie", "b=2"}}, Body: []byte(`{"token":"t1"}`)}
	if !r.OK() || r.Header("Content-Type") != "application/json" || r.Header("x") != "" {
		t.Error("header lookup")
	}
	if got := r.HeaderValues("SET-COOKIE"); len(got) != 2 || got[1] != "b=2" {
		t.Errorf("cookies %v", got)
	}
	var v struct{ Token string }
	if err := r.JSON(&v); err != nil || v.Token != "t1" {
		t.Errorf("json %v %v", v, err)
	}
}

func TestMillisToDuration(t *testing.T) {
	if d := millisToDuration(1.5); d != 1500*time.Microsecond {
		t.Error(d)
	}
	if millisToDuration(-3) != 0 || millisToDuration(0) != 0 {
		t.Error("negative")
	}
	if d := millisToDuration(1e300); d != time.Duration(1<<63-1) {
		t.Error(d)
	}
}

func TestMergeTagsSortsByName(t *testing.T) {
	got := mergeTags([]Tags{{"b": "1", "a": "2"}, {"c": "3"}})
	if len(got) != 3 || got[0].Name != "a" || got[1].Name != "b" || got[2].Name != "c" {
		t.Errorf("%v", got)
	}
	if mergeTags(nil) != nil {
		t.Error("nil tags")
	}
}

func TestProtectTurnsPanicsIntoErrors(t *testing.T) {
	err := protect(func() error {
		var m map[string]int
		m["x"] = 1
		return nil
	})
	var p *PanicError
	if !errors.As(err, &p) {
		t.Fatalf("not a PanicError: %v", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "panic: assignment to entry in nil map\n") || !strings.Contains(msg, "volley_test.go:") {
		t.Errorf("message %q", msg)
	}
	if strings.Contains(msg, "runtime.") {
		t.Errorf("runtime frames in %q", msg)
	}
	if err := protect(func() error { return errors.New("plain") }); err.Error() != "plain" {
		t.Error(err)
	}
}

func TestRunWithoutRegisterFails(t *testing.T) {
	saved := registered
	registered = nil
	defer func() { registered = saved }()
	if runIteration("default") == nil || runOptions() != "{}" {
		t.Error("unregistered scenario")
	}
}
