// The API tokens screen against a stubbed API: list, create (the token shown once), revoke.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type ApiToken, setFetcher } from "./api";
import { Tokens } from "./Tokens";

const XSS = "<img src=x onerror=alert(1)>";

function token(id: string, over: Partial<ApiToken> = {}): ApiToken {
  return {
    id,
    name: "ci",
    created_at: "2026-03-02T10:15:00Z",
    expires_at: "2026-05-31T10:15:00Z",
    last_used_at: null,
    ...over,
  };
}

describe("Tokens", () => {
  let root: HTMLElement;
  let calls: string[];
  let bodies: unknown[];
  const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));
  const $$ = (sel: string) => [...root.querySelectorAll<HTMLElement>(sel)];
  const input = (label: string) =>
    $$("label").find((l) => l.textContent?.startsWith(label))!.querySelector("input") as HTMLInputElement;
  const type = (label: string, value: string) =>
    act(() => {
      const el = input(label);
      el.value = value;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    calls = [];
    bodies = [];
    setFetcher(async (url, init) => {
      calls.push(`${init?.method} ${String(url)}`);
      if (init?.body) bodies.push(JSON.parse(String(init.body)));
      if (init?.method === "GET")
        return new Response(
          JSON.stringify([token("a1", { name: XSS, last_used_at: "2026-03-03T08:00:00Z" })]),
        );
      if (init?.method === "POST")
        return new Response(JSON.stringify({ ...token("b2", { name: "deploy bot" }), token: "s3cr3t-token" }), {
          status: 201,
        });
      if (init?.method === "DELETE") return new Response(null, { status: 204 });
      return new Response(null, { status: 404 });
    });
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  it("lists, creates with a name and a lifetime, shows the token once, revokes", async () => {
    act(() => render(<Tokens />, root));
    await flush();
    const items = () => $$('[data-testid="api-token"]');
    expect(items()).toHaveLength(1);
    expect(items()[0].textContent).toContain(XSS);
    expect(root.querySelector("img")).toBeNull();
    expect(items()[0].querySelector('[data-testid="token-last-used"]')!.textContent).not.toBe("never");

    type("Token name", "deploy bot");
    type("Expires in (days)", "30");
    await act(async () => {
      root.querySelector<HTMLFormElement>("form")!.dispatchEvent(new Event("submit", { bubbles: true }));
    });
    await flush();
    expect(calls).toContain("POST /api/v1/auth/tokens");
    expect(bodies).toContainEqual({ name: "deploy bot", expires_in_days: 30 });
    const shown = root.querySelector<HTMLElement>('[data-testid="new-token"]')!;
    expect(shown.querySelector("input")!.value).toBe("s3cr3t-token");
    expect(items().map((i) => i.querySelector("strong")!.textContent)).toEqual([XSS, "deploy bot"]);
    // The list never holds the token itself.
    expect(items().some((i) => i.textContent?.includes("s3cr3t"))).toBe(false);

    const revoke = $$("button").find((b) => b.getAttribute("aria-label") === "Revoke deploy bot")!;
    await act(async () => revoke.click());
    await flush();
    expect(calls).toContain("DELETE /api/v1/auth/tokens/b2");
    expect(items()).toHaveLength(1);
    expect(root.querySelector('[data-testid="new-token"]')).toBeNull();
  });
});
