// "Email me the transcript" on the ended screen: posts the typed address with the visitor's
// token, says where it went, and explains a refusal (rate limit, a bad address) in words.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { setLanguage } from "./i18n";
import { TranscriptEmail } from "./TranscriptEmail";

const CID = "c".repeat(32);
const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));

describe("TranscriptEmail", () => {
  let root: HTMLElement;
  let calls: { url: string; init: RequestInit }[];
  let answer: () => Response;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    calls = [];
    answer = () => new Response(null, { status: 202 });
    vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return answer();
    });
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
    setLanguage("en");
  });

  const submit = async (value: string) => {
    const input = root.querySelector("input")!;
    act(() => {
      input.value = value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    act(() => {
      root.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await flush();
  };

  it("sends the address with the visitor's token and says where it went", async () => {
    act(() => render(<TranscriptEmail conversationId={CID} visitorToken="tok" email="typed@example.com" />, root));
    expect(root.querySelector("input")!.value).toBe("typed@example.com");
    expect(root.querySelector("label")!.textContent).toBe("Email me the transcript");
    await submit("zoe@example.com");
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe(`/api/v1/conversations/${CID}/transcript-email`);
    expect(calls[0].init.method).toBe("POST");
    expect((calls[0].init.headers as Record<string, string>)["X-Visitor-Token"]).toBe("tok");
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ email: "zoe@example.com" });
    expect(root.querySelector('[data-testid="transcript-email-sent"]')!.textContent).toBe(
      "The transcript is on its way to zoe@example.com.",
    );
  });

  it("explains a rate limit and a bad address", async () => {
    act(() => render(<TranscriptEmail conversationId={CID} visitorToken="tok" />, root));
    answer = () => new Response(JSON.stringify({ error: { code: "rate_limited", message: "x" } }), { status: 429 });
    await submit("zoe@example.com");
    expect(root.querySelector('[role="alert"]')!.textContent).toBe("The transcript was sent too often. Please try again later.");
    answer = () => new Response(JSON.stringify({ error: { code: "invalid_input", message: "x" } }), { status: 422 });
    await submit("nope");
    expect(root.querySelector('[role="alert"]')!.textContent).toBe("Please check your email address.");
  });

  it("speaks German", async () => {
    setLanguage("de");
    act(() => render(<TranscriptEmail conversationId={CID} visitorToken="tok" />, root));
    expect(root.querySelector("label")!.textContent).toBe("Verlauf per E-Mail senden");
  });
});
