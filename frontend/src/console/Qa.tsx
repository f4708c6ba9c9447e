// QA review and secret shoppers in the console (docs/protocol.md, "QA review and secret
// shoppers"). For supervisors and admins: search the transcripts of the workgroups they
// supervise, open a past chat with a review panel beside it, the QA report (table and CSV), and
// secret-shopper links; for admins, the scorecards. For everyone: "My reviews", an agent's own
// (never a shopper's). Everything people wrote is rendered as text.

import { useEffect, useMemo, useState } from "preact/hooks";

import { ApiError, type StaffMember, type Transcript } from "./api";
import { ArchiveApi, type ArchiveHit } from "./archiveApi";
import { dayStart, Marked } from "./Archive";
import { EntryLog } from "./EntryLog";
import { customerName, formatDateTime } from "./format";
import { queryWords, snippetParts } from "./highlight";
import {
  previewScore,
  QaApi,
  SEARCH_PAGE,
  type Category,
  type NewShopperLink,
  type QaReport,
  type Review,
  type Scorecard,
  type ShopperLink,
  type SupervisedWorkgroup,
  type TranscriptQuery,
} from "./qaApi";
import "./qa.css";

type Tab = "search" | "report" | "shoppers" | "scorecards";

function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export function QaScreen({ staff, isAdmin }: { staff: StaffMember[]; isAdmin: boolean }) {
  const [tab, setTab] = useState<Tab>("search");
  const [workgroups, setWorkgroups] = useState<SupervisedWorkgroup[]>([]);
  useEffect(() => {
    QaApi.workgroups().then(setWorkgroups, () => undefined);
  }, []);
  const tabs: [Tab, string][] = [
    ["search", "Search and review"],
    ["report", "QA report"],
    ["shoppers", "Secret shoppers"],
  ];
  if (isAdmin) tabs.push(["scorecards", "Scorecards"]);
  return (
    <section class="admin-section qa" aria-labelledby="qa-heading">
      <h2 id="qa-heading">QA</h2>
      <div class="qa-tabs" role="tablist">
        {tabs.map(([id, label]) => (
          <button
            key={id}
            type="button"
            role="tab"
            aria-selected={tab === id}
            class={tab === id ? "current" : ""}
            onClick={() => setTab(id)}
          >
            {label}
          </button>
        ))}
      </div>
      {tab === "search" && <TranscriptSearch staff={staff} workgroups={workgroups} />}
      {tab === "report" && <QaReportView workgroups={workgroups} />}
      {tab === "shoppers" && <ShopperLinks workgroups={workgroups} />}
      {tab === "scorecards" && isAdmin && <Scorecards />}
    </section>
  );
}

interface SearchForm {
  words: string;
  workgroup: string;
  agent: string;
  outcome: string;
  tag: string;
  ratingMin: string;
  ratingMax: string;
  shopper: string;
  from: string;
  to: string;
}

const EMPTY: SearchForm = {
  words: "",
  workgroup: "",
  agent: "",
  outcome: "",
  tag: "",
  ratingMin: "",
  ratingMax: "",
  shopper: "",
  from: "",
  to: "",
};

/** The search body of the form, or why it cannot be searched. */
export function toTranscriptQuery(f: SearchForm): { query: TranscriptQuery } | { error: string } {
  const q: TranscriptQuery = {};
  const words = f.words.trim();
  if (words) {
    if (words.length > 200) return { error: "Search for at most 200 characters of words." };
    q.words = words;
  }
  if (f.workgroup) q.workgroups = [f.workgroup];
  if (f.agent) q.agent_id = Number(f.agent);
  if (f.outcome) q.outcome = f.outcome as TranscriptQuery["outcome"];
  if (f.tag.trim()) q.tag = f.tag.trim();
  if (f.ratingMin) q.rating_min = Number(f.ratingMin);
  if (f.ratingMax) q.rating_max = Number(f.ratingMax);
  if (f.shopper) q.shopper = f.shopper === "yes";
  if (f.from) q.since = dayStart(f.from) ?? undefined;
  if (f.to) q.until = dayStart(f.to, 1) ?? undefined;
  if (q.since && q.until && q.since >= q.until) return { error: "The last day is before the first." };
  return { query: q };
}

