// The continuity map: the config as a graph (sources → routes → owners and destinations →
// alerts), each edge coloured by its health over the window and labelled with its volume and
// success share. Clicking an edge shows its figures and links to the inquiries behind it.
import * as api from './api.js';
import { h, s, token, duration, percent, loading, select, card, empty, facts, badge, hashFor } from './dom.js';

const WINDOWS = [['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days']];
const COLUMN_TITLES = ['Sources', 'Routes', 'Owners & destinations', 'Alerts'];
const NODE_W = 184;
const NODE_H = 46;
const GAP = 16;
const GROUP_GAP = 28;
const TOP = 36;
const WIDTH = 1200;

// What confirmed / failed / pending mean on each kind of edge (continuity_map.h).
const EDGE_WORDS = {
  inquiries: { what: 'inquiries the route took', confirmed: 'given an owner', failed: 'still without an owner', pending: 'in flight' },
  task: { what: 'tasks the owner holds', confirmed: 'acknowledged in time', failed: 'acknowledged late or overdue', pending: 'not yet due' },
  alert: { what: 'leak alerts sent', confirmed: 'confirmed', failed: 'retrying', pending: 'waiting' },
};
const HANDOFF_WORDS = { what: 'handoffs', confirmed: 'confirmed', failed: 'retrying', pending: 'waiting or in flight' };

export async function renderMap(root, ctx) {
  const win = WINDOWS.some(([v]) => v === ctx.params.get('window')) ? ctx.params.get('window') : '24h';
  const winSelect = select(WINDOWS, win, { 'data-testid': 'map-window', 'aria-label': 'Window' });
  winSelect.addEventListener('change', () => ctx.go('map', { window: winSelect.value }));
  const canvas = h('div', { class: 'map-canvas' }, loading());
  const detail = h('div', { class: 'map-detail', 'data-testid': 'map-edge-detail', hidden: true });
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Continuity map'),
      h('div', { class: 'toolbar' },
        legend(),
        h('label', { class: 'inline' }, 'Window ', winSelect),
        h('button', { type: 'button', class: 'button', 'data-testid': 'map-refresh', onclick: () => ctx.refresh() }, 'Refresh'))),
    h('p', { class: 'muted small' }, 'Every inquiry goes from a source to a route, which gives it an owner and hands it to destinations. Click a line for its figures.'),
    canvas, detail);

  const map = await api.get('/api/v1/map', { window: win });
  const nodes = map.nodes || [];
  const edges = map.edges || [];
  if (nodes.length === 0) {
    canvas.replaceChildren(empty('Nothing to draw: the config has no sources.'));
    return;
  }
  canvas.replaceChildren(drawMap(nodes, edges, (edge, el) => showEdge(detail, edge, el, nodes, edges, canvas)));
}

function legend() {
  return h('span', { class: 'legend', 'aria-label': 'Health colours' },
    ['ok', 'degraded', 'broken', 'idle'].map((k) => h('span', { class: `legend-item health-${k}` }, k)));
}

function column(node) {
  switch (node.kind) {
    case 'source': return 0;
    case 'route': return 1;
    case 'owner': return 2;
    case 'destination': return 2;
    case 'alerts': return 3;
    default: return 2;
  }
}

function subtitle(node) {
  switch (node.kind) {
    case 'source':
      return [node.adapter, node.channel !== node.adapter ? node.channel : ''].filter(Boolean).join(' · ') || 'source';
    case 'route': return node.fallback ? 'fallback route' : 'route';
    case 'owner': return node.name && node.name !== node.label ? node.name : 'owner';
    case 'destination': return node.connector || 'destination';
    default: return 'leak alerts';
  }
}

