import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { ClientEvent, PendingMessage } from "../shared/client";
import type { Conversation, Entry, ServerMessage } from "../shared/protocol";
import { FakeSocket, MemoryStore } from "../shared/testing";
import { App, Log } from "./app";
import {
  type ChatState,
  agentName,
  authorKind,
  chatKey,
  initialState,
  insertEntry,
  loadChat,
  phase,
  reasonText,
  reduce,
  systemText,
  transcriptText,
  visiblePending,
} from "./state";

const CID = "c".repeat(32);
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

const queued = (seq = 1) => entry(seq, { kind: "queued", author: null, body: { workgroup_id: 1 } });
const joined = (seq: number, name = "Alice", key = "user:1") =>
  entry(seq, { kind: "joined", author: key, body: { name, role: "agent" } });
const ended = (seq: number, reason = "ended", author: string | null = "visitor") =>
  entry(seq, { kind: "ended", author, body: { reason } });

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
    metadata: { name: "Dana", email: "dana@example.com", question: "Do you ship to Norway?", page: "" },
    participants: [{ key: "visitor", role: "visitor", name: "Dana", present: true }],
    ...over,
  };
}

const server = (message: ServerMessage): ClientEvent => ({ type: "server", message });
const ev = (e: Entry, conversationId = CID): ClientEvent => ({ type: "entry", conversationId, entry: e });

function run(...events: ClientEvent[]): ChatState {
  return events.reduce(reduce, initialState(CID, null));
}

