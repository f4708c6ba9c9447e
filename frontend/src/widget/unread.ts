// The agent's messages the visitor has not seen: written while the panel was minimised (or the
// iframe was loaded hidden after a reload). The launcher shows the count on its button. What
// was seen is kept per conversation in the iframe's storage, so that a reload does not count
// the whole history again.

import type { KeyValueStore } from "../shared/client";
import type { Entry } from "../shared/protocol";

export const seenKey = (conversationId: string) => `parley:seen:${conversationId}`;

/** An agent's (or helper's) message: staff wrote it, not the visitor, not the system. */
export function isAgentMessage(entry: Entry): boolean {
  return entry.kind === "message" && entry.author !== null && entry.author !== "visitor";
}

/** How many of the agent's messages came after ``seenSeq``. */
export function unreadCount(entries: readonly Entry[], seenSeq: number): number {
  return entries.filter((e) => e.seq > seenSeq && isAgentMessage(e)).length;
}

/** The highest seq held: everything up to it is seen once the visitor looks. */
export function lastSeq(entries: readonly Entry[]): number {
  return entries.reduce((max, e) => Math.max(max, e.seq), 0);
}

export function loadSeen(storage: Pick<KeyValueStore, "getItem">, conversationId: string): number | null {
  const value = Number(storage.getItem(seenKey(conversationId)));
  return Number.isFinite(value) && value > 0 ? value : null;
}
