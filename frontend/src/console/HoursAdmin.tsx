// Admin: a workgroup's business hours (time zone, weekly intervals, holidays, closed by hand),
// where its left messages are emailed, and whether visitors queue when nobody is available.

import { useEffect, useState } from "preact/hooks";

import { Api, type Workgroup } from "./api";
import { formatWeekly, parseHolidays, parseWeekly, type WorkgroupHours } from "./inbox";
import { message } from "./PastChats";

interface Draft {
  limited: boolean; // false: always open
  timezone: string;
  weekly: string;
  holidays: string;
  closed: boolean;
  email: string;
  queue: boolean;
}

function draftOf(h: WorkgroupHours): Draft {
  return {
    limited: h.hours !== null && h.hours.weekly !== null,
    timezone: h.hours?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC",
    weekly: formatWeekly(h.hours?.weekly ?? null) || "mon 09:00-17:00\ntue 09:00-17:00\nwed 09:00-17:00\nthu 09:00-17:00\nfri 09:00-17:00",
    holidays: (h.hours?.holidays ?? []).join(" "),
    closed: h.hours?.closed_by_hand ?? false,
    email: h.email,
    queue: h.queue_without_agents,
  };
}

/** The request body for a draft; throws an Error when the weekly text cannot be read. */
export function hoursBody(d: Draft): WorkgroupHours {
  const holidays = parseHolidays(d.holidays);
  const any = d.limited || d.closed || holidays.length > 0;
  return {
    hours: any
      ? {
          timezone: d.timezone.trim() || "UTC",
          weekly: d.limited ? parseWeekly(d.weekly) : null,
          holidays,
          closed_by_hand: d.closed,
        }
      : null,
    email: d.email.trim(),
    queue_without_agents: d.queue,
  };
}

export function HoursAdmin({ workgroups }: { workgroups: Workgroup[] }) {
  const [slug, setSlug] = useState("");
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const current = slug || workgroups[0]?.slug || "";

  useEffect(() => {
    if (!current) return;
    let live = true;
    setDraft(null);
    Api.hours(current).then(
      (h) => live && setDraft(draftOf(h)),
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
      const saved = await Api.setHours(current, hoursBody(draft));
      setDraft(draftOf(saved));
      setError("");
      setNotice(`Saved the hours of ${current}.`);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="admin-section" aria-labelledby="hours-heading">
      <h2 id="hours-heading">Business hours and messages</h2>
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
      <form class="card hours-form" onSubmit={save}>
        <div class="field">
          <label for="hours-wg">Workgroup</label>
          <select id="hours-wg" value={current} onChange={(e) => setSlug(e.currentTarget.value)}>
            {workgroups.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        {draft && (
          <>
            <div class="field">
              <label for="hours-email">Email for left messages</label>
              <input
                id="hours-email"
                type="email"
                maxLength={254}
                value={draft.email}
                placeholder="sales@example.com"
                onInput={(e) => set({ email: e.currentTarget.value })}
              />
            </div>
            <label class="check">
              <input type="checkbox" checked={draft.closed} onChange={(e) => set({ closed: e.currentTarget.checked })} />
              Closed by hand
            </label>
            <label class="check">
              <input type="checkbox" checked={draft.limited} onChange={(e) => set({ limited: e.currentTarget.checked })} />
              Open only during business hours
            </label>
            <div class="field">
              <label for="hours-tz">Time zone</label>
              <input
                id="hours-tz"
                maxLength={64}
                value={draft.timezone}
                placeholder="Europe/Oslo"
                onInput={(e) => set({ timezone: e.currentTarget.value })}
              />
            </div>
            {draft.limited && (
              <div class="field">
                <label for="hours-weekly">Weekly hours</label>
                <textarea
                  id="hours-weekly"
                  rows={7}
                  value={draft.weekly}
                  aria-describedby="hours-weekly-help"
                  onInput={(e) => set({ weekly: e.currentTarget.value })}
                />
                <small id="hours-weekly-help" class="muted">
                  One line per day, e.g. "mon 09:00-12:00 13:00-17:30"; a day left out is closed.
                </small>
              </div>
            )}
            <div class="field">
              <label for="hours-holidays">Holidays</label>
              <input
                id="hours-holidays"
                value={draft.holidays}
                placeholder="2026-12-24 2026-12-25"
                onInput={(e) => set({ holidays: e.currentTarget.value })}
              />
            </div>
            <label class="check">
              <input type="checkbox" checked={draft.queue} onChange={(e) => set({ queue: e.currentTarget.checked })} />
              Let visitors wait when nobody is available (else they leave a message)
            </label>
            <button type="submit" class="primary" disabled={busy}>
              Save hours
            </button>
          </>
        )}
      </form>
    </section>
  );
}
