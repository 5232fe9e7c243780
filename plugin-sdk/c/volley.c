/*
 * volley.c: the helper layer of volley.h over the bindings `wit-bindgen c`
 * generates for the WIT world volley:scenario/scenario@0.1.0 (scenario.h).
 *
 * Memory: every object handed to the scenario is a "block" on one per-instance
 * list; the export wrappers release the whole list when the scenario's entry
 * point returns (see THE MEMORY RULE in volley.h). Strings passed to the host
 * are borrowed, never copied; what the host returns is copied or adopted into
 * blocks and the bindings' own buffers are freed at once.
 */
#define _POSIX_C_SOURCE 200809L

#include "volley.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "scenario.h"

/* ======================================================================== */
/* Blocks: memory released when the entry point returns                     */
/* ======================================================================== */

typedef union block {
    struct {
        union block *prev, *next;
        /* Releases what the payload owns besides itself (or NULL). */
        void (*drop)(void *payload);
    } h;
    max_align_t align;
} block;

/* The newest block; blocks link to older ones through h.prev. */
static block *live;

static _Noreturn void out_of_memory(void) {
    fputs("volley: out of memory (see --vu-memory-mib)\n", stderr);
    abort();
}

static _Noreturn void misuse(const char *message) {
    fprintf(stderr, "volley: %s\n", message);
    abort();
}

static void *volley_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) out_of_memory();
    return p;
}

static void *volley_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) out_of_memory();
    return q;
}

/* A block of `n` bytes (zeroed when `zero`), released with the others. */
static void *block_alloc(size_t n, bool zero, void (*drop)(void *)) {
    if (n > SIZE_MAX - sizeof(block)) out_of_memory();
    block *b = zero ? calloc(1, sizeof(block) + n) : malloc(sizeof(block) + n);
    if (!b) out_of_memory();
    b->h.drop = drop;
    b->h.next = NULL;
    b->h.prev = live;
    if (live) live->h.next = b;
    live = b;
    return b + 1;
}

void *volley_alloc(size_t n) {
    return block_alloc(n, true, NULL);
}

void volley_free(const void *p) {
    if (!p) return;
    block *b = (block *)p - 1;
    if (b->h.next) b->h.next->h.prev = b->h.prev;
    else live = b->h.prev;
    if (b->h.prev) b->h.prev->h.next = b->h.next;
    if (b->h.drop) b->h.drop(b + 1);
    free(b);
}

/* Releases every block: called when an entry point returns. */
static void release_all(void) {
    while (live) volley_free(live + 1);
}

