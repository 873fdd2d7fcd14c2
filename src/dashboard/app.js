/* vgpu dashboard: what vgpud knows, live, in one page, and the two admin
 * actions an operator needs in a hurry (quarantine and release a tenant).
 *
 * How it works: every REFRESH_MS it reads GET /api/v1/status (the JSON of
 * `vgpu-admin status --json`) and keeps the figures of the last HISTORY_MS
 * in memory (nothing is stored elsewhere, so a reload starts the charts
 * afresh). From successive samples it derives what vgpud only counts: GPU
 * time per tenant as a share of one GPU (the delta of gpu_time_s, plus the
 * lease each tenant holds right now, over the delta of vgpud's uptime), and
 * request-latency and lease-wait percentiles over the last LAT_WINDOW_MS
 * (from the deltas of the histogram buckets, interpolated as vgpud and
 * Prometheus' histogram_quantile do). The tables show vgpud's own figures.
 *
 * Rows are kept by key (tenant name, GPU UUID) and updated in place, so a
 * refresh never replaces a button under the pointer. Charts are drawn on
 * canvases by chart.js (no library); nothing is fetched from any other
 * origin. Admin actions send the token pasted into the page (kept in
 * sessionStorage, so it goes with the tab) as "Authorization: Bearer"; a
 * 401 or 403 is said in words. Elements carry ids and data-* attributes
 * (data-tenant, data-gpu, data-value ...) that the browser test reads. */
import { LineChart } from "/static/chart.js";

const REFRESH_MS = 1000;
const STALE_MS = 5000;
const FETCH_TIMEOUT_MS = 5000;
const SHARE_MIN_DT_S = 0.5; // a GPU share over less time than this is mostly noise
const HISTORY_MS = 5 * 60 * 1000;
const LAT_WINDOW_MS = 10 * 1000;
const TOKEN_KEY = "vgpu.adminToken";
const PALETTE = ["#1f77b4", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8",
                 "#0b7285", "#b08900", "#5c940d", "#862e9c", "#495057"];

const $ = (sel, root) => (root || document).querySelector(sel);

/* An element with attributes (className, dataset, style, text, on* handlers). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null) continue;
    if (k === "text") e.textContent = v;
    else if (k === "className") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    // through the CSSOM: vgpud's Content-Security-Policy refuses style="" attributes
    else if (k === "style") for (const [p, pv] of Object.entries(v)) e.style.setProperty(p, pv);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function setText(node, text) {
  const s = String(text);
  if (node.textContent !== s) node.textContent = s;
}

/* ---- formatting ------------------------------------------------------ */

const trim3 = (v) => String(+v.toPrecision(3));

