// The launcher companies embed: <script src="https://chat.example.com/widget.js" data-workgroup="sales" async>.
// No framework, a few KB: it draws the chat button (whether a chat can start, polled every 30 s,
// in the workgroup's colour and corner) and opens the chat app in an iframe from the Parley
// server. Its styles are injected under its own ids with !important, so the host page's CSS
// cannot restyle it, and it touches no element of the host page.
//
// A signed-in customer: the page puts the identity token its backend signed in data-identity,
// or calls window.Parley.identify(token) later (null: signed out). The token reaches the chat app
// in the iframe's URL fragment (never sent to a server, so never in a log) and by postMessage to
// Parley's origin only; never in a query string.
//
// Hidden fields (a plan, an order number): data-field-<name>="value" on the script tag, and
// window.Parley.setFields({...}) (null removes one), before the script loaded (a stub with a
// queue `q`, see docs/operations.md) or after. They reach the chat app by postMessage; it checks
// them and sends them with the chat request. data-lang picks the widget's language.
//
// A chat under way is remembered for this tab (sessionStorage): after a reload or on the next
// page the panel opens again (or the iframe loads hidden, if it was minimised), and the button
// shows how many messages the agent wrote while the panel was closed.
//
// Co-browsing: the chat app may ask this page to go to one of its own pages (a page the agent
// pushed, or "follow me"): {type: "parley:navigate", url}, from the iframe only (origin and
// source checked), to an http(s) address of this page's own origin only.

type Fields = Record<string, unknown>;
interface Api {
  identify(token: string | null): void;
  setFields(fields: Fields): void;
  q?: [string, unknown][];
}
interface Status {
  button_text: string;
  open: boolean;
  accepting?: boolean;
  reason?: string | null;
  branding?: { color?: string | null; position?: string };
}

const doc = document;
const win = window as unknown as { Parley?: Api };
const script = doc.currentScript as HTMLScriptElement | null;

