// The archive screens against a stubbed REST API: the policy (retention per kind, the notice,
// legal holds, the compliance right), search with marked words (built from offsets: no markup
// gets through), a read-only audited read, an export polled to its downloads, and a
// customer's data exported and deleted with what a legal hold keeps.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { aConversation } from "../shared/testing";
import { setFetcher, type AdminUser, type StaffMember } from "./api";
import { ArchiveExportPanel, ArchiveSearch, dayStart, NO_FILTERS, pollDelay, toQuery } from "./Archive";
import type { ArchiveExport, ArchivePolicy, ArchiveRights } from "./archiveApi";
import { resetArchiveNotice, useArchiveNotice } from "./ArchiveNotice";
import { ArchivePolicyScreen, keepDays } from "./ArchivePolicy";
import { CustomerData, customerRef } from "./CustomerData";

const EVIL = "<img src=x onerror=alert(1)>";
const CID = "c".repeat(32);

type Handler = (body: unknown, url: string) => { status?: number; body?: unknown } | undefined;

let root: HTMLElement;
let calls: { method: string; url: string; body: unknown }[];
let routes: Record<string, Handler>;

/** Answer `METHOD /path` (without query) from `routes`; anything else 404. */
function serve() {
  setFetcher(async (input, init) => {
    const url = String(input);
    const method = init?.method ?? "GET";
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, url, body });
    const path = url.replace(/^\/api\/v1/, "").split("?")[0];
    const handler = routes[`${method} ${path}`];
    const answer = handler?.(body, url);
    if (!answer) {
      return new Response(JSON.stringify({ error: { code: "not_found", message: "no such thing" } }), { status: 404 });
    }
    const status = answer.status ?? 200;
    if (status === 204) return new Response(null, { status });
    return new Response(JSON.stringify(answer.body ?? null), { status });
  });
}

const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));
const $ = <T extends Element = HTMLElement>(sel: string) => root.querySelector<T & HTMLElement>(sel);
const $$ = (sel: string) => [...root.querySelectorAll<HTMLElement>(sel)];
const button = (name: string) =>
  $$("button").find((b) => b.textContent?.trim() === name || b.getAttribute("aria-label") === name) as HTMLButtonElement;
function field(label: string): HTMLInputElement & HTMLSelectElement {
  const byAria = root.querySelector(`[aria-label="${label}"]`);
  if (byAria) return byAria as HTMLInputElement & HTMLSelectElement;
  const l = $$("label").find((x) => x.textContent?.trim().startsWith(label))!;
  return l.querySelector("input, select, textarea") as HTMLInputElement & HTMLSelectElement;
}
function type(label: string, value: string) {
  act(() => {
    const el = field(label);
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  });
}
async function submit(form: HTMLFormElement) {
  await act(async () => void form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true })));
  await flush();
}

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls = [];
  routes = {};
  serve();
  resetArchiveNotice();
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
  vi.useRealTimers();
});

const users: AdminUser[] = [
  { id: 1, username: "root", display_name: "Root", role: "admin", active: true },
  { id: 2, username: "sam", display_name: EVIL, role: "supervisor", active: true },
  { id: 3, username: "old", display_name: "Old", role: "agent", active: false },
];

function policy(over: Partial<ArchivePolicy> = {}): ArchivePolicy {
  return {
    keep_days: { customer_chat: 90, direct: null, room: 30, backchannel: null },
    notice: "Chats are archived.",
    holds: [
      {
        id: 4,
        conversation_id: CID,
        customer_sub: null,
        customer_email: null,
        reason: EVIL,
        created_by: 1,
        created_at: "2026-03-02T10:15:00Z",
      },
    ],
    compliance_users: [3],
    ...over,
  };
}

