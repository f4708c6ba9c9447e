// A client of Parley's WebSocket protocol (docs/protocol.md), shared by the widget and the
// console. It owns the connection and what must survive it:
//
// - cursors: the last seq seen per conversation. Every (re)connect says hello with them, so the
//   server sends exactly what was missed; entries reach listeners once each, in order.
// - the outbox: messages not yet acknowledged, each with its client id, kept in storage (so they
//   survive a reload) and sent again after every reconnect. The server stores a client id once,
//   so a message is never doubled, whatever happens to the connection. Tabs of one visitor share
//   the stored outbox: every change is a read-merge-write of the stored list by client id, so
//   one tab never overwrites another's unsent messages, and any tab may send any of them.
// - reconnection with backoff, an application heartbeat, and a stop (no retry) when the server
//   refuses the credentials (close code 1008).
// - the server's rate limit: a send refused with `rate_limited` holds every send for its
//   `retry_after` seconds; then the whole outbox goes again, in order (docs/protocol.md).
// - admission control: a hello refused with `busy` (then close 1013) is tried again after
//   `retry_after` seconds plus a random share of the backoff, so that the clients a busy node
//   refused together do not all come back together.

import type { Entry, HelloAuth, ServerMessage } from "./protocol";

export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface PendingMessage {
  clientId: string;
  conversationId: string;
  text: string;
  /** A private note (staff only): sent with `"private": true`. */
  private?: boolean;
  /** Sent as written although a blocked-word rule warned (`"confirm": true`). */
  confirm?: boolean;
}

export type Status = "connecting" | "online" | "offline" | "stopped";

export type ClientEvent =
  | { type: "status"; status: Status }
  | { type: "server"; message: ServerMessage }
  | { type: "entry"; conversationId: string; entry: Entry }
  | { type: "outbox"; pending: PendingMessage[] }
  | { type: "failed"; message: PendingMessage; code: string; error: string }
  /** The server does not know what we had of this conversation: drop it, the whole log follows. */
  | { type: "reset"; conversationId: string }
  /** The archiving policy removed entries this cursor had not seen (`history_removed`): drop
   * what we hold of the conversation; what is kept follows, gapless from
   * `conversation.history_starts_at_seq`. Show that earlier messages were removed. */
  | { type: "history_removed"; conversationId: string }
  | { type: "stopped"; code: string; error: string };

