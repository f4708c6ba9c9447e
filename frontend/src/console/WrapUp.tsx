// A chat's wrap-up: its outcome (once it ended: set or changed afterwards too, even when the
// customer ended it) and its tags from the admin's list. Shown under an ended chat and beside
// a past chat's transcript; the server decides who may (the chat's staff and its workgroup's
// supervisors) and says so.

import { useEffect, useState } from "preact/hooks";

import type { Outcome } from "../shared/protocol";
import { OUTCOMES } from "./EndChat";
import { formatDateTime } from "./format";
import { message } from "./PastChats";
import { type Tag, type WrapUp as WrapUpData, WrapUpApi } from "./wrapupApi";

export function outcomeLabel(outcome: Outcome | null): string {
  return OUTCOMES.find((o) => o.value === outcome)?.label ?? "No outcome";
}

export function WrapUp({
  conversationId,
  ended,
  onChanged,
}: {
  conversationId: string;
  ended: boolean;
  onChanged?: (w: WrapUpData) => void;
}) {
  const [data, setData] = useState<WrapUpData | null>(null);
  const [tags, setTags] = useState<Tag[]>([]);
  const [outcome, setOutcome] = useState<Outcome>("resolved");
  const [adding, setAdding] = useState("");
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let current = true;
    setData(null);
    Promise.all([WrapUpApi.wrapUp(conversationId), WrapUpApi.tags()])
      .then(([w, all]) => {
        if (!current) return;
        setData(w);
        setTags(all);
        setOutcome(w.outcome ?? "resolved");
      })
      .catch((e: unknown) => current && setError(message(e)));
    return () => {
      current = false;
    };
  }, [conversationId, ended]);

  const run = async (action: () => Promise<WrapUpData>, done: string) => {
    setBusy(true);
    setError("");
    setNotice("");
    try {
      const w = await action();
      setData(w);
      onChanged?.(w);
      setNotice(done);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  if (data === null) {
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : null;
  }
  const carried = new Set(data.tags.map((t) => t.id));
  const addable = tags.filter((t) => !carried.has(t.id));
  const id = conversationId;
  return (
    <section class="wrap-up card" aria-label="Wrap-up" data-testid="wrap-up">
      {ended && (
        <form
          class="wrap-up-outcome"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => WrapUpApi.setOutcome(id, outcome), `Outcome saved: ${outcomeLabel(outcome)}.`);
          }}
        >
          <label for={`wrap-outcome-${id}`}>Outcome</label>
          <select
            id={`wrap-outcome-${id}`}
            value={outcome}
            onChange={(e) => setOutcome((e.target as HTMLSelectElement).value as Outcome)}
          >
            {OUTCOMES.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
          <button type="submit" disabled={busy}>
            Save outcome
          </button>
          <span class="muted" data-testid="wrap-up-recorded">
            {data.outcome
              ? `Recorded: ${outcomeLabel(data.outcome)}${data.outcome_at ? `, ${formatDateTime(data.outcome_at)}` : ""}`
              : "No outcome recorded yet."}
          </span>
        </form>
      )}
      <div class="wrap-up-tags">
        <span id={`wrap-tags-${id}`}>Tags</span>
        <ul class="tag-list" aria-labelledby={`wrap-tags-${id}`}>
          {data.tags.length === 0 && <li class="muted">None</li>}
          {data.tags.map((t) => (
            <li key={t.id} class="tag-chip" data-testid="chat-tag">
              {t.name}
              <button
                type="button"
                class="subtle"
                aria-label={`Remove tag ${t.name}`}
                disabled={busy}
                onClick={() => void run(() => WrapUpApi.removeTag(id, t.id), `Tag ${t.name} removed.`)}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
        {addable.length > 0 && (
          <span class="wrap-up-add">
            <label for={`wrap-add-${id}`} class="sr-only">
              Tag to add
            </label>
            <select id={`wrap-add-${id}`} value={adding} onChange={(e) => setAdding((e.target as HTMLSelectElement).value)}>
              <option value="">Add a tag…</option>
              {addable.map((t) => (
                <option key={t.id} value={String(t.id)}>
                  {t.name}
                </option>
              ))}
            </select>
            <button
              type="button"
              disabled={busy || !adding}
              onClick={() => {
                const tag = tags.find((t) => String(t.id) === adding);
                if (!tag) return;
                setAdding("");
                void run(() => WrapUpApi.addTag(id, tag.id), `Tag ${tag.name} added.`);
              }}
            >
              Add tag
            </button>
          </span>
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
    </section>
  );
}