describe("the archiving policy screen", () => {
  it("shows the policy, saves retention per kind and the notice, which every view then shows", async () => {
    let saved = policy();
    routes["GET /admin/archive"] = () => ({ body: saved });
    routes["GET /admin/users"] = () => ({ body: users });
    routes["PUT /admin/archive"] = (body) => {
      const b = body as { keep_days: ArchivePolicy["keep_days"]; notice: string };
      saved = { ...saved, keep_days: b.keep_days, notice: b.notice };
      return { body: saved };
    };
    function Shown() {
      return <p data-testid="shown">{useArchiveNotice()}</p>;
    }
    routes["GET /archive/notice"] = () => ({ body: { notice: "Chats are archived." } });
    act(() =>
      render(
        <>
          <ArchivePolicyScreen />
          <Shown />
        </>,
        root,
      ),
    );
    await flush();
    expect(field("Days to keep customer chats").value).toBe("90");
    expect(field("Days to keep direct messages").disabled).toBe(true); // forever
    expect(field("Archive notice").value).toBe("Chats are archived.");
    expect(root.querySelector("img")).toBeNull();
    expect($('[data-testid="legal-hold"]')!.textContent).toContain(EVIL);

    // Direct messages: from forever to 365 days; rooms: forever; a new notice.
    const dmDays = $$('input[name="keep-direct"]')[1] as HTMLInputElement;
    act(() => {
      dmDays.checked = true;
      dmDays.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(field("Days to keep direct messages").value).toBe("365");
    const roomsForever = $$('input[name="keep-room"]')[0] as HTMLInputElement;
    act(() => {
      roomsForever.checked = true;
      roomsForever.dispatchEvent(new Event("change", { bubbles: true }));
    });
    type("Archive notice", `  Kept 90 days ${EVIL}  `);
    await submit(root.querySelector<HTMLFormElement>('form[aria-label="Retention and notice"]')!);
    const put = calls.find((c) => c.method === "PUT")!;
    expect(put.body).toEqual({
      keep_days: { customer_chat: 90, direct: 365, room: null, backchannel: null },
      notice: `Kept 90 days ${EVIL}`,
    });
    expect($('[role="status"]')!.textContent).toBe("Saved the archiving policy.");
    expect($('[data-testid="shown"]')!.textContent).toBe(`Kept 90 days ${EVIL}`);
    expect(root.querySelector("img")).toBeNull();
  });

  it("refuses days out of range before asking the server", async () => {
    routes["GET /admin/archive"] = () => ({ body: policy() });
    routes["GET /admin/users"] = () => ({ body: users });
    act(() => render(<ArchivePolicyScreen />, root));
    await flush();
    type("Days to keep customer chats", "0");
    await submit(root.querySelector<HTMLFormElement>('form[aria-label="Retention and notice"]')!);
    expect($('[role="alert"]')!.textContent).toContain("Customer chats: keep for 1 to 36500 days");
    expect(calls.some((c) => c.method === "PUT")).toBe(false);
    const forever = { forever: true, days: "" };
    expect(keepDays({ customer_chat: { forever: false, days: "2.5" }, direct: forever, room: forever, backchannel: forever })).toEqual({
      error: "Customer chats: keep for 1 to 36500 days, or forever.",
    });
  });

  it("places a hold with its scope and reason, and releases one after confirming", async () => {
    let holds = policy().holds;
    routes["GET /admin/archive"] = () => ({ body: policy({ holds }) });
    routes["GET /admin/users"] = () => ({ body: users });
    routes["POST /admin/archive/holds"] = (body) => {
      const b = body as { customer_email: string; reason: string };
      const hold = { ...holds[0], id: 5, conversation_id: null, customer_email: b.customer_email, reason: b.reason };
      holds = [...holds, hold];
      return { status: 201, body: hold };
    };
    routes["DELETE /admin/archive/holds/4"] = () => {
      holds = holds.filter((h) => h.id !== 4);
      return { status: 204 };
    };
    act(() => render(<ArchivePolicyScreen />, root));
    await flush();
    const form = root.querySelector<HTMLFormElement>('form[aria-label="New legal hold"]')!;
    type("Hold on", "customer_email");
    type("Customer email", "zoe@example.com");
    await submit(form);
    expect($('[role="alert"]')!.textContent).toContain("reason");
    type("Reason", "Case 2026-17");
    await submit(form);
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ customer_email: "zoe@example.com", reason: "Case 2026-17" });
    expect($$('[data-testid="legal-hold"]').map((r) => r.textContent)).toEqual([
      expect.stringContaining(`Conversation ${CID}`),
      expect.stringContaining("Customer email zoe@example.com"),
    ]);

    await act(async () => button("Release hold 4").click());
    expect(calls.some((c) => c.method === "DELETE")).toBe(false); // not before confirming
    await act(async () => button("Release hold").click());
    await flush();
    expect(calls.find((c) => c.method === "DELETE")!.url).toBe("/api/v1/admin/archive/holds/4");
    expect($$('[data-testid="legal-hold"]')).toHaveLength(1);
  });

  it("gives and takes the compliance right", async () => {
    routes["GET /admin/archive"] = () => ({ body: policy() });
    routes["GET /admin/users"] = () => ({ body: users });
    routes["PUT /admin/users/2/compliance"] = () => ({ status: 204 });
    routes["PUT /admin/users/3/compliance"] = () => ({ status: 500, body: { error: { code: "internal", message: "oops" } } });
    act(() => render(<ArchivePolicyScreen />, root));
    await flush();
    const box = (u: string) => field(`Compliance right for ${u}`);
    expect([box("root").checked, box("sam").checked, box("old").checked]).toEqual([false, false, true]);
    expect($('[data-username="old"]')!.textContent).toContain("deactivated");
    await act(async () => {
      box("sam").click();
    });
    await flush();
    expect(calls.find((c) => c.url.endsWith("/users/2/compliance"))!.body).toEqual({ compliance: true });
    expect(box("sam").checked).toBe(true);
    // A refusal leaves the box as it was and says why.
    await act(async () => {
      box("old").click();
    });
    await flush();
    expect(box("old").checked).toBe(true);
    expect($('[role="alert"]')!.textContent).toContain("Could not change old's compliance right: oops");
  });
});

