// dashboard.browser: the dashboard that vgpud serves at /, in a real headless
// Chromium (Debian's), driven by playwright-core.
//
// It starts its own world: a simulated machine of two H100s (simgpu), vgpud
// with --http 127.0.0.1:0, two pools and three tenants (high, medium with a
// share cap, both on GPU 0; low alone on GPU 1) made with vgpu-admin, an
// admin token, and vgpu-work under libvgpu.so for the medium and the low
// one, as tests/hook/test-hook-sched.c runs them. Then it opens the page at 1280x800 and checks what an operator
// would look at: the GPUs with their pools, the tenants with their
// priorities, live figures that move while the work runs, a quarantine
// click that is refused without a token (401) and with a tenant's (403),
// said in words, and takes effect in vgpud with an admin token, and a release. All along it records the page's
// requests (none may leave 127.0.0.1:PORT) and console messages (none may
// be an error but the expected 401). A screenshot is kept as an artefact.
//
// Every process it starts gets PR_SET_PDEATHSIG (setpriv --pdeathsig KILL)
// so none outlives it, and is killed in `finally` on any failure; the
// tenants' shared memory (/dev/shm/<prefix>.*) is removed.
//
//   node test-dashboard.mjs BIN_DIR LIBVGPU SIMGPU_DIR OUT_DIR
//
// Environment: VGPU_CHROMIUM (default /usr/bin/chromium).
// Exit: 0 passed, 1 failed, 77 skipped (not an admin of vgpud: root or the
// vgpu group is needed to make pools and tenants).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";

const DEADLINE_MS = 150_000; // CTest's TIMEOUT is above this, so cleanup runs first
const [binDir, libvgpu, simgpuDir, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node test-dashboard.mjs BIN_DIR LIBVGPU SIMGPU_DIR OUT_DIR");
  process.exit(2);
}
const chromiumPath = process.env.VGPU_CHROMIUM || "/usr/bin/chromium";
const here = path.dirname(new URL(import.meta.url).pathname);

class Skip extends Error {}
class Missing extends Error {} // something to install: said without a stack

function log(...a) { console.log("#", ...a); }
function fail(msg) { throw new Error(msg); }
function check(cond, msg) { if (!cond) fail(msg); }

/* ---- what the test needs, or how to get it --------------------------------------- */

function prerequisites() {
  const problems = [];
  if (!fs.existsSync(chromiumPath))
    problems.push(`Chromium is not at ${chromiumPath}: install Debian's chromium ` +
                  "(scripts/deps.sh does: apt-get install chromium), or set VGPU_CHROMIUM to a Chromium binary");
  let playwright = null;
  try {
    playwright = createRequire(path.join(here, "package.json")).resolve("playwright-core");
  } catch {
    problems.push(`playwright-core is not installed in ${here}/node_modules: run ` +
                  `'npm ci --no-audit --no-fund' in ${here} (scripts/check.sh does it)`);
  }
  for (const f of [`${binDir}/vgpud`, `${binDir}/vgpu-admin`, `${binDir}/vgpu-work`, libvgpu])
    if (!fs.existsSync(f)) problems.push(`${f} is missing: build the vgpu tree first`);
  if (problems.length) throw new Missing(`cannot run the dashboard test:\n  - ${problems.join("\n  - ")}`);
  return playwright;
}

/* ---- the world: files, processes, shared memory ---------------------------------- */

const W = {
  dir: path.join(outDir, "run"),
  prefix: `vtdash${process.pid}`,
  children: new Set(),
};
W.state = path.join(W.dir, "simgpu.state");
W.db = path.join(W.dir, "vgpu.db");
W.portFile = path.join(W.dir, "http.port");
W.sock = path.join(W.dir, "vgpud.sock");
if (W.sock.length >= 100) W.sock = `/tmp/${W.prefix}.sock`; // sun_path holds 108 bytes

const ENV_DROP = ["VGPU_TENANT", "VGPU_COMPUTE_SHARE", "VGPU_PRIORITY", "VGPU_TOKEN", "VGPU_MEMORY_LIMIT",
                  "CUDA_DEVICE_SM_LIMIT", "CUDA_DEVICE_MEMORY_LIMIT", "LD_PRELOAD", "VGPU_SOCKET"];

/* The environment of every process of this world: its simulated machine,
 * its shared memory prefix and its socket, nothing of the caller's policy. */