function fmtBytes(n) {
  if (n == null || !isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? trim3(n) : Math.round(n)} ${units[i]}`;
}

function fmtMs(ms) {
  if (ms == null || !isFinite(ms)) return "–";
  if (ms < 1) return `${trim3(ms * 1000)} µs`;
  if (ms < 1000) return `${trim3(ms)} ms`;
  return `${trim3(ms / 1000)} s`;
}

/* p50 / p95 / p99 in one unit, the one that suits the largest. */
function fmtPercentiles(h) {
  const v = h ? [h.p50_ms, h.p95_ms, h.p99_ms] : [];
  if (!h || v.some((x) => x == null || !isFinite(x))) return "–";
  const top = Math.max(...v);
  const [div, unit] = top < 1 ? [1e-3, "µs"] : top < 1000 ? [1, "ms"] : [1e3, "s"];
  const f = (x) => { x /= div; return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2); };
  return `${v.map(f).join("\u2009/\u2009")} ${unit}`; // thin spaces: the column stays narrow
}

function fmtDuration(s) {
  if (s == null || !isFinite(s)) return "–";
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
  if (d) return `${d} d ${h % 24} h`;
  if (h) return `${h} h ${m % 60} min`;
  return `${m} min ${Math.floor(s % 60)} s`;
}

function fmtGpuTime(s) {
  if (s == null || !isFinite(s)) return "–";
  return s < 100 ? `${s.toFixed(s < 10 ? 2 : 1)} s` : fmtDuration(s);
}

const fmtPct = (v) => (v == null || !isFinite(v) ? "–" : `${v < 10 ? v.toFixed(1) : Math.round(v)} %`);
const fmtCount = (v) => (v == null || !isFinite(v) ? "–" : String(Math.round(v)));
const shortUuid = (u) => (u || "").replace(/^(GPU|MIG)-/, "").slice(0, 8);
const uuidHex = (u) => (u || "").replace(/^(GPU|MIG)-/, "");

/* ---- the API --------------------------------------------------------- */

/* status 0: no answer at all; code: vgpud's error code, when it sent one. */
class ApiError extends Error {
  constructor(status, message, code) { super(message); this.status = status; this.code = code || ""; }
}

const token = {
  get: () => { try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; } },
  set: (t) => { try { t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY); } catch { /* private mode */ } },
};

/* The ApiError of a refused request: vgpud's body is {"error": {"code",
 * "message"}}; anything else (a proxy's page) is shown as it came. */
function refusal(status, body, text, statusText) {
  const e = body && body.error;
  if (e && typeof e === "object") return new ApiError(status, e.message || e.code || statusText, e.code);
  if (typeof e === "string") return new ApiError(status, body.message || e, e);
  return new ApiError(status, (text || statusText || "").trim().slice(0, 300));
}

async function api(method, path) {
  const headers = { Accept: "application/json" };
  const t = token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  let res, text;
  try {
    res = await fetch(path, { method, headers, cache: "no-store", credentials: "omit", signal: abort.signal });
    text = await res.text();
  } catch (err) {
    throw new ApiError(0, abort.signal.aborted ? `vgpud did not answer within ${FETCH_TIMEOUT_MS / 1000} s`
                                               : `cannot reach vgpud (${err.message})`);
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) throw refusal(res.status, body, text, res.statusText);
  if (body === null && text) throw new ApiError(res.status, "vgpud's answer is not JSON");
  return body;
}

/* What a refused request means, for a person. */
function describe(err, what) {
  const said = err.message ? ` vgpud said: "${err.message}"` : "";
  if (err.status === 401)
    return `${what} refused: HTTP 401 Unauthorized. ${token.get() ? "vgpud does not accept the admin token in use" : "No admin token was sent"}: paste one (the output of \`vgpu-admin token create --admin\`) into "Admin token" above.${said}`;
  if (err.status === 403)
    return `${what} refused: HTTP 403 Forbidden. The token in use is not an admin token (a tenant's token admits only its processes): paste one from \`vgpu-admin token create --admin\`.${said}`;
  if (!err.status) return `${what} failed: ${err.message}`;
  return `${what} failed: HTTP ${err.status}${err.code ? ` ${err.code}` : ""}: ${err.message}`;
}

/* ---- notices --------------------------------------------------------- */

function notify(kind, text, status) {
  const box = $("#notices");
  const n = el("div", { className: `notice ${kind}`, role: kind === "error" ? "alert" : "status",
                        dataset: { status: status != null ? String(status) : "" } },
               el("span", { className: "msg", text }),
               el("button", { type: "button", className: "dismiss", "aria-label": "Dismiss",
                              text: "×", onclick: () => n.remove() }));
  box.append(n);
  while (box.children.length > 4) box.firstElementChild.remove();
  if (kind !== "error") setTimeout(() => n.remove(), 5000);
  return n;
}

/* ---- history: samples and what is derived from them ------------------ */

const S = {
  samples: [],      // {t, up, epoch, tenants: {name: {gpu, share, mem, queue, req, wait, reqQ, waitQ}}}
  epoch: 0,         // counts vgpud restarts (uptime going back): no delta across one
  status: null,
  colors: new Map(), // tenant -> colour, in order of first sight, for the page's life
  rows: new Map(),
  gpuRows: new Map(),
  paused: false,
  lastOk: 0,
  timer: 0,
};

function colorOf(name) {
  if (!S.colors.has(name)) S.colors.set(name, PALETTE[S.colors.size % PALETTE.length]);
  return S.colors.get(name);
}

/* The q-quantile (seconds) of a histogram whose buckets have the upper
 * bounds `le` (the last bucket is above them all): vgpud's interpolation. */
function quantile(buckets, le, q) {
  const n = buckets.reduce((a, b) => a + b, 0);
  if (!n) return null;
  const rank = q * n;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    if (buckets[i] && below + buckets[i] >= rank) {
      if (i >= le.length) return le[le.length - 1];
      const lo = i ? le[i - 1] : 0, hi = le[i];
      return lo + (hi - lo) * (rank - below) / buckets[i];
    }
    below += buckets[i];
  }
  return le[le.length - 1];
}