const staff: StaffMember[] = [
  { user_id: 2, username: "alice", display_name: "Alice", role: "agent", presence: "available", status_text: "", workgroup_ids: [] },
];
const rights: ArchiveRights = { compliance: true, search: true, customer_export: true, customer_delete: false, policy: false };

describe("searching the archive", () => {
  it("builds the search body from the filters, whole days in the browser's zone", () => {
    expect(toQuery(NO_FILTERS)).toEqual({ query: {} });
    const got = toQuery({ ...NO_FILTERS, words: " guarantee ", kind: "direct", userId: "2", from: "2026-03-01", to: "2026-03-01" });
    expect(got).toEqual({
      query: {
        words: "guarantee",
        kind: "direct",
        user_id: 2,
        since: new Date(2026, 2, 1).toISOString(),
        until: new Date(2026, 2, 2).toISOString(),
      },
    });
    expect(toQuery({ ...NO_FILTERS, words: "?!" })).toEqual({ error: "Search for words (letters or digits)." });
    expect(toQuery({ ...NO_FILTERS, from: "2026-03-02", to: "2026-03-01" })).toEqual({ error: "The last day is before the first." });
    expect(dayStart("nope")).toBeNull();
  });

  it("shows hits with the words marked as text, and opens a conversation read-only, said to be audited", async () => {
    routes["POST /archive/search"] = () => ({
      body: [
        {
          conversation_id: CID,
          kind: "direct",
          seq: 3,
          entry_kind: "message",
          author: "user:2",
          text: `Can we GUARANTÉE it? ${EVIL} <mark>guarantee</mark>`,
          created_at: "2026-03-02T10:15:00Z",
        },
      ],
    });
    routes[`GET /archive/conversations/${CID}`] = () => ({
      body: {
        conversation: aConversation({
          id: CID,
          kind: "direct",
          workgroup_id: null,
          history_starts_at_seq: 3,
          participants: [
            { key: "user:1", role: "member", name: "Sam", present: true },
            { key: "user:2", role: "member", name: "Alice", present: true },
          ],
        }),
        entries: [{ seq: 3, kind: "message", author: "user:2", body: { text: EVIL }, client_id: null, created_at: "2026-03-02T10:15:00Z" }],
      },
    });
    act(() => render(<ArchiveSearch staff={staff} rights={rights} />, root));
    expect(root.textContent).toContain("compliance read");
    type("Words", "guarantee");
    type("Kind", "direct");
    type("Staff member", "2");
    await submit(root.querySelector<HTMLFormElement>('form[role="search"]')!);
    expect(calls[0]).toMatchObject({ method: "POST", url: "/api/v1/archive/search?offset=0&limit=50" });
    expect(calls[0].body).toEqual({ words: "guarantee", kind: "direct", user_id: 2 });
    const hit = $('[data-testid="archive-hit"]')!;
    expect(hit.textContent).toContain("Alice");
    expect(hit.textContent).toContain("DM");
    // The words are marks built from the text; what the text holds stays text.
    expect(root.querySelector("img")).toBeNull();
    expect([...hit.querySelectorAll("mark")].map((m) => m.textContent)).toEqual(["GUARANTÉE", "guarantee"]);
    expect(hit.querySelector('[data-testid="archive-snippet"]')!.textContent).toContain(`${EVIL} <mark>`);

    await act(async () => button(`Open conversation ${CID.slice(0, 8)} read-only`).click());
    await flush();
    expect(calls.at(-1)).toMatchObject({ method: "GET", url: `/api/v1/archive/conversations/${CID}` });
    const reader = $('[data-testid="archive-reader"]')!;
    expect(reader.textContent).toContain("Sam, Alice");
    expect(reader.textContent).toContain("read-only");
    expect(reader.querySelector('[data-testid="archive-read-audited"]')!.textContent).toContain("audited read");
    expect(reader.querySelector('[data-testid="history-removed"]')).not.toBeNull();
    expect(reader.querySelector('[data-seq="3"]')!.textContent).toContain(EVIL);
    expect(reader.querySelector("textarea")).toBeNull(); // nothing to write with
    expect(root.querySelector("img")).toBeNull();
  });

  it("says what went wrong", async () => {
    routes["POST /archive/search"] = () => ({ status: 403, body: { error: { code: "forbidden", message: "this needs the supervisor role" } } });
    act(() => render(<ArchiveSearch staff={staff} rights={rights} />, root));
    await submit(root.querySelector<HTMLFormElement>('form[role="search"]')!);
    expect($('[role="alert"]')!.textContent).toBe("Could not search the archive: this needs the supervisor role");
  });
});

