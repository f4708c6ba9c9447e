// Whether the launcher's panel (the iframe) is showing, as the launcher tells the app
// ("parley:open", "parley:hidden", "&hidden=1" when it loaded the iframe hidden), and what the
// app tells the launcher back: whether a chat is under way and how many messages are unread.

import { useEffect, useState } from "preact/hooks";

let visible = true;
const listeners = new Set<(v: boolean) => void>();

export function setPanelVisible(value: boolean): void {
  if (value === visible) return;
  visible = value;
  for (const listener of listeners) listener(value);
}

export function panelVisible(): boolean {
  return visible;
}

export function usePanelVisible(): boolean {
  const [value, setValue] = useState(visible);
  useEffect(() => {
    setValue(visible);
    listeners.add(setValue);
    return () => void listeners.delete(setValue);
  }, []);
  return value;
}

/** Tell the launcher on the host page (nothing secret: whether a chat is on, a count). */
export function tellHost(message: { type: string; [key: string]: unknown }): void {
  if (window.parent !== window) window.parent.postMessage(message, "*");
}
