// deleted.js: admins' "Recently deleted" page: the service accounts deleted
// in the last 30 days, each with Restore, which brings it back with its keys.

import { SA, api } from './api.js';
import { confirm } from './dialogs.js';
import { act, focusMain, h, pageTitle, roleLabel, timeEl, toast } from './dom.js';

const PAGE_SIZE = 20;
/** How long a deleted account is kept (the server's retention). */
const RETENTION_SECONDS = 30 * 86400;

export function deletedView(main, ctx) {
  pageTitle('Recently deleted');
  const state = { cursors: [null], page: 0 };
  const tbody = h('tbody');
  const status = h('p', { class: 'muted list-status', role: 'status', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', class: 'button', disabled: true }, 'Next page');
  const pageLabel = h('span', { class: 'muted' });
  const table = h('table', { class: 'table', id: 'deleted-accounts' },
    h('caption', { class: 'visually-hidden' }, 'Recently deleted service accounts'),
    h('thead', {}, h('tr', {}, ['Name', 'Role', 'Keys', 'Deleted', 'Purged on', '']
      .map((c) => h('th', { scope: 'col' }, c)))),
    tbody);
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of deleted service accounts', hidden: true }, prev, pageLabel, next);

  function row(account) {
    const restore = h('button', {
      type: 'button',
      class: 'button small',
      'aria-label': `Restore ${account.name}`,
      'data-restore': account.id,
      onclick: act(async () => {
        const ok = await confirm({
          title: 'Restore service account?',
          message: `Restore ${account.name}? Its keys work again at once, except those that have expired.`,
          confirmLabel: 'Restore',
          danger: false,
        });
        if (!ok) return;
        await api('POST', `${SA}/${account.id}/undelete`);
        toast(`Service account ${account.name} restored`);
        ctx.navigate(`/service-accounts/${account.id}`);
      }),
    }, 'Restore');
    return h('tr', {},
      h('td', { 'data-label': 'Name' }, h('span', { class: 'strong' }, account.name)),
      h('td', { 'data-label': 'Role' }, roleLabel(account.role)),
      h('td', { 'data-label': 'Keys' }, String(account.keys.length)),
      h('td', { 'data-label': 'Deleted' }, timeEl(account.deleted, '—', true)),
      h('td', { 'data-label': 'Purged on' }, timeEl(account.deleted + RETENTION_SECONDS)),
      h('td', {}, restore));
  }

  async function load() {
    status.textContent = 'Loading…';
    let page;
    try {
      page = await api('GET', SA, undefined, {
        query: { deleted: 'true', limit: PAGE_SIZE, cursor: state.cursors[state.page] },
      });
    } catch (error) {
      status.textContent = error.message;
      return;
    }
    tbody.replaceChildren(...page.items.map(row));
    table.hidden = page.items.length === 0;
    status.textContent = page.items.length === 0
      ? 'No service account was deleted in the last 30 days.'
      : `Showing ${page.items.length} deleted service account${page.items.length === 1 ? '' : 's'}.`;
    state.cursors[state.page + 1] = page.nextCursor;
    prev.disabled = state.page === 0;
    next.disabled = !page.nextCursor;
    pageLabel.textContent = `Page ${state.page + 1}`;
    pager.hidden = prev.disabled && next.disabled;
  }

  prev.addEventListener('click', () => { state.page -= 1; load(); });
  next.addEventListener('click', () => { state.page += 1; load(); });
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Recently deleted')),
    h('p', { class: 'lead' },
      'Service accounts deleted in the last 30 days. Restore brings one back with its keys as they were; '
      + 'after 30 days it is removed for good.'),
    h('p', {}, h('a', { href: '/service-accounts' }, 'Back to the service accounts')),
    status,
    h('div', { class: 'table-wrap' }, table),
    pager);
  focusMain();
  return load();
}
