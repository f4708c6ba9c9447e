// The customer's profile beside the chat, in the details panel (below CustomerDetails' facts
// about this chat, above EarlierChats' list): what staff keep about this customer across their
// chats (name, email, company, tags) and staff-only notes. It is one record per verified
// customer, else per browser: what the visitor typed is shown, and never merges anything.

import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";

import type { Conversation } from "../shared/protocol";
import { formatDateTime } from "./format";
import { useMounted } from "./hooks";
import { message } from "./PastChats";
import {
  CustomersApi,
  MAX_NOTE_CHARS,
  MAX_TAG_CHARS,
  MAX_TAGS,
  parseTags,
  type CustomerProfile as Profile,
} from "./customersApi";

interface Props {
  conversation: Conversation;
  /** The signed-in staff member's user id and whether they may delete any note. */
  myUserId: number | null;
  canModerate?: boolean;
}

export function CustomerProfile({ conversation, myUserId, canModerate = false }: Props) {
  const id = conversation.id;
  const [profile, setProfile] = useState<Profile | null>(null);
  const [error, setError] = useState("");
  const [loadError, setLoadError] = useState("");
  const [editing, setEditing] = useState(false);
  const [form, setForm] = useState({ name: "", email: "", company: "", tags: "" });
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const mounted = useMounted();

  useEffect(() => {
    let live = true;
    setLoadError("");
    CustomersApi.profile(id)
      .then((p) => live && setProfile(p))
      .catch((e: unknown) => live && setLoadError(message(e)));
    return () => {
      live = false;
    };
  }, [id]);

  const startEdit = () => {
    if (!profile) return;
    setForm({ name: profile.name, email: profile.email, company: profile.company, tags: profile.tags.join(", ") });
    setEditing(true);
    setError("");
  };

  const save = async (e: Event) => {
    e.preventDefault();
    const tags = parseTags(form.tags);
    if (tags.length > MAX_TAGS) return setError(`At most ${MAX_TAGS} tags.`);
    const long = tags.find((t) => t.length > MAX_TAG_CHARS);
    if (long) return setError(`A tag is at most ${MAX_TAG_CHARS} characters: "${long.slice(0, 40)}".`);
    setBusy(true);
    try {
      const saved = await CustomersApi.update(id, { name: form.name, email: form.email, company: form.company, tags });
      if (mounted.current) {
        setProfile(saved);
        setEditing(false);
        setError("");
      }
    } catch (err) {
      if (mounted.current) setError(`Could not save: ${message(err)}`);
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  const addNote = async (e: Event) => {
    e.preventDefault();
    const text = note.trim();
    if (!text) return;
    setBusy(true);
    try {
      const added = await CustomersApi.addNote(id, text);
      if (mounted.current) {
        setProfile((p) => (p ? { ...p, stored: true, notes: [added, ...p.notes] } : p));
        setNote("");
        setError("");
      }
    } catch (err) {
      if (mounted.current) setError(`Could not add the note: ${message(err)}`);
    } finally {
      if (mounted.current) setBusy(false);
    }
  };

  const remove = async (noteId: number) => {
    try {
      await CustomersApi.deleteNote(id, noteId);
      if (mounted.current) setProfile((p) => (p ? { ...p, notes: p.notes.filter((n) => n.id !== noteId) } : p));
    } catch (err) {
      if (mounted.current) setError(`Could not delete the note: ${message(err)}`);
    }
  };

  const headingId = `profile-heading-${id}`;
  const noteId = `profile-note-${id}`;
  return (
    <section class="customer-profile" data-testid="customer-profile" aria-labelledby={headingId}>
      <h4 id={headingId}>Customer profile</h4>
      {profile === null && !loadError && <p class="muted">Loading…</p>}
      {loadError && <p class="muted">Could not load it: {loadError}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {profile && (
        <>
          <p class="muted" data-testid="profile-key">
            {profile.key === "verified"
              ? "One record for this verified customer, across their chats."
              : "One record for this browser (not verified): a typed email links nothing."}
          </p>
          {editing ? (
            <form class="profile-form" onSubmit={save}>
              <label>
                Name
                <input value={form.name} maxLength={200} onInput={(e) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} />
              </label>
              <label>
                Email
                <input type="email" value={form.email} maxLength={254} onInput={(e) => setForm({ ...form, email: (e.target as HTMLInputElement).value })} />
              </label>
              <label>
                Company
                <input value={form.company} maxLength={200} onInput={(e) => setForm({ ...form, company: (e.target as HTMLInputElement).value })} />
              </label>
              <label>
                Tags <span class="muted">(commas between)</span>
                <input value={form.tags} onInput={(e) => setForm({ ...form, tags: (e.target as HTMLInputElement).value })} />
              </label>
              <div class="profile-actions">
                <button type="submit" class="primary" disabled={busy}>
                  Save
                </button>
                <button type="button" onClick={() => setEditing(false)} disabled={busy}>
                  Cancel
                </button>
              </div>
            </form>
          ) : (
            <>
              <dl>
                <dt>Name</dt>
                <dd data-testid="profile-name">{profile.name || <span class="muted">Not set</span>}</dd>
                <dt>Email</dt>
                <dd class="break" data-testid="profile-email">
                  {profile.email || <span class="muted">Not set</span>}
                </dd>
                <dt>Company</dt>
                <dd data-testid="profile-company">{profile.company || <span class="muted">Not set</span>}</dd>
                {Object.entries(profile.fields).map(([k, v]) => (
                  <Fragment key={k}>
                    <dt>{k}</dt>
                    <dd class="break">
                      {v} <span class="muted">(sent by the site)</span>
                    </dd>
                  </Fragment>
                ))}
              </dl>
              {profile.tags.length > 0 && (
                <ul class="profile-tags" aria-label="Tags" data-testid="profile-tags">
                  {profile.tags.map((t) => (
                    <li key={t} class="tag">
                      {t}
                    </li>
                  ))}
                </ul>
              )}
              <button type="button" onClick={startEdit}>
                Edit profile
              </button>
            </>
          )}
          <form class="profile-note-form" onSubmit={addNote}>
            <label for={noteId}>Note about this customer (staff only)</label>
            <textarea
              id={noteId}
              rows={2}
              maxLength={MAX_NOTE_CHARS}
              value={note}
              onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)}
            />
            <button type="submit" disabled={busy || !note.trim()}>
              Add note
            </button>
          </form>
          {profile.notes.length > 0 && (
            <ul class="profile-notes" data-testid="profile-notes">
              {profile.notes.map((n) => (
                <li key={n.id} data-testid="profile-note">
                  <p class="prewrap">{n.text}</p>
                  <p class="muted">
                    {n.author_name || "A former colleague"},{" "}
                    <time dateTime={n.created_at}>{formatDateTime(n.created_at)}</time>
                    {(canModerate || n.author_id === myUserId) && (
                      <>
                        {" "}
                        <button type="button" class="link" onClick={() => void remove(n.id)} aria-label={`Delete the note of ${formatDateTime(n.created_at)}`}>
                          Delete
                        </button>
                      </>
                    )}
                  </p>
                </li>
              ))}
            </ul>
          )}
          <p class="muted" data-testid="profile-chats">
            {profile.conversations.length === 1
              ? "1 chat you may read."
              : `${profile.conversations.length} chats you may read.`}
          </p>
        </>
      )}
    </section>
  );
}
