// The console's attachments: a file in the log (an image's re-encoded thumbnail, every file a
// download), and sending files from the reply box (pick, paste, drop) with a progress bar. The
// console's session cookie authenticates the <img> and the link; the upload carries the CSRF
// header like every write.

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
import { csrfHeaders } from "./api";
import "./attachments.css";

const REASONS: Record<string, string> = {
  attachment_too_large: "it is larger than this workgroup allows",
  body_too_large: "it is larger than this server allows",
  empty_attachment: "the file is empty",
  type_not_allowed: "this workgroup does not accept files of this type",
  type_mismatch: "the file is not what its type says",
  bad_image: "the image could not be read",
  bad_file_name: "its name is not allowed (no paths or control characters)",
  too_many_attachments: "this chat holds as many files as its workgroup allows",
};

export function ConsoleAttachment({ conversationId, attachment }: { conversationId: string; attachment: Attachment }) {
  const url = attachmentUrl(conversationId, attachment.id);
  return (
    <div class="attachment" data-testid="attachment">
      {attachment.image && (
        <img
          class="attachment-thumb"
          src={attachmentUrl(conversationId, attachment.id, true)}
          alt={`${attachment.name} (image${attachment.width ? `, ${attachment.width} × ${attachment.height}` : ""})`}
          data-testid="attachment-thumbnail"
        />
      )}
      <a href={url} download={attachment.name} class="attachment-file">
        {attachment.name}
      </a>{" "}
      <span class="attachment-size">{formatSize(attachment.size)}</span>
    </div>
  );
}

interface Upload {
  key: number;
  name: string;
  progress: number;
}

let keys = 0;

/** Uploads into one chat: their progress, and the last refusal in words. */
export function useConsoleUploads(conversationId: string) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [error, setError] = useState("");
  const policy = useRef<AttachmentPolicy | null>(null);
  useEffect(() => {
    let live = true;
    fetch(`/api/v1/conversations/${encodeURIComponent(conversationId)}/attachments/policy`)
      .then((r) => (r.ok ? r.json() : null))
      .then((p) => {
        if (live) policy.current = p;
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [conversationId]);

  const send = (files: File[], privateNote: boolean) => {
    for (const file of files) {
      const name = nameOf(file);
      const refuse = (code: string, message: string) =>
        setError(`${name} was not sent: ${REASONS[code] ?? message}.`);
      const early = precheck(file, policy.current);
      if (early) {
        refuse(early.code, "");
        continue;
      }
      const key = ++keys;
      setError("");
      setUploads((u) => [...u, { key, name, progress: 0 }]);
      uploadFile({
        conversationId,
        file,
        name,
        headers: csrfHeaders(),
        privateNote,
        onProgress: (f) => setUploads((u) => u.map((x) => (x.key === key ? { ...x, progress: f } : x))),
      })
        .catch((e: unknown) => {
          if (e instanceof UploadError) refuse(e.code, e.message);
          else refuse("error", String(e));
        })
        .finally(() => setUploads((u) => u.filter((x) => x.key !== key)));
    }
  };
  return { uploads, error, send, clearError: () => setError("") };
}

export function ConsoleUploads({ uploads, error }: { uploads: Upload[]; error: string }) {
  return (
    <>
      {uploads.length > 0 && (
        <ul class="uploads" data-testid="uploads">
          {uploads.map((u) => (
            <li key={u.key}>
              <span>Sending {u.name}…</span>
              <progress max={1} value={u.progress} aria-label={`Sending ${u.name}`} />
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="error" role="alert" data-testid="upload-error">
          {error}
        </p>
      )}
    </>
  );
}

export function ConsoleAttachButton({ onFiles, disabled }: { onFiles: (files: File[]) => void; disabled?: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" class="subtle" disabled={disabled} onClick={() => input.current?.click()}>
        Attach a file
      </button>
      <input
        ref={input}
        type="file"
        class="sr-only"
        tabIndex={-1}
        aria-hidden="true"
        aria-label="Attach a file"
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