static char *block_strndup(const char *s, size_t n) {
    char *copy = block_alloc(n + 1, false, NULL);
    if (n) memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *volley_strdup(const char *s) {
    return s ? block_strndup(s, strlen(s)) : NULL;
}

static char *vfmt(const char *fmt, va_list args) {
    va_list again;
    va_copy(again, args);
    int n = vsnprintf(NULL, 0, fmt, args);
    if (n < 0) {
        va_end(again);
        misuse("volley_fmt: invalid format");
    }
    char *out = block_alloc((size_t)n + 1, false, NULL);
    vsnprintf(out, (size_t)n + 1, fmt, again);
    va_end(again);
    return out;
}

char *volley_fmt(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *out = vfmt(fmt, args);
    va_end(args);
    return out;
}

char *volley_json_quote(const char *text) {
    static const char hex[] = "0123456789abcdef";
    if (!text) text = "";
    size_t n = 2;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        n += *c == '"' || *c == '\\' ? 2 : *c < 0x20 ? 6 : 1;
    }
    char *out = block_alloc(n + 1, false, NULL), *o = out;
    *o++ = '"';
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        switch (*c) {
        case '"': *o++ = '\\', *o++ = '"'; break;
        case '\\': *o++ = '\\', *o++ = '\\'; break;
        case '\b': *o++ = '\\', *o++ = 'b'; break;
        case '\f': *o++ = '\\', *o++ = 'f'; break;
        case '\n': *o++ = '\\', *o++ = 'n'; break;
        case '\r': *o++ = '\\', *o++ = 'r'; break;
        case '\t': *o++ = '\\', *o++ = 't'; break;
        default:
            if (*c < 0x20) {
                memcpy(o, "\\u00", 4), o += 4;
                *o++ = hex[*c >> 4];
                *o++ = hex[*c & 0xf];
            } else {
                *o++ = (char)*c;
            }
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* ======================================================================== */
/* Talking to the bindings                                                  */
/* ======================================================================== */

/* A borrowed WIT string over a C string. */
static scenario_string_t wit_str(const char *s) {
    scenario_string_t out;
    scenario_string_set(&out, s ? s : "");
    return out;
}

/* The number of name, value pairs in a NULL-terminated list; aborts on an odd
 * count (a NULL value ends the list early: a bug worth stopping for). */
static size_t count_pairs(const char *const *pairs, const char *what) {
    size_t n = 0;
    if (!pairs) return 0;
    while (pairs[n]) n++;
    if (n % 2) {
        fprintf(stderr, "volley: the %s list ends after the name \"%s\": it must hold name, value pairs and end with NULL (is a value NULL?)\n",
                what, pairs[n - 1]);
        abort();
    }
    return n / 2;
}

/* Borrowed WIT pairs over a NULL-terminated list, in a malloc'd array of
 * `extra` more slots; free(out->ptr) when done. */
static void wit_pairs(const char *const *pairs, const char *what, size_t extra, scenario_tuple2_string_string_t **ptr,
                      size_t *len) {
    size_t n = count_pairs(pairs, what);
    *ptr = n + extra ? volley_xmalloc((n + extra) * sizeof **ptr) : NULL;
    for (size_t i = 0; i < n; i++) {
        (*ptr)[i].f0 = wit_str(pairs[2 * i]);
        (*ptr)[i].f1 = wit_str(pairs[2 * i + 1]);
    }
    *len = n;
}

/* Tags for checks and metrics: call with a `scenario_list_tuple2_string_string_t`
 * or the metrics alias (same layout). */
#define WITH_TAGS(list_type, var, tags, body)                                    \
    do {                                                                         \
        list_type var;                                                           \
        wit_pairs((tags), "tags", 0, &var.ptr, &var.len);                        \
        body;                                                                    \
        free(var.ptr);                                                           \
    } while (0)

/* ======================================================================== */
/* Entry points                                                             */
/* ======================================================================== */

/* The defaults of the optional entry points; a scenario's own definitions
 * replace them at link time. */
__attribute__((weak)) const char *volley_options(void) {
    return "{}";
}

__attribute__((weak)) const char *volley_setup(volley_bytes *out) {
    (void)out;
    return NULL;
}

__attribute__((weak)) const char *volley_teardown(void) {
    return NULL;
}

/* A copy for the host of an entry point's error (freed by the bindings'
 * post-return function). */
static void wit_error(scenario_string_t *err, const char *message) {
    scenario_string_dup(err, message);
}

void exports_scenario_options(scenario_string_t *ret) {
    const char *options = volley_options();
    scenario_string_dup(ret, options ? options : "{}");
    release_all();
}

bool exports_scenario_setup(scenario_list_u8_t *ret, scenario_string_t *err) {
    volley_bytes out = {0};
    const char *error = volley_setup(&out);
    if (error) {
        wit_error(err, error);
        release_all();
        return false;
    }
    ret->len = out.data ? out.len : 0;
    ret->ptr = NULL;
    if (ret->len) {
        ret->ptr = volley_xmalloc(ret->len);
        memcpy(ret->ptr, out.data, ret->len);
    }
    release_all();
    return true;
}

bool exports_scenario_iteration(scenario_string_t *exec, scenario_string_t *err) {
    /* The argument is ours: copy it as a C string and free it. */
    const char *name = block_strndup((const char *)exec->ptr, exec->len);
    scenario_string_free(exec);
    const char *error = volley_iteration(name);
    if (error) wit_error(err, error);
    release_all();
    return error == NULL;
}

bool exports_scenario_teardown(scenario_string_t *err) {
    const char *error = volley_teardown();
    if (error) wit_error(err, error);
    release_all();
    return error == NULL;
}

/* ======================================================================== */
/* HTTP                                                                     */
/* ======================================================================== */

/* The body of responses without one. */
static const char empty_body[1] = "";

static void drop_response(void *payload) {
    volley_response *r = payload;
    if (r->body != empty_body) free((void *)r->body);
}

/* Copies `n` bytes of `s` at `*cursor` as a C string and advances the cursor. */
static const char *put_string(char **cursor, const uint8_t *s, size_t n) {
    char *out = *cursor;
    if (n) memcpy(out, s, n);
    out[n] = '\0';
    *cursor += n + 1;
    return out;
}

/* A response block from the bindings' response, which is freed (its body
 * buffer is adopted, not copied). One block holds the struct, the headers
 * array and all strings but the body. */
static volley_response *response_from(volley_scenario_http_response_t *raw) {
    size_t count = raw->headers.len;
    size_t size = sizeof(volley_response) + count * sizeof(volley_header) + raw->url.len + 1 + raw->protocol.len + 1;
    for (size_t i = 0; i < count; i++) size += raw->headers.ptr[i].f0.len + raw->headers.ptr[i].f1.len + 2;
    volley_response *r = block_alloc(size, false, drop_response);
    volley_header *headers = (volley_header *)(r + 1);
    char *cursor = (char *)(headers + count);
    for (size_t i = 0; i < count; i++) {
        headers[i].name = put_string(&cursor, raw->headers.ptr[i].f0.ptr, raw->headers.ptr[i].f0.len);
        headers[i].value = put_string(&cursor, raw->headers.ptr[i].f1.ptr, raw->headers.ptr[i].f1.len);
    }
    *r = (volley_response){
        .error_kind = VOLLEY_OK,
        .error = NULL,
        .status = raw->status,
        .body = empty_body,
        .body_len = 0,
        .headers = headers,
        .header_count = count,
        .url = put_string(&cursor, raw->url.ptr, raw->url.len),
        .protocol = put_string(&cursor, raw->protocol.ptr, raw->protocol.len),
        .timings =
            {
                .blocked = raw->timings.blocked,
                .connecting = raw->timings.connecting,
                .tls_handshaking = raw->timings.tls_handshaking,
                .sending = raw->timings.sending,
                .waiting = raw->timings.waiting,
                .receiving = raw->timings.receiving,
                .duration = raw->timings.duration,
            },
    };
    if (raw->body.len) {
        /* Adopt the body (malloc'd by cabi_realloc), growing it by the NUL. */
        char *body = volley_xrealloc(raw->body.ptr, raw->body.len + 1);
        body[raw->body.len] = '\0';
        r->body = body;
        r->body_len = raw->body.len;
        raw->body.ptr = NULL;
        raw->body.len = 0;
    }
    volley_scenario_http_response_free(raw);
    return r;
}

/* A response block for a request error, which is freed. The messages are the
 * Rust SDK's (http::Error's Display). */
static volley_response *response_from_error(volley_scenario_http_error_t *raw) {
    static const char *const prefixes[] = {
        [VOLLEY_SCENARIO_HTTP_ERROR_INVALID_REQUEST] = "invalid request: ",
        [VOLLEY_SCENARIO_HTTP_ERROR_DENIED] = "request denied by the runner: ",
        [VOLLEY_SCENARIO_HTTP_ERROR_DNS] = "DNS lookup failed: ",
        [VOLLEY_SCENARIO_HTTP_ERROR_CONNECT] = "connection failed: ",
        [VOLLEY_SCENARIO_HTTP_ERROR_TLS] = "TLS handshake failed: ",
        [VOLLEY_SCENARIO_HTTP_ERROR_TIMEOUT] = "request timed out",
        [VOLLEY_SCENARIO_HTTP_ERROR_PROTOCOL] = "protocol error: ",
        [VOLLEY_SCENARIO_HTTP_ERROR_TOO_MANY_REDIRECTS] = "too many redirects",
    };
    const scenario_string_t *detail = NULL;
    switch (raw->tag) {
    case VOLLEY_SCENARIO_HTTP_ERROR_INVALID_REQUEST: detail = &raw->val.invalid_request; break;
    case VOLLEY_SCENARIO_HTTP_ERROR_DENIED: detail = &raw->val.denied; break;
    case VOLLEY_SCENARIO_HTTP_ERROR_DNS: detail = &raw->val.dns; break;
    case VOLLEY_SCENARIO_HTTP_ERROR_CONNECT: detail = &raw->val.connect; break;
    case VOLLEY_SCENARIO_HTTP_ERROR_TLS: detail = &raw->val.tls; break;
    case VOLLEY_SCENARIO_HTTP_ERROR_PROTOCOL: detail = &raw->val.protocol; break;
    case VOLLEY_SCENARIO_HTTP_ERROR_TIMEOUT:
    case VOLLEY_SCENARIO_HTTP_ERROR_TOO_MANY_REDIRECTS: break;
    default: misuse("unknown HTTP error variant from the runner");
    }
    const char *prefix = prefixes[raw->tag];
    size_t prefix_len = strlen(prefix), detail_len = detail ? detail->len : 0;
    volley_response *r = block_alloc(sizeof(volley_response) + prefix_len + detail_len + 1, false, NULL);
    char *message = (char *)(r + 1);
    memcpy(message, prefix, prefix_len);
    if (detail_len) memcpy(message + prefix_len, detail->ptr, detail_len);
    message[prefix_len + detail_len] = '\0';
    *r = (volley_response){
        .error_kind = (volley_error_kind)(raw->tag + 1),
        .error = message,
        .body = empty_body,
    };
    volley_scenario_http_error_free(raw);
    return r;
}

const char *volley_error_code(volley_error_kind kind) {
    switch (kind) {
    case VOLLEY_OK: return "";
    case VOLLEY_ERROR_INVALID_REQUEST: return "invalid-request";
    case VOLLEY_ERROR_DENIED: return "denied";
    case VOLLEY_ERROR_DNS: return "dns";
    case VOLLEY_ERROR_CONNECT: return "connect";
    case VOLLEY_ERROR_TLS: return "tls";
    case VOLLEY_ERROR_TIMEOUT: return "timeout";
    case VOLLEY_ERROR_PROTOCOL: return "protocol";
    case VOLLEY_ERROR_TOO_MANY_REDIRECTS: return "too-many-redirects";
    }
    return "unknown";
}

static bool ascii_equal_nocase(const char *a, const char *b) {
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y - 'A' + 'a');
        if (x != y) return false;
        if (!x) return true;
    }
}

