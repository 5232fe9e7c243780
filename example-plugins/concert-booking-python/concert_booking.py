"""Volley's demo scenario in Python: a fan books a concert seat.

The same scenario as ``example-plugins/concert-booking`` (Rust), request for request,
check for check and message for message. Only the detail of a malformed JSON answer
differs: a wrong shape is worded as serde_json words it but without its " at line L
column C", and a syntax error as Python's parser reports it. Each iteration walks the
demo concert API (base URL from the run's ``TARGET_URL``):

1. ``POST /queue/token``: get a queue token (check "token issued"),
2. ``GET /dates``: list the concert dates (check "dates listed"),
3. ``GET /dates/{id}/seats``: list the seats of one date (check "seats listed"),
4. ``POST /reservations``: reserve a free seat, trying another one once if the
   first is taken (409) (check "seat reserved"),
5. ``POST /payments``: pay for the reservation (check "payment accepted").

Steps 1, 2-3 and 4-5 run in the groups ``queue``, ``browse`` and ``book``, so the
summary lists the checks under them and ``group_duration`` times each.

Between steps the fan thinks for ``THINK_TIME_MS`` milliseconds (default 500). A
completed booking adds its whole time, think time included, to the time trend
``booking_duration`` and 1 to the counter ``bookings_completed``. A failed step
fails the iteration with a message naming the step.

    volley run concert_booking_python.wasm --env TARGET_URL=http://127.0.0.1:8080 --env THINK_TIME_MS=100
"""

import json
import re
import time
import unicodedata

from volley import Counter, Fail, HttpError, Trend, check, env, export, group, http, log, sleep, vu

#: Whole booking flow time, in milliseconds, think time included.
BOOKING_DURATION = Trend("booking_duration", time=True)
#: Bookings that went through to a payment.
BOOKINGS_COMPLETED = Counter("bookings_completed")

#: Think time between steps when ``THINK_TIME_MS`` is not set.
DEFAULT_THINK_TIME_MS = 500

# The shapes of the API's JSON answers, checked the way the Rust scenario's serde
# types check them (see ``_decode``): a struct is (name, {field: shape}).
STRING, U64, BOOL = "a string", "u64", "a boolean"
QUEUE_TOKEN = ("QueueToken", {"token": STRING})
CONCERT_DATES = [("ConcertDate", {"id": U64, "date": STRING, "venue": STRING})]
SEATS = [("Seat", {"id": STRING, "available": BOOL})]
RESERVATION = ("Reservation", {"reservation_id": STRING, "expires_in": U64})
PAYMENT = ("Payment", {"status": STRING})


def options():
    return ('{"vus": 10, "duration": "30s", "thresholds": '
            '{"http_req_duration": ["p(95)<500"], "checks": ["rate>0.99"]}}')


def iteration(exec):
    api = Api.from_env()
    think_time = think_time_ms()
    started = time.perf_counter()

    with group("queue"):
        token = api.queue_token()
    think(think_time)

    with group("browse"):
        date = api.pick_date(token)
        think(think_time)
        free_seats = api.free_seats(token, date)
    think(think_time)

    with group("book"):
        reservation = api.reserve(token, date, free_seats)
        think(think_time)
        api.pay(token, reservation)

    BOOKING_DURATION.add((time.perf_counter() - started) * 1000)
    BOOKINGS_COMPLETED.add(1)


WitWorld = export(globals())


