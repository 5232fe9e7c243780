/*
 * Volley's demo scenario in C: a fan books a concert seat. It behaves exactly
 * like the Rust one in ../concert-booking (same requests, names, checks, groups,
 * metrics, options and error messages).
 *
 * Each iteration walks the demo concert API (base URL from the run's TARGET_URL):
 *
 * 1. POST /queue/token: get a queue token (check "token issued"),
 * 2. GET /dates: list the concert dates (check "dates listed"),
 * 3. GET /dates/{id}/seats: list the seats of one date (check "seats listed"),
 * 4. POST /reservations: reserve a free seat, trying another one once if the
 *    first is taken (409) (check "seat reserved"),
 * 5. POST /payments: pay for the reservation (check "payment accepted").
 *
 * Steps 1, 2-3 and 4-5 run in the groups `queue`, `browse` and `book`.
 * Between steps the fan thinks for THINK_TIME_MS milliseconds (default 500).
 * A completed booking adds its whole time, think time included, to the time
 * trend `booking_duration` and 1 to the counter `bookings_completed`. A failed
 * step fails the iteration with a message naming the step.
 *
 *     volley run concert_booking_c.wasm --env TARGET_URL=http://127.0.0.1:8080 --env THINK_TIME_MS=100
 *
 * Memory: everything volley_* returns is released when volley_iteration
 * returns (see volley.h), so no function here frees anything.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "volley.h"

/* Think time between steps when THINK_TIME_MS is not set. */
#define DEFAULT_THINK_TIME_MS 500

/* An entry of GET /dates. */
typedef struct {
    uint64_t id;
    const char *date;
    const char *venue;
} concert_date;

/* A list of free seat ids. */
typedef struct {
    const char **ids;
    size_t len;
} seat_list;

/* The POST /reservations answer. */
typedef struct {
    const char *reservation_id;
    uint64_t expires_in;
} reservation;

/* The demo concert API at one base URL. */
typedef struct {
    /* TARGET_URL without trailing slashes. */
    const char *base;
    /* "Bearer <token>", once step 1 got one. */
    const char *auth;
} api;

const char *volley_options(void) {
    return "{\"vus\": 10, \"duration\": \"30s\", \"thresholds\": "
           "{\"http_req_duration\": [\"p(95)<500\"], \"checks\": [\"rate>0.99\"]}}";
}

/* ---- Small helpers ------------------------------------------------------ */

/* An index below `len` that differs between VUs and between iterations, so
 * that concurrent fans pick different dates and seats. */
static size_t spread(size_t len) {
    uint64_t mixed = (uint64_t)volley_vu_id() * UINT64_C(0x9E3779B97F4A7C15) + volley_vu_iteration();
    return (size_t)(mixed % (uint64_t)len);
}

/* `text` quoted as Rust's `{:?}` shows a string (for error messages). */
static const char *debug_quote(const char *text) {
    size_t n = strlen(text);
    char *out = volley_alloc(n * 8 + 3);
    char *o = out;
    *o++ = '"';
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        switch (*c) {
        case '"': *o++ = '\\', *o++ = '"'; break;
        case '\\': *o++ = '\\', *o++ = '\\'; break;
        case '\n': *o++ = '\\', *o++ = 'n'; break;
        case '\r': *o++ = '\\', *o++ = 'r'; break;
        case '\t': *o++ = '\\', *o++ = 't'; break;
        default:
            if (*c < 0x20 || *c == 0x7f) {
                static const char hex[] = "0123456789abcdef";
                memcpy(o, "\\u{", 3), o += 3;
                if (*c >= 0x10) *o++ = hex[*c >> 4];
                *o++ = hex[*c & 0xf];
                *o++ = '}';
            } else {
                *o++ = (char)*c;
            }
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* At most the first 200 characters of a body, for error messages; invalid
 * UTF-8 shows as U+FFFD, as Rust's from_utf8_lossy does. */
static const char *excerpt(const volley_response *r) {
    enum { MAX = 200 };
    if (r->body_len == 0) return "(empty)";
    const unsigned char *p = (const unsigned char *)r->body, *end = p + r->body_len;
    char *out = volley_alloc(MAX * 4 + 4);
    char *o = out;
    size_t chars = 0;
    while (p < end) {
        if (chars == MAX) {
            memcpy(o, "\xE2\x80\xA6", 3), o += 3; /* "…" */
            break;
        }
        size_t n = 0;
        unsigned char c = *p;
        if (c < 0x80) n = 1;
        else if (c >= 0xC2 && c <= 0xDF) n = 2;
        else if (c >= 0xE0 && c <= 0xEF) n = 3;
        else if (c >= 0xF0 && c <= 0xF4) n = 4;
        for (size_t i = 1; i < n; i++) {
            if (p + i >= end || (p[i] & 0xC0) != 0x80) n = 0;
        }
        if (n == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))) n = 0;
        if (n == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))) n = 0;
        if (n == 0) {
            memcpy(o, "\xEF\xBF\xBD", 3), o += 3;
            p++;
        } else {
            memcpy(o, p, n), o += n;
            p += n;
        }
        chars++;
    }
    *o = '\0';
    return out;
}