if (script && !doc.getElementById("parley-launcher")) {
  const attr = (name: string) => script.getAttribute(name) || "";
  const slug = attr("data-workgroup");
  const lang = attr("data-lang");
  const origin = new URL(script.src, location.href).origin;
  const key = `parley:${slug}`;
  let identity = attr("data-identity");
  // A secret shopper's link (docs/security.md): `#shopper=<token>` on the host page's address.
  // Taken out of the address at once and handed to the chat app in its iframe's fragment; the
  // page the agent is told of never carries a fragment anyway.
  const shopper = new URLSearchParams(location.hash.slice(1)).get("shopper") || "";
  if (shopper) history.replaceState(null, "", location.pathname + location.search);
  let fields: Fields = {};
  for (const a of Array.from(script.attributes)) {
    if (a.name.startsWith("data-field-")) fields[a.name.slice(11).replace(/-/g, "_")] = a.value;
  }
  // The launcher's few words (the chat app has its own catalogues).
  const de = /^de\b/i.test(lang || navigator.language);
  const words = de
    ? { offline: "offline", closed: "geschlossen", unread: " neue Nachricht(en)", nobody: "gerade ist niemand erreichbar" }
    : { offline: "offline", closed: "closed", unread: " new message(s)", nobody: "nobody is available right now" };

  const font = 'font:600 15px/1.2 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif';
  const style = doc.createElement("style");
  style.textContent = (
    `#parley-launcher{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483646;display:flex;align-items:center;gap:8px;box-sizing:border-box;max-width:calc(100vw - 40px);padding:12px 18px;border-radius:999px;background:#2251d1;color:#fff;${font};box-shadow:0 6px 20px rgba(0,0,0,.25);cursor:pointer}` +
    "#parley-launcher[data-parley-status=closed]{background:#545b66}" +
    "#parley-launcher:hover{filter:brightness(.85)}" +
    "#parley-launcher:focus-visible{outline:3px solid #ffb020;outline-offset:2px}" +
    "#parley-launcher svg{all:initial;display:block;width:20px;height:20px;fill:currentColor;flex:none}" +
    `#parley-unread{all:initial;min-width:22px;height:22px;padding:0 6px;box-sizing:border-box;border-radius:11px;background:#c8102e;color:#fff;${font};font-size:13px;line-height:22px;text-align:center}` +
    "#parley-panel{all:initial;position:fixed;right:20px;bottom:84px;z-index:2147483647;display:block;width:370px;height:560px;max-height:calc(100vh - 104px);border-radius:14px;overflow:hidden;background:#fff;box-shadow:0 12px 40px rgba(0,0,0,.3)}" +
    "#parley-launcher[data-parley-position=left],#parley-panel[data-parley-position=left]{right:auto;left:20px}" +
    "#parley-panel[hidden]{display:none}" +
    "#parley-frame{all:initial;display:block;width:100%;height:100%;border:0}" +
    "@media (max-width:480px){#parley-panel[data-parley-position]{inset:0;width:100%;height:100%;max-height:none;border-radius:0}}"
  ).replace(/([^;{}])([;}])/g, "$1!important$2");
  doc.head.appendChild(style);

  let button: HTMLButtonElement | undefined;
  let panel: HTMLDivElement | undefined;
  let frame: HTMLIFrameElement | undefined;
  let status: Status | undefined;
  let shown = false;
  let loaded = false;
  let chatting = false;
  let unread = 0;

  const post = (message: unknown) => {
    if (loaded) frame?.contentWindow?.postMessage(message, origin);
  };
  // The chat app in the iframe, and only it (Parley's origin), hears of the identity and fields.
  const tell = () => {
    post({ type: "parley:identity", token: identity || null });
    post({ type: "parley:fields", fields });
  };
  const remember = () => {
    try {
      if (chatting) sessionStorage.setItem(key, shown ? "open" : "min");
      else sessionStorage.removeItem(key);
    } catch {
      // storage blocked: no reopening after a reload
    }
  };

  const build = (show: boolean) => {
    panel = doc.createElement("div");
    panel.id = "parley-panel";
    panel.hidden = !show;
    frame = doc.createElement("iframe");
    frame.id = "parley-frame";
    frame.title = status?.button_text || "";
    frame.onload = () => {
      loaded = true;
      tell();
    };
    // The page the visitor is on and the one they came from, for the agent: never a query or
    // fragment, which may hold tokens (sign-in links, password resets).
    const strip = (url: string) => {
      try {
        const u = new URL(url);
        return u.origin + u.pathname;
      } catch {
        return "";
      }
    };
    const q = (name: string, value: string) => (value ? `&${name}=${encodeURIComponent(value)}` : "");
    frame.src =
      `${origin}/widget/?workgroup=${encodeURIComponent(slug)}` +
      q("page", strip(location.href)) +
      q("ref", strip(doc.referrer)) +
      q("lang", lang) +
      (show ? "" : "&hidden=1") +
      (identity || shopper
        ? "#" +
          [
            identity ? `identity=${encodeURIComponent(identity)}` : "",
            shopper ? `shopper=${encodeURIComponent(shopper)}` : "",
          ]
            .filter(Boolean)
            .join("&")
        : "");
    panel.appendChild(frame);
    doc.body.appendChild(panel);
    paint();
  };

  const toggle = (show: boolean) => {
    if (!button) return;
    shown = show;
    if (!panel) build(show);
    if (!panel || !frame) return;
    panel.hidden = !show;
    remember();
    paint();
    if (show) {
      frame.focus();
      // Re-opened: the app moves the focus to its message box (on first load it does so itself).
      post({ type: "parley:open" });
    } else {
      post({ type: "parley:hidden" });
      if (panel.contains(doc.activeElement) || doc.activeElement === doc.body) button.focus();
    }
  };

  // Calls the page made before this script loaded: window.Parley = {q: [["setFields", {...}]]}.
  const queued = win.Parley?.q;
  const api: Api = (win.Parley = {
    identify(token) {
      identity = token || "";
      tell();
    },
    setFields(more) {
      fields = { ...fields, ...more };
      for (const k in fields) if (fields[k] == null) delete fields[k];
      tell();
    },
  });
  if (Array.isArray(queued)) for (const [name, arg] of queued) if (name === "identify" || name === "setFields") api[name](arg as never);

  const paint = () => {
    if (!status) return;
    const label = status.button_text;
    const can = status.accepting ?? status.open;
    const closed = status.reason === "closed";
    const brand = status.branding || {};
    if (!button) {
      button = doc.createElement("button");
      button.id = "parley-launcher";
      button.type = "button";
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", "parley-panel");
      button.onclick = () => toggle(!shown);
      doc.body.appendChild(button);
    }
    const b = button;
    b.innerHTML =
      '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
    b.appendChild(doc.createTextNode(can ? label : `${label} (${closed ? words.closed : words.offline})`));
    const count = shown ? 0 : unread;
    if (count) {
      const badge = doc.createElement("span");
      badge.id = "parley-unread";
      badge.setAttribute("aria-hidden", "true");
      badge.textContent = count > 99 ? "99+" : String(count);
      b.appendChild(badge);
    }
    b.setAttribute("aria-label", label);
    b.setAttribute("aria-expanded", String(shown));
    b.setAttribute("data-parley-status", can ? "open" : "closed");
    b.setAttribute("data-parley-reason", can ? "" : closed ? "closed" : "no_agents");
    b.setAttribute("data-parley-unread", String(count));
    const said = [can ? "" : closed ? words.closed : `${words.offline}: ${words.nobody}`, count ? count + words.unread : ""];
    const description = said.filter(Boolean).join(", ");
    if (description) b.setAttribute("aria-description", description);
    else b.removeAttribute("aria-description");
    b.style.removeProperty("background");
    if (can && brand.color) b.style.setProperty("background", brand.color, "important");
    for (const el of [b, panel]) el?.setAttribute("data-parley-position", brand.position === "left" ? "left" : "right");
    if (frame) frame.title = label;
  };

  let first = true;
  const poll = () =>
    fetch(`${origin}/api/v1/workgroups/${encodeURIComponent(slug)}/status`)
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((s: Status) => {
        status = s;
        paint();
        if (first) {
          first = false;
          // A chat under way in this tab before the reload: open it again as it was.
          let saved: string | null = null;
          try {
            saved = sessionStorage.getItem(key);
          } catch {
            // storage blocked
          }
          if (saved) {
            chatting = true;
            if (saved === "open") toggle(true);
            else build(false);
          }
        }
      }, () => undefined);

  poll();
  setInterval(poll, 30_000);

  // The chat app asks to be closed (its minimise button, or Escape inside it), and says whether
  // a chat is under way and how many of the agent's messages are unread.
  addEventListener("message", (event) => {
    const data = event.data;
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow || !data) return;
    if (data.type === "parley:close") toggle(false);
    // Co-browsing: the agent's page (a card the customer clicked, or "follow me"), which the
    // server checked before the app saw it. Still only this site's own pages, and only http(s):
    // another site opens in a new tab from the app itself, never from here (docs/security.md).
    if (data.type === "parley:navigate" && typeof data.url == "string") {
      try {
        const u = new URL(data.url);
        if (u.origin === location.origin && /^https?:$/.test(u.protocol)) location.assign(u.href);
      } catch {
        // not an address: ignored
      }
    }
    if (data.type === "parley:state") {
      chatting = Boolean(data.chat);
      unread = Number(data.unread) || 0;
      remember();
      paint();
    }
  });
  doc.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && shown) toggle(false);
  });
}
