//! Volley's demo scenario: a fan books a concert seat.
//!
//! Each iteration walks the demo concert API (base URL from the run's `TARGET_URL`):
//!
//! 1. `POST /queue/token`: get a queue token (check "token issued"),
//! 2. `GET /dates`: list the concert dates (check "dates listed"),
//! 3. `GET /dates/{id}/seats`: list the seats of one date (check "seats listed"),
//! 4. `POST /reservations`: reserve a free seat, trying another one once if the
//!    first is taken (409) (check "seat reserved"),
//! 5. `POST /payments`: pay for the reservation (check "payment accepted").
//!
//! Steps 1, 2-3 and 4-5 run in the groups `queue`, `browse` and `book`, so the
//! summary lists the checks under them and `group_duration` times each.
//!
//! Between steps the fan thinks for `THINK_TIME_MS` milliseconds (default 500).
//! A completed booking adds its whole time, think time included, to the time trend
//! `booking_duration` and 1 to the counter `bookings_completed`. A failed step
//! fails the iteration with a message naming the step.
//!
//! ```text
//! volley run concert_booking.wasm --env TARGET_URL=http://127.0.0.1:8080 --env THINK_TIME_MS=100
//! ```

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use volley_sdk::http::{Request, Response};
use volley_sdk::metrics::{Counter, Trend};
use volley_sdk::{ResultExt, Scenario, check, group, log, vu};

/// Whole booking flow time, in milliseconds, think time included.
static BOOKING_DURATION: Trend = Trend::new_time("booking_duration");
/// Bookings that went through to a payment.
static BOOKINGS_COMPLETED: Counter = Counter::new("bookings_completed");

/// Think time between steps when `THINK_TIME_MS` is not set.
const DEFAULT_THINK_TIME_MS: u64 = 500;

/// `POST /queue/token` answer.
#[derive(Deserialize)]
struct QueueToken {
    token: String,
}

/// One entry of `GET /dates`.
#[derive(Deserialize)]
struct ConcertDate {
    id: u64,
    date: String,
    venue: String,
}

/// One entry of `GET /dates/{id}/seats`.
#[derive(Deserialize)]
struct Seat {
    id: String,
    available: bool,
}

/// `POST /reservations` body.
#[derive(Serialize)]
struct ReservationRequest<'a> {
    date_id: u64,
    seat_id: &'a str,
}

/// `POST /reservations` answer.
#[derive(Deserialize)]
struct Reservation {
    reservation_id: String,
    expires_in: u64,
}

/// `POST /payments` body.
#[derive(Serialize)]
struct PaymentRequest<'a> {
    reservation_id: &'a str,
}

/// `POST /payments` answer.
#[derive(Deserialize)]
struct Payment {
    status: String,
}

/// The `concert-booking` scenario.
struct ConcertBooking;

impl Scenario for ConcertBooking {
    fn options() -> String {
        r#"{"vus": 10, "duration": "30s", "thresholds": {"http_req_duration": ["p(95)<500"], "checks": ["rate>0.99"]}}"#
            .into()
    }

    fn iteration(_exec: &str) -> Result<(), String> {
        let api = Api::from_env()?;
        let think_time = think_time()?;
        let started = Instant::now();

        let token = group("queue", || api.queue_token())?;
        think(think_time);

        let (date, free_seats) = group("browse", || {
            let date = api.pick_date(&token)?;
            think(think_time);
            let free_seats = api.free_seats(&token, &date)?;
            Ok::<_, String>((date, free_seats))
        })?;
        think(think_time);

        group("book", || {
            let reservation = api.reserve(&token, &date, &free_seats)?;
            think(think_time);
            api.pay(&token, &reservation)
        })?;

        BOOKING_DURATION.add_duration(started.elapsed());
        BOOKINGS_COMPLETED.inc();
        Ok(())
    }
}

volley_sdk::export_scenario!(ConcertBooking);

/// The demo concert API at one base URL.
struct Api {
    /// `TARGET_URL` without a trailing slash.
    base: String,
}

