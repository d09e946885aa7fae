// accounts.js: the service accounts page: search, pages, and the seed's
// Add → Save that leads to the new account's page.

import { SA, api } from './api.js';
import { formDialog } from './dialogs.js';
import { badge, field, focusMain, h, pageTitle, roleLabel, roleSelect, timeEl, toast } from './dom.js';

const PAGE_SIZE = 20;

/** The Add dialog: name, Enable Basic Auth, role, optional email; Save. */
export async function addAccount(ctx) {
  const name = h('input', { class: 'input', type: 'text', name: 'name', required: true, maxlength: 200, autocomplete: 'off' });
  const basic = h('input', { type: 'checkbox', name: 'enableBasicAuth' });
  const role = roleSelect(ctx.can().role, 'viewer');
  const email = h('input', { class: 'input', type: 'email', name: 'email', maxlength: 200, autocomplete: 'off' });
  const created = await formDialog({
    title: 'Add service account',
    fields: [
      field('Name', name, 'A meaningful name, unique in the organization.'),
      field('Enable Basic Auth', basic, 'Lets its keys authenticate as HTTP Basic keyId:secret.'),
      field('Role', role, 'What its keys may do. At most your own role.'),
      field('Email (optional)', email, 'Receives a confirmation request.'),
    ],
    submitLabel: 'Save',
    submit: () => api('POST', SA, {
      name: name.value,
      enableBasicAuth: basic.checked,
      role: role.value,
      ...(email.value.trim() ? { email: email.value.trim() } : {}),
    }),
  });
  if (created) {
    toast(`Service account ${created.name} created`);
    ctx.navigate(`/service-accounts/${created.id}`);
  }
}

function row(account) {
  const keys = account.keys.length;
  return h('tr', {},
    h('td', { 'data-label': 'Name' }, h('a', { href: `/service-accounts/${account.id}`, class: 'strong' }, account.name)),
    h('td', { 'data-label': 'Role' }, roleLabel(account.role)),
    h('td', { 'data-label': 'Keys' }, String(keys)),
    h('td', { 'data-label': 'Basic Auth' }, account.enableBasicAuth ? 'Enabled' : 'Off'),
    h('td', { 'data-label': 'Status' }, account.disabled ? badge('Disabled', 'warn') : badge('Active', 'ok')),
    h('td', { 'data-label': 'Last used' }, timeEl(account.lastUsed, 'Never', true)),
    h('td', { 'data-label': 'Created' }, timeEl(account.created)));
}

export function accountsView(main, ctx) {
  pageTitle('Service accounts');
  const can = ctx.can();
  const session = ctx.session();
  // Cursors of the pages before this one, for Previous.
  const state = { query: new URLSearchParams(window.location.search).get('name') || '', cursors: [null], page: 0 };
  const search = h('input', { class: 'input', type: 'search', id: 'sa-search', value: state.query, autocomplete: 'off', maxlength: 200 });
  const tbody = h('tbody');
  const status = h('p', { class: 'muted list-status', role: 'status', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', class: 'button', disabled: true }, 'Next page');
  const pageLabel = h('span', { class: 'muted' });
  const table = h('table', { class: 'table' },
    h('caption', { class: 'visually-hidden' }, 'Service accounts'),
    h('thead', {}, h('tr', {}, ['Name', 'Role', 'Keys', 'Basic Auth', 'Status', 'Last used', 'Created']
      .map((c) => h('th', { scope: 'col' }, c)))),
    tbody);

  async function load() {
    status.textContent = 'Loading…';
    let page;
    try {
      page = await api('GET', SA, undefined, {
        query: { limit: PAGE_SIZE, cursor: state.cursors[state.page], name: state.query.trim() },
      });
    } catch (error) {
      status.textContent = error.message;
      return;
    }
    tbody.replaceChildren(...page.items.map(row));
    table.hidden = page.items.length === 0;
    if (page.items.length === 0) {
      status.textContent = state.query
        ? `No service account's name contains “${state.query.trim()}”.`
        : `No service accounts yet.${can.admin ? ' Click Add to create the first one.' : ''}`;
    } else {
      status.textContent = `Showing ${page.items.length} service account${page.items.length === 1 ? '' : 's'}.`;
    }
    state.cursors[state.page + 1] = page.nextCursor;
    prev.disabled = state.page === 0;
    next.disabled = !page.nextCursor;
    pageLabel.textContent = `Page ${state.page + 1}`;
    pager.hidden = prev.disabled && next.disabled;
  }

  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.query = search.value;
      state.page = 0;
      state.cursors = [null];
      const url = state.query.trim() ? `/service-accounts?name=${encodeURIComponent(state.query.trim())}` : '/service-accounts';
      window.history.replaceState(window.history.state, '', url);
      load();
    }, 250);
  });
  prev.addEventListener('click', () => { state.page -= 1; load(); });
  next.addEventListener('click', () => { state.page += 1; load(); });

  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of service accounts', hidden: true }, prev, pageLabel, next);
  const add = can.admin
    ? h('button', { type: 'button', class: 'button primary', onclick: () => addAccount(ctx) }, 'Add')
    : null;
  const deleted = can.admin
    ? h('a', { href: '/service-accounts/deleted', class: 'button subtle', id: 'recently-deleted' }, 'Recently deleted')
    : null;
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Service accounts'), h('div', { class: 'actions' }, deleted, add)),
    h('p', { class: 'lead' }, `Machine identities of ${session.org.name}. Each has a role and one or more API keys.`),
    h('div', { class: 'toolbar' }, h('label', { for: 'sa-search' }, 'Search by name'), search),
    status,
    h('div', { class: 'table-wrap' }, table),
    pager);
  focusMain();
  return load();
}