/* A request in the bindings' form, borrowing every string; its header and tag
 * arrays are malloc'd: release with raw_request_free. */
static void raw_request(volley_scenario_http_request_t *raw, const char *method, const char *url,
                        const volley_request_opts *opts, bool json) {
    static const volley_request_opts none = {0};
    if (!opts) opts = &none;
    if (!method || !url) misuse("a request needs a method and a URL (got NULL)");
    *raw = (volley_scenario_http_request_t){0};
    raw->method = wit_str(method);
    raw->url = wit_str(url);
    wit_pairs(opts->headers, "headers", json ? 1 : 0, &raw->headers.ptr, &raw->headers.len);
    if (json) {
        bool has_content_type = false;
        for (size_t i = 0; opts->headers && opts->headers[2 * i]; i++) {
            if (ascii_equal_nocase(opts->headers[2 * i], "content-type")) has_content_type = true;
        }
        if (!has_content_type) {
            raw->headers.ptr[raw->headers.len].f0 = wit_str("content-type");
            raw->headers.ptr[raw->headers.len].f1 = wit_str("application/json");
            raw->headers.len++;
        }
    }
    wit_pairs(opts->tags, "tags", 0, &raw->tags.ptr, &raw->tags.len);
    if (opts->body) {
        raw->body.is_some = true;
        raw->body.val.ptr = (uint8_t *)opts->body;
        raw->body.val.len = opts->body_len ? opts->body_len : strlen(opts->body);
    }
    if (opts->name) {
        raw->name.is_some = true;
        raw->name.val = wit_str(opts->name);
    }
    if (opts->timeout_ms) {
        raw->timeout_ms.is_some = true;
        raw->timeout_ms.val = opts->timeout_ms;
    }
    if (opts->max_redirects) {
        raw->max_redirects.is_some = true;
        raw->max_redirects.val = opts->max_redirects < 0 ? 0 : (uint32_t)opts->max_redirects;
    }
    raw->discard_body = opts->discard_body;
}

static void raw_request_free(volley_scenario_http_request_t *raw) {
    free(raw->headers.ptr);
    free(raw->tags.ptr);
}

static volley_response *send_one(const char *method, const char *url, const volley_request_opts *opts, bool json) {
    volley_scenario_http_request_t raw;
    raw_request(&raw, method, url, opts, json);
    volley_scenario_http_response_t response;
    volley_scenario_http_error_t error;
    bool ok = volley_scenario_http_send(&raw, &response, &error);
    raw_request_free(&raw);
    return ok ? response_from(&response) : response_from_error(&error);
}

/* `opts` (or defaults) with `body` as the body. */
static volley_request_opts with_body(const volley_request_opts *opts, const char *body) {
    volley_request_opts out = opts ? *opts : (volley_request_opts){0};
    out.body = body;
    out.body_len = 0;
    return out;
}

volley_response *volley_request(const char *method, const char *url, const volley_request_opts *opts) {
    return send_one(method, url, opts, false);
}

