// accounts.js: the service accounts page: search, pages, and the
// Add → Save that leads to the new account's page.

import { SA, api } from './api.js';
import { formDialog } from './dialogs.js';
import { badge, field, focusMain, h, pageTitle, roleLabel, roleSelect, timeEl, toast } from './dom.js';
import { pager } from './pager.js';

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
  const state = { query: new URLSearchParams(window.location.search).get('name') || '' };
  const search = h('input', { class: 'input', type: 'search', id: 'sa-search', value: state.query, autocomplete: 'off', maxlength: 200 });
  const tbody = h('tbody');
  const status = h('p', { class: 'muted list-status', role: 'status', 'aria-live': 'polite' });
  const table = h('table', { class: 'table' },
    h('caption', { class: 'visually-hidden' }, 'Service accounts'),
    h('thead', {}, h('tr', {}, ['Name', 'Role', 'Keys', 'Basic Auth', 'Status', 'Last used', 'Created']
      .map((c) => h('th', { scope: 'col' }, c)))),
    tbody);

  const pages = pager({
    label: 'Pages of service accounts',
    status,
    fetch: (cursor) => api('GET', SA, undefined, { query: { limit: PAGE_SIZE, cursor, name: state.query.trim() } }),
    show: (page) => {
      tbody.replaceChildren(...page.items.map(row));
      table.hidden = page.items.length === 0;
      if (page.items.length === 0) {
        status.textContent = state.query
          ? `No service account's name contains “${state.query.trim()}”.`
          : `No service accounts yet.${can.admin ? ' Click Add to create the first one.' : ''}`;
      } else {
        status.textContent = `Showing ${page.items.length} service account${page.items.length === 1 ? '' : 's'}.`;
      }
    },
  });

  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.query = search.value;
      const url = state.query.trim() ? `/service-accounts?name=${encodeURIComponent(state.query.trim())}` : '/service-accounts';
      window.history.replaceState(window.history.state, '', url);
      pages.reset();
    }, 250);
  });
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
    pages.nav);
  focusMain();
  return pages.load();
}