function clip(text, max) {
  const t = String(text ?? '');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function drawMap(nodes, edges, onSelect) {
  // Place the nodes: one column per kind, owners above destinations in the third column.
  const cols = [[], [], [], []];
  for (const n of nodes) cols[column(n)].push(n);
  const used = cols.map((c, i) => [c, i]).filter(([c]) => c.length > 0);
  const colHeight = (list) => {
    let hgt = list.length * NODE_H + Math.max(0, list.length - 1) * GAP;
    if (list.some((n) => n.kind === 'owner') && list.some((n) => n.kind === 'destination')) hgt += GROUP_GAP - GAP;
    return hgt;
  };
  const height = TOP + Math.max(...cols.map(colHeight)) + 24;
  const step = used.length > 1 ? (WIDTH - 40 - NODE_W) / (used.length - 1) : 0;
  const pos = new Map();
  used.forEach(([list], ci) => {
    const x = 20 + ci * step;
    let y = TOP + (height - TOP - 24 - colHeight(list)) / 2;
    list.forEach((n, i) => {
      if (i > 0 && n.kind === 'destination' && list[i - 1].kind === 'owner') y += GROUP_GAP - GAP;
      pos.set(n.id, { x, y, node: n });
      y += NODE_H + GAP;
    });
  });

  const svg = s('svg', {
    viewBox: `0 0 ${WIDTH} ${height}`, class: 'map-svg', 'data-testid': 'map-svg', role: 'group',
    'aria-label': 'Continuity map',
  });
  used.forEach(([, colIndex], ci) => {
    svg.append(s('text', { x: 20 + ci * step + NODE_W / 2, y: 18, class: 'column-title', 'text-anchor': 'middle' }, COLUMN_TITLES[colIndex]));
  });

  const edgeLayer = s('g', { class: 'edges' });
  const labelLayer = s('g', { class: 'edge-labels' });
  const nodeLayer = s('g', { class: 'nodes' });
  svg.append(edgeLayer, nodeLayer, labelLayer);

  const placed = [];  // label boxes so far: labels are moved along their line to avoid them
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const mx = (x1 + x2) / 2;
    const d = `M${x1} ${y1} C${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`;
    const health = token(e.health);
    const vol = Number(e.volume) || 0;
    const width = vol > 0 ? Math.min(6, 1.6 + Math.log2(1 + vol)) : 1.4;
    const fromLabel = a.node.label;
    const toLabel = b.node.label;
    const summary = `${fromLabel} → ${toLabel} (${e.kind}): ${vol}, ${percent(e.success_ratio)} succeeded, ${e.health}`;
    const g = s('g', {
      class: ['edge', `health-${health}`], 'data-testid': 'map-edge', 'data-from': e.from, 'data-to': e.to,
      'data-kind': e.kind, 'data-health': e.health, tabindex: '0', role: 'button', 'aria-label': summary,
    },
    s('title', null, summary),
    s('path', { d, class: 'edge-hit', fill: 'none' }),
    s('path', { d, class: 'edge-line', fill: 'none', 'stroke-width': width.toFixed(1) }));
    const choose = () => onSelect(e, g);
    g.addEventListener('click', choose);
    g.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); choose(); }
    });
    edgeLayer.append(g);
    if (vol > 0) {
      const text = e.success_ratio === null || e.success_ratio === undefined ? `${vol}` : `${vol} · ${percent(e.success_ratio)}`;
      const [lx, ly] = placeLabel(placed, text, x1, y1, x2, y2);
      const label = s('text', {
        x: lx.toFixed(1), y: (ly + 4).toFixed(1), class: ['edge-label', `health-${health}`], 'text-anchor': 'middle',
        'data-testid': 'map-edge-label',
      }, text);
      labelLayer.append(label);
    }
  }

  for (const { x, y, node } of pos.values()) {
    const health = token(node.health);
    nodeLayer.append(s('g', {
      class: ['node', `node-${token(node.kind)}`, `health-${health}`], 'data-testid': 'map-node',
      'data-id': node.id, 'data-health': node.health, transform: `translate(${x} ${y})`,
    },
    s('title', null, `${node.kind} ${node.label}: ${node.health}, volume ${node.volume ?? 0}, open leaks ${node.open_leaks ?? 0}`),
    s('rect', { width: NODE_W, height: NODE_H, rx: 6, class: 'node-box' }),
    s('rect', { width: 5, height: NODE_H, rx: 2, class: 'node-health' }),
    s('text', { x: 14, y: 19, class: 'node-label' }, clip(node.kind === 'alerts' ? 'alerts' : node.label, 20)),
    s('text', { x: 14, y: 36, class: 'node-sub' }, clip(subtitle(node), 22)),
    s('text', { x: NODE_W - 8, y: 19, class: 'node-volume', 'text-anchor': 'end' }, String(node.volume ?? 0)),
    node.open_leaks ? s('text', { x: NODE_W - 8, y: 36, class: 'node-leaks', 'text-anchor': 'end' }, `⚠ ${node.open_leaks}`) : null));
  }
  return svg;
}

