// Volley's demo scenario in Go: a fan books a concert seat. It behaves exactly
// like the Rust example (example-plugins/concert-booking): same requests, names,
// checks, groups, metrics, options and error messages.
//
// Each iteration walks the demo concert API (base URL from the run's TARGET_URL):
//
//  1. POST /queue/token: get a queue token (check "token issued"),
//  2. GET /dates: list the concert dates (check "dates listed"),
//  3. GET /dates/{id}/seats: list the seats of one date (check "seats listed"),
//  4. POST /reservations: reserve a free seat, trying another one once if the
//     first is taken (409) (check "seat reserved"),
//  5. POST /payments: pay for the reservation (check "payment accepted").
//
// Steps 1, 2-3 and 4-5 run in the groups "queue", "browse" and "book", so the
// summary lists the checks under them and group_duration times each.
//
// Between steps the fan thinks for THINK_TIME_MS milliseconds (default 500). A
// completed booking adds its whole time, think time included, to the time trend
// booking_duration and 1 to the counter bookings_completed. A failed step fails
// the iteration with a message naming the step.
//
//	volley run concert_booking_go.wasm --env TARGET_URL=http://127.0.0.1:8080 --env THINK_TIME_MS=100
package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"volley.dev/volley"
)

// bookingDuration is the whole booking flow time, in milliseconds, think time
// included.
var bookingDuration = volley.NewTimeTrend("booking_duration")

// bookingsCompleted counts the bookings that went through to a payment.
var bookingsCompleted = volley.NewCounter("bookings_completed")

// defaultThinkTimeMs is the think time between steps when THINK_TIME_MS is not set.
const defaultThinkTimeMs = 500

// The request and step names.
const (
	stepToken        = "POST /queue/token"
	stepDates        = "GET /dates"
	stepSeats        = "GET /dates/{id}/seats"
	stepReservations = "POST /reservations"
	stepPayments     = "POST /payments"
)

// options are the scenario's default load options, as the Rust example's.
const options = `{"vus": 10, "duration": "30s", "thresholds": {"http_req_duration": ["p(95)<500"], "checks": ["rate>0.99"]}}`

func init() {
	volley.Register(volley.Scenario{Options: options, Iteration: iteration})
}

// main is required by the Go tool chain but never called.
func main() {}

// queueToken is the POST /queue/token answer.
type queueToken struct {
	Token *string `json:"token"`
}

// concertDate is one entry of GET /dates.
type concertDate struct {
	ID    *uint64 `json:"id"`
	Date  *string `json:"date"`
	Venue *string `json:"venue"`
}

// seat is one entry of GET /dates/{id}/seats.
type seat struct {
	ID        *string `json:"id"`
	Available *bool   `json:"available"`
}

// reservationRequest is the POST /reservations body.
type reservationRequest struct {
	DateID uint64 `json:"date_id"`
	SeatID string `json:"seat_id"`
}

// reservation is the POST /reservations answer.
type reservation struct {
	ReservationID *string `json:"reservation_id"`
	ExpiresIn     *uint64 `json:"expires_in"`
}

// paymentRequest is the POST /payments body.
type paymentRequest struct {
	ReservationID string `json:"reservation_id"`
}

// payment is the POST /payments answer.
type payment struct {
	Status *string `json:"status"`
}

// The answers' fields are pointers so that a missing field is an error, as with
// the Rust example's serde types.
func (t *queueToken) validate() error { return required("token", t.Token != nil) }
func (d *concertDate) validate() error {
	return required("id", d.ID != nil, "date", d.Date != nil, "venue", d.Venue != nil)
}
func (s *seat) validate() error {
	return required("id", s.ID != nil, "available", s.Available != nil)
}
func (r *reservation) validate() error {
	return required("reservation_id", r.ReservationID != nil, "expires_in", r.ExpiresIn != nil)
}
func (p *payment) validate() error { return required("status", p.Status != nil) }

func iteration(exec string) error {
	api, err := apiFromEnv()
	if err != nil {
		return err
	}
	thinkTime, err := thinkTimeFromEnv()
	if err != nil {
		return err
	}
	started := time.Now()

	var token string
	err = volley.GroupErr("queue", func() (err error) {
		token, err = api.queueToken()
		return err
	})
	if err != nil {
		return err
	}
	think(thinkTime)

	var date concertDate
	var freeSeats []string
	err = volley.GroupErr("browse", func() (err error) {
		date, err = api.pickDate(token)
		if err != nil {
			return err
		}
		think(thinkTime)
		freeSeats, err = api.freeSeats(token, date)
		return err
	})
	if err != nil {
		return err
	}
	think(thinkTime)

	err = volley.GroupErr("book", func() error {
		reservation, err := api.reserve(token, date, freeSeats)
		if err != nil {
			return err
		}
		think(thinkTime)
		return api.pay(token, reservation)
	})
	if err != nil {
		return err
	}

	bookingDuration.AddDuration(time.Since(started))
	bookingsCompleted.Inc()
	return nil
}