volley_response *volley_get(const char *url, const volley_request_opts *opts) {
    return send_one("GET", url, opts, false);
}

volley_response *volley_post(const char *url, const char *body, const volley_request_opts *opts) {
    volley_request_opts o = with_body(opts, body);
    return send_one("POST", url, &o, false);
}

volley_response *volley_post_json(const char *url, const char *json, const volley_request_opts *opts) {
    volley_request_opts o = with_body(opts, json);
    return send_one("POST", url, &o, true);
}

volley_response *volley_put_json(const char *url, const char *json, const volley_request_opts *opts) {
    volley_request_opts o = with_body(opts, json);
    return send_one("PUT", url, &o, true);
}

volley_response *volley_delete(const char *url, const volley_request_opts *opts) {
    return send_one("DELETE", url, opts, false);
}

volley_response **volley_batch(const volley_batch_request *requests, size_t count) {
    volley_response **out = volley_alloc((count ? count : 1) * sizeof *out);
    if (count == 0) return out;
    volley_scenario_http_list_request_t raw = {volley_xmalloc(count * sizeof *raw.ptr), count};
    for (size_t i = 0; i < count; i++) {
        raw_request(&raw.ptr[i], requests[i].method, requests[i].url, &requests[i].opts, false);
    }
    volley_scenario_http_list_result_response_error_t results;
    volley_scenario_http_send_batch(&raw, &results);
    for (size_t i = 0; i < count; i++) raw_request_free(&raw.ptr[i]);
    free(raw.ptr);
    if (results.len != count) misuse("the runner answered a batch with the wrong number of results");
    for (size_t i = 0; i < count; i++) {
        volley_scenario_http_result_response_error_t *result = &results.ptr[i];
        out[i] = result->is_err ? response_from_error(&result->val.err) : response_from(&result->val.ok);
    }
    free(results.ptr);
    return out;
}

bool volley_response_is_success(const volley_response *response) {
    return response && !response->error && response->status >= 200 && response->status < 300;
}

const char *volley_response_header(const volley_response *response, const char *name) {
    if (!response || !name) return NULL;
    for (size_t i = 0; i < response->header_count; i++) {
        if (ascii_equal_nocase(response->headers[i].name, name)) return response->headers[i].value;
    }
    return NULL;
}

void volley_response_free(volley_response *response) {
    volley_free(response);
}

/* ======================================================================== */
/* Checks, groups, custom metrics                                           */
/* ======================================================================== */

bool volley_check_tags(const char *name, bool ok, const char *const *tags) {
    scenario_string_t n = wit_str(name);
    bool result = ok;
    WITH_TAGS(scenario_list_tuple2_string_string_t, list, tags, result = volley_scenario_checks_check(&n, ok, &list));
    return result;
}

bool volley_check(const char *name, bool ok) {
    return volley_check_tags(name, ok, NULL);
}

void volley_group_enter(const char *name) {
    scenario_string_t n = wit_str(name);
    volley_scenario_group_enter(&n);
}

void volley_group_leave(void) {
    volley_scenario_group_leave();
}

void volley_counter_add_tags(const char *name, double value, const char *const *tags) {
    scenario_string_t n = wit_str(name);
    WITH_TAGS(volley_scenario_metrics_tags_t, list, tags, volley_scenario_metrics_counter_add(&n, value, &list));
}

void volley_counter_add(const char *name, double value) {
    volley_counter_add_tags(name, value, NULL);
}

void volley_gauge_set_tags(const char *name, double value, const char *const *tags) {
    scenario_string_t n = wit_str(name);
    WITH_TAGS(volley_scenario_metrics_tags_t, list, tags, volley_scenario_metrics_gauge_set(&n, value, &list));
}

void volley_gauge_set(const char *name, double value) {
    volley_gauge_set_tags(name, value, NULL);
}

void volley_rate_add_tags(const char *name, bool ok, const char *const *tags) {
    scenario_string_t n = wit_str(name);
    WITH_TAGS(volley_scenario_metrics_tags_t, list, tags, volley_scenario_metrics_rate_add(&n, ok, &list));
}

void volley_rate_add(const char *name, bool ok) {
    volley_rate_add_tags(name, ok, NULL);
}

void volley_trend_add_tags(const char *name, double value, const char *const *tags) {
    scenario_string_t n = wit_str(name);
    WITH_TAGS(volley_scenario_metrics_tags_t, list, tags, volley_scenario_metrics_trend_add(&n, value, false, &list));
}

void volley_trend_add(const char *name, double value) {
    volley_trend_add_tags(name, value, NULL);
}

void volley_trend_add_time_tags(const char *name, double millis, const char *const *tags) {
    scenario_string_t n = wit_str(name);
    WITH_TAGS(volley_scenario_metrics_tags_t, list, tags, volley_scenario_metrics_trend_add(&n, millis, true, &list));
}

void volley_trend_add_time(const char *name, double millis) {
    volley_trend_add_time_tags(name, millis, NULL);
}

/* ======================================================================== */
/* The VU, its environment, time                                            */
/* ======================================================================== */

uint32_t volley_vu_id(void) {
    return volley_scenario_vu_id();
}

uint64_t volley_vu_iteration(void) {
    return volley_scenario_vu_iteration();
}

/* A block copy of a WIT string, which is freed. */
static char *adopt_string(scenario_string_t *s) {
    char *out = block_strndup((const char *)s->ptr, s->len);
    scenario_string_free(s);
    return out;
}

const char *volley_vu_scenario(void) {
    scenario_string_t s;
    volley_scenario_vu_scenario(&s);
    return adopt_string(&s);
}

const char *volley_env(const char *name) {
    scenario_string_t n = wit_str(name), value;
    if (!volley_scenario_vu_env(&n, &value)) return NULL;
    return adopt_string(&value);
}

