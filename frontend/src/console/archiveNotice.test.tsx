// The archive notice in the console (the banner at first login, the line in every DM, room and
// back-channel) and history the archiving policy removed (never a silent hole).

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Conversation, Entry } from "../shared/protocol";
import { aConversation, MemoryStore } from "../shared/testing";
import { setFetcher } from "./api";
import {
  ArchiveBanner,
  dismissKey,
  resetArchiveNotice,
  setArchiveNotice,
  textHash,
} from "./ArchiveNotice";
import { initialImState, reduceIm, showsHistoryRemoved, type ImAction, type ImState } from "./im";
import { ImView, type ImActions } from "./ImView";

const EVIL = "<img src=x onerror=alert(1)>";
const ROOM = "r".repeat(32);

function room(over: Partial<Conversation> = {}): Conversation {
  return aConversation({
    id: ROOM,
    kind: "room",
    workgroup_id: null,
    metadata: {},
    last_seq: 12,
    participants: [
      { key: "user:1", role: "owner", name: "Alice", present: true },
      { key: "user:2", role: "member", name: "Bob", present: true },
    ],
    room: { name: "general", topic: "", visibility: "open", customer_conversation_id: null },
    ...over,
  });
}

function msg(seq: number, text = `m${seq}`): Entry {
  return { seq, kind: "message", author: "user:2", body: { text }, client_id: null, created_at: "2026-03-02T10:15:00Z" };
}

const run = (state: ImState, ...actions: ImAction[]) => actions.reduce(reduceIm, state);
const listed = (conversation: Conversation): ImAction => ({
  type: "im_loaded",
  items: [{ conversation, unread: 0, read_seq: 0, last_entry: null }],
});

const noop: ImActions = {
  send: () => undefined,
  typing: () => undefined,
  dismissFailed: () => undefined,
  loadEarlier: async () => undefined,
  setTopic: async () => undefined,
  addMember: async () => undefined,
  leave: async () => undefined,
};

describe("history the archiving policy removed", () => {
  it("pages back no further than what was kept, and says earlier messages were removed", () => {
    let s = run(initialImState(1), listed(room({ history_starts_at_seq: 10 })));
    // A full page whose first entry is the first kept: nothing more to load.
    s = run(s, { type: "im_history", conversationId: ROOM, entries: [msg(10), msg(11), msg(12)], limit: 3 });
    expect(s.convs[ROOM].hasMore).toBe(false);
    expect(showsHistoryRemoved(s.convs[ROOM])).toBe(true);
    // Nothing removed: a full page from seq 1 has nothing before it, and no line.
    let plain = run(initialImState(1), listed(room()));
    plain = run(plain, { type: "im_history", conversationId: ROOM, entries: [msg(1), msg(2)], limit: 2 });
    expect(plain.convs[ROOM].hasMore).toBe(false);
    expect(showsHistoryRemoved(plain.convs[ROOM])).toBe(false);
    // Not yet at the start of what is kept: no line yet.
    let partway = run(initialImState(1), listed(room({ history_starts_at_seq: 5 })));
    partway = run(partway, { type: "im_history", conversationId: ROOM, entries: [msg(11), msg(12)], limit: 2 });
    expect(partway.convs[ROOM].hasMore).toBe(true);
    expect(showsHistoryRemoved(partway.convs[ROOM])).toBe(false);
  });

  it("drops what it held when the server answers a cursor with history_removed", () => {
    let s = run(initialImState(1), listed(room({ last_seq: 3 })));
    s = run(s, { type: "im_history", conversationId: ROOM, entries: [msg(1), msg(2), msg(3)], limit: 50 });
    // Reconnected after the policy trimmed seqs 1-9: the error, the fresh state, what is kept.
    s = run(
      s,
      { type: "history_removed", conversationId: ROOM },
      { type: "server", message: { type: "conversation", conversation: room({ history_starts_at_seq: 10 }) } },
      { type: "entry", conversationId: ROOM, entry: msg(10) },
      { type: "entry", conversationId: ROOM, entry: msg(11) },
    );
    expect(s.convs[ROOM].entries.map((e) => e.seq)).toEqual([10, 11]); // no hole 4-9
    expect(s.convs[ROOM].hasMore).toBe(false);
    expect(showsHistoryRemoved(s.convs[ROOM])).toBe(true);
  });
});

