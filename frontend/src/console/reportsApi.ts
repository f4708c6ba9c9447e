// REST calls of the reports (docs/protocol.md, "Reports"; every number: docs/metrics.md,
// "Reports"): a workgroup's numbers over a range of local days, and the CSV of each table.

import { api } from "./api";

const enc = encodeURIComponent;

export type Granularity = "hour" | "day" | "week";
export type ReportTable = "periods" | "agents" | "presence";

/** The numbers of one row (`null`: nothing to average). */
export interface Numbers {
  requests: number;
  answered: number;
  abandoned: number;
  expired: number;
  left: number;
  left_messages: number;
  abandoned_after_target: number;
  abandoned_wait_avg_secs: number | null;
  answered_in_target: number;
  service_level: number | null;
  wait_avg_secs: number | null;
  wait_p90_secs: number | null;
  missed_offers: number;
  chats: number;
  handle_avg_secs: number | null;
  slot_handle_avg_secs: number | null;
  first_response_avg_secs: number | null;
  transfers: number;
  barge_ins: number;
  take_overs: number;
  outcome_chats: number;
  escalated: number;
  escalation_rate: number | null;
  resolved: number;
  fcr: number;
  fcr_rate: number | null;
  fcr_pending: number;
  fcr_matched_sub: number;
  fcr_matched_email: number;
  fcr_unmatched: number;
  ratings: number;
  rating_avg: number | null;
  rating_high_share: number | null;
}

export type Column = keyof Numbers;

export interface PeriodRow extends Numbers {
  period: string;
  start: string;
}

export interface AgentRow extends Numbers {
  user_id: number;
  name: string;
}

export interface PresenceRow {
  user_id: number;
  name: string;
  available_secs: number;
  away_secs: number;
  busy_secs: number;
  offline_secs: number;
}

export interface Report {
  workgroup: { slug: string; name: string };
  timezone: string;
  timezone_source: "business_hours" | "utc";
  from: string;
  to: string;
  granularity: Granularity;
  start: string;
  end: string;
  at: string;
  queue: number | null;
  agent: number | null;
  settings: { sl_target_secs: number; fcr_window_hours: number };
  columns: Column[];
  rows: PeriodRow[];
  total: Numbers;
  agents: AgentRow[];
  presence: PresenceRow[];
  queues: { id: number; name: string }[];
  members: { user_id: number; name: string }[];
}

export interface ReportQuery {
  slug: string;
  from: string;
  to: string;
  granularity: Granularity;
  queue?: number | null;
  agent?: number | null;
}

export interface SupervisedWorkgroup {
  id: number;
  slug: string;
  name: string;
}

function params(q: ReportQuery): string {
  const p = new URLSearchParams({ from: q.from, to: q.to, granularity: q.granularity });
  if (q.queue != null) p.set("queue", String(q.queue));
  if (q.agent != null) p.set("agent", String(q.agent));
  return p.toString();
}

export const ReportsApi = {
  workgroups: () => api<SupervisedWorkgroup[]>("GET", "/supervision/workgroups"),
  report: (q: ReportQuery) => api<Report>("GET", `/reports/workgroups/${enc(q.slug)}?${params(q)}`),
  csvUrl: (q: ReportQuery, table: ReportTable) =>
    `/api/v1/reports/workgroups/${enc(q.slug)}.csv?${params(q)}&table=${table}`,
};