const char *const *volley_env_vars(void) {
    scenario_list_tuple2_string_string_t vars;
    volley_scenario_vu_env_vars(&vars);
    size_t size = (2 * vars.len + 1) * sizeof(char *);
    for (size_t i = 0; i < vars.len; i++) size += vars.ptr[i].f0.len + vars.ptr[i].f1.len + 2;
    const char **out = block_alloc(size, false, NULL);
    char *cursor = (char *)(out + 2 * vars.len + 1);
    for (size_t i = 0; i < vars.len; i++) {
        out[2 * i] = put_string(&cursor, vars.ptr[i].f0.ptr, vars.ptr[i].f0.len);
        out[2 * i + 1] = put_string(&cursor, vars.ptr[i].f1.ptr, vars.ptr[i].f1.len);
    }
    out[2 * vars.len] = NULL;
    scenario_list_tuple2_string_string_free(&vars);
    return out;
}

const void *volley_setup_data(size_t *len) {
    /* Kept for the VU's life once fetched. Not cached while empty: on VU 0 it
     * is empty until setup has returned. */
    static char *data;
    static size_t data_len;
    if (!data) {
        scenario_list_u8_t raw;
        volley_scenario_vu_setup_data(&raw);
        if (raw.len) {
            data = volley_xrealloc(raw.ptr, raw.len + 1);
            data[raw.len] = '\0';
            data_len = raw.len;
        }
    }
    if (len) *len = data_len;
    return data;
}

void volley_sleep_ms(uint64_t millis) {
    volley_scenario_vu_sleep(millis);
}

double volley_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ======================================================================== */
/* Logs                                                                     */
/* ======================================================================== */

static void vlog(volley_log_level level, const char *fmt, va_list args) {
    static const volley_scenario_log_level_t levels[] = {
        [VOLLEY_LOG_DEBUG] = VOLLEY_SCENARIO_LOG_LEVEL_DEBUG,
        [VOLLEY_LOG_INFO] = VOLLEY_SCENARIO_LOG_LEVEL_INFO,
        [VOLLEY_LOG_WARN] = VOLLEY_SCENARIO_LOG_LEVEL_WARN,
        [VOLLEY_LOG_ERROR] = VOLLEY_SCENARIO_LOG_LEVEL_ERROR,
    };
    char *message = vfmt(fmt, args);
    scenario_string_t m = wit_str(message);
    volley_scenario_log_log(levels[level <= VOLLEY_LOG_ERROR ? level : VOLLEY_LOG_ERROR], &m);
    volley_free(message);
}

void volley_log(volley_log_level level, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vlog(level, fmt, args);
    va_end(args);
}

#define LOG_AT(fn, level)                                                                                             \
    void fn(const char *fmt, ...) {                                                                                  \
        va_list args;                                                                                                \
        va_start(args, fmt);                                                                                         \
        vlog(level, fmt, args);                                                                                      \
        va_end(args);                                                                                                \
    }
LOG_AT(volley_log_debug, VOLLEY_LOG_DEBUG)
LOG_AT(volley_log_info, VOLLEY_LOG_INFO)
LOG_AT(volley_log_warn, VOLLEY_LOG_WARN)
LOG_AT(volley_log_error, VOLLEY_LOG_ERROR)

/* ======================================================================== */
/* JSON reader                                                              */
/* ======================================================================== */

/* A parsed document is one block holding the nodes (root first, so the root
 * is the block's address and volley_free(root) releases the document), the
 * children pointers (each container's contiguous) and the decoded strings.
 * The text is read twice: a first pass checks it and counts what the block
 * needs, a second fills the block, so nothing is allocated twice. */
struct volley_json {
    uint8_t type;
    bool boolean;
    /* The key, for an object's member. */
    const char *key;
    union {
        /* A string's text, a number's source text (NUL-terminated). */
        const char *str;
        /* An array's or object's children. */
        const volley_json *const *kids;
    } u;
    /* The text's length in bytes, or the number of children. */
    size_t len;
    /* Where the value starts and ends in the text (see volley_json_position). */
    size_t start_line, start_column, end_line, end_column;
};

#define JSON_MAX_DEPTH 128

typedef struct {
    const unsigned char *p, *start, *end;
    /* The current line (from 1) and where it starts. */
    size_t line;
    const unsigned char *line_start;
    const char *error;
    const unsigned char *error_at;
    /* Second pass: filling the block. */
    bool fill;
    /* Nodes, children slots and string bytes counted (first pass) or used (second). */
    size_t nodes, kids, bytes;
    volley_json *node_buf;
    const volley_json **kid_buf;
    char *str_buf;
    /* Each container's number of children, in document order: recorded by the
     * first pass, read by the second. */
    size_t *counts;
    size_t containers, counts_cap;
} json_parser;

static bool json_fail(json_parser *j, const char *message, const unsigned char *at) {
    if (!j->error) {
        j->error = message;
        j->error_at = at;
    }
    return false;
}

static void json_skip_ws(json_parser *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) {
        /* Only whitespace holds line breaks: strings may not. */
        if (*j->p == '\n') {
            j->line++;
            j->line_start = j->p + 1;
        }
        j->p++;
    }
}

/* Appends string bytes (or counts them in the first pass). */
static void json_put(json_parser *j, const void *bytes, size_t n) {
    if (j->fill) memcpy(j->str_buf + j->bytes, bytes, n);
    j->bytes += n;
}

/* A new node (NULL in the first pass, which only counts). */
static volley_json *json_new_node(json_parser *j, volley_json_type type) {
    size_t index = j->nodes++;
    if (!j->fill) return NULL;
    volley_json *n = &j->node_buf[index];
    *n = (volley_json){
        .type = (uint8_t)type,
        .start_line = j->line,
        .start_column = (size_t)(j->p - j->line_start),
    };
    return n;
}

/* Records that the value `n` ends at the current position. */
static bool json_end_node(json_parser *j, volley_json *n) {
    if (n) {
        n->end_line = j->line;
        n->end_column = (size_t)(j->p - j->line_start);
    }
    return true;
}

