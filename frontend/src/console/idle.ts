// Idle presence (docs/protocol.md, `idle`): after `idle_away_secs` (from `welcome`) without
// input in this page (keys, pointer, wheel, touch, focus), send `idle: true`; at the first input
// after that, `idle: false`. The server turns an `available` member `away` while every one of
// their connections is idle, and back. A new connection counts as active, so after a reconnect
// a browser that is still idle says so again (`resync`).
//
// Input is only noted (a timestamp), never acted on per event: `pointermove` fires constantly.
// One timer is armed for when the threshold would be reached, and re-armed if input came since.

import { useEffect } from "preact/hooks";

import type { ParleyClient } from "../shared/client";

export interface IdleTimers {
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: IdleTimers = {
  now: () => Date.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The events that count as input. */
export const INPUT_EVENTS = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart", "focus"] as const;

export class IdleWatcher {
  private thresholdMs = 0;
  private lastInput: number;
  private timer: unknown = null;
  private idle = false;

  constructor(
    /** Tell the server (the caller drops it when offline: `resync` repeats it). */
    private readonly send: (idle: boolean) => void,
    private readonly timers: IdleTimers = realTimers,
  ) {
    this.lastInput = timers.now();
  }

  get isIdle(): boolean {
    return this.idle;
  }

  /** The server's `idle_away_secs` (0: never idle). */
  setThreshold(secs: number): void {
    const ms = Number.isFinite(secs) && secs > 0 ? secs * 1000 : 0;
    if (ms === this.thresholdMs) return;
    this.thresholdMs = ms;
    this.disarm();
    if (ms === 0) {
      // The server ignores `idle` then; it has no idle away of ours to undo.
      this.idle = false;
      return;
    }
    if (!this.idle) this.arm(this.lastInput + ms - this.timers.now());
  }

  /** Input in the page. */
  input(): void {
    this.lastInput = this.timers.now();
    if (this.idle) {
      this.idle = false;
      this.send(false);
      this.arm(this.thresholdMs);
    } else if (this.timer === null && this.thresholdMs > 0) {
      this.arm(this.thresholdMs);
    }
  }

  /** A new connection is ready (`synced`): it counts as active until told otherwise. */
  resync(): void {
    if (this.idle && this.thresholdMs > 0) this.send(true);
  }

  stop(): void {
    this.disarm();
  }

  private arm(ms: number): void {
    this.disarm();
    this.timer = this.timers.set(() => this.check(), Math.max(0, ms));
  }

  private disarm(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
  }

  private check(): void {
    this.timer = null;
    if (this.thresholdMs === 0 || this.idle) return;
    const left = this.lastInput + this.thresholdMs - this.timers.now();
    if (left > 0) {
      this.arm(left);
      return;
    }
    this.idle = true;
    this.send(true);
  }
}

/** Feed a watcher with the page's input; returns the function that stops listening. */
export function watchInput(watcher: IdleWatcher, target: Window = window): () => void {
  const onInput = () => watcher.input();
  const onVisible = () => {
    if (target.document.visibilityState === "visible") watcher.input();
  };
  for (const name of INPUT_EVENTS) target.addEventListener(name, onInput, { capture: true, passive: true });
  target.document.addEventListener("visibilitychange", onVisible);
  return () => {
    for (const name of INPUT_EVENTS) target.removeEventListener(name, onInput, { capture: true });
    target.document.removeEventListener("visibilitychange", onVisible);
  };
}

/** The console's idle watcher on `client`: the threshold from each `welcome`, `idle` sent as
 * a request (its `ok` is not waited for), repeated after each reconnect while still idle. */
export function useIdleAway(client: ParleyClient): void {
  useEffect(() => {
    const watcher = new IdleWatcher((idle) => {
      if (client.connectionStatus === "online") void client.request({ type: "idle", idle });
    });
    const stopInput = watchInput(watcher);
    const off = client.on((event) => {
      if (event.type !== "server") return;
      if (event.message.type === "welcome") watcher.setThreshold(event.message.idle_away_secs ?? 0);
      if (event.message.type === "synced") watcher.resync();
    });
    return () => {
      off();
      stopInput();
      watcher.stop();
    };
  }, [client]);
}
