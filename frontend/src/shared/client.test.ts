import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ParleyClient, type ClientEvent } from "./client";
import type { Entry } from "./protocol";
import { FakeSocket, MemoryStore } from "./testing";



const CID = "c".repeat(32);

function entry(seq: number, text = `m${seq}`): Entry {
  return {
    seq,
    kind: "message",
    author: "user:1",
    body: { text },
    client_id: null,
    created_at: "2026-01-01T00:00:00Z",
  };
}

function welcome(): Record<string, unknown> {
  return {
    type: "welcome",
    session: { kind: "visitor", conversation_id: CID },
    node_id: "n",
    heartbeat_secs: 20,
    max_message_chars: 4000,
  };
}

function setup(store = new MemoryStore()) {
  const sockets: FakeSocket[] = [];
  let ids = 0;
  const client = new ParleyClient({
    url: "ws://test/ws",
    auth: () => ({ visitor_token: "tok" }),
    storage: store,
    storageKey: "outbox",
    socket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    newId: () => `id${++ids}`,
  });
  const events: ClientEvent[] = [];
  client.on((e) => events.push(e));
  const entries = () =>
    events.flatMap((e) => (e.type === "entry" ? [e.entry.seq] : []));
  const connectOnline = (socket: FakeSocket) => {
    socket.open();
    socket.push(welcome());
    socket.push({ type: "synced" });
  };
  return { client, sockets, events, entries, store, connectOnline };
}

