// The console for an eight-hour shift: the chat list beside the tabs (last message, how long the
// customer waits, "left"), the empty screen's advice, the keyboard shortcuts and their help,
// extra fields by their labels, and the note box cleared when a helper becomes the owner.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Conversation, Entry, ServerMessage } from "../shared/protocol";
import { aConversation } from "../shared/testing";
import { setFetcher } from "./api";
import { lastMessage, snippet, waitingSince } from "./ChatList";
import { Chats, emptyAdvice, type ChatActions } from "./Chats";
import { CustomerDetails, fieldLabel } from "./CustomerDetails";
import { cycle, shortcutOf } from "./shortcuts";
import { ShortcutsHelp } from "./ShortcutsHelp";
import { initialState, reduce, type ConsoleState } from "./state";

const CID = "c".repeat(32);
const OTHER = "d".repeat(32);
const server = (s: ConsoleState, message: ServerMessage) => reduce(s, { type: "server", message });

function entry(seq: number, over: Partial<Entry> = {}): Entry {
  return { seq, kind: "message", author: "visitor", body: { text: "hi" }, client_id: null, created_at: "2026-03-02T10:00:00Z", ...over };
}

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  setFetcher(async () => new Response(JSON.stringify({ error: { code: "not_found", message: "no" } }), { status: 404 }));
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
});

const actions = (over: Partial<ChatActions> = {}): ChatActions => ({
  select: () => undefined,
  close: () => undefined,
  send: () => undefined,
  typing: () => undefined,
  request: async () => ({ type: "ok", ref: null }),
  dismissFailed: () => undefined,
  ...over,
});

describe("the chat list", () => {
  it("knows each chat's last message and since when the customer waits", () => {
    const log = [
      entry(1, { kind: "queued", author: null, body: {} }),
      entry(2, { created_at: "2026-03-02T10:00:00Z", body: { text: "Hello?" } }),
      entry(3, { created_at: "2026-03-02T10:01:00Z", body: { text: "Anyone?" } }),
    ];
    expect(lastMessage(log)?.body.text).toBe("Anyone?");
    expect(waitingSince(log)).toBe("2026-03-02T10:00:00Z");
    const noted = [...log, entry(4, { kind: "note", author: "user:1", body: { text: "checking" } })];
    expect(waitingSince(noted)).toBe("2026-03-02T10:00:00Z"); // a note is no answer
    const answered = [...noted, entry(5, { author: "user:1", body: { text: "Here!" } })];
    expect(waitingSince(answered)).toBeNull();
    expect(snippet("a  b\nc")).toBe("a b c");
    expect(snippet("x".repeat(100))).toHaveLength(60);
  });

  it("lists the chats beside the tabs, with the wait and a customer who left", () => {
    let s = initialState(1);
    const recent = new Date(Date.now() - 125_000).toISOString();
    s = server(s, { type: "conversation", conversation: aConversation({ id: CID, metadata: { name: "Zoe" } }) });
    s = server(s, { type: "conversation", conversation: aConversation({ id: OTHER, metadata: { name: "Yan" } }) });
    s = reduce(s, { type: "entry", conversationId: CID, entry: entry(3, { created_at: recent, body: { text: "Where is my order?" } }) });
    s = reduce(s, { type: "entry", conversationId: OTHER, entry: entry(3, { author: "user:1", body: { text: "Done." } }) });
    s = reduce(s, { type: "entry", conversationId: OTHER, entry: entry(4, { kind: "away", author: null, body: { ends_in_secs: 300 } }) });
    const selected: string[] = [];
    act(() => render(<Chats state={s} actions={actions({ select: (id) => void selected.push(id) })} workgroupName={() => "Sales"} />, root));
    const items = [...root.querySelectorAll('[data-testid="chat-list-item"]')];
    expect(items).toHaveLength(2);
    const zoe = items.find((i) => i.textContent?.includes("Zoe"))!;
    expect(zoe.textContent).toContain("Where is my order?");
    expect(zoe.querySelector('[data-testid="waited"]')!.textContent).toBe("waiting 2 min");
    const yan = items.find((i) => i.textContent?.includes("Yan"))!;
    expect(yan.textContent).toContain("You: Done.");
    expect(yan.querySelector('[data-testid="customer-left"]')).not.toBeNull();
    expect(yan.querySelector('[data-testid="waited"]')).toBeNull();
    act(() => (yan as HTMLButtonElement).click());
    expect(selected).toEqual([OTHER]);
  });
});

