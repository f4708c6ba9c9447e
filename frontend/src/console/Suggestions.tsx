// Beside the reply box: the `/` picker of canned responses (and the company's message
// templates), and the knowledge-base articles suggested for the chat. Whatever is picked is
// inserted into the reply box for editing; nothing here sends a message.

import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";

import "./workspace.css";

import { ArticleBody } from "../shared/ArticleBody";
import type { Entry } from "../shared/protocol";
import {
  WorkspaceApi,
  type Article,
  type ArticleSummary,
  type CannedSuggestion,
  type Rendered,
} from "./workspaceApi";

/** How long the picker waits after a key before it searches. */
export const SEARCH_DELAY_MS = 120;
const MAX_QUERY = 32;

export interface SlashQuery {
  /** Where the `/` is, and where the query ends (the caret). */
  start: number;
  end: number;
  query: string;
}

/** The `/word` the caret is at the end of, if any: a `/` at the start of the text or after a
 * space or line break, then up to 32 letters, digits, `-` or `_`. */
export function slashQuery(text: string, caret: number): SlashQuery | null {
  let i = caret;
  while (i > 0 && /[\p{L}\p{N}_-]/u.test(text[i - 1]) && caret - i < MAX_QUERY) i--;
  if (i === 0 || text[i - 1] !== "/") return null;
  const slash = i - 1;
  if (slash > 0 && !/\s/.test(text[slash - 1])) return null; // a URL, a date, "and/or"
  return { start: slash, end: caret, query: text.slice(i, caret) };
}

/** `text` with `[start, end)` replaced by `inserted`, and where the caret goes after it. */
export function spliceText(text: string, start: number, end: number, inserted: string): { text: string; caret: number } {
  return { text: text.slice(0, start) + inserted + text.slice(end), caret: start + inserted.length };
}

type Search = (query: string, conversationId: string) => Promise<CannedSuggestion[]>;
type Use = (conversationId: string, s: CannedSuggestion) => Promise<Rendered>;

export interface CannedPicker {
  open: boolean;
  /** Call on every input and caret move of the reply box. */
  update(text: string, caret: number): void;
  /** Call first in the reply box's keydown: true when the picker handled the key. */
  onKeyDown(e: KeyboardEvent): boolean;
  close(): void;
  /** ARIA for the reply box: it stays a textbox (named "Message"), which owns the list. */
  inputProps: JSX.HTMLAttributes<HTMLTextAreaElement>;
  view: JSX.Element | null;
}

const SCOPE_LABEL: Record<CannedSuggestion["scope"], string> = {
  workgroup: "Shared",
  personal: "Mine",
  company: "Company",
};

/** The `/` picker of a chat's reply box. `insert` replaces the `/query` with the response's
 * text for this chat (its placeholders filled in by the server) and says what had no value. */