describe("ParleyClient", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("says hello with its cursors after a reconnect, and delivers each entry once", () => {
    const { client, sockets, entries, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    expect(sockets[0].sent[0]).toEqual({ type: "hello", visitor_token: "tok", cursors: {} });
    sockets[0].push({ type: "entry", conversation_id: CID, entry: entry(1) });
    sockets[0].push({ type: "entry", conversation_id: CID, entry: entry(2) });
    sockets[0].drop();
    vi.advanceTimersByTime(1000);
    expect(sockets).toHaveLength(2);
    sockets[1].open();
    expect(sockets[1].sent[0]).toEqual({
      type: "hello",
      visitor_token: "tok",
      cursors: { [CID]: 2 },
    });
    sockets[1].push({ type: "entry", conversation_id: CID, entry: entry(2) }); // a repeat
    sockets[1].push({ type: "entry", conversation_id: CID, entry: entry(3) });
    expect(entries()).toEqual([1, 2, 3]);
  });

  it("takes the entry inside an ack as delivered, once, and settles the send", () => {
    const { client, sockets, entries, events, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    sockets[0].push({ type: "entry", conversation_id: CID, entry: entry(1) });
    client.send(CID, "mine");
    // The sending connection gets one frame for its message: the ack, carrying the entry.
    const mine = { ...entry(2, "mine"), client_id: "id1" };
    sockets[0].push({ type: "ack", ref: "id1", conversation_id: CID, entry: mine });
    expect(entries()).toEqual([1, 2]);
    expect(events.filter((e) => e.type === "entry").at(-1)).toEqual({
      type: "entry",
      conversationId: CID,
      entry: mine,
    });
    expect(client.pending).toEqual([]);
    // A retry's ack carries an entry already seen: nothing twice; nor a replay after a resume.
    sockets[0].push({ type: "ack", ref: "id1", conversation_id: CID, entry: mine });
    sockets[0].push({ type: "entry", conversation_id: CID, entry: mine });
    sockets[0].push({ type: "entry", conversation_id: CID, entry: entry(3) });
    expect(entries()).toEqual([1, 2, 3]);
  });

  it("keeps unsent messages across a reload and sends them once online", () => {
    const store = new MemoryStore();
    const first = setup(store);
    first.client.send(CID, "typed offline");
    expect(first.sockets).toHaveLength(0);
    // The page reloads: a new client finds the message in storage.
    const second = setup(store);
    expect(second.client.pending.map((m) => m.text)).toEqual(["typed offline"]);
    second.client.connect();
    second.connectOnline(second.sockets[0]);
    const send = second.sockets[0].sent.find((m) => m.type === "send");
    expect(send).toMatchObject({ client_id: "id1", text: "typed offline", ref: "id1" });
    second.sockets[0].push({
      type: "ack",
      ref: "id1",
      conversation_id: CID,
      entry: { ...entry(4, "typed offline"), client_id: "id1" },
    });
    expect(second.client.pending).toEqual([]);
    expect(store.getItem("outbox")).toBeNull();
  });

  it("resends an unacknowledged message with the same client id after a reconnect", () => {
    const { client, sockets, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    client.send(CID, "hello");
    sockets[0].drop(); // no ack came back
    vi.advanceTimersByTime(1000);
    connectOnline(sockets[1]);
    const sends = sockets.flatMap((s) => s.sent.filter((m) => m.type === "send"));
    expect(sends.map((m) => m.client_id)).toEqual(["id1", "id1"]);
  });

  it("drops a message the server refuses for good, and says so", () => {
    const { client, sockets, events, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    client.send(CID, "x".repeat(5000));
    sockets[0].push({ type: "error", ref: "id1", code: "too_long", message: "too long" });
    expect(client.pending).toEqual([]);
    expect(events.some((e) => e.type === "failed" && e.code === "too_long")).toBe(true);
  });

  it("drops a send refused or warned by a blocked word, and sends a confirmed one with confirm", () => {
    const { client, sockets, events, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    client.send(CID, "we guarantee it");
    sockets[0].push({ type: "error", ref: "id1", code: "blocked_word", message: "no promises" });
    client.send(CID, "a discount");
    sockets[0].push({ type: "error", ref: "id2", code: "blocked_word_warning", message: "careful" });
    expect(client.pending).toEqual([]);
    const failed = events.flatMap((e) => (e.type === "failed" ? [e.code] : []));
    expect(failed).toEqual(["blocked_word", "blocked_word_warning"]);
    vi.advanceTimersByTime(10_000); // never retried as it was
    const sends = () => sockets[0].sent.filter((m) => (m as { type: string }).type === "send");
    expect(sends()).toHaveLength(2);
    client.send(CID, "a discount", { confirm: true });
    expect(sends()[2]).toMatchObject({ text: "a discount", confirm: true, client_id: "id3" });
    expect(sends()[0]).not.toHaveProperty("confirm");
  });

  it("waits retry_after after a rate_limited send, then sends the refused ones again in order", () => {
    const { client, sockets, events, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    const socket = sockets[0];
    const sends = () => socket.sent.filter((m) => m.type === "send").map((m) => m.client_id);
    client.send(CID, "one");
    client.send(CID, "two");
    client.send(CID, "three");
    expect(sends()).toEqual(["id1", "id2", "id3"]);
    socket.push({ type: "ack", ref: "id1", conversation_id: CID, entry: { ...entry(2, "one"), client_id: "id1" } });
    // The server refuses "two" and, so that order holds, everything after it until the wait ends.
    for (const ref of ["id2", "id3"]) {
      socket.push({ type: "error", ref, code: "rate_limited", message: "slow down", retry_after: 2 });
    }
    client.send(CID, "four"); // held: it would overtake the refused ones
    vi.advanceTimersByTime(1999);
    expect(sends()).toEqual(["id1", "id2", "id3"]);
    vi.advanceTimersByTime(1);
    expect(sends()).toEqual(["id1", "id2", "id3", "id2", "id3", "id4"]);
    expect(client.pending.map((m) => m.text)).toEqual(["two", "three", "four"]);
    expect(events.some((e) => e.type === "failed")).toBe(false);
    // Refused once more: held again for as long, then sent again.
    socket.push({ type: "ack", ref: "id2", conversation_id: CID, entry: { ...entry(3, "two"), client_id: "id2" } });
    socket.push({ type: "error", ref: "id3", code: "rate_limited", message: "slow down", retry_after: 1 });
    socket.push({ type: "error", ref: "id4", code: "rate_limited", message: "slow down", retry_after: 1 });
    vi.advanceTimersByTime(1000);
    expect(sends().slice(6)).toEqual(["id3", "id4"]);
  });

  it("stops for good when the server refuses the credentials", () => {
    const { client, sockets, events } = setup();
    client.connect();
    sockets[0].open();
    sockets[0].drop(1008);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
    expect(client.connectionStatus).toBe("stopped");
    expect(events.some((e) => e.type === "stopped")).toBe(true);
  });

  it("backs off between attempts, up to a ceiling", () => {
    const { client, sockets } = setup();
    client.connect();
    for (let i = 0; i < 8; i++) {
      sockets[sockets.length - 1].drop();
      vi.advanceTimersByTime(10_000);
    }
    expect(sockets.length).toBe(9);
    sockets[sockets.length - 1].drop();
    vi.advanceTimersByTime(4_000); // under half the ceiling: not yet
    expect(sockets.length).toBe(9);
  });

  it("waits retry_after plus a random share of its backoff when the node is busy", () => {
    const random = vi.spyOn(Math, "random");
    try {
      const { client, sockets, connectOnline } = setup();
      client.connect();
      // Refused by admission control: error busy, then close 1013.
      random.mockReturnValue(0.5);
      sockets[0].open();
      sockets[0].push({ type: "error", ref: null, code: "busy", message: "busy", retry_after: 2 });
      sockets[0].drop(1013);
      expect(client.connectionStatus).toBe("offline");
      vi.advanceTimersByTime(2_000); // never before retry_after
      expect(sockets).toHaveLength(1);
      vi.advanceTimersByTime(250); // then half of the first backoff (500 ms)
      expect(sockets).toHaveLength(2);
      // Refused again: the random share is of a doubled backoff (1 s).
      random.mockReturnValue(0.9);
      sockets[1].open();
      sockets[1].push({ type: "error", ref: null, code: "busy", message: "busy", retry_after: 1 });
      sockets[1].drop(1013);
      vi.advanceTimersByTime(1_899);
      expect(sockets).toHaveLength(2);
      vi.advanceTimersByTime(1);
      expect(sockets).toHaveLength(3);
      // Admitted: online, and the next drop backs off from the start, with no busy wait.
      connectOnline(sockets[2]);
      expect(client.connectionStatus).toBe("online");
      random.mockReturnValue(0);
      sockets[2].drop();
      vi.advanceTimersByTime(250);
      expect(sockets).toHaveLength(4);
    } finally {
      random.mockRestore();
    }
  });

  it("reconnects at once when the server says it is going away", () => {
    const { client, sockets, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    sockets[0].push({ type: "reconnect", reason: "server shutting down" });
    vi.advanceTimersByTime(0);
    expect(sockets).toHaveLength(2);
  });

  it("treats a silent link as dead", () => {
    const { client, sockets, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    vi.advanceTimersByTime(20_000);
    expect(sockets[0].sent.some((m) => m.type === "ping")).toBe(true);
    vi.advanceTimersByTime(20_000); // that ping is a whole interval old, unanswered
    expect(sockets[0].closed).not.toBeNull();
    vi.advanceTimersByTime(1000);
    expect(sockets.length).toBe(2);
  });

  it("answers requests by ref, and fails them when the connection drops", async () => {
    const { client, sockets, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    const accepted = client.request({ type: "accept_offer", offer_id: "o.1" });
    const sent = sockets[0].sent.at(-1) as { ref: string };
    sockets[0].push({ type: "ok", ref: sent.ref });
    expect((await accepted).type).toBe("ok");
    const lost = client.request({ type: "end", conversation_id: CID });
    sockets[0].drop();
    expect(await lost).toMatchObject({ type: "error", code: "offline" });
  });

  it("follows more conversations live, only the new ones, and keeps their cursors for the next hello", async () => {
    const { client, sockets, connectOnline } = setup();
    const DM = "d".repeat(32);
    client.connect();
    connectOnline(sockets[0]);
    client.cursors.set(CID, 3);
    const followed = client.follow({ [CID]: 0, [DM]: 5 });
    const sent = sockets[0].sent.at(-1) as { type: string; ref: string; cursors: object };
    expect(sent).toMatchObject({ type: "follow", cursors: { [DM]: 5 } });
    expect(sent.cursors).not.toHaveProperty(CID);
    sockets[0].push({ type: "ok", ref: sent.ref });
    expect((await followed).type).toBe("ok");
    // Nothing new: no frame at all.
    const count = sockets[0].sent.length;
    expect((await client.follow({ [DM]: 0 })).type).toBe("ok");
    expect(sockets[0].sent.length).toBe(count);
    sockets[0].drop();
    vi.advanceTimersByTime(60_000);
    sockets[1].open();
    expect(sockets[1].sent[0]).toMatchObject({ type: "hello", cursors: { [CID]: 3, [DM]: 5 } });
  });

  it("starts a conversation again from seq 1 when the server refuses its cursor", () => {
    const { client, sockets, events, entries, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    sockets[0].push({ type: "entry", conversation_id: CID, entry: entry(1) });
    sockets[0].push({ type: "entry", conversation_id: CID, entry: entry(2) });
    sockets[0].drop();
    vi.advanceTimersByTime(1000);
    sockets[1].open();
    sockets[1].push(welcome());
    sockets[1].push({
      type: "error",
      ref: null,
      code: "cursor_out_of_range",
      message: "no seq 2",
      conversation_id: CID,
    });
    sockets[1].push({ type: "entry", conversation_id: CID, entry: entry(1, "other history") });
    expect(events.some((e) => e.type === "reset" && e.conversationId === CID)).toBe(true);
    expect(entries()).toEqual([1, 2, 1]);
  });

  it("says so when the archiving policy removed what its cursor had not seen", () => {
    const { client, sockets, events, entries, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    sockets[0].push({ type: "entry", conversation_id: CID, entry: entry(1) });
    sockets[0].drop();
    vi.advanceTimersByTime(1000);
    sockets[1].open();
    sockets[1].push(welcome());
    sockets[1].push({
      type: "error",
      ref: null,
      code: "history_removed",
      message: "entries before seq 5 were removed by the archiving policy",
      conversation_id: CID,
    });
    // What is kept follows, from seq 5: delivered (nothing lost on our side, no reset).
    sockets[1].push({ type: "entry", conversation_id: CID, entry: entry(5) });
    sockets[1].push({ type: "entry", conversation_id: CID, entry: entry(6) });
    expect(events.filter((e) => e.type === "history_removed")).toEqual([
      { type: "history_removed", conversationId: CID },
    ]);
    expect(events.some((e) => e.type === "reset")).toBe(false);
    expect(entries()).toEqual([1, 5, 6]);
    expect(client.cursors.get(CID)).toBe(6);
  });

  it("does not let two tabs overwrite each other's unsent messages", () => {
    const store = new MemoryStore();
    const tabA = setup(store);
    const tabB = setup(store);
    tabA.client.send(CID, "from tab A");
    tabB.client.send(CID, "from tab B"); // both offline: both must stay stored
    const stored = JSON.parse(store.getItem("outbox")!) as { text: string }[];
    expect(stored.map((m) => m.text).sort()).toEqual(["from tab A", "from tab B"]);
    // Tab B comes online, sends everything stored, and gets both acks.
    tabB.client.connect();
    tabB.connectOnline(tabB.sockets[0]);
    const sent = tabB.sockets[0].sent.filter((m) => m.type === "send").map((m) => m.text);
    expect(sent.sort()).toEqual(["from tab A", "from tab B"]);
    for (const m of tabB.sockets[0].sent.filter((m) => m.type === "send")) {
      tabB.sockets[0].push({
        type: "ack",
        ref: m.client_id,
        conversation_id: CID,
        entry: { ...entry(2), client_id: m.client_id as string },
      });
    }
    expect(store.getItem("outbox")).toBeNull();
  });

  it("retries a send that failed for a passing reason", () => {
    const { client, sockets, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    client.send(CID, "hello");
    sockets[0].push({ type: "error", ref: "id1", code: "internal", message: "retry" });
    expect(client.pending).toHaveLength(1);
    vi.advanceTimersByTime(3_000);
    const sends = sockets[0].sent.filter((m) => m.type === "send");
    expect(sends.map((m) => m.client_id)).toEqual(["id1", "id1"]);
  });

  it("does not mistake a throttled background tab for a dead link", () => {
    const { client, sockets, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    // The browser runs the 20 s timer only once a minute; each ping is answered at once.
    for (let i = 0; i < 5; i++) {
      vi.setSystemTime(Date.now() + 60_000);
      vi.advanceTimersByTime(20_000);
      sockets[0].push({ type: "pong", ref: null });
    }
    expect(sockets[0].closed).toBeNull();
    expect(sockets).toHaveLength(1);
  });

  it("gives up a handshake that never completes, and tries again", () => {
    const { client, sockets } = setup();
    client.connect();
    sockets[0].open(); // hello sent, nothing comes back
    vi.advanceTimersByTime(15_000);
    expect(sockets[0].closed).not.toBeNull();
    vi.advanceTimersByTime(1_000);
    expect(sockets).toHaveLength(2);
  });

  it("fails pending requests when closed", async () => {
    const { client, sockets, connectOnline } = setup();
    client.connect();
    connectOnline(sockets[0]);
    const reply = client.request({ type: "end", conversation_id: CID });
    client.close();
    expect(await reply).toMatchObject({ type: "error", code: "offline" });
  });
});