function TranscriptSearch({ staff, workgroups }: { staff: StaffMember[]; workgroups: SupervisedWorkgroup[] }) {
  const [form, setForm] = useState<SearchForm>(EMPTY);
  const [query, setQuery] = useState<TranscriptQuery | null>(null);
  const [hits, setHits] = useState<ArchiveHit[]>([]);
  const [more, setMore] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const words = useMemo(() => queryWords(query?.words ?? ""), [query]);

  const run = async (q: TranscriptQuery, offset: number) => {
    setBusy(true);
    setError("");
    try {
      const page = await QaApi.search(q, offset);
      setHits((old) => (offset === 0 ? page : [...old, ...page]));
      setMore(page.length === SEARCH_PAGE);
    } catch (e) {
      setError(`Could not search: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const set = (field: keyof SearchForm) => (e: Event) =>
    setForm((f) => ({ ...f, [field]: (e.target as HTMLInputElement | HTMLSelectElement).value }));
  const submit = (e: Event) => {
    e.preventDefault();
    const built = toTranscriptQuery(form);
    if ("error" in built) {
      setError(built.error);
      return;
    }
    setQuery(built.query);
    setOpen(null);
    void run(built.query, 0);
  };
  // One hit per chat: the newest line found in it.
  const chats = hits.filter((h, i) => hits.findIndex((x) => x.conversation_id === h.conversation_id) === i);
  const agents = staff;

  return (
    <div>
      <p class="archive-audit-note" role="note">
        Every search is recorded in the audit log.
      </p>
      <form class="filters" role="search" aria-label="Search transcripts" onSubmit={submit}>
        <label>
          Words
          <input type="search" value={form.words} maxLength={200} onInput={set("words")} />
        </label>
        <label>
          Workgroup
          <select value={form.workgroup} onChange={set("workgroup")}>
            <option value="">Every one I supervise</option>
            {workgroups.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Agent
          <select value={form.agent} onChange={set("agent")}>
            <option value="">Anyone</option>
            {agents.map((s) => (
              <option key={s.user_id} value={String(s.user_id)}>
                {s.display_name || s.username}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome
          <select value={form.outcome} onChange={set("outcome")}>
            <option value="">Any</option>
            <option value="resolved">Resolved</option>
            <option value="escalated">Escalated</option>
            <option value="follow_up">Needs follow-up</option>
          </select>
        </label>
        <label>
          Tag
          <input value={form.tag} maxLength={64} onInput={set("tag")} />
        </label>
        <label>
          Rating from
          <select value={form.ratingMin} onChange={set("ratingMin")}>
            <option value="">-</option>
            {[1, 2, 3, 4, 5].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <label>
          to
          <select value={form.ratingMax} onChange={set("ratingMax")}>
            <option value="">-</option>
            {[1, 2, 3, 4, 5].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <label>
          Secret shoppers
          <select value={form.shopper} onChange={set("shopper")}>
            <option value="">Included</option>
            <option value="yes">Only</option>
            <option value="no">Left out</option>
          </select>
        </label>
        <label>
          From
          <input type="date" value={form.from} onInput={set("from")} />
        </label>
        <label>
          To
          <input type="date" value={form.to} onInput={set("to")} />
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
      {open ? (
        <ReviewBeside conversationId={open} onClose={() => setOpen(null)} />
      ) : (
        query && (
          <>
            {!busy && chats.length === 0 && <p class="muted">Nothing found.</p>}
            <ul class="archive-hits" aria-label="Chats found">
              {chats.map((h) => (
                <li key={h.conversation_id} class="archive-hit" data-testid="qa-hit" data-conversation={h.conversation_id}>
                  <div class="meta">
                    <time dateTime={h.created_at}>{formatDateTime(h.created_at)}</time>
                    <span class="muted">chat {h.conversation_id.slice(0, 8)}…</span>
                  </div>
                  <p class="snippet">
                    <Marked parts={snippetParts(h.text, words)} />
                  </p>
                  <button type="button" onClick={() => setOpen(h.conversation_id)}>
                    Review
                  </button>
                </li>
              ))}
            </ul>
            {more && (
              <button type="button" disabled={busy} onClick={() => void run(query, hits.length)}>
                More results
              </button>
            )}
          </>
        )
      )}
    </div>
  );
}

/** A past chat with the review panel beside it. */
export function ReviewBeside({ conversationId, onClose }: { conversationId: string; onClose: () => void }) {
  const [transcript, setTranscript] = useState<Transcript | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let live = true;
    ArchiveApi.read(conversationId).then(
      (t) => live && setTranscript(t),
      (e: unknown) => live && setError(`Could not open the chat: ${errorText(e)}`),
    );
    return () => {
      live = false;
    };
  }, [conversationId]);
  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!transcript) return <p class="muted">Loading…</p>;
  const c = transcript.conversation;
  return (
    <div class="qa-beside" data-testid="qa-review-beside" data-conversation={c.id}>
      <section class="qa-transcript" aria-label="Transcript">
        <div class="im-head">
          <h3>Chat with {customerName(c)}</h3>
          <button type="button" class="subtle" onClick={onClose}>
            Close
          </button>
        </div>
        <p class="muted">
          Started {formatDateTime(c.created_at)}
          {c.ended_at ? `, ended ${formatDateTime(c.ended_at)}` : ""}.
        </p>
        <EntryLog conversation={c} entries={transcript.entries} label="Transcript under review" />
      </section>
      <ReviewPanel conversationId={c.id} ended={c.status === "ended"} />
    </div>
  );
}

/** A chat's reviews and the form for a new one (beside its transcript). */
export function ReviewPanel({ conversationId, ended }: { conversationId: string; ended: boolean }) {
  const [reviews, setReviews] = useState<Review[]>([]);
  const [cards, setCards] = useState<Scorecard[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let live = true;
    Promise.all([QaApi.chatReviews(conversationId), QaApi.scorecards()]).then(
      ([r, c]) => {
        if (!live) return;
        setReviews(r);
        setCards(c.filter((x) => x.purpose === "review" && x.active));
      },
      (e: unknown) => live && setError(`Could not read the reviews: ${errorText(e)}`),
    );
    return () => {
      live = false;
    };
  }, [conversationId]);
  return (
    <section class="qa-panel" aria-label="Review" data-testid="qa-panel">
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {reviews.length > 0 && (
        <>
          <h3>Reviews</h3>
          <ul class="qa-reviews">
            {reviews.map((r) => (
              <li key={r.id} data-testid="qa-review" data-shopper={r.shopper ? "true" : "false"}>
                <strong data-testid="qa-review-score">{r.score}%</strong> {r.shopper ? "secret shopper" : r.reviewer_name}, of{" "}
                {r.agent_name}
                {r.failed_critical.length > 0 && <span class="tag"> critical: {r.failed_critical.join(", ")}</span>}
                {r.comment && <p>{r.comment}</p>}
              </li>
            ))}
          </ul>
        </>
      )}
      {cards === null ? null : !ended ? (
        <p class="muted">Review this chat once it has ended.</p>
      ) : cards.length ? (
        <ReviewForm cards={cards} conversationId={conversationId} onSaved={(r) => setReviews((old) => [...old, r])} />
      ) : (
        <p class="muted">No scorecard in use: an admin defines them under QA, Scorecards.</p>
      )}
    </section>
  );
}

function ReviewForm({
  cards,
  conversationId,
  onSaved,
}: {
  cards: Scorecard[];
  conversationId: string;
  onSaved: (r: Review) => void;
}) {
  const [cardId, setCardId] = useState<number>(cards[0].id ?? 0);
  const card = cards.find((c) => c.id === cardId) ?? cards[0];
  const [scores, setScores] = useState<Record<string, number | undefined>>({});
  const [notes, setNotes] = useState<Record<string, string>>({});
  const [comment, setComment] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const preview = previewScore(card, scores);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (preview === null) {
      setError("Score every category.");
      return;
    }
    setBusy(true);
    setError("");
    try {
      const comments = Object.fromEntries(Object.entries(notes).filter(([, v]) => v.trim()));
      onSaved(
        await QaApi.review(conversationId, {
          scorecard_id: card.id ?? 0,
          scores: scores as Record<string, number>,
          comments,
          comment,
        }),
      );
      setScores({});
      setNotes({});
      setComment("");
    } catch (err) {
      setError(`Could not save the review: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="qa-form" aria-label="New review" onSubmit={submit}>
      <h3>New review</h3>
      {cards.length > 1 && (
        <label>
          Scorecard
          <select value={String(cardId)} onChange={(e) => setCardId(Number((e.target as HTMLSelectElement).value))}>
            {cards.map((c) => (
              <option key={c.id} value={String(c.id)}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {card.categories.map((cat) => (
        <fieldset key={cat.key} class="qa-category">
          <legend>
            {cat.name} <span class="muted">(0-{cat.scale}, weight {cat.weight}{cat.critical ? ", critical" : ""})</span>
          </legend>
          <input
            type="number"
            min={0}
            max={cat.scale}
            step={1}
            aria-label={`${cat.name} score`}
            value={scores[cat.key] ?? ""}
            onInput={(e) => {
              const v = (e.target as HTMLInputElement).value;
              setScores((s) => ({ ...s, [cat.key]: v === "" ? undefined : Number(v) }));
            }}
          />
          <input
            aria-label={`${cat.name} comment`}
            placeholder="Comment"
            maxLength={500}
            value={notes[cat.key] ?? ""}
            onInput={(e) => setNotes((n) => ({ ...n, [cat.key]: (e.target as HTMLInputElement).value }))}
          />
        </fieldset>
      ))}
      <label>
        Comment
        <textarea maxLength={2000} rows={3} value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
      </label>
      <p role="status" data-testid="qa-preview">
        {preview === null ? "Score every category." : `Score: ${preview}%`}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="primary" disabled={busy}>
        Save review
      </button>
    </form>
  );
}

function isoDay(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

function QaReportView({ workgroups }: { workgroups: SupervisedWorkgroup[] }) {
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 29 * 86400_000)));
  const [to, setTo] = useState(isoDay(today));
  const [workgroup, setWorkgroup] = useState("");
  const [report, setReport] = useState<QaReport | null>(null);
  const [error, setError] = useState("");
  const range = () => {
    const since = dayStart(from);
    const until = dayStart(to, 1);
    return since && until ? { since, until } : null;
  };
  const load = async (e?: Event) => {
    e?.preventDefault();
    const r = range();
    if (!r) {
      setError("Pick the first and last day.");
      return;
    }
    setError("");
    try {
      setReport(await QaApi.report(r.since, r.until, workgroup || undefined));
    } catch (err) {
      setError(`Could not read the report: ${errorText(err)}`);
    }
  };
  useEffect(() => {
    void load();
  }, []);
  const r = range();
  return (
    <div>
      <form class="filters" aria-label="QA report range" onSubmit={load}>
        <label>
          From
          <input type="date" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          To
          <input type="date" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Workgroup
          <select value={workgroup} onChange={(e) => setWorkgroup((e.target as HTMLSelectElement).value)}>
            <option value="">Every one I supervise</option>
            {workgroups.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary">
          Show
        </button>
        {r && (
          <a href={QaApi.reportCsvUrl(r.since, r.until, workgroup || undefined)} download>
            Download CSV
          </a>
        )}
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {report && (
        <>
          <table class="qa-table" data-testid="qa-report-agents">
            <caption>Per agent</caption>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Reviews</th>
                <th scope="col">QA score</th>
                <th scope="col">Shopper scores</th>
                <th scope="col">Shopper average</th>
              </tr>
            </thead>
            <tbody>
              {report.agents.map((a) => (
                <tr key={a.agent_id ?? a.agent_name}>
                  <th scope="row">{a.agent_name || "(deleted)"}</th>
                  <td>{a.reviews.reviews}</td>
                  <td>{a.reviews.reviews ? `${a.reviews.score}%` : "-"}</td>
                  <td>{a.shoppers?.reviews ?? 0}</td>
                  <td data-testid="qa-shopper-average">{a.shoppers ? `${a.shoppers.score}%` : "-"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table class="qa-table" data-testid="qa-report-categories">
            <caption>Per category</caption>
            <thead>
              <tr>
                <th scope="col">Category</th>
                <th scope="col">Source</th>
                <th scope="col">Reviews</th>
                <th scope="col">Average</th>
              </tr>
            </thead>
            <tbody>
              {report.categories.map((c) => (
                <tr key={`${c.shopper}:${c.key}`}>
                  <th scope="row">{c.name}</th>
                  <td>{c.shopper ? "secret shoppers" : "reviews"}</td>
                  <td>{c.reviews}</td>
                  <td>{c.percent}%</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function ShopperLinks({ workgroups }: { workgroups: SupervisedWorkgroup[] }) {
  const [links, setLinks] = useState<ShopperLink[]>([]);
  const [workgroup, setWorkgroup] = useState("");
  const [hours, setHours] = useState("24");
  const [note, setNote] = useState("");
  const [made, setMade] = useState<NewShopperLink | null>(null);
  const [error, setError] = useState("");
  const reload = () => QaApi.links().then(setLinks, (e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void reload();
  }, []);
  const slug = workgroup || workgroups[0]?.slug || "";
  const create = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      setMade(await QaApi.createLink(slug, Number(hours) || null, note));
      setNote("");
      void reload();
    } catch (err) {
      setError(`Could not make the link: ${errorText(err)}`);
    }
  };
  return (
    <div>
      <p class="muted">
        A link opens one chat as an ordinary customer; the agent cannot tell. The chat is left out of every customer
        number, and the shopper scores it on the checklist when it ends.
      </p>
      <form class="filters" aria-label="New shopper link" onSubmit={create}>
        <label>
          Workgroup
          <select value={slug} onChange={(e) => setWorkgroup((e.target as HTMLSelectElement).value)}>
            {workgroups.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Hours valid
          <input type="number" min={1} max={168} value={hours} onInput={(e) => setHours((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Note
          <input maxLength={200} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary" disabled={!slug}>
          Make a link
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {made && (
        <p class="notice" role="status">
          The link (shown once): <input readOnly class="qa-link" data-testid="shopper-url" value={`${location.origin}${made.url}`} />
        </p>
      )}
      <table class="qa-table">
        <caption>Links</caption>
        <thead>
          <tr>
            <th scope="col">Workgroup</th>
            <th scope="col">Note</th>
            <th scope="col">Expires</th>
            <th scope="col">Used</th>
            <th scope="col">Scored</th>
          </tr>
        </thead>
        <tbody>
          {links.map((l) => (
            <tr key={l.id}>
              <td>{l.workgroup}</td>
              <td>{l.note}</td>
              <td>{formatDateTime(l.expires_at)}</td>
              <td>{l.used_at ? formatDateTime(l.used_at) : "-"}</td>
              <td>{l.scored_at ? formatDateTime(l.scored_at) : "-"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const NEW_CATEGORY: Category = { key: "", name: "", weight: 1, scale: 5, critical: false };

function Scorecards() {
  const [cards, setCards] = useState<Scorecard[]>([]);
  const [name, setName] = useState("");
  const [purpose, setPurpose] = useState<"review" | "shopper">("review");
  const [cats, setCats] = useState<Category[]>([{ ...NEW_CATEGORY }]);
  const [error, setError] = useState("");
  const reload = () => QaApi.scorecards().then(setCards, (e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void reload();
  }, []);
  const setCat = (i: number, patch: Partial<Category>) => setCats((cs) => cs.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  const save = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      await QaApi.createScorecard({
        name,
        purpose,
        active: true,
        categories: cats.map((c) => (purpose === "shopper" ? { ...c, scale: 1 } : c)),
      });
      setName("");
      setCats([{ ...NEW_CATEGORY }]);
      void reload();
    } catch (err) {
      setError(`Could not save the scorecard: ${errorText(err)}`);
    }
  };
  const toggle = async (card: Scorecard) => {
    if (card.id === null) return;
    try {
      await QaApi.updateScorecard(card.id, { ...card, active: !card.active });
      void reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <div>
      <ul class="qa-cards">
        {cards.map((c) => (
          <li key={c.id} data-testid="qa-scorecard">
            <strong>{c.name}</strong> <span class="tag">{c.purpose}</span>
            {!c.active && <span class="tag">not in use</span>}{" "}
            <span class="muted">
              {c.categories.map((x) => `${x.name} (×${x.weight}, 0-${x.scale}${x.critical ? ", critical" : ""})`).join("; ")}
            </span>{" "}
            <button type="button" class="subtle" onClick={() => void toggle(c)}>
              {c.active ? "Stop using" : "Use again"}
            </button>
          </li>
        ))}
      </ul>
      <form class="qa-form" aria-label="New scorecard" onSubmit={save}>
        <h3>New scorecard</h3>
        <label>
          Name
          <input required maxLength={80} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          For
          <select value={purpose} onChange={(e) => setPurpose((e.target as HTMLSelectElement).value as "review" | "shopper")}>
            <option value="review">Supervisors' reviews</option>
            <option value="shopper">Secret shoppers' checklist (yes/no)</option>
          </select>
        </label>
        {cats.map((c, i) => (
          <fieldset key={i} class="qa-category">
            <legend>Category {i + 1}</legend>
            <input aria-label="Key" placeholder="key" pattern="[a-z][a-z0-9_]{0,31}" required value={c.key} onInput={(e) => setCat(i, { key: (e.target as HTMLInputElement).value })} />
            <input aria-label="Name" placeholder="Name" required maxLength={80} value={c.name} onInput={(e) => setCat(i, { name: (e.target as HTMLInputElement).value })} />
            <label>
              Weight
              <input type="number" min={1} max={100} value={c.weight} onInput={(e) => setCat(i, { weight: Number((e.target as HTMLInputElement).value) })} />
            </label>
            {purpose === "review" && (
              <label>
                Scale 0-
                <input type="number" min={1} max={10} value={c.scale} onInput={(e) => setCat(i, { scale: Number((e.target as HTMLInputElement).value) })} />
              </label>
            )}
            <label>
              <input type="checkbox" checked={c.critical} onChange={(e) => setCat(i, { critical: (e.target as HTMLInputElement).checked })} /> Critical
            </label>
          </fieldset>
        ))}
        <button type="button" onClick={() => setCats((cs) => [...cs, { ...NEW_CATEGORY }])} disabled={cats.length >= 30}>
          Add a category
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary">
          Save scorecard
        </button>
      </form>
    </div>
  );
}

/** An agent's own reviews (never a secret shopper's). */
export function MyReviews() {
  const [reviews, setReviews] = useState<Review[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    QaApi.myReviews().then(setReviews, (e: unknown) => setError(errorText(e)));
  }, []);
  return (
    <section class="admin-section" aria-labelledby="my-reviews-heading">
      <h2 id="my-reviews-heading">My reviews</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {reviews && reviews.length === 0 && <p class="muted">No reviews yet.</p>}
      <ul class="qa-reviews">
        {(reviews ?? []).map((r) => (
          <li key={r.id} data-testid="my-review">
            <strong>{r.score}%</strong> on {r.scorecard.name}, by {r.reviewer_name}, {formatDateTime(r.created_at)}
            {r.failed_critical.length > 0 && <span class="tag"> critical: {r.failed_critical.join(", ")}</span>}
            <ul>
              {r.scorecard.categories.map((c) => (
                <li key={c.key}>
                  {c.name}: {r.scores[c.key]} / {c.scale}
                  {r.comments[c.key] ? `: ${r.comments[c.key]}` : ""}
                </li>
              ))}
            </ul>
            {r.comment && <p>{r.comment}</p>}
          </li>
        ))}
      </ul>
    </section>
  );
}
