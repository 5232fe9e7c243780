/* Volley dashboard: a hash-routed single page over the /v1 API.
 *   #/            runs, scenarios, upload, start a run
 *   #/runs/{id}   one run: live charts (SSE), thresholds, stop, results
 * Needs chart.js (VolleyChart) and runview.js (VolleyView).
 */
(function () {
  'use strict';
  const V = window.VolleyView;
  const { el, fill } = V;
  const TOKEN_KEY = 'volley.apiToken';
  const FINAL = ['finished', 'failed', 'aborted', 'interrupted'];

  // ---- API client -------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  function authHeaders() {
    const token = localStorage.getItem(TOKEN_KEY);
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  /** Calls the API; resolves to the parsed JSON, rejects with an ApiError. */
  async function api(method, path, body, contentType) {
    const headers = authHeaders();
    if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
    const init = { method, headers };
    if (body !== undefined) init.body = contentType ? body : JSON.stringify(body);
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', 'Cannot reach the server: ' + e.message);
    }
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const err = json && json.error;
      let message = err ? err.message : 'HTTP ' + res.status;
      if (res.status === 401) message += ' — paste the server\'s API token at the top right.';
      throw new ApiError(res.status, err ? err.code : 'http_' + res.status, message);
    }
    return json;
  }

  /** Follows a Server-Sent Events stream with fetch (so the Authorization header
   * can be sent, which EventSource cannot). Calls onEvent(name, data) per event;
   * resolves when the stream closes, rejects on an HTTP or network error. */
  async function streamEvents(path, signal, onEvent) {
    const res = await fetch(path, { headers: { ...authHeaders(), Accept: 'text/event-stream' }, signal });
    if (!res.ok) {
      let message = 'HTTP ' + res.status;
      try { message = (await res.json()).error.message; } catch (_) { /* keep */ }
      throw new ApiError(res.status, 'stream', message);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = 'message', data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let nl;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
        if (line === '') { // blank line: dispatch
          if (data.length) onEvent(event, data.join('\n'));
          event = 'message'; data = [];
        } else if (line[0] === ':') { // comment (keep-alive)
        } else {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? '' : line.slice(colon + 1);
          if (val[0] === ' ') val = val.slice(1);
          if (field === 'event') event = val;
          else if (field === 'data') data.push(val);
        }
      }
    }
  }

  // ---- Shell: top bar, router -------------------------------------------

  const root = document.getElementById('app');
  let page = null; // {dispose()} of the current page

  function topbar() {
    const input = el('input', {
      type: 'password', id: 'api-token', placeholder: 'API token (optional)', autocomplete: 'off',
      value: localStorage.getItem(TOKEN_KEY) || '',
    });
    input.addEventListener('change', () => {
      const v = input.value.trim();
      if (v) localStorage.setItem(TOKEN_KEY, v); else localStorage.removeItem(TOKEN_KEY);
      route();
    });
    return el('header', { class: 'topbar' },
      el('a', { class: 'brand', href: '#/' }, 'Volley', el('span', { text: ' ▸' })),
      el('a', { href: '#/', text: 'Runs' }),
      el('a', { href: '/docs', text: 'API docs' }),
      el('div', { class: 'spacer' }),
      el('label', { for: 'api-token', text: 'Token' }), input);
  }

  function route() {
    if (page && page.dispose) page.dispose();
    page = null;
    const main = el('main');
    fill(root, topbar(), main);
    const m = location.hash.match(/^#\/runs\/([^/?#]+)/);
    page = m ? runPage(main, decodeURIComponent(m[1])) : homePage(main);
  }
  window.addEventListener('hashchange', route);

  function message(kind) { return el('div', { class: 'msg ' + kind, role: kind === 'error' ? 'alert' : 'status' }); }
  function showError(box, e) { box.className = 'msg error'; box.textContent = e.message || String(e); }
  function showOk(box, text) { box.className = 'msg ok'; box.textContent = text; }

  // ---- Home -------------------------------------------------------------

  function homePage(main) {
    let scenarios = [];
    let timer = null, disposed = false;
    const runsBox = el('div', {}, el('p', { class: 'empty', text: 'Loading…' }));
    const runsMsg = message('error');
    const moreBtn = el('button', { class: 'secondary', hidden: true, text: 'Load more' });
    const scenBox = el('div');
    const scenMsg = message('error');

    // Upload form.
    const file = el('input', { type: 'file', id: 'scenario-file', accept: '.wasm,application/wasm' });
    const name = el('input', { type: 'text', id: 'scenario-name', placeholder: 'name (defaults to the file name)' });
    const uploadBtn = el('button', { id: 'upload-scenario', text: 'Upload' });
    const uploadMsg = message('');
    file.addEventListener('change', () => {
      if (file.files[0] && !name.value) name.value = file.files[0].name.replace(/\.wasm$/i, '');
    });
    uploadBtn.addEventListener('click', async () => {
      const f = file.files[0];
      if (!f) return showError(uploadMsg, new Error('Choose a .wasm file first.'));
      uploadBtn.disabled = true;
      uploadMsg.className = 'msg'; uploadMsg.textContent = 'Uploading and validating…';
      try {
        const q = name.value.trim() ? '?name=' + encodeURIComponent(name.value.trim()) : '';
        const info = await api('POST', '/v1/scenarios' + q, await f.arrayBuffer(), 'application/wasm');
        showOk(uploadMsg, 'Stored scenario “' + info.name + '” (' + info.id.slice(0, 12) + ').');
        await loadScenarios(info.id);
      } catch (e) { showError(uploadMsg, e); } finally { uploadBtn.disabled = false; }
    });

    // Start-run form.
    const select = el('select', { id: 'run-scenario' });
    const options = el('textarea', { id: 'run-options', spellcheck: 'false' });
    const webhook = el('input', { type: 'text', id: 'run-webhook', placeholder: 'https://… (optional)' });
    const startBtn = el('button', { id: 'start-run', text: 'Start run' });
    const startMsg = message('');
    let optionsEdited = false;
    options.addEventListener('input', () => { optionsEdited = true; });
    select.addEventListener('change', () => { if (!optionsEdited) prefill(); });
    function prefill() {
      const s = scenarios.find((x) => x.id === select.value);
      const d = (s && s.default_options) || {};
      const opts = {
        vus: 5,
        duration: '20s',
        env: Object.assign({ TARGET_URL: 'http://127.0.0.1:8080' }, d.env || {}),
        thresholds: d.thresholds || { http_req_duration: ['p(95)<500'], http_req_failed: ['rate<0.01'], checks: ['rate>0.99'] },
      };
      options.value = JSON.stringify(opts, null, 2);
    }
    startBtn.addEventListener('click', async () => {
      let opts;
      try {
        opts = options.value.trim() ? JSON.parse(options.value) : undefined;
      } catch (e) { return showError(startMsg, new Error('Options are not valid JSON: ' + e.message)); }
      if (!select.value) return showError(startMsg, new Error('Upload a scenario first.'));
      const body = { scenario: select.value };
      if (opts !== undefined) body.options = opts;
      if (webhook.value.trim()) body.webhook = webhook.value.trim();
      startBtn.disabled = true;
      try {
        const run = await api('POST', '/v1/runs', body);
        location.hash = '#/runs/' + encodeURIComponent(run.id);
      } catch (e) { showError(startMsg, e); startBtn.disabled = false; }
    });

    fill(main,
      el('section', { class: 'card' },
        el('div', { class: 'row', style: 'justify-content:space-between' }, el('h2', { text: 'Runs' })),
        runsMsg, runsBox, moreBtn),
      el('div', { class: 'grid2' },
        el('section', { class: 'card' }, el('h2', { text: 'Start a run' }),
          el('label', { class: 'field' }, el('span', { text: 'Scenario' }), select),
          el('label', { class: 'field' }, el('span', { text: 'Options (k6-style JSON, laid over the scenario’s own)' }), options),
          el('label', { class: 'field' }, el('span', { text: 'Webhook' }), webhook),
          el('div', { class: 'row' }, startBtn), startMsg),
        el('section', { class: 'card' }, el('h2', { text: 'Scenarios' }), scenMsg, scenBox,
          el('h3', { text: 'Upload a scenario' }),
          el('div', { class: 'row' }, file, name, uploadBtn), uploadMsg)));

    const scenarioName = (id) => { const s = scenarios.find((x) => x.id === id); return s ? s.name : id.slice(0, 12); };

    async function loadScenarios(selectId) {
      try {
        scenarios = (await api('GET', '/v1/scenarios')).scenarios;
        scenMsg.className = 'msg';
        scenMsg.textContent = '';
      } catch (e) { showError(scenMsg, e); return; }
      const keep = selectId || select.value;
      fill(select, scenarios.length ? scenarios.map((s) =>
        el('option', { value: s.id, selected: s.id === keep, text: s.name + ' — ' + s.id.slice(0, 12) }))
        : el('option', { value: '', text: 'No scenarios yet: upload one' }));
      if (!optionsEdited) prefill();
      fill(scenBox, scenarios.length ? el('div', { class: 'table-wrap' }, el('table', {},
        el('thead', {}, el('tr', {}, ['Name', 'Id', 'Size', 'Uploaded'].map((h, i) => el('th', { class: i === 2 ? 'num' : null, text: h })))),
        el('tbody', {}, scenarios.map((s) => el('tr', {},
          el('td', { text: s.name }), el('td', { class: 'mono', title: s.id, text: s.id.slice(0, 12) }),
          el('td', { class: 'num', text: V.bytes(s.size) }), el('td', { text: V.dateTime(s.created_at) }))))))
        : el('p', { class: 'empty', text: 'No scenarios uploaded yet.' }));
    }

    let runs = [], cursor = null;
    function runRow(r) {
      const passed = (r.thresholds || []).filter((t) => t.ok).length;
      const total = (r.thresholds || []).length;
      return el('tr', {},
        el('td', {}, el('a', { class: 'mono', href: '#/runs/' + encodeURIComponent(r.id), text: r.id })),
        el('td', {}, V.statusBadge(r.status)),
        el('td', { title: r.scenario, text: scenarioName(r.scenario) }),
        el('td', { text: V.dateTime(r.started_at || r.created_at) }),
        el('td', { class: 'num', text: r.started_at ? V.duration(V.runSeconds(r)) : '–' }),
        el('td', {}, V.verdictBadge(r.thresholds_passed, total), total ? el('span', { class: 'muted small', text: ' ' + passed + '/' + total })
          : null));
    }
    function drawRuns() {
      fill(runsBox, runs.length ? el('div', { class: 'table-wrap' }, el('table', { id: 'runs-table' },
        el('thead', {}, el('tr', {}, ['Run', 'Status', 'Scenario', 'Started', 'Duration', 'Thresholds'].map((h) =>
          el('th', { class: h === 'Duration' ? 'num' : null, text: h })))),
        el('tbody', {}, runs.map(runRow))))
        : el('p', { class: 'empty', text: 'No runs yet: start one below.' }));
      moreBtn.hidden = !cursor;
    }
    /** Reloads the first page (keeping any further pages loaded). */
    async function loadRuns() {
      try {
        const res = await api('GET', '/v1/runs?limit=50');
        const ids = new Set(res.runs.map((r) => r.id));
        runs = res.runs.concat(runs.slice(50).filter((r) => !ids.has(r.id)));
        if (runs.length <= 50) cursor = res.next_cursor;
        runsMsg.className = 'msg'; runsMsg.textContent = '';
        drawRuns();
      } catch (e) { showError(runsMsg, e); }
    }
    moreBtn.addEventListener('click', async () => {
      try {
        const res = await api('GET', '/v1/runs?limit=50&cursor=' + encodeURIComponent(cursor));
        runs = runs.concat(res.runs); cursor = res.next_cursor; drawRuns();
      } catch (e) { showError(runsMsg, e); }
    });

    (async () => {
      await loadScenarios();
      await loadRuns();
      // Refresh the list: every 3 s while runs are live, else every 15 s.
      let idle = 0;
      const tick = async () => {
        if (disposed) return;
        const live = runs.some((r) => !FINAL.includes(r.status));
        if (!document.hidden && (live || ++idle >= 5)) { idle = 0; await loadRuns(); }
        timer = setTimeout(tick, 3000);
      };
      timer = setTimeout(tick, 3000);
    })();
    return { dispose() { disposed = true; clearTimeout(timer); } };
  }

  // ---- Run page ---------------------------------------------------------

  function runPage(main, id) {
    const abort = new AbortController();
    let disposed = false, run = null, scenarioName = null;
    const status = el('span', { class: 'badge', id: 'run-status', text: '…' });
    const stopBtn = el('button', { class: 'danger', id: 'stop-run', text: 'Stop run', disabled: true });
    const reportBtn = el('button', { id: 'download-report', text: 'Download report', hidden: true });
    const msg = message('error');
    const facts = el('div');
    const bar = el('div');
    const progress = el('div', { class: 'progress', hidden: true }, bar);
    const chartsBox = el('div');
    const thresholdsBox = el('div');
    const checksBox = el('div', {}, el('p', { class: 'empty', text: 'Available when the run ends.' }));
    const summaryBox = el('div', {}, el('p', { class: 'empty', text: 'Available when the run ends.' }));
    const failuresBox = el('div', {}, el('p', { class: 'empty', text: 'Available when the run ends.' }));
    const logsBox = el('div', { class: 'logs' });
    const streamNote = el('span', { class: 'muted small' });

    fill(main,
      el('div', { class: 'page-head' },
        el('div', {}, el('div', { class: 'row' }, el('h1', {}, 'Run ', el('span', { class: 'mono', text: id })), status, streamNote), facts),
        el('div', { class: 'row' }, reportBtn, stopBtn)),
      msg, progress, chartsBox,
      el('div', { class: 'grid2' },
        el('section', { class: 'card' }, el('h2', { text: 'Thresholds' }), thresholdsBox),
        el('section', { class: 'card' }, el('h2', { text: 'Checks' }), checksBox)),
      el('div', { style: 'height:16px' }),
      el('section', { class: 'card' }, el('h2', { text: 'Metrics summary' }), summaryBox),
      el('div', { class: 'grid2' },
        el('section', { class: 'card' }, el('h2', { text: 'Failures' }), failuresBox),
        el('section', { class: 'card' }, el('h2', { text: 'Log' }), logsBox)));

    const charts = V.createCharts(chartsBox);

    /** Shows the run's status, facts, thresholds and progress. */
    function showRun(r) {
      run = r;
      status.className = 'badge ' + r.status;
      status.textContent = r.status;
      const final = FINAL.includes(r.status);
      stopBtn.disabled = final || r.status === 'stopping' || stopBtn.dataset.sent === '1';
      if (final) stopBtn.textContent = 'Stop run';
      reportBtn.hidden = !final;
      fill(facts, V.runFacts(r, { scenarioName }));
      fill(thresholdsBox, V.thresholdList(r.thresholds));
      const p = r.progress;
      progress.hidden = final || !p || !p.planned_seconds;
      if (p && p.planned_seconds) bar.style.width = Math.min(100, (100 * p.elapsed_seconds) / p.planned_seconds) + '%';
      if (r.error) showError(msg, new Error('Run ' + r.status + ': ' + r.error));
    }

    // The report needs the token too, so it is fetched, then saved as a file.
    reportBtn.addEventListener('click', async () => {
      reportBtn.disabled = true;
      try {
        const res = await fetch('/v1/runs/' + encodeURIComponent(id) + '/report', { headers: authHeaders() });
        if (!res.ok) throw new ApiError(res.status, 'http_' + res.status, 'The report is not available (HTTP ' + res.status + ').');
        const url = URL.createObjectURL(await res.blob());
        const link = el('a', { href: url, download: 'volley-report-' + id + '.html' });
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (e) {
        showError(msg, e);
      } finally {
        reportBtn.disabled = false;
      }
    });

    stopBtn.addEventListener('click', async () => {
      stopBtn.disabled = true; stopBtn.dataset.sent = '1'; stopBtn.textContent = 'Stopping…';
      try {
        showRun(await api('POST', '/v1/runs/' + encodeURIComponent(id) + '/stop'));
      } catch (e) {
        if (e.code !== 'run_ended') { showError(msg, e); stopBtn.disabled = false; delete stopBtn.dataset.sent; stopBtn.textContent = 'Stop run'; }
      }
    });

    // Live: per-interval figures derived from successive cumulative snapshots.
    // (Snapshots hold cumulative percentiles only, so latency comes from the
    // recorded per-second series instead: see pollLatency.)
    let prev = null, seeded = 0;
    const count = (m, name, key) => (m[name] && m[name].values[key]) || 0;
    function onSnapshot(s) {
      status.className = 'badge ' + s.status;
      status.textContent = s.status;
      const m = s.metrics, t = s.elapsed_seconds;
      const cur = {
        t, reqs: count(m, 'http_reqs', 'count'), iters: count(m, 'iterations', 'count'),
        failedReqs: count(m, 'http_req_failed', 'passes'), failedIters: count(m, 'iterations_failed', 'count'),
        checkPass: count(m, 'checks', 'passes'), checkFail: count(m, 'checks', 'fails'),
      };
      if (!prev) {
        // At the very start, count from zero; when joining later, this is the baseline.
        if (seeded || t > 1.5) { prev = cur; return; }
        prev = { t: 0, reqs: 0, iters: 0, failedReqs: 0, failedIters: 0, checkPass: 0, checkFail: 0 };
      }
      const dt = t - prev.t;
      if (dt < 0.5) return; // too short a window for a rate
      const rate = (k) => Math.max(0, cur[k] - prev[k]) / dt;
      const dPass = cur.checkPass - prev.checkPass, dFail = cur.checkFail - prev.checkFail;
      charts.rps.push(t, [rate('reqs'), rate('iters')]);
      charts.vus.push(t, [m.vus ? m.vus.values.value : null]);
      charts.errors.push(t, [rate('failedReqs'), rate('failedIters')]);
      charts.checks.push(t, [dPass + dFail > 0 ? (100 * dPass) / (dPass + dFail) : null]);
      prev = cur;
    }

    /** Draws per-second p50/p95/p99 (seconds without requests are gaps). */
    function drawLatency(pts) {
      const lat = (k) => pts.map((p) => (p.http_req_duration && p.http_req_duration.count ? p.http_req_duration[k] : null));
      charts.latency.setData(pts.map((p) => p.t), [lat('p50'), lat('p95'), lat('p99')]);
    }

    /** Refetches the recorded series for the latency chart: every snapshot at
     * first, less often as it grows (about 60 points a second at most). */
    let latencyBusy = false, latencyTick = 0, over = false;
    async function pollLatency() {
      const every = Math.max(1, Math.floor(charts.latency.xs.length / 60));
      if (latencyBusy || latencyTick++ % every) return;
      latencyBusy = true;
      try {
        const ts = await api('GET', '/v1/runs/' + encodeURIComponent(id) + '/timeseries');
        if (!over) drawLatency(ts.points); // the final drawing wins
      } catch (_) { /* next time */ }
      latencyBusy = false;
    }

    /** Seeds the charts with the seconds recorded so far (joining a run late). */
    async function seed() {
      const ts = await api('GET', '/v1/runs/' + encodeURIComponent(id) + '/timeseries');
      const pts = ts.points;
      seeded = pts.length;
      if (!pts.length) return;
      const t = pts.map((p) => p.t), nul = pts.map(() => null);
      charts.rps.setData(t, [pts.map((p) => p.requests_per_second), pts.map((p) => p.iterations_per_second)]);
      charts.vus.setData(t, [pts.map((p) => p.vus)]);
      drawLatency(pts);
      charts.errors.setData(t, [pts.map((p) => p.failed_requests_per_second), pts.map((p) => p.failed_iterations_per_second)]);
      charts.checks.setData(t, [nul]);
    }

    let refreshing = false;
    async function refreshRun() {
      if (refreshing || disposed) return;
      refreshing = true;
      try { showRun(await api('GET', '/v1/runs/' + encodeURIComponent(id))); } catch (_) { /* next tick */ }
      refreshing = false;
    }

    async function follow() {
      charts.latency.note.textContent = 'live · per second';
      charts.rps.note.textContent = charts.errors.note.textContent = charts.checks.note.textContent = 'live';
      try { await seed(); } catch (_) { /* charts start empty */ }
      for (let attempt = 0; !disposed; attempt++) {
        let ended = false, events = 0;
        streamNote.textContent = run.status === 'queued' ? 'queued: waiting for a slot' : '● live';
        try {
          await streamEvents('/v1/runs/' + encodeURIComponent(id) + '/metrics/stream', abort.signal, (name, data) => {
            const json = JSON.parse(data);
            events++;
            streamNote.textContent = '● live';
            if (name === 'snapshot') { onSnapshot(json); refreshRun(); if (json.status !== 'queued') pollLatency(); }
            else if (name === 'end') { ended = true; showRun(json); }
          });
        } catch (e) {
          if (disposed) return;
          if (e.status) { showError(msg, e); streamNote.textContent = ''; return; }
        }
        if (disposed) return;
        streamNote.textContent = '';
        if (!ended) { // closed early (queued, server restart, network): reconnect unless over
          if (events) attempt = 0;
          await new Promise((r) => setTimeout(r, Math.min(5000, 1000 * (attempt + 1))));
          try { showRun(await api('GET', '/v1/runs/' + encodeURIComponent(id))); } catch (_) { continue; }
          if (!FINAL.includes(run.status)) { prev = null; seeded = 1; continue; }
        }
        return finished(true);
      }
    }

    /** A finished run: recorded series, results, log. */
    async function finished(wasLive) {
      over = true;
      const enc = encodeURIComponent(id);
      const [ts, results, metrics] = await Promise.all([
        api('GET', '/v1/runs/' + enc + '/timeseries').catch(() => null),
        // A failed run never has a summary: skip the (409) request.
        run.status === 'failed' ? new Error('The run failed before it produced a summary.')
          : api('GET', '/v1/runs/' + enc + '/results').catch((e) => e),
        api('GET', '/v1/runs/' + enc + '/metrics').catch(() => null),
      ]);
      if (disposed) return;
      const ok = results && !(results instanceof Error);
      const checksRate = metrics && metrics.metrics.checks ? metrics.metrics.checks.values.value : null;
      const perSecondChecks = ts && ts.points.some((p) => p.checks_passed != null);
      const keepChecks = !perSecondChecks && wasLive && charts.checks.xs.some((v, i) => charts.checks.ys[0][i] != null);
      if (ts && ts.points.length) V.chartsFromTimeseries(charts, ts.points, { keepChecks, checksRate });
      else Object.values(charts).forEach((c) => c.setEmptyText('No data recorded'));
      if (keepChecks) charts.checks.note.textContent = 'per stream interval';
      const types = metrics ? metrics.metrics : null;
      if (ok) {
        fill(thresholdsBox, V.thresholdList(results.thresholds, types));
        fill(checksBox, V.checksTable(results.checks));
        fill(summaryBox, V.summaryTable(results.metrics, types));
        fill(failuresBox, V.failuresList(results.volley));
        fill(facts, V.runFacts(run, { scenarioName, results }));
      } else {
        const why = results ? results.message : 'No results.';
        fill(summaryBox, el('p', { class: 'empty', text: why }));
        fill(checksBox, el('p', { class: 'empty', text: why }));
        fill(failuresBox, el('p', { class: 'empty', text: '–' }));
        // Partial figures from /metrics when there is no summary.
        if (metrics) {
          const flat = {};
          for (const [k, v] of Object.entries(metrics.metrics)) flat[k] = v.values;
          fill(summaryBox, el('p', { class: 'muted small', text: why + ' Last recorded figures:' }), V.summaryTable(flat, types));
        }
      }
    }

    async function loadLogs() {
      try {
        const logs = await api('GET', '/v1/runs/' + encodeURIComponent(id) + '/logs');
        const atBottom = logsBox.scrollTop + logsBox.clientHeight >= logsBox.scrollHeight - 4;
        fill(logsBox, logs.entries.length ? logs.entries.slice(-300).map((e) =>
          el('div', { class: e.level }, '[' + (e.elapsed_ms / 1000).toFixed(3) + 's] ' + e.level.toUpperCase() + ' vu' + e.vu + ': ' + e.message))
          : el('div', { class: 'debug', text: 'No log messages.' }),
          logs.dropped ? el('div', { class: 'warn', text: logs.dropped + ' message(s) dropped (rate limit).' }) : null);
        if (atBottom) logsBox.scrollTop = logsBox.scrollHeight;
      } catch (_) { /* optional */ }
    }
    let logTimer = null;
    const pollLogs = async () => {
      await loadLogs();
      if (!disposed && run && !FINAL.includes(run.status)) logTimer = setTimeout(pollLogs, 3000);
    };

    (async () => {
      try {
        const [r, scen] = await Promise.all([
          api('GET', '/v1/runs/' + encodeURIComponent(id)),
          api('GET', '/v1/scenarios').catch(() => null),
        ]);
        const s = scen && scen.scenarios.find((x) => x.id === r.scenario);
        scenarioName = s ? s.name : null;
        showRun(r);
      } catch (e) { showError(msg, e); return; }
      pollLogs();
      if (FINAL.includes(run.status)) await finished(false);
      else await follow();
      loadLogs();
    })();

    return { dispose() { disposed = true; abort.abort(); clearTimeout(logTimer); } };
  }

  route();
})();
