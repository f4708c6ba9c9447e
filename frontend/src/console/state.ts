// The console's state, as a pure reducer from protocol-client events (and a few UI actions).
// Everything here is plain data so it can be tested without a DOM or a socket.

import type { ClientEvent, PendingMessage, Status } from "../shared/client";
import type {
  Conversation,
  Entry,
  Invitation,
  Offer,
  Presence,
  TransferInfo,
} from "../shared/protocol";

export interface ChatState {
  conversation: Conversation;
  /** Entries in seq order, each seq once. */
  entries: Entry[];
  /** Messages from others received while this chat was not selected. */
  unread: number;
  /** Entries up to this seq were history when the chat first arrived (never counted unread). */
  baseline: number;
  typing: { participant: string; name: string; at: number } | null;
  /** Sends the server refused for good. */
  failed: SendFailure[];
}

/** A send the server refused for good; `code` says why (e.g. `blocked_word`). */
export interface SendFailure {
  clientId: string;
  text: string;
  code?: string;
  error: string;
  private?: boolean;
}

export interface OfferState {
  offer: Offer;
  /** Local time (ms) the offer first arrived. */
  receivedAt: number;
  /** Local time (ms) the offer expires: expires_at corrected by the server's clock offset
   * (from `welcome.server_time`), so a reload mid-offer shows the time really left. */
  deadline?: number;
}

export interface InvitationState {
  invitation: Invitation;
  /** Local time (ms) it first arrived. */
  receivedAt: number;
  /** Local time (ms) it expires (expires_at corrected by the server's clock offset). */
  deadline?: number;
}

/** A transfer this agent asked for, per conversation. `requesting`: asked over REST, no answer
 * yet; then what the server's `transfer` messages say. */
export interface OutgoingTransfer {
  status: "requesting" | "pending" | "accepted" | "failed" | "cancelled";
  /** Whom it goes to ("Bob", "queue billing"), as chosen here or named by the server. */
  toName: string | null;
}

export interface PresenceState {
  presence: Presence;
  status_text: string;
}

export interface ConsoleState {
  /** This user's participant key, "user:<id>". */
  me: string;
  userId: number;
  status: Status;
  /** True once the first `synced` arrived; only then is being offline worth showing. */
  everSynced: boolean;
  chats: Record<string, ChatState>;
  /** Open tabs, in the order they arrived. */
  order: string[];
  selected: string | null;
  /** A chat asked to be selected before it arrived (an offer accepted, a waiting chat taken):
   * selected as soon as its `conversation` comes. */
  awaiting?: string;
  /** Tabs closed by the agent: ignored if the server mentions them again. */
  closed: string[];
  offers: Record<string, OfferState>;
  /** Offer ids re-announced since the last welcome; on `synced` the others are dropped. */
  snapshotOffers: string[] | null;
  /** Pending invitations sent to this user, or by them. */
  invitations: Record<string, InvitationState>;
  /** Like `snapshotOffers`, for invitations. */
  snapshotInvitations: string[] | null;
  presence: Record<number, PresenceState>;
  pending: PendingMessage[];
  maxMessageChars: number;
  /** Server clock minus local clock (ms), from the last `welcome`. */
  clockSkewMs?: number;
  /** The chats view is shown and the browser tab visible: the selected chat is being read. */
  watching: boolean;
  /** Transfers this agent asked for, by conversation id. */
  transfers: Record<string, OutgoingTransfer>;
  /** Chats handed on to this agent: who sent them and their note, by conversation id (from
   * the transfer offer, kept after accepting it). */
  handoffs: Record<string, TransferInfo>;
  /** Who is watching each chat (a supervisor monitoring it, where the workgroup shows it). */
  watchers: Record<string, string[]>;
}

export type Action =
  | ClientEvent
  | { type: "select"; conversationId: string }
  | { type: "close"; conversationId: string }
  | { type: "dismiss_failed"; conversationId: string; clientId: string }
  | { type: "clear_typing"; conversationId: string }
  /** Whether the agent is looking at the chats (chats view shown, browser tab visible). */
  | { type: "watching"; watching: boolean }
  /** The agent asked for a transfer (sent just before the REST call). */
  | { type: "transfer_requested"; conversationId: string; toName: string }
  /** The server refused the transfer request (the REST call failed). */
  | { type: "transfer_refused"; conversationId: string }
  /** The agent dismissed a failed or cancelled transfer's notice. */
  | { type: "dismiss_transfer"; conversationId: string };