function worldEnv(extra) {
  const env = { ...process.env };
  for (const k of ENV_DROP) delete env[k];
  return Object.assign(env, {
    SIMGPU_STATE: W.state,
    SIMGPU_DEVICES: "H100:80GiB,H100:80GiB",
    VGPU_ACCOUNT_PREFIX: W.prefix,
    VGPU_SOCKET: W.sock,
    LD_LIBRARY_PATH: simgpuDir,
  }, extra);
}

/* Removes /dev/shm/<prefix>.* of this run, and of earlier runs whose
 * process is gone (a run killed outright cannot clean up after itself). */
function removeShm(all) {
  let names = [];
  try { names = fs.readdirSync("/dev/shm"); } catch { return; }
  for (const n of names) {
    const m = /^vtdash(\d+)\./.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    if (pid === process.pid ? all : !alive) fs.rmSync(`/dev/shm/${n}`, { force: true });
  }
}

/* Starts argv with env in a process group of its own, killed with us. */
function start(what, argv, env) {
  const out = fs.openSync(path.join(W.dir, `${what}.log`), "w");
  const p = spawn("setpriv", ["--pdeathsig", "KILL", "--", ...argv],
                  { env, stdio: ["ignore", out, out], detached: true });
  fs.closeSync(out);
  p.what = what;
  p.exited = new Promise((resolve) => p.on("exit", (code, sig) => { W.children.delete(p); resolve({ code, sig }); }));
  W.children.add(p);
  return p;
}

async function stop(p, signal, waitMs) {
  if (!W.children.has(p)) return;
  try { process.kill(-p.pid, signal); } catch { /* gone */ }
  const r = await Promise.race([p.exited, sleep(waitMs).then(() => null)]);
  if (!r) {
    try { process.kill(-p.pid, "SIGKILL"); } catch { /* gone */ }
    await p.exited;
  }
}

function killAllNow() {
  for (const p of W.children) try { process.kill(-p.pid, "SIGKILL"); } catch { /* gone */ }
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
  process.on(sig, () => { killAllNow(); removeShm(true); process.exit(1); });

function admin(...args) {
  const r = spawnSync(`${binDir}/vgpu-admin`, ["--socket", W.sock, ...args],
                      { env: worldEnv(), encoding: "utf8", timeout: 20_000 });
  return { rc: r.status, out: r.stdout || "", err: (r.stderr || "") + (r.error ? String(r.error) : "") };
}

function adminOk(...args) {
  const r = admin(...args);
  check(r.rc === 0, `vgpu-admin ${args.join(" ")}: exit ${r.rc}: ${r.err.trim()}`);
  return r.out;
}

const adminJson = (...args) => JSON.parse(adminOk(...args, "--json"));

function tenantState(name) {
  const t = adminJson("status").tenants.find((x) => x.name === name);
  check(t, `vgpu-admin status lists no tenant ${name}`);
  return t.state;
}

async function until(what, fn, ms = 10_000, every = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) fail(`timed out after ${ms} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await sleep(every);
  }
}

async function startVgpud() {
  const vgpud = start("vgpud", [`${binDir}/vgpud`, "--foreground", "--socket", W.sock, "--db", W.db,
                                "--log-level", "info", "--http", "127.0.0.1:0", "--http-port-file", W.portFile],
                      worldEnv());
  const addr = await until("vgpud's --http-port-file", async () => {
    if (!W.children.has(vgpud)) fail(`vgpud exited: see ${W.dir}/vgpud.log`);
    return fs.existsSync(W.portFile) && fs.readFileSync(W.portFile, "utf8").trim();
  });
  await until("vgpud's control socket", () => admin("ping").rc === 0);
  log(`vgpud pid ${vgpud.pid}, HTTP on ${addr}, socket ${W.sock}`);
  return { vgpud, origin: `http://${addr}` };
}

/* vgpu-work under libvgpu.so for `tenant`: 1 ms kernels, four per
 * synchronise, until stopped (or 120 s). */
function startWork(tenant) {
  return start(`work-${tenant}`, ["env", `LD_PRELOAD=${libvgpu}`, `${binDir}/vgpu-work`, "--kernel", "busy",
                                  "--kernel-us", "1000", "--sync-every", "4", "--duration", "120"],
               worldEnv({ VGPU_TENANT: tenant }));
}

/* ---- the browser's side ------------------------------------------------------------- */

function watchPage(page, origin) {
  const seen = { requests: [], foreign: [], console: [], errors: [] };
  page.on("request", (r) => {
    const url = r.url();
    seen.requests.push(`${r.method()} ${url}`);
    if (!(url.startsWith(`${origin}/`) || url.startsWith("data:"))) seen.foreign.push(url);
  });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning")
      seen.console.push({ type: m.type(), text: m.text(), url: m.location() && m.location().url });
  });
  page.on("pageerror", (e) => seen.errors.push(String(e && e.stack ? e.stack : e)));
  return seen;
}

