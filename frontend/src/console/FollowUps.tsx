// "Needs follow-up": the chats whose outcome is follow_up, the oldest end first, each marked
// resolved from here once it is done (it then leaves the list).

import { useEffect, useState } from "preact/hooks";

import { customerName, formatDateTime } from "./format";
import { message } from "./PastChats";
import { type PastChat, WrapUpApi } from "./wrapupApi";

export function FollowUps({ canSeeAll, onOpen }: { canSeeAll: boolean; onOpen?: (id: string) => void }) {
  const [everyone, setEveryone] = useState(false);
  const [list, setList] = useState<PastChat[] | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    setError("");
    WrapUpApi.followUps(everyone)
      .then((rows) => current && setList(rows))
      .catch((e: unknown) => current && setError(message(e)));
    return () => {
      current = false;
    };
  }, [everyone]);

  const resolve = async (p: PastChat) => {
    setBusy(p.conversation.id);
    setError("");
    setNotice("");
    try {
      await WrapUpApi.setOutcome(p.conversation.id, "resolved");
      setList((l) => (l ?? []).filter((x) => x.conversation.id !== p.conversation.id));
      setNotice(`The chat with ${customerName(p.conversation)} is marked resolved.`);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="past follow-ups" aria-labelledby="follow-ups-heading">
      <div class="view-head">
        <h2 id="follow-ups-heading">Needs follow-up</h2>
        {canSeeAll && (
          <label class="check">
            <input
              type="checkbox"
              checked={everyone}
              onChange={(e) => setEveryone((e.target as HTMLInputElement).checked)}
            />
            Everyone’s chats
          </label>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {list === null && !error && <p class="muted">Loading…</p>}
      {list !== null && list.length === 0 && (
        <p class="muted" data-testid="follow-ups-empty">
          Nothing needs a follow-up.
        </p>
      )}
      {list !== null && list.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Customer</th>
              <th scope="col">Question</th>
              <th scope="col">Ended</th>
              <th scope="col">Tags</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((p) => {
              const c = p.conversation;
              return (
                <tr key={c.id} data-testid="follow-up">
                  <td>
                    {onOpen ? (
                      <button type="button" class="link" onClick={() => onOpen(c.id)}>
                        {customerName(c)}
                      </button>
                    ) : (
                      customerName(c)
                    )}
                  </td>
                  <td>{c.metadata?.question ?? ""}</td>
                  <td>{formatDateTime(c.ended_at)}</td>
                  <td>{p.wrap_up.tags.map((t) => t.name).join(", ")}</td>
                  <td>
                    <button
                      type="button"
                      aria-label={`Mark the chat with ${customerName(c)} resolved`}
                      disabled={busy === c.id}
                      onClick={() => void resolve(p)}
                    >
                      Mark resolved
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
