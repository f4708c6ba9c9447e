// The archive for supervisors and compliance readers (docs/protocol.md, "The archive"): search
// by words, person, kind and dates (`POST /archive/search`), hits with their words marked (built
// from offsets, never HTML), a conversation opened read-only (`GET /archive/conversations/{id}`,
// an audited read), and an export of the result with its progress (`POST /archive/exports`,
// then `GET /archive/exports/{id}` polled while it runs) and its downloads.

import { useEffect, useMemo, useState } from "preact/hooks";

import { ApiError, type StaffMember, type Transcript } from "./api";
import {
  ARCHIVE_KINDS,
  ArchiveApi,
  kindLabel,
  NO_RIGHTS,
  SEARCH_PAGE,
  type ArchiveExport,
  type ArchiveHit,
  type ArchiveKind,
  type ArchiveQuery,
  type ArchiveRights,
} from "./archiveApi";
import { HistoryRemovedLine } from "./ArchiveNotice";
import "./archive.css";
import { EntryLog } from "./EntryLog";
import { customerName, formatDateTime } from "./format";
import { queryWords, snippetParts, type Part } from "./highlight";
import { imTitle } from "./im";
import { message as errorText } from "./PastChats";

/** What this staff member may do with the archive; nothing until the server said. */
export function useArchiveRights(): ArchiveRights {
  const [rights, setRights] = useState<ArchiveRights>(NO_RIGHTS);
  useEffect(() => {
    let live = true;
    ArchiveApi.me().then(
      (r) => live && setRights(r),
      () => undefined, // no archive screens; the rest of the console works
    );
    return () => {
      live = false;
    };
  }, []);
  return rights;
}

/** The filters as typed. */
export interface Filters {
  words: string;
  kind: "" | ArchiveKind;
  userId: string;
  customerSub: string;
  customerEmail: string;
  /** `YYYY-MM-DD` (an `<input type="date">`), in the browser's time zone; both inclusive. */
  from: string;
  to: string;
}

export const NO_FILTERS: Filters = { words: "", kind: "", userId: "", customerSub: "", customerEmail: "", from: "", to: "" };

/** Local midnight of `day` (+ `plus` days), as an ISO timestamp with its zone (UTC). */
export function dayStart(day: string, plus = 0): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plus);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The search body of `f`, or why it cannot be searched. */
export function toQuery(f: Filters): { query: ArchiveQuery } | { error: string } {
  const q: ArchiveQuery = {};
  const words = f.words.trim();
  if (words) {
    if (words.length > 200) return { error: "Search for at most 200 characters of words." };
    if (!queryWords(words).length) return { error: "Search for words (letters or digits)." };
    q.words = words;
  }
  if (f.kind) q.kind = f.kind;
  if (f.userId) q.user_id = Number(f.userId);
  if (f.customerSub.trim()) q.customer_sub = f.customerSub.trim();
  if (f.customerEmail.trim()) q.customer_email = f.customerEmail.trim();
  if (f.from) {
    const since = dayStart(f.from);
    if (!since) return { error: "The first day is not a date." };
    q.since = since;
  }
  if (f.to) {
    const until = dayStart(f.to, 1); // the whole last day
    if (!until) return { error: "The last day is not a date." };
    q.until = until;
  }
  if (q.since && q.until && q.since >= q.until) return { error: "The last day is before the first." };
  return { query: q };
}

export function Marked({ parts }: { parts: Part[] }) {
  return <>{parts.map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : p.text))}</>;
}

function authorName(hit: ArchiveHit, staff: StaffMember[]): string {
  if (!hit.author) return "System";
  if (hit.author === "visitor") return "Customer";
  const id = Number(hit.author.startsWith("user:") ? hit.author.slice(5) : NaN);
  const s = staff.find((x) => x.user_id === id);
  return s ? s.display_name || s.username : hit.author;
}

function titleOf(t: Transcript): string {
  const c = t.conversation;
  if (c.kind === "customer_chat") return `Chat with ${customerName(c)}`;
  return imTitle(c, "");
}

