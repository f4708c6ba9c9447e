// The customer's earlier conversations (the same verified customer, else the same browser; never
// a typed email), in the details panel of an open chat: each opens its transcript, the way Past
// chats does. The server lists only those this agent may read anyway.

import { useEffect, useState } from "preact/hooks";

import type { Conversation } from "../shared/protocol";
import { Api, type Transcript } from "./api";
import { EntryLog } from "./EntryLog";
import { customerName, formatDateTime, STATUS_LABEL } from "./format";
import { useMounted } from "./hooks";
import { message } from "./PastChats";

export function EarlierConversations({ conversation, me }: { conversation: Conversation; me: string }) {
  const id = conversation.id;
  const [list, setList] = useState<Conversation[] | null>(null);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<Transcript | null>(null);
  const [openError, setOpenError] = useState("");
  const mounted = useMounted();

  useEffect(() => {
    let live = true;
    setError("");
    Api.customerHistory(id)
      .then((rows) => live && setList(rows))
      .catch((e: unknown) => live && setError(message(e)));
    return () => {
      live = false;
    };
  }, [id]);

  const show = async (other: string) => {
    setOpenError("");
    try {
      const t = await Api.customerTranscript(id, other);
      if (mounted.current) setOpen(t);
    } catch (e) {
      if (mounted.current) setOpenError(`Could not open that chat: ${message(e)}`);
    }
  };

  const headingId = `earlier-heading-${id}`;
  return (
    <section class="earlier" data-testid="earlier-conversations" aria-labelledby={headingId}>
      <h4 id={headingId}>Earlier conversations</h4>
      {list === null && !error && <p class="muted">Loading…</p>}
      {error && <p class="muted">Could not load them: {error}</p>}
      {list !== null && list.length === 0 && (
        <p class="muted">
          {conversation.verified ? "None." : "None from this browser (the visitor is not verified)."}
        </p>
      )}
      {list !== null && list.length > 0 && (
        <ul class="earlier-list">
          {list.map((c) => (
            <li key={c.id} data-testid="earlier-chat">
              <button type="button" class="link earlier-item" onClick={() => show(c.id)}>
                <span class="past-date">{formatDateTime(c.created_at)}</span>{" "}
                <span class="past-question">{c.metadata?.question || "(no question)"}</span>{" "}
                <span class={`status status-${c.status}`}>{STATUS_LABEL[c.status] ?? c.status}</span>
                {c.verified && <span class="tag">verified</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
      {openError && (
        <p class="error" role="alert">
          {openError}
        </p>
      )}
      {open && (
        <div
          class="dialog earlier-transcript"
          role="dialog"
          aria-modal="true"
          aria-label={`Earlier chat with ${customerName(open.conversation)}`}
          data-testid="earlier-transcript"
          onKeyDown={(e) => {
            if (e.key === "Escape") setOpen(null);
          }}
        >
          <div class="dialog-body">
            <h3>
              Chat with {customerName(open.conversation)},{" "}
              {formatDateTime(open.conversation.created_at)}
            </h3>
            <EntryLog
              conversation={open.conversation}
              entries={open.entries}
              me={me}
              label={`Transcript of the earlier chat with ${customerName(open.conversation)}`}
            />
            <div class="dialog-actions">
              <button type="button" onClick={() => setOpen(null)}>
                Close transcript
              </button>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
