// The widget and a signed-in customer: the identity token from the host page goes with the chat,
// the server's anonymous visitor id is kept for the next one, refusals are said in words.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { aConversation, FakeSocket, MemoryStore } from "../shared/testing";
import { App } from "./app";
import { identityClaims, VISITOR_ID_KEY } from "./state";

const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const TOKEN = `${b64({ alg: "HS256", kid: "k1" })}.${b64({ sub: "c-9", name: "Dana Berg", email: "dana@example.com", exp: 9e9 })}.sig`;

const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

describe("identityClaims", () => {
  it("reads name and email from a token, and nothing from garbage", () => {
    expect(identityClaims(TOKEN)).toEqual({ name: "Dana Berg", email: "dana@example.com" });
    expect(identityClaims("not a token")).toEqual({});
    expect(identityClaims(null)).toEqual({});
  });
});

describe("App with identity", () => {
  let root: HTMLElement;
  let requests: { url: string; init?: RequestInit }[];
  let identityMode: "optional" | "required";
  let chatReply: { status: number; body: unknown };

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    requests = [];
    identityMode = "optional";
    chatReply = {
      status: 201,
      body: { conversation: aConversation(), visitor_token: "tok", position: 1, visitor_id: "vid-2.sig" },
    };
    FakeSocket.all = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      requests.push({ url, init });
      if (url.endsWith("/status")) {
        return new Response(
          JSON.stringify({ slug: "sales", name: "Sales", button_text: "Chat", open: true, form_fields: [], identity: identityMode }),
        );
      }
      if (url.endsWith("/chats")) return new Response(JSON.stringify(chatReply.body), { status: chatReply.status });
      return new Response(null, { status: 204 });
    });
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
  });

  const $ = (sel: string) => root.querySelector<HTMLElement>(sel);
  const start = () => [...root.querySelectorAll("button")].find((b) => b.textContent === "Start chat")!;
  const body = () => JSON.parse(String(requests.find((r) => r.url.endsWith("/chats"))!.init!.body));

  it("asks to sign in when the workgroup requires it and the page gave no token", async () => {
    identityMode = "required";
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    expect($('[data-testid="identity-required"]')?.textContent).toContain("Please sign in to chat with us.");
    expect(root.querySelector("form")).toBeNull();
  });

  it("sends the token and the kept visitor id, and keeps the new visitor id", async () => {
    identityMode = "required";
    const store = new MemoryStore();
    store.setItem(VISITOR_ID_KEY, "vid-1.sig");
    act(() => render(<App slug="sales" page="" storage={store} embedded identity={TOKEN} />, root));
    await flush();
    expect($('[data-testid="signed-in"]')?.textContent).toBe("You are signed in as Dana Berg.");
    expect(root.querySelector<HTMLInputElement>("#pw-name")!.value).toBe("Dana Berg");
    expect(root.querySelector<HTMLInputElement>("#pw-email")!.value).toBe("dana@example.com");
    act(() => start().click());
    await flush();
    await flush();
    expect(body()).toMatchObject({ name: "Dana Berg", identity: TOKEN, visitor_id: "vid-1.sig" });
    expect(store.getItem(VISITOR_ID_KEY)).toBe("vid-2.sig");
    // The token is never put in a URL.
    expect(requests.every((r) => !r.url.includes(TOKEN))).toBe(true);
  });

  it("sends no identity for an anonymous visitor", async () => {
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded />, root));
    await flush();
    expect($('[data-testid="signed-in"]')).toBeNull();
    root.querySelector<HTMLInputElement>("#pw-name")!.value = "Vic";
    act(() => start().click());
    await flush();
    await flush();
    expect(body()).not.toHaveProperty("identity");
    expect(body()).not.toHaveProperty("visitor_id");
  });

  it("says so when the server cannot verify the token", async () => {
    chatReply = { status: 401, body: { error: { code: "invalid_identity", message: "the identity token has expired" } } };
    act(() => render(<App slug="sales" page="" storage={new MemoryStore()} embedded identity={TOKEN} />, root));
    await flush();
    act(() => start().click());
    await flush();
    await flush();
    expect($('[role="alert"]')?.textContent).toContain("We could not confirm that you are signed in");
    expect(start()).not.toBeNull();
  });
});