function job(over: Partial<ArchiveExport> = {}): ArchiveExport {
  return {
    id: "e".repeat(32),
    state: "running",
    total: 0,
    done: 0,
    percent: 0,
    created_at: "2026-03-02T10:15:00Z",
    finished_at: null,
    error: null,
    ...over,
  };
}

describe("exporting a search result", () => {
  const EID = "e".repeat(32);
  const progress = () => $<HTMLProgressElement>('[data-testid="export-progress"]');
  const polls = () => calls.filter((c) => c.method === "GET" && c.url.endsWith(`/exports/${EID}`)).length;
  const tick = async (ms: number) => {
    await act(async () => void vi.advanceTimersByTime(ms));
    await act(async () => {
      // The stubbed fetch, its body and the component's handler: a few microtasks, all
      // inside act, so that the next poll's timer is set before the clock moves on.
      for (let i = 0; i < 50; i++) await Promise.resolve();
    });
  };

  it("shows the progress the server reports, then the downloads, and stops polling", async () => {
    vi.useFakeTimers();
    const states = [job({ total: 30, done: 10, percent: 33 }), job({ total: 30, done: 20, percent: 66 }), job({ state: "done", total: 30, done: 30, percent: 100, finished_at: "2026-03-02T10:16:00Z" })];
    routes["POST /archive/exports"] = () => ({ status: 202, body: job() });
    routes[`GET /archive/exports/${EID}`] = () => ({ body: states.shift() ?? job({ state: "done", percent: 100 }) });
    act(() => render(<ArchiveExportPanel query={{ words: "refund" }} pollMs={1000} />, root));
    await act(async () => button("Export these results").click());
    await tick(0);
    expect(calls[0]).toMatchObject({ method: "POST", url: "/api/v1/archive/exports", body: { words: "refund" } });
    expect(progress()!.value).toBe(0);
    expect(progress()!.getAttribute("aria-label")).toBe("Export progress");
    expect(button("Export these results").disabled).toBe(true);
    await tick(999);
    expect(polls()).toBe(0); // a sane interval, not a busy loop
    await tick(1);
    expect(progress()!.value).toBe(33);
    expect(progress()!.getAttribute("aria-valuenow")).toBe("33");
    expect(progress()!.getAttribute("aria-valuetext")).toBe("33%, 10 of 30 conversations");
    expect($('[data-testid="export-status"]')!.textContent).toBe("Exporting… 10 of 30 conversations (33%)");
    await tick(1000);
    expect(progress()!.value).toBe(66);
    await tick(1000);
    expect(progress()!.value).toBe(100);
    expect($('[data-testid="export-status"]')!.textContent).toBe("Export ready: 30 conversations.");
    expect($<HTMLAnchorElement>('[data-testid="export-download-jsonl"]')!.getAttribute("href")).toBe(
      `/api/v1/archive/exports/${EID}/download?format=jsonl`,
    );
    expect($<HTMLAnchorElement>('[data-testid="export-download-html"]')!.getAttribute("href")).toBe(
      `/api/v1/archive/exports/${EID}/download?format=html`,
    );
    const done = polls();
    await tick(10_000);
    expect(polls()).toBe(done);
  });

  it("stops polling when it leaves the screen", async () => {
    vi.useFakeTimers();
    routes["POST /archive/exports"] = () => ({ status: 202, body: job() });
    routes[`GET /archive/exports/${EID}`] = () => ({ body: job({ total: 10, done: 1, percent: 10 }) });
    act(() => render(<ArchiveExportPanel query={{}} />, root));
    await act(async () => button("Export these results").click());
    await tick(0);
    await tick(1000);
    expect(polls()).toBe(1);
    act(() => render(null, root));
    await tick(10_000);
    expect(polls()).toBe(1);
  });

  it("shows a failed export, and keeps trying, slower, while the server cannot be reached", async () => {
    vi.useFakeTimers();
    let reachable = false;
    routes["POST /archive/exports"] = () => ({ status: 202, body: job() });
    routes[`GET /archive/exports/${EID}`] = () =>
      reachable ? { body: job({ state: "failed", error: "OperationalError" }) } : { status: 503, body: { error: { code: "unavailable", message: "try later" } } };
    act(() => render(<ArchiveExportPanel query={{}} />, root));
    await act(async () => button("Export these results").click());
    await tick(0);
    await tick(1000);
    expect($('[role="alert"]')!.textContent).toContain("Could not read the export's progress (trying again): try later");
    await tick(1999);
    expect(polls()).toBe(1); // backing off: 2 s after one failure
    reachable = true;
    await tick(1);
    expect(polls()).toBe(2);
    expect($('[data-testid="export-failed"]')!.textContent).toBe("The export failed (OperationalError). Start it again.");
    expect(progress()).toBeNull();
    expect(button("Export these results").disabled).toBe(false);
    expect(pollDelay(1000, 10)).toBe(10_000);
  });

  it("says so when the export cannot start", async () => {
    routes["POST /archive/exports"] = () => ({ status: 422, body: { error: { code: "invalid_input", message: "offset is 0 to 10000" } } });
    act(() => render(<ArchiveExportPanel query={{}} />, root));
    await act(async () => button("Export these results").click());
    await flush();
    expect($('[role="alert"]')!.textContent).toBe("Could not start the export: offset is 0 to 10000");
  });
});