static void json_put_utf8(json_parser *j, uint32_t cp) {
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    json_put(j, out, n);
}

/* The four hex digits of a \u escape. Like serde_json, reads all four before
 * complaining. */
static bool json_hex4(json_parser *j, uint32_t *out) {
    if (j->end - j->p < 4) {
        j->p = j->end;
        return json_fail(j, "EOF while parsing a string", j->end);
    }
    uint32_t v = 0;
    bool valid = true;
    for (int i = 0; i < 4; i++) {
        unsigned char c = *j->p++;
        uint32_t d = 0;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else valid = false;
        v = v * 16 + d;
    }
    if (!valid) return json_fail(j, "invalid escape", j->p - 1);
    *out = v;
    return true;
}

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

/* Reads the string at j->p (on its opening quote), decoded and NUL-terminated,
 * into the strings; *text is NULL in the first pass. */
static bool json_string(json_parser *j, const char **text, size_t *len) {
    j->p++; /* the opening quote */
    size_t from = j->bytes;
    /* Like serde_json, report invalid UTF-8 once the string is read, at the
     * closing quote's column minus the decoded bytes from the first invalid
     * one (exact without escapes, approximate with them, as serde_json's). */
    size_t first_invalid = SIZE_MAX;
    for (;;) {
        if (j->p >= j->end) return json_fail(j, "EOF while parsing a string", j->p);
        unsigned char c = *j->p;
        if (c == '"') {
            if (first_invalid != SIZE_MAX) {
                return json_fail(j, "invalid unicode code point", j->p - (j->bytes - from - first_invalid));
            }
            j->p++;
            break;
        }
        if (c < 0x20) return json_fail(j, "control character (\\u0000-\\u001F) found while parsing a string", j->p);
        if (c != '\\') {
            size_t n = utf8_sequence(j->p, j->end);
            if (n == 0) {
                if (first_invalid == SIZE_MAX) first_invalid = j->bytes - from;
                json_put(j, j->p, 1);
                j->p++;
                continue;
            }
            json_put(j, j->p, n);
            j->p += n;
            continue;
        }
        j->p++;
        if (j->p >= j->end) return json_fail(j, "EOF while parsing a string", j->p);
        char e = (char)*j->p++;
        switch (e) {
        case '"': json_put(j, "\"", 1); break;
        case '\\': json_put(j, "\\", 1); break;
        case '/': json_put(j, "/", 1); break;
        case 'b': json_put(j, "\b", 1); break;
        case 'f': json_put(j, "\f", 1); break;
        case 'n': json_put(j, "\n", 1); break;
        case 'r': json_put(j, "\r", 1); break;
        case 't': json_put(j, "\t", 1); break;
        case 'u': {
            uint32_t cp;
            if (!json_hex4(j, &cp)) return false;
            /* serde_json's words, also for a lone trailing surrogate. */
            if (cp >= 0xDC00 && cp <= 0xDFFF) return json_fail(j, "lone leading surrogate in hex escape", j->p - 1);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t low;
                /* serde_json reads the next two characters one by one. */
                for (const char *want = "\\u"; *want; want++, j->p++) {
                    if (j->p >= j->end) return json_fail(j, "EOF while parsing a string", j->p);
                    if (*j->p != (unsigned char)*want) return json_fail(j, "unexpected end of hex escape", j->p);
                }
                if (!json_hex4(j, &low)) return false;
                if (low < 0xDC00 || low > 0xDFFF) return json_fail(j, "lone leading surrogate in hex escape", j->p - 1);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            json_put_utf8(j, cp);
            break;
        }
        default: return json_fail(j, "invalid escape", j->p - 1);
        }
    }
    *len = j->bytes - from;
    *text = j->fill ? j->str_buf + from : NULL;
    json_put(j, "", 1); /* the NUL */
    return true;
}

static bool json_digits(json_parser *j) {
    const unsigned char *start = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    return j->p > start;
}

/* A number: its source text is kept as its string. */
static bool json_number(json_parser *j, volley_json *n) {
    const unsigned char *start = j->p;
    if (*j->p == '-') j->p++;
    if (j->p >= j->end) return json_fail(j, "EOF while parsing a value", j->p);
    if (*j->p == '0') {
        j->p++;
        /* One leading zero at most. */
        if (j->p < j->end && *j->p >= '0' && *j->p <= '9') return json_fail(j, "invalid number", j->p);
    } else if (!json_digits(j)) {
        return json_fail(j, "invalid number", j->p);
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end) return json_fail(j, "EOF while parsing a value", j->p);
        if (!json_digits(j)) return json_fail(j, "invalid number", j->p);
    }
    bool zero_significand = true;
    for (const unsigned char *c = start; c < j->p; c++) {
        if (*c >= '1' && *c <= '9') zero_significand = false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        bool positive_exponent = true;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) positive_exponent = *j->p++ == '+';
        if (j->p >= j->end) return json_fail(j, "EOF while parsing a value", j->p);
        if (*j->p < '0' || *j->p > '9') return json_fail(j, "invalid number", j->p);
        /* serde_json stops at the digit that takes the exponent past
         * i32::MAX, when the result would be infinite. */
        uint64_t exponent = 0;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
            exponent = exponent * 10 + (uint64_t)(*j->p - '0');
            if (exponent > INT32_MAX) {
                if (!zero_significand && positive_exponent) return json_fail(j, "number out of range", j->p);
                exponent = INT32_MAX;
            }
            j->p++;
        }
    }
    size_t len = (size_t)(j->p - start);
    if (!j->fill) {
        /* Like serde_json, refuse what a double cannot hold (1e400). */
        char small[64], *text = len < sizeof small ? small : volley_xmalloc(len + 1);
        memcpy(text, start, len);
        text[len] = '\0';
        double value = strtod(text, NULL);
        if (text != small) free(text);
        if (value == HUGE_VAL || value == -HUGE_VAL) return json_fail(j, "number out of range", j->p - 1);
    }
    if (n) {
        n->u.str = j->str_buf + j->bytes;
        n->len = len;
    }
    json_put(j, start, len);
    json_put(j, "", 1);
    return true;
}

