// users.js: admins manage the organization's people: invite (keyward
// emails the invitee; the page never sees a link; the person joins when
// they accept), change roles, remove.

import { USERS, api } from './api.js';
import { confirm, formDialog } from './dialogs.js';
import { act, badge, field, focusMain, h, pageTitle, roleSelect, timeEl, toast } from './dom.js';
import { pager } from './pager.js';

async function invite(ctx, reload) {
  const email = h('input', { class: 'input', type: 'email', name: 'email', required: true, maxlength: 200, autocomplete: 'off' });
  const role = roleSelect(ctx.can().role, 'viewer');
  const invited = await formDialog({
    title: 'Invite user',
    intro: 'keyward emails them an invitation: a link to choose a password, or, if they already have an account, a link to accept. They join when they accept; until then they are listed as Invited.',
    fields: [field('Email', email), field('Role', role, 'Viewers read; editors also manage keys; admins manage everything.')],
    submitLabel: 'Invite',
    submit: () => api('POST', USERS, { email: email.value.trim(), role: role.value }),
  });
  if (!invited) return;
  toast(`Invitation sent to ${invited.email}`);
  reload();
}

export function usersView(main, ctx) {
  pageTitle('Users');
  const session = ctx.session();
  const tbody = h('tbody');
  const status = h('p', { class: 'muted list-status', role: 'status', 'aria-live': 'polite' });

  function row(user) {
    const you = user.id === session.userId;
    const role = roleSelect(ctx.can().role, user.role);
    role.classList.add('compact');
    role.setAttribute('aria-label', `Role of ${user.email}`);
    role.addEventListener('change', act(async () => {
      try {
        await api('PATCH', `${USERS}/${user.id}`, { role: role.value });
        toast(`${user.email} is now ${role.value === 'admin' ? 'an' : 'a'} ${role.value}`);
      } catch (error) {
        role.value = user.role;
        throw error;
      }
      user.role = role.value;
    }));
    const remove = h('button', { type: 'button', class: 'button small danger', 'aria-label': `Remove ${user.email}`, onclick: act(async () => {
      const ok = await confirm({
        title: 'Remove user?',
        message: `${user.email} loses access to ${session.org.name}, and a link from its invitation stops working. Their other organizations are not affected.`,
        confirmLabel: 'Remove user',
      });
      if (!ok) return;
      await api('DELETE', `${USERS}/${user.id}`);
      toast(`${user.email} removed`);
      pages.load();
    }) }, 'Remove');
    return h('tr', {},
      h('td', { 'data-label': 'Email' }, h('span', {}, user.email, you ? h('span', { class: 'muted' }, ' (you)') : null)),
      h('td', { 'data-label': 'Role' }, role),
      h('td', { 'data-label': 'Status' }, user.active ? badge('Active', 'ok') : badge('Invited', 'warn')),
      h('td', { 'data-label': 'Joined' }, timeEl(user.created)),
      h('td', { 'data-label': 'Actions', class: 'actions' }, remove));
  }

  const pages = pager({
    label: 'Pages of users',
    status,
    fetch: (cursor) => api('GET', USERS, undefined, { query: { limit: 50, cursor } }),
    show: (page) => {
      tbody.replaceChildren(...page.items.map(row));
      status.textContent = `${page.items.length} user${page.items.length === 1 ? '' : 's'} on this page.`;
    },
  });
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Users'),
      h('button', { type: 'button', class: 'button primary', onclick: () => invite(ctx, pages.load) }, 'Invite user')),
    h('p', { class: 'lead' }, `People who log in to ${session.org.name}, and what they may do.`),
    status,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' }, 'Users'),
      h('thead', {}, h('tr', {}, ['Email', 'Role', 'Status', 'Joined', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody)),
    pages.nav);
  focusMain();
  return pages.load();
}
