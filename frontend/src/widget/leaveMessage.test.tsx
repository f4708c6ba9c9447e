// Leave a message: the wording of why, the form when the workgroup takes no chat, when opening a
// chat is refused (409 unavailable) and after a wait that timed out; the queue's wait estimate.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Conversation } from "../shared/protocol";
import { FakeSocket, MemoryStore } from "../shared/testing";
import { App, waitMinutes } from "./app";
import { backAt, unavailableText } from "./LeaveMessage";
import { chatKey, initialState, reduce } from "./state";

const CID = "c".repeat(32);
const XSS = "<img src=x onerror=alert(1)>";

const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

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
    metadata: { name: "Dana", email: "dana@example.com", question: "", page: "" },
    participants: [{ key: "visitor", role: "visitor", name: "Dana", present: true }],
    ...over,
  };
}

describe("wording", () => {
  const now = new Date(2026, 0, 5, 20, 0); // Monday 20:00, local time
  it("says when a closed workgroup is back", () => {
    expect(backAt(new Date(2026, 0, 5, 22, 30).toISOString(), now)).toBe("at 22:30");
    expect(backAt(new Date(2026, 0, 6, 9, 0).toISOString(), now)).toMatch(/^on \S+ at 09:00$/);
    expect(backAt(null, now)).toBeNull();
    expect(backAt("junk", now)).toBeNull();
    expect(unavailableText("closed", new Date(2026, 0, 5, 22, 30).toISOString(), now)).toBe(
      "We're closed right now, back at 22:30.",
    );
    expect(unavailableText("closed", null)).toBe("We're closed right now.");
    expect(unavailableText("no_agents")).toBe("Nobody is available right now.");
    expect(unavailableText("queue_full")).toBe("All our agents are busy right now.");
  });

  it("keeps the queue's wait estimate, in whole minutes", () => {
    let s = reduce(initialState(CID, null), {
      type: "server",
      message: { type: "queue", conversation_id: CID, status: "waiting", position: 2, estimated_wait_secs: 170 },
    });
    expect([s.position, s.estimatedWait]).toEqual([2, 170]);
    expect(waitMinutes(170)).toBe(3);
    expect(waitMinutes(10)).toBe(1);
    s = reduce(s, { type: "server", message: { type: "queue", conversation_id: CID, status: "waiting", position: 1 } });
    expect(s.estimatedWait).toBeNull();
    s = reduce(s, { type: "server", message: { type: "queue", conversation_id: CID, status: "accepted", position: null } });
    expect(s.estimatedWait).toBeNull();
  });
});

describe("App", () => {
  let root: HTMLElement;
  let requests: { url: string; init?: RequestInit }[];
  let status: Record<string, unknown>;
  let chats: () => Response;

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    requests = [];
    status = { slug: "sales", name: "Sales", button_text: "Chat with Sales", open: true, accepting: true };
    chats = () => new Response(JSON.stringify({ conversation: conversation(), visitor_token: "tok", position: 1 }), { status: 201 });
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      requests.push({ url, init });
      if (url.endsWith("/status")) return new Response(JSON.stringify(status));
      if (url.endsWith("/chats")) return chats();
      if (url.endsWith("/messages")) return new Response(JSON.stringify({ id: 1, created_at: "" }), { status: 201 });
      return new Response(null, { status: 204 });
    });
    URL.createObjectURL = vi.fn(() => "blob:transcript");
    URL.revokeObjectURL = vi.fn();
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
  });

  const $ = (sel: string) => root.querySelector<HTMLElement>(sel);
  const byText = (tag: string, text: string) =>
    [...root.querySelectorAll<HTMLElement>(tag)].find((el) => el.textContent === text) ?? null;
  const labelled = (text: string) => {
    const label = [...root.querySelectorAll("label")].find((l) => l.textContent?.trim().startsWith(text));
    return label ? (root.querySelector<HTMLInputElement>(`#${label.htmlFor}`) as HTMLInputElement) : null;
  };
  const sentMessage = () => {
    const post = requests.find((r) => r.url.endsWith("/messages"));
    return post ? { body: JSON.parse(String(post.init!.body)), headers: post.init!.headers as Record<string, string> } : null;
  };

  it("shows the form instead of the pre-chat form when closed, and confirms", async () => {
    const nextOpen = new Date(Date.now() + 3600_000);
    status = { ...status, open: false, accepting: false, reason: "closed", next_open: nextOpen.toISOString() };
    act(() => render(<App slug="sales" page="https://shop.example/p" storage={new MemoryStore()} embedded />, root));
    await flush();
    expect($('[data-testid="unavailable"]')?.textContent).toMatch(/^We're closed right now, back (at|on) .*\d\d:\d\d\.$/);
    expect(byText("button", "Start chat")).toBeNull();
    expect(document.activeElement).toBe(labelled("Name"));
    labelled("Name")!.value = XSS;
    labelled("Email")!.value = "dana@example.com";
    (labelled("Your message") as unknown as HTMLTextAreaElement).value = "Call me";
    act(() => byText("button", "Send message")!.click());
    await flush();
    await flush();
    expect(sentMessage()!.body).toEqual({ name: XSS, email: "dana@example.com", message: "Call me", page: "https://shop.example/p" });
    expect(sentMessage()!.headers["X-Visitor-Token"]).toBeUndefined();
    expect($('[data-testid="message-sent"]')?.textContent).toContain("Your message was sent");
    expect(root.querySelector("img")).toBeNull();
  });

  it("switches to the form, prefilled, when opening the chat is refused", async () => {
    chats = () =>
      new Response(
        JSON.stringify({ error: { code: "unavailable", message: "nobody", details: { reason: "queue_full" } } }),
        { status: 409 },
      );
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    labelled("Name")!.value = "Dana";
    labelled("Email")!.value = "dana@example.com";
    act(() => byText("button", "Start chat")!.click());
    await flush();
    await flush();
    expect($('[data-testid="unavailable"]')?.textContent).toBe("All our agents are busy right now.");
    expect(labelled("Name")!.value).toBe("Dana");
    expect(labelled("Email")!.value).toBe("dana@example.com");
    expect(document.activeElement).toBe(labelled("Your message"));
  });

  it("offers the form after a wait that timed out, linked to the chat", async () => {
    const store = new MemoryStore();
    store.setItem(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "tok" }));
    act(() => render(<App slug="sales" page="" storage={store} embedded />, root));
    await flush();
    const ws = FakeSocket.all[0];
    act(() => ws.open());
    act(() => {
      ws.push({ type: "conversation", conversation: conversation() });
      ws.push({ type: "queue", conversation_id: CID, status: "waiting", position: 3, estimated_wait_secs: 240 });
      ws.push({ type: "synced" });
    });
    expect($('[data-testid="queue-position"]')?.textContent).toBe("You are number 3 in the queue (about 4 min)");
    act(() => ws.push({ type: "queue", conversation_id: CID, status: "expired", position: null }));
    expect($('[data-testid="ended"]')).not.toBeNull();
    expect(labelled("Name")!.value).toBe("Dana");
    expect(labelled("Email")!.value).toBe("dana@example.com");
    (labelled("Your message") as unknown as HTMLTextAreaElement).value = "Please call";
    act(() => byText("button", "Send message")!.click());
    await flush();
    await flush();
    expect(sentMessage()!.headers["X-Visitor-Token"]).toBe("tok");
    expect($('[data-testid="message-sent"]')).not.toBeNull();
  });
});
