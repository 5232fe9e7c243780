/* Volley run views: what the dashboard's run page and the HTML report share.
 * Safe DOM building (text only, never innerHTML), formatting, the five charts,
 * thresholds, the metrics summary table and the checks table.
 * Needs chart.js (VolleyChart). Exposes `window.VolleyView`.
 */
(function (global) {
  'use strict';

  /** Builds an element. attrs: {class, id, text, title, on: {click: fn}, ...}; children: nodes or strings. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  /** Replaces a node's children. */
  function fill(node, ...children) {
    node.replaceChildren();
    for (const c of children.flat()) if (c != null && c !== false) node.append(c);
    return node;
  }

  // ---- Formatting -------------------------------------------------------

  function num(v, digits) {
    if (v == null || !isFinite(v)) return '–';
    if (digits == null) digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
    return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  }
  function ms(v) {
    if (v == null || !isFinite(v)) return '–';
    if (Math.abs(v) >= 1000) return num(v / 1000, 2) + ' s';
    if (Math.abs(v) < 1 && v !== 0) return num(v * 1000, 0) + ' µs';
    return num(v, Math.abs(v) >= 100 ? 0 : 2) + ' ms';
  }
  function bytes(v) {
    if (v == null || !isFinite(v)) return '–';
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return num(v, i ? 1 : 0) + ' ' + units[i];
  }
  function pct(v) { return v == null || !isFinite(v) ? '–' : num(v * 100, 2) + '%'; }
  /** Seconds as "1m 05s" / "12.3s" / "1h 02m". */
  function duration(s) {
    if (s == null || !isFinite(s)) return '–';
    if (s < 60) return num(s, 1) + 's';
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
    return h ? h + 'h ' + String(m).padStart(2, '0') + 'm' : m + 'm ' + String(sec).padStart(2, '0') + 's';
  }
  function dateTime(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  /** A run's duration in seconds: its recorded progress, else its timestamps. */
  function runSeconds(run, results) {
    if (results && results.state && results.state.testRunDurationMs) return results.state.testRunDurationMs / 1000;
    if (run.progress && run.progress.elapsed_seconds) return run.progress.elapsed_seconds;
    if (run.started_at) {
      const end = run.ended_at ? new Date(run.ended_at) : new Date();
      return (end - new Date(run.started_at)) / 1000;
    }
    return null;
  }

  function statusBadge(status, id) {
    return el('span', { class: 'badge ' + status, id, text: status });
  }
  /** "passed"/"failed"/"—" badge of a run's thresholds. */
  function verdictBadge(passed, total) {
    if (passed == null) return el('span', { class: 'muted', text: total ? 'pending' : '—' });
    return el('span', { class: 'badge ' + (passed ? 'pass' : 'fail'), text: passed ? 'passed' : 'failed' });
  }

  // ---- Charts -----------------------------------------------------------

  const COLORS = { blue: '#2563eb', teal: '#0d9488', violet: '#7c3aed', orange: '#ea580c', red: '#dc2626', green: '#16a34a', gray: '#6b7280' };

  /** The charts: id, title, unit, series. */
  const CHART_SPECS = [
    { key: 'latency', wide: true, title: 'Latency (http_req_duration)', unit: 'ms', series: [{ name: 'p50', color: COLORS.teal }, { name: 'p95', color: COLORS.orange }, { name: 'p99', color: COLORS.red }] },
    { key: 'rps', title: 'Throughput', unit: 'req/s', series: [{ name: 'requests/s', color: COLORS.blue }, { name: 'iterations/s', color: COLORS.teal, dash: true }] },
    { key: 'vus', title: 'Virtual users', unit: '', series: [{ name: 'VUs', color: COLORS.violet }] },
    { key: 'errors', title: 'Errors', unit: '/s', series: [{ name: 'failed requests/s', color: COLORS.red }, { name: 'failed iterations/s', color: COLORS.orange, dash: true }] },
    { key: 'checks', title: 'Checks', unit: '%', yMax: 100, series: [{ name: 'pass rate', color: COLORS.green }] },
  ];

  /** Creates the chart cards in `container`; returns {rps, vus, latency, errors, checks}. */
  function createCharts(container) {
    const charts = {};
    const grid = el('div', { class: 'charts' });
    for (const spec of CHART_SPECS) {
      const note = el('small');
      const canvas = el('canvas', { id: 'chart-' + spec.key, role: 'img', 'aria-label': spec.title });
      grid.append(el('div', { class: 'chart-card' + (spec.wide ? ' wide' : '') }, el('h2', {}, spec.title, note), canvas));
      charts[spec.key] = new global.VolleyChart(canvas, { unit: spec.unit, series: spec.series, yMax: spec.yMax });
      charts[spec.key].note = note;
    }
    fill(container, grid);
    // Render once attached, when the canvases have their CSS size.
    requestAnimationFrame(() => Object.values(charts).forEach((c) => c.render()));
    return charts;
  }

  /** Draws the recorded per-second series (GET /v1/runs/{id}/timeseries points). */
  function chartsFromTimeseries(charts, points, opts) {
    opts = opts || {};
    const t = points.map((p) => p.t);
    const col = (f) => points.map(f);
    charts.rps.setData(t, [col((p) => p.requests_per_second), col((p) => p.iterations_per_second)]);
    charts.vus.setData(t, [col((p) => p.vus)]);
    // Seconds without requests have no latency: leave a gap rather than a 0.
    const lat = (k) => col((p) => (p.http_req_duration && p.http_req_duration.count ? p.http_req_duration[k] : null));
    charts.latency.setData(t, [lat('p50'), lat('p95'), lat('p99')]);
    charts.errors.setData(t, [col((p) => p.failed_requests_per_second), col((p) => p.failed_iterations_per_second)]);
    for (const k of ['rps', 'vus', 'latency', 'errors']) charts[k].note.textContent = 'per second';
    const hasChecks = points.some((p) => p.checks_passed != null);
    if (hasChecks && !opts.keepChecks) {
      const rate = (p) => (p.checks_passed + p.checks_failed > 0
        ? (100 * p.checks_passed) / (p.checks_passed + p.checks_failed) : null);
      charts.checks.setData(t, [col(rate)]);
      charts.checks.note.textContent = 'per second';
    } else if (!opts.keepChecks) {
      // Series recorded before checks were: show the overall figure instead.
      const rate = opts.checksRate;
      charts.checks.setData([], [[]]);
      charts.checks.setEmptyText(rate == null ? 'No per-second check data recorded'
        : 'Overall pass rate ' + pct(rate) + ' (no per-second check data recorded)');
      charts.checks.note.textContent = '';
    }
  }

  // ---- Thresholds -------------------------------------------------------

  /** A <ul> of thresholds (ThresholdState[]), each `.threshold.pass|.fail`. */
  function thresholdList(thresholds, metricsTypes) {
    if (!thresholds || !thresholds.length) return el('p', { class: 'empty', text: 'No thresholds defined.' });
    return el('ul', { class: 'thresholds' }, thresholds.map((t) => {
      const unit = unitOf(t.metric.replace(/\{.*$/, ''), null, metricsTypes);
      const isRate = /^rate/.test(t.threshold);
      const value = t.value == null ? 'no samples' : isRate ? pct(t.value) : formatUnit(t.value, unit);
      return el('li', { class: 'threshold ' + (t.ok ? 'pass' : 'fail'), title: t.abort_on_fail ? 'abortOnFail' : null },
        el('span', { class: 'verdict', text: t.ok ? '✓ PASS' : '✗ FAIL' }),
        el('span', { class: 'expr', text: t.metric + ': ' + t.threshold }),
        el('span', { class: 'value', text: value }));
    }));
  }

  // ---- Metrics summary --------------------------------------------------

  /** k6's summary export has no types: infer them from the statistics present. */
  function typeOf(values, name, metricsTypes) {
    const known = metricsTypes && metricsTypes[name];
    if (known && known.type) return known.type;
    if ('avg' in values || 'med' in values) return 'trend';
    if ('passes' in values || 'fails' in values) return 'rate';
    if ('count' in values && 'rate' in values) return 'counter';
    return 'gauge';
  }
  /** 'time' | 'data' | 'default', from /metrics when known, else from the name. */
  function unitOf(name, type, metricsTypes) {
    const known = metricsTypes && metricsTypes[name];
    if (known && known.contains) return known.contains;
    if (/^data_(sent|received)$/.test(name)) return 'data';
    if (/^(http_req_|iteration_duration|group_duration)/.test(name) || /(_duration|_time|_latency|_ms)$/.test(name)) return 'time';
    return 'default';
  }
  function formatUnit(v, unit) { return unit === 'time' ? ms(v) : unit === 'data' ? bytes(v) : num(v); }

  const SUMMARY_COLS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count', 'rate / value'];

  /** The end-of-test summary table of `results.metrics` (k6 summary export shape). */
  function summaryTable(metrics, metricsTypes) {
    const names = Object.keys(metrics || {}).sort((a, b) => {
      const [pa, pb] = [a.replace(/\{.*$/, ''), b.replace(/\{.*$/, '')];
      return pa === pb ? a.length - b.length || a.localeCompare(b) : pa.localeCompare(pb);
    });
    if (!names.length) return el('p', { class: 'empty', text: 'No metrics.' });
    const rows = names.map((name) => {
      const values = metrics[name];
      const base = name.replace(/\{.*$/, '');
      const type = typeOf(values, base, metricsTypes);
      const unit = unitOf(base, type, metricsTypes);
      const cells = {};
      if (type === 'trend') {
        for (const k of ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)']) cells[k] = formatUnit(values[k], unit);
        if (values.count != null) cells.count = num(values.count, 0);
      } else if (type === 'counter') {
        cells.count = formatUnit(values.count, unit);
        cells['rate / value'] = formatUnit(values.rate, unit) + '/s';
      } else if (type === 'rate') {
        const total = (values.passes || 0) + (values.fails || 0);
        cells.count = num(values.passes || 0, 0) + ' / ' + num(total, 0);
        cells['rate / value'] = pct(values.value);
      } else {
        cells.min = formatUnit(values.min, unit);
        cells.max = formatUnit(values.max, unit);
        cells['rate / value'] = formatUnit(values.value, unit);
      }
      // Thresholds under the metric: {expression: failed}.
      const th = values.thresholds ? Object.entries(values.thresholds) : [];
      const mark = th.length ? el('span', {
        class: 'badge ' + (th.some(([, failed]) => failed) ? 'fail' : 'pass'),
        title: th.map(([e, f]) => e + (f ? ' failed' : ' passed')).join(', '),
        text: th.some(([, failed]) => failed) ? '✗' : '✓',
      }) : null;
      return el('tr', { class: name !== base ? 'sub' : null, 'data-metric': name },
        el('td', {}, el('span', { class: 'mono', text: name }), ' ', el('span', { class: 'muted small', text: type }), ' ', mark),
        SUMMARY_COLS.map((c) => el('td', { class: 'num', text: cells[c] || '' })));
    });
    return el('div', { class: 'table-wrap' }, el('table', { class: 'summary' },
      el('thead', {}, el('tr', {}, el('th', { text: 'Metric' }), SUMMARY_COLS.map((c) => el('th', { class: 'num', text: c })))),
      el('tbody', {}, rows)));
  }

  /** Checks grouped by their group path (results.checks). */
  function checksTable(checks) {
    if (!checks || !checks.length) return el('p', { class: 'empty', text: 'No checks.' });
    const groups = new Map();
    for (const c of checks) {
      if (!groups.has(c.group)) groups.set(c.group, []);
      groups.get(c.group).push(c);
    }
    const body = [];
    for (const [group, list] of groups) {
      body.push(el('tr', {}, el('td', { colspan: 5 }, el('strong', { text: group ? group.replace(/^::/, '').split('::').join(' › ') : '(no group)' }))));
      for (const c of list) {
        const total = c.passes + c.fails;
        const rate = total ? c.passes / total : 0;
        body.push(el('tr', { class: 'sub' },
          el('td', {}, (c.fails ? '✗ ' : '✓ ') + c.name),
          el('td', {}, el('span', { class: 'check-bar' }, el('div', { style: 'width:' + (rate * 100).toFixed(1) + '%' })), pct(rate)),
          el('td', { class: 'num', text: num(c.passes, 0) }),
          el('td', { class: 'num', text: num(c.fails, 0) }),
          el('td', { class: 'num', text: num(total, 0) })));
      }
    }
    return el('div', { class: 'table-wrap' }, el('table', { class: 'checks' },
      el('thead', {}, el('tr', {}, ['Check', 'Pass rate', 'Passes', 'Fails', 'Total'].map((h, i) => el('th', { class: i > 1 ? 'num' : null, text: h })))),
      el('tbody', {}, body)));
  }

  /** Failure breakdowns (results.volley.request_failures / iteration_failures). */
  function failuresList(volley) {
    const parts = [];
    for (const [key, label] of [['request_failures', 'Failed requests'], ['iteration_failures', 'Failed iterations']]) {
      const m = volley && volley[key];
      if (!m || !Object.keys(m).length) continue;
      parts.push(el('div', {}, el('h3', { text: label }),
        el('table', {}, el('tbody', {}, Object.entries(m).sort((a, b) => b[1] - a[1]).map(([why, n]) =>
          el('tr', {}, el('td', { class: 'mono', text: why }), el('td', { class: 'num', text: num(n, 0) })))))));
    }
    return parts.length ? parts : el('p', { class: 'empty', text: 'No failures.' });
  }

  /** The <dl> of a run's headline facts. */
  function runFacts(run, opts) {
    opts = opts || {};
    const item = (label, value, id) => el('div', {}, el('dt', { text: label }), el('dd', { id }, value));
    const p = run.progress || {};
    return el('dl', { class: 'facts' },
      item('Scenario', opts.scenarioName || (run.scenario || '').slice(0, 12)),
      item('Started', dateTime(run.started_at || run.created_at)),
      item('Duration', duration(runSeconds(run, opts.results)), 'run-duration'),
      item('Requests', num(p.requests, 0), 'run-requests'),
      item('Failed requests', num(p.failed_requests, 0), 'run-failed'),
      item('Iterations', num(p.iterations, 0), 'run-iterations'),
      item('VUs', p.vus_max != null ? num(p.vus, 0) + ' / ' + num(p.vus_max, 0) : '–', 'run-vus'),
      item('Thresholds', verdictBadge(run.thresholds_passed, (run.thresholds || []).length), 'run-verdict'));
  }

  global.VolleyView = {
    el, fill, num, ms, bytes, pct, duration, dateTime, runSeconds, statusBadge, verdictBadge,
    createCharts, chartsFromTimeseries, thresholdList, summaryTable, checksTable, failuresList, runFacts,
  };
})(window);
