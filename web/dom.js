// DOM helpers for the dashboard. Every value that came from the server (and so, possibly, from a
// public web form) reaches the page only as a text node or an attribute value set with
// setAttribute: this file is the one place elements are made, and it never parses markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Attribute values that are URLs must be ours: an in-app hash route, a same-origin path, or an
// http(s) URL shown for copying. Anything else (javascript:, data:, vbscript:, …) is refused.
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href']);
function safeUrl(value) {
  const v = String(value);
  if (v.startsWith('#') || (v.startsWith('/') && !v.startsWith('//'))) return v;
  if (/^https?:\/\//i.test(v)) return v;
  throw new Error('refused a URL attribute that is not a same-origin path: ' + v.slice(0, 40));
}

function build(el, attrs, children) {
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on')) {
        // Only real listeners; an inline handler string is never set.
        if (typeof value !== 'function') throw new Error('event attribute must be a function: ' + key);
        el.addEventListener(key.slice(2), value);
      } else if (key === 'style') {
        throw new Error('inline styles are blocked by the CSP; use a class');
      } else if (key === 'class') {
        const cls = Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value);
        if (cls) el.setAttribute('class', cls);
      } else if (key === 'value' && el instanceof HTMLElement && 'value' in el) {
        el.value = String(value);
      } else if (key === 'checked' || key === 'selected' || key === 'disabled') {
        el[key] = Boolean(value);
      } else if (URL_ATTRS.has(key)) {
        el.setAttribute(key, safeUrl(value));
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

// Appends children: nodes as they are, everything else as text (never as markup).
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// h('a', {href: '#/map', class: 'x'}, 'text', otherNode)
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// The same for SVG elements (presentation attributes like x, y, fill are plain attributes).
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// A class name part from a data value ("ok", "dead", "acknowledged"): only [a-z0-9_-].
export function token(value) {
  return String(value ?? '').toLowerCase().replace(/[^a-z0-9_-]/g, '-').slice(0, 40) || 'none';
}

// ---- formatting ---------------------------------------------------------------------------

const dateFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

// A <time> element showing an RFC 3339 time in local time; "—" for null.
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', null, String(iso));
  return h('time', { datetime: iso, title: iso }, dateFormat.format(d));
}

export function day(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : dayFormat.format(d);
}

// 1234 → "1.2 s"; 95 → "95 ms"; 200000 → "3m 20s"; null → "—".
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return '—';
  const v = Number(ms);
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60000) return `${(v / 1000).toFixed(v < 10000 ? 1 : 0)} s`;
  const s = Math.round(v / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined) return '—';
  const p = Number(ratio) * 100;
  return `${p >= 99.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// A small coloured label; `kind` picks the colour class (badge-ok, badge-dead, …).
export function badge(text, kind, attrs = {}) {
  return h('span', { ...attrs, class: ['badge', `badge-${token(kind ?? text)}`, attrs.class] },
    String(text ?? ''));
}

// Any JSON value as one line of text ("a: 1, b: x"), for event details and fields.
export function compact(value) {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return value.map(compact).join(', ');
  return Object.entries(value)
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

// ---- building blocks ----------------------------------------------------------------------

// A table: columns [{label, class?}], rows already built as <tr> elements.
export function table(columns, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' }, h('table', { ...attrs, class: ['data', attrs.class] },
    h('thead', null, h('tr', null, columns.map((c) =>
      h('th', { class: c.class, scope: 'col' }, c.label ?? c)))),
    h('tbody', null, rows)));
}

// A <dl> of label/value pairs; values may be nodes or text; empty values are skipped unless
// `keepEmpty`.
export function facts(pairs, { keepEmpty = false, attrs = {} } = {}) {
  const dl = h('dl', { ...attrs, class: ['facts', attrs.class] });
  for (const [label, value, testid] of pairs) {
    if (!keepEmpty && (value === '' || value === null || value === undefined)) continue;
    dl.append(h('dt', null, label), h('dd', { 'data-testid': testid }, value ?? '—'));
  }
  return dl;
}

export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h3', null, title) : null, children);
}

export function empty(text, testid) {
  return h('p', { class: 'empty', 'data-testid': testid }, text);
}

export function errorBox(err) {
  const msg = err && err.message ? err.message : String(err);
  const code = err && err.code ? ` (${err.code})` : '';
  return h('div', { class: 'error', role: 'alert', 'data-testid': 'error' }, msg + code);
}

export function loading() {
  return h('p', { class: 'loading', 'data-testid': 'loading' }, 'Loading…');
}

// A <select> with options [[value, label]]; `selected` is the current value.
export function select(options, selected, attrs = {}) {
  const el = h('select', attrs, options.map(([value, label]) =>
    h('option', { value, selected: String(value) === String(selected ?? '') }, label)));
  el.value = String(selected ?? '');
  if (el.selectedIndex < 0) el.selectedIndex = 0;
  return el;
}

// The inquiry's display name: the normalized contact name, else as received, else its phone,
// email or id.
export function inquiryName(inq) {
  const c = inq.contact || {};
  const r = inq.contact_as_received || {};
  return c.name || r.name || c.phone || r.phone || c.email || r.email || '(no name)';
}

export function inquiryHref(id) {
  return `#/inquiries/${encodeURIComponent(String(id))}`;
}

// "#/inquiries?source=web" from ('inquiries', {source: 'web'}); empty parameters left out.
export function hashFor(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}