impl Api {
    fn from_env() -> Result<Self, String> {
        let base = volley_sdk::env("TARGET_URL").ok_or(
            "TARGET_URL is not set: pass --env TARGET_URL=http://host:port of the concert API",
        )?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Step 1: a queue token.
    fn queue_token(&self) -> Result<String, String> {
        const STEP: &str = "POST /queue/token";
        let token = Request::post(self.url("/queue/token"))
            .name(STEP)
            .send()
            .context(STEP)
            .and_then(|response| parse::<QueueToken>(STEP, &response, 200))
            .and_then(|QueueToken { token }| {
                if token.is_empty() {
                    Err(format!("{STEP}: the token is empty"))
                } else {
                    Ok(token)
                }
            });
        check("token issued", token.is_ok());
        token
    }

    /// Step 2: the concert dates, and the one this iteration books.
    fn pick_date(&self, token: &str) -> Result<ConcertDate, String> {
        const STEP: &str = "GET /dates";
        let dates = Request::get(self.url("/dates"))
            .name(STEP)
            .header("authorization", bearer(token))
            .send()
            .context(STEP)
            .and_then(|response| parse::<Vec<ConcertDate>>(STEP, &response, 200));
        check("dates listed", dates.is_ok());
        let mut dates = dates?;
        if dates.is_empty() {
            return Err(format!("{STEP}: the API lists no concert dates"));
        }
        // Spread the VUs and their iterations over the dates.
        let index = spread(dates.len());
        let date = dates.swap_remove(index);
        log::debug(format!(
            "booking {} at {} (date {})",
            date.date, date.venue, date.id
        ));
        Ok(date)
    }

    /// Step 3: the free seats of `date`.
    fn free_seats(&self, token: &str, date: &ConcertDate) -> Result<Vec<String>, String> {
        const STEP: &str = "GET /dates/{id}/seats";
        let seats = Request::get(self.url(&format!("/dates/{}/seats", date.id)))
            .name(STEP)
            .header("authorization", bearer(token))
            .send()
            .context(STEP)
            .and_then(|response| parse::<Vec<Seat>>(STEP, &response, 200));
        check("seats listed", seats.is_ok());
        let free: Vec<String> = seats?
            .into_iter()
            .filter(|seat| seat.available)
            .map(|seat| seat.id)
            .collect();
        if free.is_empty() {
            return Err(format!(
                "{STEP}: date {} ({}) has no free seat",
                date.id, date.date
            ));
        }
        Ok(free)
    }

    /// Step 4: a reservation of one of `free_seats`; when the first pick is taken
    /// meanwhile (409), one more try with another seat.
    fn reserve(
        &self,
        token: &str,
        date: &ConcertDate,
        free_seats: &[String],
    ) -> Result<Reservation, String> {
        const STEP: &str = "POST /reservations";
        let first = spread(free_seats.len());
        let mut result = self.try_reserve(token, date, &free_seats[first]);
        if matches!(result, Ok(ReserveOutcome::Taken)) {
            // Another seat, as far from the first pick as the list allows.
            let second = (first + free_seats.len() / 2).max(first + 1) % free_seats.len();
            result = if second == first {
                Err(format!(
                    "{STEP}: seat {} was taken and date {} has no other free seat",
                    free_seats[first], date.id
                ))
            } else {
                log::debug(format!(
                    "seat {} was taken, trying seat {}",
                    free_seats[first], free_seats[second]
                ));
                self.try_reserve(token, date, &free_seats[second])
            };
        }
        let reservation = result.and_then(|outcome| match outcome {
            ReserveOutcome::Reserved(reservation) => Ok(reservation),
            ReserveOutcome::Taken => Err(format!(
                "{STEP}: two seats of date {} were taken before we could reserve them",
                date.id
            )),
        });
        check("seat reserved", reservation.is_ok());
        let reservation = reservation?;
        log::debug(format!(
            "reservation {} holds for {} s",
            reservation.reservation_id, reservation.expires_in
        ));
        Ok(reservation)
    }

    fn try_reserve(
        &self,
        token: &str,
        date: &ConcertDate,
        seat_id: &str,
    ) -> Result<ReserveOutcome, String> {
        const STEP: &str = "POST /reservations";
        let response = Request::post(self.url("/reservations"))
            .name(STEP)
            .header("authorization", bearer(token))
            .json_body(&ReservationRequest {
                date_id: date.id,
                seat_id,
            })
            .send()
            .context(STEP)?;
        if response.status == 409 {
            return Ok(ReserveOutcome::Taken);
        }
        parse(STEP, &response, 201).map(ReserveOutcome::Reserved)
    }

    /// Step 5: payment of `reservation`.
    fn pay(&self, token: &str, reservation: &Reservation) -> Result<(), String> {
        const STEP: &str = "POST /payments";
        let paid = Request::post(self.url("/payments"))
            .name(STEP)
            .header("authorization", bearer(token))
            .json_body(&PaymentRequest {
                reservation_id: &reservation.reservation_id,
            })
            .send()
            .context(STEP)
            .and_then(|response| parse::<Payment>(STEP, &response, 200))
            .and_then(|payment| {
                if payment.status == "paid" {
                    Ok(())
                } else {
                    Err(format!(
                        "{STEP}: payment status is {:?}, not \"paid\"",
                        payment.status
                    ))
                }
            });
        check("payment accepted", paid.is_ok());
        paid
    }
}

/// What one reservation attempt came to.
enum ReserveOutcome {
    Reserved(Reservation),
    /// 409: someone else holds the seat.
    Taken,
}

/// The JSON body of `response` if its status is `expected`, else an error naming
/// `step`, the status and the start of the body.
fn parse<T: DeserializeOwned>(step: &str, response: &Response, expected: u16) -> Result<T, String> {
    if response.status != expected {
        let hint = match response.status {
            401 => " (the queue token was missing or rejected)",
            _ => "",
        };
        return Err(format!(
            "{step}: expected status {expected}, got {}{hint}; body: {}",
            response.status,
            excerpt(&response.text())
        ));
    }
    response
        .json()
        .context(format_args!("{step}: unexpected JSON body"))
}

/// At most the first 200 characters of `text`, for error messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty)".into(),
        None => text.to_owned(),
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// An index below `len` that differs between VUs and between iterations, so that
/// concurrent fans pick different dates and seats.
fn spread(len: usize) -> usize {
    let vu = u64::from(vu::id());
    let mixed = vu
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(vu::iteration());
    // The remainder is below `len`, so it fits in a usize.
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    usize::try_from(mixed % len).unwrap_or(0)
}

/// The think time between steps, from `THINK_TIME_MS`.
fn think_time() -> Result<Duration, String> {
    match volley_sdk::env("THINK_TIME_MS") {
        None => Ok(Duration::from_millis(DEFAULT_THINK_TIME_MS)),
        Some(value) => value
            .trim()
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| {
                format!("THINK_TIME_MS must be a whole number of milliseconds, got {value:?}")
            }),
    }
}