function windowQuantiles(now, base, le) {
  if (!now || !base || !le) return null;
  const d = now.map((v, i) => Math.max(0, v - (base[i] || 0)));
  const out = {};
  for (const [k, q] of [["p50", 0.5], ["p95", 0.95], ["p99", 0.99]]) {
    const s = quantile(d, le, q);
    out[k] = s == null ? null : s * 1e3;
  }
  return out;
}

function addSample(st) {
  const t = Date.now();
  const up = st.daemon && typeof st.daemon.uptime_s === "number" ? st.daemon.uptime_s : null;
  const last = S.samples[S.samples.length - 1];
  if (last && (up == null || last.up == null || up < last.up)) S.epoch++;
  // the share is taken against the newest sample at least SHARE_MIN_DT_S
  // older (an action's extra refresh comes moments after the last one)
  let prev = null;
  for (let i = S.samples.length - 1; i >= 0 && !prev; i--) {
    const s = S.samples[i];
    if (s.epoch !== S.epoch) break;
    if (up - s.up >= SHARE_MIN_DT_S) prev = s;
  }
  const le = st.scheduler && st.scheduler.wait_buckets_s;
  // the oldest sample of this epoch inside the latency window
  let base = null;
  for (const s of S.samples) if (s.epoch === S.epoch && s.t >= t - LAT_WINDOW_MS) { base = s; break; }
  const sample = { t, up, epoch: S.epoch, tenants: {} };
  for (const tn of st.tenants || []) {
    const gpu = tn.gpu_time_s || 0; // the lease held now included
    const p = prev && prev.tenants[tn.name];
    const dt = prev ? up - prev.up : 0;
    const req = tn.request_latency && tn.request_latency.buckets;
    const wait = tn.lease_wait && tn.lease_wait.buckets;
    const b = base && base.tenants[tn.name];
    sample.tenants[tn.name] = {
      gpu,
      share: p && dt > 0 ? Math.max(0, (gpu - p.gpu) / dt * 100) : null,
      mem: tn.memory_used == null ? null : tn.memory_used,
      queue: tn.queue_depth == null ? null : tn.queue_depth,
      req, wait,
      reqQ: b ? windowQuantiles(req, b.req, le) : null,
      waitQ: b ? windowQuantiles(wait, b.wait, le) : null,
    };
  }
  S.samples.push(sample);
  while (S.samples.length && S.samples[0].t < t - HISTORY_MS) S.samples.shift();
  return sample;
}

/* ---- charts (drawn by chart.js) --------------------------------------- */

const charts = {};

function seriesOf(name, pick, extra) {
  return Object.assign({ key: name, tenant: name, label: name, color: colorOf(name),
    points: S.samples.map((s) => [s.t, s.tenants[name] ? pick(s.tenants[name]) : null]) }, extra);
}

const LAT_SERIES = [
  ["req", "reqQ", "p50", "#2b8a3e"], ["req", "reqQ", "p95", "#e8590c"], ["req", "reqQ", "p99", "#c92a2a"],
  ["wait", "waitQ", "p50", "#2b8a3e"], ["wait", "waitQ", "p95", "#e8590c"], ["wait", "waitQ", "p99", "#c92a2a"],
];

