// The dashboard in a real browser: playwright-core driving Debian's chromium against an already
// running `handoff serve` (tests/browser/dashboard_test.cc starts it, posts the XSS inquiry,
// makes its handoff dead, then lets the destination accept).
//
//   node dashboard.mjs <base_url> <admin_token> <form_post_url>
//
// <form_post_url> is the website source's ingest URL with its ?key= token. One line per step;
// exits non-zero at the first failure, printing the page's console errors and the path of a
// screenshot.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [baseArg, adminToken, formPostUrl] = process.argv.slice(2);
if (!baseArg || !adminToken || !formPostUrl) {
  console.error('usage: node dashboard.mjs <base_url> <admin_token> <form_post_url>');
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
const CHROMIUM = process.env.HANDOFF_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const XSS_NAME = '<img src=x onerror="window.__xss=1">';
const XSS_MESSAGE = '<script>window.__xss=2</script>';
const STEP_TIMEOUT_MS = 15000;
const WATCHDOG_MS = 240000;

const consoleErrors = [];   // console errors and uncaught exceptions, printed on failure
const cspViolations = [];   // must stay empty: the pages must live with the strict CSP
const pageErrors = [];      // must stay empty: no uncaught exception in the dashboard
let browser = null;
let page = null;
let current = '';

function log(line) {
  process.stdout.write(`${line}\n`);
}

async function step(name, fn) {
  current = name;
  const started = Date.now();
  await fn();
  log(`ok   ${name} (${Date.now() - started} ms)`);
}

// Polls `fn` until it returns a truthy value (returned) or `ms` pass (then throws `what`).
async function until(what, fn, ms = 10000, every = 250) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting until ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

const byTestId = (id) => page.locator(`[data-testid="${id}"]`);

async function nav(name) {
  await byTestId(`nav-${name}`).click();
  await byTestId(`page-${name}`).waitFor();
}

// The status of a request made by the page itself (so with its cookie, without our help).
async function pageFetch(url, init = {}) {
  return page.evaluate(async ([u, i]) => {
    const r = await fetch(u, { credentials: 'same-origin', ...i });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return { status: r.status, body };
  }, [url, init]);
}

async function domHasNoXss() {
  const probe = await page.evaluate(() => ({
    xss: typeof window.__xss,
    imgs: document.querySelectorAll('img[src="x"]').length,
    anyImg: document.querySelectorAll('img').length,
    scripts: [...document.scripts].filter((s) => (s.textContent || '').includes('__xss')).length,
    handlers: document.querySelectorAll('[onerror], [onload], [onclick]').length,
  }));
  assert.equal(probe.xss, 'undefined', 'window.__xss was set: an injected handler or script ran');
  assert.equal(probe.imgs, 0, 'an <img src="x"> element exists in the DOM');
  assert.equal(probe.anyImg, 0, 'the dashboard draws no <img> elements; one appeared');
  assert.equal(probe.scripts, 0, 'an injected <script> element exists in the DOM');
  assert.equal(probe.handlers, 0, 'an element with an inline event handler exists in the DOM');
}

async function main() {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content Security Policy/i.test(text)) cspViolations.push(text);
    if (msg.type() === 'error') consoleErrors.push(`console: ${text}`);
  });
  page.on('pageerror', (err) => {
    pageErrors.push(err.message);
    consoleErrors.push(`uncaught: ${err.message}`);
  });
  page.on('dialog', (d) => {
    consoleErrors.push(`dialog opened: ${d.message()}`);
    d.dismiss().catch(() => {});
  });

  let ownId = '';
  let xssId = '';
  let taskId = '';

  await step('1. /app/ serves the sign-in with the CSP; the admin token signs in', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(root.status, 302, 'GET / should redirect');
    assert.match(root.headers.get('location') || '', /\/app\/$/);

    const response = await page.goto(`${base}/app/`);
    assert.ok(response, 'no response for /app/');
    assert.equal(response.status(), 200);
    const headers = response.headers();
    const csp = headers['content-security-policy'] || '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'",
      "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
      assert.ok(csp.includes(directive), `CSP lacks ${directive}: ${csp}`);
    }
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['referrer-policy'], 'no-referrer');

    await byTestId('signin').waitFor({ state: 'visible' });
    assert.equal(await byTestId('nav').isVisible(), false, 'the nav shows before signing in');

    // A wrong token is refused on the page.
    await byTestId('signin-token').fill('not-the-admin-token');
    await byTestId('signin-submit').click();
    await byTestId('signin-error').waitFor({ state: 'visible' });
    assert.equal(await byTestId('nav').isVisible(), false);

    await byTestId('signin-token').fill(adminToken);
    await byTestId('signin-submit').click();
    await byTestId('nav').waitFor({ state: 'visible' });
    await byTestId('page-map').waitFor();
    assert.equal(await byTestId('signin').isVisible(), false);
    assert.match(await byTestId('whoami').textContent(), /admin/);
  });

  await step('2. a form post appears in the search and its timeline spans several stages', async () => {
    const word = `zephyr${Date.now().toString(36)}`;
    const form = new URLSearchParams({
      full_name: 'Dana Browser', email: `dana.${word}@example.com`, phone: '415 555 0142',
      details: `Water heater ${word} is leaking`,
    });
    const r = await fetch(formPostUrl, {
      method: 'POST', body: form, redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const text = await r.text();
    assert.ok([200, 201, 202, 303].includes(r.status), `the form post answered ${r.status}: ${text}`);
    try { ownId = JSON.parse(text).id || ''; } catch (e) { ownId = ''; }

    await nav('inquiries');
    await byTestId('inquiries-search').fill(word);
    await byTestId('inquiries-apply').click();
    const row = page.locator('[data-testid="inquiry-row"]');
    await until('the inquiry is listed', async () => {
      if ((await row.count()) !== 1) {
        await byTestId('inquiries-apply').click();
        return false;
      }
      return true;
    });
    if (ownId) assert.equal(await row.first().getAttribute('data-id'), ownId);
    assert.equal((await row.first().locator('[data-testid="inquiry-link"]').textContent()).trim(), 'Dana Browser');
    assert.ok(page.url().includes(`q=${word}`), `the search is not in the address: ${page.url()}`);
    const csvHref = await byTestId('inquiries-csv').getAttribute('href');
    assert.match(csvHref, new RegExp(`^/api/v1/inquiries\\.csv\\?.*q=${word}`));
    const csv = await page.evaluate(async (u) => {
      const r = await fetch(u, { credentials: 'same-origin' });
      return { status: r.status, type: r.headers.get('content-type') || '', text: await r.text() };
    }, csvHref);
    assert.equal(csv.status, 200, 'the CSV export link does not work with the session');
    assert.match(csv.type, /^text\/csv/);
    assert.ok(csv.text.includes('Dana Browser'), 'the CSV export lacks the inquiry');

    await row.first().locator('[data-testid="inquiry-link"]').click();
    await byTestId('page-inquiry').waitFor();
    assert.equal((await byTestId('inquiry-name').textContent()).trim(), 'Dana Browser');
    assert.match(await byTestId('inquiry-message').textContent(), new RegExp(word));
    ownId = ownId || decodeURIComponent(page.url().split('#/inquiries/')[1] || '');

    // Enrichment, Trigger and Transfer follow within moments; refresh until they show.
    const stages = await until('the timeline has events of at least three stages', async () => {
      await byTestId('detail-refresh').click();
      await byTestId('timeline').waitFor();
      const seen = await page.locator('[data-testid="timeline-event"]').evaluateAll(
        (rows) => [...new Set(rows.map((r) => r.getAttribute('data-stage')))]);
      return seen.length >= 3 && seen.includes('entry') && seen.includes('enrich') && seen.includes('trigger') ? seen : null;
    }, 15000, 400);
    const timed = await page.locator('[data-testid="stage-timing"].stage-done').evaluateAll(
      (els) => els.map((e) => e.getAttribute('data-stage')));
    for (const s of ['entry', 'enrich', 'trigger']) assert.ok(timed.includes(s), `no timing shown for ${s}`);
    // The form's source is routed by "web leads" (tests/support/test_config.cc); its link lists
    // what that route took, this inquiry among them, and the filter can be dropped.
    assert.equal((await byTestId('inquiry-route').textContent()).trim(), 'web leads');
    await byTestId('inquiry-route').locator('a').click();
    await byTestId('page-inquiries').waitFor();
    await page.waitForURL(/#\/inquiries\?route=web\+leads$/);
    await byTestId('inquiries-table').waitFor();
    assert.match(await byTestId('inquiries-route').textContent(), /Route: web leads/);
    const routes = await page.locator('[data-testid="inquiry-row"] [data-testid="inquiry-route"]').allTextContents();
    assert.ok(routes.length >= 1 && routes.every((r) => r === 'web leads'), `rows of other routes: ${routes}`);
    assert.equal(await page.locator(`[data-testid="inquiry-row"][data-id="${ownId}"]`).count(), 1,
      'the route\'s list lacks the inquiry');
    await byTestId('inquiries-route-clear').click();
    await page.waitForURL(/#\/inquiries$/);
    assert.equal(await byTestId('inquiries-route').count(), 0);
    log(`     timeline stages: ${stages.join(', ')}`);
  });

  await step('3. the XSS inquiry is shown as literal text and nothing runs', async () => {
    await nav('inquiries');
    await byTestId('inquiries-search').fill('onerror');
    await byTestId('inquiries-apply').click();
    const row = page.locator('[data-testid="inquiry-row"]').filter({ hasText: 'onerror' }).first();
    await until('the XSS inquiry is listed', async () => (await row.count()) === 1);
    const link = row.locator('[data-testid="inquiry-link"]');
    assert.equal((await link.textContent()).trim(), XSS_NAME);
    assert.ok((await row.textContent()).includes(XSS_MESSAGE), 'the message is not shown as text in the list');
    await domHasNoXss();

    xssId = await row.getAttribute('data-id');
    await link.click();
    await byTestId('page-inquiry').waitFor();
    await byTestId('timeline').waitFor();
    assert.equal((await byTestId('inquiry-name').textContent()).trim(), XSS_NAME);
    assert.equal((await byTestId('inquiry-message').textContent()).trim(), XSS_MESSAGE);
    await page.waitForTimeout(300);  // give any injected handler its chance to run
    await domHasNoXss();
  });

  await step('4. tasks: acknowledging an open task shows it acknowledged', async () => {
    await nav('tasks');
    await byTestId('tasks-state').selectOption('all');
    await page.waitForURL(/#\/tasks\?state=all/);
    const open = page.locator('[data-testid="task-row"][data-state="open"]');
    await open.first().waitFor();
    taskId = await open.first().getAttribute('data-id');
    assert.ok(taskId, 'no open task to acknowledge');
    await open.first().locator('[data-testid="task-ack"]').click();
    const row = page.locator(`[data-testid="task-row"][data-id="${taskId}"]`);
    await until('the task shows as acknowledged', async () =>
      (await row.count()) === 1 && (await row.getAttribute('data-state')) === 'acknowledged');
    assert.equal((await row.locator('[data-testid="task-state"]').textContent()).trim(), 'acknowledged');
    assert.equal(await row.locator('[data-testid="task-ack"]').count(), 0, 'an acknowledged task still offers Acknowledge');
  });

  await step('5. leaks: replaying the dead handoff takes it off the dead list', async () => {
    const before = await pageFetch(`/api/v1/inquiries/${encodeURIComponent(xssId)}`);
    assert.equal(before.status, 200);
    const deadOne = (before.body.handoffs || []).find((h) => h.state === 'dead');
    assert.ok(deadOne, `the XSS inquiry has no dead handoff: ${JSON.stringify(before.body.handoffs)}`);
    const handoffId = deadOne.id;

    await nav('leaks');
    // The test's config names no alerts.via: the page says nobody is told about leaks.
    await byTestId('alert-channels-none').waitFor();
    const deadRow = page.locator(`[data-testid="dead-handoff-row"][data-id="${handoffId}"]`);
    await until('the dead handoff is listed', async () => {
      if ((await deadRow.count()) === 1) return true;
      await byTestId('leaks-refresh').click();
      return false;
    }, 10000, 500);
    const listedFor = await deadRow.getAttribute('data-inquiry-id');
    assert.equal(listedFor, xssId, 'the dead handoff is not linked to its inquiry (inquiry_id)');
    await deadRow.locator('[data-testid="replay-button"]').click();
    await until('the handoff leaves the dead list', async () => {
      await byTestId('leaks-refresh').click();
      await page.locator('[data-testid="page-leaks"] :is([data-testid="dead-table"], [data-testid="dead-empty"])').first().waitFor();
      return (await page.locator(`[data-testid="dead-handoff-row"][data-id="${handoffId}"]`).count()) === 0;
    }, 10000, 500);
    const shown = await pageFetch(`/api/v1/inquiries/${encodeURIComponent(xssId)}`);
    assert.equal(shown.status, 200);
    const handoff = (shown.body.handoffs || []).find((h) => h.id === handoffId);
    assert.ok(handoff, 'the replayed handoff is gone from its inquiry');
    assert.notEqual(handoff.state, 'dead');
    log(`     handoff ${handoffId} is now ${handoff.state}`);
  });

  await step('6. CSRF: a POST with the cookie but without X-CSRF-Token is refused', async () => {
    const r = await pageFetch(`/api/v1/tasks/${encodeURIComponent(taskId)}/done`, { method: 'POST' });
    assert.equal(r.status, 403, `expected 403, got ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body && r.body.error && r.body.error.code, 'csrf');
    const task = await pageFetch(`/api/v1/tasks/${encodeURIComponent(taskId)}`);
    assert.equal(task.status, 200);
    assert.equal(task.body.state, 'acknowledged', 'the refused request changed the task');
  });

  await step('7. scorecard, map and sources render', async () => {
    await nav('scorecard');
    const score = byTestId('scorecard-overall-score');
    await score.waitFor();
    assert.match((await score.textContent()).trim(), /^[1-5]$/, 'no overall score');
    assert.ok((await byTestId('scorecard-rating').textContent()).trim().length > 0);
    assert.ok(await page.locator('[data-testid="scorecard-path-row"]').count() >= 1, 'no path rows');
    const pathLink = await page.locator('[data-testid="scorecard-path-inquiries"]').first().getAttribute('href');
    assert.match(pathLink, /^#\/inquiries\?source=[^&]+&route=.+/);
    await page.locator('[data-testid="trend-chart"]').first().waitFor();
    assert.equal(await page.locator('[data-testid="trend-chart"] svg').count(), 6);

    await nav('map');
    await byTestId('map-svg').waitFor();
    const edges = page.locator('svg[data-testid="map-svg"] [data-testid="map-edge"]');
    assert.ok((await edges.count()) >= 1, 'the map has no edges');
    assert.ok(await page.locator('[data-testid="map-node"]').count() >= 3, 'the map has too few nodes');
    const busy = page.locator('[data-testid="map-edge"][data-from^="source:"]:not([data-health="idle"])');
    const chosen = (await busy.count()) > 0 ? busy.first() : edges.first();
    await chosen.dispatchEvent('click');
    await byTestId('map-edge-detail').waitFor({ state: 'visible' });
    const link = byTestId('map-edge-link').first();
    assert.match(await link.getAttribute('href'), /^#\/inquiries/);

    await nav('sources');
    await byTestId('source-url').first().waitFor();
    const urls = await page.locator('[data-testid="source-url"]').evaluateAll((els) => els.map((e) => e.value));
    for (const name of ['website', 'calls', 'chat']) {
      assert.ok(urls.some((u) => u.endsWith(`/in/${name}`)), `no URL for ${name}: ${urls.join(' ')}`);
    }
  });

  await step('8. signing out returns to the sign-in and ends the session', async () => {
    await byTestId('signout').click();
    await byTestId('signin').waitFor({ state: 'visible' });
    assert.equal(await byTestId('nav').isVisible(), false);
    const r = await pageFetch('/api/v1/session');
    assert.equal(r.status, 401);
    await page.reload();
    await byTestId('signin').waitFor({ state: 'visible' });
  });

  await step('9. no uncaught errors and no CSP violations on any page', async () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(cspViolations, []);
  });
}

async function fail(err) {
  log(`FAIL ${current}`);
  log(String(err && err.stack ? err.stack : err));
  if (consoleErrors.length) {
    log('page console errors:');
    for (const e of consoleErrors) log(`  ${e}`);
  }
  if (cspViolations.length) {
    log('CSP violations:');
    for (const e of cspViolations) log(`  ${e}`);
  }
  if (page) {
    try {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-dashboard-'));
      const file = path.join(dir, 'failure.png');
      await page.screenshot({ path: file, fullPage: true, timeout: 5000 });
      log(`page at ${page.url()}`);
      log(`screenshot: ${file}`);
    } catch (e) {
      log(`no screenshot: ${e.message}`);
    }
  }
}

const watchdog = setTimeout(async () => {
  await fail(new Error(`the whole run took longer than ${WATCHDOG_MS / 1000} s`));
  process.exit(1);
}, WATCHDOG_MS);

let code = 0;
try {
  await main();
  log('all dashboard steps passed');
} catch (err) {
  code = 1;
  await fail(err);
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close().catch(() => {});
}
process.exit(code);
