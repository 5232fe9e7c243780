// volley.js: write Volley load-test scenarios in JavaScript.
//
// A thin, k6-flavoured layer over the imports of the WIT world
// `volley:scenario/scenario@0.1.0` (see ../wit/scenario.wit), for scenarios built
// into WebAssembly components with componentize-js 0.23 (the StarlingMonkey engine).
// Copy this file next to your scenario and import it:
//
//     import { http, check, sleep, env, scenario } from './volley.js';
//
//     export const { options, setup, iteration, teardown } = scenario({
//       options: { vus: 10, duration: '30s' },
//       iteration() {
//         const res = http.get(`${env('TARGET_URL')}/`, { name: 'GET /' });
//         check('status is 200', res.status === 200);
//         sleep(500);
//       },
//     });
//
// The four `export const` names are the world's exports: the runner calls them.
// `scenario()` guards each one so that whatever a scenario throws (a string, an
// Error, a bug's TypeError, an HttpError) becomes the error string the world's
// `result<_, string>` carries, with the JavaScript stack when there is one. Without
// that guard componentize-js can only return a thrown *string*: any other thrown
// value traps the VU with nothing but "mozalloc_abort" to explain it.

import * as rawHttp from 'volley:scenario/http@0.1.0';
import * as rawChecks from 'volley:scenario/checks@0.1.0';
import * as rawMetrics from 'volley:scenario/metrics@0.1.0';
import * as rawVu from 'volley:scenario/vu@0.1.0';
import * as rawGroup from 'volley:scenario/group@0.1.0';
import * as rawLog from 'volley:scenario/log@0.1.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder(); // not fatal: invalid UTF-8 becomes U+FFFD
const EMPTY = new Uint8Array(0);

/**
 * Header or tag pairs, as an object (`{accept: 'application/json'}`) or as a list
 * of pairs (`[['accept', 'application/json']]`, which allows repeated names).
 * @typedef {Record<string, string | number | boolean> | Array<[string, string]>} Pairs
 */

/** @param {Pairs | undefined | null} pairs @returns {Array<[string, string]>} */
function toPairs(pairs) {
  if (pairs === undefined || pairs === null) return [];
  if (Array.isArray(pairs)) return pairs.map(([key, value]) => [String(key), String(value)]);
  return Object.entries(pairs).map(([key, value]) => [key, String(value)]);
}

