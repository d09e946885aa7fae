// deleted.js: admins' "Recently deleted" page: the service accounts deleted
// in the last 30 days, each with Restore, which brings it back with its keys.

import { SA, api } from './api.js';
import { confirm } from './dialogs.js';
import { act, focusMain, h, pageTitle, roleLabel, timeEl, toast } from './dom.js';
import { pager } from './pager.js';

const PAGE_SIZE = 20;
/** How long a deleted account is kept (the server's retention). */
const RETENTION_SECONDS = 30 * 86400;

export function deletedView(main, ctx) {
  pageTitle('Recently deleted');
  const tbody = h('tbody');
  const status = h('p', { class: 'muted list-status', role: 'status', 'aria-live': 'polite' });
  const table = h('table', { class: 'table', id: 'deleted-accounts' },
    h('caption', { class: 'visually-hidden' }, 'Recently deleted service accounts'),
    h('thead', {}, h('tr', {}, ['Name', 'Role', 'Keys', 'Deleted', 'Purged on', '']
      .map((c) => h('th', { scope: 'col' }, c)))),
    tbody);

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

  const pages = pager({
    label: 'Pages of deleted service accounts',
    status,
    fetch: (cursor) => api('GET', SA, undefined, { query: { deleted: 'true', limit: PAGE_SIZE, cursor } }),
    show: (page) => {
      tbody.replaceChildren(...page.items.map(row));
      table.hidden = page.items.length === 0;
      status.textContent = page.items.length === 0
        ? 'No service account was deleted in the last 30 days.'
        : `Showing ${page.items.length} deleted service account${page.items.length === 1 ? '' : 's'}.`;
    },
  });

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Recently deleted')),
    h('p', { class: 'lead' },
      'Service accounts deleted in the last 30 days. Restore brings one back with its keys as they were; '
      + 'after 30 days it is removed for good.'),
    h('p', {}, h('a', { href: '/service-accounts' }, 'Back to the service accounts')),
    status,
    h('div', { class: 'table-wrap' }, table),
    pages.nav);
  focusMain();
  return pages.load();
}
