// Real-browser check of the admin dashboard; run through scripts/browser_check.sh.
//
// Environment: SLUICE_URL, SLUICE_ADMIN_KEY, BROWSER_CHECK_OUT (PNG path),
// BROWSER_CHECK_MODULES (folder holding playwright-core; default scripts/browser/node_modules).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = process.env.BROWSER_CHECK_MODULES || path.join(here, 'browser', 'node_modules');
const { chromium } = createRequire(path.join(modules, 'index.js'))('playwright-core');

const BASE = (process.env.SLUICE_URL || '').replace(/\/+$/, '');
const KEY = process.env.SLUICE_ADMIN_KEY || '';
const OUT = process.env.BROWSER_CHECK_OUT || 'target/dashboard.png';
const SNAPSHOT_TIMEOUT_MS = 20000;
const TILES = [
  { field: 'p50_latency_ms', lower: true },
  { field: 'p99_latency_ms', lower: true },
  { field: 'cache_hit_rate_pct', lower: false },
  { field: 'guardrail_block_rate_pct', lower: true },
  { field: 'cost_per_request_usd', lower: true },
];

const failures = [];
const fail = (msg) => failures.push(msg);
const say = (msg) => console.log('[browser-check] ' + msg);

if (!BASE || !KEY) {
  console.error('browser-check: SLUICE_URL and SLUICE_ADMIN_KEY must be set');
  process.exit(2);
}

// Plain fetch with an optional Basic password and a bounded wait.
async function get(url, password) {
  const headers = {};
  if (password !== undefined) {
    headers.Authorization = 'Basic ' + Buffer.from('admin:' + password).toString('base64');
  }
  return fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(10000) });
}

// The page and its event stream challenge with Basic (so a browser asks for the key); the JSON
// API under /admin answers 401 with the API's Bearer challenge.
async function checkAuth() {
  const paths = [
    ['/admin/dashboard', /^basic\b/i, 'Basic'],
    ['/admin/dashboard/events', /^basic\b/i, 'Basic'],
    ['/admin/stats', /^bearer\b/i, 'Bearer'],
  ];
  for (const [what, pw] of [['no credentials', undefined], ['a wrong key', KEY + '-wrong']]) {
    for (const [p, scheme, name] of paths) {
      const res = await get(BASE + p, pw);
      await res.body?.cancel();
      const challenge = res.headers.get('www-authenticate') || '';
      if (res.status !== 401) fail(`GET ${p} with ${what}: expected 401, got ${res.status}`);
      else if (!scheme.test(challenge)) fail(`GET ${p} with ${what}: 401 without a ${name} challenge (WWW-Authenticate: "${challenge}")`);
    }
  }
}

// The tile values and classes as the page shows them now.
function readTiles(page) {
  return page.evaluate((fields) => fields.map((f) => {
    const el = document.querySelector(`[data-metric="${f}"]`);
    return el && { field: f, raw: el.dataset.value, ok: el.classList.contains('ok'),
      bad: el.classList.contains('bad'), text: el.textContent.trim() };
  }), TILES.map((t) => t.field));
}

const snapshots = (page) => page.evaluate(() => Number(document.body.dataset.snapshots || 0));