/// Sleeps for `think_time`, unless it is zero.
fn think(think_time: Duration) {
    if !think_time.is_zero() {
        volley_sdk::sleep(think_time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use volley_sdk::http::Timings;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            url: "http://127.0.0.1/".into(),
            protocol: "HTTP/1.1".into(),
            timings: Timings::default(),
        }
    }

    #[test]
    fn parse_reads_the_expected_status() {
        let seats: Vec<Seat> = parse(
            "GET /dates/{id}/seats",
            &response(
                200,
                r#"[{"id": "A1", "available": true}, {"id": "A2", "available": false}]"#,
            ),
            200,
        )
        .unwrap();
        assert_eq!(seats.len(), 2);
        assert_eq!(seats[0].id, "A1");
        assert!(!seats[1].available);
    }

    #[test]
    fn parse_names_the_step_and_status() {
        let error = parse::<QueueToken>("GET /dates", &response(401, "no token"), 200)
            .err()
            .unwrap();
        assert_eq!(
            error,
            "GET /dates: expected status 200, got 401 (the queue token was missing or \
             rejected); body: no token"
        );
        let error = parse::<QueueToken>("POST /queue/token", &response(200, "{}"), 200)
            .err()
            .unwrap();
        assert!(
            error.starts_with("POST /queue/token: unexpected JSON body: missing field `token`"),
            "{error}"
        );
    }

    #[test]
    fn excerpt_cuts_long_bodies() {
        assert_eq!(excerpt(""), "(empty)");
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(300);
        assert_eq!(excerpt(&long), format!("{}…", "é".repeat(200)));
    }

    #[test]
    fn request_bodies_match_the_api() {
        let reservation = ReservationRequest {
            date_id: 1,
            seat_id: "A1",
        };
        assert_eq!(
            volley_sdk::serde_json::to_string(&reservation).unwrap(),
            r#"{"date_id":1,"seat_id":"A1"}"#
        );
        let payment = PaymentRequest {
            reservation_id: "r-1",
        };
        assert_eq!(
            volley_sdk::serde_json::to_string(&payment).unwrap(),
            r#"{"reservation_id":"r-1"}"#
        );
    }

    #[test]
    fn options_are_valid_json() {
        let options: volley_sdk::serde_json::Value =
            volley_sdk::serde_json::from_str(&ConcertBooking::options()).unwrap();
        assert_eq!(options["vus"], 10);
        assert_eq!(options["thresholds"]["checks"][0], "rate>0.99");
    }
}