function drawCharts() {
  const names = (S.status && S.status.tenants || []).map((t) => t.name);
  const now = Date.now();
  charts.share.set(names.map((n) => seriesOf(n, (x) => x.share)), now);
  charts.memory.set(names.map((n) => seriesOf(n, (x) => x.mem)), now);
  charts.queue.set(names.map((n) => seriesOf(n, (x) => x.queue)), now);
  const sel = $("#latency-tenant");
  const who = sel.value;
  charts.latency.set(who ? LAT_SERIES.map(([kind, field, q, color]) => ({
    key: `${kind}-${q}`, tenant: who, color, dash: kind === "wait",
    label: `${kind === "req" ? "req" : "wait"} ${q}`,
    points: S.samples.map((s) => [s.t, s.tenants[who] && s.tenants[who][field] ? s.tenants[who][field][q] : null]),
  })) : [], now);
}

/* The latency chart's tenant choice follows the tenants that exist; the
 * first one with requests is the default. */
function syncLatencySelect(tenants) {
  const sel = $("#latency-tenant");
  const names = tenants.map((t) => t.name);
  const have = Array.from(sel.options, (o) => o.value);
  if (have.join("\n") !== names.join("\n")) {
    const keep = sel.value;
    sel.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
    if (names.includes(keep)) sel.value = keep;
    else sel.dataset.auto = "1";
  }
  if (sel.dataset.auto) {
    const busy = tenants.find((t) => t.request_latency && t.request_latency.count > 0);
    if (busy) { sel.value = busy.name; delete sel.dataset.auto; }
  }
}

/* ---- tables ---------------------------------------------------------- */

/* Updates a keyed table body in place: rows of keys no longer there go,
 * new ones are made by make(key), and the order follows `keys`. */
function syncRows(tbody, cache, keys, make) {
  for (const [k, row] of cache) if (!keys.includes(k)) { row.tr.remove(); cache.delete(k); }
  keys.forEach((k, i) => {
    if (!cache.has(k)) cache.set(k, make(k));
    const tr = cache.get(k).tr;
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
  });
}

/* A row of cells named by `cols`, each a <td> (or <th> for the first). */
function makeRow(cols, attrs) {
  const tr = el("tr", attrs);
  const cell = {};
  cols.forEach(([name, cls], i) => {
    cell[name] = el(i === 0 ? "th" : "td", { className: cls || null, dataset: { col: name }, scope: i === 0 ? "row" : null });
    tr.append(cell[name]);
  });
  return { tr, cell };
}

function renderGpus(st) {
  const usedBy = {};
  for (const t of st.tenants || [])
    for (const [u, b] of Object.entries(t.memory_used_by_gpu || {})) usedBy[uuidHex(u)] = (usedBy[uuidHex(u)] || 0) + b;
  const sched = {};
  for (const g of (st.scheduler && st.scheduler.gpus) || []) sched[uuidHex(g.uuid)] = g;
  const gpus = st.gpus || [];
  $("#gpus-empty").hidden = gpus.length > 0;
  syncRows($("#gpus tbody"), S.gpuRows, gpus.map((g) => g.uuid), (uuid) => makeRow([
    ["index", "num"], ["name"], ["uuid", "mono"], ["pci", "mono"], ["memory"], ["pools"],
    ["holder"], ["waiting", "num"], ["handoffs", "num"], ["state"]], { dataset: { gpu: uuid } }));
  for (const g of gpus) {
    const { tr, cell } = S.gpuRows.get(g.uuid);
    const hex = uuidHex(g.uuid), sg = sched[hex] || {}, used = usedBy[hex] || 0;
    tr.dataset.state = g.state || "";
    setText(cell.index, g.index == null ? "–" : g.index);
    setText(cell.name, g.name || "–");
    cell.name.title = g.mig_enabled ? "MIG enabled" : g.parent ? `MIG instance of ${g.parent}` : "";
    setText(cell.uuid, shortUuid(g.uuid));
    cell.uuid.title = g.uuid;
    setText(cell.pci, g.pci_bus_id || "–");
    setText(cell.memory, `${fmtBytes(used)} / ${fmtBytes(g.memory_total)}`);
    setText(cell.pools, (g.pools || []).join(", ") || "none");
    cell.pools.classList.toggle("muted", !(g.pools || []).length);
    setText(cell.holder, sg.holder ? `${sg.holder.tenant} · ${fmtDuration(sg.holder.held_s)}` : "free");
    cell.holder.dataset.tenant = sg.holder ? sg.holder.tenant : "";
    cell.holder.classList.toggle("muted", !sg.holder);
    setText(cell.waiting, fmtCount(sg.waiting));
    setText(cell.handoffs, fmtCount(sg.handoffs));
    setText(cell.state, g.state || "–");
    cell.state.className = g.state === "present" ? "" : "warn";
  }
}