/* At 1280 x 800 the tables and the page fit the width: nothing scrolls sideways. */
async function fitsWidth(page) {
  for (const box of ["#gpus-h + .scroll", "#tenants-h + .scroll", "html"]) {
    const [sw, cw, cols] = await page.locator(box).first().evaluate((e) => [e.scrollWidth, e.clientWidth,
      Array.from(e.querySelectorAll("tbody tr:first-child > *"), (c) => `${c.dataset.col} ${Math.round(c.getBoundingClientRect().width)}`)]);
    check(sw <= cw, `at 1280 px, ${box} is ${sw} px wide in ${cw} px (columns: ${cols.join(", ")})`);
  }
}

const row = (page, name) => page.locator(`#tenants tbody tr[data-tenant="${name}"]`);
const gpuTime = async (page, name) => Number(await row(page, name).getAttribute("data-gpu-time-s"));
const legendValue = async (page, chart, name) => {
  const v = await page.locator(`#${chart} .legend li[data-tenant="${name}"]`).getAttribute("data-value");
  return v === "" || v == null ? null : Number(v);
};

async function run(playwrightPath) {
  const pw = await import(playwrightPath);
  const chromium = pw.chromium || pw.default.chromium;
  fs.rmSync(W.dir, { recursive: true, force: true });
  fs.mkdirSync(W.dir, { recursive: true });
  removeShm(false);

  const { origin } = await startVgpud();
  if (!adminJson("ping").admin)
    throw new Skip("not an admin of vgpud (root or group vgpu): pools and tenants cannot be made");
  const uid = String(process.getuid());
  adminOk("pool", "create", "A", "--gpus", "0");
  adminOk("pool", "create", "B", "--gpus", "1");
  adminOk("tenant", "add", "hi", "--pool", "A", "--priority", "high", "--memory", "8GiB", "--bind-uid", uid);
  adminOk("tenant", "add", "med", "--pool", "A", "--priority", "medium", "--share", "30", "--memory", "4GiB");
  adminOk("tenant", "add", "lo", "--pool", "B", "--priority", "low", "--rate", "200", "--burst", "20");
  const token = adminOk("token", "create", "--admin").trim();
  check(/^\S+$/.test(token), `token create --admin printed '${token}', not one token`);
  const tenantToken = adminOk("token", "create", "--tenant", "lo").trim();
  // med shares GPU 0 with hi (idle) under its 30 % cap; lo has GPU 1 alone
  startWork("med");
  startWork("lo");

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // Root needs --no-sandbox; the rest keeps Chromium off the network of
    // its own accord (updates, sync, field trials), which this test forbids.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-default-apps", "--disable-features=Translate,OptimizationHints,MediaRouter"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const seen = watchPage(page, origin);
    page.setDefaultTimeout(10_000);
    try {
      await checkPage(page, origin, token, tenantToken);
    } finally {
      const shot = path.join(outDir, "dashboard.png");
      await page.screenshot({ path: shot, fullPage: true }).then(() => log(`screenshot: ${shot}`),
                                                              (e) => log(`no screenshot: ${e.message}`));
      log(`the page made ${seen.requests.length} requests, ${new Set(seen.requests).size} distinct`);
    }
    check(seen.foreign.length === 0, `the page asked other origins than ${origin}:\n  ${seen.foreign.join("\n  ")}`);
    // The errors expected: Chromium's own lines for the 401 and the 403 of
    // the quarantine clicked without a token and with a tenant's.
    const unexpected = seen.console.filter((m) => !(m.type === "error" && /status of 40[13]/.test(m.text) &&
                                                   /\/api\/v1\/tenants\/lo\/quarantine$/.test(m.url || "")));
    check(unexpected.length === 0 && seen.errors.length === 0,
          `console errors or warnings on the page:\n  ${[...unexpected.map((m) => `${m.type}: ${m.text} (${m.url})`), ...seen.errors].join("\n  ")}`);
    await context.close();
  } finally {
    await browser.close();
  }
}