describe("a customer's data on request", () => {
  beforeEach(() => {
    URL.createObjectURL = vi.fn(() => "blob:export");
    URL.revokeObjectURL = vi.fn();
  });

  it("needs the admin's word that an email is the customer's", () => {
    expect(customerRef("email", "zoe@example.com", false)).toHaveProperty("error");
    expect(customerRef("email", "zoe@example.com", true)).toEqual({ ref: { email: "zoe@example.com", confirm_email: true } });
    expect(customerRef("sub", "  ", false)).toEqual({ error: "Enter the customer's verified id." });
    expect(customerRef("sub", "cust-1", false)).toEqual({ ref: { sub: "cust-1" } });
  });

  it("exports everything about a customer by verified id, as a download", async () => {
    routes["POST /archive/customers/export"] = () => ({
      body: { conversations: [{ id: CID, status: "ended", created_at: "2026-03-02T10:15:00Z", entries: [{}, {}] }], left_messages: [] },
    });
    act(() => render(<CustomerData canExport={true} canDelete={false} />, root));
    expect(button("Delete their data…")).toBeUndefined();
    type("Customer id", "cust-1");
    await submit(root.querySelector<HTMLFormElement>('form[aria-label="Which customer"]')!);
    expect(calls[0]).toMatchObject({ method: "POST", url: "/api/v1/archive/customers/export", body: { sub: "cust-1" } });
    const out = $('[data-testid="customer-export"]')!;
    expect(out.textContent).toContain("1 conversation, 0 left messages");
    expect(out.querySelector("a")!.getAttribute("href")).toBe("blob:export");
  });

  it("deletes after a confirm step and explains what a legal hold keeps", async () => {
    routes["POST /archive/customers/delete"] = () => ({
      body: {
        conversations: ["a".repeat(32)],
        left_messages: 0,
        kept: [
          { what: CID, hold_id: 4, reason: EVIL },
          { what: "left_messages", hold_id: 5, reason: "Case 17" },
        ],
        open_chats: ["b".repeat(32)],
      },
    });
    act(() => render(<CustomerData canExport={true} canDelete={true} />, root));
    act(() => {
      const byEmail = $$('input[name="customer-by"]')[1] as HTMLInputElement;
      byEmail.checked = true;
      byEmail.dispatchEvent(new Event("change", { bubbles: true }));
    });
    type("Customer email", "zoe@example.com");
    await act(async () => button("Delete their data…").click());
    expect($('[role="alert"]')!.textContent).toContain("outside Parley");
    expect($('[data-testid="customer-delete-confirm"]')).toBeNull();
    act(() => {
      const box = root.querySelector<HTMLInputElement>('input[type="checkbox"]')!;
      box.checked = true;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await act(async () => button("Delete their data…").click());
    const confirm = $('[data-testid="customer-delete-confirm"]')!;
    expect(confirm.textContent).toContain("Delete everything held about zoe@example.com?");
    expect(calls).toHaveLength(0); // nothing deleted before confirming
    await act(async () => button("Delete for good").click());
    await flush();
    expect(calls[0]).toMatchObject({
      method: "POST",
      url: "/api/v1/archive/customers/delete",
      body: { email: "zoe@example.com", confirm_email: true },
    });
    const result = $('[data-testid="customer-deleted"]')!;
    expect(result.textContent).toContain("1 conversation and 0 left messages deleted.");
    const kept = $('[data-testid="customer-kept"]')!;
    expect(kept.textContent).toContain(`Conversation ${CID}: hold #4 (${EVIL})`);
    expect(kept.textContent).toContain("The messages they left: hold #5 (Case 17)");
    expect($('[data-testid="customer-open-chats"]')!.textContent).toContain("b".repeat(32));
    expect(root.querySelector("img")).toBeNull();
    expect($('[data-testid="customer-delete-confirm"]')).toBeNull();
  });
});
