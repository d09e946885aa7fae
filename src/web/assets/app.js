// app.js: the app's entry point: who is logged in, in which organization,
// the top bar, and which page the address names.

import { ORGS, SESSION, WHOAMI, api, onUnauthorized, pinOrg } from './api.js';
import { loginView, setPasswordView, setupView } from './auth.js';
import { accountsView } from './accounts.js';
import { accountView } from './account.js';
import { deletedView } from './deleted.js';
import { invitationsView, loadInvitations } from './invitations.js';
import { auditView } from './audit.js';
import { settingsView } from './settings.js';
import { usersView } from './users.js';
import { webhookView, webhooksView } from './webhooks.js';
import { focusMain, h, pageTitle, rank, roleLabel, toast } from './dom.js';

const ORG_KEY = 'keyward.org';
const main = document.getElementById('main');
const topbar = document.getElementById('topbar');

/** Who is logged in; null before login. */
let session = null;

async function loadSession() {
  let orgs;
  try {
    orgs = (await api('GET', ORGS, undefined, { pin: false, isPublic: true })).items;
  } catch (error) {
    if (error.status === 401) return null;
    throw error;
  }
  // Organizations that invited the person are not theirs until they accept.
  const invitations = await loadInvitations();
  const remembered = window.localStorage.getItem(ORG_KEY);
  const org = orgs.find((o) => o.id === remembered) || orgs[0] || null;
  if (!org) return { orgs, org: null, role: null, email: '', userId: '', invitations };
  pinOrg(org.id);
  const me = await api('GET', WHOAMI, undefined, { isPublic: true });
  return { orgs, org, role: org.role, email: me.email || '', userId: me.id, invitations };
}

/** What the current user may do, for drawing only the controls that work. */
function can() {
  const role = session && session.role;
  return {
    role,
    admin: role === 'admin',
    edit: rank(role) >= rank('editor'),
    actFor: (accountRole) => rank(role) >= rank('editor') && rank(accountRole) <= rank(role),
  };
}

function navLink(href, label) {
  const current = window.location.pathname === href || window.location.pathname.startsWith(`${href}/`);
  return h('a', { href, class: 'nav-link', 'aria-current': current ? 'page' : null }, label);
}

function drawTopbar() {
  if (!session) {
    topbar.replaceChildren();
    topbar.hidden = true;
    return;
  }
  topbar.hidden = false;
  const waiting = session.invitations.length;
  const invitationsLink = waiting ? navLink('/invitations', `Invitations (${waiting})`) : null;
  const logout = h('button', { type: 'button', class: 'button subtle' , onclick: logOut }, 'Log out');
  if (!session.org) {
    // In no organization yet: only the invitations, and a way out.
    topbar.replaceChildren(
      h('div', { class: 'topbar-inner' },
        h('a', { href: '/invitations', class: 'brand' }, 'keyward'),
        h('nav', { class: 'nav', 'aria-label': 'Main' }, invitationsLink),
        h('div', { class: 'me' }, logout)));
    return;
  }
  let orgControl;
  if (session.orgs.length > 1) {
    const select = h('select', { id: 'org-switch', class: 'input compact' },
      session.orgs.map((o) => h('option', { value: o.id, selected: o.id === session.org.id }, o.name)));
    select.addEventListener('change', () => switchOrg(select.value));
    orgControl = h('div', { class: 'org-switch' }, h('label', { for: 'org-switch' }, 'Organization'), select);
  } else {
    orgControl = h('div', { class: 'org-switch' }, h('span', { class: 'muted' }, 'Organization'),
      h('strong', { class: 'org-name' }, session.org.name));
  }
  topbar.replaceChildren(
    h('div', { class: 'topbar-inner' },
      h('a', { href: '/service-accounts', class: 'brand' }, 'keyward'),
      h('nav', { class: 'nav', 'aria-label': 'Main' },
        navLink('/service-accounts', 'Service accounts'),
        can().admin ? navLink('/users', 'Users') : null,
        can().admin ? navLink('/webhooks', 'Webhooks') : null,
        can().admin ? navLink('/audit', 'Audit trail') : null,
        can().admin ? navLink('/settings', 'Settings') : null,
        invitationsLink),
      orgControl,
      h('div', { class: 'me' },
        h('span', { class: 'me-email', title: session.email }, session.email),
        h('span', { class: 'badge' }, roleLabel(session.role)),
        logout)));
}

/**
 * After the person answers an invitation: their organizations are read
 * again; one just joined becomes the one they work in.
 */
async function afterInvitation(joined) {
  if (joined) window.localStorage.setItem(ORG_KEY, joined.id);
  session = await loadSession();
  if (!session) {
    navigate('/login', { notice: 'You belong to no organization any more.' }, true);
    return;
  }
  if (joined) navigate('/service-accounts');
  else navigate(session.invitations.length || !session.org ? '/invitations' : '/service-accounts', {}, true);
}