/** @param {unknown} body @returns {Uint8Array} */
function toBytes(body) {
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return encoder.encode(body);
  throw new TypeError(`a request body must be a string, a Uint8Array or an ArrayBuffer, not ${typeof body}`);
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

/**
 * Thrown by the `http` functions when a request got **no response**: a malformed
 * request, a denied target, a DNS, connection, TLS or protocol failure, a timeout or
 * too many redirects. Any HTTP status, 4xx and 5xx included, is a response, not an
 * error. The runner counts the request in `http_reqs` and `http_req_failed` either
 * way.
 *
 * The message reads as the Rust SDK's, for example "connection failed: Connection
 * refused (os error 111)" or "request timed out".
 *
 * ```js
 * try {
 *   http.get(url);
 * } catch (e) {
 *   if (e instanceof HttpError && e.code === 'timeout') check('no timeout', false);
 *   else throw e;
 * }
 * ```
 */
export class HttpError extends Error {
  /**
   * @param {string} code The error's kind as in the WIT contract: "invalid-request",
   *   "denied", "dns", "connect", "tls", "timeout", "protocol" or "too-many-redirects".
   * @param {string | undefined} detail The runner's explanation, when the kind has one.
   * @param {string} [method] The request's method.
   * @param {string} [url] The request's URL.
   */
  constructor(code, detail, method, url) {
    super(httpErrorMessage(code, detail));
    this.name = 'HttpError';
    /** The error's kind, such as "connect" or "timeout". */
    this.code = code;
    /** The runner's explanation, or undefined. */
    this.detail = detail;
    /** The request's method. */
    this.method = method;
    /** The request's URL. */
    this.url = url;
  }
}

/** The message of an HttpError, worded as the Rust SDK's `Display`. */
function httpErrorMessage(code, detail) {
  switch (code) {
    case 'invalid-request': return `invalid request: ${detail}`;
    case 'denied': return `request denied by the runner: ${detail}`;
    case 'dns': return `DNS lookup failed: ${detail}`;
    case 'connect': return `connection failed: ${detail}`;
    case 'tls': return `TLS handshake failed: ${detail}`;
    case 'timeout': return 'request timed out';
    case 'protocol': return `protocol error: ${detail}`;
    case 'too-many-redirects': return 'too many redirects';
    default: return detail === undefined ? code : `${code}: ${detail}`;
  }
}

/**
 * Where the time of one request went, in milliseconds, as k6 defines it.
 * @typedef {object} Timings
 * @property {number} blocked Waiting for a connection: DNS lookup, or a free slot.
 * @property {number} connecting Establishing the TCP connection (0 when reused).
 * @property {number} tlsHandshaking The TLS handshake (0 for plain HTTP or a reused connection).
 * @property {number} sending Writing the request.
 * @property {number} waiting From the last request byte written to the first response byte.
 * @property {number} receiving Reading the response.
 * @property {number} duration sending + waiting + receiving: the `http_req_duration` value.
 */

/** An HTTP response, of any status. */
export class Response {
  /** @param {object} raw The WIT `response` record. @param {string} method */
  constructor(raw, method) {
    /** The HTTP status code. @type {number} */
    this.status = raw.status;
    /** Response headers in order, names in lower case. @type {Array<[string, string]>} */
    this.headers = raw.headers;
    /** The body bytes (empty when the request asked for `discardBody`). @type {Uint8Array} */
    this.body = raw.body;
    /** The URL that produced this response, after redirects. @type {string} */
    this.url = raw.url;
    /** "HTTP/1.1" or "HTTP/2.0". @type {string} */
    this.protocol = raw.protocol;
    /** Timings of the request, in milliseconds. @type {Timings} */
    this.timings = raw.timings;
    /** The request's method. @type {string} */
    this.method = method;
  }

  /** Whether the status is 2xx. @type {boolean} */
  get ok() {
    return this.status >= 200 && this.status < 300;
  }

  /** The body as text (invalid UTF-8 becomes U+FFFD). @returns {string} */
  text() {
    return decoder.decode(this.body);
  }

  /**
   * The body parsed as JSON.
   * @returns {any}
   * @throws {SyntaxError} when the body is not JSON.
   */
  json() {
    return JSON.parse(this.text());
  }

  /**
   * The value of the first header called `name` (case-insensitive), or undefined.
   * @param {string} name @returns {string | undefined}
   */
  header(name) {
    const wanted = name.toLowerCase();
    const found = this.headers.find(([key]) => key.toLowerCase() === wanted);
    return found === undefined ? undefined : found[1];
  }

  /**
   * The values of every header called `name` (case-insensitive), in order.
   * @param {string} name @returns {string[]}
   */
  headerAll(name) {
    const wanted = name.toLowerCase();
    return this.headers.filter(([key]) => key.toLowerCase() === wanted).map(([, value]) => value);
  }
}

/**
 * Options of one request. Everything is optional.
 * @typedef {object} RequestParams
 * @property {string} [name] The metric label (the `name` tag), such as "GET /seats/{id}",
 *   so URLs that differ only by ids share one series. Defaults to the URL.
 * @property {Pairs} [headers] Request headers. The runner adds `host`,
 *   `content-length` and a default `user-agent` where they are missing.
 * @property {Pairs} [tags] Extra tags recorded with this request's metrics.
 * @property {string | Uint8Array | ArrayBuffer} [body] The request body.
 * @property {any} [json] A value sent as the JSON body; sets `content-type:
 *   application/json` unless a content-type header is given.
 * @property {number} [timeout] Time limit in milliseconds, redirects included
 *   (default 60000).
 * @property {number} [redirects] How many redirects to follow (default 10; 0 returns
 *   the redirect itself).
 * @property {boolean} [discardBody] The runner reads and counts the body but does not
 *   copy it here: `body` is empty. Saves memory and time.
 */

/** Builds the WIT `request` record. */
function toRequest(method, url, params) {
  params = params ?? {};
  const headers = toPairs(params.headers);
  let body = null; // option<T>: null (or undefined) is none
  if (params.json !== undefined) {
    if (params.body !== undefined) throw new TypeError('give a request either `body` or `json`, not both');
    body = encoder.encode(JSON.stringify(params.json));
    if (!headers.some(([key]) => key.toLowerCase() === 'content-type')) {
      headers.push(['content-type', 'application/json']);
    }
  } else if (params.body !== undefined && params.body !== null) {
    body = toBytes(params.body);
  }
  return {
    method,
    url: String(url),
    headers,
    body,
    name: params.name ?? null,
    tags: toPairs(params.tags),
    timeoutMs: params.timeout == null ? null : Math.ceil(params.timeout),
    maxRedirects: params.redirects ?? null,
    discardBody: params.discardBody === true,
  };
}

/** A WIT `error` variant as an HttpError. */
function toHttpError(raw, request) {
  return new HttpError(raw.tag, raw.val, request.method, request.url);
}

/**
 * Sends one request and waits for its whole response.
 * @param {string} method Such as "GET" or "POST" (any token is allowed).
 * @param {string} url An absolute http:// or https:// URL.
 * @param {RequestParams} [params]
 * @returns {Response}
 * @throws {HttpError} when no response arrived.
 */
function request(method, url, params) {
  const req = toRequest(method, url, params);
  let raw;
  try {
    raw = rawHttp.send(req);
  } catch (e) {
    // componentize-js throws an Error whose `payload` is the WIT error variant.
    if (e !== null && typeof e === 'object' && e.payload !== undefined) throw toHttpError(e.payload, req);
    throw e;
  }
  return new Response(raw, req.method);
}

/**
 * The HTTP client: the runner sends every request on this VU's keep-alive
 * connections and records it in `http_reqs`, `http_req_duration` (and its phases),
 * `http_req_failed`, `data_sent` and `data_received`.
 *
 * ```js
 * const res = http.get(`${base}/dates`, { name: 'GET /dates', headers: { authorization: `Bearer ${t}` } });
 * const created = http.post(`${base}/reservations`, { name: 'POST /reservations', json: { seat_id: 'A1' } });
 * const [a, b] = http.batch([{ method: 'GET', url: u1 }, { method: 'GET', url: u2 }]);
 * ```
 */
export const http = {
  request,
  /** GET `url`. @param {string} url @param {RequestParams} [params] @returns {Response} */
  get: (url, params) => request('GET', url, params),
  /** HEAD `url`. @param {string} url @param {RequestParams} [params] @returns {Response} */
  head: (url, params) => request('HEAD', url, params),
  /** POST to `url`. @param {string} url @param {RequestParams} [params] @returns {Response} */
  post: (url, params) => request('POST', url, params),
  /** PUT to `url`. @param {string} url @param {RequestParams} [params] @returns {Response} */
  put: (url, params) => request('PUT', url, params),
  /** PATCH `url`. @param {string} url @param {RequestParams} [params] @returns {Response} */
  patch: (url, params) => request('PATCH', url, params),
  /** DELETE `url`. @param {string} url @param {RequestParams} [params] @returns {Response} */
  delete: (url, params) => request('DELETE', url, params),
  /** DELETE `url` (k6's name). @param {string} url @param {RequestParams} [params] @returns {Response} */
  del: (url, params) => request('DELETE', url, params),

  /**
   * Sends several requests at once (at most 6 in flight per host) and returns their
   * outcomes in the same order: a Response, or an HttpError (returned, not thrown)
   * for a request that got no response.
   * @param {Array<RequestParams & {method?: string, url: string}>} requests
   *   Each with its `url`, and its `method` (default "GET").
   * @returns {Array<Response | HttpError>}
   */
  batch(requests) {
    const reqs = requests.map((r) => toRequest(r.method ?? 'GET', r.url, r));
    return rawHttp.sendBatch(reqs).map((result, i) =>
      result.tag === 'ok' ? new Response(result.val, reqs[i].method) : toHttpError(result.val, reqs[i]));
  },
};

// ---------------------------------------------------------------------------
// Checks, groups, think time
// ---------------------------------------------------------------------------

/**
 * Records whether the check `name` passed (counted in the `checks` rate) and
 * returns `ok` as a boolean. A failed check fails nothing else.
 *
 * Also takes k6's form, `check(value, { 'name': (value) => boolean, ... }, tags)`,
 * which records one check per entry (an entry that throws fails) and returns
 * whether all passed.
 *
 * ```js
 * check('status is 200', res.status === 200);
 * check(res, { 'status is 200': (r) => r.status === 200, 'has a body': (r) => r.body.length > 0 });
 * ```
 * @param {string | any} name The check's name (or, k6-style, the value to check).
 * @param {any} ok Whether it passed (or, k6-style, the named predicates).
 * @param {Pairs} [tags] Tags added to the sample.
 * @returns {boolean}
 */
export function check(name, ok, tags) {
  if (typeof name === 'string') return rawChecks.check(name, Boolean(ok), toPairs(tags));
  let all = true;
  for (const [checkName, predicate] of Object.entries(ok)) {
    let passed;
    try {
      passed = Boolean(predicate(name));
    } catch (_) {
      passed = false;
    }
    rawChecks.check(checkName, passed, toPairs(tags));
    all = all && passed;
  }
  return all;
}

/**
 * Runs `fn` inside the group `name`: what it records (requests, checks, custom
 * metrics) is tagged `group` with the path of the open groups, such as "::book",
 * and its time goes to the `group_duration` trend. Returns what `fn` returns; the
 * group is closed even when `fn` throws. When `fn` returns a promise (an `async`
 * function), the group closes when the promise settles: await it before opening
 * another group.
 * @template T
 * @param {string} name The group's name (must not contain "::").
 * @param {() => T} fn
 * @returns {T}
 */
export function group(name, fn) {
  rawGroup.enter(name);
  let result;
  try {
    result = fn();
  } catch (e) {
    rawGroup.leave();
    throw e;
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    return result.then(
      (value) => { rawGroup.leave(); return value; },
      (e) => { rawGroup.leave(); throw e; },
    );
  }
  rawGroup.leave();
  return result;
}

/**
 * Pauses this VU for `ms` milliseconds (think time); other VUs run on. A fraction of
 * a millisecond is rounded up; 0 (or less) returns at once. Blocks the VU, also
 * inside an `async` iteration.
 * @param {number | bigint} ms
 */
export function sleep(ms) {
  if (typeof ms === 'bigint') {
    if (ms > 0n) rawVu.sleep(ms);
    return;
  }
  const millis = Number(ms);
  if (Number.isNaN(millis)) throw new TypeError(`sleep: not a number of milliseconds: ${ms}`);
  if (millis > 0) rawVu.sleep(BigInt(Math.ceil(Math.min(millis, Number.MAX_SAFE_INTEGER))));
}

/**
 * Fails the current iteration (or setup or teardown) with `message`, like k6's
 * `fail`: the same as `throw message`.
 * @param {string} message
 * @returns {never}
 */
export function fail(message) {
  throw String(message);
}

// ---------------------------------------------------------------------------
// Custom metrics
// ---------------------------------------------------------------------------

// Metric names must match [a-zA-Z_][a-zA-Z0-9_]* (at most 128 characters), must not
// be a built-in metric's name and must not be used for two kinds of metric: the
// runner traps the VU on a bad name.

/** A metric that adds up values: reported as a total and a rate per second. */
export class Counter {
  /** @param {string} name */
  constructor(name) {
    /** @type {string} */
    this.name = name;
  }

  /** Adds `value` (default 1). @param {number} [value] @param {Pairs} [tags] */
  add(value = 1, tags) {
    rawMetrics.counterAdd(this.name, Number(value), toPairs(tags));
  }
}

/** A metric that keeps its last value: reported as last, min and max. */
export class Gauge {
  /** @param {string} name */
  constructor(name) {
    /** @type {string} */
    this.name = name;
  }

  /** Sets the gauge to `value`. @param {number} value @param {Pairs} [tags] */
  set(value, tags) {
    rawMetrics.gaugeSet(this.name, Number(value), toPairs(tags));
  }

  /** Sets the gauge to `value` (k6's name for `set`). @param {number} value @param {Pairs} [tags] */
  add(value, tags) {
    this.set(value, tags);
  }
}

/** A metric of booleans: reported as the share of true samples. */
export class Rate {
  /** @param {string} name */
  constructor(name) {
    /** @type {string} */
    this.name = name;
  }

  /** Adds one sample, true when `ok` is truthy. @param {any} ok @param {Pairs} [tags] */
  add(ok, tags) {
    rawMetrics.rateAdd(this.name, Boolean(ok), toPairs(tags));
  }
}

/**
 * A metric of values: reported as avg, min, med, max and percentiles.
 *
 * ```js
 * const flow = new Trend('flow_duration', true); // a time trend, in milliseconds
 * const started = performance.now();
 * // ...
 * flow.add(performance.now() - started);
 * ```
 */
export class Trend {
  /**
   * @param {string} name
   * @param {boolean} [isTime] True when the values are milliseconds, shown as durations.
   */
  constructor(name, isTime = false) {
    /** @type {string} */
    this.name = name;
    /** @type {boolean} */
    this.isTime = Boolean(isTime);
  }

  /** Adds one sample. @param {number} value @param {Pairs} [tags] */
  add(value, tags) {
    rawMetrics.trendAdd(this.name, Number(value), this.isTime, toPairs(tags));
  }
}

// ---------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------

function format(args) {
  return args
    .map((a) => {
      if (typeof a === 'string') return a;
      if (a instanceof Error) return describe(a);
      if (a === undefined || typeof a === 'bigint' || typeof a === 'function' || typeof a === 'symbol') return String(a);
      try {
        return JSON.stringify(a);
      } catch (_) {
        return String(a);
      }
    })
    .join(' ');
}

/**
 * Log messages, kept with the run (the runner rate-limits them per VU). Arguments
 * are joined with spaces; objects are written as JSON. Use these rather than
 * `console.log`, whose output the runner keeps only to explain a trap.
 */
export const log = {
  /** @param {...any} args */
  debug: (...args) => rawLog.log('debug', format(args)),
  /** @param {...any} args */
  info: (...args) => rawLog.log('info', format(args)),
  /** @param {...any} args */
  warn: (...args) => rawLog.log('warn', format(args)),
  /** @param {...any} args */
  error: (...args) => rawLog.log('error', format(args)),
};

// ---------------------------------------------------------------------------
// The VU, its environment and setup data
// ---------------------------------------------------------------------------

/** The running virtual user. */
export const vu = {
  /** This VU's id: 1, 2, ... unique within the run (0 in setup and teardown). @returns {number} */
  id: () => rawVu.id(),
  /**
   * How many iterations this VU started before the current one (0 in the first), as
   * a Number (exact below 2^53; `iteration` of 'volley:scenario/vu@0.1.0' gives the
   * u64 as a BigInt).
   * @returns {number}
   */
  iteration: () => Number(rawVu.iteration()),
  /** The name of the scenario this VU runs. @returns {string} */
  scenario: () => rawVu.scenario(),
};

/**
 * The run's environment variable `name` (from `--env` or the run options), or
 * `fallback` when it is not set. The runner's own process environment is never
 * visible.
 * @param {string} name
 * @param {string} [fallback]
 * @returns {string | undefined}
 */
export function env(name, fallback) {
  const value = rawVu.env(name);
  return value === undefined || value === null ? fallback : value;
}

/** All of the run's environment variables. @returns {Record<string, string>} */
export function envVars() {
  return Object.fromEntries(rawVu.envVars());
}

/** The bytes `setup` returned (empty before setup has returned). @returns {Uint8Array} */
export function setupBytes() {
  return rawVu.setupData();
}

let setupCache; // { value } once non-empty setup data was read
/**
 * What `setup` returned: the value, decoded from JSON, or the bytes when setup
 * returned a Uint8Array that is not JSON; undefined when setup returned nothing.
 * Read once per VU.
 * @returns {any}
 */
export function setupData() {
  if (setupCache !== undefined) return setupCache.value;
  const bytes = rawVu.setupData();
  if (bytes.length === 0) return undefined; // not cached: teardown's VU sees it only after setup
  let value;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (_) {
    value = bytes;
  }
  setupCache = { value };
  return value;
}

// ---------------------------------------------------------------------------
// The scenario's exports
// ---------------------------------------------------------------------------

/**
 * Any thrown value as an error string: a string as it is; an Error as
 * "Name: message" followed by its stack; an import's error with its payload.
 * @param {unknown} e
 * @returns {string}
 */
export function describe(e) {
  if (typeof e === 'string') return e;
  if (e instanceof Error) {
    let text = e.name && !e.message.startsWith(`${e.name}:`) ? `${e.name}: ${e.message}` : e.message;
    if (e instanceof HttpError) text += ` (${e.method} ${e.url})`;
    else if (e.payload !== undefined) text += ` (payload: ${safeJson(e.payload)})`;
    // SpiderMonkey's stack is one "function@file:line:column" per line (other
    // engines start with the message and prefix "at ").
    const frames = typeof e.stack === 'string'
      ? e.stack.split('\n').map((line) => line.trim().replace(/^at /, ''))
        .filter((line) => line !== '' && !line.startsWith(`${e.name}:`))
      : [];
    // The scenario's own frames: those of this helper and of the generated
    // bindings are noise (unless there is nothing else).
    const own = frames.filter((line) => !/@volley\.js:\d|initializer\.js:\d/.test(line));
    for (const line of own.length > 0 ? own : frames) text += `\n    at ${line}`;
    return text;
  }
  if (e === undefined || e === null) return `thrown: ${e}`;
  if (typeof e === 'object') return safeJson(e);
  return String(e);
}

function safeJson(value) {
  try {
    return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  } catch (_) {
    return String(value);
  }
}

/**
 * Undefined, or a promise of undefined once `result` (a promise) settles: what a
 * scenario function returns is not the export's result.
 */
function nothing(result) {
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    return result.then(() => undefined);
  }
  return undefined;
}