describe("reduce", () => {
  it("drops its copy when the server knows another history (reset)", () => {
    const s = run(ev(queued(1)), ev(joined(2)), ev(ended(3)), { type: "reset", conversationId: CID });
    expect(s.entries).toEqual([]);
    expect(s.ended).toBeNull();
    const again = [ev(entry(1, { body: { text: "restored" } }))].reduce(reduce, s);
    expect(again.entries.map((e) => e.body.text)).toEqual(["restored"]);
  });

  it("keeps entries in seq order, each once", () => {
    const s = run(ev(entry(3)), ev(entry(1)), ev(entry(2)), ev(entry(2, { body: { text: "again" } })));
    expect(s.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(s.entries[1].body.text).toBe("again");
    expect(insertEntry([entry(1), entry(5)], entry(3)).map((e) => e.seq)).toEqual([1, 3, 5]);
  });

  it("ignores entries of another conversation", () => {
    const s = run(ev(entry(1), "d".repeat(32)));
    expect(s.entries).toEqual([]);
  });

  it("shows pending messages until their entry is held", () => {
    const pending: PendingMessage[] = [
      { clientId: "a", conversationId: CID, text: "first" },
      { clientId: "b", conversationId: CID, text: "second" },
      { clientId: "z", conversationId: "d".repeat(32), text: "elsewhere" },
    ];
    let s = run({ type: "outbox", pending });
    expect(s.pending.map((p) => p.clientId)).toEqual(["a", "b"]);
    expect(visiblePending(s).map((p) => p.text)).toEqual(["first", "second"]);
    // The entry arrives just before its ack: not shown twice.
    s = reduce(s, ev(entry(2, { client_id: "a", body: { text: "first" } })));
    expect(visiblePending(s).map((p) => p.text)).toEqual(["second"]);
    s = reduce(s, { type: "outbox", pending: [pending[1]] });
    expect(visiblePending(s).map((p) => p.text)).toEqual(["second"]);
    // An agent's message with the same client id does not hide ours.
    s = reduce(s, ev(entry(3, { author: "user:1", client_id: "b" })));
    expect(visiblePending(s).map((p) => p.text)).toEqual(["second"]);
  });

  it("follows the queue, then the agent joining", () => {
    let s = run(server({ type: "conversation", conversation: conversation() }), ev(queued()));
    s = reduce(s, server({ type: "queue", conversation_id: CID, status: "waiting", position: 3 }));
    expect(phase(s)).toBe("waiting");
    expect(s.position).toBe(3);
    s = reduce(s, server({ type: "queue", conversation_id: CID, status: "waiting", position: 1 }));
    expect(s.position).toBe(1);
    s = reduce(s, ev(joined(2)));
    expect(phase(s)).toBe("active");
    expect(s.position).toBeNull();
    expect(s.conversation?.status).toBe("active");
    expect(agentName(s.conversation, s.entries)).toBe("Alice");
    s = reduce(s, server({ type: "queue", conversation_id: CID, status: "accepted", position: null }));
    expect(phase(s)).toBe("active");
  });

  it("shows typing until active=false or that participant's message", () => {
    let s = run(ev(joined(2)));
    s = reduce(s, server({ type: "typing", conversation_id: CID, participant: "user:1", name: "Alice", active: true }));
    expect(s.typing).toEqual({ participant: "user:1", name: "Alice" });
    s = reduce(s, ev(entry(3, { author: "visitor" })));
    expect(s.typing).not.toBeNull(); // someone else's message
    s = reduce(s, ev(entry(4, { author: "user:1" })));
    expect(s.typing).toBeNull();
    s = reduce(s, server({ type: "typing", conversation_id: CID, participant: "user:1", name: "Alice", active: true }));
    s = reduce(s, server({ type: "typing", conversation_id: CID, participant: "user:2", name: "Bob", active: false }));
    expect(s.typing).not.toBeNull(); // not the one typing
    s = reduce(s, server({ type: "typing", conversation_id: CID, participant: "user:1", name: "Alice", active: false }));
    expect(s.typing).toBeNull();
    s = reduce(s, server({ type: "typing", conversation_id: CID, participant: "user:1", name: "Alice", active: true }));
    expect(reduce(s, { type: "clear_typing" }).typing).toBeNull();
  });

  it("ends on an ended entry, with its reason", () => {
    let s = run(server({ type: "conversation", conversation: conversation() }), ev(queued()), ev(joined(2)));
    s = reduce(s, server({ type: "typing", conversation_id: CID, participant: "user:1", name: "Alice", active: true }));
    s = reduce(s, ev(ended(3, "ended", "user:1")));
    expect(phase(s)).toBe("ended");
    expect(s.ended).toBe("ended");
    expect(s.typing).toBeNull();
    expect(s.conversation?.participants.every((p) => !p.present)).toBe(true);
    expect(run(ev(queued()), ev(ended(2, "cancelled", null))).ended).toBe("cancelled");
    expect(run(ev(queued()), ev(ended(2, "expired", null))).ended).toBe("expired");
  });

  it("ends on queue expired/cancelled even before the entry", () => {
    const s = run(server({ type: "queue", conversation_id: CID, status: "expired", position: null }));
    expect(phase(s)).toBe("ended");
    expect(s.ended).toBe("expired");
    // The entry that follows keeps the same reason.
    expect(reduce(s, ev(ended(2, "expired", null))).ended).toBe("expired");
  });

  it("takes an ended conversation from the snapshot (a reload after the end)", () => {
    const s = run(server({ type: "conversation", conversation: conversation({ status: "ended", end_reason: "expired" }) }));
    expect(phase(s)).toBe("ended");
    expect(s.ended).toBe("expired");
  });

  it("tracks the connection and the first sync", () => {
    let s = run({ type: "status", status: "connecting" });
    expect(s.synced).toBe(false);
    s = reduce(s, server({ type: "synced" }));
    s = reduce(s, { type: "status", status: "online" });
    expect(s.synced).toBe(true);
    expect(reduce(s, { type: "status", status: "offline" }).connection).toBe("offline");
    expect(reduce(s, { type: "stopped", code: "unauthenticated", error: "x" }).stopped).toBe(true);
  });

  it("reports messages that could not be sent", () => {
    const s = run({ type: "failed", message: { clientId: "a", conversationId: CID, text: "x" }, code: "too_long", error: "too long" });
    expect(s.error).toContain("too long");
    expect(s.error).toContain("“x”"); // the words are not lost
    expect(reduce(s, { type: "clear_error" }).error).toBeNull();
  });

  it("reads the message limit from welcome", () => {
    const s = run(
      server({
        type: "welcome",
        session: { kind: "visitor", user_id: null, username: null, name: null, role: null, conversation_id: CID },
        node_id: "n",
        heartbeat_secs: 20,
        max_message_chars: 500,
        server_time: "2026-01-01T00:00:00Z",
      }),
    );
    expect(s.maxChars).toBe(500);
  });
});

describe("wording", () => {
  it("derives the agent's name", () => {
    expect(agentName(conversation(), [queued()])).toBeNull();
    expect(agentName(conversation(), [queued(), joined(2, "Bob", "user:2"), joined(3, "Alice")])).toBe("Alice");
    const withAgent = conversation({
      status: "active",
      participants: [
        { key: "visitor", role: "visitor", name: "Dana", present: true },
        { key: "user:1", role: "agent", name: "Alice", present: true },
      ],
    });
    expect(agentName(withAgent, [])).toBe("Alice"); // resumed after the joined entry
  });

  it("puts the end reason in words", () => {
    // The log's system line says "Chat ended"; the end panel does not say it again.
    expect(reasonText("ended")).toBe("Thank you for chatting with us.");
    expect(reasonText("expired")).toBe("No one could answer in time. Please try again later.");
    expect(reasonText("cancelled")).toBe("You left the queue.");
    expect(reasonText(null)).toBe("Thank you for chatting with us.");
  });

  it("names authors and system entries", () => {
    expect(authorKind(entry(1))).toBe("visitor");
    expect(authorKind(entry(1, { author: "user:1" }))).toBe("agent");
    expect(authorKind(joined(2))).toBe("system");
    expect(authorKind(ended(3))).toBe("system");
    expect(systemText(joined(2), null, [])).toBe("Alice joined");
    expect(systemText(ended(3), null, [])).toBe("Chat ended");
    expect(systemText(queued(), null, [])).toBeNull();
  });
});

describe("transcriptText", () => {
  it("lists every entry with its time and author's name", () => {
    const entries = [
      queued(),
      entry(2, { body: { text: "Hello?" } }),
      joined(3),
      entry(4, { author: "user:1", body: { text: `Yes.\nWe do. ${XSS}` } }),
      ended(5, "ended", "visitor"),
    ];
    const text = transcriptText(conversation(), entries, "Sales: chat transcript", (iso) => iso.slice(11, 19));
    expect(text).toBe(
      [
        "Sales: chat transcript",
        "Started: 10:15:00",
        "",
        "[10:15:02] Dana: Hello?",
        "[10:15:03] Alice joined",
        "[10:15:04] Alice: Yes.",
        `    We do. ${XSS}`,
        "[10:15:05] Chat ended",
        "",
      ].join("\n"),
    );
  });

  it("uses local date and time by default", () => {
    const text = transcriptText(null, [entry(1, { body: { text: "hi" }, created_at: "2026-03-02T10:15:00Z" })]);
    expect(text).toMatch(/^Chat transcript\n\n\[2026-03-0\d \d\d:\d\d\] You: hi\n$/);
  });
});

describe("loadChat", () => {
  it("reads a stored conversation, ignoring junk", () => {
    const store = new Map<string, string>();
    const s = { getItem: (k: string) => store.get(k) ?? null };
    expect(loadChat(s, "sales")).toBeNull();
    store.set(chatKey("sales"), "{not json");
    expect(loadChat(s, "sales")).toBeNull();
    store.set(chatKey("sales"), JSON.stringify({ conversationId: CID }));
    expect(loadChat(s, "sales")).toBeNull();
    store.set(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "t" }));
    expect(loadChat(s, "sales")).toEqual({ conversationId: CID, visitorToken: "t" });
    expect(loadChat(s, "support")).toBeNull();
  });
});

