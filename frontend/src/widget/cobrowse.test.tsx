// Co-browsing in the widget: the card of a pushed page, the follow banner, follow-me navigation
// (once per entry), and the launcher's handling of "parley:navigate" (origin, source, address).

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Entry } from "../shared/protocol";
import { MemoryStore } from "../shared/testing";
import { Log } from "./app";
import { FollowBanner, followState, navigateHost, pendingNavigation, useFollow } from "./Cobrowse";
import { initialState, reduce } from "./state";

const CID = "c".repeat(32);
const PAGE = "https://shop.example/pricing";

function entry(seq: number, over: Partial<Entry> = {}): Entry {
  return { seq, kind: "message", author: "user:1", body: {}, client_id: null, created_at: "2026-03-02T10:15:00Z", ...over };
}
const cob = (seq: number, body: Entry["body"], author = "user:1") => entry(seq, { kind: "cobrowse", author, body });
const push = (seq: number, url: string, target: string, title = "") =>
  cob(seq, { action: "push", url, target, title, name: "Alice" });

describe("co-browsing in the widget", () => {
  let root: HTMLElement;
  let posted: { message: unknown; origin: string }[];
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    posted = [];
    // The app in an iframe: its parent is the host page.
    const parent = { postMessage: (message: unknown, origin: string) => posted.push({ message, origin }) };
    vi.spyOn(window, "parent", "get").mockReturnValue(parent as unknown as Window);
  });
  afterEach(() => {
    act(() => render(null, root));
    root.remove();
    vi.restoreAllMocks();
  });

  const log = (entries: Entry[]) => {
    let state = initialState(CID, null);
    for (const e of entries) state = reduce(state, { type: "entry", conversationId: CID, entry: e });
    act(() => render(<Log state={state} page={PAGE} />, root));
  };

  it("shows a same-site page as a card whose button asks the launcher to go there", () => {
    log([push(1, "https://shop.example/checkout", "same", "Checkout <b>now</b>")]);
    const card = root.querySelector<HTMLElement>("[data-testid=pushed-page]")!;
    expect(card.dataset.target).toBe("same");
    expect(card.textContent).toContain("Alice sent you a page");
    expect(card.textContent).toContain("Checkout <b>now</b>"); // escaped, as text
    expect(card.querySelector("b")).toBeNull();
    act(() => card.querySelector<HTMLButtonElement>("button")!.click());
    expect(posted).toEqual([
      { message: { type: "parley:navigate", url: "https://shop.example/checkout" }, origin: "https://shop.example" },
    ]);
  });

  it("opens another allowed site in a new tab, without the opener", () => {
    log([push(1, "https://docs.example/guide", "new_tab")]);
    const link = root.querySelector<HTMLAnchorElement>("[data-testid=pushed-page] a")!;
    expect(link.href).toBe("https://docs.example/guide");
    expect(link.target).toBe("_blank");
    expect(link.rel).toBe("noopener noreferrer");
    expect(root.querySelector("[data-testid=pushed-page] button")).toBeNull();
  });

  it("shows nothing for an action it does not know (a later version's)", () => {
    log([cob(1, { action: "view_request", name: "Alice" })]);
    expect(root.textContent).toBe("");
  });

  it("folds follow me from the entries as the server does", () => {
    const follow = cob(2, { action: "follow", name: "Alice" });
    const nav = cob(3, { action: "navigate", url: "https://shop.example/a", target: "same", name: "Alice" });
    expect(followState([follow]).following).toBe(true);
    expect(pendingNavigation([follow, nav])?.seq).toBe(3);
    expect(followState([follow, nav, cob(4, { action: "unfollow", by: "customer" }, "visitor")]).following).toBe(false);
    expect(pendingNavigation([follow, nav, cob(4, { action: "unfollow", by: "customer" }, "visitor")])).toBeNull();
    expect(followState([follow, entry(4, { kind: "left", author: "user:1", body: {} })]).following).toBe(false);
    expect(followState([follow, entry(4, { kind: "ended", author: null, body: {} })]).following).toBe(false);
    // Following again: the navigations of the earlier round are not replayed.
    expect(pendingNavigation([follow, nav, cob(4, { action: "unfollow", by: "agent" }), cob(5, { action: "follow", name: "Alice" })])).toBeNull();
  });

  it("navigates once per navigation entry, not again after the page it lands on loads", () => {
    const store = new MemoryStore();
    const entries = [
      cob(2, { action: "follow", name: "Alice" }),
      cob(3, { action: "navigate", url: "https://shop.example/a", target: "same", name: "Alice" }),
    ];
    function Probe({ list, page }: { list: Entry[]; page: string }) {
      useFollow(CID, list, true, page, store);
      return null;
    }
    act(() => render(<Probe list={entries} page={PAGE} />, root));
    expect(posted.map((p) => p.message)).toEqual([{ type: "parley:navigate", url: "https://shop.example/a" }]);
    // The host page reloaded there: a new app, the same entries.
    act(() => render(null, root));
    act(() => render(<Probe list={entries} page="https://shop.example/a" />, root));
    expect(posted).toHaveLength(1);
    const more = [...entries, cob(4, { action: "navigate", url: "https://shop.example/b", target: "same", name: "Alice" })];
    act(() => render(<Probe list={more} page="https://shop.example/a" />, root));
    expect(posted.map((p) => p.message)).toEqual([
      { type: "parley:navigate", url: "https://shop.example/a" },
      { type: "parley:navigate", url: "https://shop.example/b" },
    ]);
  });

  it("never posts to an unknown host page", () => {
    expect(navigateHost("https://shop.example/a", "")).toBe(false);
    expect(navigateHost("https://shop.example/a", "javascript:alert(1)")).toBe(false);
    expect(posted).toEqual([]);
  });

  it("shows the banner while following, and the customer stops with one click", async () => {
    const fetcher = vi.fn(async () => new Response(null, { status: 204 }));
    vi.stubGlobal("fetch", fetcher);
    act(() =>
      render(<FollowBanner state={{ following: true, by: "user:1", name: "Alice" }} conversationId={CID} visitorToken="tok" />, root),
    );
    const banner = root.querySelector("[data-testid=following]")!;
    expect(banner.textContent).toContain("Following Alice");
    await act(async () => root.querySelector<HTMLButtonElement>("[data-testid=stop-following]")!.click());
    expect(fetcher).toHaveBeenCalledWith(`/api/v1/conversations/${CID}/cobrowse/unfollow`, {
      method: "POST",
      headers: { "X-Visitor-Token": "tok" },
    });
    vi.unstubAllGlobals();
  });
});
