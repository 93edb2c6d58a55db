// Scorecard: how well each path (source → route → destinations) keeps an inquiry alive over a
// window, as five checks scored 1–5; the overall score and rating, "Fix this first", and the
// last 14 days as small line charts (docs/SCORECARD.md explains every figure).
import * as api from './api.js';
import { h, s, time, day, table, empty, loading, select, card, errorBox, plural } from './dom.js';

const WINDOWS = [['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days']];
const CHECKS = [['entry', 'Entry'], ['transfer', 'Transfer'], ['context', 'Context'],
  ['trigger', 'Trigger'], ['visibility', 'Visibility']];
const CHECK_NAMES = Object.fromEntries(CHECKS);

export async function renderScorecard(root, ctx) {
  const win = WINDOWS.some(([v]) => v === ctx.params.get('window')) ? ctx.params.get('window') : '7d';
  const winSelect = select(WINDOWS, win, { 'data-testid': 'scorecard-window', 'aria-label': 'Window' });
  winSelect.addEventListener('change', () => ctx.go('scorecard', { window: winSelect.value }));
  const body = h('div', { class: 'stack' }, loading());
  const trends = h('div', null, loading());
  root.append(h('div', { class: 'page-head' }, h('h1', null, 'Scorecard'),
    h('div', { class: 'toolbar' }, h('label', { class: 'inline' }, 'Window ', winSelect))),
  body, card('Trend: the last 14 days', trends));

  const [scoreRes, trendRes] = await Promise.allSettled([
    api.get('/api/v1/scorecard', { window: win }),
    api.get('/api/v1/scorecard/trend', { days: 14 }),
  ]);
  for (const r of [scoreRes, trendRes]) {
    if (r.status === 'rejected' && r.reason.status === 401) throw r.reason;
  }
  if (scoreRes.status === 'rejected') body.replaceChildren(errorBox(scoreRes.reason));
  else body.replaceChildren(...scorecardView(scoreRes.value || {}));
  if (trendRes.status === 'rejected') trends.replaceChildren(errorBox(trendRes.reason));
  else trends.replaceChildren(trendView((trendRes.value && trendRes.value.days) || []));
}

function scoreText(score) {
  return score ? String(score) : '–';
}

function scoreChip(score, attrs = {}) {
  return h('span', { ...attrs, class: ['score', `score-${Number(score) || 0}`, attrs.class] }, scoreText(score));
}

function pathLabel(p) {
  const parts = [p.source || '(no source)', p.route || '(no route)'];
  const dest = (p.destinations || []).join(', ');
  return dest ? `${parts.join(' → ')} → ${dest}` : parts.join(' → ');
}

