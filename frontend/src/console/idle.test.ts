import { afterEach, describe, expect, it, vi } from "vitest";

import { beep, notify, setSilenced } from "./alerts";
import { IdleWatcher, watchInput, type IdleTimers } from "./idle";
import { checkPhoto, formatBytes, sniff } from "./photo";

/** Timers the test moves by hand. */
class Clock implements IdleTimers {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now = () => this.t;
  set = (fn: () => void, ms: number) => {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clear = (id: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== id);
  };
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.t = next.at;
      this.timers = this.timers.filter((x) => x !== next);
      next.fn();
    }
    this.t = end;
  }
  get armed() {
    return this.timers.length;
  }
}

describe("the idle watcher", () => {
  it("says idle after the threshold without input, active at the next input", () => {
    const clock = new Clock();
    const sent: boolean[] = [];
    const w = new IdleWatcher((idle) => sent.push(idle), clock);
    clock.advance(10_000);
    expect(sent).toEqual([]); // no threshold yet (no welcome)
    w.setThreshold(300); // counted from the last input (here: the start)
    clock.advance(289_000);
    expect(sent).toEqual([]);
    w.input(); // input postpones it, without a new timer per event
    w.input();
    expect(clock.armed).toBe(1);
    clock.advance(299_000);
    expect(sent).toEqual([]);
    clock.advance(1_000);
    expect(sent).toEqual([true]);
    expect(w.isIdle).toBe(true);
    clock.advance(3_600_000);
    expect(sent).toEqual([true]); // once
    w.input();
    w.input();
    expect(sent).toEqual([true, false]);
    clock.advance(300_000);
    expect(sent).toEqual([true, false, true]);
  });

  it("says it again to a new connection while idle; a threshold of 0 never sends", () => {
    const clock = new Clock();
    const sent: boolean[] = [];
    const w = new IdleWatcher((idle) => sent.push(idle), clock);
    w.setThreshold(60);
    w.resync();
    expect(sent).toEqual([]); // active: a new connection counts as active anyway
    clock.advance(60_000);
    w.resync();
    expect(sent).toEqual([true, true]);
    w.setThreshold(0);
    w.input();
    clock.advance(1_000_000);
    w.resync();
    expect(sent).toEqual([true, true]);
    w.stop();
    expect(clock.armed).toBe(0);
  });

  it("listens to keys, pointer, wheel, touch and focus in the page", () => {
    const clock = new Clock();
    const sent: boolean[] = [];
    const w = new IdleWatcher((idle) => sent.push(idle), clock);
    w.setThreshold(1);
    const stop = watchInput(w);
    clock.advance(1000);
    expect(sent).toEqual([true]);
    window.dispatchEvent(new KeyboardEvent("keydown", { key: "a" }));
    expect(sent).toEqual([true, false]);
    clock.advance(1000);
    document.body.dispatchEvent(new Event("pointermove", { bubbles: true }));
    expect(sent).toEqual([true, false, true, false]);
    stop();
    clock.advance(1000);
    window.dispatchEvent(new KeyboardEvent("keydown", { key: "a" }));
    expect(sent).toEqual([true, false, true, false, true]); // no longer listening
  });
});

describe("busy silences the console", () => {
  afterEach(() => {
    setSilenced(false);
    vi.unstubAllGlobals();
  });

  it("no notification and no sound while silenced", () => {
    const shown: string[] = [];
    class FakeNotification {
      static permission = "granted";
      onclick: (() => void) | null = null;
      constructor(title: string) {
        shown.push(title);
      }
      close() {}
    }
    vi.stubGlobal("Notification", FakeNotification);
    notify("New chat", "hi", "t1");
    expect(shown).toEqual(["New chat"]);
    setSilenced(true);
    notify("Mention", "hi", "t2");
    beep();
    expect(shown).toEqual(["New chat"]);
    setSilenced(false);
    notify("Again", "hi", "t3");
    expect(shown).toEqual(["New chat", "Again"]);
  });
});

describe("the photo check", () => {
  it("tells the formats by their first bytes", () => {
    const b = (...xs: number[]) => new Uint8Array([...xs, ...new Array(16).fill(0)].slice(0, 16));
    expect(sniff(b(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe("image/png");
    expect(sniff(b(0xff, 0xd8, 0xff, 0xe0))).toBe("image/jpeg");
    expect(sniff(b(0x47, 0x49, 0x46, 0x38, 0x39, 0x61))).toBe("image/gif");
    expect(sniff(b(0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 0x57, 0x45, 0x42, 0x50))).toBe("image/webp");
    expect(sniff(b(0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 0x57, 0x41, 0x56, 0x45))).toBeNull(); // WAVE
    expect(sniff(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'>"))).toBeNull();
    expect(sniff(new Uint8Array(0))).toBeNull();
    expect(formatBytes(2 * 1024 * 1024)).toBe("2 MiB");
    expect(formatBytes(1536 * 1024)).toBe("1.5 MiB");
  });

  it("refuses the too large, the empty, the wrong type and the too many pixels", async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    const size = (width: number, height: number) => async () => ({ width, height });
    expect(await checkPhoto(new Blob([png]), 100, size(10, 10))).toBeNull();
    expect(await checkPhoto(new Blob([png]), 5, size(10, 10))).toMatch(/at most 5 bytes/);
    expect(await checkPhoto(new Blob([]), 100, size(10, 10))).toBe("The file is empty.");
    expect(await checkPhoto(new Blob(["GIF87"]), 100, size(10, 10))).toMatch(/not a PNG/);
    expect(await checkPhoto(new Blob([png]), 100, size(4097, 10))).toMatch(/4097 × 10 pixels/);
    // The browser cannot measure it: the server decides.
    expect(await checkPhoto(new Blob([png]), 100, async () => null)).toBeNull();
  });
});
