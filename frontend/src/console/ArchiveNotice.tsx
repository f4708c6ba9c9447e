// The archive notice everyone is told (docs/protocol.md, "The archive"): one line of plain text
// an admin sets, read once per page from `GET /archive/notice` and shared by
// - the banner at first login, until dismissed: remembered in localStorage per user and per
//   text (a hash of it), so a new notice is shown again and another user still sees it;
// - the line at the top of every DM, room and back-channel (ImView).
// Rendered as text (Preact escapes it). An admin who saves a new notice updates it here.

import { useEffect, useState } from "preact/hooks";

import type { KeyValueStore } from "../shared/client";
import { ArchiveApi } from "./archiveApi";
import "./archive.css";

let current: string | null = null; // null: not read yet
let loading: Promise<void> | null = null;
const listeners = new Set<(text: string) => void>();

/** The notice is now `text` (read, or just saved by an admin): every view shows it. */
export function setArchiveNotice(text: string): void {
  current = text;
  for (const listener of [...listeners]) listener(text);
}

/** Forget the notice (tests; a new login reads it again). */
export function resetArchiveNotice(): void {
  current = null;
  loading = null;
}

function load(): void {
  if (loading) return;
  loading = ArchiveApi.notice().then(
    (r) => setArchiveNotice(typeof r.notice === "string" ? r.notice : ""),
    () => {
      loading = null; // a later view tries again; the notice is a line, not a blocker
    },
  );
}

/** The notice ("" while unknown or when none is set). */
export function useArchiveNotice(): string {
  const [text, setText] = useState(current ?? "");
  useEffect(() => {
    listeners.add(setText);
    if (current === null) load();
    else setText(current);
    return () => {
      listeners.delete(setText);
    };
  }, []);
  return text;
}

/** FNV-1a, 32 bits, as hex: a short stable name for a notice's text (not a secret). */
export function textHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

export function dismissKey(userId: number, text: string): string {
  return `parley:archive-notice-seen:${userId}:${textHash(text)}`;
}

function browserStorage(): KeyValueStore | null {
  try {
    return window.localStorage;
  } catch {
    return null; // blocked: dismissed for this page only
  }
}

/** The banner at first login: the notice, until this user dismisses this text. */
export function ArchiveBanner({ userId, storage }: { userId: number; storage?: KeyValueStore | null }) {
  const text = useArchiveNotice();
  const store = storage === undefined ? browserStorage() : storage;
  const [dismissed, setDismissed] = useState<string | null>(null);
  if (!text.trim() || dismissed === text) return null;
  const key = dismissKey(userId, text);
  let seen = false;
  try {
    seen = store?.getItem(key) === "1";
  } catch {
    seen = false;
  }
  if (seen) return null;
  const dismiss = () => {
    try {
      store?.setItem(key, "1");
    } catch {
      // Storage full or blocked: dismissed for this page.
    }
    setDismissed(text);
  };
  return (
    <p class="notice banner archive-banner" role="status" data-testid="archive-banner">
      <strong>Archiving:</strong> {text}{" "}
      <button type="button" class="subtle" onClick={dismiss}>
        Got it
      </button>
    </p>
  );
}

/** The line at the top of a DM, a room or a back-channel. */
export function ArchiveNoticeLine() {
  const text = useArchiveNotice();
  if (!text.trim()) return null;
  return (
    <p class="archive-notice" data-testid="archive-notice">
      {text}
    </p>
  );
}

/** In a log, where the archiving policy removed what came before (never a silent hole). */
export function HistoryRemovedLine() {
  return (
    <p class="history-removed" data-testid="history-removed" role="note">
      Earlier messages were removed under the archiving policy.
    </p>
  );
}
