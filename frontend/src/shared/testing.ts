// Test doubles shared by the front ends' tests (imported only by *.test.ts files, so never
// bundled): a WebSocket the test drives by hand, storage in memory, a conversation.

import type { KeyValueStore, SocketLike } from "./client";
import type { Conversation } from "./protocol";

export class FakeSocket implements SocketLike {
  /** Every socket made since the test reset this list, oldest first. */
  static all: FakeSocket[] = [];

  static get last(): FakeSocket | null {
    return FakeSocket.all.at(-1) ?? null;
  }

  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closed: { code?: number } | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url = "ws://test/ws") {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number): void {
    this.closed = { code };
    this.readyState = 3;
  }

  // The test's side of the socket.
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  push(message: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
}

export class MemoryStore implements KeyValueStore {
  data = new Map<string, string>();

  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }

  removeItem(key: string): void {
    this.data.delete(key);
  }
}

/** A customer chat as the server sends it, for tests: Zoe with Alice; override what matters. */
export function aConversation(over: Partial<Conversation> = {}): Conversation {
  return {
    id: "c".repeat(32),
    kind: "customer_chat",
    status: "active",
    workgroup_id: 1,
    last_seq: 2,
    created_at: "2026-03-02T10:15:00Z",
    ended_at: null,
    end_reason: null,
    metadata: { name: "Zoe" },
    participants: [
      { key: "visitor", role: "visitor", name: "Zoe", present: true },
      { key: "user:1", role: "agent", name: "Alice", present: true },
    ],
    ...over,
  };
}
