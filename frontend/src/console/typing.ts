// Throttled typing notices: `true` at most once every 2 s while the user types, `false` after
// 3 s without a keystroke or when the message is sent (or the chat is left).

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export const TYPING_REPEAT_MS = 2000;
export const TYPING_IDLE_MS = 3000;

export class TypingNotifier {
  private lastTrue = -Infinity;
  private active = false;
  private idle: unknown = null;

  constructor(
    private readonly notify: (active: boolean) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  /** A keystroke that changed the draft. */
  input(): void {
    const now = this.timers.now();
    if (!this.active || now - this.lastTrue >= TYPING_REPEAT_MS) {
      this.notify(true);
      this.lastTrue = now;
      this.active = true;
    }
    if (this.idle !== null) this.timers.clearTimeout(this.idle);
    this.idle = this.timers.setTimeout(() => this.stop(), TYPING_IDLE_MS);
  }

  /** The message was sent, the draft emptied, or the chat left. */
  stop(): void {
    if (this.idle !== null) this.timers.clearTimeout(this.idle);
    this.idle = null;
    if (this.active) {
      this.active = false;
      this.lastTrue = -Infinity;
      this.notify(false);
    }
  }
}
