// The console's staff IM state (DMs, rooms, back-channels; docs/protocol.md "Staff IM"), as a
// pure reducer: the list from `GET /im/conversations`, pages of history from REST, and the
// protocol client's live events (the same client and outbox as customer chats). Plain data, so
// the Vitest tests drive it without a DOM or a socket.

import type { ClientEvent } from "../shared/client";
import type { Conversation, Entry, ServerMessage } from "../shared/protocol";
import { insertEntry, type SendFailure } from "./state";

export const IM_KINDS = new Set(["direct", "room", "backchannel"]);

/** One line of `GET /api/v1/im/conversations`. */
export interface ImListItem {
  conversation: Conversation;
  unread: number;
  read_seq: number;
  last_entry: Entry | null;
}

export interface ImConv {
  conversation: Conversation;
  /** What is loaded of the log (history pages and live entries), in seq order, each seq once. */
  entries: Entry[];
  unread: number;
  /** My read marker: the last seq I have read. */
  readSeq: number;
  /** Entries up to this seq are already in `unread` (from the list) or were counted. */
  counted: number;
  lastEntry: Entry | null;
  /** Older history may exist before the first loaded entry. */
  hasMore: boolean;
  /** The latest page of history was fetched (once per conversation). */
  historyLoaded: boolean;
  typing: { participant: string; name: string; at: number } | null;
  /** Someone mentioned me here since I last looked. */
  mentioned: boolean;
  /** Sends the server refused for good (a blocked word, ...). */
  failed: SendFailure[];
}

export interface MentionNotice {
  conversationId: string;
  seq: number;
  name: string;
  text: string;
}

export interface ImState {
  me: string;
  convs: Record<string, ImConv>;
  /** The conversation open in the Team view. */
  selected: string | null;
  /** Conversations on screen right now (read as they come; their unread stays 0). */
  visible: string[];
  /** Mentions not yet looked at, newest last. */
  mentions: MentionNotice[];
  /** Back-channels opened beside customer chats: customer chat id -> back-channel id. */
  backchannels: Record<string, string>;
}

export type ImAction =
  | ClientEvent
  | { type: "im_loaded"; items: ImListItem[] }
  /** A conversation returned by REST (a DM opened, a room created or joined, a back-channel). */
  | { type: "im_upsert"; conversation: Conversation }
  /** A page of history (oldest first), fetched `before` a seq (null: the latest). */
  | { type: "im_history"; conversationId: string; entries: Entry[]; limit: number }
  | { type: "im_read"; conversationId: string; readSeq: number; unread: number }
  | { type: "im_select"; conversationId: string | null }
  | { type: "im_visible"; ids: string[] }
  | { type: "im_left"; conversationId: string }
  | { type: "im_backchannel"; customerId: string; conversationId: string | null }
  | { type: "im_dismiss_mention"; conversationId: string; seq: number }
  | { type: "im_dismiss_failed"; conversationId: string; clientId: string };

export function initialImState(userId: number): ImState {
  return { me: `user:${userId}`, convs: {}, selected: null, visible: [], mentions: [], backchannels: {} };
}

function fresh(conversation: Conversation, counted: number): ImConv {
  return {
    conversation,
    entries: [],
    unread: 0,
    readSeq: 0,
    counted,
    lastEntry: null,
    hasMore: true,
    historyLoaded: false,
    typing: null,
    mentioned: false,
    failed: [],
  };
}

function withConv(state: ImState, id: string, conv: ImConv): ImState {
  return { ...state, convs: { ...state.convs, [id]: conv } };
}

function isVisible(state: ImState, id: string): boolean {
  return state.visible.includes(id);
}

/** The name a staff conversation goes by: a room's name, a DM's other members. */
export function imTitle(conv: Conversation, me: string): string {
  if (conv.kind === "backchannel") return conv.room?.name || "Back-channel";
  if (conv.room?.name) return conv.room.name;
  const others = conv.participants.filter((p) => p.key !== me).map((p) => p.name || p.key);
  return others.length ? others.join(", ") : "Just you";
}

/** Staff conversations for the sidebar: latest activity first. */
export function imList(state: ImState): ImConv[] {
  const at = (c: ImConv) => c.lastEntry?.created_at ?? c.conversation.created_at;
  return Object.values(state.convs).sort((a, b) => (at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0));
}

export function imUnreadTotal(state: ImState): number {
  return Object.values(state.convs).reduce((n, c) => n + c.unread, 0);
}

/** The read marker to send for a visible conversation, or null when it is up to date. */
export function readToSend(conv: ImConv): number | null {
  const last = conv.conversation.last_seq;
  return last > conv.readSeq ? last : null;
}

/** The first seq the archiving policy kept (1: nothing was removed). */
export function historyStart(conv: Conversation): number {
  return Math.max(1, conv.history_starts_at_seq ?? 1);
}

/** Whether to say "Earlier messages were removed": the policy removed some, and what is loaded
 * reaches back to the first entry kept (or nothing is left at all). */
