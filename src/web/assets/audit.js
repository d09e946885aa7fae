// audit.js: admins' "Audit trail" page: the organization's changes, newest
// first, paged, and narrowed by who acted, what was done and on what. The
// filters live in the address, so a filtered view can be bookmarked or sent.

import { api } from './api.js';
import { focusMain, field, h, pageTitle, timeEl, uid } from './dom.js';
import { pager } from './pager.js';

export const AUDIT = '/api/audit/v1/event';
const PAGE_SIZE = 50;
/** The families of actions the trail records, for the filter's choices. */
const FAMILIES = [
  ['', 'Any action'],
  ['serviceAccount.*', 'Service accounts'],
  ['key.*', 'Keys'],
  ['user.*', 'Users'],
  ['org.*', 'Organization'],
  ['mail.*', 'Mail'],
];

function actorLabel(event) {
  const kinds = { serviceAccount: 'Service account', user: 'User', operator: 'Operator', emailLink: 'Email link', system: 'keyward' };
  return kinds[event.actorKind] || event.actorKind;
}

/** The detail of an event in a line: its fields, without the ids shown beside it. */
function detailText(detail) {
  if (!detail || typeof detail !== 'object') return '';
  return Object.entries(detail)
    .filter(([, value]) => value !== null && value !== '' && !(Array.isArray(value) && value.length === 0))
    .map(([name, value]) => `${name}: ${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(' · ');
}

export function auditView(main, ctx) {
  pageTitle('Audit trail');
  const params = new URLSearchParams(window.location.search);
  const actorInput = h('input', { class: 'input', id: uid('actor'), name: 'actorId', value: params.get('actorId') || '', autocomplete: 'off', maxlength: 100 });
  const targetInput = h('input', { class: 'input', id: uid('target'), name: 'targetId', value: params.get('targetId') || '', autocomplete: 'off', maxlength: 100 });
  const actionSelect = h('select', { class: 'input', id: uid('action'), name: 'action' },
    FAMILIES.map(([value, label]) => h('option', { value, selected: value === (params.get('action') || '') }, label)));
  const known = FAMILIES.some(([value]) => value === (params.get('action') || ''));
  if (!known) {
    // An exact action from a link ("key.delete"): kept, and shown as chosen.
    actionSelect.append(h('option', { value: params.get('action'), selected: true }, params.get('action')));
  }
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit trail' },
    field('Actor id', actorInput),
    field('Action', actionSelect),
    field('Target id', targetInput),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary' }, 'Filter'),
      h('button', { type: 'button', class: 'button subtle', onclick: () => ctx.navigate('/audit') }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, input] of [['actorId', actorInput], ['action', actionSelect], ['targetId', targetInput]]) {
      if (input.value.trim()) query.set(name, input.value.trim());
    }
    const search = query.toString();
    ctx.navigate(search ? `/audit?${search}` : '/audit');
  });

  const tbody = h('tbody');
  const status = h('p', { class: 'muted list-status', role: 'status', 'aria-live': 'polite' });
  const table = h('table', { class: 'table', id: 'audit-events' },
    h('caption', { class: 'visually-hidden' }, 'Audit events, newest first'),
    h('thead', {}, h('tr', {}, ['When', 'Actor', 'Action', 'Target', 'From', 'Detail']
      .map((c) => h('th', { scope: 'col' }, c)))),
    tbody);

  /** An id that filters the trail when followed. */
  function filterLink(name, id) {
    if (!id) return h('span', { class: 'muted' }, '—');
    const query = new URLSearchParams({ [name]: id });
    return h('a', { href: `/audit?${query}`, class: 'mono', title: `Only events with this ${name === 'actorId' ? 'actor' : 'target'}` }, id);
  }

  function row(event) {
    return h('tr', {},
      h('td', { 'data-label': 'When' }, timeEl(event.time)),
      h('td', { 'data-label': 'Actor' }, h('div', {}, actorLabel(event)), filterLink('actorId', event.actorId),
        event.keyId ? h('div', { class: 'muted small' }, `key ${event.keyId}`) : null),
      h('td', { 'data-label': 'Action' }, h('code', {}, event.action)),
      h('td', { 'data-label': 'Target' }, event.targetKind ? h('div', {}, event.targetKind) : null, filterLink('targetId', event.targetId)),
      h('td', { 'data-label': 'From' }, event.clientIp || h('span', { class: 'muted' }, '—')),
      h('td', { 'data-label': 'Detail', class: 'detail' }, detailText(event.detail)));
  }

  const filtered = ['actorId', 'action', 'targetId'].some((name) => params.get(name));
  const pages = pager({
    label: 'Pages of audit events',
    status,
    fetch: (cursor) => {
      const query = { limit: PAGE_SIZE, cursor };
      for (const name of ['actorId', 'action', 'targetId']) {
        if (params.get(name)) query[name] = params.get(name);
      }
      return api('GET', AUDIT, undefined, { query });
    },
    show: (page) => {
      tbody.replaceChildren(...page.items.map(row));
      table.hidden = page.items.length === 0;
      status.textContent = page.items.length === 0
        ? (filtered ? 'No event matches these filters.' : 'Nothing has been recorded yet.')
        : `Showing ${page.items.length} event${page.items.length === 1 ? '' : 's'}${filtered ? ' matching the filters' : ''}.`;
    },
    failed: () => { table.hidden = true; },
  });

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Audit trail')),
    h('p', { class: 'lead' },
      'Every change in this organization: who made it, with which key, from where, and what changed. Secrets are never recorded.'),
    form,
    status,
    h('div', { class: 'table-wrap' }, table),
    pages.nav);
  focusMain();
  return pages.load();
}
