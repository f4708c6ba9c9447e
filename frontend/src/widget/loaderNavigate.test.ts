// The launcher on the host page moves it only when its own iframe asks (Parley's origin, the
// frame's window) and only to an http(s) page of the host page's own origin.

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const assign = vi.fn();

describe("the launcher's parley:navigate", () => {
  let frame: HTMLIFrameElement;
  beforeAll(async () => {
    vi.stubGlobal("location", {
      href: "https://shop.example/pricing",
      origin: "https://shop.example",
      protocol: "https:",
      hash: "",
      pathname: "/pricing",
      search: "",
      assign,
    });
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ button_text: "Chat", open: true }))));
    const script = document.createElement("script");
    script.src = "https://chat.example/widget.js";
    script.setAttribute("data-workgroup", "sales");
    Object.defineProperty(document, "currentScript", { value: script, configurable: true });
    // @ts-expect-error: the launcher is a plain script (no exports), run for its effects
    await import("./loader");
    await vi.waitFor(() => expect(document.getElementById("parley-launcher")).not.toBeNull());
    document.getElementById("parley-launcher")!.click();
    frame = document.getElementById("parley-frame") as HTMLIFrameElement;
  });
  afterAll(() => vi.unstubAllGlobals());

  const send = (data: unknown, origin = "https://chat.example", source: Window | null = frame.contentWindow) =>
    window.dispatchEvent(new MessageEvent("message", { data, origin, source }));

  it("goes to a page of its own site its iframe asked for", () => {
    send({ type: "parley:navigate", url: "https://shop.example/checkout?step=2" });
    expect(assign).toHaveBeenCalledWith("https://shop.example/checkout?step=2");
  });

  it("ignores everything else", () => {
    assign.mockClear();
    send({ type: "parley:navigate", url: "https://evil.example/" });
    send({ type: "parley:navigate", url: "javascript:alert(1)" });
    send({ type: "parley:navigate", url: "//evil.example/x" });
    send({ type: "parley:navigate", url: "/relative" });
    send({ type: "parley:navigate", url: { toString: () => "https://shop.example/x" } });
    // The right address from the wrong sender: another origin, or another window.
    send({ type: "parley:navigate", url: "https://shop.example/a" }, "https://evil.example");
    send({ type: "parley:navigate", url: "https://shop.example/a" }, "https://chat.example", window);
    expect(assign).not.toHaveBeenCalled();
  });
});
