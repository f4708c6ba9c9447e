// The attachment policy form against a stubbed API, and an attachment in the console's log: the
// re-encoded thumbnail and a download link, the name escaped.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { aConversation } from "../shared/testing";
import { setFetcher, type Workgroup } from "./api";
import { AttachmentPolicyAdmin } from "./AttachmentPolicyAdmin";
import { EntryLog } from "./EntryLog";

const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));
let root: HTMLDivElement;

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
});

const sales = { id: 1, slug: "sales", name: "Sales" } as Workgroup;

describe("the attachment policy form", () => {
  it("shows the policy and saves what the admin chose", async () => {
    const puts: unknown[] = [];
    setFetcher(async (input, init) => {
      if (init?.method === "PUT") {
        puts.push(JSON.parse(String(init.body)));
        return new Response(JSON.stringify({ max_bytes: 2 * 1024 * 1024, allowed_types: ["image/png"], max_per_chat: 5 }));
      }
      expect(String(input)).toBe("/api/v1/admin/workgroups/sales/attachments");
      return new Response(JSON.stringify({ max_bytes: 10 * 1024 * 1024, allowed_types: ["image/png", "text/plain"], max_per_chat: 20 }));
    });
    act(() => render(<AttachmentPolicyAdmin workgroups={[sales]} />, root));
    await flush();
    const mb = root.querySelector<HTMLInputElement>("#attachments-mb")!;
    expect(mb.value).toBe("10");
    const box = (label: string) =>
      [...root.querySelectorAll("label.checkbox")].find((l) => l.textContent?.includes(label))!.querySelector("input")!;
    expect(box("PNG images").checked).toBe(true);
    expect(box("PDF documents").checked).toBe(false);
    act(() => {
      mb.value = "2";
      mb.dispatchEvent(new Event("input", { bubbles: true }));
    });
    act(() => {
      const perChat = root.querySelector<HTMLInputElement>("#attachments-per-chat")!;
      perChat.value = "5";
      perChat.dispatchEvent(new Event("input", { bubbles: true }));
    });
    act(() => box("Plain text").click());
    await act(async () => root.querySelector<HTMLButtonElement>("button[type=submit]")!.click());
    await flush();
    expect(puts).toEqual([{ max_bytes: 2 * 1024 * 1024, allowed_types: ["image/png"], max_per_chat: 5 }]);
    expect(root.textContent).toContain("Saved the attachment policy of sales.");
  });
});

describe("an attachment in the log", () => {
  it("shows the thumbnail and links the file", () => {
    const conversation = aConversation();
    const attachment = { id: "a1", name: "<b>x</b>.png", media_type: "image/png", size: 2048, image: true, width: 640, height: 480 };
    const entry = {
      seq: 5,
      kind: "message" as const,
      author: "visitor",
      body: { text: attachment.name, attachment },
      client_id: "f1",
      created_at: "2026-12-04T10:00:00Z",
    };
    act(() => render(<EntryLog conversation={conversation} entries={[entry]} />, root));
    const img = root.querySelector<HTMLImageElement>('[data-testid="attachment-thumbnail"]')!;
    expect(img.getAttribute("src")).toBe(`/api/v1/conversations/${conversation.id}/attachments/a1/thumbnail`);
    expect(img.alt).toBe("<b>x</b>.png (image, 640 × 480)");
    const link = root.querySelector<HTMLAnchorElement>("a.attachment-file")!;
    expect(link.textContent).toBe("<b>x</b>.png");
    expect(link.getAttribute("href")).toBe(`/api/v1/conversations/${conversation.id}/attachments/a1`);
    expect(root.querySelector("b")).toBeNull();
  });
});
