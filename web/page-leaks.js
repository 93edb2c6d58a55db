// Leaks: where inquiries are falling between the tools right now. Open leaks and their alert
// groups (GET /api/v1/leaks), and dead handoffs (a destination refused them for good) with a
// Replay button each.
import * as api from './api.js';
import { h, time, badge, table, empty, loading, select, card, inquiryHref, errorBox } from './dom.js';
import { replayButton, lastAnswer } from './actions.js';

const STATES = [['open', 'Open'], ['closed', 'Closed (7 days)'], ['all', 'All']];
const KIND_WORDS = {
  unassigned: 'nobody owns it',
  overdue_task: 'task overdue',
  missed_call: 'missed call not called back',
  unconfirmed_handoff: 'not confirmed by the destination',
  dead_handoff: 'refused by the destination',
  silent_source: 'source went silent',
};

export async function renderLeaks(root, ctx) {
  const state = STATES.some(([v]) => v === ctx.params.get('state')) ? ctx.params.get('state') : 'open';
  const stateSelect = select(STATES, state, { 'data-testid': 'leaks-state', 'aria-label': 'Leaks' });
  stateSelect.addEventListener('change', () => ctx.go('leaks', { state: stateSelect.value }));
  const channelsBox = h('div', { 'data-testid': 'alert-channels' });
  const deadBox = h('div', null, loading());
  const leaksBox = h('div', null, loading());
  const groupsBox = h('div', null);
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Leaks'),
      h('div', { class: 'toolbar' },
        h('label', { class: 'inline' }, 'Show ', stateSelect),
        h('button', { type: 'button', class: 'button', 'data-testid': 'leaks-refresh', onclick: () => ctx.refresh() }, 'Refresh'))),
    channelsBox,
    card('Dead handoffs', h('p', { class: 'muted small' },
      'A destination refused these for good. Fix the cause (mapping, credentials), then replay: the same handoff id is sent again.'), deadBox),
    card(state === 'open' ? 'Open leaks' : 'Leaks', leaksBox),
    card('Alert groups', groupsBox));

  const [dead, leaks] = await Promise.allSettled([
    api.get('/api/v1/handoffs', { state: 'dead' }),
    api.get('/api/v1/leaks', { state }),
  ]);

  if (dead.status === 'rejected') {
    if (dead.reason.status === 401) throw dead.reason;
    deadBox.replaceChildren(errorBox(dead.reason));
  } else {
    const handoffs = (dead.value && dead.value.handoffs) || [];
    deadBox.replaceChildren(handoffs.length === 0 ? empty('No dead handoffs.', 'dead-empty')
      : table(['Created', 'Destination', 'Inquiry', 'Attempts', 'Last error', ''], handoffs.map((ho) =>
        h('tr', { 'data-testid': 'dead-handoff-row', 'data-id': ho.id, 'data-inquiry-id': ho.inquiry_id || '' },
          h('td', { class: 'nowrap' }, time(ho.created_at)),
          h('td', null, ho.destination, ho.purpose && ho.purpose !== 'deliver' ? h('div', { class: 'muted small' }, ho.purpose) : null),
          h('td', null, ho.inquiry_id ? h('a', { href: inquiryHref(ho.inquiry_id), 'data-testid': 'dead-handoff-inquiry' }, inquiryLabel(ho))
            : h('span', { class: 'muted' }, ho.purpose === 'alert' ? 'leak alert' : '—')),
          h('td', { class: 'num' }, String(ho.attempts ?? '')),
          h('td', { class: 'small' }, lastAnswer(ho)),
          h('td', null, replayButton(ho, ctx)))), { 'data-testid': 'dead-table' }));
  }

  if (leaks.status === 'rejected') {
    if (leaks.reason.status === 401) throw leaks.reason;
    leaksBox.replaceChildren(errorBox(leaks.reason));
    return;
  }
  channelsBox.replaceChildren(alertChannels((leaks.value && leaks.value.alert_channels) || {}));
  const list = (leaks.value && leaks.value.leaks) || [];
  const groups = (leaks.value && leaks.value.groups) || [];
  leaksBox.replaceChildren(list.length === 0 ? empty(state === 'open' ? 'No open leaks.' : 'No leaks.', 'leaks-empty')
    : table(['Kind', 'Where', 'Inquiry', 'Reason', 'Since', 'State'], list.map((l) =>
      h('tr', { 'data-testid': 'leak-row', 'data-kind': l.kind, 'data-state': l.state },
        h('td', null, badge(l.kind.replace(/_/g, ' '), severe(l.kind) ? 'broken' : 'degraded'),
          h('div', { class: 'muted small' }, KIND_WORDS[l.kind] || '')),
        h('td', null, [l.source, l.route, l.destination || l.owner].filter(Boolean).join(' → ')),
        h('td', null, l.inquiry_id ? h('a', { href: inquiryHref(l.inquiry_id) }, 'open') : ''),
        h('td', null, l.reason || '', l.value ? h('div', { class: 'muted small' }, `value ${l.value}`) : null),
        h('td', { class: 'nowrap' }, time(l.since || l.opened_at)),
        h('td', null, l.state === 'closed' ? ['closed ', time(l.closed_at)] : badge('open', 'open')))),
    { 'data-testid': 'leaks-table' }));
  groupsBox.replaceChildren(groups.length === 0 ? empty('No alert groups.')
    : table(['Group', 'Open', 'Total', 'Opened', 'Alerted', 'Closed'], groups.map((g) =>
      h('tr', { 'data-testid': 'group-row' },
        h('td', null, g.title || g.key),
        h('td', { class: 'num' }, String(g.open ?? 0)),
        h('td', { class: 'num' }, String(g.total ?? 0)),
        h('td', { class: 'nowrap' }, time(g.opened_at)),
        h('td', { class: 'nowrap' }, g.alerted_at ? time(g.alerted_at) : h('span', { class: 'warn-text' }, 'not alerted')),
        h('td', { class: 'nowrap' }, time(g.closed_at))))));
}

