// Skills as name + level rows (a queue's required minimums, an agent's levels), and the staff
// list's editor for an agent's skills and max-chats override.

import { useEffect, useState } from "preact/hooks";

import { message } from "./PastChats";
import { RoutingApi } from "./routingApi";

export interface SkillRow {
  name: string;
  /** 1-10, as typed. */
  level: string;
}

export function skillsToRows(skills: Record<string, number>): SkillRow[] {
  return Object.entries(skills).map(([name, level]) => ({ name, level: String(level) }));
}

/** Rows without a name are dropped; a level that is not a number is sent as typed (the server
 * says what is wrong). */
export function skillsFromRows(rows: SkillRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) {
    const name = r.name.trim();
    if (name) out[name] = Number(r.level || "1");
  }
  return out;
}

export function SkillRows({
  legend,
  label,
  rows,
  onChange,
}: {
  legend: string;
  /** What the level means: "Minimum level", "Level". */
  label: string;
  rows: SkillRow[];
  onChange: (rows: SkillRow[]) => void;
}) {
  const setAt = (i: number, row: SkillRow) => onChange(rows.map((r, n) => (n === i ? row : r)));
  return (
    <fieldset class="skills">
      <legend>{legend}</legend>
      {!rows.length && <p class="muted">None.</p>}
      {rows.map((r, i) => (
        <div class="skill-row" key={i}>
          <input
            aria-label={`Skill ${i + 1}`}
            maxLength={64}
            placeholder="skill, e.g. german"
            value={r.name}
            onInput={(e) => setAt(i, { ...r, name: (e.target as HTMLInputElement).value })}
          />
          <input
            aria-label={`${label} of skill ${i + 1}`}
            type="number"
            min={1}
            max={10}
            value={r.level}
            onInput={(e) => setAt(i, { ...r, level: (e.target as HTMLInputElement).value })}
          />
          <button
            type="button"
            class="subtle"
            aria-label={`Remove skill ${i + 1}`}
            onClick={() => onChange(rows.filter((_, n) => n !== i))}
          >
            ✕
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, { name: "", level: "5" }])}>
        Add skill
      </button>
    </fieldset>
  );
}

/** Skills and max chats of one staff member; loads when opened. */
export function AgentRoutingEditor({
  username,
  onClose,
}: {
  username: string;
  onClose: (notice?: string) => void;
}) {
  const [rows, setRows] = useState<SkillRow[] | null>(null);
  const [maxChats, setMaxChats] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    RoutingApi.agentRouting(username).then(
      (r) => {
        if (!live) return;
        setRows(skillsToRows(r.skills));
        setMaxChats(r.max_chats === null ? "" : String(r.max_chats));
      },
      (e) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [username]);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!rows) return;
    setBusy(true);
    setError("");
    try {
      await RoutingApi.setAgentRouting(username, {
        skills: skillsFromRows(rows),
        max_chats: maxChats.trim() === "" ? null : Number(maxChats),
      });
      onClose(`Skills of ${username} saved.`);
    } catch (err) {
      setError(message(err));
      setBusy(false);
    }
  };

  return (
    <form class="card inline-edit" aria-label={`Edit skills of ${username}`} onSubmit={save}>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rows === null ? (
        !error && <p class="muted">Loading…</p>
      ) : (
        <>
          <SkillRows legend={`Skills of ${username}`} label="Level" rows={rows} onChange={setRows} />
          <div class="field">
            <label for={`max-chats-${username}`}>Max chats (override)</label>
            <input
              id={`max-chats-${username}`}
              type="number"
              min={1}
              max={100}
              placeholder="Workgroup's"
              value={maxChats}
              onInput={(e) => setMaxChats((e.target as HTMLInputElement).value)}
            />
          </div>
        </>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || rows === null}>
          Save skills
        </button>
        <button type="button" onClick={() => onClose()} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
