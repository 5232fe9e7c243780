/*
 * volley.h: write Volley load-test scenarios in C.
 *
 * A Volley scenario is a WebAssembly component of the WIT world
 * `volley:scenario/scenario@0.1.0` (plugin-sdk/wit/scenario.wit). This header is
 * a thin helper layer over the C bindings `wit-bindgen c` generates for that
 * world: you never touch the generated types, you write plain C.
 *
 * THE ENTRY POINTS
 *
 * Define `volley_iteration` (required) and, if you need them, `volley_options`,
 * `volley_setup` and `volley_teardown` (see below). volley.c exports them to the
 * runner; the ones you leave out get a default.
 *
 * Every entry point reports failure by returning an error message (any string:
 * a literal, or one built with volley_fmt) and success by returning NULL. The
 * message is copied before the entry point's memory is released.
 *
 * THE MEMORY RULE (one rule for everything)
 *
 * Everything a volley_* function returns (responses, strings, JSON documents,
 * arrays) belongs to the helper layer and is freed automatically when the
 * entry point that is running (volley_iteration, volley_setup, ...) returns.
 * So an iteration never leaks, whatever path it takes, and you never call
 * free() on anything volley_* gave you.
 *   - Do not keep such a pointer past the end of the entry point (in a static,
 *     say): copy what you want to keep with your own malloc/strdup, which you
 *     then own.
 *   - An iteration that loops over many requests can release a result early
 *     with volley_free() (or volley_response_free()); it is then gone.
 *   - Strings you pass in are only borrowed for the duration of the call.
 * The exceptions are volley_setup_data() (lives as long as the VU) and the
 * strings in volley_request_opts etc., which stay yours.
 *
 * Out of memory (past the runner's --vu-memory-mib) aborts the VU with a
 * message on stderr: there is no NULL to check after volley_* calls that
 * allocate, except where a function documents NULL as an answer.
 *
 * Each VU is its own instance of the component: statics are per VU and live
 * across that VU's iterations.
 */
#ifndef VOLLEY_H
#define VOLLEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define VOLLEY_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define VOLLEY_PRINTF(fmt_index, first_arg)
#endif

/* ======================================================================== */
/* Entry points: you define these                                           */
/* ======================================================================== */

/** Bytes handed from volley_setup to every VU. */
typedef struct volley_bytes {
    /** The bytes (need not be NUL-terminated); NULL with len 0 for none. */
    const void *data;
    /** How many bytes. */
    size_t len;
} volley_bytes;

/**
 * REQUIRED. One iteration of the scenario; the runner calls it over and over on
 * every VU. `exec` names the entry point the run options chose ("default" unless
 * set). Return NULL on success or an error message, which fails (and counts)
 * this iteration. A failed check fails nothing by itself.
 */
const char *volley_iteration(const char *exec);

/**
 * OPTIONAL. The scenario's default load options as k6-style JSON, used where the
 * command line gives none, for example
 * `{"vus": 10, "duration": "30s"}`. Runs once when the scenario is loaded, on a
 * VU of its own with no environment. Default: "{}".
 */
const char *volley_options(void);

/**
 * OPTIONAL. Runs once per run, before any iteration, on VU 0. Set `*out` to the
 * bytes every VU will read with volley_setup_data() (they are copied when
 * volley_setup returns, so they may point into volley_fmt memory). Return NULL,
 * or an error message, which aborts the run. Default: no data, no error.
 */
const char *volley_setup(volley_bytes *out);

/**
 * OPTIONAL. Runs once at the end of the run, after every iteration. Return NULL
 * or an error message. Default: does nothing.
 */
const char *volley_teardown(void);

/* ======================================================================== */
/* Memory and strings                                                       */
/* ======================================================================== */

/**
 * A printf-formatted string, freed when the entry point returns (see THE MEMORY
 * RULE). Handy for URLs, bodies and error messages:
 *     return volley_fmt("GET /x: expected status 200, got %u", r->status);
 */
char *volley_fmt(const char *fmt, ...) VOLLEY_PRINTF(1, 2);

