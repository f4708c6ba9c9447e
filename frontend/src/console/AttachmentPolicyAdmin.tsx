// Admin: each workgroup's attachment policy (the largest file, the types accepted, how many files
// one chat may hold), through GET/PUT /api/v1/admin/workgroups/{slug}/attachments.

import { useEffect, useState } from "preact/hooks";

import type { AttachmentPolicy } from "../shared/attachments";
import { api, type Workgroup } from "./api";
import { message } from "./PastChats";

/** The types Parley can check by their content: a policy allows some of these only. */
export const KNOWN_TYPES: { type: string; label: string }[] = [
  { type: "image/png", label: "PNG images" },
  { type: "image/jpeg", label: "JPEG images" },
  { type: "image/gif", label: "GIF images" },
  { type: "image/webp", label: "WebP images" },
  { type: "application/pdf", label: "PDF documents" },
  { type: "text/plain", label: "Plain text" },
];

const MB = 1024 * 1024;
const path = (slug: string) => `/admin/workgroups/${encodeURIComponent(slug)}/attachments`;

export function AttachmentPolicyAdmin({ workgroups }: { workgroups: Workgroup[] }) {
  const [slug, setSlug] = useState("");
  const [draft, setDraft] = useState<{ mb: string; types: string[]; perChat: string } | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const current = slug || workgroups[0]?.slug || "";
  const show = (p: Partial<AttachmentPolicy> | null) =>
    setDraft({
      mb: String(Math.round(((p?.max_bytes ?? 10 * MB) / MB) * 100) / 100),
      types: Array.isArray(p?.allowed_types) ? p.allowed_types : [],
      perChat: String(p?.max_per_chat ?? 20),
    });

  useEffect(() => {
    if (!current) return;
    let live = true;
    setDraft(null);
    setError("");
    setNotice("");
    api<AttachmentPolicy>("GET", path(current)).then(
      (p) => live && show(p),
      (e) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [current]);

  const save = async (event: Event) => {
    event.preventDefault();
    if (!draft) return;
    const mb = Number(draft.mb);
    const perChat = Number(draft.perChat);
    if (!Number.isFinite(mb) || mb <= 0) return setError("The largest file is a number of MB above 0.");
    if (!Number.isInteger(perChat) || perChat < 0) return setError("Files per chat is a whole number, 0 or more.");
    try {
      const saved = await api<AttachmentPolicy>("PUT", path(current), {
        max_bytes: Math.round(mb * MB),
        allowed_types: draft.types,
        max_per_chat: perChat,
      });
      show(saved);
      setError("");
      setNotice(`Saved the attachment policy of ${current}.`);
    } catch (e) {
      setNotice("");
      setError(message(e));
    }
  };

  if (!workgroups.length) return null;
  return (
    <section class="admin-section" aria-labelledby="attachments-heading">
      <h2 id="attachments-heading">Attachments in chats</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form class="card" onSubmit={(e) => void save(e)} aria-label="Attachment policy">
        <div class="field">
          <label for="attachments-wg">Workgroup</label>
          <select id="attachments-wg" value={current} onChange={(e) => setSlug(e.currentTarget.value)}>
            {workgroups.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        {draft && (
          <>
            <div class="field">
              <label for="attachments-mb">Largest file (MB)</label>
              <input id="attachments-mb" inputMode="decimal" value={draft.mb} onInput={(e) => setDraft({ ...draft, mb: e.currentTarget.value })} />
            </div>
            <div class="field">
              <label for="attachments-per-chat">Files per chat (0: none)</label>
              <input
                id="attachments-per-chat"
                inputMode="numeric"
                value={draft.perChat}
                onInput={(e) => setDraft({ ...draft, perChat: e.currentTarget.value })}
              />
            </div>
            <fieldset class="field">
              <legend>Types accepted (images are re-encoded; the content must match the type)</legend>
              {KNOWN_TYPES.map((k) => (
                <label key={k.type} class="checkbox">
                  <input
                    type="checkbox"
                    checked={draft.types.includes(k.type)}
                    onChange={(e) => {
                      const on = e.currentTarget.checked;
                      setDraft({ ...draft, types: on ? [...draft.types, k.type] : draft.types.filter((t) => t !== k.type) });
                    }}
                  />{" "}
                  {k.label}
                </label>
              ))}
            </fieldset>
            <button type="submit" class="primary">
              Save attachment policy
            </button>
          </>
        )}
      </form>
    </section>
  );
}
