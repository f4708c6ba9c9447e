// The widget's help search: the workgroup's public knowledge-base articles, before a chat and
// while waiting in the queue, so that a customer may find the answer themselves. "This
// answered my question" counts it and, for a customer in the queue, leaves it.

import { useEffect, useRef, useState } from "preact/hooks";

import { ArticleBody } from "../shared/ArticleBody";
import "./help.css";

export interface PublicArticle {
  id: number;
  title: string;
  category: string;
  excerpt: string;
  html?: string;
}

const SEARCH_DELAY_MS = 250;
const api = (path: string) => `/api/v1${path}`;

export function HelpSearch({
  slug,
  visitorToken = null,
  initialQuery = "",
  onLeftQueue,
}: {
  slug: string;
  /** The chat's token while waiting: "this answered my question" then leaves the queue. */
  visitorToken?: string | null;
  initialQuery?: string;
  onLeftQueue?: () => void;
}) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState(initialQuery);
  const [results, setResults] = useState<PublicArticle[] | null>(null);
  const [article, setArticle] = useState<PublicArticle | null>(null);
  const [notice, setNotice] = useState("");
  const [error, setError] = useState("");
  const input = useRef<HTMLInputElement>(null);
  const typed = useRef(false);
  // The chat's question may arrive after the first render (the conversation syncs): take it
  // as the search, unless the visitor typed one already.
  useEffect(() => {
    if (!typed.current) setQuery(initialQuery);
  }, [initialQuery]);
  const base = `/workgroups/${encodeURIComponent(slug)}/kb`;

  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);

  useEffect(() => {
    if (!open || !query.trim()) {
      setResults(null);
      return;
    }
    let live = true;
    const timer = setTimeout(async () => {
      try {
        const r = await fetch(api(`${base}?${new URLSearchParams({ q: query.trim().slice(0, 500) })}`));
        if (!live) return;
        if (r.status === 429) return setError("Too many searches; wait a moment.");
        if (!r.ok) return setError("The help articles could not be searched.");
        setResults((await r.json()) as PublicArticle[]);
        setError("");
      } catch {
        if (live) setError("The help articles could not be reached.");
      }
    }, SEARCH_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [open, query, base]);

  const read = async (id: number) => {
    try {
      const r = await fetch(api(`${base}/${id}`));
      if (!r.ok) return setError("This article could not be opened.");
      setArticle((await r.json()) as PublicArticle);
      setNotice("");
    } catch {
      setError("This article could not be opened.");
    }
  };

  const answered = async (a: PublicArticle) => {
    try {
      const r = await fetch(api(`${base}/${a.id}/answered`), {
        method: "POST",
        headers: visitorToken ? { "X-Visitor-Token": visitorToken } : {},
      });
      const data = (await r.json().catch(() => ({}))) as { left_queue?: boolean };
      if (data.left_queue) {
        setNotice("Glad it helped! You have left the queue.");
        onLeftQueue?.();
      } else {
        setNotice("Glad it helped!");
      }
    } catch {
      setNotice("Glad it helped!");
    }
  };

  return (
    <section class="pw-help" aria-label="Help articles" data-testid="help-search">
      <button
        type="button"
        class="pw-help-toggle"
        aria-expanded={open}
        aria-controls="pw-help-body"
        onClick={() => setOpen(!open)}
      >
        {open ? "Hide help articles" : "Search our help articles"}
      </button>
      {open && (
        <div class="pw-help-body" id="pw-help-body">
          {article ? (
            <div class="pw-article" data-testid="help-article">
              <h3>{article.title}</h3>
              <ArticleBody html={article.html ?? ""} />
              {notice ? (
                <p class="pw-note" role="status" data-testid="help-notice">
                  {notice}
                </p>
              ) : (
                <div class="pw-help-actions">
                  <button type="button" class="pw-primary" onClick={() => void answered(article)}>
                    This answered my question
                  </button>
                  <button type="button" class="pw-secondary" onClick={() => setArticle(null)}>
                    Back to results
                  </button>
                </div>
              )}
            </div>
          ) : (
            <>
              <label for="pw-help-q" class="pw-sr">
                Search our help articles
              </label>
              <input
                id="pw-help-q"
                ref={input}
                type="search"
                maxLength={500}
                placeholder="What do you need help with?"
                value={query}
                onInput={(e) => {
                  typed.current = true;
                  setQuery(e.currentTarget.value);
                }}
              />
              {results !== null && (
                <ul class="pw-help-results" aria-label="Articles found" data-testid="help-results">
                  {results.map((a) => (
                    <li key={a.id}>
                      <button type="button" onClick={() => void read(a.id)}>
                        <strong>{a.title}</strong>
                        <span>{a.excerpt}</span>
                      </button>
                    </li>
                  ))}
                  {!results.length && (
                    <li class="pw-note" role="status">
                      No article found. Ask us in the chat!
                    </li>
                  )}
                </ul>
              )}
            </>
          )}
          {error && (
            <p class="pw-error" role="alert">
              {error}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
