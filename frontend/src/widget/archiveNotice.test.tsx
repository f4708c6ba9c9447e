// The archive notice in the widget: the workgroup's `archive_notice` (from the public status,
// docs/protocol.md "The archive") shown as text before the customer's first message, in the
// pre-chat form and at the top of the chat's log; and removed history said, never a hole.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Conversation, Entry } from "../shared/protocol";
import { FakeSocket, MemoryStore } from "../shared/testing";
import { App, Log } from "./app";
import { initialState, reduce } from "./state";

const CID = "c".repeat(32);
const XSS = "<img src=x onerror=alert(1)>";

function conversation(over: Partial<Conversation> = {}): Conversation {
  return {
    id: CID,
    kind: "customer_chat",
    status: "queued",
    workgroup_id: 1,
    last_seq: 1,
    created_at: "2026-03-02T10:15:00Z",
    ended_at: null,
    end_reason: null,
    metadata: { name: "Dana" },
    participants: [{ key: "visitor", role: "visitor", name: "Dana", present: true }],
    ...over,
  };
}

function msg(seq: number, text: string): Entry {
  return { seq, kind: "message", author: "visitor", body: { text }, client_id: null, created_at: "2026-03-02T10:15:00Z" };
}

const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

describe("the archive notice in the widget", () => {
  let root: HTMLElement;
  let notice: string | undefined;

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    notice = `Chats are archived for 90 days. ${XSS}`;
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("fetch", async (url: string) => {
      if (url.endsWith("/status")) {
        return new Response(
          JSON.stringify({ slug: "sales", name: "Sales", button_text: "Chat", open: true, accepting: true, archive_notice: notice }),
        );
      }
      if (url.endsWith("/chats")) {
        return new Response(JSON.stringify({ conversation: conversation(), visitor_token: "tok", position: 1 }), { status: 201 });
      }
      return new Response(null, { status: 204 });
    });
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
  });

  const notices = () => [...root.querySelectorAll<HTMLElement>('[data-testid="archive-notice"]')];

  it("is in the pre-chat form, then at the top of the log before the first message", async () => {
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    expect(notices().map((n) => n.textContent)).toEqual([notice]);
    expect(root.querySelector("img")).toBeNull();
    // Before the customer writes: above the button that starts the chat.
    const start = [...root.querySelectorAll("button")].find((b) => b.textContent === "Start chat")!;
    expect(notices()[0].compareDocumentPosition(start) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();

    (root.querySelector("#pw-name") as HTMLInputElement).value = "Dana";
    await act(async () => start.click());
    await flush();
    await flush();
    const ws = FakeSocket.all[0];
    act(() => {
      ws.open();
      ws.push({ type: "conversation", conversation: conversation() });
      ws.push({ type: "synced" });
      ws.push({ type: "entry", conversation_id: CID, entry: msg(2, "Hello") });
    });
    await flush();
    const log = root.querySelector('[role="log"]')!;
    const line = log.querySelector('[data-testid="archive-notice"]')!;
    expect(line.textContent).toBe(notice);
    expect(log.firstElementChild).toBe(line);
    expect(line.getAttribute("data-seq")).toBeNull(); // not a message
    expect(root.querySelector("img")).toBeNull();
  });

  it("shows nothing when no notice is set", async () => {
    notice = "";
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    expect(notices()).toEqual([]);
    notice = undefined; // an older server without the field
    act(() => render(null, root));
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    expect(notices()).toEqual([]);
  });
});

describe("removed history in the widget", () => {
  it("drops what it held on history_removed and says earlier messages were removed", () => {
    let s = initialState(CID, null);
    s = reduce(s, { type: "entry", conversationId: CID, entry: msg(1, "old") });
    s = reduce(s, { type: "history_removed", conversationId: CID });
    s = reduce(s, { type: "server", message: { type: "conversation", conversation: conversation({ history_starts_at_seq: 5, last_seq: 5 }) } });
    s = reduce(s, { type: "entry", conversationId: CID, entry: msg(5, "kept") });
    expect(s.entries.map((e) => e.seq)).toEqual([5]);
    const root = document.createElement("div");
    act(() => render(<Log state={s} />, root));
    expect(root.querySelector('[data-testid="history-removed"]')!.textContent).toBe(
      "Earlier messages were removed under the archiving policy.",
    );
    act(() => render(<Log state={{ ...s, conversation: conversation() }} />, root));
    expect(root.querySelector('[data-testid="history-removed"]')).toBeNull();
  });
});
