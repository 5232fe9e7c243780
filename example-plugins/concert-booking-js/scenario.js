// Volley's demo scenario in JavaScript: a fan books a concert seat.
//
// The twin of ../concert-booking (Rust): same requests, names, checks, groups,
// custom metrics, options and error messages. Each iteration walks the demo concert
// API (base URL from the run's TARGET_URL):
//
// 1. POST /queue/token: get a queue token (check "token issued"),
// 2. GET /dates: list the concert dates (check "dates listed"),
// 3. GET /dates/{id}/seats: list the seats of one date (check "seats listed"),
// 4. POST /reservations: reserve a free seat, trying another one once if the first
//    is taken (409) (check "seat reserved"),
// 5. POST /payments: pay for the reservation (check "payment accepted").
//
// Steps 1, 2-3 and 4-5 run in the groups `queue`, `browse` and `book`. Between
// steps the fan thinks for THINK_TIME_MS milliseconds (default 500). A completed
// booking adds its whole time, think time included, to the time trend
// `booking_duration` and 1 to the counter `bookings_completed`. A failed step fails
// the iteration with a message naming the step.
//
//   ./build.sh OUT_DIR   # builds OUT_DIR/concert_booking_js.wasm
//   volley run OUT_DIR/concert_booking_js.wasm --env TARGET_URL=http://127.0.0.1:8080 --env THINK_TIME_MS=100

import { Counter, HttpError, Trend, check, group, http, log, env, scenario, sleep, vu } from './volley.js';
// The raw import, for the iteration count as the exact u64 (a BigInt) it is.
import { iteration as vuIteration } from 'volley:scenario/vu@0.1.0';

/** Whole booking flow time, in milliseconds, think time included. */
const BOOKING_DURATION = new Trend('booking_duration', true);
/** Bookings that went through to a payment. */
const BOOKINGS_COMPLETED = new Counter('bookings_completed');

/** Think time between steps when THINK_TIME_MS is not set. */
const DEFAULT_THINK_TIME_MS = 500n;

// The shapes of the API's answers, checked as the Rust scenario's serde types are.
const QUEUE_TOKEN = record('QueueToken', { token: 'string' });
const CONCERT_DATE = record('ConcertDate', { id: 'u64', date: 'string', venue: 'string' });
const SEAT = record('Seat', { id: 'string', available: 'bool' });
const RESERVATION = record('Reservation', { reservation_id: 'string', expires_in: 'u64' });
const PAYMENT = record('Payment', { status: 'string' });

export const { options, setup, iteration, teardown } = scenario({
  options:
    '{"vus": 10, "duration": "30s", "thresholds": {"http_req_duration": ["p(95)<500"], "checks": ["rate>0.99"]}}',

  iteration() {
    const api = Api.fromEnv();
    const thinkTime = thinkTimeMs();
    const started = performance.now();

    const token = group('queue', () => api.queueToken());
    think(thinkTime);

    const [date, freeSeats] = group('browse', () => {
      const date = api.pickDate(token);
      think(thinkTime);
      const freeSeats = api.freeSeats(token, date);
      return [date, freeSeats];
    });
    think(thinkTime);

    group('book', () => {
      const reservation = api.reserve(token, date, freeSeats);
      think(thinkTime);
      api.pay(token, reservation);
    });

    BOOKING_DURATION.add(performance.now() - started);
    BOOKINGS_COMPLETED.add(1);
  },
});

/** What one reservation attempt came to when someone else holds the seat (409). */
const TAKEN = Symbol('taken');

/** The demo concert API at one base URL. */
class Api {
  static fromEnv() {
    const base = env('TARGET_URL');
    if (base === undefined) {
      throw 'TARGET_URL is not set: pass --env TARGET_URL=http://host:port of the concert API';
    }
    return new Api(base.replace(/\/+$/, ''));
  }

  /** @param {string} base TARGET_URL without a trailing slash. */
  constructor(base) {
    this.base = base;
  }

  url(path) {
    return `${this.base}${path}`;
  }