function renderPools(st) {
  const index = {};
  for (const g of st.gpus || []) index[g.uuid] = g.index;
  const pools = st.pools || [];
  $("#pools-empty").hidden = pools.length > 0;
  const tbody = $("#pools tbody");
  tbody.replaceChildren(...pools.map((p) => el("tr", { dataset: { pool: p.name } },
    el("th", { scope: "row", text: p.name }),
    el("td", { text: (p.gpus || []).map((u) => (index[u] != null ? `#${index[u]}` : shortUuid(u))).join(", ") || "none",
               title: (p.gpus || []).join("\n") }),
    el("td", { className: "num", text: fmtCount(p.tenants) }))));
  const s = st.scheduler || {}, w = st.weights || {};
  setText($("#sched"), `Quantum ${s.quantum_ms != null ? trim3(s.quantum_ms) : "–"} ms · cap window ${s.cap_window_ms != null ? trim3(s.cap_window_ms) : "–"} ms · weights high ${w.high ?? "–"}, medium ${w.medium ?? "–"}, low ${w.low ?? "–"}`);
}

const NONE = "none"; // a limit not set

const TENANT_COLS = [["name", "name"], ["pool"], ["priority"], ["state"],
  ["memory", "num"], ["share", "num"], ["rate", "num"], ["max_inflight", "num"],
  ["memory_used", "memcell"], ["gpu_time", "num"], ["gpu_pct", "num"], ["queue", "num"], ["inflight", "num"],
  ["lease_wait", "num"], ["latency", "num"], ["procs", "num"], ["action", "action"]];

function makeTenantRow(name) {
  const r = makeRow(TENANT_COLS, { dataset: { tenant: name } });
  r.cell.name.append(el("span", { className: "swatch", style: { "--c": colorOf(name) }, "aria-hidden": "true" }),
                     r.nameText = el("span", { text: name }), r.vm = el("span", { className: "vm" }));
  r.prio = el("span", { className: "badge" });
  r.cell.priority.append(r.prio);
  r.stateBadge = el("span", { className: "badge" });
  r.cell.state.append(r.stateBadge);
  r.memText = el("span");
  r.bar = el("span", { className: "bar", "aria-hidden": "true" }, r.fill = el("span"));
  r.cell.memory_used.append(r.memText, r.bar);
  r.button = el("button", { type: "button", dataset: { tenant: name }, onclick: () => act(r) });
  r.cell.action.append(r.button);
  return r;
}