class Api:
    """The demo concert API at one base URL (``TARGET_URL`` without a trailing slash)."""

    def __init__(self, base):
        self.base = base

    @classmethod
    def from_env(cls):
        base = env("TARGET_URL")
        if base is None:
            raise Fail("TARGET_URL is not set: pass --env TARGET_URL=http://host:port of the concert API")
        return cls(base.rstrip("/"))

    def url(self, path):
        return f"{self.base}{path}"

    def queue_token(self):
        """Step 1: a queue token."""
        step = "POST /queue/token"
        try:
            token = parse(step, send(step, "POST", self.url("/queue/token")), 200, QUEUE_TOKEN)["token"]
            if not token:
                raise Fail(f"{step}: the token is empty")
        except Fail:
            check("token issued", False)
            raise
        check("token issued", True)
        return token

    def pick_date(self, token):
        """Step 2: the concert dates, and the one this iteration books."""
        step = "GET /dates"
        try:
            dates = parse(step, send(step, "GET", self.url("/dates"), token), 200, CONCERT_DATES)
        except Fail:
            check("dates listed", False)
            raise
        check("dates listed", True)
        if not dates:
            raise Fail(f"{step}: the API lists no concert dates")
        # Spread the VUs and their iterations over the dates.
        date = dates[spread(len(dates))]
        log.debug(f"booking {date['date']} at {date['venue']} (date {date['id']})")
        return date

    def free_seats(self, token, date):
        """Step 3: the ids of the free seats of ``date``."""
        step = "GET /dates/{id}/seats"
        try:
            seats = parse(step, send(step, "GET", self.url(f"/dates/{date['id']}/seats"), token),
                          200, SEATS)
        except Fail:
            check("seats listed", False)
            raise
        check("seats listed", True)
        free = [seat["id"] for seat in seats if seat["available"]]
        if not free:
            raise Fail(f"{step}: date {date['id']} ({date['date']}) has no free seat")
        return free

    def reserve(self, token, date, free_seats):
        """Step 4: a reservation of one of ``free_seats``; when the first pick is taken
        meanwhile (409), one more try with another seat."""
        step = "POST /reservations"
        try:
            first = spread(len(free_seats))
            reservation = self.try_reserve(token, date, free_seats[first])
            if reservation is None:
                # Another seat, as far from the first pick as the list allows.
                second = max(first + len(free_seats) // 2, first + 1) % len(free_seats)
                if second == first:
                    raise Fail(f"{step}: seat {free_seats[first]} was taken and date "
                               f"{date['id']} has no other free seat")
                log.debug(f"seat {free_seats[first]} was taken, trying seat {free_seats[second]}")
                reservation = self.try_reserve(token, date, free_seats[second])
            if reservation is None:
                raise Fail(f"{step}: two seats of date {date['id']} were taken before we "
                           "could reserve them")
        except Fail:
            check("seat reserved", False)
            raise
        check("seat reserved", True)
        log.debug(f"reservation {reservation['reservation_id']} holds for "
                  f"{reservation['expires_in']} s")
        return reservation

    def try_reserve(self, token, date, seat_id):
        """One reservation attempt: the reservation, or None when the seat is taken (409)."""
        step = "POST /reservations"
        response = send(step, "POST", self.url("/reservations"), token,
                        json={"date_id": date["id"], "seat_id": seat_id})
        if response.status == 409:
            return None
        return parse(step, response, 201, RESERVATION)

    def pay(self, token, reservation):
        """Step 5: payment of ``reservation``."""
        step = "POST /payments"
        try:
            payment = parse(step, send(step, "POST", self.url("/payments"), token,
                                       json={"reservation_id": reservation["reservation_id"]}),
                            200, PAYMENT)
            if payment["status"] != "paid":
                raise Fail(f'{step}: payment status is {rust_debug(payment["status"])}, not "paid"')
        except Fail:
            check("payment accepted", False)
            raise
        check("payment accepted", True)


def send(step, method, url, token=None, **options):
    """Sends the request named ``step``; no response at all fails the step."""
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    try:
        return http.request(method, url, name=step, headers=headers, **options)
    except HttpError as error:
        raise Fail(f"{step}: {error}") from None


def parse(step, response, expected, shape):
    """The JSON body of ``response`` if its status is ``expected``, checked against
    ``shape``; else a failure naming ``step``, the status and the start of the body."""
    if response.status != expected:
        hint = " (the queue token was missing or rejected)" if response.status == 401 else ""
        raise Fail(f"{step}: expected status {expected}, got {response.status}{hint}; "
                   f"body: {excerpt(response.text)}")
    try:
        return _decode(json.loads(response.body), shape)
    except json.JSONDecodeError as error:
        raise Fail(f"{step}: unexpected JSON body: {_syntax_error(error)}") from None
    except _ShapeError as error:
        raise Fail(f"{step}: unexpected JSON body: {error}") from None


def excerpt(text):
    """At most the first 200 characters of ``text``, for error messages."""
    if not text:
        return "(empty)"
    return text[:200] + "…" if len(text) > 200 else text


def spread(length):
    """An index below ``length`` that differs between VUs and between iterations, so
    that concurrent fans pick different dates and seats."""
    mixed = (vu.id() * 0x9E37_79B9_7F4A_7C15 + vu.iteration()) % 2**64  # u64 wrapping
    return mixed % length


def think_time_ms():
    """The think time between steps, in milliseconds, from ``THINK_TIME_MS``."""
    value = env("THINK_TIME_MS")
    if value is None:
        return DEFAULT_THINK_TIME_MS
    digits = value.strip()
    if re.fullmatch(r"\+?[0-9]+", digits, re.ASCII) and int(digits) < 2**64:
        return int(digits)
    raise Fail(f"THINK_TIME_MS must be a whole number of milliseconds, got {rust_debug(value)}")


def think(think_time):
    """Sleeps for ``think_time`` milliseconds, unless it is zero."""
    if think_time:
        sleep(think_time / 1000)


# --- JSON checked like serde (so that errors read as the Rust scenario's) -----------


class _ShapeError(Exception):
    pass


def _decode(value, shape):
    """``value`` if it has ``shape``; else a ``_ShapeError`` worded as serde_json's
    (without its " at line L column C")."""
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise _ShapeError(f"invalid type: {_unexpected(value)}, expected a sequence")
        return [_decode(item, shape[0]) for item in value]
    if isinstance(shape, tuple):
        name, fields = shape
        if not isinstance(value, dict):
            raise _ShapeError(f"invalid type: {_unexpected(value)}, expected struct {name}")
        decoded = {key: _decode(item, fields[key]) for key, item in value.items() if key in fields}
        for field in fields:
            if field not in decoded:
                raise _ShapeError(f"missing field `{field}`")
        return decoded
    if shape == STRING and isinstance(value, str):
        return value
    if shape == BOOL and isinstance(value, bool):
        return value
    if shape == U64 and isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < 2**64:
            return value
        raise _ShapeError(f"invalid value: {_unexpected(value)}, expected u64")
    raise _ShapeError(f"invalid type: {_unexpected(value)}, expected {shape}")


def _unexpected(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value!r}`"
    if isinstance(value, str):
        return f"string {rust_debug(value)}"
    return "sequence" if isinstance(value, list) else "map"


_SYNTAX = {"Expecting value": "expected value", "Extra data": "trailing characters"}


def _syntax_error(error):
    message = _SYNTAX.get(error.msg, error.msg[:1].lower() + error.msg[1:])
    return f"{message} at line {error.lineno} column {error.colno}"


def rust_debug(text):
    """``text`` quoted as Rust's ``{:?}`` quotes a string."""
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
