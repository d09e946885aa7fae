// dialogs.js: modal <dialog>s that keep focus inside, close on Escape,
// give focus back to the control that opened them, and leave nothing
// behind in the page once closed.

import { h, uid } from './dom.js';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), '
  + 'textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

function trapFocus(dialog, event) {
  if (event.key !== 'Tab') return;
  const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest('[hidden]'));
  if (items.length === 0) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
    event.preventDefault();
    first.focus();
  }
}

/**
 * Opens a modal. `build(close)` returns {body, footer, initialFocus} where
 * body and footer are lists of nodes; `close(value)` ends it. Resolves with
 * the value (null when dismissed with Escape or Cancel).
 */
export function modal(title, build, { dismissable = true, className = '' } = {}) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = uid('dialog-title');
    const dialog = h('dialog', { class: `dialog ${className}`, 'aria-labelledby': titleId });
    let closed = false;
    const close = (value = null) => {
      if (closed) return;
      closed = true;
      dialog.close();
      // Empty first, so that no text (a secret) outlives the dialog.
      dialog.replaceChildren();
      dialog.remove();
      if (opener && document.contains(opener)) opener.focus();
      resolve(value);
    };
    const { body, footer, initialFocus } = build(close);
    dialog.append(
      h('h2', { id: titleId, class: 'dialog-title' }, title),
      h('div', { class: 'dialog-body' }, body),
      h('div', { class: 'dialog-footer' }, footer),
    );
    dialog.addEventListener('keydown', (event) => trapFocus(dialog, event));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      if (dismissable) close(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (initialFocus || dialog.querySelector(FOCUSABLE))?.focus();
  });
}

/** Asks before something that cannot be undone. Resolves true or false. */
export function confirm({ title, message, confirmLabel, danger = true, extra = null }) {
  return modal(title, (close) => {
    const cancel = h('button', { type: 'button', class: 'button', onclick: () => close(false) }, 'Cancel');
    const ok = h('button', {
      type: 'button',
      class: `button ${danger ? 'danger' : 'primary'}`,
      onclick: () => close(extra ? extra.value() : true),
    }, confirmLabel);
    return {
      body: [h('p', {}, message), extra ? extra.node : null],
      footer: [cancel, ok],
      initialFocus: cancel,
    };
  }, { className: 'dialog-confirm' }).then((v) => (v === null ? false : v));
}

/**
 * A form in a dialog. `fields` are nodes made with dom.field(); `submit(form)`
 * returns a value to close with, or throws an ApiError whose `field` names
 * the input to mark (by its name attribute).
 */
export function formDialog({ title, fields, submitLabel, submit, intro = null }) {
  return modal(title, (close) => {
    const formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const saveButton = h('button', { type: 'submit', class: 'button primary' }, submitLabel);
    const form = h('form', { class: 'form', novalidate: true }, intro ? h('p', {}, intro) : null, fields, formError);
    const footerId = uid('form');
    form.id = footerId;
    saveButton.setAttribute('form', footerId);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      for (const f of fields) f.showError?.('');
      formError.hidden = true;
      const invalid = [...form.elements].find((el) => el.willValidate && !el.checkValidity());
      if (invalid) {
        invalid.closest('.field')?.showError?.(invalid.validationMessage);
        invalid.focus();
        return;
      }
      saveButton.disabled = true;
      try {
        close(await submit(form));
      } catch (error) {
        const target = error.field && form.elements.namedItem(error.field);
        if (target && target.closest) {
          target.closest('.field')?.showError?.(error.message);
          target.focus();
        } else {
          formError.textContent = error.message;
          formError.hidden = false;
        }
      } finally {
        saveButton.disabled = false;
      }
    });
    const cancel = h('button', { type: 'button', class: 'button', onclick: () => close(null) }, 'Cancel');
    return { body: [form], footer: [cancel, saveButton] };
  });
}

/** Copies text, with a fallback for browsers that refuse the async API. */
export async function copyText(text, source) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!source) return false;
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    // The old API is the only one left when the clipboard API is refused.
    const done = document.execCommand('copy');
    selection.removeAllRanges();
    return done;
  }
}

/**
 * Shows a value that will never be shown again (a key's secret, a one-time
 * link) with a Copy button and the warning. `details` are [label, value]
 * pairs shown above it.
 */
export function secretDialog({ title, details, secretLabel, secret, warning, secretId }) {
  return modal(title, (close) => {
    const value = h('code', { class: 'secret-value', id: secretId || uid('secret') }, secret);
    const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
    const labelId = uid('secret-label');
    const copy = h('button', {
      type: 'button',
      class: 'button primary',
      'aria-describedby': labelId,
      onclick: async () => {
        const ok = await copyText(secret, value);
        status.textContent = ok ? 'Copied to the clipboard' : 'Copying failed: select the text and copy it yourself';
        copy.textContent = ok ? 'Copied' : 'Copy';
      },
    }, 'Copy');
    const done = h('button', { type: 'button', class: 'button', onclick: () => close(true) }, 'Close');
    return {
      body: [
        h('dl', { class: 'facts compact' }, details.map(([label, v]) => [h('dt', {}, label), h('dd', {}, h('code', {}, v))])),
        h('p', { class: 'secret-label', id: labelId }, secretLabel),
        h('div', { class: 'secret-box' }, value, copy),
        status,
        h('p', { class: 'warning', role: 'note' }, h('strong', {}, 'Warning: '), warning),
      ],
      footer: [done],
      initialFocus: copy,
    };
  }, { className: 'dialog-secret' });
}
