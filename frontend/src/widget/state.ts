// The widget's pure pieces: the view state built from the protocol client's events, and the
// wording derived from it (agent name, end reason, transcript). No DOM, no timers: tested alone.

import type { ClientEvent, PendingMessage, Status } from "../shared/client";
import type { Conversation, Entry } from "../shared/protocol";
import { t } from "./i18n";

export type EndReason = "ended" | "expired" | "cancelled";

export interface Typing {
  participant: string;
  name: string;
}

export interface ChatState {
  conversation: Conversation | null;
  /** Entries of our conversation, by seq, each once. */
  entries: Entry[];
  /** Messages not yet acknowledged (the client's outbox for this conversation). */
  pending: PendingMessage[];
  /** Our place in the queue while waiting, null once accepted (or not known yet). */
  position: number | null;
  /** The estimated wait in seconds while waiting, when the server knows one. */
  estimatedWait: number | null;
  typing: Typing | null;
  connection: Status;
  /** True once a first catch-up completed: from then on a drop shows "Reconnecting…". */
  synced: boolean;
  ended: EndReason | null;
  /** The server refused our credentials for good (a conversation that is gone). */
  stopped: boolean;
  /** Last message that could not be sent, for an alert. */
  error: string | null;
  maxChars: number;
}

export type Action = ClientEvent | { type: "clear_typing" } | { type: "clear_error" };

export function initialState(conversationId: string | null = null, position: number | null = null): ChatState {
  return {
    conversation: conversationId ? placeholder(conversationId) : null,
    entries: [],
    pending: [],
    position,
    estimatedWait: null,
    typing: null,
    connection: "offline",
    synced: false,
    ended: null,
    stopped: false,
    error: null,
    maxChars: 4000,
  };
}

function placeholder(id: string): Conversation {
  return {
    id,
    kind: "customer_chat",
    status: "queued",
    workgroup_id: null,
    last_seq: 0,
    created_at: "",
    ended_at: null,
    end_reason: null,
    metadata: {},
    participants: [],
  };
}

function asReason(value: unknown): EndReason {
  return value === "expired" || value === "cancelled" ? value : "ended";
}

/** Insert an entry in seq order; an entry already held (same seq) is replaced, never doubled. */
export function insertEntry(entries: Entry[], entry: Entry): Entry[] {
  const next = entries.filter((e) => e.seq !== entry.seq);
  let i = next.length;
  while (i > 0 && next[i - 1].seq > entry.seq) i--;
  next.splice(i, 0, entry);
  return next;
}

function applyEntry(state: ChatState, entry: Entry): ChatState {
  // A placeholder for a private note between staff (and, defensively, a note itself): never
  // shown. The protocol client has already moved its cursor past the seq.
  if (entry.kind === "hidden" || entry.kind === "note") return state;
  const entries = insertEntry(state.entries, entry);
  let { conversation, typing, ended, position } = state;
  if (entry.kind === "joined" && conversation) {
    const key = entry.author ?? "";
    const others = conversation.participants.filter((p) => p.key !== key);
    conversation = {
      ...conversation,
      status: conversation.status === "ended" ? "ended" : "active",
      participants: [
        ...others,
        { key, role: String(entry.body.role ?? "agent"), name: String(entry.body.name ?? ""), present: true },
      ],
    };
    position = null;
  } else if (entry.kind === "left" && conversation) {
    // An agent handed the chat on (a transfer), or a helper is done.
    const key = entry.author;
    conversation = {
      ...conversation,
      participants: conversation.participants.map((p) => (p.key === key ? { ...p, present: false } : p)),
    };
    if (typing && typing.participant === key) typing = null;
  } else if (entry.kind === "ended") {
    ended = asReason(entry.body.reason);
    position = null;
    typing = null;
    if (conversation) {
      conversation = {
        ...conversation,
        status: "ended",
        end_reason: ended,
        participants: conversation.participants.map((p) => ({ ...p, present: false })),
      };
    }
  } else if (entry.kind === "message" && typing && entry.author === typing.participant) {
    typing = null; // their message arrived: they are no longer typing it
  }
  return { ...state, entries, conversation, typing, ended, position };
}