// api is the demo concert API at one base URL.
type api struct {
	// base is TARGET_URL without a trailing slash.
	base string
}

func apiFromEnv() (api, error) {
	base, ok := volley.LookupEnv("TARGET_URL")
	if !ok {
		return api{}, errors.New("TARGET_URL is not set: pass --env TARGET_URL=http://host:port of the concert API")
	}
	return api{base: strings.TrimRight(base, "/")}, nil
}

func (a api) url(path string) string {
	return a.base + path
}

// queueToken is step 1: a queue token.
func (a api) queueToken() (string, error) {
	token, err := func() (string, error) {
		response, err := volley.Post(a.url("/queue/token"), nil, volley.Name(stepToken))
		if err != nil {
			return "", context(stepToken, err)
		}
		var answer queueToken
		if err := parse(stepToken, response, 200, &answer); err != nil {
			return "", err
		}
		if *answer.Token == "" {
			return "", fmt.Errorf("%s: the token is empty", stepToken)
		}
		return *answer.Token, nil
	}()
	volley.Check("token issued", err == nil)
	return token, err
}

// pickDate is step 2: the concert dates, and the one this iteration books.
func (a api) pickDate(token string) (concertDate, error) {
	var dates []concertDate
	err := func() error {
		response, err := volley.Get(a.url("/dates"),
			volley.Name(stepDates),
			volley.Header("authorization", bearer(token)))
		if err != nil {
			return context(stepDates, err)
		}
		return parse(stepDates, response, 200, &dates)
	}()
	volley.Check("dates listed", err == nil)
	if err != nil {
		return concertDate{}, err
	}
	if len(dates) == 0 {
		return concertDate{}, fmt.Errorf("%s: the API lists no concert dates", stepDates)
	}
	// Spread the VUs and their iterations over the dates.
	date := dates[spread(len(dates))]
	volley.Log.Debug(fmt.Sprintf("booking %s at %s (date %d)", *date.Date, *date.Venue, *date.ID))
	return date, nil
}

// freeSeats is step 3: the free seats of date.
func (a api) freeSeats(token string, date concertDate) ([]string, error) {
	var seats []seat
	err := func() error {
		response, err := volley.Get(a.url(fmt.Sprintf("/dates/%d/seats", *date.ID)),
			volley.Name(stepSeats),
			volley.Header("authorization", bearer(token)))
		if err != nil {
			return context(stepSeats, err)
		}
		return parse(stepSeats, response, 200, &seats)
	}()
	volley.Check("seats listed", err == nil)
	if err != nil {
		return nil, err
	}
	var free []string
	for _, s := range seats {
		if *s.Available {
			free = append(free, *s.ID)
		}
	}
	if len(free) == 0 {
		return nil, fmt.Errorf("%s: date %d (%s) has no free seat", stepSeats, *date.ID, *date.Date)
	}
	return free, nil
}

// reserveOutcome is what one reservation attempt came to: a reservation, or
// taken (409: someone else holds the seat).
type reserveOutcome struct {
	reservation reservation
	taken       bool
}

// reserve is step 4: a reservation of one of freeSeats; when the first pick is
// taken meanwhile (409), one more try with another seat.
func (a api) reserve(token string, date concertDate, freeSeats []string) (reservation, error) {
	first := spread(len(freeSeats))
	outcome, err := a.tryReserve(token, date, freeSeats[first])
	if err == nil && outcome.taken {
		// Another seat, as far from the first pick as the list allows.
		second := max(first+len(freeSeats)/2, first+1) % len(freeSeats)
		if second == first {
			err = fmt.Errorf("%s: seat %s was taken and date %d has no other free seat",
				stepReservations, freeSeats[first], *date.ID)
		} else {
			volley.Log.Debug(fmt.Sprintf("seat %s was taken, trying seat %s", freeSeats[first], freeSeats[second]))
			outcome, err = a.tryReserve(token, date, freeSeats[second])
		}
	}
	if err == nil && outcome.taken {
		err = fmt.Errorf("%s: two seats of date %d were taken before we could reserve them",
			stepReservations, *date.ID)
	}
	volley.Check("seat reserved", err == nil)
	if err != nil {
		return reservation{}, err
	}
	r := outcome.reservation
	volley.Log.Debug(fmt.Sprintf("reservation %s holds for %d s", *r.ReservationID, *r.ExpiresIn))
	return r, nil
}

