// Inquiries: the searchable list (q, source, channel, status, route; paged by the `next` cursor; CSV
// export with the same filters) and one inquiry's page: its fields, contact, tasks, handoffs
// and its timeline across the five stages.
import * as api from './api.js';
import {
  h, time, duration, badge, compact, table, facts, card, empty, loading, errorBox, select,
  inquiryName, inquiryHref, plural,
} from './dom.js';
import { taskActions, replayButton, lastAnswer } from './actions.js';

const CHANNELS = ['form', 'call', 'chat', 'booking', 'sms', 'email', 'other'];
const STATUSES = ['received', 'awaiting_context', 'enriched', 'unrouted', 'assigned', 'routed',
  'delivered', 'attention', 'canceled'];
export const STAGES = [
  ['entry', 'Entry'], ['enrich', 'Enrichment'], ['trigger', 'Trigger'], ['transfer', 'Transfer'],
  ['track', 'Tracking'],
];
const STAGE_NAMES = Object.fromEntries(STAGES);
const PAGE_SIZE = 50;

export async function renderInquiries(root, ctx) {
  const p = ctx.params;
  const filters = {
    q: p.get('q') || '', source: p.get('source') || '', channel: p.get('channel') || '',
    status: p.get('status') || '', route: p.get('route') || '',
  };
  const before = p.get('before') || '';

  const q = h('input', {
    type: 'search', name: 'q', value: filters.q, placeholder: 'Name, email, phone or message',
    'data-testid': 'inquiries-search', 'aria-label': 'Search', class: 'grow',
  });
  const sourceSelect = select([['', 'All sources'], ...(filters.source ? [[filters.source, filters.source]] : [])],
    filters.source, { name: 'source', 'data-testid': 'inquiries-source', 'aria-label': 'Source' });
  const channelSelect = select([['', 'All channels'], ...CHANNELS.map((c) => [c, c])], filters.channel,
    { name: 'channel', 'data-testid': 'inquiries-channel', 'aria-label': 'Channel' });
  const statusSelect = select([['', 'Any status'], ...STATUSES.map((s) => [s, s.replace('_', ' ')])],
    filters.status, { name: 'status', 'data-testid': 'inquiries-status', 'aria-label': 'Status' });
  const form = h('form', {
    class: 'toolbar', 'data-testid': 'inquiries-filters', role: 'search',
    onsubmit: (e) => {
      e.preventDefault();
      ctx.go('inquiries', {
        q: q.value.trim(), source: sourceSelect.value, channel: channelSelect.value,
        status: statusSelect.value, route: filters.route,
      });
    },
  }, q, sourceSelect, channelSelect, statusSelect,
  // The route filter comes from a link (an inquiry's route, a scorecard path); shown so it can
  // be dropped.
  filters.route ? h('span', { class: 'chip', 'data-testid': 'inquiries-route' }, `Route: ${filters.route} `,
    h('a', { href: hashWithout({ ...filters, route: '' }), 'aria-label': 'Any route', 'data-testid': 'inquiries-route-clear' }, '×')) : null,
  h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'inquiries-apply' }, 'Search'),
  h('a', { href: '#/inquiries', class: 'button button-quiet', 'data-testid': 'inquiries-clear' }, 'Clear'));
  for (const sel of [sourceSelect, channelSelect, statusSelect]) {
    sel.addEventListener('change', () => form.requestSubmit());
  }

  const csv = h('a', {
    class: 'button', href: api.withQuery('/api/v1/inquiries.csv', filters), download: 'inquiries.csv',
    'data-testid': 'inquiries-csv',
  }, 'Export CSV');
  const results = h('div', { class: 'results' }, loading());
  root.append(h('div', { class: 'page-head' }, h('h1', null, 'Inquiries'), csv), form, results);

  // The source filter's choices come from the configured sources.
  api.get('/api/v1/sources').then((data) => {
    const names = (data && data.sources ? data.sources : []).map((s) => s.name);
    if (filters.source && !names.includes(filters.source)) names.push(filters.source);
    sourceSelect.replaceChildren(...[['', 'All sources'], ...names.map((n) => [n, n])]
      .map(([v, l]) => h('option', { value: v }, l)));
    sourceSelect.value = filters.source;
  }).catch(() => {});

  const data = await api.get('/api/v1/inquiries', { ...filters, before, limit: PAGE_SIZE });
  const list = data.inquiries || [];
  const rows = list.map((inq) => h('tr', { 'data-testid': 'inquiry-row', 'data-id': inq.id },
    h('td', { class: 'nowrap' }, time(inq.received_at)),
    h('td', null, h('a', { href: inquiryHref(inq.id), 'data-testid': 'inquiry-link' }, inquiryName(inq))),
    h('td', { class: 'contact-cell' }, contactLines(inq.contact, inq.contact_as_received)),
    h('td', null, inq.source, h('div', { class: 'muted small' }, inq.channel)),
    h('td', { class: 'message-cell' }, h('span', { class: 'clip', title: inq.message || '' }, inq.message || '')),
    h('td', null, STAGE_NAMES[inq.stage] || inq.stage),
    h('td', null, badge(inq.status, inq.status, { 'data-testid': 'inquiry-status' })),
    h('td', { 'data-testid': 'inquiry-route' }, inq.route || '')));

  const pager = h('div', { class: 'pager' },
    before ? h('a', { class: 'button', href: hashWithout(filters), 'data-testid': 'inquiries-first' }, '← Newest') : null,
    data.next ? h('button', {
      type: 'button', class: 'button', 'data-testid': 'inquiries-next',
      onclick: () => ctx.go('inquiries', { ...filters, before: data.next }),
    }, 'Older →') : null);

  results.replaceChildren(
    list.length === 0
      ? empty(anyFilter(filters) ? 'No inquiry matches these filters.' : 'No inquiries yet.', 'inquiries-empty')
      : table(['Received', 'Name', 'Contact', 'Source', 'Message', 'Stage', 'Status', 'Route'], rows,
        { 'data-testid': 'inquiries-table' }),
    h('div', { class: 'list-foot' },
      h('span', { class: 'muted' }, list.length ? `${plural(list.length, 'inquiry', 'inquiries')}${before ? ' (older page)' : ''}` : ''),
      pager));
}

