// Sluice admin dashboard: renders the snapshots streamed by /admin/dashboard/events.
// Plain browser JavaScript, no build step; charts use the vendored uPlot.
'use strict';

(function () {
  const EVENTS_URL = '/admin/dashboard/events';
  const TILE_WINDOW = '1h';
  const STALE_MS = 10000; // no snapshot for this long while "live" counts as stale
  const RETRY_MS = 5000; // pause before reopening a stream the browser gave up on

  // The five seed metrics. `lower` means smaller is better (value must be below the target).
  const TILES = [
    { field: 'p50_latency_ms', label: 'P50 latency', lower: true, fmt: fmtMs },
    { field: 'p99_latency_ms', label: 'P99 latency', lower: true, fmt: fmtMs },
    { field: 'cache_hit_rate_pct', label: 'Cache hit rate', lower: false, fmt: fmtPct },
    { field: 'guardrail_block_rate_pct', label: 'Guardrail block rate', lower: true, fmt: fmtPct },
    { field: 'cost_per_request_usd', label: 'Cost per request', lower: true, fmt: fmtUsd },
  ];
  // Fallback targets, used only if a snapshot lacks them.
  const DEFAULT_TARGETS = {
    p50_latency_ms: 2000, p99_latency_ms: 10000, cache_hit_rate_pct: 30,
    guardrail_block_rate_pct: 5, cost_per_request_usd: 0.01,
  };

  const byId = (id) => document.getElementById(id);
  let rendered = 0;
  let lastSnapshotAt = 0;
  let source = null;
  const charts = {};

  // ---- small helpers -------------------------------------------------------

  // Creates an element; `props` may hold className, text, title and dataset entries.
  function el(tag, props, children) {
    const e = document.createElement(tag);
    if (props) {
      if (props.className) e.className = props.className;
      if (props.text !== undefined && props.text !== null) e.textContent = String(props.text);
      if (props.title) e.title = props.title;
      if (props.colSpan) e.colSpan = props.colSpan;
      if (props.data) Object.assign(e.dataset, props.data);
    }
    for (const c of children || []) if (c) e.appendChild(c);
    return e;
  }

  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  // Number literals exactly as they appeared in the JSON text, per parsed object, where the
  // browser tells us (JSON.parse source access); otherwise the number is printed back.
  let rawText = new WeakMap();
  function parseKeepingRaw(text) {
    rawText = new WeakMap();
    return JSON.parse(text, function (key, value, ctx) {
      if (typeof value === 'number' && ctx && typeof ctx.source === 'string') {
        let m = rawText.get(this);
        if (!m) rawText.set(this, (m = {}));
        m[key] = ctx.source;
      }
      return value;
    });
  }
  const raw = (obj, key) => (rawText.get(obj) || {})[key] ?? String(obj[key]);

  function fmtMs(v) {
    if (!isNum(v)) return '—';
    if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 1 : 2) + ' s';
    return (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ms';
  }
  function fmtPct(v) { return isNum(v) ? v.toFixed(1) + '%' : '—'; }
  function fmtUsd(v) {
    if (!isNum(v)) return '—';
    if (v === 0) return '$0';
    if (Math.abs(v) >= 100) return '$' + v.toFixed(0);
    if (Math.abs(v) >= 0.1) return '$' + v.toFixed(2);
    return '$' + v.toPrecision(2).replace(/0+$/, '').replace(/\.$/, '');
  }
  function fmtInt(v) { return isNum(v) ? Math.round(v).toLocaleString('en-US') : '—'; }
  function fmtUptime(s) {
    if (!isNum(s)) return '—';
    if (s < 60) return Math.floor(s) + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + Math.floor(s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }
  function fmtTime(ts) {
    const d = new Date(ts);
    return isNaN(d) ? String(ts || '—') : d.toLocaleTimeString([], { hour12: false });
  }
  function fmtTarget(t) {
    const v = t.value;
    return 'target ' + (t.lower ? '< ' : '> ') + t.fmt(v);
  }

  // Whether `value` meets the target; a missing value never does.
  function meets(tile, value, target) {
    if (!isNum(value) || !isNum(target)) return false;
    return tile.lower ? value < target : value > target;
  }

  // ---- tiles and the windows table ----------------------------------------

  function buildTiles() {
    const box = byId('tiles');
    for (const t of TILES) {
      t.valueEl = el('div', { className: 'tile-value', text: '—', data: { metric: t.field } });
      t.targetEl = el('div', { className: 'tile-target muted', text: '' });
      t.node = el('div', { className: 'tile' }, [
        el('div', { className: 'tile-label', text: t.label }), t.valueEl, t.targetEl]);
      box.appendChild(t.node);
    }
    // Two plain tiles with no target.
    for (const [field, label] of [['requests', 'Requests'], ['error_rate_pct', 'Error rate']]) {
      const v = el('div', { className: 'tile-value', text: '—', data: { metric: field } });
      const sub = el('div', { className: 'tile-target muted', text: '' });
      box.appendChild(el('div', { className: 'tile plain' }, [
        el('div', { className: 'tile-label', text: label }), v, sub]));
    }
  }

  function renderTiles(stats) {
    const w = (stats.windows || {})[TILE_WINDOW] || {};
    const targets = Object.assign({}, DEFAULT_TARGETS, stats.targets || {});
    for (const t of TILES) {
      const value = w[t.field];
      const target = targets[t.field];
      const good = meets(t, value, target);
      t.valueEl.textContent = t.fmt(value);
      t.valueEl.dataset.value = raw(w, t.field);
      t.valueEl.classList.toggle('ok', good);
      t.valueEl.classList.toggle('bad', !good);
      t.node.classList.toggle('ok', good);
      t.node.classList.toggle('bad', !good);
      t.targetEl.textContent = fmtTarget({ lower: t.lower, fmt: t.fmt, value: target });
    }
    const reqEl = document.querySelector('.tile-value[data-metric="requests"]');
    reqEl.textContent = fmtInt(w.requests);
    reqEl.dataset.value = raw(w, 'requests');
    reqEl.nextSibling.textContent = fmtInt(w.errors) + (w.errors === 1 ? ' error' : ' errors');
    const errEl = document.querySelector('.tile-value[data-metric="error_rate_pct"]');
    errEl.textContent = fmtPct(w.error_rate_pct);
    errEl.dataset.value = raw(w, 'error_rate_pct');
    errEl.nextSibling.textContent = 'last hour';
  }

  function renderWindows(stats) {
    const rows = [];
    for (const [name, w] of Object.entries(stats.windows || {})) {
      const cells = [name, fmtInt(w.requests), fmtInt(w.errors), fmtPct(w.error_rate_pct),
        fmtMs(w.p50_latency_ms), fmtMs(w.p95_latency_ms), fmtMs(w.p99_latency_ms),
        fmtPct(w.cache_hit_rate_pct), fmtPct(w.guardrail_block_rate_pct),
        fmtUsd(w.cost_per_request_usd), fmtUsd(w.cost_usd)];
      const tr = el('tr', { className: name === TILE_WINDOW ? 'current' : '' },
        cells.map((c) => el('td', { text: c })));
      rows.push(tr);
    }
    byId('windows').replaceChildren(...rows);
  }

  // ---- charts ---------------------------------------------------------------

  // Puts an empty point at each missing minute so lines break and bars drop to zero.
  function fillGaps(series) {
    const out = [];
    for (const p of series) {
      const prev = out[out.length - 1];
      if (prev) {
        let added = 0;
        for (let t = prev.t + 60; t < p.t - 30 && added < 120; t += 60, added++) out.push({ t, gap: true });
      }
      out.push(p);
    }
    return out;
  }

  function axisStyle(extra) {
    return Object.assign({
      stroke: '#8b95a7',
      grid: { stroke: 'rgba(139,149,167,0.15)', width: 1 },
      ticks: { stroke: 'rgba(139,149,167,0.25)', width: 1 },
    }, extra);
  }

  function makeChart(id, seriesOpts, yAxis) {
    const box = byId(id);
    const opts = {
      width: Math.max(200, box.clientWidth), height: 220,
      cursor: { drag: { x: false, y: false } },
      // Always the last hour, however few minutes have traffic.
      scales: { x: { time: true, range: () => { const now = Date.now() / 1000; return [now - 3600, now + 30]; } } },
      series: [{ label: 'time' }].concat(seriesOpts),
      axes: [axisStyle({}), axisStyle(yAxis)],
      legend: { live: true },
    };
    const empty = seriesOpts.map(() => []);
    const chart = new uPlot(opts, [[]].concat(empty), box);
    new ResizeObserver(() => {
      chart.setSize({ width: Math.max(200, box.clientWidth), height: 220 });
    }).observe(box);
    return chart;
  }

  function buildCharts() {
    if (typeof uPlot !== 'function') {
      showProblem('Chart library failed to load; charts are disabled.');
      return;
    }
    const msVal = (u, v) => (v === null || v === undefined ? '—' : fmtMs(v));
    const usdVal = (u, v) => (v === null || v === undefined ? '—' : fmtUsd(v));
    charts.latency = makeChart('chart-latency', [
      { label: 'P50', stroke: '#4cc9f0', width: 2, value: msVal, spanGaps: false },
      { label: 'P99', stroke: '#f72585', width: 2, value: msVal, spanGaps: false },
    ], { size: 60, values: (u, vals) => vals.map((v) => fmtMs(v)) });
    const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 24] }) : undefined;
    charts.cost = makeChart('chart-cost', [
      { label: 'Cost', stroke: '#ffb703', fill: 'rgba(255,183,3,0.55)', width: 1, paths: bars, value: usdVal },
    ], { size: 60, values: (u, vals) => vals.map((v) => fmtUsd(v)) });
  }

  function renderCharts(series, stats) {
    if (!charts.latency) return;
    const pts = fillGaps((series || []).filter((p) => p && isNum(p.t)).sort((a, b) => a.t - b.t));
    const xs = pts.map((p) => p.t);
    const val = (p, k) => (p.gap || !isNum(p[k]) ? null : p[k]);
    // The targets are on the tiles; drawn here they would flatten milliseconds to zero.
    charts.latency.setData([xs, pts.map((p) => val(p, 'p50_latency_ms')),
      pts.map((p) => val(p, 'p99_latency_ms'))]);
    charts.cost.setData([xs, pts.map((p) => (p.gap ? 0 : val(p, 'cost_usd')))]);
    for (const id of ['chart-latency', 'chart-cost']) byId(id).classList.toggle('nodata', !xs.length);
  }

  // ---- lists and tables -----------------------------------------------------

  function renderBars(id, rows, key) {
    const list = (rows || []).slice();
    if (!list.length) {
      byId(id).replaceChildren(el('li', { className: 'empty muted', text: 'No traffic yet' }));
      return;
    }
    const max = Math.max(...list.map((r) => (isNum(r.cost_usd) ? r.cost_usd : 0)), 1e-12);
    byId(id).replaceChildren(...list.map((r) => {
      const bar = el('div', { className: 'bar' });
      bar.style.width = Math.max(0.5, (100 * (isNum(r.cost_usd) ? r.cost_usd : 0)) / max) + '%';
      return el('li', null, [
        el('div', { className: 'bar-head' }, [
          el('span', { className: 'bar-name', text: r[key], title: r[key] }),
          el('span', { className: 'bar-fig', text: fmtUsd(r.cost_usd) + ' · ' + fmtInt(r.requests) + ' req' }),
        ]),
        el('div', { className: 'bar-track' }, [bar]),
      ]);
    }));
  }

  // A compact one-line summary of an actor's state, without the circuit (shown on its own).
  function stateSummary(state) {
    if (!state || typeof state !== 'object') return '';
    const parts = [];
    for (const [k, v] of Object.entries(state)) {
      if (k === 'circuit' || v === null || typeof v === 'object') continue;
      parts.push(k + '=' + v);
    }
    return parts.join(', ');
  }

  function badge(text, kind) {
    return el('span', { className: 'badge badge-' + kind, text });
  }

  function renderActors(actors) {
    const rows = (actors || []).map((a) => {
      const circuit = a.state && typeof a.state === 'object' ? a.state.circuit : undefined;
      const circuitKind = { closed: 'ok', half_open: 'warn', open: 'bad' }[circuit] || 'muted';
      const statusKind = a.status === 'running' ? 'ok' : a.status === 'disabled' ? 'muted' : 'bad';
      const td = (text, cls) => el('td', { text, className: cls || '' });
      const summary = stateSummary(a.state);
      return el('tr', null, [
        td(a.kind), td(a.name, 'strong'),
        el('td', null, [badge(a.status || '—', statusKind)]),
        el('td', null, [circuit ? badge(String(circuit).replace('_', '-'), circuitKind) : el('span', { className: 'muted', text: '—' })]),
        td(fmtInt(a.messages_handled), 'num'), td(fmtInt(a.in_flight), 'num'),
        td(fmtInt(a.errors), 'num' + (a.errors > 0 ? ' warn-text' : '')),
        td(fmtInt(a.restarts), 'num' + (a.restarts > 0 ? ' warn-text' : '')),
        td(a.last_restart_reason || '—', a.last_restart_reason ? 'clip' : 'muted'),
        td(fmtUptime(a.uptime_secs), 'num'),
        el('td', { className: 'muted clip state', text: summary, title: summary }),
      ]);
    });
    if (!rows.length) rows.push(el('tr', null, [el('td', { className: 'muted', text: 'No actors reported', colSpan: 11 })]));
    byId('actors').replaceChildren(...rows);
  }

  function renderRecent(recent) {
    const rows = (recent || []).map((r) => {
      const st = Number(r.status);
      const stKind = st >= 500 ? 'bad' : st >= 400 ? 'warn' : 'ok';
      const td = (text, cls, title) => el('td', { text, className: cls || '', title });
      const tpl = r.template ? r.template + (r.version ? ' @' + r.version : '') : '—';
      return el('tr', null, [
        td(fmtTime(r.ts), 'mono', r.ts), td(r.request_id, 'mono clip', r.request_id),
        td(r.user, 'clip', r.user), td(r.model, 'clip', r.model), td(tpl, 'clip', tpl),
        el('td', { className: 'num' }, [badge(String(r.status), stKind)]),
        td(fmtMs(r.latency_ms), 'num'),
        td(r.cache || '—', /hit/.test(r.cache || '') ? 'ok-text' : 'muted'),
        td(fmtUsd(r.cost_usd), 'num'),
        td(r.error || '', 'clip bad-text', r.error || ''),
      ]);
    });
    if (!rows.length) rows.push(el('tr', null, [el('td', { className: 'muted', text: 'No requests yet', colSpan: 10 })]));
    byId('recent').replaceChildren(...rows);
  }

  function renderAlerts(alerts) {
    const list = (alerts || []).slice().sort((a, b) => (Date.parse(b.ts) || 0) - (Date.parse(a.ts) || 0));
    const items = list.slice(0, 30).map((a) => el('li', null, [
      el('div', { className: 'alert-head' }, [
        badge(a.kind || 'alert', 'warn'), el('span', { className: 'muted mono', text: fmtTime(a.ts), title: a.ts }),
      ]),
      el('div', { className: 'alert-msg', text: a.message }),
    ]));
    if (!items.length) items.push(el('li', { className: 'empty muted', text: 'No alerts' }));
    byId('alerts').replaceChildren(...items);
  }

  // ---- connection and rendering --------------------------------------------

  function setConn(state, text) {
    const pill = byId('conn');
    pill.className = 'pill pill-' + state;
    pill.textContent = text;
  }

  function showProblem(text) {
    const box = byId('problem');
    box.hidden = !text;
    box.textContent = text || '';
  }

  function render(snap) {
    const stats = snap.stats || {};
    byId('emergency').hidden = snap.emergency !== true;
    document.body.classList.toggle('emergency', snap.emergency === true);
    renderTiles(stats);
    renderWindows(stats);
    renderCharts(snap.series, stats);
    renderBars('by-model', snap.cost_by_model, 'model');
    renderBars('by-user', snap.cost_by_user, 'user');
    renderActors(snap.actors);
    renderRecent(snap.recent);
    renderAlerts(snap.alerts);
    byId('updated').textContent = 'updated ' + fmtTime(stats.generated_at);
    byId('updated').title = stats.generated_at || '';
  }

  function onSnapshot(ev) {
    let snap;
    try {
      snap = parseKeepingRaw(ev.data);
    } catch (e) {
      showProblem('Received a snapshot that is not valid JSON; waiting for the next one.');
      return;
    }
    try {
      render(snap);
    } catch (e) {
      showProblem('Could not draw the latest snapshot: ' + e.message);
      return;
    }
    showProblem('');
    lastSnapshotAt = Date.now();
    rendered += 1;
    document.body.dataset.snapshots = String(rendered);
    setConn('live', 'live');
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(EVENTS_URL);
    source.addEventListener('snapshot', onSnapshot);
    source.onopen = () => setConn('live', 'live');
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gives up on a non-200 answer; try again ourselves.
        setConn('down', 'disconnected, retrying');
        setTimeout(connect, RETRY_MS);
      } else {
        setConn('wait', 'reconnecting…');
      }
    };
  }

  // Flags a stream that is open but has gone quiet.
  setInterval(() => {
    if (lastSnapshotAt && source && source.readyState === EventSource.OPEN &&
        Date.now() - lastSnapshotAt > STALE_MS) {
      setConn('wait', 'stale: no update for ' + Math.round((Date.now() - lastSnapshotAt) / 1000) + 's');
    }
  }, 2000);

  buildTiles();
  buildCharts();
  connect();
})();