export function reduce(state: ChatState, action: Action): ChatState {
  switch (action.type) {
    case "status":
      return { ...state, connection: action.status };
    case "entry":
      if (state.conversation && action.conversationId !== state.conversation.id) return state;
      return applyEntry(state, action.entry);
    case "reset":
    case "history_removed":
      // The server knows another history of this chat (or the archiving policy removed the
      // start of it): drop ours; what it holds follows.
      if (state.conversation && action.conversationId !== state.conversation.id) return state;
      return { ...state, entries: [], typing: null, ended: null };
    case "outbox":
      return {
        ...state,
        pending: action.pending.filter((p) => !state.conversation || p.conversationId === state.conversation.id),
      };
    case "failed":
      // Keep the words: the visitor can copy them, shorten or fix them, and send again.
      return {
        ...state,
        error: t("send_failed", { error: action.error, text: action.message.text }),
      };
    case "stopped":
      return { ...state, stopped: true };
    case "clear_typing":
      return { ...state, typing: null };
    case "clear_error":
      return { ...state, error: null };
    case "server": {
      const m = action.message;
      switch (m.type) {
        case "welcome":
          return { ...state, maxChars: m.max_message_chars };
        case "conversation": {
          const c = m.conversation;
          const ended = c.status === "ended" ? asReason(c.end_reason) : state.ended;
          return {
            ...state,
            conversation: c,
            ended,
            position: c.status === "queued" ? state.position : null,
          };
        }
        case "synced":
          return { ...state, synced: true };
        case "queue":
          if (m.status === "waiting") {
            return { ...state, position: m.position, estimatedWait: m.estimated_wait_secs ?? null };
          }
          if (m.status === "accepted") return { ...state, position: null, estimatedWait: null };
          return { ...state, position: null, estimatedWait: null, ended: state.ended ?? m.status };
        case "typing":
          if (m.active) return { ...state, typing: { participant: m.participant, name: m.name } };
          return state.typing?.participant === m.participant ? { ...state, typing: null } : state;
        default:
          return state;
      }
    }
  }
  return state;
}

/** Pending messages not yet shown as entries (the entry can arrive just before its ack). */
export function visiblePending(state: ChatState): PendingMessage[] {
  const stored = new Set(
    state.entries.filter((e) => e.author === "visitor" && e.client_id).map((e) => e.client_id),
  );
  return state.pending.filter((p) => !stored.has(p.clientId));
}

/** The name of the agent the visitor is talking to (the last one who joined), or null. */
export function agentName(conversation: Conversation | null, entries: Entry[]): string | null {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (
      e.kind === "joined" &&
      e.author !== "visitor" &&
      e.body.role !== "helper" && // an invited helper is visiting; the chat stays the agent's
      typeof e.body.name === "string" &&
      e.body.name
    ) {
      return e.body.name;
    }
  }
  const agent = conversation?.participants.find((p) => p.key !== "visitor" && p.role !== "visitor" && p.name);
  return agent ? agent.name : null;
}

export type Phase = "waiting" | "active" | "ended";

export function phase(state: ChatState): Phase {
  if (state.ended || state.conversation?.status === "ended") return "ended";
  if (state.conversation?.status === "active" || agentName(state.conversation, state.entries)) return "active";
  return "waiting";
}

/** What the end of the chat says, by its reason (the log already says "Chat ended"). */
export function reasonText(reason: EndReason | string | null): string {
  switch (reason) {
    case "expired":
      return t("expired");
    case "cancelled":
      return t("cancelled");
    default:
      return t("thanks");
  }
}

export function authorKind(entry: Entry): "visitor" | "agent" | "system" {
  if (entry.kind !== "message") return "system";
  return entry.author === "visitor" ? "visitor" : "agent";
}

/** Who wrote an entry, by name: the participants list first, then the joined entries. */
export function nameOf(key: string | null, conversation: Conversation | null, entries: Entry[]): string {
  if (key === null) return "Parley";
  const p = conversation?.participants.find((x) => x.key === key);
  if (p?.name) return p.name;
  if (key === "visitor") return conversation?.metadata.name || t("you");
  const joined = entries.find((e) => e.kind === "joined" && e.author === key);
  if (joined && typeof joined.body.name === "string" && joined.body.name) return joined.body.name;
  return t("agent");
}

