// statekeeper inspector page: plain JavaScript, no build step, no network but its own server.
// Protocol (see src/inspect/web/README.md): the server sends `hello`, then `update` frames
// ({ view, events, dropped }) and `reply` frames; the page sends `control`, `loadTrace` and
// `newSimulation` messages.

/** Timeline rows kept in memory (the server bounds what it sends; this bounds what we keep). */
const MAX_TIMELINE_ITEMS = 2000;
/** Timeline rows drawn at once (after the type filter). */
const MAX_TIMELINE_ROWS = 220;
/** Lines of the log panel. */
const MAX_LOG_LINES = 80;
const TIMELINE_ROW_PX = 24;
const RECONNECT_MS = 1000;

const $ = (sel) => document.querySelector(sel);
const SVG_NS = 'http://www.w3.org/2000/svg';

const state = {
  ws: null,
  connected: false,
  view: null,
  charts: [], // [{ role, machine, statePath, summary }]
  chartSvgs: new Map(), // role -> svg text (or a promise)
  timeline: [], // message / role / note events, oldest first
  hiddenTypes: new Set(),
  seenTypes: new Set(),
  dropped: 0,
  selectedNode: null,
  /** Until someone picks a node, the charts follow the active leader. */
  userSelected: false,
  tab: 'cluster',
  nextId: 1,
  pending: new Map(), // reply id -> resolve
  timelineDirty: true,
  clientSeen: false,
};

// ---------- connection ----------

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  state.ws = ws;
  setConn('connecting…', 'pending');
  ws.onopen = () => {
    state.connected = true;
    setConn('live', 'ok');
  };
  ws.onclose = () => {
    state.connected = false;
    setConn('disconnected — retrying', 'bad');
    for (const resolve of state.pending.values()) resolve({ ok: false, message: 'disconnected' });
    state.pending.clear();
    setTimeout(connect, RECONNECT_MS);
  };
  ws.onmessage = (m) => onFrame(JSON.parse(m.data));
}

function setConn(text, cls) {
  const el = $('#conn');
  el.textContent = text;
  el.className = `conn ${cls}`;
}

function request(message) {
  if (!state.connected) return Promise.resolve({ ok: false, message: 'not connected' });
  const id = state.nextId++;
  state.ws.send(JSON.stringify({ ...message, id }));
  return new Promise((resolve) => state.pending.set(id, resolve));
}

async function control(command) {
  const reply = await request({ type: 'control', command });
  if (!reply.ok) log(reply.message, 'error');
  return reply;
}

function onFrame(frame) {
  switch (frame.type) {
    case 'hello':
      state.charts = frame.charts;
      break;
    case 'reply': {
      const resolve = state.pending.get(frame.id);
      state.pending.delete(frame.id);
      if (resolve) resolve(frame);
      break;
    }
    case 'update':
      for (const e of frame.events) onEvent(e);
      if (frame.dropped !== state.dropped) {
        state.dropped = frame.dropped;
        $('#dropped').textContent = String(frame.dropped);
        $('#dropped-stat').hidden = frame.dropped === 0;
      }
      if (frame.view) {
        state.view = frame.view;
        render();
      } else if (frame.events.length > 0) {
        state.timelineDirty = true;
        if (state.tab === 'timeline') renderTimeline();
      }
      break;
  }
}

function onEvent(e) {
  switch (e.kind) {
    case 'reset':
      state.timeline = [];
      state.timelineDirty = true;
      $('#log').textContent = '';
      return;
    case 'message':
      if (!state.seenTypes.has(e.type)) {
        state.seenTypes.add(e.type);
        renderFilters();
      }
      if (isClientId(e.from) || isClientId(e.to)) state.clientSeen = true;
      pushTimeline(e);
      return;
    case 'role':
      pushTimeline(e);
      log(roleText(e), e.up ? (e.role === 'leader' ? 'leader' : '') : 'error');
      return;
    case 'note':
      pushTimeline(e);
      log(e.text, 'note');
      return;
    default:
      return; // transitions and actor lifecycles show in the charts, from the view
  }
}

function pushTimeline(e) {
  state.timeline.push(e);
  if (state.timeline.length > MAX_TIMELINE_ITEMS) state.timeline.splice(0, state.timeline.length - MAX_TIMELINE_ITEMS);
  state.timelineDirty = true;
}

