// webhooks.js: admins' webhook endpoints: the list with Add endpoint, and
// one endpoint's page: its events, Edit, Disable/Enable, Rotate secret,
// Delete, and its deliveries, newest first. A signing secret is shown once,
// in the dialog that made it, and never again.

import { api } from './api.js';
import { confirm, formDialog, secretDialog } from './dialogs.js';
import { act, badge, field, focusMain, h, pageTitle, timeEl, toast, uid } from './dom.js';
import { pager } from './pager.js';

export const HOOKS = '/api/webhook/v1/webhook';
const DELIVERY_PAGE = 25;

/**
 * The events an endpoint can receive, by family. A unit test
 * (src/web/assets.rs) holds this list to the server's.
 */
const EVENTS = [
  ['account', 'Service accounts', ['account.created', 'account.updated', 'account.deleted', 'account.restored']],
  ['key', 'Keys', ['key.created', 'key.rotated', 'key.disabled', 'key.enabled', 'key.deleted',
    'key.expiring', 'key.expired', 'key.leaked']],
  ['user', 'Users', ['user.added', 'user.updated', 'user.removed', 'user.accepted', 'user.declined']],
];

function stateBadge(hook) {
  return hook.disabled ? badge('Disabled', 'warn') : badge('Active', 'ok');
}

function eventsList(events) {
  return h('span', { class: 'event-list' }, events.map((e) => [h('code', {}, e), ' ']));
}

/**
 * The Events control: per family, "every event" (which also takes those
 * added later) or a choice of single events. value() lists what is ticked.
 */
function eventPicker(chosen) {
  const boxes = [];
  const groups = EVENTS.map(([family, label, events]) => {
    const all = h('input', { type: 'checkbox', id: uid('family'), value: `${family}.*`, checked: chosen.includes(`${family}.*`) });
    const singles = events.map((name) => h('input', { type: 'checkbox', id: uid('event'), value: name, checked: chosen.includes(name) }));
    const sync = () => { for (const box of singles) box.disabled = all.checked; };
    all.addEventListener('change', sync);
    sync();
    boxes.push(all, ...singles);
    return h('fieldset', { class: 'event-group' },
      h('legend', {}, label),
      h('div', { class: 'field checkbox' }, all, h('label', { for: all.id }, `Every ${label.toLowerCase().replace(/s$/, '')} event (${family}.*)`)),
      h('div', { class: 'event-choices' }, singles.map((box) =>
        h('div', { class: 'field checkbox' }, box, h('label', { for: box.id }, h('code', {}, box.value))))));
  });
  const errorEl = h('p', { class: 'field-error', id: uid('error'), hidden: true });
  // Named "events" so that a refusal naming the field lands here.
  const set = h('fieldset', { class: 'field events', name: 'events', 'aria-describedby': errorEl.id },
    h('legend', {}, 'Events'), h('p', { class: 'hint' }, 'What this endpoint is sent. Tick a family to receive all of it, including events added later.'),
    groups, errorEl);
  set.showError = (message) => {
    errorEl.textContent = message || '';
    errorEl.hidden = !message;
  };
  const value = () => boxes.filter((box) => box.checked && !box.disabled).map((box) => box.value);
  return { node: set, value };
}

/** Shows a signing secret once: Copy, and the warning. */
function showSecret(hook, title) {
  return secretDialog({
    title,
    details: [['Endpoint', hook.url || hook.id]],
    secretLabel: 'Signing secret',
    secret: hook.secret,
    secretId: 'webhook-secret',
    warning: 'Copy the signing secret now and give it to the receiver, which checks each delivery\'s signature with it. It will not be shown again.',
  });
}

/** The Add and Edit dialog; resolves with the server's answer, or null. */
function endpointDialog({ title, hook, submitLabel, send }) {
  const url = h('input', {
    class: 'input', type: 'url', name: 'url', required: true, maxlength: 2048, autocomplete: 'off', value: hook ? hook.url : '',
    placeholder: 'https://hooks.example.com/keyward',
  });
  const events = eventPicker(hook ? hook.events : ['key.*']);
  return formDialog({
    title,
    fields: [field('URL', url, 'Where deliveries are POSTed. Private and loopback addresses are refused unless the server allows them.'), events.node],
    submitLabel,
    submit: () => {
      const chosen = events.value();
      if (chosen.length === 0) throw Object.assign(new Error('Choose at least one event.'), { field: 'events' });
      return send({ url: url.value.trim(), events: chosen });
    },
  });
}