function anyFilter(f) {
  return Object.values(f).some(Boolean);
}

function hashWithout(filters) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/inquiries${qs ? `?${qs}` : ''}`;
}

function contactLines(c = {}, received = {}) {
  const email = (c && c.email) || (received && received.email) || '';
  const phone = (c && c.phone) || (received && received.phone) || '';
  return [email ? h('div', null, email) : null, phone ? h('div', null, phone) : null];
}

// ---- one inquiry --------------------------------------------------------------------------

export async function renderInquiry(root, ctx) {
  root.append(h('a', { href: '#/inquiries', class: 'back' }, '← Inquiries'), loading());
  let data;
  try {
    data = await api.get(`/api/v1/inquiries/${encodeURIComponent(ctx.id)}`);
  } catch (err) {
    if (err.status === 404) {
      root.replaceChildren(h('a', { href: '#/inquiries', class: 'back' }, '← Inquiries'),
        errorBox(new Error('There is no inquiry with this id.')));
      return;
    }
    throw err;
  }
  const inq = data.inquiry || {};
  const tasks = data.tasks || (data.task ? [data.task] : []);
  const handoffs = data.handoffs || [];
  const timeline = data.timeline || { events: [], stages: {} };

  const head = h('div', { class: 'page-head' },
    h('div', null,
      h('h1', { 'data-testid': 'inquiry-name' }, inquiryName(inq)),
      h('div', { class: 'badges' },
        badge(inq.status, inq.status, { 'data-testid': 'inquiry-status' }),
        badge(STAGE_NAMES[inq.stage] || inq.stage, 'stage'),
        badge(inq.channel, 'channel'))),
    h('button', { type: 'button', class: 'button', 'data-testid': 'detail-refresh', onclick: () => ctx.refresh() }, 'Refresh'));

  const received = inq.contact_as_received || {};
  const normalized = inq.contact || {};
  const inquiryCard = card('Inquiry',
    h('div', { class: 'message', 'data-testid': 'inquiry-message' }, inq.message || ''),
    facts([
      ['Id', h('code', null, inq.id)],
      ['Source', inq.source],
      ['Channel', inq.channel],
      ['Received', time(inq.received_at)],
      ['Occurred', inq.occurred_at ? time(inq.occurred_at) : ''],
      ['Service', inq.service],
      ['Location', inq.location],
      ['Route', inq.route ? h('a', { href: hashWithout({ route: inq.route }), title: 'Every inquiry this route took' }, inq.route) : '', 'inquiry-route'],
      ['Provider event', inq.provider_event_id],
    ]));

  const contact = data.contact;
  const contactCard = card('Contact',
    facts([
      ['Name', normalized.name || received.name || '', 'contact-name'],
      ['Email', normalized.email || received.email || ''],
      ['Phone', normalized.phone || received.phone || ''],
      ['As received', [received.name, received.email, received.phone].filter(Boolean).join(' · ')],
      ['Contact record', contact ? h('code', null, contact.id) : h('span', { class: 'muted' }, 'not linked yet')],
      ['Known since', contact && contact.created_at ? time(contact.created_at) : ''],
    ]),
    attributionFacts(inq.attribution),
    h('h4', null, 'Context found'),
    fieldFacts(inq.fields));

  const tasksCard = card(tasks.length > 1 ? 'Tasks' : 'Task',
    tasks.length === 0 ? empty('No task yet.') : tasks.map((t) => h('div', { class: 'task', 'data-testid': 'detail-task', 'data-state': t.state },
      h('div', { class: 'task-title' }, t.title || '(untitled)', ' ', badge(t.state, t.state)),
      facts([
        ['Owner', t.owner || h('span', { class: 'muted' }, 'nobody')],
        ['Route', t.route],
        ['Due', time(t.due_at)],
        ['Acknowledged', t.acknowledged_at ? time(t.acknowledged_at) : ''],
        ['Done', t.done_at ? time(t.done_at) : ''],
        ['Ask for', (t.missing || []).join(', ')],
        ['Escalation step', t.escalation_step ? String(t.escalation_step) : ''],
      ]),
      taskActions(t, ctx))));

  const handoffRows = handoffs.map((ho) => h('tr', { 'data-testid': 'handoff-row', 'data-id': ho.id, 'data-state': ho.state },
    h('td', null, ho.destination, ho.recipient ? h('div', { class: 'muted small' }, `to ${ho.recipient}`) : null),
    h('td', null, ho.purpose || 'deliver'),
    h('td', null, badge(ho.state, ho.state)),
    h('td', { class: 'num' }, String(ho.attempts ?? 0)),
    h('td', { class: 'small' }, lastAnswer(ho)),
    h('td', { class: 'nowrap' }, time(ho.created_at)),
    h('td', { class: 'nowrap' }, ho.confirmed_at ? [time(ho.confirmed_at), h('div', { class: 'muted small' }, duration(ho.latency_ms))] : (ho.next_attempt_at ? ['next try ', time(ho.next_attempt_at)] : '')),
    h('td', null, ho.remote_id || ''),
    h('td', null, ho.state === 'dead' ? replayButton(ho, ctx) : null)));
  const handoffsCard = card('Handoffs',
    handoffs.length === 0 ? empty('No handoffs yet.')
      : table(['Destination', 'Purpose', 'State', 'Attempts', 'Last answer', 'Created', 'Confirmed', 'Remote id', ''], handoffRows));

  root.replaceChildren(
    h('a', { href: '#/inquiries', class: 'back' }, '← Inquiries'),
    head,
    h('div', { class: 'grid-3' }, inquiryCard, contactCard, tasksCard),
    handoffsCard,
    timelineCard(timeline),
    inq.raw ? h('details', { class: 'card raw' },
      h('summary', null, `Raw payload (${inq.raw.content_type || 'unknown type'})`),
      h('pre', { 'data-testid': 'raw-payload' }, inq.raw.body || '')) : null);
}

function attributionFacts(a) {
  if (!a) return null;
  const pairs = Object.entries(a).filter(([, v]) => v);
  if (pairs.length === 0) return null;
  return h('div', null, h('h4', null, 'Attribution'), facts(pairs.map(([k, v]) => [k.replace('_', ' '), v])));
}

function fieldFacts(fields) {
  if (!fields || typeof fields !== 'object' || Object.keys(fields).length === 0) {
    return empty('Nothing found yet.');
  }
  const pairs = [];
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'history' && v && typeof v === 'object') {
      pairs.push(['history', v.text || compact(v)]);
    } else {
      pairs.push([k.replace(/_/g, ' '), typeof v === 'object' && v !== null ? compact(v) : String(v)]);
    }
  }
  return facts(pairs, { attrs: { 'data-testid': 'inquiry-fields' } });
}

function timelineCard(timeline) {
  const stages = timeline.stages || {};
  const strip = h('ol', { class: 'stages', 'data-testid': 'stage-strip' }, STAGES.map(([key, label]) => {
    const s = stages[key];
    return h('li', { class: ['stage', s ? 'stage-done' : 'stage-waiting'], 'data-testid': 'stage-timing', 'data-stage': key },
      h('div', { class: 'stage-name' }, label),
      s ? [
        h('div', { class: 'stage-took', title: 'since the previous stage' }, duration(s.stage_ms)),
        h('div', { class: 'muted small' }, `+${duration(s.since_received_ms)} after receipt`),
      ] : h('div', { class: 'muted small' }, key === 'track' ? 'no tracking events' : 'not yet'));
  }));
  const events = timeline.events || [];
  const rows = events.map((e) => h('tr', { 'data-testid': 'timeline-event', 'data-stage': e.stage, 'data-kind': e.kind },
    h('td', { class: 'num muted' }, String(e.seq ?? '')),
    h('td', { class: 'nowrap' }, time(e.at)),
    h('td', { class: 'nowrap num' }, e.since_received_ms !== undefined ? `+${duration(e.since_received_ms)}` : ''),
    h('td', null, badge(STAGE_NAMES[e.stage] || e.stage, `stage-${e.stage}`)),
    h('td', null, h('code', null, e.kind)),
    h('td', { class: 'detail-cell' }, compact(e.detail))));
  return card('Timeline', strip,
    events.length === 0 ? empty('No events yet.')
      : table(['#', 'Time', 'After receipt', 'Stage', 'Event', 'Detail'], rows, { 'data-testid': 'timeline' }));
}
