// Admin: who supervises a workgroup (its wallboard, live chats, monitoring, whispers, barging
// in), and its wallboard settings: the service level's target and goal, the thresholds that
// turn a tile red, when a chat is stalled, sound, and whether agents see who is watching.

import { useEffect, useState } from "preact/hooks";

import type { SupervisionSettings } from "../shared/protocol";
import { Api, type AdminUser, type Workgroup } from "./api";
import { message } from "./PastChats";

interface Draft {
  supervisors: string[];
  sl_target_secs: string;
  sl_goal_percent: string;
  alert_waiting: string;
  alert_longest_wait_secs: string;
  alert_asa_secs: string;
  alert_abandoned: string;
  stalled_secs: string;
  sound: boolean;
  show_monitoring: boolean;
  ratings: boolean;
}

const OPTIONAL = ["alert_waiting", "alert_longest_wait_secs", "alert_asa_secs", "alert_abandoned"] as const;

function draftOf(s: SupervisionSettings, supervisors: string[]): Draft {
  const text = (n: number | null) => (n === null ? "" : String(n));
  return {
    supervisors,
    sl_target_secs: String(s.sl_target_secs),
    sl_goal_percent: String(s.sl_goal_percent),
    alert_waiting: text(s.alert_waiting),
    alert_longest_wait_secs: text(s.alert_longest_wait_secs),
    alert_asa_secs: text(s.alert_asa_secs),
    alert_abandoned: text(s.alert_abandoned),
    stalled_secs: String(s.stalled_secs),
    sound: s.sound,
    show_monitoring: s.show_monitoring,
    ratings: s.ratings ?? true,
  };
}

/** The settings of a draft; an empty threshold is none (never red). */
export function settingsOf(d: Draft): SupervisionSettings {
  const optional = (v: string) => (v.trim() === "" ? null : Number(v));
  const out: SupervisionSettings = {
    sl_target_secs: Number(d.sl_target_secs),
    sl_goal_percent: Number(d.sl_goal_percent),
    alert_waiting: null,
    alert_longest_wait_secs: null,
    alert_asa_secs: null,
    alert_abandoned: null,
    stalled_secs: Number(d.stalled_secs),
    sound: d.sound,
    show_monitoring: d.show_monitoring,
    ratings: d.ratings,
  };
  for (const k of OPTIONAL) out[k] = optional(d[k]);
  return out;
}

export function SupervisionAdmin({ workgroups, users }: { workgroups: Workgroup[]; users: AdminUser[] }) {
  const [slug, setSlug] = useState("");
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const current = slug || workgroups[0]?.slug || "";
  const supervisors = users.filter((u) => u.role === "supervisor" && u.active);

  useEffect(() => {
    if (!current) return;
    let live = true;
    setDraft(null);
    Promise.all([Api.supervision(current), Api.supervisors(current)]).then(
      ([s, who]) => live && setDraft(draftOf(s, who.usernames)),
      (e) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [current]);

  const set = (patch: Partial<Draft>) => setDraft((d) => (d ? { ...d, ...patch } : d));

  const save = async (event: Event) => {
    event.preventDefault();
    if (!draft) return;
    setBusy(true);
    setNotice("");
    try {
      const saved = await Api.setSupervision(current, settingsOf(draft));
      const who = await Api.setSupervisors(current, draft.supervisors);
      setDraft(draftOf(saved, who.usernames));
      setError("");
      setNotice(`Saved the supervision of ${current}.`);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const number = (id: keyof Draft, label: string, help?: string) => (
    <div class="field">
      <label for={`sup-${id}`}>{label}</label>
      <input
        id={`sup-${id}`}
        type="number"
        min={1}
        value={String(draft?.[id] ?? "")}
        onInput={(e) => set({ [id]: e.currentTarget.value } as Partial<Draft>)}
      />
      {help && <small class="muted">{help}</small>}
    </div>
  );

  return (
    <section class="admin-section" aria-labelledby="supervision-heading">
      <h2 id="supervision-heading">Supervision</h2>
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
      <form class="card supervision-form" onSubmit={save}>
        <div class="field">
          <label for="sup-wg">Workgroup to supervise</label>
          <select id="sup-wg" value={current} onChange={(e) => setSlug(e.currentTarget.value)}>
            {workgroups.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        {draft && (
          <>
            <fieldset>
              <legend>Supervisors (admins see every workgroup)</legend>
              {supervisors.length === 0 && <p class="muted">No active supervisor accounts.</p>}
              {supervisors.map((u) => (
                <label class="check" key={u.username}>
                  <input
                    type="checkbox"
                    checked={draft.supervisors.includes(u.username)}
                    onChange={(e) =>
                      set({
                        supervisors: e.currentTarget.checked
                          ? [...draft.supervisors, u.username]
                          : draft.supervisors.filter((n) => n !== u.username),
                      })
                    }
                  />
                  {`Supervises: ${u.display_name || u.username} (${u.username})`}
                </label>
              ))}
            </fieldset>
            {number("sl_target_secs", "Service level target (seconds)", "Answered within this counts as in time.")}
            {number("sl_goal_percent", "Service level goal (%)", "Below this the tile is red.")}
            {number("alert_waiting", "Red at this many waiting", "Empty: never.")}
            {number("alert_longest_wait_secs", "Red when the longest wait reaches (seconds)")}
            {number("alert_asa_secs", "Red when the average speed of answer reaches (seconds)")}
            {number("alert_abandoned", "Red at this many abandoned today")}
            {number("stalled_secs", "A chat is stalled after (seconds without a message)")}
            <label class="check">
              <input type="checkbox" checked={draft.sound} onChange={(e) => set({ sound: e.currentTarget.checked })} />
              Sound when a tile turns red
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={draft.show_monitoring}
                onChange={(e) => set({ show_monitoring: e.currentTarget.checked })}
              />
              Agents see who is watching their chats
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={draft.ratings}
                onChange={(e) => set({ ratings: e.currentTarget.checked })}
              />
              Ask customers to rate the chat when it ends
            </label>
            <button type="submit" class="primary" disabled={busy}>
              Save supervision
            </button>
          </>
        )}
      </form>
    </section>
  );
}
