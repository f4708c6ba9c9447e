// The customer's profile beside the chat: loads through the chat, edits the fields and tags,
// adds and deletes staff-only notes, and says what the record is of (never a typed email).

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { aConversation } from "../shared/testing";
import { setFetcher } from "./api";
import { CustomerProfile } from "./CustomerProfile";
import { parseTags, type CustomerProfile as Profile } from "./customersApi";
import { customerGone, systemText } from "./format";

const CID = "c".repeat(32);
const flush = async () => {
  for (let i = 0; i < 5; i++) await act(async () => await Promise.resolve());
};

const PROFILE: Profile = {
  key: "browser",
  stored: true,
  name: "",
  email: "",
  company: "",
  tags: [],
  verified: null,
  fields: { plan: "pro" },
  typed_name: "Zoe",
  typed_email: "zoe@example.com",
  notes: [{ id: 7, text: "prefers phone", author_id: 2, author_name: "Bob", created_at: "2026-03-02T10:00:00Z" }],
  conversations: [aConversation({ id: CID })],
  updated_at: null,
  updated_by: null,
};

let root: HTMLElement;
let calls: { method: string; url: string; body: unknown }[];

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls = [];
  setFetcher(async (input, init) => {
    const url = String(input);
    const method = init?.method ?? "GET";
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, url, body });
    const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { "content-type": "application/json" } });
    if (url === `/api/v1/conversations/${CID}/profile` && method === "GET") return json(PROFILE);
    if (url === `/api/v1/conversations/${CID}/profile` && method === "PATCH") return json({ ...PROFILE, ...(body as object) });
    if (url === `/api/v1/conversations/${CID}/profile/notes` && method === "POST")
      return json({ id: 8, text: (body as { text: string }).text, author_id: 1, author_name: "Alice", created_at: "2026-03-02T11:00:00Z" }, 201);
    if (url.startsWith(`/api/v1/conversations/${CID}/profile/notes/`) && method === "DELETE") return new Response(null, { status: 204 });
    return json({ error: { code: "not_found", message: "no" } }, 404);
  });
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
});

const input = (el: HTMLInputElement | HTMLTextAreaElement, value: string) =>
  act(() => {
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
const submit = (form: HTMLFormElement) =>
  act(() => {
    form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
const button = (text: string) => [...root.querySelectorAll("button")].find((b) => b.textContent === text)!;

describe("CustomerProfile", () => {
  it("shows the record, edits it with its tags, and keeps notes", async () => {
    act(() => render(<CustomerProfile conversation={aConversation({ id: CID })} myUserId={1} />, root));
    await flush();
    expect(root.querySelector('[data-testid="profile-key"]')!.textContent).toContain("a typed email links nothing");
    expect(root.textContent).toContain("pro (sent by the site)");
    expect(root.querySelectorAll('[data-testid="profile-note"]')).toHaveLength(1);
    // Bob's note: not Alice's to delete.
    expect(button("Delete")).toBeUndefined();
    act(() => button("Edit profile").click());
    const fields = [...root.querySelectorAll<HTMLInputElement>(".profile-form input")];
    input(fields[2], "Acme");
    input(fields[3], "vip, VIP , b2b,");
    submit(root.querySelector<HTMLFormElement>(".profile-form")!);
    await flush();
    expect(calls.find((c) => c.method === "PATCH")!.body).toEqual({ name: "", email: "", company: "Acme", tags: ["vip", "b2b"] });
    expect(root.querySelector('[data-testid="profile-company"]')!.textContent).toBe("Acme");
    expect([...root.querySelectorAll(".profile-tags li")].map((li) => li.textContent)).toEqual(["vip", "b2b"]);
    input(root.querySelector("textarea")!, "call back Monday");
    submit(root.querySelector<HTMLFormElement>(".profile-note-form")!);
    await flush();
    const notes = [...root.querySelectorAll('[data-testid="profile-note"]')];
    expect(notes.map((n) => n.querySelector("p")!.textContent)).toEqual(["call back Monday", "prefers phone"]);
    act(() => button("Delete").click());
    await flush();
    expect(calls.some((c) => c.method === "DELETE" && c.url.endsWith("/notes/8"))).toBe(true);
    expect(root.querySelectorAll('[data-testid="profile-note"]')).toHaveLength(1);
  });

  it("parses tags as typed", () => {
    expect(parseTags(" a, b ,A,, c")).toEqual(["a", "b", "c"]);
  });
});

describe("the customer left", () => {
  const conv = aConversation({ id: CID, metadata: { name: "Zoe" } });
  const e = (seq: number, kind: "away" | "back" | "message", body: Record<string, unknown> = {}) => ({
    seq,
    kind,
    author: null,
    body,
    client_id: null,
    created_at: "2026-03-02T10:00:00Z",
  });
  it("says so, with when the chat ends by itself, and when they are back", () => {
    expect(systemText(conv, e(3, "away", { ends_in_secs: 300 }))).toBe(
      "Zoe left (closed the page or lost the connection). The chat ends by itself in 5 min unless they come back.",
    );
    expect(systemText(conv, e(4, "back"))).toBe("Zoe is back");
    expect(customerGone([e(1, "message"), e(3, "away")])).toBe(true);
    expect(customerGone([e(3, "away"), e(4, "back")])).toBe(false);
    expect(customerGone([])).toBe(false);
  });
});