  /** Step 1: a queue token. */
  queueToken() {
    const STEP = 'POST /queue/token';
    return checked('token issued', () => {
      const response = send(STEP, () => http.post(this.url('/queue/token'), { name: STEP }));
      const { token } = parse(STEP, response, 200, QUEUE_TOKEN);
      if (token === '') throw `${STEP}: the token is empty`;
      return token;
    });
  }

  /** Step 2: the concert dates, and the one this iteration books. */
  pickDate(token) {
    const STEP = 'GET /dates';
    const dates = checked('dates listed', () => {
      const response = send(STEP, () =>
        http.get(this.url('/dates'), { name: STEP, headers: [['authorization', bearer(token)]] }));
      return parse(STEP, response, 200, [CONCERT_DATE]);
    });
    if (dates.length === 0) throw `${STEP}: the API lists no concert dates`;
    // Spread the VUs and their iterations over the dates.
    const date = dates[spread(dates.length)];
    log.debug(`booking ${date.date} at ${date.venue} (date ${date.id})`);
    return date;
  }

  /** Step 3: the ids of the free seats of `date`. */
  freeSeats(token, date) {
    const STEP = 'GET /dates/{id}/seats';
    const seats = checked('seats listed', () => {
      const response = send(STEP, () =>
        http.get(this.url(`/dates/${date.id}/seats`), { name: STEP, headers: [['authorization', bearer(token)]] }));
      return parse(STEP, response, 200, [SEAT]);
    });
    const free = seats.filter((seat) => seat.available).map((seat) => seat.id);
    if (free.length === 0) throw `${STEP}: date ${date.id} (${date.date}) has no free seat`;
    return free;
  }

  /**
   * Step 4: a reservation of one of `freeSeats`; when the first pick is taken
   * meanwhile (409), one more try with another seat.
   */
  reserve(token, date, freeSeats) {
    const STEP = 'POST /reservations';
    const reservation = checked('seat reserved', () => {
      const first = spread(freeSeats.length);
      let outcome = this.tryReserve(token, date, freeSeats[first]);
      if (outcome === TAKEN) {
        // Another seat, as far from the first pick as the list allows.
        const second = Math.max(first + Math.floor(freeSeats.length / 2), first + 1) % freeSeats.length;
        if (second === first) {
          throw `${STEP}: seat ${freeSeats[first]} was taken and date ${date.id} has no other free seat`;
        }
        log.debug(`seat ${freeSeats[first]} was taken, trying seat ${freeSeats[second]}`);
        outcome = this.tryReserve(token, date, freeSeats[second]);
      }
      if (outcome === TAKEN) {
        throw `${STEP}: two seats of date ${date.id} were taken before we could reserve them`;
      }
      return outcome;
    });
    log.debug(`reservation ${reservation.reservation_id} holds for ${reservation.expires_in} s`);
    return reservation;
  }

  tryReserve(token, date, seatId) {
    const STEP = 'POST /reservations';
    const response = send(STEP, () =>
      http.post(this.url('/reservations'), {
        name: STEP,
        headers: [['authorization', bearer(token)]],
        json: { date_id: date.id, seat_id: seatId },
      }));
    if (response.status === 409) return TAKEN;
    return parse(STEP, response, 201, RESERVATION);
  }

  /** Step 5: payment of `reservation`. */
  pay(token, reservation) {
    const STEP = 'POST /payments';
    checked('payment accepted', () => {
      const response = send(STEP, () =>
        http.post(this.url('/payments'), {
          name: STEP,
          headers: [['authorization', bearer(token)]],
          json: { reservation_id: reservation.reservation_id },
        }));
      const payment = parse(STEP, response, 200, PAYMENT);
      if (payment.status !== 'paid') {
        throw `${STEP}: payment status is ${rustDebug(payment.status)}, not "paid"`;
      }
    });
  }
}

/**
 * Runs `step`, records the check `name` (passed when `step` returned) and returns
 * what `step` returned, or throws what it threw.
 */
function checked(name, step) {
  let value;
  try {
    value = step();
  } catch (e) {
    check(name, false);
    throw e;
  }
  check(name, true);
  return value;
}

/** Sends a request; no response becomes the error "STEP: why". */
function send(step, request) {
  try {
    return request();
  } catch (e) {
    if (e instanceof HttpError) throw `${step}: ${e.message}`;
    throw e;
  }
}

