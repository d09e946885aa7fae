// settings.js: the organization's key policy: admins set the longest
// lifetime a key may have and whether every key must expire.

import { ORGS, api } from './api.js';
import { formDialog } from './dialogs.js';
import { act, field, focusMain, h, pageTitle, toast } from './dom.js';

const DAY = 86400;

function lifetimeText(seconds) {
  if (seconds === null || seconds === undefined) return 'No limit (only the server’s)';
  if (seconds % DAY === 0) return `${seconds / DAY} day${seconds === DAY ? '' : 's'}`;
  return `${seconds} seconds`;
}

async function editPolicy(org, reload) {
  const days = h('input', {
    class: 'input', type: 'number', name: 'maxKeyLifetime', min: 1, step: 1, inputmode: 'numeric',
    value: org.maxKeyLifetime ? String(Math.ceil(org.maxKeyLifetime / DAY)) : '',
  });
  const require = h('input', { type: 'checkbox', name: 'requireExpiry', checked: org.requireExpiry });
  const saved = await formDialog({
    title: 'Key policy',
    fields: [
      field('Longest key lifetime (days)', days, 'Empty for no limit of the organization’s own. Keys created without a lifetime get this one.'),
      field('Every key must expire', require, 'Without a longest lifetime, each new key must be given one.'),
    ],
    submitLabel: 'Save',
    submit: () => api('PATCH', `${ORGS}/${org.id}`, {
      maxKeyLifetime: days.value.trim() ? Number(days.value) * DAY : null,
      requireExpiry: require.checked,
    }),
  });
  if (saved) {
    toast('Key policy saved');
    reload();
  }
}

export function settingsView(main, ctx) {
  pageTitle('Organization settings');
  const session = ctx.session();
  const body = h('div');

  async function load() {
    let orgs;
    try {
      orgs = (await api('GET', ORGS)).items;
    } catch (error) {
      body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, error.message));
      return;
    }
    const org = orgs.find((o) => o.id === session.org.id);
    if (!org) return;
    const edit = h('button', { type: 'button', class: 'button primary', onclick: act(() => editPolicy(org, load)) }, 'Edit key policy');
    body.replaceChildren(
      h('section', { class: 'card' },
        h('h2', {}, 'Key policy'),
        h('dl', { class: 'facts', id: 'key-policy' },
          h('dt', {}, 'Longest key lifetime'), h('dd', {}, lifetimeText(org.maxKeyLifetime)),
          h('dt', {}, 'Every key must expire'), h('dd', {}, org.requireExpiry ? 'Yes' : 'No')),
        h('p', { class: 'muted' }, 'Applies to keys created or rotated from now on; existing keys keep their expiry.'),
        edit));
  }

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Organization settings')),
    h('p', { class: 'lead' }, `Settings of ${session.org.name}.`),
    body);
  focusMain();
  return load();
}
