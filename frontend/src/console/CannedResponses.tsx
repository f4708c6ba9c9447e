// The canned responses screen: your personal responses and your workgroups' shared ones, by
// category; supervisors (of their workgroups) and admins keep the shared ones and choose each
// workgroup's automatic greeting. The reply box finds them with `/` (Suggestions.tsx).

import { useEffect, useMemo, useState } from "preact/hooks";

import type { StaffUser, Workgroup } from "./api";
import { PLACEHOLDERS, WorkspaceApi, type Canned, type CannedFields, type CannedScope } from "./workspaceApi";

/** The workgroups whose shared content ``user`` keeps: all for admins, their own for supervisors. */
export function managedWorkgroups(user: StaffUser, workgroups: Workgroup[]): Workgroup[] {
  if (user.role === "admin") return workgroups;
  if (user.role === "supervisor") return workgroups.filter((w) => w.members.includes(user.username));
  return [];
}

const EMPTY: CannedFields = { shortcut: "", title: "", text: "", category: "" };

type Editing = { id: number | null; scope: CannedScope; workgroup: string | null; fields: CannedFields };

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function CannedResponses({ user, workgroups }: { user: StaffUser; workgroups: Workgroup[] }) {
  const [items, setItems] = useState<Canned[]>([]);
  const [filter, setFilter] = useState("");
  const [scope, setScope] = useState<string>("all"); // all | personal | <slug>
  const [editing, setEditing] = useState<Editing | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const managed = useMemo(() => managedWorkgroups(user, workgroups), [user, workgroups]);

  const reload = async () => {
    try {
      setItems(await WorkspaceApi.canned());
    } catch (e) {
      setError(message(e));
    }
  };
  useEffect(() => void reload(), []);

  const shown = items.filter((c) => {
    if (scope === "personal" && c.scope !== "personal") return false;
    if (scope !== "all" && scope !== "personal" && c.workgroup !== scope) return false;
    const f = filter.trim().toLowerCase();
    return !f || `${c.shortcut} ${c.title} ${c.text} ${c.category}`.toLowerCase().includes(f);
  });
  const byCategory = new Map<string, Canned[]>();
  for (const c of shown) {
    const key = c.category || "Uncategorised";
    byCategory.set(key, [...(byCategory.get(key) ?? []), c]);
  }
  const slugName = (slug: string | null) => workgroups.find((w) => w.slug === slug)?.name ?? slug ?? "";

  const save = async (e: Event) => {
    e.preventDefault();
    if (!editing) return;
    setError("");
    try {
      const saved =
        editing.id === null
          ? await WorkspaceApi.createCanned({ ...editing.fields, scope: editing.scope, workgroup: editing.workgroup })
          : await WorkspaceApi.updateCanned(editing.id, editing.fields);
      setNotice(`Saved /${saved.shortcut}.`);
      setEditing(null);
      await reload();
    } catch (err) {
      setError(message(err));
    }
  };

  const remove = async (c: Canned) => {
    if (!confirm(`Delete /${c.shortcut}?`)) return;
    try {
      await WorkspaceApi.deleteCanned(c.id);
      setEditing(null);
      setNotice(`Deleted /${c.shortcut}.`);
      await reload();
    } catch (e) {
      setError(message(e));
    }
  };

  const set = (field: keyof CannedFields) => (e: Event) =>
    editing && setEditing({ ...editing, fields: { ...editing.fields, [field]: (e.target as HTMLInputElement).value } });

  return (
    <section class="workspace" aria-labelledby="canned-heading">
      <h2 id="canned-heading">Canned responses</h2>
      <p class="muted">
        Type <kbd>/</kbd> and a few letters in a chat's reply box to insert one; it is filled in for the chat and
        you edit it before sending.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && <p role="status">{notice}</p>}
      <div class="workspace-screen">
        <div>
          <div class="workspace-filters">
            <label>
              <span class="sr-only">Show</span>
              <select value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value)}>
                <option value="all">All</option>
                <option value="personal">Mine</option>
                {workgroups.map((w) => (
                  <option key={w.slug} value={w.slug}>
                    {w.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              <span class="sr-only">Filter</span>
              <input
                type="search"
                placeholder="Filter"
                value={filter}
                onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
              />
            </label>
            <button
              type="button"
              class="primary"
              onClick={() => setEditing({ id: null, scope: "personal", workgroup: null, fields: EMPTY })}
            >
              New response
            </button>
          </div>
          {[...byCategory.entries()].map(([category, list]) => (
            <div key={category}>
              <h3>{category}</h3>
              <ul class="list" data-testid="canned-list">
                {list.map((c) => (
                  <li key={c.id} class={editing?.id === c.id ? "current" : ""}>
                    <button
                      type="button"
                      class="link"
                      onClick={() =>
                        setEditing({
                          id: c.id,
                          scope: c.scope,
                          workgroup: c.workgroup,
                          fields: { shortcut: c.shortcut, title: c.title, text: c.text, category: c.category },
                        })
                      }
                    >
                      /{c.shortcut}
                    </button>{" "}
                    {c.title} <span class="tag">{c.scope === "personal" ? "Mine" : slugName(c.workgroup)}</span>{" "}
                    <span class="muted">used {c.uses}×</span>
                  </li>
                ))}
              </ul>
            </div>
          ))}
          {!shown.length && <p class="muted">No canned responses here yet.</p>}
        </div>
        <div>
          {editing && (
            <CannedForm
              editing={editing}
              editable={editing.id === null || items.find((c) => c.id === editing.id)?.editable === true}
              managed={managed}
              onScope={(scope, workgroup) => setEditing({ ...editing, scope, workgroup })}
              set={set}
              onSave={save}
              onCancel={() => setEditing(null)}
              onDelete={editing.id === null ? null : () => remove(items.find((c) => c.id === editing.id)!)}
            />
          )}
          {managed.length > 0 && <Greetings workgroups={managed} items={items} />}
        </div>
      </div>
    </section>
  );
}

function CannedForm(props: {
  editing: Editing;
  editable: boolean;
  managed: Workgroup[];
  onScope: (scope: CannedScope, workgroup: string | null) => void;
  set: (field: keyof CannedFields) => (e: Event) => void;
  onSave: (e: Event) => void;
  onCancel: () => void;
  onDelete: (() => void) | null;
}) {
  const { editing, editable } = props;
  const isNew = editing.id === null;
  return (
    <form onSubmit={props.onSave} aria-label={isNew ? "New canned response" : "Canned response"}>
      <h3>{isNew ? "New canned response" : `/${editing.fields.shortcut}`}</h3>
      {!editable && <p class="muted">Kept by the workgroup's supervisors and admins: you can use it, not change it.</p>}
      {isNew && (
        <label>
          For
          <select
            value={editing.scope === "personal" ? "" : editing.workgroup ?? ""}
            onChange={(e) => {
              const slug = (e.target as HTMLSelectElement).value;
              props.onScope(slug ? "workgroup" : "personal", slug || null);
            }}
          >
            <option value="">Me only</option>
            {props.managed.map((w) => (
              <option key={w.slug} value={w.slug}>
                Workgroup {w.name} (shared)
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Shortcut
        <input value={editing.fields.shortcut} onInput={props.set("shortcut")} required maxLength={33} disabled={!editable} />
      </label>
      <label>
        Title
        <input value={editing.fields.title} onInput={props.set("title")} required maxLength={80} disabled={!editable} />
      </label>
      <label>
        Category
        <input value={editing.fields.category} onInput={props.set("category")} maxLength={40} disabled={!editable} />
      </label>
      <label>
        Text
        <textarea rows={6} value={editing.fields.text} onInput={props.set("text")} required maxLength={2000} disabled={!editable} />
      </label>
      <p class="muted">
        Placeholders: {PLACEHOLDERS.map((p) => `{${p}}`).join(" ")} and {"{field.<name>}"} for a pre-chat field. A
        fallback for a missing value: {"{customer.first_name|there}"}.
      </p>
      {editable && (
        <div class="row">
          <button type="submit" class="primary">
            Save
          </button>
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          {props.onDelete && (
            <button type="button" class="danger" onClick={props.onDelete}>
              Delete
            </button>
          )}
        </div>
      )}
    </form>
  );
}

/** Each managed workgroup's automatic greeting: one of its shared responses, or none. */
function Greetings({ workgroups, items }: { workgroups: Workgroup[]; items: Canned[] }) {
  const [greetings, setGreetings] = useState<Record<string, number | null>>({});
  const [error, setError] = useState("");
  useEffect(() => {
    for (const w of workgroups) {
      WorkspaceApi.greeting(w.slug).then(
        (g) => setGreetings((old) => ({ ...old, [w.slug]: g.greeting?.id ?? null })),
        (e: unknown) => setError(message(e)),
      );
    }
  }, [workgroups]);
  return (
    <section aria-labelledby="greetings-heading">
      <h3 id="greetings-heading">Automatic greeting</h3>
      <p class="muted">Sent in the agent's name when they accept a chat (not after a transfer).</p>
      {error && <p class="error">{error}</p>}
      {workgroups.map((w) => (
        <label key={w.slug}>
          {w.name}
          <select
            value={String(greetings[w.slug] ?? "")}
            onChange={async (e) => {
              const value = (e.target as HTMLSelectElement).value;
              try {
                const saved = await WorkspaceApi.setGreeting(w.slug, value ? Number(value) : null);
                setGreetings((old) => ({ ...old, [w.slug]: saved.greeting?.id ?? null }));
                setError("");
              } catch (err) {
                setError(message(err));
              }
            }}
          >
            <option value="">No greeting</option>
            {items
              .filter((c) => c.scope === "workgroup" && c.workgroup === w.slug)
              .map((c) => (
                <option key={c.id} value={String(c.id)}>
                  /{c.shortcut} — {c.title}
                </option>
              ))}
          </select>
        </label>
      ))}
    </section>
  );
}
