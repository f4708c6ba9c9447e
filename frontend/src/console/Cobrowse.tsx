// The co-browse pane beside a customer chat (docs/protocol.md, "Co-browsing"): send the customer
// a page (a card in the widget: one click opens it), and "follow me": while it is on, each page
// opened here moves the customer's page there, until either side stops. The address rule is the
// server's (a page of the customer's own site, or of one of the workgroup's allowed sites); a
// refused address shows the server's message. The state comes from the chat's entries, so a
// reload or a reconnect shows it as it is.

import { useEffect, useState } from "preact/hooks";

import { followState } from "../shared/cobrowse";
import type { Entry } from "../shared/protocol";
import { api } from "./api";
import { message } from "./PastChats";

interface Options {
  customer_site: string | null;
  allowed_sites: string[];
}

const base = (id: string) => `/conversations/${encodeURIComponent(id)}/cobrowse`;
const clientId = () => `cb-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** The pages offered in the pane: the customer's site, the allowed sites, the pages sent so far. */
export function suggestions(options: Options | null, entries: Entry[]): string[] {
  const out: string[] = [];
  const add = (u: string) => u && !out.includes(u) && out.push(u);
  if (options?.customer_site) add(`${options.customer_site}/`);
  for (const s of options?.allowed_sites ?? []) add(`${s}/`);
  for (const e of entries) {
    if (e.kind === "cobrowse" && (e.body.action === "push" || e.body.action === "navigate")) add(String(e.body.url ?? ""));
  }
  return out;
}

export function CobrowsePane({ conversationId, entries, me }: { conversationId: string; entries: Entry[]; me?: string }) {
  const [options, setOptions] = useState<Options | null>(null);
  const [url, setUrl] = useState("");
  const [title, setTitle] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const state = followState(entries);
  const leading = state.following && state.by === me;

  useEffect(() => {
    let live = true;
    api<Options>("GET", base(conversationId)).then(
      (o) => live && setOptions(o),
      () => undefined, // the pane works without the list
    );
    return () => {
      live = false;
    };
  }, [conversationId]);

  const call = async (path: string, body?: unknown) => {
    setBusy(true);
    setError("");
    try {
      await api("POST", `${base(conversationId)}/${path}`, body);
      return true;
    } catch (e) {
      setError(message(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const send = async (event: Event) => {
    event.preventDefault();
    if (!url.trim()) return;
    const ok = leading
      ? await call("navigate", { url: url.trim(), client_id: clientId() })
      : await call("push", { url: url.trim(), title: title.trim(), client_id: clientId() });
    if (ok) setTitle("");
  };
  const pages = suggestions(options, entries);

  return (
    <section class="cobrowse-pane card" aria-labelledby={`cobrowse-${conversationId}`} data-testid="cobrowse-pane">
      <h3 id={`cobrowse-${conversationId}`}>Co-browse</h3>
      <label class="checkbox">
        <input
          type="checkbox"
          data-testid="follow-me"
          checked={leading}
          disabled={busy || (state.following && !leading)}
          onChange={(e) => void call(e.currentTarget.checked ? "follow" : "unfollow")}
        />{" "}
        Follow me: the customer's page follows the pages I open here
      </label>
      {state.following && (
        <p class="notice" role="status" data-testid="follow-status">
          {leading ? "The customer follows you." : `The customer follows ${state.name}.`}
        </p>
      )}
      <form onSubmit={(e) => void send(e)} aria-label={leading ? "Open a page" : "Send a page"}>
        <div class="field">
          <label for={`cobrowse-url-${conversationId}`}>Address</label>
          <input
            id={`cobrowse-url-${conversationId}`}
            type="url"
            list={`cobrowse-pages-${conversationId}`}
            value={url}
            placeholder={options?.customer_site ? `${options.customer_site}/…` : "https://…"}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
          <datalist id={`cobrowse-pages-${conversationId}`}>
            {pages.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </div>
        {!leading && (
          <div class="field">
            <label for={`cobrowse-title-${conversationId}`}>Title (optional)</label>
            <input id={`cobrowse-title-${conversationId}`} maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          </div>
        )}
        <button type="submit" class="primary" disabled={busy || !url.trim()} data-testid="cobrowse-send">
          {leading ? "Open for the customer" : "Send page"}
        </button>
      </form>
      {error && (
        <p class="error" role="alert" data-testid="cobrowse-error">
          {error}
        </p>
      )}
      {pages.length > 0 && (
        <ul class="cobrowse-pages" aria-label="Pages">
          {pages.map((p) => (
            <li key={p}>
              <button type="button" class="link" onClick={() => setUrl(p)}>
                {p}
              </button>
            </li>
          ))}
        </ul>
      )}
      {options && options.customer_site === null && (
        <p class="hint">The customer's page is not known: only the workgroup's allowed sites can be sent.</p>
      )}
    </section>
  );
}

/** Admin: the sites a workgroup's agents may send pages of (besides the customer's own). */
export function CobrowseSitesAdmin({ workgroups }: { workgroups: { slug: string; name: string }[] }) {
  const [slug, setSlug] = useState("");
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const current = slug || workgroups[0]?.slug || "";
  const path = `/admin/workgroups/${encodeURIComponent(current)}/cobrowse/sites`;
  useEffect(() => {
    if (!current) return;
    let live = true;
    setText(null);
    setError("");
    setNotice("");
    api<{ sites?: string[] }>("GET", path).then(
      (r) => live && setText((r.sites ?? []).join("\n")),
      (e) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [current]);
  const save = async (event: Event) => {
    event.preventDefault();
    const sites = (text ?? "").split("\n").map((s) => s.trim()).filter(Boolean);
    try {
      const r = await api<{ sites: string[] }>("PUT", path, { sites });
      setText(r.sites.join("\n"));
      setError("");
      setNotice(`Saved the co-browsing sites of ${current}.`);
    } catch (e) {
      setNotice("");
      setError(message(e));
    }
  };
  if (!workgroups.length) return null;
  return (
    <section class="admin-section" aria-labelledby="cobrowse-sites-heading">
      <h2 id="cobrowse-sites-heading">Co-browsing: sites agents may send</h2>
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
      <form class="card" onSubmit={(e) => void save(e)} aria-label="Co-browsing sites">
        <div class="field">
          <label for="cobrowse-wg">Workgroup</label>
          <select id="cobrowse-wg" value={current} onChange={(e) => setSlug(e.currentTarget.value)}>
            {workgroups.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        {text !== null && (
          <>
            <div class="field">
              <label for="cobrowse-sites">
                Other sites, one origin a line (https://docs.example.com): their pages open in a new tab. The
                customer's own site is always allowed and opens in place.
              </label>
              <textarea id="cobrowse-sites" rows={4} value={text} onInput={(e) => setText(e.currentTarget.value)} />
            </div>
            <button type="submit" class="primary">
              Save sites
            </button>
          </>
        )}
      </form>
    </section>
  );
}
