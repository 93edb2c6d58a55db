// Tasks: who owns what. Filter by state; Acknowledge (stops the escalation chain) and Done.
import * as api from './api.js';
import { h, time, badge, table, empty, loading, select, inquiryHref } from './dom.js';
import { taskActions } from './actions.js';

const STATES = [['open', 'Open'], ['acknowledged', 'Acknowledged'], ['done', 'Done'], ['all', 'All']];

export async function renderTasks(root, ctx) {
  const state = STATES.some(([v]) => v === ctx.params.get('state')) ? ctx.params.get('state') : 'open';
  const stateSelect = select(STATES, state, { 'data-testid': 'tasks-state', 'aria-label': 'State' });
  stateSelect.addEventListener('change', () => ctx.go('tasks', { state: stateSelect.value }));
  const results = h('div', { class: 'results' }, loading());
  root.append(h('div', { class: 'page-head' }, h('h1', null, 'Tasks'),
    h('div', { class: 'toolbar' },
      h('label', { class: 'inline' }, 'Show ', stateSelect),
      h('button', { type: 'button', class: 'button', 'data-testid': 'tasks-refresh', onclick: () => ctx.refresh() }, 'Refresh'))),
  results);

  const data = await api.get('/api/v1/tasks', { state, limit: 200 });
  const tasks = data.tasks || [];
  const now = Date.now();
  const rows = tasks.map((t) => {
    const inq = t.inquiry || {};
    const overdue = t.state === 'open' && t.due_at && new Date(t.due_at).getTime() < now;
    return h('tr', { 'data-testid': 'task-row', 'data-id': t.id, 'data-state': t.state, class: overdue ? 'overdue' : null },
      h('td', null, h('div', { class: 'task-title' }, t.title || '(untitled)'),
        (t.missing && t.missing.length) ? h('div', { class: 'small warn-text' }, `Ask for: ${t.missing.join(', ')}`) : null),
      h('td', null, t.owner || h('span', { class: 'muted' }, 'nobody')),
      h('td', null,
        h('a', { href: inquiryHref(t.inquiry_id), 'data-testid': 'task-inquiry' }, inq.name || inq.phone || inq.email || 'inquiry'),
        h('div', { class: 'muted small' }, [inq.source, inq.channel].filter(Boolean).join(' · ')),
        inq.message ? h('div', { class: 'small clip', title: inq.message }, inq.message) : null),
      h('td', null, [inq.phone, inq.email].filter(Boolean).map((v) => h('div', null, v))),
      h('td', { class: 'nowrap' }, time(t.due_at), overdue ? h('div', { class: 'small error-text' }, 'overdue') : null),
      h('td', null, badge(t.state, t.state, { 'data-testid': 'task-state' })),
      h('td', { class: 'nowrap' }, taskActions(t, ctx)));
  });
  results.replaceChildren(tasks.length === 0
    ? empty(state === 'open' ? 'No open tasks: everyone is answered.' : 'No tasks here.', 'tasks-empty')
    : table(['Task', 'Owner', 'Inquiry', 'Reach', 'Due', 'State', ''], rows, { 'data-testid': 'tasks-table' }));
}