/** A message endpoint that is not a node of the view: a simulated client, or a peer-protocol tool. */
function isClientId(id) {
  const v = state.view;
  return v ? !v.nodes.some((n) => n.id === id) : id >= 1001;
}

function roleText(e) {
  if (!e.up) return `n${e.node} is down`;
  return `n${e.node} is ${e.role}${e.activeLeader ? ' (active)' : ''} at epoch ${e.epoch}`;
}

function log(text, cls = '') {
  const li = document.createElement('li');
  const t = state.view ? state.view.nowMs.toFixed(1) : '0.0';
  li.innerHTML = `<span class="t">${t}</span>`;
  li.append(document.createTextNode(text));
  if (cls) li.className = cls;
  const ol = $('#log');
  ol.prepend(li);
  while (ol.children.length > MAX_LOG_LINES) ol.lastChild.remove();
}

// ---------- rendering ----------

function render() {
  const v = state.view;
  if (!v) return;
  const live = v.kind === 'live';
  document.body.classList.toggle('live', live);
  $('#panel-live').hidden = !live;
  $('#title').textContent = v.title;
  $('#time-label').textContent = live ? 'watching for' : 'virtual time';
  $('#time').textContent = live ? (v.nowMs / 1000).toFixed(1) : v.nowMs.toFixed(3);
  $('#time-unit').textContent = live ? 's' : 'ms';
  $('#actions-label').textContent = live ? 'messages' : 'actions';
  $('#actions').textContent = v.actions.toLocaleString('en');
  const rs = $('#run-state');
  rs.className = `stat ${v.running ? (v.lagging ? 'lagging' : 'running') : 'paused'}`;
  $('#run-label').textContent = live ? 'read-only' : v.running ? (v.lagging ? 'running (lagging)' : `running · ${v.speedMsPerS} ms/s`) : 'paused';
  if (live) renderLiveNodes(v);
  renderLegend(live);
  if (document.activeElement !== $('#speed')) $('#speed').value = String(v.speedMsPerS);
  for (const el of document.querySelectorAll('[data-needs]')) el.classList.toggle('disabled', !v.controls.includes(el.dataset.needs));
  for (const el of document.querySelectorAll('[data-needs] button, button[data-needs]')) {
    const owner = el.closest('[data-needs]');
    el.disabled = !v.controls.includes(owner.dataset.needs);
  }
  renderNodeSelect(v);
  renderWrites(v);
  renderTrace(v);
  renderNetworkInputs(v);
  if (!v.nodes.some((n) => n.id === state.selectedNode)) state.userSelected = false;
  if (!state.userSelected) {
    const leader = v.nodes.find((n) => n.activeLeader);
    if (leader || state.selectedNode === null || !v.nodes.some((n) => n.id === state.selectedNode)) state.selectedNode = (leader ?? v.nodes[0])?.id ?? null;
  }
  renderCluster(v);
  renderCharts(v);
  if (state.tab === 'timeline') renderTimeline();
}

function renderLiveNodes(v) {
  const html = v.nodes
    .map((n) => `<li class="${n.up ? '' : 'down'}"><b>n${n.id}</b> ${esc(n.up ? `${n.activeLeader ? 'leader' : n.role}${n.serving === false ? ' (not serving)' : ''}` : n.note ?? 'down')}</li>`)
    .join('');
  const el = $('#live-nodes');
  if (el.dataset.html !== html) {
    el.innerHTML = html;
    el.dataset.html = html;
  }
}

function renderNodeSelect(v) {
  const sel = $('#node-select');
  const want = v.nodes.map((n) => `n${n.id}${n.up ? '' : ' (down)'}`).join('|');
  if (sel.dataset.key === want) return;
  const current = sel.value;
  sel.textContent = '';
  for (const n of v.nodes) {
    const o = document.createElement('option');
    o.value = String(n.id);
    o.textContent = `n${n.id}${n.up ? '' : ' (down)'}`;
    sel.append(o);
  }
  if (current) sel.value = current;
  sel.dataset.key = want;
}

function renderWrites(v) {
  $('#writes').textContent = v.writes ? `${v.writes.submitted} submitted · ${v.writes.acknowledged} acknowledged` : '';
}

