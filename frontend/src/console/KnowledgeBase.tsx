// The knowledge base screen: search and read your workgroups' articles; their supervisors and
// admins write them (Markdown, rendered and sanitized by the server when saved). Public ones are
// what the widget's help search finds; internal ones are for staff only.

import { useEffect, useMemo, useState } from "preact/hooks";

import { ArticleBody } from "../shared/ArticleBody";
import type { StaffUser, Workgroup } from "./api";
import { managedWorkgroups } from "./CannedResponses";
import { articleLink } from "./Suggestions";
import { WorkspaceApi, type Article, type ArticleFields, type ArticleSummary, type Visibility } from "./workspaceApi";

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const EMPTY: ArticleFields = { title: "", body: "", category: "", visibility: "internal" };

type Editing = { id: number | null; workgroup: string; fields: ArticleFields };

export function KnowledgeBase({ user, workgroups }: { user: StaffUser; workgroups: Workgroup[] }) {
  const [query, setQuery] = useState("");
  const [workgroup, setWorkgroup] = useState("");
  const [visibility, setVisibility] = useState<"" | Visibility>("");
  const [items, setItems] = useState<ArticleSummary[]>([]);
  const [reading, setReading] = useState<Article | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [error, setError] = useState("");
  const [version, setVersion] = useState(0);
  const managed = useMemo(() => managedWorkgroups(user, workgroups), [user, workgroups]);

  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      WorkspaceApi.articles({
        q: query.trim() || undefined,
        workgroup: workgroup || undefined,
        visibility: visibility || undefined,
      }).then(
        (found) => live && (setItems(found), setError("")),
        (e: unknown) => live && setError(message(e)),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [query, workgroup, visibility, version]);

  const open = async (id: number) => {
    try {
      setEditing(null);
      setReading(await WorkspaceApi.article(id));
    } catch (e) {
      setError(message(e));
    }
  };

  const save = async (e: Event) => {
    e.preventDefault();
    if (!editing) return;
    try {
      const saved =
        editing.id === null
          ? await WorkspaceApi.createArticle({ ...editing.fields, workgroup: editing.workgroup })
          : await WorkspaceApi.updateArticle(editing.id, editing.fields);
      setEditing(null);
      setReading(saved);
      setError("");
      setVersion((v) => v + 1);
    } catch (err) {
      setError(message(err));
    }
  };

  const remove = async (a: Article) => {
    if (!confirm(`Delete “${a.title}”?`)) return;
    try {
      await WorkspaceApi.deleteArticle(a.id);
      setReading(null);
      setVersion((v) => v + 1);
    } catch (e) {
      setError(message(e));
    }
  };

  const set = (field: keyof ArticleFields) => (e: Event) =>
    editing && setEditing({ ...editing, fields: { ...editing.fields, [field]: (e.target as HTMLInputElement).value } });

  return (
    <section class="workspace" aria-labelledby="kb-heading">
      <h2 id="kb-heading">Knowledge base</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="workspace-screen">
        <div>
          <div class="workspace-filters">
            <label>
              <span class="sr-only">Search articles</span>
              <input
                type="search"
                placeholder="Search articles"
                value={query}
                onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
              />
            </label>
            <label>
              <span class="sr-only">Workgroup</span>
              <select value={workgroup} onChange={(e) => setWorkgroup((e.target as HTMLSelectElement).value)}>
                <option value="">All workgroups</option>
                {workgroups.map((w) => (
                  <option key={w.slug} value={w.slug}>
                    {w.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              <span class="sr-only">Visibility</span>
              <select
                value={visibility}
                onChange={(e) => setVisibility((e.target as HTMLSelectElement).value as "" | Visibility)}
              >
                <option value="">Public and internal</option>
                <option value="public">Public</option>
                <option value="internal">Internal</option>
              </select>
            </label>
            {managed.length > 0 && (
              <button
                type="button"
                class="primary"
                onClick={() => {
                  setReading(null);
                  setEditing({ id: null, workgroup: workgroup || managed[0].slug, fields: EMPTY });
                }}
              >
                New article
              </button>
            )}
          </div>
          <ul class="list" data-testid="kb-list">
            {items.map((a) => (
              <li key={a.id} class={reading?.id === a.id ? "current" : ""}>
                <button type="button" class="link" onClick={() => void open(a.id)}>
                  {a.title}
                </button>{" "}
                <span class="tag">{a.visibility}</span> {a.category && <span class="muted">{a.category}</span>}
                <p class="muted kb-excerpt">{a.excerpt}</p>
              </li>
            ))}
          </ul>
          {!items.length && <p class="muted">{query.trim() ? "No article matches." : "No articles yet."}</p>}
        </div>
        <div>
          {reading && !editing && (
            <article aria-labelledby="kb-article-title">
              <h3 id="kb-article-title">{reading.title}</h3>
              <p class="muted">
                {reading.visibility === "public" ? (
                  <>
                    Public:{" "}
                    <a href={articleLink(reading)} target="_blank" rel="noopener noreferrer">
                      {articleLink(reading)}
                    </a>
                  </>
                ) : (
                  "Internal: staff only"
                )}
                {" · "}answered {reading.answered} question{reading.answered === 1 ? "" : "s"}
              </p>
              <ArticleBody html={reading.html} />
              {reading.editable && (
                <div class="row">
                  <button
                    type="button"
                    onClick={() =>
                      setEditing({
                        id: reading.id,
                        workgroup: reading.workgroup,
                        fields: {
                          title: reading.title,
                          body: reading.body,
                          category: reading.category,
                          visibility: reading.visibility,
                        },
                      })
                    }
                  >
                    Edit
                  </button>
                  <button type="button" class="danger" onClick={() => void remove(reading)}>
                    Delete
                  </button>
                </div>
              )}
            </article>
          )}
          {editing && (
            <form onSubmit={save} aria-label={editing.id === null ? "New article" : "Edit article"}>
              <h3>{editing.id === null ? "New article" : "Edit article"}</h3>
              {editing.id === null && (
                <label>
                  Workgroup
                  <select
                    value={editing.workgroup}
                    onChange={(e) => setEditing({ ...editing, workgroup: (e.target as HTMLSelectElement).value })}
                  >
                    {managed.map((w) => (
                      <option key={w.slug} value={w.slug}>
                        {w.name}
                      </option>
                    ))}
                  </select>
                </label>
              )}
              <label>
                Title
                <input value={editing.fields.title} onInput={set("title")} required maxLength={200} />
              </label>
              <label>
                Category
                <input value={editing.fields.category} onInput={set("category")} maxLength={40} />
              </label>
              <label>
                Visibility
                <select value={editing.fields.visibility} onChange={set("visibility")}>
                  <option value="internal">Internal (staff only)</option>
                  <option value="public">Public (the widget's help search)</option>
                </select>
              </label>
              <label>
                Body (Markdown)
                <textarea rows={14} value={editing.fields.body} onInput={set("body")} required maxLength={50000} />
              </label>
              <div class="row">
                <button type="submit" class="primary">
                  Save
                </button>
                <button type="button" onClick={() => setEditing(null)}>
                  Cancel
                </button>
              </div>
            </form>
          )}
        </div>
      </div>
    </section>
  );
}
