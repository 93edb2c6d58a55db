// The handoff dashboard: sign-in, the top navigation and the hash router. Each page lives in its
// own module (page-*.js) and draws into a fresh <section> it is handed; a page that finishes
// loading after the user moved on draws into a detached section, which is harmless.
import * as api from './api.js';
import { h, errorBox, hashFor } from './dom.js';
import { renderMap } from './page-map.js';
import { renderInquiries, renderInquiry } from './page-inquiries.js';
import { renderTasks } from './page-tasks.js';
import { renderLeaks } from './page-leaks.js';
import { renderScorecard } from './page-scorecard.js';
import { renderSources } from './page-sources.js';

const PAGES = {
  map: { title: 'Continuity map', render: renderMap },
  inquiries: { title: 'Inquiries', render: renderInquiries },
  inquiry: { title: 'Inquiry', render: renderInquiry },
  tasks: { title: 'Tasks', render: renderTasks },
  leaks: { title: 'Leaks', render: renderLeaks },
  scorecard: { title: 'Scorecard', render: renderScorecard },
  sources: { title: 'Sources', render: renderSources },
};

const ui = {};
let session = null;
let routeSeq = 0;
let signinMode = 'token';
let flashTimer = 0;

function $(testid) {
  return document.querySelector(`[data-testid="${testid}"]`);
}

// ---- routing ------------------------------------------------------------------------------

// "#/inquiries/019…?x=1" → {name: 'inquiry', id: '019…', params}
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const qAt = raw.indexOf('?');
  const pathPart = qAt < 0 ? raw : raw.slice(0, qAt);
  const params = new URLSearchParams(qAt < 0 ? '' : raw.slice(qAt + 1));
  let parts;
  try {
    parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  } catch (e) {
    parts = [];
  }
  if (parts.length === 0) return { name: 'map', id: null, params };
  if (parts[0] === 'inquiries' && parts.length > 1) return { name: 'inquiry', id: parts[1], params };
  return { name: parts[0], id: null, params };
}

async function route() {
  if (!session) return;
  const seq = ++routeSeq;
  const { name, id, params } = parseHash();
  const page = PAGES[name];
  const navName = name === 'inquiry' ? 'inquiries' : name;
  for (const a of ui.nav.querySelectorAll('a[data-route]')) {
    if (a.dataset.route === navName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const root = h('section', { class: 'page', 'data-testid': `page-${name}`, 'data-page': name });
  ui.view.replaceChildren(root);
  if (!page) {
    root.append(h('h1', null, 'Not found'), h('p', null, 'There is no such page. ',
      h('a', { href: '#/map' }, 'Go to the map.')));
    return;
  }
  document.title = `${page.title} · handoff`;
  const ctx = {
    id,
    params,
    session,
    alive: () => seq === routeSeq,
    // Re-runs this page (after an action).
    refresh: () => route(),
    // Moves to a page with parameters (filters live in the hash, so they can be bookmarked).
    go: (path, p) => {
      const next = hashFor(path, p);
      if (next === location.hash) route();
      else location.hash = next;
    },
    flash,
  };
  try {
    await page.render(root, ctx);
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) return;  // back at the sign-in
    if (ctx.alive()) root.append(errorBox(err));
    console.error(err);
  }
}

// ---- messages -----------------------------------------------------------------------------

function flash(message, kind = 'ok') {
  clearTimeout(flashTimer);
  ui.flash.textContent = message;
  ui.flash.className = `flash flash-${kind === 'error' ? 'error' : 'ok'}`;
  ui.flash.hidden = false;
  flashTimer = setTimeout(() => { ui.flash.hidden = true; }, kind === 'error' ? 8000 : 4000);
}

// ---- session ------------------------------------------------------------------------------

function showSignIn(message) {
  session = null;
  routeSeq++;
  api.setCsrfToken(null);
  ui.topbar.hidden = true;
  ui.view.replaceChildren();
  ui.view.hidden = true;
  ui.flash.hidden = true;
  ui.signin.hidden = false;
  document.title = 'Sign in · handoff';
  setSigninError(message || '');
  const first = signinMode === 'token' ? $('signin-token') : $('signin-user');
  first.focus();
}

function showApp(data) {
  session = data;
  api.setCsrfToken(data.csrf_token);
  ui.signin.hidden = true;
  ui.topbar.hidden = false;
  ui.view.hidden = false;
  ui.whoami.textContent = data.name && data.name !== data.user ? `${data.name} (${data.user})` : (data.user || '');
  ui.workspace.textContent = data.workspace || '';
  if (!location.hash || location.hash === '#' || location.hash === '#/') {
    history.replaceState(null, '', '#/map');
  }
  route();
}

function setSigninError(message) {
  ui.signinError.textContent = message;
  ui.signinError.hidden = !message;
}

function setSigninMode(mode) {
  signinMode = mode;
  for (const tab of ui.signin.querySelectorAll('[data-mode]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.mode === mode));
  }
  for (const box of ui.signin.querySelectorAll('[data-fields]')) {
    box.hidden = box.dataset.fields !== mode;
  }
  setSigninError('');
}

async function signIn(event) {
  event.preventDefault();
  const body = signinMode === 'token'
    ? { token: $('signin-token').value.trim() }
    : { user: $('signin-user').value.trim(), password: $('signin-password').value };
  if (signinMode === 'token' ? !body.token : !body.user || !body.password) {
    setSigninError(signinMode === 'token' ? 'Enter the admin token.' : 'Enter your id and password.');
    return;
  }
  const submit = $('signin-submit');
  submit.disabled = true;
  setSigninError('');
  try {
    const data = await api.request('POST', '/api/v1/session', { body, quiet401: true });
    $('signin-token').value = '';
    $('signin-password').value = '';
    showApp(data);
  } catch (err) {
    setSigninError(err.status === 401
      ? (signinMode === 'token' ? 'That token is not the admin token.' : 'Wrong id or password.')
      : err.message);
  } finally {
    submit.disabled = false;
  }
}

async function signOut() {
  try {
    await api.request('DELETE', '/api/v1/session', { quiet401: true });
  } catch (err) {
    // Signed out either way: the cookie is gone or no longer valid.
  }
  showSignIn();
}

async function boot() {
  Object.assign(ui, {
    topbar: $('topbar'), nav: $('nav'), view: $('view'), signin: $('signin'),
    signinError: $('signin-error'), whoami: $('whoami'), workspace: $('workspace'),
    flash: $('flash'),
  });
  api.setUnauthorizedHandler(() => showSignIn('Your session has ended. Sign in again.'));
  $('signin-form').addEventListener('submit', signIn);
  for (const tab of ui.signin.querySelectorAll('[data-mode]')) {
    tab.addEventListener('click', () => setSigninMode(tab.dataset.mode));
  }
  $('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  try {
    showApp(await api.request('GET', '/api/v1/session', { quiet401: true }));
  } catch (err) {
    showSignIn(err.status === 401 ? '' : err.message);
  }
}

boot();