function renderNetworkInputs(v) {
  const f = v.network;
  const set = (id, value) => {
    const el = $(id);
    if (document.activeElement !== el && el.dataset.edited !== '1') el.value = String(+value.toFixed(3));
  };
  set('#drop', f.dropRate * 100);
  set('#dup', f.duplicateRate * 100);
  set('#delay-min', f.minDelayMs);
  set('#delay-max', f.maxDelayMs);
}

function renderTrace(v) {
  const t = v.trace;
  $('#trace-info').hidden = t === null;
  if (!t) return;
  $('#trace-index').textContent = String(t.index);
  $('#trace-total').textContent = String(t.total);
  $('#trace-time').textContent = t.atMs.toFixed(3);
  $('#trace-event').textContent = t.event;
  const bits = [];
  if (t.mutant) bits.push(`mutant ${t.mutant}`);
  if (t.violation) bits.push(`violates ${t.violation}`);
  if (t.divergesAt >= 0) bits.push(`re-run differs from the file at event ${t.divergesAt}`);
  if (t.finished) bits.push('run finished');
  $('#trace-status').textContent = bits.join(' · ');
  $('#trace-status').classList.toggle('error', t.divergesAt >= 0);
  if (document.activeElement !== $('#seek')) $('#seek').value = String(t.index);
}

// ---------- cluster view ----------

const TYPE_GROUPS = [
  { name: 'election', color: '#7048e8', test: (t) => /Vote/.test(t) },
  { name: 'heartbeat', color: '#9aa5b1', test: (t) => /Heartbeat/.test(t) },
  { name: 'phase 1', color: '#1c7ed6', test: (t) => /Prepare|Promise|Reject/.test(t) },
  { name: 'phase 2', color: '#2b8a3e', test: (t) => /Accept|Commit/.test(t) },
  { name: 'learn / recovery', color: '#e67700', test: (t) => /Learn|Recovery/.test(t) },
  { name: 'client', color: '#d6336c', test: (t) => /Client/.test(t) },
];

function arrowId(type) {
  const i = TYPE_GROUPS.findIndex((g) => g.test(type));
  return i < 0 ? 'arrowx' : `arrow${i}`;
}

function typeColor(type) {
  return (TYPE_GROUPS.find((g) => g.test(type)) ?? { color: '#495057' }).color;
}

function renderLegend(live) {
  const legend = $('#legend');
  if (legend.dataset.live === String(live)) return;
  legend.dataset.live = String(live);
  legend.innerHTML =
    TYPE_GROUPS.map((g) => `<span><i style="background:${g.color}"></i>${g.name}</span>`).join('') +
    (live
      ? '<span><i class="cut"></i>peer link down</span><span class="muted">on each link: the latest message (fading with age) and how many arrived in the last 2 s</span>'
      : '<span><i class="cut"></i>partitioned link</span><span class="muted">dots are messages in flight</span>');
}

const cards = new Map(); // node id -> element

function nodePositions(v, width, height) {
  const n = v.nodes.length;
  const cx = width / 2;
  const cy = height / 2;
  const rx = Math.max(60, width / 2 - 125);
  const ry = Math.max(60, height / 2 - (v.kind === 'live' ? 125 : 105));
  const pos = new Map();
  v.nodes.forEach((node, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / n;
    pos.set(node.id, n === 1 ? { x: cx, y: cy } : { x: cx + rx * Math.cos(a), y: cy + ry * Math.sin(a) });
  });
  return pos;
}

