/* chart: a small time-series line chart on a canvas, for the dashboard
 * (app.js). No library: the page loads nothing from elsewhere, and what it
 * needs is little: lines over the last few minutes, gaps where a value is
 * missing, a linear axis from 0 or a log one, a legend that doubles as the
 * readout (the values now, or at the time under the pointer) and as the
 * test's handle (each item's data-tenant, data-series and data-value).
 * The axes' colours come from the page's CSS custom properties (--muted,
 * --grid), so the chart follows the light or dark theme. */

/* An <li> of the legend. */
function item(s, text, value) {
  const li = document.createElement("li");
  li.dataset.series = s.key;
  if (s.tenant != null) li.dataset.tenant = s.tenant;
  li.dataset.value = value == null ? "" : String(value);
  const sw = document.createElement("span");
  sw.className = `swatch${s.dash ? " dashed" : ""}`;
  sw.style.setProperty("--c", s.color); // the CSSOM: vgpud's CSP refuses style="" attributes
  sw.setAttribute("aria-hidden", "true");
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = s.label;
  const v = document.createElement("span");
  v.className = "value";
  v.textContent = text;
  li.append(sw, label, v);
  return li;
}

function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/* A time-series line chart on a canvas: series {key, label, color, dash,
 * tenant, points: [[t, v|null]...]}; the x axis the last opts.historyMs
 * milliseconds (less while there is less: whole minutes, one at least), the y axis linear from 0 (to at least opts.minMax, to
 * opts.softMax when the data is within 5 % of it; whole numbers with
 * opts.integer, binary units with opts.binary) or log (opts.log);
 * opts.format(v, axis) writes a value. Moving the pointer over it shows the values at that time in the
 * legend. */
export class LineChart {
  constructor(fig, opts) {
    this.fig = fig;
    this.canvas = fig.querySelector("canvas");
    this.legend = fig.querySelector(".legend");
    this.opts = opts;
    this.series = [];
    this.hoverX = null;
    this.canvas.addEventListener("mousemove", (e) => {
      this.hoverX = e.clientX - this.canvas.getBoundingClientRect().left;
      this.draw();
    });
    this.canvas.addEventListener("mouseleave", () => { this.hoverX = null; this.draw(); });
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  set(series, now) { this.series = series; this.now = now; this.draw(); }

  /* The time the x axis spans: what there is, from a minute up to
   * opts.historyMs, so a page just opened does not draw in a sliver. */
  span(now) {
    let first = now;
    for (const s of this.series) if (s.points.length) first = Math.min(first, s.points[0][0]);
    return Math.min(this.opts.historyMs, Math.max(60e3, Math.ceil((now - first) / 60e3) * 60e3));
  }

  yRange() {
    const o = this.opts;
    let lo = Infinity, hi = -Infinity;
    for (const s of this.series) for (const [, v] of s.points)
      if (v != null && isFinite(v) && (!o.log || v > 0)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (o.log) {
      if (!isFinite(lo)) { lo = 0.01; hi = 10; }
      let a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
      if (b - a < 2) b = a + 2;
      return { lo: Math.pow(10, a), hi: Math.pow(10, b), ticks: Array.from({ length: b - a + 1 }, (_, i) => Math.pow(10, a + i)) };
    }
    hi = Math.max(isFinite(hi) ? hi : 0, o.minMax || 1);
    if (o.softMax && hi <= o.softMax * 1.05) hi = o.softMax; // 100.4 % is noise on a 100 % axis
    // bytes: steps of 1, 2, 5 ... KiB, MiB, GiB rather than of powers of ten
    const unit = o.binary ? Math.pow(1024, Math.max(0, Math.floor(Math.log(hi) / Math.log(1024)))) : 1;
    const step = o.integer ? Math.max(1, Math.ceil(niceStep(hi, 4))) : niceStep(hi / unit, 4) * unit;
    hi = Math.ceil(hi / step - 1e-9) * step;
    const ticks = [];
    for (let v = 0; v <= hi + step / 2; v += step) ticks.push(v);
    return { lo: 0, hi, ticks };
  }

  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (!w || !h) return;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const css = getComputedStyle(document.documentElement);
    const ink = css.getPropertyValue("--muted").trim() || "#555";
    const grid = css.getPropertyValue("--grid").trim() || "#ddd";
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "11px system-ui, sans-serif";
    const L = 54, R = 8, T = 8, B = 18, pw = w - L - R, ph = h - T - B;
    const now = this.now || Date.now(), span = this.span(now), t0 = now - span;
    const yr = this.yRange(), o = this.opts;
    const X = (t) => L + (t - t0) / span * pw;
    const Y = o.log
      ? (v) => T + ph - (Math.log10(v) - Math.log10(yr.lo)) / (Math.log10(yr.hi) - Math.log10(yr.lo)) * ph
      : (v) => T + ph - (v - yr.lo) / (yr.hi - yr.lo) * ph;

    ctx.lineWidth = 1;
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    for (const v of yr.ticks) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.strokeStyle = grid;
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(L + pw, y); ctx.stroke();
      ctx.fillStyle = ink;
      ctx.fillText(o.format(v, true), L - 4, y);
    }
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    const tick = [10e3, 15e3, 30e3, 60e3, 120e3].find((s) => span / s <= 6) || 300e3;
    let free = w; // labels go right to left; one that would touch the last is left out
    for (let m = 0; m * tick <= span + 1; m++) {
      const x = Math.round(X(now - m * tick)) + 0.5;
      ctx.strokeStyle = grid;
      ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, T + ph); ctx.stroke();
      const ago = (m * tick) / 1000;
      const label = m === 0 ? "now" : ago < 60 ? `−${ago} s` : `−${ago / 60} min`;
      const lw = ctx.measureText(label).width;
      const left = Math.max(0, m === 0 ? x - lw : x - lw / 2);
      if (left + lw > free - 6) continue;
      ctx.fillStyle = ink;
      ctx.fillText(label, left, h - 4);
      free = left;
    }

