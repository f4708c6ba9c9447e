import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { ClientEvent } from "../shared/client";
import type { Conversation, Entry, Offer, ServerMessage } from "../shared/protocol";
import { authorKind, systemText } from "./format";
import {
  initialState,
  insertEntry,
  isReconnecting,
  offerList,
  pendingFor,
  reduce,
  secondsLeft,
  type Action,
  type ConsoleState,
} from "./state";
import { TypingNotifier } from "./typing";

const A = "a".repeat(32);
const B = "b".repeat(32);

function conv(id: string, over: Partial<Conversation> = {}): Conversation {
  return {
    id,
    kind: "customer_chat",
    status: "active",
    workgroup_id: 1,
    last_seq: 3,
    created_at: "2026-03-02T10:15:00Z",
    ended_at: null,
    end_reason: null,
    metadata: { name: "Zoe", email: "zoe@example.com", question: "Hi", page: "", extra: {} },
    participants: [
      { key: "visitor", role: "visitor", name: "Zoe", present: true },
      { key: "user:1", role: "agent", name: "Alice", present: true },
    ],
    ...over,
  };
}

function entry(seq: number, over: Partial<Entry> = {}): Entry {
  return {
    seq,
    kind: "message",
    author: "visitor",
    body: { text: `m${seq}` },
    client_id: null,
    created_at: "2026-03-02T10:15:00Z",
    ...over,
  };
}

function offer(id: string, over: Partial<Offer> = {}): Offer {
  return {
    offer_id: id,
    conversation_id: id.split(".")[0],
    workgroup_id: 1,
    offered_at: "2026-03-02T10:15:00Z",
    expires_at: "2026-03-02T10:15:30Z",
    metadata: { name: "Zoe" },
    ...over,
  };
}

const server = (message: ServerMessage): ClientEvent => ({ type: "server", message });
const ent = (id: string, e: Entry): ClientEvent => ({ type: "entry", conversationId: id, entry: e });

function run(actions: Action[], state: ConsoleState = initialState(1)): ConsoleState {
  return actions.reduce(reduce, state);
}

/** A conversation as sent on accept: snapshot, then its log. */
function opened(id: string, lastSeq = 3): Action[] {
  return [
    server({ type: "conversation", conversation: conv(id, { last_seq: lastSeq }) }),
    ent(id, entry(1, { kind: "queued", author: null, body: { workgroup_id: 1 } })),
    ent(id, entry(2)),
    ent(id, entry(3, { kind: "joined", author: "user:1", body: { name: "Alice", role: "agent" } })),
  ].slice(0, lastSeq + 1);
}

describe("staff IM conversations", () => {
  it("are not shown as customer chats", () => {
    const s = run([
      server({ type: "conversation", conversation: conv("dm1", { kind: "direct" }) }),
      ent("dm1", entry(1)),
    ]);
    expect(s.chats["dm1"]).toBeUndefined();
    expect(s.order).toEqual([]);
  });
});

