// Test doubles shared by the front ends' tests (imported only by *.test.ts files, so never
// bundled): a WebSocket the test drives by hand, and storage in memory.

import type { KeyValueStore, SocketLike } from "./client";

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