    ctx.save();
    ctx.beginPath(); ctx.rect(L, T - 1, pw + 1, ph + 2); ctx.clip();
    ctx.lineWidth = 1.6;
    ctx.lineJoin = "round";
    let points = 0;
    for (const s of this.series) {
      ctx.strokeStyle = ctx.fillStyle = s.color;
      ctx.setLineDash(s.dash ? [5, 3] : []);
      ctx.beginPath();
      const dots = []; // points with no neighbour to draw a line to
      let run = 0, last = null;
      for (const [t, v] of s.points) {
        if (t < t0) continue;
        if (v == null || !isFinite(v) || (o.log && v <= 0)) {
          if (run === 1) dots.push(last);
          run = 0;
          continue;
        }
        points++;
        const x = X(t), y = Y(Math.min(Math.max(v, yr.lo), yr.hi));
        if (run) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        run++;
        last = [x, y];
      }
      if (run === 1) dots.push(last);
      ctx.stroke();
      for (const [x, y] of dots) { ctx.beginPath(); ctx.arc(x, y, 2, 0, 2 * Math.PI); ctx.fill(); }
    }
    ctx.restore();

    let at = null;
    if (this.hoverX != null && this.hoverX >= L && this.hoverX <= L + pw) {
      at = t0 + (this.hoverX - L) / pw * span;
      ctx.strokeStyle = ink;
      ctx.setLineDash([2, 2]);
      ctx.beginPath(); ctx.moveTo(this.hoverX + 0.5, T); ctx.lineTo(this.hoverX + 0.5, T + ph); ctx.stroke();
      ctx.setLineDash([]);
    }
    this.fig.dataset.points = String(points);
    this.drawLegend(at);
  }

  /* The legend: one item per series with its value now (or at the time
   * under the pointer); data-value carries the number for tests. */
  drawLegend(at) {
    const items = [];
    const summary = [];
    for (const s of this.series) {
      let v = null;
      if (at == null) {
        for (let i = s.points.length - 1; i >= 0 && v == null; i--) v = s.points[i][1];
      } else {
        let best = Infinity;
        for (const [t, pv] of s.points) if (Math.abs(t - at) < best) { best = Math.abs(t - at); v = pv; }
      }
      const text = v == null ? "–" : this.opts.format(v, false);
      summary.push(`${s.label} ${text}`);
      items.push(item(s, text, v));
    }
    this.legend.replaceChildren(...items);
    this.canvas.setAttribute("aria-label", `${this.fig.querySelector("figcaption").textContent.trim().replace(/\s+/g, " ")}: ${summary.join(", ") || "no data yet"}`);
  }
}