// The point at t of the edge's curve (a cubic with both control points at the middle x).
function curvePoint(x1, y1, x2, y2, t) {
  const mx = (x1 + x2) / 2;
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const c = 3 * u * t * t;
  const d = t * t * t;
  return [a * x1 + (b + c) * mx + d * x2, (a + b) * y1 + (c + d) * y2];
}

// Where along the edge its label goes: the middle, unless that box overlaps a label already
// placed; then the first free spot nearer either end; else the least crowded one.
function placeLabel(placed, text, x1, y1, x2, y2) {
  const w = text.length * 7 + 12;
  const hgt = 14;
  let best = null;
  for (const t of [0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75, 0.18, 0.82, 0.13, 0.87]) {
    const [x, y] = curvePoint(x1, y1, x2, y2, t);
    const box = { l: x - w / 2, r: x + w / 2, t: y - hgt / 2, b: y + hgt / 2 };
    let overlap = 0;
    for (const o of placed) {
      const ox = Math.min(box.r, o.r) - Math.max(box.l, o.l);
      const oy = Math.min(box.b, o.b) - Math.max(box.t, o.t);
      if (ox > 0 && oy > 0) overlap += ox * oy;
    }
    if (!best || overlap < best.overlap) best = { x, y, box, overlap };
    if (overlap === 0) break;
  }
  placed.push(best.box);
  return [best.x, best.y];
}

function nameOf(id, nodes) {
  const n = nodes.find((x) => x.id === id);
  return n ? n.label : id;
}

function showEdge(detail, e, el, nodes, edges, canvas) {
  for (const other of canvas.querySelectorAll('.edge.selected')) other.classList.remove('selected');
  el.classList.add('selected');
  const words = EDGE_WORDS[e.kind] || HANDOFF_WORDS;
  const from = nodes.find((n) => n.id === e.from) || { kind: '', label: e.from };
  const to = nodes.find((n) => n.id === e.to) || { kind: '', label: e.to };

  // The inquiries behind the edge: filtered by its source when it starts at one; a route's
  // edges list one link per source that feeds the route.
  let links = [];
  if (from.kind === 'source') {
    links = [[from.label, hashFor('inquiries', { source: from.label })]];
  } else if (from.kind === 'route') {
    links = edges.filter((x) => x.to === e.from && (Number(x.volume) || 0) > 0 && x.from.startsWith('source:'))
      .map((x) => { const src = nameOf(x.from, nodes); return [src, hashFor('inquiries', { source: src })]; });
  }
  if (links.length === 0 && e.kind !== 'alert') links = [['all sources', '#/inquiries']];

  detail.hidden = false;
  detail.replaceChildren(card(null,
    h('div', { class: 'detail-head' },
      h('h3', null, `${from.label} → ${to.label}`),
      badge(e.health, e.health, { 'data-testid': 'map-edge-health' }),
      h('span', { class: 'muted' }, `${e.kind}: ${words.what}`)),
    facts([
      ['Volume', String(e.volume ?? 0), 'map-edge-volume'],
      [words.confirmed === 'confirmed' ? 'Confirmed' : `Confirmed (${words.confirmed})`, String(e.confirmed ?? 0)],
      [`Failed (${words.failed})`, String(e.failed ?? 0)],
      e.kind !== 'inquiries' && e.kind !== 'task' ? ['Dead', String(e.dead ?? 0)] : null,
      [`Pending (${words.pending})`, String(e.pending ?? 0)],
      ['Success', percent(e.success_ratio), 'map-edge-success'],
      ['p95 time', e.p95_ms === null || e.p95_ms === undefined ? '—' : duration(e.p95_ms)],
      ['Open leaks', String(e.open_leaks ?? 0)],
    ].filter(Boolean), { keepEmpty: true }),
    h('div', { class: 'detail-links' },
      links.length ? ['Inquiries from ', links.map(([label, href], i) => [i ? ', ' : '',
        h('a', { href, 'data-testid': 'map-edge-link' }, label)])] : null,
      (e.open_leaks || e.dead) ? [' · ', h('a', { href: '#/leaks' }, 'see the leaks')] : null)));
}
