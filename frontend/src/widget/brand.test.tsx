// Branding in the chat app: the workgroup's colour, logo and greeting from its status; and each
// run of an agent's messages under the agent's name and photo, so that after a transfer the
// visitor knows who wrote what. Photos come from the chat's own route, with the visitor's token.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Entry } from "../shared/protocol";
import { aConversation, FakeSocket, MemoryStore } from "../shared/testing";
import { App, withBylines } from "./app";
import { darken } from "./Branding";
import { chatKey } from "./state";

const CID = "c".repeat(32);
const XSS = "<img src=x onerror=alert(1)>";
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);

const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

function entry(seq: number, kind: Entry["kind"], author: string | null, body: Record<string, unknown>): Entry {
  return { seq, kind, author, body, client_id: null, created_at: "2026-03-02T10:15:00Z" };
}
const say = (seq: number, author: string, text: string) => entry(seq, "message", author, { text });

describe("bylines", () => {
  it("starts each run of an agent's messages, and again after a transfer", () => {
    const log = [
      entry(1, "queued", null, {}),
      entry(2, "joined", "user:1", { name: "Alice", role: "agent" }),
      say(3, "user:1", "Hi"),
      say(4, "user:1", "How can I help?"),
      say(5, "visitor", "Refund"),
      say(6, "user:1", "Let me pass you on"),
      entry(7, "hidden", "user:1", {}),
      say(8, "user:1", "One moment"),
      entry(9, "joined", "user:2", { name: "Bob", role: "agent" }),
      say(10, "user:2", "Bob here"),
    ];
    expect(withBylines(log).filter((x) => x.byline).map((x) => x.entry.seq)).toEqual([3, 6, 10]);
  });

  it("darkens the brand colour for hover", () => {
    expect(darken("#ffffff", 0.5)).toBe("#808080");
    expect(darken("#1f6b45", 0)).toBe("#1f6b45");
  });
});

describe("App with branding", () => {
  let root: HTMLElement;
  let requests: { url: string; headers: Record<string, string> }[];
  let branding: Record<string, unknown>;

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    requests = [];
    branding = {};
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      requests.push({ url, headers: (init?.headers ?? {}) as Record<string, string> });
      if (url.endsWith("/status")) {
        return new Response(
          JSON.stringify({ slug: "sales", name: "Sales", button_text: "Chat", open: true, form_fields: [], branding }),
        );
      }
      if (url.includes("/staff/2/photo")) {
        return new Response(PNG, { headers: { "content-type": "image/png" } });
      }
      if (url.includes("/photo")) return new Response("{}", { status: 404 });
      return new Response(null, { status: 204 });
    });
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
    document.documentElement.removeAttribute("style");
  });

  it("takes the colour, logo and greeting from the status, as text", async () => {
    branding = {
      color: "#1f6b45",
      logo_url: "/api/v1/workgroups/sales/logo?v=abc",
      greeting: `Hej!\n${XSS}`,
      position: "left",
    };
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    const style = document.documentElement.style;
    expect(style.getPropertyValue("--pw-brand")).toBe("#1f6b45");
    expect(style.getPropertyValue("--pw-brand-dark")).toBe(darken("#1f6b45"));
    const logo = root.querySelector<HTMLImageElement>('[data-testid="brand-logo"]')!;
    expect(logo.getAttribute("src")).toBe("/api/v1/workgroups/sales/logo?v=abc");
    expect(root.querySelector('[data-testid="greeting"]')!.textContent).toBe(`Hej!\n${XSS}`);
    expect(root.querySelectorAll("img")).toHaveLength(1); // the logo; the greeting is text
  });

  it("shows no logo from anywhere else, and Parley's colour without one", async () => {
    branding = { color: null, logo_url: "https://evil.example/x.png" };
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    expect(root.querySelector("img")).toBeNull();
    expect(document.documentElement.style.getPropertyValue("--pw-brand")).toBe("");
    expect(root.querySelector('[data-testid="greeting"]')!.textContent).toContain("Hi! Tell us");
  });

  it("names the agent and shows their photo above their messages, after a transfer too", async () => {
    const store = new MemoryStore();
    store.setItem(chatKey("sales"), JSON.stringify({ conversationId: CID, visitorToken: "tok" }));
    act(() => render(<App slug="sales" page="" storage={store} embedded />, root));
    await flush();
    const ws = FakeSocket.all[0];
    act(() => ws.open());
    act(() => {
      ws.push({ type: "conversation", conversation: aConversation({ id: CID }) });
      ws.push({ type: "entry", conversation_id: CID, entry: entry(1, "joined", "user:1", { name: "Alice", role: "agent" }) });
      ws.push({ type: "entry", conversation_id: CID, entry: say(2, "user:1", "Hello") });
      ws.push({ type: "entry", conversation_id: CID, entry: entry(3, "joined", "user:2", { name: XSS, role: "agent" }) });
      ws.push({ type: "entry", conversation_id: CID, entry: entry(4, "left", "user:1", { name: "Alice", role: "agent" }) });
      ws.push({ type: "entry", conversation_id: CID, entry: say(5, "user:2", "Taking over") });
      ws.push({ type: "entry", conversation_id: CID, entry: say(6, "user:2", "Refund done") });
      ws.push({ type: "synced" });
    });
    await flush();
    await flush();
    const bylines = [...root.querySelectorAll<HTMLElement>('[data-testid="byline"]')];
    expect(bylines.map((b) => b.textContent)).toEqual(["AAlice", XSS]); // "A": initials, no photo
    // Bob's photo (a data: URL, fetched with the visitor's token); Alice has none: initials.
    const photo = bylines[1].querySelector<HTMLImageElement>('[data-testid="agent-photo"]')!;
    expect(photo.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    expect(bylines[0].querySelector("img")).toBeNull();
    const asked = requests.filter((r) => r.url.includes("/photo")).map((r) => [r.url, r.headers["X-Visitor-Token"]]);
    expect(asked).toEqual([
      [`/api/v1/conversations/${CID}/staff/1/photo`, "tok"],
      [`/api/v1/conversations/${CID}/staff/2/photo`, "tok"],
    ]);
    // Markup in a name is text: the only image is the photo.
    expect(root.querySelectorAll("img")).toHaveLength(1);
  });
});
