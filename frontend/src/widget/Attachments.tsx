// The widget's attachments: a button to pick a file, paste and drop (wired by the composer through
// `useUploads`), a progress bar per upload, a refusal said in words, and an attachment in the log
// (an image's thumbnail, fetched with the visitor's token and shown as a data: URL, since an <img>
// cannot send the token; every file as a download).

import { useEffect, useRef, useState } from "preact/hooks";

import {
  type Attachment,
  type AttachmentPolicy,
  attachmentUrl,
  formatSize,
  nameOf,
  precheck,
  UploadError,
  uploadFile,
} from "../shared/attachments";
import { t } from "./i18n";
import "./attachments.css";

export interface Upload {
  key: number;
  name: string;
  progress: number;
}

/** The reason a file was refused, in the visitor's language. */
export function refusalText(name: string, code: string, message: string, limit?: number): string {
  const reasons: Record<string, string> = {
    attachment_too_large: t("file_too_large", { size: formatSize(limit ?? 0) }),
    body_too_large: t("file_too_large", { size: formatSize(limit ?? 0) }),
    empty_attachment: t("file_empty"),
    type_not_allowed: t("file_type_not_allowed"),
    type_mismatch: t("file_type_mismatch"),
    bad_image: t("file_bad_image"),
    bad_file_name: t("file_bad_name"),
    too_many_attachments: t("file_too_many"),
  };
  return t("file_refused", { name, reason: reasons[code] ?? t("file_failed", { message }) });
}

let keys = 0;

/** Uploads into one chat with the visitor's token: their progress, and the last refusal. */
export function useUploads(conversationId: string, visitorToken: string) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [error, setError] = useState<string | null>(null);
  const policy = useRef<AttachmentPolicy | null>(null);
  useEffect(() => {
    let live = true;
    fetch(`/api/v1/conversations/${encodeURIComponent(conversationId)}/attachments/policy`, {
      headers: { "X-Visitor-Token": visitorToken },
    })
      .then((r) => (r.ok ? r.json() : null))
      .then((p) => {
        if (live) policy.current = p;
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [conversationId, visitorToken]);

  const send = (files: File[]) => {
    for (const file of files) {
      const name = nameOf(file);
      const early = precheck(file, policy.current);
      if (early) {
        setError(refusalText(name, early.code, "", early.limit));
        continue;
      }
      const key = ++keys;
      setError(null);
      setUploads((u) => [...u, { key, name, progress: 0 }]);
      const progress = (fraction: number) =>
        setUploads((u) => u.map((x) => (x.key === key ? { ...x, progress: fraction } : x)));
      uploadFile({ conversationId, file, name, headers: { "X-Visitor-Token": visitorToken }, onProgress: progress })
        .catch((e: unknown) => {
          const err = e instanceof UploadError ? e : new UploadError("http_error", String(e), 0);
          setError(refusalText(name, err.code, err.message, policy.current?.max_bytes));
        })
        .finally(() => setUploads((u) => u.filter((x) => x.key !== key)));
    }
  };
  return { uploads, error, clearError: () => setError(null), send };
}

export function UploadProgress({ uploads }: { uploads: Upload[] }) {
  if (!uploads.length) return null;
  return (
    <ul class="pw-uploads" data-testid="uploads">
      {uploads.map((u) => (
        <li key={u.key}>
          <span>{t("uploading", { name: u.name })}</span>
          <progress max={1} value={u.progress} aria-label={t("uploading", { name: u.name })} />
        </li>
      ))}
    </ul>
  );
}

export function AttachButton({ onFiles, disabled }: { onFiles: (files: File[]) => void; disabled?: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button
        type="button"
        class="pw-attach"
        title={t("attach_file")}
        aria-label={t("attach_file")}
        disabled={disabled}
        onClick={() => input.current?.click()}
      >
        <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
          <path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9" />
        </svg>
      </button>
      <input
        ref={input}
        type="file"
        class="pw-sr"
        tabIndex={-1}
        aria-hidden="true"
        aria-label={t("attach_file")}
        data-testid="attach-input"
        onChange={(e) => {
          const el = e.currentTarget;
          onFiles(Array.from(el.files ?? []));
          el.value = "";
        }}
      />
    </>
  );
}

function useDataUrl(url: string | null, visitorToken: string): string | null {
  const [data, setData] = useState<string | null>(null);
  useEffect(() => {
    if (!url) return;
    let live = true;
    fetch(url, { headers: { "X-Visitor-Token": visitorToken } })
      .then((r) => (r.ok ? r.blob() : null))
      .then(
        (blob) =>
          blob &&
          new Promise<string | null>((resolve) => {
            const reader = new FileReader();
            reader.onload = () => resolve(typeof reader.result === "string" ? reader.result : null);
            reader.onerror = () => resolve(null);
            reader.readAsDataURL(blob);
          }),
      )
      .then((d) => live && setData(d ?? null))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [url, visitorToken]);
  return data;
}

/** An attachment in the log: its thumbnail (an image), its name and size, a download. */
export function AttachmentView({
  attachment,
  conversationId,
  visitorToken,
}: {
  attachment: Attachment;
  conversationId: string;
  visitorToken: string;
}) {
  const thumb = useDataUrl(attachment.image ? attachmentUrl(conversationId, attachment.id, true) : null, visitorToken);
  const download = async () => {
    const r = await fetch(attachmentUrl(conversationId, attachment.id), { headers: { "X-Visitor-Token": visitorToken } });
    if (!r.ok) return;
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = attachment.name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <div class="pw-attachment" data-testid="attachment">
      {thumb && <img class="pw-thumb" src={thumb} alt={attachment.name} data-testid="attachment-thumbnail" />}
      <button type="button" class="pw-file" onClick={() => void download()} title={t("download_file", { name: attachment.name })}>
        <span class="pw-file-name">{attachment.name}</span> <span class="pw-file-size">{formatSize(attachment.size)}</span>
      </button>
    </div>
  );
}
