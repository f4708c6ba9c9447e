// Co-browsing's state from a conversation's entries (docs/protocol.md, "Co-browsing"): the
// server's rule (src/parley/domain/cobrowse.py, `fold`), for the widget and the console alike.

import type { Entry } from "./protocol";

export interface FollowState {
  following: boolean;
  /** The agent followed (participant key), and their name. */
  by: string | null;
  name: string;
}

export const NOBODY: FollowState = { following: false, by: null, name: "" };

function step(state: FollowState, e: Entry): FollowState {
  if (e.kind === "ended") return NOBODY;
  if (e.kind === "left" && state.following && e.author === state.by) return NOBODY;
  if (e.kind !== "cobrowse") return state;
  if (e.body.action === "follow") return { following: true, by: e.author, name: String(e.body.name ?? "") };
  if (e.body.action === "unfollow") return NOBODY;
  return state;
}

/** Whether the customer follows an agent now. */
export function followState(entries: Entry[]): FollowState {
  return entries.reduce(step, NOBODY);
}

/** The agent's last navigation since following began (the page the customer's page should be
 * on), or null when not following or nothing was opened yet. */
export function pendingNavigation(entries: Entry[]): Entry | null {
  let state = NOBODY;
  let found: Entry | null = null;
  for (const e of entries) {
    const next = step(state, e);
    if (!next.following || next !== state) found = null;
    if (next.following && e.kind === "cobrowse" && e.body.action === "navigate" && e.author === next.by) found = e;
    state = next;
  }
  return found;
}