export function showsHistoryRemoved(conv: ImConv): boolean {
  const start = historyStart(conv.conversation);
  if (start <= 1) return false;
  const first = conv.entries[0]?.seq;
  return first === undefined ? conv.historyLoaded || !conv.hasMore : first <= start;
}

/** Whether I am a present member (may write, leave, add colleagues). */
export function isMember(conv: Conversation, me: string): boolean {
  return conv.participants.some((p) => p.key === me && p.present);
}

function applyEntry(conversation: Conversation, entry: Entry): Conversation {
  const next = { ...conversation, last_seq: Math.max(conversation.last_seq, entry.seq) };
  if (entry.kind === "topic" && next.room) {
    next.room = { ...next.room, topic: String(entry.body.topic ?? "") };
  }
  if (entry.kind === "joined" && entry.author) {
    const known = next.participants.some((p) => p.key === entry.author);
    next.participants = known
      ? next.participants.map((p) => (p.key === entry.author ? { ...p, present: true } : p))
      : [
          ...next.participants,
          {
            key: entry.author,
            role: String(entry.body.role ?? "member"),
            name: String(entry.body.name ?? ""),
            present: true,
          },
        ];
  }
  if (entry.kind === "left" && entry.author) {
    next.participants = next.participants.map((p) =>
      p.key === entry.author ? { ...p, present: false } : p,
    );
  }
  return next;
}

function onEntry(state: ImState, id: string, entry: Entry, live: boolean): ImState {
  const conv = state.convs[id];
  if (!conv) return state;
  const entries = insertEntry(conv.entries, entry);
  let { unread, counted, mentioned } = conv;
  if (live && entry.seq > counted) {
    counted = entry.seq;
    const fromOther = entry.kind === "message" && entry.author !== state.me;
    if (fromOther && entry.seq > conv.readSeq && !isVisible(state, id)) unread += 1;
  }
  const lastEntry =
    !conv.lastEntry || entry.seq > conv.lastEntry.seq ? entry : conv.lastEntry;
  if (isVisible(state, id)) mentioned = false;
  const typing = conv.typing && conv.typing.participant === entry.author ? null : conv.typing;
  return withConv(state, id, {
    ...conv,
    conversation: applyEntry(conv.conversation, entry),
    entries,
    unread,
    counted,
    lastEntry,
    typing,
    mentioned,
  });
}

function upsert(state: ImState, conversation: Conversation): ImState {
  const existing = state.convs[conversation.id];
  if (!existing) return withConv(state, conversation.id, fresh(conversation, 0));
  // A fresh snapshot: keep the log, and what entries we hold beyond it.
  let next = conversation;
  for (const e of existing.entries) if (e.seq > conversation.last_seq) next = applyEntry(next, e);
  return withConv(state, conversation.id, { ...existing, conversation: next });
}

function onServer(state: ImState, message: ServerMessage): ImState {
  switch (message.type) {
    case "conversation":
      if (!IM_KINDS.has(message.conversation.kind)) return state;
      return upsert(state, message.conversation);
    case "typing": {
      const conv = state.convs[message.conversation_id];
      if (!conv || message.participant === state.me) return state;
      const typing = message.active
        ? { participant: message.participant, name: message.name, at: Date.now() }
        : null;
      return withConv(state, message.conversation_id, { ...conv, typing });
    }
    case "mention": {
      const conv = state.convs[message.conversation_id];
      if (isVisible(state, message.conversation_id)) return state; // already being read
      if (state.mentions.some((m) => m.conversationId === message.conversation_id && m.seq === message.seq)) {
        return state;
      }
      const next = {
        ...state,
        mentions: [
          ...state.mentions,
          { conversationId: message.conversation_id, seq: message.seq, name: message.name, text: message.text },
        ].slice(-20),
      };
      return conv ? withConv(next, message.conversation_id, { ...conv, mentioned: true }) : next;
    }
    case "error":
      // A cursor refused for a conversation we may no longer read (left, removed): drop it.
      if (message.code === "not_found" && message.conversation_id && state.convs[message.conversation_id]) {
        return drop(state, message.conversation_id);
      }
      return state;
  }
  return state;
}

function drop(state: ImState, id: string): ImState {
  const convs = { ...state.convs };
  delete convs[id];
  const backchannels = Object.fromEntries(
    Object.entries(state.backchannels).filter(([, b]) => b !== id),
  );
  return {
    ...state,
    convs,
    backchannels,
    selected: state.selected === id ? null : state.selected,
    mentions: state.mentions.filter((m) => m.conversationId !== id),
  };
}

function clearSeen(state: ImState): ImState {
  let next = state;
  for (const id of state.visible) {
    const conv = next.convs[id];
    if (conv && (conv.unread || conv.mentioned)) {
      next = withConv(next, id, { ...conv, unread: 0, mentioned: false });
    }
  }
  const mentions = next.mentions.filter((m) => !state.visible.includes(m.conversationId));
  return mentions.length === next.mentions.length ? next : { ...next, mentions };
}