async function addEndpoint(ctx) {
  const created = await endpointDialog({
    title: 'Add webhook endpoint', submitLabel: 'Add endpoint', send: (body) => api('POST', HOOKS, body),
  });
  if (!created) return;
  await showSecret(created, 'Webhook endpoint added');
  toast('Webhook endpoint added');
  ctx.navigate(`/webhooks/${created.id}`);
}

export function webhooksView(main, ctx) {
  pageTitle('Webhooks');
  const tbody = h('tbody');
  const status = h('p', { class: 'muted list-status', role: 'status', 'aria-live': 'polite' });
  const table = h('table', { class: 'table', id: 'webhooks' },
    h('caption', { class: 'visually-hidden' }, 'Webhook endpoints'),
    h('thead', {}, h('tr', {}, ['URL', 'Events', 'State', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody);

  const row = (hook) => h('tr', {},
    h('td', { 'data-label': 'URL' }, h('a', { href: `/webhooks/${hook.id}`, class: 'strong url' }, hook.url)),
    h('td', { 'data-label': 'Events' }, eventsList(hook.events)),
    h('td', { 'data-label': 'State' }, stateBadge(hook)),
    h('td', { 'data-label': 'Created' }, timeEl(hook.created)));

  // An organization has at most 20 endpoints: one page holds them all.
  const pages = pager({
    label: 'Pages of webhook endpoints',
    status,
    fetch: (cursor) => api('GET', HOOKS, undefined, { query: { limit: 200, cursor } }),
    show: (page) => {
      tbody.replaceChildren(...page.items.map(row));
      table.hidden = page.items.length === 0;
      status.textContent = page.items.length === 0
        ? 'No webhook endpoints yet. Add one to hear about changes as they happen.'
        : `${page.items.length} endpoint${page.items.length === 1 ? '' : 's'}.`;
    },
  });

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Webhooks'),
      h('button', { type: 'button', class: 'button primary', onclick: act(() => addEndpoint(ctx)) }, 'Add endpoint')),
    h('p', { class: 'lead' },
      'keyward POSTs each change to these URLs, signed as Standard Webhooks, and retries for 24 hours until the receiver answers 2xx.'),
    status,
    h('div', { class: 'table-wrap' }, table),
    pages.nav);
  focusMain();
  return pages.load();
}

function deliveryStatus(d) {
  if (d.status === 'delivered') return badge('Delivered', 'ok');
  if (d.status === 'failed') return badge('Failed', 'bad');
  return badge('Pending', 'warn');
}

/** The receiver's last answer, or why there was none. */
function lastAnswer(d) {
  if (d.lastStatusCode !== null && d.lastStatusCode !== undefined) {
    return h('span', {}, `HTTP ${d.lastStatusCode}`, d.lastError ? h('div', { class: 'muted small' }, d.lastError) : null);
  }
  return d.lastError ? h('span', { class: 'muted' }, d.lastError) : h('span', { class: 'muted' }, '—');
}

export async function webhookView(main, ctx, id) {
  let hook;
  try {
    hook = await api('GET', `${HOOKS}/${id}`);
  } catch (error) {
    pageTitle('Webhook endpoint');
    main.replaceChildren(h('div', { class: 'card narrow' },
      h('h1', {}, error.status === 404 ? 'Webhook endpoint not found' : 'Something went wrong'),
      h('p', {}, error.status === 404 ? 'It may have been deleted, or it belongs to another organization.' : error.message),
      h('p', {}, h('a', { href: '/webhooks' }, 'Back to the webhooks'))));
    focusMain();
    return;
  }
  const path = `${HOOKS}/${id}`;
  const reload = () => webhookView(main, ctx, id);
  pageTitle(`Webhook ${hook.url}`);

  const edit = h('button', { type: 'button', class: 'button', onclick: act(async () => {
    const saved = await endpointDialog({
      title: 'Edit webhook endpoint', hook, submitLabel: 'Save', send: (body) => api('PATCH', path, body),
    });
    if (!saved) return;
    toast('Webhook endpoint saved');
    reload();
  }) }, 'Edit');
  const toggle = hook.disabled
    ? h('button', { type: 'button', class: 'button', onclick: act(async () => {
      await api('PATCH', path, { disabled: false });
      toast('Webhook endpoint enabled');
      reload();
    }) }, 'Enable')
    : h('button', { type: 'button', class: 'button', onclick: act(async () => {
      const ok = await confirm({
        title: 'Disable webhook endpoint?',
        message: 'Nothing more is sent to it, and deliveries still waiting are cancelled, until you enable it again.',
        confirmLabel: 'Disable endpoint',
      });
      if (!ok) return;
      await api('PATCH', path, { disabled: true });
      toast('Webhook endpoint disabled');
      reload();
    }) }, 'Disable');
  const rotate = h('button', { type: 'button', class: 'button', onclick: act(async () => {
    const ok = await confirm({
      title: 'Rotate signing secret?',
      message: 'Every delivery from now on, retries included, is signed with a new secret, shown once. Give it to the receiver before the next change.',
      confirmLabel: 'Rotate secret',
      danger: false,
    });
    if (!ok) return;
    const rotated = await api('POST', `${path}/rotate-secret`);
    await showSecret({ url: hook.url, secret: rotated.secret }, 'Signing secret rotated');
    reload();
  }) }, 'Rotate secret');
  const remove = h('button', { type: 'button', class: 'button danger', onclick: act(async () => {
    const ok = await confirm({
      title: 'Delete webhook endpoint?',
      message: `${hook.url} is sent nothing more, and its delivery history is deleted with it. This cannot be undone.`,
      confirmLabel: 'Delete endpoint',
    });
    if (!ok) return;
    await api('DELETE', path);
    toast('Webhook endpoint deleted');
    ctx.navigate('/webhooks');
  }) }, 'Delete');

  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'ID'), h('dd', {}, h('code', {}, hook.id)),
    h('dt', {}, 'URL'), h('dd', {}, h('code', {}, hook.url)),
    h('dt', {}, 'Events'), h('dd', {}, eventsList(hook.events)),
    h('dt', {}, 'State'), h('dd', {}, stateBadge(hook),
      hook.disabledReason ? h('div', { class: 'muted small' }, `Disabled by keyward: ${hook.disabledReason}`) : null),
    h('dt', {}, 'Created'), h('dd', {}, timeEl(hook.created)),
    h('dt', {}, 'Signing secret made'), h('dd', {}, timeEl(hook.secretCreated)));

  const tbody = h('tbody');
  const status = h('p', { class: 'muted list-status', role: 'status', 'aria-live': 'polite' });
  const table = h('table', { class: 'table', id: 'webhook-deliveries' },
    h('caption', { class: 'visually-hidden' }, 'Deliveries, newest first'),
    h('thead', {}, h('tr', {}, ['Event', 'Status', 'Attempts', 'Last answer', 'Created', 'Delivered or next try', 'Delivery ID']
      .map((c) => h('th', { scope: 'col' }, c)))),
    tbody);
  const row = (d) => h('tr', {},
    h('td', { 'data-label': 'Event' }, h('code', {}, d.eventType)),
    h('td', { 'data-label': 'Status' }, deliveryStatus(d)),
    h('td', { 'data-label': 'Attempts' }, String(d.attempts)),
    h('td', { 'data-label': 'Last answer' }, lastAnswer(d)),
    h('td', { 'data-label': 'Created' }, timeEl(d.created)),
    h('td', { 'data-label': 'Delivered or next try' },
      d.status === 'delivered' ? timeEl(d.deliveredAt) : timeEl(d.nextAttemptAt, '—')),
    h('td', { 'data-label': 'Delivery ID' }, h('code', {}, d.id)));
  const pages = pager({
    label: 'Pages of deliveries',
    status,
    fetch: (cursor) => api('GET', `${path}/delivery`, undefined, { query: { limit: DELIVERY_PAGE, cursor } }),
    show: (page) => {
      tbody.replaceChildren(...page.items.map(row));
      table.hidden = page.items.length === 0;
      status.textContent = page.items.length === 0
        ? 'Nothing has been sent to this endpoint yet.'
        : `Showing ${page.items.length} deliver${page.items.length === 1 ? 'y' : 'ies'}.`;
    },
  });
  const refresh = h('button', { type: 'button', class: 'button small', onclick: () => pages.load() }, 'Refresh');

  main.replaceChildren(
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
      h('a', { href: '/webhooks' }, 'Webhooks'), h('span', { 'aria-hidden': 'true' }, ' / '),
      h('span', { 'aria-current': 'page' }, hook.url)),
    h('div', { class: 'page-head' }, h('h1', {}, 'Webhook endpoint'), h('div', { class: 'actions' }, edit, toggle, rotate, remove)),
    facts,
    h('section', { class: 'section', 'aria-labelledby': 'deliveries-heading' },
      h('div', { class: 'section-head' }, h('h2', { id: 'deliveries-heading' }, 'Deliveries'), refresh),
      status,
      h('div', { class: 'table-wrap' }, table),
      pages.nav));
  if (!document.querySelector('dialog[open]')) focusMain();
  return pages.load();
}
