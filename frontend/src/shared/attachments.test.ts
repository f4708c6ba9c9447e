import { afterEach, describe, expect, it, vi } from "vitest";

import { attachmentOf, attachmentUrl, formatSize, nameOf, precheck, UploadError, uploadFile } from "./attachments";
import type { Entry } from "./protocol";

const entry = (body: Record<string, unknown>): Entry => ({
  seq: 3,
  kind: "message",
  author: "visitor",
  body,
  client_id: "f1",
  created_at: "2026-12-04T00:00:00Z",
});

describe("attachments", () => {
  it("reads the attachment an entry carries, and nothing from a plain message", () => {
    const file = { id: "a1", name: "x.png", media_type: "image/png", size: 3, image: true };
    expect(attachmentOf(entry({ text: "x.png", attachment: file }))).toEqual(file);
    expect(attachmentOf(entry({ text: "hello" }))).toBeNull();
    expect(attachmentOf(entry({ text: "x", attachment: "nope" }))).toBeNull();
  });

  it("builds the file and thumbnail URLs, escaped", () => {
    expect(attachmentUrl("c/1", "a 1")).toBe("/api/v1/conversations/c%2F1/attachments/a%201");
    expect(attachmentUrl("c1", "a1", true)).toBe("/api/v1/conversations/c1/attachments/a1/thumbnail");
  });

  it("names a pasted image by its type", () => {
    expect(nameOf(new File(["x"], "", { type: "image/jpeg" }))).toBe("pasted.jpg");
    expect(nameOf(new File(["x"], "cat.png", { type: "image/png" }))).toBe("cat.png");
  });

  it("says what it can before sending", () => {
    const policy = { max_bytes: 4, allowed_types: ["image/png"], max_per_chat: 3 };
    expect(precheck(new File([], "e.png", { type: "image/png" }), policy)).toEqual({ code: "empty_attachment" });
    expect(precheck(new File(["12345"], "b.png", { type: "image/png" }), policy)).toEqual({
      code: "attachment_too_large",
      limit: 4,
    });
    expect(precheck(new File(["1"], "t.txt", { type: "text/plain" }), policy)).toEqual({ code: "type_not_allowed" });
    expect(precheck(new File(["1"], "ok.png", { type: "image/png" }), policy)).toBeNull();
    expect(formatSize(10 * 1024 * 1024)).toBe("10.0 MB");
  });
});

class FakeXhr {
  static last: FakeXhr;
  status = 0;
  responseText = "";
  headers: Record<string, string> = {};
  url = "";
  sent: unknown = null;
  upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = {
    onprogress: null,
  };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor() {
    FakeXhr.last = this;
  }
  open(_method: string, url: string) {
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: unknown) {
    this.sent = body;
  }
}

describe("uploadFile", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("sends the raw file with its type, reports progress, and resolves to the entry", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const progress: number[] = [];
    const file = new File(["abc"], "a.png", { type: "image/png" });
    const done = uploadFile({
      conversationId: "c1",
      file,
      name: "a b.png",
      headers: { "X-Visitor-Token": "t" },
      clientId: "k1",
      onProgress: (f) => progress.push(f),
    });
    const xhr = FakeXhr.last;
    expect(xhr.url).toBe("/api/v1/conversations/c1/attachments?client_id=k1&name=a+b.png");
    expect(xhr.headers).toEqual({ "Content-Type": "image/png", "X-Visitor-Token": "t" });
    expect(xhr.sent).toBe(file);
    xhr.upload.onprogress?.({ lengthComputable: true, loaded: 1, total: 2 });
    xhr.status = 200;
    xhr.responseText = JSON.stringify(entry({ text: "a b.png" }));
    xhr.onload?.();
    expect((await done).seq).toBe(3);
    expect(progress).toEqual([0.5, 1]);
  });

  it("rejects with the server's code and message", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const done = uploadFile({ conversationId: "c1", file: new Blob(["x"]), name: "x", headers: {}, privateNote: true });
    const xhr = FakeXhr.last;
    expect(xhr.url).toContain("private=true");
    xhr.status = 422;
    xhr.responseText = JSON.stringify({ error: { code: "bad_image", message: "no" } });
    xhr.onload?.();
    await expect(done).rejects.toEqual(new UploadError("bad_image", "no", 422));
  });
});
