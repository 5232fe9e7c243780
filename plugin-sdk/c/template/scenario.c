/*
 * A minimal Volley scenario in C: one GET of TARGET_URL per iteration, checked.
 *
 *     ./build.sh                      # writes scenario.wasm
 *     volley run scenario.wasm --vus 10 --duration 30s --env TARGET_URL=http://127.0.0.1:8080
 */
#include "volley.h"

/* Default load options (k6-style JSON), used where the command line gives none. */
const char *volley_options(void) {
    return "{\"vus\": 10, \"duration\": \"30s\", \"thresholds\": {\"checks\": [\"rate>0.99\"]}}";
}

/* One iteration; the runner calls it over and over on every VU. Return NULL on
 * success or an error message. Everything volley_* returned is freed when this
 * function returns. */
const char *volley_iteration(const char *exec) {
    (void)exec;
    const char *url = volley_env("TARGET_URL");
    if (!url) return "TARGET_URL is not set: pass --env TARGET_URL=http://host:port";

    volley_response *r = volley_get(url, &(volley_request_opts){.name = "GET /"});
    if (r->error) return volley_fmt("GET /: %s", r->error);
    volley_check("status is 200", r->status == 200);

    volley_sleep_ms(500); /* think time */
    return NULL;
}
