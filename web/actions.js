// Buttons that change something on the server, shared by the pages: acknowledge / done for a
// task, replay for a dead handoff. Each disables itself while its request runs, reports the
// outcome in the flash line and then re-runs the page.
import * as api from './api.js';
import { h } from './dom.js';

async function act(button, ctx, run, success) {
  button.disabled = true;
  try {
    const result = await run();
    ctx.flash(success(result));
    await ctx.refresh();
  } catch (err) {
    if (err.status !== 401) ctx.flash(err.message, 'error');
    button.disabled = false;
  }
}

// The Acknowledge and Done buttons a task's state allows.
export function taskActions(task, ctx) {
  const id = encodeURIComponent(String(task.id));
  const buttons = [];
  if (task.state === 'open') {
    buttons.push(h('button', {
      type: 'button', class: 'button button-small', 'data-testid': 'task-ack',
      onclick: (e) => act(e.currentTarget, ctx, () => api.post(`/api/v1/tasks/${id}/ack`),
        (r) => (r && r.changed === false ? 'The task was already acknowledged.' : 'Task acknowledged.')),
    }, 'Acknowledge'));
  }
  if (task.state === 'open' || task.state === 'acknowledged') {
    buttons.push(h('button', {
      type: 'button', class: 'button button-small button-quiet', 'data-testid': 'task-done',
      onclick: (e) => act(e.currentTarget, ctx, () => api.post(`/api/v1/tasks/${id}/done`),
        (r) => (r && r.changed === false ? 'The task was already done.' : 'Task marked done.')),
    }, 'Done'));
  }
  return h('span', { class: 'actions' }, buttons);
}

// Replay for a dead handoff: the same handoff (same id, so the destination can deduplicate)
// is queued again.
export function replayButton(handoff, ctx) {
  return h('button', {
    type: 'button', class: 'button button-small button-primary', 'data-testid': 'replay-button',
    'data-handoff-id': handoff.id,
    onclick: (e) => act(e.currentTarget, ctx,
      () => api.post('/api/v1/handoffs/replay', { handoff_id: String(handoff.id) }),
      (r) => (r && r.replayed > 0 ? 'Handoff queued again; it is delivered shortly.'
        : 'Nothing was replayed: the handoff is no longer dead.')),
  }, 'Replay');
}

// What the destination last answered: the status, the error handoff recorded, and an excerpt of
// the destination's own response (often the reason it refused).
export function lastAnswer(ho) {
  const status = ho.last_status ? String(ho.last_status) : '';
  const error = ho.last_error || '';
  const head = error && status && error.includes(status) ? error : [status, error].filter(Boolean).join(' ');
  return [
    head ? h('div', { class: ho.state === 'confirmed' ? null : 'error-text' }, head) : null,
    ho.last_response_excerpt && ho.state !== 'confirmed'
      ? h('div', { class: 'muted small clip', title: ho.last_response_excerpt }, ho.last_response_excerpt) : null,
  ];
}
