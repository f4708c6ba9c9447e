// Co-browsing in the widget (docs/protocol.md, "Co-browsing"): a page the agent pushed is a card
// in the log; while the customer follows the agent ("follow me"), a banner says so with a Stop
// button, and each page the agent opens moves the host page there.
//
// Everything comes from the conversation's `cobrowse` entries, which the server checked (the
// address rule of domain/cobrowse.py) before storing them: the app never builds an address
// itself. Moving the host page is the launcher's (loader.ts): the app posts it
// {type: "parley:navigate", url} addressed to the host page's origin only, and the launcher
// checks that the message comes from its own iframe and that the address is on its own origin.
// A page of another allowed site is a plain link opening a new tab (noopener, noreferrer).

import { useEffect, useState } from "preact/hooks";
import type { KeyValueStore } from "../shared/client";
import { type FollowState, pendingNavigation } from "../shared/cobrowse";
import type { Entry } from "../shared/protocol";
import { t } from "./i18n";

const api = (path: string) => `/api/v1${path}`;

/** The host page's origin (the launcher's page, `?page=`): where the app's messages go. */
export function hostOrigin(page: string): string | null {
  try {
    const u = new URL(page);
    return u.protocol === "https:" || u.protocol === "http:" ? u.origin : null;
  } catch {
    return null;
  }
}

/** Ask the launcher to move the host page to `url` (an address the server approved). */
export function navigateHost(url: string, page: string): boolean {
  const origin = hostOrigin(page);
  if (!origin || window.parent === window) return false;
  window.parent.postMessage({ type: "parley:navigate", url }, origin);
  return true;
}

export { followState, pendingNavigation } from "../shared/cobrowse";

const handledKey = (conversationId: string) => `parley:cobrowse:${conversationId}`;

/** While following: move the host page to the agent's latest page, once per navigation entry
 * (remembered for this tab, so that the page it lands on does not navigate again). */
export function useFollow(conversationId: string, entries: Entry[], synced: boolean, page: string, storage: KeyValueStore): void {
  const next = pendingNavigation(entries);
  useEffect(() => {
    if (!synced || !next) return;
    const key = handledKey(conversationId);
    const done = Number(storage.getItem(key) ?? 0);
    if (next.seq <= done) return;
    storage.setItem(key, String(next.seq));
    if (String(next.body.url) !== page) navigateHost(String(next.body.url), page);
  }, [conversationId, next?.seq, synced, page, storage]);
}

export function FollowBanner({ state, conversationId, visitorToken }: { state: FollowState; conversationId: string; visitorToken: string }) {
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  if (!state.following) return null;
  const stop = async () => {
    setBusy(true);
    setFailed(false);
    const ok = await fetch(api(`/conversations/${conversationId}/cobrowse/unfollow`), {
      method: "POST",
      headers: { "X-Visitor-Token": visitorToken },
    }).then(
      (r) => r.ok,
      () => false,
    );
    setBusy(false);
    setFailed(!ok);
  };
  return (
    <p class="pw-banner pw-follow" data-testid="following" role="status">
      {t("cobrowse_following", { name: state.name })}
      {" — "}
      <button type="button" class="pw-link" onClick={stop} disabled={busy} data-testid="stop-following">
        {t("cobrowse_stop")}
      </button>
      {failed && <span role="alert"> {t("cobrowse_could_not_stop")}</span>}
    </p>
  );
}

/** A `cobrowse` entry in the log: the card of a pushed page, or a short line. */
export function CobrowseEntry({ entry, page }: { entry: Entry; page: string }) {
  const name = String(entry.body.name ?? "");
  const url = String(entry.body.url ?? "");
  switch (entry.body.action) {
    case "push": {
      const title = String(entry.body.title ?? "") || url;
      const same = entry.body.target === "same" && hostOrigin(page) !== null;
      return (
        <div class="pw-card" data-testid="pushed-page" data-seq={entry.seq} data-target={entry.body.target}>
          <p class="pw-card-lead">{t("cobrowse_sent", { name })}</p>
          <p class="pw-card-title">{title}</p>
          {title !== url && <p class="pw-card-url">{url}</p>}
          {same ? (
            <button type="button" class="pw-primary" onClick={() => navigateHost(url, page)}>
              {t("cobrowse_open")}
            </button>
          ) : (
            <a class="pw-primary" href={url} target="_blank" rel="noopener noreferrer">
              {t("cobrowse_open_tab")}
            </a>
          )}
        </div>
      );
    }
    case "follow":
      return <System seq={entry.seq} text={t("cobrowse_follow_on", { name })} />;
    case "unfollow":
      return <System seq={entry.seq} text={t("cobrowse_follow_off")} />;
    case "navigate":
      return <System seq={entry.seq} text={t("cobrowse_went", { name })} title={url} />;
    default:
      return null; // an action of a later version (the live view): nothing to show
  }
}

function System({ seq, text, title }: { seq: number; text: string; title?: string }) {
  return (
    <div class="pw-msg pw-system" data-testid="message" data-seq={seq} data-author="system" data-status="sent" title={title}>
      {text}
    </div>
  );
}
