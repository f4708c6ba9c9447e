// The name and photo of the agent beside their messages, so that after a transfer the visitor
// knows who wrote what. The photo comes from the chat's own route
// (GET /api/v1/conversations/{id}/staff/{user_id}/photo, with the visitor's token: only staff who
// are or were in this chat), read into a data: URL (the page's CSP allows 'self' and data:
// images; an <img> could not send the token).

import { useEffect, useState } from "preact/hooks";

const cache = new Map<string, Promise<string | null>>();

function userId(key: string): string | null {
  const m = /^user:(\d+)$/.exec(key);
  return m ? m[1] : null;
}

function fetchPhoto(conversationId: string, key: string, visitorToken: string): Promise<string | null> {
  const id = userId(key);
  if (!id) return Promise.resolve(null);
  const url = `/api/v1/conversations/${encodeURIComponent(conversationId)}/staff/${id}/photo`;
  return fetch(url, { headers: { "X-Visitor-Token": visitorToken } })
    .then((r) => (r.ok && r.headers.get("content-type") === "image/png" ? r.blob() : null))
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
    .catch(() => null);
}

/** The photos (data: URLs, null for none) of the staff ``keys``, fetched once each. */
export function usePhotos(conversationId: string, visitorToken: string, keys: string[]): Record<string, string | null> {
  const [photos, setPhotos] = useState<Record<string, string | null>>({});
  const wanted = [...new Set(keys)].sort().join(" ");
  useEffect(() => {
    let live = true;
    for (const key of wanted ? wanted.split(" ") : []) {
      const id = `${conversationId} ${key}`;
      if (!cache.has(id)) cache.set(id, fetchPhoto(conversationId, key, visitorToken));
      void cache.get(id)!.then((url) => {
        if (live) setPhotos((old) => (key in old && old[key] === url ? old : { ...old, [key]: url }));
      });
    }
    return () => {
      live = false;
    };
  }, [conversationId, visitorToken, wanted]);
  return photos;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return (parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? "?").slice(0, 1)).toUpperCase();
}

/** "Alice" with her photo (or initials), above the first of a run of her messages. */
export function Byline({ name, photo }: { name: string; photo?: string | null }) {
  return (
    <div class="pw-byline" data-testid="byline">
      {photo ? (
        <img class="pw-avatar" src={photo} alt="" data-testid="agent-photo" />
      ) : (
        <span class="pw-avatar pw-initials" aria-hidden="true">
          {initials(name)}
        </span>
      )}
      <span class="pw-byname">{name}</span>
    </div>
  );
}
