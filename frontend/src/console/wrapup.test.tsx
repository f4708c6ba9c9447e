// After the fact in the console, against a stubbed API: a chat's wrap-up (outcome and tags),
// past chats with outcome and tag filters, the follow-up list (mark resolved), the ratings
// view (escaped comments, a link to the chat), and the admin's tags screen.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { aConversation } from "../shared/testing";
import { setFetcher } from "./api";
import { FollowUps } from "./FollowUps";
import { PastChats } from "./PastChats";
import { Ratings } from "./Ratings";
import { TagsAdmin } from "./TagsAdmin";
import { WrapUp } from "./WrapUp";
import type { PastChat, Rating, Tag, WrapUp as WrapUpData } from "./wrapupApi";

const XSS = "<img src=x onerror=alert(1)>";
const CID = "c".repeat(32);
const at = "2026-03-02T10:15:00Z";
const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

type Handler = (method: string, url: string, body: unknown) => { status?: number; json?: unknown } | undefined;

describe("after the fact", () => {
  let root: HTMLElement;
  let calls: string[];
  let bodies: unknown[];
  let handler: Handler;
  const $$ = (sel: string) => [...root.querySelectorAll<HTMLElement>(sel)];
  const button = (text: string) => $$("button").find((b) => b.textContent === text)!;
  const click = async (el: HTMLElement) => {
    await act(async () => el.click());
    await flush();
  };
  const choose = async (sel: string, value: string) => {
    await act(async () => {
      const el = root.querySelector<HTMLSelectElement>(sel)!;
      el.value = value;
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await flush();
  };

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    calls = [];
    bodies = [];
    setFetcher(async (url, init) => {
      const method = init?.method ?? "GET";
      const body = init?.body ? JSON.parse(String(init.body)) : undefined;
      calls.push(`${method} ${String(url)}`);
      if (body !== undefined) bodies.push(body);
      const got = handler(method, String(url).replace("/api/v1", ""), body);
      if (!got) return new Response(JSON.stringify({ error: { code: "not_found", message: "nope" } }), { status: 404 });
      return new Response(got.json === undefined ? null : JSON.stringify(got.json), { status: got.status ?? 200 });
    });
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  const tags: Tag[] = [
    { id: 1, name: "Billing", created_at: at },
    { id: 2, name: XSS, created_at: at },
  ];

  it("wraps a chat up: saves the outcome, adds and removes tags", async () => {
    let wrap: WrapUpData = { outcome: null, outcome_by: null, outcome_at: null, tags: [] };
    handler = (method, url, body) => {
      if (url === "/tags") return { json: tags };
      if (url === `/conversations/${CID}/wrap-up`) return { json: wrap };
      if (url === `/conversations/${CID}/outcome` && method === "PUT") {
        wrap = { ...wrap, outcome: (body as { outcome: WrapUpData["outcome"] }).outcome, outcome_by: 1, outcome_at: at };
        return { json: wrap };
      }
      if (url === `/conversations/${CID}/tags/2` && method === "PUT") return { json: (wrap = { ...wrap, tags: [tags[1]] }) };
      if (url === `/conversations/${CID}/tags/2` && method === "DELETE") return { json: (wrap = { ...wrap, tags: [] }) };
      return undefined;
    };
    act(() => render(<WrapUp conversationId={CID} ended />, root));
    await flush();
    expect(root.querySelector('[data-testid="wrap-up-recorded"]')!.textContent).toBe("No outcome recorded yet.");

    await choose(`#wrap-outcome-${CID}`, "follow_up");
    await act(async () => {
      root.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await flush();
    expect(calls).toContain(`PUT /api/v1/conversations/${CID}/outcome`);
    expect(bodies).toContainEqual({ outcome: "follow_up" });
    expect(root.querySelector('[data-testid="wrap-up-recorded"]')!.textContent).toMatch(/^Recorded: Needs follow-up/);

    await choose(`#wrap-add-${CID}`, "2");
    await click(button("Add tag"));
    expect(calls).toContain(`PUT /api/v1/conversations/${CID}/tags/2`);
    const chip = root.querySelector('[data-testid="chat-tag"]')!;
    expect(chip.textContent).toContain(XSS);
    expect(root.querySelector("img")).toBeNull();

    await click(root.querySelector<HTMLElement>(`[aria-label="Remove tag ${XSS}"]`)!);
    expect(calls).toContain(`DELETE /api/v1/conversations/${CID}/tags/2`);
    expect(root.querySelector('[data-testid="chat-tag"]')).toBeNull();
  });

  it("shows a refusal as an alert", async () => {
    handler = (method, url) => {
      if (url === "/tags") return { json: tags };
      if (url === `/conversations/${CID}/wrap-up`) return { json: { outcome: null, outcome_by: null, outcome_at: null, tags: [] } };
      if (method === "PUT")
        return { status: 403, json: { error: { code: "forbidden", message: "only the chat's agents wrap it up" } } };
      return undefined;
    };
    act(() => render(<WrapUp conversationId={CID} ended />, root));
    await flush();
    await act(async () => {
      root.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await flush();
    expect(root.querySelector('[role="alert"]')!.textContent).toBe("only the chat's agents wrap it up");
  });

  it("lists past chats with their outcome and tags, filtered by outcome and tag", async () => {
    const rows: PastChat[] = [
      {
        conversation: aConversation({ status: "ended", ended_at: at }),
        wrap_up: { outcome: "escalated", outcome_by: 1, outcome_at: at, tags: [tags[0]] },
      },
    ];
    handler = (_m, url) => {
      if (url === "/tags") return { json: tags };
      if (url.startsWith("/past-chats")) return { json: rows };
      return undefined;
    };
    act(() => render(<PastChats canSeeAll={false} me="user:1" workgroupName={() => "Sales"} />, root));
    await flush();
    await flush();
    expect(root.querySelector('[data-testid="past-outcome"]')!.textContent).toBe("Escalated");
    expect(root.querySelector('[data-testid="past-tag"]')!.textContent).toBe("Billing");
    await choose("#past-outcome", "follow_up");
    await flush();
    expect(calls.at(-1)).toBe("GET /api/v1/past-chats?outcome=follow_up");
    await choose("#past-tag", "1");
    await flush();
    expect(calls.at(-1)).toBe("GET /api/v1/past-chats?outcome=follow_up&tag=1");
  });

  it("lists follow-ups oldest first as the server sends them, and marks one resolved", async () => {
    const rows: PastChat[] = [
      { conversation: aConversation({ id: "a".repeat(32), metadata: { name: "Ann" } }), wrap_up: { outcome: "follow_up", outcome_by: 1, outcome_at: at, tags: [] } },
      { conversation: aConversation({ id: "b".repeat(32), metadata: { name: "Ben" } }), wrap_up: { outcome: "follow_up", outcome_by: 1, outcome_at: at, tags: [] } },
    ];
    handler = (method, url) => {
      if (url === "/follow-ups") return { json: rows };
      if (method === "PUT" && url.endsWith("/outcome")) return { json: { outcome: "resolved", outcome_by: 1, outcome_at: at, tags: [] } };
      return undefined;
    };
    act(() => render(<FollowUps canSeeAll={false} />, root));
    await flush();
    const names = () => $$('[data-testid="follow-up"]').map((r) => r.querySelector("td")!.textContent);
    expect(names()).toEqual(["Ann", "Ben"]);
    await click(root.querySelector<HTMLElement>('[aria-label="Mark the chat with Ann resolved"]')!);
    expect(calls).toContain(`PUT /api/v1/conversations/${"a".repeat(32)}/outcome`);
    expect(bodies).toContainEqual({ outcome: "resolved" });
    expect(names()).toEqual(["Ben"]);
    expect(root.querySelector('[role="status"]')!.textContent).toContain("Ann");
  });

  it("shows my ratings, escaped, with a link to the chat", async () => {
    const rated: Rating[] = [
      {
        conversation_id: CID,
        score: 4,
        comment: XSS,
        created_at: at,
        agent_id: 1,
        agent_name: "Alice",
        workgroup_id: 1,
        workgroup: "sales",
        customer_name: "Zoe",
        shopper: null,
      },
    ];
    handler = (_m, url) => (url.startsWith("/ratings") ? { json: rated } : undefined);
    let opened = "";
    act(() => render(<Ratings canSeeOthers={false} onOpen={(id) => (opened = id)} />, root));
    await flush();
    expect(calls).toEqual(["GET /api/v1/ratings?mine=true"]);
    const row = root.querySelector<HTMLElement>('[data-testid="rating-row"]')!;
    expect(row.dataset.score).toBe("4");
    expect(row.querySelector('[role="img"]')!.getAttribute("aria-label")).toBe("4 of 5 stars");
    expect(row.textContent).toContain(XSS);
    expect(root.querySelector("img")).toBeNull();
    await click(button("Open chat"));
    expect(opened).toBe(CID);
  });

  it("lets a supervisor see their workgroups' ratings", async () => {
    handler = (_m, url) => (url.startsWith("/ratings") ? { json: [] } : undefined);
    act(() => render(<Ratings canSeeOthers />, root));
    await flush();
    await act(async () => {
      const box = root.querySelector<HTMLInputElement>('input[type="checkbox"]')!;
      box.checked = true;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await flush();
    expect(calls).toEqual(["GET /api/v1/ratings?mine=true", "GET /api/v1/ratings"]);
    expect(root.querySelector('[data-testid="ratings-empty"]')).not.toBeNull();
  });

  it("keeps the admin's tags: create, rename, delete after confirming", async () => {
    let list: Tag[] = [tags[0]];
    handler = (method, url, body) => {
      if (url === "/tags") return { json: list };
      if (url === "/admin/tags" && method === "POST") {
        const t = { id: 9, name: (body as { name: string }).name, created_at: at };
        list = [...list, t];
        return { status: 201, json: t };
      }
      if (url === "/admin/tags/1" && method === "PUT") {
        const name = (body as { name: string }).name;
        list = list.map((t) => (t.id === 1 ? { ...t, name } : t));
        return { json: list[0] };
      }
      if (url === "/admin/tags/1" && method === "DELETE") {
        list = list.filter((t) => t.id !== 1);
        return { status: 204 };
      }
      return undefined;
    };
    act(() => render(<TagsAdmin />, root));
    await flush();
    const names = () => $$('[data-testid="admin-tag"] .tag-chip').map((c) => c.textContent);
    expect(names()).toEqual(["Billing"]);

    await act(async () => {
      const input = root.querySelector<HTMLInputElement>("#tag-new")!;
      input.value = "Refund";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await act(async () => {
      root.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await flush();
    expect(bodies).toContainEqual({ name: "Refund" });
    expect(names()).toEqual(["Billing", "Refund"]);

    await click(root.querySelector<HTMLElement>('[aria-label="Rename tag Billing"]')!);
    await act(async () => {
      const input = root.querySelector<HTMLInputElement>("#tag-edit-1")!;
      input.value = "Invoices";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await act(async () => {
      root.querySelector("#tag-edit-1")!.closest("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await flush();
    expect(calls).toContain("PUT /api/v1/admin/tags/1");
    expect(names()).toContain("Invoices");

    await click(root.querySelector<HTMLElement>('[aria-label="Delete tag Invoices"]')!);
    expect(calls).not.toContain("DELETE /api/v1/admin/tags/1");
    await click(button("Delete it"));
    expect(calls).toContain("DELETE /api/v1/admin/tags/1");
    expect(names()).toEqual(["Refund"]);
  });
});
