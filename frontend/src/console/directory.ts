// The console's staff directory as a pure reducer: the entries from `GET /directory` (paged),
// kept live by the socket's `presence` and `staff_profile` frames (docs/protocol.md,
// "Directory and buddy list"). Plain data, so the Vitest tests drive it without a DOM.
//
// The REST pages and the socket race: a page may be read before or after a frame. A frame is
// never older than a page read before it, so what frames said wins over the pages, except over
// a page fetched after the frame (a reload after a reconnect, when frames may have been missed):
// each frame's override carries a version, and a load drops the overrides it has caught up with.

import type { ClientEvent } from "../shared/client";
import type { Presence } from "../shared/protocol";
import type { DirectoryEntry } from "./directoryApi";

interface PresenceOverride {
  presence: Presence;
  status_text: string;
  idle: boolean;
  v: number;
}

interface ProfileOverride {
  display_name: string;
  title: string;
  photo_url: string | null;
  v: number;
}

export interface DirectoryState {
  /** What REST said, by user id. */
  entries: Record<number, DirectoryEntry>;
  presence: Record<number, PresenceOverride>;
  profiles: Record<number, ProfileOverride>;
  /** Bumped by every frame; a load passes the version it started at. */
  version: number;
  loaded: boolean;
}

export type DirectoryAction =
  | ClientEvent
  /** Every page of `GET /directory`, fetched from `since` (the state's version then) on. */
  | { type: "dir_loaded"; entries: DirectoryEntry[]; since: number }
  /** One entry (`GET /directory/{id}`, or a profile or photo just saved). */
  | { type: "dir_entry"; entry: DirectoryEntry }
  /** Not an active staff account (a 404): drop it. */
  | { type: "dir_gone"; userId: number };

export function initialDirectory(): DirectoryState {
  return { entries: {}, presence: {}, profiles: {}, version: 0, loaded: false };
}

function caughtUp<T extends { v: number }>(overrides: Record<number, T>, since: number): Record<number, T> {
  return Object.fromEntries(Object.entries(overrides).filter(([, o]) => o.v > since)) as Record<number, T>;
}

export function reduceDirectory(state: DirectoryState, action: DirectoryAction): DirectoryState {
  switch (action.type) {
    case "dir_loaded": {
      const entries: Record<number, DirectoryEntry> = {};
      for (const e of action.entries) entries[e.user_id] = e;
      return {
        ...state,
        entries,
        presence: caughtUp(state.presence, action.since),
        profiles: caughtUp(state.profiles, action.since),
        loaded: true,
      };
    }
    case "dir_entry": {
      // The entry is newer than any profile frame before it; a presence frame is as new as
      // the entry, or newer: keep that one.
      const profiles = { ...state.profiles };
      delete profiles[action.entry.user_id];
      return { ...state, entries: { ...state.entries, [action.entry.user_id]: action.entry }, profiles };
    }
    case "dir_gone": {
      if (!state.entries[action.userId]) return state;
      const entries = { ...state.entries };
      delete entries[action.userId];
      return { ...state, entries };
    }
    case "server": {
      const m = action.message;
      if (m.type === "presence") {
        const v = state.version + 1;
        return {
          ...state,
          version: v,
          presence: {
            ...state.presence,
            [m.user_id]: { presence: m.presence, status_text: m.status_text, idle: m.idle ?? false, v },
          },
        };
      }
      if (m.type === "staff_profile") {
        const v = state.version + 1;
        return {
          ...state,
          version: v,
          profiles: {
            ...state.profiles,
            [m.user_id]: { display_name: m.display_name, title: m.title, photo_url: m.photo_url, v },
          },
        };
      }
      return state;
    }
  }
  return state;
}

/** One member as shown: the REST entry with what frames said since. */
export function person(state: DirectoryState, userId: number): DirectoryEntry | null {
  const base = state.entries[userId];
  if (!base) return null;
  const p = state.presence[userId];
  const q = state.profiles[userId];
  let e = base;
  if (p) e = { ...e, presence: p.presence, status_text: p.status_text, idle: p.idle };
  if (q) e = { ...e, display_name: q.display_name, title: q.title, photo_url: q.photo_url };
  return e;
}

/** The name a member goes by. */
export function nameOf(e: Pick<DirectoryEntry, "display_name" | "username">): string {
  return e.display_name.trim() || e.username;
}

/** Everyone, by name (then username), as the directory orders them. */
export function everyone(state: DirectoryState): DirectoryEntry[] {
  return Object.keys(state.entries)
    .map((id) => person(state, Number(id)))
    .filter((e): e is DirectoryEntry => e !== null)
    .sort(
      (a, b) =>
        nameOf(a).localeCompare(nameOf(b), undefined, { sensitivity: "base" }) ||
        a.username.localeCompare(b.username),
    );
}

/** Whether `e` matches a search: display name, username or title, any case (like `q`). */
export function matches(e: DirectoryEntry, query: string): boolean {
  const needle = query.trim().toLocaleLowerCase();
  if (!needle) return true;
  return [e.display_name, e.username, e.title].some((s) => s.toLocaleLowerCase().includes(needle));
}

/** User ids that frames mention but no page had: new accounts, to fetch one by one. */
export function unknownIds(state: DirectoryState): number[] {
  if (!state.loaded) return [];
  const ids = new Set([...Object.keys(state.presence), ...Object.keys(state.profiles)].map(Number));
  return [...ids].filter((id) => !state.entries[id]);
}

export const PRESENCE_LABEL: Record<Presence, string> = {
  available: "Available",
  away: "Away",
  busy: "Busy",
  offline: "Offline",
};

/** What the presence reads as, in words (never colour alone). */
export function presenceLabel(e: Pick<DirectoryEntry, "presence" | "idle">): string {
  return e.presence === "away" && e.idle ? "Away (idle)" : PRESENCE_LABEL[e.presence];
}

/** Up to two initials, for a member without a photo. */
export function initials(name: string): string {
  const words = name.trim().split(/[\s._-]+/).filter(Boolean);
  const first = (w: string) => Array.from(w)[0] ?? "";
  const letters = words.length >= 2 ? first(words[0]) + first(words[words.length - 1]) : Array.from(words[0] ?? "?").slice(0, 2).join("");
  return letters.toLocaleUpperCase() || "?";
}
