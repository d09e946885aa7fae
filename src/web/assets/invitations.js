// invitations.js: a person's own invitations: the organizations that added
// them and wait for their answer. Nothing changes for them until they
// accept; declining removes the invitation. The emailed link opens the same
// page for its one invitation, and accepts only when the person confirms.

import { INVITATIONS, api } from './api.js';
import { confirm } from './dialogs.js';
import { act, badge, focusMain, h, pageTitle, roleLabel, timeEl, toast } from './dom.js';

/** The person's pending invitations, oldest first. */
export async function loadInvitations() {
  return (await api('GET', INVITATIONS, undefined, { pin: false, isPublic: true })).items;
}

/**
 * The invitations page. With `link` ({org, token}, from the emailed link),
 * it shows that one invitation and accepts it through the link's token.
 * `ctx.onAnswered(joined)` is told of each answer (the organization joined,
 * or null for a decline).
 */
export async function invitationsView(main, ctx, link = null) {
  pageTitle(link ? 'Join organization?' : 'Invitations');
  let items;
  try {
    items = await loadInvitations();
  } catch (error) {
    main.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, error.message));
    return;
  }
  if (link) items = items.filter((i) => i.orgId === link.org);

  function card(invitation) {
    const accept = h('button', { type: 'button', class: 'button primary', onclick: act(async () => {
      accept.disabled = true;
      try {
        const body = link ? { token: link.token } : undefined;
        const joined = await api('POST', `${INVITATIONS}/${invitation.orgId}/accept`, body, { pin: false });
        // A spent link stays out of the history.
        if (link) window.history.replaceState(null, '', '/invitations');
        toast(`You joined ${joined.name}`);
        await ctx.onAnswered(joined);
      } finally {
        accept.disabled = false;
      }
    }) }, 'Accept');
    accept.setAttribute('aria-label', `Accept the invitation of ${invitation.orgName}`);
    const decline = h('button', { type: 'button', class: 'button danger', onclick: act(async () => {
      const ok = await confirm({
        title: 'Decline invitation?',
        message: `You will not join ${invitation.orgName}. To join later, an admin there has to invite you again.`,
        confirmLabel: 'Decline',
      });
      if (!ok) return;
      await api('POST', `${INVITATIONS}/${invitation.orgId}/decline`, undefined, { pin: false });
      if (link) window.history.replaceState(null, '', '/invitations');
      toast(`You declined the invitation of ${invitation.orgName}`);
      await ctx.onAnswered(null);
    }) }, 'Decline');
    decline.setAttribute('aria-label', `Decline the invitation of ${invitation.orgName}`);
    return h('li', { class: 'card invitation' },
      h('h2', {}, invitation.orgName),
      h('p', {}, 'Invites you to join as ', badge(roleLabel(invitation.role)), '. Invited ',
        timeEl(invitation.invited, '—', true), '.'),
      h('div', { class: 'actions' }, accept, decline));
  }

  const intro = link
    ? 'Joining gives the organization’s admins a member they can see in their list, and you the access of the role offered. Nothing changes until you accept.'
    : 'Organizations that added you and wait for your answer. Nothing changes for you until you accept.';
  const empty = link
    ? h('p', { class: 'notice', role: 'status' }, 'This invitation is no longer waiting for you: it was answered or withdrawn.')
    : h('p', { class: 'muted', role: 'status' }, 'No invitations are waiting for you.');
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, link ? 'Join organization?' : 'Invitations')),
    h('p', { class: 'lead' }, intro),
    items.length ? h('ul', { class: 'invitations' }, items.map(card)) : empty);
  focusMain();
}
