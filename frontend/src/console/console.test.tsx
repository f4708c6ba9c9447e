import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Conversation, Entry } from "../shared/protocol";
import { aConversation, FakeSocket } from "../shared/testing";
import { setFetcher } from "./api";
import { App } from "./App";
import { Chats, type ChatActions } from "./Chats";
import { Offers } from "./Offers";
import { initialState, reduce, type ConsoleState } from "./state";

const EVIL = "<img src=x onerror=alert(1)>";
const CID = "c".repeat(32);

function conversation(over: Partial<Conversation> = {}): Conversation {
  return aConversation({
    id: CID,
    metadata: {
      name: EVIL,
      email: "zoe@example.com",
      question: EVIL,
      page: "javascript:alert(1)",
      extra: { [EVIL]: EVIL },
    },
    participants: [
      { key: "visitor", role: "visitor", name: EVIL, present: true },
      { key: "user:1", role: "agent", name: "Alice", present: true },
    ],
    ...over,
  });
}

function msg(seq: number, text: string, author = "visitor", over: Partial<Entry> = {}): Entry {
  return {
    seq,
    kind: "message",
    author,
    body: { text },
    client_id: null,
    created_at: "2026-03-02T10:15:00Z",
    ...over,
  };
}

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
});

const noop: ChatActions = {
  select: () => undefined,
  close: () => undefined,
  send: () => undefined,
  typing: () => undefined,
  request: async () => ({ type: "ok", ref: null }),
  dismissFailed: () => undefined,
};

function chatState(): ConsoleState {
  let s = initialState(1);
  s = reduce(s, { type: "server", message: { type: "conversation", conversation: conversation() } });
  s = reduce(s, { type: "entry", conversationId: CID, entry: msg(1, EVIL) });
  s = reduce(s, { type: "entry", conversationId: CID, entry: msg(2, "hello", "user:1") });
  s = reduce(s, { type: "outbox", pending: [{ clientId: "p1", conversationId: CID, text: EVIL }] });
  return s;
}

describe("rendering user text", () => {
  it("renders a hostile customer name and message as text, never as HTML", () => {
    act(() => render(<Chats state={chatState()} actions={noop} workgroupName={() => "Sales"} />, root));
    expect(root.querySelector("img")).toBeNull();
    const tab = root.querySelector('[role="tab"]')!;
    expect(tab.textContent).toContain(EVIL);
    const messages = root.querySelectorAll('[data-testid="message"]');
    expect(messages).toHaveLength(3);
    expect(messages[0].getAttribute("data-author")).toBe("visitor");
    expect(messages[0].getAttribute("data-seq")).toBe("1");
    expect(messages[0].textContent).toContain(EVIL);
    expect(messages[1].getAttribute("data-author")).toBe("agent");
    expect(messages[2].getAttribute("data-status")).toBe("sending");
    expect(messages[2].hasAttribute("data-seq")).toBe(false);
    const details = root.querySelector('[data-testid="customer-details"]')!;
    expect(details.textContent).toContain(EVIL);
    expect(details.textContent).toContain("Sales");
    // A visitor-supplied javascript: URL is not a link.
    expect(details.querySelector("a")).toBeNull();
    expect(root.querySelector('[role="log"]')?.getAttribute("aria-live")).toBe("polite");
  });

  it("renders a hostile offer as text, with its countdown", () => {
    const offers = [
      {
        offer: {
          offer_id: `${CID}.1`,
          conversation_id: CID,
          workgroup_id: 1,
          offered_at: "2026-03-02T10:15:00Z",
          expires_at: "2026-03-02T10:15:30Z",
          metadata: conversation().metadata,
        },
        receivedAt: Date.now(),
      },
    ];
    act(() =>
      render(
        <Offers
          offers={offers}
          workgroupName={() => "Sales"}
          request={async () => ({ type: "ok", ref: null })}
          onAccepted={() => undefined}
        />,
        root,
      ),
    );
    expect(root.querySelector("img")).toBeNull();
    const card = root.querySelector('[data-testid="offer"]')!;
    expect(card.textContent).toContain(EVIL);
    expect(card.textContent).toContain("Sales");
    expect(Number(root.querySelector('[data-testid="offer-countdown"]')!.textContent)).toBeGreaterThanOrEqual(29);
  });
});