/** The words shown for a system entry, or null for entries not shown (queued). The server sends
 * these as structured entries (kind, author, body: name, role, reason): worded here, in the
 * visitor's language. */
export function systemText(entry: Entry, conversation: Conversation | null, entries: Entry[]): string | null {
  switch (entry.kind) {
    case "joined": {
      const name =
        typeof entry.body.name === "string" && entry.body.name ? entry.body.name : nameOf(entry.author, conversation, entries);
      // A second agent taking over (a transfer), not a helper dropping in.
      const takeover =
        entry.body.role !== "helper" &&
        entries.some((e) => e.seq < entry.seq && e.kind === "joined" && e.author !== entry.author && e.body.role !== "helper");
      return t(takeover ? "sys_now_chatting" : "sys_joined", { name });
    }
    case "left":
      return t("sys_left", {
        name: typeof entry.body.name === "string" && entry.body.name ? entry.body.name : nameOf(entry.author, conversation, entries),
      });
    case "ended":
      return t("sys_ended");
    default:
      return null;
  }
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "2026-03-02 10:15" in the visitor's local time. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The transcript as plain text: a heading, then one line per entry with time and name. */
export function transcriptText(
  conversation: Conversation | null,
  entries: Entry[],
  title = t("transcript_title"),
  fmt: (iso: string) => string = formatDateTime,
): string {
  const lines = [title];
  if (conversation?.created_at) lines.push(t("transcript_started", { time: fmt(conversation.created_at) }));
  lines.push("");
  for (const entry of entries) {
    const when = `[${fmt(entry.created_at)}]`;
    if (entry.kind === "message") {
      const text = String(entry.body.text ?? "").replace(/\r?\n/g, "\n    ");
      lines.push(`${when} ${nameOf(entry.author, conversation, entries)}: ${text}`);
    } else {
      const text = systemText(entry, conversation, entries);
      const reason = entry.kind === "ended" ? entry.body.reason : null;
      const why = reason === "expired" || reason === "cancelled" ? ` (${reasonText(reason)})` : "";
      if (text) lines.push(`${when} ${text}${why}`);
    }
  }
  return lines.join("\n") + "\n";
}

// The conversation this browser holds for a workgroup: what makes a reload or a second tab resume.

export interface StoredChat {
  conversationId: string;
  visitorToken: string;
  /** A secret shopper's link the chat was opened with: its checklist is shown at the end. */
  shopperLink?: string;
}

export const chatKey = (slug: string) => `parley:chat:${slug}`;
/** This browser's anonymous visitor id, signed by the server: sent with the next chat. */
export const VISITOR_ID_KEY = "parley:visitor-id";

/** What an identity token says about the customer, to prefill the form (the server verifies the
 * token; this only reads it). Empty when it cannot be read. */
export function identityClaims(token: string | null | undefined): { name?: string; email?: string } {
  try {
    const part = (token ?? "").split(".")[1] ?? "";
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as Record<string, unknown>;
    return {
      name: typeof claims.name === "string" ? claims.name : undefined,
      email: typeof claims.email === "string" ? claims.email : undefined,
    };
  } catch {
    return {};
  }
}
export const outboxKey = (conversationId: string) => `parley:outbox:${conversationId}`;

export function loadChat(storage: Pick<Storage, "getItem">, slug: string): StoredChat | null {
  try {
    const value = JSON.parse(storage.getItem(chatKey(slug)) ?? "null") as Partial<StoredChat> | null;
    if (value && typeof value.conversationId === "string" && typeof value.visitorToken === "string") {
      return {
        conversationId: value.conversationId,
        visitorToken: value.visitorToken,
        ...(typeof value.shopperLink === "string" ? { shopperLink: value.shopperLink } : {}),
      };
    }
  } catch {
    // unreadable: start afresh
  }
  return null;
}