function renderTenants(st, sample) {
  const tenants = st.tenants || [];
  $("#tenants-empty").hidden = tenants.length > 0;
  syncRows($("#tenants tbody"), S.rows, tenants.map((t) => t.name), makeTenantRow);
  for (const t of tenants) {
    const r = S.rows.get(t.name), c = r.cell, live = sample.tenants[t.name] || {};
    const quarantined = t.state === "quarantined";
    r.tr.dataset.state = t.state || "";
    r.tr.dataset.priority = t.priority || "";
    r.tr.dataset.gpuTimeS = String(live.gpu);
    r.tr.dataset.memoryUsed = String(t.memory_used || 0);
    r.tr.classList.toggle("quarantined", quarantined);
    setText(r.vm, t.vm_id != null ? ` vm ${t.vm_id}` : "");
    setText(c.pool, t.pool || "–");
    setText(r.prio, t.priority || "–");
    r.prio.className = `badge prio-${t.priority}`;
    setText(r.stateBadge, t.state || "–");
    r.stateBadge.className = `badge state-${t.state}`;
    setText(c.memory, t.memory ? fmtBytes(t.memory) : NONE);
    setText(c.share, t.share ? `${t.share} %` : NONE);
    setText(c.rate, t.rate ? `${t.rate}/s${t.burst ? ` (${t.burst})` : ""}` : NONE);
    setText(c.max_inflight, t.max_inflight ? t.max_inflight : NONE);
    for (const k of ["memory", "share", "rate", "max_inflight"]) {
      c[k].classList.toggle("muted", !t[k]);
      c[k].title = t[k] ? "" : "no limit";
    }
    const used = t.memory_used || 0;
    setText(r.memText, fmtBytes(used));
    const frac = t.memory ? Math.min(1, used / t.memory) : 0;
    r.fill.style.width = `${(frac * 100).toFixed(1)}%`;
    r.bar.hidden = !t.memory;
    r.bar.classList.toggle("high", frac > 0.9);
    c.memory_used.title = t.memory ? `${fmtBytes(used)} of ${fmtBytes(t.memory)} (${(frac * 100).toFixed(0)} %)` : "no limit";
    setText(c.gpu_time, fmtGpuTime(live.gpu));
    setText(c.gpu_pct, fmtPct(live.share));
    setText(c.queue, fmtCount(t.queue_depth));
    c.queue.classList.toggle("warn", t.queue_depth > 0);
    setText(c.inflight, fmtCount(t.inflight));
    setText(c.lease_wait, fmtPercentiles(t.lease_wait));
    c.lease_wait.title = t.lease_wait ? `${t.lease_wait.count} lease waits` : "";
    setText(c.latency, fmtPercentiles(t.request_latency));
    c.latency.title = t.request_latency ? `${t.request_latency.count} requests` : "";
    setText(c.procs, (t.processes || []).length);
    c.procs.title = (t.processes || []).length ? `pids ${(t.processes || []).join(", ")}` : "";
    if (!r.busy) {
      const action = quarantined ? "release" : "quarantine";
      r.button.dataset.action = action;
      r.button.className = action === "quarantine" ? "danger" : "";
      setText(r.button, quarantined ? "Release" : "Quarantine");
      r.button.setAttribute("aria-label", `${quarantined ? "Release" : "Quarantine"} tenant ${t.name}`);
      r.button.title = quarantined ? "End the quarantine: the tenant gets GPU time again"
                                   : "Stop the tenant's GPU time until released";
    }
  }
}

/* ---- admin actions --------------------------------------------------- */

async function act(r) {
  const name = r.tr.dataset.tenant, action = r.button.dataset.action;
  if (r.busy) return;
  r.busy = true;
  r.button.disabled = true;
  r.button.setAttribute("aria-busy", "true");
  try {
    await api("POST", `/api/v1/tenants/${encodeURIComponent(name)}/${action}`);
    notify("ok", `Tenant ${name} ${action === "quarantine" ? "quarantined" : "released"}.`);
  } catch (err) {
    notify("error", describe(err, `${action === "quarantine" ? "Quarantine" : "Release"} ${name}`), err.status);
  } finally {
    r.busy = false;
    r.button.disabled = false;
    r.button.removeAttribute("aria-busy");
    refresh();
  }
}

/* ---- the refresh loop ------------------------------------------------ */

function setConn(state, text) {
  const c = $("#conn");
  c.dataset.state = state;
  setText($("#conn-text"), text);
}

let authNotice = null;
let refreshing = false, again = false;

/* One refresh at a time: one asked for meanwhile (after an action) runs
 * as soon as the current one ends, and the loop goes on from there. */