// An end-to-end run of the app against a fake server: fetch and WebSocket stubbed.


const flush = async () => {
  for (let i = 0; i < 5; i++) await act(async () => await Promise.resolve());
};

describe("the console app", () => {
  const calls: { method: string; url: string; headers: Record<string, string> }[] = [];
  beforeEach(() => {
    calls.length = 0;
    localStorage.clear();
    vi.stubGlobal("WebSocket", FakeSocket);
    let loggedIn = false;
    setFetcher(async (input, init) => {
      const url = String(input);
      const method = init?.method ?? "GET";
      calls.push({ method, url, headers: (init?.headers ?? {}) as Record<string, string> });
      const json = (status: number, body: unknown) =>
        new Response(body === null ? null : JSON.stringify(body), { status });
      const session = {
        user: { id: 1, username: "alice", display_name: "Alice", role: "agent" },
        csrf_token: "tok",
      };
      if (url.endsWith("/auth/me")) {
        return loggedIn
          ? json(200, session)
          : json(401, { error: { code: "unauthenticated", message: "log in" } });
      }
      if (url.endsWith("/auth/login")) {
        const body = JSON.parse(String(init?.body)) as { password: string };
        if (body.password !== "demo") {
          return json(401, { error: { code: "unauthenticated", message: "bad credentials" } });
        }
        loggedIn = true;
        return json(200, session);
      }
      if (url.endsWith("/auth/logout")) return new Response(null, { status: 204 });
      if (url.endsWith("/admin/workgroups")) {
        return json(200, [
          { id: 1, slug: "sales", name: "Sales", button_text: "", offer_timeout_secs: 30, wait_timeout_secs: 300, max_chats: 3, members: ["alice"] },
        ]);
      }
      return json(404, { error: { code: "not_found", message: "no" } });
    });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const input = (el: Element, value: string) => {
    act(() => {
      (el as HTMLInputElement).value = value;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
  };
  const button = (name: string) =>
    [...root.querySelectorAll("button")].find((b) => b.textContent?.trim() === name)!;

  it("logs in, takes an offer, chats, and logs out", async () => {
    act(() => render(<App />, root));
    await flush();
    // Login, with an error first.
    const [user, pass] = [...root.querySelectorAll("input")];
    expect(root.querySelector('label[for="login-username"]')?.textContent).toBe("Username");
    input(user, "alice");
    input(pass, "nope");
    await act(async () => button("Log in").click());
    await flush();
    expect(root.querySelector('[role="alert"]')?.textContent).toMatch(/Wrong/);
    input(pass, "demo");
    await act(async () => button("Log in").click());
    await flush();
    await flush(); // the staff IM list is asked for before the socket opens

    const ws = FakeSocket.last!;
    expect(ws.url).toMatch(/\/ws$/);
    act(() => ws.open());
    expect(ws.sent[0]).toEqual({ type: "hello", cursors: {} });
    act(() => {
      ws.push({
        type: "welcome",
        session: { kind: "staff", user_id: 1, username: "alice", name: "Alice", role: "agent", conversation_id: null },
        node_id: "n1",
        heartbeat_secs: 20,
        max_message_chars: 4000,
    server_time: "2026-01-01T00:00:00Z",
      });
      ws.push({ type: "presence", user_id: 1, presence: "available", status_text: "" });
      ws.push({
        type: "offer",
        offer: {
          offer_id: `${CID}.1`,
          conversation_id: CID,
          workgroup_id: 1,
          offered_at: "2026-03-02T10:15:00Z",
          expires_at: "2026-03-02T10:15:30Z",
          metadata: { name: "Zoe", email: "zoe@example.com", question: "Norway?", page: "https://x.example/", extra: {} },
        },
      });
      ws.push({ type: "synced" });
    });
    await flush();
    expect(root.querySelector('[data-testid="connection-status"]')?.textContent).toBe("Connected");
    expect((root.querySelector("#presence-select") as HTMLSelectElement).value).toBe("available");
    const offerCard = root.querySelector('[data-testid="offer"]')!;
    expect(offerCard.textContent).toContain("Norway?");
    expect(offerCard.textContent).toContain("Sales");

    // Accept: the reply comes after offer_ended and the conversation.
    await act(async () => button("Accept").click());
    const accept = ws.sent.find((m) => m.type === "accept_offer")!;
    expect(accept.offer_id).toBe(`${CID}.1`);
    act(() => {
      ws.push({ type: "offer_ended", offer_id: `${CID}.1`, reason: "accepted" });
      ws.push({
        type: "conversation",
        conversation: conversation({ metadata: { name: "Zoe" }, last_seq: 3 }),
      });
      ws.push({ type: "entry", conversation_id: CID, entry: { ...msg(1, ""), kind: "queued", author: null, body: {} } });
      ws.push({ type: "entry", conversation_id: CID, entry: msg(2, "Hello?") });
      ws.push({
        type: "entry",
        conversation_id: CID,
        entry: { ...msg(3, ""), kind: "joined", author: "user:1", body: { name: "Alice", role: "agent" } },
      });
      ws.push({ type: "ok", ref: accept.ref });
    });
    await flush();
    expect(root.querySelector('[data-testid="offer"]')).toBeNull();
    const tab = root.querySelector('[role="tab"]')!;
    expect(tab.textContent).toContain("Zoe");
    expect(tab.getAttribute("aria-selected")).toBe("true");
    const lines = [...root.querySelectorAll('[role="log"] [data-testid="message"]')].map((e) => e.textContent);
    expect(lines[0]).toContain("Zoe is waiting");
    expect(lines[1]).toContain("Hello?");
    expect(lines[2]).toContain("Alice joined");

    // Typing from the visitor.
    act(() => ws.push({ type: "typing", conversation_id: CID, participant: "visitor", name: "Zoe", active: true }));
    await flush();
    expect(root.querySelector('[data-testid="typing"]')?.textContent).toBe("Zoe is typing…");

    // Enter sends; the message shows as sending until acknowledged.
    const textarea = root.querySelector("textarea")!;
    expect(root.querySelector(`label[for="${textarea.id}"]`)?.textContent).toBe("Message");
    input(textarea, "Yes, we do.");
    act(() => {
      textarea.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    });
    await flush();
    expect(ws.sent.some((m) => m.type === "typing" && m.active === true)).toBe(true);
    const send = ws.sent.find((m) => m.type === "send")!;
    expect(send.text).toBe("Yes, we do.");
    expect(ws.sent.filter((m) => m.type === "typing").map((m) => m.active)).toEqual([true, false]);
    expect(root.querySelector('[data-status="sending"]')?.textContent).toContain("Yes, we do.");
    const stored = msg(4, "Yes, we do.", "user:1", { client_id: String(send.client_id) });
    act(() => {
      // The sending connection gets one frame: the ack, which carries the entry.
      ws.push({ type: "ack", ref: send.ref, conversation_id: CID, entry: stored });
    });
    await flush();
    expect(root.querySelector('[data-status="sending"]')).toBeNull();
    const mine = root.querySelector('[data-seq="4"]')!;
    expect(mine.getAttribute("data-author")).toBe("agent");

    // Going offline after the first sync shows the banner.
    act(() => ws.onclose?.({ code: 1006, reason: "" }));
    await flush();
    expect(root.querySelector('[data-testid="connection-status"]')?.textContent).toBe(
      "Connection lost, reconnecting…",
    );

    // Log out with the CSRF token.
    await act(async () => button("Log out").click());
    await flush();
    const logout = calls.find((c) => c.url.endsWith("/auth/logout"))!;
    expect(logout.method).toBe("POST");
    expect(logout.headers["X-CSRF-Token"]).toBe("tok");
    expect(button("Log in")).toBeTruthy();
  });
});