function sameNumber(a, b) {
  if (a === b) return true;
  return Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

// Differences between the tiles and a /admin/stats answer; empty when they agree.
function compareTiles(tiles, stats) {
  const problems = [];
  const w = stats?.windows?.['1h'];
  if (!w) return ['/admin/stats has no windows["1h"]'];
  for (const t of TILES) {
    const tile = tiles.find((x) => x && x.field === t.field);
    if (!tile) { problems.push(`no element with data-metric="${t.field}"`); continue; }
    const want = w[t.field];
    const got = Number(tile.raw);
    if (tile.raw === undefined || !sameNumber(got, want)) {
      problems.push(`${t.field}: tile data-value=${tile.raw} but /admin/stats 1h says ${want}`);
    }
    const target = stats.targets?.[t.field];
    if (typeof target !== 'number') { problems.push(`${t.field}: /admin/stats has no numeric target`); continue; }
    const good = typeof want === 'number' && (t.lower ? want < target : want > target);
    if (tile.ok === tile.bad) problems.push(`${t.field}: tile must carry exactly one of the classes ok/bad`);
    else if (tile.ok !== good) {
      problems.push(`${t.field}: tile is ${tile.ok ? 'ok' : 'bad'} but ${want} ${t.lower ? '<' : '>'} ${target} is ${good}`);
    }
  }
  return problems;
}

async function main() {
  const started = Date.now();
  await checkAuth();
  say(`auth: ${failures.length ? 'FAILED' : '401 without the key (Basic challenge for the page, Bearer for the API)'}`);

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: KEY },
      viewport: { width: 1440, height: 900 },
    });
    const page = await context.newPage();
    const consoleErrors = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push('uncaught: ' + e.message));
    page.on('requestfailed', (r) => {
      // An EventSource torn down at close is not an error.
      if (!r.url().endsWith('/admin/dashboard/events')) consoleErrors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`);
    });
    page.on('response', (r) => { if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()} for ${r.url()}`); });

    const res = await page.goto(BASE + '/admin/dashboard', { waitUntil: 'load', timeout: 20000 });
    if (!res || res.status() !== 200) {
      throw new Error(`GET /admin/dashboard with the key: status ${res?.status()}` +
        (res?.status() === 401 ? ' (is SLUICE_ADMIN_KEY the server\'s admin key?)' : ''));
    }
    try {
      await page.waitForFunction(() => Number(document.body.dataset.snapshots || 0) >= 1, null,
        { timeout: SNAPSHOT_TIMEOUT_MS });
    } catch {
      throw new Error(`no snapshot rendered within ${SNAPSHOT_TIMEOUT_MS / 1000} s (connection pill: ` +
        `"${await page.textContent('#conn').catch(() => '?')}")`);
    }
    say(`first snapshot rendered after ${Date.now() - started} ms`);

    // Tiles against /admin/stats. If traffic slipped in between, wait for the next snapshot and retry.
    let problems = [];
    let tiles = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      tiles = await readTiles(page);
      const statsRes = await get(BASE + '/admin/stats', KEY);
      if (statsRes.status !== 200) throw new Error(`GET /admin/stats with the key: status ${statsRes.status}`);
      problems = compareTiles(tiles, await statsRes.json());
      if (!problems.length) break;
      if (attempt < 3) {
        say(`tiles differ from /admin/stats (attempt ${attempt}); waiting for the next snapshot`);
        const n = await snapshots(page);
        await page.waitForFunction((m) => Number(document.body.dataset.snapshots || 0) > m, n,
          { timeout: 6000 }).catch(() => {});
      }
    }
    problems.forEach(fail);
    for (const t of tiles) if (t) say(`tile ${t.field.padEnd(25)} ${t.text.padEnd(10)} ${t.ok ? 'ok ' : 'bad'} (data-value ${t.raw})`);

    const actorRows = await page.locator('#actors tr td.strong').count();
    const recentRows = await page.locator('#recent tr td.mono.clip').count();
    say(`actor rows: ${actorRows}, recent request rows: ${recentRows}`);
    if (actorRows < 1) fail('the actor table has no rows');
    if (recentRows < 1) fail('the recent requests table has no rows');
    const charts = await page.locator('.chart canvas').count();
    if (charts < 2) fail(`expected 2 uPlot charts, found ${charts}`);

    await page.screenshot({ path: OUT, fullPage: true });
    say(`screenshot: ${OUT}`);
    if (consoleErrors.length) fail('console errors on the page:\n  ' + consoleErrors.join('\n  '));
    await context.close();
  } finally {
    await browser.close();
  }
  say(`done in ${Date.now() - started} ms`);
}

main().then(() => {
  if (failures.length) {
    console.error('browser-check: FAILED\n- ' + failures.join('\n- '));
    process.exit(1);
  }
  console.log('browser-check: all checks passed');
}, (e) => {
  console.error('browser-check: FAILED: ' + e.message);
  if (failures.length) console.error('- ' + failures.join('\n- '));
  process.exit(1);
});
