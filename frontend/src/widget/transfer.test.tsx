// After a transfer the visitor sees the new agent's name, "Now chatting with Bob", and
// "Alice left the chat".

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Conversation, Entry } from "../shared/protocol";
import { FakeSocket, MemoryStore } from "../shared/testing";
import { App } from "./app";
import { agentName, chatKey, initialState, reduce, systemText } from "./state";

const CID = "d".repeat(32);
const XSS = "<img src=x onerror=alert(1)>";

function entry(seq: number, over: Partial<Entry> = {}): Entry {
  return {
    seq,
    kind: "message",
    author: "visitor",
    body: { text: `m${seq}` },
    client_id: null,
    created_at: `2026-03-02T10:15:0${seq % 10}Z`,
    ...over,
  };
}

const joined = (seq: number, name: string, key: string, role = "agent") =>
  entry(seq, { kind: "joined", author: key, body: { name, role } });
const left = (seq: number, name: string, key: string) =>
  entry(seq, { kind: "left", author: key, body: { name, role: "agent", reason: "transferred" } });

function conversation(over: Partial<Conversation> = {}): Conversation {
  return {
    id: CID,
    kind: "customer_chat",
    status: "active",
    workgroup_id: 1,
    last_seq: 1,
    created_at: "2026-03-02T10:15:00Z",
    ended_at: null,
    end_reason: null,
    metadata: { name: "Dana" },
    participants: [
      { key: "visitor", role: "visitor", name: "Dana", present: true },
      { key: "user:1", role: "agent", name: "Alice", present: true },
    ],
    ...over,
  };
}

describe("a transfer, as the visitor sees it", () => {
  const log = [entry(1), joined(2, "Alice", "user:1"), entry(3), joined(4, "Bob", "user:2"), left(5, "Alice", "user:1")];

  it("names the new agent and says who left", () => {
    expect(agentName(conversation(), log)).toBe("Bob");
    expect(systemText(log[1], conversation(), log)).toBe("Alice joined");
    expect(systemText(log[3], conversation(), log)).toBe("Now chatting with Bob");
    expect(systemText(log[4], conversation(), log)).toBe("Alice left the chat");
  });

  it("an invited helper joining is no takeover", () => {
    const withHelper = [...log.slice(0, 3), joined(4, "Sam", "user:3", "helper")];
    expect(systemText(withHelper[3], conversation(), withHelper)).toBe("Sam joined");
    expect(agentName(conversation(), withHelper)).toBe("Alice");
  });

  it("marks the agent who left as gone and drops their typing", () => {
    let s = reduce(initialState(CID), { type: "server", message: { type: "conversation", conversation: conversation() } });
    s = reduce(s, {
      type: "server",
      message: { type: "typing", conversation_id: CID, participant: "user:1", name: "Alice", active: true },
    });
    for (const e of log) s = reduce(s, { type: "entry", conversationId: CID, entry: e });
    expect(s.typing).toBeNull();
    expect(s.conversation?.participants.find((p) => p.key === "user:1")?.present).toBe(false);
    expect(s.conversation?.participants.find((p) => p.key === "user:2")?.present).toBe(true);
  });
});

describe("App after a transfer", () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("fetch", async (url: string) =>
      url.endsWith("/status")
        ? new Response(JSON.stringify({ slug: "sales", name: "Sales", button_text: "Chat with Sales", open: true, form_fields: [] }))
        : new Response(null, { status: 204 }),
    );
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
  });

  it("shows the new agent in the header and the hand-over in the log, as text", async () => {
    const store = new MemoryStore();
    store.setItem(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "tok" }));
    act(() => render(<App slug="sales" page="" storage={store} embedded />, root));
    await act(async () => void (await new Promise((r) => setTimeout(r, 0))));
    const ws = FakeSocket.all[0];
    act(() => ws.open());
    act(() => {
      ws.push({ type: "conversation", conversation: conversation() });
      ws.push({ type: "entry", conversation_id: CID, entry: entry(1) });
      ws.push({ type: "entry", conversation_id: CID, entry: joined(2, "Alice", "user:1") });
      ws.push({ type: "synced" });
    });
    const header = () => root.querySelector('[data-testid="agent-name"]')?.textContent;
    expect(header()).toBe("Chatting with Alice");
    act(() => {
      ws.push({ type: "entry", conversation_id: CID, entry: joined(3, XSS, "user:2") });
      ws.push({ type: "entry", conversation_id: CID, entry: left(4, "Alice", "user:1") });
    });
    expect(header()).toBe(`Chatting with ${XSS}`);
    const system = [...root.querySelectorAll<HTMLElement>('[data-author="system"]')].map((el) => el.textContent);
    expect(system).toEqual(["Alice joined", `Now chatting with ${XSS}`, "Alice left the chat"]);
    expect(root.querySelector("img")).toBeNull();
    // Still a live chat: the visitor can write and end it.
    expect([...root.querySelectorAll("button")].some((b) => b.textContent === "End chat")).toBe(true);
  });
});
