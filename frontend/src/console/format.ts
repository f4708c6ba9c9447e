// How entries and times read in the console.

import type { Conversation, Entry } from "../shared/protocol";

export type AuthorKind = "agent" | "visitor" | "system";

export function authorKind(entry: Entry): AuthorKind {
  if (entry.kind === "note") return "agent"; // only staff write (and see) notes
  if (entry.kind !== "message") return "system";
  if (entry.author === "visitor") return "visitor";
  if (entry.author && entry.author.startsWith("user:")) return "agent";
  return "system";
}

export function customerName(conversation: Conversation): string {
  const name = conversation.metadata?.name?.trim();
  if (name) return name;
  const visitor = conversation.participants.find((p) => p.key === "visitor");
  return visitor?.name || "Visitor";
}

export function participantName(conversation: Conversation, key: string | null): string {
  if (!key) return "";
  if (key === "visitor") return customerName(conversation);
  return conversation.participants.find((p) => p.key === key)?.name || "Agent";
}

const END_TEXT: Record<string, string> = {
  ended: "Chat ended",
  cancelled: "Chat cancelled by the customer",
  expired: "Chat expired: nobody answered in time",
  customer_left: "Chat ended: the customer left",
};

/** "2 min", "45 s", "1 h 5 min": a short duration for the agent. */
export function shortDuration(secs: number): string {
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** The short line shown for a system entry ("Zoe is waiting", "Alice joined", "Chat ended"). */
export function systemText(conversation: Conversation, entry: Entry): string {
  switch (entry.kind) {
    case "queued":
      return `${customerName(conversation)} is waiting`;
    case "joined":
      return `${String(entry.body.name || participantName(conversation, entry.author))} joined`;
    case "left": {
      const who = String(entry.body.name || participantName(conversation, entry.author));
      return entry.body.reason === "taken_over" ? `${who} left (a supervisor took over)` : `${who} left`;
    }
    case "ended": {
      const reason = String(entry.body.reason ?? "ended");
      const base = END_TEXT[reason] ?? `Chat ended (${reason})`;
      if (reason === "ended" && entry.author) {
        return `${base} by ${participantName(conversation, entry.author)}`;
      }
      return base;
    }
    case "away": {
      const secs = Number(entry.body.ends_in_secs ?? 0);
      const who = customerName(conversation);
      return secs > 0
        ? `${who} left (closed the page or lost the connection). The chat ends by itself in ${shortDuration(secs)} unless they come back.`
        : `${who} left (closed the page or lost the connection).`;
    }
    case "back":
      return `${customerName(conversation)} is back`;
    case "cobrowse":
      return cobrowseText(conversation, entry);
    default:
      return String(entry.body.text ?? "");
  }
}

/** A co-browsing line (docs/protocol.md, "Co-browsing"); an unknown action says so plainly. */
function cobrowseText(conversation: Conversation, entry: Entry): string {
  const who = String(entry.body.name || participantName(conversation, entry.author));
  const url = String(entry.body.url ?? "");
  switch (entry.body.action) {
    case "push":
      return `${who} sent a page: ${url}${entry.body.target === "new_tab" ? " (opens in a new tab)" : ""}`;
    case "follow":
      return `${who} turned follow me on: the customer's page follows theirs`;
    case "navigate":
      return `${who} took the customer to ${url}`;
    case "unfollow":
      return entry.body.by === "customer" ? `${customerName(conversation)} stopped following` : `${who} turned follow me off`;
    default:
      return "Co-browsing";
  }
}

/** Whether the customer of a chat is gone: its newest `away` or `back` entry is `away`. */
export function customerGone(entries: Entry[]): boolean {
  for (let i = entries.length - 1; i >= 0; i--) {
    const k = entries[i].kind;
    if (k === "back") return false;
    if (k === "away") return true;
  }
  return false;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export const STATUS_LABEL: Record<string, string> = {
  queued: "Waiting",
  active: "Active",
  ended: "Ended",
};
