import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Entry } from "../shared/protocol";
import { aConversation } from "../shared/testing";
import { setFetcher } from "./api";
import { Chats, type ChatActions } from "./Chats";
import { initialState, reduce, type ConsoleState } from "./state";
import { ArticleSuggestions, articleExcerpt, articleLink, slashQuery, spliceText, SEARCH_DELAY_MS } from "./Suggestions";
import type { ArticleSummary, CannedSuggestion } from "./workspaceApi";

const CID = "c".repeat(32);

describe("slashQuery", () => {
  it("finds the /word the caret ends", () => {
    expect(slashQuery("/ref", 4)).toEqual({ start: 0, end: 4, query: "ref" });
    expect(slashQuery("Hi! /re", 7)).toEqual({ start: 4, end: 7, query: "re" });
    expect(slashQuery("line\n/", 6)).toEqual({ start: 5, end: 6, query: "" });
    expect(slashQuery("/rück", 5)?.query).toBe("rück");
    expect(slashQuery("/ref-st", 7)?.query).toBe("ref-st");
    // The caret in the middle of a word: the part before it.
    expect(slashQuery("/refund", 3)?.query).toBe("re");
  });

  it("ignores slashes that are not a command", () => {
    expect(slashQuery("and/or", 6)).toBeNull();
    expect(slashQuery("https://x.example/path", 22)).toBeNull();
    expect(slashQuery("/ref now", 8)).toBeNull(); // a space ended it
    expect(slashQuery("no slash", 8)).toBeNull();
    expect(slashQuery("12/05", 5)).toBeNull();
  });

  it("splices the inserted text in place of the query", () => {
    expect(spliceText("Hi /ref!", 3, 7, "Refunds take 30 days.")).toEqual({
      text: "Hi Refunds take 30 days.!",
      caret: 24,
    });
  });
});

const SUGGESTIONS: CannedSuggestion[] = [
  { kind: "canned", id: 1, scope: "workgroup", shortcut: "refund", title: "Refund policy", text: "Hi {customer.first_name|there}, ...", category: "Billing", uses: 3 },
  { kind: "template", id: 9, scope: "company", shortcut: "welcome", title: "Welcome", text: "Welcome!", category: "greeting", uses: 0 },
];

let root: HTMLElement;
let calls: string[];
let sent: { text: string; options: unknown }[];

function state(): ConsoleState {
  let s = initialState(1);
  s = reduce(s, { type: "server", message: { type: "conversation", conversation: aConversation({ id: CID, metadata: { name: "Dana Scully", question: "refund?" } }) } });
  return s;
}

const actions = (): ChatActions => ({
  select: () => undefined,
  close: () => undefined,
  send: (_id, text, options) => sent.push({ text, options }),
  typing: () => undefined,
  request: async () => ({ type: "ok", ref: null }),
  dismissFailed: () => undefined,
});

const flush = async () => {
  for (let i = 0; i < 5; i++) await act(async () => await Promise.resolve());
};
const wait = (ms: number) => act(() => new Promise<void>((r) => setTimeout(r, ms)));

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls = [];
  sent = [];
  setFetcher(async (input, init) => {
    const url = String(input);
    calls.push(`${init?.method ?? "GET"} ${url}`);
    if (url.startsWith("/api/v1/canned/search")) {
      const q = new URL(url, "http://x").searchParams.get("q") ?? "";
      return json(q === "zzz" ? [] : SUGGESTIONS);
    }
    if (url === `/api/v1/conversations/${CID}/canned/1`) return json({ text: "Hi Dana, refunds take 30 days.", missing: [] });
    if (url === `/api/v1/conversations/${CID}/templates/9`) return json({ text: "Welcome, Dana!", missing: ["field.order"] });
    if (url.endsWith("/kb/suggestions")) return json([]);
    return json({ error: { code: "not_found", message: "no" } }, 404);
  });
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
});

