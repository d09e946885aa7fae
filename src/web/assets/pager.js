// pager.js: a list read a page at a time with the API's cursors: Previous
// and Next, and which page this is. The cursors of the pages before the
// current one are kept, since the API only ever answers the next one.

import { h } from './dom.js';

/**
 * pager({label, status, fetch, show}) → {nav, load, reset}. `fetch(cursor)`
 * calls the API for {items, nextCursor}; `show(page)` draws the page;
 * `status` is the live line that says it is loading, or why it failed.
 */
export function pager({ label, status, fetch, show, failed = () => {} }) {
  const state = { cursors: [null], page: 0 };
  const prev = h('button', { type: 'button', class: 'button', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', class: 'button', disabled: true }, 'Next page');
  const pageLabel = h('span', { class: 'muted' });
  const nav = h('nav', { class: 'pager', 'aria-label': label, hidden: true }, prev, pageLabel, next);

  // Each load is numbered: an answer that comes after a later request was
  // made (a slow page, a new search) is dropped rather than drawn.
  let latest = 0;

  async function load() {
    const ticket = ++latest;
    prev.disabled = true;
    next.disabled = true;
    status.textContent = 'Loading…';
    let page;
    try {
      page = await fetch(state.cursors[state.page]);
    } catch (error) {
      if (ticket !== latest) return;
      status.textContent = error.message;
      failed(error);
      prev.disabled = state.page === 0;
      return;
    }
    if (ticket !== latest) return;
    show(page);
    state.cursors[state.page + 1] = page.nextCursor;
    prev.disabled = state.page === 0;
    next.disabled = !page.nextCursor;
    pageLabel.textContent = `Page ${state.page + 1}`;
    nav.hidden = prev.disabled && next.disabled;
  }

  /** Back to the first page, as after a new search. */
  function reset() {
    state.page = 0;
    state.cursors = [null];
    return load();
  }

  // The buttons are disabled while a page loads, so a double click moves
  // one page, never past the first.
  prev.addEventListener('click', () => { if (state.page > 0) { state.page -= 1; load(); } });
  next.addEventListener('click', () => { state.page += 1; load(); });
  return { nav, load, reset };
}