export function useCannedPicker(
  conversationId: string,
  insert: (start: number, end: number, text: string, missing: string[]) => void,
  search: Search = (query, id) => WorkspaceApi.searchCanned(query, id),
  use: Use = (id, s) => WorkspaceApi.use(id, s),
): CannedPicker {
  const [slash, setSlash] = useState<SlashQuery | null>(null);
  const [items, setItems] = useState<CannedSuggestion[]>([]);
  const [loading, setLoading] = useState(false);
  const [active, setActive] = useState(0);
  const [error, setError] = useState("");
  const [dismissedAt, setDismissedAt] = useState<number | null>(null);
  const listId = `canned-${conversationId}`;
  const query = slash?.query ?? null;

  useEffect(() => {
    if (query === null) {
      setItems([]);
      return;
    }
    let live = true;
    setLoading(true);
    const timer = setTimeout(() => {
      search(query, conversationId).then(
        (found) => {
          if (!live) return;
          setItems(found);
          setActive(0);
          setError("");
          setLoading(false);
        },
        (e: unknown) => {
          if (!live) return;
          setItems([]);
          setError(e instanceof Error ? e.message : String(e));
          setLoading(false);
        },
      );
    }, SEARCH_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [query, conversationId]);

  const close = () => {
    if (slash) setDismissedAt(slash.start);
    setSlash(null);
  };

  const pick = async (s: CannedSuggestion) => {
    const range = slash;
    if (!range) return;
    setSlash(null);
    setDismissedAt(null);
    try {
      const rendered = await use(conversationId, s);
      insert(range.start, range.end, rendered.text, rendered.missing);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const update = (text: string, caret: number) => {
    const found = slashQuery(text, caret);
    // Escape closes the picker for this `/` until another one is typed.
    setSlash(found && found.start !== dismissedAt ? found : null);
    if (!found) setDismissedAt(null);
  };

  const onKeyDown = (e: KeyboardEvent): boolean => {
    if (!slash) return false;
    if (e.key === "Escape") {
      e.preventDefault();
      close();
      return true;
    }
    if (!items.length) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      setActive((a) => (a + step + items.length) % items.length);
      return true;
    }
    if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") {
      e.preventDefault();
      void pick(items[Math.min(active, items.length - 1)]);
      return true;
    }
    return false;
  };

  const open = slash !== null;
  const optionId = (i: number) => `${listId}-${i}`;
  const view = open ? (
    <div class="canned-picker" data-testid="canned-picker">
      <ul role="listbox" id={listId} aria-label="Canned responses">
        {items.map((s, i) => (
          <li
            key={`${s.kind}-${s.id}`}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            class={i === active ? "active" : ""}
            data-testid="canned-option"
            onMouseDown={(e) => {
              e.preventDefault(); // keep the focus in the reply box
              void pick(s);
            }}
            onMouseEnter={() => setActive(i)}
          >
            <span class="canned-shortcut">/{s.shortcut}</span> <span class="canned-title">{s.title}</span>{" "}
            <span class="tag">{SCOPE_LABEL[s.scope]}</span>
            <span class="canned-preview">{s.text}</span>
          </li>
        ))}
      </ul>
      {!loading && !items.length && !error && (
        <p class="muted canned-empty" role="status">
          Nothing found for “/{slash.query}”.
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="muted canned-help">↑↓ to choose, Enter or Tab to insert, Esc to close</p>
    </div>
  ) : error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;

  return {
    open,
    update,
    onKeyDown,
    close,
    view,
    inputProps: {
      "aria-autocomplete": "list",
      "aria-controls": open ? listId : undefined,
      "aria-activedescendant": open && items.length ? optionId(Math.min(active, items.length - 1)) : undefined,
    },
  };
}

/** A line telling the agent which placeholders had no value (they were left empty). */
export function MissingValues({ missing }: { missing: string[] }) {
  if (!missing.length) return null;
  return (
    <p class="muted" role="status" data-testid="canned-missing">
      No value for {missing.map((m) => `{${m}}`).join(", ")}: check the text before sending.
    </p>
  );
}

/** The link to a public article's page, for the customer. */
export function articleLink(a: Pick<ArticleSummary, "workgroup" | "id">, origin = location.origin): string {
  return `${origin}/help/${encodeURIComponent(a.workgroup)}/${a.id}`;
}

/** What "insert excerpt" puts into the reply box. */
export function articleExcerpt(a: Pick<ArticleSummary, "title" | "excerpt">): string {
  return `${a.title}: ${a.excerpt}`;
}

/** What the customer wrote: the number of their messages (the suggestions follow it). */
function visitorMessages(entries: Entry[]): number {
  return entries.filter((e) => e.kind === "message" && e.author === "visitor").length;
}

export function ArticleSuggestions({
  conversationId,
  entries,
  onInsert,
  load = WorkspaceApi.suggestions,
  loadArticle = WorkspaceApi.article,
}: {
  conversationId: string;
  entries: Entry[];
  onInsert: (text: string) => void;
  load?: (conversationId: string) => Promise<ArticleSummary[]>;
  loadArticle?: (id: number) => Promise<Article>;
}) {
  const [items, setItems] = useState<ArticleSummary[] | null>(null);
  const [error, setError] = useState("");
  const [reading, setReading] = useState<Article | null>(null);
  const count = useMemo(() => visitorMessages(entries), [entries]);
  const latest = useRef(0);

  useEffect(() => {
    const call = ++latest.current;
    load(conversationId).then(
      (found) => {
        if (call !== latest.current) return;
        setItems(Array.isArray(found) ? found : []);
        setError("");
      },
      (e: unknown) => call === latest.current && setError(e instanceof Error ? e.message : String(e)),
    );
  }, [conversationId, count]);

  return (
    <section class="kb-suggestions" aria-labelledby={`kb-${conversationId}`} data-testid="kb-suggestions">
      <h4 id={`kb-${conversationId}`}>Suggested articles</h4>
      {error && <p class="error">{error}</p>}
      {items !== null && !items.length && !error && <p class="muted">No article matches what the customer wrote.</p>}
      <ul>
        {(items ?? []).map((a) => (
          <li key={a.id} data-testid="kb-suggestion">
            <div>
              <strong>{a.title}</strong> {a.visibility === "internal" && <span class="tag">internal</span>}
            </div>
            <p class="muted kb-excerpt">{a.excerpt}</p>
            <div class="kb-actions">
              {a.visibility === "public" && (
                <button type="button" onClick={() => onInsert(articleLink(a))}>
                  Insert link
                </button>
              )}
              <button type="button" onClick={() => onInsert(articleExcerpt(a))}>
                Insert excerpt
              </button>
              <button
                type="button"
                aria-expanded={reading?.id === a.id}
                onClick={async () => {
                  if (reading?.id === a.id) return setReading(null);
                  try {
                    setReading(await loadArticle(a.id));
                  } catch (e) {
                    setError(e instanceof Error ? e.message : String(e));
                  }
                }}
              >
                {reading?.id === a.id ? "Hide" : "Read"}
              </button>
            </div>
            {reading?.id === a.id && <ArticleBody html={reading.html} />}
          </li>
        ))}
      </ul>
    </section>
  );
}
