// Sources: is every source wired? The URL to paste into each provider (with a copy button),
// what handoff verifies on it, and what arrived over the last hour and day.
import * as api from './api.js';
import { h, time, badge, table, empty, loading, card, compact } from './dom.js';

const OUTCOMES = [
  ['accepted', 'Accepted'], ['duplicates', 'Duplicates'], ['updated', 'Updated'],
  ['ignored', 'Ignored'], ['spam', 'Spam'], ['handshakes', 'Handshakes'], ['rejected', 'Rejected'],
];

export async function renderSources(root, ctx) {
  const list = h('div', { class: 'sources' }, loading());
  root.append(h('div', { class: 'page-head' }, h('h1', null, 'Sources'),
    h('button', { type: 'button', class: 'button', 'data-testid': 'sources-refresh', onclick: () => ctx.refresh() }, 'Refresh')),
  list);
  const data = await api.get('/api/v1/sources');
  const sources = (data && data.sources) || [];
  if (sources.length === 0) {
    list.replaceChildren(empty('No sources are configured.', 'sources-empty'));
    return;
  }
  list.replaceChildren(...sources.map((src) => sourceCard(src)));
}

function sourceCard(src) {
  const detail = src.verification_detail || {};
  const method = src.verification || detail.method || 'none';
  const figures = table(['', 'Last hour', 'Last day'], OUTCOMES.map(([key, label]) =>
    h('tr', { class: key === 'rejected' && (src.last_day || {})[key] ? 'row-warn' : null },
      h('th', { scope: 'row' }, label),
      h('td', { class: 'num' }, String((src.last_hour || {})[key] ?? 0)),
      h('td', { class: 'num' }, String((src.last_day || {})[key] ?? 0)))), { class: 'compact' });
  const reasons = Object.entries((src.last_day || {}).rejected_by_reason || {});

  return h('section', { class: 'card source', 'data-testid': 'source-row', 'data-source': src.name },
    h('div', { class: 'source-head' },
      h('h3', null, src.name),
      h('span', { class: 'muted' }, [src.adapter, src.channel].filter(Boolean).join(' · ')),
      badge(method === 'none' ? 'unverified' : method, method === 'none' ? 'broken' : 'ok', { 'data-testid': 'source-verification' })),
    urlRow('URL to paste', src.webhook_url, 'source-url'),
    src.webhook_url_with_workspace ? urlRow('With the workspace', src.webhook_url_with_workspace, 'source-url-workspace') : null,
    h('div', { class: 'source-body' },
      h('div', null,
        h('h4', null, 'Verified'),
        h('ul', { class: 'plain' },
          h('li', null, `Method: ${method}`),
          detail.token_in && detail.token_in.length ? h('li', null, `Token accepted in: ${detail.token_in.join('; ')}`) : null,
          detail.signature_header ? h('li', null, `Signature header: ${detail.signature_header}`) : null,
          detail.tokens ? h('li', null, `${detail.tokens} token(s) configured`) : null,
          detail.signature_secrets ? h('li', null, `${detail.signature_secrets} signing secret(s) configured`) : null,
          src.methods ? h('li', null, `Methods: ${[].concat(src.methods).join(', ')}`) : null,
          detail.adapter_checks ? h('li', null, `The adapter checks: ${compact(detail.adapter_checks)}`) : null),
        detail.warning ? h('p', { class: 'error' }, detail.warning) : null),
      h('div', null,
        h('h4', null, 'Arrivals'),
        figures,
        reasons.length ? h('p', { class: 'small warn-text' }, 'Rejected today: ',
          reasons.map(([r, n]) => `${r} ${n}`).join(', ')) : null,
        h('p', { class: 'small muted' }, 'Newest inquiry: ', time(src.last_accepted_at)))));
}

function urlRow(label, url, testid) {
  const input = h('input', { type: 'text', readonly: true, value: url || '', class: 'url', 'data-testid': testid, 'aria-label': label, spellcheck: 'false' });
  input.addEventListener('focus', () => input.select());
  const button = h('button', {
    type: 'button', class: 'button button-small', 'data-testid': 'copy-url',
    onclick: async () => {
      let ok = false;
      try {
        await navigator.clipboard.writeText(input.value);
        ok = true;
      } catch (e) {
        input.focus();
        input.select();
        try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
      }
      button.textContent = ok ? 'Copied' : 'Select and copy';
      setTimeout(() => { button.textContent = 'Copy'; }, 2000);
    },
  }, 'Copy');
  return h('div', { class: 'url-row' }, h('span', { class: 'url-label' }, label), input, button);
}