func (a api) tryReserve(token string, date concertDate, seatID string) (reserveOutcome, error) {
	response, err := volley.Post(a.url("/reservations"), nil,
		volley.Name(stepReservations),
		volley.Header("authorization", bearer(token)),
		volley.JSONBody(reservationRequest{DateID: *date.ID, SeatID: seatID}))
	if err != nil {
		return reserveOutcome{}, context(stepReservations, err)
	}
	if response.Status == 409 {
		return reserveOutcome{taken: true}, nil
	}
	var r reservation
	if err := parse(stepReservations, response, 201, &r); err != nil {
		return reserveOutcome{}, err
	}
	return reserveOutcome{reservation: r}, nil
}

// pay is step 5: payment of r.
func (a api) pay(token string, r reservation) error {
	err := func() error {
		response, err := volley.Post(a.url("/payments"), nil,
			volley.Name(stepPayments),
			volley.Header("authorization", bearer(token)),
			volley.JSONBody(paymentRequest{ReservationID: *r.ReservationID}))
		if err != nil {
			return context(stepPayments, err)
		}
		var p payment
		if err := parse(stepPayments, response, 200, &p); err != nil {
			return err
		}
		if *p.Status != "paid" {
			return fmt.Errorf("%s: payment status is %s, not \"paid\"", stepPayments, strconv.Quote(*p.Status))
		}
		return nil
	}()
	volley.Check("payment accepted", err == nil)
	return err
}

// context prefixes err with step, as the Rust example's `.context(step)`.
func context(step string, err error) error {
	return fmt.Errorf("%s: %w", step, err)
}

// validator is an answer whose required fields can be checked after unmarshalling.
type validator interface{ validate() error }

// parse unmarshals the JSON body of response into v if its status is expected,
// else returns an error naming step, the status and the start of the body.
func parse(step string, response *volley.Response, expected int, v any) error {
	if response.Status != expected {
		hint := ""
		if response.Status == 401 {
			hint = " (the queue token was missing or rejected)"
		}
		return fmt.Errorf("%s: expected status %d, got %d%s; body: %s",
			step, expected, response.Status, hint, excerpt(response.Text()))
	}
	if err := response.JSON(v); err != nil {
		return fmt.Errorf("%s: unexpected JSON body: %w", step, err)
	}
	if err := validateAll(v); err != nil {
		return fmt.Errorf("%s: unexpected JSON body: %w", step, err)
	}
	return nil
}

// validateAll checks the required fields of v: an answer, or a list of them.
func validateAll(v any) error {
	switch v := v.(type) {
	case validator:
		return v.validate()
	case *[]concertDate:
		for i := range *v {
			if err := (*v)[i].validate(); err != nil {
				return err
			}
		}
	case *[]seat:
		for i := range *v {
			if err := (*v)[i].validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// required returns an error naming the first missing field of name/present pairs.
func required(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if present, _ := pairs[i+1].(bool); !present {
			return fmt.Errorf("missing field `%s`", pairs[i])
		}
	}
	return nil
}

// excerpt returns at most the first 200 characters of text, for error messages.
func excerpt(text string) string {
	const maxChars = 200
	if text == "" {
		return "(empty)"
	}
	if utf8.RuneCountInString(text) <= maxChars {
		return text
	}
	cut, n := 0, 0
	for i := range text {
		if n == maxChars {
			cut = i
			break
		}
		n++
	}
	return text[:cut] + "…"
}

func bearer(token string) string {
	return "Bearer " + token
}

// spread returns an index below n that differs between VUs and between
// iterations, so that concurrent fans pick different dates and seats.
func spread(n int) int {
	mixed := uint64(volley.VU.ID())*0x9E3779B97F4A7C15 + volley.VU.Iteration()
	return int(mixed % uint64(n))
}

// thinkTimeFromEnv returns the think time between steps, in milliseconds, from
// THINK_TIME_MS.
func thinkTimeFromEnv() (uint64, error) {
	value, ok := volley.LookupEnv("THINK_TIME_MS")
	if !ok {
		return defaultThinkTimeMs, nil
	}
	digits := strings.TrimSpace(value)
	// Rust's integer parsing accepts one leading '+'.
	if len(digits) > 1 && digits[0] == '+' {
		digits = digits[1:]
	}
	ms, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || (len(digits) > 0 && (digits[0] == '+' || digits[0] == '-')) {
		return 0, fmt.Errorf("THINK_TIME_MS must be a whole number of milliseconds, got %s", strconv.Quote(value))
	}
	return ms, nil
}

// think sleeps for ms milliseconds, unless it is zero.
func think(ms uint64) {
	if ms == 0 {
		return
	}
	const maxMs = uint64(1<<63-1) / uint64(time.Millisecond)
	volley.Sleep(time.Duration(min(ms, maxMs)) * time.Millisecond)
}
