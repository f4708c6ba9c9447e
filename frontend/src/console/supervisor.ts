// The Supervisor view's state, as a pure reducer from the supervisor socket's client events
// (a socket of its own: what it watches never becomes a chat tab with a composer) and a few UI
// actions. See docs/protocol.md, "Supervisors".

import type { ClientEvent, Status } from "../shared/client";
import type { Conversation, Entry, LiveChat, ServerMessage, Wallboard } from "../shared/protocol";
import { insertEntry } from "./state";

export interface Watched {
  conversation: Conversation | null;
  /** Entries in seq order (notes and whispers included: staff see them). */
  entries: Entry[];
  typing: { participant: string; name: string; at: number } | null;
}

export interface SupervisorState {
  status: Status;
  everSynced: boolean;
  /** The wallboard of each workgroup, as last pushed. */
  boards: Record<number, Wallboard>;
  /** The chat being watched (one at a time), by id. */
  watching: string | null;
  watched: Watched | null;
}

export type SupervisorAction =
  | ClientEvent
  | { type: "watch"; conversationId: string }
  | { type: "stop_watching" };

export function initialSupervisorState(): SupervisorState {
  return { status: "offline", everSynced: false, boards: {}, watching: null, watched: null };
}

export function reduceSupervisor(state: SupervisorState, action: SupervisorAction): SupervisorState {
  switch (action.type) {
    case "status":
      return { ...state, status: action.status };
    case "watch":
      if (state.watching === action.conversationId) return state;
      return {
        ...state,
        watching: action.conversationId,
        watched: { conversation: null, entries: [], typing: null },
      };
    case "stop_watching":
      return { ...state, watching: null, watched: null };
    case "reset":
      if (action.conversationId !== state.watching || !state.watched) return state;
      return { ...state, watched: { ...state.watched, entries: [], typing: null } };
    case "entry": {
      if (action.conversationId !== state.watching || !state.watched) return state;
      const entries = insertEntry(state.watched.entries, action.entry);
      if (entries === state.watched.entries) return state;
      const typing =
        state.watched.typing && state.watched.typing.participant === action.entry.author
          ? null
          : state.watched.typing;
      return { ...state, watched: { ...state.watched, entries, typing } };
    }
    case "server":
      return onServer(state, action.message);
  }
  return state;
}

function onServer(state: SupervisorState, m: ServerMessage): SupervisorState {
  switch (m.type) {
    case "synced":
      return { ...state, everSynced: true };
    case "wallboard": {
      const boards = { ...state.boards };
      if (m.board) boards[m.workgroup_id] = m.board;
      else delete boards[m.workgroup_id];
      return { ...state, boards };
    }
    case "conversation":
      if (m.conversation.id !== state.watching || !state.watched) return state;
      return { ...state, watched: { ...state.watched, conversation: m.conversation } };
    case "typing":
      if (m.conversation_id !== state.watching || !state.watched) return state;
      return {
        ...state,
        watched: {
          ...state.watched,
          typing: m.active ? { participant: m.participant, name: m.name, at: Date.now() } : null,
        },
      };
  }
  return state;
}

/** Every workgroup's board, by name. */
export function boardList(state: SupervisorState): Wallboard[] {
  return Object.values(state.boards).sort(
    (a, b) => a.name.localeCompare(b.name) || a.workgroup_id - b.workgroup_id,
  );
}

export interface ChatFilter {
  workgroup: number | null;
  agent: number | null;
  queue: number | null;
}

/** The live chats of every board, filtered, the quietest first. */
export function liveChats(state: SupervisorState, filter: ChatFilter): LiveChat[] {
  return boardList(state)
    .flatMap((b) => b.chats)
    .filter((c) => filter.workgroup === null || c.workgroup_id === filter.workgroup)
    .filter((c) => filter.agent === null || c.agents.some((a) => a.user_id === filter.agent))
    .filter((c) => filter.queue === null || c.queue_id === filter.queue)
    .sort((a, b) => b.idle_secs - a.idle_secs || a.conversation_id.localeCompare(b.conversation_id));
}

/** The tiles that turned red between two boards of a workgroup (what the console sounds for). */
export function newlyRed(before: Wallboard | undefined, after: Wallboard): string[] {
  const old = new Set(before?.alerts ?? []);
  return after.alerts.filter((a) => !old.has(a));
}

/** "1:05", "12 s", "1 h 02 min": a duration for a tile or a table cell. */
export function duration(secs: number | null | undefined): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs)) return "–";
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${Math.round(value * 100)} %`;
}