/** A copy of `s` (NULL gives NULL), freed when the entry point returns. */
char *volley_strdup(const char *s);

/** `n` zeroed bytes, freed when the entry point returns. */
void *volley_alloc(size_t n);

/**
 * Releases now something a volley_* function returned (NULL is ignored).
 * Optional: everything is released when the entry point returns anyway.
 * Passing a pointer volley_* did not return, or freeing twice, is undefined.
 */
void volley_free(const void *p);

/**
 * `text` as a JSON string literal, quotes included and characters escaped
 * (freed when the entry point returns). For building JSON bodies:
 *     volley_fmt("{\"seat_id\":%s}", volley_json_quote(seat))
 */
char *volley_json_quote(const char *text);

/* ======================================================================== */
/* HTTP                                                                     */
/* ======================================================================== */

/**
 * Optional settings of one request; every field may be left zero. Use a
 * designated initialiser:
 *     volley_get(url, &(volley_request_opts){
 *         .name = "GET /items/{id}",
 *         .headers = (const char *[]){"authorization", auth, NULL},
 *     });
 * The strings stay yours; they are only read during the call.
 */
typedef struct volley_request_opts {
    /** The metric label (the `name` tag), such as "GET /seats/{id}", so URLs
     *  that differ only by ids share one series. NULL: the URL. */
    const char *name;
    /** Request headers as a NULL-terminated list of name, value pairs:
     *  (const char *[]){"accept", "application/json", NULL}. NULL: none. */
    const char *const *headers;
    /** Extra metric tags, in the same form as `headers`. NULL: none. */
    const char *const *tags;
    /** The body (NULL: none). With body_len 0 it is taken as a NUL-terminated
     *  string; set body_len for binary data. volley_post and friends set it. */
    const void *body;
    /** The body's length in bytes; 0 means strlen(body). */
    size_t body_len;
    /** Time limit for the whole request, redirects included, in milliseconds.
     *  0: the runner's default (60000). */
    uint32_t timeout_ms;
    /** How many redirects to follow. 0: the default (10);
     *  VOLLEY_NO_REDIRECTS: none, the redirect response itself is returned. */
    int32_t max_redirects;
    /** When true the runner reads (and times) the body but does not copy it
     *  here: the response's body is empty. Saves memory and time. */
    bool discard_body;
} volley_request_opts;

/** volley_request_opts.max_redirects value for "follow no redirect". */
#define VOLLEY_NO_REDIRECTS (-1)

/** Why a request got no response (volley_response.error_kind). */
typedef enum volley_error_kind {
    /** A response arrived (of any status: a 500 is a response). */
    VOLLEY_OK = 0,
    /** The request is malformed (bad URL, method or header). */
    VOLLEY_ERROR_INVALID_REQUEST,
    /** The runner's configuration does not allow this target. */
    VOLLEY_ERROR_DENIED,
    /** The host name could not be resolved. */
    VOLLEY_ERROR_DNS,
    /** The TCP connection could not be made (refused, unreachable). */
    VOLLEY_ERROR_CONNECT,
    /** The TLS handshake failed. */
    VOLLEY_ERROR_TLS,
    /** The request did not finish within its timeout. */
    VOLLEY_ERROR_TIMEOUT,
    /** The connection broke or the peer spoke invalid HTTP. */
    VOLLEY_ERROR_PROTOCOL,
    /** More redirects than max_redirects. */
    VOLLEY_ERROR_TOO_MANY_REDIRECTS,
} volley_error_kind;

/** Where the time of one request went, in milliseconds (k6's definitions). */
typedef struct volley_timings {
    double blocked;         /**< waiting for a connection (DNS, a free slot) */
    double connecting;      /**< TCP connect (0 on a reused connection) */
    double tls_handshaking; /**< TLS handshake (0 for plain HTTP or reuse) */
    double sending;         /**< writing the request */
    double waiting;         /**< last byte sent to first byte received */
    double receiving;       /**< first to last response byte */
    double duration;        /**< sending + waiting + receiving (http_req_duration) */
} volley_timings;

