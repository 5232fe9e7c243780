// A Volley scenario: one GET of TARGET_URL per iteration, with a check.
//
//   npm run build
//   volley run scenario.wasm --env TARGET_URL=http://127.0.0.1:8080 --vus 10 --duration 30s

import { check, env, http, scenario, sleep } from './volley.js';

export const { options, setup, iteration, teardown } = scenario({
  // Default load options (k6-style), used where the command line gives none.
  options: { vus: 1, duration: '10s', thresholds: { checks: ['rate>0.99'] } },

  // One iteration; the runner calls it over and over on every VU.
  iteration() {
    const url = env('TARGET_URL');
    if (url === undefined) throw 'TARGET_URL is not set: pass --env TARGET_URL=http://host:port/';

    const res = http.get(url, { name: 'GET TARGET_URL' });
    check('status is 200', res.status === 200);

    sleep(Number(env('THINK_TIME_MS', '0'))); // think time, in milliseconds
  },
});
