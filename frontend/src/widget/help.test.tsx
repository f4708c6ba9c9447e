import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { HelpSearch } from "./HelpSearch";

let root: HTMLElement;
let calls: { url: string; method: string; token: string | null }[];

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls = [];
  vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    calls.push({ url, method: init?.method ?? "GET", token: headers.get("X-Visitor-Token") });
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
    if (url.startsWith("/api/v1/workgroups/sales/kb?")) {
      return json([{ id: 3, title: "Refunds <b>fast</b>", category: "", excerpt: "Paid within 30 days." }]);
    }
    if (url === "/api/v1/workgroups/sales/kb/3") {
      return json({ id: 3, title: "Refunds", category: "", excerpt: "", html: "<p>Paid <strong>fast</strong></p><img src=x onerror=alert(1)>" });
    }
    if (url === "/api/v1/workgroups/sales/kb/3/answered") return json({ left_queue: headers.has("X-Visitor-Token") });
    return new Response("{}", { status: 404 });
  });
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
  vi.unstubAllGlobals();
});

const flush = async () => {
  for (let i = 0; i < 5; i++) await act(async () => await Promise.resolve());
};
const wait = (ms: number) => act(() => new Promise<void>((r) => setTimeout(r, ms)));
const button = (name: string) =>
  [...root.querySelectorAll("button")].find((b) => b.textContent?.includes(name)) as HTMLButtonElement;

describe("the widget's help search", () => {
  it("finds public articles, shows one, and leaves the queue when it answered the question", async () => {
    const left = vi.fn();
    act(() => render(<HelpSearch slug="sales" visitorToken="tok" initialQuery="refund" onLeftQueue={left} />, root));
    expect(root.querySelector("input")).toBeNull(); // collapsed until asked for
    act(() => button("Search our help articles").click());
    expect(document.activeElement?.id).toBe("pw-help-q");
    await wait(300);
    await flush();
    expect(calls[0]).toEqual({ url: "/api/v1/workgroups/sales/kb?q=refund", method: "GET", token: null });
    const found = root.querySelector('[data-testid="help-results"]')!;
    expect(found.textContent).toContain("Refunds <b>fast</b>"); // a title is text
    expect(found.querySelector("b")).toBeNull();
    await act(async () => (found.querySelector("button") as HTMLButtonElement).click());
    await flush();
    const article = root.querySelector('[data-testid="help-article"]')!;
    expect(article.querySelector('[data-testid="article-body"]')?.innerHTML).toBe("<p>Paid <strong>fast</strong></p>");
    await act(async () => button("This answered my question").click());
    await flush();
    expect(calls.at(-1)).toEqual({ url: "/api/v1/workgroups/sales/kb/3/answered", method: "POST", token: "tok" });
    expect(root.querySelector('[data-testid="help-notice"]')?.textContent).toContain("left the queue");
    expect(left).toHaveBeenCalledOnce();
  });

  it("before a chat, says thanks and nothing else", async () => {
    act(() => render(<HelpSearch slug="sales" />, root));
    act(() => button("Search our help articles").click());
    const input = root.querySelector("input")!;
    act(() => {
      input.value = "refund";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await wait(300);
    await flush();
    await act(async () => (root.querySelector('[data-testid="help-results"] button') as HTMLButtonElement).click());
    await flush();
    await act(async () => button("This answered my question").click());
    await flush();
    expect(calls.at(-1)?.token).toBeNull();
    expect(root.querySelector('[data-testid="help-notice"]')?.textContent).toBe("Glad it helped!");
  });
});

describe("the question as the first search", () => {
  it("is taken when it arrives after the first render", async () => {
    act(() => render(<HelpSearch slug="sales" initialQuery="" />, root));
    act(() => render(<HelpSearch slug="sales" initialQuery="refund" />, root));
    act(() => button("Search our help articles").click());
    await wait(300);
    await flush();
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/workgroups/sales/kb?q=refund"]);
    expect((root.querySelector("#pw-help-q") as HTMLInputElement).value).toBe("refund");
  });
});
