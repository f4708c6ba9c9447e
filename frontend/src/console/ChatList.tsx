// The chat list beside the tabs: each open chat's last message and how long the customer has
// waited for an answer (since their oldest message nobody on staff answered yet), and whether
// the customer left. Clicking one selects its tab.

import type { Entry } from "../shared/protocol";
import { customerGone, customerName, shortDuration } from "./format";
import { useNow } from "./hooks";
import { isEnded, type ConsoleState } from "./state";

const SNIPPET_CHARS = 60;

/** The newest message of a chat (a note counts: staff see it), or null. */
export function lastMessage(entries: Entry[]): Entry | null {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e.kind === "message" || e.kind === "note") return e;
  }
  return null;
}

/** Since when the customer waits for an answer: their first message after staff last wrote
 * to them (a private note is no answer), or null when nothing is unanswered. */
export function waitingSince(entries: Entry[]): string | null {
  let since: string | null = null;
  for (const e of entries) {
    if (e.kind !== "message") continue;
    if (e.author === "visitor") since = since ?? e.created_at;
    else if (e.author?.startsWith("user:")) since = null;
  }
  return since;
}

export function snippet(text: string): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > SNIPPET_CHARS ? `${one.slice(0, SNIPPET_CHARS - 1)}…` : one;
}

export function ChatList({ state, onSelect }: { state: ConsoleState; onSelect: (id: string) => void }) {
  const now = useNow(15_000, state.order.length > 0);
  if (state.order.length === 0) return null;
  return (
    <nav class="chat-list" aria-label="Chat list" data-testid="chat-list">
      <ul>
        {state.order.map((id) => {
          const chat = state.chats[id];
          const last = lastMessage(chat.entries);
          const ended = isEnded(chat);
          const since = ended ? null : waitingSince(chat.entries);
          const gone = !ended && customerGone(chat.entries);
          const text = last ? snippet(String(last.body.text ?? "")) : "";
          return (
            <li key={id}>
              <button
                type="button"
                class={`chat-list-item${id === state.selected ? " selected" : ""}`}
                aria-current={id === state.selected ? "true" : undefined}
                data-testid="chat-list-item"
                onClick={() => onSelect(id)}
              >
                <span class="chat-list-name">{customerName(chat.conversation)}</span>
                {gone && (
                  <span class="tag" data-testid="customer-left">
                    left
                  </span>
                )}
                {ended && <span class="tag">ended</span>}
                <span class="chat-list-last muted">
                  {last ? (last.author === "visitor" ? text : `${last.kind === "note" ? "Note" : "You"}: ${text}`) : "No messages yet"}
                </span>
                {since && (
                  <span class="chat-list-wait" data-testid="waited">
                    waiting {shortDuration((now - Date.parse(since)) / 1000)}
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