describe("the archive notice in the console", () => {
  let root: HTMLElement;
  let calls: string[];
  let notice: string;
  const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

  beforeEach(() => {
    resetArchiveNotice();
    root = document.createElement("div");
    document.body.appendChild(root);
    calls = [];
    notice = `Everything is archived for 90 days ${EVIL}`;
    setFetcher(async (url, init) => {
      calls.push(`${init?.method} ${String(url)}`);
      if (String(url) === "/api/v1/archive/notice") return new Response(JSON.stringify({ notice }));
      return new Response(null, { status: 404 });
    });
  });
  afterEach(() => {
    act(() => render(null, root));
    root.remove();
    resetArchiveNotice();
  });

  it("shows the notice line at the top of a room and in the log the removed-history line", async () => {
    let s = run(initialImState(1), listed(room({ history_starts_at_seq: 10 })));
    s = run(s, { type: "im_history", conversationId: ROOM, entries: [msg(10), msg(11)], limit: 50 });
    act(() =>
      render(<ImView conv={s.convs[ROOM]} me="user:1" username="alice" pending={[]} maxChars={4000} actions={noop} staff={[]} />, root),
    );
    await flush();
    const line = root.querySelector('[data-testid="archive-notice"]')!;
    expect(line.textContent).toBe(notice);
    expect(root.querySelector("img")).toBeNull();
    const removed = root.querySelector('[role="log"] [data-testid="history-removed"]')!;
    expect(removed.textContent).toBe("Earlier messages were removed under the archiving policy.");
    // Above the first kept message, and not one of the messages.
    expect(removed.nextElementSibling?.getAttribute("data-seq")).toBe("10");
    expect(root.querySelector('[role="log"]')!.textContent).not.toContain("No messages yet");
    // The notice was read once however many views show it.
    act(() =>
      render(
        <>
          <ImView conv={s.convs[ROOM]} me="user:1" username="alice" pending={[]} maxChars={4000} actions={noop} staff={[]} />
          <ImView conv={s.convs[ROOM]} me="user:1" username="alice" pending={[]} maxChars={4000} actions={noop} staff={[]} variant="backchannel" />
        </>,
        root,
      ),
    );
    await flush();
    expect(root.querySelectorAll('[data-testid="archive-notice"]')).toHaveLength(2);
    expect(calls.filter((c) => c.endsWith("/archive/notice"))).toHaveLength(1);
  });

  it("shows no line when no notice is set", async () => {
    notice = "";
    const s = run(initialImState(1), listed(room()));
    act(() =>
      render(<ImView conv={s.convs[ROOM]} me="user:1" username="alice" pending={[]} maxChars={4000} actions={noop} staff={[]} />, root),
    );
    await flush();
    expect(root.querySelector('[data-testid="archive-notice"]')).toBeNull();
    expect(root.querySelector('[data-testid="history-removed"]')).toBeNull();
  });

  it("shows the banner until dismissed, per user and per text", async () => {
    const store = new MemoryStore();
    act(() => render(<ArchiveBanner userId={7} storage={store} />, root));
    await flush();
    const banner = () => root.querySelector('[data-testid="archive-banner"]');
    expect(banner()!.textContent).toContain(notice);
    expect(root.querySelector("img")).toBeNull();
    act(() => (banner()!.querySelector("button") as HTMLButtonElement).click());
    expect(banner()).toBeNull();
    expect(store.getItem(dismissKey(7, notice))).toBe("1");
    expect(dismissKey(7, notice)).toBe(`parley:archive-notice-seen:7:${textHash(notice)}`);
    // Next login, same user, same text: not shown again.
    act(() => render(null, root));
    act(() => render(<ArchiveBanner userId={7} storage={store} />, root));
    await flush();
    expect(banner()).toBeNull();
    // Another user on this browser still sees it.
    act(() => render(<ArchiveBanner userId={8} storage={store} />, root));
    expect(banner()).not.toBeNull();
    // A new notice (an admin saved it) is shown again to the user who dismissed the old one.
    act(() => render(<ArchiveBanner userId={7} storage={store} />, root));
    expect(banner()).toBeNull();
    act(() => setArchiveNotice("Now kept for 30 days."));
    expect(banner()!.textContent).toContain("Now kept for 30 days.");
  });

  it("is dismissed for the page when storage is blocked", async () => {
    const blocked = {
      getItem: () => {
        throw new Error("blocked");
      },
      setItem: () => {
        throw new Error("blocked");
      },
      removeItem: () => undefined,
    };
    act(() => render(<ArchiveBanner userId={7} storage={blocked} />, root));
    await flush();
    const banner = () => root.querySelector('[data-testid="archive-banner"]');
    expect(banner()).not.toBeNull();
    act(() => (banner()!.querySelector("button") as HTMLButtonElement).click());
    expect(banner()).toBeNull();
  });

  it("hashes texts apart", () => {
    expect(textHash("a")).not.toBe(textHash("b"));
    expect(textHash("")).toMatch(/^[0-9a-f]{8}$/);
  });
});