/** One header: name (lower case) and value, both NUL-terminated. */
typedef struct volley_header {
    const char *name;
    const char *value;
} volley_header;

/**
 * The outcome of one request. Always check `error` first: when it is not NULL
 * no response arrived and only `error_kind` and `error` are meaningful.
 * Freed when the entry point returns (or by volley_response_free).
 */
typedef struct volley_response {
    /** VOLLEY_OK when a response arrived, otherwise why not. */
    volley_error_kind error_kind;
    /** NULL when a response arrived, otherwise a message such as
     *  "connection failed: Connection refused" or "request timed out". */
    const char *error;
    /** The HTTP status code (0 when `error` is set). */
    uint16_t status;
    /** The body, with a NUL byte added after it so text bodies are C strings;
     *  "" when empty or discarded. It may itself contain NUL bytes: use body_len. */
    const char *body;
    /** The body's length in bytes (without the added NUL). */
    size_t body_len;
    /** The response headers, names in lower case, in order. */
    const volley_header *headers;
    /** How many headers. */
    size_t header_count;
    /** The URL that produced this response, after redirects. */
    const char *url;
    /** "HTTP/1.1" or "HTTP/2.0". */
    const char *protocol;
    /** The timings of the request that produced this response. */
    volley_timings timings;
} volley_response;

/**
 * Sends one request and waits for its whole response. `method` is any token
 * ("GET", "POST", ...); `url` an absolute http:// or https:// URL; `opts` may be
 * NULL. Never returns NULL: see volley_response.error. Every request (failed or
 * not) is recorded in http_reqs, http_req_duration, ...
 */
volley_response *volley_request(const char *method, const char *url,
                                const volley_request_opts *opts);

/** GET `url`. `opts` may be NULL. */
volley_response *volley_get(const char *url, const volley_request_opts *opts);

/** POST `url` with the NUL-terminated `body` (NULL: none); opts->body is ignored. */
volley_response *volley_post(const char *url, const char *body,
                             const volley_request_opts *opts);

/**
 * POST `url` with the JSON text `json` as body, adding the header
 * `content-type: application/json` unless opts->headers has a content-type.
 */
volley_response *volley_post_json(const char *url, const char *json,
                                  const volley_request_opts *opts);

/** PUT `url` with the JSON text `json`, like volley_post_json. */
volley_response *volley_put_json(const char *url, const char *json,
                                 const volley_request_opts *opts);

/** DELETE `url`. `opts` may be NULL. */
volley_response *volley_delete(const char *url, const volley_request_opts *opts);

/** One request of a batch. */
typedef struct volley_batch_request {
    const char *method;       /**< "GET", "POST", ... */
    const char *url;          /**< absolute URL */
    volley_request_opts opts; /**< settings and body, as for volley_request */
} volley_batch_request;

/**
 * Sends `count` requests at once (at most 6 in flight per host) and returns
 * their outcomes in the same order: an array of `count` responses (never NULL),
 * freed when the entry point returns. Release early with volley_free on the
 * array and volley_response_free on each response.
 */
volley_response **volley_batch(const volley_batch_request *requests, size_t count);

/** True when a response arrived with a 2xx status. */
bool volley_response_is_success(const volley_response *response);

/**
 * The value of the first header called `name` (case-insensitive), or NULL.
 * Points into the response.
 */
const char *volley_response_header(const volley_response *response, const char *name);

/** Releases `response` now (NULL is ignored). Optional; see THE MEMORY RULE. */
void volley_response_free(volley_response *response);

/** The WIT error code of `kind`: "connect", "timeout", ... ("" for VOLLEY_OK). */
const char *volley_error_code(volley_error_kind kind);

/* ======================================================================== */
/* Checks, groups, custom metrics                                           */
/* ======================================================================== */

/**
 * Records whether the check `name` passed (the `checks` rate metric, like k6's
 * check) and returns `ok`.
 */
bool volley_check(const char *name, bool ok);