/* The "unexpected" part of serde's "invalid type: ..., expected ..." message. */
static const char *unexpected(const volley_json *v) {
    bool b;
    switch (volley_json_typeof(v)) {
    case VOLLEY_JSON_BOOL:
        volley_json_bool(v, &b);
        return b ? "boolean `true`" : "boolean `false`";
    case VOLLEY_JSON_NUMBER: {
        uint64_t u;
        int64_t i;
        double d;
        if (volley_json_u64(v, &u)) return volley_fmt("integer `%llu`", (unsigned long long)u);
        if (volley_json_i64(v, &i)) return volley_fmt("integer `%lld`", (long long)i);
        volley_json_double(v, &d);
        return volley_fmt("floating point `%g`", d);
    }
    case VOLLEY_JSON_STRING: return volley_fmt("string %s", debug_quote(volley_json_string(v)));
    case VOLLEY_JSON_ARRAY: return "sequence";
    case VOLLEY_JSON_OBJECT: return "map";
    case VOLLEY_JSON_NULL: break;
    }
    return "null";
}

/* JSON decoding with serde_json's wording, position included: each returns
 * false and sets *error. */

/* " at line L column C" for `v`: serde_json reports where it stopped reading,
 * the end of a scalar it read but the start of an object or array it peeked. */
static const char *position(const volley_json *v, bool end) {
    size_t line, column;
    volley_json_position(v, end, &line, &column);
    return volley_fmt(" at line %zu column %zu", line, column);
}

static bool invalid_type(const volley_json *v, const char *expected, const char **error) {
    volley_json_type type = volley_json_typeof(v);
    bool peeked = type == VOLLEY_JSON_ARRAY || type == VOLLEY_JSON_OBJECT;
    *error = volley_fmt("invalid type: %s, expected %s%s", unexpected(v), expected, position(v, !peeked));
    return false;
}

static bool want_array(const volley_json *v, const char **error) {
    return volley_json_typeof(v) == VOLLEY_JSON_ARRAY || invalid_type(v, "a sequence", error);
}

/* One field of a struct to decode, and where its value goes. */
typedef enum { FIELD_STRING, FIELD_U64, FIELD_BOOL } field_kind;
typedef struct {
    const char *key;
    field_kind kind;
    void *out; /* const char **, uint64_t * or bool * */
} field_spec;

static bool decode_field(const volley_json *v, const field_spec *f, const char **error) {
    switch (f->kind) {
    case FIELD_STRING:
        *(const char **)f->out = volley_json_string(v);
        return *(const char **)f->out || invalid_type(v, "a string", error);
    case FIELD_BOOL:
        return volley_json_bool(v, f->out) || invalid_type(v, "a boolean", error);
    case FIELD_U64: {
        if (volley_json_u64(v, f->out)) return true;
        int64_t negative;
        if (!volley_json_i64(v, &negative)) return invalid_type(v, "u64", error);
        *error = volley_fmt("invalid value: integer `%lld`, expected u64%s", (long long)negative, position(v, true));
        return false;
    }
    }
    return false;
}

/* Decodes the object `v` as serde's derived Deserialize does: members in the
 * text's order, unknown ones ignored, then the first missing field. (A repeated
 * key: the first is used.) */
