// The inbox: messages visitors left for the agent's workgroups when nobody could chat. Take one
// (others see who took it), reply by email, mark it done. Kept current by the `left_message`
// notifications, and read again after every reconnect (a notification may have been missed).

import { useEffect, useState } from "preact/hooks";

import type { ParleyClient } from "../shared/client";
import type { LeftMessage } from "../shared/protocol";
import { Api } from "./api";
import { formatDateTime } from "./format";
import { type InboxFilter, replyHref, upsertMessage, visibleMessages } from "./inbox";
import { message as errorText } from "./PastChats";

const FILTERS: { value: InboxFilter; label: string }[] = [
  { value: "new", label: "New" },
  { value: "taken", label: "Taken" },
  { value: "done", label: "Done" },
  { value: "all", label: "All" },
];

export function Inbox({
  client,
  me,
  canOverride,
  workgroupName,
}: {
  client: ParleyClient;
  me: number;
  /** Supervisors and admins may finish a message another agent took. */
  canOverride: boolean;
  workgroupName: (slug: string) => string;
}) {
  const [messages, setMessages] = useState<LeftMessage[] | null>(null);
  const [filter, setFilter] = useState<InboxFilter>("new");
  const [error, setError] = useState("");

  useEffect(() => {
    let live = true;
    const load = () =>
      Api.leftMessages().then(
        (list) => {
          if (!live) return;
          setMessages(list);
          setError("");
        },
        (e) => live && setError(errorText(e)),
      );
    void load();
    const off = client.on((event) => {
      if (event.type === "server" && event.message.type === "left_message") {
        const changed = event.message.message;
        setMessages((list) => (list ? upsertMessage(list, changed) : list));
      } else if (event.type === "server" && event.message.type === "synced") {
        void load();
      }
    });
    return () => {
      live = false;
      off();
    };
  }, [client]);

  const act = async (call: Promise<LeftMessage>) => {
    try {
      const changed = await call;
      setMessages((list) => upsertMessage(list ?? [], changed));
      setError("");
    } catch (e) {
      setError(errorText(e));
    }
  };

  const shown = messages ? visibleMessages(messages, filter) : [];
  return (
    <section class="inbox" aria-labelledby="inbox-heading">
      <div class="inbox-head">
        <h2 id="inbox-heading">Left messages</h2>
        <label for="inbox-filter">Show</label>
        <select id="inbox-filter" value={filter} onChange={(e) => setFilter(e.currentTarget.value as InboxFilter)}>
          {FILTERS.map((f) => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </select>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {messages === null ? (
        <p class="muted">Loading…</p>
      ) : shown.length === 0 ? (
        <p class="muted" data-testid="inbox-empty">
          No {filter === "all" ? "" : `${filter} `}messages.
        </p>
      ) : (
        <ul class="inbox-list">
          {shown.map((m) => (
            <li key={m.id} class={`card inbox-item ${m.status}`} data-testid="left-message" data-status={m.status}>
              <div class="inbox-meta">
                <strong>{m.name}</strong> <span class="muted">&lt;{m.email}&gt;</span>
                <span class="muted"> · {workgroupName(m.workgroup)} · {formatDateTime(m.created_at)}</span>
              </div>
              <p class="inbox-text">{m.message}</p>
              {m.page && <p class="muted inbox-page">From {m.page}</p>}
              <p class="muted" data-testid="left-message-state">
                {m.status === "new" ? "New" : m.status === "taken" ? `Taken by ${m.taken_by_name ?? "someone"}` : `Done (${m.taken_by_name ?? "answered"})`}
                {m.emailed_at
                  ? " · emailed"
                  : m.last_email_error?.startsWith("not emailed") // the server's email limit: final
                    ? ` · ${m.last_email_error}`
                    : m.last_email_error
                      ? ` · email not sent yet: ${m.last_email_error}`
                      : ""}
              </p>
              <div class="row-actions">
                {m.status === "new" && (
                  <button type="button" onClick={() => act(Api.takeMessage(m.id))}>
                    Take
                  </button>
                )}
                <a class="button-link" href={replyHref(m, workgroupName(m.workgroup))}>
                  Reply by email
                </a>
                {m.status !== "done" && (m.status === "new" || m.taken_by === me || canOverride) && (
                  <button type="button" onClick={() => act(Api.messageDone(m.id))}>
                    Mark done
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
