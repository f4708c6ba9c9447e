// Manual pick: the requests waiting in the agent's manual-pick queues, each with a "Take"
// button. The list is fetched again whenever the server says it changed (`waiting_changed`).

import { useCallback, useEffect, useRef, useState } from "preact/hooks";

import type { Waiting as WaitingRequest } from "../shared/protocol";
import { ApiError } from "./api";
import { useNow } from "./hooks";
import { message } from "./PastChats";
import { RoutingApi } from "./routingApi";

export interface WaitingList {
  items: WaitingRequest[];
  /** Local time (ms) of the fetch, to count the waiting time on. */
  fetchedAt: number;
  error: string;
  reload: () => Promise<void>;
}

/** The waiting list, fetched at first and again every time ``version`` changes. */
export function useWaiting(version: number): WaitingList {
  const [items, setItems] = useState<WaitingRequest[]>([]);
  const [fetchedAt, setFetchedAt] = useState(() => Date.now());
  const [error, setError] = useState("");
  // Answers can arrive out of order: only the latest request's counts.
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const ticket = ++latest.current;
    try {
      const list = await RoutingApi.waiting();
      if (ticket !== latest.current) return;
      setItems(list);
      setFetchedAt(Date.now());
      setError("");
    } catch (e) {
      if (ticket === latest.current) setError(message(e));
    }
  }, []);
  useEffect(() => {
    void reload();
  }, [version]);
  return { items, fetchedAt, error, reload };
}

export function formatWait(secs: number): string {
  const s = Math.max(0, Math.floor(secs));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function Waiting({
  list,
  workgroupName,
  onClaimed,
}: {
  list: WaitingList;
  workgroupName: (id: number | null) => string | undefined;
  onClaimed: (conversationId: string) => void;
}) {
  const now = useNow(1000, list.items.length > 0);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState("");

  const take = async (id: string) => {
    setBusy(id);
    setError("");
    try {
      const { conversation_id } = await RoutingApi.claim(id);
      onClaimed(conversation_id);
    } catch (e) {
      setError(
        e instanceof ApiError && e.code === "offer_gone"
          ? "Someone else took that chat."
          : `Could not take the chat: ${message(e)}`,
      );
      void list.reload();
    } finally {
      setBusy(null);
    }
  };

  const elapsed = (now - list.fetchedAt) / 1000;
  return (
    <section class="waiting" aria-labelledby="waiting-heading">
      <h2 id="waiting-heading">Waiting</h2>
      <p class="muted">Chats waiting in manual-pick queues: take the one you want.</p>
      {(error || list.error) && (
        <p class="error" role="alert">
          {error || list.error}
        </p>
      )}
      {!list.items.length ? (
        <p class="muted" data-testid="waiting-empty">
          Nobody is waiting.
        </p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Customer</th>
              <th scope="col">Question</th>
              <th scope="col">Queue</th>
              <th scope="col">Waiting</th>
              <th scope="col">Priority</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((w) => {
              const name = w.metadata?.name?.trim() || "Visitor";
              const group = workgroupName(w.workgroup_id);
              return (
                <tr key={w.conversation_id} data-testid="waiting-request">
                  <td>
                    {name}
                    {w.metadata?.email && <div class="muted">{w.metadata.email}</div>}
                  </td>
                  <td class="prewrap">{w.metadata?.question ?? ""}</td>
                  <td>
                    {w.queue_name}
                    {group && <div class="muted">{group}</div>}
                  </td>
                  <td data-testid="waiting-time">{formatWait(w.waiting_secs + elapsed)}</td>
                  <td>{w.priority}</td>
                  <td>
                    <button
                      type="button"
                      class="primary"
                      aria-label={`Take chat with ${name}`}
                      disabled={busy !== null}
                      onClick={() => void take(w.conversation_id)}
                    >
                      Take
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
