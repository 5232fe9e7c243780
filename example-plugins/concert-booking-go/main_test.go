package main

import (
	"encoding/json"
	"strings"
	"testing"

	"volley.dev/volley"
)

func response(status int, body string) *volley.Response {
	return &volley.Response{Status: status, Body: []byte(body), URL: "http://127.0.0.1/", Protocol: "HTTP/1.1"}
}

func TestParseReadsTheExpectedStatus(t *testing.T) {
	var seats []seat
	err := parse(stepSeats, response(200, `[{"id": "A1", "available": true}, {"id": "A2", "available": false}]`), 200, &seats)
	if err != nil || len(seats) != 2 || *seats[0].ID != "A1" || *seats[1].Available {
		t.Fatalf("%v %v", seats, err)
	}
}

func TestParseNamesTheStepAndStatus(t *testing.T) {
	var token queueToken
	err := parse(stepDates, response(401, "no token"), 200, &token)
	want := "GET /dates: expected status 200, got 401 (the queue token was missing or rejected); body: no token"
	if err == nil || err.Error() != want {
		t.Errorf("got %v", err)
	}
	err = parse(stepToken, response(200, "{}"), 200, &token)
	if err == nil || !strings.HasPrefix(err.Error(), "POST /queue/token: unexpected JSON body: missing field `token`") {
		t.Errorf("got %v", err)
	}
	var dates []concertDate
	err = parse(stepDates, response(200, `[{"id": 1, "date": "2026-12-01"}]`), 200, &dates)
	if err == nil || err.Error() != "GET /dates: unexpected JSON body: missing field `venue`" {
		t.Errorf("got %v", err)
	}
	err = parse(stepDates, response(200, `nope`), 200, &dates)
	if err == nil || !strings.HasPrefix(err.Error(), "GET /dates: unexpected JSON body: ") {
		t.Errorf("got %v", err)
	}
}

func TestExcerptCutsLongBodies(t *testing.T) {
	if excerpt("") != "(empty)" || excerpt("short") != "short" {
		t.Error("short")
	}
	long := strings.Repeat("é", 300)
	if got := excerpt(long); got != strings.Repeat("é", 200)+"…" {
		t.Errorf("got %d bytes", len(got))
	}
	if got := excerpt(strings.Repeat("x", 200)); got != strings.Repeat("x", 200) {
		t.Error("exactly 200")
	}
}

func TestRequestBodiesMatchTheAPI(t *testing.T) {
	r := volley.NewRequest("POST", "http://127.0.0.1/reservations", nil,
		volley.JSONBody(reservationRequest{DateID: 1, SeatID: "A1"}))
	if string(r.Body) != `{"date_id":1,"seat_id":"A1"}` {
		t.Errorf("%s", r.Body)
	}
	r = volley.NewRequest("POST", "http://127.0.0.1/payments", nil,
		volley.JSONBody(paymentRequest{ReservationID: "r-1"}))
	if string(r.Body) != `{"reservation_id":"r-1"}` {
		t.Errorf("%s", r.Body)
	}
}

func TestOptionsAreValidJSON(t *testing.T) {
	var parsed struct {
		VUs        int                 `json:"vus"`
		Thresholds map[string][]string `json:"thresholds"`
	}
	if err := json.Unmarshal([]byte(options), &parsed); err != nil || parsed.VUs != 10 || parsed.Thresholds["checks"][0] != "rate>0.99" {
		t.Errorf("%+v %v", parsed, err)
	}
}
