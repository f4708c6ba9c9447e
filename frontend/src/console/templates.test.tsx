import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { setFetcher } from "./api";
import { Templates, type Template } from "./Templates";

const EVIL = "<img src=x onerror=alert(1)>";
let root: HTMLElement;
type Call = { method: string; url: string; body: unknown };
const calls: Call[] = [];
let answer: (call: Call) => Response;

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls.length = 0;
  setFetcher(async (input, init) => {
    const call = {
      method: init?.method ?? "GET",
      url: String(input).replace("/api/v1", ""),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    return answer(call);
  });
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
});

const json = (status: number, body: unknown) => new Response(body === null ? null : JSON.stringify(body), { status });
const flush = async () => {
  for (let i = 0; i < 6; i++) await act(async () => await Promise.resolve());
};
const button = (name: string) =>
  [...root.querySelectorAll("button")].find((b) => (b.getAttribute("aria-label") ?? b.textContent?.trim()) === name)!;
const click = async (name: string) => {
  await act(async () => button(name).click());
  await flush();
};
const field = (label: string) =>
  [...root.querySelectorAll("label")].find((l) => l.textContent!.trim().startsWith(label))!.querySelector(
    "input, textarea, select",
  ) as HTMLInputElement;
const type = (label: string, value: string) =>
  act(() => {
    const el = field(label);
    el.value = value;
    el.dispatchEvent(new Event(el.tagName === "SELECT" ? "change" : "input", { bubbles: true }));
  });

describe("the message templates screen", () => {
  it("lists, adds, edits and deletes templates; shows text as text and the server's refusal", async () => {
    let items: Template[] = [{ id: 1, title: "Hello", text: EVIL, kind: "greeting", tone: "personal" }];
    answer = ({ method, url, body }) => {
      if (method === "GET" && url === "/templates") return json(200, items);
      if (method === "POST" && url === "/admin/templates") {
        const b = body as Template;
        if (b.text.includes("guarantee"))
          return json(422, { error: { code: "blocked_word", message: "“guarantee” is not allowed" } });
        items = [...items, { ...b, id: 2 }];
        return json(201, items[1]);
      }
      if (method === "PUT" && url === "/admin/templates/1") {
        items = [{ ...(body as Template), id: 1 }, ...items.slice(1)];
        return json(200, items[0]);
      }
      if (method === "DELETE" && url === "/admin/templates/2") {
        items = items.filter((t) => t.id !== 2);
        return json(204, null);
      }
      return json(404, { error: { code: "not_found", message: "not found" } });
    };
    act(() => render(<Templates />, root));
    await flush();
    expect(root.querySelectorAll('[data-testid="template"]')).toHaveLength(1);
    expect(root.querySelector("img")).toBeNull();
    expect(root.textContent).toContain(EVIL);

    await click("New template");
    type("Title", "Bye");
    type("Text", "We guarantee it");
    type("Kind", "sign_off");
    await click("Save template");
    expect(root.querySelector('[role="alert"]')!.textContent).toMatch(/guarantee/);
    type("Text", "Thanks for chatting, {customer.first_name|there}!");
    await click("Save template");
    expect(calls.filter((c) => c.method === "POST").at(-1)!.body).toEqual({
      title: "Bye",
      text: "Thanks for chatting, {customer.first_name|there}!",
      kind: "sign_off",
      tone: "professional",
    });
    expect(root.querySelectorAll('[data-testid="template"]')).toHaveLength(2);

    await click("Edit Hello");
    expect(field("Title").value).toBe("Hello");
    type("Title", "Hi there");
    await click("Save template");
    expect(root.textContent).toContain("Hi there");

    await click("Delete Bye");
    expect(root.querySelectorAll('[data-testid="template"]')).toHaveLength(1);
  });
});
