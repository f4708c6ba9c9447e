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
};

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
    default:
      return String(entry.body.text ?? "");
  }
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
