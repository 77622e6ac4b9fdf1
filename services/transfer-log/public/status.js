// The transfer log's status page: reads only this service's API and builds the
// page with DOM nodes and textContent. Paths and reasons come from data (any
// bytes a site wrote), so nothing from a response is ever parsed as HTML.

const REFRESH_MS = 5_000;
const CHART_REFRESH_MS = 60_000;
const api = (path) => new URL(`api/v1/${path}`, document.baseURI).toString();

// With READ_TOKEN set, open the page as …/status#token=<READ_TOKEN>: a fragment never reaches the server or its logs;
// it is kept for this tab only and taken out of the address bar.
const TOKEN_KEY = 'terra-transfer-log-token';
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.has('token')) {
  sessionStorage.setItem(TOKEN_KEY, fragment.get('token'));
  history.replaceState(null, '', location.pathname + location.search);
}

async function getJson(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(api(path), { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = new Error(body?.message ?? `HTTP ${res.status}`);
    err.status = res.status;
    err.code = body?.error;
    throw err;
  }
  return body;
}

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, String(v));
    else if (k === 'title') e.title = String(v);
    else if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const $ = (id) => document.getElementById(id);
const nf = new Intl.NumberFormat('en');

function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function age(iso) {
  if (!iso) return '—';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

// Local time written year first (2026-01-05 14:03:21), unambiguous on any wall.
const time = (iso) => (iso ? new Date(iso).toLocaleString('sv-SE') : '—');

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// --- status: sites, banner, dead letters, Globus tasks ----------------------

function renderBanner(status, error) {
  const banner = $('banner');
  const health = $('health');
  let message = '';
  if (error) {
    message = `The transfer log does not answer (${error.message}). The figures below are from ${$('updated').dataset.at ? time($('updated').dataset.at) : 'no update yet'}.`;
    health.dataset.state = 'down';
    health.textContent = 'no answer';
  } else if (!status.postgres) {
    const at = $('updated').dataset.at;
    message = `PostgreSQL unreachable: the log is behind. Events wait in the queue (nothing is lost) and are recorded when PostgreSQL is back.${at ? ` Figures below as of ${time(at)}.` : ''}`;
    health.dataset.state = 'behind';
    health.textContent = 'behind';
  } else if (status.behind) {
    const lag = status.lagSeconds === null ? 'unknown' : `${Math.round(status.lagSeconds)} s`;
    message = `The log is behind: ${nf.format(status.waiting)} events waiting, newest applied event ${lag} old.`;
    health.dataset.state = 'behind';
    health.textContent = 'behind';
  } else {
    health.dataset.state = 'live';
    health.textContent = 'live';
  }
  banner.textContent = message;
  banner.hidden = message === '';
}

function renderSites(sites) {
  fill($('sites').tBodies[0], sites.map((s) =>
    el('tr', { 'data-site': s.site },
      el('td', {}, el('strong', {}, s.site)),
      el('td', { class: 'num', 'data-field': 'today-files' }, nf.format(s.today.files)),
      el('td', { class: 'num', 'data-field': 'today-bytes' }, bytes(s.today.bytes)),
      el('td', { class: 'num', 'data-field': 'week-files' }, nf.format(s.week.files)),
      el('td', { class: 'num', 'data-field': 'week-bytes' }, bytes(s.week.bytes)),
      el('td', { class: `num${s.backlog > 0 ? ' warn' : ''}`, 'data-field': 'backlog' }, nf.format(s.backlog)),
      el('td', { 'data-field': 'oldest', title: s.oldestUntransferredSince ? time(s.oldestUntransferredSince) : undefined }, age(s.oldestUntransferredSince)),
      el('td', { class: `num${s.failures24h > 0 ? ' bad' : ''}`, 'data-field': 'failures' }, nf.format(s.failures24h)),
      el('td', { class: 'num', 'data-field': 'tasks' }, nf.format(s.tasksInFlight)),
    )));
  $('sites-empty').hidden = sites.length > 0;
}

// Where a dead-letter queue lives: one broker for everything, or one side of two (decision 0028).
const BROKER_NAMES = { both: 'one broker', site: 'site', datacentre: 'data centre' };

function renderDeadLetters(deadLetters) {
  const tbody = $('dead-letters').tBodies[0];
  if (deadLetters === null) {
    fill(tbody, [el('tr', {}, el('td', { colspan: 3, class: 'empty' }, 'no broker answers'))]);
    return;
  }
  fill(tbody, deadLetters.map((d) =>
    el('tr', { 'data-queue': d.queue },
      el('td', { class: 'mono' }, d.queue),
      el('td', { 'data-field': 'broker' }, BROKER_NAMES[d.broker] ?? d.broker),
      el('td', { class: `num${d.messages > 0 ? ' bad' : ''}` }, d.messages === null ? 'unknown' : nf.format(d.messages)),
    )));
}

function renderTasks(tasks) {
  fill($('tasks').tBodies[0], tasks.map((t) =>
    el('tr', { 'data-task': t.taskId },
      el('td', { class: 'mono' }, t.taskId),
      el('td', {}, t.site),
      el('td', { class: 'num' }, nf.format(t.files)),
      el('td', { class: 'num' }, bytes(t.bytes)),
      el('td', { title: time(t.submittedAt) }, age(t.submittedAt)),
    )));
  $('tasks-empty').hidden = tasks.length > 0;
}

function renderFailures(failures) {
  fill($('failures').tBodies[0], failures.map((f) =>
    el('tr', {},
      el('td', { title: time(f.failedAt) }, age(f.failedAt)),
      el('td', {}, f.site),
      el('td', { class: 'path' }, el('button', { class: 'link mono', type: 'button', onclick: () => lookup(f.path) }, f.path)),
      el('td', { title: f.detail }, f.reason),
      el('td', { class: 'num' }, nf.format(f.attempts)),
    )));
  $('failures-empty').hidden = failures.length > 0;
}

async function refresh() {
  try {
    const status = await getJson('status');
    renderBanner(status);
    renderDeadLetters(status.deadLetters);
    // Per-site figures, tasks and give-ups come from PostgreSQL: while it is down the last ones stay on screen.
    if (status.postgres) {
      renderSites(status.sites);
      renderTasks(status.globusTasks);
      renderFailures((await getJson('failures?limit=20')).failures);
      $('updated').dataset.at = new Date().toISOString();
    }
    const at = $('updated').dataset.at;
    $('updated').textContent = at ? `updated ${time(at)}` : 'not updated yet';
    $('updated').dataset.checked = new Date().toISOString();
  } catch (err) {
    renderBanner(undefined, err);
  }
}

// --- weekly volume chart: one series per site ------------------------------

let chart;
const PALETTE = ['#58a6ff', '#3fb950', '#d29922', '#f778ba', '#a371f7', '#ff7b72', '#79c0ff', '#56d364'];

async function refreshChart() {
  const sensor = $('sensor').value;
  let volumes;
  try {
    volumes = (await getJson(`volumes?by=week${sensor ? `&sensor=${encodeURIComponent(sensor)}` : ''}`)).volumes;
  } catch {
    return; // the banner already says why; the chart keeps its last figures
  }
  if (!sensor) updateSensors(volumes);
  const weeks = [...new Set(volumes.map((v) => v.period))].sort();
  const sites = [...new Set(volumes.map((v) => v.site))].sort();
  const datasets = sites.map((site, i) => ({
    label: site,
    backgroundColor: PALETTE[i % PALETTE.length],
    data: weeks.map((w) => volumes.filter((v) => v.site === site && v.period === w).reduce((a, v) => a + v.bytes, 0)),
  }));
  const canvas = $('volume-chart');
  canvas.dataset.series = String(datasets.length);
  if (typeof window.Chart !== 'function') {
    canvas.replaceWith(el('p', { class: 'empty' }, 'The chart library did not load.'));
    return;
  }
  if (!chart) {
    chart = new window.Chart(canvas, {
      type: 'bar',
      data: { labels: weeks, datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        color: '#e6edf3',
        scales: {
          x: { ticks: { color: '#8b98a5' }, grid: { color: '#2b3643' } },
          y: { beginAtZero: true, ticks: { color: '#8b98a5', callback: (v) => bytes(v) }, grid: { color: '#2b3643' } },
        },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${bytes(c.parsed.y)}` } } },
      },
    });
  } else {
    chart.data.labels = weeks;
    chart.data.datasets = datasets;
    chart.update('none');
  }
}

function updateSensors(volumes) {
  const select = $('sensor');
  const known = new Set([...select.options].map((o) => o.value));
  for (const s of [...new Set(volumes.map((v) => v.sensor))].sort()) if (!known.has(s)) select.append(el('option', { value: s }, s));
}

// --- search: a path's timeline, or the paths under a folder ---------------

const STEPS = [
  { step: 'uploaded', at: (v) => v.uploadedAt ?? v.ftpTime ?? v.firstSeen, detail: (v) => `${bytes(v.size)} · ${v.sensor ?? 'sensor unknown'} · ${v.source ?? ''}` },
  { step: 'submitted', at: (v) => v.submittedAt, detail: (v) => (v.taskId ? `task ${v.taskId}` : '') },
  { step: 'failed', at: (v) => v.failedAt, detail: (v) => v.failureReason ?? '', optional: true },
  { step: 'transferred', at: (v) => v.transferredAt, detail: (v) => (v.checksum ? `${v.checksumAlgorithm ?? ''} ${v.checksum}` : '') },
  { step: 'deleted', at: (v) => v.deletedAt, detail: (v) => (v.bytesFreed !== null ? `${bytes(v.bytesFreed)} freed` : '') },
  { step: 'ingested', at: (v) => v.ingestedAt, detail: (v) => (v.clowderFileId ? `Clowder file ${v.clowderFileId}` : '') },
];

function renderVersion(v) {
  const steps = STEPS.filter((s) => !s.optional || s.at(v)).map((s) => {
    const at = s.at(v);
    return el('li', { 'data-step': s.step, 'data-done': Boolean(at) },
      el('span', { class: 'step' }, s.step),
      el('span', { class: 'when' }, at ? time(at) : 'not yet'),
      at ? el('span', { class: 'detail' }, s.detail(v)) : null);
  });
  const events = el('table', {},
    el('thead', {}, el('tr', {}, el('th', {}, 'Time'), el('th', {}, 'Event'), el('th', {}, 'Status'), el('th', {}, 'Task'))),
    el('tbody', {}, ...v.events.map((e) => el('tr', { 'data-event': e.type },
      el('td', {}, time(e.time)), el('td', {}, e.type), el('td', {}, e.status), el('td', { class: 'mono' }, e.taskId ?? '')))));
  return el('div', { class: 'version', 'data-upload': v.uploadId },
    el('div', { class: 'version-head' },
      el('strong', {}, v.site), el('span', {}, `upload ${v.uploadId}`), el('span', {}, `state ${v.state}`),
      v.destinationPath ? el('span', { class: 'mono' }, `→ ${v.destinationPath}`) : null),
    el('ol', { class: 'timeline' }, ...steps),
    el('details', {}, el('summary', {}, `${v.events.length} events`), events));
}

async function listPrefix(prefix, note) {
  const out = $('search-result');
  const { items, nextCursor } = await getJson(`files?prefix=${encodeURIComponent(prefix)}&limit=50`);
  const rows = items.map((i) => el('li', {}, el('button', { class: 'link mono', type: 'button', onclick: () => lookup(i.path) }, i.path), ` · ${i.site} · ${i.state}`));
  out.replaceChildren(
    el('p', {}, note ?? '', items.length ? `${items.length}${nextCursor ? '+' : ''} paths under ` : 'Nothing under ', el('span', { class: 'mono' }, prefix)),
    el('ul', {}, ...rows));
}

async function lookup(path) {
  const out = $('search-result');
  $('search-path').value = path;
  out.replaceChildren(el('p', { class: 'empty' }, 'searching…'));
  try {
    if (path.endsWith('/')) return await listPrefix(path);
    const { versions } = await getJson(`files?path=${encodeURIComponent(path)}`);
    if (versions.length === 0) return await listPrefix(path, 'No file at this path. ');
    out.replaceChildren(el('p', {}, `${versions.length} version${versions.length > 1 ? 's' : ''} of `, el('span', { class: 'mono', 'data-found': 'path' }, path)), ...versions.map(renderVersion));
  } catch (err) {
    out.replaceChildren(el('p', { class: 'empty', 'data-error': err.code ?? 'error' }, `Search failed: ${err.message}`));
  }
}

$('search').addEventListener('submit', (e) => {
  e.preventDefault();
  const path = $('search-path').value.trim();
  if (path) void lookup(path);
});
$('sensor').addEventListener('change', () => void refreshChart());

await Promise.all([refresh(), refreshChart()]);
document.body.dataset.loaded = 'true';
setInterval(() => void refresh(), REFRESH_MS);
setInterval(() => void refreshChart(), CHART_REFRESH_MS);