/** volley_check with tags: a NULL-terminated list of name, value pairs. */
bool volley_check_tags(const char *name, bool ok, const char *const *tags);

/**
 * Opens the group `name` inside the innermost open one: what follows (requests,
 * checks, metrics) is tagged `group` = "::outer::name" until the matching
 * volley_group_leave, which records the group's time in `group_duration`. Leave
 * before every `return` in between (C has no destructors): a group still open
 * when the iteration ends is closed without a duration. A name containing "::"
 * or more than 16 open groups abort the VU.
 */
void volley_group_enter(const char *name);

/** Closes the innermost open group. Aborts the VU when none is open. */
void volley_group_leave(void);

/*
 * Custom metrics. Names must match [a-zA-Z_][a-zA-Z0-9_]* (at most 128
 * characters), must not be a built-in metric's name and must not be used with
 * two kinds: a bad name aborts the VU. The _tags variants take a
 * NULL-terminated list of name, value pairs.
 */

/** Adds `value` to the counter `name` (reported as a total and a rate). */
void volley_counter_add(const char *name, double value);
void volley_counter_add_tags(const char *name, double value, const char *const *tags);
/** Sets the gauge `name` (reported as last, min and max). */
void volley_gauge_set(const char *name, double value);
void volley_gauge_set_tags(const char *name, double value, const char *const *tags);
/** Adds one sample to the rate `name` (the share of true samples). */
void volley_rate_add(const char *name, bool ok);
void volley_rate_add_tags(const char *name, bool ok, const char *const *tags);
/** Adds `value` to the trend `name` (avg, min, med, max, percentiles). */
void volley_trend_add(const char *name, double value);
void volley_trend_add_tags(const char *name, double value, const char *const *tags);
/** Adds a duration in milliseconds to the time trend `name` (shown as a duration). */
void volley_trend_add_time(const char *name, double millis);
void volley_trend_add_time_tags(const char *name, double millis, const char *const *tags);

/* ======================================================================== */
/* The VU, its environment, time                                            */
/* ======================================================================== */

/** This VU's id: 1, 2, ... unique within the run. */
uint32_t volley_vu_id(void);

/** How many iterations this VU started before the current one (0 in the first). */
uint64_t volley_vu_iteration(void);

/** The name of the scenario this VU runs (freed when the entry point returns). */
const char *volley_vu_scenario(void);

/**
 * The run's environment variable `name` (from --env or the run options), or
 * NULL when it is not set. Freed when the entry point returns. getenv() sees
 * nothing: the runner never shows its own process's environment.
 */
const char *volley_env(const char *name);

/**
 * All of the run's environment variables as a NULL-terminated list of name,
 * value pairs (freed when the entry point returns).
 */
const char *const *volley_env_vars(void);

/**
 * The bytes volley_setup returned (NULL with *len 0 when none). Fetched once per
 * VU and kept for the VU's life: do not free. `len` may be NULL. The runner adds
 * no NUL byte, but this layer does (at data[*len]), so text can be used as is.
 */
const void *volley_setup_data(size_t *len);

/**
 * Pauses this VU for `millis` milliseconds (think time); other VUs run on.
 * Use this, not sleep()/usleep(), which the runner cannot see.
 */
void volley_sleep_ms(uint64_t millis);

/** A monotonic clock in milliseconds, for measuring durations (not the date). */
double volley_now_ms(void);

/* ======================================================================== */
/* Logs                                                                     */
/* ======================================================================== */

/** Log levels. */
typedef enum volley_log_level {
    VOLLEY_LOG_DEBUG,
    VOLLEY_LOG_INFO,
    VOLLEY_LOG_WARN,
    VOLLEY_LOG_ERROR,
} volley_log_level;

/**
 * Records a printf-formatted message, kept with the run (rate-limited per VU).
 * Use these rather than printf: stdout and stderr are only kept to explain a
 * crash.
 */
