// The branding admin screen against a stubbed API: the contrast verdict while picking a colour
// (saving is refused below 4.5:1), saving, the embed snippet with its copy button; and hidden
// fields and the referrer as the agent sees them.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { aConversation } from "../shared/testing";
import { setFetcher, type Workgroup } from "./api";
import { BrandingAdmin, colorVerdict } from "./BrandingAdmin";
import { contrastRatio, embedSnippet, normaliseColor } from "./brandingApi";
import { CustomerDetails } from "./CustomerDetails";
import { fieldLabel } from "./HiddenFields";

const XSS = "<img src=x onerror=alert(1)>";
const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

describe("colours and snippets", () => {
  it("checks contrast against the widget's white text like the server", () => {
    expect(normaliseColor("#1F6B45")).toBe("#1f6b45");
    expect(normaliseColor("#036")).toBe("#003366");
    expect(normaliseColor("green")).toBeNull();
    expect(contrastRatio("#767676", "#ffffff")).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio("#777777", "#ffffff")).toBeLessThan(4.5);
    expect(colorVerdict("#777777")).toEqual({ ok: false, text: expect.stringContaining("4.47:1") });
    expect(colorVerdict("#1f6b45").ok).toBe(true);
    expect(colorVerdict("").ok).toBe(true);
    expect(colorVerdict("#12").ok).toBe(false);
  });

  it("writes the script tag, escaping what goes in attributes", () => {
    expect(embedSnippet("https://chat.example.com/", "sales")).toBe(
      '<script src="https://chat.example.com/widget.js" data-workgroup="sales" async></script>',
    );
    expect(embedSnippet("https://chat.example.com", "sales", "de")).toContain(' data-lang="de" async');
    expect(embedSnippet("https://x", 'a"<b')).toContain('data-workgroup="a&quot;&lt;b"');
  });

  it("labels hidden fields from their keys", () => {
    expect(fieldLabel("order_number")).toBe("Order number");
    expect(fieldLabel("plan")).toBe("Plan");
  });
});

describe("BrandingAdmin", () => {
  let root: HTMLElement;
  let calls: { method: string; url: string; body: unknown }[];
  const workgroups = [{ slug: "sales", name: "Sales" }] as Workgroup[];

  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    calls = [];
    setFetcher(async (url, init) => {
      const method = init?.method ?? "GET";
      calls.push({ method, url: String(url), body: init?.body ? JSON.parse(String(init.body)) : null });
      if (String(url).endsWith("/admin/embed")) {
        return new Response(JSON.stringify({ public_url: "https://chat.example.com", allowed_origins: [] }));
      }
      const body = method === "PUT" ? JSON.parse(String(init!.body)) : { color: null, greeting: "", position: "right" };
      return new Response(JSON.stringify({ logo_url: null, ...body }));
    });
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
  });

  const $ = <T extends HTMLElement>(sel: string) => root.querySelector<T>(sel)!;
  const type = (sel: string, value: string) =>
    act(() => {
      const el = $<HTMLInputElement>(sel);
      el.value = value;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
  const saveButton = () => [...root.querySelectorAll("button")].find((b) => b.textContent === "Save branding")!;

  it("warns about a light colour, saves a dark one, and offers the snippet to copy", async () => {
    const copied: string[] = [];
    vi.stubGlobal("navigator", { clipboard: { writeText: async (t: string) => void copied.push(t) } });
    act(() => render(<BrandingAdmin workgroups={workgroups} />, root));
    await flush();
    type("#branding-color", "#ffb020");
    expect($('[data-testid="contrast-verdict"]').textContent).toContain("Too light");
    expect(saveButton().disabled).toBe(true);
    type("#branding-color", "#1f6b45");
    type("#branding-greeting", `Hej ${XSS}`);
    expect(saveButton().disabled).toBe(false);
    act(() => saveButton().click());
    await flush();
    const put = calls.find((c) => c.method === "PUT")!;
    expect(put.url).toBe("/api/v1/admin/workgroups/sales/branding");
    expect(put.body).toEqual({ color: "#1f6b45", greeting: `Hej ${XSS}`, position: "right" });
    expect(root.querySelector("img")).toBeNull();

    const code = $<HTMLTextAreaElement>('[data-testid="embed-code"]');
    expect(code.value).toBe('<script src="https://chat.example.com/widget.js" data-workgroup="sales" async></script>');
    act(() => {
      const lang = $<HTMLSelectElement>("#embed-lang-sales");
      lang.value = "de";
      lang.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(code.value).toContain('data-lang="de"');
    await act(async () => [...root.querySelectorAll("button")].find((b) => b.textContent === "Copy snippet")!.click());
    await flush();
    expect(copied).toEqual([code.value]);
    expect($('[data-testid="embed-origins"]').textContent).toContain("--allowed-origin");
  });
});

describe("hidden fields for the agent", () => {
  it("shows them labelled, apart from the form, with where the visitor came from", () => {
    const root = document.createElement("div");
    const conversation = aConversation({
      metadata: {
        name: "Zoe",
        page: "https://shop.example/p",
        referrer: "javascript:alert(1)",
        extra: { plan: "typed" },
        fields: { order_number: XSS, plan: "pro" },
      },
    });
    act(() => render(<CustomerDetails conversation={conversation} />, root));
    const labels = [...root.querySelectorAll('[data-testid="hidden-field"]')].map((e) => e.textContent);
    expect(labels).toEqual(["Order number", "Plan"]);
    expect(root.querySelector('[data-testid="hidden-fields"]')!.textContent).toContain(XSS);
    expect(root.querySelector("img")).toBeNull();
    // Not a link: only http(s) pages are.
    expect(root.querySelector('[data-testid="referrer"] a')).toBeNull();
    expect(root.querySelector('[data-testid="referrer"]')!.textContent).toBe("javascript:alert(1)");
    render(null, root);
  });
});
