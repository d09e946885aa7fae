// dom.js: building elements node by node (nothing the server sends is ever
// parsed as markup), formatting times, and the status line.

/** h('button', {class: 'primary', onclick: fn}, 'Save') */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

let counter = 0;
/** A unique id for pairing labels, hints and controls. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled form field: label, control, optional hint and error line. */
export function field(label, control, hint) {
  control.id = control.id || uid('field');
  const hintEl = hint ? h('p', { class: 'hint', id: uid('hint') }, hint) : null;
  const errorEl = h('p', { class: 'field-error', id: uid('error'), hidden: true });
  const described = [hintEl && hintEl.id, errorEl.id].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', described);
  const wrapper = control.type === 'checkbox'
    ? h('div', { class: 'field checkbox' }, control, h('label', { for: control.id }, label), hintEl, errorEl)
    : h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl, errorEl);
  wrapper.showError = (message) => {
    errorEl.textContent = message || '';
    errorEl.hidden = !message;
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  return wrapper;
}

export const ROLES = ['viewer', 'editor', 'admin'];
export const rank = (role) => ROLES.indexOf(role);

export function roleLabel(role) {
  return role ? role[0].toUpperCase() + role.slice(1) : '';
}

/** A role <select> offering the roles up to `max`. */
export function roleSelect(max, selected = 'viewer') {
  const select = h('select', { class: 'input', name: 'role' });
  for (const role of ROLES.filter((r) => rank(r) <= rank(max))) {
    select.append(h('option', { value: role, selected: role === selected }, roleLabel(role)));
  }
  return select;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** Unix seconds as a readable local time. */
export function formatTime(unix) {
  return dateFormat.format(new Date(unix * 1000));
}

/** Unix seconds relative to now: "3 minutes ago", "in 2 days". */
export function relativeTime(unix) {
  const diff = unix - Date.now() / 1000;
  const units = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, seconds] of units) {
    if (Math.abs(diff) >= seconds) return relativeFormat.format(Math.round(diff / seconds), unit);
  }
  return diff < 0 ? 'just now' : 'in less than a minute';
}

/** A <time> element, or `empty` when there is no time. */
export function timeEl(unix, empty = '—', relative = false) {
  if (unix === null || unix === undefined) return h('span', { class: 'muted' }, empty);
  const iso = new Date(unix * 1000).toISOString();
  return h('time', { datetime: iso, title: formatTime(unix) }, relative ? relativeTime(unix) : formatTime(unix));
}

export function badge(text, kind) {
  return h('span', { class: `badge ${kind || ''}` }, text);
}

let toastTimer = null;
/** A short message in the live region, read out by screen readers. */
export function toast(message, kind = 'ok') {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = message;
  el.className = `toast visible ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; el.textContent = ''; }, 5000);
}

/** Sets the page's title and moves focus to its heading, as a page load would. */
export function pageTitle(text) {
  document.title = `${text} · keyward`;
}

export function focusMain() {
  const main = document.getElementById('main');
  const heading = main && main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

/** Wraps an event handler so that a failed call is reported, not lost. */
export function act(handler) {
  return async (event) => {
    try {
      await handler(event);
    } catch (error) {
      toast(error.message, 'bad');
    }
  };
}