/** Calls `fn`, turning anything it throws or rejects with into a string. */
function guard(fn) {
  return (...args) => {
    let result;
    try {
      result = fn(...args);
    } catch (e) {
      throw describe(e);
    }
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      return result.then(undefined, (e) => { throw describe(e); });
    }
    return result;
  };
}

/**
 * The scenario's parts. Only `iteration` is required.
 * @typedef {object} ScenarioSpec
 * @property {object | string | (() => object | string)} [options] The default load
 *   options, k6-style (`{vus: 10, duration: '30s', thresholds: {...}}`), used where
 *   the command line gives none. Read once, on a VU of its own that has no
 *   environment.
 * @property {() => any} [setup] Runs once before any iteration. What it returns
 *   reaches every VU as `setupData()` and as `iteration`'s first argument: a value
 *   is sent as JSON, a Uint8Array as it is. May be async.
 * @property {(data: any, exec: string) => (void | Promise<void>)} iteration One
 *   iteration; the runner calls it over and over on every VU. `exec` is the entry
 *   point the run options chose ("default" unless set). May be async (for `fetch`).
 * @property {Record<string, (data: any, exec: string) => (void | Promise<void>)>} [exec]
 *   Named entry points: when the run options choose `exec: "name"`, `exec.name`
 *   runs instead of `iteration` (which is the entry point "default" unless
 *   `exec.default` is given).
 * @property {(data: any) => (void | Promise<void>)} [teardown] Runs once after every
 *   iteration.
 */

