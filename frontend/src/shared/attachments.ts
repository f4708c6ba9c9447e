// Attachments (docs/protocol.md, "Attachments"): the upload (XHR, for its progress), what an
// entry carries, and the files a paste or a drop holds. Shared by the widget and the console.

import type { Entry } from "./protocol";

export interface Attachment {
  id: string;
  name: string;
  media_type: string;
  size: number;
  image: boolean;
  width?: number;
  height?: number;
}

export interface AttachmentPolicy {
  max_bytes: number;
  allowed_types: string[];
  max_per_chat: number;
}

/** The file an entry carries, if it is an attachment. */
export function attachmentOf(entry: Entry): Attachment | null {
  const found = entry.body.attachment as Attachment | undefined;
  return found && typeof found === "object" && typeof found.id === "string" ? found : null;
}

export function attachmentUrl(conversationId: string, id: string, thumbnail = false): string {
  const base = `/api/v1/conversations/${encodeURIComponent(conversationId)}/attachments/${encodeURIComponent(id)}`;
  return thumbnail ? `${base}/thumbnail` : base;
}

/** An upload the server refused, or that could not reach it (code `offline`). */
export class UploadError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

let uploads = 0;

/** A client id of its own for each upload (the idempotency key). */
export function uploadClientId(): string {
  uploads += 1;
  return `f-${Date.now().toString(36)}-${uploads}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Send ``file`` into the conversation; ``onProgress`` gets the fraction sent (0 to 1). Resolves
 * to the stored entry; rejects with an ``UploadError`` carrying the server's code and message. */
export function uploadFile(options: {
  conversationId: string;
  file: Blob;
  name: string;
  headers: Record<string, string>;
  privateNote?: boolean;
  clientId?: string;
  onProgress?: (fraction: number) => void;
}): Promise<Entry> {
  const params = new URLSearchParams({ client_id: options.clientId ?? uploadClientId(), name: options.name });
  if (options.privateNote) params.set("private", "true");
  const url = `/api/v1/conversations/${encodeURIComponent(options.conversationId)}/attachments?${params}`;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Content-Type", options.file.type || "application/octet-stream");
    for (const [name, value] of Object.entries(options.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) options.onProgress?.(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: { error?: { code?: string; message?: string } } & Partial<Entry> = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch {
        /* not JSON: a proxy's page */
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        options.onProgress?.(1);
        resolve(body as Entry);
      } else {
        reject(new UploadError(body.error?.code ?? "http_error", body.error?.message ?? `HTTP ${xhr.status}`, xhr.status));
      }
    };
    xhr.onerror = () => reject(new UploadError("offline", "the file could not be sent", 0));
    xhr.send(options.file);
  });
}

/** The files of a paste or a drop (a pasted screenshot is a file named image.png). */
export function filesOf(data: DataTransfer | null): File[] {
  if (!data) return [];
  const out: File[] = [];
  for (const item of Array.from(data.items ?? [])) {
    if (item.kind !== "file") continue;
    const file = item.getAsFile();
    if (file) out.push(file);
  }
  if (!out.length) out.push(...Array.from(data.files ?? []));
  return out;
}

/** A pasted image often has no useful name: give it one by its type. */
export function nameOf(file: File): string {
  if (file.name && file.name.trim()) return file.name;
  const ext = file.type.split("/")[1]?.replace("jpeg", "jpg") || "bin";
  return `pasted.${ext}`;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** What the client can tell before sending (the server checks everything again). */
export function precheck(file: File, policy: AttachmentPolicy | null): { code: string; limit?: number } | null {
  if (file.size === 0) return { code: "empty_attachment" };
  if (!policy) return null;
  if (file.size > policy.max_bytes) return { code: "attachment_too_large", limit: policy.max_bytes };
  if (file.type && !policy.allowed_types.includes(file.type)) return { code: "type_not_allowed" };
  return null;
}
