// The rating step after "Chat ended": asked only when the server says so, five stars as a
// keyboard-operable radio group with spoken labels, an optional comment, the thanks; after a
// reload of a rated chat, the thanks and no form; in German too.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Entry } from "../shared/protocol";
import { aConversation, FakeSocket, MemoryStore } from "../shared/testing";
import { App } from "./app";
import { setLanguage } from "./i18n";
import { chatKey } from "./state";

const CID = "c".repeat(32);
const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));
const at = "2026-03-02T10:32:00Z";

function entry(seq: number, kind: Entry["kind"], author: string | null, body: Record<string, unknown>): Entry {
  return { seq, kind, author, body, client_id: null, created_at: at };
}

interface Call {
  url: string;
  method: string;
  token: string | null;
  body: unknown;
}

describe("rating the chat", () => {
  let root: HTMLElement;
  let calls: Call[];
  let status: { wanted: boolean; rating: unknown };
  let postStatus: number;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    FakeSocket.all = [];
    calls = [];
    status = { wanted: true, rating: null };
    postStatus = 201;
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      const method = init?.method ?? "GET";
      calls.push({ url, method, token: headers.get("X-Visitor-Token"), body: init?.body ? JSON.parse(String(init.body)) : null });
      if (url === `/api/v1/conversations/${CID}/rating`) {
        if (method === "POST") {
          return new Response(JSON.stringify({ score: 5, comment: "", created_at: at }), { status: postStatus });
        }
        return new Response(JSON.stringify(status));
      }
      return new Response(JSON.stringify({ slug: "sales", name: "Sales", button_text: "Chat", open: true, form_fields: [] }));
    });
    URL.createObjectURL = vi.fn(() => "blob:transcript");
    URL.revokeObjectURL = vi.fn();
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
    setLanguage("en");
  });

  async function endedChat(): Promise<void> {
    const store = new MemoryStore();
    store.setItem(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "tok" }));
    act(() => render(<App slug="sales" page="" storage={store} embedded />, root));
    await flush();
    const ws = FakeSocket.all[0];
    act(() => ws.open());
    act(() => {
      ws.push({ type: "conversation", conversation: aConversation({ id: CID, status: "ended", end_reason: "ended", ended_at: at }) });
      ws.push({ type: "entry", conversation_id: CID, entry: entry(1, "joined", "user:1", { name: "Alice", role: "agent" }) });
      ws.push({ type: "entry", conversation_id: CID, entry: entry(2, "message", "user:1", { text: "Bye!" }) });
      ws.push({ type: "entry", conversation_id: CID, entry: entry(3, "ended", "visitor", { reason: "ended" }) });
      ws.push({ type: "synced" });
    });
    await flush();
  }

  const stars = () => [...root.querySelectorAll<HTMLInputElement>('[data-testid="rating"] input[type="radio"]')];

  it("asks with five labelled stars in a group, and sends the score and comment", async () => {
    await endedChat();
    const form = root.querySelector('[data-testid="rating"]')!;
    expect(form).not.toBeNull();
    expect(form.querySelector("legend")!.textContent).toBe("How was your chat?");
    expect(stars()).toHaveLength(5);
    const labels = stars().map((s) => root.querySelector(`label[for="${s.id}"]`)!.textContent);
    expect(labels).toEqual([
      "★1 star: very poor",
      "★2 stars: poor",
      "★3 stars: okay",
      "★4 stars: good",
      "★5 stars: excellent",
    ]);
    // One radio group: the same name, so that the arrow keys move between them.
    expect(new Set(stars().map((s) => s.name)).size).toBe(1);

    // Sending without a score says what is missing and sends nothing.
    await act(async () => {
      form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    });
    expect(root.querySelector('[role="alert"]')!.textContent).toBe("Please choose 1 to 5 stars.");
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);

    act(() => {
      stars()[4].checked = true;
      stars()[4].dispatchEvent(new Event("change", { bubbles: true }));
    });
    const comment = root.querySelector<HTMLTextAreaElement>("#pw-rating-comment")!;
    expect(comment.maxLength).toBe(1000);
    act(() => {
      comment.value = "Very helpful";
      comment.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await act(async () => {
      form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    });
    await flush();
    const post = calls.find((c) => c.method === "POST")!;
    expect(post).toEqual({
      url: `/api/v1/conversations/${CID}/rating`,
      method: "POST",
      token: "tok",
      body: { score: 5, comment: "Very helpful" },
    });
    expect(root.querySelector('[data-testid="rating"]')).toBeNull();
    expect(root.querySelector('[data-testid="rating-thanks"]')!.textContent).toBe("Thank you for your rating!");
  });

  it("after a reload of a rated chat shows the thanks, never the form", async () => {
    status = { wanted: false, rating: { score: 4, comment: "", created_at: at } };
    await endedChat();
    expect(root.querySelector('[data-testid="rating"]')).toBeNull();
    expect(root.querySelector('[data-testid="rating-thanks"]')).not.toBeNull();
  });

  it("asks nothing when the workgroup does not want ratings", async () => {
    status = { wanted: false, rating: null };
    await endedChat();
    expect(root.querySelector('[data-testid="rating"]')).toBeNull();
    expect(root.querySelector('[data-testid="rating-thanks"]')).toBeNull();
  });

  it("says when it could not be sent, and keeps the form", async () => {
    postStatus = 500;
    await endedChat();
    act(() => {
      stars()[2].checked = true;
      stars()[2].dispatchEvent(new Event("change", { bubbles: true }));
    });
    const form = root.querySelector('[data-testid="rating"]')!;
    await act(async () => {
      form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    });
    await flush();
    expect(root.querySelector('[role="alert"]')!.textContent).toBe("Your rating could not be sent. Please try again.");
    expect(root.querySelector('[data-testid="rating"]')).not.toBeNull();
  });

  it("speaks German", async () => {
    setLanguage("de");
    await endedChat();
    expect(root.querySelector('[data-testid="rating"] legend')!.textContent).toBe("Wie war Ihr Chat?");
    expect(root.querySelector(`label[for="${stars()[0].id}"]`)!.textContent).toBe("★1 Stern: sehr schlecht");
  });
});