/**
 * The JSON body of `response`, of the shape `shape`, if its status is `expected`;
 * else an error naming `step`, the status and the start of the body.
 */
function parse(step, response, expected, shape) {
  if (response.status !== expected) {
    const hint = response.status === 401 ? ' (the queue token was missing or rejected)' : '';
    throw `${step}: expected status ${expected}, got ${response.status}${hint}; body: ${excerpt(response.text())}`;
  }
  try {
    return conform(response.json(), shape);
  } catch (e) {
    throw `${step}: unexpected JSON body: ${e instanceof Error ? e.message : e}`;
  }
}

/** The shape of a JSON object: its fields and their types ("string", "u64", "bool"). */
function record(name, fields) {
  return { name, names: Object.keys(fields), types: Object.values(fields) };
}

/**
 * `value` if it has the shape `shape` (a record, or [record] for a list of them);
 * else throws a message worded as serde's. (Plain indexed loops: the engine is an
 * interpreter, where iterators and destructuring cost.)
 */
function conform(value, shape) {
  if (!Array.isArray(shape)) return conformRecord(value, shape);
  if (!Array.isArray(value)) throw `invalid type: ${unexpected(value)}, expected a sequence`;
  const item = shape[0];
  for (let i = 0; i < value.length; i++) conformRecord(value[i], item);
  return value;
}

function conformRecord(value, shape) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw `invalid type: ${unexpected(value)}, expected struct ${shape.name}`;
  }
  const { names, types } = shape;
  for (let i = 0; i < names.length; i++) {
    const v = value[names[i]];
    if (v === undefined && !(names[i] in value)) throw `missing field \`${names[i]}\``;
    switch (types[i]) {
      case 'string':
        if (typeof v !== 'string') throw `invalid type: ${unexpected(v)}, expected a string`;
        break;
      case 'bool':
        if (typeof v !== 'boolean') throw `invalid type: ${unexpected(v)}, expected a boolean`;
        break;
      default: // u64
        if (typeof v !== 'number' || !Number.isInteger(v)) throw `invalid type: ${unexpected(v)}, expected u64`;
        if (v < 0) throw `invalid value: ${unexpected(v)}, expected u64`;
    }
  }
  return value;
}

/** A JSON value as serde names an unexpected one. */
function unexpected(v) {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return `boolean \`${v}\``;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${v}\``;
  if (typeof v === 'string') return `string ${rustDebug(v)}`;
  if (Array.isArray(v)) return 'sequence';
  return 'map';
}

/** At most the first 200 characters of `text`, for error messages. */
function excerpt(text) {
  const MAX = 200;
  const chars = Array.from(text);
  if (chars.length > MAX) return `${chars.slice(0, MAX).join('')}…`;
  if (text === '') return '(empty)';
  return text;
}

/** `text` quoted and escaped as Rust's `{:?}` writes a string. */
function rustDebug(text) {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\0') out += '\\0';
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}

function bearer(token) {
  return `Bearer ${token}`;
}

/**
 * An index below `len` that differs between VUs and between iterations, so that
 * concurrent fans pick different dates and seats: (vu_id * 0x9E3779B97F4A7C15 +
 * iteration) mod 2^64, mod len, as the Rust scenario computes it.
 */
function spread(len) {
  const mixed = BigInt.asUintN(64, BigInt(vu.id()) * 0x9e3779b97f4a7c15n + BigInt(vuIteration()));
  return Number(mixed % BigInt(len));
}

/** The think time between steps, in milliseconds (a BigInt), from THINK_TIME_MS. */
function thinkTimeMs() {
  const value = env('THINK_TIME_MS');
  if (value === undefined) return DEFAULT_THINK_TIME_MS;
  const trimmed = value.trim();
  if (/^\+?[0-9]+$/.test(trimmed)) {
    const millis = BigInt(trimmed);
    if (millis <= 0xffffffffffffffffn) return millis;
  }
  throw `THINK_TIME_MS must be a whole number of milliseconds, got ${rustDebug(value)}`;
}

/** Sleeps for `thinkTime` milliseconds, unless it is zero. */
function think(thinkTime) {
  if (thinkTime !== 0n) sleep(thinkTime);
}
