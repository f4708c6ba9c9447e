import { useEffect, useState } from "preact/hooks";

import type { Outcome } from "../shared/protocol";
import { Api, ApiError, type Transcript } from "./api";
import { CustomerDetails } from "./CustomerDetails";
import { OUTCOMES } from "./EndChat";
import { EntryLog } from "./EntryLog";
import { customerName, formatDateTime, STATUS_LABEL } from "./format";
import { useDebounced, useMounted } from "./hooks";
import { outcomeLabel, WrapUp } from "./WrapUp";
import { type PastChat, type Tag, WrapUpApi } from "./wrapupApi";
import { ReviewPanel } from "./Qa";

interface Props {
  canSeeAll: boolean;
  me: string;
  workgroupName: (id: number | null) => string | undefined;
  /** Open this chat's transcript at once (a rating's or a follow-up's link). */
  openId?: string | null;
}

export function PastChats({ canSeeAll, me, workgroupName, openId }: Props) {
  const [query, setQuery] = useState("");
  const [everyone, setEveryone] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | "">("");
  const [tag, setTag] = useState<number | null>(null);
  const [tags, setTags] = useState<Tag[]>([]);
  const q = useDebounced(query, 300);
  const [list, setList] = useState<PastChat[] | null>(null);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<Transcript | null>(null);
  const [openError, setOpenError] = useState("");
  // Supervisors and admins: the QA review panel beside the transcript, instead of the details.
  const [reviewing, setReviewing] = useState(false);
  const mounted = useMounted();

  useEffect(() => {
    let current = true;
    setError("");
    WrapUpApi.pastChats({ q, all: everyone, outcome, tag })
      .then((rows) => current && setList(rows))
      .catch((e: unknown) => current && setError(message(e)));
    return () => {
      current = false;
    };
  }, [q, everyone, outcome, tag, open]);

  useEffect(() => {
    let current = true;
    WrapUpApi.tags()
      .then((rows) => current && setTags(rows))
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, []);

  useEffect(() => {
    if (openId) void show(openId);
  }, [openId]);

  const show = async (id: string) => {
    setOpenError("");
    try {
      const t = await Api.transcript(id);
      if (mounted.current) setOpen(t);
    } catch (e) {
      if (mounted.current) setOpenError(message(e));
    }
  };

  if (open) {
    const conv = open.conversation;
    return (
      <section class="past" aria-labelledby="transcript-heading">
        <div class="view-head">
          <button
            type="button"
            onClick={() => {
              setOpen(null);
              setReviewing(false);
            }}
          >
            ← Back to past chats
          </button>
          <h2 id="transcript-heading">Chat with {customerName(conv)}</h2>
          <span class="muted">{formatDateTime(conv.created_at)}</span>
          {canSeeAll && conv.kind === "customer_chat" && (
            <button type="button" onClick={() => setReviewing(!reviewing)} aria-pressed={reviewing}>
              Review
            </button>
          )}
        </div>
        <div class="chat-panel transcript">
          <div class="chat-main">
            <EntryLog
              conversation={conv}
              entries={open.entries}
              me={me}
              label={`Transcript of the chat with ${customerName(conv)}`}
            />
          </div>
          {reviewing ? (
            <ReviewPanel conversationId={conv.id} ended={conv.status === "ended"} />
          ) : (
            <CustomerDetails conversation={conv} workgroupName={workgroupName(conv.workgroup_id)} />
          )}
        </div>
        {conv.kind === "customer_chat" && <WrapUp conversationId={conv.id} ended={conv.status === "ended"} />}
      </section>
    );
  }

  return (
    <section class="past" aria-labelledby="past-heading">
      <div class="view-head">
        <h2 id="past-heading">Past chats</h2>
        <div class="search-row">
          <label for="past-search">Search</label>
          <input
            id="past-search"
            type="search"
            value={query}
            maxLength={200}
            placeholder="Name, email, question or message text"
            onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          />
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
          <label for="past-outcome">Outcome</label>
          <select
            id="past-outcome"
            value={outcome}
            onChange={(e) => setOutcome((e.target as HTMLSelectElement).value as Outcome | "")}
          >
            <option value="">Any</option>
            {OUTCOMES.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
          <label for="past-tag">Tag</label>
          <select
            id="past-tag"
            value={tag === null ? "" : String(tag)}
            onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              setTag(v ? Number(v) : null);
            }}
          >
            <option value="">Any</option>
            {tags.map((t) => (
              <option key={t.id} value={String(t.id)}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {openError && (
        <p class="error" role="alert">
          {openError}
        </p>
      )}
      {list === null && !error && <p class="muted">Loading…</p>}
      {list !== null && list.length === 0 && (
        <p class="muted" role="status">
          {q.trim() || outcome || tag !== null ? "No chats match." : "No chats yet."}
        </p>
      )}
      {list !== null && list.length > 0 && (
        <ul class="past-list" aria-label="Past chats">
          {list.map(({ conversation: c, wrap_up: w }) => (
            <li key={c.id} data-testid="past-chat">
              <button type="button" class="past-item" onClick={() => show(c.id)}>
                <span class="past-name">{customerName(c)}</span>
                <span class="past-question">{c.metadata?.question ?? ""}</span>
                <span class="past-date">{formatDateTime(c.created_at)}</span>
                <span class={`status status-${c.status}`}>
                  {STATUS_LABEL[c.status] ?? c.status}
                </span>
                {w.outcome && (
                  <span class={`outcome outcome-${w.outcome}`} data-testid="past-outcome">
                    {outcomeLabel(w.outcome)}
                  </span>
                )}
                {w.tags.map((t) => (
                  <span key={t.id} class="tag-chip" data-testid="past-tag">
                    {t.name}
                  </span>
                ))}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function message(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