function renderCluster(v) {
  const stage = $('#cluster-stage');
  const width = stage.clientWidth;
  const height = stage.clientHeight;
  if (width === 0) return; // hidden tab
  const pos = nodePositions(v, width, height);
  const clientPos = { x: width / 2, y: height / 2 };
  const svg = $('#cluster-svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const cut = new Set(v.network.cut.map(([a, b]) => `${a}-${b}`));
  const parts = [];
  const ids = v.nodes.map((n) => n.id);
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const a = pos.get(ids[i]);
      const b = pos.get(ids[j]);
      const isCut = cut.has(`${ids[i]}-${ids[j]}`);
      parts.push(`<line class="link${isCut ? ' cut' : ''}" x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}"/>`);
      if (isCut) parts.push(`<text class="cut-mark" x="${(a.x + b.x) / 2}" y="${(a.y + b.y) / 2 + 4}">✕</text>`);
    }
  }
  const showClient = state.clientSeen || (v.writes && v.writes.submitted > 0);
  if (showClient) {
    for (const id of ids) {
      const a = pos.get(id);
      parts.push(`<line class="link client-link" x1="${clientPos.x}" y1="${clientPos.y}" x2="${a.x}" y2="${a.y}"/>`);
    }
    parts.push(`<circle class="client-node" cx="${clientPos.x}" cy="${clientPos.y}" r="20"/><text class="client-label" x="${clientPos.x}" y="${clientPos.y + 4}">client</text>`);
  }
  const span = Math.max(1, v.network.maxDelayMs);
  const at = (id) => pos.get(id) ?? clientPos;
  // Live: messages cross a LAN too fast to see in flight, so each link shows its recent traffic:
  // a dot near the receiver in the colour of the latest message (fading as it ages) and a count.
  for (const l of v.links ?? []) {
    const a = at(l.from);
    const b = at(l.to);
    const fade = Math.max(0.15, 1 - l.lastAgoMs / l.windowMs);
    const x = a.x + (b.x - a.x) * 0.7;
    const y = a.y + (b.y - a.y) * 0.7;
    const title = `<title>n${l.from} → n${l.to}: ${l.count} messages in the last ${l.windowMs / 1000} s, latest ${esc(l.lastType)} ${Math.round(l.lastAgoMs)} ms ago</title>`;
    parts.push(
      `<g class="traffic" data-from="${l.from}" data-to="${l.to}">${title}<circle class="msg" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="5" fill="${typeColor(l.lastType)}" opacity="${fade.toFixed(2)}"/>` +
        `<text class="traffic-label" x="${x.toFixed(1)}" y="${(y - 8).toFixed(1)}">${l.count}</text></g>`,
    );
  }
  for (const m of v.inFlight) {
    const a = at(m.from);
    const b = at(m.to);
    const p = Math.min(1, Math.max(0, (v.nowMs - m.sentAtMs) / span));
    // Keep dots off the cards: they travel the middle 70% of the link.
    const q = 0.15 + 0.7 * p;
    const x = a.x + (b.x - a.x) * q;
    const y = a.y + (b.y - a.y) * q;
    parts.push(`<circle class="msg" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="5" fill="${typeColor(m.type)}"><title>${esc(m.type)} n${m.from} → n${m.to}, sent ${m.sentAtMs.toFixed(3)} ms</title></circle>`);
  }
  svg.innerHTML = parts.join('');

  const host = $('#cluster-cards');
  for (const node of v.nodes) {
    let card = cards.get(node.id);
    if (!card) {
      card = makeCard(node.id);
      cards.set(node.id, card);
      host.append(card);
    }
    updateCard(card, node, v);
    const p = pos.get(node.id);
    card.style.left = `${p.x}px`;
    card.style.top = `${p.y}px`;
  }
  for (const [id, card] of cards) {
    if (!v.nodes.some((n) => n.id === id)) {
      card.remove();
      cards.delete(id);
    }
  }
}

function makeCard(id) {
  const card = document.createElement('div');
  card.className = 'card';
  card.dataset.node = String(id);
  card.innerHTML = `
    <div class="card-head"><span class="nid">n${id}</span><span class="badge"></span></div>
    <div class="card-meta"><span class="epoch"></span><span class="applied"></span></div>
    <div class="live-meta" hidden></div>
    <div class="card-sub"></div>
    <div class="note" hidden></div>
    <ol class="tail"></ol>
    <div class="card-actions">
      <button class="btn-crash" data-needs-control="crash">Crash</button>
      <button class="btn-restart" data-needs-control="restart">Restart</button>
      <button class="btn-isolate" data-needs-control="isolate">Isolate</button>
      <button class="btn-chart">Chart</button>
    </div>`;
  card.querySelector('.btn-crash').onclick = () => control({ type: 'crash', node: id });
  card.querySelector('.btn-restart').onclick = () => control({ type: 'restart', node: id });
  card.querySelector('.btn-isolate').onclick = () => control({ type: 'isolate', node: id });
  card.querySelector('.btn-chart').onclick = () => {
    state.selectedNode = id;
    state.userSelected = true;
    showTab('charts');
  };
  return card;
}