async function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = true;
  clearTimeout(S.timer);
  try {
    const body = await api("GET", "/api/v1/status");
    const st = body && Array.isArray(body.tenants) ? body : null;
    if (!st) throw new ApiError(200, "vgpud's status has no tenants list");
    S.status = st;
    S.lastOk = Date.now();
    if (authNotice) { authNotice.remove(); authNotice = null; }
    const sample = addSample(st);
    const d = st.daemon || {};
    setText($("#daemon"), `vgpud ${d.version || "?"} · up ${fmtDuration(d.uptime_s)} · ${fmtCount(d.connections)} connection${d.connections === 1 ? "" : "s"} · ${(st.clients || []).length} client${(st.clients || []).length === 1 ? "" : "s"}`);
    setConn(S.paused ? "paused" : "live", `${S.paused ? "paused" : "live"} · ${new Date(S.lastOk).toLocaleTimeString()}`);
    renderGpus(st);
    renderPools(st);
    renderTenants(st, sample);
    syncLatencySelect(st.tenants || []);
    drawCharts();
  } catch (err) {
    const auth = err.status === 401 || err.status === 403;
    setConn(auth ? "auth" : "error", auth ? `refused (HTTP ${err.status})` : `no answer${S.lastOk ? ` since ${new Date(S.lastOk).toLocaleTimeString()}` : ""}`);
    if (auth && !authNotice) authNotice = notify("error", describe(err, "Reading the status"), err.status);
    if (!auth) $("#conn").title = err.message;
  } finally {
    refreshing = false;
    if (again) { again = false; refresh(); }
    else if (!S.paused) S.timer = setTimeout(refresh, REFRESH_MS);
  }
}

/* Between refreshes: say when the figures have gone stale. */
setInterval(() => {
  if (S.lastOk && Date.now() - S.lastOk > STALE_MS && $("#conn").dataset.state === "live")
    setConn("stale", `stale since ${new Date(S.lastOk).toLocaleTimeString()}`);
}, 1000);

function showToken() {
  const t = token.get(), st = $("#token-state");
  st.dataset.set = t ? "true" : "false";
  setText(st, t ? "admin token in use" : "no token: read only"); // none of it shown: it is a secret
}

function init() {
  setText($("#history-min"), HISTORY_MS / 60000);
  charts.share = new LineChart($("#chart-share"), { historyMs: HISTORY_MS, minMax: 100, softMax: 100, format: (v, axis) => (axis ? `${Math.round(v)} %` : fmtPct(v)) });
  charts.memory = new LineChart($("#chart-memory"), { historyMs: HISTORY_MS, minMax: 1 << 20, binary: true, format: (v) => fmtBytes(v) });
  charts.queue = new LineChart($("#chart-queue"), { historyMs: HISTORY_MS, minMax: 4, integer: true, format: (v) => fmtCount(v) });
  charts.latency = new LineChart($("#chart-latency"), { historyMs: HISTORY_MS, log: true, format: (v) => fmtMs(v) });
  $("#latency-tenant").addEventListener("change", (e) => { delete e.target.dataset.auto; drawCharts(); });
  $("#latency-tenant").dataset.auto = "1";
  $("#token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("#token").value.trim();
    if (!v) { notify("error", "The admin token is empty: paste the output of `vgpu-admin token create --admin`."); return; }
    token.set(v);
    $("#token").value = "";
    showToken();
    notify("ok", "Admin token in use for this tab (kept in sessionStorage).");
    refresh();
  });
  $("#token-clear").addEventListener("click", () => { token.set(""); showToken(); refresh(); });
  $("#pause").addEventListener("click", (e) => {
    S.paused = !S.paused;
    e.target.setAttribute("aria-pressed", String(S.paused));
    setText(e.target, S.paused ? "Resume" : "Pause");
    if (S.paused) { clearTimeout(S.timer); setConn("paused", "paused"); } else refresh();
  });
  showToken();
  refresh();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
