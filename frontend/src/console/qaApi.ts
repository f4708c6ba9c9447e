// REST calls of QA review and secret shoppers (docs/protocol.md, "QA review and secret
// shoppers"): transcript search, scorecards, reviews, the QA report and shopper links; and the
// score of a review as the server computes it (a preview only: the server's is the one kept).

import { api } from "./api";
import type { ArchiveHit } from "./archiveApi";

const enc = encodeURIComponent;

export interface Category {
  key: string;
  name: string;
  weight: number;
  scale: number;
  critical: boolean;
}

export interface Scorecard {
  id: number | null;
  name: string;
  purpose: "review" | "shopper";
  categories: Category[];
  active: boolean;
}

export interface Review {
  id: number;
  conversation_id: string;
  agent_id: number | null;
  agent_name: string;
  reviewer_name: string;
  scorecard: Scorecard;
  scores: Record<string, number>;
  comments: Record<string, string>;
  comment: string;
  score: number;
  failed_critical: string[];
  /** Only in what supervisors are given. */
  shopper?: boolean;
  created_at: string;
  updated_at: string;
}

export interface TranscriptQuery {
  words?: string;
  since?: string;
  until?: string;
  workgroups?: string[];
  agent_id?: number;
  outcome?: "resolved" | "escalated" | "follow_up";
  tag?: string;
  rating_min?: number;
  rating_max?: number;
  shopper?: boolean;
}

export interface Average {
  reviews: number;
  score: number;
}

export interface QaReport {
  since: string;
  until: string;
  agents: { agent_id: number | null; agent_name: string; reviews: Average; shoppers: Average | null }[];
  categories: { key: string; name: string; shopper: boolean; reviews: number; percent: number }[];
  overall: Average | null;
  shoppers: Average | null;
}

export interface ShopperLink {
  id: string;
  workgroup: string;
  note: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  conversation_id: string | null;
  scored_at: string | null;
}

export interface NewShopperLink extends ShopperLink {
  token: string;
  url: string;
}

export interface SupervisedWorkgroup {
  id: number;
  slug: string;
  name: string;
}

export const SEARCH_PAGE = 50;

function reportQuery(since: string, until: string, workgroup?: string): string {
  const q = `since=${enc(since)}&until=${enc(until)}`;
  return workgroup ? `${q}&workgroup=${enc(workgroup)}` : q;
}

export const QaApi = {
  search: (q: TranscriptQuery, offset = 0, limit = SEARCH_PAGE) =>
    api<ArchiveHit[]>("POST", `/qa/search?offset=${offset}&limit=${limit}`, q),
  scorecards: () => api<Scorecard[]>("GET", "/qa/scorecards"),
  createScorecard: (card: Omit<Scorecard, "id">) => api<Scorecard>("POST", "/admin/qa/scorecards", card),
  updateScorecard: (id: number, card: Omit<Scorecard, "id">) =>
    api<Scorecard>("PUT", `/admin/qa/scorecards/${id}`, card),
  deleteScorecard: (id: number) => api<void>("DELETE", `/admin/qa/scorecards/${id}`),
  chatReviews: (conversationId: string) => api<Review[]>("GET", `/qa/conversations/${enc(conversationId)}/reviews`),
  review: (
    conversationId: string,
    body: { scorecard_id: number; scores: Record<string, number>; comments: Record<string, string>; comment: string },
  ) => api<Review>("POST", `/qa/conversations/${enc(conversationId)}/reviews`, body),
  myReviews: () => api<Review[]>("GET", "/me/qa/reviews?limit=200"),
  report: (since: string, until: string, workgroup?: string) =>
    api<QaReport>("GET", `/qa/report?${reportQuery(since, until, workgroup)}`),
  reportCsvUrl: (since: string, until: string, workgroup?: string) =>
    `/api/v1/qa/report?${reportQuery(since, until, workgroup)}&format=csv`,
  links: () => api<ShopperLink[]>("GET", "/qa/shopper-links"),
  createLink: (workgroup: string, hours: number | null, note: string) =>
    api<NewShopperLink>("POST", "/qa/shopper-links", { workgroup, ...(hours ? { hours } : {}), note }),
  workgroups: () => api<SupervisedWorkgroup[]>("GET", "/supervision/workgroups"),
};

/** The score as `domain/qa.py` computes it: the weighted share of each scale, in percent, and
 * 0 when a critical category is below half its scale. `null` until every category is scored. */
export function previewScore(card: Scorecard, scores: Record<string, number | undefined>): number | null {
  let total = 0;
  let weights = 0;
  let failed = false;
  for (const c of card.categories) {
    const s = scores[c.key];
    if (s === undefined || !Number.isInteger(s) || s < 0 || s > c.scale) return null;
    total += (c.weight * s) / c.scale;
    weights += c.weight;
    if (c.critical && 2 * s < c.scale) failed = true;
  }
  if (!weights) return null;
  return failed ? 0 : Math.round((10000 * total) / weights) / 100;
}