function updateCard(card, node, v) {
  const role = node.up ? node.role : node.role === 'unknown' ? 'unknown' : 'down';
  card.dataset.role = role;
  card.dataset.up = String(node.up);
  card.dataset.active = String(node.activeLeader);
  const cutOf = (id) => v.network.cut.filter(([a, b]) => a === id || b === id).map(([a, b]) => (a === id ? b : a));
  const isIsolated = (id) => v.nodes.length > 1 && cutOf(id).length === v.nodes.length - 1;
  const isolated = isIsolated(node.id);
  // Being cut from an isolated node says nothing new: the isolated node's card says it.
  const cutFrom = isolated ? [] : cutOf(node.id).filter((id) => !isIsolated(id));
  card.className = `card role-${role}${node.activeLeader ? ' active-leader' : ''}${node.id === state.selectedNode ? ' selected' : ''}${isolated ? ' isolated' : ''}`;
  card.querySelector('.badge').textContent = node.up ? (node.activeLeader ? '★ leader' : role) : role === 'unknown' ? 'unknown' : 'down';
  card.querySelector('.epoch').textContent = `epoch ${node.epoch}`;
  card.querySelector('.applied').textContent = `applied ${node.appliedSlot}`;
  const sub = [];
  if (node.up) sub.push(node.leader === null ? 'no leader known' : node.leader === node.id ? 'leads' : `follows n${node.leader}`);
  if (node.incarnation > 0) sub.push(`restarted ×${node.incarnation}`);
  if (node.up && node.serving === false) sub.push('not serving');
  const subEl = card.querySelector('.card-sub');
  subEl.textContent = sub.join(' · ');
  const liveMeta = card.querySelector('.live-meta');
  liveMeta.hidden = node.lastZxid === undefined;
  if (node.lastZxid !== undefined) liveMeta.innerHTML = `<span>zxid ${esc(node.lastZxid)}</span><span>${node.sessions} session${node.sessions === 1 ? '' : 's'}</span>`;
  const noteEl = card.querySelector('.note');
  noteEl.hidden = !node.note || node.up;
  noteEl.textContent = node.note ?? '';
  if (isolated || cutFrom.length > 0) {
    const cutEl = document.createElement('span');
    cutEl.className = 'cut';
    cutEl.textContent = `${sub.length > 0 ? ' · ' : ''}${isolated ? 'isolated' : `cut from ${cutFrom.map((c) => `n${c}`).join(' ')}`}`;
    subEl.append(cutEl);
  }
  const tail = node.logTail
    .slice()
    .reverse()
    .map((e) => {
      const cmds = e.commands.length === 0 ? '<i>no-op</i>' : esc(e.commands.slice(0, 3).join(' ') + (e.commands.length > 3 ? ` +${e.commands.length - 3}` : ''));
      return `<li><b>${e.slot}</b><span class="ballot">${e.epoch}.${e.proposer}</span>${cmds}</li>`;
    })
    .join('');
  const tailEl = card.querySelector('.tail');
  const html = tail || '<li class="empty">log empty</li>';
  if (tailEl.dataset.html !== html) {
    tailEl.innerHTML = html;
    tailEl.dataset.html = html;
  }
  const allowed = (c) => v.controls.includes(c);
  card.querySelector('.btn-crash').hidden = !node.up || !allowed('crash');
  card.querySelector('.btn-restart').hidden = node.up || !allowed('restart');
  card.querySelector('.btn-isolate').hidden = !node.up || !allowed('isolate');
}

// ---------- charts view ----------

const MACHINE_ORDER = ['election', 'proposer', 'acceptor', 'learner'];
const ELECTION_ROLES = ['follower', 'candidate', 'leader'];

function chartFor(machine, activePaths) {
  if (machine !== 'election') return state.charts.find((c) => c.machine === machine);
  const top = activePaths && activePaths[0];
  const role = ELECTION_ROLES.includes(top) ? top : 'follower';
  return state.charts.find((c) => c.role === role);
}

async function chartSvg(role) {
  let svg = state.chartSvgs.get(role);
  if (svg === undefined) {
    svg = fetch(`/charts/${role}.svg`).then((r) => r.text());
    state.chartSvgs.set(role, svg);
  }
  return svg;
}

