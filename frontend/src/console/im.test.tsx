import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Conversation, Entry } from "../shared/protocol";
import { aConversation } from "../shared/testing";
import {
  imList,
  imTitle,
  imUnreadTotal,
  initialImState,
  mentionParts,
  readToSend,
  reduceIm,
  type ImAction,
  type ImState,
} from "./im";
import { ImView, type ImActions } from "./ImView";
import { SendFailures } from "./SendFailures";

const EVIL = "<img src=x onerror=alert(1)>";
const DM = "d".repeat(32);
const ROOM = "r".repeat(32);

function dm(over: Partial<Conversation> = {}): Conversation {
  return aConversation({
    id: DM,
    kind: "direct",
    status: "active",
    workgroup_id: null,
    last_seq: 2,
    metadata: {},
    participants: [
      { key: "user:1", role: "member", name: "Alice", present: true },
      { key: "user:2", role: "member", name: "Bob", present: true },
    ],
    room: null,
    ...over,
  });
}

function room(over: Partial<Conversation> = {}): Conversation {
  return dm({
    id: ROOM,
    kind: "room",
    room: { name: "general", topic: "all things", visibility: "open", customer_conversation_id: null },
    ...over,
  });
}

function msg(seq: number, text: string, author = "user:2", created = "2026-03-02T10:15:00Z"): Entry {
  return { seq, kind: "message", author, body: { text }, client_id: null, created_at: created };
}

function run(state: ImState, ...actions: ImAction[]): ImState {
  return actions.reduce(reduceIm, state);
}

const listed = (conversation: Conversation, unread = 0, read_seq = 0) => ({
  type: "im_loaded" as const,
  items: [{ conversation, unread, read_seq, last_entry: null }],
});

describe("the staff IM reducer", () => {
  it("takes unread counts from the list, then counts live messages of others", () => {
    let s = run(initialImState(1), listed(dm({ last_seq: 4 }), 2, 2));
    expect(s.convs[DM].unread).toBe(2);
    // A live entry already counted by the list (seq <= last_seq) is not counted again.
    s = run(s, { type: "entry", conversationId: DM, entry: msg(4, "old") });
    expect(s.convs[DM].unread).toBe(2);
    s = run(s, { type: "entry", conversationId: DM, entry: msg(5, "new") });
    expect(s.convs[DM].unread).toBe(3);
    // My own message is never unread.
    s = run(s, { type: "entry", conversationId: DM, entry: msg(6, "mine", "user:1") });
    expect(s.convs[DM].unread).toBe(3);
    expect(imUnreadTotal(s)).toBe(3);
    expect(s.convs[DM].conversation.last_seq).toBe(6);
  });

  it("a conversation on screen stays read, and says which read marker to send", () => {
    let s = run(initialImState(1), listed(dm({ last_seq: 3 }), 1, 2));
    expect(readToSend(s.convs[DM])).toBe(3);
    s = run(s, { type: "im_visible", ids: [DM] });
    expect(s.convs[DM].unread).toBe(0);
    s = run(s, { type: "entry", conversationId: DM, entry: msg(4, "hi") });
    expect(s.convs[DM].unread).toBe(0);
    expect(readToSend(s.convs[DM])).toBe(4);
    s = run(s, { type: "im_read", conversationId: DM, readSeq: 4, unread: 0 });
    expect(readToSend(s.convs[DM])).toBeNull();
    // Off screen again: new messages count.
    s = run(s, { type: "im_visible", ids: [] }, { type: "entry", conversationId: DM, entry: msg(5, "x") });
    expect(s.convs[DM].unread).toBe(1);
  });

  it("a DM someone opens with me arrives by the socket and counts from seq 1", () => {
    let s = run(initialImState(1), { type: "server", message: { type: "conversation", conversation: dm({ last_seq: 3 }) } });
    s = run(
      s,
      { type: "entry", conversationId: DM, entry: { ...msg(1, ""), kind: "joined" } },
      { type: "entry", conversationId: DM, entry: msg(3, "hello Alice") },
    );
    expect(s.convs[DM].unread).toBe(1);
    expect(imTitle(s.convs[DM].conversation, "user:1")).toBe("Bob");
  });

  it("ignores customer chats", () => {
    const s = run(initialImState(1), {
      type: "server",
      message: { type: "conversation", conversation: aConversation({ id: "c".repeat(32) }) },
    });
    expect(Object.keys(s.convs)).toEqual([]);
  });

  it("pages history back, merging with live entries, each seq once", () => {
    let s = run(initialImState(1), listed(room({ last_seq: 120 })));
    s = run(s, { type: "entry", conversationId: ROOM, entry: msg(121, "live") });
    const page = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i, `m${from + i}`));
    s = run(s, { type: "im_history", conversationId: ROOM, entries: page(72, 121), limit: 50 });
    expect(s.convs[ROOM].entries.map((e) => e.seq)).toEqual(page(72, 121).map((e) => e.seq));
    expect(s.convs[ROOM].hasMore).toBe(true);
    s = run(s, { type: "im_history", conversationId: ROOM, entries: page(22, 71), limit: 50 });
    s = run(s, { type: "im_history", conversationId: ROOM, entries: page(1, 21), limit: 50 });
    expect(s.convs[ROOM].entries).toHaveLength(121);
    expect(s.convs[ROOM].hasMore).toBe(false);
  });

  it("applies topic, joined and left entries to the room", () => {
    let s = run(initialImState(1), listed(room()));
    s = run(
      s,
      { type: "entry", conversationId: ROOM, entry: { ...msg(3, ""), kind: "topic", body: { topic: "launch", name: "Bob" } } },
      { type: "entry", conversationId: ROOM, entry: { ...msg(4, ""), kind: "joined", author: "user:3", body: { name: "Sam", role: "member" } } },
      { type: "entry", conversationId: ROOM, entry: { ...msg(5, ""), kind: "left", author: "user:2", body: { name: "Bob" } } },
    );
    const c = s.convs[ROOM].conversation;
    expect(c.room?.topic).toBe("launch");
    expect(c.participants.filter((p) => p.present).map((p) => p.name)).toEqual(["Alice", "Sam"]);
  });

  it("keeps mentions until the conversation is looked at", () => {
    let s = run(initialImState(1), listed(room()));
    const mention = { type: "mention" as const, conversation_id: ROOM, conversation_kind: "room", seq: 3, author: "user:2", name: "Bob", text: "@alice look" };
    s = run(s, { type: "server", message: mention }, { type: "server", message: mention });
    expect(s.mentions).toHaveLength(1);
    expect(s.convs[ROOM].mentioned).toBe(true);
    s = run(s, { type: "im_visible", ids: [ROOM] });
    expect(s.mentions).toHaveLength(0);
    expect(s.convs[ROOM].mentioned).toBe(false);
  });

  it("orders by latest activity, records failures, and forgets a room left", () => {
    let s = run(initialImState(1), listed(dm()), listed(room()));
    s = run(s, { type: "entry", conversationId: ROOM, entry: msg(3, "later", "user:2", "2026-03-02T11:00:00Z") });
    expect(imList(s).map((c) => c.conversation.id)).toEqual([ROOM, DM]);
    s = run(s, {
      type: "failed",
      message: { clientId: "k1", conversationId: ROOM, text: "we guarantee it" },
      code: "blocked_word",
      error: 'No promises ("guarantee")',
    });
    expect(s.convs[ROOM].failed[0]).toMatchObject({ code: "blocked_word", text: "we guarantee it" });
    s = run(s, { type: "im_backchannel", customerId: "c1", conversationId: ROOM }, { type: "im_left", conversationId: ROOM });
    expect(s.convs[ROOM]).toBeUndefined();
    expect(s.backchannels).toEqual({});
  });

  it("shows colleagues typing, not me, and clears it with their message", () => {
    let s = run(initialImState(1), listed(dm()));
    const typing = (participant: string, active: boolean) => ({
      type: "server" as const,
      message: { type: "typing" as const, conversation_id: DM, participant, name: "Bob", active },
    });
    s = run(s, typing("user:1", true));
    expect(s.convs[DM].typing).toBeNull();
    s = run(s, typing("user:2", true));
    expect(s.convs[DM].typing?.name).toBe("Bob");
    s = run(s, { type: "entry", conversationId: DM, entry: msg(3, "done") });
    expect(s.convs[DM].typing).toBeNull();
  });

  it("splits mentions out of a text, emails excepted", () => {
    expect(mentionParts("hi @alice and @bob. mail zoe@example.com", "alice")).toEqual([
      { text: "hi ", mention: false, mine: false },
      { text: "@alice", mention: true, mine: true },
      { text: " and ", mention: false, mine: false },
      { text: "@bob", mention: true, mine: false },
      { text: ". mail zoe@example.com", mention: false, mine: false },
    ]);
  });
});

