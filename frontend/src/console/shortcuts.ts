// The console's keyboard shortcuts, for an eight-hour shift (listed in the help dialog,
// ShortcutsHelp.tsx). Alt plus a letter, so that they work from the reply box too and never
// take a character the agent types; "?" outside a text field opens the help as well.

export type Shortcut = "accept" | "next_chat" | "previous_chat" | "canned" | "help";

export const SHORTCUTS: { keys: string; action: Shortcut; label: string }[] = [
  { keys: "Alt+A", action: "accept", label: "Accept the oldest offer" },
  { keys: "Alt+N", action: "next_chat", label: "Next chat" },
  { keys: "Alt+P", action: "previous_chat", label: "Previous chat" },
  { keys: "Alt+K", action: "canned", label: "Search canned responses (types / in the reply box)" },
  { keys: "Alt+H or ?", action: "help", label: "Show these shortcuts" },
];

function inTextField(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  const tag = el.tagName.toLowerCase();
  return tag === "textarea" || tag === "select" || (tag === "input" && (el as HTMLInputElement).type !== "checkbox") || el.isContentEditable;
}

/** The shortcut a key press asks for, or null. `e.code` first: Alt changes `e.key` on macOS. */
export function shortcutOf(e: KeyboardEvent): Shortcut | null {
  if (e.ctrlKey || e.metaKey) return null;
  if (e.altKey && !e.shiftKey) {
    const letter = e.code?.startsWith("Key") ? e.code.slice(3).toLowerCase() : e.key.toLowerCase();
    switch (letter) {
      case "a":
        return "accept";
      case "n":
        return "next_chat";
      case "p":
        return "previous_chat";
      case "k":
        return "canned";
      case "h":
        return "help";
    }
    return null;
  }
  if (!e.altKey && e.key === "?" && !inTextField(e.target)) return "help";
  return null;
}

/** The chat after (or before) `selected` in `order`, wrapping around; null when none. */
export function cycle(order: string[], selected: string | null, step: 1 | -1): string | null {
  if (!order.length) return null;
  const at = selected ? order.indexOf(selected) : -1;
  if (at < 0) return order[step === 1 ? 0 : order.length - 1];
  return order[(at + step + order.length) % order.length];
}
