// A scenario that sends its requests with the standard fetch() only.
//
// Each iteration:
//
// 1. POST ${TARGET_URL}/queue/token (check "token issued": status 200),
// 2. GET ${TARGET_URL}/dates with the token (check "dates listed": status 200),
//
// then sleeps THINK_TIME_MS milliseconds (default 0: no sleep). Volley times and
// counts fetch() requests like its own client's (`http_reqs`, `http_req_duration`,
// ...), so a run's `http_reqs` equals the requests the target served.
//
// Built without `--disable http`: fetch() needs componentize-js's `http` feature,
// which makes the component import wasi:http/types and wasi:http/outgoing-handler.
//
//   ../concert-booking-js/build.sh OUT_DIR   # builds OUT_DIR/fetch_js.wasm
//   volley run OUT_DIR/fetch_js.wasm --env TARGET_URL=http://127.0.0.1:8080 --vus 5 --duration 10s

import { check, env, scenario, sleep } from './volley.js';

export const { options, setup, iteration, teardown } = scenario({
  options: { vus: 1, duration: '10s' },

  async iteration() {
    const base = env('TARGET_URL');
    if (base === undefined) throw 'TARGET_URL is not set: pass --env TARGET_URL=http://host:port of the concert API';
    const url = base.replace(/\/+$/, '');

    const tokenResponse = await fetch(`${url}/queue/token`, { method: 'POST' });
    const tokenBody = await tokenResponse.text();
    check('token issued', tokenResponse.status === 200);
    if (tokenResponse.status !== 200) throw `POST /queue/token: expected status 200, got ${tokenResponse.status}; body: ${tokenBody}`;
    const { token } = JSON.parse(tokenBody);

    const datesResponse = await fetch(`${url}/dates`, { headers: { authorization: `Bearer ${token}` } });
    await datesResponse.arrayBuffer(); // read the whole body
    check('dates listed', datesResponse.status === 200);

    const thinkTime = Number(env('THINK_TIME_MS', '0'));
    if (thinkTime > 0) sleep(thinkTime);
  },
});
