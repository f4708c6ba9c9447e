// Admin: the list of tags agents put on chats at wrap-up (create, rename, delete; deleting a
// tag takes it off every chat).

import { useEffect, useState } from "preact/hooks";

import { message } from "./PastChats";
import { type Tag, WrapUpApi } from "./wrapupApi";

export const MAX_TAG_CHARS = 64;

export function TagsAdmin() {
  const [tags, setTags] = useState<Tag[] | null>(null);
  const [name, setName] = useState("");
  const [editing, setEditing] = useState<{ id: number; name: string } | null>(null);
  const [confirm, setConfirm] = useState<number | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      setTags(await WrapUpApi.tags());
    } catch (e) {
      setError(message(e));
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const run = async (action: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError("");
    setNotice("");
    try {
      await action();
      setNotice(done);
      await load();
      return true;
    } catch (e) {
      setError(message(e));
      return false;
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="admin-section" aria-labelledby="tags-heading">
      <h2 id="tags-heading">Tags</h2>
      <p class="muted">Agents put these on chats at wrap-up and in past chats; past chats filter by them.</p>
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
      <form
        class="card"
        onSubmit={async (e) => {
          e.preventDefault();
          const n = name.trim();
          if (!n) return;
          if (await run(() => WrapUpApi.createTag(n), `Tag “${n}” created.`)) setName("");
        }}
      >
        <div class="field">
          <label for="tag-new">New tag</label>
          <input
            id="tag-new"
            maxLength={MAX_TAG_CHARS}
            value={name}
            required
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        <button type="submit" class="primary" disabled={busy}>
          Create tag
        </button>
      </form>
      {tags === null && !error && <p class="muted">Loading…</p>}
      {tags !== null && tags.length === 0 && <p class="muted">No tags yet.</p>}
      {tags !== null && tags.length > 0 && (
        <ul class="tag-admin-list" aria-label="Tags">
          {tags.map((t) => (
            <li key={t.id} data-testid="admin-tag">
              {editing?.id === t.id ? (
                <form
                  onSubmit={async (e) => {
                    e.preventDefault();
                    const n = editing.name.trim();
                    if (await run(() => WrapUpApi.renameTag(t.id, n), `Tag renamed to “${n}”.`)) setEditing(null);
                  }}
                >
                  <label for={`tag-edit-${t.id}`} class="sr-only">
                    New name of {t.name}
                  </label>
                  <input
                    id={`tag-edit-${t.id}`}
                    maxLength={MAX_TAG_CHARS}
                    value={editing.name}
                    onInput={(e) => setEditing({ id: t.id, name: (e.target as HTMLInputElement).value })}
                  />
                  <button type="submit" disabled={busy}>
                    Save
                  </button>
                  <button type="button" onClick={() => setEditing(null)}>
                    Cancel
                  </button>
                </form>
              ) : (
                <>
                  <span class="tag-chip">{t.name}</span>{" "}
                  <button type="button" aria-label={`Rename tag ${t.name}`} onClick={() => setEditing({ id: t.id, name: t.name })}>
                    Rename
                  </button>{" "}
                  {confirm === t.id ? (
                    <span role="group" aria-label={`Confirm deleting tag ${t.name}`}>
                      It comes off every chat.{" "}
                      <button
                        type="button"
                        class="danger"
                        disabled={busy}
                        onClick={async () => {
                          await run(() => WrapUpApi.deleteTag(t.id), `Tag “${t.name}” deleted.`);
                          setConfirm(null);
                        }}
                      >
                        Delete it
                      </button>{" "}
                      <button type="button" onClick={() => setConfirm(null)}>
                        Keep it
                      </button>
                    </span>
                  ) : (
                    <button type="button" aria-label={`Delete tag ${t.name}`} onClick={() => setConfirm(t.id)}>
                      Delete
                    </button>
                  )}
                </>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