static bool json_literal(json_parser *j, const char *word) {
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++) {
        if (j->p >= j->end) return json_fail(j, "EOF while parsing a value", j->p);
        if (*j->p != (unsigned char)word[i]) return json_fail(j, "expected ident", j->p);
        j->p++;
    }
    return true;
}

/* Opens a container: the second pass reserves its children's slots. */
static void json_open(json_parser *j, volley_json *n) {
    if (!n) return;
    n->len = j->counts[j->containers++];
    n->u.kids = j->kid_buf + j->kids;
    j->kids += n->len;
}

/* Closes a container that had `count` children: the first pass records it. */
static void json_close(json_parser *j, size_t slot, size_t count) {
    if (j->fill) return;
    j->counts[slot] = count;
    j->kids += count;
}

/* Reserves the first pass's record of a container's children count. */
static size_t json_count_slot(json_parser *j) {
    if (j->fill) return 0;
    if (j->containers == j->counts_cap) {
        j->counts_cap = j->counts_cap ? j->counts_cap * 2 : 16;
        j->counts = volley_xrealloc(j->counts, j->counts_cap * sizeof *j->counts);
    }
    return j->containers++;
}

static bool json_value(json_parser *j, volley_json **out, unsigned depth);

static bool json_array(json_parser *j, volley_json *n, unsigned depth) {
    size_t slot = json_count_slot(j), count = 0;
    json_open(j, n);
    j->p++;
    json_skip_ws(j);
    if (j->p >= j->end) return json_fail(j, "EOF while parsing a list", j->p);
    if (*j->p == ']') {
        j->p++;
        json_close(j, slot, 0);
        return true;
    }
    for (;;) {
        volley_json *child;
        if (!json_value(j, &child, depth + 1)) return false;
        if (n) ((const volley_json **)n->u.kids)[count] = child;
        count++;
        json_skip_ws(j);
        if (j->p >= j->end) return json_fail(j, "EOF while parsing a list", j->p);
        if (*j->p == ',') {
            j->p++;
            json_skip_ws(j);
            if (j->p < j->end && *j->p == ']') return json_fail(j, "trailing comma", j->p);
            continue;
        }
        if (*j->p == ']') {
            j->p++;
            break;
        }
        return json_fail(j, "expected `,` or `]`", j->p);
    }
    json_close(j, slot, count);
    return true;
}

static bool json_object(json_parser *j, volley_json *n, unsigned depth) {
    size_t slot = json_count_slot(j), count = 0;
    json_open(j, n);
    j->p++;
    json_skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        json_close(j, slot, 0);
        return true;
    }
    for (;;) {
        if (j->p >= j->end) return json_fail(j, "EOF while parsing an object", j->p);
        if (*j->p != '"') return json_fail(j, "key must be a string", j->p);
        const char *key;
        size_t key_len;
        if (!json_string(j, &key, &key_len)) return false;
        json_skip_ws(j);
        if (j->p >= j->end) return json_fail(j, "EOF while parsing an object", j->p);
        if (*j->p != ':') return json_fail(j, "expected `:`", j->p);
        j->p++;
        volley_json *child;
        if (!json_value(j, &child, depth + 1)) return false;
        if (n) {
            child->key = key;
            ((const volley_json **)n->u.kids)[count] = child;
        }
        count++;
        json_skip_ws(j);
        if (j->p >= j->end) return json_fail(j, "EOF while parsing an object", j->p);
        if (*j->p == ',') {
            j->p++;
            json_skip_ws(j);
            if (j->p < j->end && *j->p == '}') return json_fail(j, "trailing comma", j->p);
            continue;
        }
        if (*j->p == '}') {
            j->p++;
            break;
        }
        return json_fail(j, "expected `,` or `}`", j->p);
    }
    json_close(j, slot, count);
    return true;
}

static bool json_value(json_parser *j, volley_json **out, unsigned depth) {
    json_skip_ws(j);
    if (j->p >= j->end) return json_fail(j, "EOF while parsing a value", j->p);
    unsigned char c = *j->p;
    volley_json *n;
    /* serde_json's limit: at most 127 nested arrays and objects. */
    if ((c == '{' || c == '[') && depth >= JSON_MAX_DEPTH - 1) return json_fail(j, "recursion limit exceeded", j->p);
    switch (c) {
    case '{':
        n = *out = json_new_node(j, VOLLEY_JSON_OBJECT);
        return json_object(j, n, depth) && json_end_node(j, n);
    case '[':
        n = *out = json_new_node(j, VOLLEY_JSON_ARRAY);
        return json_array(j, n, depth) && json_end_node(j, n);
    case '"': {
        n = *out = json_new_node(j, VOLLEY_JSON_STRING);
        const char *text;
        size_t len;
        if (!json_string(j, &text, &len)) return false;
        if (n) {
            n->u.str = text;
            n->len = len;
        }
        return json_end_node(j, n);
    }
    case 't':
    case 'f':
        n = *out = json_new_node(j, VOLLEY_JSON_BOOL);
        if (n) n->boolean = c == 't';
        return json_literal(j, c == 't' ? "true" : "false") && json_end_node(j, n);
    case 'n':
        n = *out = json_new_node(j, VOLLEY_JSON_NULL);
        return json_literal(j, "null") && json_end_node(j, n);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            n = *out = json_new_node(j, VOLLEY_JSON_NUMBER);
            return json_number(j, n) && json_end_node(j, n);
        }
        return json_fail(j, "expected value", j->p);
    }
}

