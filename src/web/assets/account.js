// account.js: one service account: its facts, its keys (created, last
// used, expires, state, what narrows them) and, for those allowed, Add key
// (optionally narrowed: role, scopes, address ranges, rate limit, meta),
// rotate, disable/enable and delete, and editing or deleting the account.

import { SA, api } from './api.js';
import { confirm, formDialog, secretDialog } from './dialogs.js';
import { act, badge, field, focusMain, h, pageTitle, roleLabel, roleSelect, timeEl, toast } from './dom.js';

const EXPIRY_CHOICES = [['', 'Never'], ['2592000', 'In 30 days'], ['7776000', 'In 90 days'], ['31536000', 'In a year']];
const GRACE_CHOICES = [['0', 'At once'], ['3600', 'In an hour'], ['86400', 'In a day'], ['604800', 'In a week']];

function keyState(key) {
  if (key.disabled) return badge('Disabled', 'warn');
  if (key.expires !== null && key.expires <= Date.now() / 1000) return badge('Expired', 'bad');
  return badge('Active', 'ok');
}

/** Space- or comma-separated words, none empty. */
function words(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** What narrows a key, for its row in the table; a dash when nothing does. */
function narrowing(key) {
  const parts = [];
  if (key.role) parts.push(h('span', {}, `Role: ${roleLabel(key.role)}`));
  if (key.scopes.length) parts.push(h('span', {}, 'Scopes: ', key.scopes.map((s) => h('code', {}, s, ' '))));
  if (key.allowedCidrs.length) parts.push(h('span', {}, 'From: ', key.allowedCidrs.map((c) => h('code', {}, c, ' '))));
  if (key.rateLimit) parts.push(h('span', {}, `Rate: ${key.rateLimit.limit} per ${key.rateLimit.period} s`));
  if (key.meta) parts.push(h('span', {}, 'Meta: ', h('code', {}, JSON.stringify(key.meta))));
  if (!parts.length) return h('span', { class: 'muted' }, '—');
  return h('div', { class: 'narrowing' }, parts);
}

function choiceSelect(name, choices) {
  return h('select', { class: 'input', name }, choices.map(([value, label]) => h('option', { value }, label)));
}

/** Shows a key's secret once, in a dialog with Copy and the warning that it is not shown again. */
function showKey(minted, title) {
  return secretDialog({
    title,
    details: [['Key ID', minted.keyId]],
    secretLabel: 'Secret',
    secret: minted.secret,
    secretId: 'key-secret',
    warning: 'Copy the secret now. It will not be shown again.',
  });
}

export async function accountView(main, ctx, id) {
  const can = ctx.can();
  let account;
  try {
    account = await api('GET', `${SA}/${id}`);
  } catch (error) {
    pageTitle('Service account');
    main.replaceChildren(h('div', { class: 'card narrow' },
      h('h1', {}, error.status === 404 ? 'Service account not found' : 'Something went wrong'),
      h('p', {}, error.status === 404 ? 'It may have been deleted, or it belongs to another organization.' : error.message),
      h('p', {}, h('a', { href: '/service-accounts' }, 'Back to the service accounts'))));
    focusMain();
    return;
  }
  const path = `${SA}/${id}`;
  const reload = async (focusSelector) => {
    await accountView(main, ctx, id);
    if (focusSelector) main.querySelector(focusSelector)?.focus();
  };
  const mayKeys = can.actFor(account.role);
  pageTitle(account.name);

  // --- the account ---------------------------------------------------------
  const actions = [];
  if (can.admin) {
    actions.push(h('button', { type: 'button', class: 'button', onclick: () => editAccount(account, reload) }, 'Edit'));
    actions.push(account.disabled
      ? h('button', { type: 'button', class: 'button', onclick: act(async () => {
        await api('PATCH', path, { disabled: false });
        toast(`${account.name} is enabled`);
        reload();
      }) }, 'Enable account')
      : h('button', { type: 'button', class: 'button', onclick: act(async () => {
        const ok = await confirm({
          title: 'Disable service account?',
          message: `All keys of ${account.name} are refused until you enable it again.`,
          confirmLabel: 'Disable account',
        });
        if (!ok) return;
        await api('PATCH', path, { disabled: true });
        toast(`${account.name} is disabled`);
        reload();
      }) }, 'Disable account'));
    actions.push(h('button', { type: 'button', class: 'button danger', onclick: act(async () => {
      const n = account.keys.length;
      const ok = await confirm({
        title: 'Delete service account?',
        message: `${account.name} and its ${n} key${n === 1 ? '' : 's'} are deleted. Programs using them stop working at once. For 30 days it can be restored, with its keys, from Recently deleted.`,
        confirmLabel: 'Delete account',
      });
      if (!ok) return;
      await api('DELETE', path);
      toast(`Service account ${account.name} deleted; Recently deleted can restore it for 30 days`);
      ctx.navigate('/service-accounts');
    }) }, 'Delete account'));
  }

  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'ID'), h('dd', {}, h('code', {}, account.id)),
    h('dt', {}, 'Role'), h('dd', {}, roleLabel(account.role)),
    h('dt', {}, 'Basic Auth'), h('dd', {}, account.enableBasicAuth ? 'Enabled' : 'Off'),
    h('dt', {}, 'Email'), h('dd', {}, account.email
      ? [account.email, ' ', account.emailConfirmed ? badge('Confirmed', 'ok') : badge('Unconfirmed', 'warn')]
      : h('span', { class: 'muted' }, 'None')),
    h('dt', {}, 'Status'), h('dd', {}, account.disabled ? badge('Disabled', 'warn') : badge('Active', 'ok')),
    h('dt', {}, 'Created'), h('dd', {}, timeEl(account.created)),
    h('dt', {}, 'Last used'), h('dd', {}, timeEl(account.lastUsed, 'Never', true)));

  // --- its keys ------------------------------------------------------------
  const keyName = h('input', { class: 'input', type: 'text', name: 'keyName', maxlength: 200, autocomplete: 'off' });
  const keyExpiry = choiceSelect('keyExpiry', EXPIRY_CHOICES);
  const keyRole = roleSelect(account.role, '');
  keyRole.name = 'keyRole';
  keyRole.prepend(h('option', { value: '', selected: true }, 'Same as the account'));
  const keyScopes = h('input', { class: 'input', type: 'text', name: 'keyScopes', autocomplete: 'off', placeholder: 'orders:read orders:write' });
  const keyCidrs = h('input', { class: 'input', type: 'text', name: 'keyCidrs', autocomplete: 'off', placeholder: '203.0.113.0/24' });
  const keyRateLimit = h('input', { class: 'input', type: 'number', name: 'keyRateLimit', min: 1, max: 1000000, step: 1 });
  const keyRatePeriod = h('input', { class: 'input', type: 'number', name: 'keyRatePeriod', min: 1, max: 86400, step: 1, value: 60 });
  const keyMeta = h('textarea', { class: 'input', name: 'keyMeta', rows: 2, placeholder: '{"team": "billing"}' });
  const addKey = h('button', { type: 'button', class: 'button primary', onclick: act(async () => {
    const body = {};
    if (keyName.value.trim()) body.name = keyName.value.trim();
    if (keyExpiry.value) body.expiresIn = Number(keyExpiry.value);
    if (keyRole.value) body.role = keyRole.value;
    if (words(keyScopes.value).length) body.scopes = words(keyScopes.value);
    if (words(keyCidrs.value).length) body.allowedCidrs = words(keyCidrs.value);
    if (keyRateLimit.value) body.rateLimit = { limit: Number(keyRateLimit.value), period: Number(keyRatePeriod.value) };
    if (keyMeta.value.trim()) {
      try {
        body.meta = JSON.parse(keyMeta.value);
      } catch {
        toast('Meta must be a JSON object, such as {"team": "billing"}', 'bad');
        return;
      }
    }
    addKey.disabled = true;
    let minted;
    try {
      minted = await api('POST', `${path}/key`, body);
    } catch (error) {
      toast(error.message, 'bad');
      return;
    } finally {
      addKey.disabled = false;
    }
    await showKey(minted, 'Service account key created');
    minted = null;
    reload('#add-key');
  }) }, 'Add key');
  addKey.id = 'add-key';

  const keyRows = account.keys.map((key) => {
    const label = key.name ? `${key.name} (${key.keyId})` : key.keyId;
    const cells = [
      h('td', { 'data-label': 'Key ID' }, h('code', {}, key.keyId)),
      h('td', { 'data-label': 'Name' }, key.name || h('span', { class: 'muted' }, '—')),
      h('td', { 'data-label': 'Created' }, timeEl(key.created)),
      h('td', { 'data-label': 'Last used' }, timeEl(key.lastUsed, 'Never', true)),
      h('td', { 'data-label': 'Expires' }, timeEl(key.expires, 'Never')),
      h('td', { 'data-label': 'State' }, keyState(key)),
      h('td', { 'data-label': 'Narrowed to' }, narrowing(key)),
    ];
    if (mayKeys) {
      const keyPath = `${path}/key/${key.keyId}`;
      const rotate = h('button', { type: 'button', class: 'button small', 'aria-label': `Rotate key ${label}`, onclick: act(async () => {
        const grace = choiceSelect('gracePeriod', GRACE_CHOICES);
        const graceField = field('The old key stops working', grace);
        const seconds = await confirm({
          title: 'Rotate key?',
          message: `Key ${label} is replaced by a new key, whose secret is shown once.`,
          confirmLabel: 'Rotate',
          danger: false,
          extra: { node: graceField, value: () => Number(grace.value) },
        });
        if (seconds === false) return;
        const minted = await api('POST', `${keyPath}/rotate`, { gracePeriod: seconds });
        await showKey(minted, 'Key rotated');
        reload();
      }) }, 'Rotate');
      const toggle = key.disabled
        ? h('button', { type: 'button', class: 'button small', 'aria-label': `Enable key ${label}`, onclick: act(async () => {
          await api('PATCH', keyPath, { disabled: false });
          toast(`Key ${key.keyId} is enabled`);
          reload();
        }) }, 'Enable')
        : h('button', { type: 'button', class: 'button small', 'aria-label': `Disable key ${label}`, onclick: act(async () => {
          const ok = await confirm({
            title: 'Disable key?',
            message: `Requests with key ${label} are refused until you enable it again.`,
            confirmLabel: 'Disable key',
          });
          if (!ok) return;
          await api('PATCH', keyPath, { disabled: true });
          toast(`Key ${key.keyId} is disabled`);
          reload();
        }) }, 'Disable');
      const remove = h('button', { type: 'button', class: 'button small danger', 'aria-label': `Delete key ${label}`, onclick: act(async () => {
        const ok = await confirm({
          title: 'Delete key?',
          message: `Programs using key ${label} stop working at once. This cannot be undone.`,
          confirmLabel: 'Delete key',
        });
        if (!ok) return;
        await api('DELETE', keyPath);
        toast(`Key ${key.keyId} deleted`);
        reload('#add-key');
      }) }, 'Delete');
      cells.push(h('td', { 'data-label': 'Actions', class: 'actions' }, rotate, toggle, remove));
    }
    return h('tr', {}, cells);
  });
  const heads = ['Key ID', 'Name', 'Created', 'Last used', 'Expires', 'State', 'Narrowed to'].concat(mayKeys ? ['Actions'] : []);
  const keysTable = account.keys.length === 0
    ? h('p', { class: 'muted' }, `No keys yet.${mayKeys ? ' Add a key to let this account authenticate.' : ''}`)
    : h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' }, `Keys of ${account.name}`),
      h('thead', {}, h('tr', {}, heads.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, keyRows)));

  main.replaceChildren(
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
      h('a', { href: '/service-accounts' }, 'Service accounts'), h('span', { 'aria-hidden': 'true' }, ' / '),
      h('span', { 'aria-current': 'page' }, account.name)),
    h('div', { class: 'page-head' }, h('h1', {}, account.name), h('div', { class: 'actions' }, actions)),
    facts,
    h('section', { class: 'section', 'aria-labelledby': 'keys-heading' },
      h('div', { class: 'section-head' }, h('h2', { id: 'keys-heading' }, 'Keys'), mayKeys ? addKey : null),
      mayKeys
        ? h('div', { class: 'key-options' },
          field('New key name (optional)', keyName),
          field('New key expires', keyExpiry),
          field('New key role', keyRole, 'At most the account\'s; the key acts with the lesser.'),
          field('Scopes (optional)', keyScopes, 'Space-separated, such as orders:read'),
          field('Allowed addresses (optional)', keyCidrs, 'CIDR ranges or addresses; empty: anywhere'),
          field('Rate limit: uses (optional)', keyRateLimit),
          field('per seconds', keyRatePeriod),
          field('Meta (optional)', keyMeta, 'A JSON object for gateways'))
        : null,
      keysTable));
  if (!document.querySelector('dialog[open]')) focusMain();
}

async function editAccount(account, reload) {
  const name = h('input', { class: 'input', type: 'text', name: 'name', required: true, maxlength: 200, value: account.name });
  const basic = h('input', { type: 'checkbox', name: 'enableBasicAuth', checked: account.enableBasicAuth });
  const role = roleSelect('admin', account.role);
  const saved = await formDialog({
    title: 'Edit service account',
    fields: [field('Name', name), field('Enable Basic Auth', basic), field('Role', role)],
    submitLabel: 'Save',
    submit: () => api('PATCH', `${SA}/${account.id}`, { name: name.value, enableBasicAuth: basic.checked, role: role.value }),
  });
  if (saved) {
    toast('Service account saved');
    reload();
  }
}