function scorecardView(sc) {
  const overall = sc.overall || {};
  const checks = overall.checks || [];
  const summary = h('section', { class: 'card overall', 'data-testid': 'scorecard-overall' },
    h('div', { class: 'overall-score' },
      scoreChip(overall.score, { class: 'score-big', 'data-testid': 'scorecard-overall-score' }),
      h('div', null,
        h('div', { class: 'rating', 'data-testid': 'scorecard-rating' }, overall.rating || 'no data'),
        h('div', { class: 'muted small' }, 'overall, the weakest check with data'),
        h('div', { class: 'muted small' }, time(sc.from), ' – ', time(sc.until)),
        h('div', { class: 'small' }, `${plural(overall.inquiries || 0, 'inquiry', 'inquiries')}, `,
          `${plural(overall.leaked || 0, 'leaked', 'leaked')}, ${plural(overall.leaks || 0, 'leak', 'leaks')}`,
          overall.value_at_risk ? `, value at risk ${formatValue(overall.value_at_risk)}` : ''))),
    h('div', { class: 'checks' }, checks.map((c) => h('div', { class: 'check', 'data-testid': 'scorecard-check', 'data-check': c.check },
      h('div', { class: 'check-head' }, scoreChip(c.score), h('strong', null, CHECK_NAMES[c.check] || c.check)),
      h('div', { class: 'small' }, c.summary || 'no data')))));

  const paths = sc.paths || [];
  const rows = paths.map((p) => {
    const byCheck = Object.fromEntries((p.checks || []).map((c) => [c.check, c]));
    return h('tr', { 'data-testid': 'scorecard-path-row' },
      h('td', null, h('div', { class: 'path-label' }, pathLabel(p)),
        p.leaks ? h('div', { class: 'small warn-text' }, `${plural(p.leaks, 'leak', 'leaks')}`) : null),
      h('td', { class: 'num' }, p.inquiries && p.source && p.route
        ? h('a', { href: `#/inquiries?${new URLSearchParams({ source: p.source, route: p.route })}`, title: 'The inquiries this path took', 'data-testid': 'scorecard-path-inquiries' }, String(p.inquiries))
        : String(p.inquiries ?? 0)),
      CHECKS.map(([key]) => {
        const c = byCheck[key] || {};
        return h('td', { class: 'check-cell', title: c.summary || '' }, scoreChip(c.score),
          h('div', { class: 'small muted' }, c.summary || ''));
      }),
      h('td', null, scoreChip(p.score), h('div', { class: 'small' }, p.rating || '')));
  });
  const pathsCard = card('Paths', paths.length === 0 ? empty('No paths had traffic in this window.')
    : table(['Path', 'Inquiries', ...CHECKS.map(([, l]) => l), 'Score'], rows, { 'data-testid': 'scorecard-paths', class: 'scorecard-table' }));

  const fix = sc.fix_first || [];
  const fixCard = card('Fix this first', fix.length === 0
    ? empty('Nothing leaked in this window.', 'fix-first-empty')
    : h('ol', { class: 'fix-first' }, fix.map((f) => {
      const p = paths[f.path] || f;
      const weakest = (p.checks || []).filter((c) => c.score > 0).sort((a, b) => a.score - b.score)[0];
      return h('li', { 'data-testid': 'fix-first-item' },
        h('strong', null, pathLabel(p)),
        h('div', null, `Value at risk ${formatValue(f.value_at_risk)} in ${plural(f.leaked || 0, 'leaked inquiry', 'leaked inquiries')}, ${plural(f.leaks || 0, 'leak', 'leaks')}`),
        weakest ? h('div', { class: 'small muted' }, `Weakest: ${CHECK_NAMES[weakest.check] || weakest.check} ${weakest.score}: ${weakest.summary || ''}`) : null);
    })));
  return [summary, fixCard, pathsCard];
}

function formatValue(v) {
  const n = Number(v) || 0;
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

// ---- trend charts -------------------------------------------------------------------------

function trendView(days) {
  if (days.length === 0) return empty('No history yet.');
  const series = [['overall', 'Overall', days.map((d) => (d.overall || {}).score || 0)]];
  for (const [key, label] of CHECKS) {
    series.push([key, label, days.map((d) => {
      const c = ((d.overall || {}).checks || []).find((x) => x.check === key);
      return c ? c.score || 0 : 0;
    })]);
  }
  return h('div', { class: 'trends' }, series.map(([key, label, values]) =>
    h('figure', { class: 'trend', 'data-testid': 'trend-chart', 'data-check': key },
      h('figcaption', null, label, ' ', scoreChip(values[values.length - 1])),
      lineChart(values, days, label))));
}

const W = 240;
const H = 92;
const PAD = { left: 18, right: 8, top: 8, bottom: 18 };

function lineChart(values, days, label) {
  const n = values.length;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (n === 1 ? plotW / 2 : (i * plotW) / (n - 1));
  const y = (v) => PAD.top + ((5 - v) * plotH) / 4;
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'trend-svg', role: 'img',
    'aria-label': `${label} score per day, oldest first: ${values.map(scoreText).join(', ')}`,
  });
  for (const v of [1, 3, 5]) {
    svg.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid-line' }),
      s('text', { x: PAD.left - 5, y: y(v) + 3, class: 'axis-label', 'text-anchor': 'end' }, String(v)));
  }
  svg.append(s('text', { x: PAD.left, y: H - 4, class: 'axis-label' }, day(days[0].from)),
    s('text', { x: W - PAD.right, y: H - 4, class: 'axis-label', 'text-anchor': 'end' }, day(days[n - 1].from)));
  // One line per run of days with data; a day without data (0) breaks the line.
  let d = '';
  let inRun = false;
  values.forEach((v, i) => {
    if (!v) { inRun = false; return; }
    d += `${inRun ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
    inRun = true;
  });
  if (d) svg.append(s('path', { d: d.trim(), class: 'trend-line', fill: 'none' }));
  values.forEach((v, i) => {
    if (!v) return;
    svg.append(s('circle', { cx: x(i), cy: y(v), r: 2.6, class: `trend-dot score-fill-${v}` },
      s('title', null, `${day(days[i].from)}: ${v}`)));
  });
  if (!d) svg.append(s('text', { x: W / 2, y: H / 2, class: 'axis-label', 'text-anchor': 'middle' }, 'no data'));
  return svg;
}