function renderCharts(v) {
  if (state.tab !== 'charts') return; // charts are fetched and highlighted only when shown
  const nodes = $('#chart-nodes');
  const key = v.nodes.map((n) => `${n.id}:${n.up}:${n.role}:${n.id === state.selectedNode}`).join('|');
  if (nodes.dataset.key !== key) {
    nodes.textContent = '';
    for (const n of v.nodes) {
      const b = document.createElement('button');
      b.textContent = `n${n.id}`;
      b.dataset.node = String(n.id);
      b.className = `${n.id === state.selectedNode ? 'active' : ''} role-${n.up ? n.role : 'down'}`;
      b.onclick = () => {
        state.selectedNode = n.id;
        state.userSelected = true;
        render();
      };
      nodes.append(b);
    }
    nodes.dataset.key = key;
  }
  const node = v.nodes.find((n) => n.id === state.selectedNode);
  if (!node || state.charts.length === 0) return;
  $('#chart-summary').textContent = node.up ? `${node.role} · epoch ${node.epoch} · applied ${node.appliedSlot}` : 'down: its machines are stopped';
  const grid = $('#chart-grid');
  for (const machine of MACHINE_ORDER) {
    let panel = grid.querySelector(`.chart-panel[data-machine="${machine}"]`);
    if (!panel) {
      panel = document.createElement('div');
      panel.className = 'chart-panel';
      panel.dataset.machine = machine;
      panel.innerHTML = `<div class="chart-title"><b>${machine}</b><span class="chart-state mono"></span></div><div class="chart-body"></div><div class="chart-note muted"></div>`;
      grid.append(panel);
    }
    const m = node.machines[machine];
    const paths = m ? m.activePaths : [];
    const chart = chartFor(machine, paths);
    if (!chart) continue;
    panel.dataset.role = chart.role;
    panel.classList.toggle('inactive', !m);
    panel.querySelector('.chart-state').textContent = m ? formatValue(m.value) + (m.status !== 'active' ? ` (${m.status})` : '') : node.up ? 'not running' : 'down';
    panel.querySelector('.chart-note').textContent = m ? `actor ${m.actorId}` : machine === 'proposer' && node.up ? 'runs only on the elected leader' : '';
    const body = panel.querySelector('.chart-body');
    const highlight = () => {
      const active = new Set(paths);
      for (const g of body.querySelectorAll('[data-state]')) g.classList.toggle('sk-active', active.has(g.dataset.state));
    };
    if (body.dataset.role !== chart.role) {
      body.dataset.role = chart.role;
      body.dataset.loading = chart.role;
      chartSvg(chart.role).then((svg) => {
        if (body.dataset.loading !== chart.role) return;
        body.innerHTML = svg;
        body.dataset.loading = '';
        // The highlight of the latest view, not of the one that started the fetch.
        const latest = state.view && state.view.nodes.find((n) => n.id === state.selectedNode);
        const lm = latest && latest.machines[machine];
        const active = new Set(lm ? lm.activePaths : []);
        for (const g of body.querySelectorAll('[data-state]')) g.classList.toggle('sk-active', active.has(g.dataset.state));
      });
    } else if (!body.dataset.loading) {
      highlight();
    }
  }
}

function formatValue(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => (typeof v === 'string' ? `${k}.${v}` : `${k}.{${formatValue(v)}}`))
      .join(', ');
  }
  return String(value);
}

// ---------- timeline view ----------

function renderFilters() {
  const host = $('#timeline-filters');
  const types = [...state.seenTypes].sort();
  host.innerHTML =
    '<span class="muted">message types</span>' +
    types
      .map(
        (t) =>
          `<label class="chip" style="--c:${typeColor(t)}"><input type="checkbox" data-type="${esc(t)}" ${state.hiddenTypes.has(t) ? '' : 'checked'}>${esc(t)}</label>`,
      )
      .join('') +
    '<button id="filter-all">all</button><button id="filter-quiet" title="Hide heartbeats">no heartbeats</button>';
  for (const input of host.querySelectorAll('input[data-type]')) {
    input.onchange = () => {
      if (input.checked) state.hiddenTypes.delete(input.dataset.type);
      else state.hiddenTypes.add(input.dataset.type);
      state.timelineDirty = true;
      renderTimeline();
    };
  }
  $('#filter-all').onclick = () => {
    state.hiddenTypes.clear();
    renderFilters();
    state.timelineDirty = true;
    renderTimeline();
  };
  $('#filter-quiet').onclick = () => {
    for (const t of state.seenTypes) if (/Heartbeat/.test(t)) state.hiddenTypes.add(t);
    renderFilters();
    state.timelineDirty = true;
    renderTimeline();
  };
}

