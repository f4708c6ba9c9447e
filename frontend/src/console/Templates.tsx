// The company's message templates (docs/protocol.md, "Message templates"): greetings and
// sign-offs, professional or personal, that every agent's `/` picker offers. Admins keep them
// here; the server checks the limits and the blocked words, and its refusal is shown as it says.

import { useEffect, useState } from "preact/hooks";

import { api } from "./api";
import { message as errorText } from "./PastChats";

export type TemplateKind = "greeting" | "sign_off" | "other";
export type Tone = "professional" | "personal";

export interface Template {
  id: number;
  title: string;
  text: string;
  kind: TemplateKind;
  tone: Tone;
}

type Draft = Omit<Template, "id">;

const EMPTY: Draft = { title: "", text: "", kind: "greeting", tone: "professional" };

const KINDS: { value: TemplateKind; label: string }[] = [
  { value: "greeting", label: "Greeting" },
  { value: "sign_off", label: "Sign-off" },
  { value: "other", label: "Other" },
];
const TONES: { value: Tone; label: string }[] = [
  { value: "professional", label: "Professional" },
  { value: "personal", label: "Personal" },
];

export const TemplatesApi = {
  list: () => api<Template[]>("GET", "/templates"),
  create: (d: Draft) => api<Template>("POST", "/admin/templates", d),
  update: (id: number, d: Draft) => api<Template>("PUT", `/admin/templates/${id}`, d),
  remove: (id: number) => api<void>("DELETE", `/admin/templates/${id}`),
};

/** The admin screen: the list by kind, a form to add or edit one, and delete. */
export function Templates() {
  const [items, setItems] = useState<Template[] | null>(null);
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const load = () =>
    TemplatesApi.list().then(setItems, (e) => setError(`Could not read the templates: ${errorText(e)}`));
  useEffect(() => void load(), []);

  const edit = (t: Template | null) => {
    setError("");
    setEditing(t === null ? "new" : t.id);
    setDraft(t === null ? EMPTY : { title: t.title, text: t.text, kind: t.kind, tone: t.tone });
  };
  const save = async () => {
    setBusy(true);
    setError("");
    try {
      if (editing === "new") await TemplatesApi.create(draft);
      else if (editing !== null) await TemplatesApi.update(editing, draft);
      setEditing(null);
      await load();
    } catch (e) {
      setError(`Could not save the template: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const remove = async (t: Template) => {
    setError("");
    try {
      await TemplatesApi.remove(t.id);
      await load();
    } catch (e) {
      setError(`Could not delete the template: ${errorText(e)}`);
    }
  };

  return (
    <section class="admin-section templates" aria-labelledby="templates-heading">
      <h2 id="templates-heading">Message templates</h2>
      <p class="muted">
        The company's greetings and sign-offs. Agents find them with / in the reply box and edit them before sending.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {items === null && !error && <p class="muted">Loading…</p>}
      {items !== null && items.length === 0 && <p class="muted">No templates yet.</p>}
      {items !== null && items.length > 0 && (
        <ul class="template-list">
          {items.map((t) => (
            <li key={t.id} data-testid="template">
              <strong>{t.title}</strong>{" "}
              <span class="tag">{KINDS.find((k) => k.value === t.kind)?.label ?? t.kind}</span>{" "}
              <span class="tag">{TONES.find((k) => k.value === t.tone)?.label ?? t.tone}</span>
              <p class="template-text">{t.text}</p>
              <button type="button" onClick={() => edit(t)} aria-label={`Edit ${t.title}`}>
                Edit
              </button>{" "}
              <button type="button" onClick={() => void remove(t)} aria-label={`Delete ${t.title}`}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      {editing === null ? (
        <button type="button" class="primary" onClick={() => edit(null)}>
          New template
        </button>
      ) : (
        <form
          class="fields"
          aria-label={editing === "new" ? "New template" : "Edit template"}
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <label>
            Title
            <input
              value={draft.title}
              maxLength={80}
              required
              onInput={(e) => setDraft({ ...draft, title: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            Text
            <textarea
              rows={4}
              value={draft.text}
              maxLength={1000}
              required
              onInput={(e) => setDraft({ ...draft, text: (e.target as HTMLTextAreaElement).value })}
            />
          </label>
          <label>
            Kind
            <select
              value={draft.kind}
              onChange={(e) => setDraft({ ...draft, kind: (e.target as HTMLSelectElement).value as TemplateKind })}
            >
              {KINDS.map((k) => (
                <option key={k.value} value={k.value}>
                  {k.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Tone
            <select
              value={draft.tone}
              onChange={(e) => setDraft({ ...draft, tone: (e.target as HTMLSelectElement).value as Tone })}
            >
              {TONES.map((k) => (
                <option key={k.value} value={k.value}>
                  {k.label}
                </option>
              ))}
            </select>
          </label>
          <div class="dialog-actions">
            <button type="submit" class="primary" disabled={busy}>
              Save template
            </button>
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
