import { render } from "preact";

import type { KeyValueStore } from "../shared/client";
import { App, focusMain, requestClose } from "./app";
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

// The launcher opened (or re-opened) the panel: move the keyboard into the chat.
addEventListener("message", (event) => {
  if (event.source === window.parent && (event.data as { type?: string } | null)?.type === "parley:open") {
    focusMain();
  }
});
// Escape closes the panel (the launcher hides it and gives the focus back to its button).
addEventListener("keydown", (event) => {
  if (event.key === "Escape" && embedded) requestClose();
});

render(
  <App
    slug={params.get("workgroup") ?? ""}
    page={params.get("page") || document.referrer}
    storage={storage()}
    embedded={embedded}
  />,
  document.getElementById("app")!,
);