// How leaks reach people: each alerts.via destination and whether its newest alert got through.
// A failing channel (or none at all) means leaks are recorded but nobody hears of them, so it is
// shown above everything else.
const CHANNEL_HEALTH = { ok: 'ok', sending: 'degraded', failing: 'broken', idle: 'idle' };
function alertChannels(channels) {
  const entries = Object.entries(channels);
  if (entries.length === 0) {
    return h('div', { class: 'banner banner-warn', 'data-testid': 'alert-channels-none' },
      'No alert channel is configured (alerts.via): leaks are recorded here, but nobody is told when a handoff breaks or a task is overdue.');
  }
  const failing = entries.filter(([, c]) => c && c.state === 'failing');
  return h('div', null,
    failing.length ? h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'alert-channels-failing' },
      `Alerts are failing on ${failing.map(([name]) => name).join(', ')}: nobody is being told about new leaks.`) : null,
    h('div', { class: 'channels' }, entries.map(([name, c]) => {
      const state = (c && c.state) || 'idle';
      return h('div', { class: ['channel', `health-${CHANNEL_HEALTH[state] || 'idle'}`], 'data-testid': 'alert-channel', 'data-state': state },
        h('div', { class: 'channel-head' }, h('strong', null, name), badge(state, CHANNEL_HEALTH[state] || 'idle')),
        h('div', { class: 'small muted' }, c && c.last_alert_at ? ['last alert ', time(c.last_alert_at)] : 'no alert in the last day'),
        c && c.last_error ? h('div', { class: 'small error-text' }, c.last_error) : null);
    })));
}

function severe(kind) {
  return kind === 'dead_handoff' || kind === 'silent_source' || kind === 'unassigned';
}

function inquiryLabel(ho) {
  const inq = ho.inquiry;
  if (inq && typeof inq === 'object') return inq.name || inq.phone || inq.email || 'inquiry';
  return String(ho.inquiry_id).slice(0, 8) + '…';
}