function timelineLanes(v) {
  const lanes = v.nodes.map((n) => ({ id: n.id, label: `n${n.id}` }));
  if (state.clientSeen) lanes.push({ id: 'client', label: 'clients' });
  return lanes;
}

function renderTimeline() {
  const v = state.view;
  if (!v || !state.timelineDirty) return;
  const scroll = $('#timeline-scroll');
  const width = scroll.clientWidth;
  if (width === 0) return;
  state.timelineDirty = false;
  const atBottom = scroll.scrollTop + scroll.clientHeight >= scroll.scrollHeight - 30;
  const lanes = timelineLanes(v);
  const gutter = 86;
  const laneWidth = (width - gutter - 20) / Math.max(1, lanes.length);
  const laneX = new Map(lanes.map((l, i) => [l.id, gutter + laneWidth * (i + 0.5)]));
  const xOf = (id) => laneX.get(isClientId(id) ? 'client' : id) ?? gutter;
  const rows = [];
  for (let i = state.timeline.length - 1; i >= 0 && rows.length < MAX_TIMELINE_ROWS; i--) {
    const e = state.timeline[i];
    if (e.kind === 'message' && state.hiddenTypes.has(e.type)) continue;
    rows.push(e);
  }
  rows.reverse();
  const height = Math.max(scroll.clientHeight - 4, rows.length * TIMELINE_ROW_PX + 30);
  const svg = $('#timeline-svg');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  const parts = [
    `<defs>${TYPE_GROUPS.map((g, i) => `<marker id="arrow${i}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${g.color}"/></marker>`).join('')}<marker id="arrowx" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#495057"/></marker></defs>`,
  ];
  for (const l of lanes) parts.push(`<line class="lane" x1="${laneX.get(l.id)}" y1="0" x2="${laneX.get(l.id)}" y2="${height}"/>`);
  rows.forEach((e, i) => {
    const y = 16 + i * TIMELINE_ROW_PX;
    parts.push(`<text class="tl-time" x="6" y="${y + 4}">${e.atMs.toFixed(3)}</text>`);
    if (e.kind === 'message') {
      const x1 = xOf(e.from);
      const x2 = xOf(e.to);
      const color = typeColor(e.type);
      const title = `<title>${esc(e.summary)}\nn${e.from} → n${e.to}${e.sentAtMs === null ? '' : `\nsent ${e.sentAtMs.toFixed(3)} ms`}\n${e.phase} ${e.atMs.toFixed(3)} ms</title>`;
      if (e.phase === 'delivered') {
        parts.push(
          `<g class="tl-msg" data-type="${esc(e.type)}">${title}<line x1="${x1}" y1="${y - 6}" x2="${x2}" y2="${y + 6}" stroke="${color}" marker-end="url(#${arrowId(e.type)})"/>` +
            `<text x="${(x1 + x2) / 2}" y="${y - 5}" fill="${color}">${esc(shortSummary(e.summary))}</text></g>`,
        );
      } else {
        // A message to a down node crosses the network and stops at its lane; a lost one halfway.
        const xm = e.phase === 'receiver-down' ? x2 : x1 + (x2 - x1) * 0.55;
        parts.push(
          `<g class="tl-msg lost" data-type="${esc(e.type)}">${title}<line x1="${x1}" y1="${y - 6}" x2="${xm}" y2="${y}" stroke="${color}"/>` +
            `<text class="lost-mark" x="${xm}" y="${y + 5}">✕</text><text x="${(x1 + xm) / 2}" y="${y - 5}" fill="${color}">${esc(e.type)} ${LOST_LABEL[e.phase] ?? e.phase}</text></g>`,
        );
      }
    } else if (e.kind === 'role') {
      const x = xOf(e.node);
      const cls = e.up ? `role-${e.role}` : 'role-down';
      parts.push(`<g class="tl-role ${cls}"><circle cx="${x}" cy="${y}" r="6"/><text x="${x + 10}" y="${y + 4}">${esc(roleText(e))}</text></g>`);
    } else if (e.kind === 'note') {
      parts.push(`<g class="tl-note"><rect x="${gutter - 4}" y="${y - 10}" width="${width - gutter - 12}" height="19" rx="4"/><text x="${gutter + 4}" y="${y + 4}">${esc(e.text)}</text></g>`);
    }
  });
  if (rows.length === 0) parts.push(`<text class="tl-empty" x="${width / 2}" y="60">${v.kind === 'live' ? 'no traffic yet' : 'no traffic yet — run or step the cluster'}</text>`);
  svg.innerHTML = parts.join('');
  const header = $('#timeline-header');
  header.innerHTML = lanes.map((l) => `<span style="left:${laneX.get(l.id)}px">${l.label}</span>`).join('');
  if (atBottom) scroll.scrollTop = scroll.scrollHeight;
}