export function reduceIm(state: ImState, action: ImAction): ImState {
  switch (action.type) {
    case "im_loaded": {
      let next = state;
      for (const item of action.items) {
        const id = item.conversation.id;
        const existing = next.convs[id];
        const base = existing ? upsert(next, item.conversation).convs[id] : fresh(item.conversation, 0);
        next = withConv(next, id, {
          ...base,
          unread: isVisible(next, id) ? 0 : item.unread,
          readSeq: Math.max(base.readSeq, item.read_seq),
          // The server's count covers everything up to the list's last_seq.
          counted: Math.max(base.counted, item.conversation.last_seq),
          lastEntry:
            base.lastEntry && (!item.last_entry || base.lastEntry.seq >= item.last_entry.seq)
              ? base.lastEntry
              : item.last_entry,
        });
      }
      return next;
    }
    case "im_upsert":
      return upsert(state, action.conversation);
    case "im_history": {
      const conv = state.convs[action.conversationId];
      if (!conv) return state;
      let entries = conv.entries;
      for (const e of action.entries) entries = insertEntry(entries, e);
      const first = entries[0]?.seq ?? 1;
      // Nothing before what the archiving policy kept (docs/protocol.md, "The archive").
      const kept = historyStart(conv.conversation);
      let lastEntry = conv.lastEntry;
      const newest = action.entries[action.entries.length - 1];
      if (newest && (!lastEntry || newest.seq > lastEntry.seq)) lastEntry = newest;
      let conversation = conv.conversation;
      for (const e of action.entries) if (e.seq > conversation.last_seq) conversation = applyEntry(conversation, e);
      return withConv(state, action.conversationId, {
        ...conv,
        conversation,
        entries,
        lastEntry,
        historyLoaded: true,
        hasMore: action.entries.length >= action.limit && first > kept,
      });
    }
    case "im_read": {
      const conv = state.convs[action.conversationId];
      if (!conv) return state;
      return withConv(state, action.conversationId, {
        ...conv,
        readSeq: Math.max(conv.readSeq, action.readSeq),
        unread: isVisible(state, action.conversationId) ? 0 : action.unread,
      });
    }
    case "im_select":
      return { ...state, selected: action.conversationId };
    case "im_visible":
      return clearSeen({ ...state, visible: action.ids });
    case "im_left":
      return drop(state, action.conversationId);
    case "im_backchannel": {
      const backchannels = { ...state.backchannels };
      if (action.conversationId) backchannels[action.customerId] = action.conversationId;
      else delete backchannels[action.customerId];
      return { ...state, backchannels };
    }
    case "im_dismiss_mention":
      return {
        ...state,
        mentions: state.mentions.filter(
          (m) => !(m.conversationId === action.conversationId && m.seq === action.seq),
        ),
      };
    case "im_dismiss_failed": {
      const conv = state.convs[action.conversationId];
      if (!conv) return state;
      return withConv(state, action.conversationId, {
        ...conv,
        failed: conv.failed.filter((f) => f.clientId !== action.clientId),
      });
    }
    case "failed": {
      const conv = state.convs[action.message.conversationId];
      if (!conv) return state;
      const failure: SendFailure = {
        clientId: action.message.clientId,
        text: action.message.text,
        code: action.code,
        error: action.error,
      };
      return withConv(state, action.message.conversationId, { ...conv, failed: [...conv.failed, failure] });
    }
    case "entry":
      return onEntry(state, action.conversationId, action.entry, true);
    case "reset": {
      const conv = state.convs[action.conversationId];
      if (!conv) return state;
      return withConv(state, action.conversationId, { ...conv, entries: [], historyLoaded: false, hasMore: true });
    }
    case "history_removed": {
      // What we held is older than what the policy kept: drop it (else a hole). The server
      // sends everything kept on this connection, so there is nothing more to page back to.
      const conv = state.convs[action.conversationId];
      if (!conv) return state;
      return withConv(state, action.conversationId, { ...conv, entries: [], historyLoaded: true, hasMore: false });
    }
    case "server":
      return onServer(state, action.message);
  }
  return state;
}

/** Parts of a message's text: plain runs and `@username` mentions (rendered as text, never
 * as HTML). `mine` marks a mention of this user. */
export function mentionParts(
  text: string,
  myUsername: string | null,
): { text: string; mention: boolean; mine: boolean }[] {
  const parts: { text: string; mention: boolean; mine: boolean }[] = [];
  // As the server reads them: `@name` not preceded by a word character (an email is no mention).
  const re = /(^|[^\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]|[A-Za-z0-9_])/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = m.index + m[1].length;
    if (start > last) parts.push({ text: text.slice(last, start), mention: false, mine: false });
    const name = m[2];
    parts.push({
      text: `@${name}`,
      mention: true,
      mine: myUsername !== null && name.toLowerCase() === myUsername.toLowerCase(),
    });
    last = start + 1 + name.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), mention: false, mine: false });
  return parts;
}