void volley_log(volley_log_level level, const char *fmt, ...) VOLLEY_PRINTF(2, 3);
void volley_log_debug(const char *fmt, ...) VOLLEY_PRINTF(1, 2);
void volley_log_info(const char *fmt, ...) VOLLEY_PRINTF(1, 2);
void volley_log_warn(const char *fmt, ...) VOLLEY_PRINTF(1, 2);
void volley_log_error(const char *fmt, ...) VOLLEY_PRINTF(1, 2);

/* ======================================================================== */
/* JSON reading                                                             */
/* ======================================================================== */

/*
 * A small, strict JSON reader (RFC 8259): parse a whole document into a tree,
 * then walk it. Accessors are NULL-safe: each takes NULL (a missing value) and
 * answers "not there", so chains like
 *     volley_json_string(volley_json_get(doc, "token"))
 * need one NULL check at the end. Strings come decoded (escapes, \u and
 * surrogate pairs resolved) as NUL-terminated UTF-8. At most 127 arrays and
 * objects may nest (serde_json's limit), and errors use serde_json's words.
 * The document is freed when the entry point returns.
 */

/** A JSON value inside a parsed document. */
typedef struct volley_json volley_json;

/** What a JSON value is. */
typedef enum volley_json_type {
    VOLLEY_JSON_NULL,
    VOLLEY_JSON_BOOL,
    VOLLEY_JSON_NUMBER,
    VOLLEY_JSON_STRING,
    VOLLEY_JSON_ARRAY,
    VOLLEY_JSON_OBJECT,
} volley_json_type;

/**
 * Parses `len` bytes of `text` (len 0: strlen(text)) as one JSON document.
 * Returns its root, or NULL and sets `*error` (when `error` is not NULL) to a
 * message such as "expected `,` or `}` at line 1 column 12".
 */
const volley_json *volley_json_parse(const char *text, size_t len, const char **error);

/** volley_json_parse of a response's body. NULL when the response has an error. */
const volley_json *volley_response_json(const volley_response *response, const char **error);

/** The type of `value`; VOLLEY_JSON_NULL for a NULL pointer. */
volley_json_type volley_json_typeof(const volley_json *value);

/** "null", "a boolean", "a number", "a string", "an array", "an object". */
const char *volley_json_type_name(const volley_json *value);

/** The member `key` of an object (the first one, if repeated), else NULL. */
const volley_json *volley_json_get(const volley_json *object, const char *key);

/** How many elements an array or members an object has; 0 for anything else. */
size_t volley_json_len(const volley_json *value);

/** Element `index` of an array, or the value of member `index` of an object; NULL past the end. */
const volley_json *volley_json_at(const volley_json *value, size_t index);

/** The key of member `index` of an object, else NULL. */
const char *volley_json_key_at(const volley_json *object, size_t index);

/** The text of a string value (NUL-terminated, decoded), else NULL. */
const char *volley_json_string(const volley_json *value);

/** The byte length of a string value (it may contain \u0000), else 0. */
size_t volley_json_string_len(const volley_json *value);

/** Stores a boolean value in *out and returns true; false for anything else. */
bool volley_json_bool(const volley_json *value, bool *out);

/** Stores a number in *out and returns true; false for anything else. */
bool volley_json_double(const volley_json *value, double *out);

/**
 * Stores an integer number that fits a uint64_t (no fraction, no exponent, not
 * negative) in *out and returns true; false for anything else.
 */
bool volley_json_u64(const volley_json *value, uint64_t *out);

/** Stores an integer number that fits an int64_t in *out; false otherwise. */
bool volley_json_i64(const volley_json *value, int64_t *out);

/** True when `value` is JSON null (false for a NULL pointer: a missing value). */
bool volley_json_is_null(const volley_json *value);

/**
 * Where `value` starts (end false) or ends (end true) in the parsed text, for
 * error messages: `*line` counts from 1, `*column` is the number of bytes
 * before that point on its line (serde_json's "at line L column C"). 0, 0 for
 * a NULL value. Either pointer may be NULL.
 */
void volley_json_position(const volley_json *value, bool end, size_t *line, size_t *column);

#ifdef __cplusplus
}
#endif

#endif /* VOLLEY_H */