export interface ClientOptions {
  url: string;
  auth: () => HelloAuth;
  storage?: KeyValueStore;
  /** Key under which the outbox is kept in storage (one per conversation owner). */
  storageKey?: string;
  socket?: (url: string) => SocketLike;
  newId?: () => string;
  /** First reconnect delay; doubles up to maxDelayMs, with jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

const OPEN = 1;
const CLOSE_POLICY = 1008;
/** Connected but no `synced` after this long: the handshake is stuck; start again. */
const HANDSHAKE_TIMEOUT_MS = 15_000;
/** A send answered with a passing error (e.g. `internal`) is tried again after this long. */
const SEND_RETRY_MS = 3_000;
// Errors after which sending the same message again cannot succeed: drop it and say so.
const FINAL_SEND_ERRORS = new Set([
  "too_long",
  "invalid_input",
  "invalid_message",
  "forbidden",
  "conflict",
  "not_found",
  // House rules (docs/protocol.md, "Blocked words"): the same text is refused again; the user
  // rephrases, or (a warning) confirms, which is a new send.
  "blocked_word",
  "blocked_word_warning",
]);

export function randomId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class ParleyClient {
  readonly cursors = new Map<string, number>();
  private outbox: PendingMessage[] = [];
  private listeners = new Set<(event: ClientEvent) => void>();
  private socket: SocketLike | null = null;
  private status: Status = "offline";
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Set while the server asked us to wait (rate_limited): nothing is sent until it fires. */
  private holdTimer: ReturnType<typeof setTimeout> | null = null;
  private holdUntil = 0;
  private lastHeard = 0;
  private lastPing = 0;
  private heartbeatMs = 20_000;
  private refs = 0;
  private replies = new Map<string, (message: ServerMessage) => void>();
  private stopped = false;
  /** Set by an `error` `busy` (the node refused our hello): the least wait before the next. */
  private busyMs = 0;

  constructor(private readonly options: ClientOptions) {
    this.outbox = this.load();
  }

  on(listener: (event: ClientEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get pending(): PendingMessage[] {
    return [...this.outbox];
  }

  get connectionStatus(): Status {
    return this.status;
  }

  connect(): void {
    this.stopped = false;
    this.open();
  }

  /** Close for good (logout, page leaving). */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    this.socket?.close(1000, "bye");
    this.socket = null;
    this.failReplies();
    this.setStatus("stopped");
  }

  /** Queue a message; it is sent now if online, else as soon as the connection is back. */
  send(
    conversationId: string,
    text: string,
    options: { private?: boolean; confirm?: boolean } = {},
  ): PendingMessage {
    const message: PendingMessage = { clientId: (this.options.newId ?? randomId)(), conversationId, text };
    if (options.private) message.private = true;
    if (options.confirm) message.confirm = true;
    this.outbox = this.persist((stored) => [...stored, message]);
    this.emit({ type: "outbox", pending: this.pending });
    if (this.status === "online" && !this.holdTimer) this.transmit(message);
    return message;
  }

  typing(conversationId: string, active: boolean): void {
    if (this.status === "online") {
      this.raw({ type: "typing", conversation_id: conversationId, active });
    }
  }

  /** Send a command (accept_offer, end, set_presence, ...) and wait for its ok or error. */
  request(message: Record<string, unknown>): Promise<ServerMessage> {
    if (this.status !== "online") {
      return Promise.resolve({
        type: "error",
        ref: null,
        code: "offline",
        message: "not connected; try again when back online",
      });
    }
    const ref = `q${++this.refs}`;
    return new Promise((resolve) => {
      this.replies.set(ref, resolve);
      this.raw({ ...message, ref });
    });
  }

  /** Follow more conversations on the live connection (`follow`: staff IM conversations
   * listed after connecting). Their cursors are kept, so every reconnect's hello has them. */
  follow(cursors: Record<string, number>): Promise<ServerMessage> {
    const fresh: Record<string, number> = {};
    for (const [id, seq] of Object.entries(cursors)) {
      if (!this.cursors.has(id)) {
        this.cursors.set(id, seq);
        fresh[id] = seq;
      }
    }
    if (Object.keys(fresh).length === 0) return Promise.resolve({ type: "ok", ref: null });
    return this.request({ type: "follow", cursors: fresh });
  }

  /** Start following a conversation from the start (e.g. a transcript opened on demand). */
  forget(conversationId: string): void {
    this.cursors.delete(conversationId);
  }

  private open(): void {
    this.clearTimers();
    this.setStatus("connecting");
    const make = this.options.socket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
    const socket = make(this.options.url);
    this.socket = socket;
    this.handshakeTimer = setTimeout(() => {
      if (socket !== this.socket || this.status === "online") return;
      // Connected (or not) but no `synced`: a stuck proxy or server. Try again.
      this.socket = null;
      socket.close(4000, "handshake timeout");
      this.scheduleReconnect();
    }, HANDSHAKE_TIMEOUT_MS);
    socket.onopen = () => {
      const cursors: Record<string, number> = {};
      this.cursors.forEach((seq, id) => (cursors[id] = seq));
      socket.send(JSON.stringify({ type: "hello", ...this.options.auth(), cursors }));
    };
    socket.onmessage = (ev) => {
      if (socket !== this.socket) return;
      this.lastHeard = Date.now();
      let message: ServerMessage;
      try {
        message = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        return;
      }
      this.receive(message);
    };
    socket.onclose = (ev) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.failReplies();
      if (ev.code === CLOSE_POLICY) {
        this.stopped = true;
        this.clearTimers();
        this.setStatus("stopped");
        this.emit({ type: "stopped", code: "unauthenticated", error: ev.reason || "refused" });
        return;
      }
      const busyMs = this.busyMs;
      this.busyMs = 0;
      this.scheduleReconnect(undefined, busyMs);
    };
    socket.onerror = () => undefined; // onclose follows and decides
  }

  private receive(message: ServerMessage): void {
    switch (message.type) {
      case "welcome":
        this.heartbeatMs = Math.max(1000, message.heartbeat_secs * 1000);
        break;
      case "entry":
        this.deliver(message.conversation_id, message.entry);
        return; // listeners get it as an "entry" event, once
      case "conversation":
        if (!this.cursors.has(message.conversation.id)) {
          this.cursors.set(message.conversation.id, 0);
        }
        break;
      case "synced":
        this.attempt = 0;
        if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
        this.handshakeTimer = null;
        this.setStatus("online");
        this.startHeartbeat();
        // Another tab may have queued messages meanwhile: send everything stored.
        this.outbox = this.persist((stored) => stored);
        this.emit({ type: "outbox", pending: this.pending });
        for (const pending of this.outbox) this.transmit(pending);
        break;
      case "ack": {
        // The connection that sent a message gets it only here, in the entry's place in the
        // stream (the other connections get an "entry"); a retry's ack repeats a seen entry.
        this.deliver(message.conversation_id, message.entry);
        this.settle(message.ref);
        break;
      }
      case "error": {
        if (message.code === "busy") {
          // The node has too many hellos in flight; it closes with 1013 next.
          this.busyMs = Math.max(1, message.retry_after ?? 1) * 1000;
        }
        if (message.code === "cursor_out_of_range" && message.conversation_id) {
          // Our copy is from another history (say, a restored backup): start again from seq 1.
          this.cursors.set(message.conversation_id, 0);
          this.emit({ type: "reset", conversationId: message.conversation_id });
        }
        if (message.code === "history_removed" && message.conversation_id) {
          // The server sends what is kept, from its first seq (above our cursor): nothing to
          // change here but to tell the views, which must not show a hole.
          this.emit({ type: "history_removed", conversationId: message.conversation_id });
        }
        const failed = this.outbox.find((m) => m.clientId === message.ref);
        if (failed && message.code === "rate_limited") {
          // Not a failure: wait as told, then send it and everything after it again, in order.
          this.hold(message.retry_after ?? 1);
        } else if (failed && FINAL_SEND_ERRORS.has(message.code)) {
          this.settle(failed.clientId);
          this.emit({ type: "failed", message: failed, code: message.code, error: message.message });
        } else if (failed) {
          this.retryLater(failed);
        }
        break;
      }
      case "reconnect":
        // The server is going away: reconnect at once (to any node) and resume.
        this.socket?.close(1000, "reconnecting");
        this.socket = null;
        this.failReplies();
        this.attempt = 0;
        this.scheduleReconnect(0);
        break;
    }
    if ("ref" in message && message.ref) {
      const reply = this.replies.get(message.ref);
      if (reply) {
        this.replies.delete(message.ref);
        reply(message);
      }
    }
    this.emit({ type: "server", message });
  }

  private deliver(conversationId: string, entry: Entry): void {
    const cursor = this.cursors.get(conversationId) ?? 0;
    if (entry.seq <= cursor) return; // already seen: nothing twice
    this.cursors.set(conversationId, entry.seq);
    this.emit({ type: "entry", conversationId, entry });
  }

  private settle(clientId: string | null): void {
    if (clientId === null) return;
    const retry = this.retryTimers.get(clientId);
    if (retry) clearTimeout(retry);
    this.retryTimers.delete(clientId);
    const before = this.outbox.length;
    this.outbox = this.persist((stored) => stored.filter((m) => m.clientId !== clientId));
    if (this.outbox.length !== before) this.emit({ type: "outbox", pending: this.pending });
  }

  /** A passing failure (the server asked for a retry): send the same message again later. */
  private retryLater(message: PendingMessage): void {
    if (this.retryTimers.has(message.clientId)) return;
    this.retryTimers.set(
      message.clientId,
      setTimeout(() => {
        this.retryTimers.delete(message.clientId);
        if (
          this.status === "online" &&
          !this.holdTimer && // else the end of the hold sends it, in its place
          this.outbox.some((m) => m.clientId === message.clientId)
        ) {
          this.transmit(message);
        }
      }, SEND_RETRY_MS),
    );
  }

  /**
   * The server refused a send for `seconds` (rate_limited). Later sends were refused too or
   * are held here; at the end, the outbox is sent again from its first message, so that
   * nothing is stored out of order (a message the server already has is acknowledged again).
   */
  private hold(seconds: number): void {
    const until = Date.now() + Math.max(1, seconds) * 1000;
    if (this.holdTimer) {
      if (until <= this.holdUntil) return;
      clearTimeout(this.holdTimer);
    }
    this.holdUntil = until;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = null;
      if (this.status === "online") for (const pending of this.outbox) this.transmit(pending);
    }, until - Date.now());
  }

  private transmit(message: PendingMessage): void {
    this.raw({
      type: "send",
      ref: message.clientId,
      conversation_id: message.conversationId,
      client_id: message.clientId,
      text: message.text,
      ...(message.private ? { private: true } : {}),
      ...(message.confirm ? { confirm: true } : {}),
    });
  }

  private raw(message: Record<string, unknown>): void {
    if (this.socket && this.socket.readyState === OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  private failReplies(): void {
    for (const [ref, reply] of this.replies) {
      reply({ type: "error", ref, code: "offline", message: "the connection dropped; retry" });
    }
    this.replies.clear();
  }

  /** Reconnect after `delayMs`, else after the backoff with jitter; `atLeastMs` (a `busy`
   * answer's retry_after) comes first, then a random share of the whole backoff. */
  private scheduleReconnect(delayMs?: number, atLeastMs = 0): void {
    this.clearTimers();
    if (this.stopped) return;
    this.setStatus("offline");
    const base = this.options.baseDelayMs ?? 500;
    const max = this.options.maxDelayMs ?? 10_000;
    const backoff = Math.min(max, base * 2 ** this.attempt);
    const jittered =
      atLeastMs > 0 ? atLeastMs + Math.random() * backoff : backoff / 2 + Math.random() * (backoff / 2);
    const delay = delayMs ?? jittered;
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.lastHeard = Date.now();
    this.lastPing = 0;
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now();
      // Dead only if our last ping got no answer at all: browsers run timers of background tabs
      // as rarely as once a minute, so "nothing heard lately" alone would be a false alarm.
      const unanswered = this.lastPing > this.lastHeard;
      if (unanswered && now - this.lastPing >= this.heartbeatMs) {
        const socket = this.socket;
        this.socket = null;
        socket?.close(4000, "heartbeat lost");
        this.failReplies();
        this.scheduleReconnect();
        return;
      }
      if (unanswered) return; // still waiting for the answer to the last ping
      this.lastPing = now;
      this.raw({ type: "ping" });
    }, this.heartbeatMs);
  }

  private clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    // A new connection has a new allowance: its `synced` sends the whole outbox anyway.
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.handshakeTimer = null;
  }

  private setStatus(status: Status): void {
    if (status !== this.status) {
      this.status = status;
      this.emit({ type: "status", status });
    }
  }

  private emit(event: ClientEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  private load(): PendingMessage[] {
    const { storage, storageKey } = this.options;
    if (!storage || !storageKey) return [];
    try {
      const parsed = JSON.parse(storage.getItem(storageKey) ?? "[]") as unknown;
      return Array.isArray(parsed) ? (parsed as PendingMessage[]) : [];
    } catch {
      return [];
    }
  }

  /**
   * Change the stored outbox and return it: read it afresh (another tab may have changed it),
   * apply ``change``, write it back. Without storage, the change applies to memory only.
   */
  private persist(change: (stored: PendingMessage[]) => PendingMessage[]): PendingMessage[] {
    const { storage, storageKey } = this.options;
    if (!storage || !storageKey) return change(this.outbox);
    const stored = this.load();
    // Keep ours that storage lost (e.g. storage was cleared), then apply the change.
    for (const mine of this.outbox) {
      if (!stored.some((m) => m.clientId === mine.clientId)) stored.push(mine);
    }
    const next = change(stored);
    try {
      if (next.length) storage.setItem(storageKey, JSON.stringify(next));
      else storage.removeItem(storageKey);
    } catch {
      // Storage full or blocked: the messages still live in memory for this page.
    }
    return next;
  }
}