/* One pass over the whole text. */
static bool json_pass(json_parser *j) {
    j->p = j->start;
    j->line = 1;
    j->line_start = j->start;
    j->nodes = j->kids = j->bytes = j->containers = 0;
    volley_json *root;
    if (!json_value(j, &root, 0)) return false;
    json_skip_ws(j);
    if (j->p < j->end) return json_fail(j, "trailing characters", j->p);
    return true;
}

static const char *json_error_message(const json_parser *j) {
    size_t line = 1, column = 0;
    for (const unsigned char *q = j->start; q < j->error_at && q < j->end; q++) {
        if (*q == '\n') {
            line++;
            column = 0;
        } else {
            column++;
        }
    }
    /* Like serde_json, count the offending character as read. */
    if (j->error_at < j->end) {
        if (*j->error_at == '\n') {
            line++;
            column = 0;
        } else {
            column++;
        }
    }
    return volley_fmt("%s at line %zu column %zu", j->error, line, column);
}

const volley_json *volley_json_parse(const char *text, size_t len, const char **error) {
    if (error) *error = NULL;
    if (!text) text = "";
    if (len == 0) len = strlen(text);
    json_parser j = {
        .start = (const unsigned char *)text,
        .end = (const unsigned char *)text + len,
    };
    volley_json *doc = NULL;
    if (json_pass(&j)) {
        size_t nodes_size = j.nodes * sizeof(volley_json);
        size_t kids_size = j.kids * sizeof(volley_json *);
        doc = block_alloc(nodes_size + kids_size + j.bytes, false, NULL);
        j.node_buf = doc;
        j.kid_buf = (const volley_json **)((char *)doc + nodes_size);
        j.str_buf = (char *)doc + nodes_size + kids_size;
        j.fill = true;
        if (!json_pass(&j)) misuse("JSON reader: the second pass failed");
    } else if (error) {
        *error = json_error_message(&j);
    }
    free(j.counts);
    return doc;
}

const volley_json *volley_response_json(const volley_response *response, const char **error) {
    if (!response || response->error) {
        if (error) *error = response ? response->error : "no response";
        return NULL;
    }
    if (response->body_len == 0) {
        /* volley_json_parse would take len 0 as "use strlen". */
        return volley_json_parse("", 0, error);
    }
    return volley_json_parse(response->body, response->body_len, error);
}

volley_json_type volley_json_typeof(const volley_json *value) {
    return value ? value->type : VOLLEY_JSON_NULL;
}

const char *volley_json_type_name(const volley_json *value) {
    switch (volley_json_typeof(value)) {
    case VOLLEY_JSON_BOOL: return "a boolean";
    case VOLLEY_JSON_NUMBER: return "a number";
    case VOLLEY_JSON_STRING: return "a string";
    case VOLLEY_JSON_ARRAY: return "an array";
    case VOLLEY_JSON_OBJECT: return "an object";
    case VOLLEY_JSON_NULL: break;
    }
    return "null";
}

const volley_json *volley_json_get(const volley_json *object, const char *key) {
    if (!object || object->type != VOLLEY_JSON_OBJECT || !key) return NULL;
    for (size_t i = 0; i < object->len; i++) {
        if (strcmp(object->u.kids[i]->key, key) == 0) return object->u.kids[i];
    }
    return NULL;
}

size_t volley_json_len(const volley_json *value) {
    if (!value || (value->type != VOLLEY_JSON_ARRAY && value->type != VOLLEY_JSON_OBJECT)) return 0;
    return value->len;
}

const volley_json *volley_json_at(const volley_json *value, size_t index) {
    return index < volley_json_len(value) ? value->u.kids[index] : NULL;
}

const char *volley_json_key_at(const volley_json *object, size_t index) {
    if (volley_json_typeof(object) != VOLLEY_JSON_OBJECT || index >= object->len) return NULL;
    return object->u.kids[index]->key;
}

const char *volley_json_string(const volley_json *value) {
    return value && value->type == VOLLEY_JSON_STRING ? value->u.str : NULL;
}

size_t volley_json_string_len(const volley_json *value) {
    return value && value->type == VOLLEY_JSON_STRING ? value->len : 0;
}

bool volley_json_bool(const volley_json *value, bool *out) {
    if (!value || value->type != VOLLEY_JSON_BOOL) return false;
    if (out) *out = value->boolean;
    return true;
}

bool volley_json_double(const volley_json *value, double *out) {
    if (!value || value->type != VOLLEY_JSON_NUMBER) return false;
    if (out) *out = strtod(value->u.str, NULL);
    return true;
}

/* The magnitude of an integer number's text (no sign), if it fits in 64 bits. */
static bool json_integer_magnitude(const char *text, uint64_t *out) {
    uint64_t v = 0;
    if (!*text) return false;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9') return false; /* a fraction or an exponent */
        uint64_t d = (uint64_t)(*c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool volley_json_u64(const volley_json *value, uint64_t *out) {
    uint64_t v;
    if (!value || value->type != VOLLEY_JSON_NUMBER || value->u.str[0] == '-') return false;
    if (!json_integer_magnitude(value->u.str, &v)) return false;
    if (out) *out = v;
    return true;
}

bool volley_json_i64(const volley_json *value, int64_t *out) {
    uint64_t v;
    if (!value || value->type != VOLLEY_JSON_NUMBER) return false;
    bool negative = value->u.str[0] == '-';
    if (!json_integer_magnitude(value->u.str + negative, &v)) return false;
    if (negative ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return false;
    if (out) *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

bool volley_json_is_null(const volley_json *value) {
    return value && value->type == VOLLEY_JSON_NULL;
}

void volley_json_position(const volley_json *value, bool end, size_t *line, size_t *column) {
    size_t l = 0, c = 0;
    if (value) {
        l = end ? value->end_line : value->start_line;
        c = end ? value->end_column : value->start_column;
    }
    if (line) *line = l;
    if (column) *column = c;
}
