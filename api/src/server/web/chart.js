/* Volley chart: a small dependency-free line chart on <canvas>.
 *
 *   const chart = new VolleyChart(canvas, {
 *     unit: 'ms',                       // 'ms' | 'req/s' | '%' | '' (plain)
 *     series: [{ name: 'p95', color: '#e8590c', dash: false }, ...],
 *     yMax: 100,                        // optional fixed top (e.g. for %)
 *   });
 *   chart.push(tSeconds, [v1, v2, ...]);  // append one point per series
 *   chart.setData(ts, [[...], [...]]);    // replace everything
 *
 * x is seconds since the run started. Values may be null (a gap).
 * The canvas gets `data-points="N"` (points drawn so far), a hook for tests.
 * Handles HiDPI and resizing; shows a tooltip on hover.
 */
(function (global) {
  'use strict';

  const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const PAD = { top: 28, right: 14, bottom: 24, left: 52 };
  const GRID = '#e6e9ef';
  const AXIS_TEXT = '#6b7280';

  /** Ticks at 1, 2 or 5 × 10^n covering [min, max], about `count` of them. */
  function niceTicks(min, max, count) {
    if (!(max > min)) max = min + 1;
    const raw = (max - min) / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
    const ticks = [];
    const start = Math.floor(min / step) * step;
    for (let v = start; v <= max + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
    if (ticks[ticks.length - 1] < max) ticks.push(+(ticks[ticks.length - 1] + step).toFixed(10));
    return { ticks, step };
  }

  /** A number for an axis label: 1.2k, 0.5, 12, 3.4M. */
  function short(v) {
    const a = Math.abs(v);
    if (a >= 1e6) return +(v / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return +(v / 1e3).toFixed(1) + 'k';
    if (a >= 100 || a === 0) return String(Math.round(v));
    if (a >= 1) return String(+v.toFixed(1));
    return String(+v.toPrecision(2));
  }

  /** A value with its unit, for axis labels and the tooltip. */
  function formatValue(v, unit, precise) {
    if (v == null || !isFinite(v)) return '–';
    if (unit === 'ms') {
      if (Math.abs(v) >= 1000) return +(v / 1000).toFixed(precise ? 2 : 1) + ' s';
      return (precise ? +v.toFixed(v < 10 ? 2 : 1) : short(v)) + ' ms';
    }
    if (unit === '%') return (precise ? +v.toFixed(2) : short(v)) + '%';
    const n = precise ? String(+v.toFixed(v < 10 ? 2 : 1)) : short(v);
    return unit ? n + ' ' + unit : n;
  }

  /** Seconds as m:ss (or h:mm:ss). */
  function formatTime(s) {
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mm = h ? String(m).padStart(2, '0') : String(m);
    return (h ? h + ':' : '') + mm + ':' + String(sec).padStart(2, '0');
  }

  class VolleyChart {
    constructor(canvas, options) {
      this.canvas = canvas;
      this.ctx = canvas.getContext('2d');
      this.unit = options.unit || '';
      this.series = options.series;
      this.yMax = options.yMax;
      this.empty = options.empty || 'Waiting for data…';
      this.xs = [];
      this.ys = this.series.map(() => []);
      this.hover = null; // index of the hovered point
      canvas.setAttribute('data-points', '0');
      canvas.addEventListener('mousemove', (e) => this._onMove(e));
      canvas.addEventListener('mouseleave', () => { this.hover = null; this.render(); });
      if (global.ResizeObserver) {
        this._observer = new ResizeObserver(() => this.render());
        this._observer.observe(canvas);
      } else {
        global.addEventListener('resize', () => this.render());
      }
      this.render();
    }

    /** Appends one point: `values[i]` belongs to series i. */
    push(x, values) {
      this.xs.push(x);
      this.series.forEach((_, i) => this.ys[i].push(values[i] == null ? null : values[i]));
      this._changed();
    }

    /** Replaces all points. */
    setData(xs, ys) {
      this.xs = xs.slice();
      this.ys = this.series.map((_, i) => (ys[i] || []).slice());
      this._changed();
    }

    /** Sets the message shown while there are no points. */
    setEmptyText(text) { this.empty = text; this.render(); }

    _changed() {
      this.canvas.setAttribute('data-points', String(this.xs.length));
      this.render();
    }

    /** Sizes the backing store to the element's CSS size × devicePixelRatio. */
    _fit() {
      const dpr = global.devicePixelRatio || 1;
      const w = Math.max(50, this.canvas.clientWidth), h = Math.max(50, this.canvas.clientHeight);
      if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
        this.canvas.width = Math.round(w * dpr);
        this.canvas.height = Math.round(h * dpr);
      }
      this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      return { w, h };
    }

    render() {
      const { w, h } = this._fit();
      const ctx = this.ctx;
      ctx.clearRect(0, 0, w, h);
      ctx.font = FONT;
      this._legend(w);
      const plot = { x: PAD.left, y: PAD.top, w: w - PAD.left - PAD.right, h: h - PAD.top - PAD.bottom };
      if (plot.w < 20 || plot.h < 20) return;

      // Scales.
      let yTop = 0;
      for (const s of this.ys) for (const v of s) if (v != null && v > yTop) yTop = v;
      if (this.yMax != null) yTop = this.yMax;
      const y = this.yMax != null ? niceTicks(0, this.yMax, 4)
        : niceTicks(0, yTop > 0 ? yTop * 1.05 : 1, Math.max(2, Math.floor(plot.h / 40)));
      const yHi = y.ticks[y.ticks.length - 1];
      const x0 = this.xs.length ? this.xs[0] : 0;
      const x1 = this.xs.length > 1 ? this.xs[this.xs.length - 1] : x0 + 10;
      const xStep = niceTimeStep((x1 - x0) / Math.max(2, Math.floor(plot.w / 80)));
      this._sx = (v) => plot.x + ((v - x0) / (x1 - x0)) * plot.w;
      this._sy = (v) => plot.y + plot.h - (v / yHi) * plot.h;
      this._plot = plot;

      // Grid and y labels.
      ctx.strokeStyle = GRID; ctx.lineWidth = 1; ctx.fillStyle = AXIS_TEXT;
      ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
      for (const t of y.ticks) {
        const py = Math.round(this._sy(t)) + 0.5;
        ctx.beginPath(); ctx.moveTo(plot.x, py); ctx.lineTo(plot.x + plot.w, py); ctx.stroke();
        ctx.fillText(formatValue(t, this.unit, false), plot.x - 6, py);
      }
      // x labels (none while empty).
      ctx.textAlign = 'center'; ctx.textBaseline = 'top';
      if (this.xs.length) for (let t = Math.ceil(x0 / xStep) * xStep; t <= x1 + 1e-9; t += xStep) {
        ctx.fillText(formatTime(t), this._sx(t), plot.y + plot.h + 6);
      }

      if (!this.xs.length) {
        ctx.textAlign = 'center'; ctx.textBaseline = 'middle'; ctx.fillStyle = AXIS_TEXT;
        ctx.fillText(this.empty, plot.x + plot.w / 2, plot.y + plot.h / 2);
        return;
      }

      // Lines (a lone point is drawn as a dot).
      ctx.save();
      ctx.beginPath(); ctx.rect(plot.x, plot.y - 2, plot.w, plot.h + 4); ctx.clip();
      this.series.forEach((s, i) => {
        ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 1.75; ctx.lineJoin = 'round';
        ctx.setLineDash(s.dash ? [5, 4] : []);
        ctx.beginPath();
        let pen = false;
        this.ys[i].forEach((v, k) => {
          if (v == null) { pen = false; return; }
          const px = this.xs.length > 1 ? this._sx(this.xs[k]) : plot.x + plot.w / 2;
          if (pen) ctx.lineTo(px, this._sy(v)); else ctx.moveTo(px, this._sy(v));
          pen = true;
        });
        ctx.stroke();
        if (this.xs.length === 1 && this.ys[i][0] != null) {
          ctx.beginPath(); ctx.arc(plot.x + plot.w / 2, this._sy(this.ys[i][0]), 3, 0, 7); ctx.fill();
        }
      });
      ctx.restore();
      if (this.hover != null && this.hover < this.xs.length) this._tooltip(this.hover);
    }

    _legend(w) {
      const ctx = this.ctx;
      ctx.textBaseline = 'middle'; ctx.textAlign = 'left';
      let x = PAD.left;
      for (const s of this.series) {
        ctx.fillStyle = s.color;
        ctx.fillRect(x, 9, 10, 3);
        ctx.fillStyle = '#374151';
        ctx.fillText(s.name, x + 14, 11);
        x += 14 + ctx.measureText(s.name).width + 16;
        if (x > w - 40) break;
      }
    }

    _onMove(e) {
      if (!this.xs.length || !this._plot) return;
      const rect = this.canvas.getBoundingClientRect();
      const mx = e.clientX - rect.left;
      let best = 0, dist = Infinity;
      this.xs.forEach((x, i) => {
        const d = Math.abs((this.xs.length > 1 ? this._sx(x) : this._plot.x + this._plot.w / 2) - mx);
        if (d < dist) { dist = d; best = i; }
      });
      if (best !== this.hover) { this.hover = best; this.render(); }
    }

    /** A vertical rule at point `i` and a box listing each series' value. */
    _tooltip(i) {
      const ctx = this.ctx, plot = this._plot;
      const px = this.xs.length > 1 ? this._sx(this.xs[i]) : plot.x + plot.w / 2;
      ctx.strokeStyle = '#9ca3af'; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(Math.round(px) + 0.5, plot.y); ctx.lineTo(Math.round(px) + 0.5, plot.y + plot.h); ctx.stroke();
      const lines = [formatTime(this.xs[i])].concat(
        this.series.map((s, k) => s.name + ': ' + formatValue(this.ys[k][i], this.unit, true)));
      const bw = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 26;
      const bh = lines.length * 16 + 8;
      let bx = px + 10;
      if (bx + bw > plot.x + plot.w) bx = px - 10 - bw;
      const by = plot.y + 4;
      ctx.fillStyle = 'rgba(17,24,39,0.92)';
      ctx.beginPath();
      if (ctx.roundRect) ctx.roundRect(bx, by, bw, bh, 4); else ctx.rect(bx, by, bw, bh);
      ctx.fill();
      ctx.textAlign = 'left'; ctx.textBaseline = 'middle';
      lines.forEach((l, k) => {
        const ly = by + 12 + k * 16;
        if (k > 0) { ctx.fillStyle = this.series[k - 1].color; ctx.fillRect(bx + 8, ly - 4, 8, 8); }
        ctx.fillStyle = '#f9fafb';
        ctx.fillText(l, bx + (k > 0 ? 20 : 8), ly);
      });
      // Dots on the lines.
      this.series.forEach((s, k) => {
        const v = this.ys[k][i];
        if (v == null) return;
        ctx.fillStyle = s.color;
        ctx.beginPath(); ctx.arc(px, this._sy(v), 3, 0, 7); ctx.fill();
      });
    }
  }

  /** A time step (seconds) of 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1 h... */
  function niceTimeStep(raw) {
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600];
    for (const s of steps) if (s >= raw) return s;
    return Math.ceil(raw / 3600) * 3600;
  }

  VolleyChart.formatValue = formatValue;
  VolleyChart.formatTime = formatTime;
  global.VolleyChart = VolleyChart;
})(typeof window !== 'undefined' ? window : this);
