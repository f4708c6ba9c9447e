// The console's co-browse pane and the admin's list of sites, against a stubbed API.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Entry } from "../shared/protocol";
import { setFetcher } from "./api";
import { CobrowsePane, CobrowseSitesAdmin, suggestions } from "./Cobrowse";

const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));
let root: HTMLDivElement;
const CID = "c".repeat(32);

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
});

const cob = (seq: number, body: Entry["body"]): Entry => ({
  seq,
  kind: "cobrowse",
  author: "user:1",
  body,
  client_id: null,
  created_at: "2026-03-02T10:15:00Z",
});
const options = { following: false, by: null, name: "", customer_site: "https://shop.example", allowed_sites: ["https://docs.example"] };

function stub(answers: Record<string, () => Response>): { method: string; path: string; body: unknown }[] {
  const calls: { method: string; path: string; body: unknown }[] = [];
  setFetcher(async (input, init) => {
    const method = init?.method ?? "GET";
    const path = String(input);
    calls.push({ method, path, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const answer = answers[`${method} ${path}`];
    return answer ? answer() : new Response(JSON.stringify(options));
  });
  return calls;
}

const type = (input: HTMLInputElement, value: string) =>
  act(() => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

describe("the co-browse pane", () => {
  it("offers the customer's site, the allowed sites and the pages sent", () => {
    expect(suggestions(options, [cob(3, { action: "push", url: "https://shop.example/a" })])).toEqual([
      "https://shop.example/",
      "https://docs.example/",
      "https://shop.example/a",
    ]);
  });

  it("sends a page, and shows the server's refusal", async () => {
    const base = `/api/v1/conversations/${CID}/cobrowse`;
    const calls = stub({
      [`POST ${base}/push`]: () =>
        new Response(JSON.stringify({ error: { code: "url_refused", message: "https://evil.example is neither the customer's site nor one of the workgroup's allowed sites", details: { reason: "not_allowed" } } }), { status: 422 }),
    });
    act(() => render(<CobrowsePane conversationId={CID} entries={[]} me="user:1" />, root));
    await flush();
    await type(root.querySelector<HTMLInputElement>(`#cobrowse-url-${CID}`)!, "https://evil.example/");
    await act(async () => root.querySelector<HTMLButtonElement>("[data-testid=cobrowse-send]")!.click());
    await flush();
    const push = calls.find((c) => c.path === `${base}/push`)!;
    expect(push.body).toMatchObject({ url: "https://evil.example/", title: "" });
    expect(root.querySelector("[data-testid=cobrowse-error]")!.textContent).toContain("neither the customer's site");
  });

  it("while the customer follows me, opens pages instead of sending them", async () => {
    const base = `/api/v1/conversations/${CID}/cobrowse`;
    const calls = stub({ [`POST ${base}/navigate`]: () => new Response(JSON.stringify(cob(4, { action: "navigate" }))) });
    act(() => render(<CobrowsePane conversationId={CID} entries={[cob(3, { action: "follow", name: "Alice" })]} me="user:1" />, root));
    await flush();
    expect(root.querySelector<HTMLInputElement>("[data-testid=follow-me]")!.checked).toBe(true);
    expect(root.querySelector("[data-testid=follow-status]")!.textContent).toBe("The customer follows you.");
    await type(root.querySelector<HTMLInputElement>(`#cobrowse-url-${CID}`)!, "https://shop.example/b");
    const button = root.querySelector<HTMLButtonElement>("[data-testid=cobrowse-send]")!;
    expect(button.textContent).toBe("Open for the customer");
    await act(async () => button.click());
    await flush();
    expect(calls.find((c) => c.path === `${base}/navigate`)!.body).toMatchObject({ url: "https://shop.example/b" });
  });
});

describe("the admin's co-browsing sites", () => {
  it("shows the list one origin a line and saves what the server normalised", async () => {
    const path = "/api/v1/admin/workgroups/sales/cobrowse/sites";
    const calls = stub({
      [`GET ${path}`]: () => new Response(JSON.stringify({ sites: ["https://docs.example"] })),
      [`PUT ${path}`]: () => new Response(JSON.stringify({ sites: ["https://docs.example", "https://help.example"] })),
    });
    act(() => render(<CobrowseSitesAdmin workgroups={[{ slug: "sales", name: "Sales" }]} />, root));
    await flush();
    const area = root.querySelector<HTMLTextAreaElement>("#cobrowse-sites")!;
    expect(area.value).toBe("https://docs.example");
    await act(() => {
      area.value = "https://docs.example\n\n HTTPS://Help.Example/ ";
      area.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await act(async () => root.querySelector<HTMLButtonElement>("button[type=submit]")!.click());
    await flush();
    expect(calls.find((c) => c.method === "PUT")!.body).toEqual({ sites: ["https://docs.example", "HTTPS://Help.Example/"] });
    expect(area.value).toBe("https://docs.example\nhttps://help.example");
  });
});