describe("rendering user text", () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  it("renders markup typed by people as text", () => {
    const state = {
      conversation: conversation({ metadata: { name: XSS, question: XSS } }),
      entries: [entry(2, { body: { text: XSS } }), entry(3, { author: "user:1", body: { text: XSS } }), joined(4, XSS)],
      pending: [{ clientId: "p", conversationId: CID, text: XSS }],
    };
    act(() => render(<Log state={state} />, root));
    expect(root.querySelector("img")).toBeNull();
    const messages = root.querySelectorAll('[data-testid="message"]');
    expect(messages).toHaveLength(4);
    expect(messages[0].textContent).toBe(XSS);
    expect(messages[1].textContent).toBe(XSS);
    expect(messages[2].textContent).toBe(`${XSS} joined`);
    expect(messages[3].textContent).toBe(XSS);
    expect(root.textContent).toContain(XSS);
  });

  it("marks entries and pending messages for the DOM contract", () => {
    const state = {
      conversation: conversation(),
      entries: [queued(), entry(2), joined(3), entry(4, { author: "user:1" }), ended(5)],
      pending: [{ clientId: "p", conversationId: CID, text: "later" }],
    };
    act(() => render(<Log state={state} />, root));
    const log = root.querySelector('[role="log"]')!;
    expect(log.getAttribute("aria-live")).toBe("polite");
    const rows = [...log.querySelectorAll<HTMLElement>('[data-testid="message"]')].map((el) => [
      el.dataset.seq ?? null,
      el.dataset.author,
      el.dataset.status,
      el.textContent,
    ]);
    expect(rows).toEqual([
      ["2", "visitor", "sent", "m2"],
      ["3", "system", "sent", "Alice joined"],
      ["4", "agent", "sent", "m4"],
      ["5", "system", "sent", "Chat ended"],
      [null, "visitor", "sending", "later"],
    ]);
  });
});

