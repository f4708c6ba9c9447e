// The launcher companies embed: <script src="https://chat.example.com/widget.js" data-workgroup="sales" async>.
// No framework, a few KB: it draws the chat button (with whether anyone is available, polled
// every 30 s) and opens the chat app in an iframe from the Parley server. Its styles are injected
// under its own ids with !important, so the host page's CSS cannot restyle it, and it touches no
// element of the host page.
//
// A signed-in customer: the page puts the identity token its backend signed in data-identity,
// or calls window.Parley.identify(token) later (null: signed out). The token reaches the chat app
// in the iframe's URL fragment (never sent to a server, so never in a log) and by postMessage to
// Parley's origin only; never in a query string.

const doc = document;
const script = doc.currentScript as HTMLScriptElement | null;

if (script && !doc.getElementById("parley-launcher")) {
  const slug = script.getAttribute("data-workgroup") || "";
  const origin = new URL(script.src, location.href).origin;
  let identity = script.getAttribute("data-identity") || "";
  const font = 'font:600 15px/1.2 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif';
  const style = doc.createElement("style");
  style.textContent = (
    `#parley-launcher{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483646;display:flex;align-items:center;gap:8px;box-sizing:border-box;max-width:calc(100vw - 40px);padding:12px 18px;border-radius:999px;background:#2251d1;color:#fff;${font};box-shadow:0 6px 20px rgba(0,0,0,.25);cursor:pointer}` +
    "#parley-launcher[data-parley-status=closed]{background:#545b66}" +
    "#parley-launcher:hover{background:#1a40a8}" +
    "#parley-launcher[data-parley-status=closed]:hover{background:#3f454e}" +
    "#parley-launcher:focus-visible{outline:3px solid #ffb020;outline-offset:2px}" +
    "#parley-launcher svg{all:initial;display:block;width:20px;height:20px;fill:currentColor;flex:none}" +
    "#parley-panel{all:initial;position:fixed;right:20px;bottom:84px;z-index:2147483647;display:block;width:370px;height:560px;max-height:calc(100vh - 104px);border-radius:14px;overflow:hidden;background:#fff;box-shadow:0 12px 40px rgba(0,0,0,.3)}" +
    "#parley-panel[hidden]{display:none}" +
    "#parley-frame{all:initial;display:block;width:100%;height:100%;border:0}" +
    "@media (max-width:480px){#parley-panel{inset:0;width:100%;height:100%;max-height:none;border-radius:0}}"
  ).replace(/([^;{}])([;}])/g, "$1!important$2");
  doc.head.appendChild(style);

  let button: HTMLButtonElement | undefined;
  let panel: HTMLDivElement | undefined;
  let frame: HTMLIFrameElement | undefined;
  let label = "";
  let shown = false;
  let loaded = false;

  const toggle = (show: boolean) => {
    if (!button) return;
    shown = show;
    if (show && !panel) {
      panel = doc.createElement("div");
      panel.id = "parley-panel";
      frame = doc.createElement("iframe");
      frame.id = "parley-frame";
      frame.title = label;
      frame.onload = () => {
        loaded = true;
        tell();
      };
      // The page the visitor is on, for the agent: never its query or fragment, which may hold
      // tokens (sign-in links, password resets).
      frame.src = `${origin}/widget/?workgroup=${encodeURIComponent(slug)}&page=${encodeURIComponent(location.origin + location.pathname)}${identity ? `#identity=${encodeURIComponent(identity)}` : ""}`;
      panel.appendChild(frame);
      doc.body.appendChild(panel);
    }
    if (!panel || !frame) return;
    panel.hidden = !show;
    button.setAttribute("aria-expanded", String(show));
    if (show) {
      frame.focus();
      // Re-opened: the app moves the focus to its message box (on first load it does so itself).
      if (loaded) frame.contentWindow?.postMessage({ type: "parley:open" }, origin);
    } else if (panel.contains(doc.activeElement) || doc.activeElement === doc.body) {
      button.focus();
    }
  };

  // The chat app in the iframe, and only it (Parley's origin), hears of the identity.
  const tell = () => {
    if (loaded) frame?.contentWindow?.postMessage({ type: "parley:identity", token: identity || null }, origin);
  };
  (window as unknown as { Parley: { identify(token: string | null): void } }).Parley = {
    identify(token) {
      identity = token || "";
      tell();
    },
  };

  const draw = (status: { button_text: string; open: boolean }) => {
    label = status.button_text;
    if (!button) {
      button = doc.createElement("button");
      button.id = "parley-launcher";
      button.type = "button";
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-controls", "parley-panel");
      button.onclick = () => toggle(!shown);
      doc.body.appendChild(button);
    }
    const state = status.open ? "open" : "closed";
    button.innerHTML =
      '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
    button.appendChild(doc.createTextNode(status.open ? label : `${label} (offline)`));
    button.setAttribute("aria-label", label);
    button.setAttribute("data-parley-status", state);
    if (status.open) button.removeAttribute("aria-description");
    else button.setAttribute("aria-description", "offline: nobody is available right now");
    if (frame) frame.title = label;
  };

  const poll = () =>
    fetch(`${origin}/api/v1/workgroups/${encodeURIComponent(slug)}/status`)
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(draw, () => undefined);

  poll();
  setInterval(poll, 30_000);

  // The chat app asks to be closed (its minimise button, or Escape inside it).
  addEventListener("message", (event) => {
    if (event.origin === origin && frame && event.source === frame.contentWindow && event.data?.type === "parley:close") {
      toggle(false);
    }
  });
  doc.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && shown) toggle(false);
  });
}