describe("console reducer", () => {
  it("opens conversations as tabs, selects the first, keeps entries in seq order once", () => {
    let s = run(opened(A));
    expect(s.order).toEqual([A]);
    expect(s.selected).toBe(A);
    s = run([ent(A, entry(5)), ent(A, entry(4)), ent(A, entry(5)), ent(A, entry(2))], s);
    expect(s.chats[A].entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(s.chats[A].conversation.last_seq).toBe(5);
  });

  it("counts unread messages from others only on tabs that are not selected, from live entries", () => {
    let s = run([...opened(A), ...opened(B)]);
    expect(s.selected).toBe(A);
    // B's history (seq <= last_seq of its snapshot) is not unread.
    expect(s.chats[B].unread).toBe(0);
    s = run([ent(B, entry(4)), ent(B, entry(5)), ent(A, entry(4))], s);
    expect(s.chats[B].unread).toBe(2);
    expect(s.chats[A].unread).toBe(0);
    // Own messages and system lines do not count.
    s = run(
      [
        ent(B, entry(6, { author: "user:1" })),
        ent(B, entry(7, { kind: "ended", author: "visitor", body: { reason: "ended" } })),
      ],
      s,
    );
    expect(s.chats[B].unread).toBe(2);
    s = reduce(s, { type: "select", conversationId: B });
    expect(s.chats[B].unread).toBe(0);
    s = reduce(s, ent(A, entry(5)));
    expect(s.chats[A].unread).toBe(1);
  });

  it("applies joined and ended entries to the conversation state", () => {
    let s = run([
      server({
        type: "conversation",
        conversation: conv(A, { status: "queued", last_seq: 1, participants: [] }),
      }),
      ent(A, entry(2, { kind: "joined", author: "user:1", body: { name: "Alice", role: "agent" } })),
    ]);
    expect(s.chats[A].conversation.status).toBe("active");
    expect(s.chats[A].conversation.participants).toEqual([
      { key: "user:1", role: "agent", name: "Alice", present: true },
    ]);
    s = reduce(s, ent(A, entry(3, { kind: "ended", author: "visitor", body: { reason: "ended" } })));
    const c = s.chats[A].conversation;
    expect(c.status).toBe("ended");
    expect(c.end_reason).toBe("ended");
    expect(c.participants.every((p) => !p.present)).toBe(true);
  });

  it("keeps ended chats until closed, then ignores the server mentioning them again", () => {
    let s = run([...opened(A), ...opened(B)]);
    s = reduce(s, ent(A, entry(4, { kind: "ended", author: "visitor", body: { reason: "ended" } })));
    expect(s.order).toEqual([A, B]);
    s = reduce(s, { type: "close", conversationId: A });
    expect(s.order).toEqual([B]);
    expect(s.selected).toBe(B);
    expect(s.chats[A]).toBeUndefined();
    s = run(opened(A), s);
    expect(s.order).toEqual([B]);
  });

  it("keeps the log when a conversation snapshot repeats after a reconnect", () => {
    let s = run(opened(A));
    s = run([server({ type: "conversation", conversation: conv(A, { last_seq: 4 }) }), ent(A, entry(4))], s);
    expect(s.chats[A].entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(s.order).toEqual([A]);
  });

  it("adds offers idempotently by offer_id and removes them on offer_ended", () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
    let s = reduce(initialState(1), server({ type: "offer", offer: offer(`${A}.1`) }));
    vi.setSystemTime(1_005_000);
    s = reduce(s, server({ type: "offer", offer: offer(`${A}.1`) }));
    expect(offerList(s)).toHaveLength(1);
    expect(offerList(s)[0].receivedAt).toBe(1_000_000); // the first arrival counts
    s = reduce(s, server({ type: "offer", offer: offer(`${B}.1`) }));
    expect(offerList(s).map((o) => o.offer.offer_id)).toEqual([`${A}.1`, `${B}.1`]);
    s = reduce(s, server({ type: "offer_ended", offer_id: `${A}.1`, reason: "timed_out" }));
    expect(offerList(s).map((o) => o.offer.offer_id)).toEqual([`${B}.1`]);
    s = reduce(s, server({ type: "offer_ended", offer_id: "unknown.1", reason: "withdrawn" }));
    expect(offerList(s)).toHaveLength(1);
    vi.useRealTimers();
  });

  it("drops offers the reconnect snapshot no longer lists", () => {
    let s = run([
      server({ type: "offer", offer: offer(`${A}.1`) }),
      server({ type: "offer", offer: offer(`${B}.1`) }),
    ]);
    const welcome: ServerMessage = {
      type: "welcome",
      session: { kind: "staff", user_id: 1, username: "alice", name: "Alice", role: "agent", conversation_id: null },
      node_id: "n1",
      heartbeat_secs: 20,
      max_message_chars: 2000,
      server_time: "2026-01-01T00:00:00Z",
    };
    s = run([server(welcome), server({ type: "offer", offer: offer(`${B}.1`) }), server({ type: "synced" })], s);
    expect(offerList(s).map((o) => o.offer.offer_id)).toEqual([`${B}.1`]);
    expect(s.maxMessageChars).toBe(2000);
  });

  it("tracks presence per user, and shows reconnecting only after the first sync", () => {
    let s = reduce(initialState(1), server({ type: "presence", user_id: 1, presence: "away", status_text: "lunch" }));
    expect(s.presence[1]).toEqual({ presence: "away", status_text: "lunch" });
    s = reduce(s, { type: "status", status: "connecting" });
    expect(isReconnecting(s)).toBe(false);
    s = run([server({ type: "synced" }), { type: "status", status: "online" }], s);
    expect(isReconnecting(s)).toBe(false);
    s = reduce(s, { type: "status", status: "offline" });
    expect(isReconnecting(s)).toBe(true);
    s = reduce(s, { type: "status", status: "connecting" });
    expect(isReconnecting(s)).toBe(true);
  });

  it("shows typing from others, clears it on their message or when they stop", () => {
    let s = run(opened(A));
    s = reduce(s, server({ type: "typing", conversation_id: A, participant: "visitor", name: "Zoe", active: true }));
    expect(s.chats[A].typing?.name).toBe("Zoe");
    s = reduce(s, ent(A, entry(4)));
    expect(s.chats[A].typing).toBeNull();
    s = reduce(s, server({ type: "typing", conversation_id: A, participant: "visitor", name: "Zoe", active: true }));
    s = reduce(s, server({ type: "typing", conversation_id: A, participant: "visitor", name: "Zoe", active: false }));
    expect(s.chats[A].typing).toBeNull();
  });

  it("hides a pending message once its entry is in the log, and records refused sends", () => {
    let s = run(opened(A));
    s = reduce(s, { type: "outbox", pending: [{ clientId: "c1", conversationId: A, text: "hi" }] });
    expect(pendingFor(s, A).map((p) => p.text)).toEqual(["hi"]);
    s = reduce(s, ent(A, entry(4, { author: "user:1", client_id: "c1", body: { text: "hi" } })));
    expect(pendingFor(s, A)).toEqual([]);
    s = reduce(s, {
      type: "failed",
      message: { clientId: "c2", conversationId: A, text: "x" },
      code: "conflict",
      error: "ended",
    });
    expect(s.chats[A].failed).toHaveLength(1);
    s = reduce(s, { type: "dismiss_failed", conversationId: A, clientId: "c2" });
    expect(s.chats[A].failed).toHaveLength(0);
  });

  it("inserts out-of-order entries sorted and ignores duplicates", () => {
    const list = [entry(1), entry(3)];
    expect(insertEntry(list, entry(2)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(insertEntry(list, entry(3))).toBe(list);
  });
});

describe("unread while not watching", () => {
  it("counts messages in the selected chat while the agent looks elsewhere", () => {
    let s = run([
      server({ type: "conversation", conversation: conv(A, { last_seq: 0 }) }),
      { type: "select", conversationId: A },
      { type: "entry", conversationId: A, entry: entry(1) },
    ]);
    expect(s.chats[A].unread).toBe(0); // looking at it
    s = reduce(s, { type: "watching", watching: false }); // another view, or a hidden tab
    s = reduce(s, { type: "entry", conversationId: A, entry: entry(2) });
    s = reduce(s, { type: "entry", conversationId: A, entry: entry(3) });
    expect(s.chats[A].unread).toBe(2);
    s = reduce(s, { type: "watching", watching: true });
    expect(s.chats[A].unread).toBe(0);
  });
});

describe("reset and clock skew", () => {
  afterEach(() => vi.useRealTimers());

  it("drops a chat's log when the server knows another history", () => {
    let s = run([
      server({ type: "conversation", conversation: conv(A) }),
      { type: "entry", conversationId: A, entry: entry(1) },
      { type: "entry", conversationId: A, entry: entry(2, { kind: "ended", author: null, body: { reason: "ended" } }) },
    ]);
    s = reduce(s, { type: "reset", conversationId: A });
    expect(s.chats[A].entries).toEqual([]);
    s = reduce(s, { type: "entry", conversationId: A, entry: entry(1, { body: { text: "restored" } }) });
    expect(s.chats[A].entries.map((e) => e.body.text)).toEqual(["restored"]);
  });

  it("shows the time really left on an offer re-sent after a reload", () => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.parse("2026-03-02T10:15:20Z") - 3_600_000); // our clock: an hour behind
    let s = reduce(
      initialState(1),
      server({
        type: "welcome",
        session: { kind: "staff", user_id: 1, username: "alice", name: "Alice", role: "agent", conversation_id: null },
        node_id: "n",
        heartbeat_secs: 20,
        max_message_chars: 4000,
        server_time: "2026-03-02T10:15:20Z",
      }),
    );
    // The offer was made at 10:15:00 and expires at 10:15:30: 10 s are left, not 30.
    s = reduce(s, server({ type: "offer", offer: offer(`${A}.1`) }));
    expect(secondsLeft(offerList(s)[0], Date.now())).toBe(10);
  });
});

describe("countdown", () => {
  it("counts the offer's own duration from the local arrival time, whatever the clocks say", () => {
    // The server's clock is an hour ahead of ours: only expires_at - offered_at matters.
    const o = {
      offer: offer(`${A}.1`, {
        offered_at: "2030-01-01T11:00:00Z",
        expires_at: "2030-01-01T11:00:30Z",
      }),
      receivedAt: 50_000,
    };
    expect(secondsLeft(o, 50_000)).toBe(30);
    expect(secondsLeft(o, 50_001)).toBe(30);
    expect(secondsLeft(o, 51_000)).toBe(29);
    expect(secondsLeft(o, 79_500)).toBe(1);
    expect(secondsLeft(o, 80_000)).toBe(0);
    expect(secondsLeft(o, 99_000)).toBe(0);
  });
});

describe("entry formatting", () => {
  it("names authors and renders system lines", () => {
    const c = conv(A);
    expect(authorKind(entry(2))).toBe("visitor");
    expect(authorKind(entry(2, { author: "user:1" }))).toBe("agent");
    expect(authorKind(entry(1, { kind: "queued", author: null }))).toBe("system");
    expect(systemText(c, entry(1, { kind: "queued", author: null }))).toBe("Zoe is waiting");
    expect(
      systemText(c, entry(3, { kind: "joined", author: "user:1", body: { name: "Alice" } })),
    ).toBe("Alice joined");
    expect(systemText(c, entry(4, { kind: "ended", author: null, body: { reason: "ended" } }))).toBe(
      "Chat ended",
    );
    expect(
      systemText(c, entry(4, { kind: "ended", author: "visitor", body: { reason: "ended" } })),
    ).toBe("Chat ended by Zoe");
  });
});

describe("typing notices", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends true at most every 2 s while typing, false after 3 s idle or on stop", () => {
    const sent: boolean[] = [];
    const t = new TypingNotifier((a) => sent.push(a), {
      now: () => Date.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    });
    t.input();
    vi.advanceTimersByTime(500);
    t.input();
    vi.advanceTimersByTime(1000);
    t.input();
    expect(sent).toEqual([true]);
    vi.advanceTimersByTime(600); // 2.1 s since the first
    t.input();
    expect(sent).toEqual([true, true]);
    vi.advanceTimersByTime(3000);
    expect(sent).toEqual([true, true, false]);
    t.input();
    expect(sent).toEqual([true, true, false, true]);
    t.stop();
    t.stop();
    expect(sent).toEqual([true, true, false, true, false]);
  });
});