async function checkPage(page, origin, token, tenantToken) {
  await page.goto(`${origin}/`, { waitUntil: "load" });
  check((await page.title()) === "vgpu", `the page's title is '${await page.title()}'`);

  // The seeded world: three tenants with their priorities and limits.
  await page.locator("#conn[data-state=live]").waitFor();
  for (const [name, prio] of [["hi", "high"], ["med", "medium"], ["lo", "low"]]) {
    const r = row(page, name);
    await r.waitFor();
    check((await r.getAttribute("data-priority")) === prio, `${name}: data-priority is not ${prio}`);
    const shown = (await r.locator("[data-col=priority]").innerText()).trim();
    check(shown === prio, `${name}: the priority shown is '${shown}', not ${prio}`);
    check((await r.getAttribute("data-state")) === "active", `${name} is not shown active`);
  }
  check((await page.locator("#tenants tbody tr").count()) === 3, "the page shows other than 3 tenants");
  const medShare = (await row(page, "med").locator("[data-col=share]").innerText()).trim();
  check(medShare === "30 %", `med's share cap is shown as '${medShare}'`);
  const hiMem = (await row(page, "hi").locator("[data-col=memory]").innerText()).trim();
  check(hiMem === "8 GiB", `hi's memory limit is shown as '${hiMem}'`);
  log("tenants: hi high, med medium (share 30 %), lo low");
  await fitsWidth(page);

  // The GPUs, with the pools they serve.
  const gpus = page.locator("#gpus tbody tr[data-gpu]");
  check((await gpus.count()) === 2, `the page shows ${await gpus.count()} GPUs, not 2`);
  const pools = [];
  for (let i = 0; i < 2; i++) pools.push((await gpus.nth(i).locator("[data-col=pools]").innerText()).trim());
  check(pools.join(",") === "A,B", `the GPUs' pools are shown as ${pools.join(",")}`);
  check((await page.locator("#pools tbody tr[data-pool]").count()) === 2, "the pools table has not 2 rows");

  // Live figures move while the work runs: GPU time in the table, the
  // GPU-time chart, the memory chart.
  const t0 = await until("med to have GPU time", async () => { const v = await gpuTime(page, "med"); return v > 0 && v; }, 20_000);
  await sleep(3000);
  const t1 = await gpuTime(page, "med");
  log(`med's GPU time on the page: ${t0.toFixed(3)} s, 3 s later ${t1.toFixed(3)} s`);
  check(t1 > t0, `med's GPU time did not move: ${t0} -> ${t1}`);
  const share = await until("a GPU-time share for med and lo in the chart", async () => {
    const m = await legendValue(page, "chart-share", "med"), l = await legendValue(page, "chart-share", "lo");
    return m > 0 && l > 0 && [m, l];
  });
  log(`GPU-time chart: med ${share[0].toFixed(1)} % (cap 30 %), lo ${share[1].toFixed(1)} % of one GPU`);
  const mem = await until("med's memory in the chart", async () => { const v = await legendValue(page, "chart-memory", "med"); return v > 0 && v; });
  log(`memory chart: med ${mem} bytes`);
  for (const c of ["chart-share", "chart-memory", "chart-queue"])
    check(Number(await page.locator(`#${c}`).getAttribute("data-points")) > 0, `${c} draws no point`);
  const tenantDrawn = await page.locator("#latency-tenant").inputValue();
  await until("latency percentiles in the chart", async () =>
    Number(await page.locator("#chart-latency").getAttribute("data-points")) > 0);
  log(`latency chart: drawn for ${tenantDrawn}`);

  // Quarantine without a token: refused, and the page says so.
  const button = row(page, "lo").locator("button[data-action]");
  check((await button.getAttribute("data-action")) === "quarantine", "lo's button is not Quarantine");
  await button.click();
  const refusal = page.locator('#notices .notice.error[data-status="401"]');
  await refusal.waitFor();
  const said = await refusal.innerText();
  check(/401/.test(said) && /token/i.test(said), `the refusal says '${said}'`);
  check(tenantState("lo") === "active", "lo was quarantined without a token");
  log(`without a token: "${said.replace(/\s+/g, " ").trim()}"`);
  await refusal.locator("button.dismiss").click();

  // With a tenant's token: forbidden (403), and said so.
  await page.locator("#token").fill(tenantToken);
  await page.locator("#token-save").click();
  await button.click();
  const forbidden = page.locator('#notices .notice.error[data-status="403"]');
  await forbidden.waitFor();
  const said403 = await forbidden.innerText();
  check(/403/.test(said403) && /admin token/i.test(said403), `the 403 notice says '${said403}'`);
  check(tenantState("lo") === "active", "lo was quarantined with a tenant's token");
  log(`with a tenant's token: "${said403.replace(/\s+/g, " ").trim()}"`);
  await forbidden.locator("button.dismiss").click();

  // With the admin token: quarantine takes effect in vgpud.
  await page.locator("#token").fill(token);
  await page.locator("#token-save").click();
  await page.locator('#token-state[data-set="true"]').waitFor();
  check(!(await page.locator("#token").inputValue()), "the token field still shows the token");
  await button.click();
  await until("vgpu-admin status to show lo quarantined", () => tenantState("lo") === "quarantined");
  const api = await (await fetch(`${origin}/api/v1/tenants/lo`)).json();
  check(api.state === "quarantined", `GET /api/v1/tenants/lo says state ${api.state}`);
  await page.locator('#tenants tbody tr[data-tenant="lo"][data-state="quarantined"]').waitFor();
  await page.locator('#notices .notice.ok').first().waitFor();
  check((await button.getAttribute("data-action")) === "release", "lo's button did not become Release");
  log("quarantine: vgpud and the page show lo quarantined");
  await fitsWidth(page); // "quarantined" and "Release" are wider than "active" and "Quarantine"

  // A quarantined tenant gets no GPU time: lo's stands (once the lease it
  // held is drained), med's goes on.
  await sleep(1500);
  const q0 = await gpuTime(page, "lo"), m0 = await gpuTime(page, "med");
  await sleep(2000);
  const q1 = await gpuTime(page, "lo"), m1 = await gpuTime(page, "med");
  log(`quarantined, over 2 s: lo's GPU time ${q0.toFixed(3)} -> ${q1.toFixed(3)} s, med's ${m0.toFixed(3)} -> ${m1.toFixed(3)} s`);
  check(q1 - q0 < 0.05 && m1 > m0, "the page's GPU times do not show lo stopped and med running");
  await page.screenshot({ path: path.join(outDir, "dashboard-quarantined.png"), fullPage: true });

  // Release brings it back.
  await button.click();
  await until("vgpu-admin status to show lo active", () => tenantState("lo") === "active");
  await page.locator('#tenants tbody tr[data-tenant="lo"][data-state="active"]').waitFor();
  const q2 = await gpuTime(page, "lo");
  await until("lo's GPU time to move again", async () => (await gpuTime(page, "lo")) > q2 + 0.01, 10_000);
  log("release: lo active again, its GPU time moves");
  await sleep(1500); // a few more samples for the screenshot
  await fitsWidth(page); // with every chart and legend filled
}

/* ---- main ----------------------------------------------------------------------------- */

let rc = 0;
const deadline = setTimeout(() => {
  console.error(`dashboard test: over ${DEADLINE_MS / 1000} s, stopping`);
  killAllNow();
  removeShm(true);
  process.exit(1);
}, DEADLINE_MS);
try {
  await run(prerequisites());
  console.log("dashboard test: passed");
} catch (e) {
  if (e instanceof Skip) {
    console.log(`dashboard test: skipped: ${e.message}`);
    rc = 77;
  } else if (e instanceof Missing) {
    console.error(`dashboard test: FAILED: ${e.message}`);
    rc = 1;
  } else {
    console.error(`dashboard test: FAILED: ${e && e.stack ? e.stack : e}`);
    console.error(`logs of the processes it started: ${W.dir}/*.log`);
    rc = 1;
  }
} finally {
  for (const p of [...W.children].filter((c) => c.what !== "vgpud")) await stop(p, "SIGKILL", 5000);
  for (const p of [...W.children]) await stop(p, "SIGTERM", 10_000);
  removeShm(true);
  if (W.sock.startsWith("/tmp/")) fs.rmSync(W.sock, { force: true });
  clearTimeout(deadline);
}
process.exit(rc);