/**
 * Turns a scenario's parts into the four functions the `scenario` world exports.
 * Export them under these exact names:
 *
 * ```js
 * export const { options, setup, iteration, teardown } = scenario({ iteration() { ... } });
 * ```
 *
 * An exception thrown by (or a promise rejected in) `setup`, `iteration`, an `exec`
 * entry point or `teardown` becomes that call's error: a thrown string as it is,
 * an Error as its name, message and stack. An iteration error fails that iteration
 * and is counted; a setup error aborts the run.
 * @param {ScenarioSpec} spec
 * @returns {{options: () => string, setup: () => Uint8Array | Promise<Uint8Array>,
 *   iteration: (exec: string) => void | Promise<void>, teardown: () => void | Promise<void>}}
 */
export function scenario(spec) {
  if (spec === null || typeof spec !== 'object') throw new TypeError('scenario() takes an object');
  const encodeSetup = (data) => {
    if (data === undefined) return EMPTY;
    if (data instanceof Uint8Array) return data;
    return encoder.encode(JSON.stringify(data));
  };
  return {
    options() {
      try {
        const opts = typeof spec.options === 'function' ? spec.options() : spec.options;
        if (opts === undefined || opts === null) return '{}';
        return typeof opts === 'string' ? opts : JSON.stringify(opts);
      } catch (e) {
        // `options` cannot return an error: say why before the VU traps.
        rawLog.log('error', `options failed: ${describe(e)}`);
        throw e;
      }
    },
    setup: guard(() => {
      if (typeof spec.setup !== 'function') return EMPTY;
      const data = spec.setup();
      if (data !== null && typeof data === 'object' && typeof data.then === 'function') return data.then(encodeSetup);
      return encodeSetup(data);
    }),
    iteration: guard((exec) => {
      let entry = spec.exec === undefined ? undefined : spec.exec[exec];
      if (entry === undefined && (exec === 'default' || spec.exec === undefined)) entry = spec.iteration;
      if (typeof entry !== 'function') {
        if (exec === 'default') throw 'this scenario has no `iteration` function';
        throw `this scenario has no entry point "${exec}" (scenario({exec: {${exec}() {...}}}))`;
      }
      return nothing(entry(setupData(), exec));
    }),
    teardown: guard(() => {
      if (typeof spec.teardown === 'function') return nothing(spec.teardown(setupData()));
      return undefined;
    }),
  };
}