export function initialState(userId: number, pending: PendingMessage[] = []): ConsoleState {
  return {
    me: `user:${userId}`,
    userId,
    status: "offline",
    everSynced: false,
    chats: {},
    order: [],
    selected: null,
    closed: [],
    offers: {},
    snapshotOffers: null,
    invitations: {},
    snapshotInvitations: null,
    presence: {},
    pending,
    maxMessageChars: 4000,
    watching: true,
    transfers: {},
    handoffs: {},
    watchers: {},
  };
}

/** Whether the connection banner should say "Offline, reconnecting…". */
export function isReconnecting(state: ConsoleState): boolean {
  return state.everSynced && (state.status === "offline" || state.status === "connecting");
}

export function isEnded(chat: ChatState): boolean {
  return chat.conversation.status === "ended";
}

/** Insert an entry in seq order; a seq already held is ignored. */
export function insertEntry(entries: Entry[], entry: Entry): Entry[] {
  if (!entries.length || entries[entries.length - 1].seq < entry.seq) return [...entries, entry];
  if (entries.some((e) => e.seq === entry.seq)) return entries;
  return [...entries, entry].sort((a, b) => a.seq - b.seq);
}

function applyEntry(conversation: Conversation, entry: Entry): Conversation {
  const next = { ...conversation, last_seq: Math.max(conversation.last_seq, entry.seq) };
  if (entry.kind === "joined" && next.status === "queued") next.status = "active";
  if (entry.kind === "joined" && entry.author) {
    const known = next.participants.some((p) => p.key === entry.author);
    next.participants = known
      ? next.participants.map((p) => (p.key === entry.author ? { ...p, present: true } : p))
      : [
          ...next.participants,
          {
            key: entry.author,
            role: String(entry.body.role ?? "agent"),
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
  if (entry.kind === "ended") {
    next.status = "ended";
    next.ended_at = next.ended_at ?? entry.created_at;
    next.end_reason = next.end_reason ?? String(entry.body.reason ?? "ended");
    next.participants = next.participants.map((p) => ({ ...p, present: false }));
  }
  return next;
}

function withChat(state: ConsoleState, id: string, chat: ChatState): ConsoleState {
  return { ...state, chats: { ...state.chats, [id]: chat } };
}

export function reduce(state: ConsoleState, action: Action): ConsoleState {
  switch (action.type) {
    case "status":
      return { ...state, status: action.status };
    case "outbox":
      return { ...state, pending: action.pending };
    case "failed": {
      const chat = state.chats[action.message.conversationId];
      if (!chat) return state;
      return withChat(state, action.message.conversationId, {
        ...chat,
        failed: [
          ...chat.failed,
          {
            clientId: action.message.clientId,
            text: action.message.text,
            code: action.code,
            error: action.error,
            private: action.message.private,
          },
        ],
      });
    }
    case "stopped":
      return { ...state, status: "stopped" };
    case "entry":
      return onEntry(state, action.conversationId, action.entry);
    case "reset": {
      // The server knows another history of this chat (say, restored from a backup): drop
      // ours; its whole log follows.
      const chat = state.chats[action.conversationId];
      if (!chat) return state;
      return withChat(state, action.conversationId, {
        ...chat,
        entries: [],
        unread: 0,
        baseline: 0,
        typing: null,
      });
    }
    case "server":
      return onServer(state, action.message);
    case "watching": {
      const next = { ...state, watching: action.watching };
      const chat = state.selected ? state.chats[state.selected] : undefined;
      if (!action.watching || !state.selected || !chat || chat.unread === 0) return next;
      return withChat(next, state.selected, { ...chat, unread: 0 });
    }
    case "select": {
      const chat = state.chats[action.conversationId];
      if (!chat) return { ...state, awaiting: action.conversationId };
      return withChat({ ...state, selected: action.conversationId, awaiting: undefined }, action.conversationId, {
        ...chat,
        unread: 0,
      });
    }
    case "close": {
      const id = action.conversationId;
      if (!state.chats[id]) return state;
      const chats = { ...state.chats };
      delete chats[id];
      const index = state.order.indexOf(id);
      const order = state.order.filter((c) => c !== id);
      let selected = state.selected;
      if (selected === id) selected = order[Math.min(index, order.length - 1)] ?? null;
      const next = { ...state, chats, order, selected, closed: [...state.closed, id] };
      return selected ? reduce(next, { type: "select", conversationId: selected }) : next;
    }
    case "dismiss_failed": {
      const chat = state.chats[action.conversationId];
      if (!chat) return state;
      return withChat(state, action.conversationId, {
        ...chat,
        failed: chat.failed.filter((f) => f.clientId !== action.clientId),
      });
    }
    case "transfer_requested":
      return {
        ...state,
        transfers: {
          ...state.transfers,
          [action.conversationId]: { status: "requesting", toName: action.toName },
        },
      };
    case "transfer_refused":
    case "dismiss_transfer": {
      const current = state.transfers[action.conversationId];
      const drop =
        action.type === "transfer_refused"
          ? current?.status === "requesting"
          : current?.status === "failed" || current?.status === "cancelled";
      if (!drop) return state;
      const transfers = { ...state.transfers };
      delete transfers[action.conversationId];
      return { ...state, transfers };
    }
    case "clear_typing": {
      const chat = state.chats[action.conversationId];
      if (!chat || !chat.typing) return state;
      return withChat(state, action.conversationId, { ...chat, typing: null });
    }
  }
  return state;
}

function onEntry(state: ConsoleState, id: string, entry: Entry): ConsoleState {
  const chat = state.chats[id];
  if (!chat) return state; // entries always follow their `conversation`
  const entries = insertEntry(chat.entries, entry);
  if (entries === chat.entries) return state;
  const fresh = entry.seq > chat.baseline;
  const fromOther = (entry.kind === "message" || entry.kind === "note") && entry.author !== state.me;
  // Unread unless the agent is looking at this very chat right now.
  const seen = state.selected === id && state.watching;
  const unread = fresh && fromOther && !seen ? chat.unread + 1 : chat.unread;
  const typing =
    chat.typing && (entry.author === chat.typing.participant || entry.kind === "ended")
      ? null
      : chat.typing;
  return withChat(state, id, {
    ...chat,
    conversation: applyEntry(chat.conversation, entry),
    entries,
    unread,
    typing,
  });
}

function onServer(state: ConsoleState, message: import("../shared/protocol").ServerMessage): ConsoleState {
  switch (message.type) {
    case "welcome": {
      const serverNow = Date.parse(message.server_time);
      return {
        ...state,
        maxMessageChars: message.max_message_chars || state.maxMessageChars,
        snapshotOffers: [],
        snapshotInvitations: [],
        clockSkewMs: Number.isFinite(serverNow) ? serverNow - Date.now() : state.clockSkewMs,
      };
    }
    case "synced": {
      let offers = state.offers;
      if (state.snapshotOffers) {
        const keep = new Set(state.snapshotOffers);
        offers = Object.fromEntries(Object.entries(offers).filter(([id]) => keep.has(id)));
      }
      let invitations = state.invitations;
      if (state.snapshotInvitations) {
        const keep = new Set(state.snapshotInvitations);
        invitations = Object.fromEntries(Object.entries(invitations).filter(([id]) => keep.has(id)));
      }
      return {
        ...state,
        everSynced: true,
        snapshotOffers: null,
        offers,
        snapshotInvitations: null,
        invitations,
      };
    }
    case "invitation": {
      const invitation = message.invitation;
      const id = invitation.invitation_id;
      const snapshotInvitations = state.snapshotInvitations ? [...state.snapshotInvitations, id] : null;
      if (state.invitations[id]) return { ...state, snapshotInvitations };
      return {
        ...state,
        snapshotInvitations,
        invitations: {
          ...state.invitations,
          [id]: {
            invitation,
            receivedAt: Date.now(),
            deadline:
              state.clockSkewMs === undefined
                ? undefined
                : Date.parse(invitation.expires_at) - state.clockSkewMs,
          },
        },
      };
    }
    case "invitation_ended": {
      if (!state.invitations[message.invitation_id]) return state;
      const invitations = { ...state.invitations };
      delete invitations[message.invitation_id];
      return { ...state, invitations };
    }
    case "conversation": {
      const conv = message.conversation;
      // Staff IM conversations (direct, room, backchannel) are not customer chats: the chat
      // list leaves them out (their entries then find no chat and are dropped too).
      if (conv.kind !== "customer_chat") return state;
      if (state.closed.includes(conv.id)) return state;
      const existing = state.chats[conv.id];
      if (existing) {
        // A fresh snapshot (after a reconnect): keep the log, refresh the state.
        let conversation = conv;
        for (const e of existing.entries) if (e.seq > conv.last_seq) conversation = applyEntry(conversation, e);
        return withChat(state, conv.id, { ...existing, conversation });
      }
      const chat: ChatState = {
        conversation: conv,
        entries: [],
        unread: 0,
        baseline: conv.last_seq,
        typing: null,
        failed: [],
      };
      const next = withChat({ ...state, order: [...state.order, conv.id] }, conv.id, chat);
      if (state.awaiting === conv.id) return reduce(next, { type: "select", conversationId: conv.id });
      return state.selected ? next : { ...next, selected: conv.id };
    }
    case "typing": {
      const chat = state.chats[message.conversation_id];
      if (!chat || message.participant === state.me) return state;
      const typing = message.active
        ? { participant: message.participant, name: message.name, at: Date.now() }
        : null;
      return withChat(state, message.conversation_id, { ...chat, typing });
    }
    case "presence":
      return {
        ...state,
        presence: {
          ...state.presence,
          [message.user_id]: { presence: message.presence, status_text: message.status_text },
        },
      };
    case "offer": {
      const offer = message.offer;
      const snapshotOffers = state.snapshotOffers
        ? [...state.snapshotOffers, offer.offer_id]
        : null;
      if (state.offers[offer.offer_id]) return { ...state, snapshotOffers };
      return {
        ...state,
        snapshotOffers,
        handoffs: offer.transfer
          ? { ...state.handoffs, [offer.conversation_id]: offer.transfer }
          : state.handoffs,
        offers: {
          ...state.offers,
          [offer.offer_id]: {
            offer,
            receivedAt: Date.now(),
            deadline:
              state.clockSkewMs === undefined
                ? undefined
                : Date.parse(offer.expires_at) - state.clockSkewMs,
          },
        },
      };
    }
    case "offer_ended": {
      const ended = state.offers[message.offer_id];
      if (!ended) return state;
      const offers = { ...state.offers };
      delete offers[message.offer_id];
      let handoffs = state.handoffs;
      const cid = ended.offer.conversation_id;
      if (message.reason !== "accepted" && ended.offer.transfer && handoffs[cid]) {
        handoffs = { ...handoffs };
        delete handoffs[cid];
      }
      return { ...state, offers, handoffs };
    }
    case "watching": {
      const watchers = { ...state.watchers };
      const names = message.watchers.map((w) => w.name);
      if (names.length) watchers[message.conversation_id] = names;
      else delete watchers[message.conversation_id];
      return { ...state, watchers };
    }
    case "transfer": {
      const id = message.conversation_id;
      const known = state.transfers[id];
      return {
        ...state,
        transfers: {
          ...state.transfers,
          [id]: { status: message.status, toName: message.to_name || known?.toName || null },
        },
      };
    }
  }
  return state;
}

/** Whole seconds left on an offer: its own duration (expires_at - offered_at, both server
 * clock) counted from the local time it arrived, so a skewed local clock does not matter. */
export function secondsLeft(offer: OfferState, now: number): number {
  const duration = Date.parse(offer.offer.expires_at) - Date.parse(offer.offer.offered_at);
  const deadline =
    offer.deadline !== undefined && Number.isFinite(offer.deadline)
      ? offer.deadline
      : offer.receivedAt + (Number.isFinite(duration) ? duration : 0);
  return Math.max(0, Math.ceil((deadline - now) / 1000));
}

/** Whole seconds left on an invitation (like `secondsLeft` for offers). */
export function invitationSecondsLeft(item: InvitationState, now: number): number {
  const inv = item.invitation;
  const duration = Date.parse(inv.expires_at) - Date.parse(inv.created_at);
  const deadline =
    item.deadline !== undefined && Number.isFinite(item.deadline)
      ? item.deadline
      : item.receivedAt + (Number.isFinite(duration) ? duration : 0);
  return Math.max(0, Math.ceil((deadline - now) / 1000));
}

/** Invitations sent to this user, oldest first. */
export function invitationsToMe(state: ConsoleState): InvitationState[] {
  return Object.values(state.invitations)
    .filter((i) => i.invitation.to_user_id === state.userId)
    .sort((a, b) => a.receivedAt - b.receivedAt);
}

/** Invitations this user sent into a chat that are still open. */
export function invitationsFrom(state: ConsoleState, conversationId: string): Invitation[] {
  return Object.values(state.invitations)
    .map((i) => i.invitation)
    .filter((i) => i.from_user_id === state.userId && i.conversation_id === conversationId);
}

/** This user's role in a chat while present in it: "agent", "helper" (invited), or null. */
export function myRole(chat: ChatState, me: string): string | null {
  const p = chat.conversation.participants.find((x) => x.key === me && x.present);
  return p ? p.role : null;
}

/** Offers oldest first. */
export function offerList(state: ConsoleState): OfferState[] {
  return Object.values(state.offers).sort((a, b) => a.receivedAt - b.receivedAt);
}

/** Pending sends of a conversation that the log does not show yet. */
export function pendingFor(state: ConsoleState, id: string): PendingMessage[] {
  const chat = state.chats[id];
  const stored = new Set(chat ? chat.entries.map((e) => e.client_id).filter(Boolean) : []);
  return state.pending.filter((p) => p.conversationId === id && !stored.has(p.clientId));
}

/** Whom this agent handed the chat on to, once a transfer went through: from the server's
 * `transfer` message, or (after a reload) from the log: their `left` entry with reason
 * "transferred", and the last agent who joined before it. Null while the chat is theirs. */
export function transferredTo(state: ConsoleState, id: string): string | null {
  const chat = state.chats[id];
  const outgoing = state.transfers[id];
  if (outgoing?.status === "accepted") return outgoing.toName || "another agent";
  if (!chat) return null;
  const me = chat.conversation.participants.find((p) => p.key === state.me);
  if (me?.present) return null;
  for (let i = chat.entries.length - 1; i >= 0; i--) {
    const e = chat.entries[i];
    if (e.kind === "left" && e.author === state.me && e.body.reason === "transferred") {
      for (let j = i - 1; j >= 0; j--) {
        const joined = chat.entries[j];
        if (joined.kind === "joined" && joined.author !== state.me && joined.body.role !== "helper") {
          return String(joined.body.name || "another agent");
        }
      }
      return "another agent";
    }
  }
  return null;
}

/** Who took this chat over from this agent (a supervisor, "take over"), from the log: their
 * `left` entry with reason "taken_over", and the agent who joined right after it. Null while
 * the chat is theirs. */
export function takenOverBy(state: ConsoleState, id: string): string | null {
  const chat = state.chats[id];
  if (!chat) return null;
  const me = chat.conversation.participants.find((p) => p.key === state.me);
  if (me?.present) return null;
  for (let i = chat.entries.length - 1; i >= 0; i--) {
    const e = chat.entries[i];
    if (e.kind === "left" && e.author === state.me && e.body.reason === "taken_over") {
      const next = chat.entries.slice(i + 1).find((j) => j.kind === "joined" && j.body.role === "agent");
      return String(next?.body.name || "a supervisor");
    }
  }
  return null;
}

/** "Sam is watching", "Sam and Tess are watching": for the chat's agents. */
export function watchingText(names: string[]): string {
  if (names.length === 0) return "";
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `${list} ${names.length === 1 ? "is" : "are"} watching`;
}
