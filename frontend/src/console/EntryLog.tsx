import { useEffect, useLayoutEffect, useRef } from "preact/hooks";

import { attachmentOf } from "../shared/attachments";
import type { PendingMessage } from "../shared/client";
import type { Conversation, Entry } from "../shared/protocol";
import { ConsoleAttachment } from "./Attachments";
import { authorKind, customerName, formatTime, participantName, systemText } from "./format";

interface Props {
  conversation: Conversation;
  entries: Entry[];
  pending?: PendingMessage[];
  /** This user's participant key, to label own messages "You". */
  me?: string;
  label?: string;
}

/** A conversation's log: messages and short system lines, in seq order. */
export function EntryLog({ conversation, entries, pending = [], me, label }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const onScroll = () => {
    const el = ref.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [entries.length, pending.length]);
  useEffect(() => {
    stick.current = true;
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [conversation.id]);

  return (
    <div
      class="log"
      role="log"
      aria-live="polite"
      aria-label={label ?? `Conversation with ${customerName(conversation)}`}
      tabIndex={0}
      ref={ref}
      onScroll={onScroll}
    >
      {entries.length === 0 && pending.length === 0 && <p class="log-empty">No messages yet.</p>}
      {entries.map((entry) => {
        if (entry.kind === "hidden") return null; // (only visitors are sent placeholders)
        const kind = authorKind(entry);
        if (kind === "system") {
          return (
            <div
              key={entry.seq}
              class={`entry system system-${entry.kind}`}
              data-testid="message"
              data-seq={entry.seq}
              data-author="system"
            >
              <span>{systemText(conversation, entry)}</span>
              <time dateTime={entry.created_at}>{formatTime(entry.created_at)}</time>
            </div>
          );
        }
        const mine = me !== undefined && entry.author === me;
        const note = entry.kind === "note";
        // A supervisor's whisper: a note by someone who need not be in the chat.
        const coaching = note && entry.body.coaching === true;
        const who = mine
          ? "You"
          : coaching && typeof entry.body.name === "string" && entry.body.name
            ? entry.body.name
            : participantName(conversation, entry.author);
        return (
          <div
            key={entry.seq}
            class={`entry message from-${kind}${mine ? " mine" : ""}${note ? " note" : ""}${coaching ? " coaching" : ""}`}
            data-testid="message"
            data-seq={entry.seq}
            data-author={kind}
            data-status="sent"
            data-private={note ? "true" : undefined}
            data-coaching={coaching ? "true" : undefined}
          >
            <div class="meta">
              <span class="who">{who}</span>
              {coaching ? (
                <span class="note-label coaching-label">
                  Coaching{mine ? "" : ` from ${who}`} — only staff see this
                </span>
              ) : (
                note && <span class="note-label">Note — only staff see this</span>
              )}
              <time dateTime={entry.created_at}>{formatTime(entry.created_at)}</time>
            </div>
            {attachmentOf(entry) ? (
              <ConsoleAttachment conversationId={conversation.id} attachment={attachmentOf(entry)!} />
            ) : (
              <div class="text">{String(entry.body.text ?? "")}</div>
            )}
          </div>
        );
      })}
      {pending.map((p) => (
        <div
          key={p.clientId}
          class={`entry message from-agent mine sending${p.private ? " note" : ""}`}
          data-testid="message"
          data-author="agent"
          data-status="sending"
          data-private={p.private ? "true" : undefined}
        >
          <div class="meta">
            <span class="who">You</span>
            {p.private && <span class="note-label">Note — only staff see this</span>}
            <span class="sending-label">Sending…</span>
          </div>
          <div class="text">{p.text}</div>
        </div>
      ))}
    </div>
  );
}