function type(el: HTMLTextAreaElement, value: string) {
  act(() => {
    el.value = value;
    el.setSelectionRange(value.length, value.length);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
}
const key = (el: HTMLElement, k: string) =>
  act(() => {
    el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
  });

describe("the / picker in the reply box", () => {
  it("searches as the agent types, inserts the chosen response for editing and never sends it blind", async () => {
    act(() => render(<Chats state={state()} actions={actions()} workgroupName={() => "Sales"} />, root));
    const box = root.querySelector("textarea")!;
    type(box, "/ref");
    expect(box.getAttribute("aria-controls")).toBe(`canned-${CID}`);
    await wait(SEARCH_DELAY_MS + 20);
    await flush();
    expect(calls).toContain(`GET /api/v1/canned/search?q=ref&conversation_id=${CID}&limit=8`);
    const options = [...root.querySelectorAll('[role="option"]')];
    expect(options.map((o) => o.querySelector(".canned-shortcut")?.textContent)).toEqual(["/refund", "/welcome"]);
    expect(options[0].getAttribute("aria-selected")).toBe("true");
    expect(box.getAttribute("aria-activedescendant")).toBe(options[0].id);
    // Enter picks the highlighted one: inserted in place of "/ref", with the name filled in.
    key(box, "Enter");
    await flush();
    await wait(20);
    expect(calls).toContain(`POST /api/v1/conversations/${CID}/canned/1`);
    expect(box.value).toBe("Hi Dana, refunds take 30 days.");
    expect(root.querySelector('[data-testid="canned-picker"]')).toBeNull();
    expect(sent).toEqual([]);
    // The agent edits, then sends: what they wrote goes out.
    type(box, "Hi Dana, refunds take 30 days. Anything else?");
    key(box, "Enter");
    await flush();
    expect(sent).toEqual([{ text: "Hi Dana, refunds take 30 days. Anything else?", options: {} }]);
  });

  it("moves with the arrows, says which placeholders had no value, and closes on Escape", async () => {
    act(() => render(<Chats state={state()} actions={actions()} workgroupName={() => "Sales"} />, root));
    const box = root.querySelector("textarea")!;
    type(box, "Thanks! /we");
    await wait(SEARCH_DELAY_MS + 20);
    await flush();
    key(box, "ArrowDown");
    expect(root.querySelectorAll('[role="option"]')[1].getAttribute("aria-selected")).toBe("true");
    key(box, "Tab");
    await flush();
    await wait(20);
    expect(box.value).toBe("Thanks! Welcome, Dana!");
    expect(root.querySelector('[data-testid="canned-missing"]')?.textContent).toContain("{field.order}");

    type(box, "Thanks! Welcome, Dana! /zzz");
    await wait(SEARCH_DELAY_MS + 20);
    await flush();
    expect(root.querySelector(".canned-empty")?.textContent).toContain("/zzz");
    key(box, "Escape");
    expect(root.querySelector('[data-testid="canned-picker"]')).toBeNull();
    // Typing on after Escape does not reopen it for the same slash; Enter sends as usual.
    type(box, "Thanks! Welcome, Dana! /zzzz");
    expect(root.querySelector('[data-testid="canned-picker"]')).toBeNull();
    key(box, "Enter");
    await flush();
    expect(sent.map((s) => s.text)).toEqual(["Thanks! Welcome, Dana! /zzzz"]);
  });

  it("clicking an option inserts it too", async () => {
    act(() => render(<Chats state={state()} actions={actions()} workgroupName={() => "Sales"} />, root));
    const box = root.querySelector("textarea")!;
    type(box, "/");
    await wait(SEARCH_DELAY_MS + 20);
    await flush();
    act(() => {
      root.querySelectorAll('[role="option"]')[0].dispatchEvent(new MouseEvent("mousedown", { bubbles: true, cancelable: true }));
    });
    await flush();
    await wait(20);
    expect(box.value).toBe("Hi Dana, refunds take 30 days.");
  });
});

describe("suggested articles", () => {
  const article = (over: Partial<ArticleSummary> = {}): ArticleSummary => ({
    id: 7,
    workgroup: "sales",
    title: "Refunds",
    category: "",
    visibility: "public",
    excerpt: "Refunds are paid within 30 days.",
    updated_at: "2026-03-02T10:15:00Z",
    ...over,
  });

  it("follow the customer's messages and insert a link or an excerpt", async () => {
    const loads: number[] = [];
    const inserted: string[] = [];
    const msg = (seq: number): Entry => ({ seq, kind: "message", author: "visitor", body: { text: "x" }, client_id: null, created_at: "2026-03-02T10:15:00Z" });
    const view = (entries: Entry[]) => (
      <ArticleSuggestions
        conversationId={CID}
        entries={entries}
        onInsert={(t) => inserted.push(t)}
        load={async () => {
          loads.push(entries.length);
          return [article(), article({ id: 8, title: "Internal <b>note</b>", visibility: "internal" })];
        }}
        loadArticle={async () => ({ ...article(), body: "", html: "<p>Paid <em>fast</em></p><script>x</script>", answered: 0, created_at: "", editable: false })}
      />
    );
    act(() => render(view([msg(1)]), root));
    await flush();
    const items = root.querySelectorAll('[data-testid="kb-suggestion"]');
    expect(items).toHaveLength(2);
    expect(items[1].textContent).toContain("Internal <b>note</b>"); // text, not HTML
    expect([...items[1].querySelectorAll("button")].map((b) => b.textContent)).toEqual(["Insert excerpt", "Read"]);
    act(() => (items[0].querySelector("button") as HTMLButtonElement).click());
    act(() => ([...items[0].querySelectorAll("button")][1] as HTMLButtonElement).click());
    expect(inserted).toEqual([articleLink(article()), articleExcerpt(article())]);
    expect(inserted[0]).toBe(`${location.origin}/help/sales/7`);
    await act(async () => ([...items[0].querySelectorAll("button")][2] as HTMLButtonElement).click());
    await flush();
    expect(root.querySelector('[data-testid="article-body"]')?.innerHTML).toBe("<p>Paid <em>fast</em></p>");
    // A new message from the customer: asked again; a staff message: not.
    act(() => render(view([msg(1), msg(2)]), root));
    await flush();
    act(() => render(view([msg(1), msg(2), { ...msg(3), author: "user:1" }]), root));
    await flush();
    expect(loads).toEqual([1, 2]);
  });
});
