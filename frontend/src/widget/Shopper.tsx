// A secret shopper's checklist, shown once their chat has ended (only in a chat opened with a
// shopper link: `#shopper=<token>` on the page with the launcher). Each item is yes or no; the
// score goes to `POST /api/v1/shopper/score` once. The checklist's names are the admin's (or the
// built-in ones): rendered as text, never as HTML.

import { useEffect, useState } from "preact/hooks";

import { t } from "./i18n";

const api = (path: string) => `/api/v1${path}`;

interface Item {
  key: string;
  name: string;
}

/** Where a shopper link travels: in a URL fragment, `shopper=<token>` among its parameters. */
export function shopperLinkOf(hash: string): string | null {
  const value = new URLSearchParams(hash.replace(/^#/, "")).get("shopper");
  return value && value.length <= 512 ? value : null;
}

export function ShopperChecklist({ link }: { link: string }) {
  const [items, setItems] = useState<Item[] | null>(null);
  const [checked, setChecked] = useState<Record<string, boolean>>({});
  const [comment, setComment] = useState("");
  const [state, setState] = useState<"idle" | "busy" | "sent">("idle");
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    fetch(api("/shopper"), { headers: { "X-Shopper-Link": link } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
      .then(
        (data: { state?: string; checklist?: { categories?: Item[] } }) => {
          if (!live) return;
          if (data.state === "scored") setState("sent");
          setItems(data.checklist?.categories ?? []);
        },
        () => live && setItems([]),
      );
    return () => {
      live = false;
    };
  }, [link]);

  if (state === "sent") {
    return (
      <p class="pw-note" data-testid="shopper-sent" role="status">
        {t("shopper_sent")}
      </p>
    );
  }
  if (!items || items.length === 0) return null;

  const submit = async (event: Event) => {
    event.preventDefault();
    setState("busy");
    setError(null);
    const scores = Object.fromEntries(items.map((i) => [i.key, checked[i.key] ? 1 : 0]));
    try {
      const r = await fetch(api("/shopper/score"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ link, scores, ...(comment.trim() ? { comment: comment.trim() } : {}) }),
      });
      if (r.ok || r.status === 401) {
        // 401 after a first success elsewhere (another tab): scored either way, or refused.
        const data = (await r.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        if (r.ok || data.error?.code === "shopper_link_used") {
          setState("sent");
          return;
        }
        throw new Error(data.error?.message ?? String(r.status));
      }
      const data = (await r.json().catch(() => ({}))) as { error?: { message?: string } };
      throw new Error(data.error?.message ?? String(r.status));
    } catch (e) {
      setState("idle");
      setError(t("shopper_failed", { message: e instanceof Error ? e.message : String(e) }));
    }
  };

  return (
    <form class="pw-card pw-shopper" data-testid="shopper-checklist" onSubmit={submit}>
      <p class="pw-lead">{t("shopper_title")}</p>
      {items.map((item) => (
        <label key={item.key} class="pw-check">
          <input
            type="checkbox"
            name={item.key}
            checked={!!checked[item.key]}
            onChange={(e) => setChecked({ ...checked, [item.key]: (e.currentTarget as HTMLInputElement).checked })}
          />{" "}
          {item.name}
        </label>
      ))}
      <label class="pw-field">
        <span>{t("shopper_comment")}</span>
        <textarea maxLength={2000} rows={2} value={comment} onInput={(e) => setComment((e.currentTarget as HTMLTextAreaElement).value)} />
      </label>
      {error && (
        <p class="pw-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="pw-primary" disabled={state === "busy"}>
        {t("shopper_send")}
      </button>
    </form>
  );
}
