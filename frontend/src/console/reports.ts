// The Reports screen's pure helpers: the default range, how each number is shown, and the bars
// of the small charts (docs/metrics.md, "Reports").

import type { Column, Granularity, Numbers } from "./reportsApi";

/** The most days the server takes, in all and by the hour (`domain.reports`). */
export const MAX_RANGE_DAYS = 366;
export const MAX_HOUR_DAYS = 31;

function iso(d: Date): string {
  const m = String(d.getMonth() + 1).padStart(2, "0");
  const day = String(d.getDate()).padStart(2, "0");
  return `${d.getFullYear()}-${m}-${day}`;
}

/** The last seven days, today included (local dates of the browser). */
export function defaultRange(today: Date = new Date()): { from: string; to: string } {
  const from = new Date(today);
  from.setDate(from.getDate() - 6);
  return { from: iso(from), to: iso(today) };
}

/** Days from `from` to `to`, both included; NaN for a bad date. */
export function rangeDays(from: string, to: string): number {
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  return Math.round((b - a) / 86_400_000) + 1;
}

/** Why the range cannot be asked for, or null. */
export function rangeProblem(from: string, to: string, granularity: Granularity): string | null {
  const days = rangeDays(from, to);
  if (!Number.isFinite(days)) return "Choose both dates.";
  if (days < 1) return "The range ends before it starts.";
  if (days > MAX_RANGE_DAYS) return `A report covers at most ${MAX_RANGE_DAYS} days.`;
  if (granularity === "hour" && days > MAX_HOUR_DAYS)
    return `A report by the hour covers at most ${MAX_HOUR_DAYS} days.`;
  return null;
}

type Kind = "count" | "secs" | "rate" | "score";

/** Every column: its heading and how it is shown. */
export const COLUMNS: { key: Column; label: string; kind: Kind }[] = [
  { key: "requests", label: "Requests", kind: "count" },
  { key: "answered", label: "Answered", kind: "count" },
  { key: "abandoned", label: "Abandoned", kind: "count" },
  { key: "expired", label: "Expired", kind: "count" },
  { key: "left", label: "Left a message", kind: "count" },
  { key: "left_messages", label: "Left messages (all)", kind: "count" },
  { key: "abandoned_after_target", label: "Abandoned after target", kind: "count" },
  { key: "abandoned_wait_avg_secs", label: "Abandoned: avg wait", kind: "secs" },
  { key: "answered_in_target", label: "Answered in target", kind: "count" },
  { key: "service_level", label: "Service level", kind: "rate" },
  { key: "wait_avg_secs", label: "Avg wait (ASA)", kind: "secs" },
  { key: "wait_p90_secs", label: "90th pct wait", kind: "secs" },
  { key: "missed_offers", label: "Missed offers", kind: "count" },
  { key: "chats", label: "Chats", kind: "count" },
  { key: "handle_avg_secs", label: "Handle time", kind: "secs" },
  { key: "slot_handle_avg_secs", label: "Handle per slot", kind: "secs" },
  { key: "first_response_avg_secs", label: "First response", kind: "secs" },
  { key: "transfers", label: "Transfers", kind: "count" },
  { key: "barge_ins", label: "Barge-ins", kind: "count" },
  { key: "take_overs", label: "Take-overs", kind: "count" },
  { key: "outcome_chats", label: "Chats with outcome", kind: "count" },
  { key: "escalated", label: "Escalated", kind: "count" },
  { key: "escalation_rate", label: "Escalation rate", kind: "rate" },
  { key: "resolved", label: "Resolved", kind: "count" },
  { key: "fcr", label: "First-contact resolved", kind: "count" },
  { key: "fcr_rate", label: "FCR", kind: "rate" },
  { key: "fcr_pending", label: "FCR pending", kind: "count" },
  { key: "fcr_matched_sub", label: "Matched by identity", kind: "count" },
  { key: "fcr_matched_email", label: "Matched by email", kind: "count" },
  { key: "fcr_unmatched", label: "Unmatched", kind: "count" },
  { key: "ratings", label: "Ratings", kind: "count" },
  { key: "rating_avg", label: "Avg rating", kind: "score" },
  { key: "rating_high_share", label: "Rated 4–5", kind: "rate" },
];

/** The columns of the summary tiles. */
export const SUMMARY: Column[] = [
  "requests",
  "answered",
  "abandoned",
  "service_level",
  "wait_avg_secs",
  "wait_p90_secs",
  "handle_avg_secs",
  "escalation_rate",
  "fcr_rate",
  "rating_avg",
];

export function formatSecs(secs: number): string {
  if (secs < 60) return `${Math.round(secs)} s`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min ${Math.round(secs % 60)} s`;
  const h = Math.floor(secs / 3600);
  return `${h} h ${Math.round((secs % 3600) / 60)} min`;
}

export function show(kind: Kind, value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  switch (kind) {
    case "count":
      return String(value);
    case "secs":
      return formatSecs(value);
    case "rate":
      return `${Math.round(value * 1000) / 10} %`;
    case "score":
      return (Math.round(value * 100) / 100).toFixed(2);
  }
}

export function showColumn(key: Column, n: Numbers): string {
  const col = COLUMNS.find((c) => c.key === key)!;
  return show(col.kind, n[key]);
}

export function labelOf(key: Column): string {
  return COLUMNS.find((c) => c.key === key)?.label ?? key;
}

/** A bar chart's bars: each value's height as a share (0..1) of the largest (a scale that
 * starts at 0; no values: no bars). `null` stays null (no bar, not a zero one). */
export function bars(values: (number | null)[], max?: number): (number | null)[] {
  const top = max ?? Math.max(0, ...values.map((v) => v ?? 0));
  return values.map((v) => (v === null ? null : top > 0 ? v / top : 0));
}