describe("the staff IM view", () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
  });
  afterEach(() => {
    act(() => render(null, root));
    root.remove();
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

  it("renders what users wrote as text, with mentions highlighted", () => {
    let s = run(
      initialImState(1),
      listed(room({ room: { name: EVIL, topic: EVIL, visibility: "open", customer_conversation_id: null } })),
    );
    s = run(s, { type: "entry", conversationId: ROOM, entry: msg(3, `${EVIL} @alice`) });
    act(() =>
      render(
        <ImView conv={s.convs[ROOM]} me="user:1" username="alice" pending={[]} maxChars={4000} actions={noop} staff={[]} />,
        root,
      ),
    );
    expect(root.querySelector("img")).toBeNull();
    expect(root.textContent).toContain(EVIL);
    const mention = root.querySelector('[data-testid="mention"]')!;
    expect(mention.textContent).toBe("@alice");
    expect(mention.classList.contains("me")).toBe(true);
  });

  it("asks to confirm a warned message and resends it with confirm", () => {
    const sent: { text: string }[] = [];
    act(() =>
      render(
        <SendFailures
          failures={[{ clientId: "k", text: "a discount", code: "blocked_word_warning", error: "Careful" }]}
          onDismiss={() => undefined}
          onRestore={() => undefined}
          onConfirm={(f) => sent.push(f)}
        />,
        root,
      ),
    );
    expect(root.textContent).toContain("Send anyway?");
    const button = [...root.querySelectorAll("button")].find((b) => b.textContent === "Send anyway")!;
    act(() => button.click());
    expect(sent).toEqual([expect.objectContaining({ text: "a discount" })]);
  });

  it("puts a refused text back to rephrase", () => {
    const restored: string[] = [];
    act(() =>
      render(
        <SendFailures
          failures={[{ clientId: "k", text: "we guarantee it", code: "blocked_word", error: 'No promises ("guarantee")' }]}
          onDismiss={() => undefined}
          onRestore={(t) => restored.push(t)}
          onConfirm={() => undefined}
        />,
        root,
      ),
    );
    expect(restored).toEqual(["we guarantee it"]);
    expect(root.querySelector('[data-testid="blocked-word"]')?.textContent).toContain("guarantee");
  });
});
