// The launcher's unread badge: the agent's messages written while the panel is minimised (or the
// iframe loaded hidden after a reload), told to the launcher with whether a chat is under way.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Entry } from "../shared/protocol";
import { aConversation, FakeSocket, MemoryStore } from "../shared/testing";
import { App } from "./app";
import { setPanelVisible } from "./panel";
import { chatKey } from "./state";
import { seenKey, unreadCount } from "./unread";

const CID = "c".repeat(32);
const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

function say(seq: number, author: string | null, kind: Entry["kind"] = "message"): Entry {
  return { seq, kind, author, body: { text: `m${seq}`, name: "Alice" }, client_id: null, created_at: "2026-03-02T10:15:00Z" };
}

describe("unreadCount", () => {
  it("counts the agent's messages after the last one seen, nothing else", () => {
    const log = [say(1, null, "queued"), say(2, "user:1", "joined"), say(3, "user:1"), say(4, "visitor"), say(5, "user:1"), say(6, "user:2")];
    expect(unreadCount(log, 0)).toBe(3);
    expect(unreadCount(log, 3)).toBe(2);
    expect(unreadCount(log, 6)).toBe(0);
  });
});

describe("App and the launcher", () => {
  let root: HTMLElement;
  let told: Record<string, unknown>[];
  const parent = { postMessage: (m: Record<string, unknown>) => void told.push(m) };

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    told = [];
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    URL.createObjectURL = vi.fn(() => "blob:transcript");
    URL.revokeObjectURL = vi.fn();
    vi.spyOn(window, "parent", "get").mockReturnValue(parent as unknown as Window);
    vi.stubGlobal("fetch", async (url: string) =>
      url.endsWith("/status")
        ? new Response(JSON.stringify({ slug: "sales", name: "Sales", button_text: "Chat", open: true, form_fields: [] }))
        : new Response("{}", { status: 404 }),
    );
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    setPanelVisible(true);
  });

  const last = () => told.filter((m) => m.type === "parley:state").at(-1);

  it("counts what the agent writes while minimised, and nothing once shown", async () => {
    const store = new MemoryStore();
    store.setItem(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "tok" }));
    act(() => render(<App slug="sales" page="" storage={store} embedded />, root));
    await flush();
    const ws = FakeSocket.all[0];
    act(() => ws.open());
    act(() => {
      ws.push({ type: "conversation", conversation: aConversation({ id: CID }) });
      ws.push({ type: "entry", conversation_id: CID, entry: say(1, "user:1", "joined") });
      ws.push({ type: "entry", conversation_id: CID, entry: say(2, "user:1") });
      ws.push({ type: "synced" });
    });
    expect(last()).toEqual({ type: "parley:state", chat: true, unread: 0 });
    expect(store.getItem(seenKey(CID))).toBe("2");

    act(() => setPanelVisible(false)); // the visitor minimised the panel
    act(() => {
      ws.push({ type: "entry", conversation_id: CID, entry: say(3, "visitor") });
      ws.push({ type: "entry", conversation_id: CID, entry: say(4, "user:1") });
      ws.push({ type: "entry", conversation_id: CID, entry: say(5, "user:1") });
    });
    expect(last()).toEqual({ type: "parley:state", chat: true, unread: 2 });
    act(() => setPanelVisible(true));
    expect(last()).toEqual({ type: "parley:state", chat: true, unread: 0 });
    expect(store.getItem(seenKey(CID))).toBe("5");

    // The chat ends: the launcher forgets it (no reopening after a reload).
    act(() => ws.push({ type: "entry", conversation_id: CID, entry: { ...say(6, "user:1", "ended"), body: { reason: "ended" } } }));
    expect(last()).toEqual({ type: "parley:state", chat: false, unread: 0 });
  });

  it("loaded hidden after a reload: counts only what came after the last look", async () => {
    const store = new MemoryStore();
    store.setItem(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "tok" }));
    store.setItem(seenKey(CID), "2");
    setPanelVisible(false);
    act(() => render(<App slug="sales" page="" storage={store} embedded />, root));
    await flush();
    const ws = FakeSocket.all[0];
    act(() => ws.open());
    act(() => {
      ws.push({ type: "conversation", conversation: aConversation({ id: CID }) });
      for (const seq of [1, 2, 3, 4]) {
        ws.push({ type: "entry", conversation_id: CID, entry: say(seq, "user:1", seq === 1 ? "joined" : "message") });
      }
      ws.push({ type: "synced" });
    });
    expect(last()).toEqual({ type: "parley:state", chat: true, unread: 2 });
  });

  it("says no chat is under way before one starts", async () => {
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    expect(last()).toEqual({ type: "parley:state", chat: false, unread: 0 });
  });
});
