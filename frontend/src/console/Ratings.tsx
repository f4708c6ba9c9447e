// The customers' ratings: an agent's own (the ratings went to the last agent who wrote in the
// chat); a supervisor also sees their workgroups', an admin all. Each links to its chat.

import { useEffect, useState } from "preact/hooks";

import { formatDateTime } from "./format";
import { message } from "./PastChats";
import { type Rating, WrapUpApi } from "./wrapupApi";

export function Stars({ score }: { score: number }) {
  return (
    <span class="stars" role="img" aria-label={`${score} of 5 stars`}>
      {"★".repeat(score)}
      <span class="stars-off">{"★".repeat(Math.max(0, 5 - score))}</span>
    </span>
  );
}

export function Ratings({ canSeeOthers, onOpen }: { canSeeOthers: boolean; onOpen?: (id: string) => void }) {
  const [mine, setMine] = useState(true);
  const [list, setList] = useState<Rating[] | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    let current = true;
    setError("");
    setList(null);
    WrapUpApi.ratings(mine || !canSeeOthers)
      .then((rows) => current && setList(rows))
      .catch((e: unknown) => current && setError(message(e)));
    return () => {
      current = false;
    };
  }, [mine, canSeeOthers]);

  const average = list && list.length ? list.reduce((n, r) => n + r.score, 0) / list.length : null;
  return (
    <section class="ratings" aria-labelledby="ratings-heading">
      <div class="view-head">
        <h2 id="ratings-heading">{mine || !canSeeOthers ? "My ratings" : "Ratings"}</h2>
        {canSeeOthers && (
          <label class="check">
            <input type="checkbox" checked={!mine} onChange={(e) => setMine(!(e.target as HTMLInputElement).checked)} />
            Ratings of the workgroups I supervise
          </label>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {list === null && !error && <p class="muted">Loading…</p>}
      {list !== null && list.length === 0 && (
        <p class="muted" data-testid="ratings-empty">
          No ratings yet.
        </p>
      )}
      {average !== null && (
        <p class="muted" data-testid="ratings-average">
          {`Average ${average.toFixed(1)} of 5 over the ${list!.length} latest.`}
        </p>
      )}
      {list !== null && list.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Score</th>
              <th scope="col">Comment</th>
              <th scope="col">Customer</th>
              {!mine && <th scope="col">Agent</th>}
              <th scope="col">When</th>
              <th scope="col">
                <span class="sr-only">Chat</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((r) => (
              <tr key={r.conversation_id} data-testid="rating-row" data-score={String(r.score)}>
                <td>
                  <Stars score={r.score} />
                  {r.shopper && <span class="tag">shopper</span>}
                </td>
                <td class="rating-comment">{r.comment || <span class="muted">No comment</span>}</td>
                <td>{r.customer_name}</td>
                {!mine && <td>{r.agent_name ?? "—"}</td>}
                <td>{formatDateTime(r.created_at)}</td>
                <td>
                  {onOpen && (
                    <button
                      type="button"
                      aria-label={`Open the chat with ${r.customer_name || "the customer"}`}
                      onClick={() => onOpen(r.conversation_id)}
                    >
                      Open chat
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