const LOST_LABEL = { dropped: 'dropped', partitioned: 'partitioned', 'receiver-down': 'to a down node' };

function shortSummary(summary) {
  return summary.length > 34 ? `${summary.slice(0, 33)}…` : summary;
}

// ---------- tabs, controls ----------

function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === tab);
  for (const s of document.querySelectorAll('.view')) s.classList.toggle('active', s.id === `view-${tab}`);
  state.timelineDirty = true;
  render();
}

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function selectedNode() {
  return Number($('#node-select').value);
}

function wire() {
  for (const b of document.querySelectorAll('#tabs button')) b.onclick = () => showTab(b.dataset.tab);
  $('#btn-run').onclick = () => control({ type: 'run', speedMsPerS: Number($('#speed').value) });
  $('#btn-pause').onclick = () => control({ type: 'pause' });
  $('#btn-step').onclick = () => control({ type: 'step' });
  $('#btn-back').onclick = () => control({ type: 'back' });
  $('#speed').onchange = () => control({ type: 'speed', speedMsPerS: Number($('#speed').value) });
  $('#btn-crash').onclick = () => control({ type: 'crash', node: selectedNode() });
  $('#btn-restart').onclick = () => control({ type: 'restart', node: selectedNode() });
  $('#btn-isolate').onclick = () => control({ type: 'isolate', node: selectedNode() });
  $('#btn-heal').onclick = () => control({ type: 'heal' });
  for (const id of ['#drop', '#dup', '#delay-min', '#delay-max']) $(id).oninput = () => ($(id).dataset.edited = '1');
  $('#btn-faults').onclick = async () => {
    await control({
      type: 'faults',
      dropRate: Number($('#drop').value) / 100,
      duplicateRate: Number($('#dup').value) / 100,
      minDelayMs: Number($('#delay-min').value),
      maxDelayMs: Number($('#delay-max').value),
    });
    for (const id of ['#drop', '#dup', '#delay-min', '#delay-max']) $(id).dataset.edited = '';
  };
  $('#btn-submit').onclick = () => control({ type: 'submit', count: Number($('#write-count').value) });
  $('#btn-seek').onclick = () => control({ type: 'seek', index: Number($('#seek').value) });
  $('#btn-load').onclick = async () => {
    const reply = await request({ type: 'loadTrace', path: $('#trace-path').value.trim() });
    log(reply.message, reply.ok ? 'note' : 'error');
    if (reply.ok) showTab(state.tab);
  };
  $('#trace-file').onchange = async () => {
    const file = $('#trace-file').files[0];
    if (!file) return;
    const reply = await request({ type: 'loadTrace', name: file.name, content: await file.text() });
    log(reply.message, reply.ok ? 'note' : 'error');
  };
  $('#btn-new').onclick = async () => {
    const reply = await request({ type: 'newSimulation', nodes: Number($('#new-nodes').value), seed: Number($('#new-seed').value) });
    log(reply.message, reply.ok ? 'note' : 'error');
  };
  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    const v = state.view;
    if (!v) return;
    if (e.key === ' ' && v.controls.includes('run')) {
      e.preventDefault();
      control(v.running ? { type: 'pause' } : { type: 'run', speedMsPerS: Number($('#speed').value) });
    } else if (e.key === 'ArrowRight' && v.controls.includes('step')) {
      control({ type: 'step' });
    } else if (e.key === 'ArrowLeft' && v.controls.includes('back')) {
      control({ type: 'back' });
    }
  });
  window.addEventListener('resize', () => {
    state.timelineDirty = true;
    render();
  });
  renderLegend(false);
  renderFilters();
}

// In-flight dots move with virtual time; between server views there is nothing new to draw.
wire();
connect();
