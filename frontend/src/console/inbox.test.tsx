// The inbox: its pure helpers, and the view against a stubbed API and live notifications.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { ClientEvent, ParleyClient } from "../shared/client";
import type { LeftMessage } from "../shared/protocol";
import { setFetcher } from "./api";
import { hoursBody } from "./HoursAdmin";
import { Inbox } from "./Inbox";
import { formatWeekly, parseWeekly, replyHref, upsertMessage, visibleMessages } from "./inbox";

const XSS = "<img src=x onerror=alert(1)>";

/** Public ids are random: their order says nothing about the messages' order. */
const PUBLIC_IDS = ["", "c41f0e9d2b7a4c6e8f1d3b5a7c9e0f12", "0a9b8c7d6e5f40312f1e2d3c4b5a6978", "f00dfeedbeef4cafe8badd00d5eed123"];

function left(n: number, over: Partial<LeftMessage> = {}): LeftMessage {
  return {
    id: PUBLIC_IDS[n],
    workgroup: "sales",
    conversation_id: null,
    name: "Dana",
    email: "dana@example.com",
    message: "Please call me",
    page: "",
    created_at: `2026-03-02T10:1${n}:00Z`,
    status: "new",
    taken_by: null,
    taken_by_name: null,
    taken_at: null,
    done_at: null,
    emailed_at: null,
    email_attempts: 0,
    last_email_error: null,
    ...over,
  };
}

describe("helpers", () => {
  it("keeps messages newest first, each once", () => {
    const list = upsertMessage(upsertMessage([left(1)], left(3)), left(2));
    expect(list.map((m) => m.id)).toEqual([PUBLIC_IDS[3], PUBLIC_IDS[2], PUBLIC_IDS[1]]);
    const taken = upsertMessage(list, left(2, { status: "taken" }));
    expect(taken.map((m) => [m.id, m.status])).toEqual([
      [PUBLIC_IDS[3], "new"],
      [PUBLIC_IDS[2], "taken"],
      [PUBLIC_IDS[1], "new"],
    ]);
    expect(visibleMessages(taken, "taken").map((m) => m.id)).toEqual([PUBLIC_IDS[2]]);
    // Two left in the same instant: the one already listed keeps its place below the newer.
    const same = upsertMessage([left(1)], left(2, { created_at: left(1).created_at }));
    expect(upsertMessage(same, left(1, { status: "done" })).map((m) => m.id)).toEqual([
      PUBLIC_IDS[2],
      PUBLIC_IDS[1],
    ]);
    expect(visibleMessages(taken, "all")).toHaveLength(3);
  });

  it("writes a reply link no header can be smuggled into", () => {
    const href = replyHref(left(1, { email: "dana@example.com\r\nBcc: all@x.y", message: "a\nb" }), "Sales");
    expect(href.startsWith("mailto:")).toBe(true);
    expect(href).not.toMatch(/[\r\n]/);
    const url = new URL(href);
    expect(decodeURIComponent(url.pathname)).toBe("dana@example.com Bcc: all@x.y");
    expect(url.searchParams.get("subject")).toBe("Re: your message to Sales");
    expect(url.searchParams.get("body")).toContain("> a\n> b");
  });

  it("reads and writes the weekly hours as one line per day", () => {
    const weekly = { mon: ["09:00-12:00", "13:00-17:30"], fri: ["09:00-15:00"] };
    expect(formatWeekly(weekly)).toBe("mon 09:00-12:00 13:00-17:30\nfri 09:00-15:00");
    expect(parseWeekly("Monday 09:00-12:00, 13:00-17:30\n\nfri 09:00-15:00")).toEqual(weekly);
    expect(() => parseWeekly("someday 09:00-10:00")).toThrow(/weekday/);
    const draft = { limited: false, timezone: "UTC", weekly: "", holidays: "", closed: false, email: "", queue: false };
    expect(hoursBody(draft).hours).toBeNull();
    expect(hoursBody({ ...draft, limited: true, weekly: "mon 09:00-17:00", holidays: "2026-12-25" }).hours).toEqual({
      timezone: "UTC",
      weekly: { mon: ["09:00-17:00"] },
      holidays: ["2026-12-25"],
      closed_by_hand: false,
    });
  });
});

describe("Inbox", () => {
  let root: HTMLElement;
  let calls: string[];
  let handlers: ((e: ClientEvent) => void)[];
  const client = {
    on: (h: (e: ClientEvent) => void) => {
      handlers.push(h);
      return () => (handlers = handlers.filter((x) => x !== h));
    },
  } as unknown as ParleyClient;
  const push = (message: LeftMessage) =>
    act(() => handlers.forEach((h) => h({ type: "server", message: { type: "left_message", message } })));
  const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));
  const $$ = (sel: string) => [...root.querySelectorAll<HTMLElement>(sel)];
  const button = (text: string) => $$("button").find((b) => b.textContent === text) ?? null;

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    calls = [];
    handlers = [];
    setFetcher(async (url, init) => {
      calls.push(`${init?.method} ${String(url)}`);
      if (String(url).endsWith("/messages")) return new Response(JSON.stringify([left(1, { name: XSS })]));
      if (String(url).endsWith("/take")) return new Response(JSON.stringify(left(1, { status: "taken", taken_by: 7, taken_by_name: "Alice" })));
      if (String(url).endsWith("/done")) return new Response(JSON.stringify(left(1, { status: "done", taken_by: 7, taken_by_name: "Alice" })));
      return new Response(null, { status: 404 });
    });
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  it("lists, takes, marks done and follows live changes", async () => {
    act(() => render(<Inbox client={client} me={7} canOverride={false} workgroupName={() => "Sales"} />, root));
    await flush();
    const items = () => $$('[data-testid="left-message"]');
    expect(items()).toHaveLength(1);
    expect(items()[0].textContent).toContain(XSS);
    expect(root.querySelector("img")).toBeNull();
    const reply = $$("a").find((a) => a.textContent === "Reply by email") as HTMLAnchorElement;
    expect(reply.href.startsWith("mailto:dana%40example.com?")).toBe(true);

    // Another agent's new message arrives live.
    push(left(2, { name: "Yan" }));
    expect(items().map((i) => i.textContent?.includes("Yan"))).toEqual([true, false]);
    // Someone else takes it: it leaves the "new" list.
    push(left(2, { status: "taken", taken_by: 8, taken_by_name: "Bob" }));
    expect(items()).toHaveLength(1);

    act(() => button("Take")!.click());
    await flush();
    expect(calls).toContain(`POST /api/v1/messages/${PUBLIC_IDS[1]}/take`);
    expect(items()).toHaveLength(0); // filter: new
    const select = root.querySelector<HTMLSelectElement>("#inbox-filter")!;
    act(() => {
      select.value = "taken";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(items().map((i) => i.dataset.status)).toEqual(["taken", "taken"]);
    const mine = items().find((i) => i.textContent?.includes("Taken by Alice"))!;
    const bobs = items().find((i) => i.textContent?.includes("Taken by Bob"))!;
    expect([...bobs.querySelectorAll("button")].map((b) => b.textContent)).toEqual([]);
    act(() => [...mine.querySelectorAll("button")].find((b) => b.textContent === "Mark done")!.click());
    await flush();
    expect(calls).toContain(`POST /api/v1/messages/${PUBLIC_IDS[1]}/done`);
    expect(items()).toHaveLength(1);
  });
});
