// The end of a chat: "Chat ended" appears once (the log's system line), whatever else says the
// chat is over (the snapshot on a reconnect, the entry again, the queue's status), and the header
// changes: no "Chatting with", no "End chat", the time it ended.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Entry } from "../shared/protocol";
import { aConversation, FakeSocket, MemoryStore } from "../shared/testing";
import { App } from "./app";
import { setLanguage } from "./i18n";
import { chatKey } from "./state";

const CID = "c".repeat(32);
const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));
const at = "2026-03-02T10:32:00Z";

function entry(seq: number, kind: Entry["kind"], author: string | null, body: Record<string, unknown>): Entry {
  return { seq, kind, author, body, client_id: null, created_at: at };
}

describe("the end of a chat", () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("fetch", async () =>
      new Response(JSON.stringify({ slug: "sales", name: "Sales", button_text: "Chat", open: true, form_fields: [] })),
    );
    URL.createObjectURL = vi.fn(() => "blob:transcript");
    URL.revokeObjectURL = vi.fn();
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
    setLanguage("en");
  });

  const count = (text: string) => root.textContent!.split(text).length - 1;
  const buttons = () => [...root.querySelectorAll("button")].map((b) => b.textContent);

  for (const [lang, ended, title] of [
    ["en", "Chat ended", "Your chat with Alice"],
    ["de", "Chat beendet", "Ihr Chat mit Alice"],
  ] as const) {
    it(`says "${ended}" once and changes the header (${lang})`, async () => {
      setLanguage(lang);
      const store = new MemoryStore();
      store.setItem(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "tok" }));
      act(() => render(<App slug="sales" page="" storage={store} embedded />, root));
      await flush();
      const ws = FakeSocket.all[0];
      act(() => ws.open());
      act(() => {
        ws.push({ type: "conversation", conversation: aConversation({ id: CID }) });
        ws.push({ type: "entry", conversation_id: CID, entry: entry(1, "joined", "user:1", { name: "Alice", role: "agent" }) });
        ws.push({ type: "entry", conversation_id: CID, entry: entry(2, "message", "user:1", { text: "Bye!" }) });
        ws.push({ type: "synced" });
      });
      expect(root.querySelector("header")!.dataset.phase).toBe("active");
      expect(root.querySelector('[data-testid="agent-name"]')).not.toBeNull();
      expect(count(ended)).toBe(0);

      const end = entry(3, "ended", "user:1", { reason: "ended" });
      act(() => {
        ws.push({ type: "entry", conversation_id: CID, entry: end });
        // The same end again: the entry once more, the snapshot, the queue's word.
        ws.push({ type: "entry", conversation_id: CID, entry: end });
        ws.push({
          type: "conversation",
          conversation: aConversation({ id: CID, status: "ended", end_reason: "ended", ended_at: at }),
        });
        ws.push({ type: "queue", conversation_id: CID, status: "accepted", position: null });
      });
      await flush();
      expect(count(ended)).toBe(1);
      expect(root.querySelectorAll('[data-testid="ended"]')).toHaveLength(1);
      const header = root.querySelector("header")!;
      expect(header.dataset.phase).toBe("ended");
      expect(header.querySelector("h1")!.textContent).toBe(title);
      expect(header.textContent).toMatch(/\d\d:\d\d/); // "Ended at 10:32"
      expect(root.querySelector('[data-testid="agent-name"]')).toBeNull();
      expect(buttons()).not.toContain(lang === "en" ? "End chat" : "Chat beenden");
      expect(root.querySelector("#pw-message")).toBeNull();
    });
  }

  it("says it once after a reload of an ended chat too", async () => {
    const store = new MemoryStore();
    store.setItem(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "tok" }));
    act(() => render(<App slug="sales" page="" storage={store} embedded />, root));
    await flush();
    const ws = FakeSocket.all[0];
    act(() => ws.open());
    act(() => {
      ws.push({ type: "conversation", conversation: aConversation({ id: CID, status: "ended", end_reason: "ended", ended_at: at }) });
      ws.push({ type: "entry", conversation_id: CID, entry: entry(1, "joined", "user:1", { name: "Alice", role: "agent" }) });
      ws.push({ type: "entry", conversation_id: CID, entry: entry(2, "ended", "visitor", { reason: "ended" }) });
      ws.push({ type: "synced" });
    });
    expect(count("Chat ended")).toBe(1);
    expect(root.querySelector("header")!.dataset.phase).toBe("ended");
  });
});