static bool decode_struct(const volley_json *v, const char *type_name, const field_spec *fields, size_t count,
                          const char **error) {
    if (volley_json_typeof(v) != VOLLEY_JSON_OBJECT) {
        return invalid_type(v, volley_fmt("struct %s", type_name), error);
    }
    bool seen[8] = {false};
    for (size_t m = 0; m < volley_json_len(v); m++) {
        const char *key = volley_json_key_at(v, m);
        for (size_t i = 0; i < count; i++) {
            if (!seen[i] && strcmp(key, fields[i].key) == 0) {
                seen[i] = true;
                if (!decode_field(volley_json_at(v, m), &fields[i], error)) return false;
                break;
            }
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (!seen[i]) {
            *error = volley_fmt("missing field `%s`%s", fields[i].key, position(v, true));
            return false;
        }
    }
    return true;
}

#define DECODE_STRUCT(v, type_name, error, ...)                                                              \
    decode_struct((v), (type_name), (const field_spec[]){__VA_ARGS__},                                     \
                  sizeof((const field_spec[]){__VA_ARGS__}) / sizeof(field_spec), (error))

/*
 * The JSON body of `r` if its status is `expected`, else NULL with *error naming
 * `step`, the status and the start of the body. Also NULL with *error set for a
 * request error. Decoding errors of the caller go through json_error().
 */
static const volley_json *parse(const char *step, const volley_response *r, uint16_t expected,
                                const char **error) {
    if (r->error) {
        *error = volley_fmt("%s: %s", step, r->error);
        return NULL;
    }
    if (r->status != expected) {
        const char *hint = r->status == 401 ? " (the queue token was missing or rejected)" : "";
        *error = volley_fmt("%s: expected status %u, got %u%s; body: %s", step, (unsigned)expected,
                            (unsigned)r->status, hint, excerpt(r));
        return NULL;
    }
    const char *json_error;
    const volley_json *doc = volley_response_json(r, &json_error);
    if (!doc) *error = volley_fmt("%s: unexpected JSON body: %s", step, json_error);
    return doc;
}

static const char *json_error(const char *step, const char *error) {
    return volley_fmt("%s: unexpected JSON body: %s", step, error);
}

/* Sleeps for `think_ms`, unless it is zero. */
static void think(uint64_t think_ms) {
    if (think_ms) volley_sleep_ms(think_ms);
}

/* The think time from THINK_TIME_MS, parsed as Rust's u64::from_str does
 * after trimming whitespace. */
static const char *think_time(uint64_t *out) {
    const char *value = volley_env("THINK_TIME_MS");
    if (!value) {
        *out = DEFAULT_THINK_TIME_MS;
        return NULL;
    }
    const char *s = value, *e = value + strlen(value);
    while (s < e && strchr(" \t\n\r\f\v", *s)) s++;
    while (e > s && strchr(" \t\n\r\f\v", e[-1])) e--;
    if (s < e && *s == '+') s++;
    uint64_t v = 0;
    bool ok = s < e;
    for (const char *c = s; ok && c < e; c++) {
        uint64_t d = (uint64_t)(*c - '0');
        if (*c < '0' || *c > '9' || v > (UINT64_MAX - d) / 10) ok = false;
        else v = v * 10 + d;
    }
    if (!ok) {
        return volley_fmt("THINK_TIME_MS must be a whole number of milliseconds, got %s",
                          debug_quote(value));
    }
    *out = v;
    return NULL;
}

/* ---- The steps ---------------------------------------------------------- */

/* Step 1: a queue token. */
static const char *queue_token(api *a) {
    static const char STEP[] = "POST /queue/token";
    const char *error = NULL;
    volley_response *r = volley_post(volley_fmt("%s/queue/token", a->base), NULL,
                                     &(volley_request_opts){.name = STEP});
    const volley_json *doc = parse(STEP, r, 200, &error);
    const char *token = NULL;
    if (doc) {
        const char *e = NULL;
        if (!DECODE_STRUCT(doc, "QueueToken", &e, {"token", FIELD_STRING, &token})) {
            error = json_error(STEP, e);
        } else if (token[0] == '\0') {
            error = volley_fmt("%s: the token is empty", STEP);
        }
    }
    volley_check("token issued", error == NULL);
    if (!error) a->auth = volley_fmt("Bearer %s", token);
    return error;
}

/* Step 2: the concert dates, and the one this iteration books. */
static const char *pick_date(const api *a, concert_date *date) {
    static const char STEP[] = "GET /dates";
    const char *error = NULL;
    volley_response *r = volley_get(volley_fmt("%s/dates", a->base),
                                    &(volley_request_opts){
                                        .name = STEP,
                                        .headers = (const char *[]){"authorization", a->auth, NULL},
                                    });
    const volley_json *doc = parse(STEP, r, 200, &error);
    size_t count = 0;
    if (doc) {
        const char *e = NULL;
        bool ok = want_array(doc, &e);
        count = volley_json_len(doc);
        for (size_t i = 0; ok && i < count; i++) {
            const volley_json *d = volley_json_at(doc, i);
            concert_date c;
            ok = DECODE_STRUCT(d, "ConcertDate", &e, {"id", FIELD_U64, &c.id}, {"date", FIELD_STRING, &c.date},
                               {"venue", FIELD_STRING, &c.venue});
        }
        if (!ok) error = json_error(STEP, e);
    }
    volley_check("dates listed", error == NULL);
    if (error) return error;
    if (count == 0) return volley_fmt("%s: the API lists no concert dates", STEP);
    /* Spread the VUs and their iterations over the dates. */
    const volley_json *d = volley_json_at(doc, spread(count));
    volley_json_u64(volley_json_get(d, "id"), &date->id);
    date->date = volley_json_string(volley_json_get(d, "date"));
    date->venue = volley_json_string(volley_json_get(d, "venue"));
    volley_log_debug("booking %s at %s (date %llu)", date->date, date->venue, (unsigned long long)date->id);
    return NULL;
}

/* Step 3: the free seats of `date`. */
static const char *free_seats(const api *a, const concert_date *date, seat_list *free) {
    static const char STEP[] = "GET /dates/{id}/seats";
    const char *error = NULL;
    volley_response *r = volley_get(volley_fmt("%s/dates/%llu/seats", a->base, (unsigned long long)date->id),
                                    &(volley_request_opts){
                                        .name = STEP,
                                        .headers = (const char *[]){"authorization", a->auth, NULL},
                                    });
    const volley_json *doc = parse(STEP, r, 200, &error);
    if (doc) {
        const char *e = NULL;
        bool ok = want_array(doc, &e);
        size_t count = volley_json_len(doc);
        free->ids = volley_alloc((count ? count : 1) * sizeof *free->ids);
        free->len = 0;
        for (size_t i = 0; ok && i < count; i++) {
            const volley_json *seat = volley_json_at(doc, i);
            const char *id;
            bool available;
            ok = DECODE_STRUCT(seat, "Seat", &e, {"id", FIELD_STRING, &id}, {"available", FIELD_BOOL, &available});
            if (ok && available) free->ids[free->len++] = id;
        }
        if (!ok) error = json_error(STEP, e);
    }
    volley_check("seats listed", error == NULL);
    if (error) return error;
    if (free->len == 0) {
        return volley_fmt("%s: date %llu (%s) has no free seat", STEP, (unsigned long long)date->id, date->date);
    }
    return NULL;
}

/* What one reservation attempt came to. */
typedef enum { RESERVED, TAKEN } reserve_outcome;

static const char *try_reserve(const api *a, const concert_date *date, const char *seat_id,
                               reserve_outcome *outcome, reservation *res) {
    static const char STEP[] = "POST /reservations";
    const char *body = volley_fmt("{\"date_id\":%llu,\"seat_id\":%s}", (unsigned long long)date->id,
                                  volley_json_quote(seat_id));
    volley_response *r = volley_post_json(volley_fmt("%s/reservations", a->base), body,
                                          &(volley_request_opts){
                                              .name = STEP,
                                              .headers = (const char *[]){"authorization", a->auth, NULL},
                                          });
    if (!r->error && r->status == 409) {
        *outcome = TAKEN;
        return NULL;
    }
    const char *error = NULL;
    const volley_json *doc = parse(STEP, r, 201, &error);
    if (!doc) return error;
    const char *e = NULL;
    if (!DECODE_STRUCT(doc, "Reservation", &e, {"reservation_id", FIELD_STRING, &res->reservation_id},
                       {"expires_in", FIELD_U64, &res->expires_in})) {
        return json_error(STEP, e);
    }
    *outcome = RESERVED;
    return NULL;
}

/* Step 4: a reservation of one of `free`; when the first pick is taken
 * meanwhile (409), one more try with another seat. */
static const char *reserve(const api *a, const concert_date *date, const seat_list *free, reservation *res) {
    static const char STEP[] = "POST /reservations";
    size_t first = spread(free->len);
    reserve_outcome outcome;
    const char *error = try_reserve(a, date, free->ids[first], &outcome, res);
    if (!error && outcome == TAKEN) {
        /* Another seat, as far from the first pick as the list allows. */
        size_t half = first + free->len / 2;
        size_t second = (half > first + 1 ? half : first + 1) % free->len;
        if (second == first) {
            error = volley_fmt("%s: seat %s was taken and date %llu has no other free seat", STEP,
                               free->ids[first], (unsigned long long)date->id);
        } else {
            volley_log_debug("seat %s was taken, trying seat %s", free->ids[first], free->ids[second]);
            error = try_reserve(a, date, free->ids[second], &outcome, res);
        }
    }
    if (!error && outcome == TAKEN) {
        error = volley_fmt("%s: two seats of date %llu were taken before we could reserve them", STEP,
                           (unsigned long long)date->id);
    }
    volley_check("seat reserved", error == NULL);
    if (error) return error;
    volley_log_debug("reservation %s holds for %llu s", res->reservation_id, (unsigned long long)res->expires_in);
    return NULL;
}

/* Step 5: payment of `res`. */
static const char *pay(const api *a, const reservation *res) {
    static const char STEP[] = "POST /payments";
    const char *body = volley_fmt("{\"reservation_id\":%s}", volley_json_quote(res->reservation_id));
    volley_response *r = volley_post_json(volley_fmt("%s/payments", a->base), body,
                                          &(volley_request_opts){
                                              .name = STEP,
                                              .headers = (const char *[]){"authorization", a->auth, NULL},
                                          });
    const char *error = NULL;
    const volley_json *doc = parse(STEP, r, 200, &error);
    if (doc) {
        const char *e = NULL;
        const char *status;
        if (!DECODE_STRUCT(doc, "Payment", &e, {"status", FIELD_STRING, &status})) {
            error = json_error(STEP, e);
        } else if (strcmp(status, "paid") != 0) {
            error = volley_fmt("%s: payment status is %s, not \"paid\"", STEP, debug_quote(status));
        }
    }
    volley_check("payment accepted", error == NULL);
    return error;
}

/* ---- The iteration ------------------------------------------------------ */

const char *volley_iteration(const char *exec) {
    (void)exec;
    api a = {0};
    const char *target = volley_env("TARGET_URL");
    if (!target) return "TARGET_URL is not set: pass --env TARGET_URL=http://host:port of the concert API";
    size_t n = strlen(target);
    while (n > 0 && target[n - 1] == '/') n--;
    a.base = volley_fmt("%.*s", (int)n, target);

    uint64_t think_ms;
    const char *error = think_time(&think_ms);
    if (error) return error;
    double started = volley_now_ms();

    volley_group_enter("queue");
    error = queue_token(&a);
    volley_group_leave();
    if (error) return error;
    think(think_ms);

    concert_date date;
    seat_list free;
    volley_group_enter("browse");
    error = pick_date(&a, &date);
    if (!error) {
        think(think_ms);
        error = free_seats(&a, &date, &free);
    }
    volley_group_leave();
    if (error) return error;
    think(think_ms);

    reservation res;
    volley_group_enter("book");
    error = reserve(&a, &date, &free, &res);
    if (!error) {
        think(think_ms);
        error = pay(&a, &res);
    }
    volley_group_leave();
    if (error) return error;

    volley_trend_add_time("booking_duration", volley_now_ms() - started);
    volley_counter_add("bookings_completed", 1);
    return NULL;
}