async function switchOrg(id) {
  const org = session.orgs.find((o) => o.id === id);
  if (!org) return;
  window.localStorage.setItem(ORG_KEY, id);
  session.org = org;
  session.role = org.role;
  pinOrg(id);
  // A person's id is their membership's, so it differs per organization.
  try {
    session.userId = (await api('GET', WHOAMI, undefined, { isPublic: true })).id;
  } catch {
    session.userId = '';
  }
  toast(`Now working in ${org.name}`);
  navigate('/service-accounts');
}

async function logOut() {
  try {
    await api('POST', `${SESSION}/logout`, undefined, { pin: false, isPublic: true });
  } catch {
    // The session may already be gone; either way the user is out.
  }
  session = null;
  pinOrg(null);
  navigate('/login', { notice: 'You are logged out.' }, true);
}

onUnauthorized(() => {
  if (!session) return;
  session = null;
  pinOrg(null);
  const next = window.location.pathname + window.location.search;
  navigate('/login', { notice: 'Your session has ended. Log in again.', next }, true);
});

/** Moves to `path` without reloading; `state` travels with the history entry. */
export function navigate(path, state = {}, replace = false) {
  if (replace) window.history.replaceState(state, '', path);
  else window.history.pushState(state, '', path);
  render();
}

async function afterLogin() {
  session = await loadSession();
  const next = window.history.state && window.history.state.next;
  const safeNext = typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : null;
  navigate(safeNext && safeNext !== '/login' ? safeNext : '/service-accounts', {}, true);
}

function notFound(title, text) {
  pageTitle(title);
  main.replaceChildren(h('div', { class: 'card narrow' }, h('h1', {}, title), h('p', {}, text),
    h('p', {}, h('a', { href: '/service-accounts' }, 'Back to the service accounts'))));
  focusMain();
}

async function render() {
  const path = window.location.pathname;
  const state = window.history.state || {};
  const ctx = { navigate, can, session: () => session, onLoggedIn: afterLogin, onAnswered: afterInvitation };
  if (path === '/setup') return setupView(main, ctx);
  if (path === '/set-password') return setPasswordView(main, ctx);
  if (session === null) {
    try {
      session = await loadSession();
    } catch (error) {
      main.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, error.message));
      return undefined;
    }
  }
  if (!session) {
    drawTopbar();
    let { notice } = state;
    if (path !== '/login') {
      // The emailed invitation link asks for the person it was sent to.
      if (path === '/accept-invitation') notice = 'Log in to answer your invitation.';
      window.history.replaceState({ next: path + window.location.search }, '', '/login');
    }
    return loginView(main, { ...ctx, notice });
  }
  drawTopbar();
  if (path === '/accept-invitation') {
    const query = new URLSearchParams(window.location.search);
    const org = query.get('org');
    return invitationsView(main, ctx, org ? { org, token: query.get('token') || '' } : null);
  }
  if (path === '/invitations') return invitationsView(main, ctx);
  if (!session.org && session.invitations.length) return navigate('/invitations', {}, true);
  if (!session.org) return notFound('No organization', 'You belong to no organization. Ask an admin to add you to one.');
  if (path === '/' || path === '/login') return navigate('/service-accounts', {}, true);
  if (path === '/service-accounts') return accountsView(main, ctx);
  if (path === '/service-accounts/deleted') {
    if (!can().admin) return notFound('Not available', 'Only admins see and restore deleted service accounts.');
    return deletedView(main, ctx);
  }
  const match = path.match(/^\/service-accounts\/([A-Za-z0-9_-]+)$/);
  if (match) return accountView(main, ctx, match[1]);
  if (path === '/settings') {
    if (!can().admin) return notFound('Not available', 'Only admins change the organization’s settings.');
    return settingsView(main, ctx);
  }
  if (path === '/audit') {
    if (!can().admin) return notFound('Not available', 'Only admins read the audit trail.');
    return auditView(main, ctx);
  }
  if (path === '/webhooks' || path.startsWith('/webhooks/')) {
    if (!can().admin) return notFound('Not available', 'Only admins manage webhooks.');
    const hook = path.match(/^\/webhooks\/([A-Za-z0-9_-]+)$/);
    if (hook) return webhookView(main, ctx, hook[1]);
    if (path === '/webhooks') return webhooksView(main, ctx);
  }
  if (path === '/users') {
    if (!can().admin) return notFound('Not available', 'Only admins manage users.');
    return usersView(main, ctx);
  }
  return notFound('Page not found', 'There is no page at this address.');
}

// Same-origin links move within the app instead of reloading it.
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('a[href]');
  if (!link || link.target || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith('/api/')) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', () => render());
render();