// The whole app against a fake server: REST through a stubbed fetch, the socket through a fake.



const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

describe("App", () => {
  let root: HTMLElement;
  let requests: { url: string; init?: RequestInit }[];
  let open: boolean;
  let fields: { name: string; label: string; required: boolean }[] = [];

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    requests = [];
    open = true;
    fields = [];
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      requests.push({ url, init });
      if (url.endsWith("/status")) {
        return new Response(
          JSON.stringify({ slug: "sales", name: "Sales", button_text: "Chat with Sales", open, form_fields: fields }),
        );
      }
      if (url.endsWith("/chats")) {
        return new Response(
          JSON.stringify({ conversation: conversation(), visitor_token: "tok", position: 2 }),
          { status: 201 },
        );
      }
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

  it("says so when nobody is available", async () => {
    open = false;
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    expect($('[data-testid="unavailable"]')?.textContent).toContain("Nobody is available right now.");
    // Instead of the pre-chat form, the leave-a-message form (see leaveMessage.test.tsx).
    expect(byText("button", "Start chat")).toBeNull();
    expect(byText("button", "Send message")).not.toBeNull();
  });

  it("asks the workgroup's extra fields and sends the answers", async () => {
    fields = [
      { name: "order_number", label: "Order number", required: true },
      { name: "product", label: "Product", required: false },
    ];
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    const order = labelled("Order number")!;
    expect(order.required).toBe(true);
    expect(labelled("Product")!.required).toBe(false);
    labelled("Name")!.value = "Dana";
    order.value = "A-17";
    act(() => byText("button", "Start chat")!.click());
    await flush();
    await flush();
    const post = requests.find((r) => r.url.endsWith("/chats"))!;
    expect(JSON.parse(String(post.init!.body)).extra).toEqual({ order_number: "A-17" });
  });

  it("opens a chat from the form, waits, chats and ends", async () => {
    const store = new MemoryStore();
    act(() => render(<App slug="sales" page="https://shop.example/p/42" storage={store} embedded />, root));
    await flush();
    const name = labelled("Name")!;
    expect(labelled("Email")!.type).toBe("email");
    expect(labelled("Question")).not.toBeNull();
    expect(document.activeElement).toBe(name);
    name.value = "Dana";
    labelled("Question")!.value = "Do you ship?";
    act(() => byText("button", "Start chat")!.click());
    await flush();
    await flush();

    const post = requests.find((r) => r.url.endsWith("/chats"))!;
    expect(JSON.parse(String(post.init!.body))).toEqual({
      name: "Dana",
      question: "Do you ship?",
      page: "https://shop.example/p/42",
      extra: {},
    });
    expect(JSON.parse(store.getItem(chatKey("sales"))!)).toEqual({ conversationId: CID, visitorToken: "tok" });
    expect($('[data-testid="queue-position"]')?.textContent).toBe("You are number 2 in the queue");
    const message = labelled("Message") as unknown as HTMLTextAreaElement;
    expect(document.activeElement).toBe(message);

    const ws = FakeSocket.all[0];
    expect(ws.url).toMatch(/^ws:\/\/.*\/ws$/);
    act(() => ws.open());
    expect(ws.sent[0]).toMatchObject({ type: "hello", visitor_token: "tok" });
    act(() => {
      ws.push({ type: "welcome", session: {}, node_id: "n", heartbeat_secs: 20, max_message_chars: 4000 });
      ws.push({ type: "conversation", conversation: conversation() });
      ws.push({ type: "entry", conversation_id: CID, entry: queued() });
      ws.push({ type: "queue", conversation_id: CID, status: "waiting", position: 1 });
      ws.push({ type: "synced" });
    });
    expect($('[data-testid="queue-position"]')?.textContent).toBe("You are number 1 in the queue");

    // Typing: true once, then false on send. Enter sends; the message shows as sending.
    act(() => {
      message.value = "Hello?";
      message.dispatchEvent(new Event("input", { bubbles: true }));
    });
    expect(ws.sent.filter((m) => m.type === "typing")).toEqual([{ type: "typing", conversation_id: CID, active: true }]);
    act(() => {
      message.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    });
    const send = ws.sent.find((m) => m.type === "send")!;
    expect(send).toMatchObject({ conversation_id: CID, text: "Hello?" });
    expect(ws.sent.filter((m) => m.type === "typing").map((m) => m.active)).toEqual([true, false]);
    expect($('[data-status="sending"]')?.textContent).toBe("Hello?");
    const stored = { seq: 2, kind: "message", author: "visitor", body: { text: "Hello?" }, client_id: send.client_id, created_at: "2026-03-02T10:15:02Z" };
    act(() => {
      // The sending connection gets one frame: the ack, which carries the entry.
      ws.push({ type: "ack", ref: send.ref, conversation_id: CID, entry: stored });
    });
    expect($('[data-status="sending"]')).toBeNull();
    expect($('[data-seq="2"]')?.dataset.status).toBe("sent");

    // An agent joins, types, writes.
    act(() => {
      ws.push({ type: "entry", conversation_id: CID, entry: joined(3) });
      ws.push({ type: "queue", conversation_id: CID, status: "accepted", position: null });
      ws.push({ type: "typing", conversation_id: CID, participant: "user:1", name: "Alice", active: true });
    });
    expect($('[data-testid="agent-name"]')?.textContent).toBe("Chatting with Alice");
    expect($('[data-testid="queue-position"]')).toBeNull();
    expect($('[data-testid="typing"]')?.textContent).toBe("Alice is typing…");
    act(() => ws.push({ type: "entry", conversation_id: CID, entry: entry(4, { author: "user:1", body: { text: XSS } }) }));
    expect($('[data-testid="typing"]')).toBeNull();
    expect(root.querySelector("img")).toBeNull();

    // The connection drops: "Reconnecting…".
    act(() => ws.onclose?.({ code: 1006, reason: "" }));
    expect($('[data-testid="connection-status"]')?.textContent).toBe("Reconnecting…");
    await act(async () => void (await new Promise((r) => setTimeout(r, 600))));
    const ws2 = FakeSocket.all[1];
    act(() => ws2.open());
    expect(ws2.sent[0]).toMatchObject({ type: "hello", cursors: { [CID]: 4 } });
    act(() => {
      ws2.push({ type: "conversation", conversation: conversation({ status: "active" }) });
      ws2.push({ type: "synced" });
    });
    expect($('[data-testid="connection-status"]')).toBeNull();

    // End chat.
    act(() => byText("button", "End chat")!.click());
    const end = ws2.sent.find((m) => m.type === "end")!;
    expect(end).toMatchObject({ conversation_id: CID });
    await act(async () => {
      ws2.push({ type: "entry", conversation_id: CID, entry: ended(5, "ended", "visitor") });
      ws2.push({ type: "ok", ref: end.ref });
    });
    const done = $('[data-testid="ended"]')!;
    expect(done.textContent).toContain("Thank you for chatting with us.");
    // "Chat ended" once (the log's system line), and the header says it is over.
    expect(root.textContent!.split("Chat ended").length - 1).toBe(1);
    expect($("header")?.dataset.phase).toBe("ended");
    expect($("h1")?.textContent).toBe("Your chat with Alice");
    expect($('[data-testid="agent-name"]')).toBeNull();
    const link = byText("a", "Download transcript") as HTMLAnchorElement;
    expect(link.getAttribute("href")).toBe("blob:transcript");
    expect(link.hasAttribute("download")).toBe(true);
    expect(labelled("Message")).toBeNull();

    // Start a new chat: the stored conversation is forgotten.
    act(() => byText("button", "Start a new chat")!.click());
    await flush();
    expect(store.getItem(chatKey("sales"))).toBeNull();
    expect(labelled("Name")).not.toBeNull();
  });

  it("resumes a stored conversation without the form", async () => {
    const store = new MemoryStore();
    store.setItem(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "tok" }));
    act(() => render(<App slug="sales" page="" storage={store} embedded />, root));
    await flush();
    expect(labelled("Name")).toBeNull();
    const ws = FakeSocket.all[0];
    act(() => ws.open());
    act(() => {
      ws.push({ type: "conversation", conversation: conversation({ status: "ended", end_reason: "expired" }) });
      ws.push({ type: "entry", conversation_id: CID, entry: queued() });
      ws.push({ type: "entry", conversation_id: CID, entry: ended(2, "expired", null) });
      ws.push({ type: "synced" });
    });
    expect($('[data-testid="ended"]')?.textContent).toContain("No one could answer in time. Please try again later.");
  });
});