export function ArchiveSearch({ staff, rights }: { staff: StaffMember[]; rights: ArchiveRights }) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [query, setQuery] = useState<ArchiveQuery | null>(null);
  const [hits, setHits] = useState<ArchiveHit[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<Transcript | null>(null);
  const [openError, setOpenError] = useState("");
  const words = useMemo(() => queryWords(query?.words ?? ""), [query]);

  const search = async (q: ArchiveQuery, offset: number) => {
    setBusy(true);
    setError("");
    try {
      const page = await ArchiveApi.search(q, offset, SEARCH_PAGE);
      setHits((old) => (offset === 0 ? page : [...old, ...page]));
      setMore(page.length === SEARCH_PAGE);
    } catch (e) {
      setError(`Could not search the archive: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const submit = () => {
    const built = toQuery(draft);
    if ("error" in built) {
      setError(built.error);
      return;
    }
    setQuery(built.query);
    setOpen(null);
    void search(built.query, 0);
  };
  const show = async (id: string) => {
    setOpenError("");
    try {
      setOpen(await ArchiveApi.read(id));
    } catch (e) {
      setOpen(null);
      setOpenError(`Could not open the conversation: ${errorText(e)}`);
    }
  };
  const set = (field: keyof Filters) => (e: Event) =>
    setDraft((d) => ({ ...d, [field]: (e.target as HTMLInputElement | HTMLSelectElement).value }));
  const people = [...staff].sort((a, b) => (a.display_name || a.username).localeCompare(b.display_name || b.username));

  return (
    <section class="admin-section" aria-labelledby="archive-heading">
      <h2 id="archive-heading">Archive</h2>
      <p class="archive-audit-note" role="note">
        Every search, every conversation opened and every export is recorded in the audit log
        {rights.compliance ? ", opening a conversation you are not a member of as a compliance read" : ""}.
      </p>
      <form
        class="filters"
        role="search"
        aria-label="Search the archive"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label>
          Words
          <input type="search" value={draft.words} maxLength={200} onInput={set("words")} />
        </label>
        <label>
          Kind
          <select value={draft.kind} onChange={set("kind")}>
            <option value="">Any kind</option>
            {ARCHIVE_KINDS.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Staff member
          <select value={draft.userId} onChange={set("userId")}>
            <option value="">Anyone</option>
            {people.map((s) => (
              <option key={s.user_id} value={String(s.user_id)}>
                {s.display_name || s.username} ({s.username})
              </option>
            ))}
          </select>
        </label>
        <label>
          Customer id
          <input value={draft.customerSub} maxLength={255} onInput={set("customerSub")} />
        </label>
        <label>
          Customer email
          <input type="email" value={draft.customerEmail} maxLength={254} onInput={set("customerEmail")} />
        </label>
        <label>
          From
          <input type="date" value={draft.from} onInput={set("from")} />
        </label>
        <label>
          To
          <input type="date" value={draft.to} onInput={set("to")} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Search
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {query && (
        <>
          <ArchiveExportPanel query={query} />
          <h3>
            Results <span class="muted">({hits.length}{more ? "+" : ""})</span>
          </h3>
          {!busy && hits.length === 0 && (
            <p class="muted" data-testid="archive-empty">
              Nothing found.
            </p>
          )}
          <ul class="archive-hits" aria-label="Results">
            {hits.map((h) => (
              <li
                key={`${h.conversation_id}:${h.seq}`}
                class="archive-hit"
                data-testid="archive-hit"
                data-conversation={h.conversation_id}
                data-seq={h.seq}
              >
                <div class="meta">
                  <span class="tag">{kindLabel(h.kind)}</span>
                  <span class="who">{authorName(h, staff)}</span>
                  {h.entry_kind === "note" && <span>private note</span>}
                  <time dateTime={h.created_at}>{formatDateTime(h.created_at)}</time>
                  <span class="muted">in {h.conversation_id.slice(0, 8)}…</span>
                </div>
                <p class="snippet" data-testid="archive-snippet">
                  <Marked parts={snippetParts(h.text, words)} />
                </p>
                <button
                  type="button"
                  class="link"
                  aria-label={`Open conversation ${h.conversation_id.slice(0, 8)} read-only`}
                  onClick={() => void show(h.conversation_id)}
                >
                  Open conversation
                </button>
              </li>
            ))}
          </ul>
          {more && (
            <button type="button" disabled={busy} onClick={() => void search(query, hits.length)}>
              More results
            </button>
          )}
        </>
      )}
      {openError && (
        <p class="error" role="alert">
          {openError}
        </p>
      )}
      {open && <ArchiveReader transcript={open} onClose={() => setOpen(null)} />}
    </section>
  );
}

/** A conversation of the archive, read-only; opening it was an audited read. */
function ArchiveReader({ transcript, onClose }: { transcript: Transcript; onClose: () => void }) {
  const c = transcript.conversation;
  const title = titleOf(transcript);
  return (
    <section class="archive-reader" aria-labelledby="archive-reader-title" data-testid="archive-reader" data-conversation={c.id}>
      <div class="im-head">
        <h3 id="archive-reader-title">
          {title} <span class="tag">{kindLabel(c.kind)}</span> <span class="tag">read-only</span>
        </h3>
        <button type="button" class="subtle" onClick={onClose}>
          Close
        </button>
      </div>
      <p class="archive-audit-note" role="note" data-testid="archive-read-audited">
        This is an audited read: the audit log records that you opened this conversation, and when
        (a DM or room you are not a member of as a compliance read).
      </p>
      <p class="muted">
        Started {formatDateTime(c.created_at)}
        {c.ended_at ? `, ended ${formatDateTime(c.ended_at)}` : ""}.
      </p>
      {(c.history_starts_at_seq ?? 1) > 1 && <HistoryRemovedLine />}
      <EntryLog conversation={c} entries={transcript.entries} label={`Archived conversation: ${title}`} />
    </section>
  );
}

/** How long to wait before the next poll, after `failures` failed polls in a row. */
export function pollDelay(baseMs: number, failures: number): number {
  return baseMs * Math.min(2 ** failures, 10);
}

/** Export the search result, with its progress while the server makes it, then downloads. */
export function ArchiveExportPanel({ query, pollMs = 1000 }: { query: ArchiveQuery; pollMs?: number }) {
  const [job, setJob] = useState<ArchiveExport | null>(null);
  const [error, setError] = useState("");
  const [failures, setFailures] = useState(0);
  const [busy, setBusy] = useState(false);

  // Poll while it runs; a new state (or a failed poll) schedules the next one. Unmounted: stop.
  useEffect(() => {
    if (!job || job.state !== "running") return;
    let live = true;
    const timer = setTimeout(() => {
      ArchiveApi.exportState(job.id).then(
        (next) => {
          if (!live) return;
          setError("");
          setFailures(0);
          setJob(next);
        },
        (e: unknown) => {
          if (!live) return;
          if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429) {
            setError(`The export is gone: ${errorText(e)}`);
            setJob(null);
            return;
          }
          setError(`Could not read the export's progress (trying again): ${errorText(e)}`);
          setFailures((n) => n + 1);
        },
      );
    }, pollDelay(pollMs, failures));
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [job, failures, pollMs]);

  const start = async () => {
    setBusy(true);
    setError("");
    setFailures(0);
    try {
      setJob(await ArchiveApi.startExport(query));
    } catch (e) {
      setError(`Could not start the export: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const running = job?.state === "running";
  const status = !job
    ? ""
    : job.state === "done"
      ? `Export ready: ${job.total} conversation${job.total === 1 ? "" : "s"}.`
      : job.state === "running"
        ? job.total
          ? `Exporting… ${job.done} of ${job.total} conversations (${job.percent}%)`
          : "Exporting… counting the conversations"
        : "";

  return (
    <div class="archive-export" data-testid="archive-export" data-state={job?.state ?? "none"}>
      <button type="button" onClick={() => void start()} disabled={busy || running}>
        Export these results
      </button>{" "}
      <span class="muted">JSON lines and a readable HTML transcript per conversation (at most 2,000).</span>
      {job && job.state !== "failed" && (
        <>
          <progress
            max={100}
            value={job.percent}
            aria-label="Export progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={job.percent}
            aria-valuetext={`${job.percent}%${job.total ? `, ${job.done} of ${job.total} conversations` : ""}`}
            data-testid="export-progress"
          />
          <p role="status" data-testid="export-status">
            {status}
          </p>
        </>
      )}
      {job?.state === "failed" && (
        <p class="error" role="alert" data-testid="export-failed">
          The export failed{job.error ? ` (${job.error})` : ""}. Start it again.
        </p>
      )}
      {job?.state === "done" && (
        <p class="archive-downloads">
          <a href={ArchiveApi.downloadUrl(job.id, "jsonl")} download data-testid="export-download-jsonl">
            Download JSON lines
          </a>
          <a href={ArchiveApi.downloadUrl(job.id, "html")} download data-testid="export-download-html">
            Download HTML transcripts (zip)
          </a>
          <span class="muted">Each download is recorded in the audit log.</span>
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