describe("the empty screen", () => {
  it("never says to set the presence while an offer is showing", () => {
    expect(emptyAdvice(true, "offline")).toBe("A chat is offered to you above: accept it to open it here.");
    expect(emptyAdvice(false, "available")).toContain("You are available");
    expect(emptyAdvice(false, "away")).toContain("Set your presence to Available");
    act(() => render(<Chats state={initialState(1)} actions={actions()} workgroupName={() => undefined} offerShowing presence="offline" />, root));
    expect(root.querySelector('[data-testid="empty-advice"]')!.textContent).not.toContain("presence");
  });
});

describe("keyboard shortcuts", () => {
  const key = (init: KeyboardEventInit, target?: HTMLElement) => {
    const e = new KeyboardEvent("keydown", { bubbles: true, ...init });
    if (target) Object.defineProperty(e, "target", { value: target });
    return e;
  };
  it("maps Alt letters and ? (outside a text field) to actions", () => {
    expect(shortcutOf(key({ altKey: true, code: "KeyA", key: "å" }))).toBe("accept");
    expect(shortcutOf(key({ altKey: true, code: "KeyN", key: "n" }))).toBe("next_chat");
    expect(shortcutOf(key({ altKey: true, code: "KeyK", key: "k" }))).toBe("canned");
    expect(shortcutOf(key({ altKey: true, ctrlKey: true, code: "KeyA", key: "a" }))).toBeNull();
    expect(shortcutOf(key({ key: "?" }, document.body))).toBe("help");
    expect(shortcutOf(key({ key: "?" }, document.createElement("textarea")))).toBeNull();
    expect(shortcutOf(key({ key: "a" }))).toBeNull();
  });
  it("cycles through the chats", () => {
    expect(cycle(["a", "b", "c"], "c", 1)).toBe("a");
    expect(cycle(["a", "b", "c"], "a", -1)).toBe("c");
    expect(cycle(["a", "b"], null, 1)).toBe("a");
    expect(cycle([], null, 1)).toBeNull();
  });
  it("lists them in the help dialog, closed by Escape", () => {
    let closed = false;
    act(() => render(<ShortcutsHelp onClose={() => (closed = true)} />, root));
    const dialog = root.querySelector('[role="dialog"]')!;
    expect(dialog.textContent).toContain("Alt+A");
    expect(dialog.textContent).toContain("Accept the oldest offer");
    expect(dialog.textContent).toContain("Alt+N");
    expect(dialog.textContent).toContain("Search canned responses");
    act(() => {
      dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    });
    expect(closed).toBe(true);
  });
});

describe("extra fields", () => {
  it("show their labels, not their keys", () => {
    const conv: Conversation = aConversation({
      id: CID,
      metadata: { name: "Zoe", extra: { order_no: "A-17", old: "x" }, extra_labels: { order_no: "Order number" } },
    });
    expect(fieldLabel(conv.metadata, "order_no")).toBe("Order number");
    expect(fieldLabel(conv.metadata, "old")).toBe("old"); // a chat from before labels were kept
    act(() => render(<CustomerDetails conversation={conv} />, root));
    const terms = [...root.querySelectorAll("dt")].map((d) => d.textContent);
    expect(terms).toContain("Order number");
    expect(terms).not.toContain("order_no");
  });
});

describe("a helper who becomes the owner", () => {
  it("finds the private note box cleared", async () => {
    const helper = aConversation({
      id: CID,
      participants: [
        { key: "visitor", role: "visitor", name: "Zoe", present: true },
        { key: "user:1", role: "agent", name: "Alice", present: true },
        { key: "user:2", role: "helper", name: "Bob", present: true },
      ],
    });
    let bob = server(initialState(2), { type: "conversation", conversation: helper });
    const draw = (s: ConsoleState) => act(() => render(<Chats state={s} actions={actions()} workgroupName={() => "Sales"} />, root));
    draw(bob);
    const toggle = [...root.querySelectorAll("label")].find((l) => l.textContent?.includes("Private note"))!.querySelector("input")!;
    await act(async () => toggle.click());
    const box = root.querySelector("form.composer textarea") as HTMLTextAreaElement;
    await act(async () => {
      box.value = "only for Alice";
      box.dispatchEvent(new Event("input", { bubbles: true }));
    });
    expect(root.querySelector("form.composer.private")).not.toBeNull();
    // Alice leaves; Bob is the chat's agent now.
    bob = server(bob, {
      type: "conversation",
      conversation: {
        ...helper,
        participants: [
          { key: "visitor", role: "visitor", name: "Zoe", present: true },
          { key: "user:1", role: "agent", name: "Alice", present: false },
          { key: "user:2", role: "agent", name: "Bob", present: true },
        ],
      },
    });
    draw(bob);
    await act(async () => await Promise.resolve());
    expect(root.querySelector("form.composer.private")).toBeNull();
    expect((root.querySelector("form.composer textarea") as HTMLTextAreaElement).value).toBe("");
  });
});
