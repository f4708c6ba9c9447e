// The console and verified customers: the badge in the customer details (a typed email is shown
// as typed, never as identity), the identity setting of a workgroup, and its signing keys.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { aConversation } from "../shared/testing";
import { Admin } from "./Admin";
import { setFetcher, type Workgroup } from "./api";
import { CustomerDetails } from "./CustomerDetails";

const EVIL = "<img src=x onerror=alert(1)>";
const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
  setFetcher((...args) => fetch(...args));
});
const $ = (sel: string) => root.querySelector<HTMLElement>(sel);
const button = (text: string) => [...root.querySelectorAll("button")].find((b) => b.textContent?.trim() === text);

describe("customer details", () => {
  it("shows a verified customer's signed identity, as text", () => {
    const conv = aConversation({
      metadata: { name: "Z", email: "typed@example.com" },
      verified: true,
      customer: { sub: EVIL, email: "dana@shop.example", name: "Dana Berg" },
    });
    act(() => render(<CustomerDetails conversation={conv} />, root));
    const identity = $('[data-testid="identity"]')!;
    expect(identity.dataset.verified).toBe("true");
    expect(identity.textContent).toContain("Verified");
    expect($('[data-testid="identity-sub"]')!.textContent).toBe(EVIL);
    expect(identity.textContent).toContain("dana@shop.example");
    expect(root.querySelector("img")).toBeNull();
    // The typed email is shown too, as typed.
    expect($('[data-testid="customer-details"]')!.textContent).toContain("typed@example.com (as typed)");
  });

  it("marks an anonymous visitor as not verified", () => {
    const conv = aConversation({ metadata: { name: "Eve", email: "victim@example.com" } });
    act(() => render(<CustomerDetails conversation={conv} />, root));
    const identity = $('[data-testid="identity"]')!;
    expect(identity.dataset.verified).toBe("false");
    expect(identity.textContent).toContain("Not verified");
    expect(identity.textContent).not.toContain("victim@example.com");
  });
});

describe("the admin screen", () => {
  const sales: Workgroup = {
    id: 1,
    slug: "sales",
    name: "Sales",
    button_text: "",
    offer_timeout_secs: 30,
    wait_timeout_secs: 300,
    max_chats: 3,
    form_fields: [],
    members: [],
    identity: "optional",
  };

  it("sets the identity setting and manages the keys, showing a new secret once", async () => {
    let keys = [{ kid: "20260101-aaaa", created_at: "2026-01-01T10:00:00Z" }];
    const calls: string[] = [];
    const puts: unknown[] = [];
    setFetcher(async (input, init) => {
      const url = String(input);
      const method = init?.method ?? "GET";
      calls.push(`${method} ${url}`);
      if (url.endsWith("/identity-keys") && method === "POST") {
        keys = [...keys, { kid: "20260102-bbbb", created_at: "2026-01-02T10:00:00Z" }];
        return new Response(
          JSON.stringify({ ...keys[1], secret: "s3cret-shown-once", algorithm: "HS256" }),
          { status: 201 },
        );
      }
      if (url.includes("/identity-keys/") && method === "DELETE") {
        keys = keys.filter((k) => !url.endsWith(k.kid));
        return new Response(null, { status: 204 });
      }
      if (url.endsWith("/identity-keys")) return new Response(JSON.stringify(keys));
      if (method === "PUT" && url.endsWith("/admin/workgroups/sales")) {
        puts.push(JSON.parse(String(init!.body)));
        return new Response(JSON.stringify({}));
      }
      if (url.endsWith("/hours")) {
        return new Response(JSON.stringify({ hours: null, email: "", queue_without_agents: false }));
      }
      return new Response(JSON.stringify([]));
    });
    act(() => render(<Admin workgroups={[sales]} reloadWorkgroups={async () => undefined} me="user:9" />, root));
    await flush();
    expect($('h2#identity-heading')!.textContent).toBe("Customer identity keys");
    expect([...root.querySelectorAll('[data-testid="identity-key"]')].map((r) => r.textContent)).toEqual([
      expect.stringContaining("20260101-aaaa"),
    ]);

    await act(async () => button("Create key")!.click());
    await flush();
    expect($('[data-testid="new-identity-kid"]')!.textContent).toBe("20260102-bbbb");
    expect(root.querySelector<HTMLInputElement>('[data-testid="new-identity-secret"]')!.value).toBe("s3cret-shown-once");
    expect(root.querySelectorAll('[data-testid="identity-key"]')).toHaveLength(2);
    act(() => button("I have copied it")!.click());
    expect(root.textContent).not.toContain("s3cret-shown-once");

    act(() => root.querySelector<HTMLButtonElement>('[aria-label="Delete key 20260101-aaaa"]')!.click());
    await act(async () => button("Delete it")!.click());
    await flush();
    expect(calls).toContain("DELETE /api/v1/admin/workgroups/sales/identity-keys/20260101-aaaa");
    expect(root.querySelectorAll('[data-testid="identity-key"]')).toHaveLength(1);
    expect($('[role="status"]')!.textContent).toContain("no longer verify");

    // The workgroup editor sends the identity setting.
    act(() => root.querySelector<HTMLButtonElement>('[aria-label="Edit workgroup sales"]')!.click());
    const form = root.querySelector<HTMLFormElement>('form[aria-label="Edit workgroup sales"]')!;
    const select = form.querySelector<HTMLSelectElement>("#wg-sales-identity")!;
    expect(select.value).toBe("optional");
    act(() => {
      select.value = "required";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await act(async () => {
      form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await flush();
    expect(puts).toEqual([expect.objectContaining({ identity: "required" })]);
  });
});
