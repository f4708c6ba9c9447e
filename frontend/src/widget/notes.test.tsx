import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ParleyClient } from "../shared/client";
import type { Entry } from "../shared/protocol";
import { FakeSocket, MemoryStore } from "../shared/testing";
import { Log } from "./app";
import { agentName, initialState, reduce, transcriptText } from "./state";

const CID = "c".repeat(32);

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

const hidden = (seq: number) => entry(seq, { kind: "hidden", author: null, body: {} });

describe("private notes in the widget", () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
  });
  afterEach(() => {
    act(() => render(null, root));
    root.remove();
  });

  it("never shows a placeholder (nor a note), in the log or the transcript", () => {
    let state = initialState(CID, null);
    for (const e of [
      entry(1),
      entry(2, { kind: "joined", author: "user:1", body: { name: "Alice", role: "agent" } }),
      hidden(3),
      entry(4, { kind: "note", author: "user:1", body: { text: "secret" } }),
      entry(5, { author: "user:1", body: { text: "visible" } }),
    ]) {
      state = reduce(state, { type: "entry", conversationId: CID, entry: e });
    }
    expect(state.entries.map((e) => e.seq)).toEqual([1, 2, 5]);
    act(() => render(<Log state={state} />, root));
    const shown = root.querySelectorAll('[data-testid="message"]');
    expect([...shown].map((m) => m.getAttribute("data-seq"))).toEqual(["1", "2", "5"]);
    expect(root.textContent).not.toContain("secret");
    expect(transcriptText(state.conversation, state.entries)).not.toContain("secret");
  });

  it("keeps talking of the chat's agent when a helper joins", () => {
    const entries = [
      entry(1, { kind: "joined", author: "user:1", body: { name: "Alice", role: "agent" } }),
      entry(2, { kind: "joined", author: "user:2", body: { name: "Bob", role: "helper" } }),
    ];
    expect(agentName(null, entries)).toBe("Alice");
  });
});

describe("the protocol client and placeholders", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("moves its cursor past a placeholder: no gap, resumes after it", () => {
    const sockets: FakeSocket[] = [];
    const client = new ParleyClient({
      url: "ws://test/ws",
      auth: () => ({ visitor_token: "tok" }),
      storage: new MemoryStore(),
      storageKey: "outbox",
      socket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
    });
    const seen: number[] = [];
    client.on((e) => {
      if (e.type === "entry") seen.push(e.entry.seq);
    });
    client.connect();
    const first = sockets[0];
    first.open();
    first.push({
      type: "welcome",
      session: { kind: "visitor", conversation_id: CID },
      node_id: "n",
      heartbeat_secs: 20,
      max_message_chars: 4000,
      server_time: "2026-03-02T10:15:00Z",
    });
    first.push({ type: "synced" });
    for (const e of [entry(1), hidden(2), entry(3)]) {
      first.push({ type: "entry", conversation_id: CID, entry: e });
    }
    expect(seen).toEqual([1, 2, 3]);
    first.drop();
    vi.advanceTimersByTime(60_000);
    sockets[1].open();
    const hello = sockets[1].sent[0] as { cursors: Record<string, number> };
    expect(hello.cursors[CID]).toBe(3);
    client.close();
  });
});
