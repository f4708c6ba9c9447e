import { render } from "preact";

import type { KeyValueStore } from "../shared/client";
import { App, focusMain, requestClose } from "./app";
import { pickLanguage, setLanguage } from "./i18n";
import { setPanelVisible } from "./panel";
import { shopperLinkOf } from "./Shopper";
import "./widget.css";

// localStorage keeps the conversation (a reload or a second tab resumes it). A browser that
// blocks storage in third-party frames throws on access: fall back to memory for this page.
function storage(): KeyValueStore {
  try {
    const s = window.localStorage;
    s.setItem("parley:probe", "1");
    s.removeItem("parley:probe");
    return s;
  } catch {
    const data = new Map<string, string>();
    return {
      getItem: (k) => data.get(k) ?? null,
      setItem: (k, v) => void data.set(k, v),
      removeItem: (k) => void data.delete(k),
    };
  }
}

const params = new URLSearchParams(location.search);
const embedded = window.parent !== window;
// The launcher's data-lang, else the browser's languages (the same browser as the host page's).
setLanguage(pickLanguage(params.get("lang"), navigator.languages ?? [navigator.language]));
// The launcher loaded the iframe hidden (a chat minimised before a reload): nothing is seen yet.
setPanelVisible(!(embedded && params.get("hidden") === "1"));
// Hidden fields from the host page, by postMessage; checked (and warned about) when sent.
let fields: unknown = null;

// The signed-in customer's identity token, from the launcher: in the URL fragment when the
// iframe opens (taken out of the address at once), then by postMessage from the host page.
let identity: string | null = new URLSearchParams(location.hash.slice(1)).get("identity");
// A secret shopper's link token, from the host page's own `#shopper=` (the launcher passes it on).
const shopperLink = shopperLinkOf(location.hash);
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
const store = storage();
const root = document.getElementById("app")!;
const draw = () =>
  render(
    <App
      slug={params.get("workgroup") ?? ""}
      page={params.get("page") || document.referrer}
      storage={store}
      embedded={embedded}
      identity={identity}
      fields={fields}
      referrer={params.get("ref") ?? ""}
      shopperLink={shopperLink}
    />,
    root,
  );

// The launcher opened (or re-opened) the panel: move the keyboard into the chat.
addEventListener("message", (event) => {
  const data = event.data as { type?: string; token?: unknown; fields?: unknown } | null;
  if (event.source !== window.parent || !data) return;
  if (data.type === "parley:open") {
    setPanelVisible(true);
    focusMain();
  }
  if (data.type === "parley:hidden") setPanelVisible(false);
  if (data.type === "parley:fields") {
    fields = data.fields;
    draw();
  }
  if (data.type === "parley:identity") {
    identity = typeof data.token === "string" && data.token ? data.token : null;
    draw();
  }
});
// Escape closes the panel (the launcher hides it and gives the focus back to its button).
addEventListener("keydown", (event) => {
  if (event.key === "Escape" && embedded) requestClose();
});

draw();
