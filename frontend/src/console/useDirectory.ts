// The console's live directory and buddy list: every page of `GET /directory` at start (and
// again after a reconnect, when `staff_profile` frames may have been missed), the socket's
// frames through `reduceDirectory`, a new account fetched alone when a frame names it, and
// `GET`/`PUT /me/buddies`.

import { useCallback, useEffect, useReducer, useRef, useState } from "preact/hooks";

import type { ParleyClient } from "../shared/client";
import { ApiError } from "./api";
import { initialDirectory, person, reduceDirectory, unknownIds, type DirectoryState } from "./directory";
import { DIRECTORY_PAGE, DirectoryApi, type Buddies, type DirectoryEntry } from "./directoryApi";
import { message as errorText } from "./PastChats";

/** Pages read at most (200 each): a directory larger than this shows its first 10,000. */
const MAX_PAGES = 50;

export async function loadAll(page: (offset: number) => Promise<DirectoryEntry[]>): Promise<DirectoryEntry[]> {
  const all: DirectoryEntry[] = [];
  for (let i = 0; i < MAX_PAGES; i++) {
    const got = await page(all.length);
    all.push(...got);
    if (got.length < DIRECTORY_PAGE) break;
  }
  return all;
}

export interface DirectoryHook {
  dir: DirectoryState;
  /** My own entry, live. */
  mine: DirectoryEntry | null;
  error: string;
  buddies: Buddies | null;
  saveBuddies: (b: Buddies) => Promise<void>;
  /** An entry the server returned (my title or photo saved). */
  update: (entry: DirectoryEntry) => void;
}

export function useDirectory(client: ParleyClient, myUserId: number): DirectoryHook {
  const [dir, dispatch] = useReducer(reduceDirectory, undefined, initialDirectory);
  const [error, setError] = useState("");
  const [buddies, setBuddies] = useState<Buddies | null>(null);
  const version = useRef(0);
  version.current = dir.version;

  const load = useCallback(async () => {
    const since = version.current;
    try {
      const entries = await loadAll((offset) => DirectoryApi.page(offset));
      dispatch({ type: "dir_loaded", entries, since });
      setError("");
    } catch (e) {
      setError(`The directory is not available: ${errorText(e)}`);
    }
  }, []);

  useEffect(() => {
    void load();
    DirectoryApi.buddies().then(
      (b) => setBuddies({ favourites: b.favourites, groups: b.groups }),
      () => undefined, // no buddy list: the directory works without it
    );
    let synced = 0;
    return client.on((event) => {
      dispatch(event);
      // After a reconnect, what changed meanwhile came only as frames we did not get.
      if (event.type === "server" && event.message.type === "synced" && ++synced > 1) void load();
    });
  }, [client]);

  // A frame about someone no page had: a new account (or a guest, whom the directory omits).
  const asked = useRef(new Set<number>());
  const unknown = unknownIds(dir).filter((id) => !asked.current.has(id));
  useEffect(() => {
    for (const id of unknown) {
      asked.current.add(id);
      DirectoryApi.entry(id).then(
        (entry) => dispatch({ type: "dir_entry", entry }),
        (e) => {
          if (e instanceof ApiError && e.status === 404) dispatch({ type: "dir_gone", userId: id });
          else asked.current.delete(id);
        },
      );
    }
  }, [unknown.join(",")]);

  const saveBuddies = useCallback(async (b: Buddies) => {
    const saved = await DirectoryApi.setBuddies(b);
    setBuddies({ favourites: saved.favourites, groups: saved.groups });
  }, []);
  const update = useCallback((entry: DirectoryEntry) => dispatch({ type: "dir_entry", entry }), []);

  return { dir, mine: person(dir, myUserId), error, buddies, saveBuddies, update };
}
