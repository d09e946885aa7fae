// auth.js: the pages before a session: log in, first-run setup, and
// choosing a password from an invitation link.

import { ApiError, SESSION, api } from './api.js';
import { field, focusMain, h, pageTitle } from './dom.js';

function card(title, intro, form) {
  return h('div', { class: 'auth' },
    h('div', { class: 'card narrow' },
      h('p', { class: 'brand brand-large' }, 'keyward'),
      h('h1', {}, title),
      intro ? h('p', { class: 'muted' }, intro) : null,
      form));
}

function input(attrs) {
  return h('input', { class: 'input', ...attrs });
}

/** Wires a form: validation, a busy button, errors shown where they belong. */
function handle(form, fields, button, action) {
  const alert = h('p', { class: 'form-error', role: 'alert', hidden: true });
  form.append(alert);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    alert.hidden = true;
    for (const f of fields) f.showError('');
    const invalid = [...form.elements].find((el) => el.willValidate && !el.checkValidity());
    if (invalid) {
      invalid.closest('.field').showError(invalid.validationMessage);
      invalid.focus();
      return;
    }
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      const target = error instanceof ApiError && error.field && form.elements.namedItem(error.field);
      if (target && target.closest && target.type !== 'hidden') {
        target.closest('.field').showError(error.message);
        target.focus();
      } else {
        alert.textContent = error.message;
        alert.hidden = false;
        alert.focus?.();
      }
    } finally {
      button.disabled = false;
    }
  });
}

function passwordPair(fields) {
  const password = input({ type: 'password', name: 'password', required: true, minlength: 12, maxlength: 1024, autocomplete: 'new-password' });
  const again = input({ type: 'password', name: 'passwordAgain', required: true, autocomplete: 'new-password' });
  const check = () => again.setCustomValidity(again.value === password.value ? '' : 'The two passwords differ.');
  password.addEventListener('input', check);
  again.addEventListener('input', check);
  fields.push(field('Password', password, 'At least 12 characters.'), field('Repeat the password', again));
  return password;
}

export function loginView(main, { onLoggedIn, notice }) {
  pageTitle('Log in');
  const email = input({ type: 'email', name: 'email', required: true, autocomplete: 'username', maxlength: 200 });
  const password = input({ type: 'password', name: 'password', required: true, autocomplete: 'current-password' });
  const fields = [field('Email', email), field('Password', password)];
  const button = h('button', { type: 'submit', class: 'button primary wide' }, 'Log in');
  const form = h('form', { class: 'form', novalidate: true }, fields, button);
  handle(form, fields, button, async () => {
    try {
      await api('POST', `${SESSION}/login`, { email: email.value, password: password.value }, { pin: false, isPublic: true });
    } catch (error) {
      if (error.status === 401) throw new Error('Wrong email or password.');
      if (error.status === 429) {
        throw new Error(`Too many attempts. Try again in ${error.retryAfter || 60} seconds.`);
      }
      throw error;
    }
    password.value = '';
    await onLoggedIn();
  });
  main.replaceChildren(card('Log in', null, [notice ? h('p', { class: 'notice', role: 'status' }, notice) : null, form]));
  email.focus();
}

export function setupView(main, { onLoggedIn }) {
  pageTitle('Set up keyward');
  const token = new URLSearchParams(window.location.search).get('token') || '';
  const org = input({ type: 'text', name: 'orgName', required: true, maxlength: 200, autocomplete: 'organization' });
  const email = input({ type: 'email', name: 'email', required: true, maxlength: 200, autocomplete: 'username' });
  const fields = [field('Organization name', org), field('Your email', email, 'You log in with it.')];
  const password = passwordPair(fields);
  const button = h('button', { type: 'submit', class: 'button primary wide' }, 'Create organization');
  const form = h('form', { class: 'form', novalidate: true }, fields, button);
  handle(form, fields, button, async () => {
    await api('POST', `${SESSION}/setup`,
      { token, orgName: org.value, email: email.value, password: password.value }, { pin: false, isPublic: true });
    // The link is spent: keep it out of the history.
    window.history.replaceState(null, '', '/service-accounts');
    await onLoggedIn();
  });
  main.replaceChildren(card('Set up keyward',
    'Nobody can log in yet. Create the first organization and its admin: you.', form));
  focusMain();
}

export function setPasswordView(main, { navigate }) {
  pageTitle('Choose a password');
  const token = new URLSearchParams(window.location.search).get('token') || '';
  const fields = [];
  const password = passwordPair(fields);
  const button = h('button', { type: 'submit', class: 'button primary wide' }, 'Set password');
  const form = h('form', { class: 'form', novalidate: true }, fields, button);
  handle(form, fields, button, async () => {
    try {
      await api('POST', `${SESSION}/password`, { token, password: password.value }, { pin: false, isPublic: true });
    } catch (error) {
      if (error.field === 'token') {
        throw new Error('This link no longer works: it was used, has expired, or its invitation was withdrawn. If you have a password already, log in with it; otherwise ask an admin to invite you again.');
      }
      throw error;
    }
    navigate('/login', { notice: 'Your password is set. Log in with your email and the new password.' }, true);
  });
  main.replaceChildren(card('Choose a password',
    'You were invited to keyward. Choose the password you will log in with.', form));
  focusMain();
}
